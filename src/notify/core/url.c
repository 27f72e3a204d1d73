/*
 * url.c
 *		Percent-encoding, form bodies and endpoint URLs; see url.h.
 */
#include "notify/core/url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

static const char hexdigits_upper[] = "0123456789ABCDEF";

/* Append srclen bytes of src percent-encoded; see vigil_uri_encode. */
bool
vigil_buf_append_uri(VigilBuf *buf, const void *src, size_t srclen,
					 bool encode_slash)
{
	size_t		n = vigil_uri_encode(NULL, src, srclen, encode_slash);

	if (!vigil_buf_reserve(buf, n))
		return false;
	buf->len += vigil_uri_encode(buf->data + buf->len, src, srclen,
								 encode_slash);
	return true;
}

/* Percent-encode src into dst (or only measure it when dst is NULL). */
size_t
vigil_uri_encode(char *dst, const void *src, size_t srclen, bool encode_slash)
{
	const unsigned char *s = src;
	size_t		n = 0;
	size_t		i;

	for (i = 0; i < srclen; i++)
	{
		unsigned char c = s[i];

		if (vigil_uri_unreserved(c) || (c == '/' && !encode_slash))
		{
			if (dst != NULL)
				dst[n] = (char) c;
			n += 1;
		}
		else
		{
			if (dst != NULL)
			{
				dst[n] = '%';
				dst[n + 1] = hexdigits_upper[c >> 4];
				dst[n + 2] = hexdigits_upper[c & 0x0f];
			}
			n += 3;
		}
	}
	if (dst != NULL)
		dst[n] = '\0';
	return n;
}

/* Append name=value to a form body; see url.h. */
bool
vigil_form_add(VigilBuf *form, const char *name, const char *value)
{
	return vigil_form_add_len(form, name, value, strlen(value));
}

/* Append name=value to a form body, value given by length. */
bool
vigil_form_add_len(VigilBuf *form, const char *name, const char *value,
				   size_t valuelen)
{
	size_t		oldlen = form->len;

	if ((form->len > 0 && !vigil_buf_append(form, "&", 1)) ||
		!vigil_buf_append_uri(form, name, strlen(name), true) ||
		!vigil_buf_append(form, "=", 1) ||
		!vigil_buf_append_uri(form, value, valuelen, true))
	{
		/* a pair is either all there or not at all */
		vigil_buf_truncate(form, oldlen);
		return false;
	}
	return true;
}

/* Whether the part of h is present; a part libcurl cannot give is absent. */
static bool
has_part(CURLU *h, CURLUPart what)
{
	char	   *v = NULL;
	bool		present = curl_url_get(h, what, &v, 0) == CURLUE_OK;

	curl_free(v);
	return present;
}

/*
 * Take an endpoint URL apart with libcurl's URL parser, the one that will
 * send the request; see url.h for what is refused.
 */
bool
vigil_url_parse(const char *url, VigilUrl *out)
{
	CURLU	   *h;
	const char *authority;
	char	   *scheme = NULL,
			   *host = NULL,
			   *port = NULL,
			   *path = NULL;
	bool		ok = false;
	size_t		hostlen,
				i;
	long		portnum = 0;

	if (url == NULL)
		return false;

	/*
	 * libcurl also takes "http:/h" and "http:///h", which RFC 3986 does not,
	 * and drops an empty fragment, which we refuse like any other.
	 */
	authority = url + strspn(url, "HTTPShttps");
	if (strncmp(authority, "://", 3) != 0 || authority[3] == '/' ||
		strchr(url, '#') != NULL ||
		(h = curl_url()) == NULL)
		return false;
	/* the path as written, for the signer: it canonicalizes as AWS does */
	if (curl_url_set(h, CURLUPART_URL, url, CURLU_PATH_AS_IS) != CURLUE_OK ||
		curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
		curl_url_get(h, CURLUPART_PATH, &path, 0) != CURLUE_OK ||
		has_part(h, CURLUPART_USER) || has_part(h, CURLUPART_PASSWORD) ||
		has_part(h, CURLUPART_OPTIONS) || has_part(h, CURLUPART_QUERY) ||
		has_part(h, CURLUPART_FRAGMENT) || has_part(h, CURLUPART_ZONEID))
		goto done;
	out->https = strcmp(scheme, "https") == 0;
	if (!out->https && strcmp(scheme, "http") != 0)
		goto done;
	/* libcurl accepts a port 0, which no server listens on */
	if (curl_url_get(h, CURLUPART_PORT, &port, 0) == CURLUE_OK &&
		(portnum = strtol(port, NULL, 10)) == 0)
		goto done;
	out->port = portnum != 0 ? (int) portnum : out->https ? 443 : 80;

	/*
	 * The Host header: lowercase, with the port only when it is not the
	 * scheme's default, as botocore signs it.  libcurl would convert an
	 * international name when it connects, after we signed the name as
	 * written: ASCII names only.  A bare '/' for no path.
	 */
	hostlen = strlen(host);
	if (hostlen == 0 || hostlen >= sizeof(out->host) ||
		strlen(path) >= VIGIL_URL_PATH_MAX)
		goto done;
	for (i = 0; i <= hostlen; i++)
	{
		if ((unsigned char) host[i] >= 0x80)
			goto done;
		out->host[i] = host[i] >= 'A' && host[i] <= 'Z' ?
			host[i] + ('a' - 'A') : host[i];
	}
	if (portnum != 0 && out->port != (out->https ? 443 : 80) &&
		(size_t) snprintf(out->host + hostlen, sizeof(out->host) - hostlen,
						  ":%ld", portnum) >= sizeof(out->host) - hostlen)
		goto done;
	strcpy(out->path, path[0] != '\0' ? path : "/");
	ok = true;

done:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(h);
	return ok;
}
