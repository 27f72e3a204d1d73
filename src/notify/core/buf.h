/*
 * buf.h
 *		A growable byte string, for the requests and responses of the AWS
 *		protocol code.
 *
 * Nothing here knows about PostgreSQL, and there is no global state.  A
 * VigilBuf owns its data; vigil_buf_free releases it.  Every allocating
 * function returns false on allocation failure, or on a size that would
 * overflow.
 */
#ifndef VIGIL_BUF_H
#define VIGIL_BUF_H

#include <stdbool.h>
#include <stddef.h>

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
extern void vigil_buf_truncate(VigilBuf *buf, size_t len);
extern void vigil_buf_reset(VigilBuf *buf);
extern void vigil_buf_free(VigilBuf *buf);

#endif							/* VIGIL_BUF_H */
