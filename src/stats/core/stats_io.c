/*
 * stats_io.c
 *		Reading a vigil.stats from outside: text and binary forms.
 *
 * See stats_io.h.  The text reader keeps the exact behaviour the type's
 * input function had when it called PostgreSQL's strtoi64 (strtoll here)
 * and float8in_internal, including which error comes first, because
 * pg_regress checks those messages and dumps must keep loading.
 */
#include "stats/core/stats_io.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/core/welford.h"

/* The field names of the text form, in the order they must appear. */
static const char *const field_names[] = {"n", "mean", "m2", "min", "max"};

/* Record a syntax error with its detail sentence. */
static VigilStatsInStatus
syntax(VigilStatsInError *err, const char *detail)
{
	snprintf(err->detail, sizeof(err->detail), "%s", detail);
	return VIGIL_STATS_IN_SYNTAX;
}

/* Skip white space as the type's input always has (locale's isspace). */
static const char *
skip_space(const char *p)
{
	while (*p != '\0' && isspace((unsigned char) *p))
		p++;
	return p;
}

/* Consume "name:" at *p, allowing white space around it. */
static VigilStatsInStatus
expect_field(const char **p, const char *name, VigilStatsInError *err)
{
	size_t		len = strlen(name);

	*p = skip_space(*p);
	if (strncmp(*p, name, len) != 0)
	{
		snprintf(err->detail, sizeof(err->detail),
				 "Expected field \"%s\".", name);
		return VIGIL_STATS_IN_SYNTAX;
	}
	*p = skip_space(*p + len);
	if (**p != ':')
	{
		snprintf(err->detail, sizeof(err->detail),
				 "Expected \":\" after \"%s\".", name);
		return VIGIL_STATS_IN_SYNTAX;
	}
	(*p)++;
	return VIGIL_STATS_IN_OK;
}

/* Consume the separator sep at *p, after optional white space. */
static VigilStatsInStatus
expect_separator(const char **p, char sep, VigilStatsInError *err)
{
	*p = skip_space(*p);
	if (**p != sep)
	{
		snprintf(err->detail, sizeof(err->detail), "Expected \"%c\".", sep);
		return VIGIL_STATS_IN_SYNTAX;
	}
	(*p)++;
	return VIGIL_STATS_IN_OK;
}

/* Whether s starts with word, ignoring ASCII case (pg_strncasecmp). */
static bool
starts_with_nocase(const char *s, const char *word)
{
	for (; *word != '\0'; s++, word++)
	{
		unsigned char a = (unsigned char) *s,
					b = (unsigned char) *word;

		if (a >= 'A' && a <= 'Z')
			a = (unsigned char) (a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (unsigned char) (b - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
}

/*
 * Read a double at *p as float8in_internal does when asked for the end
 * position: leading and trailing white space skipped, nothing required
 * after the number.
 */
static VigilStatsInStatus
read_double(const char *str, const char **p, double *out,
			VigilStatsInError *err)
{
	/* strtod's own spellings, for C libraries that lack some of them */
	static const struct
	{
		const char *word;
		double		value;
	}			specials[] = {
		{"NaN", NAN},
		{"Infinity", INFINITY},
		{"+Infinity", INFINITY},
		{"-Infinity", -INFINITY},
		{"inf", INFINITY},
		{"+inf", INFINITY},
		{"-inf", -INFINITY},
	};
	const char *num = skip_space(*p);
	char	   *end;
	double		val;

	if (*num == '\0')
		return VIGIL_STATS_IN_NUMBER;
	errno = 0;
	val = strtod(num, &end);
	if (end == num || errno != 0)
	{
		int			save_errno = errno;
		size_t		i;

		for (i = 0; i < sizeof(specials) / sizeof(specials[0]); i++)
			if (starts_with_nocase(num, specials[i].word))
				break;
		if (i < sizeof(specials) / sizeof(specials[0]))
		{
			val = specials[i].value;
			end = (char *) num + strlen(specials[i].word);
		}
		else if (save_errno == ERANGE)
		{
			/* a denormal may set ERANGE too; only zero or huge is an error */
			if (val == 0.0 || val >= HUGE_VAL || val <= -HUGE_VAL)
			{
				err->offset = (size_t) (num - str);
				err->length = (size_t) (end - num);
				return VIGIL_STATS_IN_NUMBER_RANGE;
			}
		}
		else
			return VIGIL_STATS_IN_NUMBER;
	}
	*out = val;
	*p = skip_space(end);
	return VIGIL_STATS_IN_OK;
}

/* Check a decoded summary and hand it out. */
static VigilStatsInStatus
check_summary(const VigilStatsValue *s, VigilStatsValue *out,
			  VigilStatsInError *err)
{
	if (!vigil_summary_valid(s->n, s->mean, s->m2, s->min, s->max, &err->why))
		return VIGIL_STATS_IN_INVALID;
	*out = *s;
	return VIGIL_STATS_IN_OK;
}

/* A summary from its text form, (n:3,mean:2,m2:2,min:1,max:3). */
VigilStatsInStatus
vigil_stats_from_text(const char *str, VigilStatsValue *out,
					  VigilStatsInError *err)
{
	VigilStatsValue s;
	double	   *fields[] = {&s.mean, &s.m2, &s.min, &s.max};
	const char *p = str;
	char	   *end;
	VigilStatsInStatus st;
	size_t		i;

	memset(err, 0, sizeof(*err));
	memset(&s, 0, sizeof(s));
	if ((st = expect_separator(&p, '(', err)) != VIGIL_STATS_IN_OK ||
		(st = expect_field(&p, field_names[0], err)) != VIGIL_STATS_IN_OK)
		return st;
	errno = 0;
	s.n = (int64_t) strtoll(p, &end, 10);
	if (end == p)
		return syntax(err, "Field \"n\" must be an integer.");
	if (errno == ERANGE)
		return VIGIL_STATS_IN_N_RANGE;
	p = end;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
	{
		if ((st = expect_separator(&p, ',', err)) != VIGIL_STATS_IN_OK ||
			(st = expect_field(&p, field_names[i + 1], err)) != VIGIL_STATS_IN_OK ||
			(st = read_double(str, &p, fields[i], err)) != VIGIL_STATS_IN_OK)
			return st;
	}
	if ((st = expect_separator(&p, ')', err)) != VIGIL_STATS_IN_OK)
		return st;
	if (*skip_space(p) != '\0')
		return syntax(err, "Junk after the closing parenthesis.");
	return check_summary(&s, out, err);
}

/* The big-endian 64-bit word at p. */
static uint64_t
get_be64(const unsigned char *p)
{
	uint64_t	v = 0;
	int			i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* A summary from its binary form: n, mean, m2, min, max in network order. */
VigilStatsInStatus
vigil_stats_from_binary(const void *buf, size_t len, VigilStatsValue *out,
						VigilStatsInError *err)
{
	const unsigned char *b = buf;
	double	   *fields[4];
	VigilStatsValue s;
	uint64_t	w;
	int			i;

	memset(err, 0, sizeof(*err));
	if (len != VIGIL_STATS_BINARY_SIZE)
	{
		err->length = len;
		return VIGIL_STATS_IN_BAD_LENGTH;
	}
	fields[0] = &s.mean;
	fields[1] = &s.m2;
	fields[2] = &s.min;
	fields[3] = &s.max;
	/* two's complement, as pq_getmsgint64 reads it */
	w = get_be64(b);
	memcpy(&s.n, &w, sizeof(s.n));
	for (i = 0; i < 4; i++)
	{
		w = get_be64(b + 8 * (i + 1));
		memcpy(fields[i], &w, sizeof(double));
	}
	return check_summary(&s, out, err);
}
