/*
 * credfile.h
 *		Read one profile's keys from the AWS shared credentials file
 *		(~/.aws/credentials).
 *
 * The format is the one the AWS CLI documents for its configuration and
 * credential files (cli-configure-files), and nothing more:
 *
 *		[default]
 *		aws_access_key_id = AKIAIOSFODNN7EXAMPLE
 *		aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
 *		aws_session_token = IQoJb3JpZ2luX2Vj...
 *
 *	- Lines end with LF or CRLF; spaces and tabs around a line are ignored.
 *	  An empty line, or one starting with '#', is skipped.
 *	- "[name]" starts the profile name (the credentials file has no
 *	  "profile " prefix, unlike ~/.aws/config); names are case-sensitive.
 *	- "setting_name = value" (the first '=' splits; spaces and tabs around
 *	  the name and the value are ignored) sets a setting of the profile.
 *	  An indented line is a setting like any other.
 *	- Any other line, or a setting before the first "[name]", makes the
 *	  file malformed, whichever profile is asked for.
 *	- The requested profile appearing twice, or one of the keys below twice
 *	  in it, is malformed: which one counts would be a guess.
 *
 * Keys read, by their exact names: aws_access_key_id,
 * aws_secret_access_key and aws_session_token (empty means no token).  An
 * access key id without its secret, or the other way round, or either
 * empty, is INCOMPLETE; the three values must be visible ASCII (0x21-0x7E),
 * since they go into an HTTP header and a signature where anything else
 * could only break the request or inject a header.
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
