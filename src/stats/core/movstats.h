/*
 * movstats.h
 *		Statistics of a sliding window that values enter and leave in order.
 *
 * A window function frame moves forward: values are added at its tail and
 * removed from its head in the order they were added.  This keeps the
 * Welford summary of the frame with O(1) amortized work per value: mean and
 * M2 are updated by inverse Welford steps, and min and max come from two
 * monotonic deques (the classic sliding-window extremes), so removing the
 * current minimum never forces a rescan.
 *
 * Removal reports when the summary can no longer be trusted: the removed
 * value is not the oldest one (the caller's order assumption broke), or
 * float cancellation has eaten the precision of M2 or the mean.  The caller
 * then rebuilds the summary from the frame's values.
 *
 * The deques grow through a caller-supplied realloc-like function, so the
 * same code runs under PostgreSQL memory contexts and plain libc.
 */
#ifndef VIGIL_MOVSTATS_H
#define VIGIL_MOVSTATS_H

#include <stddef.h>

#include "stats/core/welford.h"

typedef void *(*VigilReallocFn) (void *ptr, size_t size);

typedef struct VigilDequeEntry
{
	uint64_t	seq;			/* position of the value in arrival order */
	double		value;
} VigilDequeEntry;

/* A ring buffer of entries, monotonic in value from head to tail. */
typedef struct VigilDeque
{
	VigilDequeEntry *buf;
	uint32_t	cap;			/* a power of two */
	uint32_t	head;
	uint32_t	len;
} VigilDeque;

typedef struct VigilMovStats
{
	VigilWelford w;				/* its min and max are unused: see the deques */
	VigilRoundoff r;
	uint64_t	added;			/* finite values added so far */
	uint64_t	removed;		/* finite values removed so far */
	VigilDeque	minq;			/* increasing values: head is the minimum */
	VigilDeque	maxq;			/* decreasing values: head is the maximum */
	VigilReallocFn grow;
} VigilMovStats;

typedef enum VigilMovResult
{
	VIGIL_MOV_OK,				/* the value was added or removed */
	VIGIL_MOV_SKIPPED,			/* the value is not finite: ignored */
	VIGIL_MOV_OVERFLOW,			/* the summary would overflow */
	VIGIL_MOV_RESTART			/* rebuild the summary from the frame */
} VigilMovResult;

#define VIGIL_MOVSTATS_INITIAL_CAP 16

extern void vigil_movstats_init(VigilMovStats *m, VigilDequeEntry *minbuf,
								VigilDequeEntry *maxbuf, VigilReallocFn grow);
extern VigilMovResult vigil_movstats_add(VigilMovStats *m, double x);
extern VigilMovResult vigil_movstats_remove(VigilMovStats *m, double x);
extern void vigil_movstats_summary(const VigilMovStats *m, VigilWelford *out);

#endif							/* VIGIL_MOVSTATS_H */
