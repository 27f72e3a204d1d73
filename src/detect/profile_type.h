/*
 * profile_type.h
 *		The vigil.profile type: a VigilProfile in a varlena.
 */
#ifndef VIGIL_PROFILE_TYPE_H
#define VIGIL_PROFILE_TYPE_H

#include "postgres.h"
#include "fmgr.h"

#include "detect/core/profile.h"

/* Seconds between the Unix epoch and PostgreSQL's (2000-01-01). */
#define VIGIL_PG_EPOCH_OFFSET_S 946684800.0

typedef struct VigilProfileData
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	VigilProfile p;
} VigilProfileData;

#define VIGIL_PROFILE_SIZE	sizeof(VigilProfileData)

#define DatumGetVigilProfileP(X) ((VigilProfileData *) PG_DETOAST_DATUM(X))
#define PG_GETARG_VIGIL_PROFILE_P(n) DatumGetVigilProfileP(PG_GETARG_DATUM(n))

extern Datum vigil_profile_datum(const VigilProfile *p);
extern Datum vigil_profile_json(PG_FUNCTION_ARGS);
extern double vigil_timestamptz_to_epoch(TimestampTz ts);
extern TimestampTz vigil_epoch_to_timestamptz(double t);

#endif							/* VIGIL_PROFILE_TYPE_H */
