/*
 * stats.h
 *		The vigil.stats type: a summary of a set of float8 values.
 */
#ifndef VIGIL_STATS_H
#define VIGIL_STATS_H

#include "postgres.h"
#include "fmgr.h"

#include "stats/core/welford.h"

/* On-disk and in-memory layout of vigil.stats (INTERNALLENGTH 40). */
typedef struct VigilStats
{
	int64		n;				/* always >= 1: no rows gives SQL NULL */
	float8		mean;
	float8		m2;				/* sum of squared deviations from the mean */
	float8		min;
	float8		max;
} VigilStats;

#define DatumGetVigilStatsP(X)		((VigilStats *) DatumGetPointer(X))
#define PG_GETARG_VIGIL_STATS_P(n)	DatumGetVigilStatsP(PG_GETARG_DATUM(n))
#define PG_RETURN_VIGIL_STATS_P(x)	PG_RETURN_POINTER(x)

extern Datum vigil_stats_from_welford(const VigilWelford *w);
extern void vigil_welford_from_stats(VigilWelford *w, const VigilStats *s);
extern void vigil_stats_overflow_error(void) pg_attribute_noreturn();

#endif							/* VIGIL_STATS_H */
