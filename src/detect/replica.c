/*
 * replica.c
 *		Detection on rows that arrive by logical replication.
 *
 * A logical replication worker applies rows with session_replication_role
 * = replica, so the detection trigger (an ordinary statement trigger,
 * enabled ORIGIN) never fires there, and the worker fires row triggers
 * only.  vigil.watch() therefore also gives the table a constraint trigger
 * enabled REPLICA,
 *
 *		CREATE CONSTRAINT TRIGGER vigil_detect_replicated AFTER INSERT
 *			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
 *			WHEN (vigil.collect_replicated(watch id, NEW))
 *			EXECUTE FUNCTION vigil.detect_replicated(watch id)
 *
 * PostgreSQL evaluates a deferred trigger's WHEN as each row is inserted
 * and queues the trigger only where it is true.  collect_replicated keeps
 * the row in a tuplestore of the transaction (spilling to a temporary file
 * past work_mem, so memory is bounded) and is true for the first row only:
 * one event is queued per transaction and watch, not one per row, and at
 * commit detect_replicated scores the transaction's rows in one batch, as
 * the detection trigger scores a statement's.  Rows a user's session
 * inserts as replica (only superusers can set that role) are scored the
 * same way, and never twice: the two triggers fire in different roles.
 *
 * Rows of a subtransaction that rolls back are dropped from the batch, and
 * if the queued event went with it, the next row queues another.  Rows the
 * initial table synchronization copies are history: they are folded into
 * the profiles without raising alerts.  An error while scoring never fails
 * the worker's transaction (it would be retried forever while the
 * publisher keeps WAL for it): the rows are recorded in vigil.skipped, as
 * with on_error = skip.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_subscription_rel.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"
#include "parser/parser.h"
#include "replication/logicalworker.h"
#include "replication/worker_internal.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "detect/detect.h"
#include "guc.h"

PG_FUNCTION_INFO_V1(vigil_add_replica_trigger);
PG_FUNCTION_INFO_V1(vigil_collect_replicated);
PG_FUNCTION_INFO_V1(vigil_detect_replicated);

/*
 * Consecutive collected rows inserted in one subtransaction, or rolled
 * back: a batch has as many as its transaction switched between
 * subtransactions that inserted, merged as subtransactions end.
 */
typedef struct Run
{
	int64		first;			/* the index of its first row */
	SubTransactionId subid;		/* where its rows were inserted, unless dead */
	bool		dead;			/* rolled back */
} Run;

/* The rows of one watch collected in the current transaction. */
typedef struct Collection
{
	int32		watch_id;
	Oid			relid;			/* the watched table, whose row type the rows have */
	bool		quiet;			/* rows of the initial table synchronization */
	bool		queued;			/* detect_replicated is queued for them */
	SubTransactionId queued_in;
	Tuplestorestate *rows;
	int64		nrows;
	Run		   *runs;
	int			nruns;
	int			maxruns;
} Collection;

/* The current transaction's collections, in TopTransactionContext. */
static List *collections = NIL;
static bool callbacks_registered = false;

/*
 * vigil.add_replica_trigger(relation, watch_id): give the watched table the
 * trigger above, made enabled REPLICA as it is created: ALTER TABLE ...
 * ENABLE REPLICA TRIGGER would need the table's ownership, where
 * vigil.watch() needs only the TRIGGER privilege, which CREATE TRIGGER
 * checks here as for any other.
 */
Datum
vigil_add_replica_trigger(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	int32		watch_id = PG_GETARG_INT32(1);
	char	   *sql;
	char	   *relname = get_rel_name(relid);
	CreateTrigStmt *stmt;

	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	/* the table is given by OID: the statement names none */
	sql = psprintf("CREATE CONSTRAINT TRIGGER vigil_detect_replicated AFTER INSERT ON vigil.t "
				   "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
				   "WHEN (vigil.collect_replicated(%d, NEW)) "
				   "EXECUTE FUNCTION vigil.detect_replicated('%d')",
				   watch_id, watch_id);
	stmt = castNode(CreateTrigStmt,
					linitial_node(RawStmt, raw_parser(sql, RAW_PARSE_DEFAULT))->stmt);
	stmt->relation = makeRangeVar(get_namespace_name(get_rel_namespace(relid)), relname, -1);
	CreateTriggerFiringOn(stmt, sql, relid, InvalidOid, InvalidOid, InvalidOid, InvalidOid,
						  InvalidOid, NULL, false, false, TRIGGER_FIRES_ON_REPLICA);
	CommandCounterIncrement();
	PG_RETURN_VOID();
}

/* Merge runs that follow each other and are alike. */
static void
merge_runs(Collection *c)
{
	int			n = 0;

	for (int i = 0; i < c->nruns; i++)
	{
		Run		   *prev = n > 0 ? &c->runs[n - 1] : NULL;
		Run		   *r = &c->runs[i];

		if (prev != NULL && prev->dead == r->dead && (r->dead || prev->subid == r->subid))
			continue;
		c->runs[n++] = *r;
	}
	c->nruns = n;
}

/*
 * At the end of subtransaction subid: rolled back, every row inserted since
 * it began (in it or in the subtransactions it contained, whose ids are
 * larger) is dead, and so is the event it queued; committed, they become
 * its parent's.
 */
static void
end_subtransaction(SubXactEvent event, SubTransactionId subid,
				   SubTransactionId parent, void *arg pg_attribute_unused())
{
	ListCell   *lc;

	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	foreach(lc, collections)
	{
		Collection *c = lfirst(lc);

		for (int i = 0; i < c->nruns; i++)
		{
			Run		   *r = &c->runs[i];

			if (r->dead || r->subid < subid)
				continue;
			if (event == SUBXACT_EVENT_ABORT_SUB)
				r->dead = true;
			else
				r->subid = parent;
		}
		merge_runs(c);
		if (c->queued && c->queued_in >= subid)
		{
			if (event == SUBXACT_EVENT_ABORT_SUB)
				c->queued = false;
			else
				c->queued_in = parent;
		}
	}
}

/* At the end of the transaction, its collections go with its memory. */
static void
end_transaction(XactEvent event, void *arg pg_attribute_unused())
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			collections = NIL;
			break;
		default:
			break;
	}
}

/* The collection of watch_id in this transaction, or NULL. */
static Collection *
find_collection(int32 watch_id)
{
	ListCell   *lc;

	foreach(lc, collections)
	{
		Collection *c = lfirst(lc);

		if (c->watch_id == watch_id)
			return c;
	}
	return NULL;
}

/*
 * The collection of watch_id in this transaction, made for rows of type
 * typid if there is none.
 */
static Collection *
collection_for(int32 watch_id, Oid typid)
{
	Collection *c = find_collection(watch_id);
	MemoryContext old;
	Oid			relid = get_typ_typrelid(typid);

	if (c != NULL)
	{
		if (c->relid != relid)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("vigil.collect_replicated: rows of watch %d must all be of one table",
							watch_id)));
		return c;
	}
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("vigil.collect_replicated takes a row of the watched table, not %s",
						format_type_be(typid))));
	if (!callbacks_registered)
	{
		RegisterXactCallback(end_transaction, NULL);
		RegisterSubXactCallback(end_subtransaction, NULL);
		callbacks_registered = true;
	}
	old = MemoryContextSwitchTo(TopTransactionContext);
	c = palloc0(sizeof(Collection));
	c->watch_id = watch_id;
	c->relid = relid;
	/* the synchronization worker's copy, not its catch-up afterwards */
	c->quiet = IsLogicalWorker() && am_tablesync_worker() &&
		MyLogicalRepWorker->relstate == SUBREL_STATE_DATASYNC;
	c->rows = tuplestore_begin_heap(false, false, work_mem);
	c->maxruns = 4;
	c->runs = palloc(sizeof(Run) * c->maxruns);
	collections = lappend(collections, c);
	MemoryContextSwitchTo(old);
	return c;
}

/* Add the row tuple to c, in the current subtransaction's run. */
static void
collect(Collection *c, HeapTuple tuple)
{
	SubTransactionId subid = GetCurrentSubTransactionId();
	Run		   *last = c->nruns > 0 ? &c->runs[c->nruns - 1] : NULL;
	ResourceOwner owner = CurrentResourceOwner;

	if (last == NULL || last->dead || last->subid != subid)
	{
		if (c->nruns == c->maxruns)
		{
			c->maxruns *= 2;
			c->runs = repalloc(c->runs, sizeof(Run) * c->maxruns);
		}
		c->runs[c->nruns].first = c->nrows;
		c->runs[c->nruns].subid = subid;
		c->runs[c->nruns].dead = false;
		c->nruns++;
	}
	/* a spilled tuplestore's file must outlive the statement that wrote it */
	CurrentResourceOwner = TopTransactionResourceOwner;
	PG_TRY();
	{
		tuplestore_puttuple(c->rows, tuple);
	}
	PG_FINALLY();
	{
		CurrentResourceOwner = owner;
	}
	PG_END_TRY();
	c->nrows++;
}

/*
 * vigil.collect_replicated(watch_id, row): keep row for scoring at commit;
 * true if vigil.detect_replicated is to be queued for it (the first row of
 * the watch in the transaction, or the first since the one queued was
 * rolled back).
 */
Datum
vigil_collect_replicated(PG_FUNCTION_ARGS)
{
	int32		watch_id = PG_GETARG_INT32(0);
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(1);
	HeapTupleData tuple;
	Collection *c;

	if (!vigil_enabled)
		PG_RETURN_BOOL(false);
	c = collection_for(watch_id, HeapTupleHeaderGetTypeId(row));
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	collect(c, &tuple);
	if (c->queued)
		PG_RETURN_BOOL(false);
	c->queued = true;
	c->queued_in = GetCurrentSubTransactionId();
	PG_RETURN_BOOL(true);
}

/*
 * The rows of c that were not rolled back: c's own tuplestore, or, if some
 * were, a copy without them.
 */
static Tuplestorestate *
live_rows(Collection *c)
{
	Tuplestorestate *live;
	TupleDesc	desc;
	TupleTableSlot *slot;
	ResourceOwner owner = CurrentResourceOwner;
	int			run = 0;
	bool		any_dead = false;

	for (int i = 0; i < c->nruns; i++)
		any_dead |= c->runs[i].dead;
	if (!any_dead)
		return c->rows;

	desc = lookup_rowtype_tupdesc(get_rel_type_id(c->relid), -1);
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	CurrentResourceOwner = TopTransactionResourceOwner;
	live = tuplestore_begin_heap(false, false, work_mem);
	tuplestore_rescan(c->rows);
	for (int64 i = 0; tuplestore_gettupleslot(c->rows, true, false, slot); i++)
	{
		while (run + 1 < c->nruns && c->runs[run + 1].first <= i)
			run++;
		if (!c->runs[run].dead)
			tuplestore_puttupleslot(live, slot);
	}
	CurrentResourceOwner = owner;
	ExecDropSingleTupleTableSlot(slot);
	ReleaseTupleDesc(desc);
	tuplestore_end(c->rows);
	return live;
}

/*
 * The trigger function vigil.detect_replicated(watch_id), queued by the
 * first row of its watch in a transaction: score the transaction's rows.
 */
Datum
vigil_detect_replicated(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Collection *c;
	Tuplestorestate *rows;
	Relation	rel;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event) ||
		td->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("vigil.detect_replicated must be an AFTER INSERT ... FOR EACH ROW trigger with the watch id as its argument"),
				 errhint("Use vigil.watch() to set up detection.")));
	c = find_collection(pg_strtoint32(td->tg_trigger->tgargs[0]));
	if (c == NULL)
		return PointerGetDatum(NULL);
	/* rows inserted from here on are another batch, with its own event */
	collections = list_delete_ptr(collections, c);
	rows = live_rows(c);
	/* the partition the event fired on is not the watched table */
	rel = table_open(c->relid, AccessShareLock);
	if (vigil_enabled && tuplestore_tuple_count(rows) > 0)
		vigil_detect_rows(fcinfo, c->watch_id, rel, rows, true, c->quiet);
	table_close(rel, AccessShareLock);
	tuplestore_end(rows);
	return PointerGetDatum(NULL);
}
