/*
 * url.c
 *		Percent-encoding, form bodies and endpoint URLs; see url.h.
 */
#include "notify/core/url.h"

#include <stdio.h>
#include <string.h>

#include "core/hex.h"

static const char hexdigits_upper[] = "0123456789ABCDEF";

/* ASCII lowercase, whatever the locale. */
static inline char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

/* Whether s starts with prefix, ignoring ASCII case. */
static bool
has_prefix_nocase(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++)
	{
		if (ascii_lower(*s) != *prefix)
			return false;
	}
	return true;
}

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

/* Whether c may appear in a registered host name we accept. */
static inline bool
is_host_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/* Take an endpoint URL apart; see url.h for what is refused. */
bool
vigil_url_parse(const char *url, VigilUrl *out)
{
	const char *p;
	const char *host;
	const char *path;
	size_t		hostlen,
				pathlen,
				n,
				i;
	bool		https,
				has_port = false;
	long		port = 0;
	char		hostbuf[VIGIL_URL_HOST_MAX];

	if (url == NULL)
		return false;
	if (has_prefix_nocase(url, "http://"))
	{
		https = false;
		p = url + 7;
	}
	else if (has_prefix_nocase(url, "https://"))
	{
		https = true;
		p = url + 8;
	}
	else
		return false;

	/* host: an IPv6 literal in brackets, or a name or IPv4 address */
	host = p;
	if (*p == '[')
	{
		bool		colon = false;

		for (p++; *p != ']'; p++)
		{
			if (*p == ':')
				colon = true;
			else if (vigil_hex_value((unsigned char) *p) < 0 && *p != '.')
				return false;	/* also the end of the string */
		}
		if (!colon)
			return false;
		p++;
	}
	else
	{
		while (is_host_char((unsigned char) *p))
			p++;
	}
	hostlen = (size_t) (p - host);
	if (hostlen == 0)
		return false;

	if (*p == ':')
	{
		int			digits = 0;

		for (p++; *p >= '0' && *p <= '9'; p++)
		{
			/* leading zeros are harmless; the value is what counts */
			port = port * 10 + (*p - '0');
			if (port > 65535)
				return false;
			digits++;
		}
		if (digits == 0 || port == 0)
			return false;
		has_port = true;
	}
	else
		port = https ? 443 : 80;

	/* anything else in the authority (user information, say) is refused */
	if (*p != '\0' && *p != '/')
		return false;

	path = p;
	pathlen = strlen(path);
	for (i = 0; i < pathlen; i++)
	{
		unsigned char c = (unsigned char) path[i];

		if (c <= ' ' || c == 0x7f || c == '?' || c == '#')
			return false;
	}
	if (pathlen == 0)
	{
		path = "/";
		pathlen = 1;
	}
	if (pathlen >= VIGIL_URL_PATH_MAX || hostlen >= VIGIL_URL_HOST_MAX)
		return false;

	for (i = 0; i < hostlen; i++)
		hostbuf[i] = ascii_lower(host[i]);
	hostbuf[hostlen] = '\0';
	if (has_port && port != (https ? 443 : 80))
	{
		n = (size_t) snprintf(hostbuf + hostlen, sizeof(hostbuf) - hostlen,
							  ":%ld", port);
		if (n >= sizeof(hostbuf) - hostlen)
			return false;
	}

	out->https = https;
	out->port = (int) port;
	memcpy(out->host, hostbuf, strlen(hostbuf) + 1);
	memcpy(out->path, path, pathlen);
	out->path[pathlen] = '\0';
	return true;
}
