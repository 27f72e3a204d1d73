/*
 * url.h
 *		Percent-encoding, form bodies and endpoint URLs, for the requests of
 *		the AWS query APIs.
 *
 * Nothing here knows about PostgreSQL, and there is no global state; URLs
 * are parsed by libcurl.  The
 * functions that append to a VigilBuf keep buf.h's promises: false when
 * memory runs out, with the buffer left as it was.
 *
 * Encoding is RFC 3986 percent-encoding as SigV4 defines it: the unreserved
 * bytes A-Z a-z 0-9 - _ . ~ are kept, every other byte becomes %XX with
 * uppercase hex, so '+' is %2B and a space %20 (never '+').  Bytes are
 * encoded one by one, so UTF-8 text comes out as its bytes (é is %C3%A9).
 * AWS query APIs such as SNS accept a form body encoded this way.
 */
#ifndef VIGIL_URL_H
#define VIGIL_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "notify/core/buf.h"

/* Limits of a parsed endpoint URL, each including the terminating NUL. */
#define VIGIL_URL_HOST_MAX 272
#define VIGIL_URL_PATH_MAX 2048

/* Whether c is an RFC 3986 unreserved character, kept as is by encoding. */
static inline bool
vigil_uri_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') ||
		c == '-' || c == '_' || c == '.' || c == '~';
}

/*
 * Percent-encode srclen bytes of src into dst and NUL-terminate it; returns
 * the encoded length.  dst needs room for 3 * srclen + 1 bytes; with dst
 * NULL nothing is written and the length is only computed.  encode_slash
 * false keeps '/' as is, for paths.  vigil_buf_append_uri appends the
 * encoding to buf instead.
 */
extern size_t vigil_uri_encode(char *dst, const void *src, size_t srclen,
							   bool encode_slash);
extern bool vigil_buf_append_uri(VigilBuf *buf, const void *src,
								 size_t srclen, bool encode_slash);

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
 * An endpoint URL, "http[s]://host[:port][/path]", taken apart by libcurl's
 * URL parser (curl_url), so what is checked is what libcurl will send to.
 * host is the Host header value: the host name lowercased (an IPv6 literal
 * keeps its brackets), followed by ":port" only when the URL gives a port
 * other than the scheme's default (80 for http, 443 for https), which is
 * what botocore signs.  path is the URL's path as written, "/" when it has none.
 * URLs with user information, a query, a fragment, an IPv6 zone id, an
 * empty or invalid host, port 0 or one above 65535, or parts longer than
 * the limits above are refused; an empty port (RFC 3986: the default) is
 * not.
 */
typedef struct VigilUrl
{
	bool		https;
	int			port;			/* effective port, default or explicit */
	char		host[VIGIL_URL_HOST_MAX];
	char		path[VIGIL_URL_PATH_MAX];
} VigilUrl;

extern bool vigil_url_parse(const char *url, VigilUrl *out);

#endif							/* VIGIL_URL_H */
