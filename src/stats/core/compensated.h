/*
 * compensated.h
 *		A running mean carried as an unevaluated sum of two doubles.
 *
 * Means of data with a large offset (1e9 + small noise) lose the noise when
 * every update rounds the mean to one double; keeping the rounding error in
 * a second double (hi + lo) keeps deviations from the mean exact enough for
 * the variance.  Used by the Welford and the exponentially decayed
 * summaries.
 */
#ifndef VIGIL_COMPENSATED_H
#define VIGIL_COMPENSATED_H

/* Add step to hi + lo exactly (TwoSum), then renormalise the pair. */
static inline void
vigil_comp_add(double *hi, double *lo, double step)
{
	double		s = *hi + step;
	double		bb = s - *hi;
	double		err = (*hi - (s - bb)) + (step - bb);
	double		l = *lo + err;

	*hi = s + l;
	*lo = l - (*hi - s);
}

/* Deviation of x from hi + lo. */
static inline double
vigil_comp_dev(double hi, double lo, double x)
{
	return (x - hi) - lo;
}

#endif							/* VIGIL_COMPENSATED_H */
