/*
 * profile_io.h
 *		Reading a vigil.profile from outside: the payload of its text form
 *		and its binary form, both validated.
 *
 * The text form is a readable summary followed by the exact payload in
 * hexadecimal,
 *
 *		(n:12,mean:45.1,stddev:3.2,last_time:...,data:\x0100...)
 *
 * and only the payload counts on input: it follows the first "data:\x" and
 * runs to the first ')' after it, which must end the string.  It is exactly
 * 2 * sizeof(VigilProfile) hexadecimal digits, in either case, and nothing
 * else: white space is not skipped (PostgreSQL's hex_decode skips it, which
 * let a payload with blanks decode short and leave bytes unset).  The
 * binary form is the payload's bytes.  Both are checked with
 * vigil_profile_valid, so a corrupted profile can never be stored and later
 * poison detection.
 *
 * A payload starts with its format version (VIGIL_PROFILE_VERSION), and
 * every version ever stored stays readable: vigil_profile_from_stored reads
 * the bytes of a stored profile of any of them into the current layout.  It
 * does not validate (stored profiles were validated on input or made by
 * folding), so that detection, which reads one per key, pays only a copy.
 *
 * These functions know no PostgreSQL: the type's input functions call them
 * and turn a status into an ereport, and the fuzz targets call them on any
 * bytes.  The text is NUL-terminated (a cstring) and nothing after its NUL
 * is read; binary input is (buf, len).  *out is written only on success.
 */
#ifndef VIGIL_PROFILE_IO_H
#define VIGIL_PROFILE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "detect/core/profile.h"

typedef enum VigilProfileInStatus
{
	VIGIL_PROFILE_IN_OK,
	VIGIL_PROFILE_IN_NO_PAYLOAD,	/* text without "data:\x" */
	VIGIL_PROFILE_IN_NO_END,	/* the payload is not closed by ")" at the end */
	VIGIL_PROFILE_IN_BAD_LENGTH,	/* wrong number of digits (text), bytes */
	VIGIL_PROFILE_IN_BAD_DIGIT, /* a byte of the payload is not a hex digit */
	VIGIL_PROFILE_IN_BAD_VERSION,	/* a format version this code does not know */
	VIGIL_PROFILE_IN_INVALID	/* vigil_profile_valid rejected the payload */
} VigilProfileInStatus;

/* What went wrong, for the error message. */
typedef struct VigilProfileInError
{
	size_t		length;			/* BAD_LENGTH: hex digits (text), bytes */
	size_t		offset;			/* BAD_DIGIT: the bad byte is str[offset] */
	uint32_t	version;		/* BAD_VERSION: the version found */
	const char *why;			/* INVALID: vigil_profile_valid's reason */
} VigilProfileInError;

extern VigilProfileInStatus vigil_profile_from_text(const char *str,
													VigilProfile *out,
													VigilProfileInError *err);
extern VigilProfileInStatus vigil_profile_from_stored(const void *buf,
													  size_t len,
													  VigilProfile *out,
													  VigilProfileInError *err);
extern VigilProfileInStatus vigil_profile_from_binary(const void *buf,
													  size_t len,
													  VigilProfile *out,
													  VigilProfileInError *err);

#endif							/* VIGIL_PROFILE_IO_H */
