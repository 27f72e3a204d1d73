/*
 * stats.c
 *		The vigil.stats type: text and binary I/O, and its accessors.
 *
 * A vigil.stats value is what vigil.stats_agg returns: count, mean, M2, min
 * and max of the non-null finite inputs.  Its text form,
 * (n:3,mean:2,m2:2,min:1,max:3), prints every double in its shortest exact
 * form so a dump and restore reproduces it bit for bit.  Input from text or
 * binary is checked for consistency, so no stored value is a summary that
 * no data set could have produced.  Reading both forms is done without
 * PostgreSQL in stats/core/stats_io.c, so it can be fuzzed; the input
 * functions here only turn its verdicts into errors.
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/float.h"

#include "stats/core/stats_io.h"
#include "stats/stats.h"

PG_FUNCTION_INFO_V1(vigil_stats_in);
PG_FUNCTION_INFO_V1(vigil_stats_out);
PG_FUNCTION_INFO_V1(vigil_stats_recv);
PG_FUNCTION_INFO_V1(vigil_stats_send);
PG_FUNCTION_INFO_V1(vigil_stats_count);
PG_FUNCTION_INFO_V1(vigil_stats_mean);
PG_FUNCTION_INFO_V1(vigil_stats_variance);
PG_FUNCTION_INFO_V1(vigil_stats_stddev);
PG_FUNCTION_INFO_V1(vigil_stats_min);
PG_FUNCTION_INFO_V1(vigil_stats_max);
PG_FUNCTION_INFO_V1(vigil_stats_zscore);

/* The field names of the text form, in the order they are printed. */
static const char *const field_names[] = {"n", "mean", "m2", "min", "max"};

/* Build a palloc'd vigil.stats from a non-empty Welford summary. */
Datum
vigil_stats_from_welford(const VigilWelford *w)
{
	VigilStats *s = palloc(sizeof(VigilStats));

	Assert(w->n > 0);
	s->n = (int64) w->n;
	s->min = w->min;
	s->max = w->max;
	s->mean = vigil_welford_mean(w);
	s->m2 = w->m2 > 0.0 ? w->m2 : 0.0;
	/* identical values: make the exact answer exact whatever the rounding */
	if (s->min == s->max)
	{
		s->mean = s->min;
		s->m2 = 0.0;
	}
	return PointerGetDatum(s);
}

/* Load a vigil.stats into a Welford summary for merging. */
void
vigil_welford_from_stats(VigilWelford *w, const VigilStats *s)
{
	w->n = (uint64_t) s->n;
	w->mean = s->mean;
	w->mean_lo = 0.0;
	w->m2 = s->m2;
	w->min = s->min;
	w->max = s->max;
}

/* The error for a summary whose M2 or mean no longer fits in a double. */
void
vigil_stats_overflow_error(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("value out of range: overflow in vigil.stats"),
			 errdetail("The spread of the values is too large to represent.")));
}

/*
 * Report why input that is not a vigil.stats was rejected, with the messages
 * and SQLSTATEs these functions have always used (the float errors are
 * float8in's).  str is the text input, NULL for binary input, whose size is
 * binary_size.
 */
static void
stats_input_error(VigilStatsInStatus status, const VigilStatsInError *err,
				  const char *str, int binary_size) pg_attribute_noreturn();

static void
stats_input_error(VigilStatsInStatus status, const VigilStatsInError *err,
				  const char *str, int binary_size)
{
	bool		binary = str == NULL;

	switch (status)
	{
		case VIGIL_STATS_IN_OK:
			break;
		case VIGIL_STATS_IN_SYNTAX:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type vigil.stats: \"%s\"", str),
					 errdetail("%s", err->detail),
					 errhint("The expected form is (n:3,mean:2,m2:2,min:1,max:3).")));
			break;
		case VIGIL_STATS_IN_N_RANGE:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("value for field \"n\" is out of range for type vigil.stats")));
			break;
		case VIGIL_STATS_IN_NUMBER:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type %s: \"%s\"",
							"vigil.stats", str)));
			break;
		case VIGIL_STATS_IN_NUMBER_RANGE:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("\"%s\" is out of range for type double precision",
							pnstrdup(str + err->offset, err->length))));
			break;
		case VIGIL_STATS_IN_BAD_LENGTH:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid external vigil.stats value"),
					 errdetail("A vigil.stats value is %d bytes, got %d.",
							   VIGIL_STATS_BINARY_SIZE, binary_size)));
			break;
		case VIGIL_STATS_IN_INVALID:
			ereport(ERROR,
					(errcode(binary ? ERRCODE_INVALID_BINARY_REPRESENTATION
							 : ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid %svigil.stats value",
							binary ? "external " : ""),
					 errdetail("In vigil.stats, %s.", err->why)));
			break;
	}
	elog(ERROR, "unexpected vigil.stats input status %d", (int) status);
}

/* A palloc'd vigil.stats holding v. */
static VigilStats *
stats_from_value(const VigilStatsValue *v)
{
	VigilStats *s = palloc(sizeof(VigilStats));

	s->n = v->n;
	s->mean = v->mean;
	s->m2 = v->m2;
	s->min = v->min;
	s->max = v->max;
	return s;
}

/* Text input: (n:3,mean:2,m2:2,min:1,max:3), see stats/core/stats_io.h. */
Datum
vigil_stats_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	VigilStatsValue v;
	VigilStatsInError err;
	VigilStatsInStatus status = vigil_stats_from_text(str, &v, &err);

	if (status != VIGIL_STATS_IN_OK)
		stats_input_error(status, &err, str, 0);
	PG_RETURN_VIGIL_STATS_P(stats_from_value(&v));
}

/* Append a double in its shortest exact decimal form. */
static void
append_float8(StringInfo buf, float8 x)
{
	char		digits[DOUBLE_SHORTEST_DECIMAL_LEN];

	double_to_shortest_decimal_buf(x, digits);
	appendStringInfoString(buf, digits);
}

/* Text output. */
Datum
vigil_stats_out(PG_FUNCTION_ARGS)
{
	VigilStats *s = PG_GETARG_VIGIL_STATS_P(0);
	float8		fields[] = {s->mean, s->m2, s->min, s->max};
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "(%s:" INT64_FORMAT, field_names[0], s->n);
	for (size_t i = 0; i < lengthof(fields); i++)
	{
		appendStringInfo(&buf, ",%s:", field_names[i + 1]);
		append_float8(&buf, fields[i]);
	}
	appendStringInfoChar(&buf, ')');
	PG_RETURN_CSTRING(buf.data);
}

/* Binary input: int8 n, then float8 mean, m2, min, max; validated. */
Datum
vigil_stats_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			size = buf->len - buf->cursor;
	const char *bytes = pq_getmsgbytes(buf, size);
	VigilStatsValue v;
	VigilStatsInError err;
	VigilStatsInStatus status = vigil_stats_from_binary(bytes, size, &v, &err);

	if (status != VIGIL_STATS_IN_OK)
		stats_input_error(status, &err, NULL, size);
	PG_RETURN_VIGIL_STATS_P(stats_from_value(&v));
}

/* Binary output. */
Datum
vigil_stats_send(PG_FUNCTION_ARGS)
{
	VigilStats *s = PG_GETARG_VIGIL_STATS_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, s->n);
	pq_sendfloat8(&buf, s->mean);
	pq_sendfloat8(&buf, s->m2);
	pq_sendfloat8(&buf, s->min);
	pq_sendfloat8(&buf, s->max);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Number of values summarised. */
Datum
vigil_stats_count(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(PG_GETARG_VIGIL_STATS_P(0)->n);
}

/* Mean of the values. */
Datum
vigil_stats_mean(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(PG_GETARG_VIGIL_STATS_P(0)->mean);
}

/* Sample variance M2 / (n - 1) of a summary of at least two values. */
static float8
sample_variance(const VigilStats *s)
{
	Assert(s->n >= 2);
	return s->m2 / (float8) (s->n - 1);
}

/* Sample variance; NULL for a single value, like var_samp. */
Datum
vigil_stats_variance(PG_FUNCTION_ARGS)
{
	VigilStats *s = PG_GETARG_VIGIL_STATS_P(0);

	if (s->n < 2)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(sample_variance(s));
}

/* Sample standard deviation; NULL for a single value, like stddev_samp. */
Datum
vigil_stats_stddev(PG_FUNCTION_ARGS)
{
	VigilStats *s = PG_GETARG_VIGIL_STATS_P(0);

	if (s->n < 2)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(sqrt(sample_variance(s)));
}

/* Smallest value. */
Datum
vigil_stats_min(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(PG_GETARG_VIGIL_STATS_P(0)->min);
}

/* Largest value. */
Datum
vigil_stats_max(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(PG_GETARG_VIGIL_STATS_P(0)->max);
}

/*
 * How many sample standard deviations x lies from the mean.  NULL where the
 * spread is unknown or zero (fewer than two values, or all equal), since no
 * finite answer would be honest there.
 */
Datum
vigil_stats_zscore(PG_FUNCTION_ARGS)
{
	VigilStats *s = PG_GETARG_VIGIL_STATS_P(0);
	float8		x = PG_GETARG_FLOAT8(1);

	if (s->n < 2 || s->m2 <= 0.0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8((x - s->mean) / sqrt(sample_variance(s)));
}
