/*
 * drift.c
 *		vigil.model_scores: a model's probability and the watch's score for
 *		each row of a window, as detection would have given them, for
 *		comparing a model's recent scores with its validation ones
 *		(vigil.drift).
 */
#include "postgres.h"

#include <math.h>

#include "funcapi.h"
#include "utils/timestamp.h"

#include "detect/profile_type.h"
#include "detect/replay.h"

PG_FUNCTION_INFO_V1(vigil_model_scores);

/* model_scores' row_done: the row's time, the model's probability and the score. */
static void
score_row(VigilPass *p, TupleTableSlot *slot pg_attribute_unused(),
		  const char *key pg_attribute_unused(), const VigilEvent *e,
		  const VigilProfile *before)
{
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	double		score = vigil_score(&p->scorer, before, e);

	values[0] = TimestampTzGetDatum(vigil_epoch_to_timestamptz(e->t));
	values[1] = Float8GetDatum(p->scorer.probability);
	nulls[1] = isnan(p->scorer.probability);
	values[2] = Float8GetDatum(score);
	tuplestore_putvalues(p->rsinfo->setResult, p->rsinfo->setDesc, values, nulls);
}

/*
 * vigil.model_scores(relation, since, until, model): every row in [since,
 * until) with the probability the watch's active model (or that model)
 * gives it, NULL where the model cannot score the row, and the watch's
 * score, each against its key's profile from every earlier row.
 */
Datum
vigil_model_scores(PG_FUNCTION_ARGS)
{
	VigilPass	p;

	vigil_pass_begin(&p, fcinfo, "vigil.model_scores");
	vigil_pass_model_arg(&p, fcinfo, 3);
	if (p.scorer.model == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the watch on table %s has no active model", RelationGetRelationName(p.rel)),
				 errhint("Name one with model => id, or activate one with vigil.activate_model.")));
	InitMaterializedSRF(fcinfo, 0);
	p.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	p.since = vigil_time_arg(fcinfo, 1, -INFINITY);
	p.until = vigil_time_arg(fcinfo, 2, INFINITY);
	p.from = -INFINITY;
	p.row_done = score_row;
	vigil_pass_run(&p);
	vigil_pass_end(&p);
	return (Datum) 0;
}
