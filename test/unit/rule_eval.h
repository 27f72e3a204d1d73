/*
 * rule_eval.h
 *		One rule evaluated alone, for the unit tests and fuzz targets.
 *
 * Detection scores all of a watch's rules at once (vigil_rules_score) and
 * explains the ones that fired (vigil_rules_explain); the tests look at one
 * rule at a time through the same two calls.
 */
#ifndef VIGIL_UNIT_RULE_EVAL_H
#define VIGIL_UNIT_RULE_EVAL_H

#include <string.h>

#include "detect/core/rules.h"

/*
 * Severity of rule r for event e against before, the profile as it was
 * before e; 0 when it does not fire.  f may be NULL; otherwise it is zeroed,
 * then holds the severity and, when the rule fired, observed, expected and
 * why.
 */
static inline double
rule_eval(const VigilRule *r, const VigilProfile *before, const VigilEvent *e,
		  VigilFinding *f)
{
	VigilFinding scratch;

	if (f == NULL)
		f = &scratch;
	memset(f, 0, sizeof(*f));
	(void) vigil_rules_score(r, 1, before, e, f);
	vigil_rules_explain(r, 1, before, e, f);
	return f->severity;
}

#endif							/* VIGIL_UNIT_RULE_EVAL_H */
