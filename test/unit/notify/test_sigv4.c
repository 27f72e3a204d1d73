/*
 * test_sigv4.c
 *		Unit tests for AWS SigV4 signing, against botocore, with the form
 *		bodies and endpoint URLs that botocore builds for the same requests.
 *
 * The signing cases compare with vectors botocore computes
 * (test/unit/notify/sigv4_vectors.py), read from the file named by argv[1]
 * or by the environment variable VIGIL_SIGV4_VECTORS.  Without either, or
 * with a file missing any vector listed in required_vectors, those cases
 * fail: a skipped comparison must never pass for a successful one.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notify/core/buf.h"
#include "notify/core/sigv4.h"
#include "notify/core/url.h"
#include "unit.h"

#define MAX_FIELDS 64
#define MAX_VECTORS 256

/* One record of the vector file: its key=value lines in file order. */
typedef struct Vector
{
	int			nfields;
	char	   *key[MAX_FIELDS];
	char	   *value[MAX_FIELDS];
} Vector;

/* Bytes decoded from a hex field. */
typedef struct Bytes
{
	unsigned char *data;
	size_t		len;
} Bytes;

static const char *vectors_path;
static bool vectors_loaded;
static Vector vectors[MAX_VECTORS];
static int	nvectors;

/* The vectors every run must see, so a truncated file fails loudly. */
static const char *const required_vectors[] = {
	"no-token", "session-token", "port-4566", "form-unicode",
	"query-sorting", "monitoring-eu-west-1", "empty-body",
	"explicit-default-port", "odd-path-and-case", "ipv6-literal",
	"leap-day", "last-second-1999",
};

/* The value of key in v, or NULL when absent. */
static const char *
field(const Vector *v, const char *key)
{
	int			i;

	for (i = 0; i < v->nfields; i++)
	{
		if (strcmp(v->key[i], key) == 0)
			return v->value[i];
	}
	return NULL;
}

/* Like field, but a missing field is a failed check and reads as "". */
static const char *
need(const Vector *v, const char *key)
{
	const char *s = field(v, key);

	if (s == NULL)
	{
		printf("#   vector %s lacks field %s\n",
			   field(v, "name") ? field(v, "name") : "?", key);
		unit_case_failed = 1;
		return "";
	}
	return s;
}

/* Decode a hex string; false (and nothing allocated) when it is not hex. */
static bool
hex_decode(const char *hex, size_t hexlen, Bytes *out)
{
	size_t		i;

	out->data = NULL;
	out->len = 0;
	if (hexlen % 2 != 0)
		return false;
	out->data = malloc(hexlen / 2 + 1);
	if (out->data == NULL)
		return false;
	for (i = 0; i < hexlen / 2; i++)
	{
		unsigned int byte;

		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
		{
			free(out->data);
			out->data = NULL;
			return false;
		}
		out->data[i] = (unsigned char) byte;
	}
	out->data[hexlen / 2] = '\0';
	out->len = hexlen / 2;
	return true;
}

/* Check that got (gotlen bytes) equals want, printing both when not. */
static void
check_bytes(const char *what, const char *name, const void *got,
			size_t gotlen, const void *want, size_t wantlen)
{
	if (gotlen == wantlen && (gotlen == 0 || memcmp(got, want, gotlen) == 0))
		return;
	printf("#   vector %s: %s differs\n#     got:  %.*s\n#     want: %.*s\n",
		   name, what, (int) gotlen, (const char *) got,
		   (int) wantlen, (const char *) want);
	unit_case_failed = 1;
}

/* Check that a C string result equals the expected one. */
static void
check_str(const char *what, const char *name, const char *got,
		  const char *want)
{
	check_bytes(what, name, got ? got : "(null)",
				strlen(got ? got : "(null)"), want, strlen(want));
}

/* Read the vector file into vectors[]; false on any trouble, reported. */
static bool
load_vectors(const char *path)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;
	Vector	   *cur = NULL;

	if (f == NULL)
	{
		printf("# cannot open vector file %s\n", path);
		return false;
	}
	while ((n = getline(&line, &cap, f)) >= 0)
	{
		char	   *eq;

		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (line[0] == '#')
			continue;
		if (n == 0)
		{
			cur = NULL;
			continue;
		}
		eq = strchr(line, '=');
		if (eq == NULL)
		{
			printf("# malformed vector line: %s\n", line);
			break;
		}
		if (cur == NULL)
		{
			if (nvectors == MAX_VECTORS)
			{
				printf("# too many vectors\n");
				break;
			}
			cur = &vectors[nvectors++];
		}
		if (cur->nfields == MAX_FIELDS)
		{
			printf("# too many fields in a vector\n");
			break;
		}
		*eq = '\0';
		cur->key[cur->nfields] = strdup(line);
		cur->value[cur->nfields] = strdup(eq + 1);
		if (cur->key[cur->nfields] == NULL ||
			cur->value[cur->nfields] == NULL)
		{
			free(cur->key[cur->nfields]);
			free(cur->value[cur->nfields]);
			break;
		}
		cur->nfields++;
	}
	free(line);
	if (!feof(f))
	{
		fclose(f);
		return false;
	}
	fclose(f);
	return true;
}

/* Release everything load_vectors allocated. */
static void
free_vectors(void)
{
	int			i,
				j;

	for (i = 0; i < nvectors; i++)
	{
		for (j = 0; j < vectors[i].nfields; j++)
		{
			free(vectors[i].key[j]);
			free(vectors[i].value[j]);
		}
	}
	nvectors = 0;
}

/* X-Amz-Date formatting, including leap days and the range limits. */
static void
date_format(void)
{
	char		d[VIGIL_SIGV4_DATE_LEN + 1];

	CHECK(vigil_sigv4_date(0, d) && strcmp(d, "19700101T000000Z") == 0);
	CHECK(vigil_sigv4_date(1795264496, d) &&
		  strcmp(d, "20261121T123456Z") == 0);
	CHECK(vigil_sigv4_date(951782400, d) &&
		  strcmp(d, "20000229T000000Z") == 0);
	CHECK(vigil_sigv4_date(4107542399, d) &&
		  strcmp(d, "21000228T235959Z") == 0);
	CHECK(vigil_sigv4_date(4107542400, d) &&
		  strcmp(d, "21000301T000000Z") == 0);
	CHECK(vigil_sigv4_date(-1, d) && strcmp(d, "19691231T235959Z") == 0);
	CHECK(vigil_sigv4_date((time_t) 253402300799, d) &&
		  strcmp(d, "99991231T235959Z") == 0);
	CHECK(vigil_sigv4_date((time_t) -62167219200, d) &&
		  strcmp(d, "00000101T000000Z") == 0);
	strcpy(d, "untouched");
	CHECK(!vigil_sigv4_date((time_t) 253402300800, d));
	CHECK(!vigil_sigv4_date((time_t) -62167219201, d));
	CHECK(strcmp(d, "untouched") == 0);
}

/* A valid request for the C-only cases to vary. */
static VigilSigV4Request
base_request(void)
{
	VigilSigV4Request r;

	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.host = "sns.eu-west-1.amazonaws.com";
	r.path = "/";
	r.query = "";
	r.content_type = "application/x-www-form-urlencoded; charset=utf-8";
	r.body = "Action=ListTopics";
	r.body_len = strlen("Action=ListTopics");
	r.region = "eu-west-1";
	r.service = "sns";
	r.access_key_id = "AKIDEXAMPLE";
	r.secret_access_key = "secret";
	r.session_token = NULL;
	r.now = 1795264496;
	return r;
}

/* Sign r and check it is refused, with the result zeroed. */
static void
check_refused(VigilSigV4Request r, const char *why)
{
	VigilSigV4Result res;
	static const VigilSigV4Result zero;

	memset(&res, 0x5a, sizeof(res));
	if (vigil_sigv4_sign(&r, &res))
	{
		printf("#   signing accepted %s\n", why);
		unit_case_failed = 1;
		vigil_sigv4_result_free(&res);
		return;
	}
	CHECK(memcmp(&res, &zero, sizeof(res)) == 0);
}

/* Sign base_request() with one field changed; check it is refused. */
#define CHECK_REFUSED(member, val) \
	do { \
		VigilSigV4Request r_ = base_request(); \
		r_.member = (val); \
		check_refused(r_, #member " = " #val); \
	} while (0)

/* Missing or unsafe inputs are refused rather than signed. */
static void
sign_validation(void)
{
	VigilSigV4Request r;
	VigilSigV4Result res;

	r = base_request();
	CHECK(vigil_sigv4_sign(&r, &res));
	vigil_sigv4_result_free(&res);
	vigil_sigv4_result_free(&res);	/* harmless on a zeroed result */

	CHECK(!vigil_sigv4_sign(NULL, &res));
	CHECK_REFUSED(method, "post");
	CHECK_REFUSED(method, "");
	CHECK_REFUSED(method, NULL);
	CHECK_REFUSED(host, "");
	CHECK_REFUSED(host, "h\r\nX-Evil: 1");
	CHECK_REFUSED(content_type, "text/plain\n");
	CHECK_REFUSED(session_token, "tok\r\n");
	CHECK_REFUSED(session_token, "t\xc3\xa9");
	CHECK_REFUSED(region, "eu/west");
	CHECK_REFUSED(region, "");
	CHECK_REFUSED(service, "s ns");
	CHECK_REFUSED(service, NULL);
	CHECK_REFUSED(access_key_id, "AKID,x");
	CHECK_REFUSED(access_key_id, "AKID/x");
	CHECK_REFUSED(access_key_id, "");
	CHECK_REFUSED(secret_access_key, "");
	CHECK_REFUSED(secret_access_key, NULL);
	CHECK_REFUSED(body, NULL);
	CHECK_REFUSED(path, "relative");
	CHECK_REFUSED(now, (time_t) 253402300800);

	/* NULL body of length 0, NULL path and query are fine */
	r = base_request();
	r.body = NULL;
	r.body_len = 0;
	r.path = NULL;
	r.query = NULL;
	r.session_token = "";
	CHECK(vigil_sigv4_sign(&r, &res));
	CHECK(strcmp(res.payload_hash, "e3b0c44298fc1c149afbf4c8996fb924"
				 "27ae41e4649b934ca495991b7852b855") == 0);
	CHECK(strcmp(res.signed_headers, "content-type;host;x-amz-date") == 0);
	vigil_sigv4_result_free(&res);
}

/* The third line of a canonical request, its canonical query string. */
static void
check_canonical(const char *path, const char *query, const char *want_path,
				const char *want_query)
{
	VigilSigV4Request r = base_request();
	VigilSigV4Result res;
	const char *p,
			   *q,
			   *e;

	r.path = path;
	r.query = query;
	if (!vigil_sigv4_sign(&r, &res))
	{
		printf("#   path %s query %s refused\n", path, query);
		unit_case_failed = 1;
		return;
	}
	p = strchr(res.canonical_request.data, '\n') + 1;
	q = strchr(p, '\n') + 1;
	e = strchr(q, '\n');
	check_bytes("canonical path", path ? path : "(null)", p, q - 1 - p,
				want_path, strlen(want_path));
	check_bytes("canonical query", query ? query : "(null)", q, e - q,
				want_query, strlen(want_query));
	vigil_sigv4_result_free(&res);
}

/* Path normalization and query re-encoding beyond botocore's vectors. */
static void
canonical_forms(void)
{
	check_canonical("/", "", "/", "");
	check_canonical("", NULL, "/", "");
	check_canonical("//", "", "/", "");
	check_canonical("/./", "", "/", "");
	check_canonical("/a/../../b", "", "/b", "");
	check_canonical("/a/b/..", "", "/a", "");
	check_canonical("/a/b/../", "", "/a/", "");
	check_canonical("/a/./b//c/", "", "/a/b/c/", "");
	check_canonical("/a%2Fb c", "", "/a%252Fb%20c", "");
	check_canonical("/..", "", "/", "");

	/* decoding then encoding again fixes harmless encoding variants */
	check_canonical("/", "b=%7e&a=x y&c", "/", "a=x%20y&b=~&c=");
	check_canonical("/", "a=%2f%2F/", "/", "a=%2F%2F%2F");
	check_canonical("/", "a=%zz&b=%4&c=%", "/", "a=%25zz&b=%254&c=%25");
	check_canonical("/", "&&a=1&", "/", "a=1");
	check_canonical("/", "x=1+2", "/", "x=1%2B2");
	check_canonical("/", "a=2&a=10&a=1&A=3", "/", "A=3&a=1&a=10&a=2");
	check_canonical("/", "a-b=1&a=2&a.b=3", "/", "a=2&a-b=1&a.b=3");
	check_canonical("/", "k==v=", "/", "k=%3Dv%3D");
	check_canonical("/", "%C3%A9=%e2%82%ac", "/", "%C3%A9=%E2%82%AC");
}

/* Whether the vector named name was loaded. */
static bool
have_vector(const char *name)
{
	int			i;

	for (i = 0; i < nvectors; i++)
	{
		const char *n = field(&vectors[i], "name");

		if (n != NULL && strcmp(n, name) == 0)
			return true;
	}
	return false;
}

/* The vector file was given, read, and covers what it must. */
static void
botocore_vectors_loaded(void)
{
	size_t		i;
	int			j,
				nsign = 0,
				nurl = 0;
	bool		token = false,
				port = false,
				empty = false,
				query = false,
				eu = false,
				us = false,
				sns = false,
				monitoring = false;

	if (vectors_path == NULL)
	{
		printf("# no botocore vectors: pass a file from "
			   "test/unit/notify/sigv4_vectors.py as argv[1] or in "
			   "VIGIL_SIGV4_VECTORS\n");
		unit_case_failed = 1;
		return;
	}
	if (!vectors_loaded)
	{
		printf("# could not read the vectors in %s\n", vectors_path);
		unit_case_failed = 1;
		return;
	}
	for (i = 0; i < sizeof(required_vectors) / sizeof(required_vectors[0]); i++)
	{
		if (!have_vector(required_vectors[i]))
		{
			printf("#   vector %s missing\n", required_vectors[i]);
			unit_case_failed = 1;
		}
	}

	/* and, whatever the names, the features they are meant to cover */
	for (j = 0; j < nvectors; j++)
	{
		const Vector *v = &vectors[j];
		const char *kind = need(v, "kind");

		if (strcmp(kind, "url") == 0)
		{
			nurl++;
			continue;
		}
		if (strcmp(kind, "sign") != 0)
			continue;
		nsign++;
		token |= *need(v, "token") != '\0';
		port |= strchr(need(v, "host"), ':') != NULL;
		empty |= *need(v, "body_hex") == '\0';
		query |= strchr(need(v, "query"), '&') != NULL;
		eu |= strcmp(need(v, "region"), "eu-west-1") == 0;
		us |= strcmp(need(v, "region"), "us-east-1") == 0;
		sns |= strcmp(need(v, "service"), "sns") == 0;
		monitoring |= strcmp(need(v, "service"), "monitoring") == 0;
	}
	CHECK(nsign >= (int) (sizeof(required_vectors) /
						  sizeof(required_vectors[0])));
	CHECK(nurl >= 8);
	CHECK(token && port && empty && query && eu && us && sns && monitoring);
}

/* Build a vector's form body with vigil_form_add_len; check it is the body. */
static void
check_form(const Vector *v, const char *name, const Bytes *body)
{
	VigilBuf	f = VIGIL_BUF_INIT;
	int			i,
				nforms = 0;

	for (i = 0; i < v->nfields; i++)
	{
		const char *sp;
		Bytes		n,
					val;

		if (strcmp(v->key[i], "form") != 0)
			continue;
		nforms++;
		sp = strchr(v->value[i], ' ');
		if (sp == NULL ||
			!hex_decode(v->value[i], sp - v->value[i], &n))
		{
			printf("#   vector %s: bad form line\n", name);
			unit_case_failed = 1;
			continue;
		}
		if (!hex_decode(sp + 1, strlen(sp + 1), &val))
		{
			free(n.data);
			printf("#   vector %s: bad form line\n", name);
			unit_case_failed = 1;
			continue;
		}
		CHECK(vigil_form_add_len(&f, (const char *) n.data,
								 (const char *) val.data, val.len));
		free(n.data);
		free(val.data);
	}
	if (nforms > 0)
		check_bytes("form body", name, f.data ? f.data : "", f.len,
					body->data, body->len);
	vigil_buf_free(&f);
}

/* Every botocore signing vector: same canonical request and signature. */
static void
botocore_signatures(void)
{
	int			i,
				nsign = 0;

	for (i = 0; i < nvectors; i++)
	{
		const Vector *v = &vectors[i];
		const char *name;
		VigilSigV4Request r;
		VigilSigV4Result res;
		VigilUrl	u;
		Bytes		body,
					cr,
					sts;
		const char *s;

		if (strcmp(need(v, "kind"), "sign") != 0)
			continue;
		nsign++;
		name = need(v, "name");

		s = need(v, "body_hex");
		if (!hex_decode(s, strlen(s), &body))
		{
			printf("#   vector %s: bad body_hex\n", name);
			unit_case_failed = 1;
			continue;
		}
		check_form(v, name, &body);

		/* the URL parser derives the Host value botocore signs */
		if (vigil_url_parse(need(v, "url"), &u))
		{
			check_str("url host", name, u.host, need(v, "host"));
			check_str("url path", name, u.path,
					  *need(v, "path") ? need(v, "path") : "/");
		}
		else
		{
			printf("#   vector %s: url refused\n", name);
			unit_case_failed = 1;
		}

		memset(&r, 0, sizeof(r));
		r.method = need(v, "method");
		r.host = need(v, "host");
		r.path = need(v, "path");
		r.query = need(v, "query");
		r.content_type = need(v, "content_type");
		r.body = body.data;
		r.body_len = body.len;
		r.region = need(v, "region");
		r.service = need(v, "service");
		r.access_key_id = need(v, "access_key");
		r.secret_access_key = need(v, "secret_key");
		r.session_token = need(v, "token");
		r.now = (time_t) strtoll(need(v, "time"), NULL, 10);

		if (!vigil_sigv4_sign(&r, &res))
		{
			printf("#   vector %s: signing refused\n", name);
			unit_case_failed = 1;
			free(body.data);
			continue;
		}
		check_str("x-amz-date", name, res.x_amz_date, need(v, "x_amz_date"));
		check_str("payload hash", name, res.payload_hash,
				  need(v, "payload_hash"));
		check_str("signed headers", name, res.signed_headers,
				  need(v, "signed_headers"));
		check_str("signature", name, res.signature, need(v, "signature"));
		check_str("authorization", name, res.authorization.data,
				  need(v, "authorization"));

		s = need(v, "canonical_request_hex");
		if (hex_decode(s, strlen(s), &cr))
		{
			check_bytes("canonical request", name,
						res.canonical_request.data,
						res.canonical_request.len, cr.data, cr.len);
			free(cr.data);
		}
		else
			unit_case_failed = 1;
		s = need(v, "string_to_sign_hex");
		if (hex_decode(s, strlen(s), &sts))
		{
			check_bytes("string to sign", name, res.string_to_sign.data,
						res.string_to_sign.len, sts.data, sts.len);
			free(sts.data);
		}
		else
			unit_case_failed = 1;

		vigil_sigv4_result_free(&res);
		free(body.data);
	}
	if (nsign == 0)
	{
		printf("# no signing vectors to compare with\n");
		unit_case_failed = 1;
	}
}

/* Every botocore URL vector: the same Host header value and path. */
static void
botocore_url_hosts(void)
{
	int			i,
				nurl = 0;

	for (i = 0; i < nvectors; i++)
	{
		const Vector *v = &vectors[i];
		const char *url;
		VigilUrl	u;

		if (strcmp(need(v, "kind"), "url") != 0)
			continue;
		nurl++;
		url = need(v, "url");
		if (!vigil_url_parse(url, &u))
		{
			printf("#   %s refused\n", url);
			unit_case_failed = 1;
			continue;
		}
		check_str("host", url, u.host, need(v, "host"));
		check_str("path", url, u.path, need(v, "path"));
	}
	if (nurl == 0)
	{
		printf("# no URL vectors to compare with\n");
		unit_case_failed = 1;
	}
}

int
main(int argc, char **argv)
{
	int			rc;

	vectors_path = argc > 1 ? argv[1] : getenv("VIGIL_SIGV4_VECTORS");
	if (vectors_path != NULL && *vectors_path == '\0')
		vectors_path = NULL;
	if (vectors_path != NULL)
		vectors_loaded = load_vectors(vectors_path);

	RUN(date_format);
	RUN(sign_validation);
	RUN(canonical_forms);
	RUN(botocore_vectors_loaded);
	RUN(botocore_signatures);
	RUN(botocore_url_hosts);

	rc = UNIT_DONE();
	free_vectors();
	return rc;
}
