/*
 * replay.c
 *		vigil.replay (backtest the rules over history) and vigil.rebuild
 *		(recompute the live profiles from history).
 *
 * Both read the watched table through a cursor ordered by (key text in
 * byte order, time, ctid) and keep one profile in memory at a time, so
 * their memory does not grow with the table.  Keys are independent, so this
 * order gives every key the same (time, arrival) sequence as reading the
 * whole table in time order; for rows inserted in time order, ctid order is
 * arrival order and replay scores exactly as live insertion did.  The
 * pass hands each key's folded profile to a callback (VigilPass.key_done),
 * which is how rebuild writes profiles and vigil.verify (verify.c) compares
 * them.
 *
 * The table is read as the caller, so its privileges apply; a table whose
 * row-level security applies to the caller is refused (vigil_open_table_arg).
 * vigil's own tables are read as their owner, the way PostgreSQL's foreign
 * key triggers switch user.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_type.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "detect/profile_type.h"
#include "detect/replay.h"

PG_FUNCTION_INFO_V1(vigil_replay);
PG_FUNCTION_INFO_V1(vigil_rebuild);

/* Rows fetched from the cursor at a time. */
#define FETCH_ROWS 10000

/* Profiles written per statement by rebuild. */
#define WRITE_PROFILES 1000

/* rebuild: profiles waiting to be written (VigilPass.state). */
typedef struct Rebuild
{
	Oid			profile_typid;
	char	  **keys;
	Datum	   *profiles;
	int			npending;
	int64		nprofiles;
} Rebuild;

/* The owner of vigil's tables (whoever created the extension). */
static Oid
vigil_owner(void)
{
	Oid			relid = get_relname_relid("watches", get_namespace_oid("vigil", false));
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* Run f as the owner of vigil's tables. */
static void
as_owner(void (*f) (VigilPass *), VigilPass *p)
{
	Oid			save_userid;
	int			save_sec;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(vigil_owner(), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	f(p);
	SetUserIdAndSecContext(save_userid, save_sec);
}

/* Load the watch on p->rel and its rules (run as the owner of vigil's tables). */
static void
load_watch(VigilPass *p)
{
	Datum		arg = ObjectIdGetDatum(RelationGetRelid(p->rel));
	Oid			argtypes[1] = {REGCLASSOID};
	bool		isnull;
	int32		id;

	if (SPI_execute_with_args("SELECT id FROM vigil.watches WHERE relation OPERATOR(pg_catalog.=) $1",
							  1, argtypes, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read vigil.watches");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("table %s is not watched", RelationGetRelationName(p->rel)),
				 errhint("Call vigil.watch() first.")));
	id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!vigil_watch_load(&p->w, id, p->rel, CurrentMemoryContext))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the watch on table %s is incomplete", RelationGetRelationName(p->rel))));
	vigil_scorer_init(&p->scorer, id, vigil_watch_inputs(&p->w), CurrentMemoryContext);
}

/* replay's row_done: score one row against its key's profile and emit it. */
static void
replay_row(VigilPass *p, TupleTableSlot *slot, const char *key, const VigilEvent *e,
		   const VigilProfile *before)
{
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	double		score = vigil_score(&p->scorer, before, e);

	values[0] = JsonbPGetDatum(vigil_row_ref(&p->w, slot));
	values[1] = CStringGetTextDatum(key);
	values[2] = TimestampTzGetDatum(vigil_epoch_to_timestamptz(e->t));
	values[3] = Float8GetDatum(e->amount);
	values[4] = Float8GetDatum(score);
	values[5] = PointerGetDatum(vigil_fired_array(&p->scorer));
	values[6] = JsonbPGetDatum(vigil_explain(&p->scorer, before, e));
	tuplestore_putvalues(p->rsinfo->setResult, p->rsinfo->setDesc, values, nulls);
}

/* rebuild: write the profiles collected so far. */
static void
rebuild_flush(VigilPass *p)
{
	static const char *sql =
		"INSERT INTO vigil.profiles (watch_id, key, profile) "
		"SELECT $1, k, prof "
		"FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(k, prof)";
	Rebuild    *r = p->state;
	Oid			argtypes[3] = {INT4OID, TEXTARRAYOID, get_array_type(r->profile_typid)};
	Datum		args[3];
	Datum	   *keys = palloc(sizeof(Datum) * Max(r->npending, 1));

	if (r->npending == 0)
		return;
	for (int i = 0; i < r->npending; i++)
		keys[i] = CStringGetTextDatum(r->keys[i]);
	args[0] = Int32GetDatum(p->w.id);
	args[1] = PointerGetDatum(construct_array(keys, r->npending, TEXTOID, -1, false, TYPALIGN_INT));
	args[2] = PointerGetDatum(construct_array(r->profiles, r->npending, r->profile_typid,
											  -1, false, TYPALIGN_DOUBLE));
	if (SPI_execute_with_args(sql, 3, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write the profiles of watch %d", p->w.id);
	for (int i = 0; i < r->npending; i++)
	{
		pfree(r->keys[i]);
		pfree(DatumGetPointer(r->profiles[i]));
	}
	pfree(keys);
	r->nprofiles += r->npending;
	r->npending = 0;
}

/* rebuild: keep a finished key's profile, writing when enough have come. */
static void
rebuild_add(VigilPass *p, const char *key, const VigilProfile *prof)
{
	Rebuild    *r = p->state;

	r->keys[r->npending] = pstrdup(key);
	r->profiles[r->npending] = vigil_profile_datum(prof);
	if (++r->npending == WRITE_PROFILES)
		as_owner(rebuild_flush, p);
}

/*
 * Run the pass: stream the table in (key, time, ctid) order; fold each row
 * whose event time is in [from, until) into its key's profile, handing it
 * first to row_done when its time is in [since, until) too; each key's
 * profile goes to key_done once the key's rows are done.
 *
 * Keys are sorted by the text detection keeps profiles under, which is the
 * key column's output function (format's %s applies it; a cast to text
 * need not, e.g. for bool or inet), in byte order: key_done sees keys in
 * strcmp order, the order of vigil.profiles' primary key.
 */
void
vigil_pass_run(VigilPass *p)
{
	TupleDesc	reldesc = RelationGetDescr(p->rel);
	TupleTableSlot *slot = MakeSingleTupleTableSlot(reldesc, &TTSOpsHeapTuple);
	const char *keycol = quote_identifier(NameStr(TupleDescAttr(reldesc, p->w.key.attnum - 1)->attname));
	const char *timecol = quote_identifier(NameStr(TupleDescAttr(reldesc, p->w.time.attnum - 1)->attname));
	const char *relname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(p->rel)),
													 RelationGetRelationName(p->rel));
	Oid			rowtype = RelationGetForm(p->rel)->reltype;

	/*
	 * No column name can change what this means: every name in it is quoted
	 * from the catalogs or qualified by the alias t, and a qualified name is
	 * always the relation's (t.x is column x of t; in an expression, t.* is
	 * t's whole row, where a bare t would be a column named t if the table
	 * had one).  The row's type is still checked below before its datum is
	 * read as a tuple.
	 */
	char	   *sql = psprintf("SELECT t.*::%s, pg_catalog.format('%%s', t.%s) COLLATE pg_catalog.\"C\" "
							   "FROM %s AS t ORDER BY 2, t.%s, t.ctid",
							   format_type_be_qualified(rowtype), keycol, relname, timecol);
	SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);
	Portal		portal;
	StringInfoData curkey;
	bool		have_key = false;
	VigilProfile prof;
	VigilProfile before;
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext, "vigil replay row",
												 ALLOCSET_DEFAULT_SIZES);

	if (plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	initStringInfo(&curkey);
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		SPITupleTable *rows;
		uint64		nrows;

		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;

		/*
		 * Keep this batch: key_done runs statements of its own (rebuild's
		 * writes, verify's reads), which replace SPI_tuptable and
		 * SPI_processed.
		 */
		rows = SPI_tuptable;
		nrows = SPI_processed;
		if (SPI_gettypeid(rows->tupdesc, 1) != rowtype)
			elog(ERROR, "replay read a row of type %s from table \"%s\", not its row type",
				 format_type_be(SPI_gettypeid(rows->tupdesc, 1)), RelationGetRelationName(p->rel));
		for (uint64 i = 0; i < nrows; i++)
		{
			bool		isnull;
			HeapTupleHeader th;
			HeapTupleData tuple;
			VigilEvent	e;
			char	   *key;
			MemoryContext old = MemoryContextSwitchTo(rowcxt);

			th = DatumGetHeapTupleHeader(SPI_getbinval(rows->vals[i], rows->tupdesc, 1, &isnull));
			tuple.t_len = HeapTupleHeaderGetDatumLength(th);
			ItemPointerSetInvalid(&tuple.t_self);
			tuple.t_tableOid = RelationGetRelid(p->rel);
			tuple.t_data = th;
			ExecStoreHeapTuple(&tuple, slot, false);

			if (vigil_event_from_slot(&p->w, slot, &e, &key) == NULL &&
				e.t >= p->from && e.t < p->until)
			{
				if (!have_key || strcmp(curkey.data, key) != 0)
				{
					MemoryContextSwitchTo(old);
					if (have_key && p->key_done != NULL)
						p->key_done(p, curkey.data, &prof);
					resetStringInfo(&curkey);
					appendStringInfoString(&curkey, key);
					have_key = true;
					vigil_profile_init(&prof);
					MemoryContextSwitchTo(rowcxt);
				}
				/* as detection does, a row the profile refuses is skipped */
				vigil_event_localize(&p->w, &e);
				memcpy(&before, &prof, sizeof(VigilProfile));
				if (vigil_profile_fold(&prof, &e) && p->row_done != NULL && e.t >= p->since)
					p->row_done(p, slot, curkey.data, &e, &before);
			}
			MemoryContextSwitchTo(old);
			ExecClearTuple(slot);
			MemoryContextReset(rowcxt);
		}
		SPI_freetuptable(rows);
	}
	if (have_key && p->key_done != NULL)
		p->key_done(p, curkey.data, &prof);
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
	ExecDropSingleTupleTableSlot(slot);
	MemoryContextDelete(rowcxt);
}

/*
 * Open the table that function fname was given, with lockmode, after
 * checking that it exists and that the caller may read every row and column
 * of it (the pass reads whole rows), so that an OID of no relation is a
 * clear error and a caller who could not read the table cannot lock it.
 *
 * A table whose row-level security applies to the caller is refused before
 * any row is read: its policies would hide rows (whose keys would then be
 * rebuilt or verified wrong), and they are the table owner's expressions,
 * which would run as the caller, an admin's rights lent to the owner.
 */
Relation
vigil_open_table_arg(Oid relid, LOCKMODE lockmode, const char *fname)
{
	Relation	rel;

	/* raises undefined_table for an OID that is no relation */
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK &&
		pg_attribute_aclcheck_all(relid, GetUserId(), ACL_SELECT, ACLMASK_ALL) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(get_rel_relkind(relid)),
					   get_rel_name(relid));
	rel = try_table_open(relid, lockmode);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));

	/*
	 * Once the table is locked: its owner cannot add a policy any more
	 * before the rows are read (a check before the lock would pass, and a
	 * policy committed while waiting for it would then run).
	 */
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s must read every row of table %s", fname, RelationGetRelationName(rel)),
				 errdetail("Row-level security applies to the current user."),
				 errhint("Run it as a role the policies do not apply to: a superuser, a role with BYPASSRLS, or the table's owner unless the table forces row security.")));
	return rel;
}

/* Epoch seconds of a timestamptz argument, or def when it is NULL. */
double
vigil_time_arg(FunctionCallInfo fcinfo, int n, double def)
{
	if (PG_ARGISNULL(n))
		return def;
	return vigil_timestamptz_to_epoch(PG_GETARG_TIMESTAMPTZ(n));
}

/* Load the watch on p->rel and its rules, reading vigil's tables as their owner. */
void
vigil_pass_load_watch(VigilPass *p)
{
	as_owner(load_watch, p);
}

/* Score with model p->model_id (run as the owner of vigil's tables). */
static void
use_model(VigilPass *p)
{
	vigil_scorer_use_model(&p->scorer, p->w.id, p->model_id, CurrentMemoryContext);
}

/*
 * Score the pass with the model that argument n names instead of the
 * watch's active one; a NULL argument keeps the active one, as does a
 * function of an older version's schema that has no such argument.
 */
void
vigil_pass_model_arg(VigilPass *p, FunctionCallInfo fcinfo, int n)
{
	if (n >= PG_NARGS() || PG_ARGISNULL(n))
		return;
	p->model_id = PG_GETARG_INT64(n);
	as_owner(use_model, p);
}

/*
 * Start a pass over the table that function fname was given as its first
 * argument (which must not be NULL): open it for reading, connect to SPI
 * and load its watch and rules.  The caller then sets the pass's times.
 */
void
vigil_pass_begin(VigilPass *p, FunctionCallInfo fcinfo, const char *fname)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("relation must not be NULL")));
	memset(p, 0, sizeof(*p));
	p->rel = vigil_open_table_arg(PG_GETARG_OID(0), AccessShareLock, fname);
	SPI_connect();
	vigil_pass_load_watch(p);
}

/* End a pass vigil_pass_begin started. */
void
vigil_pass_end(VigilPass *p)
{
	SPI_finish();
	table_close(p->rel, AccessShareLock);
}

/*
 * vigil.replay(relation, since, until, from_empty, model): the current
 * rules and active model (or that model) over the table's rows in [since,
 * until), touching nothing live.  The profiles they are scored against are
 * built from every earlier row, as detection's were; with from_empty, from
 * the rows since then only.
 */
Datum
vigil_replay(PG_FUNCTION_ARGS)
{
	VigilPass	p;
	bool		from_empty = true;	/* 0.1's replay, which has three arguments */

	if (PG_NARGS() > 3)
	{
		if (PG_ARGISNULL(3))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("from_empty must not be NULL")));
		from_empty = PG_GETARG_BOOL(3);
	}
	vigil_pass_begin(&p, fcinfo, "vigil.replay");
	vigil_pass_model_arg(&p, fcinfo, 4);
	InitMaterializedSRF(fcinfo, 0);
	p.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	p.since = vigil_time_arg(fcinfo, 1, -INFINITY);
	p.until = vigil_time_arg(fcinfo, 2, INFINITY);
	p.from = from_empty ? p.since : -INFINITY;
	p.row_done = replay_row;
	vigil_pass_run(&p);
	vigil_pass_end(&p);
	return (Datum) 0;
}

/* rebuild: forget the watch's live profiles. */
static void
rebuild_clear(VigilPass *p)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		arg = Int32GetDatum(p->w.id);

	if (SPI_execute_with_args("DELETE FROM vigil.profiles WHERE watch_id OPERATOR(pg_catalog.=) $1",
							  1, argtypes, &arg, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not clear the profiles of watch %d", p->w.id);
}

/*
 * vigil.rebuild(relation, since): recompute the live profiles from the rows
 * since then.  Inserts into the table wait until the transaction ends, so no
 * row is folded twice or missed.  Returns the number of profiles.
 */
Datum
vigil_rebuild(PG_FUNCTION_ARGS)
{
	VigilPass	p;
	Rebuild		r;
	TypeName   *tn = makeTypeNameFromNameList(list_make2(makeString("vigil"),
														 makeString("profile")));

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("relation must not be NULL")));
	memset(&p, 0, sizeof(p));
	memset(&r, 0, sizeof(r));
	p.from = p.since = vigil_time_arg(fcinfo, 1, -INFINITY);
	p.until = INFINITY;
	p.key_done = rebuild_add;
	p.state = &r;
	r.profile_typid = typenameTypeId(NULL, tn);
	r.keys = palloc(sizeof(char *) * WRITE_PROFILES);
	r.profiles = palloc(sizeof(Datum) * WRITE_PROFILES);
	/*
	 * The rows are read with a snapshot taken once the lock is held: the
	 * calling statement's is from before the wait for it, and misses the rows
	 * of the inserts it waited for, which detection folded into the profiles
	 * about to be replaced.  A transaction snapshot cannot be moved on, so
	 * that is refused before the table is locked.
	 */
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("vigil.rebuild must run in a READ COMMITTED transaction"),
				 errdetail("At REPEATABLE READ or SERIALIZABLE it would not see rows committed while it waited for the table.")));
	p.rel = vigil_open_table_arg(PG_GETARG_OID(0), ShareLock, "vigil.rebuild");
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	vigil_pass_load_watch(&p);
	as_owner(rebuild_clear, &p);
	vigil_pass_run(&p);
	as_owner(rebuild_flush, &p);
	SPI_finish();
	PopActiveSnapshot();
	table_close(p.rel, NoLock);
	PG_RETURN_INT64(r.nprofiles);
}
