/*
 * fuzz.h
 *		Helpers shared by the libFuzzer targets: a check that crashes, and a
 *		reader that turns the fuzzer's bytes into numbers and events.
 *
 * A target finds bugs two ways: the sanitizers (ASan, UBSan, LeakSanitizer)
 * catch memory and undefined-behaviour errors, and FUZZ_CHECK catches a
 * broken promise of the parser's contract (a result that does not fit its
 * buffer, a round trip that does not give the input back).  Both abort,
 * which libFuzzer reports as a crash and saves the input under tmp/fuzz.
 */
#ifndef VIGIL_FUZZ_H
#define VIGIL_FUZZ_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/core/profile.h"
#include "notify/core/utf8.h"

/* Abort, naming the broken promise, when cond does not hold. */
#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* The unread part of the fuzzer's input. */
typedef struct FuzzIn
{
	const uint8_t *p;
	size_t		n;
} FuzzIn;

/* The next byte, 0 when the input is used up. */
static inline uint8_t
fuzz_u8(FuzzIn *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

/* The next 16-bit number, little-endian. */
static inline uint16_t
fuzz_u16(FuzzIn *in)
{
	uint16_t	lo = fuzz_u8(in);

	return (uint16_t) (lo | (uint16_t) fuzz_u8(in) << 8);
}

/*
 * The next double: usually a small decimal (a signed 16-bit number of
 * hundredths, or of units when the tag says so), so that the fuzzer reaches
 * valid parameters and amounts easily, and sometimes any 64 bits at all
 * (NaN, infinities, denormals).
 */
static inline double
fuzz_double(FuzzIn *in)
{
	uint8_t		tag = fuzz_u8(in);
	uint64_t	bits = 0;
	double		d;
	int			i;

	switch (tag % 4)
	{
		case 0:
			return (int16_t) fuzz_u16(in) / 100.0;
		case 1:
			return (int16_t) fuzz_u16(in);
		case 2:
			return (double) fuzz_u16(in) * (double) fuzz_u16(in);
		default:
			for (i = 0; i < 8; i++)
				bits |= (uint64_t) fuzz_u8(in) << (8 * i);
			memcpy(&d, &bits, sizeof(d));
			return d;
	}
}

/*
 * The next event, at or after *t (which it advances) by up to a day and a
 * half, sometimes before it: events may arrive out of order.  Merchants
 * and categories come from a small set, so that seen-sets repeat; a model's
 * probability is any double, a merchant's counts any 16-bit numbers.
 */
static inline void
fuzz_event(FuzzIn *in, double *t, VigilEvent *e)
{
	uint8_t		flags = fuzz_u8(in);
	double		dt = (double) fuzz_u16(in) * ((flags & 0x40) ? 2.0 : 0.25);

	memset(e, 0, sizeof(*e));
	*t += (flags & 0x80) ? -dt : dt;
	e->t = *t;
	e->amount = fuzz_double(in);
	e->has_location = (flags & 0x01) != 0;
	if (e->has_location)
	{
		e->lat = (int16_t) fuzz_u16(in) / 364.0;	/* about +-90 */
		e->lon = (int16_t) fuzz_u16(in) / 182.0;	/* about +-180 */
	}
	e->has_merchant = (flags & 0x02) != 0;
	e->merchant_hash = 0x9e3779b97f4a7c15ULL * (fuzz_u8(in) % 48 + 1);
	e->has_category = (flags & 0x04) != 0;
	e->category_hash = 0xbf58476d1ce4e5b9ULL * (fuzz_u8(in) % 40 + 1);
	if (flags & 0x08)
		e->t = fuzz_double(in); /* any time at all, valid or not */
	e->has_model = (flags & 0x10) != 0;
	if (e->has_model)
		e->model_probability = fuzz_double(in);	/* valid or not */
	e->has_merchant_risk = (flags & 0x20) != 0;
	for (int w = 0; e->has_merchant_risk && w < VIGIL_MERCHANT_WINDOWS; w++)
	{
		e->merchant_rows[w] = fuzz_u16(in);
		e->merchant_fraud[w] = fuzz_u16(in);	/* more than the rows, at times */
	}
}

/* Whether the n bytes at s are well-formed UTF-8. */
static inline bool
fuzz_utf8_valid(const char *s, size_t n)
{
	size_t		i = 0,
				k;

	while (i < n)
	{
		k = vigil_utf8_seq_len((const unsigned char *) s + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/* A NUL-terminated heap copy of the input (free it). */
static inline char *
fuzz_cstring(const uint8_t *data, size_t size)
{
	char	   *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif							/* VIGIL_FUZZ_H */
