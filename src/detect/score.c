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
#include "utils/jsonb.h"

#include "detect/jsonb_value.h"
#include "detect/score.h"

/* Whether any of the scorer's rules is of kind model. */
static bool
has_model_rule(const VigilScorer *s)
{
	for (int i = 0; i < s->nrules; i++)
		if (s->rules[i].kind == VIGIL_RULE_MODEL)
			return true;
	return false;
}

/* Plan the rules' order for what the events carry and whether there is a model. */
static void
plan(VigilScorer *s)
{
	s->nplan = vigil_rules_plan(s->rules, s->nrules,
								s->inputs | (s->model != NULL ? VIGIL_INPUT_MODEL : 0),
								s->order, s->rest);
}

/*
 * Load the enabled rules of a watch, whose events carry what inputs
 * (VIGIL_INPUT_* bits) says, into mcxt (inside the caller's SPI
 * connection), with no model.
 */
static void
load_rules(VigilScorer *s, int32 watch_id, unsigned inputs, MemoryContext mcxt)
{
	VigilLoadedRule *loaded = vigil_load_rules(watch_id, &s->nrules, mcxt);

	s->model = NULL;
	s->probability = NAN;
	s->inputs = inputs;
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
}

/*
 * Give the scorer the default rule of kind model if none of its rules is
 * one, as vigil.activate_model would add it.
 */
static void
ensure_model_rule(VigilScorer *s, MemoryContext mcxt)
{
	int			n = s->nrules + 1;
	VigilRule  *rules;
	char	  **names;

	if (has_model_rule(s))
		return;
	rules = MemoryContextAlloc(mcxt, sizeof(VigilRule) * n);
	names = MemoryContextAlloc(mcxt, sizeof(char *) * n);
	memcpy(rules, s->rules, sizeof(VigilRule) * s->nrules);
	memcpy(names, s->names, sizeof(char *) * s->nrules);
	vigil_rule_defaults(&rules[s->nrules], VIGIL_RULE_MODEL);
	names[s->nrules] = "model";
	s->rules = rules;
	s->names = names;
	s->nrules = n;
	s->findings = MemoryContextAlloc(mcxt, sizeof(VigilFinding) * n);
	s->order = MemoryContextAlloc(mcxt, sizeof(int) * n);
	s->rest = MemoryContextAlloc(mcxt, sizeof(double) * (n + 1));
}

/*
 * Load the enabled rules of a watch, whose events carry what inputs
 * (VIGIL_INPUT_* bits) says, and its active model if a rule uses one, into
 * mcxt (inside the caller's SPI connection).
 */
void
vigil_scorer_init(VigilScorer *s, int32 watch_id, unsigned inputs,
				  MemoryContext mcxt)
{
	load_rules(s, watch_id, inputs, mcxt);
	if (has_model_rule(s))
		s->model = vigil_model_load_state(watch_id, "active", mcxt);
	plan(s);
}

/*
 * Load the scorer the watch would have with its shadow model active
 * instead (vigil.shadow_model): its rules, with the default rule of kind
 * model if it has none.  False when the watch has no shadow model.
 */
bool
vigil_scorer_init_shadow(VigilScorer *s, int32 watch_id, unsigned inputs,
						 MemoryContext mcxt)
{
	VigilModel *m = vigil_model_load_state(watch_id, "shadow", mcxt);

	if (m == NULL)
		return false;
	load_rules(s, watch_id, inputs, mcxt);
	ensure_model_rule(s, mcxt);
	s->model = m;
	plan(s);
	return true;
}

/*
 * Score with model model_id of watch watch_id (loaded into mcxt) instead of
 * the active one, for backtests.  The rules stay the watch's, with the
 * default rule of kind model added if none is enabled.
 */
void
vigil_scorer_use_model(VigilScorer *s, int32 watch_id, int64 model_id, MemoryContext mcxt)
{
	s->model = vigil_model_load_id(model_id, watch_id, mcxt);
	ensure_model_rule(s, mcxt);
	plan(s);
}

/*
 * e, or a copy of it in *copy that carries the probability the scorer's
 * model gives it (also kept in s->probability), when there is a model:
 * the event its rules are evaluated on.
 */
const VigilEvent *
vigil_scorer_event(VigilScorer *s, const VigilProfile *before, const VigilEvent *e,
				   VigilEvent *copy)
{
	s->probability = NAN;
	/* the rules score nothing for these; the features assume neither */
	if (s->model == NULL || !vigil_event_valid(e, NULL) || !vigil_profile_sound(before))
		return e;
	*copy = *e;
	copy->model_probability = s->probability = vigil_model_probability(s->model, before, e);
	copy->has_model = true;
	return copy;
}

/*
 * The score of event e against the profile as it was before it: the
 * noisy-OR of the fired rules' weighted severities (see detect/core/rules.h).
 */
double
vigil_score(VigilScorer *s, const VigilProfile *before, const VigilEvent *e)
{
	VigilEvent	copy;

	return vigil_rules_score(s->rules, s->nrules, before,
							 vigil_scorer_event(s, before, e, &copy), s->findings);
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
	VigilEvent	copy;

	return vigil_rules_decide(s->rules, s->nrules, s->order, s->nplan, s->rest, threshold,
							  before, vigil_scorer_event(s, before, e, &copy), s->findings);
}

/* A member key: x as a JSON number (as jsonb_in makes it from float8out's text), or null. */
static void
push_number(JsonbParseState **state, const char *key, double x)
{
	JsonbValue	k;
	JsonbValue	v;

	pushJsonbValue(state, WJB_KEY, vigil_jsonb_string(&k, key));
	if (isfinite(x))
		vigil_jsonb_number(&v, float8out_internal(x));
	else
		v.type = jbvNull;
	pushJsonbValue(state, WJB_VALUE, &v);
}

/* A member key: s, a JSON string. */
static void
push_string(JsonbParseState **state, const char *key, const char *s)
{
	JsonbValue	k;
	JsonbValue	v;

	pushJsonbValue(state, WJB_KEY, vigil_jsonb_string(&k, key));
	pushJsonbValue(state, WJB_VALUE, vigil_jsonb_string(&v, s));
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
 * explanation, one entry per fired rule with observed, expected and why, in
 * rule order, made as jsonb (no text to parse).  It details the
 * VIGIL_EXPLAIN_MAX rules that weigh most, and says how many more fired,
 * so its size does not grow with the rules; vigil_fired_array names them
 * all.
 */
Jsonb *
vigil_explain(VigilScorer *s, const VigilProfile *before, const VigilEvent *e)
{
	JsonbParseState *state = NULL;
	int			nfired = 0;
	int			omitted;
	VigilEvent	copy;

	vigil_rules_explain(s->rules, s->nrules, before, vigil_scorer_event(s, before, e, &copy),
						s->findings);
	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < s->nrules; i++)
	{
		const VigilFinding *fi = &s->findings[i];
		int			heavier = 0;

		if (fi->severity <= 0.0)
			continue;
		nfired++;
		/* quadratic, but only in rules that fired, and only when alerting */
		for (int j = 0; j < s->nrules && heavier < VIGIL_EXPLAIN_MAX; j++)
			if (j != i && s->findings[j].severity > 0.0 && weighs_more(s, j, i))
				heavier++;
		if (heavier >= VIGIL_EXPLAIN_MAX)
			continue;
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		push_string(&state, "rule", s->names[i]);
		push_string(&state, "kind", vigil_rule_kind_name(s->rules[i].kind));
		push_number(&state, "severity", fi->severity);
		push_number(&state, "observed", fi->observed);
		push_number(&state, "expected", fi->expected);
		push_string(&state, "why", fi->why);
		pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	}
	omitted = nfired - Min(nfired, VIGIL_EXPLAIN_MAX);
	if (omitted > 0)
	{
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		push_number(&state, "omitted", omitted);
		push_string(&state, "why", psprintf("%d more rules fired; fired names them all", omitted));
		pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	}
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_ARRAY, NULL));
}

/*
 * For the event scored last: the names of the fired rules as the text of a
 * text[] ({"a","b"}, every element quoted), for an SQL statement to read
 * with array_in: an array of such arrays cannot be a parameter.
 */
char *
vigil_fired_literal(const VigilScorer *s)
{
	StringInfoData buf;
	bool		first = true;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < s->nrules; i++)
	{
		if (s->findings[i].severity <= 0.0)
			continue;
		if (!first)
			appendStringInfoChar(&buf, ',');
		first = false;
		appendStringInfoChar(&buf, '"');
		for (const char *c = s->names[i]; *c; c++)
		{
			if (*c == '"' || *c == '\\')
				appendStringInfoChar(&buf, '\\');
			appendStringInfoChar(&buf, *c);
		}
		appendStringInfoChar(&buf, '"');
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
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
