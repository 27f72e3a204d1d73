/*
 * alert_writer.c
 *		Writing a statement's alerts, skipped rows and shadow scores as
 *		detection finds them, in bounded memory.
 *
 * Detection hands over each flagged or skipped row with its arrival (its
 * position in the statement's transition table); a flagged row carries an
 * alert, the score the watch's shadow model gave it, or both.  The writer
 * keeps them
 * until it holds WRITER_ROWS rows or WRITER_BYTES bytes of text, then
 * inserts them with one statement per table and forgets them, so its
 * memory does not grow with the statement's rows.
 *
 * An alert names its row by primary key (row_ref), which only the
 * transition table has.  A skipped row is handed over while detection
 * reads it, so its reference is taken at once.  A flagged row is found
 * later, when its key's rows are folded, in key order rather than arrival
 * order: its reference is read at the flush, by a read pointer of the
 * writer's own that goes forward from the first row of detection's current
 * batch (all the rows still to be read are at or after it).  Detection's
 * own reading, through read pointer 0, is left where it was.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "detect/alert_store.h"
#include "detect/alert_writer.h"
#include "detect/profile_type.h"
#include "guc.h"
#include "notify/notifier.h"
#include "plan.h"

/*
 * A flush comes at this many rows or this many bytes of text.  Large enough
 * that a batch of ordinary traffic (a few percent alerting) is written at
 * its end in one pass; small enough that a statement whose every row
 * alerts stays far from the 1 GB limit of one allocation.
 */
#define WRITER_ROWS 65536
#define WRITER_BYTES (32 * 1024 * 1024)

/* A flagged or skipped row waiting to be written. */
typedef struct WriterItem
{
	int64		arrival;
	Jsonb	   *ref;			/* row_ref; NULL until read */
	char	   *key;			/* NULL for a skipped row */
	double		amount;
	double		t;
	double		score;
	ArrayType  *fired;			/* an alert's fired rules; else NULL */
	Jsonb	   *explanation;
	char	   *reason;			/* why a skipped row was skipped; else NULL */
	bool		shadowed;		/* a shadow score to record */
	int64		shadow_model;
	double		shadow_score;
	double		shadow_probability;
} WriterItem;

struct AlertWriter
{
	const VigilWatch *w;
	Tuplestorestate *ts;
	TupleTableSlot *slot;		/* for reading references */
	int			mark;			/* read pointer at the current batch's first row */
	int64		mark_arrival;
	int			scan;			/* read pointer that reads references */
	int64		scan_arrival;
	MemoryContext textcxt;		/* the items' values; reset at every flush */
	MemoryContext workcxt;		/* a reference being made, a flush's arrays */
	WriterItem *items;
	int			n;
	int			max;
	Size		bytes;
	int			unread;			/* items whose reference is still to be read */
};

static SPIPlanPtr alert_plan = NULL;
static SPIPlanPtr skip_plan = NULL;
static SPIPlanPtr shadow_plan = NULL;

/*
 * The inserts of alerts and skipped rows, prepared once per backend.
 * Every value comes as an array, one element per row, and the rows are
 * made by one scan of the arrays in order (alert ids follow arrival).  The
 * arrays are unnested in the select list, where they advance in step a row
 * at a time; in FROM (ROWS FROM) each would first be copied into a
 * tuplestore, which a large flush spills to disk.
 */
static void
prepare_plans(void)
{
	Oid			alert_args[10] = {INT4OID, REGCLASSOID, JSONBARRAYOID, TEXTARRAYOID,
		FLOAT8ARRAYOID, TIMESTAMPTZARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID, JSONBARRAYOID,
	TEXTOID};
	Oid			skip_args[4] = {INT4OID, REGCLASSOID, JSONBARRAYOID, TEXTARRAYOID};

	/* ready once the last is: a failed prepare leaves it NULL, to try again */
	if (skip_plan != NULL)
		return;
	alert_plan = vigil_prepare_plan(
						 "INSERT INTO vigil.alerts (watch_id, relation, row_ref, key, amount, event_time, "
						 "score, fired, explanation, status) "
						 "SELECT $1, $2, pg_catalog.unnest($3), pg_catalog.unnest($4), "
						 "pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7), "
						 "pg_catalog.unnest($8)::pg_catalog.text[], pg_catalog.unnest($9), $10",
						 10, alert_args);
	skip_plan = vigil_prepare_plan(
						"INSERT INTO vigil.skipped (watch_id, relation, row_ref, reason) "
						"SELECT $1, $2, pg_catalog.unnest($3), pg_catalog.unnest($4)",
						4, skip_args);
}

/*
 * The insert of shadow scores, the same way, prepared on first use: only
 * a watch with a shadow model, and so a schema that has the table, needs it.
 */
static void
prepare_shadow_plan(void)
{
	Oid			shadow_args[9] = {INT4OID, INT8ARRAYOID, JSONBARRAYOID, TEXTARRAYOID,
		TIMESTAMPTZARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, BOOLARRAYOID};

	if (shadow_plan != NULL)
		return;
	shadow_plan = vigil_prepare_plan(
						  "INSERT INTO vigil.shadow_scores (watch_id, model_id, row_ref, key, "
						  "event_time, amount, score, probability, alerted) "
						  "SELECT $1, pg_catalog.unnest($2), pg_catalog.unnest($3), "
						  "pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), "
						  "pg_catalog.unnest($7), pg_catalog.unnest($8), pg_catalog.unnest($9)",
						  9, shadow_args);
}

/* A copy of the len bytes at p among the items' values. */
static void *
keep(AlertWriter *aw, const void *p, Size len)
{
	void	   *copy = MemoryContextAlloc(aw->textcxt, len);

	memcpy(copy, p, len);
	aw->bytes += len;
	return copy;
}

/* A copy of the C string s among the items' values. */
static char *
keep_string(AlertWriter *aw, const char *s)
{
	return keep(aw, s, strlen(s) + 1);
}

/*
 * A writer for the rows of watch w in transition table ts (rows of desc),
 * whose read pointer 0 must be at its first row.  Lives in the current
 * memory context, inside the caller's SPI connection.
 */
AlertWriter *
vigil_alert_writer_begin(const VigilWatch *w, Tuplestorestate *ts, TupleDesc desc)
{
	AlertWriter *aw = palloc0(sizeof(AlertWriter));

	prepare_plans();
	aw->w = w;
	aw->ts = ts;
	aw->slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	aw->mark = tuplestore_alloc_read_pointer(ts, 0);
	aw->scan = tuplestore_alloc_read_pointer(ts, 0);
	tuplestore_copy_read_pointer(ts, 0, aw->mark);
	tuplestore_copy_read_pointer(ts, 0, aw->scan);
	aw->textcxt = AllocSetContextCreate(CurrentMemoryContext, "vigil alert writer",
										ALLOCSET_DEFAULT_SIZES);
	aw->workcxt = AllocSetContextCreate(CurrentMemoryContext, "vigil alert writer work",
										ALLOCSET_DEFAULT_SIZES);
	return aw;
}

/* The reference of row, kept among the items' values. */
static Jsonb *
keep_reference(AlertWriter *aw, TupleTableSlot *row)
{
	MemoryContext old = MemoryContextSwitchTo(aw->workcxt);
	Jsonb	   *ref = vigil_row_ref(aw->w, row);

	MemoryContextSwitchTo(old);
	ref = keep(aw, ref, VARSIZE(ref));
	MemoryContextReset(aw->workcxt);
	return ref;
}

/* Where an item is, and its arrival: what sorting the items moves. */
typedef struct ItemOrder
{
	int64		arrival;
	int			at;
} ItemOrder;

/* qsort comparator: ItemOrders by arrival. */
static int
cmp_arrival(const void *a, const void *b)
{
	int64		x = ((const ItemOrder *) a)->arrival;
	int64		y = ((const ItemOrder *) b)->arrival;

	return x < y ? -1 : (x > y);
}

/*
 * Put the items in arrival order (no two have the same).  Sorting moves
 * small ItemOrders, then each item moves once, along the cycles of the
 * permutation, rather than at every step of the sort.
 */
static void
sort_items(AlertWriter *aw)
{
	ItemOrder  *ord = MemoryContextAlloc(aw->workcxt, sizeof(ItemOrder) * aw->n);

	for (int i = 0; i < aw->n; i++)
	{
		ord[i].arrival = aw->items[i].arrival;
		ord[i].at = i;
	}
	qsort(ord, aw->n, sizeof(ItemOrder), cmp_arrival);
	/* position j takes the item at ord[j].at; a placed position says j */
	for (int i = 0; i < aw->n; i++)
	{
		WriterItem	first;
		int			j = i;

		if (ord[i].at == i)
			continue;
		first = aw->items[i];
		while (ord[j].at != i)
		{
			int			k = ord[j].at;

			aw->items[j] = aw->items[k];
			ord[j].at = j;
			j = k;
		}
		aw->items[j] = first;
		ord[j].at = j;
	}
	pfree(ord);
}

/*
 * Read the references of the items that have none, all in the current
 * batch, in one forward pass of the writer's read pointer; the items are in
 * arrival order.
 */
static void
read_references(AlertWriter *aw)
{
	tuplestore_select_read_pointer(aw->ts, aw->scan);
	for (int i = 0; i < aw->n; i++)
	{
		WriterItem *it = &aw->items[i];

		if (it->ref != NULL)
			continue;
		/* from the batch's first row, if that is nearer or the only way */
		if (it->arrival < aw->scan_arrival || aw->scan_arrival < aw->mark_arrival)
		{
			tuplestore_copy_read_pointer(aw->ts, aw->mark, aw->scan);
			aw->scan_arrival = aw->mark_arrival;
		}
		if (it->arrival < aw->scan_arrival ||
			(it->arrival > aw->scan_arrival &&
			 !tuplestore_skiptuples(aw->ts, it->arrival - aw->scan_arrival, true)) ||
			!tuplestore_gettupleslot(aw->ts, true, false, aw->slot))
			elog(ERROR, "the transition table has fewer rows than detection read");
		it->ref = keep_reference(aw, aw->slot);
		aw->scan_arrival = it->arrival + 1;
	}
	ExecClearTuple(aw->slot);
	tuplestore_select_read_pointer(aw->ts, 0);
	aw->unread = 0;
}

/* An array datum of the n values at vals, of type typid (jsonb or text). */
static Datum
varlena_array(Datum *vals, int n, Oid typid)
{
	return PointerGetDatum(construct_array(vals, n, typid, -1, false, TYPALIGN_INT));
}

/* A float8[] or timestamptz[] datum of the n values at vals. */
static Datum
float8_array(Datum *vals, int n, Oid typid)
{
	return PointerGetDatum(construct_array(vals, n, typid, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * Insert the alerts among the items, in arrival order, with status, by
 * the INSERT statement.  An alert's fired rules go as the text of their
 * text[] (an array of arrays cannot be a parameter).
 */
static void
insert_alerts_sql(AlertWriter *aw, int nalerts, const char *status)
{
	Datum	   *r = palloc(sizeof(Datum) * nalerts);
	Datum	   *k = palloc(sizeof(Datum) * nalerts);
	Datum	   *a = palloc(sizeof(Datum) * nalerts);
	Datum	   *t = palloc(sizeof(Datum) * nalerts);
	Datum	   *s = palloc(sizeof(Datum) * nalerts);
	Datum	   *f = palloc(sizeof(Datum) * nalerts);
	Datum	   *e = palloc(sizeof(Datum) * nalerts);
	Datum		args[10];
	int			n = 0;

	for (int i = 0; i < aw->n; i++)
	{
		WriterItem *it = &aw->items[i];

		if (it->fired == NULL)
			continue;
		r[n] = JsonbPGetDatum(it->ref);
		k[n] = CStringGetTextDatum(it->key);
		a[n] = Float8GetDatum(it->amount);
		t[n] = TimestampTzGetDatum(vigil_epoch_to_timestamptz(it->t));
		s[n] = Float8GetDatum(it->score);
		f[n] = CStringGetTextDatum(OidOutputFunctionCall(F_ARRAY_OUT,
														 PointerGetDatum(it->fired)));
		e[n] = JsonbPGetDatum(it->explanation);
		n++;
	}
	Assert(n == nalerts);
	args[0] = Int32GetDatum(aw->w->id);
	args[1] = ObjectIdGetDatum(aw->w->relid);
	args[2] = varlena_array(r, n, JSONBOID);
	args[3] = varlena_array(k, n, TEXTOID);
	args[4] = float8_array(a, n, FLOAT8OID);
	args[5] = float8_array(t, n, TIMESTAMPTZOID);
	args[6] = float8_array(s, n, FLOAT8OID);
	args[7] = varlena_array(f, n, TEXTOID);
	args[8] = varlena_array(e, n, JSONBOID);
	args[9] = CStringGetTextDatum(status);
	if (SPI_execute_plan(alert_plan, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert alerts for watch %d", aw->w->id);
}

/*
 * Insert the alerts among the items, in arrival order: queued for delivery
 * when the watch or the server names an SNS topic, otherwise recorded only,
 * so that the notifier never holds or wakes for alerts it cannot send.
 * Written directly where that gives the statement's result (alert_store.c).
 */
static void
insert_alerts(AlertWriter *aw, int nalerts)
{
	bool		deliver = aw->w->has_topic || vigil_sns_topic_arn[0] != '\0';
	const char *status = deliver ? "pending" : "recorded";
	AlertStore *st = vigil_alert_store_begin();

	if (st == NULL)
		insert_alerts_sql(aw, nalerts, status);
	else
	{
		Datum		v[VIGIL_ALERT_NCOLUMNS];

		v[VIGIL_ALERT_WATCH_ID] = Int32GetDatum(aw->w->id);
		v[VIGIL_ALERT_RELATION] = ObjectIdGetDatum(aw->w->relid);
		v[VIGIL_ALERT_STATUS] = CStringGetTextDatum(status);
		for (int i = 0; i < aw->n; i++)
		{
			WriterItem *it = &aw->items[i];

			if (it->fired == NULL)
				continue;
			v[VIGIL_ALERT_ROW_REF] = JsonbPGetDatum(it->ref);
			v[VIGIL_ALERT_KEY] = CStringGetTextDatum(it->key);
			v[VIGIL_ALERT_AMOUNT] = Float8GetDatum(it->amount);
			v[VIGIL_ALERT_EVENT_TIME] = TimestampTzGetDatum(vigil_epoch_to_timestamptz(it->t));
			v[VIGIL_ALERT_SCORE] = Float8GetDatum(it->score);
			v[VIGIL_ALERT_FIRED] = PointerGetDatum(it->fired);
			v[VIGIL_ALERT_EXPLANATION] = JsonbPGetDatum(it->explanation);
			vigil_alert_store_add(st, v);
			pfree(DatumGetPointer(v[VIGIL_ALERT_KEY]));
		}
		vigil_alert_store_end(st);
	}
	if (deliver)
		vigil_notifier_wake_at_commit();
}

/* Insert the skipped rows among the items, in arrival order. */
static void
insert_skips(AlertWriter *aw, int nskips)
{
	Datum	   *r = palloc(sizeof(Datum) * nskips);
	Datum	   *why = palloc(sizeof(Datum) * nskips);
	Datum		args[4];
	int			n = 0;

	for (int i = 0; i < aw->n; i++)
	{
		if (aw->items[i].reason == NULL)
			continue;
		r[n] = JsonbPGetDatum(aw->items[i].ref);
		why[n] = CStringGetTextDatum(aw->items[i].reason);
		n++;
	}
	args[0] = Int32GetDatum(aw->w->id);
	args[1] = ObjectIdGetDatum(aw->w->relid);
	args[2] = varlena_array(r, n, JSONBOID);
	args[3] = varlena_array(why, n, TEXTOID);
	if (SPI_execute_plan(skip_plan, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record skipped rows for watch %d", aw->w->id);
}

/* Insert the shadow scores among the items, in arrival order. */
static void
insert_shadows(AlertWriter *aw, int nshadows)
{
	Datum	   *m = palloc(sizeof(Datum) * nshadows);
	Datum	   *r = palloc(sizeof(Datum) * nshadows);
	Datum	   *k = palloc(sizeof(Datum) * nshadows);
	Datum	   *t = palloc(sizeof(Datum) * nshadows);
	Datum	   *a = palloc(sizeof(Datum) * nshadows);
	Datum	   *s = palloc(sizeof(Datum) * nshadows);
	Datum	   *p = palloc(sizeof(Datum) * nshadows);
	Datum	   *alerted = palloc(sizeof(Datum) * nshadows);
	Datum		args[9];
	int			n = 0;

	for (int i = 0; i < aw->n; i++)
	{
		WriterItem *it = &aw->items[i];

		if (!it->shadowed)
			continue;
		m[n] = Int64GetDatum(it->shadow_model);
		r[n] = JsonbPGetDatum(it->ref);
		k[n] = CStringGetTextDatum(it->key);
		t[n] = TimestampTzGetDatum(vigil_epoch_to_timestamptz(it->t));
		a[n] = Float8GetDatum(it->amount);
		s[n] = Float8GetDatum(it->shadow_score);
		p[n] = Float8GetDatum(it->shadow_probability);
		alerted[n] = BoolGetDatum(it->fired != NULL);
		n++;
	}
	args[0] = Int32GetDatum(aw->w->id);
	args[1] = float8_array(m, n, INT8OID);
	args[2] = varlena_array(r, n, JSONBOID);
	args[3] = varlena_array(k, n, TEXTOID);
	args[4] = float8_array(t, n, TIMESTAMPTZOID);
	args[5] = float8_array(a, n, FLOAT8OID);
	args[6] = float8_array(s, n, FLOAT8OID);
	args[7] = float8_array(p, n, FLOAT8OID);
	args[8] = PointerGetDatum(construct_array(alerted, n, BOOLOID, 1, true, TYPALIGN_CHAR));
	prepare_shadow_plan();
	if (SPI_execute_plan(shadow_plan, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record shadow scores for watch %d", aw->w->id);
}

/* Write every item held, and forget them. */
static void
flush(AlertWriter *aw)
{
	MemoryContext old;
	int			nalerts = 0;
	int			nskips = 0;
	int			nshadows = 0;

	if (aw->n == 0)
		return;
	sort_items(aw);
	if (aw->unread > 0)
		read_references(aw);
	for (int i = 0; i < aw->n; i++)
	{
		nalerts += aw->items[i].fired != NULL;
		nskips += aw->items[i].reason != NULL;
		nshadows += aw->items[i].shadowed;
	}
	/* each in workcxt: SPI returns in its own context, which lives on */
	old = MemoryContextSwitchTo(aw->workcxt);
	if (nalerts > 0)
		insert_alerts(aw, nalerts);
	MemoryContextSwitchTo(aw->workcxt);
	if (nskips > 0)
		insert_skips(aw, nskips);
	MemoryContextSwitchTo(aw->workcxt);
	if (nshadows > 0)
		insert_shadows(aw, nshadows);
	MemoryContextSwitchTo(old);
	MemoryContextReset(aw->workcxt);
	MemoryContextReset(aw->textcxt);
	aw->n = 0;
	aw->bytes = 0;
}

/* A new item, zeroed: the writer flushes first when it is full. */
static WriterItem *
add_item(AlertWriter *aw, int64 arrival)
{
	WriterItem *it;

	if (aw->n == WRITER_ROWS || aw->bytes >= WRITER_BYTES)
		flush(aw);
	if (aw->n == aw->max)
	{
		MemoryContext cxt = GetMemoryChunkContext(aw);

		aw->max = aw->max ? Min(aw->max * 2, WRITER_ROWS) : 64;
		aw->items = aw->items
			? repalloc(aw->items, sizeof(WriterItem) * aw->max)
			: MemoryContextAlloc(cxt, sizeof(WriterItem) * aw->max);
	}
	it = &aw->items[aw->n++];
	memset(it, 0, sizeof(*it));
	it->arrival = arrival;
	aw->bytes += sizeof(WriterItem);
	return it;
}

/*
 * Detection starts a batch at arrival first, where read pointer 0 now is:
 * the rows handed over from now on without a reference are at or after
 * it.  The items of the batch before, which are before it, are written now.
 */
void
vigil_alert_writer_batch(AlertWriter *aw, int64 first)
{
	if (aw->unread > 0)
		flush(aw);
	tuplestore_copy_read_pointer(aw->ts, 0, aw->mark);
	aw->mark_arrival = first;
}

/*
 * Record the row at arrival as not scored, for the reason why.  row is the
 * row itself when the caller has it in hand (its reference is taken now),
 * or NULL.
 */
void
vigil_alert_writer_skip(AlertWriter *aw, int64 arrival, TupleTableSlot *row,
						const char *why)
{
	WriterItem *it = add_item(aw, arrival);

	if (row != NULL)
		it->ref = keep_reference(aw, row);
	else
		aw->unread++;
	it->reason = keep_string(aw, why);
}

/* Record an alert for the row at arrival, whose reference is read later. */
void
vigil_alert_writer_alert(AlertWriter *aw, int64 arrival, const char *key,
						 double amount, double t, double score,
						 const ArrayType *fired, const Jsonb *explanation)
{
	WriterItem *it = add_item(aw, arrival);

	aw->unread++;
	it->key = keep_string(aw, key);
	it->amount = amount;
	it->t = t;
	it->score = score;
	it->fired = keep(aw, fired, VARSIZE(fired));
	it->explanation = keep(aw, explanation, VARSIZE(explanation));
}

/*
 * Record the score the watch's shadow model gave the row at arrival: with
 * the alert just recorded for it, if it alerted, else on its own.
 */
void
vigil_alert_writer_shadow(AlertWriter *aw, int64 arrival, const char *key,
						  double amount, double t, int64 model, double score,
						  double probability)
{
	WriterItem *it;

	if (aw->n > 0 && aw->items[aw->n - 1].arrival == arrival &&
		aw->items[aw->n - 1].fired != NULL)
		it = &aw->items[aw->n - 1];
	else
	{
		it = add_item(aw, arrival);
		aw->unread++;
		it->key = keep_string(aw, key);
		it->amount = amount;
		it->t = t;
	}
	it->shadowed = true;
	it->shadow_model = model;
	it->shadow_score = score;
	it->shadow_probability = probability;
}

/* Write what is left; the writer is done. */
void
vigil_alert_writer_end(AlertWriter *aw)
{
	flush(aw);
	ExecDropSingleTupleTableSlot(aw->slot);
	MemoryContextDelete(aw->textcxt);
	MemoryContextDelete(aw->workcxt);
	if (aw->items != NULL)
		pfree(aw->items);
}
