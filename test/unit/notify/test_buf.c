/*
 * test_buf.c
 *		Unit tests for the growable byte string of the AWS protocol code.
 */
#include <stdint.h>
#include <string.h>

#include "notify/core/buf.h"
#include "unit.h"

/* The buffer grows, stays NUL-terminated and refuses impossible sizes. */
static void
buffer_basics(void)
{
	VigilBuf	b;
	size_t		i;
	bool		ok = true;

	vigil_buf_init(&b);
	CHECK(b.data == NULL && b.len == 0);
	CHECK(vigil_buf_append(&b, "", 0));
	CHECK(b.data != NULL && b.data[0] == '\0' && b.len == 0);
	for (i = 0; i < 100000; i++)
		ok = ok && vigil_buf_append(&b, "0123456789", 10);
	CHECK(ok && b.len == 1000000 && strlen(b.data) == 1000000);
	CHECK(b.cap > b.len);
	CHECK(memcmp(b.data + 999990, "0123456789", 10) == 0);

	/* an impossible size fails and leaves the contents alone */
	CHECK(!vigil_buf_reserve(&b, SIZE_MAX));
	CHECK(!vigil_buf_reserve(&b, SIZE_MAX - b.len));
	CHECK(!vigil_buf_append(&b, "x", SIZE_MAX - 1));
	CHECK(b.len == 1000000 && b.data[b.len] == '\0');

	vigil_buf_reset(&b);
	CHECK(b.len == 0 && b.data != NULL && b.data[0] == '\0');
	CHECK(vigil_buf_append_str(&b, "again"));
	CHECK(strcmp(b.data, "again") == 0);
	vigil_buf_free(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
	vigil_buf_free(&b);			/* freeing twice is harmless */
}

int
main(void)
{
	RUN(buffer_basics);
	return UNIT_DONE();
}
