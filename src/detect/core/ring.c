/*
 * ring.c
 *		A short ring of recent (time, amount) events for sliding windows.
 *
 * See ring.h for the precision and window semantics.  Retained events sit
 * in slots head, head + 1, ... (mod VIGIL_RING_CAP) in time order, so an
 * in-order push is O(1) and a window is a suffix of the ring.
 */
#include "detect/core/ring.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Slots wrap with a mask, which the window scans on every row rely on. */
_Static_assert((VIGIL_RING_CAP & (VIGIL_RING_CAP - 1)) == 0,
			   "VIGIL_RING_CAP must be a power of two");

/* Times at or beyond this magnitude have no exact whole-second floor. */
#define MAX_ABS_T 9007199254740992.0	/* 2^53 */

/* Slot of the i'th oldest retained event. */
static inline int
slot(const VigilRing *r, int i)
{
	return (r->head + i) & (VIGIL_RING_CAP - 1);
}

/*
 * The offset from which events are inside the window starting at t_from:
 * the event in slot s is when (double) r->off[s] >= window_from(r, t_from).
 * Offsets are exact integers, and so is this threshold whenever it could
 * matter: when it is not, it is so far from base that every offset compares
 * the same way.
 */
static inline double
window_from(const VigilRing *r, double t_from)
{
	return floor(t_from) - (double) r->base;
}

/*
 * Logical index of the oldest retained event inside the window starting at
 * t_from (r->count when none is): events from there on are the window.
 */
static int
window_start(const VigilRing *r, double t_from)
{
	double		from = window_from(r, t_from);
	int			i = r->count;

	while (i > 0 && (double) r->off[slot(r, i - 1)] >= from)
		i--;
	return i;
}

/* Count n more events as lost, saturating. */
static inline void
count_lost(VigilRing *r, uint32_t n)
{
	r->lost = n > UINT32_MAX - r->lost ? UINT32_MAX : r->lost + n;
}

/*
 * Make room for an event at whole second sec, which lies more than
 * INT32_MAX s after the base and so after every retained event: evict the
 * retained events more than INT32_MAX s older than it (they are decades
 * outside any window), counting them lost as a full ring counts its
 * evictions, and move the base to the oldest event kept, so that every
 * offset, sec's among them, lies in [0, INT32_MAX].  Without this, one row
 * with a mistyped year would leave every later row of its key unfoldable.
 */
static void
rebase(VigilRing *r, double sec)
{
	int			evict = window_start(r, sec - INT32_MAX);
	double		new_base;

	r->head = (uint16_t) slot(r, evict);
	r->count = (uint16_t) (r->count - evict);
	count_lost(r, (uint32_t) evict);
	new_base = r->count > 0 ? (double) r->base + (double) r->off[r->head] : sec;
	for (int i = 0; i < r->count; i++)
		r->off[slot(r, i)] = (int32_t) ((double) r->base + (double) r->off[slot(r, i)] - new_base);
	r->base = (int64_t) new_base;
}

/* Make r an empty ring. */
void
vigil_ring_init(VigilRing *r)
{
	memset(r, 0, sizeof(*r));
}

/*
 * Record an event at time t with the given amount.  True also when the
 * event is dropped for being older than a full ring's retained events, or
 * more than 2^31 s older than the base (see ring.h).
 */
bool
vigil_ring_push(VigilRing *r, double t, double amount)
{
	double		sec,
				d;
	int32_t		off;
	int			pos,
				prev;

	if (!isfinite(t) || fabs(t) >= MAX_ABS_T ||
		!isfinite(amount) || fabs(amount) > FLT_MAX)
		return false;

	sec = floor(t);
	if (r->count == 0)
	{
		/* nothing retained yet: start from here */
		r->base = (int64_t) sec;
		off = 0;
	}
	else
	{
		d = sec - (double) r->base;
		if (d < INT32_MIN)
		{
			/*
			 * The base is never after the newest retained event, so this one
			 * is older than every retained event and more than 2^31 s older
			 * than the newest: drop it, as a full ring would.
			 */
			count_lost(r, 1);
			return true;
		}
		if (d > INT32_MAX)
			rebase(r, sec);
		off = (int32_t) (sec - (double) r->base);
	}

	if (r->count == VIGIL_RING_CAP)
	{
		count_lost(r, 1);
		if (off < r->off[r->head])
			return true;
		/* evict the oldest to make room */
		r->head = (uint16_t) ((r->head + 1) % VIGIL_RING_CAP);
		r->count--;
	}

	/* insertion sort from the newest end: O(1) for in-order events */
	pos = slot(r, r->count);
	r->count++;
	while (pos != r->head)
	{
		prev = (pos + VIGIL_RING_CAP - 1) % VIGIL_RING_CAP;
		if (r->off[prev] <= off)
			break;
		r->off[pos] = r->off[prev];
		r->amount[pos] = r->amount[prev];
		pos = prev;
	}
	r->off[pos] = off;
	r->amount[pos] = (float) amount;
	return true;
}

/* Number of retained events in the window starting at t_from. */
bool
vigil_ring_count_since(const VigilRing *r, double t_from, int *count)
{
	if (!isfinite(t_from))
		return false;
	*count = r->count - window_start(r, t_from);
	return true;
}

/*
 * Sum of the amounts of retained events in the window starting at t_from,
 * newest first.  This runs for every row, and a long window (a day, say)
 * often holds the whole ring: then the oldest event's time is all there is
 * to compare, and the sum needs no comparison per event.
 */
bool
vigil_ring_sum_since(const VigilRing *r, double t_from, double *sum)
{
	double		s = 0.0;
	int			start;

	if (!isfinite(t_from))
		return false;
	/* the ring is in time order */
	if (r->count > 0 && (double) r->off[r->head] >= window_from(r, t_from))
		start = 0;
	else
		start = window_start(r, t_from);
	for (int i = r->count; i > start; i--)
		s += r->amount[slot(r, i - 1)];
	*sum = s;
	return true;
}

/*
 * Whether at least m retained events lie in the window starting at t_from:
 * only the m'th newest needs comparing, so a rule that fires above a count
 * can tell in one step that it does not.
 */
bool
vigil_ring_has_since(const VigilRing *r, double t_from, int m, bool *has)
{
	if (!isfinite(t_from))
		return false;
	if (m <= 0)
		*has = true;
	else if (m > r->count)
		*has = false;
	else
		*has = (double) r->off[slot(r, r->count - m)] >= window_from(r, t_from);
	return true;
}

/*
 * Number of retained events in the window starting at t_from whose amount
 * is at most max_amount, as a card-testing signal.
 */
bool
vigil_ring_count_small_since(const VigilRing *r, double t_from,
							 double max_amount, int *count)
{
	float		limit;
	int			n = 0;
	int			i;

	if (!isfinite(t_from) || !isfinite(max_amount))
		return false;

	/* rounding is monotonic, so amount <= max implies the floats compare so */
	limit = (float) fmax(-FLT_MAX, fmin(FLT_MAX, max_amount));
	for (i = window_start(r, t_from); i < r->count; i++)
		if (r->amount[slot(r, i)] <= limit)
			n++;
	*count = n;
	return true;
}

/*
 * Whether the window starting at t_from may hold events the ring no longer
 * has: some were lost and the window reaches the oldest retained event.
 */
bool
vigil_ring_saturated(const VigilRing *r, double t_from, bool *saturated)
{
	if (!isfinite(t_from))
		return false;
	*saturated = r->lost > 0 && r->count > 0 && window_start(r, t_from) == 0;
	return true;
}
