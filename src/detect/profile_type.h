/*
 * profile_type.h
 *		The vigil.profile type: a VigilProfile in a varlena.
 *
 * A stored profile may be of any format version ever released: read one
 * with vigil_profile_get, which converts it to the current layout, never by
 * looking into the varlena.
 */
#ifndef VIGIL_PROFILE_TYPE_H
#define VIGIL_PROFILE_TYPE_H

#include "postgres.h"
#include "fmgr.h"

#include "detect/core/profile.h"

/* Seconds between the Unix epoch and PostgreSQL's (2000-01-01). */
#define VIGIL_PG_EPOCH_OFFSET_S 946684800.0

/*
 * A stored vigil.profile: the varlena header, a word kept zero so that the
 * payload is 8-byte aligned (as version 0.1 stored it), and the payload,
 * which starts with its format version.
 */
typedef struct VigilProfileData
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	uint32		reserved;		/* zero */
	char		payload[FLEXIBLE_ARRAY_MEMBER];
} VigilProfileData;

extern Datum vigil_profile_datum(const VigilProfile *p);
extern void vigil_profile_get(Datum d, VigilProfile *out);
extern Datum vigil_profile_json(PG_FUNCTION_ARGS);
extern double vigil_timestamptz_to_epoch(TimestampTz ts);
extern TimestampTz vigil_epoch_to_timestamptz(double t);

#endif							/* VIGIL_PROFILE_TYPE_H */
