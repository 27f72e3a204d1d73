/*
 * credfile.h
 *		Read one profile's keys from the AWS shared credentials file
 *		(~/.aws/credentials), the way botocore and the AWS CLI do.
 *
 * The file is INI:
 *
 *		[default]
 *		aws_access_key_id = AKIAIOSFODNN7EXAMPLE
 *		aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
 *		aws_session_token = IQoJb3JpZ2luX2Vj...
 *
 * botocore reads it with Python's configparser.RawConfigParser in its
 * default (strict) mode, and SharedCredentialProvider looks the profile up
 * by its bare section name (no "profile " prefix, unlike ~/.aws/config).
 * This parser follows those rules:
 *
 *	- Lines end with LF, CRLF or a lone CR.  A line that is empty after
 *	  trimming whitespace, or whose first non-blank byte is '#' or ';', is
 *	  skipped.  Nothing else is a comment: "key = v # x" has the value
 *	  "v # x", as configparser has no inline comments by default.
 *	- "[name]" starts a section; the name is everything between the first
 *	  '[' and the last ']' of the trimmed line (at least one byte), kept
 *	  as is: section names are case-sensitive and not trimmed.
 *	- "key = value" or "key: value" (the first '=' or ':' splits) sets a
 *	  key.  Key names are case-insensitive (configparser lowercases them);
 *	  whitespace around the key and the value is trimmed.
 *	- A line indented deeper than the key line before it continues that
 *	  key's value (configparser's multi-line values).  A credential never
 *	  spans lines, so a continued credential is malformed; continuations
 *	  of other keys are skipped, but, as in botocore, a key with an empty
 *	  first line continued by a line without '=' is malformed.
 *	- Keys of the special section [DEFAULT] apply to every section that
 *	  does not set them itself; [DEFAULT] is not itself a profile.
 *	- Malformed, for the whole file as in botocore, whichever profile is
 *	  asked for: anything but blank and comment lines before the first
 *	  section header (a UTF-8 byte order mark included: Python's "utf-8"
 *	  codec keeps it and it is not whitespace), a line that is neither a
 *	  section header nor "key = value" nor "key: value", an empty key name.
 *	- Duplicates: configparser's strict mode rejects the whole file when a
 *	  section, or a key within a section, appears twice.  We report
 *	  MALFORMED when it matters for the answer: the requested profile
 *	  appearing twice, or one of the four keys below appearing twice in
 *	  that profile or in [DEFAULT].  Duplicates elsewhere are accepted:
 *	  finding them all would take unbounded memory or quadratic time, and
 *	  they do not change the credentials.
 *
 * Keys read: aws_access_key_id, aws_secret_access_key, and the session
 * token from aws_security_token (botocore's original name, which it
 * checks first and which therefore wins when both are set) or else
 * aws_session_token.  An empty token means no token, as in botocore.
 *
 * Where we are stricter than botocore, so problems show up here with a
 * reason rather than as a signature mismatch from AWS: a secret without an
 * access key id, and an empty access key id or secret, are INCOMPLETE
 * (botocore skips the first and sends the second); the three values must
 * be visible ASCII (0x21-0x7E), since they go into an HTTP header and a
 * signature where anything else could only break the request or inject a
 * header.
 *
 * Text: Python decodes the file as UTF-8 before parsing (the locale's
 * encoding, UTF-8 on any current system), so a file that is not valid
 * UTF-8 is malformed.  Whitespace is what str.isspace() accepts: ASCII
 * space, \t, \v, \f and 0x1C-0x1F, and the Unicode spaces U+0085, U+00A0,
 * U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000 (so a
 * non-breaking space pasted after a key is trimmed, as the CLI does).
 * Indentation is counted in characters.  Key names fold case as
 * str.lower() does, which for these ASCII names means ASCII letters and
 * U+212A KELVIN SIGN (lowercase 'k').
 *
 * Contract: buf need not be NUL-terminated and nothing at or beyond
 * buf[len] is read; profile is a NUL-terminated section name, NULL meaning
 * "default".  Time is linear in len and no memory is allocated.  *out is
 * always fully written: with the credentials for VIGIL_CRED_FOUND, else
 * with empty strings (no partial secret is left behind), and with line and
 * why describing the problem.
 */
#ifndef VIGIL_CREDFILE_H
#define VIGIL_CREDFILE_H

#include <stdbool.h>
#include <stddef.h>

/* Longest accepted values, in bytes, without the terminating NUL. */
#define VIGIL_CRED_KEY_ID_MAX 128
#define VIGIL_CRED_SECRET_MAX 128
#define VIGIL_CRED_TOKEN_MAX 4096

typedef enum VigilCredStatus
{
	VIGIL_CRED_FOUND,			/* access key id and secret, maybe a token */
	VIGIL_CRED_NO_PROFILE,		/* no section of that name */
	VIGIL_CRED_NO_KEYS,			/* the profile sets neither key */
	VIGIL_CRED_INCOMPLETE,		/* only one of the two keys, or one empty */
	VIGIL_CRED_TOO_LONG,		/* a value longer than its maximum above */
	VIGIL_CRED_MALFORMED		/* a syntax error, duplicate or bad value */
} VigilCredStatus;

typedef struct VigilAwsCredentials
{
	char		access_key_id[VIGIL_CRED_KEY_ID_MAX + 1];
	char		secret_access_key[VIGIL_CRED_SECRET_MAX + 1];
	char		session_token[VIGIL_CRED_TOKEN_MAX + 1];	/* "" for none */
	int			line;			/* 1-based line of the problem, or 0 */
	const char *why;			/* static text for a status but FOUND */
} VigilAwsCredentials;

extern VigilCredStatus vigil_credfile_parse(const char *buf, size_t len,
											const char *profile,
											VigilAwsCredentials *out);

/* A short constant name for a status, for messages. */
extern const char *vigil_cred_status_name(VigilCredStatus status);

#endif							/* VIGIL_CREDFILE_H */
