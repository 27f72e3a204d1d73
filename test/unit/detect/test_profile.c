/*
 * test_profile.c
 *		Unit tests for the per-key profile: folding, validation, garbage.
 */
#include <float.h>
#include <stdint.h>
#include <string.h>

#include "detect/core/profile.h"
#include "events.h"
#include "unit.h"

#define T0 1700000000.0			/* 2023-11-14 22:13:20 UTC */
#define MINUTE 60.0
#define HOUR 3600.0
#define DAY 86400.0

#define N_RANDOM_FOLDS 5000
#define N_GARBAGE 200000

/* Whether p is valid; prints the reason when it is not. */
static bool
valid(const VigilProfile *p)
{
	const char *why = NULL;

	if (vigil_profile_valid(p, &why))
		return why == NULL;
	printf("#   invalid profile: %s\n", why != NULL ? why : "(no reason)");
	return false;
}

/* Whether p is invalid with a reason (which is printed for the log). */
static bool
invalid(const VigilProfile *p)
{
	const char *why = NULL;

	if (vigil_profile_valid(p, &why))
		return false;
	return why != NULL && why[0] != '\0';
}

/* The size fits the budget with the varlena header; print it for the record. */
static void
size_and_layout(void)
{
	size_t		end = offsetof(VigilProfile, by_category) + sizeof(((VigilProfile *) 0)->by_category);

	printf("# sizeof(VigilProfile) = %zu, fields end at %zu\n",
		   sizeof(VigilProfile), end);
	CHECK(sizeof(VigilProfile) + 8 <= VIGIL_PROFILE_MAX_BYTES);
	/* only tail padding, which init zeroes and fold preserves */
	CHECK(offsetof(VigilProfile, amount) == 8);
	CHECK(offsetof(VigilProfile, recent_amount) == 8 + sizeof(VigilWelford));
	CHECK(sizeof(VigilProfile) - end < 8);
	/* version 2 only appended: a version 1 profile is its prefix */
	CHECK(VIGIL_PROFILE_V1_SIZE == offsetof(VigilProfile, categories) + sizeof(VigilSeenSet) + 4);
}

/* A new profile is empty, valid and has no last time. */
static void
empty_profile(void)
{
	VigilProfile p;

	memset(&p, 0xa5, sizeof(p));
	vigil_profile_init(&p);
	CHECK(p.version == VIGIL_PROFILE_VERSION);
	CHECK(p.flags == 0);
	CHECK(p.amount.n == 0);
	CHECK(p.recent.count == 0);
	CHECK(vigil_seenset_count(&p.merchants) == 0);
	CHECK(isnan(vigil_profile_last_time(&p)));
	CHECK(valid(&p));
	CHECK(vigil_profile_sound(&p));
}

/* A known sequence gives known statistics and last time. */
static void
known_sequence(void)
{
	VigilProfile p;
	VigilEvent	e;

	vigil_profile_init(&p);
	e = event(T0, 10.0);
	CHECK(vigil_profile_fold(&p, &e));
	CHECK(vigil_profile_last_time(&p) == T0);
	e = event(T0 + MINUTE, 20.0);
	CHECK(vigil_profile_fold(&p, &e));
	e = event(T0 + 2 * MINUTE, 30.0);
	e.has_merchant = true;
	e.merchant_hash = vigil_hash64("acme", 4);
	e.has_category = true;
	e.category_hash = vigil_hash64("5411", 4);
	CHECK(vigil_profile_fold(&p, &e));

	CHECK(p.amount.n == 3);
	CHECK_CLOSE(vigil_welford_mean(&p.amount), 20.0, 1e-15);
	CHECK_CLOSE(vigil_welford_var_samp(&p.amount), 100.0, 1e-13);
	CHECK(p.amount.min == 10.0 && p.amount.max == 30.0);
	CHECK(vigil_profile_last_time(&p) == T0 + 2 * MINUTE);
	/* two minutes of a 30-day half-life: almost equal weights */
	CHECK_CLOSE(vigil_decay_mean(&p.recent_amount), 20.0, 1e-4);
	CHECK(p.recent.count == 3);
	CHECK(vigil_seenset_contains(&p.merchants, vigil_hash64("acme", 4)));
	CHECK(!vigil_seenset_contains(&p.merchants, vigil_hash64("other", 5)));
	CHECK(vigil_seenset_contains(&p.categories, vigil_hash64("5411", 4)));
	CHECK(vigil_seenset_count(&p.merchants) == 1);
	CHECK(!(p.flags & VIGIL_PROFILE_HAS_LOCATION));
	/* T0 is 22:13 UTC: all three events land in hour 22 */
	CHECK(p.hours.bucket[22] > 2.99f && p.hours.bucket[21] == 0.0f);
	CHECK(valid(&p));

	/* a late event does not move the last time back */
	e = event(T0 - DAY, 5.0);
	CHECK(vigil_profile_fold(&p, &e));
	CHECK(vigil_profile_last_time(&p) == T0 + 2 * MINUTE);
	CHECK(p.amount.n == 4 && p.amount.min == 5.0);
	CHECK(valid(&p));
}

/* Event validation names the problem. */
static void
event_validation(void)
{
	VigilEvent	e;
	const char *why = NULL;

	e = event(T0, 12.5);
	CHECK(vigil_event_valid(&e, &why) && why == NULL);
	e.lat = NAN;				/* ignored without has_location */
	CHECK(vigil_event_valid(&e, &why));
	e = event(-1e15, -3.0);		/* negative times and refunds are fine */
	CHECK(vigil_event_valid(&e, &why));

	e = event(NAN, 1.0);
	CHECK(!vigil_event_valid(&e, &why) && why != NULL);
	e = event(INFINITY, 1.0);
	CHECK(!vigil_event_valid(&e, &why));
	e = event(9007199254740992.0, 1.0);
	CHECK(!vigil_event_valid(&e, &why) && strstr(why, "time") != NULL);
	e = event(T0, NAN);
	CHECK(!vigil_event_valid(&e, &why) && strstr(why, "amount") != NULL);
	e = event(T0, -INFINITY);
	CHECK(!vigil_event_valid(&e, &why));
	e = event(T0, 1e39);
	CHECK(!vigil_event_valid(&e, &why) && strstr(why, "amount") != NULL);
	e = located(T0, 1.0, 90.0, -180.0);
	CHECK(vigil_event_valid(&e, &why));
	e = located(T0, 1.0, 90.5, 0.0);
	CHECK(!vigil_event_valid(&e, &why) && strstr(why, "latitude") != NULL);
	e = located(T0, 1.0, 0.0, -180.5);
	CHECK(!vigil_event_valid(&e, &why) && strstr(why, "longitude") != NULL);
	e = located(T0, 1.0, NAN, 0.0);
	CHECK(!vigil_event_valid(&e, &why));
	e = located(T0, 1.0, 0.0, INFINITY);
	CHECK(!vigil_event_valid(&e, &why));
	e = event(T0, 1.0);
	CHECK(vigil_event_valid(&e, NULL));
}

/* A refused event leaves every byte of the profile as it was. */
static void
fold_all_or_nothing(void)
{
	VigilProfile p,
				before;
	VigilEvent	e;
	int			i;

	vigil_profile_init(&p);
	for (i = 0; i < 20; i++)
	{
		e = located(T0 + i * HOUR, 10.0 + i, 48.0, 2.0);
		e.has_merchant = true;
		e.merchant_hash = (uint64_t) i << 48;
		CHECK(vigil_profile_fold(&p, &e));
	}
	memcpy(&before, &p, sizeof(p));

	e = event(NAN, 1.0);
	CHECK(!vigil_profile_fold(&p, &e));
	e = event(T0, NAN);
	CHECK(!vigil_profile_fold(&p, &e));
	e = located(T0 + DAY, 1.0, 95.0, 0.0);
	CHECK(!vigil_profile_fold(&p, &e));
	e = event(T0, 1e300);
	CHECK(!vigil_profile_fold(&p, &e));
	CHECK(memcmp(&p, &before, sizeof(p)) == 0);

	/* an unsound profile is refused, not written through */
	p.merchants.count = 1000;
	e = event(T0 + DAY, 1.0);
	CHECK(!vigil_profile_fold(&p, &e));
	CHECK(p.merchants.count == 1000 && p.amount.n == 20);
	p.merchants.count = before.merchants.count;

	/*
	 * A summary that refuses after another accepted (here the all-time
	 * statistics, after the decayed ones) leaves no trace either.
	 */
	p.amount.m2 = INFINITY;
	CHECK(!vigil_profile_fold(&p, &e));
	p.amount.m2 = before.amount.m2;
	CHECK(memcmp(&p, &before, sizeof(p)) == 0);

	/* and a good one afterwards still folds */
	CHECK(vigil_profile_fold(&p, &e));
	CHECK(p.amount.n == 21);
	CHECK(valid(&p));
}

/*
 * Events decades apart (a mistyped year) fold and keep the profile valid,
 * whether the odd one comes first or later: it cannot stop its key's other
 * events from folding.
 */
static void
far_apart_events(void)
{
	static const double odd[] = {T0 - 4e9, T0 + 4e9, T0 + 2147483648.0};
	VigilProfile p;
	VigilEvent	e;
	int			i,
				k;

	for (k = 0; k < 3; k++)
	{
		vigil_profile_init(&p);
		e = event(odd[k], 5.0);
		CHECK(vigil_profile_fold(&p, &e));
		for (i = 0; i < 20; i++)
		{
			e = located(T0 + i * HOUR, 10.0 + i, 48.0, 2.0);
			CHECK(vigil_profile_fold(&p, &e));
			CHECK(valid(&p));
		}
		CHECK(p.amount.n == 21);
		CHECK(p.amount.min == 5.0 && p.amount.max == 29.0);
	}

	/* and an odd one after ordinary events, in either direction */
	for (k = 0; k < 3; k++)
	{
		vigil_profile_init(&p);
		for (i = 0; i < 20; i++)
		{
			e = event(T0 + i * HOUR, 10.0 + i);
			CHECK(vigil_profile_fold(&p, &e));
		}
		e = event(odd[k], 5.0);
		CHECK(vigil_profile_fold(&p, &e));
		CHECK(valid(&p));
		e = event(T0 + 20 * HOUR, 30.0);
		CHECK(vigil_profile_fold(&p, &e));
		CHECK(valid(&p));
		CHECK(p.amount.n == 22);
	}
}

/* An out-of-order located event does not move the last location back. */
static void
out_of_order_location(void)
{
	VigilProfile p;
	VigilEvent	e;

	vigil_profile_init(&p);
	e = event(T0, 1.0);
	CHECK(vigil_profile_fold(&p, &e));
	CHECK(!(p.flags & VIGIL_PROFILE_HAS_LOCATION));

	e = located(T0 + 100.0, 1.0, 51.5074, -0.1278);	/* London */
	CHECK(vigil_profile_fold(&p, &e));
	CHECK(p.flags & VIGIL_PROFILE_HAS_LOCATION);
	CHECK(p.last_lat == 51.5074 && p.last_loc_t == T0 + 100.0);

	e = located(T0 + 50.0, 1.0, 48.8566, 2.3522);	/* Paris, but late */
	CHECK(vigil_profile_fold(&p, &e));
	CHECK(p.last_lat == 51.5074 && p.last_lon == -0.1278);
	CHECK(p.last_loc_t == T0 + 100.0);
	CHECK(p.amount.n == 3);

	e = event(T0 + 200.0, 1.0);		/* no location: keeps London */
	CHECK(vigil_profile_fold(&p, &e));
	CHECK(p.last_lat == 51.5074 && p.last_loc_t == T0 + 100.0);

	e = located(T0 + 100.0, 1.0, 48.8566, 2.3522);	/* same time: replaces */
	CHECK(vigil_profile_fold(&p, &e));
	CHECK(p.last_lat == 48.8566 && p.last_loc_t == T0 + 100.0);

	e = located(T0 + 300.0, 1.0, 40.7128, -74.0060);	/* New York */
	CHECK(vigil_profile_fold(&p, &e));
	CHECK(p.last_lat == 40.7128 && p.last_loc_t == T0 + 300.0);
	CHECK(valid(&p));
}

/* A random event: mostly ordinary, sometimes odd in every way fold allows. */
static VigilEvent
random_event(uint64_t *rng, double *clock)
{
	VigilEvent	e;
	double		u = unit_uniform(rng);
	double		a = unit_uniform(rng);

	/* time: mostly forward, sometimes late, sometimes years later */
	if (u < 0.70)
		*clock += unit_uniform(rng) * 2.0 * HOUR;
	else if (u < 0.702)
		*clock += unit_uniform(rng) * 6.0 * 365.0 * DAY;
	/* else (u < 0.80 and beyond): the same instant as the clock */
	memset(&e, 0, sizeof(e));
	e.t = *clock;
	if (u >= 0.80 && u < 0.95)
		e.t = *clock - unit_uniform(rng) * 30.0 * DAY;	/* out of order */
	else if (u >= 0.95)
		e.t = *clock + (unit_uniform(rng) - 0.5);	/* sub-second jitter */

	/* amount: log-uniform, with zeros, refunds, repeats and extremes */
	if (a < 0.6)
		e.amount = floor(exp(unit_uniform(rng) * 9.0)) / 100.0 * 100.0;
	else if (a < 0.7)
		e.amount = 10.0;
	else if (a < 0.75)
		e.amount = 0.0;
	else if (a < 0.80)
		e.amount = -unit_uniform(rng) * 500.0;
	else if (a < 0.82)
		e.amount = unit_uniform(rng) < 0.5 ? FLT_MAX : -FLT_MAX;
	else if (a < 0.84)
		e.amount = 1e-300 * unit_uniform(rng);
	else if (a < 0.86)
		e.amount = 1e9 + unit_uniform(rng);
	else
		e.amount = unit_uniform(rng) * 200.0;

	if (unit_uniform(rng) < 0.5)
	{
		e.has_location = true;
		e.lat = unit_uniform(rng) * 180.0 - 90.0;
		e.lon = unit_uniform(rng) * 360.0 - 180.0;
	}
	if (unit_uniform(rng) < 0.8)
	{
		e.has_merchant = true;
		e.merchant_hash = vigil_hash64(&(int) {(int) (unit_uniform(rng) * 60)},
									   sizeof(int));
	}
	if (unit_uniform(rng) < 0.7)
	{
		e.has_category = true;
		e.category_hash = unit_bits64(rng);
	}
	return e;
}

/*
 * Every profile that folding produces is valid, whatever the events; the
 * all-time statistics match a direct computation.
 */
static void
random_folds_stay_valid(void)
{
	uint64_t	seed;

	for (seed = 1; seed <= 8; seed++)
	{
		uint64_t	rng = seed * 7919;
		VigilProfile p;
		double		clock = seed < 4 ? T0 : -T0 * (double) seed;
		double		max_t = -INFINITY;
		uint64_t	n = 0;
		int			i,
					failures = 0;

		vigil_profile_init(&p);
		for (i = 0; i < N_RANDOM_FOLDS; i++)
		{
			VigilEvent	e = random_event(&rng, &clock);

			/* seeds 5 and up keep amounts ordinary, to compare means */
			if (seed >= 5)
				e.amount = fmod(fabs(e.amount), 1000.0);
			if (vigil_profile_fold(&p, &e))
			{
				n++;
				if (e.t > max_t)
					max_t = e.t;
			}
			if (!valid(&p) && failures++ < 3)
				printf("#   seed %llu, fold %d\n", (unsigned long long) seed, i);
		}
		CHECK(failures == 0);
		CHECK(p.amount.n == n);
		CHECK(n > N_RANDOM_FOLDS / 2);
		CHECK(vigil_profile_last_time(&p) == max_t);
		CHECK(p.recent.count == VIGIL_RING_CAP);
		CHECK(vigil_seenset_count(&p.categories) == VIGIL_SEENSET_CAP);
	}
}

/* The mean of folded amounts matches a direct sum. */
static void
random_folds_mean(void)
{
	uint64_t	rng = 42;
	VigilProfile p;
	double		sum = 0.0;
	int			i;

	vigil_profile_init(&p);
	for (i = 0; i < N_RANDOM_FOLDS; i++)
	{
		double		x = floor(unit_uniform(&rng) * 100000.0) / 100.0;
		VigilEvent	e = event(T0 + i * MINUTE, x);

		CHECK(vigil_profile_fold(&p, &e));
		sum += x;
	}
	CHECK(p.amount.n == N_RANDOM_FOLDS);
	CHECK_CLOSE(vigil_welford_mean(&p.amount), sum / N_RANDOM_FOLDS, 1e-12);
	CHECK(valid(&p));
}

/* A genuine profile with a little of everything, for corrupting. */
static void
genuine(VigilProfile *p)
{
	uint64_t	rng = 99;
	double		clock = T0;
	int			i;

	vigil_profile_init(p);
	for (i = 0; i < 40; i++)
	{
		VigilEvent	e = random_event(&rng, &clock);

		e.amount = 5.0 + i;
		(void) vigil_profile_fold(p, &e);
	}
}

/* Targeted corruptions are each caught, with a reason. */
static void
valid_rejects_corruption(void)
{
	VigilProfile good,
				p;
	int			i;

	genuine(&good);
	CHECK(valid(&good));
	CHECK(good.flags & VIGIL_PROFILE_HAS_LOCATION);
	CHECK(good.recent.count == VIGIL_RING_CAP && good.recent.lost > 0);
	CHECK(vigil_seenset_count(&good.merchants) >= 2);

#define CORRUPT(stmt) \
	do { \
		memcpy(&p, &good, sizeof(p)); \
		stmt; \
		CHECK(invalid(&p)); \
	} while (0)

	CORRUPT(p.version = 3);
	CORRUPT(p.version = 1);
	CORRUPT(p.version = 0);
	CHECK(good.by_category[0].amount.weight > 0.0 && good.by_category[1].amount.weight > 0.0);
	CORRUPT(p.by_category[0].hash = 0);
	CORRUPT(p.by_category[1].hash = p.by_category[0].hash);
	CORRUPT(p.by_category[0].amount.weight = p.recent_amount.weight * 2.0);
	CORRUPT(p.by_category[0].amount.weight = NAN);
	CORRUPT(p.by_category[0].amount.mean = p.amount.max * 2.0 + 1.0);
	CORRUPT(p.by_category[0].amount.m2 = -1.0);
	CORRUPT(p.by_category[0].amount.last_t = p.recent_amount.last_t + 1.0);
	CORRUPT(memset(&p.by_category[0].amount, 0, sizeof(VigilDecay)));	/* unused, but named */
	CORRUPT(p.flags = 2);
	CORRUPT(p.flags = 0);		/* location fields set without the flag */
	CORRUPT(p.amount.n = 0);
	CORRUPT(p.amount.n = UINT64_MAX);
	CORRUPT(p.amount.n = 3);	/* fewer events than the ring holds */
	CORRUPT(p.amount.mean = NAN);
	CORRUPT(p.amount.mean = p.amount.max * 2.0);
	CORRUPT(p.amount.mean_lo = 1.0);
	CORRUPT(p.amount.mean_lo = INFINITY);
	CORRUPT(p.amount.m2 = -1.0);
	CORRUPT(p.amount.m2 = 1e30);
	CORRUPT(p.amount.min = p.amount.max + 1.0);
	CORRUPT(p.amount.max = INFINITY);
	CORRUPT(p.amount.max = 1e300);
	CORRUPT(p.recent_amount.weight = 0.0);
	CORRUPT(p.recent_amount.weight = 0.5);
	CORRUPT(p.recent_amount.weight = 1e9);
	CORRUPT(p.recent_amount.weight = NAN);
	CORRUPT(p.recent_amount.mean = -1e6);
	CORRUPT(p.recent_amount.m2 = -1e-9);
	CORRUPT(p.recent_amount.m2 = INFINITY);
	CORRUPT(p.recent_amount.last_t = NAN);
	CORRUPT(p.recent_amount.last_t += 5.0);	/* ring ends elsewhere */
	CORRUPT(p.last_lat = 91.0);
	CORRUPT(p.last_lon = NAN);
	CORRUPT(p.last_loc_t = p.recent_amount.last_t + 1.0);
	CORRUPT(p.recent.count = VIGIL_RING_CAP + 1);
	CORRUPT(p.recent.head = VIGIL_RING_CAP);
	CORRUPT(p.recent.count = 3);	/* lost events from a ring not full */
	CORRUPT(p.recent.lost = UINT32_MAX);
	CORRUPT(p.recent.off[p.recent.head] = INT32_MAX);	/* order */
	CORRUPT(p.recent.amount[3] = NAN);
	CORRUPT(p.recent.amount[3] = (float) p.amount.max * 2.0f);	/* above every amount */
	CORRUPT(p.recent.amount[3] = (float) p.amount.min - 1.0f);
	CORRUPT(p.recent.base = INT64_MIN);
	CORRUPT(p.hours.bucket[5] = -1.0f);
	CORRUPT(p.hours.bucket[5] = NAN);
	CORRUPT(p.hours.bucket[5] = INFINITY);
	CORRUPT(p.hours.ref_t = p.recent_amount.last_t + 1.0);
	CORRUPT(p.hours.ref_t = p.recent_amount.last_t - VIGIL_HOUR_HALF_LIFE_S - 1.0);
	CORRUPT(p.merchants.count = VIGIL_SEENSET_CAP + 1);
	CORRUPT(p.merchants.fp[1] = p.merchants.fp[0]);
	CORRUPT(p.categories.fp[1] = p.categories.fp[0]);

	/* an empty profile must be exactly empty */
	vigil_profile_init(&good);
	CHECK(valid(&good));
	CORRUPT(p.amount.m2 = 1.0);
	CORRUPT(p.amount.min = 0.0);
	CORRUPT(p.recent_amount.last_t = T0);
	CORRUPT(p.recent.count = 1);
	CORRUPT(p.recent.lost = 1);
	CORRUPT(p.hours.bucket[0] = 1.0f);
	CORRUPT(p.merchants.count = 1);
	CORRUPT(p.flags = VIGIL_PROFILE_HAS_LOCATION);
	for (i = 0; i < 3; i++)
		CORRUPT(p.last_lat = 1.0 + i);
#undef CORRUPT

	/* fields that carry no information may hold anything */
	memcpy(&p, &good, sizeof(p));
	p.recent.base = 12345;
	p.recent.off[7] = -5;
	p.merchants.fp[9] = 77;
	CHECK(valid(&p));
}

/*
 * Any bytes at all: validation and folding must neither crash nor trip the
 * sanitizers, and random bytes essentially never pass.  Also corrupt
 * genuine profiles byte by byte, which reaches the deeper checks.
 */
static void
garbage_never_crashes(void)
{
	uint64_t	rng = 7;
	VigilProfile good,
				p;
	unsigned char *bytes = (unsigned char *) &p;
	int			i,
				j,
				passed_random = 0,
				passed_flip = 0,
				sound = 0;

	genuine(&good);
	for (i = 0; i < N_GARBAGE; i++)
	{
		VigilEvent	e = event(T0 + i, 1.0 + i % 7);
		bool		ok;

		if (i % 2 == 0)
		{
			/* random bytes, sometimes with a plausible header */
			for (j = 0; j < (int) sizeof(p); j += 8)
			{
				uint64_t	b = unit_bits64(&rng);

				memcpy(bytes + j, &b,
					   sizeof(p) - j < 8 ? sizeof(p) - j : 8);
			}
			if (i % 4 == 0)
			{
				p.version = VIGIL_PROFILE_VERSION;
				p.flags &= VIGIL_PROFILE_HAS_LOCATION;
			}
		}
		else
		{
			/* a genuine profile with a few random bytes replaced */
			memcpy(&p, &good, sizeof(p));
			for (j = 0; j < 1 + i % 3; j++)
				bytes[unit_bits64(&rng) % sizeof(p)] = (unsigned char) unit_bits64(&rng);
		}

		ok = vigil_profile_valid(&p, NULL);
		if (ok)
		{
			if (i % 2 == 0)
				passed_random++;
			else
				passed_flip++;
		}
		if (vigil_profile_sound(&p))
			sound++;
		/* fold must be safe on anything; the result is not checked */
		(void) vigil_profile_fold(&p, &e);
		(void) vigil_profile_last_time(&p);
	}
	printf("# garbage: %d random and %d corrupted genuine profiles passed, %d sound\n",
		   passed_random, passed_flip, sound);
	CHECK(passed_random == 0);
	/*
	 * A changed byte in an unused slot or in the low bits of a float is a
	 * different but still possible profile, so many flips pass; the rest
	 * must not.
	 */
	CHECK(passed_flip < N_GARBAGE / 2 * 0.8);
	CHECK(sound > 0);
}

/*
 * The profile follows the amounts of the card's usual categories, each as
 * the card's all-category amounts are followed; a category that went quiet
 * gives its slot to a new one, a busy one does not.
 */
static void
categories_followed(void)
{
	VigilProfile p;
	VigilDecay	expect;
	const VigilCategoryAmount *c;

	vigil_profile_init(&p);
	vigil_decay_init(&expect);
	/* 9 categories: 1 .. 8 every day, 9 only once, at the start */
	for (int day = 0; day < 20; day++)
		for (uint64_t k = 1; k <= 9; k++)
		{
			VigilEvent	e = {.t = T0 + day * DAY + k * 60.0, .amount = 10.0 * k + day,
			.has_category = true, .category_hash = k * 0x9e3779b97f4a7c15ULL};

			if (k == 9 && day > 0)
				continue;
			CHECK(vigil_profile_fold(&p, &e));
			if (k == 3)
				CHECK(vigil_decay_add(&expect, e.t, e.amount, VIGIL_AMOUNT_HALF_LIFE_S));
		}
	CHECK(valid(&p));
	c = vigil_profile_category(&p, 3 * 0x9e3779b97f4a7c15ULL);
	CHECK(c != NULL && memcmp(&c->amount, &expect, sizeof(expect)) == 0);
	CHECK_CLOSE(vigil_decay_mean(&c->amount), vigil_decay_mean(&expect), 0.0);
	/* 1 .. 8 filled the slots; 9 found none free of a busy category */
	for (uint64_t k = 1; k <= 8; k++)
		CHECK(vigil_profile_category(&p, k * 0x9e3779b97f4a7c15ULL) != NULL);
	CHECK(vigil_profile_category(&p, 9 * 0x9e3779b97f4a7c15ULL) == NULL);
	/*
	 * 8 goes quiet: its 20 days of use weigh 15.6 then, below 0.5 after five
	 * half-lives (30 days each); then 9 takes its slot
	 */
	for (int day = 20; day < 182; day++)
		for (uint64_t k = 1; k <= 7; k++)
		{
			VigilEvent	e = {.t = T0 + day * DAY + k * 60.0, .amount = 10.0 * k,
			.has_category = true, .category_hash = k * 0x9e3779b97f4a7c15ULL};

			CHECK(vigil_profile_fold(&p, &e));
		}
	{
		VigilEvent	e = {.t = T0 + 183 * DAY, .amount = 5.0, .has_category = true,
		.category_hash = 9 * 0x9e3779b97f4a7c15ULL};

		CHECK(vigil_profile_fold(&p, &e));
	}
	CHECK(vigil_profile_category(&p, 9 * 0x9e3779b97f4a7c15ULL) != NULL);
	CHECK(vigil_profile_category(&p, 8 * 0x9e3779b97f4a7c15ULL) == NULL);
	CHECK(valid(&p));
	CHECK(vigil_profile_category(&p, 0) == NULL);
	/* a category hashing to 0 is not followed, and does no harm */
	{
		VigilEvent	e = {.t = T0 + 190 * DAY, .amount = 1.0, .has_category = true, .category_hash = 0};

		CHECK(vigil_profile_fold(&p, &e));
		CHECK(valid(&p));
	}
}

int
main(void)
{
	RUN(size_and_layout);
	RUN(empty_profile);
	RUN(known_sequence);
	RUN(event_validation);
	RUN(fold_all_or_nothing);
	RUN(far_apart_events);
	RUN(out_of_order_location);
	RUN(random_folds_stay_valid);
	RUN(random_folds_mean);
	RUN(valid_rejects_corruption);
	RUN(categories_followed);
	RUN(garbage_never_crashes);
	return UNIT_DONE();
}
