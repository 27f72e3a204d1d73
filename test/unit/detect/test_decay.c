/*
 * test_decay.c
 *		Unit tests for the exponentially decayed mean and variance.
 */
#include <stdint.h>
#include <string.h>

#include "detect/core/decay.h"
#include "unit.h"

#define HOUR 3600.0
#define DAY 86400.0

/* Observations in the large-offset and out-of-order cases. */
#define N_LARGE 5000
#define N_SHUFFLE 200

/*
 * Two-pass long double reference: weights 2^(-(T - t_i) / h) at the newest
 * time T, mean, then the population variance about that mean.
 */
static void
reference(const double *t, const double *x, int n, double h,
		  double *mean, double *var, double *weight)
{
	long double tmax = t[0],
				sw = 0,
				swx = 0,
				m,
				ss = 0;
	int			i;

	for (i = 1; i < n; i++)
		if (t[i] > tmax)
			tmax = t[i];
	for (i = 0; i < n; i++)
	{
		long double w = exp2l(-(tmax - t[i]) / h);

		sw += w;
		swx += w * x[i];
	}
	m = swx / sw;
	for (i = 0; i < n; i++)
	{
		long double w = exp2l(-(tmax - t[i]) / h);

		ss += w * (x[i] - m) * (x[i] - m);
	}
	*mean = (double) m;
	*var = (double) (ss / sw);
	*weight = (double) sw;
}

/* A fresh state has no weight and no mean or variance. */
static void
empty_state(void)
{
	VigilDecay	d;

	vigil_decay_init(&d);
	CHECK(isnan(vigil_decay_mean(&d)));
	CHECK(isnan(vigil_decay_variance(&d)));
	CHECK(vigil_decay_weight(&d, 1e9, HOUR) == 0.0);
	CHECK(vigil_decay_weight(&d, -1e9, HOUR) == 0.0);
}

/* One observation: its value as the mean, variance 0, weight 1. */
static void
one_value(void)
{
	VigilDecay	d;

	vigil_decay_init(&d);
	CHECK(vigil_decay_add(&d, -5000.0, 42.5, HOUR));
	CHECK(vigil_decay_mean(&d) == 42.5);
	CHECK(vigil_decay_variance(&d) == 0.0);
	CHECK(vigil_decay_weight(&d, -5000.0, HOUR) == 1.0);
}

/* Identical values keep the exact mean and a variance of exactly 0. */
static void
identical_values(void)
{
	VigilDecay	d;
	int			i;

	vigil_decay_init(&d);
	for (i = 0; i < 1000; i++)
		CHECK(vigil_decay_add(&d, 1.7e9 + 13.7 * i, 3.3, HOUR));
	CHECK(vigil_decay_mean(&d) == 3.3);
	CHECK(vigil_decay_variance(&d) == 0.0);
}

/* Hand-computed weighted example, including same-time observations. */
static void
hand_example(void)
{
	VigilDecay	d;

	/* same time: plain population variance of {1, 3} */
	vigil_decay_init(&d);
	CHECK(vigil_decay_add(&d, 10.0, 1.0, HOUR));
	CHECK(vigil_decay_add(&d, 10.0, 3.0, HOUR));
	CHECK_CLOSE(vigil_decay_mean(&d), 2.0, 1e-15);
	CHECK_CLOSE(vigil_decay_variance(&d), 1.0, 1e-15);
	CHECK_CLOSE(vigil_decay_weight(&d, 10.0, HOUR), 2.0, 1e-15);

	/* 0 at t=0 weighs 1/2 at t=h: mean 3/1.5 = 2, var (0.5*4 + 1)/1.5 = 2 */
	vigil_decay_init(&d);
	CHECK(vigil_decay_add(&d, 0.0, 0.0, HOUR));
	CHECK(vigil_decay_add(&d, HOUR, 3.0, HOUR));
	CHECK_CLOSE(vigil_decay_mean(&d), 2.0, 1e-15);
	CHECK_CLOSE(vigil_decay_variance(&d), 2.0, 1e-15);
	CHECK_CLOSE(vigil_decay_weight(&d, HOUR, HOUR), 1.5, 1e-15);
}

/* The weight halves after each half-life and is never inflated backwards. */
static void
half_life(void)
{
	VigilDecay	d,
				before;

	vigil_decay_init(&d);
	CHECK(vigil_decay_add(&d, 1.7e9, 10.0, DAY));
	CHECK(vigil_decay_weight(&d, 1.7e9 + DAY, DAY) == 0.5);
	CHECK(vigil_decay_weight(&d, 1.7e9 + 2 * DAY, DAY) == 0.25);
	CHECK_CLOSE(vigil_decay_weight(&d, 1.7e9 + DAY / 2, DAY), sqrt(0.5),
				1e-15);
	CHECK(vigil_decay_weight(&d, 1.7e9 - DAY, DAY) == 1.0);
	/* far future: underflows to 0 rather than misbehaving */
	CHECK(vigil_decay_weight(&d, 1e300, DAY) == 0.0);

	/* reading the weight does not change the state */
	before = d;
	(void) vigil_decay_weight(&d, 1.7e9 + 5 * DAY, DAY);
	CHECK(memcmp(&before, &d, sizeof(d)) == 0);

	/* a new observation one half-life later: 0.5 + 1 */
	CHECK(vigil_decay_add(&d, 1.7e9 + DAY, 20.0, DAY));
	CHECK(vigil_decay_weight(&d, 1.7e9 + DAY, DAY) == 1.5);
	CHECK_CLOSE(vigil_decay_mean(&d), (0.5 * 10 + 20) / 1.5, 1e-15);
}

/*
 * 1e9 + noise of size 1 at irregular times: mean and variance agree with a
 * two-pass long double reference.  A sum-of-squares formula would lose all
 * digits here, and even a plain double mean would leave ~1e-7 errors.
 */
static void
large_offset(void)
{
	static double t[N_LARGE],
				x[N_LARGE];
	uint64_t	rng = 1;
	VigilDecay	d;
	double		mean,
				var,
				weight;
	int			i;

	vigil_decay_init(&d);
	for (i = 0; i < N_LARGE; i++)
	{
		t[i] = 1.7e9 + i * 60.0 + 59.0 * unit_uniform(&rng);
		x[i] = 1e9 + (unit_uniform(&rng) - 0.5);
		CHECK(vigil_decay_add(&d, t[i], x[i], DAY));
	}
	reference(t, x, N_LARGE, DAY, &mean, &var, &weight);
	CHECK_CLOSE(vigil_decay_mean(&d), mean, 1e-15);
	CHECK_CLOSE(vigil_decay_variance(&d) / var, 1.0, 1e-10);
	CHECK_CLOSE(vigil_decay_weight(&d, t[N_LARGE - 1], DAY), weight, 1e-12);
	/* uniform noise of width 1 has variance 1/12 */
	CHECK(fabs(var - 1.0 / 12) < 0.01);
}

/* Non-finite values, times and bad half-lives are rejected; state intact. */
static void
rejects_invalid(void)
{
	VigilDecay	d,
				before;
	double		bad[] = {NAN, INFINITY, -INFINITY};
	double		badh[] = {NAN, INFINITY, -INFINITY, 0.0, -1.0, -0.0};
	int			i;

	vigil_decay_init(&d);
	CHECK(vigil_decay_add(&d, 100.0, 1.0, HOUR));
	CHECK(vigil_decay_add(&d, 200.0, 4.0, HOUR));
	before = d;
	for (i = 0; i < 3; i++)
	{
		CHECK(!vigil_decay_add(&d, 300.0, bad[i], HOUR));
		CHECK(!vigil_decay_add(&d, bad[i], 5.0, HOUR));
		CHECK(isnan(vigil_decay_weight(&d, bad[i], HOUR)));
	}
	for (i = 0; i < 6; i++)
	{
		CHECK(!vigil_decay_add(&d, 300.0, 5.0, badh[i]));
		CHECK(isnan(vigil_decay_weight(&d, 300.0, badh[i])));
	}
	CHECK(memcmp(&before, &d, sizeof(d)) == 0);

	/* an empty state stays empty after a rejected value */
	vigil_decay_init(&d);
	CHECK(!vigil_decay_add(&d, 1.0, NAN, HOUR));
	CHECK(d.weight == 0.0);
	CHECK(isnan(vigil_decay_mean(&d)));
}

/* Finite values whose deviation overflows are rejected; state intact. */
static void
rejects_overflow(void)
{
	VigilDecay	d,
				before;

	vigil_decay_init(&d);
	CHECK(vigil_decay_add(&d, 0.0, 1e308, HOUR));
	before = d;
	CHECK(!vigil_decay_add(&d, 1.0, -1e308, HOUR));
	CHECK(memcmp(&before, &d, sizeof(d)) == 0);
	CHECK(vigil_decay_mean(&d) == 1e308);
}

/*
 * Late events are weighted by their age at last_t, so shuffled arrival
 * gives the same state as time order, and last_t never moves backwards.
 */
static void
out_of_order(void)
{
	double		t[N_SHUFFLE],
				x[N_SHUFFLE];
	int			order[N_SHUFFLE];
	uint64_t	rng = 7;
	VigilDecay	sorted,
				shuffled;
	int			i;

	for (i = 0; i < N_SHUFFLE; i++)
	{
		t[i] = 1e6 + i * 100.0;
		x[i] = 50.0 + 10.0 * unit_uniform(&rng);
		order[i] = i;
	}
	for (i = N_SHUFFLE - 1; i > 0; i--)
	{
		int			j = (int) (unit_uniform(&rng) * (i + 1));
		int			tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}

	vigil_decay_init(&sorted);
	vigil_decay_init(&shuffled);
	for (i = 0; i < N_SHUFFLE; i++)
	{
		CHECK(vigil_decay_add(&sorted, t[i], x[i], HOUR));
		CHECK(vigil_decay_add(&shuffled, t[order[i]], x[order[i]], HOUR));
	}
	CHECK(shuffled.last_t == t[N_SHUFFLE - 1]);
	CHECK_CLOSE(vigil_decay_mean(&shuffled), vigil_decay_mean(&sorted), 1e-13);
	CHECK_CLOSE(vigil_decay_variance(&shuffled), vigil_decay_variance(&sorted),
				1e-12);
	CHECK_CLOSE(vigil_decay_weight(&shuffled, t[N_SHUFFLE - 1], HOUR),
				vigil_decay_weight(&sorted, t[N_SHUFFLE - 1], HOUR), 1e-13);

	/* one half-life late: weight 1/2, last_t kept */
	vigil_decay_init(&sorted);
	CHECK(vigil_decay_add(&sorted, 1000.0 + HOUR, 3.0, HOUR));
	CHECK(vigil_decay_add(&sorted, 1000.0, 0.0, HOUR));
	CHECK(sorted.last_t == 1000.0 + HOUR);
	CHECK_CLOSE(vigil_decay_weight(&sorted, 1000.0 + HOUR, HOUR), 1.5, 1e-15);
	CHECK_CLOSE(vigil_decay_mean(&sorted), 2.0, 1e-15);
	CHECK_CLOSE(vigil_decay_variance(&sorted), 2.0, 1e-15);

	/* so late its weight underflows: accepted, nothing changes */
	shuffled = sorted;
	CHECK(vigil_decay_add(&sorted, -1e300, 1e6, HOUR));
	CHECK(memcmp(&shuffled, &sorted, sizeof(sorted)) == 0);
}

int
main(void)
{
	RUN(empty_state);
	RUN(one_value);
	RUN(identical_values);
	RUN(hand_example);
	RUN(half_life);
	RUN(large_offset);
	RUN(rejects_invalid);
	RUN(rejects_overflow);
	RUN(out_of_order);
	return UNIT_DONE();
}
