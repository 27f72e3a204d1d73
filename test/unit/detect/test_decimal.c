/*
 * test_decimal.c
 *		Unit tests for the exact fast path from base-10000 digits to double.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect/core/decimal.h"
#include "unit.h"

/*
 * What PostgreSQL's slow path gives: the exact decimal text, parsed by
 * strtod (correctly rounded).
 */
static double
reference(const int16_t *digits, int n, int weight, bool negative)
{
	char		buf[128];
	int			len;
	uint64_t	m = 0;

	for (int i = 0; i < n; i++)
		m = m * 10000 + (uint64_t) digits[i];
	len = snprintf(buf, sizeof(buf), "%s%llue%d", negative ? "-" : "",
				   (unsigned long long) m, 4 * (weight - n + 1));
	(void) len;
	return strtod(buf, NULL);
}

/* Bit-for-bit equality of doubles. */
static bool
same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof(double)) == 0;
}

/* Amounts as numeric(12,2) stores them. */
static void
amounts(void)
{
	double		v = 0.0;
	int16_t		d1[] = {1, 2345, 6700};	/* 12345.67 */
	int16_t		d2[] = {42};	/* 42 */
	int16_t		d3[] = {5000};	/* 0.5 */
	int16_t		d4[] = {1, 1000};	/* 0.00011000 -> 0.0001, 1000 */

	CHECK(vigil_decimal_to_double(d1, 3, 1, false, &v) && v == 12345.67);
	CHECK(vigil_decimal_to_double(d1, 3, 1, true, &v) && v == -12345.67);
	CHECK(vigil_decimal_to_double(d2, 1, 0, false, &v) && v == 42.0);
	CHECK(vigil_decimal_to_double(d3, 1, -1, false, &v) && v == 0.5);
	CHECK(vigil_decimal_to_double(d4, 2, -1, false, &v) && v == 0.00011);
	CHECK(vigil_decimal_to_double(d2, 1, 2, false, &v) && v == 4.2e9);
	CHECK(vigil_decimal_to_double(NULL, 0, 0, false, &v) && v == 0.0 && !signbit(v));
}

/* Random digits and weights: the fast path, when it answers, is strtod's. */
static void
random_values(void)
{
	uint64_t	state = 7;
	int			answered = 0,
				wrong = 0;

	for (int k = 0; k < 2000000; k++)
	{
		int16_t		digits[4];
		int			n = 1 + (int) (unit_bits64(&state) % 4);
		int			weight = (int) (unit_bits64(&state) % 13) - 6;
		bool		negative = unit_bits64(&state) & 1;
		double		v;

		for (int i = 0; i < n; i++)
			digits[i] = (int16_t) (unit_bits64(&state) % 10000);
		if (digits[0] == 0)
			digits[0] = 1;		/* numeric strips leading zero digits */
		if (!vigil_decimal_to_double(digits, n, weight, negative, &v))
			continue;
		answered++;
		if (!same_bits(v, reference(digits, n, weight, negative)))
		{
			if (wrong++ < 5)
				printf("#   digits %d.. n %d weight %d: %.17g vs %.17g\n", digits[0], n,
					   weight, v, reference(digits, n, weight, negative));
		}
	}
	CHECK(wrong == 0);
	/* most of them are in range: the test does test something */
	CHECK(answered > 1000000);
}

/* Out of the fast path's range: refused, the output left alone. */
static void
refuses(void)
{
	double		v = 9.0;
	int16_t		big[] = {9999, 9999, 9999, 9999};	/* 9999999999999999 > 2^53 */
	int16_t		five[] = {1, 2, 3, 4, 5};
	int16_t		bad[] = {10000};
	int16_t		neg[] = {-1};
	int16_t		one[] = {1};

	CHECK(!vigil_decimal_to_double(big, 4, 3, false, &v));
	CHECK(!vigil_decimal_to_double(five, 5, 4, false, &v));
	CHECK(!vigil_decimal_to_double(bad, 1, 0, false, &v));
	CHECK(!vigil_decimal_to_double(neg, 1, 0, false, &v));
	/* 10^24 and 10^-24 are not exact doubles */
	CHECK(!vigil_decimal_to_double(one, 1, 6, false, &v));
	CHECK(!vigil_decimal_to_double(one, 1, -6, false, &v));
	CHECK(v == 9.0);
	/* 10^20 and 10^-20 are */
	CHECK(vigil_decimal_to_double(one, 1, 5, false, &v) && v == 1e20);
	CHECK(vigil_decimal_to_double(one, 1, -5, false, &v) && v == 1e-20);
}

int
main(void)
{
	RUN(amounts);
	RUN(random_values);
	RUN(refuses);
	return UNIT_DONE();
}
