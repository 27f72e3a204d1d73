/*
 * stats_agg.c
 *		The aggregates vigil.stats_agg(float8) and vigil.rollup(vigil.stats).
 *
 * Both keep a VigilWelford as their internal transition state and share the
 * combine, serialize, deserialize and final functions, so both run in
 * parallel plans (Partial Aggregate in the workers, Finalize Aggregate in
 * the leader) and a rollup of per-group summaries equals one pass over all
 * the rows.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/builtins.h"

#include "stats/stats.h"

PG_FUNCTION_INFO_V1(vigil_stats_trans);
PG_FUNCTION_INFO_V1(vigil_stats_rollup_trans);
PG_FUNCTION_INFO_V1(vigil_stats_combine);
PG_FUNCTION_INFO_V1(vigil_stats_serialize);
PG_FUNCTION_INFO_V1(vigil_stats_deserialize);
PG_FUNCTION_INFO_V1(vigil_stats_final);

/* The aggregate memory context, or an error if not called as an aggregate. */
static MemoryContext
aggregate_context(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s called in non-aggregate context", fn)));
	return aggcontext;
}

/*
 * The transition state in argument 0, created empty on first use.  Only the
 * creation checks the calling context: a non-null internal state can only
 * have come from it, and the check would otherwise run for every row.
 */
static VigilWelford *
state_arg(FunctionCallInfo fcinfo, const char *fn)
{
	VigilWelford *w;

	if (!PG_ARGISNULL(0))
		return (VigilWelford *) PG_GETARG_POINTER(0);
	w = MemoryContextAlloc(aggregate_context(fcinfo, fn), sizeof(VigilWelford));
	vigil_welford_init(w);
	return w;
}

/*
 * Transition of stats_agg(float8).  NULL inputs are ignored like every
 * PostgreSQL aggregate ignores them; so are NaN and infinities, which would
 * otherwise turn mean and variance into NaN for good.
 */
Datum
vigil_stats_trans(PG_FUNCTION_ARGS)
{
	VigilWelford *w = state_arg(fcinfo, "vigil_stats_trans");

	if (!PG_ARGISNULL(1))
	{
		float8		x = PG_GETARG_FLOAT8(1);

		if (!vigil_welford_add(w, x, NULL) && isfinite(x))
			vigil_stats_overflow_error();
	}
	PG_RETURN_POINTER(w);
}

/*
 * Merge other into w, or raise an error when the result would not fit a
 * vigil.stats: a count beyond int64 (rollups of huge counts) or a spread
 * beyond double.
 */
static void
merge_or_error(VigilWelford *w, const VigilWelford *other)
{
	if (other->n > (uint64) PG_INT64_MAX - w->n)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value out of range: overflow in vigil.stats"),
				 errdetail("The summaries together count more than " INT64_FORMAT " values.",
						   PG_INT64_MAX)));
	if (!vigil_welford_merge(w, other))
		vigil_stats_overflow_error();
}

/* Transition of rollup(vigil.stats): merge one more summary in. */
Datum
vigil_stats_rollup_trans(PG_FUNCTION_ARGS)
{
	VigilWelford *w = state_arg(fcinfo, "vigil_stats_rollup_trans");

	if (!PG_ARGISNULL(1))
	{
		VigilWelford other;

		vigil_welford_from_stats(&other, PG_GETARG_VIGIL_STATS_P(1));
		merge_or_error(w, &other);
	}
	PG_RETURN_POINTER(w);
}

/* Combine two partial states (parallel aggregation). */
Datum
vigil_stats_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = aggregate_context(fcinfo, "vigil_stats_combine");
	VigilWelford *w;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}
	if (PG_ARGISNULL(0))
	{
		w = MemoryContextAlloc(aggcontext, sizeof(VigilWelford));
		*w = *(VigilWelford *) PG_GETARG_POINTER(1);
		PG_RETURN_POINTER(w);
	}
	w = (VigilWelford *) PG_GETARG_POINTER(0);
	merge_or_error(w, (VigilWelford *) PG_GETARG_POINTER(1));
	PG_RETURN_POINTER(w);
}

/*
 * Serialize a partial state for a parallel worker to hand to the leader.
 * Both run the same build, so the struct travels as it is, mean_lo and all.
 */
Datum
vigil_stats_serialize(PG_FUNCTION_ARGS)
{
	VigilWelford *w;
	bytea	   *out;

	aggregate_context(fcinfo, "vigil_stats_serialize");
	w = (VigilWelford *) PG_GETARG_POINTER(0);
	out = palloc(VARHDRSZ + sizeof(VigilWelford));
	SET_VARSIZE(out, VARHDRSZ + sizeof(VigilWelford));
	memcpy(VARDATA(out), w, sizeof(VigilWelford));
	PG_RETURN_BYTEA_P(out);
}

/* Deserialize what vigil_stats_serialize produced. */
Datum
vigil_stats_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *in;
	VigilWelford *w;

	aggregate_context(fcinfo, "vigil_stats_deserialize");
	in = PG_GETARG_BYTEA_PP(0);
	if (VARSIZE_ANY_EXHDR(in) != sizeof(VigilWelford))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid serialized vigil.stats_agg state")));
	w = palloc(sizeof(VigilWelford));
	memcpy(w, VARDATA_ANY(in), sizeof(VigilWelford));
	PG_RETURN_POINTER(w);
}

/* Final function: the summary, or NULL when no finite value came in. */
Datum
vigil_stats_final(PG_FUNCTION_ARGS)
{
	VigilWelford *w;

	aggregate_context(fcinfo, "vigil_stats_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	w = (VigilWelford *) PG_GETARG_POINTER(0);
	if (w->n == 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(vigil_stats_from_welford(w));
}
