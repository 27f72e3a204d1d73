/*
 * welford.h
 *		Running count, mean, sum of squared deviations (M2), min and max.
 *
 * Welford's update with Chan's pairwise merge, so summaries built in
 * parallel combine into the same result as one pass.  The mean is kept as
 * an unevaluated sum of two doubles (mean + mean_lo): with data such as
 * 1e9 + small noise a plain double mean is rounded to ~1e-7 on every update
 * and that error leaks into M2, while the compensated mean keeps the
 * deviations x - mean exact enough that M2 is accurate to a few ulps per
 * update whatever the offset.
 *
 * No PostgreSQL headers: this is unit-tested on its own in test/unit.
 */
#ifndef VIGIL_WELFORD_H
#define VIGIL_WELFORD_H

#include <stdbool.h>
#include <stdint.h>

typedef struct VigilWelford
{
	uint64_t	n;				/* number of values folded in */
	double		mean;			/* high part of the mean */
	double		mean_lo;		/* low-order correction: mean is mean + mean_lo */
	double		m2;				/* sum of squared deviations from the mean */
	double		min;
	double		max;
} VigilWelford;

/*
 * Bound on the rounding error accumulated by a summary that values are also
 * removed from (moving windows).  Removing a value subtracts from M2, and
 * when the remaining M2 is much smaller than what passed through it the
 * subtraction cancels; these bounds say when that has happened.
 */
typedef struct VigilRoundoff
{
	double		m2_err;			/* bound on the absolute error of m2 */
	double		mean_err;		/* bound on the absolute error of the mean */
} VigilRoundoff;

extern void vigil_welford_init(VigilWelford *w);
extern bool vigil_welford_add(VigilWelford *w, double x, VigilRoundoff *r);
extern bool vigil_welford_remove(VigilWelford *w, double x, VigilRoundoff *r);
extern bool vigil_welford_merge(VigilWelford *into, const VigilWelford *other);
extern double vigil_welford_mean(const VigilWelford *w);
extern double vigil_welford_var_samp(const VigilWelford *w);
extern bool vigil_welford_precise(const VigilWelford *w, const VigilRoundoff *r);
extern bool vigil_summary_valid(int64_t n, double mean, double m2,
								double min, double max, const char **why);

#endif							/* VIGIL_WELFORD_H */
