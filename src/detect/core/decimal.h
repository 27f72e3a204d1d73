/*
 * decimal.h
 *		Exact conversion of small base-10000 decimals to double.
 *
 * PostgreSQL's numeric stores a number as base-10000 digits with a weight
 * (the power of 10000 of the first digit).  Turning one into a double the
 * usual way prints it and parses the text back, which is detection's most
 * expensive step per row for a numeric amount.  Most amounts are small
 * decimals: at most 15 significant digits and a few decimal places.  For
 * those the value is an integer m < 2^53 times 10^e with |e| <= 22, and m
 * and 10^e are both exact doubles, so one IEEE multiplication or division
 * rounds the exact quotient once: the result is the correctly rounded
 * double, the same one strtod gives for the printed text (Clinger's fast
 * path).  Anything else is left to the caller's exact slow path.
 */
#ifndef VIGIL_DECIMAL_H
#define VIGIL_DECIMAL_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The value of sign * sum(digits[i] * 10000^(weight - i)) for the ndigits
 * base-10000 digits, each in [0, 9999], in *out.  Returns false, leaving
 * *out alone, when the fast path cannot guarantee the correctly rounded
 * result (too many significant digits, an exponent beyond 10^+-22, a digit
 * out of range).
 */
extern bool vigil_decimal_to_double(const int16_t *digits, int ndigits,
									int weight, bool negative, double *out);

#endif							/* VIGIL_DECIMAL_H */
