/*
 * stats_io.h
 *		Reading a vigil.stats from outside: its text and binary forms, both
 *		checked for consistency.
 *
 * Text: (n:3,mean:2,m2:2,min:1,max:3), the fields in that order, white
 * space (isspace) allowed around names, ':', ',' and the parentheses.  n is
 * read as strtoll reads a base-10 integer; the doubles as PostgreSQL's
 * float8in reads them (strtod, plus NaN, Infinity, inf with signs in any
 * case; an ERANGE result that is not a denormal is out of range).  Binary:
 * 40 bytes, a big-endian int64 n and four big-endian IEEE doubles.  Either
 * way the summary must pass vigil_summary_valid, so no stored value is a
 * summary that no data set could have produced.
 *
 * These functions know no PostgreSQL: the type's input functions call them
 * and turn a status into an ereport, and the fuzz targets call them on any
 * bytes.  The text is NUL-terminated (a cstring) and nothing after its NUL
 * is read; binary input is (buf, len).  *out is written only on success.
 */
#ifndef VIGIL_STATS_IO_H
#define VIGIL_STATS_IO_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of the binary form. */
#define VIGIL_STATS_BINARY_SIZE 40

/* A summary as read: the fields of the SQL type's struct. */
typedef struct VigilStatsValue
{
	int64_t		n;
	double		mean;
	double		m2;
	double		min;
	double		max;
} VigilStatsValue;

typedef enum VigilStatsInStatus
{
	VIGIL_STATS_IN_OK,
	VIGIL_STATS_IN_SYNTAX,		/* not the text form: detail says why */
	VIGIL_STATS_IN_N_RANGE,		/* n does not fit in 64 bits */
	VIGIL_STATS_IN_NUMBER,		/* a double field that is not a number */
	VIGIL_STATS_IN_NUMBER_RANGE,	/* a double field beyond double's range */
	VIGIL_STATS_IN_BAD_LENGTH,	/* binary input of the wrong size */
	VIGIL_STATS_IN_INVALID		/* vigil_summary_valid rejected it */
} VigilStatsInStatus;

/* What went wrong, for the error message. */
typedef struct VigilStatsInError
{
	char		detail[64];		/* SYNTAX: a sentence for people */
	size_t		offset;			/* NUMBER_RANGE: the number is */
	size_t		length;			/* str[offset .. offset + length) */
	const char *why;			/* INVALID: vigil_summary_valid's reason */
} VigilStatsInError;

extern VigilStatsInStatus vigil_stats_from_text(const char *str,
												VigilStatsValue *out,
												VigilStatsInError *err);
extern VigilStatsInStatus vigil_stats_from_binary(const void *buf, size_t len,
												  VigilStatsValue *out,
												  VigilStatsInError *err);

#endif							/* VIGIL_STATS_IO_H */
