/*
 * test_credfile.c
 *		Unit tests for the AWS shared credentials file reader.
 */
#include <stdlib.h>
#include <string.h>

#include "notify/core/credfile.h"
#include "unit.h"

#define AKID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define TOKEN "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH+w=="

/* Parse the first len bytes of text from an exact-length heap copy. */
static VigilCredStatus
parse_n(const char *text, size_t len, const char *profile,
		VigilAwsCredentials *c)
{
	char	   *copy = malloc(len > 0 ? len : 1);
	VigilCredStatus st;

	memcpy(copy, text, len);
	st = vigil_credfile_parse(copy, len, profile, c);
	free(copy);
	/* nothing secret is left behind unless the credentials were found */
	if (st != VIGIL_CRED_FOUND)
	{
		CHECK(c->access_key_id[0] == '\0');
		CHECK(c->secret_access_key[0] == '\0');
		CHECK(c->session_token[0] == '\0');
		CHECK(c->why != NULL);
	}
	else
		CHECK(c->why == NULL && c->line == 0);
	return st;
}

/* parse_n for a NUL-terminated text. */
static VigilCredStatus
parse(const char *text, const char *profile, VigilAwsCredentials *c)
{
	return parse_n(text, strlen(text), profile, c);
}

/* Whether the result holds exactly these values. */
static bool
creds_are(const VigilAwsCredentials *c, const char *akid, const char *secret,
		  const char *token)
{
	return strcmp(c->access_key_id, akid) == 0 &&
		strcmp(c->secret_access_key, secret) == 0 &&
		strcmp(c->session_token, token) == 0;
}

/* The usual file: default and named profiles, with and without a token. */
static void
basic_profiles(void)
{
	const char *f =
		"[default]\n"
		"aws_access_key_id = " AKID "\n"
		"aws_secret_access_key = " SECRET "\n"
		"\n"
		"[prod]\n"
		"aws_access_key_id=AKIAPROD\n"
		"aws_secret_access_key=prodsecret\n"
		"aws_session_token=" TOKEN "\n"
		"region = eu-west-1\n";
	VigilAwsCredentials c;

	CHECK(parse(f, NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, AKID, SECRET, ""));
	CHECK(parse(f, "default", &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, AKID, SECRET, ""));
	CHECK(parse(f, "prod", &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "AKIAPROD", "prodsecret", TOKEN));
	/* section names are exact: case, spaces, "profile " prefix */
	CHECK(parse(f, "Prod", &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse(f, "profile prod", &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse(f, "prod ", &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse(f, "dev", &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse(f, "", &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse("", NULL, &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse("\n\n# only comments\n", NULL, &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse("[ default ]\naws_access_key_id=a\naws_secret_access_key=b\n",
				NULL, &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse("[profile default]\naws_access_key_id=a\n"
				"aws_secret_access_key=b\n", NULL, &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(vigil_cred_status_name(VIGIL_CRED_NO_PROFILE) != NULL);
}

/* Blanks around lines, names and values; CRLF line ends. */
static void
syntax_variants(void)
{
	VigilAwsCredentials c;

	CHECK(parse("[default]\r\n"
				"  aws_access_key_id\t=\t" AKID "  \r\n"
				"aws_secret_access_key=" SECRET "\r\n",
				NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, AKID, SECRET, ""));
	/* no final line end */
	CHECK(parse("[default]\naws_access_key_id = a\naws_secret_access_key = b",
				NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", ""));
	/* the first '=' splits: a secret may contain '=' */
	CHECK(parse("[default]\naws_access_key_id = a\n"
				"aws_secret_access_key = x=y:z==\n",
				NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "x=y:z==", ""));
	/* a profile name is what is between the brackets, blanks and all */
	CHECK(parse("[we ird=name;#]\naws_access_key_id=a\n"
				"aws_secret_access_key=b\n", "we ird=name;#", &c) ==
		  VIGIL_CRED_FOUND);
	CHECK(parse("[ default ]\naws_access_key_id=a\n"
				"aws_secret_access_key=b\n", NULL, &c) == VIGIL_CRED_NO_PROFILE);
	/* indented headers and settings are headers and settings */
	CHECK(parse("[x]\n  [default]\n  aws_access_key_id=a\n"
				"  aws_secret_access_key=b\n", NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", ""));
	/* names are case-sensitive, as the CLI documents them */
	CHECK(parse("[Default]\naws_access_key_id=a\naws_secret_access_key=b\n",
				NULL, &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse("[default]\nAWS_ACCESS_KEY_ID=a\naws_secret_access_key=b\n",
				NULL, &c) == VIGIL_CRED_INCOMPLETE);
}

/* Comments are lines starting with '#'; a '#' after a value is part of it. */
static void
comments(void)
{
	VigilAwsCredentials c;

	CHECK(parse("# leading comment\n[default]\n"
				"  # indented comment\n"
				"aws_access_key_id = a\n"
				"aws_secret_access_key = b\n", NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", ""));
	/* no inline comments: the value keeps them (and is then refused) */
	CHECK(parse("[default]\naws_access_key_id = a # mine\n"
				"aws_secret_access_key = b\n", NULL, &c) ==
		  VIGIL_CRED_MALFORMED);
	CHECK(c.line == 2);
	CHECK(parse("[default]\naws_access_key_id = a;x\n"
				"aws_secret_access_key = b#y\n", NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a;x", "b#y", ""));
	/* a commented-out key does not count */
	CHECK(parse("[default]\n#aws_access_key_id = a\n"
				"aws_secret_access_key = b\n", NULL, &c) ==
		  VIGIL_CRED_INCOMPLETE);
}

/* The session token: optional, empty means none, checked when set. */
static void
session_tokens(void)
{
	VigilAwsCredentials c;

	CHECK(parse("[default]\naws_access_key_id=a\naws_secret_access_key=b\n"
				"aws_session_token=" TOKEN "\n", NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", TOKEN));
	CHECK(parse("[default]\naws_access_key_id=a\naws_secret_access_key=b\n"
				"aws_session_token=\n", NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", ""));
	CHECK(parse("[default]\naws_access_key_id=a\naws_secret_access_key=b\n"
				"aws_session_token=bad value\n",
				NULL, &c) == VIGIL_CRED_MALFORMED);
	CHECK(c.line == 4);
	/* botocore's old name is not documented by the CLI: just a setting */
	CHECK(parse("[default]\naws_access_key_id=a\naws_secret_access_key=b\n"
				"aws_security_token=old\n", NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", ""));
}

/* One key without the other, empty keys, no keys at all. */
static void
incomplete(void)
{
	VigilAwsCredentials c;

	CHECK(parse("[default]\naws_access_key_id=a\n", NULL, &c) ==
		  VIGIL_CRED_INCOMPLETE);
	CHECK(c.line == 2);
	CHECK(parse("[default]\naws_secret_access_key=b\n", NULL, &c) ==
		  VIGIL_CRED_INCOMPLETE);
	CHECK(parse("[default]\naws_access_key_id=\naws_secret_access_key=b\n",
				NULL, &c) == VIGIL_CRED_INCOMPLETE);
	CHECK(parse("[default]\naws_access_key_id=a\naws_secret_access_key= \n",
				NULL, &c) == VIGIL_CRED_INCOMPLETE);
	CHECK(c.line == 3);
	CHECK(parse("[default]\nregion=us-east-1\naws_session_token=t\n",
				NULL, &c) == VIGIL_CRED_NO_KEYS);
	CHECK(parse("[default]\n", NULL, &c) == VIGIL_CRED_NO_KEYS);
	/* the keys of another profile do not leak in */
	CHECK(parse("[default]\naws_access_key_id=a\n[other]\n"
				"aws_secret_access_key=b\n", NULL, &c) ==
		  VIGIL_CRED_INCOMPLETE);
}

/*
 * configparser's extensions that the AWS CLI does not document are not
 * read: ';' comments, "key: value", [DEFAULT], continuation lines.
 */
static void
undocumented(void)
{
	VigilAwsCredentials c;

	CHECK(parse("; comment\n[default]\naws_access_key_id=a\n"
				"aws_secret_access_key=b\n", NULL, &c) == VIGIL_CRED_MALFORMED);
	CHECK(c.line == 1);
	CHECK(parse("[default]\naws_access_key_id: a\naws_secret_access_key=b\n",
				NULL, &c) == VIGIL_CRED_MALFORMED);
	CHECK(c.line == 2);
	/* [DEFAULT] is a profile of that name, and lends nothing */
	CHECK(parse("[DEFAULT]\naws_secret_access_key = s\n[a]\naws_access_key_id = k\n",
				"a", &c) == VIGIL_CRED_INCOMPLETE);
	CHECK(parse("[DEFAULT]\naws_access_key_id = k\naws_secret_access_key = s\n",
				"DEFAULT", &c) == VIGIL_CRED_FOUND);
	/* an indented line is a setting of its own, not part of the one above */
	CHECK(parse("[default]\naws_access_key_id = a\n"
				"  aws_secret_access_key = b\n", NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", ""));
	CHECK(parse("[default]\nnote = first\n  second line\n"
				"aws_access_key_id = a\naws_secret_access_key = b\n", NULL, &c) ==
		  VIGIL_CRED_MALFORMED);
	CHECK(c.line == 3);
}

/* Duplicates in the requested profile are refused, others are not ours. */
static void
duplicates(void)
{
	VigilAwsCredentials c;

	CHECK(parse("[default]\naws_access_key_id=a\naws_secret_access_key=b\n"
				"[default]\naws_access_key_id=c\n", NULL, &c) ==
		  VIGIL_CRED_MALFORMED);
	CHECK(c.line == 4);
	/* even with the same value */
	CHECK(parse("[default]\naws_access_key_id=a\naws_access_key_id=a\n"
				"aws_secret_access_key=b\n", NULL, &c) ==
		  VIGIL_CRED_MALFORMED);
	CHECK(c.line == 3);
	/* other settings and profiles repeated: accepted */
	CHECK(parse("[x]\nk=1\n[x]\nk=2\n[default]\nregion=a\nregion=b\n"
				"aws_access_key_id=a\naws_secret_access_key=b\n",
				NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", ""));
}

/* Syntax errors anywhere make the whole file malformed. */
static void
malformed(void)
{
	VigilAwsCredentials c;
	const char *good = "[default]\naws_access_key_id=a\n"
		"aws_secret_access_key=b\n";
	const char *bad[] = {
		"aws_access_key_id=a\n[default]\n",
		"\xEF\xBB\xBF[default]\naws_access_key_id=a\naws_secret_access_key=b\n",
		"[default]\naws_access_key_id=a\naws_secret_access_key=b\njunk\n",
		"[default]\naws_access_key_id=a\naws_secret_access_key=b\n= x\n",
		"[default]\naws_access_key_id=a\naws_secret_access_key=b\n  : x\n",
		"[x]\njunk\n[default]\naws_access_key_id=a\naws_secret_access_key=b\n",
		"[default\naws_access_key_id=a\naws_secret_access_key=b\n",
		"[default]\naws_access_key_id=a b\naws_secret_access_key=b\n",
		"[default]\naws_access_key_id=a\x01\naws_secret_access_key=b\n",
		"[default]\naws_access_key_id=a\naws_secret_access_key=\xC3\xA9\n",
	};
	size_t		i;

	CHECK(parse(good, NULL, &c) == VIGIL_CRED_FOUND);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		if (parse(bad[i], NULL, &c) != VIGIL_CRED_MALFORMED)
			printf("# not malformed: case %d\n", (int) i);
		CHECK(parse(bad[i], NULL, &c) == VIGIL_CRED_MALFORMED);
		CHECK(c.line > 0);
	}
	CHECK(parse(bad[0], NULL, &c) == VIGIL_CRED_MALFORMED && c.line == 1);
	CHECK(parse(bad[2], NULL, &c) == VIGIL_CRED_MALFORMED && c.line == 4);
	/* a NUL byte: part of the line, so part of the value */
	CHECK(parse_n("[default]\naws_access_key_id=a\0\naws_secret_access_key=b\n",
				  55, NULL, &c) == VIGIL_CRED_MALFORMED);
	CHECK(c.line == 2);
	/* a syntax error in a profile we do not ask for still counts */
	CHECK(parse("[default]\naws_access_key_id=a\naws_secret_access_key=b\n"
				"[other]\nnot a key line\n", NULL, &c) == VIGIL_CRED_MALFORMED);
	CHECK(c.line == 5);
}

/* Values up to their maximum fit, one byte more does not. */
static void
value_lengths(void)
{
	static char f[2 * VIGIL_CRED_TOKEN_MAX];
	static const size_t max[3] = {VIGIL_CRED_KEY_ID_MAX, VIGIL_CRED_SECRET_MAX,
	VIGIL_CRED_TOKEN_MAX};
	VigilAwsCredentials c;
	char		v[3][VIGIL_CRED_TOKEN_MAX + 2];
	int			k,
				extra;

	for (k = 0; k < 3; k++)
	{
		for (extra = 0; extra <= 1; extra++)
		{
			int			j;

			for (j = 0; j < 3; j++)
				strcpy(v[j], "x");
			memset(v[k], 'A' + k, max[k] + extra);
			v[k][max[k] + extra] = '\0';
			snprintf(f, sizeof(f),
					 "[default]\naws_access_key_id=%s\n"
					 "aws_secret_access_key=%s\naws_session_token=%s\n",
					 v[0], v[1], v[2]);
			if (extra == 0)
			{
				CHECK(parse(f, NULL, &c) == VIGIL_CRED_FOUND);
				CHECK(creds_are(&c, v[0], v[1], v[2]));
			}
			else
			{
				CHECK(parse(f, NULL, &c) == VIGIL_CRED_TOO_LONG);
				CHECK(c.line == k + 2);
			}
		}
	}
}

/* The status of the first (at - f) + extra bytes of f. */
static VigilCredStatus
status_at(const char *f, const char *at, size_t extra, VigilAwsCredentials *c)
{
	return parse_n(f, (size_t) (at - f) + extra, NULL, c);
}

/*
 * Every prefix of a file parses without reading past it; credentials
 * found in a prefix are the file's or prefixes of them; and cuts at chosen
 * places give what the complete lines and the partial last line imply.
 */
static void
every_prefix(void)
{
	const char *f =
		"# creds\r\n[other]\r\nk = v\r\n  cont = 1\r\n"
		"[default]\r\naws_access_key_id = " AKID "\r\n"
		"aws_secret_access_key = " SECRET "\r\n"
		"aws_session_token = " TOKEN "\r\n";
	size_t		len = strlen(f),
				n;
	const char *dflt = strstr(f, "[default]");
	const char *akid = strstr(f, "aws_access_key_id");
	const char *secret = strstr(f, "aws_secret_access_key");
	const char *token = strstr(f, "aws_session_token");
	VigilAwsCredentials c;
	VigilCredStatus st;

	for (n = 0; n <= len; n++)
	{
		st = parse_n(f, n, NULL, &c);
		CHECK(st >= VIGIL_CRED_FOUND && st <= VIGIL_CRED_MALFORMED);
		if (st == VIGIL_CRED_FOUND)
		{
			CHECK(strcmp(c.access_key_id, AKID) == 0);
			CHECK(strncmp(c.secret_access_key, SECRET,
						  strlen(c.secret_access_key)) == 0);
			CHECK(strncmp(c.session_token, TOKEN,
						  strlen(c.session_token)) == 0);
		}
	}

	CHECK(status_at(f, f, 0, &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(status_at(f, f, 5, &c) == VIGIL_CRED_NO_PROFILE);	/* comment */
	CHECK(status_at(f, f, 12, &c) == VIGIL_CRED_MALFORMED);	/* "[ot" */
	CHECK(status_at(f, dflt, 0, &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(status_at(f, dflt, 4, &c) == VIGIL_CRED_MALFORMED);	/* "[def" */
	CHECK(status_at(f, dflt, 9, &c) == VIGIL_CRED_NO_KEYS);
	CHECK(status_at(f, akid, 0, &c) == VIGIL_CRED_NO_KEYS);
	CHECK(status_at(f, akid, 5, &c) == VIGIL_CRED_MALFORMED);	/* "aws_a" */
	CHECK(status_at(f, akid, 19, &c) == VIGIL_CRED_INCOMPLETE);	/* empty */
	CHECK(status_at(f, akid, 20, &c) == VIGIL_CRED_INCOMPLETE);
	CHECK(status_at(f, secret, 0, &c) == VIGIL_CRED_INCOMPLETE);
	CHECK(status_at(f, secret, 4, &c) == VIGIL_CRED_MALFORMED);
	CHECK(status_at(f, secret, 24, &c) == VIGIL_CRED_INCOMPLETE);
	CHECK(status_at(f, secret, 25, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, AKID, "w", ""));
	CHECK(status_at(f, token, 0, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, AKID, SECRET, ""));
	CHECK(status_at(f, token, 3, &c) == VIGIL_CRED_MALFORMED);
	CHECK(status_at(f, token, 20, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, AKID, SECRET, ""));
	CHECK(status_at(f, token, 21, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, AKID, SECRET, "I"));
	CHECK(parse_n(f, len, NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, AKID, SECRET, TOKEN));
}

/* Whether the len bytes at buf hold the string s. */
static bool
holds(const char *buf, size_t len, const char *s)
{
	size_t		n = strlen(s);

	for (size_t at = 0; at + n <= len; at++)
		if (memcmp(buf + at, s, n) == 0)
			return true;
	return false;
}

/*
 * Random bytes and random mutations never crash or overread; credentials
 * found are values the text holds, within their limits; and the loop meets
 * both found credentials and malformed files.
 */
static void
random_garbage(void)
{
	static const char alphabet[] = "[]=:#; \t\r\naws_ecrtkyid\vDEFAULT";
	const char *f = "[default]\naws_access_key_id = a\n"
		"aws_secret_access_key = b\n[DEFAULT]\naws_session_token = t\n";
	uint64_t	state = 11;
	char		buf[256];
	size_t		len,
				k;
	VigilAwsCredentials c;
	int			i,
				found = 0,
				malformed = 0;

	for (i = 0; i < 30000; i++)
	{
		VigilCredStatus st;

		if (i % 2)
		{
			len = unit_bits64(&state) % sizeof(buf);
			for (k = 0; k < len; k++)
				buf[k] = alphabet[unit_bits64(&state) % (sizeof(alphabet) - 1)];
		}
		else
		{
			len = strlen(f);
			memcpy(buf, f, len);
			for (k = 0; k < 2; k++)
				buf[unit_bits64(&state) % len] =
					alphabet[unit_bits64(&state) % (sizeof(alphabet) - 1)];
		}
		st = parse_n(buf, len, i % 3 ? NULL : "DEFAULT", &c);
		if (st == VIGIL_CRED_FOUND)
		{
			found++;
			CHECK(c.access_key_id[0] != '\0' && c.secret_access_key[0] != '\0');
			CHECK(holds(buf, len, c.access_key_id));
			CHECK(holds(buf, len, c.secret_access_key));
		}
		malformed += (st == VIGIL_CRED_MALFORMED);
	}
	CHECK(found > 0 && malformed > 0);
}

int
main(void)
{
	RUN(basic_profiles);
	RUN(syntax_variants);
	RUN(comments);
	RUN(session_tokens);
	RUN(incomplete);
	RUN(undocumented);
	RUN(duplicates);
	RUN(malformed);
	RUN(value_lengths);
	RUN(every_prefix);
	RUN(random_garbage);
	return UNIT_DONE();
}
