/*
 * test_ring.c
 *		Unit tests for the ring of recent events.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "detect/core/ring.h"
#include "unit.h"

#define T0 1700000000.0

/* Window count, or -1 when the query is refused. */
static int
count_since(const VigilRing *r, double t_from)
{
	int			n = -1;

	return vigil_ring_count_since(r, t_from, &n) ? n : -1;
}

/* Window sum, or NaN when the query is refused. */
static double
sum_since(const VigilRing *r, double t_from)
{
	double		s = NAN;

	return vigil_ring_sum_since(r, t_from, &s) ? s : NAN;
}

/* Small-amount count, or -1 when the query is refused. */
static int
small_since(const VigilRing *r, double t_from, double max_amount)
{
	int			n = -1;

	return vigil_ring_count_small_since(r, t_from, max_amount, &n) ? n : -1;
}

/* Saturation as 0 or 1, or -1 when the query is refused. */
static int
saturated(const VigilRing *r, double t_from)
{
	bool		s = false;

	return vigil_ring_saturated(r, t_from, &s) ? (int) s : -1;
}

/* An empty ring: nothing in any window, nothing lost. */
static void
empty_ring(void)
{
	VigilRing	r;

	vigil_ring_init(&r);
	CHECK(count_since(&r, -1e300) == 0);
	CHECK(sum_since(&r, 0.0) == 0.0);
	CHECK(small_since(&r, 0.0, 1.0) == 0);
	CHECK(saturated(&r, -1e300) == 0);
}

/* Window start is inclusive, compared at whole seconds. */
static void
window_boundaries(void)
{
	VigilRing	r;

	vigil_ring_init(&r);
	CHECK(vigil_ring_push(&r, T0 + 100.0, 1.0));
	CHECK(vigil_ring_push(&r, T0 + 110.0, 2.0));
	CHECK(vigil_ring_push(&r, T0 + 120.25, 4.0));

	CHECK(count_since(&r, T0 + 99.0) == 3);
	CHECK(count_since(&r, T0 + 100.0) == 3);
	CHECK(count_since(&r, T0 + 100.5) == 3);	/* same second as 100 */
	CHECK(count_since(&r, T0 + 101.0) == 2);
	CHECK(count_since(&r, T0 + 110.0) == 2);
	CHECK(count_since(&r, T0 + 111.0) == 1);
	CHECK(count_since(&r, T0 + 120.0) == 1);	/* 120.25 floors to 120 */
	CHECK(count_since(&r, T0 + 120.9) == 1);
	CHECK(count_since(&r, T0 + 121.0) == 0);
	CHECK(count_since(&r, 1e300) == 0);
	CHECK(count_since(&r, -1e300) == 3);

	CHECK(sum_since(&r, T0 + 110.0) == 6.0);
	CHECK(sum_since(&r, T0 + 111.0) == 4.0);
	CHECK(sum_since(&r, T0) == 7.0);
	CHECK(saturated(&r, T0) == 0);
}

/*
 * Wrapping around the ring: 40 in-order events keep the newest 16, windows
 * reaching the oldest retained one are saturated, shorter ones are exact.
 */
static void
wrap_around(void)
{
	VigilRing	r;
	int			i;
	double		want;

	vigil_ring_init(&r);
	for (i = 0; i < 40; i++)
	{
		CHECK(vigil_ring_push(&r, T0 + 10.0 * i, (double) i));
		CHECK(r.count == (i < VIGIL_RING_CAP ? i + 1 : VIGIL_RING_CAP));
		CHECK(count_since(&r, T0) == r.count);
		/* the count is exact until the 17th event */
		CHECK(saturated(&r, T0) == (i >= VIGIL_RING_CAP));
	}
	CHECK(r.lost == 40 - VIGIL_RING_CAP);
	CHECK(r.head == (40 - VIGIL_RING_CAP) % VIGIL_RING_CAP);

	/* retained: events 24..39 */
	CHECK(count_since(&r, T0 + 240.0) == 16);
	CHECK(saturated(&r, T0 + 240.0) == 1);
	CHECK(count_since(&r, T0 + 241.0) == 15);
	CHECK(saturated(&r, T0 + 241.0) == 0);
	CHECK(count_since(&r, T0 + 390.0) == 1);
	CHECK(saturated(&r, T0 + 390.0) == 0);

	want = 0.0;
	for (i = 30; i < 40; i++)
		want += i;
	CHECK(sum_since(&r, T0 + 300.0) == want);
	want = 0.0;
	for (i = 24; i < 40; i++)
		want += i;
	CHECK(sum_since(&r, -1e300) == want);
}

/* Out-of-order events land in time order; too-old ones are dropped. */
static void
out_of_order(void)
{
	VigilRing	r,
				before;
	int			i;

	vigil_ring_init(&r);
	CHECK(vigil_ring_push(&r, T0 + 100.0, 1.0));
	CHECK(vigil_ring_push(&r, T0 + 300.0, 3.0));
	CHECK(vigil_ring_push(&r, T0 + 200.0, 2.0));
	CHECK(vigil_ring_push(&r, T0 + 50.0, 0.5));	/* before the base */
	CHECK(count_since(&r, T0 + 150.0) == 2);
	CHECK(sum_since(&r, T0 + 150.0) == 5.0);
	CHECK(count_since(&r, T0 + 51.0) == 3);
	CHECK(sum_since(&r, T0) == 6.5);
	for (i = 1; i < r.count; i++)
		CHECK(r.off[i - 1] <= r.off[i]);

	/* fill with events at 1000..1150 */
	vigil_ring_init(&r);
	for (i = 0; i < VIGIL_RING_CAP; i++)
		CHECK(vigil_ring_push(&r, T0 + 1000.0 + 10.0 * i, 1.0));
	CHECK(saturated(&r, T0) == 0);

	/* older than all retained: dropped, but the loss is recorded */
	before = r;
	CHECK(vigil_ring_push(&r, T0 + 500.0, 100.0));
	CHECK(memcmp(r.off, before.off, sizeof(r.off)) == 0);
	CHECK(r.lost == 1);
	CHECK(count_since(&r, T0) == 16);
	CHECK(sum_since(&r, T0) == 16.0);
	CHECK(saturated(&r, T0) == 1);
	CHECK(saturated(&r, T0 + 1001.0) == 0);

	/* late but inside: evicts the event at 1000, retained in order */
	CHECK(vigil_ring_push(&r, T0 + 1055.0, 7.0));
	CHECK(r.lost == 2);
	CHECK(count_since(&r, T0 + 1000.0) == 16);
	CHECK(count_since(&r, T0 + 1050.0) == 12);	/* 1050..1150 and 1055 */
	CHECK(sum_since(&r, T0 + 1050.0) == 11.0 + 7.0);
	CHECK(count_since(&r, T0 + 1051.0) == 11);
	CHECK(count_since(&r, T0 + 1056.0) == 10);
	CHECK(saturated(&r, T0 + 1010.0) == 1);
	CHECK(saturated(&r, T0 + 1011.0) == 0);
}

/* Several events in one second are all kept and counted. */
static void
same_second(void)
{
	VigilRing	r;
	int			i;

	vigil_ring_init(&r);
	for (i = 0; i < 5; i++)
		CHECK(vigil_ring_push(&r, T0 + 0.1 * i, 1.0 + i));
	CHECK(count_since(&r, T0) == 5);
	CHECK(count_since(&r, T0 + 0.999) == 5);
	CHECK(count_since(&r, T0 + 1.0) == 0);
	CHECK(sum_since(&r, T0) == 15.0);
	/* same second keeps arrival order (no wrap yet: slot i is the i'th) */
	CHECK(r.head == 0);
	for (i = 0; i < 5; i++)
		CHECK(r.amount[i] == (float) (1.0 + i));
}

/* Card-testing signal: small amounts, inclusive threshold, within window. */
static void
small_amounts(void)
{
	VigilRing	r;

	vigil_ring_init(&r);
	CHECK(vigil_ring_push(&r, T0 + 0.0, 0.99));
	CHECK(vigil_ring_push(&r, T0 + 10.0, 1.00));
	CHECK(vigil_ring_push(&r, T0 + 20.0, 250.0));
	CHECK(vigil_ring_push(&r, T0 + 30.0, 0.5));
	CHECK(vigil_ring_push(&r, T0 + 40.0, 1.01));

	CHECK(small_since(&r, T0, 1.0) == 3);
	CHECK(small_since(&r, T0, 0.99) == 2);	/* 0.99 equals the threshold */
	CHECK(small_since(&r, T0, 0.98) == 1);
	CHECK(small_since(&r, T0 + 1.0, 1.0) == 2);
	CHECK(small_since(&r, T0 + 31.0, 1.0) == 0);
	CHECK(small_since(&r, T0, 1e300) == 5);
	CHECK(small_since(&r, T0, -1e300) == 0);
	CHECK(small_since(&r, T0, 0.0) == 0);
}

/* Amounts survive the float round trip to well under a cent. */
static void
amount_precision(void)
{
	VigilRing	r;
	double		s;

	vigil_ring_init(&r);
	CHECK(vigil_ring_push(&r, T0, 131071.99));
	CHECK(vigil_ring_push(&r, T0, 12345.67));
	CHECK(vigil_ring_push(&r, T0, -20.01));	/* a refund */
	/* each amount within 2^-24 relative, which is under half a cent here */
	CHECK(fabs(r.amount[0] - 131071.99) <= 131071.99 * 0x1p-24);
	CHECK(fabs(r.amount[0] - 131071.99) < 0.005);
	CHECK(fabs(r.amount[1] - 12345.67) <= 12345.67 * 0x1p-24);
	CHECK(fabs(r.amount[2] + 20.01) <= 20.01 * 0x1p-24);
	s = sum_since(&r, T0);
	CHECK(fabs(s - (131071.99 + 12345.67 - 20.01)) < 0.01);
}

/* Invalid pushes and queries are refused; ring and outputs untouched. */
static void
rejects_invalid(void)
{
	VigilRing	r,
				before;
	double		bad[] = {NAN, INFINITY, -INFINITY};
	int			n = 123;
	double		s = 4.5;
	bool		sat = true;
	int			i;

	vigil_ring_init(&r);
	CHECK(vigil_ring_push(&r, T0, 1.0));
	before = r;
	for (i = 0; i < 3; i++)
	{
		CHECK(!vigil_ring_push(&r, bad[i], 1.0));
		CHECK(!vigil_ring_push(&r, T0, bad[i]));
		CHECK(!vigil_ring_count_since(&r, bad[i], &n));
		CHECK(!vigil_ring_sum_since(&r, bad[i], &s));
		CHECK(!vigil_ring_count_small_since(&r, bad[i], 1.0, &n));
		CHECK(!vigil_ring_count_small_since(&r, T0, bad[i], &n));
		CHECK(!vigil_ring_saturated(&r, bad[i], &sat));
	}
	/* amounts beyond float range */
	CHECK(!vigil_ring_push(&r, T0, 1e39));
	CHECK(!vigil_ring_push(&r, T0, -1e39));
	CHECK(memcmp(&r, &before, sizeof(r)) == 0);
	CHECK(n == 123 && s == 4.5 && sat);

	/* the extremes of both ranges are accepted */
	CHECK(vigil_ring_push(&r, T0, FLT_MAX));
	CHECK(vigil_ring_push(&r, T0 + 2147483647.0, 1.0));
	CHECK(vigil_ring_push(&r, T0 - 2147483648.0, 1.0));
	CHECK(r.count == 4);
	CHECK(count_since(&r, -1e300) == 4);
	CHECK(count_since(&r, T0 - 2147483647.0) == 3);
	CHECK(count_since(&r, T0 + 2147483647.0) == 1);
	CHECK(small_since(&r, -1e300, 1e300) == 4);
	CHECK(small_since(&r, -1e300, 3e38) == 3);

	/* first events need an exact whole second: |t| < 2^53 */
	vigil_ring_init(&r);
	CHECK(!vigil_ring_push(&r, 9007199254740992.0, 1.0));
	CHECK(!vigil_ring_push(&r, -1e300, 1.0));
	CHECK(r.count == 0);
	CHECK(vigil_ring_push(&r, -1e15 + 0.5, 1.0));
	CHECK(count_since(&r, -1e15) == 1);
	CHECK(count_since(&r, -1e15 + 1.0) == 0);
}

/*
 * Events more than 2^31 s apart: the newer one wins, the older ones are
 * lost, and saturation says so; what is retained stays in order.
 */
static void
far_apart(void)
{
	VigilRing	r;
	int			i;

	/* a much newer event evicts the retained events 2^31 s older than it */
	vigil_ring_init(&r);
	CHECK(vigil_ring_push(&r, T0, 1.0));
	CHECK(vigil_ring_push(&r, T0 + 100.0, 2.0));
	CHECK(vigil_ring_push(&r, T0 + 2147483700.0, 4.0));
	CHECK(r.count == 2 && r.lost == 1);
	CHECK(count_since(&r, -1e300) == 2);
	CHECK(sum_since(&r, -1e300) == 6.0);
	CHECK(count_since(&r, T0 + 101.0) == 1);
	CHECK(saturated(&r, T0 + 100.0) == 1);
	CHECK(saturated(&r, T0 + 101.0) == 0);

	/* an event more than 2^31 s before the base is dropped, and counted */
	CHECK(vigil_ring_push(&r, T0 + 100.0 - 2147483649.0, 8.0));
	CHECK(r.count == 2 && r.lost == 2);
	CHECK(sum_since(&r, -1e300) == 6.0);

	/* one just within reach goes in first */
	CHECK(vigil_ring_push(&r, T0 + 100.0 - 2147483648.0, 16.0));
	CHECK(r.count == 3 && r.lost == 2);
	CHECK(count_since(&r, T0 + 100.0 - 2147483648.0) == 3);
	CHECK(count_since(&r, T0 + 100.0 - 2147483647.0) == 2);
	CHECK(sum_since(&r, -1e300) == 22.0);
	for (i = 1; i < r.count; i++)
		CHECK(r.off[(r.head + i) % VIGIL_RING_CAP] >= r.off[(r.head + i - 1) % VIGIL_RING_CAP]);

	/* every event evicted: the ring starts again from the newest */
	CHECK(vigil_ring_push(&r, T0 + 9e9, 32.0));
	CHECK(r.count == 1 && r.lost == 5);
	CHECK(sum_since(&r, -1e300) == 32.0);
	CHECK(count_since(&r, T0 + 9e9) == 1);
	CHECK(saturated(&r, T0 + 9e9) == 1);

	/* a mistyped first event does not keep the ordinary ones out */
	vigil_ring_init(&r);
	CHECK(vigil_ring_push(&r, T0 - 4e9, 1.0));
	for (i = 0; i < VIGIL_RING_CAP; i++)
		CHECK(vigil_ring_push(&r, T0 + i, 1.0));
	CHECK(r.count == VIGIL_RING_CAP && r.lost == 1);
	CHECK(count_since(&r, T0) == VIGIL_RING_CAP);
	CHECK(saturated(&r, T0) == 1);
	CHECK(saturated(&r, T0 + 1.0) == 0);
}

/*
 * The window queries agree with a plain scan of the retained events: the
 * sum (newest first, so to the bit) whether or not the window holds the
 * whole ring, and "at least m events" with the count, for every m.  Over
 * rings of every fill, wrapped, with out-of-order and lost events.
 */
static void
windows_agree_with_scan(void)
{
	uint64_t	rng = 7;
	int			whole = 0,
				part = 0;

	for (int round = 0; round < 300; round++)
	{
		VigilRing	r;
		int			pushes = round % 40;
		double		t = T0;

		vigil_ring_init(&r);
		for (int i = 0; i < pushes; i++)
		{
			rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
			/* mostly forward, now and then back in time */
			t += (double) ((rng >> 33) % 400) - ((rng >> 20) % 8 == 0 ? 600.0 : 0.0);
			CHECK(vigil_ring_push(&r, t + 0.5, (double) ((rng >> 40) % 10000) / 100.0));
		}
		for (double from = t - 7000.0; from <= t + 10.0; from += 97.0)
		{
			double		want = 0.0;
			int			n = 0;

			for (int i = r.count - 1; i >= 0; i--)
			{
				int			s = (r.head + i) % VIGIL_RING_CAP;

				if ((double) r.base + r.off[s] >= floor(from))
				{
					want += r.amount[s];
					n++;
				}
			}
			CHECK(sum_since(&r, from) == want);
			CHECK(count_since(&r, from) == n);
			if (r.count > 0 && n == r.count)
				whole++;
			else if (n > 0)
				part++;
			for (int m = 0; m <= VIGIL_RING_CAP + 1; m++)
			{
				bool		has = !(n >= m);

				CHECK(vigil_ring_has_since(&r, from, m, &has));
				CHECK(has == (n >= m));
			}
		}
	}
	CHECK(whole > 100 && part > 100);

	/* a window that is not a time is refused, as by the other queries */
	{
		VigilRing	r;
		bool		has = true;

		vigil_ring_init(&r);
		CHECK(vigil_ring_push(&r, T0, 1.0));
		CHECK(!vigil_ring_has_since(&r, NAN, 1, &has) && has);
		CHECK(!vigil_ring_has_since(&r, INFINITY, 1, &has) && has);
	}
}

int
main(void)
{
	RUN(empty_ring);
	RUN(window_boundaries);
	RUN(wrap_around);
	RUN(out_of_order);
	RUN(same_second);
	RUN(small_amounts);
	RUN(amount_precision);
	RUN(rejects_invalid);
	RUN(far_apart);
	RUN(windows_agree_with_scan);
	return UNIT_DONE();
}
