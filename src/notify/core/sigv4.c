/*
 * sigv4.c
 *		AWS Signature Version 4.
 *
 * See sigv4.h for the conventions.  The signing follows AWS's "Create a
 * signed AWS API request" steps (canonical request, string to sign,
 * signing key, signature) and matches botocore's SigV4Auth byte for byte,
 * which test/unit/notify/test_sigv4.c checks against vectors botocore
 * computes.
 */
#include "notify/core/sigv4.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/hex.h"
#include "notify/core/url.h"

#define SHA256_LEN 32
#define ALGORITHM "AWS4-HMAC-SHA256"

/* Seconds since the epoch of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z */
#define MIN_SIGN_TIME INT64_C(-62167219200)
#define MAX_SIGN_TIME INT64_C(253402300799)

static const char hexdigits_lower[] = "0123456789abcdef";

/* One decoded and re-encoded query parameter, pointing into a pool. */
typedef struct QueryPair
{
	const char *name;
	const char *value;
} QueryPair;

/* Write len bytes as lowercase hex plus a NUL: dst needs 2 * len + 1. */
static void
hex_lower(char *dst, const unsigned char *src, size_t len)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		dst[2 * i] = hexdigits_lower[src[i] >> 4];
		dst[2 * i + 1] = hexdigits_lower[src[i] & 0x0f];
	}
	dst[2 * len] = '\0';
}

/* Release a buffer that held key material, wiping it first. */
static void
buf_free_secret(VigilBuf *buf)
{
	if (buf->data != NULL)
		OPENSSL_cleanse(buf->data, buf->cap);
	vigil_buf_free(buf);
}

/* Write v as exactly n decimal digits, zero-padded, without a NUL. */
static void
put_digits(char *dst, unsigned v, int n)
{
	while (n-- > 0)
	{
		dst[n] = (char) ('0' + v % 10);
		v /= 10;
	}
}

/* Format t as YYYYMMDDTHHMMSSZ (proleptic Gregorian calendar, UTC). */
bool
vigil_sigv4_date(time_t t, char out[VIGIL_SIGV4_DATE_LEN + 1])
{
	int64_t		secs = (int64_t) t;
	int64_t		days,
				rem,
				era,
				year;
	unsigned	doe,
				yoe,
				doy,
				mp,
				month,
				day;

	if (secs < MIN_SIGN_TIME || secs > MAX_SIGN_TIME)
		return false;

	/*
	 * gmtime_r would do, but it is not C99 and may consult the time zone
	 * database; this is Howard Hinnant's civil_from_days, exact for every
	 * date in range and free of any state.
	 */
	days = secs / 86400;
	rem = secs % 86400;
	if (rem < 0)
	{
		rem += 86400;
		days--;
	}
	days += 719468;				/* shift the epoch to 0000-03-01 */
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = (unsigned) (days - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	day = doy - (153 * mp + 2) / 5 + 1;
	month = mp < 10 ? mp + 3 : mp - 9;
	year = (int64_t) yoe + era * 400 + (month <= 2);

	put_digits(out, (unsigned) year, 4);
	put_digits(out + 4, month, 2);
	put_digits(out + 6, day, 2);
	out[8] = 'T';
	put_digits(out + 9, (unsigned) (rem / 3600), 2);
	put_digits(out + 11, (unsigned) (rem / 60 % 60), 2);
	put_digits(out + 13, (unsigned) (rem % 60), 2);
	out[15] = 'Z';
	out[16] = '\0';
	return true;
}

/* Whether s is a non-empty run of uppercase ASCII letters. */
static bool
valid_method(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
	{
		if (*s < 'A' || *s > 'Z')
			return false;
	}
	return true;
}

/* Whether s can be a credential scope part (region, service). */
static bool
valid_scope_part(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
	{
		if (!vigil_uri_unreserved((unsigned char) *s))
			return false;
	}
	return true;
}

/* Whether s can be an access key id: printable, no blank, '/' or ','. */
static bool
valid_access_key(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
	{
		/* '/' and ',' would break the Credential=... parameter apart */
		if (*s <= ' ' || *s > '~' || *s == '/' || *s == ',')
			return false;
	}
	return true;
}

/* Append a header value trimmed as SigV4's Trimall says; false if unsafe. */
static bool
append_header_value(VigilBuf *buf, const char *value)
{
	const unsigned char *p = (const unsigned char *) value;
	bool		pending_space = false;
	bool		any = false;

	for (; *p != '\0'; p++)
	{
		/* leading and trailing blanks go, inner runs become one space */
		if (*p == ' ' || *p == '\t')
		{
			pending_space = any;
			continue;
		}

		/*
		 * Controls and non-ASCII bytes have no place in a header value, and
		 * a CR or LF would let the value inject headers of its own.
		 */
		if (*p < ' ' || *p >= 0x7f)
			return false;
		if ((pending_space && !vigil_buf_append(buf, " ", 1)) ||
			!vigil_buf_append(buf, (const char *) p, 1))
			return false;
		pending_space = false;
		any = true;
	}
	return true;
}

/* Append "name:value\n" to the canonical headers. */
static bool
append_header(VigilBuf *buf, const char *name, const char *value)
{
	return vigil_buf_append_str(buf, name) &&
		vigil_buf_append(buf, ":", 1) &&
		append_header_value(buf, value) &&
		vigil_buf_append(buf, "\n", 1);
}

/* Append the canonical URI of path: normalized, then encoded once more. */
static bool
append_canonical_path(VigilBuf *buf, const char *path)
{
	size_t		start = buf->len;
	const char *p = path;
	size_t		pathlen;

	if (path == NULL || *path == '\0')
		return vigil_buf_append(buf, "/", 1);
	if (*path != '/')
		return false;
	pathlen = strlen(path);

	/*
	 * Empty, "." and ".." segments go, as in botocore's remove_dot_segments
	 * (AWS wants consecutive slashes merged too), and each segment is
	 * percent-encoded, '%' included: for services other than S3 SigV4
	 * encodes the already encoded path a second time.
	 */
	while (*p != '\0')
	{
		const char *seg;
		size_t		seglen;

		while (*p == '/')
			p++;
		seg = p;
		while (*p != '\0' && *p != '/')
			p++;
		seglen = (size_t) (p - seg);

		if (seglen == 0 || (seglen == 1 && seg[0] == '.'))
			continue;
		if (seglen == 2 && seg[0] == '.' && seg[1] == '.')
		{
			/* encoded segments hold no '/', so the last one starts there */
			while (buf->len > start && buf->data[buf->len - 1] != '/')
				buf->len--;
			if (buf->len > start)
				buf->len--;
			buf->data[buf->len] = '\0';
			continue;
		}
		if (!vigil_buf_append(buf, "/", 1) ||
			!vigil_buf_append_uri(buf, seg, seglen, true))
			return false;
	}

	if (buf->len == start)
		return vigil_buf_append(buf, "/", 1);
	if (path[pathlen - 1] == '/')
		return vigil_buf_append(buf, "/", 1);
	return true;
}

/* Append len bytes of src percent-decoded, then canonically encoded. */
static bool
append_reencoded(VigilBuf *pool, const char *src, size_t len)
{
	char	   *dst;
	size_t		i;

	/* decoding never lengthens, encoding at most triples */
	if (len > (SIZE_MAX - 1) / 3 || !vigil_buf_reserve(pool, 3 * len + 1))
		return false;
	dst = pool->data + pool->len;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) src[i];
		int			hi,
					lo;

		/* a '%' not followed by two hex digits stands for itself */
		if (c == '%' && i + 2 < len &&
			(hi = vigil_hex_value((unsigned char) src[i + 1])) >= 0 &&
			(lo = vigil_hex_value((unsigned char) src[i + 2])) >= 0)
		{
			c = (unsigned char) (hi << 4 | lo);
			i += 2;
		}
		dst += vigil_uri_encode(dst, &c, 1, true);
	}
	*dst++ = '\0';				/* pool strings are NUL-separated */
	pool->len = (size_t) (dst - pool->data);
	pool->data[pool->len] = '\0';
	return true;
}

/* qsort order of query pairs: by encoded name, then encoded value. */
static int
query_pair_cmp(const void *a, const void *b)
{
	const QueryPair *x = a;
	const QueryPair *y = b;
	int			c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->value, y->value);
}

/* Append the canonical form of an encoded query string. */
static bool
append_canonical_query(VigilBuf *buf, const char *query)
{
	VigilBuf	pool = VIGIL_BUF_INIT;
	size_t	   *offsets = NULL;
	QueryPair  *pairs = NULL;
	size_t		npairs = 0,
				maxpairs = 1,
				i;
	const char *p;
	bool		ok = false;

	if (query == NULL || *query == '\0')
		return true;

	/*
	 * Each pair is decoded and re-encoded, so a caller's harmless encoding
	 * choices (%7E for '~', lowercase hex) cannot change the signature, then
	 * the pairs are sorted by name, then value, as AWS compares them.
	 */

	for (p = query; *p != '\0'; p++)
	{
		if (*p == '&')
			maxpairs++;
	}
	/* offsets of name and value per pair; resolved once the pool is done */
	if (maxpairs > SIZE_MAX / (2 * sizeof(size_t)))
		return false;
	offsets = malloc(maxpairs * 2 * sizeof(size_t));
	pairs = malloc(maxpairs * sizeof(QueryPair));
	if (offsets == NULL || pairs == NULL)
		goto done;

	p = query;
	while (*p != '\0')
	{
		const char *pair = p;
		const char *eq;
		size_t		pairlen;

		while (*p != '\0' && *p != '&')
			p++;
		pairlen = (size_t) (p - pair);
		if (*p == '&')
			p++;
		if (pairlen == 0)
			continue;

		/* a pair without '=' is a name with an empty value */
		eq = memchr(pair, '=', pairlen);
		offsets[2 * npairs] = pool.len;
		if (!append_reencoded(&pool, pair, eq ? (size_t) (eq - pair) : pairlen))
			goto done;
		offsets[2 * npairs + 1] = pool.len;
		if (!append_reencoded(&pool, eq ? eq + 1 : "",
							  eq ? pairlen - (size_t) (eq + 1 - pair) : 0))
			goto done;
		npairs++;
	}

	for (i = 0; i < npairs; i++)
	{
		pairs[i].name = pool.data + offsets[2 * i];
		pairs[i].value = pool.data + offsets[2 * i + 1];
	}
	if (npairs > 1)
		qsort(pairs, npairs, sizeof(QueryPair), query_pair_cmp);

	for (i = 0; i < npairs; i++)
	{
		if ((i > 0 && !vigil_buf_append(buf, "&", 1)) ||
			!vigil_buf_append_str(buf, pairs[i].name) ||
			!vigil_buf_append(buf, "=", 1) ||
			!vigil_buf_append_str(buf, pairs[i].value))
			goto done;
	}
	ok = true;

done:
	free(offsets);
	free(pairs);
	vigil_buf_free(&pool);
	return ok;
}

/* SHA-256 of len bytes of data into md (SHA256_LEN bytes). */
static bool
sha256(const void *data, size_t len, unsigned char *md)
{
	unsigned int mdlen = 0;

	if (data == NULL)
		data = "";
	return EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) == 1 &&
		mdlen == SHA256_LEN;
}

/* HMAC-SHA256 of msg under key into md (SHA256_LEN bytes). */
static bool
hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
			unsigned char *md)
{
	unsigned int mdlen = 0;

	if (keylen > INT32_MAX)
		return false;
	return HMAC(EVP_sha256(), key, (int) keylen, msg, msglen, md,
				&mdlen) != NULL && mdlen == SHA256_LEN;
}

/* Derive the SigV4 signing key for a day, region and service. */
static bool
signing_key(const char *secret, const char *date8, const char *region,
			const char *service, unsigned char *key)
{
	VigilBuf	secret_key = VIGIL_BUF_INIT;
	unsigned char k1[SHA256_LEN];
	unsigned char k2[SHA256_LEN];
	bool		ok;

	ok = vigil_buf_append(&secret_key, "AWS4", 4) &&
		vigil_buf_append_str(&secret_key, secret) &&
		hmac_sha256(secret_key.data, secret_key.len, date8, 8, k1) &&
		hmac_sha256(k1, SHA256_LEN, region, strlen(region), k2) &&
		hmac_sha256(k2, SHA256_LEN, service, strlen(service), k1) &&
		hmac_sha256(k1, SHA256_LEN, "aws4_request", 12, key);

	/* the secret and keys derived from it must not outlive the call */
	buf_free_secret(&secret_key);
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	return ok;
}

/* Sign a request; see sigv4.h. */
bool
vigil_sigv4_sign(const VigilSigV4Request *req, VigilSigV4Result *out)
{
	bool		has_type,
				has_token;
	unsigned char md[SHA256_LEN];
	unsigned char key[SHA256_LEN];
	char		hex[VIGIL_SIGV4_HEX_LEN + 1];
	char		date8[9];
	VigilBuf   *cr = &out->canonical_request;
	VigilBuf   *sts = &out->string_to_sign;
	VigilBuf   *auth = &out->authorization;

	memset(out, 0, sizeof(*out));

	if (req == NULL || !valid_method(req->method) ||
		req->host == NULL || *req->host == '\0' ||
		!valid_scope_part(req->region) || !valid_scope_part(req->service) ||
		!valid_access_key(req->access_key_id) ||
		req->secret_access_key == NULL || *req->secret_access_key == '\0' ||
		(req->body == NULL && req->body_len > 0) ||
		!vigil_sigv4_date(req->now, out->x_amz_date))
		goto fail;
	has_type = req->content_type != NULL && *req->content_type != '\0';
	has_token = req->session_token != NULL && *req->session_token != '\0';
	memcpy(date8, out->x_amz_date, 8);
	date8[8] = '\0';

	if (!sha256(req->body, req->body_len, md))
		goto fail;
	hex_lower(out->payload_hash, md, SHA256_LEN);

	snprintf(out->signed_headers, sizeof(out->signed_headers), "%s%s%s",
			 has_type ? "content-type;" : "", "host;x-amz-date",
			 has_token ? ";x-amz-security-token" : "");

	/* canonical request */
	if (!vigil_buf_append_str(cr, req->method) ||
		!vigil_buf_append(cr, "\n", 1) ||
		!append_canonical_path(cr, req->path) ||
		!vigil_buf_append(cr, "\n", 1) ||
		!append_canonical_query(cr, req->query) ||
		!vigil_buf_append(cr, "\n", 1) ||
		(has_type && !append_header(cr, "content-type", req->content_type)) ||
		!append_header(cr, "host", req->host) ||
		!append_header(cr, "x-amz-date", out->x_amz_date) ||
		(has_token &&
		 !append_header(cr, "x-amz-security-token", req->session_token)) ||
		!vigil_buf_append(cr, "\n", 1) ||
		!vigil_buf_append_str(cr, out->signed_headers) ||
		!vigil_buf_append(cr, "\n", 1) ||
		!vigil_buf_append_str(cr, out->payload_hash))
		goto fail;

	/* string to sign */
	if (!sha256(cr->data, cr->len, md))
		goto fail;
	hex_lower(hex, md, SHA256_LEN);
	if (!vigil_buf_append_str(sts, ALGORITHM "\n") ||
		!vigil_buf_append_str(sts, out->x_amz_date) ||
		!vigil_buf_append(sts, "\n", 1) ||
		!vigil_buf_append_str(sts, date8) ||
		!vigil_buf_append(sts, "/", 1) ||
		!vigil_buf_append_str(sts, req->region) ||
		!vigil_buf_append(sts, "/", 1) ||
		!vigil_buf_append_str(sts, req->service) ||
		!vigil_buf_append_str(sts, "/aws4_request\n") ||
		!vigil_buf_append_str(sts, hex))
		goto fail;

	/* signature */
	if (!signing_key(req->secret_access_key, date8, req->region,
					 req->service, key))
		goto fail;
	if (!hmac_sha256(key, SHA256_LEN, sts->data, sts->len, md))
	{
		OPENSSL_cleanse(key, sizeof(key));
		goto fail;
	}
	OPENSSL_cleanse(key, sizeof(key));
	hex_lower(out->signature, md, SHA256_LEN);

	if (!vigil_buf_append_str(auth, ALGORITHM " Credential=") ||
		!vigil_buf_append_str(auth, req->access_key_id) ||
		!vigil_buf_append(auth, "/", 1) ||
		!vigil_buf_append_str(auth, date8) ||
		!vigil_buf_append(auth, "/", 1) ||
		!vigil_buf_append_str(auth, req->region) ||
		!vigil_buf_append(auth, "/", 1) ||
		!vigil_buf_append_str(auth, req->service) ||
		!vigil_buf_append_str(auth, "/aws4_request, SignedHeaders=") ||
		!vigil_buf_append_str(auth, out->signed_headers) ||
		!vigil_buf_append_str(auth, ", Signature=") ||
		!vigil_buf_append_str(auth, out->signature))
		goto fail;
	return true;

fail:
	vigil_sigv4_result_free(out);
	return false;
}

/* Release what a successful vigil_sigv4_sign left in *out, and zero it. */
void
vigil_sigv4_result_free(VigilSigV4Result *out)
{
	/* the canonical request holds the session token */
	buf_free_secret(&out->canonical_request);
	vigil_buf_free(&out->string_to_sign);
	vigil_buf_free(&out->authorization);
	memset(out, 0, sizeof(*out));
}
