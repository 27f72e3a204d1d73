/*
 * profile_hint.h
 *		Where each key's row of vigil.profiles was last seen, in shared
 *		memory: a hint that spares detection the primary key's B-tree.
 */
#ifndef VIGIL_PROFILE_HINT_H
#define VIGIL_PROFILE_HINT_H

#include "postgres.h"

#include "storage/itemptr.h"

extern void vigil_profile_hint_shmem_register(void);
extern uint64 vigil_profile_hint_hash(Oid relid, int32 watch_id, const char *key, int len);
extern bool vigil_profile_hint_get(uint64 hash, ItemPointer tid);
extern void vigil_profile_hint_set(uint64 hash, ItemPointer tid);

#endif							/* VIGIL_PROFILE_HINT_H */
