/*
 * stats.c
 *		The vigil.stats type: text and binary I/O, and its accessors.
 *
 * A vigil.stats value is what vigil.stats_agg returns: count, mean, M2, min
 * and max of the non-null finite inputs.  Its text form,
 * (n:3,mean:2,m2:2,min:1,max:3), prints every double in its shortest exact
 * form so a dump and restore reproduces it bit for bit.  Input from text or
 * binary is checked for consistency, so no stored value is a summary that
 * no data set could have produced.
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/float.h"

#include "stats.h"

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

/* The field names of the text form, in the order they must appear. */
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

/* Complain about text that is not a vigil.stats. */
static void
syntax_error(const char *str, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type vigil.stats: \"%s\"", str),
			 errdetail("%s", detail),
			 errhint("The expected form is (n:3,mean:2,m2:2,min:1,max:3).")));
}

/* Consume "name:" at *p, allowing white space around it. */
static void
expect_field(char **p, const char *name, const char *str)
{
	size_t		len = strlen(name);

	while (isspace((unsigned char) **p))
		(*p)++;
	if (strncmp(*p, name, len) != 0)
		syntax_error(str, psprintf("Expected field \"%s\".", name));
	*p += len;
	while (isspace((unsigned char) **p))
		(*p)++;
	if (**p != ':')
		syntax_error(str, psprintf("Expected \":\" after \"%s\".", name));
	(*p)++;
}

/* Consume the separator after a field: "," or, after the last, ")". */
static void
expect_separator(char **p, char sep, const char *str)
{
	while (isspace((unsigned char) **p))
		(*p)++;
	if (**p != sep)
		syntax_error(str, psprintf("Expected \"%c\".", sep));
	(*p)++;
}

/* Reject a summary that no data set could have produced. */
static void
check_summary(const VigilStats *s, bool binary)
{
	const char *why;

	if (!vigil_summary_valid(s->n, s->mean, s->m2, s->min, s->max, &why))
		ereport(ERROR,
				(errcode(binary ? ERRCODE_INVALID_BINARY_REPRESENTATION
						 : ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid %svigil.stats value",
						binary ? "external " : ""),
				 errdetail("In vigil.stats, %s.", why)));
}

/* Text input: (n:3,mean:2,m2:2,min:1,max:3). */
Datum
vigil_stats_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	char	   *p = str;
	char	   *end;
	VigilStats *s = palloc(sizeof(VigilStats));
	float8	   *fields[] = {&s->mean, &s->m2, &s->min, &s->max};

	expect_separator(&p, '(', str);
	expect_field(&p, field_names[0], str);
	errno = 0;
	s->n = strtoi64(p, &end, 10);
	if (end == p)
		syntax_error(str, "Field \"n\" must be an integer.");
	if (errno == ERANGE)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value for field \"n\" is out of range for type vigil.stats")));
	p = end;
	for (size_t i = 0; i < lengthof(fields); i++)
	{
		expect_separator(&p, ',', str);
		expect_field(&p, field_names[i + 1], str);
		*fields[i] = float8in_internal(p, &p, "vigil.stats", str);
	}
	expect_separator(&p, ')', str);
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		syntax_error(str, "Junk after the closing parenthesis.");

	check_summary(s, false);
	PG_RETURN_VIGIL_STATS_P(s);
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
	VigilStats *s = palloc(sizeof(VigilStats));

	if (buf->len - buf->cursor != 8 + 4 * 8)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid external vigil.stats value"),
				 errdetail("A vigil.stats value is 40 bytes, got %d.",
						   buf->len - buf->cursor)));
	s->n = pq_getmsgint64(buf);
	s->mean = pq_getmsgfloat8(buf);
	s->m2 = pq_getmsgfloat8(buf);
	s->min = pq_getmsgfloat8(buf);
	s->max = pq_getmsgfloat8(buf);
	check_summary(s, true);
	PG_RETURN_VIGIL_STATS_P(s);
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
