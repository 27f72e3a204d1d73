/*
 * backoff.c
 *		Retry delays: exponential backoff with full jitter.
 *
 * See backoff.h for the formula and how out-of-range inputs are treated.
 */
#include "notify/core/backoff.h"

#include <math.h>

/* min(max_ms, base_ms * 2^(attempt - 1)), computed without overflow. */
int64_t
vigil_backoff_ceiling_ms(int attempt, int64_t base_ms, int64_t max_ms)
{
	int64_t		ceiling;
	int			i;

	if (base_ms <= 0 || max_ms <= 0)
		return 0;
	if (base_ms >= max_ms)
		return max_ms;

	/*
	 * Double until the next doubling would pass max_ms.  Comparing with
	 * max_ms / 2 first keeps the product below max_ms, so it never
	 * overflows, and the loop ends after at most 63 rounds whatever the
	 * attempt number.
	 */
	ceiling = base_ms;
	for (i = 1; i < attempt; i++)
	{
		if (ceiling > max_ms / 2)
			return max_ms;
		ceiling *= 2;
	}
	return ceiling;
}

/* A delay drawn uniformly from 0 .. ceiling by the caller's draw in [0, 1). */
int64_t
vigil_backoff_delay_ms(int attempt, int64_t base_ms, int64_t max_ms,
					   double draw)
{
	int64_t		ceiling = vigil_backoff_ceiling_ms(attempt, base_ms, max_ms);
	double		d;

	/* !(draw > 0) also catches NaN */
	if (!(draw > 0.0))
		return 0;

	/*
	 * ceiling + 1 is formed in double, where it cannot overflow.  The
	 * product can round up to ceiling + 1 (draw close to 1, or a ceiling
	 * beyond 2^53), so cap it, and do so before converting: a double at or
	 * above 2^63 has no int64_t value.
	 */
	d = floor(draw * ((double) ceiling + 1.0));
	if (d >= (double) ceiling)
		return ceiling;
	return (int64_t) d;
}
