/*
 * alert_store.c
 *		Inserting alerts into vigil.alerts without an SQL statement.
 *
 * An alert costs more in the INSERT that stores it than in finding it:
 * executor start-up, unnesting a flush's arrays, parsing the fired rules'
 * text[], a heap insertion and a WAL record per row.  This file does what
 * that INSERT does with the table access method's multi-insert, as COPY
 * FROM does: the row's values as detection made them, every other column's
 * default evaluated (the alert's id from its sequence, created_at, and the
 * defaults of any column someone added), NOT NULL and CHECK constraints
 * checked, rows written a batch at a time and then their index entries
 * made, which also evaluates partial indexes' predicates.
 *
 * Only where the result is the statement's: when nobody has put triggers
 * (foreign keys among them), rules, row security, generated columns or
 * deferred unique constraints on vigil.alerts, made it a partition, changed
 * the type, type modifier or identity of one of the columns detection
 * fills, added a column whose default is volatile (it could read the rows
 * still waiting in a batch, which the statement would have written) or of
 * a domain type without a default (the statement would check the domain's
 * constraints on its NULL), or taken away the right to insert; elsewhere
 * the alert writer runs the statement, and everywhere when
 * vigil.direct_writes is off.  Nothing later in the statement reads the
 * alerts, so no command counter increment follows them.
 *
 * What this relies on of PostgreSQL beyond its documented interfaces, and
 * a minor release could change (test every suite with the setting off to
 * tell such a change from a bug of vigil's): table_multi_insert setting
 * each slot's tid, ExecInsertIndexTuples after it as CopyFrom calls it,
 * and ExecConstraints with a one-entry range table.
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "detect/alert_store.h"
#include "detect/watch_cache.h"
#include "guc.h"

/*
 * Rows written by one table_multi_insert.  Enough to fill several pages per
 * call; few enough that making the slots (each pins the table's tuple
 * descriptor with the resource owner) stays cheap for a statement's few alerts.
 */
#define STORE_BATCH 64

/* The columns detection fills, in VigilAlertColumn order, and their types. */
static const char *const column_names[VIGIL_ALERT_NCOLUMNS] = {
	"watch_id", "relation", "row_ref", "key", "amount", "event_time", "score", "fired",
	"explanation", "status"
};
static const Oid column_types[VIGIL_ALERT_NCOLUMNS] = {
	INT4OID, REGCLASSOID, JSONBOID, TEXTOID, FLOAT8OID, TIMESTAMPTZOID, FLOAT8OID,
	TEXTARRAYOID, JSONBOID, TEXTOID
};

struct AlertStore
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	CommandId	cid;
	AttrNumber	attnum[VIGIL_ALERT_NCOLUMNS];
	int			ndefaults;		/* the other columns that have a default */
	AttrNumber *default_att;
	ExprState **default_expr;
	TupleTableSlot *slots[STORE_BATCH];
	int			nslots;			/* slots made so far */
	int			n;				/* rows waiting in slots */
};

/*
 * Whether rel is vigil.alerts as detection can write it directly: see the
 * top of the file.  Fills attnum with the columns detection fills.
 */
static bool
direct_writable(Relation rel, AttrNumber *attnum)
{
	TupleDesc	desc = RelationGetDescr(rel);

	if (rel->trigdesc != NULL || rel->rd_rules != NULL || rel->rd_rel->relrowsecurity ||
		rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relispartition ||
		(desc->constr != NULL && desc->constr->has_generated_stored) ||
		pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_INSERT) != ACLCHECK_OK)
		return false;
	for (int c = 0; c < VIGIL_ALERT_NCOLUMNS; c++)
	{
		attnum[c] = InvalidAttrNumber;
		for (int i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			if (!att->attisdropped && strcmp(NameStr(att->attname), column_names[c]) == 0)
			{
				if (att->atttypid != column_types[c] || att->atttypmod != -1 ||
					att->attidentity != '\0')
					return false;
				attnum[c] = att->attnum;
			}
		}
		if (attnum[c] == InvalidAttrNumber)
			return false;
	}
	return true;
}

/* Whether column attnum is one detection fills. */
static bool
filled(const AlertStore *st, AttrNumber attnum)
{
	for (int c = 0; c < VIGIL_ALERT_NCOLUMNS; c++)
		if (st->attnum[c] == attnum)
			return true;
	return false;
}

/*
 * The executor state, and the other columns' defaults, as COPY FROM makes
 * them; false when one of those columns needs the statement (see the top
 * of the file).
 */
static bool
open_executor(AlertStore *st)
{
	RangeTblEntry *rte = makeNode(RangeTblEntry);
	TupleDesc	desc = RelationGetDescr(st->rel);

	st->estate = CreateExecutorState();
	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(st->rel);
	rte->relkind = st->rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(st->estate, list_make1(rte));
	st->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(st->rri, st->rel, 1, NULL, 0);
	ExecOpenIndices(st->rri, false);
	st->cid = GetCurrentCommandId(true);
	st->default_att = palloc(sizeof(AttrNumber) * desc->natts);
	st->default_expr = palloc(sizeof(ExprState *) * desc->natts);
	for (int i = 0; i < desc->natts; i++)
	{
		AttrNumber	attnum = i + 1;
		Expr	   *expr;

		if (TupleDescAttr(desc, i)->attisdropped || filled(st, attnum))
			continue;
		expr = (Expr *) build_column_default(st->rel, attnum);
		if (expr == NULL)
		{
			if (get_typtype(TupleDescAttr(desc, i)->atttypid) == TYPTYPE_DOMAIN)
				return false;
			continue;
		}
		expr = expression_planner(expr);
		if (contain_volatile_functions_not_nextval((Node *) expr))
			return false;
		st->default_att[st->ndefaults] = attnum;
		st->default_expr[st->ndefaults++] = ExecInitExpr(expr, NULL);
	}
	/* a deferred unique check is an after trigger the statement would queue */
	for (int i = 0; i < st->rri->ri_NumIndices; i++)
		if (!st->rri->ri_IndexRelationDescs[i]->rd_index->indimmediate)
			return false;
	return true;
}

/*
 * Start inserting alerts directly, or return NULL where only the SQL
 * statement gives the right result (see the top of the file).
 */
AlertStore *
vigil_alert_store_begin(void)
{
	AlertStore *st;
	Relation	rel;

	if (!vigil_direct_writes)
		return NULL;
	rel = table_open(vigil_watch_cache_alerts(), RowExclusiveLock);
	st = palloc0(sizeof(AlertStore));
	if (!direct_writable(rel, st->attnum))
	{
		table_close(rel, RowExclusiveLock);
		pfree(st);
		return NULL;
	}
	st->rel = rel;
	if (!open_executor(st))
	{
		vigil_alert_store_end(st);
		return NULL;
	}
	return st;
}

/* Write the rows waiting in the slots, then their index entries. */
static void
write_batch(AlertStore *st)
{
	if (st->n == 0)
		return;
	table_multi_insert(st->rel, st->slots, st->n, st->cid, 0, NULL);
	for (int i = 0; i < st->n; i++)
	{
		if (st->rri->ri_NumIndices > 0)
			list_free(ExecInsertIndexTuples(st->rri, st->slots[i], st->estate, false, false,
											NULL, NIL));
		ExecClearTuple(st->slots[i]);
		ResetPerTupleExprContext(st->estate);
	}
	st->n = 0;
}

/*
 * Add an alert whose columns detection fills are values, in
 * VigilAlertColumn order; it is written with the batch it falls in.
 */
void
vigil_alert_store_add(AlertStore *st, const Datum *values)
{
	TupleTableSlot *slot;
	ExprContext *econtext = GetPerTupleExprContext(st->estate);
	MemoryContext old;

	if (st->n == st->nslots)
		st->slots[st->nslots++] = table_slot_create(st->rel, NULL);
	slot = st->slots[st->n];
	ExecClearTuple(slot);
	memset(slot->tts_isnull, true, sizeof(bool) * slot->tts_tupleDescriptor->natts);
	for (int c = 0; c < VIGIL_ALERT_NCOLUMNS; c++)
	{
		slot->tts_values[st->attnum[c] - 1] = values[c];
		slot->tts_isnull[st->attnum[c] - 1] = false;
	}
	old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
	for (int d = 0; d < st->ndefaults; d++)
	{
		AttrNumber	attnum = st->default_att[d];

		slot->tts_values[attnum - 1] = ExecEvalExpr(st->default_expr[d], econtext,
													&slot->tts_isnull[attnum - 1]);
	}
	MemoryContextSwitchTo(old);
	ExecStoreVirtualTuple(slot);
	/* the row's own copy: the caller's values and the defaults' memory go */
	ExecMaterializeSlot(slot);
	if (st->rel->rd_att->constr != NULL)
		ExecConstraints(st->rri, slot, st->estate);
	ResetPerTupleExprContext(st->estate);
	if (++st->n == STORE_BATCH)
		write_batch(st);
}

/* Write what is left; the store is done (the table stays locked). */
void
vigil_alert_store_end(AlertStore *st)
{
	write_batch(st);
	for (int i = 0; i < st->nslots; i++)
		ExecDropSingleTupleTableSlot(st->slots[i]);
	ExecCloseIndices(st->rri);
	FreeExecutorState(st->estate);
	table_close(st->rel, NoLock);
	pfree(st->default_att);
	pfree(st->default_expr);
	pfree(st);
}
