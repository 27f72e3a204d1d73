/*
 * movstats.c
 *		Sliding-window mean, M2, min and max with O(1) amortized removal.
 */
#include "stats/core/movstats.h"

#include <math.h>

/*
 * Start an empty window.  minbuf and maxbuf each hold
 * VIGIL_MOVSTATS_INITIAL_CAP entries and must come from the allocator that
 * grow reallocates.
 */
void
vigil_movstats_init(VigilMovStats *m, VigilDequeEntry *minbuf,
					VigilDequeEntry *maxbuf, VigilReallocFn grow)
{
	vigil_welford_init(&m->w);
	m->r.m2_err = 0.0;
	m->r.mean_err = 0.0;
	m->added = 0;
	m->removed = 0;
	m->minq.buf = minbuf;
	m->maxq.buf = maxbuf;
	m->minq.cap = m->maxq.cap = VIGIL_MOVSTATS_INITIAL_CAP;
	m->minq.head = m->maxq.head = 0;
	m->minq.len = m->maxq.len = 0;
	m->grow = grow;
}

/* The entry i places from the head. */
static inline VigilDequeEntry *
deque_at(VigilDeque *q, uint32_t i)
{
	return &q->buf[(q->head + i) & (q->cap - 1)];
}

/*
 * Double a full deque's buffer.  The ring runs from head to the old end and
 * on from slot 0; moving slots [0, head) to just past the old end makes it
 * contiguous again.
 */
static void
deque_grow(VigilDeque *q, VigilReallocFn grow)
{
	uint32_t	oldcap = q->cap;

	q->buf = grow(q->buf, (size_t) oldcap * 2 * sizeof(VigilDequeEntry));
	q->cap = oldcap * 2;
	for (uint32_t i = 0; i < q->head; i++)
		q->buf[oldcap + i] = q->buf[i];
}

/*
 * Append (seq, x) at the tail, first dropping the tail entries it dominates:
 * for the min deque those >= x, which can never be the minimum again while
 * x is in the window; for the max deque those <= x.
 */
static void
deque_push(VigilDeque *q, uint64_t seq, double x, bool is_min, VigilReallocFn grow)
{
	while (q->len > 0)
	{
		double		tail = deque_at(q, q->len - 1)->value;

		if (is_min ? tail >= x : tail <= x)
			q->len--;
		else
			break;
	}
	if (q->len == q->cap)
		deque_grow(q, grow);
	deque_at(q, q->len)->seq = seq;
	deque_at(q, q->len)->value = x;
	q->len++;
}

/*
 * Retire the value with arrival position seq from the head.  If it is still
 * in the deque it must be the head and equal x; if it was dropped, a later
 * value that dominated it is at or behind the head, so x cannot beat the
 * head.  Anything else means values are not leaving in arrival order.
 */
static bool
deque_retire(VigilDeque *q, uint64_t seq, double x, bool is_min)
{
	VigilDequeEntry *h;

	if (q->len == 0)
		return false;
	h = deque_at(q, 0);
	if (h->seq == seq)
	{
		if (h->value != x)
			return false;
		q->head = (q->head + 1) & (q->cap - 1);
		q->len--;
		return true;
	}
	if (h->seq < seq)
		return false;
	return is_min ? x >= h->value : x <= h->value;
}

/* Add x at the tail of the window. */
VigilMovResult
vigil_movstats_add(VigilMovStats *m, double x)
{
	if (!isfinite(x))
		return VIGIL_MOV_SKIPPED;
	if (!vigil_welford_add(&m->w, x, &m->r))
		return VIGIL_MOV_OVERFLOW;
	deque_push(&m->minq, m->added, x, true, m->grow);
	deque_push(&m->maxq, m->added, x, false, m->grow);
	m->added++;
	return VIGIL_MOV_OK;
}

/* Remove x, which must be the oldest value in the window, from its head. */
VigilMovResult
vigil_movstats_remove(VigilMovStats *m, double x)
{
	uint64_t	seq = m->removed;

	if (!isfinite(x))
		return VIGIL_MOV_SKIPPED;
	if (m->removed == m->added)
		return VIGIL_MOV_RESTART;
	if (!deque_retire(&m->minq, seq, x, true) ||
		!deque_retire(&m->maxq, seq, x, false))
		return VIGIL_MOV_RESTART;
	if (!vigil_welford_remove(&m->w, x, &m->r))
		return VIGIL_MOV_RESTART;
	m->removed++;

	/*
	 * When what is left is one value, or several equal ones, the deques know
	 * it exactly: make the summary exact again instead of carrying rounding
	 * error into the next frames.
	 */
	if (m->w.n > 0 && deque_at(&m->minq, 0)->value == deque_at(&m->maxq, 0)->value)
	{
		m->w.mean = deque_at(&m->minq, 0)->value;
		m->w.mean_lo = 0.0;
		m->w.m2 = 0.0;
		m->r.m2_err = 0.0;
		m->r.mean_err = 0.0;
	}
	if (!vigil_welford_precise(&m->w, &m->r))
		return VIGIL_MOV_RESTART;
	return VIGIL_MOV_OK;
}

/* The window's summary, with min and max taken from the deques. */
void
vigil_movstats_summary(const VigilMovStats *m, VigilWelford *out)
{
	*out = m->w;
	if (m->w.n > 0)
	{
		out->min = m->minq.buf[m->minq.head].value;
		out->max = m->maxq.buf[m->maxq.head].value;
	}
}
