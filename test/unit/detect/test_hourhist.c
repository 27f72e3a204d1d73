/*
 * test_hourhist.c
 *		Unit tests for the decayed hour-of-day histogram.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "detect/core/decay.h"
#include "detect/core/hourhist.h"
#include "unit.h"

#define DAY 86400.0
#define WEEK (7 * DAY)

/* Smoothed probability, or NaN when the query is refused. */
static double
prob(const VigilHourHist *h, double t, int hour, double half_life_s)
{
	double		p = NAN;

	return vigil_hourhist_prob(h, t, hour, half_life_s, &p) ? p : NAN;
}

/*
 * Total weight of h at time t, as hourhist.h defines it: the buckets' sum
 * decayed from ref_t to t (not before ref_t).  NaN for a time or half-life
 * that the queries refuse.
 */
static double
weight(const VigilHourHist *h, double t, double half_life_s)
{
	double		sum = 0.0;

	if (!isfinite(t) || !vigil_half_life_valid(half_life_s))
		return NAN;
	for (int i = 0; i < VIGIL_HOURS; i++)
		sum += h->bucket[i];
	return sum * vigil_decay_factor(t - h->ref_t, half_life_s);
}

/* Sum of the smoothed probabilities of all hours at time t. */
static double
prob_sum(const VigilHourHist *h, double t, double half_life_s)
{
	double		s = 0.0;
	int			i;

	for (i = 0; i < VIGIL_HOURS; i++)
		s += prob(h, t, i, half_life_s);
	return s;
}

/* Hour of the day, or -1 when the call is refused. */
static int
hour_of(double t, int32_t offset)
{
	int			hour = -1;

	return vigil_hourhist_hour(t, offset, &hour) ? hour : -1;
}

/* No history: weight 0 and every hour equally likely. */
static void
empty_hist(void)
{
	VigilHourHist h;
	int			i;

	vigil_hourhist_init(&h);
	CHECK(weight(&h, 1.7e9, WEEK) == 0.0);
	for (i = 0; i < VIGIL_HOURS; i++)
		CHECK_CLOSE(prob(&h, 1.7e9, i, WEEK), 1.0 / 24, 1e-15);
	CHECK_CLOSE(prob_sum(&h, 1.7e9, WEEK), 1.0, 1e-15);
}

/* Add-one smoothing with events at the same time: exact shares. */
static void
laplace_smoothing(void)
{
	VigilHourHist h;
	int			i;

	vigil_hourhist_init(&h);
	for (i = 0; i < 3; i++)
		CHECK(vigil_hourhist_add(&h, 1.7e9, 5, WEEK));
	CHECK(vigil_hourhist_add(&h, 1.7e9, 23, WEEK));
	CHECK(weight(&h, 1.7e9, WEEK) == 4.0);
	CHECK_CLOSE(prob(&h, 1.7e9, 5, WEEK), 4.0 / 28, 1e-15);
	CHECK_CLOSE(prob(&h, 1.7e9, 23, WEEK), 2.0 / 28, 1e-15);
	CHECK_CLOSE(prob(&h, 1.7e9, 0, WEEK), 1.0 / 28, 1e-15);
	CHECK_CLOSE(prob_sum(&h, 1.7e9, WEEK), 1.0, 1e-15);
	/* a strong habit makes other hours unlikely */
	for (i = 0; i < 100; i++)
		CHECK(vigil_hourhist_add(&h, 1.7e9 + i, 5, WEEK));
	CHECK(prob(&h, 1.7e9 + 99, 5, WEEK) > 0.8);
	CHECK(prob(&h, 1.7e9 + 99, 3, WEEK) < 0.01);
}

/* Buckets decay by event time: a half-life halves everything. */
static void
decay(void)
{
	VigilHourHist h,
				before;
	double		t0 = 1.7e9;

	vigil_hourhist_init(&h);
	CHECK(vigil_hourhist_add(&h, t0, 5, DAY));
	CHECK(vigil_hourhist_add(&h, t0 + DAY, 7, DAY));
	/* counted at the first event: the second weighs 2 there */
	CHECK(h.ref_t == t0);
	CHECK(h.bucket[5] == 1.0f);
	CHECK(h.bucket[7] == 2.0f);
	CHECK(weight(&h, t0 + DAY, DAY) == 1.5);
	CHECK(weight(&h, t0 + 2 * DAY, DAY) == 0.75);
	CHECK(weight(&h, t0 - DAY, DAY) == 3.0);	/* before ref_t: as at ref_t */
	CHECK_CLOSE(prob(&h, t0 + DAY, 5, DAY), 1.5 / 25.5, 1e-15);
	CHECK_CLOSE(prob(&h, t0 + DAY, 7, DAY), 2.0 / 25.5, 1e-15);
	/* one more half-life: the habit fades towards uniform */
	CHECK_CLOSE(prob(&h, t0 + 2 * DAY, 7, DAY), 1.5 / 24.75, 1e-15);
	CHECK_CLOSE(prob_sum(&h, t0 + 2 * DAY, DAY), 1.0, 1e-15);
	CHECK_CLOSE(prob(&h, t0 + 1000 * DAY, 7, DAY), 1.0 / 24, 1e-15);

	/* queries do not change the histogram */
	before = h;
	(void) prob(&h, t0 + 50 * DAY, 7, DAY);
	(void) weight(&h, t0 + 50 * DAY, DAY);
	CHECK(memcmp(&before, &h, sizeof(h)) == 0);

	/* more than a half-life on, the buckets are counted at the new event */
	CHECK(vigil_hourhist_add(&h, t0 + 3 * DAY, 9, DAY));
	CHECK(h.ref_t == t0 + 3 * DAY);
	CHECK(h.bucket[5] == 0.125f && h.bucket[7] == 0.25f && h.bucket[9] == 1.0f);
	CHECK(weight(&h, t0 + 3 * DAY, DAY) == 1.375);

	/* after all weight has underflowed, the next event starts afresh */
	CHECK(vigil_hourhist_add(&h, t0 + 1e6 * DAY, 3, DAY));
	CHECK(weight(&h, t0 + 1e6 * DAY, DAY) == 1.0);
	CHECK(h.bucket[5] == 0.0f && h.bucket[7] == 0.0f);
}

/* Late events weigh what they would by now; arrival order does not matter. */
static void
out_of_order(void)
{
	VigilHourHist a,
				b;
	double		t0 = 1.7e9;
	int			i;

	vigil_hourhist_init(&a);
	CHECK(vigil_hourhist_add(&a, t0 + DAY, 7, DAY));
	CHECK(vigil_hourhist_add(&a, t0, 5, DAY));
	CHECK(a.ref_t == t0 + DAY);
	CHECK(a.bucket[5] == 0.5f);
	CHECK(a.bucket[7] == 1.0f);

	/*
	 * A histogram without events counts at time 0: an event before it is
	 * counted at its own time, one within a half-life after it at 0.
	 */
	vigil_hourhist_init(&a);
	CHECK(vigil_hourhist_add(&a, -DAY, 7, DAY));
	CHECK(a.ref_t == -DAY && a.bucket[7] == 1.0f);
	vigil_hourhist_init(&a);
	CHECK(vigil_hourhist_add(&a, DAY / 2, 7, DAY));
	CHECK(a.ref_t == 0.0 && a.bucket[7] == (float) M_SQRT2);
	CHECK_CLOSE(weight(&a, DAY / 2, DAY), 1.0, 1e-7);

	/* in order, the reference time moves once; in reverse, never */
	vigil_hourhist_init(&a);
	vigil_hourhist_init(&b);
	for (i = 0; i < 48; i++)
		CHECK(vigil_hourhist_add(&a, t0 + 3600.0 * i, i % 24, DAY));
	for (i = 47; i >= 0; i--)
		CHECK(vigil_hourhist_add(&b, t0 + 3600.0 * i, i % 24, DAY));
	CHECK(a.ref_t == t0 + 25 * 3600.0);
	CHECK(b.ref_t == t0 + 47 * 3600.0);
	for (i = 0; i < VIGIL_HOURS; i++)
		CHECK_CLOSE(prob(&b, t0 + 47 * 3600.0, i, DAY),
					prob(&a, t0 + 47 * 3600.0, i, DAY), 1e-7);
	CHECK_CLOSE(weight(&b, t0 + 47 * 3600.0, DAY),
				weight(&a, t0 + 47 * 3600.0, DAY), 1e-6);
}

/*
 * Counting at a reference time gives the histogram that decaying every
 * bucket to each new event would, up to float rounding: random streams,
 * some events late, against that definition computed in double.
 */
static void
matches_eager_decay(void)
{
	uint64_t	s = 7;

	for (int round = 0; round < 200; round++)
	{
		VigilHourHist h;
		double		ref[VIGIL_HOURS] = {0};
		double		newest = 0.0;
		double		t = 1.7e9;
		double		half_life = (round % 2) ? DAY : 90 * DAY;
		int			n = 1 + round * 3;

		vigil_hourhist_init(&h);
		for (int i = 0; i < n; i++)
		{
			double		et;
			int			hour;

			s = s * 6364136223846793005ULL + 1442695040888963407ULL;
			t += (double) (s >> 44) * (round % 3 == 0 ? 1.0 : 20.0);
			/* one event in five is up to two days late */
			et = (s >> 20) % 5 == 0 ? t - (double) ((s >> 24) % (2 * 86400)) : t;
			hour = (int) ((s >> 33) % VIGIL_HOURS);
			CHECK(vigil_hourhist_add(&h, et, hour, half_life));
			CHECK(h.ref_t <= fmax(newest, et));

			/* the definition: every bucket counted at the newest event */
			if (i == 0 || et > newest)
			{
				double		keep = i == 0 ? 0.0 : exp2(-(et - newest) / half_life);

				for (int k = 0; k < VIGIL_HOURS; k++)
					ref[k] *= keep;
				newest = et;
			}
			ref[hour] += exp2(-(newest - et) / half_life);
		}
		for (int k = 0; k < VIGIL_HOURS; k++)
		{
			double		got = h.bucket[k] * exp2(-(newest - h.ref_t) / half_life);

			CHECK_CLOSE(got, ref[k], 1e-6 * (1.0 + ref[k]));
		}
	}
}

/* Random events and query times: probabilities always sum to 1. */
static void
probabilities_sum_to_one(void)
{
	VigilHourHist h;
	uint64_t	s = 99;
	double		t = 1.7e9;
	int			i;

	vigil_hourhist_init(&h);
	for (i = 0; i < 2000; i++)
	{
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		t += (double) (s >> 40) / 64.0;
		CHECK(vigil_hourhist_add(&h, t, (int) ((s >> 33) % 24), WEEK));
		if (i % 100 == 0)
			CHECK_CLOSE(prob_sum(&h, t + DAY, WEEK), 1.0, 1e-13);
	}
	CHECK(weight(&h, t, WEEK) > 1.0);
	CHECK_CLOSE(prob_sum(&h, t, WEEK), 1.0, 1e-13);
}

/* Hour of the day from an event time and a UTC offset. */
static void
hour_from_time(void)
{
	CHECK(hour_of(0.0, 0) == 0);
	CHECK(hour_of(3599.999, 0) == 0);
	CHECK(hour_of(3600.0, 0) == 1);
	CHECK(hour_of(-1.0, 0) == 23);	/* 1969-12-31 23:59:59 */
	CHECK(hour_of(-0.5, 0) == 23);
	CHECK(hour_of(-DAY, 0) == 0);
	CHECK(hour_of(1700000000.0, 0) == 22);	/* 2023-11-14 22:13:20 UTC */
	CHECK(hour_of(1700000000.0, -5 * 3600) == 17);
	CHECK(hour_of(1700000000.0, 5 * 3600 + 1800) == 3);	/* next day, 03:43 */
	CHECK(hour_of(1700000000.0, 86399) == 22);
	CHECK(hour_of(1700000000.0, -86399) == 22);
	CHECK(hour_of(1e300, 0) >= 0);
	CHECK(hour_of(NAN, 0) == -1);
	CHECK(hour_of(INFINITY, 0) == -1);
	CHECK(hour_of(0.0, 86400) == -1);
	CHECK(hour_of(0.0, -86400) == -1);
}

/* Bad times, hours and half-lives are refused; histogram untouched. */
static void
rejects_invalid(void)
{
	VigilHourHist h,
				before;
	double		bad[] = {NAN, INFINITY, -INFINITY};
	double		badh[] = {NAN, INFINITY, -INFINITY, 0.0, -1.0};
	double		out = 3.0;
	int			i;

	vigil_hourhist_init(&h);
	CHECK(vigil_hourhist_add(&h, 1.7e9, 12, DAY));
	before = h;
	CHECK(!vigil_hourhist_add(&h, 1.7e9, -1, DAY));
	CHECK(!vigil_hourhist_add(&h, 1.7e9, 24, DAY));
	CHECK(!vigil_hourhist_prob(&h, 1.7e9, 24, DAY, &out));
	CHECK(!vigil_hourhist_prob(&h, 1.7e9, -1, DAY, &out));
	for (i = 0; i < 3; i++)
	{
		CHECK(!vigil_hourhist_add(&h, bad[i], 3, DAY));
		CHECK(!vigil_hourhist_prob(&h, bad[i], 3, DAY, &out));
	}
	for (i = 0; i < 5; i++)
	{
		CHECK(!vigil_hourhist_add(&h, 1.7e9, 3, badh[i]));
		CHECK(!vigil_hourhist_prob(&h, 1.7e9, 3, badh[i], &out));
	}
	CHECK(memcmp(&before, &h, sizeof(h)) == 0);
	CHECK(out == 3.0);

}

/* A full float bucket saturates instead of overflowing to Infinity. */
static void
no_overflow(void)
{
	VigilHourHist h;

	vigil_hourhist_init(&h);
	CHECK(vigil_hourhist_add(&h, 1.7e9, 12, DAY));
	h.bucket[12] = FLT_MAX;
	CHECK(vigil_hourhist_add(&h, 1.7e9, 12, DAY));
	CHECK(h.bucket[12] == FLT_MAX);
	CHECK(isfinite(weight(&h, 1.7e9, DAY)));
	CHECK(prob(&h, 1.7e9, 12, DAY) > 0.99);
	/* and a bucket of 2^24 no longer grows by 1 */
	h.bucket[12] = 16777216.0f;
	CHECK(vigil_hourhist_add(&h, 1.7e9, 12, DAY));
	CHECK(h.bucket[12] == 16777216.0f);
}

/* The exact fmod definition of the hour, as the reference. */
static int
reference_hour(double t, int32_t offset)
{
	double		sec = fmod(floor(t) + offset, 86400.0);

	if (sec < 0.0)
		sec += 86400.0;
	return (int) (sec / 3600.0);
}

/*
 * vigil_hourhist_hour's integer arithmetic agrees with fmod everywhere:
 * negative times, offsets, hour and day boundaries, and times too large for
 * it, which take the fmod path.
 */
static void
hour_matches_fmod(void)
{
	uint64_t	rng = 5;
	double		edges[] = {0.0, -0.5, -1.0, 3599.999, 3600.0, 86399.5, -86400.0, -86401.0,
	1763640000.0, 9.0e15, 1.0e17, -1.0e17, 4.0e18};
	int			hour;

	for (int i = 0; i < 200000; i++)
	{
		double		t = (unit_uniform(&rng) - 0.5) * 4.0e9;
		int32_t		offset = (int32_t) ((unit_uniform(&rng) - 0.5) * 2.0 * 86399.0);

		CHECK(vigil_hourhist_hour(t, offset, &hour));
		CHECK(hour == reference_hour(t, offset));
	}
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
	{
		CHECK(vigil_hourhist_hour(edges[i], 0, &hour));
		CHECK(hour == reference_hour(edges[i], 0));
		CHECK(vigil_hourhist_hour(edges[i], -3600, &hour));
		CHECK(hour == reference_hour(edges[i], -3600));
	}
}

int
main(void)
{
	RUN(empty_hist);
	RUN(laplace_smoothing);
	RUN(decay);
	RUN(out_of_order);
	RUN(matches_eager_decay);
	RUN(probabilities_sum_to_one);
	RUN(hour_from_time);
	RUN(rejects_invalid);
	RUN(no_overflow);
	RUN(hour_matches_fmod);
	return UNIT_DONE();
}
