/*
 * decay.h
 *		Exponentially decayed mean and variance, driven by event time.
 *
 * An observation x_i made at event time t_i (seconds since the epoch) has,
 * at a reference time T >= t_i, the weight
 *
 *		w_i(T) = 2^(-(T - t_i) / half_life)
 *
 * so it counts half as much after one half-life.  The state is held at
 * T = last_t, the newest event time folded in:
 *
 *		weight   = sum w_i
 *		mean     = sum w_i x_i / weight
 *		m2       = sum w_i (x_i - mean)^2
 *		variance = m2 / weight
 *
 * The variance is the frequency-weighted (population) variance: one
 * observation, or identical ones, give 0.  An empty state has weight 0 and
 * a NaN mean and variance, as in welford.h.  Decaying every weight by the same
 * factor changes neither the mean nor the variance, so only the total weight
 * depends on when it is read; callers that need a minimum amount of history
 * before trusting the variance should test the weight.
 *
 * Updates are West's weighted form of Welford's algorithm, with the mean
 * kept as an unevaluated sum of two doubles (mean + mean_lo) as in
 * welford.h: with values such as 1e9 + small noise a plain double mean is
 * rounded by ~6e-8 on every update and that error would leak into m2.
 *
 * Out-of-order events: an event older than last_t is folded in with the
 * weight it would have by now, 2^(-(last_t - t) / half_life), and last_t
 * stays where it is.  A late event therefore never decays the others, and
 * the state does not depend on arrival order (up to rounding).  A very late
 * event whose weight underflows to 0 is accepted and changes nothing.
 *
 * The half-life is an argument rather than part of the state to keep the
 * state small; pass the same half-life on every call for a given state.
 * A state is plain old data (40 bytes, no padding) and may be copied or
 * stored as is.
 */
#ifndef VIGIL_DECAY_H
#define VIGIL_DECAY_H

#include <stdbool.h>

typedef struct VigilDecay
{
	double		weight;			/* total weight at last_t; 0 means empty */
	double		mean;			/* high part of the weighted mean */
	double		mean_lo;		/* low-order part: the mean is mean + mean_lo */
	double		m2;				/* weighted squared deviations at last_t */
	double		last_t;			/* newest event time folded in */
} VigilDecay;

extern bool vigil_half_life_valid(double h);
extern double vigil_decay_factor(double elapsed, double half_life_s);
extern void vigil_decay_init(VigilDecay *d);
extern bool vigil_decay_add(VigilDecay *d, double t, double x,
							double half_life_s);
extern double vigil_decay_mean(const VigilDecay *d);
extern double vigil_decay_variance(const VigilDecay *d);
extern double vigil_decay_weight(const VigilDecay *d, double t,
								 double half_life_s);

#endif							/* VIGIL_DECAY_H */
