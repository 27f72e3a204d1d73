/*
 * fuzz_rules.c
 *		libFuzzer target: rule parameters as vigil.rules rows give them
 *		(vigil_rule_set_param, vigil_rule_check in detect/core/rules.c), and
 *		the evaluation of whatever rule comes out.
 *
 * Input: a kind byte, a weight, then (selector, value) pairs that set
 * parameters by name (known names, and sometimes a name taken from the
 * input), then events.  set_param must change exactly the named parameter
 * or nothing and say why; check must accept exactly the rules whose
 * parameters are all in range and consistent.  Then every event is scored
 * against the profile as it was before it and folded in: severities and
 * scores stay in [0, 1], explanations are terminated, folding keeps the
 * profile valid.
 */
#include "detect/core/rules.h"
#include "fuzz.h"
#include "rule_eval.h"

/* Longest message set_param and check give (rules.c's why_buf). */
#define WHY_MAX 320

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer's entry point: one input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzIn		in = {data, size};
	VigilRule	r,
				before,
				all[VIGIL_RULE_NKINDS + 1];
	VigilFinding findings[VIGIL_RULE_NKINDS + 1];
	VigilFinding some[VIGIL_RULE_NKINDS + 1];
	VigilFinding f;
	int			order[VIGIL_RULE_NKINDS + 1];
	double		rest[VIGIL_RULE_NKINDS + 2];
	VigilProfile p;
	VigilEvent	e;
	const char *why;
	const char *name;
	char		unknown[24];
	double		value,
				t = 1.7e9,
				sev,
				score,
				decided;
	uint8_t		kind = fuzz_u8(&in),
				sel;
	int			nplan,
				nparams,
				i,
				k,
				nsets = fuzz_u8(&in) % 8;
	bool		ok,
				checked;

	/* one past the last kind, and anything else, is an invalid kind */
	vigil_rule_defaults(&r, (VigilRuleKind) (kind % (VIGIL_RULE_NKINDS + 2)));
	if (kind & 0x80)
		r.weight = fuzz_double(&in);
	nparams = vigil_rule_nparams(r.kind);
	FUZZ_CHECK(nparams >= 0 && nparams <= VIGIL_RULE_MAX_PARAMS);

	for (k = 0; k < nsets; k++)
	{
		sel = fuzz_u8(&in);
		i = nparams > 0 ? sel % (nparams + 1) : 0;
		name = vigil_rule_param_name(r.kind, i);
		if (name == NULL || (sel & 0x80))
		{
			/* a name that is probably not a parameter, from the input */
			size_t		n = fuzz_u8(&in) % (sizeof(unknown) - 1);
			size_t		j;

			for (j = 0; j < n; j++)
				unknown[j] = (char) (fuzz_u8(&in) | 1);	/* no NUL inside */
			unknown[n] = '\0';
			name = (sel & 0x40) ? NULL : unknown;
			i = -1;
			for (j = 0; name != NULL && (int) j < nparams; j++)
				if (strcmp(name, vigil_rule_param_name(r.kind, (int) j)) == 0)
					i = (int) j;
		}
		value = fuzz_double(&in);
		before = r;
		why = "unset";
		ok = vigil_rule_set_param(&r, name, value, &why);
		if (ok)
		{
			FUZZ_CHECK(why == NULL && i >= 0 && isfinite(value));
			FUZZ_CHECK(memcmp(&r.param[i], &value, sizeof(value)) == 0);
			r.param[i] = before.param[i];
		}
		else
			FUZZ_CHECK(why != NULL && strlen(why) < WHY_MAX && why[0] != '\0');
		/* nothing but the named parameter changes */
		FUZZ_CHECK(memcmp(&r, &before, sizeof(r)) == 0);
		if (ok)
			r.param[i] = value;
	}

	why = "unset";
	checked = vigil_rule_check(&r, &why);
	if (checked)
		FUZZ_CHECK(why == NULL && r.weight >= 0.0 && r.weight <= 1.0);
	else
		FUZZ_CHECK(why != NULL && strlen(why) < WHY_MAX && why[0] != '\0');

	/* the rule, unchecked or not, with every kind's defaults beside it */
	all[0] = r;
	for (k = 0; k < VIGIL_RULE_NKINDS; k++)
		vigil_rule_defaults(&all[k + 1], (VigilRuleKind) k);

	nplan = vigil_rules_plan(all, VIGIL_RULE_NKINDS + 1, VIGIL_INPUT_ALL, order, rest);
	vigil_profile_init(&p);
	while (in.n > 0)
	{
		fuzz_event(&in, &t, &e);
		sev = rule_eval(&r, &p, &e, &f);
		FUZZ_CHECK(sev >= 0.0 && sev <= 1.0 && f.severity == sev);
		FUZZ_CHECK(memchr(f.why, '\0', sizeof(f.why)) != NULL);
		if (!vigil_event_valid(&e, NULL) || vigil_rule_kind_name(r.kind) == NULL)
			FUZZ_CHECK(sev == 0.0);

		score = vigil_rules_score(all, VIGIL_RULE_NKINDS + 1, &p, &e, findings);
		FUZZ_CHECK(score >= 0.0 && score <= 1.0);
		/* detection's path alerts exactly when the full score does */
		decided = vigil_rules_decide(all, VIGIL_RULE_NKINDS + 1, order, nplan, rest, 0.5,
									 &p, &e, some);
		FUZZ_CHECK((decided >= 0.5) == (score >= 0.5));
		if (score >= 0.5)
			FUZZ_CHECK(decided == score);
		vigil_rules_explain(all, VIGIL_RULE_NKINDS + 1, &p, &e, findings);
		for (k = 0; k <= VIGIL_RULE_NKINDS; k++)
		{
			FUZZ_CHECK(findings[k].severity >= 0.0 && findings[k].severity <= 1.0);
			FUZZ_CHECK(memchr(findings[k].why, '\0', sizeof(findings[k].why)) != NULL);
			/* a rule that fires explains itself */
			if (findings[k].severity > 0.0)
				FUZZ_CHECK(findings[k].why[0] != '\0');
		}

		/* what detection stores must load again from a dump */
		if (vigil_profile_fold(&p, &e) && !vigil_profile_valid(&p, &why))
		{
			fprintf(stderr, "folded profile is invalid: %s\n", why);
			FUZZ_CHECK(!"a folded profile is valid");
		}
	}
	return 0;
}
