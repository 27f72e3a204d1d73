/*
 * stats_moving.c
 *		Moving-aggregate mode of vigil.stats_agg for window functions.
 *
 * With a frame such as ROWS BETWEEN 50 PRECEDING AND 1 PRECEDING, PostgreSQL
 * adds the row entering the frame and calls the inverse transition for the
 * row leaving it, instead of recomputing the frame for every row.  The state
 * is a VigilMovStats (see stats/core/movstats.h): O(1) amortized per row
 * with exact min and max.  When removal would lose precision, the inverse
 * transition returns NULL and PostgreSQL recomputes that frame from its rows.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "stats/core/movstats.h"
#include "stats/stats.h"

PG_FUNCTION_INFO_V1(vigil_stats_mtrans);
PG_FUNCTION_INFO_V1(vigil_stats_minvtrans);
PG_FUNCTION_INFO_V1(vigil_stats_mfinal);

/*
 * The moving state in argument 0; created empty on first use, which is
 * also the only call that needs to check the calling context.
 */
static VigilMovStats *
moving_state(FunctionCallInfo fcinfo)
{
	MemoryContext aggcontext;
	VigilMovStats *m;
	size_t		bufsize = VIGIL_MOVSTATS_INITIAL_CAP * sizeof(VigilDequeEntry);

	if (!PG_ARGISNULL(0))
		return (VigilMovStats *) PG_GETARG_POINTER(0);
	if (!AggCheckCallContext(fcinfo, &aggcontext))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("vigil.stats_agg moving-aggregate support called in non-aggregate context")));

	m = MemoryContextAlloc(aggcontext, sizeof(VigilMovStats));
	vigil_movstats_init(m,
						MemoryContextAlloc(aggcontext, bufsize),
						MemoryContextAlloc(aggcontext, bufsize),
						repalloc);
	return m;
}

/* Forward transition: a row enters the frame. */
Datum
vigil_stats_mtrans(PG_FUNCTION_ARGS)
{
	VigilMovStats *m = moving_state(fcinfo);

	if (!PG_ARGISNULL(1) &&
		vigil_movstats_add(m, PG_GETARG_FLOAT8(1)) == VIGIL_MOV_OVERFLOW)
		vigil_stats_overflow_error();
	PG_RETURN_POINTER(m);
}

/* Inverse transition: a row leaves the frame; NULL asks for a recompute. */
Datum
vigil_stats_minvtrans(PG_FUNCTION_ARGS)
{
	VigilMovStats *m = moving_state(fcinfo);

	if (!PG_ARGISNULL(1) &&
		vigil_movstats_remove(m, PG_GETARG_FLOAT8(1)) == VIGIL_MOV_RESTART)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(m);
}

/* Final function of the moving mode: the frame's summary or NULL. */
Datum
vigil_stats_mfinal(PG_FUNCTION_ARGS)
{
	VigilWelford w;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	vigil_movstats_summary((VigilMovStats *) PG_GETARG_POINTER(0), &w);
	if (w.n == 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(vigil_stats_from_welford(&w));
}
