/*
 * buf.c
 *		A growable byte string; see buf.h.
 */
#include "notify/core/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Make buf an empty buffer that owns nothing. */
void
vigil_buf_init(VigilBuf *buf)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

/* Make room for extra more bytes (and the NUL) without appending them. */
bool
vigil_buf_reserve(VigilBuf *buf, size_t extra)
{
	size_t		need,
				cap;
	char	   *data;

	if (extra > SIZE_MAX - 1 - buf->len)
		return false;
	need = buf->len + extra + 1;
	if (need <= buf->cap)
		return true;

	/* doubling keeps a long run of small appends linear */
	cap = buf->cap < 64 ? 64 : buf->cap;
	while (cap < need)
	{
		if (cap > SIZE_MAX / 2)
		{
			cap = need;
			break;
		}
		cap *= 2;
	}

	data = realloc(buf->data, cap);
	if (data == NULL)
		return false;
	if (buf->data == NULL)
		data[0] = '\0';
	buf->data = data;
	buf->cap = cap;
	return true;
}

/* Append len bytes of data. */
bool
vigil_buf_append(VigilBuf *buf, const void *data, size_t len)
{
	if (!vigil_buf_reserve(buf, len))
		return false;
	if (len > 0)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return true;
}

/* Append a C string, without its NUL. */
bool
vigil_buf_append_str(VigilBuf *buf, const char *s)
{
	return vigil_buf_append(buf, s, strlen(s));
}

/* Truncate buf back to len bytes, undoing a partly done append. */
void
vigil_buf_truncate(VigilBuf *buf, size_t len)
{
	buf->len = len;
	if (buf->data != NULL)
		buf->data[len] = '\0';
}

/* Empty buf but keep its memory for reuse. */
void
vigil_buf_reset(VigilBuf *buf)
{
	buf->len = 0;
	if (buf->data != NULL)
		buf->data[0] = '\0';
}

/* Release buf's memory and make it an empty buffer again. */
void
vigil_buf_free(VigilBuf *buf)
{
	free(buf->data);
	vigil_buf_init(buf);
}
