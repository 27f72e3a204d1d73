/*
 * sqlscan.c
 *		Whether a statement's text may name a setting (see sqlscan.h).
 *
 * One pass over the text, token by token as PostgreSQL's scanner (scan.l)
 * splits it.  The decoded text of each identifier and of each run of
 * adjacent strings goes through a window holding its last bytes, in lower
 * case, which is checked for a name each time a name's last byte arrives;
 * identifiers also feed a two-token memory, so that "part . part" is
 * recognised whatever lies between the tokens.  The body of each string is
 * also read as SQL (a DO block, a statement a function EXECUTEs), in a copy,
 * two levels deep.
 */
#include "core/sqlscan.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of decoded text kept: more than any name. */
#define WINDOW 64

/* The kind of the last significant tokens, for "part . part". */
typedef enum Token
{
	TOKEN_NONE,
	TOKEN_WORD,
	TOKEN_DOT,
	TOKEN_OTHER
} Token;

typedef struct Scan
{
	const char *p;				/* the next byte to read */
	const char *const *names;
	int			nnames;
	bool		ends[256];		/* the last bytes of the names */
	bool		escapes;		/* plain strings read as E'' strings */
	bool		found;			/* a name, or doubt */

	/* the current identifier or run of strings, its last bytes */
	char		window[2 * WINDOW];
	size_t		wlen;

	/* the word being read, and the last word read */
	char		cur[WINDOW];
	size_t		curlen;
	bool		curlong;
	char		word[WINDOW];
	size_t		wordlen;
	bool		wordlong;
	Token		prev;			/* the last significant token */
	Token		prev2;			/* the one before it */
	bool		in_strings;		/* the last token was a string */
	char		run;			/* its kind: 'e' E'', 'u' U&'', 'p' any other */
	int			depth;			/* strings read as SQL inside strings */
} Scan;

/* How deep strings holding SQL (DO bodies, EXECUTE's strings) are read. */
#define MAX_DEPTH 2

static bool scan(const char *sql, const char *const *names, int nnames, bool escapes, int depth);

/* ASCII lower case, as PostgreSQL folds identifiers and compares setting names. */
static unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char) (c - 'A' + 'a') : c;
}

/* Start a new window: what follows is not part of what came before. */
static void
window_reset(Scan *s)
{
	s->wlen = 0;
}

/* One decoded byte of an identifier or string. */
static void
feed(Scan *s, unsigned char c)
{
	c = lower(c);
	if (s->wlen == sizeof(s->window))
	{
		memmove(s->window, s->window + WINDOW, WINDOW);
		s->wlen = WINDOW;
	}
	s->window[s->wlen++] = (char) c;
	if (s->curlen < sizeof(s->cur))
		s->cur[s->curlen++] = (char) c;
	else
		s->curlong = true;
	if (!s->ends[c])
		return;					/* the usual byte: no name ends with it */
	for (int i = 0; i < s->nnames; i++)
	{
		size_t		n = strlen(s->names[i]);

		if (n > 0 && (unsigned char) s->names[i][n - 1] == c && n <= s->wlen &&
			memcmp(s->window + s->wlen - n, s->names[i], n) == 0)
			s->found = true;
	}
}

/* A decoded code point: names are ASCII, so anything else matches nothing. */
static void
feed_code_point(Scan *s, uint32_t cp)
{
	feed(s, cp < 0x80 ? (unsigned char) cp : 0xFF);
}

/* Note a significant token of kind t, after a word's bytes were fed. */
static void
token(Scan *s, Token t)
{
	if (t == TOKEN_WORD)
	{
		/* "part . part": the word before the dot, and this one */
		if (s->prev == TOKEN_DOT && s->prev2 == TOKEN_WORD && !s->wordlong && !s->curlong)
		{
			for (int i = 0; i < s->nnames; i++)
			{
				const char *dot = strchr(s->names[i], '.');

				if (dot != NULL &&
					(size_t) (dot - s->names[i]) == s->wordlen &&
					memcmp(s->names[i], s->word, s->wordlen) == 0 &&
					strlen(dot + 1) == s->curlen &&
					memcmp(dot + 1, s->cur, s->curlen) == 0)
					s->found = true;
			}
		}
		memcpy(s->word, s->cur, s->curlen);
		s->wordlen = s->curlen;
		s->wordlong = s->curlong;
	}
	s->prev2 = s->prev;
	s->prev = t;
	s->in_strings = false;
}

/* Begin reading a word or string: a fresh window unless strings continue. */
static void
begin(Scan *s, bool string)
{
	if (!(string && s->in_strings))
		window_reset(s);
	s->curlen = 0;
	s->curlong = false;
}

/* The value of hex digit c, or -1. */
static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Read n hex digits at p into *cp; false unless there are n. */
static bool
hex_digits(const char *p, int n, uint32_t *cp)
{
	*cp = 0;
	for (int i = 0; i < n; i++)
	{
		int			v = hex_value((unsigned char) p[i]);

		if (v < 0)
			return false;
		*cp = *cp * 16 + (uint32_t) v;
	}
	return true;
}

/*
 * A string of the kind E'', from its opening quote: backslash escapes as
 * PostgreSQL decodes them, '' for a quote.  False when it does not end.
 */
static bool
escape_string(Scan *s)
{
	const char *p = s->p + 1;

	for (;;)
	{
		unsigned char c = (unsigned char) *p;
		uint32_t	cp;

		if (c == '\0')
			return false;
		if (c == '\'')
		{
			if (p[1] != '\'')
				break;
			feed(s, '\'');
			p += 2;
			continue;
		}
		if (c != '\\')
		{
			feed(s, c);
			p++;
			continue;
		}
		c = (unsigned char) p[1];
		if (c == '\0')
			return false;
		p += 2;
		switch (c)
		{
			case 'b':
				feed(s, '\b');
				break;
			case 'f':
				feed(s, '\f');
				break;
			case 'n':
				feed(s, '\n');
				break;
			case 'r':
				feed(s, '\r');
				break;
			case 't':
				feed(s, '\t');
				break;
			case 'x':
				if (hex_value((unsigned char) *p) < 0)
				{
					feed(s, 'x');	/* \x without a digit is an x */
					break;
				}
				cp = 0;
				for (int i = 0; i < 2 && hex_value((unsigned char) *p) >= 0; i++)
					cp = cp * 16 + (uint32_t) hex_value((unsigned char) *p++);
				feed_code_point(s, cp);
				break;
			case 'u':
			case 'U':
				if (!hex_digits(p, c == 'u' ? 4 : 8, &cp))
					return false;	/* PostgreSQL refuses it; in doubt */
				p += c == 'u' ? 4 : 8;
				feed_code_point(s, cp);
				break;
			default:
				if (c >= '0' && c <= '7')
				{
					cp = c - '0';
					for (int i = 0; i < 2 && *p >= '0' && *p <= '7'; i++)
						cp = cp * 8 + (uint32_t) (*p++ - '0');
					feed_code_point(s, cp & 0xFF);
				}
				else
					feed(s, c);
				break;
		}
	}
	s->p = p + 1;
	return true;
}

/*
 * A quoted string or identifier, from its opening quote q: a doubled q
 * stands for one, and in the body of U&'' or U&"" (unicode) \XXXX,
 * \+XXXXXX and \\ are escapes.  False when it does not end or an escape is
 * invalid.
 */
static bool
quoted(Scan *s, char q, bool unicode)
{
	const char *p = s->p + 1;

	for (;;)
	{
		uint32_t	cp;

		if (*p == '\0')
			return false;
		if (*p == q)
		{
			if (p[1] != q)
				break;
			p++;
		}
		if (!unicode || *p != '\\')
		{
			feed(s, (unsigned char) *p++);
			continue;
		}
		if (p[1] == '\\')
		{
			feed(s, '\\');
			p += 2;
		}
		else if (p[1] == '+' && hex_digits(p + 2, 6, &cp))
		{
			feed_code_point(s, cp);
			p += 8;
		}
		else if (hex_digits(p + 1, 4, &cp))
		{
			feed_code_point(s, cp);
			p += 5;
		}
		else
			return false;
	}
	s->p = p + 1;
	return true;
}

/* Whether c may start an identifier (or a dollar quote's tag). */
static bool
ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

/* Whether c may continue a dollar quote's tag. */
static bool
tag_char(unsigned char c)
{
	return ident_start(c) || (c >= '0' && c <= '9');
}

/*
 * A dollar-quoted string, from its opening "$tag$" of taglen bytes in all.
 * False when it does not end.
 */
static bool
dollar_quoted(Scan *s, size_t taglen)
{
	const char *tag = s->p;
	const char *p = s->p + taglen;

	for (;;)
	{
		if (*p == '\0')
			return false;
		if (*p == '$' && strncmp(p, tag, taglen) == 0)
			break;
		feed(s, (unsigned char) *p++);
	}
	s->p = p + taglen;
	return true;
}

/* The length of a dollar quote's opening "$tag$" at p, or 0 if none is there. */
static size_t
dollar_tag(const char *p)
{
	size_t		n = 1;

	if (p[1] != '$' && !ident_start((unsigned char) p[1]))
		return 0;				/* $1 is a parameter */
	while (p[n] != '$')
	{
		if (!tag_char((unsigned char) p[n]))
			return 0;
		n++;
	}
	return n + 1;
}

/* Skip a comment at s->p, if one starts there; false if it does not end. */
static bool
skip_comment(Scan *s, bool *skipped)
{
	const char *p = s->p;
	int			depth = 0;

	*skipped = false;
	if (p[0] == '-' && p[1] == '-')
	{
		while (*p != '\0' && *p != '\n' && *p != '\r')
			p++;
		s->p = p;
		*skipped = true;
		return true;
	}
	if (!(p[0] == '/' && p[1] == '*'))
		return true;
	do
	{
		if (p[0] == '/' && p[1] == '*')
		{
			depth++;
			p += 2;
		}
		else if (p[0] == '*' && p[1] == '/')
		{
			depth--;
			p += 2;
		}
		else if (*p == '\0')
			return false;
		else
			p++;
	} while (depth > 0);
	s->p = p;
	*skipped = true;
	return true;
}

/*
 * Read the body of a string, [body, end), as SQL too: a DO block's, or the
 * statement a function EXECUTEs.  True when it may name one of the names.
 */
static bool
scan_body(const Scan *s, const char *body, const char *end)
{
	size_t		n = (size_t) (end - body);
	char	   *copy;
	bool		named;

	if (s->depth >= MAX_DEPTH || n == 0)
		return false;
	copy = malloc(n + 1);
	if (copy == NULL)
		return true;			/* cannot tell: in doubt */
	memcpy(copy, body, n);
	copy[n] = '\0';
	named = scan(copy, s->names, s->nnames, s->escapes, s->depth + 1);
	free(copy);
	return named;
}

/* One pass: plain strings read as standard_conforming_strings says, or as E''. */
static bool
scan(const char *sql, const char *const *names, int nnames, bool escapes, int depth)
{
	Scan		s;

	memset(&s, 0, sizeof(s));
	s.p = sql;
	s.names = names;
	s.nnames = nnames;
	for (int i = 0; i < nnames; i++)
		if (names[i][0] != '\0')
			s.ends[(unsigned char) names[i][strlen(names[i]) - 1]] = true;
	s.escapes = escapes;
	s.depth = depth;
	while (*s.p != '\0' && !s.found)
	{
		unsigned char c = (unsigned char) s.p[0];
		unsigned char c1 = (unsigned char) s.p[1];
		bool		skipped;
		bool		ok = true;
		char		string = '\0';	/* the kind of a string read */
		const char *body = NULL;	/* its body */
		size_t		taglen = 0;

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
		{
			s.p++;
			continue;
		}
		if (!skip_comment(&s, &skipped))
			return true;		/* it does not end: in doubt */
		if (skipped)
			continue;

		if ((c == 'E' || c == 'e') && c1 == '\'')
		{
			string = 'e';
			begin(&s, true);
			s.p++;
			body = s.p + 1;
			ok = escape_string(&s);
		}
		else if ((c == 'U' || c == 'u') && c1 == '&' && s.p[2] == '\'')
		{
			string = 'u';
			begin(&s, true);
			s.p += 2;
			body = s.p + 1;
			ok = quoted(&s, '\'', true);
		}
		else if ((c == 'U' || c == 'u') && c1 == '&' && s.p[2] == '"')
		{
			begin(&s, false);
			s.p += 2;
			ok = quoted(&s, '"', true);
			if (ok)
				token(&s, TOKEN_WORD);
		}
		else if ((c == 'N' || c == 'n' || c == 'B' || c == 'b' || c == 'X' || c == 'x') && c1 == '\'')
		{
			string = 'p';
			begin(&s, true);
			s.p++;
			body = s.p + 1;
			ok = s.escapes ? escape_string(&s) : quoted(&s, '\'', false);
		}
		else if (c == '\'')
		{
			/* a string continuing another keeps that one's escapes */
			string = s.in_strings ? s.run : 'p';
			begin(&s, true);
			body = s.p + 1;
			if (string == 'u')
				ok = quoted(&s, '\'', true);
			else if (string == 'e' || s.escapes)
				ok = escape_string(&s);
			else
				ok = quoted(&s, '\'', false);
		}
		else if (c == '"')
		{
			begin(&s, false);
			ok = quoted(&s, '"', false);
			if (ok)
				token(&s, TOKEN_WORD);
		}
		else if (c == '$' && (taglen = dollar_tag(s.p)) > 0)
		{
			string = 'p';
			begin(&s, true);
			body = s.p + taglen;
			ok = dollar_quoted(&s, taglen);
		}
		else if (ident_start(c))
		{
			begin(&s, false);
			while (tag_char((unsigned char) *s.p) || *s.p == '$')
				feed(&s, (unsigned char) *s.p++);
			token(&s, TOKEN_WORD);
		}
		else if (c == '|' && c1 == '|' && s.in_strings)
		{
			/* strings joined by || are read as one, like adjacent ones */
			s.p += 2;
			continue;
		}
		else
		{
			token(&s, c == '.' ? TOKEN_DOT : TOKEN_OTHER);
			s.p++;
		}
		if (!ok)
			return true;		/* it does not end, or cannot be read: in doubt */
		if (string != '\0')
		{
			/* SQL in the string; s.p is past its closing quote */
			if (!s.found && scan_body(&s, body, s.p - (taglen > 0 ? taglen : 1)))
				return true;
			/* no part of a name; the next string continues this one */
			token(&s, TOKEN_OTHER);
			s.in_strings = true;
			s.run = string;
		}
	}
	return s.found;
}

/* Whether text, of which only ASCII letters fold, contains word in any case. */
static bool
contains_word(const char *text, const char *word)
{
	size_t		n = strlen(word);

	for (const char *p = text; *p != '\0'; p++)
	{
		size_t		i = 0;

		while (i < n && lower((unsigned char) p[i]) == (unsigned char) word[i])
			i++;
		if (i == n)
			return true;
	}
	return false;
}

/* Whether sql may name one of names (see sqlscan.h). */
bool
vigil_sql_may_name(const char *sql, const char *const *names, int nnames)
{
	/* UESCAPE makes another character the escape of U& strings: in doubt */
	if (contains_word(sql, "u&") && contains_word(sql, "uescape"))
		return true;
	if (scan(sql, names, nnames, false, 0))
		return true;
	/* with standard_conforming_strings off, a backslash escapes in any string */
	return strchr(sql, '\\') != NULL && scan(sql, names, nnames, true, 0);
}
