/*
 * verify.c
 *		vigil.verify: compare each stored profile with the one rebuilt from
 *		the table's committed rows, and return the differences.
 *
 * The rebuild is vigil.rebuild's pass (replay.h) with nothing written: it
 * folds the rows key by key, in the byte order of the keys' text, and hands
 * each key's profile here.  The stored profiles are read through a cursor
 * in the same order (that of vigil.profiles' primary key), and the two
 * streams are merged as in a merge join, so memory holds one batch of each
 * and does not grow with the table.
 *
 * Both cursors read with the calling statement's snapshot.  Detection
 * writes a statement's rows and its keys' profiles in one transaction, so a
 * snapshot sees both or neither: inserts running meanwhile neither wait for
 * verify nor show up as differences.
 *
 * Profiles are compared byte for byte.  The fold is deterministic double
 * arithmetic in one function (vigil_profile_fold) over the same events read
 * by the same code (event.c), and profiles keep zeroed padding, so the same
 * rows folded in the same order give the same bytes: there is no rounding
 * noise that a tolerance would have to absorb, and a tolerance could only
 * hide a row folded twice or lost.  The order is the condition: detection
 * folds rows in the order their statements committed (each statement's by
 * time), the rebuild in event-time order (ties by ctid), so the two agree
 * when each key's rows were inserted in time order.
 */
#include "postgres.h"

#include <math.h>
#include <stddef.h>

#include "access/table.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "detect/profile_type.h"
#include "detect/replay.h"

PG_FUNCTION_INFO_V1(vigil_verify);

/* Stored profiles fetched from the cursor at a time. */
#define FETCH_PROFILES 1000

/* The stored side of the merge (VigilPass.state). */
typedef struct Verify
{
	Portal		cursor;			/* the watch's stored profiles, in key order */
	SPITupleTable *batch;		/* the rows fetched last */
	uint64		nbatch;
	uint64		next;			/* the first row of batch not merged yet */
	bool		exhausted;
	VigilProfile peeked;		/* the stored profile stored_peek read last */
	MemoryContext keycxt;		/* reset for every key */
} Verify;

/* The parts of a profile, by the names of its fields, for "differences". */
#define PART(f) {#f, offsetof(VigilProfile, f), sizeof(((VigilProfile *) 0)->f)}
static const struct
{
	const char *name;
	size_t		offset;
	size_t		size;
}			parts[] =
{
	PART(version), PART(flags), PART(amount), PART(recent_amount), PART(last_lat),
	PART(last_lon), PART(last_loc_t), PART(recent), PART(hours), PART(merchants),
	PART(categories), PART(by_category)
};

/* The fields whose bytes differ between two profiles, as a text[] datum. */
static Datum
differences(const VigilProfile *a, const VigilProfile *b)
{
	Datum		names[lengthof(parts)];
	int			n = 0;

	for (size_t i = 0; i < lengthof(parts); i++)
		if (memcmp((const char *) a + parts[i].offset,
				   (const char *) b + parts[i].offset, parts[i].size) != 0)
			names[n++] = CStringGetTextDatum(parts[i].name);
	/* only the bytes between or after the fields are left */
	if (n == 0)
		names[n++] = CStringGetTextDatum("padding");
	return PointerGetDatum(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* vigil.profile_json of a profile, as a jsonb datum. */
static Datum
profile_json(const VigilProfile *prof)
{
	return DirectFunctionCall1(vigil_profile_json, vigil_profile_datum(prof));
}

/*
 * Add a row to the result: key, status, and whichever of the stored and
 * rebuilt profiles there are (NULL for none).
 */
static void
emit(VigilPass *p, const char *key, const char *status, const VigilProfile *stored,
	 const VigilProfile *rebuilt)
{
	Datum		values[5];
	bool		nulls[5] = {false, false, stored == NULL || rebuilt == NULL,
	stored == NULL, rebuilt == NULL};

	values[0] = CStringGetTextDatum(key);
	values[1] = CStringGetTextDatum(status);
	if (!nulls[2])
		values[2] = differences(stored, rebuilt);
	if (stored != NULL)
		values[3] = profile_json(stored);
	if (rebuilt != NULL)
		values[4] = profile_json(rebuilt);
	tuplestore_putvalues(p->rsinfo->setResult, p->rsinfo->setDesc, values, nulls);
}

/*
 * The next stored profile not merged yet: false when there is none left;
 * *prof is NULL for a row whose profile is NULL.
 */
static bool
stored_peek(Verify *v, char **key, const VigilProfile **prof)
{
	bool		isnull;
	HeapTuple	row;
	TupleDesc	desc;
	Datum		d;

	if (v->exhausted)
		return false;
	if (v->batch == NULL || v->next == v->nbatch)
	{
		if (v->batch != NULL)
			SPI_freetuptable(v->batch);
		SPI_cursor_fetch(v->cursor, true, FETCH_PROFILES);
		v->batch = SPI_tuptable;
		v->nbatch = SPI_processed;
		v->next = 0;
		if (v->nbatch == 0)
		{
			v->exhausted = true;
			return false;
		}
	}
	row = v->batch->vals[v->next];
	desc = v->batch->tupdesc;
	*key = TextDatumGetCString(SPI_getbinval(row, desc, 1, &isnull));
	d = SPI_getbinval(row, desc, 2, &isnull);
	*prof = NULL;
	if (!isnull)
	{
		vigil_profile_get(d, &v->peeked);
		*prof = &v->peeked;
	}
	return true;
}

/*
 * The pass's key_done: merge the stored profiles up to and including key
 * (NULL: all that are left) with key's rebuilt profile.  A row of
 * vigil.profiles whose profile is NULL counts as no profile, as it does for
 * detection.
 */
static void
merge_to(VigilPass *p, const char *key, const VigilProfile *rebuilt)
{
	Verify	   *v = p->state;
	MemoryContext old = MemoryContextSwitchTo(v->keycxt);
	char	   *skey;
	const VigilProfile *stored;
	bool		found = false;

	for (;;)
	{
		int			cmp;

		/* what was built for the stored profile before is written out */
		MemoryContextReset(v->keycxt);
		if (!stored_peek(v, &skey, &stored))
			break;
		cmp = key == NULL ? -1 : strcmp(skey, key);
		if (cmp > 0)
			break;
		v->next++;
		if (cmp == 0)
		{
			found = stored != NULL;
			if (found && memcmp(stored, rebuilt, sizeof(VigilProfile)) != 0)
				emit(p, key, "differs", stored, rebuilt);
			break;
		}
		if (stored != NULL)
			emit(p, skey, "no_rows", stored, NULL);
	}
	if (key != NULL && !found)
		emit(p, key, "no_profile", NULL, rebuilt);
	MemoryContextSwitchTo(old);
	MemoryContextReset(v->keycxt);
}

/*
 * vigil.verify(relation, since): each difference between the watch's stored
 * profiles and the ones rebuilt from the table's rows with event times from
 * since on (NULL: all), changing nothing.
 */
Datum
vigil_verify(PG_FUNCTION_ARGS)
{
	VigilPass	p;
	Verify		v;
	Oid			argtypes[1] = {INT4OID};
	Datum		arg;

	vigil_pass_begin(&p, fcinfo, "vigil.verify");
	memset(&v, 0, sizeof(v));
	InitMaterializedSRF(fcinfo, 0);
	p.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	p.from = p.since = vigil_time_arg(fcinfo, 1, -INFINITY);
	p.until = INFINITY;
	p.key_done = merge_to;
	p.state = &v;

	/* the stored profiles are read as the caller, who needs SELECT on them */
	arg = Int32GetDatum(p.w.id);
	v.cursor = SPI_cursor_open_with_args(NULL,
										 "SELECT key, profile FROM vigil.profiles "
										 "WHERE watch_id OPERATOR(pg_catalog.=) $1 "
										 "ORDER BY key COLLATE pg_catalog.\"C\"",
										 1, argtypes, &arg, NULL, true, 0);
	v.keycxt = AllocSetContextCreate(CurrentMemoryContext, "vigil verify key",
									 ALLOCSET_DEFAULT_SIZES);
	vigil_pass_run(&p);
	merge_to(&p, NULL, NULL);
	SPI_cursor_close(v.cursor);
	vigil_pass_end(&p);
	return (Datum) 0;
}
