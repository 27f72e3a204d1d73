/*
 * awsjson.h
 *		Read string fields from the JSON credential documents of the ECS
 *		container credentials endpoint and EC2 instance metadata (IMDS),
 *		and turn their ISO 8601 "Expiration" into a time_t.
 *
 * Both endpoints answer with one flat JSON object, e.g.
 *
 *		{"Code":"Success","LastUpdated":"2026-11-21T06:00:00Z",
 *		 "Type":"AWS-HMAC","AccessKeyId":"ASIA...","SecretAccessKey":"...",
 *		 "Token":"...","Expiration":"2026-11-21T12:00:00Z"}
 *
 * vigil_json_get_string validates the whole document as RFC 8259 JSON
 * whose top-level value is an object, and returns one of its top-level
 * string members.  The parser is PostgreSQL's (common/jsonapi.h), so a
 * "Token" inside a nested object is never mistaken for the top-level one.
 * Nesting is limited to VIGIL_JSON_MAX_DEPTH levels (the top-level object
 * is level 1); deeper documents are refused before parsing, as the parser
 * recurses.  Member names are compared after decoding escapes, byte for
 * byte (case-sensitive, no Unicode normalization).
 *
 * Decoding: escapes are decoded to UTF-8, a surrogate pair to one 4-byte
 * character.  A lone surrogate, a \u0000 anywhere (PostgreSQL's text
 * cannot hold it), raw control characters (below 0x20) and bytes that are
 * not well-formed UTF-8 (overlong forms, surrogates, above U+10FFFF, NUL)
 * make the document invalid, so the value returned is always valid UTF-8.
 * A leading UTF-8 byte order mark is ignored, as RFC 8259 allows.
 *
 * Contract of vigil_json_get_string: json need not be NUL-terminated and
 * nothing at or beyond json[len] is read; field is a NUL-terminated name.
 * It returns false when the document is not valid JSON or its top-level
 * value is not an object; when the field occurs more than once at the top
 * level (parsers disagree on which copy wins, so none is trusted); when
 * its value is neither a string nor null; when the decoded string does
 * not fit in outlen bytes including the terminating NUL (it is never
 * truncated); or when outlen is 0.  Otherwise it returns true with *found
 * telling whether the field is present: a string value is then in out,
 * NUL-terminated; an absent field or a null value leaves *found false and
 * out "".  On false, *found is false and out is "" (when outlen is 0
 * nothing is written to out).  Memory is palloc'd while parsing (malloc
 * outside the server) and freed before returning.
 *
 * vigil_iso8601_to_time accepts the RFC 3339 date-time profile of ISO 8601
 * that AWS uses, and nothing looser:
 *
 *		YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
 *
 * with 'T' and 'Z' also accepted in lower case (RFC 3339 allows it).  The
 * date must exist in the proleptic Gregorian calendar (no February 30, and
 * February 29 only in leap years); hours are 00-23 and minutes 00-59; a
 * leap second, :60, is accepted and is the same instant as the next
 * minute's :00, as in POSIX time.  The fraction (any number of digits) is
 * dropped, which rounds the instant down to the whole second.  The offset
 * is subtracted to get UTC.  The arithmetic is done here, with the days
 * from civil algorithm, rather than with timegm() or mktime(), whose
 * results depend on TZ and which are not in C99.  It returns false, leaving
 * *out untouched, for anything else, including a result beyond time_t.
 */
#ifndef VIGIL_AWSJSON_H
#define VIGIL_AWSJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Deepest nesting of objects and arrays accepted, the top level included. */
#define VIGIL_JSON_MAX_DEPTH 64

extern bool vigil_json_get_string(const char *json, size_t len,
								  const char *field, char *out,
								  size_t outlen, bool *found);

extern bool vigil_iso8601_to_time(const char *s, size_t len, time_t *out);

#endif							/* VIGIL_AWSJSON_H */
