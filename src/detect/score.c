/*
 * score.c
 *		Scoring one event against a watch's rules, and explaining the score.
 *
 * Shared by the detection trigger and by replay, so a backtest scores
 * exactly as live insertion does.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"

#include "detect/score.h"

/*
 * Load the enabled rules of a watch, whose events carry what inputs
 * (VIGIL_INPUT_* bits) says, into mcxt (inside the caller's SPI
 * connection).
 */
void
vigil_scorer_init(VigilScorer *s, int32 watch_id, unsigned inputs,
				  MemoryContext mcxt)
{
	VigilLoadedRule *loaded = vigil_load_rules(watch_id, &s->nrules, mcxt);

	s->rules = MemoryContextAlloc(mcxt, sizeof(VigilRule) * Max(s->nrules, 1));
	s->names = MemoryContextAlloc(mcxt, sizeof(char *) * Max(s->nrules, 1));
	for (int i = 0; i < s->nrules; i++)
	{
		s->rules[i] = loaded[i].rule;
		s->names[i] = loaded[i].name;
	}
	s->findings = MemoryContextAlloc(mcxt, sizeof(VigilFinding) * Max(s->nrules, 1));
	s->order = MemoryContextAlloc(mcxt, sizeof(int) * Max(s->nrules, 1));
	s->rest = MemoryContextAlloc(mcxt, sizeof(double) * (s->nrules + 1));
	s->nplan = vigil_rules_plan(s->rules, s->nrules, inputs, s->order, s->rest);
}

/*
 * The score of event e against the profile as it was before it: the
 * noisy-OR of the fired rules' weighted severities (see detect/core/rules.h).
 */
double
vigil_score(VigilScorer *s, const VigilProfile *before, const VigilEvent *e)
{
	return vigil_rules_score(s->rules, s->nrules, before, e, s->findings);
}

/*
 * The score of event e as vigil_score gives it when it reaches threshold;
 * otherwise some score below threshold, found without evaluating the rules
 * that could not change that (see vigil_rules_decide).  For detection,
 * which keeps only the scores that alert.
 */
double
vigil_score_decide(VigilScorer *s, const VigilProfile *before, const VigilEvent *e,
				   double threshold)
{
	return vigil_rules_decide(s->rules, s->nrules, s->order, s->nplan, s->rest, threshold,
							  before, e, s->findings);
}

/* A JSON number, or null where there is none. */
static const char *
json_number(double x)
{
	return isfinite(x) ? float8out_internal(x) : "null";
}

/*
 * Whether finding i weighs more in the score than finding j (ties: the
 * earlier rule).
 */
static bool
weighs_more(const VigilScorer *s, int i, int j)
{
	double		wi = s->rules[i].weight * s->findings[i].severity;
	double		wj = s->rules[j].weight * s->findings[j].severity;

	return wi > wj || (wi == wj && i < j);
}

/*
 * For the event scored last (before and e as given to vigil_score): the
 * names of the fired rules as a JSON array, and the explanation, one entry
 * per fired rule with observed, expected and why, in rule order.  The
 * explanation keeps the VIGIL_EXPLAIN_MAX rules that weigh most, and says
 * how many more fired, so its size does not grow with the rules.
 */
void
vigil_explain(VigilScorer *s, const VigilProfile *before, const VigilEvent *e,
			  char **fired, char **explanation)
{
	StringInfoData f;
	StringInfoData ex;
	bool		first = true;
	int			nfired = 0;
	int			omitted;

	vigil_rules_explain(s->rules, s->nrules, before, e, s->findings);
	initStringInfo(&f);
	initStringInfo(&ex);
	appendStringInfoChar(&f, '[');
	appendStringInfoChar(&ex, '[');
	for (int i = 0; i < s->nrules; i++)
	{
		if (s->findings[i].severity <= 0.0)
			continue;
		if (nfired++ > 0)
			appendStringInfoString(&f, ", ");
		escape_json(&f, s->names[i]);
	}
	for (int i = 0; i < s->nrules; i++)
	{
		const VigilFinding *fi = &s->findings[i];
		int			heavier = 0;

		if (fi->severity <= 0.0)
			continue;
		/* quadratic, but only in rules that fired, and only when alerting */
		for (int j = 0; j < s->nrules && heavier < VIGIL_EXPLAIN_MAX; j++)
			if (j != i && s->findings[j].severity > 0.0 && weighs_more(s, j, i))
				heavier++;
		if (heavier >= VIGIL_EXPLAIN_MAX)
			continue;
		if (!first)
			appendStringInfoString(&ex, ", ");
		first = false;
		appendStringInfoString(&ex, "{\"rule\": ");
		escape_json(&ex, s->names[i]);
		appendStringInfoString(&ex, ", \"kind\": ");
		escape_json(&ex, vigil_rule_kind_name(s->rules[i].kind));
		appendStringInfo(&ex, ", \"severity\": %s", json_number(fi->severity));
		appendStringInfo(&ex, ", \"observed\": %s", json_number(fi->observed));
		appendStringInfo(&ex, ", \"expected\": %s, \"why\": ", json_number(fi->expected));
		escape_json(&ex, fi->why);
		appendStringInfoChar(&ex, '}');
	}
	omitted = nfired - Min(nfired, VIGIL_EXPLAIN_MAX);
	if (omitted > 0)
		appendStringInfo(&ex, ", {\"omitted\": %d, \"why\": \"%d more rules fired; fired names them all\"}",
						 omitted, omitted);
	appendStringInfoChar(&f, ']');
	appendStringInfoChar(&ex, ']');
	*fired = f.data;
	*explanation = ex.data;
}

/* For the event scored last: the names of the fired rules, as text[]. */
ArrayType *
vigil_fired_array(const VigilScorer *s)
{
	Datum	   *names = palloc(sizeof(Datum) * Max(s->nrules, 1));
	int			n = 0;

	for (int i = 0; i < s->nrules; i++)
		if (s->findings[i].severity > 0.0)
			names[n++] = CStringGetTextDatum(s->names[i]);
	return construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT);
}
