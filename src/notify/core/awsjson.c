/*
 * awsjson.c
 *		String fields of flat JSON credential documents, and ISO 8601 times.
 *
 * See awsjson.h for what is accepted.  The JSON tokenizer is one loop over
 * the bytes with an explicit state and a bit stack of open containers (1
 * for an object, 0 for an array), so hostile nesting costs neither stack
 * nor time beyond one pass, and every read is checked against len.
 */
#include "notify/core/awsjson.h"

#include <stdint.h>
#include <string.h>

#include "notify/core/utf8.h"

/* What the tokenizer expects next. */
typedef enum JsonExpect
{
	EXPECT_VALUE,				/* any value */
	EXPECT_VALUE_OR_CLOSE,		/* just after '[' */
	EXPECT_KEY,					/* after ',' in an object */
	EXPECT_KEY_OR_CLOSE,		/* just after '{' */
	EXPECT_COMMA_OR_CLOSE		/* after a complete value */
} JsonExpect;

/*
 * Where a decoded string goes: into out (when not NULL) and/or compared
 * with cmp (when not NULL), byte by byte as it is decoded, so neither keys
 * nor skipped values need a buffer of their own.
 */
typedef struct StrSink
{
	char	   *out;
	size_t		cap;			/* bytes of out, the NUL included */
	const char *cmp;
	size_t		cmplen;
	size_t		n;				/* decoded bytes so far */
	bool		overflow;		/* out was too small */
	bool		differ;			/* the string is not cmp */
	bool		nul;			/* a \u0000 was decoded */
} StrSink;

/* JSON's four insignificant whitespace bytes. */
static inline bool
json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Index of the first non-whitespace byte at or after i, or len. */
static size_t
skip_space(const char *j, size_t len, size_t i)
{
	while (i < len && json_space(j[i]))
		i++;
	return i;
}

/* Feed k decoded bytes to the sink. */
static void
sink_put(StrSink *s, const char *p, size_t k)
{
	size_t		i;

	for (i = 0; i < k; i++)
	{
		if (s->cmp != NULL &&
			(s->n >= s->cmplen || s->cmp[s->n] != p[i]))
			s->differ = true;
		if (s->out != NULL)
		{
			if (s->n + 1 < s->cap)
				s->out[s->n] = p[i];
			else
				s->overflow = true;
		}
		if (p[i] == '\0')
			s->nul = true;
		s->n++;
	}
}

/* The four hex digits at j[i], if they are all there. */
static bool
hex4(const char *j, size_t len, size_t i, uint32_t *v)
{
	uint32_t	r = 0;
	size_t		k;
	char		c;

	if (i > len || len - i < 4)
		return false;
	for (k = 0; k < 4; k++)
	{
		c = j[i + k];
		r <<= 4;
		if (c >= '0' && c <= '9')
			r |= (uint32_t) (c - '0');
		else if (c >= 'a' && c <= 'f')
			r |= (uint32_t) (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			r |= (uint32_t) (c - 'A' + 10);
		else
			return false;
	}
	*v = r;
	return true;
}

/*
 * Decode the string whose opening quote is at j[*pos] into s, and move
 * *pos past its closing quote.  False when it is not a valid JSON string.
 */
static bool
scan_string(const char *j, size_t len, size_t *pos, StrSink *s)
{
	size_t		i = *pos + 1;
	unsigned char c;
	uint32_t	cp,
				lo;
	char		enc[4];
	size_t		k;

	for (;;)
	{
		if (i >= len)
			return false;		/* unterminated */
		c = (unsigned char) j[i];
		if (c == '"')
			break;
		if (c < 0x20)
			return false;		/* raw control characters must be escaped */
		if (c != '\\')
		{
			k = vigil_utf8_seq_len((const unsigned char *) j + i, len - i);
			if (k == 0)
				return false;
			sink_put(s, j + i, k);
			i += k;
			continue;
		}

		if (i + 1 >= len)
			return false;
		switch (j[i + 1])
		{
			case '"':
			case '\\':
			case '/':
				enc[0] = j[i + 1];
				break;
			case 'b':
				enc[0] = '\b';
				break;
			case 'f':
				enc[0] = '\f';
				break;
			case 'n':
				enc[0] = '\n';
				break;
			case 'r':
				enc[0] = '\r';
				break;
			case 't':
				enc[0] = '\t';
				break;
			case 'u':
				if (!hex4(j, len, i + 2, &cp))
					return false;
				i += 6;
				if (cp >= 0xDC00 && cp <= 0xDFFF)
					return false;	/* a low surrogate with no high one */
				if (cp >= 0xD800 && cp <= 0xDBFF)
				{
					/* a high surrogate must be followed by \u and a low one */
					if (i + 1 >= len || j[i] != '\\' || j[i + 1] != 'u' ||
						!hex4(j, len, i + 2, &lo) ||
						lo < 0xDC00 || lo > 0xDFFF)
						return false;
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					i += 6;
				}
				sink_put(s, enc, vigil_utf8_encode(cp, enc));
				continue;
			default:
				return false;
		}
		sink_put(s, enc, 1);
		i += 2;
	}
	*pos = i + 1;
	return true;
}

/* Whether j[i] is an ASCII digit; false at the end of the input. */
static inline bool
digit_at(const char *j, size_t len, size_t i)
{
	return i < len && j[i] >= '0' && j[i] <= '9';
}

/* Skip the number starting at j[*pos], checking RFC 8259's grammar. */
static bool
scan_number(const char *j, size_t len, size_t *pos)
{
	size_t		i = *pos;

	if (i < len && j[i] == '-')
		i++;
	if (!digit_at(j, len, i))
		return false;
	/* no leading zeros: "0" stands alone */
	if (j[i] == '0')
		i++;
	else
		while (digit_at(j, len, i))
			i++;
	if (i < len && j[i] == '.')
	{
		i++;
		if (!digit_at(j, len, i))
			return false;
		while (digit_at(j, len, i))
			i++;
	}
	if (i < len && (j[i] == 'e' || j[i] == 'E'))
	{
		i++;
		if (i < len && (j[i] == '+' || j[i] == '-'))
			i++;
		if (!digit_at(j, len, i))
			return false;
		while (digit_at(j, len, i))
			i++;
	}
	*pos = i;
	return true;
}

/* Skip the literal word (true, false or null) if it is at j[*pos]. */
static bool
scan_literal(const char *j, size_t len, size_t *pos, const char *word)
{
	size_t		n = strlen(word);

	if (len - *pos < n || memcmp(j + *pos, word, n) != 0)
		return false;
	*pos += n;
	return true;
}

/* The top-level string member field of the JSON object in json. */
bool
vigil_json_get_string(const char *json, size_t len, const char *field,
					  char *out, size_t outlen, bool *found)
{
	JsonExpect	expect = EXPECT_VALUE;
	uint64_t	is_object = 0;	/* bit d-1: level d is an object */
	int			depth = 0;
	size_t		i = 0;
	bool		seen = false;	/* the field was seen at the top level */
	bool		matched = false;	/* the next value is the field's */
	bool		got = false;	/* ... and it was a string, now in out */
	StrSink		s;
	char		c;

	*found = false;
	if (outlen == 0)
		return false;
	out[0] = '\0';

	if (len >= 3 && memcmp(json, "\xEF\xBB\xBF", 3) == 0)
		i = 3;

	for (;;)
	{
		i = skip_space(json, len, i);
		if (i >= len)
			goto fail;			/* truncated */
		c = json[i];

		switch (expect)
		{
			case EXPECT_VALUE_OR_CLOSE:
			case EXPECT_KEY_OR_CLOSE:
				if (c == (expect == EXPECT_KEY_OR_CLOSE ? '}' : ']'))
				{
					i++;
					depth--;
					expect = EXPECT_COMMA_OR_CLOSE;
					break;
				}
				expect = expect == EXPECT_KEY_OR_CLOSE ?
					EXPECT_KEY : EXPECT_VALUE;
				continue;		/* same byte, new expectation */

			case EXPECT_KEY:
				if (c != '"')
					goto fail;
				memset(&s, 0, sizeof(s));
				if (depth == 1)
				{
					s.cmp = field;
					s.cmplen = strlen(field);
				}
				if (!scan_string(json, len, &i, &s))
					goto fail;
				if (depth == 1 && !s.differ && s.n == s.cmplen)
				{
					if (seen)
						goto fail;	/* duplicate member: ambiguous */
					seen = true;
					matched = true;
				}
				i = skip_space(json, len, i);
				if (i >= len || json[i] != ':')
					goto fail;
				i++;
				expect = EXPECT_VALUE;
				break;

			case EXPECT_VALUE:
				if (depth == 0 && c != '{')
					goto fail;	/* the document must be an object */
				if (matched && c != '"' && c != 'n')
					goto fail;	/* the field is not a string */
				if (c == '{' || c == '[')
				{
					if (depth >= VIGIL_JSON_MAX_DEPTH)
						goto fail;
					if (c == '{')
						is_object |= UINT64_C(1) << depth;
					else
						is_object &= ~(UINT64_C(1) << depth);
					depth++;
					i++;
					expect = c == '{' ? EXPECT_KEY_OR_CLOSE :
						EXPECT_VALUE_OR_CLOSE;
					break;
				}
				if (c == '"')
				{
					memset(&s, 0, sizeof(s));
					if (matched)
					{
						s.out = out;
						s.cap = outlen;
					}
					if (!scan_string(json, len, &i, &s))
						goto fail;
					if (matched)
					{
						if (s.overflow || s.nul)
							goto fail;
						out[s.n] = '\0';
						got = true;
					}
				}
				else if (c == 't')
				{
					if (!scan_literal(json, len, &i, "true"))
						goto fail;
				}
				else if (c == 'f')
				{
					if (!scan_literal(json, len, &i, "false"))
						goto fail;
				}
				else if (c == 'n')
				{
					/* a null field counts as absent */
					if (!scan_literal(json, len, &i, "null"))
						goto fail;
				}
				else if (c == '-' || (c >= '0' && c <= '9'))
				{
					if (!scan_number(json, len, &i))
						goto fail;
				}
				else
					goto fail;
				matched = false;
				expect = EXPECT_COMMA_OR_CLOSE;
				break;

			case EXPECT_COMMA_OR_CLOSE:
				if (depth == 0)
				{
					/* the top-level object is closed: only whitespace left */
					goto fail;
				}
				if (c == ',')
				{
					i++;
					expect = (is_object >> (depth - 1)) & 1 ?
						EXPECT_KEY : EXPECT_VALUE;
				}
				else if (c == ((is_object >> (depth - 1)) & 1 ? '}' : ']'))
				{
					i++;
					depth--;
				}
				else
					goto fail;
				break;
		}

		if (depth == 0 && expect == EXPECT_COMMA_OR_CLOSE)
		{
			if (skip_space(json, len, i) != len)
				goto fail;
			*found = got;
			return true;
		}
	}

fail:
	out[0] = '\0';
	*found = false;
	return false;
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
