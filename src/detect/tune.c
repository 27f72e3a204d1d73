/*
 * tune.c
 *		vigil.tune: search the enabled rules' parameters and weights against
 *		labels, and propose (or apply) those that rank the rows best.
 *
 * One replay folds the profiles once: each labelled row's profile as it was
 * before the row, its event and its label go to a tuplestore (which spills
 * to disk past work_mem), and every candidate rule set re-scores those rows
 * without folding again.  The search is coordinate descent: one parameter
 * or weight at a time, over a few values around the current one, keeping a
 * change only when it raises the PR-AUC of the tuning rows by more than
 * MIN_GAIN.  The latest quarter of the rows' time span is held out: the
 * search never sees it, and its measures before and after say whether the
 * change carries over to later traffic.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "detect/evaluate.h"
#include "detect/profile_type.h"
#include "detect/rule_table.h"

PG_FUNCTION_INFO_V1(vigil_tune);

/* Rounds of coordinate descent over every rule. */
#define ROUNDS 2

/* The PR-AUC gain a change must bring on the tuning rows to be kept. */
#define MIN_GAIN 0.001

/* The share of the rows' time span, at its end, held out from the search. */
#define HELD_OUT 0.25

/* Factors tried on a parameter, and the weights tried. */
static const double factors[] = {0.5, 0.75, 1.5, 2.0};
static const double weights[] = {0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0};

/* The labelled rows, folded once (VigilPass.state). */
typedef struct Tuning
{
	VigilLabel	label;
	Tuplestorestate *rows;		/* (profile before, event, label) */
	TupleDesc	desc;
	double		tmin;			/* the rows' event times */
	double		tmax;
} Tuning;

/* How a rule set does on the tuning and the held-out rows. */
typedef struct Measures
{
	int64		rows[2];		/* [0] tuning, [1] held out */
	int64		positives[2];
	int64		alerts[2];		/* at the watch's threshold */
	int64		caught[2];
	double		pr_auc[2];
} Measures;

/*
 * The pass's row_done: keep a labelled row with its profile before it, its
 * event as the rules see it (with the active model's probability on it).
 */
static void
keep_row(VigilPass *p, TupleTableSlot *slot, const char *key pg_attribute_unused(),
		 const VigilEvent *e, const VigilProfile *before)
{
	Tuning	   *tu = p->state;
	bool		label;
	bytea	   *prof;
	bytea	   *ev;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	VigilEvent	copy;

	if (!vigil_label_read(&tu->label, slot, &label))
		return;
	e = vigil_scorer_event(&p->scorer, before, e, &copy);
	prof = palloc(VARHDRSZ + sizeof(VigilProfile));
	SET_VARSIZE(prof, VARHDRSZ + sizeof(VigilProfile));
	memcpy(VARDATA(prof), before, sizeof(VigilProfile));
	ev = palloc(VARHDRSZ + sizeof(VigilEvent));
	SET_VARSIZE(ev, VARHDRSZ + sizeof(VigilEvent));
	memcpy(VARDATA(ev), e, sizeof(VigilEvent));
	values[0] = PointerGetDatum(prof);
	values[1] = PointerGetDatum(ev);
	values[2] = BoolGetDatum(label);
	tuplestore_putvalues(tu->rows, tu->desc, values, nulls);
	tu->tmin = Min(tu->tmin, e->t);
	tu->tmax = Max(tu->tmax, e->t);
}

/* Score every kept row with rules (n of them) and measure both parts. */
static Measures
measure(Tuning *tu, const VigilRule *rules, int n, VigilFinding *findings,
		double split, double threshold)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(tu->desc, &TTSOpsMinimalTuple);
	ScoreSort	sorts[2];
	Measures	m;

	memset(&m, 0, sizeof(m));
	vigil_score_sort_begin(&sorts[0], 2);
	vigil_score_sort_begin(&sorts[1], 2);
	tuplestore_rescan(tu->rows);
	while (tuplestore_gettupleslot(tu->rows, true, false, slot))
	{
		VigilProfile before;
		VigilEvent	e;
		bool		isnull;
		bool		label;
		double		score;
		int			part;

		memcpy(&before, VARDATA_ANY(DatumGetPointer(slot_getattr(slot, 1, &isnull))),
			   sizeof(VigilProfile));
		memcpy(&e, VARDATA_ANY(DatumGetPointer(slot_getattr(slot, 2, &isnull))),
			   sizeof(VigilEvent));
		label = DatumGetBool(slot_getattr(slot, 3, &isnull));
		score = vigil_rules_score(rules, n, &before, &e, findings);
		part = e.t >= split ? 1 : 0;
		m.rows[part]++;
		m.positives[part] += label;
		if (score > 0.0 && score >= threshold)
		{
			m.alerts[part]++;
			m.caught[part] += label;
		}
		vigil_score_sort_put(&sorts[part], score, label);
	}
	for (int part = 0; part < 2; part++)
		m.pr_auc[part] = vigil_score_sort_rank(&sorts[part]).average_precision;
	ExecDropSingleTupleTableSlot(slot);
	return m;
}

/* The better of two PR-AUCs for the search (NaN counts as nothing). */
static bool
gains(double candidate, double best)
{
	return !isnan(candidate) && (isnan(best) || candidate > best + MIN_GAIN);
}

/*
 * Coordinate descent over the rules' parameters and weights (weight 0:
 * off), on the tuning rows' PR-AUC.  rules is changed in place; off[i]
 * says rule i was turned off.  Returns the measures of the result.
 */
static Measures
search(Tuning *tu, VigilRule *rules, bool *off, int n, VigilFinding *findings,
	   double split, double threshold)
{
	Measures	best = measure(tu, rules, n, findings, split, threshold);

	for (int pass = 0; pass < ROUNDS; pass++)
	{
		bool		changed = false;

		for (int i = 0; i < n; i++)
		{
			int			np = vigil_rule_nparams(rules[i].kind);

			for (int j = 0; j < np; j++)
			{
				const char *pname = vigil_rule_param_name(rules[i].kind, j);
				VigilRule	keep = rules[i];

				for (int k = 0; k < (int) lengthof(factors); k++)
				{
					const char *why;
					VigilRule	cand = keep;
					Measures	m;

					CHECK_FOR_INTERRUPTS();
					/* integer parameters take the rounded value */
					if (!vigil_rule_set_param(&cand, pname, keep.param[j] * factors[k], &why) &&
						!vigil_rule_set_param(&cand, pname, round(keep.param[j] * factors[k]), &why))
						continue;
					if (cand.param[j] == keep.param[j] || !vigil_rule_check(&cand, &why))
						continue;
					rules[i] = cand;
					m = measure(tu, rules, n, findings, split, threshold);
					if (gains(m.pr_auc[0], best.pr_auc[0]))
					{
						best = m;
						keep = cand;
						changed = true;
					}
				}
				rules[i] = keep;
			}
			for (int k = 0; k < (int) lengthof(weights); k++)
			{
				double		was = rules[i].weight;
				bool		was_off = off[i];
				Measures	m;

				if ((weights[k] == 0.0 && off[i]) || (weights[k] > 0.0 && !off[i] && weights[k] == was))
					continue;
				CHECK_FOR_INTERRUPTS();
				/* weight 0 is off: the answer and apply keep the rule's weight */
				off[i] = weights[k] == 0.0;
				rules[i].weight = off[i] ? 0.0 : weights[k];
				m = measure(tu, rules, n, findings, split, threshold);
				if (gains(m.pr_auc[0], best.pr_auc[0]))
				{
					best = m;
					changed = true;
				}
				else
				{
					rules[i].weight = was;
					off[i] = was_off;
				}
			}
		}
		if (!changed)
			break;
	}
	return best;
}

/* Append x as a JSON number, or null when it is not finite. */
static void
json_number(StringInfo buf, double x)
{
	if (isfinite(x))
		appendStringInfoString(buf, float8out_internal(x));
	else
		appendStringInfoString(buf, "null");
}

/* Append part (0 tuning, 1 held out) of m as a JSON object. */
static void
json_measures(StringInfo buf, const Measures *m, int part)
{
	appendStringInfo(buf, "{\"rows\": " INT64_FORMAT ", \"positives\": " INT64_FORMAT
					 ", \"alerts\": " INT64_FORMAT ", \"pr_auc\": ",
					 m->rows[part], m->positives[part], m->alerts[part]);
	json_number(buf, m->pr_auc[part]);
	appendStringInfoString(buf, ", \"alert_rate\": ");
	json_number(buf, m->rows[part] > 0 ? (double) m->alerts[part] / m->rows[part] : NAN);
	appendStringInfoString(buf, ", \"precision\": ");
	json_number(buf, m->alerts[part] > 0 ? (double) m->caught[part] / m->alerts[part] : NAN);
	appendStringInfoString(buf, ", \"recall\": ");
	json_number(buf, m->positives[part] > 0 ? (double) m->caught[part] / m->positives[part] : NAN);
	appendStringInfoChar(buf, '}');
}

/* Append before and after, each with its tuning and held-out measures. */
static void
json_both(StringInfo buf, const char *name, const Measures *m)
{
	appendStringInfo(buf, ", \"%s\": {\"tuning\": ", name);
	json_measures(buf, m, 0);
	appendStringInfoString(buf, ", \"held_out\": ");
	json_measures(buf, m, 1);
	appendStringInfoChar(buf, '}');
}

/* Write rule name's new parameters, weight and enabled flag, as the caller. */
static void
apply_rule(int32 watch_id, const char *name, const VigilRule *r, bool off, double old_weight)
{
	Oid			argtypes[5] = {JSONBOID, FLOAT8OID, BOOLOID, INT4OID, TEXTOID};
	Datum		args[5];

	args[0] = vigil_rule_params_jsonb(r);
	args[1] = Float8GetDatum(off ? old_weight : r->weight);
	args[2] = BoolGetDatum(!off);
	args[3] = Int32GetDatum(watch_id);
	args[4] = CStringGetTextDatum(name);
	if (SPI_execute_with_args("UPDATE vigil.rules SET params = $1, weight = $2, enabled = $3 "
							  "WHERE watch_id OPERATOR(pg_catalog.=) $4 "
							  "AND name OPERATOR(pg_catalog.=) $5",
							  5, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update rule \"%s\"", name);
}

/*
 * vigil.tune(relation, label_column, since, until, apply): search the
 * watch's enabled rules against the labels of the rows in [since, until)
 * and return, as jsonb, the measures before and after on the tuning and the
 * held-out rows and the rules that changed; with apply, write them to
 * vigil.rules.
 */
Datum
vigil_tune(PG_FUNCTION_ARGS)
{
	VigilPass	p;
	Tuning		tu;
	VigilRule  *rules;
	bool	   *off;
	VigilFinding *findings;
	Measures	before;
	Measures	after;
	double		split;
	bool		apply;
	int			n;
	int			nchanged = 0;
	StringInfoData buf;
	MemoryContext caller = CurrentMemoryContext;
	Datum		result;

	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("apply must not be NULL")));
	apply = PG_GETARG_BOOL(4);
	vigil_pass_begin(&p, fcinfo, "vigil.tune");
	memset(&tu, 0, sizeof(tu));
	vigil_label_find(&tu.label, &p, fcinfo, 1);
	tu.desc = CreateTemplateTupleDesc(3);
	TupleDescInitEntry(tu.desc, 1, "profile", BYTEAOID, -1, 0);
	TupleDescInitEntry(tu.desc, 2, "event", BYTEAOID, -1, 0);
	TupleDescInitEntry(tu.desc, 3, "label", BOOLOID, -1, 0);
	tu.rows = tuplestore_begin_heap(true, false, work_mem);
	tu.tmin = INFINITY;
	tu.tmax = -INFINITY;
	p.from = -INFINITY;
	p.since = vigil_time_arg(fcinfo, 2, -INFINITY);
	p.until = vigil_time_arg(fcinfo, 3, INFINITY);
	p.row_done = keep_row;
	p.state = &tu;
	vigil_pass_run(&p);

	n = p.scorer.nrules;
	rules = palloc(sizeof(VigilRule) * Max(n, 1));
	memcpy(rules, p.scorer.rules, sizeof(VigilRule) * n);
	off = palloc0(sizeof(bool) * Max(n, 1));
	findings = palloc(sizeof(VigilFinding) * Max(n, 1));
	split = tu.tmax - HELD_OUT * (tu.tmax - tu.tmin);
	before = measure(&tu, rules, n, findings, split, p.w.alert_threshold);
	if (before.positives[0] == 0 || before.rows[1] == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("vigil.tune needs labelled fraud before the last quarter of the rows' time, and rows in it"),
				 errdetail("It has " INT64_FORMAT " labelled rows, " INT64_FORMAT " of them fraud, before the held-out quarter, and " INT64_FORMAT " in it.",
						   before.rows[0], before.positives[0], before.rows[1]),
				 errhint("Tune on a longer stretch of labelled history.")));
	after = search(&tu, rules, off, n, findings, split, p.w.alert_threshold);

	/* the answer outlives the SPI connection */
	MemoryContextSwitchTo(caller);
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"held_out_from\": ");
	escape_json(&buf, timestamptz_to_str(vigil_epoch_to_timestamptz(split)));
	json_both(&buf, "before", &before);
	json_both(&buf, "after", &after);
	appendStringInfoString(&buf, ", \"changes\": [");
	for (int i = 0; i < n; i++)
	{
		const VigilRule *was = &p.scorer.rules[i];

		if (memcmp(rules[i].param, was->param, sizeof(was->param)) == 0 &&
			rules[i].weight == was->weight && !off[i])
			continue;
		if (nchanged++ > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, "{\"rule\": ");
		escape_json(&buf, p.scorer.names[i]);
		appendStringInfo(&buf, ", \"enabled\": %s, \"weight\": ", off[i] ? "false" : "true");
		json_number(&buf, off[i] ? was->weight : rules[i].weight);
		appendStringInfoString(&buf, ", \"params\": ");
		appendStringInfoString(&buf, JsonbToCString(NULL, &DatumGetJsonbP(vigil_rule_params_jsonb(&rules[i]))->root, 0));
		appendStringInfoString(&buf, ", \"was\": {\"weight\": ");
		json_number(&buf, was->weight);
		appendStringInfoString(&buf, ", \"params\": ");
		appendStringInfoString(&buf, JsonbToCString(NULL, &DatumGetJsonbP(vigil_rule_params_jsonb(was))->root, 0));
		appendStringInfoString(&buf, "}}");
		if (apply)
			apply_rule(p.w.id, p.scorer.names[i], &rules[i], off[i], was->weight);
	}
	appendStringInfo(&buf, "], \"applied\": %s}", apply && nchanged > 0 ? "true" : "false");
	/* SPI calls (the writes) leave the current context SPI's own */
	MemoryContextSwitchTo(caller);
	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
	tuplestore_end(tu.rows);
	vigil_pass_end(&p);
	PG_RETURN_DATUM(result);
}
