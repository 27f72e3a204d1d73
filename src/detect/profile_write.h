/*
 * profile_write.h
 *		Writing rows of vigil.profiles without a SQL statement.
 */
#ifndef VIGIL_PROFILE_WRITE_H
#define VIGIL_PROFILE_WRITE_H

#include "access/skey.h"
#include "utils/relcache.h"

#include "detect/core/profile.h"

typedef struct ProfileWriter ProfileWriter;

extern void vigil_profile_scankeys(ScanKey skey, Relation index, int32 watch_id, text *key);

extern ProfileWriter *vigil_profile_writer_begin(void);
extern bool vigil_profile_writer_read(ProfileWriter *w, int32 watch_id,
									  const char *key, VigilProfile *prof);
extern bool vigil_profile_writer_update(ProfileWriter *w, const VigilProfile *prof);
extern bool vigil_profile_writer_relock(ProfileWriter *w, VigilProfile *prof);
extern bool vigil_profile_writer_inserts(ProfileWriter *w);
extern bool vigil_profile_writer_insert(ProfileWriter *w, int32 watch_id,
										const char *key, VigilProfile *prof);
extern void vigil_profile_writer_end(ProfileWriter *w);

#endif							/* VIGIL_PROFILE_WRITE_H */
