/*
 * profile_write.c
 *		Writing rows of vigil.profiles without a SQL statement.
 *
 * Detection's usual case is a key that already has a profile: a card's next
 * transaction.  Running INSERT ... ON CONFLICT DO UPDATE for it costs a
 * whole executor start-up, a function scan and a speculative insertion per
 * statement, several times the work of the update itself, and for
 * single-row INSERTs that is most of detection's cost.  This file does what
 * that statement does, with the table access method's and the executor's
 * own calls.  For an existing row: find it (where profile_hint.c last saw
 * it, else through the primary key), compute the new profile and update
 * the row, which waits for a concurrent writer as ON CONFLICT DO UPDATE's
 * lock would.  If that writer changed the row, its newest version is
 * locked and the profile computed again from it, as ON CONFLICT DO UPDATE
 * does; the usual case, no conflict, costs neither a lock of its own (a WAL
 * record) nor an executor state, which only an update that is not HOT
 * needs, for the indexes' new entries.  For a key with no row: insert one
 * speculatively, as the statement does, so that two sessions inserting the
 * same new key wait for each other and the second updates the first's row.
 *
 * Only where the result is the statement's, exactly: under READ COMMITTED
 * (under REPEATABLE READ and SERIALIZABLE a concurrently updated row is a
 * serialization failure, which the statement raises), and when nobody has
 * put triggers, row security, check constraints or generated columns on
 * vigil.profiles; new rows only while it has no columns but its own, whose
 * defaults the statement would evaluate.  Elsewhere detection runs the
 * statement, and everywhere when vigil.direct_writes is off.
 *
 * What this relies on of PostgreSQL beyond its documented interfaces, and
 * a minor release could change (test every suite with the setting off to
 * tell such a change from a bug of vigil's): table_tuple_update's results
 * (TM_Updated, TM_Deleted) and its update_indexes, false when the update
 * is heap-only and needs no index entries; speculative insertion as
 * ExecInsert does it (SpeculativeInsertionLockAcquire,
 * table_tuple_insert_speculative, ExecInsertIndexTuples with noDupErr and
 * the arbiter index, table_tuple_complete_speculative); the lock ON
 * CONFLICT DO UPDATE takes on a row (table_tuple_lock with
 * TUPLE_LOCK_FLAG_FIND_LAST_VERSION); and HOT chain roots, for the hints
 * of profile_hint.c.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/nbtree.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "detect/profile_hint.h"
#include "detect/profile_type.h"
#include "detect/profile_write.h"
#include "detect/watch_cache.h"
#include "guc.h"

struct ProfileWriter
{
	Relation	heap;
	Snapshot	snap;
	IndexFetchTableData *fetch; /* follows a remembered position */
	BlockNumber nblocks;		/* a lower bound of heap's size, once needed */
	Relation	index;			/* the primary key, once needed */
	IndexScanDesc scan;
	bool		inserts;		/* whether new rows can be inserted here */
	List	   *arbiters;		/* the primary key, as ON CONFLICT's arbiter */
	EState	   *estate;			/* once an update is not HOT, or an insert */
	ResultRelInfo *rri;
	TupleTableSlot *found;		/* the row read, as stored */
	TupleTableSlot *next;		/* the row to write */
	uint64		hash;			/* of the key of the row read */
	ItemPointerData root;		/* its HOT chain's root */
	bool		root_known;		/* whether the hint already holds root */
};

/* Attribute numbers of vigil.profiles' columns, checked at every begin. */
static AttrNumber watch_id_att = InvalidAttrNumber;
static AttrNumber key_att = InvalidAttrNumber;
static AttrNumber profile_att = InvalidAttrNumber;
static AttrNumber updated_at_att = InvalidAttrNumber;

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
 * Whether rel has no columns but vigil.profiles' own four, so that a new
 * row needs no defaults evaluated.
 */
static bool
only_own_columns(Relation rel)
{
	int			live = 0;

	for (int i = 0; i < RelationGetNumberOfAttributes(rel); i++)
		if (!TupleDescAttr(RelationGetDescr(rel), i)->attisdropped)
			live++;
	return live == 4;
}

/*
 * Start writing profiles directly, or return NULL where only the SQL
 * statement gives the right result (see the top of the file).
 */
ProfileWriter *
vigil_profile_writer_begin(void)
{
	Relation	heap;
	TupleConstr *constr;
	ProfileWriter *w;

	if (!vigil_direct_writes || IsolationUsesXactSnapshot())
		return NULL;
	heap = table_open(vigil_watch_cache_profiles(), RowExclusiveLock);
	constr = RelationGetDescr(heap)->constr;
	if (heap->trigdesc != NULL || heap->rd_rel->relrowsecurity ||
		heap->rd_rel->relkind != RELKIND_RELATION ||
		(constr != NULL && (constr->num_check > 0 || constr->has_generated_stored)))
	{
		table_close(heap, RowExclusiveLock);
		return NULL;
	}
	/* as ExecSimpleRelationUpdate does: a publication may forbid updates */
	CheckCmdReplicaIdentity(heap, CMD_UPDATE);
	column_number(heap, &watch_id_att, "watch_id");
	column_number(heap, &key_att, "key");
	column_number(heap, &profile_att, "profile");
	column_number(heap, &updated_at_att, "updated_at");

	w = palloc0(sizeof(ProfileWriter));
	w->heap = heap;
	w->inserts = only_own_columns(heap);
	w->arbiters = list_make1_oid(RelationGetPrimaryKeyIndex(heap));
	w->found = table_slot_create(heap, NULL);
	w->next = MakeSingleTupleTableSlot(RelationGetDescr(heap), &TTSOpsVirtual);
	w->nblocks = InvalidBlockNumber;

	/*
	 * One fresh snapshot for the chunk: a row it misses (committed since)
	 * is left to the statement, and a row it shows but that changed since
	 * is found again in its latest version when the update reports it.
	 */
	w->snap = RegisterSnapshot(GetLatestSnapshot());
	return w;
}

/*
 * Whether the row at position root (a HOT chain's root, as the primary key
 * points to it) is watch_id's visible row for key; if so it is in w->found.
 * The position may come from anywhere: one past the end of the table, or
 * not a chain's root, or another key's, is simply not the row.
 */
static bool
fetch_at(ProfileWriter *w, ItemPointer root, int32 watch_id, const char *key, int len)
{
	ItemPointerData tid = *root;
	bool		call_again = false;
	bool		all_dead = false;
	bool		isnull;
	Datum		d;
	text	   *t;

	/*
	 * Only VACUUM shrinks a table, under a lock ours excludes, so the size
	 * seen once is a lower bound for the rest of the statement.
	 */
	if (w->nblocks == InvalidBlockNumber)
		w->nblocks = RelationGetNumberOfBlocks(w->heap);
	if (ItemPointerGetBlockNumber(&tid) >= w->nblocks)
		return false;
	if (w->fetch == NULL)
		w->fetch = table_index_fetch_begin(w->heap);
	if (!table_index_fetch_tuple(w->fetch, &tid, w->snap, w->found, &call_again, &all_dead))
		return false;
	d = slot_getattr(w->found, watch_id_att, &isnull);
	if (isnull || DatumGetInt32(d) != watch_id)
		return false;
	d = slot_getattr(w->found, key_att, &isnull);
	if (isnull)
		return false;
	t = (text *) DatumGetPointer(d);
	if (VARATT_IS_EXTERNAL(t) || VARATT_IS_COMPRESSED(t))
		return false;			/* a long key: the index compares it */
	return (int) VARSIZE_ANY_EXHDR(t) == len && memcmp(VARDATA_ANY(t), key, len) == 0;
}

/* Find watch_id's visible row for key through the primary key. */
static bool
fetch_by_index(ProfileWriter *w, int32 watch_id, const char *key)
{
	ScanKeyData skey[2];
	text	   *key_text = cstring_to_text(key);
	bool		found;

	if (w->scan == NULL)
	{
		w->index = index_open(RelationGetPrimaryKeyIndex(w->heap), RowExclusiveLock);
		w->scan = index_beginscan(w->heap, w->index, w->snap, 2, 0);
	}
	vigil_profile_scankeys(skey, w->index, watch_id, key_text);
	index_rescan(w->scan, skey, 2, NULL, 0);
	found = index_getnext_slot(w->scan, ForwardScanDirection, w->found);
	if (found)
		w->root = w->scan->xs_heaptid;
	else
		ItemPointerSetInvalid(&w->root);
	pfree(key_text);
	return found;
}

/* The profile of the row in w->found, into *prof (an empty one if NULL). */
static void
read_profile(ProfileWriter *w, VigilProfile *prof)
{
	bool		isnull;
	Datum		d = slot_getattr(w->found, profile_att, &isnull);

	if (isnull)
		vigil_profile_init(prof);
	else
		vigil_profile_get(d, prof);
}

/*
 * Find watch_id's row for key, as the writer's snapshot sees it; the stored
 * profile goes to *prof (an empty one if NULL).  False when there is none
 * (not yet committed, or not there at all): then vigil_profile_writer_insert
 * may insert it.
 */
bool
vigil_profile_writer_read(ProfileWriter *w, int32 watch_id, const char *key,
						  VigilProfile *prof)
{
	int			len = strlen(key);

	w->hash = vigil_profile_hint_hash(RelationGetRelid(w->heap), watch_id, key, len);
	w->root_known = vigil_profile_hint_get(w->hash, &w->root) &&
		fetch_at(w, &w->root, watch_id, key, len);
	if (!w->root_known && !fetch_by_index(w, watch_id, key))
		return false;
	read_profile(w, prof);
	return true;
}

/*
 * Lock the newest version of the row at tid into w->found, waiting for a
 * transaction changing it, and on success read its profile into *prof.
 */
static TM_Result
lock_newest(ProfileWriter *w, ItemPointer tid, VigilProfile *prof)
{
	TM_FailureData tmfd;
	TM_Result	res;

	res = table_tuple_lock(w->heap, tid, w->snap, w->found,
						   GetCurrentCommandId(false), LockTupleNoKeyExclusive,
						   LockWaitBlock, TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
	if (res == TM_Ok)
		read_profile(w, prof);
	return res;
}

/*
 * Lock the newest version of the row the last read found, after the update
 * reported that another transaction changed it, and read its profile into
 * *prof; false if that transaction deleted it.
 */
bool
vigil_profile_writer_relock(ProfileWriter *w, VigilProfile *prof)
{
	ItemPointerData tid = w->found->tts_tid;

	return lock_newest(w, &tid, prof) == TM_Ok;
}

/*
 * An executor state, for the index entries of an update that is not HOT or
 * of an insert, and for the check of the primary key before an insert.
 */
static void
open_executor(ProfileWriter *w)
{
	RangeTblEntry *rte = makeNode(RangeTblEntry);

	w->estate = CreateExecutorState();
	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(w->heap);
	rte->relkind = w->heap->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(w->estate, list_make1(rte));
	w->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(w->rri, w->heap, 1, NULL, 0);
	w->estate->es_output_cid = GetCurrentCommandId(true);
	/* speculative: as for ON CONFLICT, the arbiter's check needs more */
	ExecOpenIndices(w->rri, true);
}

/*
 * Complete the row being built in next with the profile datum, stamped
 * with the transaction's start (now(), as the statement sets it), and
 * store it.
 */
static void
store_row(TupleTableSlot *next, Datum profile)
{
	next->tts_values[profile_att - 1] = profile;
	next->tts_isnull[profile_att - 1] = false;
	next->tts_values[updated_at_att - 1] =
		TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	next->tts_isnull[updated_at_att - 1] = false;
	ExecStoreVirtualTuple(next);
}

/*
 * Write prof into the row the last read (or relock) found.  Waits for a
 * transaction that is changing it; false if that transaction changed it,
 * so that the caller computes the profile again from the newest version
 * (vigil_profile_writer_relock).
 */
bool
vigil_profile_writer_update(ProfileWriter *w, const VigilProfile *prof)
{
	TupleTableSlot *next = w->next;
	TM_FailureData tmfd;
	LockTupleMode lockmode;
	bool		update_indexes;
	TM_Result	res;
	Datum		value = vigil_profile_datum(prof);

	ExecClearTuple(next);
	slot_getallattrs(w->found);
	memcpy(next->tts_values, w->found->tts_values,
		   sizeof(Datum) * next->tts_tupleDescriptor->natts);
	memcpy(next->tts_isnull, w->found->tts_isnull,
		   sizeof(bool) * next->tts_tupleDescriptor->natts);
	store_row(next, value);

	res = table_tuple_update(w->heap, &w->found->tts_tid, next, GetCurrentCommandId(true),
							 w->snap, InvalidSnapshot, true, &tmfd, &lockmode, &update_indexes);
	pfree(DatumGetPointer(value));
	if (res == TM_Updated || res == TM_Deleted)
		return false;
	if (res != TM_Ok)
		elog(ERROR, "could not update the profile row at (%u,%u): %d",
			 ItemPointerGetBlockNumber(&w->found->tts_tid),
			 ItemPointerGetOffsetNumber(&w->found->tts_tid), (int) res);

	if (update_indexes)
	{
		/* a new chain: the indexes get entries for its root */
		if (w->estate == NULL)
			open_executor(w);
		list_free(ExecInsertIndexTuples(w->rri, next, w->estate, true, false, NULL, NIL));
		ResetPerTupleExprContext(w->estate);
		vigil_profile_hint_set(w->hash, &next->tts_tid);
	}
	else if (!w->root_known && ItemPointerIsValid(&w->root))
		vigil_profile_hint_set(w->hash, &w->root);
	ExecClearTuple(next);
	return true;
}

/* Whether new rows can be inserted directly (see the top of the file). */
bool
vigil_profile_writer_inserts(ProfileWriter *w)
{
	return w->inserts;
}

/*
 * Insert watch_id's row for key, which the last read did not find, with
 * profile *prof, as INSERT ... ON CONFLICT DO UPDATE does: insert the row
 * and its index entries speculatively, and if the primary key then shows
 * that another transaction has (or is inserting) the key, take the row
 * back, check the primary key, waiting for that transaction, and try
 * again.  The statement checks first; here the read has just missed the
 * key, so the check would nearly always find nothing.  True when
 * inserted.  False when the key has a row after all: its newest version
 * is then locked and *prof replaced by its profile, for the caller to
 * compute the profile again and update it.
 */
bool
vigil_profile_writer_insert(ProfileWriter *w, int32 watch_id, const char *key,
							VigilProfile *prof)
{
	TupleTableSlot *next = w->next;
	Datum		value = vigil_profile_datum(prof);
	text	   *key_text = cstring_to_text(key);
	bool		inserted = false;
	bool		check = false;

	Assert(w->inserts);
	if (w->estate == NULL)
		open_executor(w);
	for (;;)
	{
		ItemPointerData conflict;
		TransactionId xid;
		uint32		token;
		bool		conflicted = false;

		CHECK_FOR_INTERRUPTS();
		ExecClearTuple(next);
		memset(next->tts_isnull, true, sizeof(bool) * next->tts_tupleDescriptor->natts);
		next->tts_values[watch_id_att - 1] = Int32GetDatum(watch_id);
		next->tts_isnull[watch_id_att - 1] = false;
		next->tts_values[key_att - 1] = PointerGetDatum(key_text);
		next->tts_isnull[key_att - 1] = false;
		store_row(next, value);

		if (check &&
			!ExecCheckIndexConstraints(w->rri, next, w->estate, &conflict, w->arbiters))
		{
			TM_Result	res;

			/*
			 * The key has a row: lock its newest version, unless it was
			 * deleted meanwhile, in which case try again.  The position the
			 * check found is not always its chain's root: not a hint.
			 */
			ResetPerTupleExprContext(w->estate);
			ItemPointerSetInvalid(&w->root);
			w->root_known = false;
			res = lock_newest(w, &conflict, prof);
			if (res == TM_Ok)
				break;
			if (res != TM_Deleted && res != TM_Updated)
				elog(ERROR, "could not lock the profile row at (%u,%u): %d",
					 ItemPointerGetBlockNumber(&conflict),
					 ItemPointerGetOffsetNumber(&conflict), (int) res);
			continue;
		}

		xid = GetCurrentTransactionId();
		token = SpeculativeInsertionLockAcquire(xid);
		table_tuple_insert_speculative(w->heap, next, w->estate->es_output_cid, 0, NULL,
									   token);
		list_free(ExecInsertIndexTuples(w->rri, next, w->estate, false, true, &conflicted,
										w->arbiters));
		table_tuple_complete_speculative(w->heap, next, token, !conflicted);
		SpeculativeInsertionLockRelease(xid);
		ResetPerTupleExprContext(w->estate);
		if (!conflicted)
		{
			/* a new row is its own chain's root */
			vigil_profile_hint_set(w->hash, &next->tts_tid);
			inserted = true;
			break;
		}
		/* another session has the key, or is inserting it: check, and again */
		check = true;
	}
	ExecClearTuple(next);
	pfree(key_text);
	pfree(DatumGetPointer(value));
	return inserted;
}

/* Finish writing: release what vigil_profile_writer_begin took. */
void
vigil_profile_writer_end(ProfileWriter *w)
{
	if (w->scan != NULL)
	{
		index_endscan(w->scan);
		index_close(w->index, NoLock);
	}
	if (w->fetch != NULL)
		table_index_fetch_end(w->fetch);
	if (w->estate != NULL)
	{
		ExecCloseIndices(w->rri);
		FreeExecutorState(w->estate);
	}
	ExecDropSingleTupleTableSlot(w->found);
	ExecDropSingleTupleTableSlot(w->next);
	UnregisterSnapshot(w->snap);
	table_close(w->heap, NoLock);
	pfree(w);
}
