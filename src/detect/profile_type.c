/*
 * profile_type.c
 *		The vigil.profile type: I/O and reading a profile from SQL.
 *
 * A profile is what detection knows about one key (see
 * detect/core/profile.h).  Its text form starts with a readable summary and
 * ends with the exact payload in hex,
 * (n:12,mean:45.1,stddev:3.2,last_time:...,data:\x...), so pg_dump can
 * restore profiles exactly; input reads only the payload and validates it
 * like binary input does, so a corrupted profile can never be stored and
 * later poison detection.  The parsing and validation are in
 * detect/core/profile_io.c, without PostgreSQL, so they can be fuzzed; the
 * input functions here only turn its verdicts into errors.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "detect/core/profile_io.h"
#include "detect/profile_type.h"

PG_FUNCTION_INFO_V1(vigil_profile_in);
PG_FUNCTION_INFO_V1(vigil_profile_out);
PG_FUNCTION_INFO_V1(vigil_profile_recv);
PG_FUNCTION_INFO_V1(vigil_profile_send);
PG_FUNCTION_INFO_V1(vigil_profile_json);


/* Seconds since the Unix epoch of a timestamptz. */
double
vigil_timestamptz_to_epoch(TimestampTz ts)
{
	return (double) ts / USECS_PER_SEC + VIGIL_PG_EPOCH_OFFSET_S;
}

/* The timestamptz of a time in seconds since the Unix epoch. */
TimestampTz
vigil_epoch_to_timestamptz(double t)
{
	return (TimestampTz) rint((t - VIGIL_PG_EPOCH_OFFSET_S) * USECS_PER_SEC);
}

/* A palloc'd vigil.profile datum holding a copy of p. */
Datum
vigil_profile_datum(const VigilProfile *p)
{
	Size		size = offsetof(VigilProfileData, payload) + sizeof(VigilProfile);
	VigilProfileData *d = palloc0(size);

	SET_VARSIZE(d, size);
	memcpy(d->payload, p, sizeof(VigilProfile));
	return PointerGetDatum(d);
}

/*
 * A stored vigil.profile into *out, in the current layout whatever version
 * it was stored in.  One this library cannot read (written by a newer one,
 * or damaged on disk) is an error naming what is wrong.
 */
void
vigil_profile_get(Datum d, VigilProfile *out)
{
	VigilProfileData *v = (VigilProfileData *) PG_DETOAST_DATUM(d);
	Size		size = VARSIZE(v);
	VigilProfileInError err;
	VigilProfileInStatus status;

	if (size < offsetof(VigilProfileData, payload))
	{
		err.length = 0;
		status = VIGIL_PROFILE_IN_BAD_LENGTH;
	}
	else
		status = vigil_profile_from_stored(v->payload, size - offsetof(VigilProfileData, payload),
										   out, &err);
	if ((Pointer) v != DatumGetPointer(d))
		pfree(v);
	if (status == VIGIL_PROFILE_IN_BAD_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored vigil.profile has format version %u, which this library cannot read",
						err.version),
				 errdetail("This library reads format versions up to %d.", VIGIL_PROFILE_VERSION),
				 errhint("A newer pg_vigil library wrote it: install that one again, or rebuild the profiles with vigil.rebuild().")));
	if (status != VIGIL_PROFILE_IN_OK)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored vigil.profile of %zu bytes has no length a format version has",
						err.length),
				 errhint("Rebuild the profiles with vigil.rebuild().")));
}

/*
 * Report why input that is not a vigil.profile was rejected, with the
 * messages and SQLSTATEs these functions have always used.  str is the text
 * input, NULL for binary input.
 */
static void
profile_input_error(VigilProfileInStatus status, const VigilProfileInError *err,
					const char *str) pg_attribute_noreturn();

static void
profile_input_error(VigilProfileInStatus status, const VigilProfileInError *err,
					const char *str)
{
	bool		binary = str == NULL;
	int			code = binary ? ERRCODE_INVALID_BINARY_REPRESENTATION
		: ERRCODE_INVALID_TEXT_REPRESENTATION;

	switch (status)
	{
		case VIGIL_PROFILE_IN_OK:
			break;
		case VIGIL_PROFILE_IN_NO_PAYLOAD:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type vigil.profile: \"%s\"", str),
					 errdetail("The exact profile follows \"data:\\x\" in hexadecimal.")));
			break;
		case VIGIL_PROFILE_IN_NO_END:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type vigil.profile: \"%s\"", str),
					 errdetail("The value must end with the payload and \")\".")));
			break;
		case VIGIL_PROFILE_IN_BAD_LENGTH:
			if (binary)
				ereport(ERROR,
						(errcode(code),
						 errmsg("invalid external vigil.profile value"),
						 errdetail("A vigil.profile payload is %zu bytes, got %zu.",
								   sizeof(VigilProfile), err->length)));
			ereport(ERROR,
					(errcode(code),
					 errmsg("invalid vigil.profile value"),
					 errdetail("A vigil.profile payload is %zu bytes, got %zu hexadecimal digits.",
							   sizeof(VigilProfile), err->length)));
			break;
		case VIGIL_PROFILE_IN_BAD_DIGIT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid vigil.profile value"),
					 errdetail("The payload after \"data:\\x\" must be hexadecimal digits only.")));
			break;
		case VIGIL_PROFILE_IN_BAD_VERSION:
			ereport(ERROR,
					(errcode(code),
					 errmsg("invalid %svigil.profile value", binary ? "external " : ""),
					 errdetail("The payload has format version %u; this library reads versions up to %d.",
							   err->version, VIGIL_PROFILE_VERSION)));
			break;
		case VIGIL_PROFILE_IN_INVALID:
			ereport(ERROR,
					(errcode(code),
					 errmsg("invalid %svigil.profile value", binary ? "external " : ""),
					 errdetail("In vigil.profile, %s.", err->why)));
			break;
	}
	elog(ERROR, "unexpected vigil.profile input status %d", (int) status);
}

/* Text input: only the data:\x... payload counts (detect/core/profile_io.h). */
Datum
vigil_profile_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	VigilProfile p;
	VigilProfileInError err;
	VigilProfileInStatus status = vigil_profile_from_text(str, &p, &err);

	if (status != VIGIL_PROFILE_IN_OK)
		profile_input_error(status, &err, str);
	PG_RETURN_DATUM(vigil_profile_datum(&p));
}

/* Append a double for people: shortest form, or null when not a number. */
static void
append_number(StringInfo buf, double x)
{
	if (isnan(x) || isinf(x))
		appendStringInfoString(buf, "null");
	else
		appendStringInfoString(buf, float8out_internal(x));
}

/* The sample standard deviation of all amounts, NaN below two. */
static double
amount_stddev(const VigilProfile *p)
{
	return sqrt(vigil_welford_var_samp(&p->amount));
}

/* Text output: a readable summary, then the exact payload. */
Datum
vigil_profile_out(PG_FUNCTION_ARGS)
{
	VigilProfile prof;
	const VigilProfile *p = &prof;
	StringInfoData buf;
	char	   *hex = palloc(2 * sizeof(VigilProfile) + 1);

	vigil_profile_get(PG_GETARG_DATUM(0), &prof);
	initStringInfo(&buf);
	appendStringInfo(&buf, "(n:" UINT64_FORMAT ",mean:", (uint64) p->amount.n);
	append_number(&buf, vigil_welford_mean(&p->amount));
	appendStringInfoString(&buf, ",stddev:");
	append_number(&buf, amount_stddev(p));
	appendStringInfoString(&buf, ",last_time:");
	append_number(&buf, vigil_profile_last_time(p));
	hex[hex_encode((const char *) p, sizeof(VigilProfile), hex)] = '\0';
	appendStringInfo(&buf, ",data:\\x%s)", hex);
	PG_RETURN_CSTRING(buf.data);
}

/* Binary input: the payload, validated. */
Datum
vigil_profile_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			size = buf->len - buf->cursor;
	const char *bytes = pq_getmsgbytes(buf, size);
	VigilProfile p;
	VigilProfileInError err;
	VigilProfileInStatus status = vigil_profile_from_binary(bytes, size, &p, &err);

	if (status != VIGIL_PROFILE_IN_OK)
		profile_input_error(status, &err, NULL);
	PG_RETURN_DATUM(vigil_profile_datum(&p));
}

/* Binary output: the payload, in the current format version. */
Datum
vigil_profile_send(PG_FUNCTION_ARGS)
{
	VigilProfile p;
	StringInfoData buf;

	vigil_profile_get(PG_GETARG_DATUM(0), &p);
	pq_begintypsend(&buf);
	pq_sendbytes(&buf, (const char *) &p, sizeof(VigilProfile));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Append "key": number to a JSON object under construction. */
static void
json_number(StringInfo buf, const char *key, double x, bool first)
{
	if (!first)
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	append_number(buf, x);
}

/* Append "key": "ISO time" (or null) for a time in epoch seconds. */
static void
json_time(StringInfo buf, const char *key, double t)
{
	appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	if (isnan(t))
		appendStringInfoString(buf, "null");
	else
	{
		char		iso[MAXDATELEN + 1];

		JsonEncodeDateTime(iso, TimestampTzGetDatum(vigil_epoch_to_timestamptz(t)),
						   TIMESTAMPTZOID, NULL);
		escape_json(buf, iso);
	}
}

/* vigil.profile_json(vigil.profile): the profile for people, as jsonb. */
Datum
vigil_profile_json(PG_FUNCTION_ARGS)
{
	VigilProfile prof;
	const VigilProfile *p = &prof;
	double		last;
	int			recent = 0;
	StringInfoData buf;

	vigil_profile_get(PG_GETARG_DATUM(0), &prof);
	last = vigil_profile_last_time(p);

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	json_number(&buf, "n", (double) p->amount.n, true);
	json_number(&buf, "mean", vigil_welford_mean(&p->amount), false);
	json_number(&buf, "stddev", amount_stddev(p), false);
	json_number(&buf, "min", p->amount.n > 0 ? p->amount.min : NAN, false);
	json_number(&buf, "max", p->amount.n > 0 ? p->amount.max : NAN, false);
	json_number(&buf, "recent_mean", vigil_decay_mean(&p->recent_amount), false);
	json_number(&buf, "recent_stddev", sqrt(vigil_decay_variance(&p->recent_amount)), false);
	json_time(&buf, "last_time", last);
	if (p->flags & VIGIL_PROFILE_HAS_LOCATION)
	{
		json_number(&buf, "last_lat", p->last_lat, false);
		json_number(&buf, "last_lon", p->last_lon, false);
		json_time(&buf, "last_location_time", p->last_loc_t);
	}
	if (!isnan(last))
		vigil_ring_count_since(&p->recent, last - 86400.0, &recent);
	json_number(&buf, "transactions_last_24h", recent, false);
	json_number(&buf, "merchants_seen", vigil_seenset_count(&p->merchants), false);
	json_number(&buf, "categories_seen", vigil_seenset_count(&p->categories), false);
	appendStringInfoChar(&buf, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
