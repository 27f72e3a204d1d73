/*
 * test_welford.c
 *		Unit tests of the Welford summary and the sliding-window statistics.
 */
#include <stdlib.h>
#include <string.h>

#include "stats/core/movstats.h"
#include "stats/core/welford.h"
#include "unit.h"

/*
 * Two-pass mean and sample variance in binary128, as the reference: long
 * double is not precise enough to judge a 1e9 offset.
 */
static void
reference(const double *x, int n, double *mean, double *var)
{
	__float128	sum = 0,
				ss = 0,
				m;

	for (int i = 0; i < n; i++)
		sum += x[i];
	m = sum / n;
	for (int i = 0; i < n; i++)
		ss += (x[i] - m) * (x[i] - m);
	*mean = (double) m;
	*var = n > 1 ? (double) (ss / (n - 1)) : NAN;
}

/* Relative difference, for checks against the reference. */
static double
reldiff(double got, double want)
{
	return fabs(got - want) / fabs(want);
}

static void
empty_summary(void)
{
	VigilWelford w;

	vigil_welford_init(&w);
	CHECK(w.n == 0);
	CHECK(isnan(vigil_welford_mean(&w)));
	CHECK(isnan(vigil_welford_var_samp(&w)));
}

static void
one_value(void)
{
	VigilWelford w;

	vigil_welford_init(&w);
	CHECK(vigil_welford_add(&w, 42.5, NULL));
	CHECK(w.n == 1);
	CHECK(vigil_welford_mean(&w) == 42.5);
	CHECK(w.m2 == 0.0);
	CHECK(w.min == 42.5 && w.max == 42.5);
	CHECK(isnan(vigil_welford_var_samp(&w)));
}

static void
identical_values_have_zero_spread(void)
{
	VigilWelford w;

	vigil_welford_init(&w);
	for (int i = 0; i < 10000; i++)
		CHECK(vigil_welford_add(&w, 1e9 + 0.1, NULL));
	CHECK(vigil_welford_mean(&w) == 1e9 + 0.1);
	CHECK(w.m2 == 0.0);
}

static void
small_known_values(void)
{
	VigilWelford w;
	double		xs[] = {2, 4, 4, 4, 5, 5, 7, 9};

	vigil_welford_init(&w);
	for (int i = 0; i < 8; i++)
		CHECK(vigil_welford_add(&w, xs[i], NULL));
	CHECK(vigil_welford_mean(&w) == 5.0);
	CHECK(w.m2 == 32.0);
	CHECK_CLOSE(vigil_welford_var_samp(&w), 32.0 / 7.0, 1e-15);
	CHECK(w.min == 2 && w.max == 9);
}

static void
large_offset_is_accurate(void)
{
	enum
	{
		N = 100000
	};
	double	   *x = malloc(N * sizeof(double));
	uint64_t	seed = 42;
	VigilWelford w;
	double		mean,
				var;

	vigil_welford_init(&w);
	for (int i = 0; i < N; i++)
	{
		x[i] = 1e9 + unit_uniform(&seed) * 1e-3;
		CHECK(vigil_welford_add(&w, x[i], NULL));
	}
	reference(x, N, &mean, &var);
	CHECK(reldiff(vigil_welford_mean(&w), mean) <= 1e-15);
	/* a plain double mean would be off by ~1e-3 relative here */
	CHECK(reldiff(vigil_welford_var_samp(&w), var) <= 1e-12);
	free(x);
}

static void
non_finite_rejected(void)
{
	VigilWelford w,
				before;

	vigil_welford_init(&w);
	vigil_welford_add(&w, 1.0, NULL);
	vigil_welford_add(&w, 3.0, NULL);
	before = w;
	CHECK(!vigil_welford_add(&w, NAN, NULL));
	CHECK(!vigil_welford_add(&w, INFINITY, NULL));
	CHECK(!vigil_welford_add(&w, -INFINITY, NULL));
	CHECK(memcmp(&w, &before, sizeof(w)) == 0);
}

static void
overflow_rejected(void)
{
	VigilWelford w,
				before;

	vigil_welford_init(&w);
	CHECK(vigil_welford_add(&w, 1e308, NULL));
	before = w;
	CHECK(!vigil_welford_add(&w, -1e308, NULL));
	CHECK(memcmp(&w, &before, sizeof(w)) == 0);
}

static void
merge_of_unequal_halves_equals_one_pass(void)
{
	uint64_t	seed = 7;
	VigilWelford all,
				a,
				b;

	vigil_welford_init(&all);
	vigil_welford_init(&a);
	vigil_welford_init(&b);
	for (int i = 0; i < 10000; i++)
	{
		double		x = 1e9 + unit_uniform(&seed) * 100.0;

		vigil_welford_add(&all, x, NULL);
		vigil_welford_add(i < 13 ? &a : &b, x, NULL);
	}
	CHECK(vigil_welford_merge(&a, &b));
	CHECK(a.n == all.n);
	CHECK(reldiff(vigil_welford_mean(&a), vigil_welford_mean(&all)) <= 1e-15);
	CHECK(reldiff(a.m2, all.m2) <= 1e-12);
	CHECK(a.min == all.min && a.max == all.max);
}

static void
merge_with_empty(void)
{
	VigilWelford a,
				empty,
				copy;

	vigil_welford_init(&a);
	vigil_welford_init(&empty);
	vigil_welford_add(&a, 1.0, NULL);
	vigil_welford_add(&a, 2.0, NULL);
	copy = a;
	CHECK(vigil_welford_merge(&a, &empty));
	CHECK(memcmp(&a, &copy, sizeof(a)) == 0);
	CHECK(vigil_welford_merge(&empty, &a));
	CHECK(memcmp(&empty, &copy, sizeof(a)) == 0);
}

static void
remove_undoes_add(void)
{
	VigilWelford w;
	VigilRoundoff r = {0, 0};

	vigil_welford_init(&w);
	vigil_welford_add(&w, 1.0, &r);
	vigil_welford_add(&w, 2.0, &r);
	vigil_welford_add(&w, 6.0, &r);
	CHECK(vigil_welford_remove(&w, 1.0, &r));
	CHECK(w.n == 2);
	CHECK(vigil_welford_mean(&w) == 4.0 || w.mean + w.mean_lo == 4.0);
	CHECK_CLOSE(w.m2, 8.0, 1e-15);
	CHECK(vigil_welford_precise(&w, &r));
	CHECK(vigil_welford_remove(&w, 2.0, &r));
	CHECK(vigil_welford_remove(&w, 6.0, &r));
	CHECK(w.n == 0 && w.m2 == 0.0);
	CHECK(!vigil_welford_remove(&w, 6.0, &r));
}

static void
cancellation_is_detected(void)
{
	VigilWelford w;
	VigilRoundoff r = {0, 0};

	vigil_welford_init(&w);
	vigil_welford_add(&w, 1e12, &r);
	vigil_welford_add(&w, 1.0, &r);
	vigil_welford_add(&w, 2.0, &r);
	CHECK(vigil_welford_precise(&w, &r));
	CHECK(vigil_welford_remove(&w, 1e12, &r));
	/* what remains of M2 (true value 0.5) is dwarfed by the rounding bound */
	CHECK(!vigil_welford_precise(&w, &r));
}

static void
summary_validation(void)
{
	const char *why;

	CHECK(vigil_summary_valid(3, 2, 2, 1, 3, &why) && why == NULL);
	CHECK(vigil_summary_valid(1, 5, 0, 5, 5, &why));
	CHECK(!vigil_summary_valid(0, 0, 0, 0, 0, &why) && why != NULL);
	CHECK(!vigil_summary_valid(3, NAN, 2, 1, 3, &why));
	CHECK(!vigil_summary_valid(3, 2, 2, 3, 1, &why));
	CHECK(!vigil_summary_valid(3, 4, 2, 1, 3, &why));
	CHECK(!vigil_summary_valid(3, 2, -1, 1, 3, &why));
	CHECK(!vigil_summary_valid(1, 5, 1, 5, 5, &why));
	CHECK(!vigil_summary_valid(3, 2, 3.01, 1, 3, &why));
	/* the Popoviciu bound itself is attainable: {1, 3} has m2 = 2 = 2*4/4 */
	CHECK(vigil_summary_valid(2, 2, 2, 1, 3, &why));
}

/* libc realloc that never returns NULL, as movstats requires. */
static void *
xrealloc(void *p, size_t size)
{
	void	   *q = realloc(p, size);

	if (q == NULL)
		abort();
	return q;
}

/* A moving window with libc buffers. */
static void
movstats_start(VigilMovStats *m)
{
	size_t		size = VIGIL_MOVSTATS_INITIAL_CAP * sizeof(VigilDequeEntry);

	vigil_movstats_init(m, malloc(size), malloc(size), xrealloc);
}

static void
movstats_end(VigilMovStats *m)
{
	free(m->minq.buf);
	free(m->maxq.buf);
}

/*
 * Slide a window of the given width over x, checking each frame against a
 * rescan; returns how many times the state asked to be rebuilt.
 */
static int
slide_and_check(const double *x, int n, int width)
{
	VigilMovStats m;
	VigilWelford s;
	int			restarts = 0;

	movstats_start(&m);
	for (int i = 0; i < n; i++)
	{
		CHECK(vigil_movstats_add(&m, x[i]) == VIGIL_MOV_OK);
		if (i >= width)
		{
			VigilMovResult res = vigil_movstats_remove(&m, x[i - width]);

			if (res == VIGIL_MOV_RESTART)
			{
				/* rebuild from the frame, as PostgreSQL would */
				restarts++;
				movstats_end(&m);
				movstats_start(&m);
				for (int j = i - width + 1; j <= i; j++)
					vigil_movstats_add(&m, x[j]);
			}
			else
				CHECK(res == VIGIL_MOV_OK);
		}
		{
			int			lo = i >= width ? i - width + 1 : 0;
			double		mn = INFINITY,
						mx = -INFINITY,
						mean,
						var;

			for (int j = lo; j <= i; j++)
			{
				mn = fmin(mn, x[j]);
				mx = fmax(mx, x[j]);
			}
			reference(x + lo, i - lo + 1, &mean, &var);
			vigil_movstats_summary(&m, &s);
			CHECK(s.n == (uint64_t) (i - lo + 1));
			CHECK(s.min == mn && s.max == mx);
			CHECK(fabs(vigil_welford_mean(&s) - mean) <=
				  1e-13 * fmax(fabs(mn), fabs(mx)));
			if (i > lo && var > 0)
				CHECK(reldiff(vigil_welford_var_samp(&s), var) <= 1e-9);
		}
	}
	movstats_end(&m);
	return restarts;
}

/*
 * Data at its two extremes reaches Popoviciu's bound on M2 exactly, so
 * summaries of it must pass validation whatever the rounding: with
 * subnormal squares (found by fuzz_rules: amounts 0, x, x, 0 gave a profile
 * that could not be loaded back), and for very long series, whose rounding
 * grows faster than n.  Gross excess is still caught.
 */
static void
extremes_reach_the_bound(void)
{
	static const double xs[] = {8.8544945874389708e-159, 1e-160, 3e-155, 1e-300};
	const char *why;

	for (size_t k = 0; k < sizeof(xs) / sizeof(xs[0]); k++)
	{
		VigilWelford w;
		double		m;

		vigil_welford_init(&w);
		for (int i = 0; i < 400; i++)
		{
			CHECK(vigil_welford_add(&w, (i % 4 == 1 || i % 4 == 2) ? xs[k] : 0.0, NULL));
			m = vigil_welford_mean(&w);
			if (!vigil_summary_valid((int64_t) w.n, m, w.m2, w.min, w.max, &why))
			{
				printf("#   x = %g, n = %d: %s\n", xs[k], i + 1, why);
				CHECK(0);
				break;
			}
		}
	}

	/* 4e8 values at 0.1 and 0.3: the bound is 4e6, rounding adds ~1e-9 */
	CHECK(vigil_summary_valid(400000000, 0.2, 4e6 * (1 + 5e-9), 0.1, 0.3, &why));
	CHECK(!vigil_summary_valid(400000000, 0.2, 4e6 * (1 + 1e-5), 0.1, 0.3, &why));
	CHECK(!vigil_summary_valid(4, 0.5, 1.0 + 1e-6, 0.0, 1.0, &why));
	CHECK(!vigil_summary_valid(4, 5e-160, 1e-300, 0.0, 1e-159, &why));
}

static void
window_random_offset_data(void)
{
	enum
	{
		N = 3000
	};
	double		x[N];
	uint64_t	seed = 99;

	for (int i = 0; i < N; i++)
		x[i] = 1e9 + unit_uniform(&seed);
	/* steady data never needs a rebuild, whatever its offset */
	CHECK(slide_and_check(x, N, 50) == 0);
	CHECK(slide_and_check(x, N, 1) == 0);
	CHECK(slide_and_check(x, N, 700) == 0);
}

static void
window_monotonic_extremes(void)
{
	enum
	{
		N = 2000
	};
	double		up[N],
				down[N];

	for (int i = 0; i < N; i++)
	{
		up[i] = i * 0.25;
		down[i] = -i * 0.25;
	}
	/* a window of 100 rising values keeps 100 entries in the max deque */
	CHECK(slide_and_check(up, N, 100) == 0);
	CHECK(slide_and_check(down, N, 100) == 0);
}

static void
window_spikes_trigger_restart(void)
{
	enum
	{
		N = 400
	};
	double		x[N];

	for (int i = 0; i < N; i++)
		x[i] = i < 100 ? 1e8 * (i % 7) : (double) (i % 5);
	CHECK(slide_and_check(x, N, 21) > 0);
}

static void
window_out_of_order_removal_restarts(void)
{
	VigilMovStats m;

	movstats_start(&m);
	vigil_movstats_add(&m, 1.0);
	vigil_movstats_add(&m, 2.0);
	vigil_movstats_add(&m, 3.0);
	/* 2.0 is not the oldest value */
	CHECK(vigil_movstats_remove(&m, 2.0) == VIGIL_MOV_RESTART);
	movstats_end(&m);

	movstats_start(&m);
	vigil_movstats_add(&m, 1.0);
	CHECK(vigil_movstats_remove(&m, 1.0) == VIGIL_MOV_OK);
	/* nothing left to remove */
	CHECK(vigil_movstats_remove(&m, 1.0) == VIGIL_MOV_RESTART);
	movstats_end(&m);
}

static void
window_skips_non_finite(void)
{
	VigilMovStats m;
	VigilWelford s;

	movstats_start(&m);
	CHECK(vigil_movstats_add(&m, NAN) == VIGIL_MOV_SKIPPED);
	CHECK(vigil_movstats_add(&m, 4.0) == VIGIL_MOV_OK);
	CHECK(vigil_movstats_add(&m, INFINITY) == VIGIL_MOV_SKIPPED);
	CHECK(vigil_movstats_remove(&m, NAN) == VIGIL_MOV_SKIPPED);
	vigil_movstats_summary(&m, &s);
	CHECK(s.n == 1 && s.min == 4.0 && s.max == 4.0);
	movstats_end(&m);
}

int
main(void)
{
	RUN(empty_summary);
	RUN(one_value);
	RUN(identical_values_have_zero_spread);
	RUN(small_known_values);
	RUN(large_offset_is_accurate);
	RUN(non_finite_rejected);
	RUN(overflow_rejected);
	RUN(merge_of_unequal_halves_equals_one_pass);
	RUN(merge_with_empty);
	RUN(remove_undoes_add);
	RUN(cancellation_is_detected);
	RUN(summary_validation);
	RUN(extremes_reach_the_bound);
	RUN(window_random_offset_data);
	RUN(window_monotonic_extremes);
	RUN(window_spikes_trigger_restart);
	RUN(window_out_of_order_removal_restarts);
	RUN(window_skips_non_finite);
	return UNIT_DONE();
}
