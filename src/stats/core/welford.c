/*
 * welford.c
 *		Running count, mean, M2, min and max with exact-as-possible merging.
 *
 * See welford.h for why the mean is compensated.  All functions reject
 * non-finite input and overflow by returning false with the summary left
 * as it was, so a bad value can never poison a summary.
 */
#include "stats/core/welford.h"

#include <float.h>
#include <math.h>
#include <stddef.h>

#include "stats/core/compensated.h"

/* Unit roundoff of double arithmetic. */
#define U (DBL_EPSILON / 2)

/* The smallest subnormal double, C11's DBL_TRUE_MIN: the ulp below DBL_MIN. */
#define SUBNORMAL_ULP 4.9406564584124654e-324

/*
 * How much accumulated rounding error a moving summary may carry before it
 * must be rebuilt from scratch: far below the 1e-9 relative accuracy the
 * standard deviation promises, far above what ordinary updates accumulate.
 */
#define M2_REL_TOLERANCE 1e-10
#define MEAN_REL_TOLERANCE 1e-14

/* Make w the summary of no values. */
void
vigil_welford_init(VigilWelford *w)
{
	w->n = 0;
	w->mean = 0.0;
	w->mean_lo = 0.0;
	w->m2 = 0.0;
	w->min = INFINITY;
	w->max = -INFINITY;
}

/*
 * Charge one update's rounding to the error bounds of a moving summary.  n
 * is the count after the update.  With n = 1 the mean is set to the value
 * itself, exactly, so only later updates (whose step d / n is a deviation,
 * not a magnitude) add to the mean's error.
 */
static inline void
charge(VigilRoundoff *r, uint64_t n, double d, double d2, double term)
{
	if (r == NULL)
		return;
	r->m2_err += 4 * U * fabs(term) + r->mean_err * (fabs(d) + fabs(d2));
	if (n > 1)
		r->mean_err += 3 * U * fabs(d) / (double) n;
}

/* Fold x into w; false (and w unchanged) for non-finite x or overflow. */
bool
vigil_welford_add(VigilWelford *w, double x, VigilRoundoff *r)
{
	VigilWelford next = *w;
	double		d,
				d2,
				term;

	if (!isfinite(x))
		return false;

	next.n++;
	d = vigil_comp_dev(next.mean, next.mean_lo, x);
	vigil_comp_add(&next.mean, &next.mean_lo, d / (double) next.n);
	d2 = vigil_comp_dev(next.mean, next.mean_lo, x);
	term = d * d2;
	next.m2 += term;
	if (x < next.min)
		next.min = x;
	if (x > next.max)
		next.max = x;

	if (!isfinite(next.mean) || !isfinite(next.m2))
		return false;
	charge(r, next.n, d, d2, term);
	*w = next;
	return true;
}

/*
 * Take x back out of w: the inverse of vigil_welford_add for mean and M2.
 * min and max cannot be undone from a summary and are left as they were;
 * callers that remove values keep extremes themselves (see movstats.c).
 */
bool
vigil_welford_remove(VigilWelford *w, double x, VigilRoundoff *r)
{
	VigilWelford next = *w;
	double		d,
				d2,
				term;

	if (!isfinite(x) || w->n == 0)
		return false;

	if (w->n == 1)
	{
		vigil_welford_init(w);
		if (r != NULL)
			r->m2_err = r->mean_err = 0.0;
		return true;
	}

	d = vigil_comp_dev(next.mean, next.mean_lo, x);
	next.n--;
	vigil_comp_add(&next.mean, &next.mean_lo, -d / (double) next.n);
	d2 = vigil_comp_dev(next.mean, next.mean_lo, x);
	term = d * d2;
	next.m2 -= term;
	if (next.m2 < 0.0)
		next.m2 = 0.0;			/* cancellation; the error bound now says so */

	if (!isfinite(next.mean) || !isfinite(next.m2))
		return false;
	charge(r, next.n, d, d2, term);
	*w = next;
	return true;
}

/* Merge other into into (Chan et al.); false (into unchanged) on overflow. */
bool
vigil_welford_merge(VigilWelford *into, const VigilWelford *other)
{
	VigilWelford next = *into;
	double		n,
				d;

	if (other->n == 0)
		return true;
	if (into->n == 0)
	{
		*into = *other;
		return true;
	}

	n = (double) into->n + (double) other->n;
	d = (other->mean - into->mean) + (other->mean_lo - into->mean_lo);
	next.n = into->n + other->n;
	vigil_comp_add(&next.mean, &next.mean_lo, d * ((double) other->n / n));
	next.m2 = into->m2 + other->m2 + d * d * ((double) into->n / n) * (double) other->n;
	if (other->min < next.min)
		next.min = other->min;
	if (other->max > next.max)
		next.max = other->max;

	if (!isfinite(next.mean) || !isfinite(next.m2))
		return false;
	*into = next;
	return true;
}

/*
 * The mean rounded to one double.  Clamped into [min, max], where the true
 * mean always lies, so rounding can never put it outside the data.
 */
double
vigil_welford_mean(const VigilWelford *w)
{
	double		m = w->mean + w->mean_lo;

	if (w->n == 0)
		return NAN;
	if (m < w->min)
		m = w->min;
	if (m > w->max)
		m = w->max;
	return m;
}

/* Sample variance M2 / (n - 1); NaN when fewer than two values. */
double
vigil_welford_var_samp(const VigilWelford *w)
{
	if (w->n < 2)
		return NAN;
	return w->m2 / (double) (w->n - 1);
}

/* Whether a moving summary's rounding error is still within tolerance. */
bool
vigil_welford_precise(const VigilWelford *w, const VigilRoundoff *r)
{
	double		scale;

	if (w->n == 0)
		return true;
	if (r->m2_err > M2_REL_TOLERANCE * w->m2)
		return false;
	scale = fmax(fabs(w->mean), sqrt(w->m2 / (double) w->n));
	return r->mean_err <= MEAN_REL_TOLERANCE * scale;
}

/*
 * Whether (n, mean, m2, min, max) could be the summary of some data set,
 * for validating summaries that arrive from outside (text or binary input).
 * On false, *why names the violated property.
 */
bool
vigil_summary_valid(int64_t n, double mean, double m2, double min, double max,
					const char **why)
{
	double		range,
				slack;

	*why = NULL;
	if (n < 1)
		*why = "count must be at least 1";
	else if (!isfinite(mean) || !isfinite(m2) || !isfinite(min) || !isfinite(max))
		*why = "fields must be finite";
	else if (min > max)
		*why = "min must not exceed max";
	else if (mean < min || mean > max)
		*why = "mean must lie between min and max";
	else if (m2 < 0.0)
		*why = "m2 must not be negative";
	else if ((n == 1 || min == max) && (m2 != 0.0 || mean != min))
		*why = "a summary of identical values must have m2 0 and mean equal to min";
	else
	{
		/*
		 * Popoviciu: the population variance is at most (max - min)^2 / 4,
		 * so M2 <= n (max - min)^2 / 4, reached when half the values are at
		 * each extreme.  Summaries of such data come within rounding of the
		 * bound, so the slack must cover what n updates can round: a
		 * relative part that grows with n (2e8 values alternating 0.1 and
		 * 0.3 already overshoot by 5e-10), and an absolute part for data
		 * whose squares are subnormal, where an ulp is SUBNORMAL_ULP
		 * whatever the magnitude and a relative slack means nothing.
		 * Without it a summary that stats_agg built could fail to load
		 * from a dump.
		 */
		range = max - min;
		slack = 1e-9 + 4.0 * (double) n * DBL_EPSILON;
		if (m2 > (double) n * range * range / 4.0 * (1.0 + slack) +
			4.0 * (double) n * SUBNORMAL_ULP)
			*why = "m2 is larger than the range of the values allows";
	}
	return *why == NULL;
}
