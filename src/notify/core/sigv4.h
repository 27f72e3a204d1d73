/*
 * sigv4.h
 *		AWS Signature Version 4 for the SNS notifier, and the encoding,
 *		endpoint URL and ARN helpers it needs.
 *
 * Nothing here knows about PostgreSQL: the notifier fills a
 * VigilSigV4Request, gets back the X-Amz-Date and Authorization header
 * values, and sends the request itself.  Hashing and HMAC come from
 * OpenSSL's libcrypto, so whatever links this file needs -lcrypto.  There is
 * no global state; every function is safe to call from any thread.
 *
 * Memory: the only allocations are VigilBuf contents and temporaries freed
 * before returning.  A VigilBuf owns its data; vigil_buf_free releases it.
 * A VigilSigV4Result owns three VigilBufs; vigil_sigv4_result_free releases
 * them.  Every allocating function returns false on allocation failure (or
 * on a size that would overflow) and then leaves its output as documented,
 * never half-written.
 *
 * Encoding is RFC 3986 percent-encoding as SigV4 defines it: the unreserved
 * bytes A-Z a-z 0-9 - _ . ~ are kept, every other byte becomes %XX with
 * uppercase hex, so '+' is %2B and a space %20 (never '+').  Bytes are
 * encoded one by one, so UTF-8 text comes out as its bytes (é is %C3%A9).
 * AWS query APIs such as SNS accept a form body encoded this way.
 */
#ifndef VIGIL_SIGV4_H
#define VIGIL_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* "YYYYMMDDTHHMMSSZ" */
#define VIGIL_SIGV4_DATE_LEN 16
/* lowercase hex of a SHA-256 digest */
#define VIGIL_SIGV4_HEX_LEN 64
/* room for content-type;host;x-amz-date;x-amz-security-token and a NUL */
#define VIGIL_SIGV4_SIGNED_HEADERS_MAX 64

/* Limits of a parsed endpoint URL, each including the terminating NUL. */
#define VIGIL_URL_HOST_MAX 272
#define VIGIL_URL_PATH_MAX 2048

/*
 * A growable byte string.  Start from VIGIL_BUF_INIT (or vigil_buf_init):
 * data is NULL until the first successful append, and from then on holds
 * len bytes followed by a NUL that len does not count, so text can be used
 * as a C string.  A failed append leaves the buffer as it was.
 */
typedef struct VigilBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;			/* bytes allocated at data, NUL included */
} VigilBuf;

#define VIGIL_BUF_INIT {NULL, 0, 0}

extern void vigil_buf_init(VigilBuf *buf);
extern bool vigil_buf_reserve(VigilBuf *buf, size_t extra);
extern bool vigil_buf_append(VigilBuf *buf, const void *data, size_t len);
extern bool vigil_buf_append_str(VigilBuf *buf, const char *s);
extern bool vigil_buf_append_uri(VigilBuf *buf, const void *src,
								 size_t srclen, bool encode_slash);
extern void vigil_buf_reset(VigilBuf *buf);
extern void vigil_buf_free(VigilBuf *buf);

/*
 * Percent-encode srclen bytes of src into dst and NUL-terminate it; returns
 * the encoded length.  dst needs room for 3 * srclen + 1 bytes; with dst
 * NULL nothing is written and the length is only computed.  encode_slash
 * false keeps '/' as is, for paths.
 */
extern size_t vigil_uri_encode(char *dst, const void *src, size_t srclen,
							   bool encode_slash);

/*
 * Append the pair name=value to an application/x-www-form-urlencoded body,
 * both sides percent-encoded, preceded by '&' unless the body is empty (so
 * the buffer must hold nothing but the form).  vigil_form_add_len takes a
 * value that need not be NUL-terminated and may hold any bytes.
 */
extern bool vigil_form_add(VigilBuf *form, const char *name,
						   const char *value);
extern bool vigil_form_add_len(VigilBuf *form, const char *name,
							   const char *value, size_t valuelen);

/*
 * An endpoint URL, "http[s]://host[:port][/path]", taken apart.  host is
 * the Host header value: the host name lowercased (an IPv6 literal keeps
 * its brackets), followed by ":port" only when the URL gives a port other
 * than the scheme's default (80 for http, 443 for https), which is what
 * botocore signs.  path is the URL's path as written, "/" when it has none.
 * URLs with user information, a query, a fragment, an empty or invalid host
 * or port, or parts longer than the limits above are refused.
 */
typedef struct VigilUrl
{
	bool		https;
	int			port;			/* effective port, default or explicit */
	char		host[VIGIL_URL_HOST_MAX];
	char		path[VIGIL_URL_PATH_MAX];
} VigilUrl;

extern bool vigil_url_parse(const char *url, VigilUrl *out);

/*
 * ARNs, "arn:partition:service:region:account:resource".  vigil_arn_region
 * copies the region into region (len bytes, NUL included) and fails on a
 * malformed ARN, an empty or invalid region, or a region that does not fit.
 * vigil_arn_is_fifo tells whether a well-formed ARN's resource (an SNS
 * topic name) ends in ".fifo", which decides whether a publish needs a
 * MessageGroupId.
 */
extern bool vigil_arn_region(const char *arn, char *region, size_t len);
extern bool vigil_arn_is_fifo(const char *arn);

/*
 * What is signed.  The request is signed over exactly these headers, in
 * this order: content-type (omitted when content_type is NULL or empty),
 * host, x-amz-date and, when session_token is neither NULL nor empty,
 * x-amz-security-token.  The caller must send each of them with the same
 * values: Host as given, X-Amz-Date and Authorization from the result,
 * X-Amz-Security-Token as given.
 *
 * method is an uppercase HTTP method ("POST").  host is the Host header
 * value exactly as sent (VigilUrl.host).  path is the request path as it
 * appears in the URL (VigilUrl.path); it is normalized as botocore does
 * (dot segments and empty segments removed) and encoded once more, as
 * SigV4 requires for every service but S3.  query is the URL's query
 * string without the '?', already percent-encoded, or NULL/empty; its
 * pairs are decoded, re-encoded canonically and sorted by name, then value
 * (empty pairs between '&'s are ignored; '+' is a literal plus, not a
 * space).  body is body_len bytes (NULL when body_len is 0).  now is the
 * signing time; it must be within a few minutes of AWS's clock.
 */
typedef struct VigilSigV4Request
{
	const char *method;
	const char *host;
	const char *path;
	const char *query;
	const char *content_type;
	const void *body;
	size_t		body_len;
	const char *region;			/* "eu-west-1" */
	const char *service;		/* "sns", "monitoring" */
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;
	time_t		now;
} VigilSigV4Request;

/*
 * The signature, and the intermediate strings for tests and debugging.
 * canonical_request holds the session token: never log it.
 */
typedef struct VigilSigV4Result
{
	char		x_amz_date[VIGIL_SIGV4_DATE_LEN + 1];
	char		payload_hash[VIGIL_SIGV4_HEX_LEN + 1];
	char		signature[VIGIL_SIGV4_HEX_LEN + 1];
	char		signed_headers[VIGIL_SIGV4_SIGNED_HEADERS_MAX];
	VigilBuf	authorization;	/* the Authorization header value */
	VigilBuf	canonical_request;
	VigilBuf	string_to_sign;
} VigilSigV4Result;

/*
 * Sign req into *out, which is overwritten without being freed first.
 * False, with *out zeroed and owning nothing, when an input is missing or
 * invalid (a header value with control characters, a credential scope part
 * with '/' or blanks, a time outside years 0000-9999) or memory runs out.
 * On success the caller owns *out and releases it with
 * vigil_sigv4_result_free, which is also harmless on a zeroed result.
 */
extern bool vigil_sigv4_sign(const VigilSigV4Request *req,
							 VigilSigV4Result *out);
extern void vigil_sigv4_result_free(VigilSigV4Result *out);

/* Format t as the X-Amz-Date value; false outside years 0000-9999. */
extern bool vigil_sigv4_date(time_t t, char out[VIGIL_SIGV4_DATE_LEN + 1]);

#endif							/* VIGIL_SIGV4_H */
