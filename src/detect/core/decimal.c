/*
 * decimal.c
 *		Exact conversion of small base-10000 decimals to double: see
 *		decimal.h for why one multiplication or division is exact enough.
 */
#include "detect/core/decimal.h"

/* Powers of ten that are exact doubles: 10^0 .. 10^22. */
static const double exact_pow10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

#define MAX_EXACT_POW10 22
#define MAX_EXACT_INT ((uint64_t) 1 << 53)

/* See decimal.h. */
bool
vigil_decimal_to_double(const int16_t *digits, int ndigits, int weight,
						bool negative, double *out)
{
	uint64_t	m = 0;
	int			exp10;
	double		v;

	/* zero has no digits; numeric has no negative zero, nor does its text */
	if (ndigits == 0)
	{
		*out = 0.0;
		return true;
	}

	/* four base-10000 digits already reach 10^16 > 2^53: stop at five */
	if (ndigits < 0 || ndigits > 4)
		return false;
	for (int i = 0; i < ndigits; i++)
	{
		if (digits[i] < 0 || digits[i] > 9999)
			return false;
		m = m * 10000 + (uint64_t) digits[i];
	}
	if (m > MAX_EXACT_INT)
		return false;

	/* the last digit stands for 10000^(weight - ndigits + 1) */
	exp10 = 4 * (weight - ndigits + 1);
	if (exp10 > MAX_EXACT_POW10 || exp10 < -MAX_EXACT_POW10)
		return false;
	if (exp10 >= 0)
		v = (double) m * exact_pow10[exp10];
	else
		v = (double) m / exact_pow10[-exp10];
	*out = negative ? -v : v;
	return true;
}
