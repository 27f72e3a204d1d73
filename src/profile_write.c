/*
 * profile_write.c
 *		Updating existing rows of vigil.profiles without a SQL statement.
 *
 * Detection's usual case is a key that already has a profile: a card's next
 * transaction.  Running INSERT ... ON CONFLICT DO UPDATE for it costs a
 * whole executor start-up, a function scan and a speculative insertion per
 * statement, several times the work of the update itself, and for
 * single-row INSERTs that is most of detection's cost.  This file does what
 * that statement does for an existing row, with the executor's own
 * building blocks (those logical replication applies changes with): find
 * the row through the primary key, lock its latest version as ON CONFLICT
 * DO UPDATE would, waiting for a concurrent writer, and update it through
 * ExecSimpleRelationUpdate, which keeps the indexes and constraints.
 *
 * Only where the result is the statement's, exactly: under READ COMMITTED
 * (under REPEATABLE READ and SERIALIZABLE a concurrently updated row is a
 * serialization failure, which the statement raises), and when nobody has
 * put triggers or row security on vigil.profiles.  A key that has no row,
 * or whose row was deleted meanwhile, is left to the statement, which
 * inserts it.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/nbtree.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "profile.h"
#include "profile_write.h"
#include "watch_cache.h"

struct ProfileWriter
{
	Relation	heap;
	Relation	index;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *locked;		/* the locked row, as stored */
	TupleTableSlot *next;		/* the row to write */
	Snapshot	snap;
	IndexScanDesc scan;
	AttrNumber	profile_att;
	AttrNumber	updated_at_att;
};

/*
 * The two scan keys that find watch_id's profile of key through index, the
 * primary key of vigil.profiles, comparing as the index does (in its own
 * collations).
 */
void
vigil_profile_scankeys(ScanKey skey, Relation index, int32 watch_id, text *key)
{
	ScanKeyEntryInitialize(&skey[0], 0, 1, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[0], F_INT4EQ, Int32GetDatum(watch_id));
	ScanKeyEntryInitialize(&skey[1], 0, 2, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[1], F_TEXTEQ, PointerGetDatum(key));
}

/*
 * The attribute number of column name of rel: the one remembered in
 * *cached if it still names that column, else looked up (and remembered).
 */
static AttrNumber
column_number(Relation rel, AttrNumber *cached, const char *name)
{
	if (*cached > 0 && *cached <= RelationGetNumberOfAttributes(rel))
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), *cached - 1);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return *cached;
	}
	*cached = get_attnum(RelationGetRelid(rel), name);
	if (*cached == InvalidAttrNumber)
		elog(ERROR, "vigil.profiles lacks its %s column", name);
	return *cached;
}

/*
 * Start writing profiles directly, or return NULL where only the SQL
 * statement gives the right result (see the top of the file).
 */
ProfileWriter *
vigil_profile_writer_begin(void)
{
	static AttrNumber profile_att = InvalidAttrNumber;
	static AttrNumber updated_at_att = InvalidAttrNumber;
	Oid			relid;
	Relation	heap;
	ProfileWriter *w;
	RangeTblEntry *rte;

	if (IsolationUsesXactSnapshot())
		return NULL;
	relid = vigil_watch_cache_profiles();
	heap = table_open(relid, RowExclusiveLock);
	if (heap->trigdesc != NULL || heap->rd_rel->relrowsecurity ||
		heap->rd_rel->relkind != RELKIND_RELATION)
	{
		table_close(heap, RowExclusiveLock);
		return NULL;
	}

	w = palloc0(sizeof(ProfileWriter));
	w->heap = heap;
	w->index = index_open(RelationGetPrimaryKeyIndex(heap), RowExclusiveLock);
	w->profile_att = column_number(heap, &profile_att, "profile");
	w->updated_at_att = column_number(heap, &updated_at_att, "updated_at");

	w->estate = CreateExecutorState();
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = relid;
	rte->relkind = heap->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(w->estate, list_make1(rte));
	w->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(w->rri, heap, 1, NULL, 0);
	w->estate->es_output_cid = GetCurrentCommandId(true);
	ExecOpenIndices(w->rri, false);

	w->locked = table_slot_create(heap, &w->estate->es_tupleTable);
	w->next = ExecInitExtraTupleSlot(w->estate, RelationGetDescr(heap), &TTSOpsVirtual);

	/*
	 * One fresh snapshot for the chunk: a row it misses (committed since)
	 * is left to the statement, and a row it shows is locked in its latest
	 * version whatever happened to it since.
	 */
	w->snap = RegisterSnapshot(GetLatestSnapshot());
	w->scan = index_beginscan(heap, w->index, w->snap, 2, 0);
	return w;
}

/*
 * Find watch_id's row for key and lock its latest version, as ON CONFLICT
 * DO UPDATE locks the row it updates; the stored profile goes to *prof (an
 * empty one if NULL).  False when there is no row to lock: none committed,
 * or deleted while we waited for its writer.
 */
bool
vigil_profile_writer_lock(ProfileWriter *w, int32 watch_id, const char *key,
						  VigilProfile *prof)
{
	ScanKeyData skey[2];
	text	   *key_text = cstring_to_text(key);
	TM_FailureData tmfd;
	TM_Result	res;
	bool		found;
	bool		isnull;
	Datum		d;

	vigil_profile_scankeys(skey, w->index, watch_id, key_text);
	index_rescan(w->scan, skey, 2, NULL, 0);
	found = index_getnext_slot(w->scan, ForwardScanDirection, w->locked);
	if (found)
	{
		/* wait for a concurrent writer, then lock the newest version */
		res = table_tuple_lock(w->heap, &w->locked->tts_tid, w->snap, w->locked,
							   GetCurrentCommandId(false), LockTupleNoKeyExclusive,
							   LockWaitBlock, TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
		found = (res == TM_Ok);
	}
	pfree(key_text);
	if (!found)
		return false;

	d = slot_getattr(w->locked, w->profile_att, &isnull);
	if (isnull)
		vigil_profile_init(prof);
	else
		memcpy(prof, &DatumGetVigilProfileP(d)->p, sizeof(VigilProfile));
	return true;
}

/* Write prof into the row the last vigil_profile_writer_lock locked. */
void
vigil_profile_writer_update(ProfileWriter *w, const VigilProfile *prof)
{
	TupleTableSlot *next = w->next;
	MemoryContext old = MemoryContextSwitchTo(GetPerTupleMemoryContext(w->estate));

	ExecClearTuple(next);
	slot_getallattrs(w->locked);
	memcpy(next->tts_values, w->locked->tts_values,
		   sizeof(Datum) * next->tts_tupleDescriptor->natts);
	memcpy(next->tts_isnull, w->locked->tts_isnull,
		   sizeof(bool) * next->tts_tupleDescriptor->natts);
	next->tts_values[w->profile_att - 1] = vigil_profile_datum(prof);
	next->tts_isnull[w->profile_att - 1] = false;
	next->tts_values[w->updated_at_att - 1] =
		TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	next->tts_isnull[w->updated_at_att - 1] = false;
	ExecStoreVirtualTuple(next);
	ExecSimpleRelationUpdate(w->rri, w->estate, NULL, w->locked, next);
	MemoryContextSwitchTo(old);
	ExecClearTuple(next);
	ResetPerTupleExprContext(w->estate);
}

/* Finish writing: release what vigil_profile_writer_begin took. */
void
vigil_profile_writer_end(ProfileWriter *w)
{
	index_endscan(w->scan);
	UnregisterSnapshot(w->snap);
	ExecCloseIndices(w->rri);
	ExecResetTupleTable(w->estate->es_tupleTable, false);
	FreeExecutorState(w->estate);
	index_close(w->index, NoLock);
	table_close(w->heap, NoLock);
	pfree(w);
}
