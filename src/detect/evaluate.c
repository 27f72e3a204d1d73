/*
 * evaluate.c
 *		Detection measured against labels (vigil.evaluate,
 *		vigil.evaluate_rules) and the alert budget (vigil.calibrate).
 *
 * All three replay the watched table as vigil.replay does, with profiles
 * built from every earlier row, and score each row of the window with every
 * rule (the full scorer, never detection's early exits).  Ranking measures
 * need the scores in order: they go to tuplesorts, which spill to disk past
 * work_mem, so memory does not grow with the table.  The arithmetic is in
 * detect/core/ranking.c.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplesort.h"

#include "detect/core/ranking.h"
#include "detect/core/rules.h"
#include "detect/evaluate.h"
#include "detect/replay.h"

PG_FUNCTION_INFO_V1(vigil_evaluate);
PG_FUNCTION_INFO_V1(vigil_evaluate_rules);
PG_FUNCTION_INFO_V1(vigil_calibrate);

/* A pass's tally of labelled rows (VigilPass.state). */
typedef struct Evaluation
{
	VigilLabel	label;
	int64		rows;
	int64		positives;
	int64		alerts;			/* at the watch's threshold */
	int64		caught;			/* positives among them */
	double		threshold;		/* what alerts: the watch's, or the caller's */
	ScoreSort	all;			/* every rule's score */
	ScoreSort  *without;		/* per rule, the score without it; or NULL */
	int64	   *fired;			/* per rule: rows it fired on */
	int64	   *fired_positive; /* and positives among them */
} Evaluation;

/* Start a ScoreSort, with work_mem / share of memory before it spills. */
void
vigil_score_sort_begin(ScoreSort *s, int share)
{
	TupleDesc	desc = CreateTemplateTupleDesc(2);
	AttrNumber	key = 1;
	Oid			op = Float8LessOperator;
	Oid			collation = InvalidOid;
	bool		nulls_first = false;

	TupleDescInitEntry(desc, 1, "score", FLOAT8OID, -1, 0);
	TupleDescInitEntry(desc, 2, "label", BOOLOID, -1, 0);
	s->slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	s->sort = tuplesort_begin_heap(desc, 1, &key, &op, &collation, &nulls_first,
								   Max(64, work_mem / share), NULL, TUPLESORT_NONE);
}

/* Add a row's score and label (sorted ascending by the negated score). */
void
vigil_score_sort_put(ScoreSort *s, double score, bool label)
{
	ExecClearTuple(s->slot);
	s->slot->tts_values[0] = Float8GetDatum(-score);
	s->slot->tts_isnull[0] = false;
	s->slot->tts_values[1] = BoolGetDatum(label);
	s->slot->tts_isnull[1] = false;
	ExecStoreVirtualTuple(s->slot);
	tuplesort_puttupleslot(s->sort, s->slot);
}

/* Sort, measure the ranking and free the ScoreSort. */
Ranked
vigil_score_sort_rank(ScoreSort *s)
{
	VigilRanking r;
	Ranked		out;
	int64_t		pos;
	int64_t		neg;

	vigil_ranking_init(&r);
	tuplesort_performsort(s->sort);
	while (tuplesort_gettupleslot(s->sort, true, false, s->slot, NULL))
	{
		slot_getallattrs(s->slot);
		if (!vigil_ranking_add(&r, -DatumGetFloat8(s->slot->tts_values[0]),
							   DatumGetBool(s->slot->tts_values[1])))
			elog(ERROR, "scores came out of the sort unordered");
	}
	vigil_ranking_finish(&r, &pos, &neg, &out.average_precision, &out.roc_auc);
	tuplesort_end(s->sort);
	ExecDropSingleTupleTableSlot(s->slot);
	return out;
}

/*
 * Check that column name of table rel is a label: a boolean, or an integer
 * holding 0 or 1 (a domain over one of them too).
 */
void
vigil_label_check(VigilLabel *ev, Relation rel, const char *name)
{
	Oid			relid = RelationGetRelid(rel);
	Oid			type;

	ev->name = name;
	ev->attnum = get_attnum(relid, ev->name);
	if (ev->attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						ev->name, RelationGetRelationName(rel))));
	type = getBaseType(get_atttype(relid, ev->attnum));
	if (type != BOOLOID && type != INT2OID && type != INT4OID && type != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("label column \"%s\" is of type %s", ev->name,
						format_type_be(get_atttype(relid, ev->attnum))),
				 errhint("A label is boolean, or an integer that is 0 or 1 (1: fraud).")));
	ev->type = type;
}

/* Find the label column (argument argno) of the pass's table, which must not be NULL. */
void
vigil_label_find(VigilLabel *ev, VigilPass *p, FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("label_column must not be NULL")));
	vigil_label_check(ev, p->rel, text_to_cstring(PG_GETARG_TEXT_PP(argno)));
}

/* The label of the row in slot: false when it has none (NULL). */
bool
vigil_label_read(const VigilLabel *ev, TupleTableSlot *slot, bool *label)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, ev->attnum, &isnull);
	int64		v;

	if (isnull)
		return false;
	switch (ev->type)
	{
		case BOOLOID:
			*label = DatumGetBool(d);
			return true;
		case INT2OID:
			v = DatumGetInt16(d);
			break;
		case INT4OID:
			v = DatumGetInt32(d);
			break;
		default:
			v = DatumGetInt64(d);
			break;
	}
	if (v != 0 && v != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("label column \"%s\" holds %lld", ev->name, (long long) v),
				 errhint("An integer label is 0 or 1 (1: fraud); NULL leaves a row out.")));
	*label = v == 1;
	return true;
}

/* evaluate's row_done: score a labelled row with every rule and tally it. */
static void
evaluate_row(VigilPass *p, TupleTableSlot *slot, const char *key pg_attribute_unused(),
			 const VigilEvent *e, const VigilProfile *before)
{
	Evaluation *ev = p->state;
	VigilScorer *s = &p->scorer;
	bool		label;
	double		score;

	if (!vigil_label_read(&ev->label, slot, &label))
		return;
	score = vigil_score(s, before, e);
	ev->rows++;
	ev->positives += label;
	if (score > 0.0 && score >= ev->threshold)
	{
		ev->alerts++;
		ev->caught += label;
	}
	vigil_score_sort_put(&ev->all, score, label);
	if (ev->without == NULL)
		return;
	for (int i = 0; i < s->nrules; i++)
	{
		double		rest = 0.0;

		if (s->findings[i].severity > 0.0)
		{
			ev->fired[i]++;
			ev->fired_positive[i] += label;
		}
		/* the noisy-OR of the others, combined in the same order */
		for (int j = 0; j < s->nrules; j++)
			if (j != i && s->findings[j].severity > 0.0)
				rest = vigil_score_combine(rest, s->rules[j].weight, s->findings[j].severity);
		vigil_score_sort_put(&ev->without[i], rest, label);
	}
}

/*
 * Set up a replay of the table that function fname was given, with every
 * rule, tallying the labelled rows between since and until (arguments 2
 * and 3) that reach the watch's threshold, and with per_rule, what each
 * rule does.  The caller runs the pass and ends it.
 */
static void
evaluate_pass(VigilPass *p, Evaluation *ev, FunctionCallInfo fcinfo, const char *fname,
			  bool per_rule)
{
	int			nrules;

	vigil_pass_begin(p, fcinfo, fname);
	memset(ev, 0, sizeof(*ev));
	vigil_label_find(&ev->label, p, fcinfo, 1);
	ev->threshold = p->w.alert_threshold;
	p->from = -INFINITY;
	p->since = vigil_time_arg(fcinfo, 2, -INFINITY);
	p->until = vigil_time_arg(fcinfo, 3, INFINITY);
	p->row_done = evaluate_row;
	p->state = ev;
	nrules = p->scorer.nrules;
	vigil_score_sort_begin(&ev->all, per_rule ? nrules + 1 : 1);
	if (per_rule)
	{
		ev->without = palloc(sizeof(ScoreSort) * Max(nrules, 1));
		ev->fired = palloc0(sizeof(int64) * Max(nrules, 1));
		ev->fired_positive = palloc0(sizeof(int64) * Max(nrules, 1));
		for (int i = 0; i < nrules; i++)
			vigil_score_sort_begin(&ev->without[i], nrules + 1);
	}
}

/* x, or NULL when it is undefined (NaN). */
static Datum
float_or_null(double x, bool *isnull)
{
	*isnull = isnan(x);
	return Float8GetDatum(x);
}

/* a / b as a rate, undefined (NaN) when b is 0. */
static double
ratio(int64 a, int64 b)
{
	return b > 0 ? (double) a / (double) b : NAN;
}

/*
 * vigil.evaluate(relation, label_column, since, until, threshold, model):
 * how the watch's rules and active model (or that model) do against the
 * labels of the rows in [since, until):
 * counts, precision, recall and F1 at the watch's threshold (or the one
 * given), and the average precision (PR-AUC) and ROC-AUC of the scores.
 * Rows without a label are left out.
 */
Datum
vigil_evaluate(PG_FUNCTION_ARGS)
{
	VigilPass	p;
	Evaluation	ev;
	Ranked		r;
	TupleDesc	desc;
	Datum		values[11];
	bool		nulls[11] = {false};
	double		precision;
	double		recall;
	MemoryContext caller = CurrentMemoryContext;
	Datum		result;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "vigil.evaluate must return a row");
	if (!PG_ARGISNULL(4) && !(PG_GETARG_FLOAT8(4) > 0.0 && PG_GETARG_FLOAT8(4) <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("threshold must be in (0, 1], not %g", PG_GETARG_FLOAT8(4))));
	evaluate_pass(&p, &ev, fcinfo, "vigil.evaluate", false);
	vigil_pass_model_arg(&p, fcinfo, 5);
	if (!PG_ARGISNULL(4))
		ev.threshold = PG_GETARG_FLOAT8(4);
	vigil_pass_run(&p);
	r = vigil_score_sort_rank(&ev.all);
	precision = ratio(ev.caught, ev.alerts);
	recall = ratio(ev.caught, ev.positives);
	values[0] = Int64GetDatum(ev.rows);
	values[1] = Int64GetDatum(ev.positives);
	values[2] = Float8GetDatum(ev.threshold);
	values[3] = Int64GetDatum(ev.alerts);
	values[4] = Int64GetDatum(ev.caught);
	values[5] = float_or_null(ratio(ev.alerts, ev.rows), &nulls[5]);
	values[6] = float_or_null(precision, &nulls[6]);
	values[7] = float_or_null(recall, &nulls[7]);
	values[8] = float_or_null(precision + recall > 0 ?
							  2 * precision * recall / (precision + recall) :
							  (precision == 0 && recall == 0 ? 0.0 : NAN), &nulls[8]);
	values[9] = float_or_null(r.average_precision, &nulls[9]);
	values[10] = float_or_null(r.roc_auc, &nulls[10]);
	/* the row, made before SPI's memory goes (a float8 need not be by value) */
	MemoryContextSwitchTo(caller);
	result = HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));
	vigil_pass_end(&p);
	PG_RETURN_DATUM(result);
}

/*
 * vigil.evaluate_rules(relation, label_column, since, until): one row per
 * enabled rule, in rule order: how often it fired on the labelled rows of
 * [since, until), its precision and recall there, and the PR-AUC of the
 * scores without it beside the PR-AUC with every rule (what it adds).
 */
Datum
vigil_evaluate_rules(PG_FUNCTION_ARGS)
{
	VigilPass	p;
	Evaluation	ev;
	Ranked		all;
	ReturnSetInfo *rsinfo;

	evaluate_pass(&p, &ev, fcinfo, "vigil.evaluate_rules", true);
	vigil_pass_run(&p);
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	all = vigil_score_sort_rank(&ev.all);
	for (int i = 0; i < p.scorer.nrules; i++)
	{
		Ranked		without = vigil_score_sort_rank(&ev.without[i]);
		Datum		values[9];
		bool		nulls[9] = {false};

		values[0] = CStringGetTextDatum(p.scorer.names[i]);
		values[1] = CStringGetTextDatum(vigil_rule_kind_name(p.scorer.rules[i].kind));
		values[2] = Float8GetDatum(p.scorer.rules[i].weight);
		values[3] = Int64GetDatum(ev.fired[i]);
		values[4] = float_or_null(ratio(ev.fired[i], ev.rows), &nulls[4]);
		values[5] = float_or_null(ratio(ev.fired_positive[i], ev.fired[i]), &nulls[5]);
		values[6] = float_or_null(ratio(ev.fired_positive[i], ev.positives), &nulls[6]);
		values[7] = float_or_null(without.average_precision, &nulls[7]);
		values[8] = float_or_null(all.average_precision - without.average_precision, &nulls[8]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	vigil_pass_end(&p);
	return (Datum) 0;
}

/* calibrate's scores (VigilPass.state). */
typedef struct Calibration
{
	Tuplesortstate *sort;		/* negated scores, ascending */
	int64		rows;
} Calibration;

/* calibrate's row_done: keep the row's score. */
static void
calibrate_row(VigilPass *p, TupleTableSlot *slot pg_attribute_unused(),
			  const char *key pg_attribute_unused(), const VigilEvent *e,
			  const VigilProfile *before)
{
	Calibration *c = p->state;

	tuplesort_putdatum(c->sort, Float8GetDatum(-vigil_score(&p->scorer, before, e)), false);
	c->rows++;
}

/*
 * vigil.calibrate(relation, alert_rate, since): set the watch's
 * alert_threshold to the score that makes a replay of the rows since then
 * alert on the share alert_rate of them, or as near to it as ties allow
 * (the smaller share when two are as near).  Returns the threshold, the
 * share and count it reaches, the rows counted and the threshold before.
 */
Datum
vigil_calibrate(PG_FUNCTION_ARGS)
{
	VigilPass	p;
	Calibration c;
	VigilBudget b;
	int64_t		alerts;
	double		threshold;
	double		rate;
	Datum		d;
	bool		isnull;
	TupleDesc	desc;
	Datum		values[5];
	bool		nulls[5] = {false};
	Oid			argtypes[2] = {FLOAT8OID, INT4OID};
	Datum		args[2];
	MemoryContext caller = CurrentMemoryContext;
	Datum		result;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "vigil.calibrate must return a row");
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("alert_rate must not be NULL")));
	rate = PG_GETARG_FLOAT8(1);
	if (!(rate > 0.0 && rate < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("alert_rate must be in (0, 1), not %g", rate),
				 errhint("It is the share of rows that should alert: 0.01 for one in a hundred.")));
	vigil_pass_begin(&p, fcinfo, "vigil.calibrate");
	p.from = -INFINITY;
	p.since = vigil_time_arg(fcinfo, 2, -INFINITY);
	p.until = INFINITY;
	p.row_done = calibrate_row;
	c.sort = tuplesort_begin_datum(FLOAT8OID, Float8LessOperator, InvalidOid, false,
								   work_mem, NULL, TUPLESORT_NONE);
	c.rows = 0;
	p.state = &c;
	vigil_pass_run(&p);
	tuplesort_performsort(c.sort);
	vigil_budget_init(&b, c.rows, rate);
	while (!b.done && tuplesort_getdatum(c.sort, true, &d, &isnull, NULL))
		if (!vigil_budget_add(&b, -DatumGetFloat8(d)))
			elog(ERROR, "scores came out of the sort unordered");
	tuplesort_end(c.sort);
	if (!vigil_budget_finish(&b, &threshold, &alerts))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no threshold makes the watch on table %s alert",
						RelationGetRelationName(p.rel)),
				 errdetail("No rule fires on any of the %lld rows it scores in that time.",
						   (long long) c.rows),
				 errhint("Calibrate on history the rules can score.")));
	values[0] = Float8GetDatum(threshold);
	values[1] = Float8GetDatum((double) alerts / (double) c.rows);
	values[2] = Int64GetDatum(alerts);
	values[3] = Int64GetDatum(c.rows);
	values[4] = Float8GetDatum(p.w.alert_threshold);

	/* as the caller, who needs UPDATE on vigil.watches (vigil_admin has it) */
	args[0] = Float8GetDatum(threshold);
	args[1] = Int32GetDatum(p.w.id);
	if (SPI_execute_with_args("UPDATE vigil.watches SET alert_threshold = $1 "
							  "WHERE id OPERATOR(pg_catalog.=) $2",
							  2, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not set the threshold of watch %d", p.w.id);
	/* the row, made before SPI's memory goes (a float8 need not be by value) */
	MemoryContextSwitchTo(caller);
	result = HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));
	vigil_pass_end(&p);
	PG_RETURN_DATUM(result);
}
