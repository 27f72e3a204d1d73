/*
 * profile.c
 *		The per-key profile: folding events in and validating stored ones.
 *
 * See profile.h for what a profile holds.  A fold touches every summary, so
 * it is built in a local copy and stored only when every summary accepted
 * the event: a rejected event leaves the profile exactly as it was, and the
 * summaries can never disagree about which events they have seen.  That is
 * what makes the cross-summary checks of vigil_profile_valid possible, such
 * as "the ring's newest event is the decayed summary's last_t".
 *
 * Profiles are copied with memcpy rather than by assignment so that the
 * padding at the end of the struct (see the static assertion below) keeps
 * the zeros vigil_profile_init gave it: equal profiles then have equal
 * bytes, which the binary output and byte-wise comparisons rely on.
 */
#include "detect/core/profile.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

/*
 * The SQL type stores a profile after 8 bytes (a varlena header and a word
 * for alignment), and the whole value must stay within the budget.
 */
_Static_assert(sizeof(VigilProfile) <= VIGIL_PROFILE_MAX_BYTES - 8,
			   "VigilProfile must fit the budget with its varlena header");

/* Times at or beyond this magnitude are refused by the ring (ring.h). */
#define MAX_ABS_T 9007199254740992.0	/* 2^53 */

/*
 * Rounding slack allowed when checking that a mean lies within [min, max]:
 * the compensated means are accurate to a few ulps of the data's
 * magnitude, so this is far above what folding produces and far below
 * anything that would change a rule's result.
 */
#define MEAN_REL_SLACK 1e-9

/*
 * The decayed weight is a sum of n weights of at most 1 each; this allows
 * for the rounding of n additions.
 */
#define WEIGHT_REL_SLACK 1e-6

/* Whether lat/lon are a position in degrees; false for NaN too. */
static bool
position_valid(double lat, double lon)
{
	return lat >= -90.0 && lat <= 90.0 && lon >= -180.0 && lon <= 180.0;
}

/*
 * Whether a compensated mean's low part is no more than its high part's
 * rounding error: the pair is renormalised after every update, so lo is at
 * most half an ulp of hi (we allow a full one).  False for NaN.
 */
static bool
mean_lo_valid(double mean, double mean_lo)
{
	return isfinite(mean) && fabs(mean_lo) <= DBL_EPSILON * fabs(mean);
}

/*
 * Whether m lies within [min, max] up to rounding; on success *clamped is m
 * clamped into the range, as vigil_welford_mean would read it.
 */
static bool
mean_in_range(double m, double min, double max, double *clamped)
{
	double		slack = MEAN_REL_SLACK * (max - min) +
		4.0 * DBL_EPSILON * fmax(fabs(min), fabs(max));

	if (!(m >= min - slack && m <= max + slack))
		return false;
	*clamped = fmin(max, fmax(min, m));
	return true;
}

/* Make p the profile of a key with no events. */
void
vigil_profile_init(VigilProfile *p)
{
	/* zero the padding too, so equal profiles have equal bytes */
	memset(p, 0, sizeof(*p));
	p->version = VIGIL_PROFILE_VERSION;
	p->flags = 0;
	vigil_welford_init(&p->amount);
	vigil_decay_init(&p->recent_amount);
	p->last_lat = 0.0;
	p->last_lon = 0.0;
	p->last_loc_t = 0.0;
	vigil_ring_init(&p->recent);
	vigil_hourhist_init(&p->hours);
	vigil_seenset_init(&p->merchants);
	vigil_seenset_init(&p->categories);
}

/* The windows of merchant risk, in days, by index. */
const int	vigil_merchant_window_days[VIGIL_MERCHANT_WINDOWS] = {1, 7, 30};

/*
 * Whether e can be folded into a profile; on false *why says what is wrong
 * with it.  The limits are those of the summaries, so that a valid event is
 * refused by vigil_profile_fold only when the profile's count would
 * overflow.
 */
bool
vigil_event_valid(const VigilEvent *e, const char **why)
{
	const char *msg = NULL;

	/* every row is checked: the usual event passes in one test (NaN fails) */
	if (fabs(e->t) < MAX_ABS_T && fabs(e->amount) <= FLT_MAX && !e->has_location &&
		!e->has_model)
		;
	else if (!isfinite(e->t))
		msg = "event time must be finite";
	else if (fabs(e->t) >= MAX_ABS_T)
		msg = "event time is out of range";
	else if (!isfinite(e->amount))
		msg = "amount must be finite";
	else if (fabs(e->amount) > FLT_MAX)
		msg = "amount is out of range";	/* the ring stores floats */
	else if (e->has_location && !(isfinite(e->lat) && isfinite(e->lon)))
		msg = "location must be finite";
	else if (e->has_location && !(e->lat >= -90.0 && e->lat <= 90.0))
		msg = "latitude must be between -90 and 90 degrees";
	else if (e->has_location && !(e->lon >= -180.0 && e->lon <= 180.0))
		msg = "longitude must be between -180 and 180 degrees";
	else if (e->has_model && !(e->model_probability >= 0.0 && e->model_probability <= 1.0))
		msg = "model probability must be between 0 and 1";

	if (why != NULL)
		*why = msg;
	return msg == NULL;
}

/*
 * Whether every index in p is in bounds, so that the summaries' functions
 * cannot read or write outside p whatever its other bytes are.
 */
bool
vigil_profile_sound(const VigilProfile *p)
{
	return p->recent.head < VIGIL_RING_CAP &&
		p->recent.count <= VIGIL_RING_CAP &&
		p->merchants.count <= VIGIL_SEENSET_CAP &&
		p->categories.count <= VIGIL_SEENSET_CAP;
}

/*
 * Below this decayed weight a followed category may give its slot to a new
 * one: a category seen once more than a half-life ago, or no more often
 * than that on average.  Above it, a new category is not followed until a
 * slot goes quiet, so that one purchase in a rare category never wipes out
 * the history of a usual one.
 */
#define CATEGORY_EVICT_WEIGHT 0.5

/*
 * The slot of by_category that follows hash: its own, else an unused one,
 * else the one whose decayed weight at t is least (the first of equals) if
 * that is below CATEGORY_EVICT_WEIGHT, emptied; else NULL.
 */
static VigilCategoryAmount *
category_slot(VigilProfile *p, uint64_t hash, double t)
{
	VigilCategoryAmount *least = NULL;
	double		least_w = CATEGORY_EVICT_WEIGHT;

	/* the usual case first, without computing a decay per slot */
	for (int i = 0; i < VIGIL_PROFILE_CATEGORIES; i++)
		if (p->by_category[i].hash == hash && p->by_category[i].amount.weight > 0.0)
			return &p->by_category[i];
	for (int i = 0; i < VIGIL_PROFILE_CATEGORIES; i++)
	{
		VigilCategoryAmount *c = &p->by_category[i];
		double		w;

		w = c->amount.weight > 0.0 ?
			vigil_decay_weight(&c->amount, t, VIGIL_AMOUNT_HALF_LIFE_S) : -1.0;
		if (w < least_w)
		{
			least = c;
			least_w = w;
		}
	}
	if (least == NULL)
		return NULL;
	least->hash = hash;
	vigil_decay_init(&least->amount);
	return least;
}

/*
 * Fold a valid event with a category into its category's amounts.  The
 * hash 0 marks an unused slot, so a category hashing to 0 is not followed;
 * an add the decayed state refuses (it refuses no valid event) leaves the
 * slot as it was.
 */
static void
fold_category(VigilProfile *p, const VigilEvent *e)
{
	VigilCategoryAmount *c;
	VigilCategoryAmount before;

	if (e->category_hash == 0)
		return;
	c = category_slot(p, e->category_hash, e->t);
	if (c == NULL)
		return;
	before = *c;
	if (!vigil_decay_add(&c->amount, e->t, e->amount, VIGIL_AMOUNT_HALF_LIFE_S))
		*c = before;
}

/*
 * The amounts of the category with hash hash on p's card, or NULL when the
 * profile does not follow it.
 */
const VigilCategoryAmount *
vigil_profile_category(const VigilProfile *p, uint64_t hash)
{
	for (int i = 0; hash != 0 && i < VIGIL_PROFILE_CATEGORIES; i++)
		if (p->by_category[i].hash == hash && p->by_category[i].amount.weight > 0.0)
			return &p->by_category[i];
	return NULL;
}

/*
 * Fold event e into profile p.  All or nothing: false, with p unchanged,
 * for an invalid event, an unsound profile, or an event a summary refuses
 * (count overflow).  Only the amount summaries can refuse a valid event, so
 * they are added first and everything else is updated in place: this runs
 * for every row, and copying the whole profile twice cost more than some
 * of the summaries.
 */
bool
vigil_profile_fold(VigilProfile *p, const VigilEvent *e)
{
	VigilDecay	recent_amount;
	int			hour;

	if (!vigil_event_valid(e, NULL) || !vigil_profile_sound(p))
		return false;
	/* vigil_profile_valid (through vigil_summary_valid) wants an int64 */
	if (p->amount.n >= (uint64_t) INT64_MAX)
		return false;
	/* a valid event's time and amount are within every other summary's range */
	if (!vigil_hourhist_hour(e->t, e->utc_offset_s, &hour))
		return false;

	/* each add is all or nothing, so only the first needs undoing */
	recent_amount = p->recent_amount;
	if (!vigil_decay_add(&p->recent_amount, e->t, e->amount,
						 VIGIL_AMOUNT_HALF_LIFE_S))
		return false;
	if (!vigil_welford_add(&p->amount, e->amount, NULL))
	{
		p->recent_amount = recent_amount;
		return false;
	}

	/*
	 * "Last location" means the location of the latest located event, so a
	 * located event that arrives after a later one must not replace it: the
	 * impossible-travel rule would otherwise measure from the wrong place.
	 */
	if (e->has_location &&
		(!(p->flags & VIGIL_PROFILE_HAS_LOCATION) || e->t >= p->last_loc_t))
	{
		p->last_lat = e->lat;
		p->last_lon = e->lon;
		p->last_loc_t = e->t;
		p->flags |= VIGIL_PROFILE_HAS_LOCATION;
	}

	(void) vigil_ring_push(&p->recent, e->t, e->amount);
	(void) vigil_hourhist_add(&p->hours, e->t, hour, VIGIL_HOUR_HALF_LIFE_S);
	if (e->has_merchant)
		(void) vigil_seenset_insert(&p->merchants, e->merchant_hash);
	if (e->has_category)
	{
		(void) vigil_seenset_insert(&p->categories, e->category_hash);
		fold_category(p, e);
	}
	return true;
}

/* Whether the count and amount statistics are those of some events. */
static const char *
amount_invalid(const VigilProfile *p)
{
	const VigilWelford *w = &p->amount;
	const char *why;
	double		m;

	if (w->n == 0)
	{
		if (w->mean != 0.0 || w->mean_lo != 0.0 || w->m2 != 0.0 ||
			w->min != INFINITY || w->max != -INFINITY)
			return "amount statistics of an empty profile must be empty";
		return NULL;
	}
	if (w->n > (uint64_t) INT64_MAX)
		return "transaction count is out of range";
	if (!(fabs(w->min) <= FLT_MAX && fabs(w->max) <= FLT_MAX))
		return "amount minimum and maximum must be finite amounts";
	if (!isfinite(w->mean_lo) || !mean_lo_valid(w->mean, w->mean_lo))
		return "amount mean has an invalid low-order part";
	if (!mean_in_range(w->mean + w->mean_lo, w->min, w->max, &m))
		return "amount mean must lie between min and max";
	if (!vigil_summary_valid((int64_t) w->n, m, w->m2, w->min, w->max, &why))
		return why;
	return NULL;
}

/* Whether the decayed amount statistics agree with the all-time ones. */
static const char *
recent_invalid(const VigilProfile *p)
{
	const VigilDecay *d = &p->recent_amount;
	uint64_t	n = p->amount.n;
	double		m;

	if (!isfinite(d->weight) || !isfinite(d->mean) || !isfinite(d->mean_lo) ||
		!isfinite(d->m2) || !isfinite(d->last_t))
		return "decayed amount statistics must be finite";
	if (n == 0)
	{
		if (d->weight != 0.0 || d->mean != 0.0 || d->mean_lo != 0.0 ||
			d->m2 != 0.0 || d->last_t != 0.0)
			return "decayed amount statistics of an empty profile must be empty";
		return NULL;
	}

	/* the newest event always has weight 1 and the others add to it */
	if (d->weight < 1.0 || d->weight > (double) n * (1.0 + WEIGHT_REL_SLACK))
		return "decayed weight must lie between 1 and the transaction count";
	if (d->m2 < 0.0)
		return "decayed m2 must not be negative";
	if (!mean_lo_valid(d->mean, d->mean_lo))
		return "decayed mean has an invalid low-order part";
	if (!mean_in_range(d->mean + d->mean_lo, p->amount.min, p->amount.max, &m))
		return "decayed mean must lie between the amount min and max";
	if (!(fabs(d->last_t) < MAX_ABS_T))
		return "last event time is out of range";
	return NULL;
}

/*
 * Whether the per-category amounts could be the card's: unused slots
 * empty, used ones of distinct categories, each no heavier than all the
 * card's amounts together, its mean among them and its last event not
 * after the card's.
 */
static const char *
by_category_invalid(const VigilProfile *p)
{
	const VigilDecay *all = &p->recent_amount;
	double		m;

	for (int i = 0; i < VIGIL_PROFILE_CATEGORIES; i++)
	{
		const VigilCategoryAmount *c = &p->by_category[i];
		const VigilDecay *d = &c->amount;

		if (!isfinite(d->weight) || !isfinite(d->mean) || !isfinite(d->mean_lo) ||
			!isfinite(d->m2) || !isfinite(d->last_t))
			return "category amounts must be finite";
		if (d->weight == 0.0)
		{
			if (c->hash != 0 || d->mean != 0.0 || d->mean_lo != 0.0 || d->m2 != 0.0 ||
				d->last_t != 0.0)
				return "an unused category slot must be empty";
			continue;
		}
		if (c->hash == 0)
			return "a used category slot must name its category";
		for (int j = 0; j < i; j++)
			if (p->by_category[j].hash == c->hash)
				return "a category must have one slot";
		/* at the card's last event, a category weighs no more than all */
		if (d->weight < 0.0 || d->last_t > all->last_t ||
			vigil_decay_weight(d, all->last_t, VIGIL_AMOUNT_HALF_LIFE_S) >
			all->weight * (1.0 + WEIGHT_REL_SLACK))
			return "a category's decayed weight must not exceed the card's";
		if (d->m2 < 0.0 || !mean_lo_valid(d->mean, d->mean_lo) ||
			!mean_in_range(d->mean + d->mean_lo, p->amount.min, p->amount.max, &m))
			return "a category's amount statistics must be among the card's";
	}
	return NULL;
}

/* Whether the last location is consistent with the flags and event times. */
static const char *
location_invalid(const VigilProfile *p)
{
	if (!(p->flags & VIGIL_PROFILE_HAS_LOCATION))
	{
		if (p->last_lat != 0.0 || p->last_lon != 0.0 || p->last_loc_t != 0.0)
			return "a profile without a location must have a zero location";
		return NULL;
	}
	if (p->amount.n == 0)
		return "an empty profile cannot have a location";
	if (!position_valid(p->last_lat, p->last_lon))
		return "last location must be a latitude and longitude in range";
	if (!isfinite(p->last_loc_t) ||
		p->last_loc_t > p->recent_amount.last_t)
		return "last location time must not be after the last event";
	return NULL;
}

/*
 * Whether the ring of recent events is in bounds, in time order and agrees
 * with the event count and the last event time.
 */
static const char *
ring_invalid(const VigilProfile *p)
{
	const VigilRing *r = &p->recent;
	uint64_t	n = p->amount.n;
	double		newest;
	int			i,
				s,
				prev;

	if (r->head >= VIGIL_RING_CAP || r->count > VIGIL_RING_CAP)
		return "recent-event ring indexes are out of range";
	if (r->count > n)
		return "recent-event ring holds more events than the profile";
	if (n == 0)
		return r->lost == 0 ? NULL : "an empty profile cannot have lost events";
	if (r->count == 0)
		return "recent-event ring must hold the last event";
	/*
	 * Events are lost by a full ring, or when they lie more than 68 years
	 * from the newest (ring.h), so a ring that is not full may have lost
	 * some; never more than the profile's events it does not hold.
	 */
	if ((uint64_t) r->lost > n - r->count)
		return "recent-event ring lost more events than the profile has";
	if (!((double) r->base > -MAX_ABS_T && (double) r->base < MAX_ABS_T))
		return "recent-event ring base time is out of range";

	prev = 0;
	for (i = 0; i < r->count; i++)
	{
		s = (r->head + i) % VIGIL_RING_CAP;
		if (i > 0 && r->off[s] < r->off[prev])
			return "recent-event ring must be in time order";
		/* as floats, the ring's amounts are among the profile's (rules.c) */
		if (!(r->amount[s] >= (float) p->amount.min &&
			  r->amount[s] <= (float) p->amount.max))
			return "recent-event ring amounts must lie between the amount min and max";
		prev = s;
	}

	/* the newest event is never evicted, and it set last_t */
	newest = (double) r->base + (double) r->off[prev];
	if (newest != floor(p->recent_amount.last_t))
		return "recent-event ring must end at the last event time";
	return NULL;
}

/* Whether the hour-of-day histogram is finite, non-negative and in time. */
static const char *
hours_invalid(const VigilProfile *p)
{
	const VigilHourHist *h = &p->hours;
	int			i;

	if (!isfinite(h->ref_t))
		return "hour histogram time must be finite";
	for (i = 0; i < VIGIL_HOURS; i++)
		if (!(h->bucket[i] >= 0.0f && isfinite(h->bucket[i])))
			return "hour histogram buckets must be finite and not negative";
	if (p->amount.n == 0)
	{
		if (h->ref_t != 0.0)
			return "hour histogram of an empty profile must be empty";
		for (i = 0; i < VIGIL_HOURS; i++)
			if (h->bucket[i] != 0.0f)
				return "hour histogram of an empty profile must be empty";
		return NULL;
	}
	if (h->ref_t > p->recent_amount.last_t)
		return "hour histogram time must not be after the last event";
	/* it moves to an event that comes more than a half-life after it */
	if (p->recent_amount.last_t - h->ref_t > VIGIL_HOUR_HALF_LIFE_S)
		return "hour histogram time must be within a half-life of the last event";
	return NULL;
}

/* Whether a seen-set is in bounds and holds distinct fingerprints. */
static bool
seenset_valid(const VigilSeenSet *s, uint64_t n)
{
	int			i,
				j;

	if (s->count > VIGIL_SEENSET_CAP || s->count > n)
		return false;
	for (i = 0; i < s->count; i++)
		for (j = i + 1; j < s->count; j++)
			if (s->fp[i] == s->fp[j])
				return false;
	return true;
}

/*
 * Whether p could have been built by vigil_profile_init and a sequence of
 * vigil_profile_fold calls, as far as cheap checks can tell, for profiles
 * that arrive from outside (binary input).  Every check is an invariant of
 * folding, so a genuine profile always passes; any bytes at all may be
 * passed in.  On false *why names the violated property.
 */
bool
vigil_profile_valid(const VigilProfile *p, const char **why)
{
	const char *msg = NULL;

	if (p->version != VIGIL_PROFILE_VERSION)
		msg = "unsupported profile version";
	else if ((p->flags & ~(uint32_t) VIGIL_PROFILE_HAS_LOCATION) != 0)
		msg = "unknown profile flags";
	else if ((msg = amount_invalid(p)) != NULL)
		;
	else if ((msg = recent_invalid(p)) != NULL)
		;
	else if ((msg = location_invalid(p)) != NULL)
		;
	else if ((msg = ring_invalid(p)) != NULL)
		;
	else if ((msg = hours_invalid(p)) != NULL)
		;
	else if (!seenset_valid(&p->merchants, p->amount.n))
		msg = "merchant set must hold at most 32 distinct entries, no more than the transactions";
	else if (!seenset_valid(&p->categories, p->amount.n))
		msg = "category set must hold at most 32 distinct entries, no more than the transactions";
	else
		msg = by_category_invalid(p);

	if (why != NULL)
		*why = msg;
	return msg == NULL;
}

/* Time of the newest event folded into p; NaN when there is none. */
double
vigil_profile_last_time(const VigilProfile *p)
{
	if (p->amount.n == 0)
		return NAN;
	return p->recent_amount.last_t;
}
