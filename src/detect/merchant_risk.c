/*
 * merchant_risk.c
 *		A watch's merchant risk: loading its snapshots (vigil.merchant_risk)
 *		and giving each event the one current at its time.
 *
 * A merchant whose terminal or customer database was compromised shows
 * only in the labels: its customers are ordinary and pay ordinary amounts.
 * vigil.refresh_merchant_risk counts, per merchant, the labelled rows and
 * the fraud among them in the 1, 7 and 30 days before as_of - delay, the
 * labels old enough to be known at as_of; it keeps only the merchants with
 * fraud in the 30 days, so that what a backend holds stays small.  An event
 * at time t is judged by the newest snapshot with as_of <= t, in detection
 * as in replay and training: none of them uses a label that was not known
 * at the event's time.  Like the priors, the snapshots are never written on
 * the insert path.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "detect/core/seenset.h"
#include "detect/merchant_risk.h"
#include "detect/snapshot.h"
#include "plan.h"

/* qsort and bsearch comparator: merchants by hash. */
static int
cmp_hash(const void *a, const void *b)
{
	uint64		x = ((const VigilMerchantRisk *) a)->hash;
	uint64		y = ((const VigilMerchantRisk *) b)->hash;

	return (x > y) - (x < y);
}

/* The snapshot time (epoch seconds) of row i of the query. */
static double
row_as_of(SPITupleTable *tt, int i)
{
	bool		isnull;

	return DatumGetFloat8(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
}

/*
 * The merchant risk of watch watch_id, allocated in mcxt (inside the
 * caller's SPI connection, as the owner of vigil's tables).  None when the
 * schema has no vigil.merchant_risk yet (a database not yet updated).  A
 * snapshot's row with a NULL merchant marks it, so that a snapshot with no
 * risky merchant still says that none was.
 */
VigilMerchantRisks *
vigil_merchant_risk_load(int32 watch_id, MemoryContext mcxt)
{
	static SPIPlanPtr plan = NULL;
	VigilMerchantRisks *mr = MemoryContextAllocZero(mcxt, sizeof(VigilMerchantRisks));
	Datum		arg = Int32GetDatum(watch_id);
	SPITupleTable *tt;
	int			nrows;
	int			nsets = 0;

	if (!OidIsValid(get_relname_relid("merchant_risk", get_namespace_oid("vigil", false))))
		return mr;
	if (plan == NULL)
	{
		Oid			argtypes[1] = {INT4OID};

		plan = vigil_prepare_plan("SELECT pg_catalog.date_part('epoch', as_of), merchant, "
								  "rows_1d, fraud_1d, rows_7d, fraud_7d, rows_30d, fraud_30d "
								  "FROM vigil.merchant_risk "
								  "WHERE watch_id OPERATOR(pg_catalog.=) $1 "
								  "ORDER BY as_of, merchant NULLS FIRST",
								  1, argtypes);
	}
	if (SPI_execute_plan(plan, &arg, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read vigil.merchant_risk");
	tt = SPI_tuptable;
	nrows = (int) SPI_processed;
	for (int i = 0; i < nrows; i++)
		if (i == 0 || row_as_of(tt, i) != row_as_of(tt, i - 1))
			nsets++;
	mr->sets = MemoryContextAllocZero(mcxt, sizeof(VigilMerchantRiskSet) * Max(nsets, 1));
	for (int i = 0, end; i < nrows; i = end)
	{
		VigilMerchantRiskSet *set = &mr->sets[mr->nsets++];

		set->as_of = row_as_of(tt, i);
		for (end = i + 1; end < nrows && row_as_of(tt, end) == set->as_of; end++)
			;
		set->merchants = MemoryContextAlloc(mcxt, sizeof(VigilMerchantRisk) * (end - i));
		for (int r = i; r < end; r++)
		{
			HeapTuple	t = tt->vals[r];
			VigilMerchantRisk *m = &set->merchants[set->nmerchants];
			bool		isnull;
			Datum		merchant = SPI_getbinval(t, tt->tupdesc, 2, &isnull);
			text	   *name;

			if (isnull)
				continue;		/* the snapshot's mark */
			name = DatumGetTextPP(merchant);
			m->hash = vigil_hash64(VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name));
			for (int w = 0; w < VIGIL_MERCHANT_WINDOWS; w++)
			{
				m->rows[w] = DatumGetInt32(SPI_getbinval(t, tt->tupdesc, 3 + 2 * w, &isnull));
				m->fraud[w] = DatumGetInt32(SPI_getbinval(t, tt->tupdesc, 4 + 2 * w, &isnull));
			}
			set->nmerchants++;
		}
		qsort(set->merchants, set->nmerchants, sizeof(VigilMerchantRisk), cmp_hash);
	}
	SPI_freetuptable(tt);
	return mr;
}

/*
 * Give e (its time and merchant read) its merchant's counts in the newest
 * snapshot taken at or before its time; zeros for a merchant the snapshot
 * does not list (no fraud known there).  Without such a snapshot, nothing
 * is known.
 */
void
vigil_merchant_risk_apply(const VigilMerchantRisks *risks, VigilEvent *e)
{
	const VigilMerchantRiskSet *set;
	const VigilMerchantRisk *m = NULL;
	int			at;

	e->has_merchant_risk = false;
	for (int w = 0; w < VIGIL_MERCHANT_WINDOWS; w++)
		e->merchant_rows[w] = e->merchant_fraud[w] = 0.0;
	if (risks == NULL || risks->nsets == 0)
		return;
	at = vigil_snapshot_at(&risks->sets[0].as_of, sizeof(VigilMerchantRiskSet), risks->nsets,
						   e->t);
	if (at < 0)
		return;
	set = &risks->sets[at];
	e->has_merchant_risk = true;
	if (e->has_merchant && set->nmerchants > 0)
	{
		VigilMerchantRisk key;

		key.hash = e->merchant_hash;
		m = bsearch(&key, set->merchants, set->nmerchants, sizeof(VigilMerchantRisk), cmp_hash);
	}
	if (m == NULL)
		return;
	for (int w = 0; w < VIGIL_MERCHANT_WINDOWS; w++)
	{
		e->merchant_rows[w] = m->rows[w];
		e->merchant_fraud[w] = m->fraud[w];
	}
}
