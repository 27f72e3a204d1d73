/*
 * decay.c
 *		Exponentially decayed mean and variance, driven by event time.
 *
 * See decay.h for the definitions.  Every function that changes a state
 * builds the new state in a local copy and stores it only when all of it is
 * finite, so invalid input or overflow returns false with the state left as
 * it was.
 */
#include "detect/core/decay.h"

#include <math.h>
#include <string.h>

#include "stats/core/compensated.h"

/* Whether h can be used as a half-life (seconds): finite and positive. */
bool
vigil_half_life_valid(double h)
{
	return isfinite(h) && h > 0.0;
}

/*
 * Factor that decays a weight across elapsed seconds.  Negative elapsed
 * time counts as 0: weights are never inflated.  exp2 of a huge negative
 * argument underflows to 0, which is the right limit.
 */
double
vigil_decay_factor(double elapsed, double half_life_s)
{
	if (elapsed <= 0.0)
		return 1.0;
	return exp2(-elapsed / half_life_s);
}

/* Make d the state of no observations. */
void
vigil_decay_init(VigilDecay *d)
{
	memset(d, 0, sizeof(*d));
}

/*
 * Fold observation x made at event time t into d.  False, with d unchanged,
 * for non-finite t or x, a half-life that is not finite and positive, or a
 * result that would overflow.
 */
bool
vigil_decay_add(VigilDecay *d, double t, double x, double half_life_s)
{
	double		weight = d->weight,
				mean = d->mean,
				mean_lo = d->mean_lo,
				m2 = d->m2,
				last_t = d->last_t;
	double		keep;			/* decay applied to the weights already in d */
	double		w;				/* weight of x at the new last_t */
	double		dev,
				dev2;

	if (!isfinite(t) || !isfinite(x) || !vigil_half_life_valid(half_life_s))
		return false;

	if (weight <= 0.0)
	{
		/* empty: last_t means nothing yet, so t cannot be "late" */
		weight = mean = mean_lo = m2 = 0.0;
		keep = 1.0;
		w = 1.0;
		last_t = t;
	}
	else if (t >= last_t)
	{
		keep = vigil_decay_factor(t - last_t, half_life_s);
		w = 1.0;
		last_t = t;
	}
	else
	{
		keep = 1.0;
		w = vigil_decay_factor(last_t - t, half_life_s);
	}

	if (w == 0.0)
		return true;			/* too late to matter: see decay.h */

	weight = weight * keep + w;
	dev = vigil_comp_dev(mean, mean_lo, x);
	vigil_comp_add(&mean, &mean_lo, dev * (w / weight));
	dev2 = vigil_comp_dev(mean, mean_lo, x);
	m2 = m2 * keep + w * dev * dev2;

	/*
	 * m2 is a sum of non-negative terms, but when the old weight has decayed
	 * to almost nothing (a key idle for years) the new mean lands on the new
	 * value itself and the rounding of the last deviation can have either
	 * sign, leaving m2 a few ulps below 0.
	 */
	if (m2 < 0.0)
		m2 = 0.0;

	if (!isfinite(weight) || !isfinite(mean) || !isfinite(mean_lo) ||
		!isfinite(m2))
		return false;

	/*
	 * Field by field, from locals: a copy of the whole state, written in
	 * parts and read back at once, stalled every row on the store buffer.
	 */
	d->weight = weight;
	d->mean = mean;
	d->mean_lo = mean_lo;
	d->m2 = m2;
	d->last_t = last_t;
	return true;
}

/* The weighted mean rounded to one double; NaN when empty. */
double
vigil_decay_mean(const VigilDecay *d)
{
	if (d->weight <= 0.0)
		return NAN;
	return d->mean + d->mean_lo;
}

/* The weighted population variance m2 / weight; NaN when empty. */
double
vigil_decay_variance(const VigilDecay *d)
{
	if (d->weight <= 0.0)
		return NAN;
	return d->m2 / d->weight;
}

/*
 * Total weight decayed to time t, without changing d; times before last_t
 * read as last_t.  0 when empty, NaN for non-finite t or a bad half-life.
 */
double
vigil_decay_weight(const VigilDecay *d, double t, double half_life_s)
{
	if (!isfinite(t) || !vigil_half_life_valid(half_life_s))
		return NAN;
	if (d->weight <= 0.0)
		return 0.0;
	return d->weight * vigil_decay_factor(t - d->last_t, half_life_s);
}
