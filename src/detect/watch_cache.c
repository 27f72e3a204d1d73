/*
 * watch_cache.c
 *		A backend's cache of watches and their rules.
 *
 * Reading a watch and parsing its rules on every statement would cost a
 * single-row INSERT more than the rest of detection.  So each backend keeps
 * them, and forgets them all whenever vigil.watches, vigil.rules,
 * vigil.priors, vigil.merchant_risk or vigil.models are written (a statement trigger sends a
 * relcache invalidation for the table, which every backend, this one
 * included, processes before its next statement) or a watched table's
 * definition changes.  Rule changes and model activations thus take effect
 * on the next statement.
 *
 * The invalidation callback only marks the cache stale; it is rebuilt at the
 * next trigger call, so a statement never sees its watch freed under it.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "detect/watch_cache.h"

PG_FUNCTION_INFO_V1(vigil_invalidate_watches);

typedef struct CachedWatch
{
	int32		id;
	Oid			relid;
	VigilWatch	w;
	VigilScorer scorer;
	VigilScorer shadow;			/* with the shadow model, if has_shadow */
	bool		has_shadow;
} CachedWatch;

static MemoryContext cache_cxt = NULL;
static CachedWatch *entries = NULL;
static int	nentries = 0;
static int	maxentries = 0;
static bool stale = true;
static bool registered = false;
static Oid	watches_relid = InvalidOid;
static Oid	rules_relid = InvalidOid;
static Oid	profiles_relid = InvalidOid;
static Oid	alerts_relid = InvalidOid;
static Oid	priors_relid = InvalidOid;
static Oid	models_relid = InvalidOid;
static Oid	merchant_risk_relid = InvalidOid;

/* Relcache invalidation callback: forget everything if it concerns us. */
static void
invalidate(Datum arg pg_attribute_unused(), Oid relid)
{
	if (relid == InvalidOid || relid == watches_relid || relid == rules_relid ||
		relid == priors_relid || relid == models_relid || relid == merchant_risk_relid)
	{
		stale = true;
		return;
	}
	for (int i = 0; i < nentries; i++)
		if (entries[i].relid == relid)
			stale = true;
}

/* Start again from an empty cache. */
static void
reset(void)
{
	Oid			nsp = get_namespace_oid("vigil", false);

	if (cache_cxt == NULL)
		cache_cxt = AllocSetContextCreate(CacheMemoryContext, "vigil watch cache",
										  ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(cache_cxt);
	entries = NULL;
	nentries = maxentries = 0;
	watches_relid = get_relname_relid("watches", nsp);
	rules_relid = get_relname_relid("rules", nsp);
	profiles_relid = get_relname_relid("profiles", nsp);
	alerts_relid = get_relname_relid("alerts", nsp);
	priors_relid = get_relname_relid("priors", nsp);
	models_relid = get_relname_relid("models", nsp);
	merchant_risk_relid = get_relname_relid("merchant_risk", nsp);
	stale = false;
}

/*
 * The watch watch_id on rel, its enabled rules and active model, and the
 * scorer with its shadow model if it has one (*has_shadow), from the cache
 * or loaded into it (inside the caller's SPI connection).  False when the
 * watch or one of its columns is gone.  *w, *scorer and *shadow point into
 * the cache and stay valid until this is called again.
 */
bool
vigil_watch_cache_get(int32 watch_id, Relation rel, VigilWatch *w, VigilScorer *scorer,
					  VigilScorer *shadow, bool *has_shadow)
{
	CachedWatch e;

	if (!registered)
	{
		CacheRegisterRelcacheCallback(invalidate, (Datum) 0);
		registered = true;
	}
	if (stale)
		reset();
	for (int i = 0; i < nentries; i++)
	{
		if (entries[i].id == watch_id && entries[i].relid == RelationGetRelid(rel))
		{
			*w = entries[i].w;
			*scorer = entries[i].scorer;
			*shadow = entries[i].shadow;
			*has_shadow = entries[i].has_shadow;
			return true;
		}
	}

	memset(&e, 0, sizeof(e));
	e.id = watch_id;
	e.relid = RelationGetRelid(rel);
	if (!vigil_watch_load(&e.w, watch_id, rel, cache_cxt))
		return false;
	vigil_scorer_init(&e.scorer, watch_id, vigil_watch_inputs(&e.w), cache_cxt);
	e.has_shadow = vigil_scorer_init_shadow(&e.shadow, watch_id, vigil_watch_inputs(&e.w),
											cache_cxt);
	if (nentries == maxentries)
	{
		maxentries = maxentries ? maxentries * 2 : 4;
		entries = entries
			? repalloc(entries, sizeof(CachedWatch) * maxentries)
			: MemoryContextAlloc(cache_cxt, sizeof(CachedWatch) * maxentries);
	}
	entries[nentries++] = e;
	*w = e.w;
	*scorer = e.scorer;
	*shadow = e.shadow;
	*has_shadow = e.has_shadow;
	return true;
}

/*
 * vigil.profiles, as of the last vigil_watch_cache_get: the extension that
 * owns it cannot be dropped and created again in between without
 * invalidating the cache (its tables go with it).
 */
Oid
vigil_watch_cache_profiles(void)
{
	Assert(!stale || OidIsValid(profiles_relid));
	return profiles_relid;
}

/* vigil.alerts, as of the last vigil_watch_cache_get (as for vigil.profiles). */
Oid
vigil_watch_cache_alerts(void)
{
	Assert(!stale || OidIsValid(alerts_relid));
	return alerts_relid;
}

/*
 * Statement trigger on vigil.watches and vigil.rules: make every backend
 * forget its cached watches before its next statement.
 */
Datum
vigil_invalidate_watches(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	/* as a BEFORE ROW trigger its NULL result would silently drop rows */
	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("vigil_invalidate_watches must be an AFTER ... FOR EACH STATEMENT trigger")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(td->tg_relation));
	return PointerGetDatum(NULL);
}
