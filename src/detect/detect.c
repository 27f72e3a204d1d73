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
 *	3. for each chunk of keys in that order, lock each key's profile row
 *	   in that order (so every session takes key locks in the same order
 *	   and concurrent inserters cannot deadlock), compute the new profile
 *	   while the row is locked and write it: one write per key.  Keys are
 *	   written directly (profile_write.c): a key's row is updated, or
 *	   inserted speculatively as INSERT ... ON CONFLICT would, so that of
 *	   two sessions inserting a new key the second updates the first's
 *	   row.  Where that would not give the statement's result (see
 *	   profile_write.c), the chunk's remaining keys go through the
 *	   statement itself,
 *
 *		INSERT INTO vigil.profiles ... ON CONFLICT DO UPDATE
 *			SET profile = vigil.fold_profile(key, profile)
 *
 *	   which inserts or locks each key in input order.  Either way the
 *	   fold is fold_key here; vigil.fold_profile calls back into it, which
 *	   scores each of the key's rows against the profile as it was before
 *	   the row, then folds the row in (prequential: a row never vouches for
 *	   itself).  A key whose row turns up only once it was folded from
 *	   an empty profile is folded again from the stored one (the last fold
 *	   counts).  The statement is preceded by a probe of the profiles'
 *	   primary key, which tells which keys already have a profile, so those
 *	   are folded only once, from the stored profile; the probe is only a
 *	   hint, and a key the probe saw but that was deleted before the insert
 *	   (so it went in with no profile) is folded afterwards by an UPDATE of
 *	   the row this statement inserted;
 *	4. hand what each chunk flagged, and the rows set aside, to the alert
 *	   writer (alert_writer.c), which inserts alerts and skips every so
 *	   many rows.
 *
 * Memory is bounded whatever the statement's size: a batch holds at most
 * BATCH_ROWS rows, and at most KEY_ROWS of one key; a chunk at most
 * CHUNK_ROWS rows, so what its folds flag (and keep until the chunk's
 * writes are final) is bounded too; the writer writes as it goes.
 *
 * Everything is ordinary transactional writes, so a rolled-back statement,
 * savepoint or transaction leaves no trace.  The function runs as its owner
 * (see vigil_detect): inserters need no privileges on the vigil schema.
 */
#include "postgres.h"

#include <math.h>

#include <sys/mman.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "detect/alert_writer.h"
#include "detect/core/rules.h"
#include "detect/detect.h"
#include "detect/event.h"
#include "detect/keyset.h"
#include "detect/profile_type.h"
#include "detect/profile_write.h"
#include "detect/score.h"
#include "detect/watch_cache.h"
#include "guc.h"
#include "plan.h"

PG_FUNCTION_INFO_V1(vigil_detect);

/*
 * Rows of one statement are processed in batches of at most this many, to
 * bound memory.  Within a batch, rows are ordered by (key, time, arrival);
 * batches follow each other in arrival order.
 */
#define BATCH_ROWS 1000000

/*
 * A batch ends when one key has this many rows in it: the alerts of a
 * key's rows are kept until its profile is written, and this bounds them.
 */
#define KEY_ROWS 16384

/*
 * Keys whose profiles are locked, scored and written per SPI statement: at
 * most CHUNK_KEYS keys and, unless one key has more, CHUNK_ROWS rows.
 */
#define CHUNK_KEYS 1000
#define CHUNK_ROWS KEY_ROWS

/*
 * One scorable row, kept small: a batch holds up to BATCH_ROWS of them, and
 * touching their memory for the first time was a tenth of detection's
 * cost.  What only some watches have (a location, a category) is in a
 * RowExtra beside it.
 */
typedef struct Row
{
	double		t;
	double		amount;
	uint64		merchant_hash;	/* if has_merchant */
	uint32		offset;			/* arrival - the batch's first arrival */
	uint32		key:31;			/* index into the batch's keys */
	uint32		has_merchant:1;
} Row;

/* The rest of a row's event, for watches with a location or a category. */
typedef struct RowExtra
{
	double		lat;
	double		lon;
	uint64		category_hash;
	bool		has_location;
	bool		has_category;
} RowExtra;

/* A row the fold of its key flagged or skipped. */
typedef struct Flagged
{
	int64		arrival;
	double		amount;
	double		t;
	double		score;
	ArrayType  *fired;			/* the fired rules; NULL unless it alerts */
	Jsonb	   *explanation;
	const char *reason;			/* why a skipped row was skipped; NULL otherwise */
	bool		shadowed;		/* the shadow scorer's verdict is to be recorded */
	double		shadow_score;
	double		shadow_probability;
} Flagged;

/* What the last fold of one key flagged or skipped. */
typedef struct KeyResult
{
	Flagged    *items;
	int			n;
	int			max;
} KeyResult;

/* The state of one trigger call. */
typedef struct Detection
{
	VigilWatch	w;
	VigilScorer scorer;
	VigilScorer shadow;			/* with the shadow model, if has_shadow */
	bool		has_shadow;
	AlertWriter *writer;
	MemoryContext batchcxt;
	MemoryContext chunkcxt;		/* what a chunk's folds flagged */
	MemoryContext scratch;		/* per-row garbage, reset every few rows */
	/* the current batch */
	int64		first;			/* arrival of its first row, scorable or not */
	Row		   *rows;
	RowExtra   *extra;			/* beside rows; NULL when the watch has none */
	int64		nrows;
	int64		maxrows;
	KeySet	   *keyset;			/* the batch's keys, numbered: key ids */
	char	  **keys;			/* by key id, once the batch is read */
	int32		nkeys;
	int32	   *perm;			/* row indexes grouped by key, in (time, arrival) order */
	int32	   *order;			/* key ids in key order */
	int32	   *rank;			/* position of each key id in order */
	int64	   *start;			/* perm[start[r] .. start[r + 1]) are rank r's */
	KeyResult  *results;		/* by key id: what its last fold flagged */
	bool	   *folded;			/* by key id: folded by the current chunk */
	char	   *failure;		/* on_error = skip: why detection failed */
	bool		quiet;			/* fold profiles only: no alerts, no shadows */
	bool		replicated;		/* rows applied by logical replication */
} Detection;

static SPIPlanPtr fold_plan = NULL;
static SPIPlanPtr refold_plan = NULL;

/* The detection whose profiles vigil.fold_profile is computing, if any. */
static Detection *current = NULL;

/* The statements this file runs, prepared once per backend. */
static void
prepare_plans(void)
{
	Oid			fold_args[3] = {INT4OID, TEXTARRAYOID, BOOLARRAYOID};
	Oid			refold_args[2] = {INT4OID, TEXTOID};

	/* ready once the last is: a failed prepare leaves it NULL, to try again */
	if (refold_plan != NULL)
		return;
	fold_plan = vigil_prepare_plan(
						"INSERT INTO vigil.profiles AS p (watch_id, key, profile) "
						"SELECT $1, k, CASE WHEN e THEN NULL ELSE vigil.fold_profile(k, NULL) END "
						"FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) "
						"WITH ORDINALITY AS u(k, e, i) ORDER BY i "
						"ON CONFLICT (watch_id, key) DO UPDATE "
						"SET profile = vigil.fold_profile(p.key, p.profile), updated_at = pg_catalog.now()",
						3, fold_args);
	refold_plan = vigil_prepare_plan(
						  "UPDATE vigil.profiles SET profile = vigil.fold_profile(key, profile) "
						  "WHERE watch_id OPERATOR(pg_catalog.=) $1 AND key OPERATOR(pg_catalog.=) $2",
						  2, refold_args);
}

/* A new entry in the results of key id's current fold. */
static Flagged *
key_result(Detection *d, int32 id)
{
	KeyResult  *r = &d->results[id];

	if (r->n == r->max)
	{
		r->max = r->max ? r->max * 2 : 4;
		r->items = r->items
			? repalloc(r->items, sizeof(Flagged) * r->max)
			: MemoryContextAlloc(d->chunkcxt, sizeof(Flagged) * r->max);
	}
	memset(&r->items[r->n], 0, sizeof(Flagged));
	return &r->items[r->n++];
}

/*
 * Ask the kernel to back the whole 2 MB pages of a large array with huge
 * pages: a batch's rows are written once each, and taking a page fault for
 * every 4 kB of them cost a twentieth of detection.  Only advice: where it
 * is not available, or refused, the array works all the same.
 */
static void
advise_huge_pages(void *p, Size size)
{
#ifdef MADV_HUGEPAGE
	const uintptr_t huge = 2 * 1024 * 1024;
	uintptr_t	start = TYPEALIGN(huge, (uintptr_t) p);
	uintptr_t	end = ((uintptr_t) p + size) & ~(huge - 1);

	if (end > start)
		(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
#endif
}

/*
 * Start an empty batch at arrival first, where the transition table's read
 * pointer 0 is, with room for the rows expected.
 */
static void
batch_start(Detection *d, int64 first, int64 expected)
{
	MemoryContextReset(d->batchcxt);
	vigil_alert_writer_batch(d->writer, first);
	d->first = first;
	/* sized for the statement: a single-row INSERT is the common case */
	d->maxrows = Max(Min(expected, BATCH_ROWS), 16);
	d->rows = MemoryContextAllocHuge(d->batchcxt, sizeof(Row) * d->maxrows);
	advise_huge_pages(d->rows, sizeof(Row) * d->maxrows);
	d->extra = NULL;
	if (d->w.lat.attnum != 0 || d->w.category.attnum != 0)
	{
		d->extra = MemoryContextAllocHuge(d->batchcxt, sizeof(RowExtra) * d->maxrows);
		advise_huge_pages(d->extra, sizeof(RowExtra) * d->maxrows);
	}
	d->nrows = 0;
	d->keyset = vigil_keyset_create(d->batchcxt, Min(d->maxrows, 1024));
}

/*
 * Add a scorable row, whose key is the keylen bytes at key, to the batch;
 * the key is copied if it is new.  Returns whether the batch is full.
 */
static bool
batch_add(Detection *d, int64 arrival, const VigilEvent *e, const char *key,
		  int keylen)
{
	int32		id = vigil_keyset_intern(d->keyset, key, keylen);
	Row		   *r;

	if (d->nrows == d->maxrows)
	{
		d->maxrows *= 2;
		d->rows = repalloc_huge(d->rows, sizeof(Row) * d->maxrows);
		if (d->extra != NULL)
			d->extra = repalloc_huge(d->extra, sizeof(RowExtra) * d->maxrows);
	}
	if (d->extra != NULL)
	{
		RowExtra   *x = &d->extra[d->nrows];

		x->lat = e->lat;
		x->lon = e->lon;
		x->category_hash = e->category_hash;
		x->has_location = e->has_location;
		x->has_category = e->has_category;
	}
	r = &d->rows[d->nrows++];
	r->t = e->t;
	r->amount = e->amount;
	r->merchant_hash = e->merchant_hash;
	r->offset = (uint32) (arrival - d->first);
	r->key = id;
	r->has_merchant = e->has_merchant;
	return d->nrows == BATCH_ROWS || vigil_keyset_rows(d->keyset, id) == KEY_ROWS;
}

/* The event of row i of the batch. */
static inline void
row_event(const Detection *d, int64 i, VigilEvent *e)
{
	const Row  *r = &d->rows[i];

	e->t = r->t;
	e->amount = r->amount;
	e->merchant_hash = r->merchant_hash;
	e->has_merchant = r->has_merchant;
	if (d->extra != NULL)
	{
		const RowExtra *x = &d->extra[i];

		e->lat = x->lat;
		e->lon = x->lon;
		e->category_hash = x->category_hash;
		e->has_location = x->has_location;
		e->has_category = x->has_category;
	}
	else
	{
		e->lat = e->lon = 0.0;
		e->category_hash = 0;
		e->has_location = e->has_category = false;
	}
	e->has_model = false;		/* the scorer adds its model's probability */
	/* looked up here, not kept: a row here is 32 bytes */
	vigil_event_localize(&d->w, e);
}

static char **sort_keys_text;

/* qsort comparator: key ids by their text, byte order. */
static int
cmp_key_ids(const void *a, const void *b)
{
	return strcmp(sort_keys_text[*(const int32 *) a], sort_keys_text[*(const int32 *) b]);
}

static Row *sort_rows;

/* qsort comparator: row indexes of one key by (time, arrival). */
static int
cmp_rows_time(const void *a, const void *b)
{
	const Row  *ra = &sort_rows[*(const int32 *) a];
	const Row  *rb = &sort_rows[*(const int32 *) b];

	if (ra->t != rb->t)
		return ra->t < rb->t ? -1 : 1;
	return ra->offset < rb->offset ? -1 : (ra->offset > rb->offset);
}

/*
 * Order the batch's rows by key, as a permutation d->perm of row indexes
 * (the rows themselves stay put), with d->order (key ids in key order),
 * d->rank (its inverse) and d->start (where each rank's rows begin in perm;
 * start[nkeys] = nrows).  Each key's rows are in arrival order, which
 * order_by_time makes (time, arrival) order where it is not already.
 */
static void
batch_order(Detection *d)
{
	int32	   *ord = MemoryContextAllocHuge(d->batchcxt, sizeof(int32) * Max(d->nkeys, 1));
	int32	   *rank = MemoryContextAllocHuge(d->batchcxt, sizeof(int32) * Max(d->nkeys, 1));
	int64	   *st = MemoryContextAllocHuge(d->batchcxt, sizeof(int64) * (d->nkeys + 1));
	int64	   *fill = MemoryContextAllocHuge(d->batchcxt, sizeof(int64) * Max(d->nkeys, 1));
	int32	   *perm = MemoryContextAllocHuge(d->batchcxt, sizeof(int32) * Max(d->nrows, 1));

	advise_huge_pages(perm, sizeof(int32) * Max(d->nrows, 1));

	for (int32 i = 0; i < d->nkeys; i++)
		ord[i] = i;
	sort_keys_text = d->keys;
	qsort(ord, d->nkeys, sizeof(int32), cmp_key_ids);
	for (int32 i = 0; i < d->nkeys; i++)
		rank[ord[i]] = i;

	/* counting sort by key rank; stable, so arrival order is kept */
	st[0] = 0;
	for (int32 i = 0; i < d->nkeys; i++)
		st[i + 1] = st[i] + vigil_keyset_rows(d->keyset, ord[i]);
	Assert(st[d->nkeys] == d->nrows);
	memcpy(fill, st, sizeof(int64) * d->nkeys);
	for (int64 i = 0; i < d->nrows; i++)
		perm[fill[rank[d->rows[i].key]]++] = (int32) i;

	d->perm = perm;
	d->order = ord;
	d->rank = rank;
	d->start = st;
}

/*
 * Put the rows of rank r in (time, arrival) order in perm.  Rows usually
 * arrive in time order, so this is mostly one comparison per row, made just
 * before the fold reads the same rows.
 */
static void
order_by_time(Detection *d, int32 r)
{
	int64		first = d->start[r];
	int64		end = d->start[r + 1];

	for (int64 j = first + 1; j < end; j++)
	{
		if (d->rows[d->perm[j]].t < d->rows[d->perm[j - 1]].t)
		{
			sort_rows = d->rows;
			qsort(d->perm + first, end - first, sizeof(int32), cmp_rows_time);
			return;
		}
	}
}

/* A copy of varlena v in mcxt, at its size. */
static void *
copy_varlena(MemoryContext mcxt, const void *v)
{
	Size		size = VARSIZE(v);
	void	   *copy = MemoryContextAlloc(mcxt, size);

	memcpy(copy, v, size);
	return copy;
}

/*
 * Score the event e of a row of key id, which arrived at arrival, against
 * the key's profile as it was before the row, and remember the row when
 * the score reaches the watch's threshold.  Text is built only for rows
 * that alert, in scratch memory, and kept at its size.  With a shadow
 * model, the row is also scored as it would be with that model active, and
 * that score is remembered when either alerts.
 */
static void
score_row(Detection *d, int32 id, int64 arrival, const VigilEvent *e,
		  const VigilProfile *before)
{
	double		threshold = d->w.alert_threshold;
	double		score = vigil_score_decide(&d->scorer, before, e, threshold);
	bool		alerts = score > 0.0 && score >= threshold;
	double		shadow_score = 0.0;
	bool		shadowed = false;
	MemoryContext old;
	Flagged    *p;

	if (d->has_shadow)
	{
		shadow_score = vigil_score_decide(&d->shadow, before, e, threshold);
		shadowed = alerts || (shadow_score > 0.0 && shadow_score >= threshold);
		/* below the threshold decide's score is a bound: the exact one */
		if (alerts && shadow_score < threshold)
			shadow_score = vigil_score(&d->shadow, before, e);
	}
	if (!alerts && !shadowed)
		return;
	p = key_result(d, id);
	p->arrival = arrival;
	p->amount = e->amount;
	p->t = e->t;
	p->score = score;
	p->shadowed = shadowed;
	p->shadow_score = shadow_score;
	p->shadow_probability = shadowed ? d->shadow.probability : NAN;
	if (!alerts)
		return;
	old = MemoryContextSwitchTo(d->scratch);
	p->explanation = copy_varlena(d->chunkcxt, vigil_explain(&d->scorer, before, e));
	p->fired = copy_varlena(d->chunkcxt, vigil_fired_array(&d->scorer));
	MemoryContextSwitchTo(old);
	MemoryContextReset(d->scratch);
}

/*
 * Fold all of key id's rows of the batch into prof in (time, arrival)
 * order, scoring each first.
 */
static void
fold_key(Detection *d, int32 id, VigilProfile *prof)
{
	int32		r = d->rank[id];

	d->folded[id] = true;
	d->results[id].n = 0;		/* an earlier fold of this key does not count */
	order_by_time(d, r);
	for (int64 j = d->start[r]; j < d->start[r + 1]; j++)
	{
		int64		i = d->perm[j];
		int64		arrival = d->first + d->rows[i].offset;
		int			flagged = d->results[id].n;
		VigilEvent	e;

		row_event(d, i, &e);
		if (!d->quiet)
			score_row(d, id, arrival, &e, prof);
		if (!vigil_profile_fold(prof, &e))
		{
			Flagged    *p;

			/* a row the profile refuses is skipped, so it cannot alert */
			d->results[id].n = flagged;
			p = key_result(d, id);
			p->arrival = arrival;
			p->reason = "the key's profile cannot take more rows";
		}
	}
}

PG_FUNCTION_INFO_V1(vigil_fold_profile);

/*
 * vigil.fold_profile(key, profile): called by the statement process_chunk
 * runs, with the key's row locked (or about to be inserted), to compute the
 * key's new profile from the stored one (NULL: none yet).
 */
Datum
vigil_fold_profile(PG_FUNCTION_ARGS)
{
	Detection  *d = current;
	text	   *key;
	int32		id;
	VigilProfile prof;

	if (d == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("vigil.fold_profile can only be used by vigil's detection trigger")));
	if (PG_ARGISNULL(0))
		elog(ERROR, "vigil.fold_profile called without a key");
	key = PG_GETARG_TEXT_PP(0);
	id = vigil_keyset_find(d->keyset, VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key));
	if (id < 0)
		elog(ERROR, "vigil.fold_profile called for key \"%s\" outside the statement",
			 text_to_cstring(key));
	if (PG_ARGISNULL(1))
		vigil_profile_init(&prof);
	else
		vigil_profile_get(PG_GETARG_DATUM(1), &prof);
	fold_key(d, id, &prof);
	PG_RETURN_DATUM(vigil_profile_datum(&prof));
}

/*
 * Which of n keys of watch_id have a row in vigil.profiles, as seen by a
 * fresh snapshot: one probe of its primary key per key.
 */
static void
probe_profiles(int32 watch_id, char **keys, int32 n, bool *exists)
{
	Relation	heap = table_open(vigil_watch_cache_profiles(), AccessShareLock);
	Relation	index = index_open(RelationGetPrimaryKeyIndex(heap), AccessShareLock);
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	TupleTableSlot *slot = table_slot_create(heap, NULL);
	IndexScanDesc scan = index_beginscan(heap, index, snap, 2, 0);
	ScanKeyData skey[2];

	for (int32 i = 0; i < n; i++)
	{
		text	   *key = cstring_to_text(keys[i]);

		vigil_profile_scankeys(skey, index, watch_id, key);
		index_rescan(scan, skey, 2, NULL, 0);
		exists[i] = index_getnext_slot(scan, ForwardScanDirection, slot);
		pfree(key);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snap);
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
}

/*
 * Fold key id's rows straight into its row of vigil.profiles, inserting the
 * row if it has none; false, with nothing written, when only the statement
 * can insert it (see profile_write.c).
 */
static bool
fold_into_row(Detection *d, ProfileWriter *pw, int32 id)
{
	VigilProfile prof;
	bool		found = vigil_profile_writer_read(pw, d->w.id, d->keys[id], &prof);

	for (;;)
	{
		if (!found)
		{
			if (!vigil_profile_writer_inserts(pw))
				return false;
			vigil_profile_init(&prof);
			fold_key(d, id, &prof);
			if (vigil_profile_writer_insert(pw, d->w.id, d->keys[id], &prof))
				return true;
			/* the key has a row after all, locked now: prof is its profile */
		}
		fold_key(d, id, &prof);
		if (vigil_profile_writer_update(pw, &prof))
			return true;
		/* another session wrote the row meanwhile: fold again from its version */
		found = vigil_profile_writer_relock(pw, &prof);
	}
}

/*
 * Fold the keys of ranks [first, first + n) straight into their rows, in
 * key order, stopping at the first key that only the statement can write;
 * returns how many were done.
 */
static int32
fold_directly(Detection *d, int32 first, int32 n)
{
	ProfileWriter *pw = vigil_profile_writer_begin();
	int32		done = 0;

	if (pw == NULL)
		return 0;
	while (done < n && fold_into_row(d, pw, d->order[first + done]))
		done++;
	vigil_profile_writer_end(pw);

	/* what follows, the next batch's probes among it, must see the writes */
	if (done > 0)
		CommandCounterIncrement();
	return done;
}

/*
 * Lock, score and write the keys of ranks [first, first + n) in one
 * statement, which inserts the keys that have no profile yet.
 */
static void
fold_with_statement(Detection *d, int32 first, int32 n)
{
	/* in the chunk's memory, which goes after it: SPI returns in its own */
	MemoryContext old = MemoryContextSwitchTo(d->chunkcxt);
	char	  **keys = palloc(sizeof(char *) * n);
	bool	   *exists = palloc(sizeof(bool) * n);
	Datum	   *flags = palloc(sizeof(Datum) * n);
	Datum		args[3];

	for (int32 i = 0; i < n; i++)
	{
		keys[i] = d->keys[d->order[first + i]];
		d->folded[d->order[first + i]] = false;
	}
	probe_profiles(d->w.id, keys, n, exists);
	for (int32 i = 0; i < n; i++)
		flags[i] = BoolGetDatum(exists[i]);
	args[0] = Int32GetDatum(d->w.id);
	args[1] = vigil_text_array(keys, n);
	args[2] = PointerGetDatum(construct_array(flags, n, BOOLOID, 1, true, TYPALIGN_CHAR));
	current = d;
	PG_TRY();
	{
		if (SPI_execute_plan(fold_plan, args, NULL, false, 0) != SPI_OK_INSERT ||
			SPI_processed != (uint64) n)
			elog(ERROR, "could not update the profiles of watch %d", d->w.id);

		/* keys the probe saw that were gone by the insert went in unfolded */
		for (int32 i = 0; i < n; i++)
		{
			Datum		refold[2];

			if (d->folded[d->order[first + i]])
				continue;
			MemoryContextSwitchTo(d->chunkcxt);
			refold[0] = args[0];
			refold[1] = CStringGetTextDatum(keys[i]);
			if (SPI_execute_plan(refold_plan, refold, NULL, false, 0) != SPI_OK_UPDATE ||
				SPI_processed != 1)
				elog(ERROR, "could not update the profile of key \"%s\" of watch %d",
					 keys[i], d->w.id);
		}
	}
	PG_FINALLY();
	{
		current = NULL;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
}

/*
 * Lock, score and write the keys of ranks [first, first + n): directly, in
 * key order, where profile_write.c can; the rest in one statement, which
 * takes their locks in the same order (so concurrent sessions cannot
 * deadlock) and inserts the new ones.
 */
static void
process_chunk(Detection *d, int32 first, int32 n)
{
	int32		done = fold_directly(d, first, n);

	if (done < n)
		fold_with_statement(d, first + done, n - done);
}

/* Hand what the folds of the keys of ranks [first, first + n) flagged to the writer. */
static void
hand_over(Detection *d, int32 first, int32 n)
{
	for (int32 r = first; r < first + n; r++)
	{
		int32		id = d->order[r];
		KeyResult  *res = &d->results[id];

		for (int i = 0; i < res->n; i++)
		{
			Flagged    *p = &res->items[i];

			if (p->reason != NULL)
			{
				vigil_alert_writer_skip(d->writer, p->arrival, NULL, p->reason);
				continue;
			}
			if (p->fired != NULL)
				vigil_alert_writer_alert(d->writer, p->arrival, d->keys[id], p->amount,
										 p->t, p->score, p->fired, p->explanation);
			if (p->shadowed)
				vigil_alert_writer_shadow(d->writer, p->arrival, d->keys[id], p->amount,
										  p->t, d->shadow.model->id, p->shadow_score,
										  p->shadow_probability);
		}
		res->items = NULL;
		res->n = res->max = 0;
	}
	MemoryContextReset(d->chunkcxt);
}

/*
 * Score every row of the current batch, chunk by chunk, handing what each
 * chunk flagged to the writer once its profiles are written.
 */
static void
batch_finish(Detection *d)
{
	MemoryContext old;
	int32		first = 0;

	if (d->nrows == 0)
		return;
	d->keys = vigil_keyset_keys(d->keyset);
	d->nkeys = vigil_keyset_count(d->keyset);
	old = MemoryContextSwitchTo(d->batchcxt);
	batch_order(d);
	d->results = palloc0(sizeof(KeyResult) * d->nkeys);
	d->folded = palloc0(sizeof(bool) * d->nkeys);
	MemoryContextSwitchTo(old);
	while (first < d->nkeys)
	{
		int32		n = 1;

		while (n < CHUNK_KEYS && first + n < d->nkeys &&
			   d->start[first + n + 1] - d->start[first] <= CHUNK_ROWS)
			n++;
		process_chunk(d, first, n);
		hand_over(d, first, n);
		first += n;
	}
}

/* The owner of the trigger function, whose rights detection runs with. */
static Oid
detect_owner(FunctionCallInfo fcinfo)
{
	Oid		   *owner = fcinfo->flinfo->fn_extra;

	if (owner == NULL)
	{
		HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
		owner = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(Oid));
		*owner = ((Form_pg_proc) GETSTRUCT(tup))->proowner;
		ReleaseSysCache(tup);
		fcinfo->flinfo->fn_extra = owner;
	}
	return *owner;
}

/*
 * Score the rows of transition table ts, inserted into rel, for the watch
 * loaded into d: read them in batches, fold and score each batch, and
 * write what was flagged or skipped.  Runs inside the trigger's SPI
 * connection.
 */
static void
detect_rows(Detection *d, Tuplestorestate *ts, Relation rel)
{
	/* where this call's memory goes: SPI calls return in SPI's context */
	MemoryContext cxt = CurrentMemoryContext;
	TupleTableSlot *slot;
	int64		arrival = 0;
	int64		total;
	bool		full = false;

	prepare_plans();
	MemoryContextSwitchTo(cxt);
	d->batchcxt = AllocSetContextCreate(cxt, "vigil detection batch", ALLOCSET_DEFAULT_SIZES);
	d->chunkcxt = AllocSetContextCreate(cxt, "vigil detection chunk", ALLOCSET_DEFAULT_SIZES);
	d->scratch = AllocSetContextCreate(cxt, "vigil detection row", ALLOCSET_SMALL_SIZES);

	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	total = tuplestore_tuple_count(ts);
	/* pointer 0 can rewind; another trigger may have left its own active */
	tuplestore_select_read_pointer(ts, 0);
	tuplestore_rescan(ts);
	d->writer = vigil_alert_writer_begin(&d->w, ts, RelationGetDescr(rel));
	batch_start(d, 0, total);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		VigilEvent	e;
		const char *key = NULL;
		int			keylen = 0;
		const char *why;
		MemoryContext old = MemoryContextSwitchTo(d->scratch);

		why = vigil_event_read(&d->w, slot, &e, &key, &keylen);
		MemoryContextSwitchTo(old);
		if (why != NULL)
			vigil_alert_writer_skip(d->writer, arrival, slot, why);
		else
			full = batch_add(d, arrival, &e, key, keylen);
		arrival++;
		if (arrival % 1024 == 0)
			MemoryContextReset(d->scratch);
		/* a row's offset in its batch is a uint32 */
		if (full || arrival - d->first == PG_UINT32_MAX)
		{
			full = false;
			batch_finish(d);
			MemoryContextSwitchTo(cxt);
			batch_start(d, arrival, total - arrival);
		}
	}
	batch_finish(d);
	MemoryContextSwitchTo(cxt);
	vigil_alert_writer_end(d->writer);
	MemoryContextDelete(d->batchcxt);
	MemoryContextDelete(d->chunkcxt);
	MemoryContextDelete(d->scratch);
	ExecDropSingleTupleTableSlot(slot);
}

/* The longest reason recorded for the rows of a statement detection failed on. */
#define FAILURE_REASON_MAX 500

/*
 * Whether an error inside detection is the transaction's rather than
 * detection's, and so must fail the insert even when on_error is skip: a
 * serialization failure or deadlock (class 40: the client retries the
 * transaction, and the rows are then scored), a cancel, statement_timeout
 * or shutdown (class 57), a lock_timeout (55P03).  Recording such rows as
 * skipped would let a retried payment, or one a session chose to give up
 * on, commit unscored.
 */
static bool
transaction_error(const ErrorData *error)
{
	int			class = ERRCODE_TO_CATEGORY(error->sqlerrcode);

	return class == ERRCODE_TRANSACTION_ROLLBACK ||
		class == ERRCODE_OPERATOR_INTERVENTION ||
		error->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE;
}

/*
 * Run fn(d, ts, rel) in a subtransaction, its memory in a context of its
 * own; on an error, undo it, free the memory and return the error, unless
 * it is the transaction's (transaction_error), which is raised again.
 */
static ErrorData *
run_guarded(void (*fn) (Detection *, Tuplestorestate *, Relation),
			Detection *d, Tuplestorestate *ts, Relation rel)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	MemoryContext attempt = AllocSetContextCreate(cxt, "vigil guarded detection",
												  ALLOCSET_DEFAULT_SIZES);
	ErrorData  *error = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(attempt);
	PG_TRY();
	{
		fn(d, ts, rel);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		error = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (transaction_error(error))
			ReThrowError(error);
	}
	PG_END_TRY();
	MemoryContextDelete(attempt);
	return error;
}

/* Record every row of the statement in vigil.skipped, for d->failure. */
static void
record_rows(Detection *d, Tuplestorestate *ts, Relation rel)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	AlertWriter *writer;
	int64		arrival = 0;

	tuplestore_select_read_pointer(ts, 0);
	tuplestore_rescan(ts);
	writer = vigil_alert_writer_begin(&d->w, ts, RelationGetDescr(rel));
	vigil_alert_writer_batch(writer, 0);
	while (tuplestore_gettupleslot(ts, true, false, slot))
		vigil_alert_writer_skip(writer, arrival++, slot, d->failure);
	vigil_alert_writer_end(writer);
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * Detection for a watch whose on_error is skip: an error inside it (a bad
 * rule, a full disk, a bug) undoes its writes, and the insert goes on
 * without them, with a warning; every row of the statement is then
 * recorded as skipped with the reason, so that vigil.skipped counts them
 * and vigil.rebuild can fold them in once the cause is fixed.  If even
 * that fails (a full disk), the warnings are all that is left.
 */
static void
detect_rows_or_skip(Detection *d, Tuplestorestate *ts, Relation rel)
{
	ErrorData  *error = run_guarded(detect_rows, d, ts, rel);
	ErrorData  *again;
	const char *relname;
	int64		nrows = tuplestore_tuple_count(ts);

	if (error == NULL)
		return;
	relname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										 RelationGetRelationName(rel));
	d->failure = psprintf("detection failed: %s", error->message);
	if (strlen(d->failure) > FAILURE_REASON_MAX)
		d->failure[pg_mbcliplen(d->failure, strlen(d->failure), FAILURE_REASON_MAX)] = '\0';
	again = run_guarded(record_rows, d, ts, rel);
	ereport(WARNING,
			(errcode(ERRCODE_WARNING),
			 errmsg_plural("vigil: detection failed on %s; its %lld inserted row is not scored",
						   "vigil: detection failed on %s; its %lld inserted rows are not scored",
						   nrows, relname, (long long) nrows),
			 errdetail("%s (SQLSTATE %s)", error->message, unpack_sql_state(error->sqlerrcode)),
			 again == NULL
			 ? errhint("%s: the insert goes on, and vigil.skipped has the rows. "
					   "Once the cause is fixed, vigil.rebuild(%s) folds them into the profiles.",
					   d->replicated ? "Replicated rows are never refused" : "The watch's on_error is skip",
					   quote_literal_cstr(relname))
			 : errhint("%s: the insert goes on. The rows could not be recorded "
					   "in vigil.skipped either (%s); vigil.verify finds the profiles they left out.",
					   d->replicated ? "Replicated rows are never refused" : "The watch's on_error is skip",
					   again->message)));
}

/*
 * Score the rows of ts, inserted into rel, for watch watch_id, as the owner
 * of the trigger function fcinfo calls, with nothing but pg_catalog on the
 * search path, as PostgreSQL's foreign-key triggers do: inserters need no
 * privileges on vigil's tables, and nothing they put on their search_path
 * can stand in for a table, operator or function of the statements it
 * runs.  That is what SECURITY DEFINER with SET search_path would do, at a
 * cost (saving, parsing and restoring the setting) as large for a
 * single-row INSERT as scoring the row.  An error restores both at
 * (sub)transaction abort.  Rows that came by replication (replicated) are
 * scored as if the watch's on_error were skip; quiet folds them into the
 * profiles without alerting.
 */
void
vigil_detect_rows(FunctionCallInfo fcinfo, int32 watch_id, Relation rel,
				  Tuplestorestate *ts, bool replicated, bool quiet)
{
	Detection	d;
	Oid			save_userid;
	int			save_sec_context;
	OverrideSearchPath *path;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(detect_owner(fcinfo),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	path = palloc0(sizeof(OverrideSearchPath));
	path->addCatalog = true;
	PushOverrideSearchPath(path);

	memset(&d, 0, sizeof(d));
	d.quiet = quiet;
	d.replicated = replicated;
	SPI_connect();
	if (!vigil_watch_cache_get(watch_id, rel, &d.w, &d.scorer, &d.shadow, &d.has_shadow))
	{
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("vigil: the watch on table \"%s\" is gone or incomplete; rows not scored",
						RelationGetRelationName(rel)),
				 errhint("Call vigil.unwatch('%s') or vigil.watch() again.",
						 RelationGetRelationName(rel))));
	}
	else if (d.w.skip_on_error || replicated)
		detect_rows_or_skip(&d, ts, rel);
	else
		detect_rows(&d, ts, rel);
	SPI_finish();
	PopOverrideSearchPath();
	SetUserIdAndSecContext(save_userid, save_sec_context);
}

/* The trigger function: vigil.detect(watch_id). */
Datum
vigil_detect(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(td->tg_event) || td->tg_newtable == NULL ||
		td->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("vigil.detect must be an AFTER INSERT ... REFERENCING NEW TABLE FOR EACH STATEMENT trigger with the watch id as its argument"),
				 errhint("Use vigil.watch() to set up detection.")));
	if (vigil_enabled)
		vigil_detect_rows(fcinfo, pg_strtoint32(td->tg_trigger->tgargs[0]), td->tg_relation,
						  td->tg_newtable, false, false);
	return PointerGetDatum(NULL);
}
