/*
 * model.c
 *		A watch's learned model as detection and replay score with it, and
 *		the check of every model written to vigil.models.
 *
 * A model row holds the trees in pg_vigil's byte form (core/trees.h), the
 * names of the features it was trained on and the hashes of the categories
 * its category feature codes.  vigil_models_validate refuses a row that
 * this version could not score exactly as it was validated (bytes that do
 * not decode, features it does not compute in that order), so a model that
 * reaches detection always loads; a row that fails to anyway was changed
 * behind the trigger's back, and is reported as corrupted.
 *
 * Scoring computes the row's features from the card's profile before it
 * with the code training used (core/features.c) and walks the trees: no
 * library call, no allocation.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "detect/core/features.h"
#include "detect/model.h"
#include "plan.h"

PG_FUNCTION_INFO_V1(vigil_models_validate);

/* Most categories a model may code. */
#define MAX_CATEGORIES 100000

/*
 * Deepest tree a model may have: explaining a score takes workspace
 * quadratic in the depth (vigil.train grows trees at most 16 deep).
 */
#define MAX_DEPTH 64

/*
 * Decode a model's stored parts into m, allocated in mcxt, with what
 * contributions need computed once; on a part that this version cannot
 * score with, an ERROR with errcode code.
 */
static void
decode(VigilModel *m, bytea *bytes, ArrayType *features, ArrayType *categories,
	   MemoryContext mcxt, int code)
{
	const uint8 *data = (const uint8 *) VARDATA_ANY(bytes);
	size_t		len = VARSIZE_ANY_EXHDR(bytes);
	int32		ntrees,
				nnodes;
	int32	   *roots;
	VigilTreeNode *nodes;
	Datum	   *names;
	bool	   *nulls;
	Datum	   *hashes;
	int			nnames;
	int			nhashes;
	const char *why;

	if (!vigil_trees_counts(data, len, &ntrees, &nnodes, &why))
		ereport(ERROR,
				(errcode(code),
				 errmsg("the model's trees are invalid: %s", why)));
	roots = MemoryContextAlloc(mcxt, sizeof(int32) * Max(ntrees, 1));
	nodes = MemoryContextAllocHuge(mcxt, sizeof(VigilTreeNode) * Max(nnodes, 1));
	if (!vigil_trees_decode(data, len, &m->trees, roots, nodes, &why))
		ereport(ERROR,
				(errcode(code),
				 errmsg("the model's trees are invalid: %s", why)));
	m->means = MemoryContextAllocHuge(mcxt, sizeof(float) * nnodes);
	vigil_trees_node_means(&m->trees, m->means);
	m->max_depth = vigil_trees_max_depth(&m->trees);
	if (m->max_depth > MAX_DEPTH)
		ereport(ERROR,
				(errcode(code),
				 errmsg("the model's trees are %d deep, more than %d", (int) m->max_depth,
						MAX_DEPTH)));

	if (ARR_NDIM(features) > 1)
		ereport(ERROR,
				(errcode(code),
				 errmsg("the model's features must be a one-dimensional array")));
	deconstruct_array(features, TEXTOID, -1, false, TYPALIGN_INT, &names, &nulls, &nnames);
	if (nnames != m->trees.nfeatures)
		ereport(ERROR,
				(errcode(code),
				 errmsg("the model names %d features, its trees read %d",
						nnames, (int) m->trees.nfeatures)));
	if (nnames > VIGIL_NFEATURES)
		ereport(ERROR,
				(errcode(code),
				 errmsg("the model reads %d features, this version computes %d",
						nnames, VIGIL_NFEATURES),
				 errhint("Train the model again with vigil.train.")));
	for (int i = 0; i < nnames; i++)
		if (nulls[i] || strcmp(TextDatumGetCString(names[i]), vigil_feature_names[i]) != 0)
			ereport(ERROR,
					(errcode(code),
					 errmsg("the model was trained on features this version does not compute"),
					 errdetail("Its feature %d is %s, where this version computes \"%s\".", i + 1,
							   nulls[i] ? "NULL" : psprintf("\"%s\"", TextDatumGetCString(names[i])),
							   vigil_feature_names[i]),
					 errhint("Train the model again with vigil.train.")));

	if (ARR_NDIM(categories) > 1 || array_contains_nulls(categories))
		ereport(ERROR,
				(errcode(code),
				 errmsg("the model's categories must be a one-dimensional array without NULLs")));
	deconstruct_array(categories, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &hashes, NULL, &nhashes);
	if (nhashes > MAX_CATEGORIES)
		ereport(ERROR,
				(errcode(code),
				 errmsg("the model codes %d categories, more than %d", nhashes, MAX_CATEGORIES)));
	m->ncategories = nhashes;
	m->categories = MemoryContextAlloc(mcxt, sizeof(uint64) * Max(nhashes, 1));
	for (int i = 0; i < nhashes; i++)
	{
		/* stored as int8, ordered as the unsigned hashes vigil_category_code searches */
		m->categories[i] = (uint64) DatumGetInt64(hashes[i]);
		if (i > 0 && !(m->categories[i - 1] < m->categories[i]))
			ereport(ERROR,
					(errcode(code),
					 errmsg("the model's categories are not in ascending order of their hashes")));
	}
}

/*
 * The model in row tup of the last SPI result (columns id, trees,
 * features, categories), loaded into mcxt.
 */
static VigilModel *
load_row(HeapTuple tup, TupleDesc desc, MemoryContext mcxt)
{
	VigilModel *m = MemoryContextAllocZero(mcxt, sizeof(VigilModel));
	bool		isnull;

	m->id = DatumGetInt64(heap_getattr(tup, 1, desc, &isnull));
	decode(m, DatumGetByteaPP(heap_getattr(tup, 2, desc, &isnull)),
		   DatumGetArrayTypeP(heap_getattr(tup, 3, desc, &isnull)),
		   DatumGetArrayTypeP(heap_getattr(tup, 4, desc, &isnull)),
		   mcxt, ERRCODE_DATA_CORRUPTED);
	return m;
}

/*
 * Watch watch_id's model in state state ("active" or "shadow"), loaded
 * into mcxt; NULL when it has none, or when the extension's schema is
 * still 0.1's (no vigil.models).  Runs inside the caller's SPI connection.
 */
VigilModel *
vigil_model_load_state(int32 watch_id, const char *state, MemoryContext mcxt)
{
	static SPIPlanPtr plan = NULL;
	Datum		args[2] = {Int32GetDatum(watch_id), CStringGetTextDatum(state)};

	if (!OidIsValid(get_relname_relid("models", get_namespace_oid("vigil", false))))
		return NULL;
	if (plan == NULL)
	{
		Oid			argtypes[2] = {INT4OID, TEXTOID};

		plan = vigil_prepare_plan("SELECT id, trees, features, categories FROM vigil.models "
								  "WHERE watch_id OPERATOR(pg_catalog.=) $1 "
								  "AND state OPERATOR(pg_catalog.=) $2",
								  2, argtypes);
	}
	if (SPI_execute_plan(plan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read vigil.models");
	if (SPI_processed == 0)
		return NULL;
	return load_row(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, mcxt);
}

/*
 * Model id, which must be one of watch watch_id's, loaded into mcxt.  Runs
 * inside the caller's SPI connection.
 */
VigilModel *
vigil_model_load_id(int64 id, int32 watch_id, MemoryContext mcxt)
{
	Datum		arg = Int64GetDatum(id);
	Oid			argtypes[1] = {INT8OID};
	bool		isnull;

	if (SPI_execute_with_args("SELECT id, trees, features, categories, watch_id "
							  "FROM vigil.models WHERE id OPERATOR(pg_catalog.=) $1",
							  1, argtypes, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read vigil.models");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model %lld does not exist", (long long) id)));
	if (DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5,
									&isnull)) != watch_id)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model %lld was trained for another watch", (long long) id),
				 errhint("A model scores only the table it was trained on.")));
	return load_row(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, mcxt);
}

/*
 * Model m's probability of fraud for event e, against the card's profile
 * as it was before e (features as vigil.train computed them).
 */
double
vigil_model_probability(const VigilModel *m, const VigilProfile *before, const VigilEvent *e)
{
	float		x[VIGIL_NFEATURES];

	vigil_features(before, e,
				   vigil_category_code(m->categories, m->ncategories,
									   e->has_category ? e->category_hash : 0),
				   x);
	return vigil_trees_probability(&m->trees, x);
}

/*
 * Why model m gave event e its probability: the features x, and each
 * feature's contribution to the margin in phi (nfeatures + 1 values, the
 * last the bias), as XGBoost's pred_contribs computes them.  For alerting
 * rows only: it walks every branch of every tree.
 */
void
vigil_model_contributions(const VigilModel *m, const VigilProfile *before,
						  const VigilEvent *e, float *x, float *phi)
{
	void	   *workspace = palloc(vigil_trees_workspace_size(&m->trees, m->max_depth));

	vigil_features(before, e,
				   vigil_category_code(m->categories, m->ncategories,
									   e->has_category ? e->category_hash : 0),
				   x);
	vigil_trees_contributions(&m->trees, m->means, m->max_depth, x, workspace, phi);
	pfree(workspace);
}

/*
 * BEFORE INSERT OR UPDATE trigger on vigil.models: refuse a model this
 * version could not score with (a model copied in from elsewhere, or
 * edited), before any watch can activate it.
 */
Datum
vigil_models_validate(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	static const char *const columns[] = {"trees", "features", "categories"};
	TupleDesc	desc;
	HeapTuple	tuple;
	Datum		v[lengthof(columns)];
	MemoryContext cxt;
	VigilModel	m;

	/* the columns are read by type below: only vigil.models has them right */
	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		RelationGetRelid(td->tg_relation) !=
		get_relname_relid("models", get_namespace_oid("vigil", false)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("vigil_models_validate must be a BEFORE ROW trigger on vigil.models")));
	desc = td->tg_relation->rd_att;
	tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	for (size_t i = 0; i < lengthof(columns); i++)
	{
		bool		isnull;

		v[i] = heap_getattr(tuple, SPI_fnumber(desc, columns[i]), desc, &isnull);
		/* NOT NULL constraints are checked after BEFORE triggers: let them */
		if (isnull)
			return PointerGetDatum(tuple);
	}
	cxt = AllocSetContextCreate(CurrentMemoryContext, "vigil model check",
								ALLOCSET_DEFAULT_SIZES);
	decode(&m, DatumGetByteaPP(v[0]), DatumGetArrayTypeP(v[1]), DatumGetArrayTypeP(v[2]),
		   cxt, ERRCODE_INVALID_PARAMETER_VALUE);
	MemoryContextDelete(cxt);
	return PointerGetDatum(tuple);
}
