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
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "detect/core/features.h"
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

/* v as x, a JSON number, or null when x is not finite. */
static JsonbValue *
number_or_null(JsonbValue *v, double x)
{
	if (isfinite(x))
		return vigil_jsonb_double(v, x);
	v->type = jbvNull;
	return v;
}

/* v as the float x, a JSON number of its own digits, or null when x is not finite. */
static JsonbValue *
float_or_null(JsonbValue *v, float x)
{
	if (isfinite(x))
		return vigil_jsonb_float(v, x);
	v->type = jbvNull;
	return v;
}

/* Member *p of an object: key and value, already set as JsonbValues. */
static JsonbPair *
member(JsonbPair *p, int order, const char *key)
{
	vigil_jsonb_string(&p->key, key);
	p->order = order;
	return p;
}

/*
 * obj as a jsonb object of the n members at pairs, which the caller put in
 * jsonb's order of keys (the shorter first, then bytewise), the order
 * jsonb_in would sort them into: made sorted, they need no sort.
 */
static void
sorted_object(JsonbValue *obj, JsonbPair *pairs, int n)
{
	obj->type = jbvObject;
	obj->val.object.nPairs = n;
	obj->val.object.pairs = pairs;
}

/*
 * arr as the features that pushed the model's probability for e up most,
 * largest first (ties: the earlier feature): each with its value, the
 * card's usual value where its profile keeps one, and its contribution to
 * the model's margin (log-odds), as XGBoost's pred_contribs gives it.
 * Features that pushed it down are left out.  The category feature's value
 * is a code of the model's, not shown.
 */
static void
explain_model(const VigilScorer *s, const VigilProfile *before, const VigilEvent *e,
			  JsonbValue *arr)
{
	const VigilModel *m = s->model;
	float		x[VIGIL_NFEATURES];
	float	   *phi = palloc(sizeof(float) * (m->trees.nfeatures + 1));
	int			top[VIGIL_EXPLAIN_FEATURES];
	int			n = 0;
	JsonbValue *elems;

	vigil_model_contributions(m, before, e, x, phi);
	for (int f = 0; f < m->trees.nfeatures; f++)
	{
		int			at;

		if (!(phi[f] > 0.0f) || !isfinite(phi[f]) ||
			(n == VIGIL_EXPLAIN_FEATURES && !(phi[f] > phi[top[n - 1]])))
			continue;
		if (n < VIGIL_EXPLAIN_FEATURES)
			n++;
		for (at = n - 1; at > 0 && phi[f] > phi[top[at - 1]]; at--)
			top[at] = top[at - 1];
		top[at] = f;
	}
	elems = palloc(sizeof(JsonbValue) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		int			f = top[i];
		JsonbPair  *p = palloc(sizeof(JsonbPair) * 4);

		float_or_null(&member(&p[0], 0, "usual")->value, vigil_feature_usual(x, f));
		float_or_null(&member(&p[1], 1, "value")->value, f == VIGIL_F_CATEGORY ? NAN : x[f]);
		vigil_jsonb_string(&member(&p[2], 2, "feature")->value, vigil_feature_names[f]);
		float_or_null(&member(&p[3], 3, "contribution")->value, phi[f]);
		sorted_object(&elems[i], p, 4);
	}
	arr->type = jbvArray;
	arr->val.array.rawScalar = false;
	arr->val.array.nElems = n;
	arr->val.array.elems = elems;
}

/*
 * obj as the explanation's entry for finding i of event e (before: the
 * profile before it); a model's entry also names the features behind its
 * probability.
 */
static void
explain_finding(const VigilScorer *s, int i, const VigilProfile *before, const VigilEvent *e,
				JsonbValue *obj)
{
	const VigilFinding *fi = &s->findings[i];
	bool		model = s->rules[i].kind == VIGIL_RULE_MODEL && s->model != NULL;
	JsonbPair  *p = palloc(sizeof(JsonbPair) * 7);
	int			n = 0;

	vigil_jsonb_string(&member(&p[n], n, "why")->value, fi->why);
	n++;
	vigil_jsonb_string(&member(&p[n], n, "kind")->value, vigil_rule_kind_name(s->rules[i].kind));
	n++;
	vigil_jsonb_string(&member(&p[n], n, "rule")->value, s->names[i]);
	n++;
	number_or_null(&member(&p[n], n, "expected")->value, fi->expected);
	n++;
	if (model)
	{
		explain_model(s, before, e, &member(&p[n], n, "features")->value);
		n++;
	}
	number_or_null(&member(&p[n], n, "observed")->value, fi->observed);
	n++;
	number_or_null(&member(&p[n], n, "severity")->value, fi->severity);
	n++;
	sorted_object(obj, p, n);
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
	JsonbValue	root;
	JsonbValue *entries = palloc(sizeof(JsonbValue) * (VIGIL_EXPLAIN_MAX + 1));
	int			n = 0;
	int			nfired = 0;
	int			omitted;
	VigilEvent	copy;

	vigil_rules_explain(s->rules, s->nrules, before, vigil_scorer_event(s, before, e, &copy),
						s->findings);
	for (int i = 0; i < s->nrules; i++)
	{
		int			heavier = 0;

		if (s->findings[i].severity <= 0.0)
			continue;
		nfired++;
		/* quadratic, but only in rules that fired, and only when alerting */
		for (int j = 0; j < s->nrules && heavier < VIGIL_EXPLAIN_MAX; j++)
			if (j != i && s->findings[j].severity > 0.0 && weighs_more(s, j, i))
				heavier++;
		if (heavier < VIGIL_EXPLAIN_MAX)
			explain_finding(s, i, before, e, &entries[n++]);
	}
	omitted = nfired - Min(nfired, VIGIL_EXPLAIN_MAX);
	if (omitted > 0)
	{
		JsonbPair  *p = palloc(sizeof(JsonbPair) * 2);

		vigil_jsonb_string(&member(&p[0], 0, "why")->value,
						   psprintf("%d more rules fired; fired names them all", omitted));
		vigil_jsonb_double(&member(&p[1], 1, "omitted")->value, omitted);
		sorted_object(&entries[n++], p, 2);
	}
	root.type = jbvArray;
	root.val.array.rawScalar = false;
	root.val.array.nElems = n;
	root.val.array.elems = entries;
	return JsonbValueToJsonb(&root);
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
