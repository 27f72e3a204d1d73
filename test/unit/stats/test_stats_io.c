/*
 * test_stats_io.c
 *		Unit tests for reading vigil.stats's text and binary forms: the
 *		verdicts behind every error the type's input functions raise (the
 *		pg_regress suite checks the messages themselves).
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "stats/core/stats_io.h"
#include "unit.h"

/* The status of reading str, with err filled in. */
static VigilStatsInStatus
read_text(const char *str, VigilStatsValue *v, VigilStatsInError *err)
{
	return vigil_stats_from_text(str, v, err);
}

/* Whether str is a syntax error with this detail. */
static bool
syntax_error(const char *str, const char *detail)
{
	VigilStatsValue v;
	VigilStatsInError err;

	if (read_text(str, &v, &err) != VIGIL_STATS_IN_SYNTAX)
		return false;
	if (strcmp(err.detail, detail) != 0)
	{
		printf("#   \"%s\": detail \"%s\", want \"%s\"\n", str, err.detail, detail);
		return false;
	}
	return true;
}

/* Whether str is well-formed but not a summary, for this reason. */
static bool
invalid(const char *str, const char *why)
{
	VigilStatsValue v;
	VigilStatsInError err;

	return read_text(str, &v, &err) == VIGIL_STATS_IN_INVALID &&
		strcmp(err.why, why) == 0;
}

/* The text form and its variations in spacing and spelling. */
static void
text_accepted(void)
{
	VigilStatsValue v;
	VigilStatsInError err;

	CHECK(read_text("(n:3,mean:2,m2:2,min:1,max:3)", &v, &err) == VIGIL_STATS_IN_OK);
	CHECK(v.n == 3 && v.mean == 2 && v.m2 == 2 && v.min == 1 && v.max == 3);
	CHECK(read_text(" ( n : 3 , mean : 0x1p1 ,m2: 2e0,min:1 ,max:3.0 ) \n", &v, &err) ==
		  VIGIL_STATS_IN_OK);
	CHECK(v.n == 3 && v.mean == 2 && v.m2 == 2 && v.min == 1 && v.max == 3);
	/* shortest round-trip forms, as stats_out prints them */
	CHECK(read_text("(n:2,mean:0.30000000000000004,m2:0.005000000000000001,min:0.25,max:0.35000000000000003)",
					&v, &err) == VIGIL_STATS_IN_OK);
	CHECK(v.mean == 0.1 + 0.2);
	/* a denormal is not out of range, even if strtod says ERANGE */
	CHECK(read_text("(n:1,mean:4.9e-324,m2:0,min:4.9e-324,max:4.9e-324)", &v, &err) ==
		  VIGIL_STATS_IN_OK);
	CHECK(v.min > 0.0);
}

/* The syntax errors of expected/stats.out, and the others. */
static void
text_syntax(void)
{
	CHECK(syntax_error("", "Expected \"(\"."));
	CHECK(syntax_error("(n:3,mean:2,m2:2,min:1)", "Expected \",\"."));
	CHECK(syntax_error("(n:3,mean:2,m2:2,min:1,max:3) junk", "Junk after the closing parenthesis."));
	CHECK(syntax_error("(n:x,mean:2,m2:2,min:1,max:3)", "Field \"n\" must be an integer."));
	CHECK(syntax_error("(mean:2,n:3,m2:2,min:1,max:3)", "Expected field \"n\"."));
	CHECK(syntax_error("(n 3,mean:2,m2:2,min:1,max:3)", "Expected \":\" after \"n\"."));
	CHECK(syntax_error("(n:3,mean:2,m2:2,min:1,max:3", "Expected \")\"."));
	CHECK(syntax_error("(n:3,mean:2,m2:2,min:1,maximum:3)", "Expected \":\" after \"max\"."));
}

/* Numbers that are not numbers, or too big: float8in's errors. */
static void
text_numbers(void)
{
	VigilStatsValue v;
	VigilStatsInError err;
	const char *s;

	CHECK(read_text("(n:3,mean:two,m2:2,min:1,max:3)", &v, &err) == VIGIL_STATS_IN_NUMBER);
	CHECK(read_text("(n:3,mean:", &v, &err) == VIGIL_STATS_IN_NUMBER);
	CHECK(read_text("(n:99999999999999999999,mean:2,m2:2,min:1,max:3)", &v, &err) ==
		  VIGIL_STATS_IN_N_RANGE);
	s = "(n:3,mean: 1e999 ,m2:2,min:1,max:3)";
	CHECK(read_text(s, &v, &err) == VIGIL_STATS_IN_NUMBER_RANGE);
	/* the message quotes just the number */
	CHECK(err.offset == 11 && err.length == 5 && strncmp(s + err.offset, "1e999", 5) == 0);
	CHECK(read_text("(n:3,mean:2,m2:1e-999,min:1,max:3)", &v, &err) ==
		  VIGIL_STATS_IN_NUMBER_RANGE);
	/* spelled-out specials are numbers; the summary check refuses them */
	CHECK(invalid("(n:3,mean:NaN,m2:2,min:1,max:3)", "fields must be finite"));
	CHECK(invalid("(n:3,mean:2,m2:Infinity,min:1,max:3)", "fields must be finite"));
	CHECK(invalid("(n:3,mean:2,m2:2,min:-inf,max:3)", "fields must be finite"));
}

/* Well-formed summaries no data set could produce. */
static void
text_invalid(void)
{
	CHECK(invalid("(n:0,mean:0,m2:0,min:0,max:0)", "count must be at least 1"));
	CHECK(invalid("(n:-1,mean:2,m2:2,min:1,max:3)", "count must be at least 1"));
	CHECK(invalid("(n:3,mean:2,m2:2,min:3,max:1)", "min must not exceed max"));
	CHECK(invalid("(n:3,mean:5,m2:2,min:1,max:3)", "mean must lie between min and max"));
	CHECK(invalid("(n:3,mean:2,m2:-1,min:1,max:3)", "m2 must not be negative"));
	CHECK(invalid("(n:1,mean:2,m2:1,min:2,max:2)",
				  "a summary of identical values must have m2 0 and mean equal to min"));
	CHECK(invalid("(n:3,mean:2,m2:1e300,min:1,max:3)",
				  "m2 is larger than the range of the values allows"));
}

/* Put v big-endian at p. */
static void
put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char) v;
}

/* The binary form: 40 bytes in network order, checked like text. */
static void
binary(void)
{
	unsigned char b[41];
	double		f[4] = {2, 2, 1, 3};
	uint64_t	w;
	VigilStatsValue v;
	VigilStatsInError err;

	put_be64(b + 1, 3);
	for (int i = 0; i < 4; i++)
	{
		memcpy(&w, &f[i], 8);
		put_be64(b + 1 + 8 * (i + 1), w);
	}
	/* at an odd address: the input need not be aligned */
	CHECK(vigil_stats_from_binary(b + 1, 40, &v, &err) == VIGIL_STATS_IN_OK);
	CHECK(v.n == 3 && v.mean == 2 && v.m2 == 2 && v.min == 1 && v.max == 3);
	CHECK(vigil_stats_from_binary(b + 1, 39, &v, &err) == VIGIL_STATS_IN_BAD_LENGTH &&
		  err.length == 39);
	CHECK(vigil_stats_from_binary(b, 41, &v, &err) == VIGIL_STATS_IN_BAD_LENGTH);

	put_be64(b + 1, 0);
	CHECK(vigil_stats_from_binary(b + 1, 40, &v, &err) == VIGIL_STATS_IN_INVALID &&
		  strcmp(err.why, "count must be at least 1") == 0);
	put_be64(b + 1, UINT64_MAX);	/* -1 */
	CHECK(vigil_stats_from_binary(b + 1, 40, &v, &err) == VIGIL_STATS_IN_INVALID);
	put_be64(b + 1, 3);
	put_be64(b + 9, 0x7ff8000000000000ULL);	/* NaN mean */
	CHECK(vigil_stats_from_binary(b + 1, 40, &v, &err) == VIGIL_STATS_IN_INVALID &&
		  strcmp(err.why, "fields must be finite") == 0);
}

int
main(void)
{
	RUN(text_accepted);
	RUN(text_syntax);
	RUN(text_numbers);
	RUN(text_invalid);
	RUN(binary);
	return UNIT_DONE();
}
