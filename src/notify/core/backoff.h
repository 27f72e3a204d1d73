/*
 * backoff.h
 *		Retry delays for SNS deliveries: exponential backoff, full jitter.
 *
 * After the attempt'th failed delivery of an alert the notifier waits
 *
 *		ceiling = min(max_ms, base_ms * 2^(attempt - 1))
 *		delay   = a whole number of milliseconds drawn uniformly from
 *				  0 .. ceiling (both ends included)
 *
 * which is the "full jitter" strategy of the AWS Architecture Blog post
 * "Exponential Backoff and Jitter" (sleep = random_between(0, min(cap,
 * base * 2 ** attempt)), with the first retry using base itself).  Spreading
 * each retry over the whole interval, rather than waiting the ceiling plus
 * a little noise, keeps many notifiers that failed together (an SNS outage,
 * throttling) from retrying together, and the blog's simulations show it
 * does the least total work of the strategies compared.
 *
 * The random draw is an argument, a double in [0, 1) such as
 * pg_prng_double() returns, so the caller owns the generator and tests can
 * pick exact points.  delay = floor(draw * (ceiling + 1)), capped at
 * ceiling: each of the ceiling + 1 values has an equal share of [0, 1).
 *
 * Out-of-range inputs never fail and never overflow: attempt < 1 counts as
 * 1; base_ms <= 0 or max_ms <= 0 give a ceiling (and delay) of 0; the
 * doubling stops as soon as it reaches max_ms, so any attempt, up to
 * INT_MAX, costs at most 63 doublings; a draw below 0 or NaN counts as 0
 * and one at or above 1 as just below 1 (giving the ceiling).
 */
#ifndef VIGIL_BACKOFF_H
#define VIGIL_BACKOFF_H

#include <stdint.h>

/* Upper end of the delay after the attempt'th failure, in milliseconds. */
extern int64_t vigil_backoff_ceiling_ms(int attempt, int64_t base_ms,
										int64_t max_ms);

/* Full-jitter delay after the attempt'th failure, in milliseconds. */
extern int64_t vigil_backoff_delay_ms(int attempt, int64_t base_ms,
									  int64_t max_ms, double draw);

#endif							/* VIGIL_BACKOFF_H */
