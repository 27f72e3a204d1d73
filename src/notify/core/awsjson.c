/*
 * awsjson.c
 *		String fields of flat JSON credential documents, and ISO 8601 times.
 *
 * See awsjson.h for what is accepted.  JSON is PostgreSQL's own parser
 * (common/jsonapi.c), in the server as json_in uses it, and from
 * libpgcommon in the unit tests and fuzzers (built with -DFRONTEND).
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"

#include "notify/core/awsjson.h"

/* What the callbacks learn about the field while the parser runs. */
typedef struct FieldState
{
	const char *field;
	char	   *out;
	size_t		outlen;
	int			depth;			/* containers open, the top-level one included */
	bool		object;			/* the top-level value is an object */
	bool		matched;		/* the next value is the field's */
	bool		seen;			/* the field was seen at the top level */
	bool		got;			/* its value was a string, now in out */
	bool		bad;			/* duplicate, wrong type or too long */
} FieldState;

/* A container opens: the top-level one must be an object. */
static void
container_start(FieldState *st, bool object)
{
	if (st->depth == 0)
		st->object = object;
	if (st->matched)
		st->bad = true;			/* the field is an object or an array */
	st->matched = false;
	st->depth++;
}

/* See container_start. */
static void
object_start(void *state)
{
	container_start(state, true);
}

/* See container_start. */
static void
array_start(void *state)
{
	container_start(state, false);
}

/* A container closes. */
static void
container_end(void *state)
{
	((FieldState *) state)->depth--;
}

/* A member name: remember whether it is the field, at the top level. */
static void
field_start(void *state, char *fname, bool isnull)
{
	FieldState *st = state;

	(void) isnull;
	if (st->depth == 1 && strcmp(fname, st->field) == 0)
	{
		if (st->seen)
			st->bad = true;		/* parsers disagree on which copy wins */
		st->seen = true;
		st->matched = true;
	}
	pfree(fname);
}

/* A scalar: keep it when it is the field's value and a string. */
static void
scalar(void *state, char *token, JsonTokenType type)
{
	FieldState *st = state;

	if (st->matched)
	{
		if (type == JSON_TOKEN_STRING)
		{
			if (strlcpy(st->out, token, st->outlen) >= st->outlen)
				st->bad = true;
			else
				st->got = true;
		}
		else if (type != JSON_TOKEN_NULL)
			st->bad = true;		/* a null counts as absent */
		st->matched = false;
	}
	pfree(token);
}

/*
 * Whether the brackets outside strings nest at most VIGIL_JSON_MAX_DEPTH
 * deep.  pg_parse_json recurses once per level, and in the server a
 * nesting deeper than the stack allows is an ERROR, so depth is checked
 * first.  Where the document is valid JSON this sees the nesting the
 * parser would; beyond that the parser fails anyway.
 */
static bool
depth_ok(const char *json, size_t len)
{
	bool		in_string = false;
	int			depth = 0;

	for (size_t i = 0; i < len; i++)
	{
		char		c = json[i];

		if (in_string)
		{
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		}
		else if (c == '"')
			in_string = true;
		else if (c == '{' || c == '[')
		{
			if (++depth > VIGIL_JSON_MAX_DEPTH)
				return false;
		}
		else if (c == '}' || c == ']')
			depth--;
	}
	return true;
}

/* Run PostgreSQL's JSON parser over the len bytes at json. */
static JsonParseErrorType
parse(const char *json, size_t len, JsonSemAction *sem)
{
	/* the lexer only reads the input; its prototype lacks the const */
	JsonLexContext *lex = makeJsonLexContextCstringLen(unconstify(char *, json),
													   (int) len, PG_UTF8, true);
	JsonParseErrorType rc = pg_parse_json(lex, sem);

	/* PostgreSQL 15 has no function to free a lexer */
	pfree(lex->strval->data);
	pfree(lex->strval);
	pfree(lex);
	return rc;
}

/* The top-level string member field of the JSON object in json. */
bool
vigil_json_get_string(const char *json, size_t len, const char *field,
					  char *out, size_t outlen, bool *found)
{
	FieldState	st = {0};
	JsonSemAction sem = {0};

	*found = false;
	if (outlen == 0)
		return false;
	out[0] = '\0';

	/* RFC 8259 lets a parser skip a byte order mark; PostgreSQL's does not */
	if (len >= 3 && memcmp(json, "\xEF\xBB\xBF", 3) == 0)
	{
		json += 3;
		len -= 3;
	}
	/* the lexer does not check UTF-8 itself, nor stop at a NUL byte */
	if (len > PG_INT32_MAX || !depth_ok(json, len) ||
		pg_encoding_verifymbstr(PG_UTF8, json, (int) len) != (int) len)
		return false;

	/*
	 * Validate first, with no callbacks: pg_parse_json leaks a member name
	 * it has copied for a callback when the colon after it is missing, and
	 * outside the server nothing frees it.  A valid document then parses
	 * again without error.
	 */
	if (parse(json, len, &nullSemAction) != JSON_SUCCESS)
		return false;

	st.field = field;
	st.out = out;
	st.outlen = outlen;
	sem.semstate = &st;
	sem.object_start = object_start;
	sem.object_end = container_end;
	sem.array_start = array_start;
	sem.array_end = container_end;
	sem.object_field_start = field_start;
	sem.scalar = scalar;
	if (parse(json, len, &sem) != JSON_SUCCESS || !st.object || st.bad)
	{
		out[0] = '\0';
		return false;
	}
	*found = st.got;
	return true;
}

/* The n ASCII digits at s[i] as a number, if they are all digits. */
static bool
digits(const char *s, size_t i, int n, int *v)
{
	int			r = 0;
	int			k;

	for (k = 0; k < n; k++)
	{
		if (s[i + k] < '0' || s[i + k] > '9')
			return false;
		r = r * 10 + (s[i + k] - '0');
	}
	*v = r;
	return true;
}

/* Whether y is a leap year of the proleptic Gregorian calendar. */
static inline bool
leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil): years are counted from March so the
 * leap day ends the year, and grouped in 400-year eras of 146097 days.
 */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era,
				yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Seconds since the epoch of an RFC 3339 date-time; see awsjson.h. */
bool
vigil_iso8601_to_time(const char *s, size_t len, time_t *out)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30,
	31, 31, 30, 31, 30, 31};
	int			year,
				mon,
				day,
				hour,
				min,
				sec,
				oh = 0,
				om = 0;
	int64_t		offset = 0,
				t;
	size_t		i;
	time_t		tt;

	/* "YYYY-MM-DDTHH:MM:SS" and at least one more byte for the zone */
	if (len < 20 ||
		!digits(s, 0, 4, &year) || s[4] != '-' ||
		!digits(s, 5, 2, &mon) || s[7] != '-' ||
		!digits(s, 8, 2, &day) || (s[10] != 'T' && s[10] != 't') ||
		!digits(s, 11, 2, &hour) || s[13] != ':' ||
		!digits(s, 14, 2, &min) || s[16] != ':' ||
		!digits(s, 17, 2, &sec))
		return false;

	i = 19;
	if (s[i] == '.')
	{
		i++;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return false;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i >= len)
		return false;
	if (s[i] == 'Z' || s[i] == 'z')
		i++;
	else if (s[i] == '+' || s[i] == '-')
	{
		if (len - i < 6 ||
			!digits(s, i + 1, 2, &oh) || s[i + 3] != ':' ||
			!digits(s, i + 4, 2, &om) || oh > 23 || om > 59)
			return false;
		offset = (int64_t) (oh * 60 + om) * 60;
		if (s[i] == '-')
			offset = -offset;
		i += 6;
	}
	else
		return false;
	if (i != len)
		return false;

	if (mon < 1 || mon > 12 || day < 1 ||
		day > mdays[mon - 1] + (mon == 2 && leap_year(year)) ||
		hour > 23 || min > 59 || sec > 60)
		return false;

	/* local time minus its offset from UTC is UTC */
	t = days_from_civil(year, mon, day) * 86400 +
		hour * 3600 + min * 60 + sec - offset;

	/* time_t may be narrower than 64 bits (or unsigned) */
	tt = (time_t) t;
	if ((int64_t) tt != t)
		return false;
	*out = tt;
	return true;
}
