/*
 * test_awsjson.c
 *		Unit tests for JSON credential documents and ISO 8601 times.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify/core/awsjson.h"
#include "unit.h"

#define ECS_DOC \
	"{\n" \
	"  \"Code\" : \"Success\",\n" \
	"  \"LastUpdated\" : \"2026-11-21T06:00:00Z\",\n" \
	"  \"Type\" : \"AWS-HMAC\",\n" \
	"  \"AccessKeyId\" : \"ASIAIOSFODNN7EXAMPLE\",\n" \
	"  \"SecretAccessKey\" : \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\",\n" \
	"  \"Token\" : \"IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH\",\n" \
	"  \"Expiration\" : \"2026-11-21T12:00:00Z\",\n" \
	"  \"RoleArn\" : \"arn:aws:iam::123456789012:role/vigil\",\n" \
	"  \"Version\" : 1, \"Extra\": {\"Token\": \"nested\", \"a\": [1, 2.5e3, -0, true, false, null, [], {}]}\n" \
	"}\n"

/*
 * Look up field in a heap copy of exactly len bytes, so AddressSanitizer
 * catches any read past the end.  Returns 1 found, 0 absent, -1 refused;
 * the value goes to out (of outlen bytes).
 */
static int
get_n(const char *doc, size_t len, const char *field, char *out, size_t outlen)
{
	char	   *copy = malloc(len > 0 ? len : 1);
	bool		found = true;
	bool		ok;

	memcpy(copy, doc, len);
	ok = vigil_json_get_string(copy, len, field, out, outlen, &found);
	free(copy);
	if (!ok)
	{
		CHECK(!found);
		CHECK(outlen == 0 || out[0] == '\0');
		return -1;
	}
	if (!found)
		CHECK(out[0] == '\0');
	return found ? 1 : 0;
}

/* get_n for a NUL-terminated document and a 256-byte buffer. */
static int
get(const char *doc, const char *field, char *out)
{
	return get_n(doc, strlen(doc), field, out, 256);
}

/* Whether an ISO 8601 text parses, through an exact-length heap copy. */
static bool
iso(const char *s, time_t *t)
{
	size_t		len = strlen(s);
	char	   *copy = malloc(len > 0 ? len : 1);
	bool		ok;

	memcpy(copy, s, len);
	ok = vigil_iso8601_to_time(copy, len, t);
	free(copy);
	return ok;
}

/* Seconds for an ISO 8601 text, or a sentinel when it is refused. */
static int64_t
iso_t(const char *s)
{
	time_t		t = (time_t) 12345;

	if (!iso(s, &t))
		return INT64_MIN;
	return (int64_t) t;
}

/* The fields of an ECS credentials document, and absent ones. */
static void
ecs_document(void)
{
	char		v[256];

	CHECK(get(ECS_DOC, "AccessKeyId", v) == 1);
	CHECK(strcmp(v, "ASIAIOSFODNN7EXAMPLE") == 0);
	CHECK(get(ECS_DOC, "SecretAccessKey", v) == 1);
	CHECK(strcmp(v, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") == 0);
	CHECK(get(ECS_DOC, "Token", v) == 1);
	CHECK(strcmp(v, "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH") == 0);
	CHECK(get(ECS_DOC, "Expiration", v) == 1);
	CHECK(strcmp(v, "2026-11-21T12:00:00Z") == 0);
	CHECK(get(ECS_DOC, "Code", v) == 1);
	CHECK(strcmp(v, "Success") == 0);
	/* absent, differently cased, a prefix, nested only */
	CHECK(get(ECS_DOC, "SessionToken", v) == 0);
	CHECK(get(ECS_DOC, "token", v) == 0);
	CHECK(get(ECS_DOC, "Acc", v) == 0);
	CHECK(get(ECS_DOC, "AccessKeyIdX", v) == 0);
	CHECK(get(ECS_DOC, "a", v) == 0);
	CHECK(get(ECS_DOC, "", v) == 0);
	/* present but not a string */
	CHECK(get(ECS_DOC, "Version", v) == -1);
	CHECK(get(ECS_DOC, "Extra", v) == -1);
	CHECK(get("{\"a\":true}", "a", v) == -1);
	CHECK(get("{\"a\":[\"x\"]}", "a", v) == -1);
	/* null counts as absent */
	CHECK(get("{\"Token\":null,\"b\":\"x\"}", "Token", v) == 0);
	CHECK(get("{\"Token\":nul}", "Token", v) == -1);
	/* empty object, empty string */
	CHECK(get("{}", "a", v) == 0);
	CHECK(get(" { \"a\" : \"\" } ", "a", v) == 1);
	CHECK(v[0] == '\0');
}

/* A nested member of the same name is skipped, wherever it is. */
static void
nested_not_top_level(void)
{
	char		v[256];

	CHECK(get("{\"x\":{\"Token\":\"inner\"},\"Token\":\"outer\"}", "Token", v) == 1);
	CHECK(strcmp(v, "outer") == 0);
	CHECK(get("{\"Token\":\"outer\",\"x\":[{\"Token\":\"inner\"}]}", "Token", v) == 1);
	CHECK(strcmp(v, "outer") == 0);
	CHECK(get("{\"x\":{\"Token\":\"inner\"}}", "Token", v) == 0);
	/* a value string equal to the name is not a member name */
	CHECK(get("{\"x\":\"Token\",\"y\":[\"Token\"]}", "Token", v) == 0);
	/* duplicates inside nested objects are not our business */
	CHECK(get("{\"x\":{\"a\":1,\"a\":2},\"a\":\"ok\"}", "a", v) == 1);
	CHECK(strcmp(v, "ok") == 0);
}

/* Escapes, \u escapes and surrogate pairs decode to UTF-8. */
static void
escapes(void)
{
	char		v[256];

	CHECK(get("{\"a\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t\"}", "a", v) == 1);
	CHECK(strcmp(v, "q\" b\\ s/ \b\f\n\r\t") == 0);
	CHECK(get("{\"a\":\"\\u00e9\\u20AC\\u0041\"}", "a", v) == 1);
	CHECK(strcmp(v, "\xC3\xA9\xE2\x82\xAC" "A") == 0);
	/* U+1F600 as a surrogate pair, either hex case */
	CHECK(get("{\"a\":\"<\\uD83D\\uDE00>\"}", "a", v) == 1);
	CHECK(strcmp(v, "<\xF0\x9F\x98\x80>") == 0);
	CHECK(get("{\"a\":\"\\ud83d\\ude00\"}", "a", v) == 1);
	CHECK(strcmp(v, "\xF0\x9F\x98\x80") == 0);
	/* the extremes: U+10000 and U+10FFFF */
	CHECK(get("{\"a\":\"\\uD800\\uDC00\\uDBFF\\uDFFF\"}", "a", v) == 1);
	CHECK(strcmp(v, "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF") == 0);
	/* raw UTF-8 passes through */
	CHECK(get("{\"a\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\"}", "a", v) == 1);
	CHECK(strcmp(v, "caf\xC3\xA9 \xF0\x9F\x98\x80") == 0);
	/* member names are compared decoded */
	CHECK(get("{\"Acc\\u0065ssKeyId\":\"k\"}", "AccessKeyId", v) == 1);
	CHECK(strcmp(v, "k") == 0);
	CHECK(get("{\"caf\\u00e9\":\"x\"}", "caf\xC3\xA9", v) == 1);

	/* lone or broken surrogates */
	CHECK(get("{\"a\":\"\\uD83D\"}", "a", v) == -1);
	CHECK(get("{\"a\":\"\\uD83Dx\"}", "a", v) == -1);
	CHECK(get("{\"a\":\"\\uD83D\\n\"}", "a", v) == -1);
	CHECK(get("{\"a\":\"\\uD83D\\uD83D\"}", "a", v) == -1);
	CHECK(get("{\"a\":\"\\uDE00\"}", "a", v) == -1);
	CHECK(get("{\"b\":\"\\uDE00\",\"a\":\"x\"}", "a", v) == -1);
	/* bad escapes */
	CHECK(get("{\"a\":\"\\x41\"}", "a", v) == -1);
	CHECK(get("{\"a\":\"\\u12G4\"}", "a", v) == -1);
	CHECK(get("{\"a\":\"\\u12\"}", "a", v) == -1);
	CHECK(get("{\"a\":\"\\'\"}", "a", v) == -1);
	/* PostgreSQL's parser refuses \u0000 anywhere, as text cannot hold it */
	CHECK(get("{\"a\":\"x\\u0000y\"}", "a", v) == -1);
	CHECK(get("{\"b\":\"x\\u0000y\",\"a\":\"ok\"}", "a", v) == -1);
	CHECK(get("{\"a\\u0000\":\"x\"}", "a", v) == -1);
}

/* Values that fit exactly, and ones that do not. */
static void
output_size(void)
{
	const char *doc = "{\"a\":\"12345\",\"e\":\"\\u20ac\"}";
	char		v[8];

	memset(v, 'z', sizeof(v));
	CHECK(get_n(doc, strlen(doc), "a", v, 6) == 1);
	CHECK(strcmp(v, "12345") == 0);
	CHECK(v[6] == 'z');			/* nothing written beyond outlen */
	CHECK(get_n(doc, strlen(doc), "a", v, 5) == -1);
	CHECK(get_n(doc, strlen(doc), "a", v, 1) == -1);
	CHECK(get_n(doc, strlen(doc), "e", v, 4) == 1);	/* 3 bytes + NUL */
	CHECK(get_n(doc, strlen(doc), "e", v, 3) == -1);
	CHECK(get_n("{\"a\":\"\"}", 8, "a", v, 1) == 1);
	CHECK(get_n(doc, strlen(doc), "zz", v, 1) == 0);
	CHECK(get_n(doc, strlen(doc), "a", v, 0) == -1);
}

/* A repeated top-level member is refused, the other members are not. */
static void
duplicates(void)
{
	char		v[256];
	const char *doc = "{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"}";

	CHECK(get(doc, "a", v) == -1);
	CHECK(get(doc, "b", v) == 1);
	CHECK(get("{\"a\":null,\"a\":\"x\"}", "a", v) == -1);
	CHECK(get("{\"a\":\"x\",\"\\u0061\":\"y\"}", "a", v) == -1);
}

/* Numbers and literals follow RFC 8259's grammar. */
static void
numbers_and_literals(void)
{
	char		v[256];
	const char *good[] = {"0", "-0", "1", "-1", "10", "1.5", "-0.25",
		"1e5", "1E+5", "1e-05", "0.0e0", "123456789012345678901234567890",
	"true", "false", "null", "[]", "{}", "[1,[2,[3]],{\"x\":[]}]"};
	const char *bad[] = {"01", "-", "+1", "1.", ".5", "1e", "1e+", "--1",
		"0x10", "NaN", "Infinity", "tru", "True", "nulll", "1 2", "[1,]",
	"[,1]", "{\"x\":1,}", "[1 2]", "{\"x\" 1}", "{1:2}", "'a'", "\"a"};
	char		doc[128];
	size_t		i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		snprintf(doc, sizeof(doc), "{\"n\": %s ,\"a\":\"ok\"}", good[i]);
		CHECK(get(doc, "a", v) == 1);
		snprintf(doc, sizeof(doc), "{\"a\":\"ok\",\"n\":%s}", good[i]);
		CHECK(get(doc, "a", v) == 1);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		snprintf(doc, sizeof(doc), "{\"n\": %s ,\"a\":\"ok\"}", bad[i]);
		if (get(doc, "a", v) != -1)
			printf("# accepted: %s\n", doc);
		CHECK(get(doc, "a", v) == -1);
		snprintf(doc, sizeof(doc), "{\"a\":\"ok\",\"n\":%s}", bad[i]);
		CHECK(get(doc, "a", v) == -1);
	}
}

/* Documents that are not one JSON object are refused. */
static void
malformed(void)
{
	char		v[256];
	const char *bad[] = {"", " ", "\"a\"", "[\"a\"]", "1", "null",
		"{", "}", "{\"a\":\"x\"", "{\"a\":\"x\",}", "{\"a\":\"x\"}}",
		"{\"a\":\"x\"} {}", "{\"a\":\"x\"} x", "{\"a\" \"x\"}",
		"{\"a\":}", "{a:\"x\"}", "{'a':'x'}", "{\"a\":\"x\";\"b\":1}",
		"{\"a\":\"x\"]", "{\"b\":[1}", "{\"b\":{]}", "{,}",
		"{\"a\":\"tab\there\"}", "{\"a\":\"nl\nhere\"}",
		"{\"a\":\"\xC0\x80\"}", "{\"a\":\"\xED\xA0\x80\"}",
		"{\"a\":\"\xF5\x80\x80\x80\"}", "{\"a\":\"\xE2\x82\"}",
		"{\"a\":\"\x80\"}", "{\"a\":\"\xF4\x90\x80\x80\"}",
	"{\"a\":\"\xE0\x9F\xBF\"}", "\xEF\xBB{\"a\":\"x\"}", "\v{\"a\":\"x\"}"};
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		if (get(bad[i], "a", v) != -1)
			printf("# accepted: %s\n", bad[i]);
		CHECK(get(bad[i], "a", v) == -1);
	}
	/* a NUL byte in the middle of the document */
	CHECK(get_n("{\"a\":\"x\"}\0", 10, "a", v, sizeof(v)) == -1);
	CHECK(get_n("{\"a\":\"x\0\"}", 9, "a", v, sizeof(v)) == -1);
	/* a byte order mark is fine, trailing whitespace too */
	CHECK(get("\xEF\xBB\xBF{\"a\":\"x\"}\r\n\t ", "a", v) == 1);
	CHECK(strcmp(v, "x") == 0);
}

/* Nesting up to VIGIL_JSON_MAX_DEPTH levels is skipped, deeper refused. */
static void
depth_limit(void)
{
	char		doc[6 * VIGIL_JSON_MAX_DEPTH + 64];
	char		v[256];
	int			levels,
				k;
	size_t		n;

	for (levels = VIGIL_JSON_MAX_DEPTH - 1;
		 levels <= VIGIL_JSON_MAX_DEPTH + 1; levels++)
	{
		/* the top-level object plus levels - 1 alternating containers */
		n = 0;
		memcpy(doc, "{\"a\":\"ok\",\"x\":", 14);
		n = 14;
		for (k = 1; k < levels; k++)
		{
			if (k % 2)
				doc[n++] = '[';
			else
			{
				memcpy(doc + n, "{\"k\":", 5);
				n += 5;
			}
		}
		doc[n++] = '1';
		for (k = levels - 1; k >= 1; k--)
			doc[n++] = k % 2 ? ']' : '}';
		doc[n++] = '}';
		CHECK(get_n(doc, n, "a", v, sizeof(v)) ==
			  (levels <= VIGIL_JSON_MAX_DEPTH ? 1 : -1));
	}

	/* very deep: refused at the limit, quickly, without recursion */
	{
		size_t		deep = 1000000;
		char	   *big = malloc(deep + 16);

		big[0] = '{';
		memcpy(big + 1, "\"x\":", 4);
		memset(big + 5, '[', deep);
		CHECK(get_n(big, deep + 5, "x", v, sizeof(v)) == -1);
		free(big);
	}
}

/*
 * Every proper prefix of a valid document is refused, and reading it
 * stays inside the prefix (the copy is exactly that long).
 */
static void
every_prefix(void)
{
	const char *docs[] = {ECS_DOC,
		"{\"a\":\"\\uD83D\\uDE00\\u00e9\\n\",\"b\":[1.5e-3,{\"c\":null}],\"d\":true}",
	"\xEF\xBB\xBF{\"a\":\"caf\xC3\xA9\"}"};
	char		v[256];
	size_t		d,
				n,
				len;
	int			refused;

	for (d = 0; d < sizeof(docs) / sizeof(docs[0]); d++)
	{
		len = strlen(docs[d]);
		refused = 0;
		for (n = 0; n < len; n++)
		{
			/* trailing whitespace is the only thing a prefix may lack */
			size_t		rest = n;

			while (rest < len && strchr(" \r\n\t", docs[d][rest]) != NULL)
				rest++;
			if (rest == len)
				continue;
			refused += get_n(docs[d], n, "a", v, sizeof(v)) == -1;
			refused += get_n(docs[d], n, "Token", v, sizeof(v)) == -1;
			refused -= 2;
		}
		CHECK(refused == 0);
		CHECK(get_n(docs[d], len, "a", v, sizeof(v)) >= 0);
	}
}

/*
 * Random bytes and random mutations of a document never crash; a document
 * whose Token member the mutations left alone gives that token whenever it
 * still parses, and both outcomes occur (the loop reaches the parser's
 * refusals as well as its successes).
 */
static void
random_garbage(void)
{
	uint64_t	state = 7;
	static const char alphabet[] =
		"{}[]\":,\\u0123abcdefDE9 .-+etrulnsx\xC3\xA9";
	static const char token[] = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH";
	const char *member = strstr(ECS_DOC, "\"Token\"");
	size_t		member_at = (size_t) (member - ECS_DOC),
				member_len = (size_t) (strchr(member, '\n') - member);
	char		buf[sizeof(ECS_DOC)];	/* the whole document, mutated */
	char		v[64];
	size_t		len,
				k;
	int			i,
				found = 0,
				refused = 0;

	for (i = 0; i < 20000; i++)
	{
		int			got;

		if (i % 2)
		{
			len = unit_bits64(&state) % sizeof(buf);
			for (k = 0; k < len; k++)
				buf[k] = alphabet[unit_bits64(&state) % (sizeof(alphabet) - 1)];
			(void) get_n(buf, len, "Token", v, sizeof(v));
			continue;
		}
		len = strlen(ECS_DOC);
		memcpy(buf, ECS_DOC, len);
		for (k = 0; k < 3; k++)
			buf[unit_bits64(&state) % len] = (char) unit_bits64(&state);
		got = get_n(buf, len, "Token", v, sizeof(v));
		if (got == 1 && memcmp(buf + member_at, member, member_len) == 0)
			CHECK(strcmp(v, token) == 0);
		found += (got == 1);
		refused += (got == -1);
	}
	CHECK(found > 0 && refused > 0);
}

/* The basic form and fractions, lower case, the epoch around 0. */
static void
iso_basic(void)
{
	CHECK(iso_t("2026-11-21T12:00:00Z") == 1795262400);
	CHECK(iso_t("2026-11-21t12:00:00z") == 1795262400);
	CHECK(iso_t("2026-11-21T12:00:00.000Z") == 1795262400);
	CHECK(iso_t("2026-11-21T12:00:00.999999999999Z") == 1795262400);
	CHECK(iso_t("2026-11-21T12:00:00.5+00:00") == 1795262400);
	CHECK(iso_t("1970-01-01T00:00:00Z") == 0);
	CHECK(iso_t("1970-01-01T00:00:01Z") == 1);
	CHECK(iso_t("1969-12-31T23:59:59Z") == -1);
	/* a negative instant's fraction still rounds down */
	CHECK(iso_t("1969-12-31T23:59:59.5Z") == -1);
	CHECK(iso_t("2000-03-01T00:00:00Z") == 951868800);
	CHECK(iso_t("2038-01-19T03:14:08Z") == INT64_C(2147483648));
	if (sizeof(time_t) >= 8)
	{
		CHECK(iso_t("0001-01-01T00:00:00Z") == INT64_C(-62135596800));
		CHECK(iso_t("9999-12-31T23:59:59Z") == INT64_C(253402300799));
		CHECK(iso_t("0000-03-01T00:00:00Z") == INT64_C(-62162035200));
	}
}

/* Offsets are subtracted to get UTC. */
static void
iso_offsets(void)
{
	CHECK(iso_t("2026-11-21T14:00:00+02:00") == 1795262400);
	CHECK(iso_t("2026-11-21T06:30:00-05:30") == 1795262400);
	CHECK(iso_t("2026-11-21T12:00:00-00:00") == 1795262400);
	CHECK(iso_t("2026-11-21T12:00:00.25+00:00") == 1795262400);
	/* crossing a day and a year */
	CHECK(iso_t("2027-01-01T01:00:00+02:00") == iso_t("2026-12-31T23:00:00Z"));
	CHECK(iso_t("2026-12-31T20:00:00-23:59") ==
		  iso_t("2027-01-01T19:59:00Z"));
	CHECK(iso_t("2026-11-21T12:00:00+24:00") == INT64_MIN);
	CHECK(iso_t("2026-11-21T12:00:00+01:60") == INT64_MIN);
	CHECK(iso_t("2026-11-21T12:00:00+0100") == INT64_MIN);
	CHECK(iso_t("2026-11-21T12:00:00+01") == INT64_MIN);
	CHECK(iso_t("2026-11-21T12:00:00+01:00Z") == INT64_MIN);
	CHECK(iso_t("2026-11-21T12:00:00 +01:00") == INT64_MIN);
}

/* Leap days exist only in leap years; impossible dates are refused. */
static void
iso_calendar(void)
{
	CHECK(iso_t("2024-02-29T23:59:59Z") == 1709251199);
	CHECK(iso_t("2024-03-01T00:00:00Z") == 1709251200);
	CHECK(iso_t("2000-02-29T00:00:00Z") > 0);
	CHECK(iso_t("2023-02-29T00:00:00Z") == INT64_MIN);
	CHECK(iso_t("1900-02-29T00:00:00Z") == INT64_MIN);
	CHECK(iso_t("2100-02-29T00:00:00Z") == INT64_MIN);
	CHECK(iso_t("2024-02-30T00:00:00Z") == INT64_MIN);
	CHECK(iso_t("2026-04-31T00:00:00Z") == INT64_MIN);
	CHECK(iso_t("2026-04-30T00:00:00Z") > 0);
	CHECK(iso_t("2026-12-31T00:00:00Z") > 0);
	CHECK(iso_t("2026-12-32T00:00:00Z") == INT64_MIN);
	CHECK(iso_t("2026-13-01T00:00:00Z") == INT64_MIN);
	CHECK(iso_t("2026-00-01T00:00:00Z") == INT64_MIN);
	CHECK(iso_t("2026-01-00T00:00:00Z") == INT64_MIN);
	CHECK(iso_t("2026-01-01T24:00:00Z") == INT64_MIN);
	CHECK(iso_t("2026-01-01T23:60:00Z") == INT64_MIN);
	CHECK(iso_t("2026-01-01T23:59:61Z") == INT64_MIN);
	/* a leap second is the next minute's first second */
	CHECK(iso_t("2016-12-31T23:59:60Z") == iso_t("2017-01-01T00:00:00Z"));
}

/* Anything but the exact format is refused, including every prefix. */
static void
iso_malformed(void)
{
	const char *bad[] = {"", "2026", "2026-11-21", "2026-11-21T12:00:00",
		"2026-11-21T12:00Z", "2026-11-21 12:00:00Z", "2026-11-21T12:00:00.Z",
		"2026-11-21T12:00:00,5Z", "2026-11-21T12:00:00ZZ",
		"2026-11-21T12:00:00Z ", " 2026-11-21T12:00:00Z",
		"26-11-21T12:00:00Z", "2026/11/21T12:00:00Z", "2026-1-21T12:00:00Z",
		"+2026-11-21T12:00:00Z", "2026-11-21T12:00:0aZ",
	"2026-11-21T12:00:00X", "2026-11-21T12:00:00-", "20261121T120000Z"};
	const char *good = "2026-11-21T12:00:00.123+05:30";
	char		prefix[64];
	size_t		i;
	time_t		t = 99;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		CHECK(!iso(bad[i], &t));
		CHECK(t == 99);
	}
	for (i = 0; i < strlen(good); i++)
	{
		memcpy(prefix, good, i);
		prefix[i] = '\0';
		CHECK(!iso(prefix, &t));
	}
	CHECK(iso(good, &t));
	CHECK((int64_t) t == 1795262400 - 5 * 3600 - 30 * 60);
	/* NUL in the middle, with the length covering it */
	CHECK(!vigil_iso8601_to_time("2026-11-21T12:00:00\0Z", 21, &t));
}

/* Agreement with gmtime() over random instants from 1 to 9999 AD. */
static void
iso_matches_gmtime(void)
{
	uint64_t	state = 2026;
	char		text[64];
	struct tm	tm;
	time_t		t,
				back;
	int			i,
				mismatches = 0;

	if (sizeof(time_t) < 8)
		return;
	for (i = 0; i < 20000; i++)
	{
		t = (time_t) (INT64_C(-62135596800) +
					  (int64_t) (unit_bits64(&state) % UINT64_C(315537897600)));
		if (gmtime_r(&t, &tm) == NULL)
			continue;
		snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02dZ",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
				 tm.tm_hour, tm.tm_min, tm.tm_sec);
		if (!iso(text, &back) || back != t)
			mismatches++;
	}
	CHECK(mismatches == 0);
}

int
main(void)
{
	RUN(ecs_document);
	RUN(nested_not_top_level);
	RUN(escapes);
	RUN(output_size);
	RUN(duplicates);
	RUN(numbers_and_literals);
	RUN(malformed);
	RUN(depth_limit);
	RUN(every_prefix);
	RUN(random_garbage);
	RUN(iso_basic);
	RUN(iso_offsets);
	RUN(iso_calendar);
	RUN(iso_malformed);
	RUN(iso_matches_gmtime);
	return UNIT_DONE();
}
