/*
 * sigv4.h
 *		AWS Signature Version 4, for the notifier's requests to SNS and
 *		CloudWatch.
 *
 * Nothing here knows about PostgreSQL: the notifier fills a
 * VigilSigV4Request, gets back the X-Amz-Date and Authorization header
 * values, and sends the request itself.  Hashing and HMAC come from
 * OpenSSL's libcrypto, so whatever links this file needs -lcrypto.  There is
 * no global state; every function is safe to call from any thread.
 *
 * Memory: the only allocations are VigilBuf contents (buf.h) and
 * temporaries freed before returning.  A VigilSigV4Result owns three
 * VigilBufs; vigil_sigv4_result_free releases them.  Every allocating
 * function returns false on allocation failure (or on a size that would
 * overflow) and then leaves its output as documented, never half-written.
 *
 * Paths and query strings are percent-encoded as url.h describes.
 *
 * Why not libcurl's CURLOPT_AWS_SIGV4: with curl 7.88 (Debian 12) it was
 * run against the botocore vectors of test/unit/notify/sigv4_vectors.py
 * and the strict endpoint of test/aws (2026-12, a throwaway program).  It
 * signs a header removed with "Expect:" as an empty "expect" header that is
 * never sent, so every request we make (we suppress Expect: 100-continue)
 * got SignatureDoesNotMatch from the endpoint and failed all 12 vectors.
 * Without that header 10 of 12 pass, session tokens included (given as an
 * X-Amz-Security-Token header, which curl signs but does not add itself),
 * but two still fail: "query-sorting" (curl signs the query string as
 * written; SigV4 sorts the parameters) and "odd-path-and-case" (curl
 * signs /a//b/d%20e/%c3%a9/ where SigV4 wants /a/b/d%2520e/%C3%A9/: no
 * removal of empty segments, no double encoding, lowercase escapes).  It
 * also takes the time only from the clock or an X-Amz-Date header we set,
 * so the vectors' fixed times need that header.  We keep this signer.
 */
#ifndef VIGIL_SIGV4_H
#define VIGIL_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "notify/core/buf.h"

/* "YYYYMMDDTHHMMSSZ" */
#define VIGIL_SIGV4_DATE_LEN 16
/* lowercase hex of a SHA-256 digest */
#define VIGIL_SIGV4_HEX_LEN 64
/* room for content-type;host;x-amz-date;x-amz-security-token and a NUL */
#define VIGIL_SIGV4_SIGNED_HEADERS_MAX 64

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
