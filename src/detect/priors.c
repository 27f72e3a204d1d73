/*
 * priors.c
 *		A watch's population priors: loading its snapshots (vigil.priors)
 *		and giving each event the one current at its time.
 *
 * Priors are never written on the insert path: one shared row updated by
 * every insert would queue all inserters on its lock.  What a backend holds
 * is bounded by what vigil.refresh_priors keeps: 200 categories a snapshot,
 * snapshots of the last `keep` (90 days by default).  vigil.refresh_priors
 * takes a snapshot from the table's rows before a time (as_of), and an event
 * at time t is judged by the newest snapshot with as_of <= t, in detection
 * as in replay, evaluation and tuning: none of them sees rows after the
 * event it judges.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "detect/core/hourhist.h"
#include "detect/core/seenset.h"
#include "detect/priors.h"
#include "detect/snapshot.h"
#include "plan.h"

/* qsort comparator: priors by hash. */
static int
cmp_hash(const void *a, const void *b)
{
	uint64		x = ((const VigilPrior *) a)->hash;
	uint64		y = ((const VigilPrior *) b)->hash;

	return (x > y) - (x < y);
}

/* Read a snapshot row's 24 hour shares; false unless all are there. */
static bool
read_hours(Datum d, double *hours)
{
	ArrayType  *a = DatumGetArrayTypeP(d);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_ELEMTYPE(a) != FLOAT8OID)
		return false;
	deconstruct_array(a, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	if (n != 24)
		return false;
	for (int h = 0; h < 24; h++)
	{
		if (nulls[h])
			return false;
		hours[h] = DatumGetFloat8(elems[h]);
	}
	return true;
}

/* The snapshot time (epoch seconds) of row i of the priors query. */
static double
row_as_of(SPITupleTable *tt, int i)
{
	bool		isnull;

	return DatumGetFloat8(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
}

/* How many snapshots (distinct as_of, in order) the rows hold. */
static int
count_sets(SPITupleTable *tt, int nrows)
{
	int			n = 0;

	for (int i = 0; i < nrows; i++)
		if (i == 0 || row_as_of(tt, i) != row_as_of(tt, i - 1))
			n++;
	return n;
}

/*
 * The priors of watch watch_id, allocated in mcxt (inside the caller's SPI
 * connection, as the owner of vigil's tables).  None when the schema has no
 * vigil.priors yet (a 0.1 database not yet updated).
 */
VigilPriors *
vigil_priors_load(int32 watch_id, MemoryContext mcxt)
{
	static SPIPlanPtr plan = NULL;
	VigilPriors *pr = MemoryContextAllocZero(mcxt, sizeof(VigilPriors));
	Datum		arg = Int32GetDatum(watch_id);
	SPITupleTable *tt;
	int			nrows;

	if (!OidIsValid(get_relname_relid("priors", get_namespace_oid("vigil", false))))
		return pr;
	if (plan == NULL)
	{
		Oid			argtypes[1] = {INT4OID};

		plan = vigil_prepare_plan("SELECT pg_catalog.date_part('epoch', as_of), category, n::pg_catalog.float8, "
								  "log_mean, log_stddev, hour_shares FROM vigil.priors "
								  "WHERE watch_id OPERATOR(pg_catalog.=) $1 "
								  "ORDER BY as_of, category NULLS FIRST",
								  1, argtypes);
	}
	if (SPI_execute_plan(plan, &arg, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read vigil.priors");
	tt = SPI_tuptable;
	nrows = (int) SPI_processed;
	pr->sets = MemoryContextAllocZero(mcxt, sizeof(VigilPriorSet) * Max(count_sets(tt, nrows), 1));
	for (int i = 0, end; i < nrows; i = end)
	{
		VigilPriorSet *set = &pr->sets[pr->nsets++];

		/* the snapshot's rows: those up to the next as_of */
		set->as_of = row_as_of(tt, i);
		for (end = i + 1; end < nrows && row_as_of(tt, end) == set->as_of; end++)
			;
		set->categories = MemoryContextAlloc(mcxt, sizeof(VigilPrior) * (end - i));
		for (int r = i; r < end; r++)
		{
			HeapTuple	t = tt->vals[r];
			bool		isnull;
			VigilPrior	prior;
			Datum		cat;
			Datum		hours;
			bool		cat_null;
			bool		hours_null;

			cat = SPI_getbinval(t, tt->tupdesc, 2, &cat_null);
			prior.n = DatumGetFloat8(SPI_getbinval(t, tt->tupdesc, 3, &isnull));
			prior.log_mean = DatumGetFloat8(SPI_getbinval(t, tt->tupdesc, 4, &isnull));
			prior.log_sd = DatumGetFloat8(SPI_getbinval(t, tt->tupdesc, 5, &isnull));
			hours = SPI_getbinval(t, tt->tupdesc, 6, &hours_null);
			if (cat_null)
			{
				prior.hash = 0;
				set->all = prior;
				set->has_all = true;
				set->has_hours = !hours_null && read_hours(hours, set->hours);
			}
			else
			{
				text	   *c = DatumGetTextPP(cat);

				prior.hash = vigil_hash64(VARDATA_ANY(c), VARSIZE_ANY_EXHDR(c));
				set->categories[set->ncategories++] = prior;
			}
		}
		qsort(set->categories, set->ncategories, sizeof(VigilPrior), cmp_hash);
	}
	SPI_freetuptable(tt);
	return pr;
}

/*
 * Give e (its time, local offset and category read) the priors of the
 * newest snapshot taken at or before its time: its category's amounts (or
 * all rows' when the category has none) and the share of rows in its local
 * hour.
 */
void
vigil_priors_apply(const VigilPriors *priors, VigilEvent *e)
{
	const VigilPriorSet *set = NULL;
	const VigilPrior *prior = NULL;
	int			at;
	int			hour;

	e->prior_n = 0.0;
	e->has_prior_hour = false;
	if (priors == NULL || priors->nsets == 0)
		return;
	at = vigil_snapshot_at(&priors->sets[0].as_of, sizeof(VigilPriorSet), priors->nsets, e->t);
	if (at < 0)
		return;
	set = &priors->sets[at];
	if (e->has_category && set->ncategories > 0)
	{
		VigilPrior	key;

		key.hash = e->category_hash;
		prior = bsearch(&key, set->categories, set->ncategories, sizeof(VigilPrior), cmp_hash);
	}
	if (prior == NULL && set->has_all)
		prior = &set->all;
	if (prior != NULL)
	{
		e->prior_n = prior->n;
		e->prior_log_mean = prior->log_mean;
		e->prior_log_sd = prior->log_sd;
	}
	if (set->has_hours && vigil_hourhist_hour(e->t, e->utc_offset_s, &hour))
	{
		e->prior_hour_share = set->hours[hour];
		e->has_prior_hour = true;
	}
}
