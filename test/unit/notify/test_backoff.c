/*
 * test_backoff.c
 *		Unit tests for exponential backoff with full jitter.
 */
#include <limits.h>

#include "notify/core/backoff.h"
#include "unit.h"

/* The ceiling doubles from base_ms per attempt and stops at max_ms. */
static void
ceiling_doubles(void)
{
	CHECK(vigil_backoff_ceiling_ms(1, 100, 20000) == 100);
	CHECK(vigil_backoff_ceiling_ms(2, 100, 20000) == 200);
	CHECK(vigil_backoff_ceiling_ms(3, 100, 20000) == 400);
	CHECK(vigil_backoff_ceiling_ms(8, 100, 20000) == 12800);
	CHECK(vigil_backoff_ceiling_ms(9, 100, 20000) == 20000);	/* 25600 */
	CHECK(vigil_backoff_ceiling_ms(10, 100, 20000) == 20000);
	/* exactly reaching max_ms */
	CHECK(vigil_backoff_ceiling_ms(3, 250, 1000) == 1000);
	CHECK(vigil_backoff_ceiling_ms(4, 250, 1000) == 1000);
	/* base at or above max */
	CHECK(vigil_backoff_ceiling_ms(1, 5000, 1000) == 1000);
	CHECK(vigil_backoff_ceiling_ms(1, 1000, 1000) == 1000);
}

/* Huge attempt numbers neither overflow nor loop long. */
static void
huge_attempts(void)
{
	CHECK(vigil_backoff_ceiling_ms(INT_MAX, 100, 20000) == 20000);
	CHECK(vigil_backoff_ceiling_ms(63, 1, INT64_MAX) == INT64_C(1) << 62);
	/* 2^63 itself is beyond int64_t: the cap applies */
	CHECK(vigil_backoff_ceiling_ms(64, 1, INT64_MAX) == INT64_MAX);
	CHECK(vigil_backoff_ceiling_ms(65, 1, INT64_MAX) == INT64_MAX);
	CHECK(vigil_backoff_ceiling_ms(INT_MAX, 1, INT64_MAX) == INT64_MAX);
	CHECK(vigil_backoff_ceiling_ms(INT_MAX, INT64_MAX / 3, INT64_MAX) ==
		  INT64_MAX);
	CHECK(vigil_backoff_delay_ms(INT_MAX, 1, INT64_MAX, 0.0) == 0);
	CHECK(vigil_backoff_delay_ms(INT_MAX, 1, INT64_MAX, 0.5) ==
		  (INT64_C(1) << 62));
	/* (1 - 2^-53) * 2^63, exact in double and below the cap */
	CHECK(vigil_backoff_delay_ms(INT_MAX, 1, INT64_MAX, 0.9999999999999999) ==
		  INT64_MAX - 1023);
	CHECK(vigil_backoff_delay_ms(INT_MAX, 1, INT64_MAX, 0.75) > 0);
}

/* Attempts below 1 and non-positive base or max are tamed. */
static void
non_positive_inputs(void)
{
	CHECK(vigil_backoff_ceiling_ms(0, 100, 20000) == 100);
	CHECK(vigil_backoff_ceiling_ms(-5, 100, 20000) == 100);
	CHECK(vigil_backoff_ceiling_ms(INT_MIN, 100, 20000) == 100);
	CHECK(vigil_backoff_ceiling_ms(3, 0, 20000) == 0);
	CHECK(vigil_backoff_ceiling_ms(3, -100, 20000) == 0);
	CHECK(vigil_backoff_ceiling_ms(3, 100, 0) == 0);
	CHECK(vigil_backoff_ceiling_ms(3, 100, -1) == 0);
	CHECK(vigil_backoff_ceiling_ms(3, INT64_MIN, INT64_MIN) == 0);
	CHECK(vigil_backoff_delay_ms(3, 0, 20000, 0.9) == 0);
	CHECK(vigil_backoff_delay_ms(3, 100, -1, 0.9) == 0);
	CHECK(vigil_backoff_delay_ms(-1, 100, 20000, 0.5) == 50);
}

/* The draw maps onto 0 .. ceiling, ends included, equal shares. */
static void
draw_mapping(void)
{
	/* attempt 3: ceiling 400, 401 values */
	CHECK(vigil_backoff_delay_ms(3, 100, 20000, 0.0) == 0);
	CHECK(vigil_backoff_delay_ms(3, 100, 20000, 0.5) == 200);
	CHECK(vigil_backoff_delay_ms(3, 100, 20000, 1.0 / 401.0 - 1e-12) == 0);
	CHECK(vigil_backoff_delay_ms(3, 100, 20000, 1.0 / 401.0 + 1e-12) == 1);
	CHECK(vigil_backoff_delay_ms(3, 100, 20000, 400.0 / 401.0 + 1e-12) == 400);
	CHECK(vigil_backoff_delay_ms(3, 100, 20000, 0.9999999999999999) == 400);
	/* capped by max_ms */
	CHECK(vigil_backoff_delay_ms(30, 100, 20000, 0.9999999999999999) == 20000);
	CHECK(vigil_backoff_delay_ms(30, 100, 20000, 0.25) == 5000);
	/* a ceiling of 1 gives 0 or 1 */
	CHECK(vigil_backoff_delay_ms(1, 1, 1000, 0.49) == 0);
	CHECK(vigil_backoff_delay_ms(1, 1, 1000, 0.5) == 1);
}

/* Draws outside [0, 1) are clamped, NaN counts as 0. */
static void
bad_draws(void)
{
	CHECK(vigil_backoff_delay_ms(3, 100, 20000, -0.5) == 0);
	CHECK(vigil_backoff_delay_ms(3, 100, 20000, -INFINITY) == 0);
	CHECK(vigil_backoff_delay_ms(3, 100, 20000, NAN) == 0);
	CHECK(vigil_backoff_delay_ms(3, 100, 20000, 1.0) == 400);
	CHECK(vigil_backoff_delay_ms(3, 100, 20000, 7.0) == 400);
	CHECK(vigil_backoff_delay_ms(3, 100, 20000, INFINITY) == 400);
	CHECK(vigil_backoff_delay_ms(INT_MAX, 1, INT64_MAX, INFINITY) ==
		  INT64_MAX);
}

/*
 * Random draws stay in 0 .. ceiling and average about ceiling / 2, and
 * every value of a small ceiling shows up with about equal frequency.
 */
static void
distribution(void)
{
	uint64_t	state = 42;
	int			counts[11] = {0};
	double		sum = 0.0;
	int			i;
	int64_t		d;
	int			ok = 1;

	for (i = 0; i < 110000; i++)
	{
		d = vigil_backoff_delay_ms(1, 10, 1000, unit_uniform(&state));
		if (d < 0 || d > 10)
			ok = 0;
		else
			counts[d]++;
	}
	CHECK(ok);
	for (i = 0; i <= 10; i++)
		CHECK(counts[i] > 9000 && counts[i] < 11000);

	for (i = 0; i < 100000; i++)
	{
		d = vigil_backoff_delay_ms(5, 100, 20000, unit_uniform(&state));
		if (d < 0 || d > 1600)
			ok = 0;
		sum += (double) d;
	}
	CHECK(ok);
	CHECK(fabs(sum / 100000.0 - 800.0) < 10.0);
}

int
main(void)
{
	RUN(ceiling_doubles);
	RUN(huge_attempts);
	RUN(non_positive_inputs);
	RUN(draw_mapping);
	RUN(bad_draws);
	RUN(distribution);
	return UNIT_DONE();
}
