/*
 * ring.h
 *		A short ring of recent (time, amount) events for sliding windows.
 *
 * The ring retains the VIGIL_RING_CAP latest events by event time, kept in
 * time order (events in the same second in arrival order), and answers
 * "how many events, and what total amount, since t_from" for velocity rules
 * such as "more than 5 transactions in 10 minutes" or card-testing bursts of
 * small amounts; "at least m events since t_from" takes one comparison.
 *
 * Precision: times are stored as whole seconds, floor(t), in an int32
 * offset from an int64 base, and must have |t| < 2^53; others are
 * rejected.  The base starts at the first event's time and is never after
 * the newest retained event.  An event more than 2^31 s before it is
 * dropped, and counted as lost like one a full ring drops; an event more
 * than 2^31 - 1 s (about 68 years) after it first evicts the retained
 * events more than that older than itself (also lost), then moves the base
 * to the oldest event kept.  Amounts are stored as float: relative error at
 * most 2^-24 (6e-8), i.e. less than half a cent for |amount| < 131072.
 * Sums are accumulated in double.
 *
 * Windows: an event at time t is inside the window starting at t_from when
 * floor(t) >= floor(t_from).  The window is inclusive of its start and both
 * ends are compared at whole-second resolution, so its old edge is in effect
 * rounded down to the second.  Later events, even ones after the caller's
 * "now", are inside.
 *
 * Out-of-order events are inserted at their place in time order.  When the
 * ring is full the oldest event is evicted, and an arriving event older
 * than every retained one is dropped (it would be evicted first anyway).
 * Every event not retained, by a full ring or by the 68-year span above,
 * is therefore no newer than the oldest retained one, which makes
 * saturation exact: a window's count and sum are complete unless the ring
 * has lost an event and the window reaches back to the oldest retained
 * event (vigil_ring_saturated), in which case they are lower bounds on the
 * window's true count (and on the sum of non-negative amounts).
 *
 * Small amounts: vigil_ring_count_small_since counts events with
 * amount <= max_amount, with max_amount rounded to float like the stored
 * amounts, so an event whose amount equals the threshold always counts.
 *
 * Functions that take a time or amount return false, leaving the ring and
 * any output untouched, when it is not finite or out of the ranges above.
 * The ring is plain old data (144 bytes, no padding).
 */
#ifndef VIGIL_RING_H
#define VIGIL_RING_H

#include <stdbool.h>
#include <stdint.h>

#define VIGIL_RING_CAP 16

typedef struct VigilRing
{
	int64_t		base;			/* whole seconds the offsets are relative to */
	int32_t		off[VIGIL_RING_CAP];	/* floor(t) - base */
	float		amount[VIGIL_RING_CAP];
	uint32_t	lost;			/* events evicted or dropped, saturating */
	uint16_t	head;			/* slot of the oldest retained event */
	uint16_t	count;			/* retained events, from slot head onwards */
} VigilRing;

extern void vigil_ring_init(VigilRing *r);
extern bool vigil_ring_push(VigilRing *r, double t, double amount);
extern bool vigil_ring_count_since(const VigilRing *r, double t_from,
								   int *count);
extern bool vigil_ring_sum_since(const VigilRing *r, double t_from,
								 double *sum);
extern bool vigil_ring_has_since(const VigilRing *r, double t_from, int m,
								 bool *has);
extern bool vigil_ring_count_small_since(const VigilRing *r, double t_from,
										 double max_amount, int *count);
extern bool vigil_ring_saturated(const VigilRing *r, double t_from,
								 bool *saturated);

#endif							/* VIGIL_RING_H */
