/*
 * rules.h
 *		Detection rules: kinds, parameters, evaluation and score combination.
 *
 * A rule is one row of vigil.rules: a kind, numeric parameters, a weight.
 * Evaluating a rule against the profile as it was before an event gives a
 * severity in [0, 1] (0: not fired) and, when it fires, a finding that
 * explains it (observed, expected, why).  The event's score combines the
 * fired rules as a noisy-OR of weight * severity:
 *
 *		score = 1 - prod_i (1 - weight_i * severity_i)
 *
 * so one rule of weight 1 firing at its threshold (severity 0.5) reaches the
 * default alert threshold 0.5 alone, while light rules (new merchant, odd
 * hour) alert only together.
 */
#ifndef VIGIL_RULES_H
#define VIGIL_RULES_H

#include <stdbool.h>

#include "detect/core/profile.h"

typedef enum VigilRuleKind
{
	VIGIL_RULE_AMOUNT_ZSCORE,
	VIGIL_RULE_AMOUNT_RATIO,
	VIGIL_RULE_AMOUNT_LIMIT,
	VIGIL_RULE_VELOCITY,
	VIGIL_RULE_WINDOW_SUM,
	VIGIL_RULE_CARD_TESTING,
	VIGIL_RULE_IMPOSSIBLE_TRAVEL,
	VIGIL_RULE_NEW_MERCHANT,
	VIGIL_RULE_NEW_CATEGORY,
	VIGIL_RULE_UNUSUAL_HOUR,
	VIGIL_RULE_CATEGORY_AMOUNT,
	VIGIL_RULE_QUIET_HOUR,
	VIGIL_RULE_MODEL,
	VIGIL_RULE_MERCHANT_RISK,
	VIGIL_RULE_NKINDS
} VigilRuleKind;

#define VIGIL_RULE_MAX_PARAMS 4

typedef struct VigilRule
{
	VigilRuleKind kind;
	double		weight;			/* in [0, 1] */
	double		param[VIGIL_RULE_MAX_PARAMS];	/* by position, see rules.c */
} VigilRule;

/*
 * What a watch's events can carry beyond a time and an amount, for
 * vigil_rules_plan: a rule that needs what a watch's events never carry
 * cannot fire for it.
 */
#define VIGIL_INPUT_LOCATION 0x1
#define VIGIL_INPUT_MERCHANT 0x2
#define VIGIL_INPUT_CATEGORY 0x4
#define VIGIL_INPUT_MODEL 0x8		/* the watch has an active model */
#define VIGIL_INPUT_ALL \
	(VIGIL_INPUT_LOCATION | VIGIL_INPUT_MERCHANT | VIGIL_INPUT_CATEGORY | \
	 VIGIL_INPUT_MODEL)

/* Why a rule fired, for the alert's explanation. */
typedef struct VigilFinding
{
	double		severity;		/* in (0, 1] when fired */
	double		observed;		/* e.g. the z-score, the speed in km/h */
	double		expected;		/* e.g. the threshold, the card's mean */
	char		why[160];		/* one sentence, for people */
} VigilFinding;

/*
 * Conventions (details in rules.c): vigil_rule_kind_name and
 * vigil_rule_param_name return NULL for an invalid kind or index;
 * vigil_rule_nparams returns 0 for an invalid kind.  The messages
 * vigil_rule_set_param and vigil_rule_check return through *why may live in
 * a static buffer that the next call of either overwrites: copy them (e.g.
 * into an ereport) before calling again.  vigil_rules_score never returns
 * NaN; a rule fires on no invalid event, with no invalid kind and against
 * no unsound profile (vigil_profile_sound).
 */
extern const char *vigil_rule_kind_name(VigilRuleKind kind);
extern bool vigil_rule_kind_from_name(const char *name, VigilRuleKind *kind);
extern void vigil_rule_defaults(VigilRule *r, VigilRuleKind kind);
extern int	vigil_rule_nparams(VigilRuleKind kind);
extern const char *vigil_rule_param_name(VigilRuleKind kind, int i);
extern bool vigil_rule_set_param(VigilRule *r, const char *name, double value,
								 const char **why);
extern bool vigil_rule_check(const VigilRule *r, const char **why);
extern double vigil_rules_score(const VigilRule *rules, int n,
								const VigilProfile *before, const VigilEvent *e,
								VigilFinding *findings);
extern int	vigil_rules_plan(const VigilRule *rules, int n, unsigned inputs,
							 int *order, double *rest);
extern double vigil_rules_decide(const VigilRule *rules, int n, const int *order,
								 int nplan, const double *rest, double threshold,
								 const VigilProfile *before, const VigilEvent *e,
								 VigilFinding *findings);
extern void vigil_rules_explain(const VigilRule *rules, int n,
								const VigilProfile *before, const VigilEvent *e,
								VigilFinding *findings);
extern double vigil_score_combine(double score, double weight, double severity);

#endif							/* VIGIL_RULES_H */
