/*
 * hourhist.c
 *		Exponentially decayed hour-of-day histogram, driven by event time.
 *
 * See hourhist.h for the definitions, the smoothing and the handling of
 * out-of-order events.
 */
#include "detect/core/hourhist.h"

#include <math.h>
#include <string.h>

#include "detect/core/decay.h"

#define SECONDS_PER_DAY 86400
#define SECONDS_PER_HOUR 3600

/*
 * Sum of the buckets as of ref_t, in double.  Four running sums, not one:
 * this runs for every row, and a single chain of 24 dependent additions
 * took longer than the rest of the rule.  Each bucket is a float, so the
 * double sums are exact unless the buckets span more than 2^24 in
 * magnitude, and where they are not the order of the additions is still
 * the same for every caller.
 */
static double
total(const VigilHourHist *h)
{
	double		s[4] = {0.0, 0.0, 0.0, 0.0};
	int			i;

	for (i = 0; i < VIGIL_HOURS; i += 4)
	{
		s[0] += h->bucket[i];
		s[1] += h->bucket[i + 1];
		s[2] += h->bucket[i + 2];
		s[3] += h->bucket[i + 3];
	}
	return (s[0] + s[1]) + (s[2] + s[3]);
}

/* Whether h holds no weight: its buckets are never negative. */
static bool
empty(const VigilHourHist *h)
{
	int			i;

	for (i = 0; i < VIGIL_HOURS; i++)
		if (h->bucket[i] > 0.0f)
			return false;
	return true;
}

/* Make h a histogram of no events. */
void
vigil_hourhist_init(VigilHourHist *h)
{
	memset(h, 0, sizeof(*h));
}

/* Fold an event at time t, in the given hour of the day, into h. */
bool
vigil_hourhist_add(VigilHourHist *h, double t, int hour, double half_life_s)
{
	double		elapsed = t - h->ref_t;
	double		w;				/* weight of this event at ref_t */

	if (!isfinite(t) || hour < 0 || hour >= VIGIL_HOURS ||
		!vigil_half_life_valid(half_life_s))
		return false;

	/*
	 * An event up to a half-life after ref_t, or any time before it, adds its
	 * weight at ref_t; a histogram without events counts at time 0.  Else
	 * ref_t moves to the event, decaying the buckets: for an event more
	 * than a half-life on, and for a late one when there is nothing to keep.
	 */
	if (elapsed < 0.0 ? !empty(h) : elapsed <= half_life_s)
		w = exp2(elapsed / half_life_s);
	else
	{
		double		keep = vigil_decay_factor(elapsed, half_life_s);

		for (int i = 0; i < VIGIL_HOURS; i++)
			h->bucket[i] = (float) (h->bucket[i] * keep);
		h->ref_t = t;
		w = 1.0;
	}

	/*
	 * FLT_MAX + 2, in double, rounds back to FLT_MAX as a float, so no bucket
	 * can overflow to Infinity.
	 */
	h->bucket[hour] = (float) (h->bucket[hour] + w);
	return true;
}

/* Smoothed probability of the given hour, with h decayed to time t. */
bool
vigil_hourhist_prob(const VigilHourHist *h, double t, int hour,
					double half_life_s, double *p)
{
	double		keep;

	if (!isfinite(t) || hour < 0 || hour >= VIGIL_HOURS ||
		!vigil_half_life_valid(half_life_s))
		return false;

	keep = vigil_decay_factor(t - h->ref_t, half_life_s);
	*p = (h->bucket[hour] * keep + 1.0) / (total(h) * keep + VIGIL_HOURS);
	return true;
}

/* Hour of the day of t at a fixed UTC offset. */
bool
vigil_hourhist_hour(double t, int32_t utc_offset_s, int *hour)
{
	double		sec;

	if (!isfinite(t) || utc_offset_s <= -SECONDS_PER_DAY ||
		utc_offset_s >= SECONDS_PER_DAY)
		return false;

	/*
	 * Whole seconds of any event time fit an int64 (event times are below
	 * 2^53 s), and integer arithmetic is exact and several times cheaper
	 * than floor and fmod, on detection's path for every row: truncate,
	 * then step down for negative fractions.  Other times take the exact
	 * fmod.  Either way, shift negative remainders into [0, 1 day).
	 */
	if (fabs(t) < 9.0e15)
	{
		int64_t		r = (int64_t) t;

		if ((double) r > t)
			r--;
		r = (r + utc_offset_s) % SECONDS_PER_DAY;
		if (r < 0)
			r += SECONDS_PER_DAY;
		*hour = (int) (r / SECONDS_PER_HOUR);
		return true;
	}
	sec = floor(t) + utc_offset_s;
	sec = fmod(sec, SECONDS_PER_DAY);
	if (sec < 0.0)
		sec += SECONDS_PER_DAY;
	*hour = (int) (sec / SECONDS_PER_HOUR);
	return true;
}
