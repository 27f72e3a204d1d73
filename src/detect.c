/*
 * detect.c
 *		The detection trigger: AFTER INSERT ... FOR EACH STATEMENT.
 *
 * One call per statement, however many rows it inserted:
 *
 *	1. read the transition table once, turning rows into events grouped by
 *	   key (rows that cannot be scored are set aside with the reason);
 *	2. order the keys (byte order) and, within a key, the rows by (time,
 *	   arrival);
 *	3. for each chunk of keys in that order, lock and load their profiles in
 *	   one statement: INSERT ... ON CONFLICT DO UPDATE inserts or locks each
 *	   key in input order, so every session takes key locks in the same
 *	   order and concurrent inserters cannot deadlock;
 *	4. score each row against its key's profile as it was before the row,
 *	   then fold the row in (prequential: a row never vouches for itself);
 *	5. write each chunk's profiles back in one UPDATE;
 *	6. only if something was flagged or skipped, read the transition table
 *	   again for those rows' primary keys and insert alerts and skips.
 *
 * Everything is ordinary transactional writes, so a rolled-back statement,
 * savepoint or transaction leaves no trace.  The function is SECURITY
 * DEFINER: inserters need no privileges on the vigil schema.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "parser/parse_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "core/rules.h"
#include "event.h"
#include "profile.h"
#include "score.h"

PG_FUNCTION_INFO_V1(vigil_detect);

/*
 * Rows of one statement are processed in batches of at most this many, to
 * bound memory.  Within a batch, rows are ordered by (key, time, arrival);
 * batches follow each other in arrival order.
 */
#define BATCH_ROWS 1000000

/* Keys whose profiles are locked, scored and written per SPI statement. */
#define CHUNK_KEYS 1000

/* One scorable row. */
typedef struct Row
{
	int64		arrival;		/* position in the transition table */
	int32		key;			/* index into the batch's keys */
	VigilEvent	e;
} Row;

/* A row set aside, flagged or skipped, waiting for its primary key. */
typedef struct Pending
{
	int64		arrival;
	char	   *key;
	double		amount;
	double		t;
	double		score;
	char	   *fired;			/* JSON array of rule names; NULL when skipped */
	char	   *explanation;	/* JSON; for a skipped row, the reason */
} Pending;

/* Distinct keys of a batch, by hash. */
typedef struct KeyEntry
{
	char	   *key;
	uint32		hash;
	char		status;
	int32		id;
} KeyEntry;

#define SH_PREFIX keytab
#define SH_ELEMENT_TYPE KeyEntry
#define SH_KEY_TYPE char *
#define SH_KEY key
#define SH_HASH_KEY(tb, k) ((uint32) vigil_hash64((k), strlen(k)))
#define SH_EQUAL(tb, a, b) (strcmp((a), (b)) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) (a)->hash
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* The state of one trigger call. */
typedef struct Detection
{
	VigilWatch	w;
	VigilScorer scorer;
	Oid			profile_typid;
	MemoryContext batchcxt;
	/* the current batch */
	Row		   *rows;
	int64		nrows;
	int64		maxrows;
	char	  **keys;			/* by key id */
	int32		nkeys;
	int32		maxkeys;
	keytab_hash *keytab;
	/* flagged and skipped rows of the whole statement */
	Pending    *pending;
	int64		npending;
	int64		maxpending;
} Detection;

static SPIPlanPtr lock_plan = NULL;
static SPIPlanPtr write_plan = NULL;
static SPIPlanPtr alert_plan = NULL;
static SPIPlanPtr skip_plan = NULL;
static Oid	plans_profile_typid = InvalidOid;

/* Prepare and keep an SPI plan. */
static SPIPlanPtr
prepare(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);

	if (plan == NULL || SPI_keepplan(plan) != 0)
		elog(ERROR, "could not prepare \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	return plan;
}

/*
 * The plans this file runs.  They name vigil.profile's array type, whose
 * OID changes when the extension is dropped and created again, so they are
 * prepared afresh when it does.
 */
static void
prepare_plans(Oid profile_typid)
{
	Oid			profarr = get_array_type(profile_typid);
	Oid			lock_args[2] = {INT4OID, TEXTARRAYOID};
	Oid			write_args[3] = {INT4OID, TEXTARRAYOID, profarr};
	Oid			alert_args[9] = {INT4OID, REGCLASSOID, TEXTARRAYOID, TEXTARRAYOID,
	FLOAT8ARRAYOID, TIMESTAMPTZARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
	Oid			skip_args[4] = {INT4OID, REGCLASSOID, TEXTARRAYOID, TEXTARRAYOID};

	if (plans_profile_typid == profile_typid)
		return;
	if (lock_plan)
	{
		SPI_freeplan(lock_plan);
		SPI_freeplan(write_plan);
		SPI_freeplan(alert_plan);
		SPI_freeplan(skip_plan);
	}
	lock_plan = prepare(
						"INSERT INTO vigil.profiles AS p (watch_id, key) "
						"SELECT $1, k FROM pg_catalog.unnest($2) WITH ORDINALITY AS u(k, i) ORDER BY i "
						"ON CONFLICT (watch_id, key) DO UPDATE SET updated_at = p.updated_at "
						"RETURNING p.key, p.profile",
						2, lock_args);
	write_plan = prepare(
						 "UPDATE vigil.profiles AS p SET profile = u.profile, updated_at = pg_catalog.now() "
						 "FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(key, profile) "
						 "WHERE p.watch_id = $1 AND p.key = u.key",
						 3, write_args);
	alert_plan = prepare(
						 "INSERT INTO vigil.alerts (watch_id, relation, row_ref, key, amount, event_time, "
						 "score, fired, explanation) "
						 "SELECT $1, $2, r::jsonb, k, a, t, s, "
						 "ARRAY(SELECT pg_catalog.jsonb_array_elements_text(f::jsonb)), e::jsonb "
						 "FROM ROWS FROM (pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), "
						 "pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8), "
						 "pg_catalog.unnest($9)) WITH ORDINALITY AS u(r, k, a, t, s, f, e, i) ORDER BY i",
						 9, alert_args);
	skip_plan = prepare(
						"INSERT INTO vigil.skipped (watch_id, relation, row_ref, reason) "
						"SELECT $1, $2, r::jsonb, why "
						"FROM ROWS FROM (pg_catalog.unnest($3), pg_catalog.unnest($4)) AS u(r, why)",
						4, skip_args);
	plans_profile_typid = profile_typid;
}

/* The OID of vigil.profile in this database. */
static Oid
profile_type_oid(void)
{
	TypeName   *tn = makeTypeNameFromNameList(list_make2(makeString("vigil"),
														 makeString("profile")));

	return typenameTypeId(NULL, tn);
}

/* Remember a flagged or skipped row for the final pass. */
static Pending *
add_pending(Detection *d)
{
	if (d->npending == d->maxpending)
	{
		d->maxpending = d->maxpending ? d->maxpending * 2 : 64;
		d->pending = d->pending
			? repalloc_huge(d->pending, sizeof(Pending) * d->maxpending)
			: palloc(sizeof(Pending) * d->maxpending);
	}
	return &d->pending[d->npending++];
}

/* Set a row aside as not scored, with the reason. */
static void
skip_row(Detection *d, int64 arrival, const char *why)
{
	Pending    *p = add_pending(d);

	memset(p, 0, sizeof(*p));
	p->arrival = arrival;
	p->explanation = pstrdup(why);
}

/* Start an empty batch. */
static void
batch_start(Detection *d)
{
	MemoryContextReset(d->batchcxt);
	d->maxrows = 1024;
	d->rows = MemoryContextAllocHuge(d->batchcxt, sizeof(Row) * d->maxrows);
	d->nrows = 0;
	d->maxkeys = 1024;
	d->keys = MemoryContextAllocHuge(d->batchcxt, sizeof(char *) * d->maxkeys);
	d->nkeys = 0;
	d->keytab = keytab_create(d->batchcxt, 1024, NULL);
}

/* Add a scorable row to the batch. */
static void
batch_add(Detection *d, int64 arrival, const VigilEvent *e, char *key)
{
	bool		found;
	KeyEntry   *k = keytab_insert(d->keytab, key, &found);
	Row		   *r;

	if (!found)
	{
		if (d->nkeys == d->maxkeys)
		{
			d->maxkeys *= 2;
			d->keys = repalloc_huge(d->keys, sizeof(char *) * d->maxkeys);
		}
		k->key = MemoryContextStrdup(d->batchcxt, key);
		k->id = d->nkeys;
		d->keys[d->nkeys++] = k->key;
	}
	if (d->nrows == d->maxrows)
	{
		d->maxrows *= 2;
		d->rows = repalloc_huge(d->rows, sizeof(Row) * d->maxrows);
	}
	r = &d->rows[d->nrows++];
	r->arrival = arrival;
	r->key = k->id;
	r->e = *e;
}

static char **sort_keys_text;

/* qsort comparator: key ids by their text, byte order. */
static int
cmp_key_ids(const void *a, const void *b)
{
	return strcmp(sort_keys_text[*(const int32 *) a], sort_keys_text[*(const int32 *) b]);
}

/* qsort comparator: rows of one key by (time, arrival). */
static int
cmp_rows_time(const void *a, const void *b)
{
	const Row  *ra = a;
	const Row  *rb = b;

	if (ra->e.t != rb->e.t)
		return ra->e.t < rb->e.t ? -1 : 1;
	return ra->arrival < rb->arrival ? -1 : (ra->arrival > rb->arrival);
}

/*
 * Regroup the batch's rows by key in key order, each key's rows in (time,
 * arrival) order.  Returns the rows and, in *order and *start, the key ids
 * in order and where each key's rows begin (start[nkeys] = nrows).
 */
static Row *
batch_order(Detection *d, int32 **order, int64 **start)
{
	int32	   *ord = MemoryContextAllocHuge(d->batchcxt, sizeof(int32) * Max(d->nkeys, 1));
	int32	   *rank = MemoryContextAllocHuge(d->batchcxt, sizeof(int32) * Max(d->nkeys, 1));
	int64	   *st = MemoryContextAllocHuge(d->batchcxt, sizeof(int64) * (d->nkeys + 1));
	int64	   *fill = MemoryContextAllocHuge(d->batchcxt, sizeof(int64) * Max(d->nkeys, 1));
	Row		   *out = MemoryContextAllocHuge(d->batchcxt, sizeof(Row) * Max(d->nrows, 1));

	for (int32 i = 0; i < d->nkeys; i++)
		ord[i] = i;
	sort_keys_text = d->keys;
	qsort(ord, d->nkeys, sizeof(int32), cmp_key_ids);
	for (int32 i = 0; i < d->nkeys; i++)
		rank[ord[i]] = i;

	/* counting sort by key rank; stable, so arrival order is kept */
	memset(st, 0, sizeof(int64) * (d->nkeys + 1));
	for (int64 i = 0; i < d->nrows; i++)
		st[rank[d->rows[i].key] + 1]++;
	for (int32 i = 0; i < d->nkeys; i++)
		st[i + 1] += st[i];
	memcpy(fill, st, sizeof(int64) * d->nkeys);
	for (int64 i = 0; i < d->nrows; i++)
		out[fill[rank[d->rows[i].key]]++] = d->rows[i];

	/* rows usually arrive in time order; sort only the keys that did not */
	for (int32 i = 0; i < d->nkeys; i++)
	{
		for (int64 j = st[i] + 1; j < st[i + 1]; j++)
		{
			if (out[j].e.t < out[j - 1].e.t)
			{
				qsort(out + st[i], st[i + 1] - st[i], sizeof(Row), cmp_rows_time);
				break;
			}
		}
	}
	*order = ord;
	*start = st;
	return out;
}

/*
 * Score one row against its key's profile as it was before the row, and
 * remember it when the score reaches the watch's threshold.  Text is built
 * only for rows that alert.
 */
static void
score_row(Detection *d, const char *key, const Row *row, const VigilProfile *before)
{
	double		score = vigil_score(&d->scorer, before, &row->e);
	Pending    *p;

	if (score <= 0.0 || score < d->w.alert_threshold)
		return;
	p = add_pending(d);
	p->arrival = row->arrival;
	p->key = pstrdup(key);
	p->amount = row->e.amount;
	p->t = row->e.t;
	p->score = score;
	vigil_explain(&d->scorer, &p->fired, &p->explanation);
}

/* A text[] datum of n C strings. */
static Datum
text_array(char **strs, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(strs[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* Lock, score and write one chunk of keys (ids order[0..n-1]). */
static void
process_chunk(Detection *d, Row *rows, const int32 *order, const int64 *start,
			  int32 first, int32 n)
{
	char	  **keys = palloc(sizeof(char *) * n);
	Datum	   *profiles = palloc(sizeof(Datum) * n);
	Datum		args[3];
	SPITupleTable *tt;

	for (int32 i = 0; i < n; i++)
		keys[i] = d->keys[order[first + i]];
	args[0] = Int32GetDatum(d->w.id);
	args[1] = text_array(keys, n);
	if (SPI_execute_plan(lock_plan, args, NULL, false, 0) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != (uint64) n)
		elog(ERROR, "could not lock the profiles of watch %d", d->w.id);
	tt = SPI_tuptable;

	for (int32 i = 0; i < n; i++)
	{
		HeapTuple	t = tt->vals[i];
		bool		isnull;
		Datum		pd;
		VigilProfile prof;
		int32		key = order[first + i];

		if (strcmp(TextDatumGetCString(heap_getattr(t, 1, tt->tupdesc, &isnull)), keys[i]) != 0)
			elog(ERROR, "profiles of watch %d came back out of order", d->w.id);
		pd = heap_getattr(t, 2, tt->tupdesc, &isnull);
		if (isnull)
			vigil_profile_init(&prof);
		else
			memcpy(&prof, &DatumGetVigilProfileP(pd)->p, sizeof(VigilProfile));

		for (int64 j = start[first + i]; j < start[first + i + 1]; j++)
		{
			score_row(d, d->keys[key], &rows[j], &prof);
			if (!vigil_profile_fold(&prof, &rows[j].e))
				skip_row(d, rows[j].arrival, "the row does not fit the profile (time out of range)");
		}
		profiles[i] = vigil_profile_datum(&prof);
	}
	SPI_freetuptable(tt);

	args[2] = PointerGetDatum(construct_array(profiles, n, d->profile_typid, -1, false,
											  TYPALIGN_DOUBLE));
	if (SPI_execute_plan(write_plan, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not write the profiles of watch %d", d->w.id);
}

/* Score every row of the current batch. */
static void
batch_finish(Detection *d)
{
	int32	   *order;
	int64	   *start;
	Row		   *rows;
	MemoryContext old;

	if (d->nrows == 0)
		return;
	old = MemoryContextSwitchTo(d->batchcxt);
	rows = batch_order(d, &order, &start);
	MemoryContextSwitchTo(old);
	for (int32 first = 0; first < d->nkeys; first += CHUNK_KEYS)
		process_chunk(d, rows, order, start, first, Min(CHUNK_KEYS, d->nkeys - first));
}

/* qsort comparator: pending rows by arrival. */
static int
cmp_pending(const void *a, const void *b)
{
	int64		x = ((const Pending *) a)->arrival;
	int64		y = ((const Pending *) b)->arrival;

	return x < y ? -1 : (x > y);
}

/*
 * Read the transition table again for the primary keys of the flagged and
 * skipped rows, then insert the alerts and the skips.
 */
static void
write_pending(Detection *d, Tuplestorestate *ts, TupleTableSlot *slot)
{
	int64		arrival = 0;
	int64		next = 0;
	int			nalerts = 0;
	int			nskips = 0;
	char	  **refs = palloc(sizeof(char *) * d->npending);
	Datum		args[9];

	qsort(d->pending, d->npending, sizeof(Pending), cmp_pending);
	tuplestore_rescan(ts);
	while (next < d->npending && tuplestore_gettupleslot(ts, true, false, slot))
	{
		while (next < d->npending && d->pending[next].arrival == arrival)
			refs[next++] = vigil_row_ref(&d->w, slot);
		arrival++;
	}

	for (int64 i = 0; i < d->npending; i++)
		d->pending[i].fired ? nalerts++ : nskips++;

	args[0] = Int32GetDatum(d->w.id);
	args[1] = ObjectIdGetDatum(d->w.relid);
	if (nalerts > 0)
	{
		char	  **r = palloc(sizeof(char *) * nalerts);
		char	  **k = palloc(sizeof(char *) * nalerts);
		Datum	   *a = palloc(sizeof(Datum) * nalerts);
		Datum	   *t = palloc(sizeof(Datum) * nalerts);
		Datum	   *s = palloc(sizeof(Datum) * nalerts);
		char	  **f = palloc(sizeof(char *) * nalerts);
		char	  **e = palloc(sizeof(char *) * nalerts);
		int			n = 0;

		for (int64 i = 0; i < d->npending; i++)
		{
			Pending    *p = &d->pending[i];

			if (!p->fired)
				continue;
			r[n] = refs[i];
			k[n] = p->key;
			a[n] = Float8GetDatum(p->amount);
			t[n] = TimestampTzGetDatum(vigil_epoch_to_timestamptz(p->t));
			s[n] = Float8GetDatum(p->score);
			f[n] = p->fired;
			e[n] = p->explanation;
			n++;
		}
		args[2] = text_array(r, n);
		args[3] = text_array(k, n);
		args[4] = PointerGetDatum(construct_array(a, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[5] = PointerGetDatum(construct_array(t, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[6] = PointerGetDatum(construct_array(s, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[7] = text_array(f, n);
		args[8] = text_array(e, n);
		if (SPI_execute_plan(alert_plan, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert alerts for watch %d", d->w.id);
	}
	if (nskips > 0)
	{
		char	  **r = palloc(sizeof(char *) * nskips);
		char	  **why = palloc(sizeof(char *) * nskips);
		int			n = 0;

		for (int64 i = 0; i < d->npending; i++)
		{
			if (d->pending[i].fired)
				continue;
			r[n] = refs[i];
			why[n] = d->pending[i].explanation;
			n++;
		}
		args[2] = text_array(r, n);
		args[3] = text_array(why, n);
		if (SPI_execute_plan(skip_plan, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not record skipped rows for watch %d", d->w.id);
	}
}

/* The trigger function: vigil.detect(watch_id). */
Datum
vigil_detect(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Detection	d;
	Tuplestorestate *ts;
	TupleTableSlot *slot;
	int64		arrival = 0;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(td->tg_event) || td->tg_newtable == NULL ||
		td->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("vigil.detect must be an AFTER INSERT ... REFERENCING NEW TABLE FOR EACH STATEMENT trigger with the watch id as its argument"),
				 errhint("Use vigil.watch() to set up detection.")));
	ts = td->tg_newtable;

	memset(&d, 0, sizeof(d));
	SPI_connect();
	if (!vigil_watch_load(&d.w, pg_strtoint32(td->tg_trigger->tgargs[0]), td->tg_relation))
	{
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("vigil: the watch on table \"%s\" is gone or incomplete; rows not scored",
						RelationGetRelationName(td->tg_relation)),
				 errhint("Call vigil.unwatch('%s') or vigil.watch() again.",
						 RelationGetRelationName(td->tg_relation))));
		SPI_finish();
		return PointerGetDatum(NULL);
	}
	vigil_scorer_init(&d.scorer, d.w.id);
	d.profile_typid = profile_type_oid();
	prepare_plans(d.profile_typid);
	d.batchcxt = AllocSetContextCreate(CurrentMemoryContext, "vigil detection batch",
									   ALLOCSET_DEFAULT_SIZES);

	slot = MakeSingleTupleTableSlot(RelationGetDescr(td->tg_relation), &TTSOpsMinimalTuple);
	batch_start(&d);
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		VigilEvent	e;
		char	   *key = NULL;
		const char *why;
		MemoryContext old = MemoryContextSwitchTo(d.batchcxt);

		why = vigil_event_from_slot(&d.w, slot, &e, &key);
		MemoryContextSwitchTo(old);
		if (why != NULL)
			skip_row(&d, arrival, why);
		else
			batch_add(&d, arrival, &e, key);
		arrival++;
		if (d.nrows == BATCH_ROWS)
		{
			batch_finish(&d);
			batch_start(&d);
		}
	}
	batch_finish(&d);
	MemoryContextDelete(d.batchcxt);

	if (d.npending > 0)
		write_pending(&d, ts, slot);
	ExecDropSingleTupleTableSlot(slot);
	SPI_finish();
	return PointerGetDatum(NULL);
}
