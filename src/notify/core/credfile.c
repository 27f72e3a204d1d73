/*
 * credfile.c
 *		The AWS shared credentials file, in the format the AWS CLI documents.
 *
 * See credfile.h for the rules.  The file is scanned once, line by line;
 * for the requested profile we remember where each key's value is, and
 * copy the values only at the end, once they are checked.  0.1 reproduced
 * Python configparser's quirks as botocore uses it (';' comments, "key:
 * value", [DEFAULT] inheritance, continuation lines, Unicode whitespace,
 * case-folded names, aws_security_token); the AWS CLI documents none of
 * them, and supporting them took three times the code.
 */
#include "notify/core/credfile.h"

#include <string.h>

/* The keys we read, in the order they are kept in a KeySlot array. */
enum
{
	KEY_ACCESS,
	KEY_SECRET,
	KEY_TOKEN,
	NUM_KEYS
};

static const char *const key_names[NUM_KEYS] = {
	"aws_access_key_id",
	"aws_secret_access_key",
	"aws_session_token",
};

/* Where the requested profile set one key. */
typedef struct KeySlot
{
	bool		set;
	size_t		off;			/* its trimmed value: buf[off .. off + len) */
	size_t		len;
	int			line;
} KeySlot;

/* Whether c is blank: the AWS CLI's files are edited by hand. */
static inline bool
blank(char c)
{
	return c == ' ' || c == '\t';
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
 * Check the value set for a key and copy it to dst (of max bytes plus the
 * NUL).  Returns VIGIL_CRED_FOUND or the failure recorded in out.
 */
static VigilCredStatus
take_value(const char *buf, const KeySlot *k, char *dst, size_t max,
		   VigilAwsCredentials *out)
{
	size_t		i;

	for (i = 0; i < k->len; i++)
		if (buf[k->off + i] < 0x21 || buf[k->off + i] > 0x7E)
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
	KeySlot		keys[NUM_KEYS];
	size_t		profile_len,
				pos = 0,
				s,
				e,
				eq,
				kend,
				v;
	int			lineno = 0,
				k;
	bool		in_section = false;
	bool		in_profile = false;
	bool		profile_seen = false;
	VigilCredStatus st;

	if (profile == NULL)
		profile = "default";
	profile_len = strlen(profile);
	memset(keys, 0, sizeof(keys));
	memset(out, 0, sizeof(*out));

	while (pos < len)
	{
		/* the next line is buf[s .. e), trimmed; a CR before the LF too */
		s = pos;
		while (pos < len && buf[pos] != '\n')
			pos++;
		e = pos;
		pos++;
		lineno++;
		while (s < e && blank(buf[s]))
			s++;
		while (e > s && (blank(buf[e - 1]) || buf[e - 1] == '\r'))
			e--;
		if (s == e || buf[s] == '#')
			continue;

		if (buf[s] == '[')
		{
			if (buf[e - 1] != ']' || e - s < 3)
				return fail(out, VIGIL_CRED_MALFORMED, lineno,
							"line is neither [profile] nor setting = value");
			in_section = true;
			in_profile = e - s - 2 == profile_len &&
				memcmp(buf + s + 1, profile, profile_len) == 0;
			if (in_profile && profile_seen)
				return fail(out, VIGIL_CRED_MALFORMED, lineno,
							"profile appears twice");
			profile_seen |= in_profile;
			continue;
		}

		eq = s;
		while (eq < e && buf[eq] != '=')
			eq++;
		if (eq == e)
			return fail(out, VIGIL_CRED_MALFORMED, lineno,
						"line is neither [profile] nor setting = value");
		if (!in_section)
			return fail(out, VIGIL_CRED_MALFORMED, lineno,
						"setting before the first [profile]");
		for (kend = eq; kend > s && blank(buf[kend - 1]); kend--)
			;
		if (kend == s)
			return fail(out, VIGIL_CRED_MALFORMED, lineno, "empty setting name");
		if (!in_profile)
			continue;
		for (v = eq + 1; v < e && blank(buf[v]); v++)
			;
		for (k = 0; k < NUM_KEYS; k++)
		{
			if (kend - s != strlen(key_names[k]) ||
				memcmp(buf + s, key_names[k], kend - s) != 0)
				continue;
			if (keys[k].set)
				return fail(out, VIGIL_CRED_MALFORMED, lineno,
							"key appears twice in the profile");
			keys[k].set = true;
			keys[k].off = v;
			keys[k].len = e - v;
			keys[k].line = lineno;
		}
	}

	if (!profile_seen)
		return fail(out, VIGIL_CRED_NO_PROFILE, 0, "profile not found");
	if (!keys[KEY_ACCESS].set && !keys[KEY_SECRET].set)
		return fail(out, VIGIL_CRED_NO_KEYS, 0,
					"profile sets no aws_access_key_id");
	if (!keys[KEY_ACCESS].set)
		return fail(out, VIGIL_CRED_INCOMPLETE, keys[KEY_SECRET].line,
					"aws_secret_access_key without aws_access_key_id");
	if (!keys[KEY_SECRET].set)
		return fail(out, VIGIL_CRED_INCOMPLETE, keys[KEY_ACCESS].line,
					"aws_access_key_id without aws_secret_access_key");
	if (keys[KEY_ACCESS].len == 0)
		return fail(out, VIGIL_CRED_INCOMPLETE, keys[KEY_ACCESS].line,
					"empty aws_access_key_id");
	if (keys[KEY_SECRET].len == 0)
		return fail(out, VIGIL_CRED_INCOMPLETE, keys[KEY_SECRET].line,
					"empty aws_secret_access_key");

	st = take_value(buf, &keys[KEY_ACCESS], out->access_key_id,
					VIGIL_CRED_KEY_ID_MAX, out);
	if (st == VIGIL_CRED_FOUND)
		st = take_value(buf, &keys[KEY_SECRET], out->secret_access_key,
						VIGIL_CRED_SECRET_MAX, out);
	if (st == VIGIL_CRED_FOUND)
		st = take_value(buf, &keys[KEY_TOKEN], out->session_token,
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
