/*
 * hourhist.h
 *		Exponentially decayed hour-of-day histogram, driven by event time.
 *
 * One bucket per hour of the day holds the decayed number of events seen in
 * that hour, counted at ref_t: an event at time t weighs 1 at t and
 * 2^(-(T - t) / half_life) at any later time T, so at ref_t it weighs
 * 2^((t - ref_t) / half_life), which is more than 1 for an event after
 * ref_t.  Counting at a reference time rather than at the newest event means
 * an event changes only its own bucket; decaying all 24 at every event was
 * a quarter of the instructions of folding one.  ref_t moves to an event
 * (and the buckets are decayed to it) only when the event comes more than a
 * half-life after ref_t, or before it into a histogram without events
 * (which counts at time 0).  So ref_t is 0 or the time of an event, no more
 * than a half-life before the newest event, an event never weighs more than
 * 2 at ref_t, and the buckets keep the precision they would have at the
 * newest event.  The caller chooses the hour, so it can use whatever local
 * time is meaningful (the card holder's time zone, with its daylight saving
 * rules); vigil_hourhist_hour derives it from an event time and a fixed UTC
 * offset for callers that have nothing better.
 *
 * Probabilities use add-one (Laplace) smoothing over the 24 hours:
 *
 *		p(hour) = (bucket[hour] + 1) / (total + 24)
 *
 * with the buckets decayed to the query time.  They sum to 1, are 1/24
 * each with no history, and drift back towards 1/24 as history ages, so
 * habits learnt long ago are trusted less.
 *
 * Arrival order does not matter (up to rounding): an event before ref_t
 * adds its weight at ref_t, 2^(-(ref_t - t) / half_life), as one after it
 * does.  Queries decay the buckets from ref_t to the query time; times
 * before ref_t read as ref_t.  Events after the query time (a late event's
 * query) count with their weight at that time, above 1.
 *
 * Buckets are floats (relative precision 2^-24), updated in double; a
 * bucket stops growing near 2^24 (1.7e7) events' worth of weight, far more
 * than one card's decayed history, and can never overflow.  The
 * half-life is an argument, as in decay.h; pass the same one on every call.
 * Functions that take a value return false, leaving the histogram and any
 * output untouched, for a non-finite time, an hour outside 0..23, or a
 * half-life that is not finite and positive.  The histogram is plain old
 * data (104 bytes, no padding).
 */
#ifndef VIGIL_HOURHIST_H
#define VIGIL_HOURHIST_H

#include <stdbool.h>
#include <stdint.h>

#define VIGIL_HOURS 24

typedef struct VigilHourHist
{
	double		ref_t;			/* the time the buckets are counted at */
	float		bucket[VIGIL_HOURS];	/* decayed event counts at ref_t */
} VigilHourHist;

extern void vigil_hourhist_init(VigilHourHist *h);
extern bool vigil_hourhist_add(VigilHourHist *h, double t, int hour,
							   double half_life_s);
extern bool vigil_hourhist_prob(const VigilHourHist *h, double t, int hour,
								double half_life_s, double *p);

/*
 * Hour of the day (0..23) of event time t at a fixed offset from UTC, in
 * seconds east; the offset must lie strictly within one day.
 */
extern bool vigil_hourhist_hour(double t, int32_t utc_offset_s, int *hour);

#endif							/* VIGIL_HOURHIST_H */
