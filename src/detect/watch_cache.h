/*
 * watch_cache.h
 *		A backend's cache of watches and their rules.
 */
#ifndef VIGIL_WATCH_CACHE_H
#define VIGIL_WATCH_CACHE_H

#include "postgres.h"

#include "utils/rel.h"

#include "detect/event.h"
#include "detect/score.h"

extern bool vigil_watch_cache_get(int32 watch_id, Relation rel, VigilWatch *w,
								  VigilScorer *scorer, VigilScorer *shadow, bool *has_shadow);
extern Oid	vigil_watch_cache_profiles(void);
extern Oid	vigil_watch_cache_alerts(void);

#endif							/* VIGIL_WATCH_CACHE_H */
