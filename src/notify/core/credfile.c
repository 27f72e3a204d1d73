/*
 * credfile.c
 *		The AWS shared credentials file, read as botocore reads it.
 *
 * See credfile.h for the rules.  The file is scanned once, line by line,
 * with configparser's state (current section, whether a key line was seen
 * since the header, the indentation that a continuation line must exceed)
 * and, for the requested profile and [DEFAULT], where each of the four
 * keys we want was set.  Values are not copied until the end, when the
 * profile's keys are merged with [DEFAULT]'s and checked.
 *
 * One approximation, beyond the duplicates described in credfile.h:
 * botocore parses a multi-line value of a [DEFAULT] key (one with an empty
 * first line) as nested "k = v" lines only when some section inherits it,
 * i.e. does not set the key itself; we treat it as inherited whenever
 * there is any other section, which would take per-key memory to refine.
 */
#include "notify/core/credfile.h"

#include <string.h>

#include "notify/core/utf8.h"

/* The keys we read, in the order they are kept in a KeySlot array. */
enum
{
	KEY_ACCESS,
	KEY_SECRET,
	KEY_SECURITY_TOKEN,
	KEY_SESSION_TOKEN,
	NUM_KEYS
};

static const char *const key_names[NUM_KEYS] = {
	"aws_access_key_id",
	"aws_secret_access_key",
	"aws_security_token",
	"aws_session_token",
};

/* Where one key was set in one section. */
typedef struct KeySlot
{
	bool		set;
	bool		multiline;		/* a continuation line followed it */
	size_t		off;			/* its trimmed value: buf[off .. off + len) */
	size_t		len;
	int			line;
} KeySlot;

/* Which kind of section the current line belongs to. */
typedef enum SectionKind
{
	SECT_NONE,					/* before the first header */
	SECT_PROFILE,				/* the requested profile */
	SECT_DEFAULT,				/* [DEFAULT] */
	SECT_OTHER
} SectionKind;

/* Whether c is an ASCII byte that Python's str.isspace() accepts. */
static inline bool
ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' ||
		(c >= 0x1C && c <= 0x1F);
}

/*
 * Byte length of the UTF-8 encoded non-ASCII whitespace character (for
 * str.isspace(): U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029,
 * U+202F, U+205F, U+3000) in the n bytes at p, or 0 when p does not start
 * with one.
 */
static size_t
unicode_space(const unsigned char *p, size_t n)
{
	if (n >= 2 && p[0] == 0xC2 && (p[1] == 0x85 || p[1] == 0xA0))
		return 2;
	if (n < 3)
		return 0;
	if ((p[0] == 0xE1 && p[1] == 0x9A && p[2] == 0x80) ||
		(p[0] == 0xE2 && p[1] == 0x80 &&
		 ((p[2] >= 0x80 && p[2] <= 0x8A) || p[2] == 0xA8 || p[2] == 0xA9 ||
		  p[2] == 0xAF)) ||
		(p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0x9F) ||
		(p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80))
		return 3;
	return 0;
}

/* Byte length of the whitespace character at buf[i] (i < end), or 0. */
static size_t
space_at(const char *buf, size_t i, size_t end)
{
	if (ascii_space(buf[i]))
		return 1;
	return unicode_space((const unsigned char *) buf + i, end - i);
}

/*
 * Byte length of the whitespace character ending at buf[e - 1] (e > s),
 * or 0.  The text is valid UTF-8 by now, so a lead byte found 2 or 3 bytes
 * back does start the character that ends there.
 */
static size_t
space_before(const char *buf, size_t s, size_t e)
{
	if (ascii_space(buf[e - 1]))
		return 1;
	if (e - s >= 2 && unicode_space((const unsigned char *) buf + e - 2, 2) == 2)
		return 2;
	if (e - s >= 3 && unicode_space((const unsigned char *) buf + e - 3, 3) == 3)
		return 3;
	return 0;
}

/*
 * Whether buf[off .. off + len) is name (lowercase ASCII) after Python's
 * str.lower(): ASCII letters fold, and so does U+212A KELVIN SIGN, the one
 * non-ASCII character whose lowercase is ASCII ('k').
 */
static bool
key_equals(const char *buf, size_t off, size_t len, const char *name)
{
	const unsigned char *p = (const unsigned char *) buf + off;
	size_t		i = 0;
	unsigned char c;

	for (; *name != '\0'; name++)
	{
		if (i >= len)
			return false;
		c = p[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char) (c - 'A' + 'a');
		else if (c == 0xE2 && len - i >= 3 && p[i + 1] == 0x84 &&
				 p[i + 2] == 0xAA)
		{
			c = 'k';
			i += 2;
		}
		if (c != (unsigned char) *name)
			return false;
		i++;
	}
	return i == len;
}

/*
 * Byte length of a str.splitlines() line boundary other than CR and LF at
 * buf[i] (i < end), or 0: \v, \f, 0x1C-0x1E, U+0085, U+2028, U+2029.
 */
static size_t
splitlines_break(const char *buf, size_t i, size_t end)
{
	const unsigned char *p = (const unsigned char *) buf + i;

	if (p[0] == '\v' || p[0] == '\f' || (p[0] >= 0x1C && p[0] <= 0x1E))
		return 1;
	if (end - i >= 2 && p[0] == 0xC2 && p[1] == 0x85)
		return 2;
	if (end - i >= 3 && p[0] == 0xE2 && p[1] == 0x80 &&
		(p[2] == 0xA8 || p[2] == 0xA9))
		return 3;
	return 0;
}

/*
 * Whether botocore's nested-value parser accepts the (trimmed) line
 * buf[s .. e): it splits the value with str.splitlines(), which breaks at
 * more than CR and LF, and needs a '=' in every piece that is not blank.
 */
static bool
nested_line_ok(const char *buf, size_t s, size_t e)
{
	size_t		i = s,
				n;
	bool		blank = true,
				has_eq = false;

	while (i <= e)
	{
		n = i < e ? splitlines_break(buf, i, e) : 0;
		if (i == e || n > 0)
		{
			/* end of a piece */
			if (!blank && !has_eq)
				return false;
			blank = true;
			has_eq = false;
			i += n > 0 ? n : 1;
			continue;
		}
		if (buf[i] == '=')
			has_eq = true;
		if ((n = space_at(buf, i, e)) > 0)
			i += n;
		else
		{
			blank = false;
			i++;
		}
	}
	return true;
}

/* Whether every byte of the value is visible ASCII (no space). */
static bool
visible_ascii(const char *buf, const KeySlot *k)
{
	size_t		i;

	for (i = 0; i < k->len; i++)
		if (buf[k->off + i] < 0x21 || buf[k->off + i] > 0x7E)
			return false;
	return true;
}

/* Record a failure in out and return its status. */
static VigilCredStatus
fail(VigilAwsCredentials *out, VigilCredStatus status, int line,
	 const char *why)
{
	memset(out, 0, sizeof(*out));
	out->line = line;
	out->why = why;
	return status;
}

/*
 * Check the value chosen for a key and copy it to dst (of max bytes plus
 * the NUL).  Returns VIGIL_CRED_FOUND or the failure already recorded.
 */
static VigilCredStatus
take_value(const char *buf, const KeySlot *k, char *dst, size_t max,
		   VigilAwsCredentials *out)
{
	if (k->multiline)
		return fail(out, VIGIL_CRED_MALFORMED, k->line,
					"credential value continues on the next line");
	if (!visible_ascii(buf, k))
		return fail(out, VIGIL_CRED_MALFORMED, k->line,
					"credential value has bytes other than visible ASCII");
	if (k->len > max)
		return fail(out, VIGIL_CRED_TOO_LONG, k->line,
					"credential value too long");
	memcpy(dst, buf + k->off, k->len);
	dst[k->len] = '\0';
	return VIGIL_CRED_FOUND;
}

/* The profile's keys from a shared credentials file; see credfile.h. */
VigilCredStatus
vigil_credfile_parse(const char *buf, size_t len, const char *profile,
					 VigilAwsCredentials *out)
{
	KeySlot		prof[NUM_KEYS],
				dflt[NUM_KEYS],
			   *slots,
			   *cur_slot = NULL;	/* the wanted key the last key line set */
	const KeySlot *eff[NUM_KEYS];
	SectionKind sect = SECT_NONE;
	size_t		profile_len;
	size_t		pos = 0,
				ls,
				le,
				s,
				e,
				d,
				kend,
				n,
				indent,
				indent_level = 0;	/* in characters, as Python counts */
	int			lineno = 0,
				k,
				nested_default_line = 0;
	bool		have_key = false;	/* a key line since the header */
	bool		key_value_empty = false;	/* ... with an empty value */
	bool		profile_seen = false;
	bool		other_section = false;
	VigilCredStatus st;

	if (profile == NULL)
		profile = "default";
	profile_len = strlen(profile);
	memset(prof, 0, sizeof(prof));
	memset(dflt, 0, sizeof(dflt));
	memset(out, 0, sizeof(*out));

	/* Python decodes the whole file first: one bad byte fails it all */
	for (pos = 0, lineno = 1; pos < len; pos += n)
	{
		n = vigil_utf8_seq_len((const unsigned char *) buf + pos, len - pos);
		if (n == 0)
			return fail(out, VIGIL_CRED_MALFORMED, lineno,
						"file is not valid UTF-8");
		if (buf[pos] == '\n' ||
			(buf[pos] == '\r' && !(pos + 1 < len && buf[pos + 1] == '\n')))
			lineno++;
	}

	pos = 0;
	lineno = 0;
	while (pos < len)
	{
		/* the next line is buf[ls .. le); LF, CRLF and CR end lines */
		ls = pos;
		while (pos < len && buf[pos] != '\n' && buf[pos] != '\r')
			pos++;
		le = pos;
		if (pos < len)
			pos += (buf[pos] == '\r' && pos + 1 < len &&
					buf[pos + 1] == '\n') ? 2 : 1;
		lineno++;

		indent = 0;
		for (s = ls; s < le && (n = space_at(buf, s, le)) > 0; s += n)
			indent++;
		for (e = le; e > s && (n = space_before(buf, s, e)) > 0; e -= n)
			;
		/* blank lines and comments change no state at all */
		if (s == e || buf[s] == '#' || buf[s] == ';')
			continue;

		if (sect != SECT_NONE && have_key && indent > indent_level)
		{
			/* a continuation of the last key's value */
			if (cur_slot != NULL)
				cur_slot->multiline = true;

			/*
			 * botocore parses a value that starts on the next line as
			 * nested "k = v" lines and fails on any other.
			 */
			if (key_value_empty && !nested_line_ok(buf, s, e))
			{
				if (sect != SECT_DEFAULT)
					return fail(out, VIGIL_CRED_MALFORMED, lineno,
								"nested value line without '='");
				if (nested_default_line == 0)
					nested_default_line = lineno;
			}
			continue;
		}
		indent_level = indent;

		if (buf[s] == '[')
		{
			/* "[" name "]": the name ends at the last ']' of the line */
			for (d = e - 1; d > s + 1 && buf[d] != ']'; d--)
				;
			if (d > s + 1)
			{
				have_key = false;
				cur_slot = NULL;
				if (d - s - 1 == 7 && memcmp(buf + s + 1, "DEFAULT", 7) == 0)
					sect = SECT_DEFAULT;
				else if (d - s - 1 == profile_len &&
						 memcmp(buf + s + 1, profile, profile_len) == 0)
				{
					if (profile_seen)
						return fail(out, VIGIL_CRED_MALFORMED, lineno,
									"profile appears twice");
					profile_seen = true;
					other_section = true;
					sect = SECT_PROFILE;
				}
				else
				{
					other_section = true;
					sect = SECT_OTHER;
				}
				continue;
			}
			/* "[]" and "[x" are not headers: try them as key lines */
		}

		if (sect == SECT_NONE)
			return fail(out, VIGIL_CRED_MALFORMED, lineno,
						"line before the first [section] header");

		/* key line: the first '=' or ':' splits it */
		for (d = s; d < e && buf[d] != '=' && buf[d] != ':'; d++)
			;
		if (d == e)
			return fail(out, VIGIL_CRED_MALFORMED, lineno,
						"line is neither [section] nor key = value");
		for (kend = d; kend > s && (n = space_before(buf, s, kend)) > 0;
			 kend -= n)
			;
		if (kend == s)
			return fail(out, VIGIL_CRED_MALFORMED, lineno, "empty key name");
		for (d++; d < e && (n = space_at(buf, d, e)) > 0; d += n)
			;
		have_key = true;
		key_value_empty = d == e;
		cur_slot = NULL;

		if (sect != SECT_PROFILE && sect != SECT_DEFAULT)
			continue;
		slots = sect == SECT_PROFILE ? prof : dflt;
		for (k = 0; k < NUM_KEYS; k++)
		{
			if (!key_equals(buf, s, kend - s, key_names[k]))
				continue;
			if (slots[k].set)
				return fail(out, VIGIL_CRED_MALFORMED, lineno,
							"key appears twice in the section");
			slots[k].set = true;
			slots[k].off = d;
			slots[k].len = e - d;
			slots[k].line = lineno;
			cur_slot = &slots[k];
			break;
		}
	}

	if (nested_default_line != 0 && other_section)
		return fail(out, VIGIL_CRED_MALFORMED, nested_default_line,
					"nested value line without '='");
	if (!profile_seen)
		return fail(out, VIGIL_CRED_NO_PROFILE, 0, "profile not found");

	/* the profile's own keys, else [DEFAULT]'s */
	for (k = 0; k < NUM_KEYS; k++)
		eff[k] = prof[k].set ? &prof[k] : dflt[k].set ? &dflt[k] : NULL;

	/* an indented line swallowed by the line above: say so first */
	for (k = KEY_ACCESS; k <= KEY_SECRET; k++)
		if (eff[k] != NULL && eff[k]->multiline)
			return fail(out, VIGIL_CRED_MALFORMED, eff[k]->line,
						"credential value continues on the next line");

	if (eff[KEY_ACCESS] == NULL && eff[KEY_SECRET] == NULL)
		return fail(out, VIGIL_CRED_NO_KEYS, 0,
					"profile sets no aws_access_key_id");
	if (eff[KEY_ACCESS] == NULL)
		return fail(out, VIGIL_CRED_INCOMPLETE, eff[KEY_SECRET]->line,
					"aws_secret_access_key without aws_access_key_id");
	if (eff[KEY_SECRET] == NULL)
		return fail(out, VIGIL_CRED_INCOMPLETE, eff[KEY_ACCESS]->line,
					"aws_access_key_id without aws_secret_access_key");
	if (eff[KEY_ACCESS]->len == 0)
		return fail(out, VIGIL_CRED_INCOMPLETE, eff[KEY_ACCESS]->line,
					"empty aws_access_key_id");
	if (eff[KEY_SECRET]->len == 0)
		return fail(out, VIGIL_CRED_INCOMPLETE, eff[KEY_SECRET]->line,
					"empty aws_secret_access_key");

	st = take_value(buf, eff[KEY_ACCESS], out->access_key_id,
					VIGIL_CRED_KEY_ID_MAX, out);
	if (st == VIGIL_CRED_FOUND)
		st = take_value(buf, eff[KEY_SECRET], out->secret_access_key,
						VIGIL_CRED_SECRET_MAX, out);

	/* botocore checks aws_security_token first; empty means no token */
	k = eff[KEY_SECURITY_TOKEN] != NULL ? KEY_SECURITY_TOKEN :
		KEY_SESSION_TOKEN;
	if (st == VIGIL_CRED_FOUND && eff[k] != NULL &&
		(eff[k]->len > 0 || eff[k]->multiline))
		st = take_value(buf, eff[k], out->session_token,
						VIGIL_CRED_TOKEN_MAX, out);
	return st;
}

/* A short constant name for a status, for messages. */
const char *
vigil_cred_status_name(VigilCredStatus status)
{
	switch (status)
	{
		case VIGIL_CRED_FOUND:
			return "found";
		case VIGIL_CRED_NO_PROFILE:
			return "profile not found";
		case VIGIL_CRED_NO_KEYS:
			return "no keys in profile";
		case VIGIL_CRED_INCOMPLETE:
			return "incomplete credentials";
		case VIGIL_CRED_TOO_LONG:
			return "value too long";
		case VIGIL_CRED_MALFORMED:
			return "malformed file";
	}
	return "unknown status";
}
