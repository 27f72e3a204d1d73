/*
 * labels.c
 *		A watch's labels: vigil.set_label names the watched table's own label
 *		column, and analysts' verdicts (vigil.verdicts, written by
 *		vigil.label) are loaded for training into a hash table by row.
 *
 * A verdict names its row by the row_ref its alert had (the primary key as
 * jsonb); training makes the same jsonb for each row it reads and looks its
 * text up, so memory grows with the verdicts, not with the table.
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "detect/evaluate.h"
#include "detect/labels.h"

PG_FUNCTION_INFO_V1(vigil_set_label);

/* Verdicts fetched from the cursor at a time. */
#define FETCH_VERDICTS 10000

/* dynahash: a key is a pointer to a row_ref's text; hash the text. */
static uint32
row_ref_hash(const void *key, Size keysize pg_attribute_unused())
{
	const char *s = *(const char *const *) key;

	return hash_bytes((const unsigned char *) s, (int) strlen(s));
}

/* dynahash: compare the texts two keys point to (0: equal). */
static int
row_ref_match(const void *a, const void *b, Size keysize pg_attribute_unused())
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * Load watch watch_id's verdicts into v, allocated in mcxt.  Runs inside
 * the caller's SPI connection, reading vigil.verdicts as the caller.
 */
void
vigil_verdicts_load(VigilVerdicts *v, int32 watch_id, MemoryContext mcxt)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		arg = Int32GetDatum(watch_id);
	SPIPlanPtr	plan = SPI_prepare("SELECT row_ref::pg_catalog.text, fraud FROM vigil.verdicts "
								   "WHERE watch_id OPERATOR(pg_catalog.=) $1",
								   1, argtypes);
	Portal		portal;

	if (plan == NULL)
		elog(ERROR, "could not prepare the read of vigil.verdicts: %s",
			 SPI_result_code_string(SPI_result));
	v->rows = NULL;
	v->count = 0;
	portal = SPI_cursor_open(NULL, plan, &arg, NULL, true);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, FETCH_VERDICTS);
		if (SPI_processed == 0)
			break;
		if (v->rows == NULL)
		{
			HASHCTL		ctl;

			ctl.keysize = sizeof(char *);
			ctl.entrysize = sizeof(VigilVerdict);
			ctl.hash = row_ref_hash;
			ctl.match = row_ref_match;
			ctl.hcxt = mcxt;
			v->rows = hash_create("vigil verdicts", 1024, &ctl,
								  HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
		}
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	row = SPI_tuptable->vals[i];
			char	   *text = SPI_getvalue(row, SPI_tuptable->tupdesc, 1);
			char	   *key = MemoryContextStrdup(mcxt, text);
			bool		isnull;
			bool		found;
			VigilVerdict *entry = hash_search(v->rows, &key, HASH_ENTER, &found);

			entry->fraud = DatumGetBool(SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull));
			v->count += !found;
			pfree(text);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
}

/* The verdict on the row whose row_ref has text row_ref, or NULL. */
const VigilVerdict *
vigil_verdicts_find(const VigilVerdicts *v, const char *row_ref)
{
	if (v->rows == NULL)
		return NULL;
	return hash_search(v->rows, &row_ref, HASH_FIND, NULL);
}

/*
 * vigil.set_label(relation, label_column): make label_column (checked as
 * vigil.train checks one) the watch's label column, or none with NULL.
 * Writes vigil.watches as the caller.  Returns the column before (NULL:
 * none, or a column dropped since).
 */
Datum
vigil_set_label(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Oid			argtypes[2] = {REGCLASSOID, INT2OID};
	Datum		args[2];
	bool		isnull;
	int32		watch_id;
	Datum		previous;
	bool		previous_null;
	char	   *previous_name = NULL;
	Relation	rel;
	VigilLabel	label;
	MemoryContext caller = CurrentMemoryContext;
	Datum		result = (Datum) 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("relation must not be NULL")));
	relid = PG_GETARG_OID(0);
	SPI_connect();
	args[0] = ObjectIdGetDatum(relid);
	/* the watch's row first, as vigil.activate_model locks it before the table */
	if (SPI_execute_with_args("SELECT id, label_attnum FROM vigil.watches "
							  "WHERE relation OPERATOR(pg_catalog.=) $1 FOR UPDATE",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read vigil.watches");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("table %s is not watched",
						DatumGetCString(DirectFunctionCall1(regclassout, args[0]))),
				 errhint("Call vigil.watch() first.")));
	watch_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	previous = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &previous_null);
	rel = try_table_open(relid, AccessShareLock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!previous_null)
		previous_name = get_attname(relid, DatumGetInt16(previous), true);
	args[0] = Int32GetDatum(watch_id);
	args[1] = (Datum) 0;
	if (!PG_ARGISNULL(1))
	{
		vigil_label_check(&label, rel, NameStr(*PG_GETARG_NAME(1)));
		args[1] = Int16GetDatum(label.attnum);
	}
	argtypes[0] = INT4OID;
	if (SPI_execute_with_args("UPDATE vigil.watches SET label_attnum = $2 "
							  "WHERE id OPERATOR(pg_catalog.=) $1",
							  2, argtypes, args, PG_ARGISNULL(1) ? " n" : NULL, false, 0) !=
		SPI_OK_UPDATE)
		elog(ERROR, "could not set the label column of watch %d", watch_id);
	table_close(rel, AccessShareLock);
	/* the result, made before SPI's memory goes */
	if (previous_name != NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(caller);

		result = DirectFunctionCall1(namein, CStringGetDatum(previous_name));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	if (previous_name == NULL)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}
