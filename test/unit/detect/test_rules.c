/*
 * test_rules.c
 *		Unit tests for the detection rules and the score combination.
 */
#include <float.h>
#include <stdint.h>
#include <string.h>

#include "detect/core/geo.h"
#include "detect/core/rules.h"
#include "events.h"
#include "rule_eval.h"
#include "unit.h"

#define T0 1700000000.0			/* 2023-11-14 22:13:20 UTC */
#define DAY0 1699920000.0		/* 2023-11-14 00:00:00 UTC */
#define MINUTE 60.0
#define HOUR 3600.0
#define DAY 86400.0

#define N_RANDOM 3000
#define N_GARBAGE 50000

#define LONDON_LAT 51.5074
#define LONDON_LON -0.1278
#define NEW_YORK_LAT 40.7128
#define NEW_YORK_LON -74.0060

/* Fold an event into p, failing the case if it is refused. */
static void
fold(VigilProfile *p, VigilEvent e)
{
	CHECK(vigil_profile_fold(p, &e));
}

/* The rule of this kind with default weight and parameters. */
static VigilRule
rule(VigilRuleKind kind)
{
	VigilRule	r;

	vigil_rule_defaults(&r, kind);
	return r;
}

/* Set a parameter, failing the case if it is refused. */
static void
set(VigilRule *r, const char *name, double value)
{
	const char *why = NULL;

	if (!vigil_rule_set_param(r, name, value, &why))
	{
		printf("#   set %s = %g: %s\n", name, value, why);
		unit_case_failed = 1;
	}
}

/*
 * Severity of r for e against p, checking the finding's invariants on the
 * way: severity in [0, 1] and never NaN, the finding agrees with the result,
 * an explanation exactly when fired, NUL-terminated.
 */
static double
eval(const VigilRule *r, const VigilProfile *p, const VigilEvent *e,
	 VigilFinding *out)
{
	VigilFinding f;
	double		sev;

	memset(&f, 0x5a, sizeof(f));
	sev = rule_eval(r, p, e, &f);
	CHECK(sev >= 0.0 && sev <= 1.0);
	CHECK(f.severity == sev);
	CHECK(memchr(f.why, '\0', sizeof(f.why)) != NULL);
	if (sev > 0.0)
	{
		CHECK(f.why[0] != '\0');
		CHECK(!isnan(f.observed) && !isnan(f.expected));
	}
	else
		CHECK(f.why[0] == '\0');
	/* the same without a finding */
	CHECK(rule_eval(r, p, e, NULL) == sev);
	if (out != NULL)
		*out = f;
	return sev;
}

/* Severity of the default rule of a kind, for e against p. */
static double
eval_default(VigilRuleKind kind, const VigilProfile *p, VigilEvent e)
{
	VigilRule	r = rule(kind);

	return eval(&r, p, &e, NULL);
}

/*
 * n events alternating 90 and 110 at the same instant, so the decayed mean
 * is 100 and the standard deviation 10 exactly as in the all-time summary.
 */
static void
history_100_10(VigilProfile *p, int n)
{
	int			i;

	vigil_profile_init(p);
	for (i = 0; i < n; i++)
		fold(p, event(T0, i % 2 == 0 ? 90.0 : 110.0));
}

/* Names and parameter lists are the documented ones. */
static void
kind_names(void)
{
	static const char *const names[VIGIL_RULE_NKINDS] = {
		"amount_zscore", "amount_ratio", "amount_limit", "velocity",
		"window_sum", "card_testing", "impossible_travel", "new_merchant",
		"new_category", "unusual_hour", "category_amount", "quiet_hour",
		"model", "merchant_risk"
	};
	VigilRuleKind kind;
	int			k;

	for (k = 0; k < VIGIL_RULE_NKINDS; k++)
	{
		CHECK(strcmp(vigil_rule_kind_name((VigilRuleKind) k), names[k]) == 0);
		CHECK(vigil_rule_kind_from_name(names[k], &kind) && kind == (VigilRuleKind) k);
		CHECK(vigil_rule_nparams((VigilRuleKind) k) >= 1);
		CHECK(vigil_rule_nparams((VigilRuleKind) k) <= VIGIL_RULE_MAX_PARAMS);
	}
	CHECK(!vigil_rule_kind_from_name("Amount_Zscore", &kind));
	CHECK(!vigil_rule_kind_from_name("", &kind));
	CHECK(!vigil_rule_kind_from_name(NULL, &kind));
	CHECK(vigil_rule_kind_name(VIGIL_RULE_NKINDS) == NULL);
	CHECK(vigil_rule_kind_name((VigilRuleKind) -1) == NULL);
	CHECK(vigil_rule_nparams(VIGIL_RULE_NKINDS) == 0);

	CHECK(vigil_rule_nparams(VIGIL_RULE_AMOUNT_ZSCORE) == 4);
	CHECK(strcmp(vigil_rule_param_name(VIGIL_RULE_AMOUNT_ZSCORE, 0), "threshold") == 0);
	CHECK(strcmp(vigil_rule_param_name(VIGIL_RULE_AMOUNT_ZSCORE, 1), "min_history") == 0);
	CHECK(strcmp(vigil_rule_param_name(VIGIL_RULE_AMOUNT_ZSCORE, 2), "saturate") == 0);
	CHECK(strcmp(vigil_rule_param_name(VIGIL_RULE_AMOUNT_ZSCORE, 3), "min_stddev_ratio") == 0);
	CHECK(vigil_rule_param_name(VIGIL_RULE_AMOUNT_ZSCORE, 4) == NULL);
	CHECK(vigil_rule_param_name(VIGIL_RULE_AMOUNT_ZSCORE, -1) == NULL);
	CHECK(strcmp(vigil_rule_param_name(VIGIL_RULE_VELOCITY, 1), "max_count") == 0);
	CHECK(strcmp(vigil_rule_param_name(VIGIL_RULE_CARD_TESTING, 2), "min_count") == 0);
	CHECK(strcmp(vigil_rule_param_name(VIGIL_RULE_IMPOSSIBLE_TRAVEL, 0), "max_speed_kmh") == 0);
	CHECK(strcmp(vigil_rule_param_name(VIGIL_RULE_UNUSUAL_HOUR, 1), "max_share") == 0);
	CHECK(vigil_rule_nparams(VIGIL_RULE_NEW_CATEGORY) == 1);
	CHECK(vigil_rule_param_name(VIGIL_RULE_NKINDS, 0) == NULL);
}

/* Defaults are the documented ones and pass the check. */
static void
defaults(void)
{
	VigilRule	r;
	const char *why;
	int			k;

	for (k = 0; k < VIGIL_RULE_NKINDS; k++)
	{
		r = rule((VigilRuleKind) k);
		CHECK(vigil_rule_check(&r, &why) && why == NULL);
		CHECK(r.weight > 0.0 && r.weight <= 1.0);
	}
	r = rule(VIGIL_RULE_AMOUNT_ZSCORE);
	CHECK(r.weight == 0.5 && r.param[0] == 3.5 && r.param[1] == 10.0 &&
		  r.param[2] == 80.0 && r.param[3] == 0.05);
	r = rule(VIGIL_RULE_AMOUNT_RATIO);
	CHECK(r.weight == 0.75 && r.param[0] == 2.0 && r.param[1] == 5.0 &&
		  r.param[2] == 20.0 && r.param[3] == 0.0);
	r = rule(VIGIL_RULE_AMOUNT_LIMIT);
	CHECK(r.weight == 1.0 && r.param[0] == 10000.0);
	r = rule(VIGIL_RULE_VELOCITY);
	CHECK(r.param[0] == 3600.0 && r.param[1] == 5.0);
	r = rule(VIGIL_RULE_WINDOW_SUM);
	CHECK(r.param[0] == 86400.0 && r.param[1] == 5000.0);
	r = rule(VIGIL_RULE_CARD_TESTING);
	CHECK(r.param[0] == 900.0 && r.param[1] == 5.0 && r.param[2] == 3.0);
	r = rule(VIGIL_RULE_IMPOSSIBLE_TRAVEL);
	CHECK(r.weight == 0.5 && r.param[0] == 900.0 && r.param[1] == 100.0);
	r = rule(VIGIL_RULE_NEW_MERCHANT);
	CHECK(r.weight == 0.2 && r.param[0] == 10.0);
	r = rule(VIGIL_RULE_NEW_CATEGORY);
	CHECK(r.weight == 0.1 && r.param[0] == 10.0);
	r = rule(VIGIL_RULE_UNUSUAL_HOUR);
	CHECK(r.weight == 0.3 && r.param[0] == 20.0 && r.param[1] == 0.02);
	r = rule(VIGIL_RULE_CATEGORY_AMOUNT);
	CHECK(r.weight == 0.5 && r.param[0] == 3.0 && r.param[1] == 10.0 && r.param[2] == 50.0);
	r = rule(VIGIL_RULE_QUIET_HOUR);
	CHECK(r.weight == 0.1 && r.param[0] == 0.015);
	r = rule(VIGIL_RULE_MODEL);
	CHECK(r.weight == 1.0 && r.param[0] == 0.05);
	r = rule(VIGIL_RULE_MERCHANT_RISK);
	CHECK(r.weight == 0.75 && r.param[0] == 7.0 && r.param[1] == 0.2 && r.param[2] == 2.0);
	/* no three light rules alert together (new merchant, unusual hour, and either other) */
	CHECK(vigil_score_combine(vigil_score_combine(vigil_score_combine(0.0, 0.2, 1.0), 0.1, 1.0),
							  0.3, 1.0) < 0.5);
}

/* set_param sets by name and explains what it refuses. */
static void
set_param(void)
{
	VigilRule	r = rule(VIGIL_RULE_AMOUNT_ZSCORE),
				before;
	const char *why = NULL;

	CHECK(vigil_rule_set_param(&r, "threshold", 4.5, &why) && why == NULL);
	CHECK(r.param[0] == 4.5);
	CHECK(vigil_rule_set_param(&r, "min_stddev_ratio", 0.0, &why));
	CHECK(r.param[3] == 0.0);

	before = r;
	CHECK(!vigil_rule_set_param(&r, "foo", 1.0, &why));
	CHECK(why != NULL && strcmp(why, "unknown parameter \"foo\" for rule kind amount_zscore "
								"(expected one of: threshold, min_history, saturate, min_stddev_ratio)") == 0);
	CHECK(!vigil_rule_set_param(&r, "weight", 0.5, &why));
	CHECK(strstr(why, "\"weight\"") != NULL);
	CHECK(!vigil_rule_set_param(&r, "Threshold", 1.0, &why));
	CHECK(!vigil_rule_set_param(&r, NULL, 1.0, &why) && why != NULL);

	CHECK(!vigil_rule_set_param(&r, "threshold", 0.0, &why));
	CHECK(strstr(why, "\"threshold\"") != NULL && strstr(why, "(0, infinity)") != NULL);
	CHECK(!vigil_rule_set_param(&r, "threshold", -1.0, &why));
	CHECK(!vigil_rule_set_param(&r, "threshold", NAN, &why));
	CHECK(!vigil_rule_set_param(&r, "threshold", INFINITY, &why));
	CHECK(!vigil_rule_set_param(&r, "min_history", 1.0, &why));
	CHECK(strstr(why, "\"min_history\"") != NULL && strstr(why, "[2, infinity)") != NULL);
	CHECK(!vigil_rule_set_param(&r, "min_history", 10.5, &why));
	CHECK(strstr(why, "whole number") != NULL);
	CHECK(!vigil_rule_set_param(&r, "min_stddev_ratio", -0.01, &why));
	CHECK(memcmp(&r, &before, sizeof(r)) == 0);

	r = rule(VIGIL_RULE_VELOCITY);
	CHECK(vigil_rule_set_param(&r, "max_count", 1.0, &why));
	CHECK(vigil_rule_set_param(&r, "max_count", VIGIL_RING_CAP - 1, &why));
	CHECK(!vigil_rule_set_param(&r, "max_count", VIGIL_RING_CAP, &why));
	CHECK(strstr(why, "\"max_count\"") != NULL && strstr(why, "[1, 15]") != NULL);
	CHECK(!vigil_rule_set_param(&r, "max_count", 0.0, &why));
	CHECK(!vigil_rule_set_param(&r, "max_count", 2.5, &why));
	CHECK(!vigil_rule_set_param(&r, "window_seconds", 0.0, &why));
	CHECK(!vigil_rule_set_param(&r, "threshold", 1.0, &why));
	CHECK(strstr(why, "rule kind velocity (expected one of: window_seconds, max_count)") != NULL);

	r = rule(VIGIL_RULE_UNUSUAL_HOUR);
	CHECK(!vigil_rule_set_param(&r, "max_share", 1.0, &why));
	CHECK(strstr(why, "\"max_share\"") != NULL && strstr(why, "(0, 1)") != NULL);
	CHECK(!vigil_rule_set_param(&r, "max_share", 0.0, &why));
	CHECK(vigil_rule_set_param(&r, "max_share", 0.5, &why));

	r = rule(VIGIL_RULE_NEW_MERCHANT);
	CHECK(vigil_rule_set_param(&r, "min_history", 0.0, &why));
	CHECK(!vigil_rule_set_param(&r, "min_history", -1.0, &why));

	r = rule(VIGIL_RULE_CARD_TESTING);
	CHECK(!vigil_rule_set_param(&r, "min_count", 1.0, &why));
	CHECK(vigil_rule_set_param(&r, "min_count", 2.0, &why));

	r.kind = VIGIL_RULE_NKINDS;
	CHECK(!vigil_rule_set_param(&r, "min_count", 2.0, &why) && why != NULL);
}

/* check catches what set_param cannot see: inconsistent pairs, weights. */
static void
check_consistency(void)
{
	VigilRule	r = rule(VIGIL_RULE_AMOUNT_ZSCORE);
	const char *why = NULL;

	set(&r, "saturate", 3.0);	/* equal to the threshold */
	CHECK(!vigil_rule_check(&r, &why));
	CHECK(why != NULL && strstr(why, "saturate") != NULL && strstr(why, "threshold") != NULL);
	set(&r, "saturate", 2.0);
	CHECK(!vigil_rule_check(&r, &why));
	set(&r, "threshold", 1.5);	/* any order of setting works */
	CHECK(vigil_rule_check(&r, &why) && why == NULL);

	r = rule(VIGIL_RULE_AMOUNT_RATIO);
	set(&r, "ratio", 22.0);
	CHECK(!vigil_rule_check(&r, &why) && strstr(why, "\"ratio\"") != NULL);
	set(&r, "saturate", 30.0);
	CHECK(vigil_rule_check(&r, &why));

	r = rule(VIGIL_RULE_VELOCITY);
	r.weight = 1.5;
	CHECK(!vigil_rule_check(&r, &why) && strstr(why, "weight") != NULL);
	r.weight = NAN;
	CHECK(!vigil_rule_check(&r, &why));
	r.weight = 0.0;
	CHECK(vigil_rule_check(&r, &why));
	r.param[1] = 100.0;			/* set behind set_param's back */
	CHECK(!vigil_rule_check(&r, &why) && strstr(why, "max_count") != NULL);

	r.kind = (VigilRuleKind) 42;
	CHECK(!vigil_rule_check(&r, &why) && why != NULL);
}

/* z-score: fires just above the threshold, not at or below it. */
static void
zscore_boundary(void)
{
	VigilProfile p;
	VigilRule	r = rule(VIGIL_RULE_AMOUNT_ZSCORE);
	VigilFinding f;
	VigilEvent	e;

	set(&r, "threshold", 3.0);
	set(&r, "saturate", 6.0);
	history_100_10(&p, 20);
	CHECK_CLOSE(vigil_decay_mean(&p.recent_amount), 100.0, 1e-14);
	CHECK_CLOSE(sqrt(vigil_decay_variance(&p.recent_amount)), 10.0, 1e-14);

	e = event(T0 + HOUR, 129.99);
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	e.amount = 130.01;
	CHECK_CLOSE(eval(&r, &p, &e, &f), 0.5 + 0.5 * 0.001 / 3.0, 1e-9);
	CHECK_CLOSE(f.observed, 3.001, 1e-9);
	CHECK(f.expected == 3.0);
	e.amount = 145.0;
	CHECK_CLOSE(eval(&r, &p, &e, &f), 0.75, 1e-12);
	CHECK(strcmp(f.why, "amount 145.00 is 4.5 standard deviations above the card's recent mean 100.00") == 0);
	e.amount = 160.0;
	CHECK_CLOSE(eval(&r, &p, &e, NULL), 1.0, 1e-12);
	e.amount = 1e6;
	CHECK(eval(&r, &p, &e, NULL) == 1.0);

	/* far below the mean is not this rule's business */
	e.amount = -1e6;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	e.amount = 0.0;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
}

/* Amount rules never fire before min_history prior transactions. */
static void
amount_rules_need_history(void)
{
	VigilProfile p;
	VigilEvent	e = event(T0 + HOUR, 5000.0);
	VigilRule	z = rule(VIGIL_RULE_AMOUNT_ZSCORE),
				q = rule(VIGIL_RULE_AMOUNT_RATIO);
	int			n;

	vigil_profile_init(&p);
	for (n = 0; n < 10; n++)
	{
		/* the first 9 cannot fire the z-score, the first 4 not the ratio */
		CHECK(eval(&z, &p, &e, NULL) == 0.0);
		CHECK((eval(&q, &p, &e, NULL) > 0.0) == (n >= 5));
		fold(&p, event(T0, n % 2 == 0 ? 90.0 : 110.0));
	}
	CHECK(eval(&z, &p, &e, NULL) == 1.0);

	/* a new card's first transaction fires nothing under the defaults */
	vigil_profile_init(&p);
	e = event(T0, 4999.0);
	e.has_merchant = e.has_category = true;
	e.merchant_hash = 1;
	e.category_hash = 2;
	for (n = 0; n < VIGIL_RULE_NKINDS; n++)
		CHECK(eval_default((VigilRuleKind) n, &p, e) == 0.0);
	/* nor its second, at three times the first */
	fold(&p, e);
	e.t += MINUTE;
	e.amount = 4999.0 * 3.0;
	CHECK(eval_default(VIGIL_RULE_AMOUNT_ZSCORE, &p, e) == 0.0);
	CHECK(eval_default(VIGIL_RULE_AMOUNT_RATIO, &p, e) == 0.0);
}

/* A card that always spends the same, or nothing, gives no NaN or Inf. */
static void
zero_variance(void)
{
	VigilProfile p;
	VigilRule	z = rule(VIGIL_RULE_AMOUNT_ZSCORE);
	VigilFinding f;
	VigilEvent	e;
	int			i,
				k;

	set(&z, "threshold", 3.0);
	vigil_profile_init(&p);
	for (i = 0; i < 30; i++)
		fold(&p, event(T0 + i * DAY, 10.0));
	CHECK(vigil_decay_variance(&p.recent_amount) == 0.0);

	/* stddev floors at 5% of the mean, 0.50: z = 3 at 11.50 */
	e = event(T0 + 31 * DAY, 10.0);
	CHECK(eval(&z, &p, &e, NULL) == 0.0);
	e.amount = 10.01;
	CHECK(eval(&z, &p, &e, NULL) == 0.0);
	e.amount = 11.49;
	CHECK(eval(&z, &p, &e, NULL) == 0.0);
	e.amount = 11.51;
	CHECK(eval(&z, &p, &e, &f) > 0.5);
	CHECK(isfinite(f.observed) && f.observed < 3.1);

	/* without the ratio floor the cent floor remains: z = 4 at 10.04 */
	set(&z, "min_stddev_ratio", 0.0);
	e.amount = 10.04;
	CHECK(eval(&z, &p, &e, &f) > 0.5);
	CHECK_CLOSE(f.observed, 4.0, 1e-6);
	CHECK(isfinite(f.observed));

	/* every default rule, every amount, on a constant and a zero card */
	for (k = 0; k < 2; k++)
	{
		if (k == 1)
		{
			vigil_profile_init(&p);
			for (i = 0; i < 30; i++)
				fold(&p, event(T0 + i * MINUTE, 0.0));
		}
		for (i = 0; i < VIGIL_RULE_NKINDS; i++)
		{
			double		amounts[] = {0.0, 1e-300, 0.01, 10.0, 11.0, -5.0, FLT_MAX};
			int			j;

			for (j = 0; j < (int) (sizeof(amounts) / sizeof(amounts[0])); j++)
			{
				VigilRule	r = rule((VigilRuleKind) i);

				e = event(T0 + 40 * DAY, amounts[j]);
				(void) eval(&r, &p, &e, &f);
				CHECK(!isnan(f.severity));
			}
		}
	}

	/* zero mean: the ratio is skipped, the z-score uses the cent floor */
	e = event(T0 + HOUR, 0.05);
	CHECK(eval_default(VIGIL_RULE_AMOUNT_RATIO, &p, e) == 0.0);
	CHECK(eval_default(VIGIL_RULE_AMOUNT_ZSCORE, &p, e) > 0.5);
}

/* Ratio to the recent mean. */
static void
ratio_boundary(void)
{
	VigilProfile p;
	VigilRule	r = rule(VIGIL_RULE_AMOUNT_RATIO);
	VigilFinding f;
	VigilEvent	e;
	int			i;

	set(&r, "ratio", 3.0);
	set(&r, "saturate", 10.0);
	history_100_10(&p, 6);
	e = event(T0 + HOUR, 299.99);
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	e.amount = 300.01;
	CHECK(eval(&r, &p, &e, &f) > 0.5 && f.severity < 0.5001);
	CHECK(f.expected == 3.0);
	e.amount = 650.0;
	CHECK_CLOSE(eval(&r, &p, &e, &f), 0.75, 1e-12);
	CHECK(strcmp(f.why, "amount 650.00 is 6.5 times the card's recent mean 100.00") == 0);
	e.amount = 1000.0;
	CHECK_CLOSE(eval(&r, &p, &e, NULL), 1.0, 1e-12);

	/* a refund-heavy card with a negative mean never fires */
	vigil_profile_init(&p);
	for (i = 0; i < 10; i++)
		fold(&p, event(T0, -50.0));
	e.amount = 1e6;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
}

/* The static ceiling. */
static void
limit_boundary(void)
{
	VigilProfile p;
	VigilRule	r = rule(VIGIL_RULE_AMOUNT_LIMIT);
	VigilFinding f;
	VigilEvent	e;

	vigil_profile_init(&p);
	e = event(T0, 10000.0);
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	e.amount = 10000.01;
	CHECK(eval(&r, &p, &e, &f) > 0.5 && f.severity < 0.5001);
	CHECK(strcmp(f.why, "amount 10000.01 exceeds the limit 10000.00") == 0);
	e.amount = 15000.0;
	CHECK_CLOSE(eval(&r, &p, &e, NULL), 0.75, 1e-12);
	e.amount = 20000.0;
	CHECK(eval(&r, &p, &e, NULL) == 1.0);
	e.amount = FLT_MAX;
	CHECK(eval(&r, &p, &e, NULL) == 1.0);
}

/* Velocity counts the prior events in the window plus this one. */
static void
velocity_counts(void)
{
	VigilProfile p;
	VigilRule	r = rule(VIGIL_RULE_VELOCITY);
	VigilFinding f;
	VigilEvent	e;
	int			i;

	set(&r, "max_count", 8.0);
	vigil_profile_init(&p);
	fold(&p, event(T0 - 2 * HOUR, 1.0));	/* outside the window */
	for (i = 0; i < 7; i++)
		fold(&p, event(T0 + i * MINUTE, 1.0));
	e = event(T0 + 10 * MINUTE, 1.0);
	CHECK(eval(&r, &p, &e, NULL) == 0.0);	/* 8: not more than 8 */
	fold(&p, event(T0 + 8 * MINUTE, 1.0));
	CHECK_CLOSE(eval(&r, &p, &e, &f), 0.5 + 0.5 / 8.0, 1e-12);	/* 9 */
	CHECK(f.observed == 9.0 && f.expected == 8.0);
	CHECK(strcmp(f.why, "9 transactions within 1 h, more than the 8 expected") == 0);

	/* window start is inclusive: T0 is exactly one hour before */
	e.t = T0 + HOUR;
	CHECK(eval(&r, &p, &e, NULL) > 0.0);
	e.t = T0 + HOUR + 1.0;		/* the event at T0 drops out: 8 */
	CHECK(eval(&r, &p, &e, NULL) == 0.0);

	/* a burst saturates severity at 2 * max_count and says "at least" */
	for (i = 0; i < 30; i++)
		fold(&p, event(T0 + 9 * MINUTE + i, 1.0));
	e.t = T0 + 10 * MINUTE;
	CHECK(eval(&r, &p, &e, &f) == 1.0);
	CHECK(f.observed == VIGIL_RING_CAP + 1);
	CHECK(strncmp(f.why, "at least 17 transactions within 1 h", 35) == 0);

	/* a shorter window */
	set(&r, "window_seconds", 15.0);
	set(&r, "max_count", 3.0);
	e.t = T0 + 9 * MINUTE + 29.0;	/* events at +14 .. +29 s of 9 min */
	CHECK(eval(&r, &p, &e, &f) == 1.0);
	CHECK(strstr(f.why, "within 15 s") != NULL);
	e.t = T0 + DAY;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
}

/* Window sum: prior amounts in the window plus this one. */
static void
window_sum(void)
{
	VigilProfile p;
	VigilRule	r = rule(VIGIL_RULE_WINDOW_SUM);
	VigilFinding f;
	VigilEvent	e;

	vigil_profile_init(&p);
	fold(&p, event(T0 - 2 * DAY, 4000.0));	/* outside */
	fold(&p, event(T0, 1500.0));
	fold(&p, event(T0 + HOUR, 2500.0));
	e = event(T0 + 2 * HOUR, 1000.0);
	CHECK(eval(&r, &p, &e, NULL) == 0.0);	/* exactly 5000 */
	e.amount = 1000.5;
	CHECK(eval(&r, &p, &e, &f) > 0.5 && f.severity < 0.5001);
	CHECK(f.observed == 5000.5 && f.expected == 5000.0);
	CHECK(strcmp(f.why, "total 5000.50 within 24 h exceeds 5000.00") == 0);
	e.amount = 6000.0;
	CHECK(eval(&r, &p, &e, NULL) == 1.0);
	/* a day later the first two have left the window */
	e = event(T0 + DAY + 30 * MINUTE, 2000.0);
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
}

/*
 * window_sum's severity computed the long way, from the ring's sum: what
 * the rule must give whether or not its bound let it skip the sum.
 */
static double
window_sum_reference(const VigilRule *r, const VigilProfile *p, const VigilEvent *e)
{
	double		max_sum = r->param[1];
	double		sum,
				x;

	if (!vigil_ring_sum_since(&p->recent, e->t - r->param[0], &sum))
		return 0.0;
	sum += e->amount;
	if (!(sum > max_sum))
		return 0.0;
	x = (sum - max_sum) / max_sum;
	return x < 1.0 ? 0.5 + 0.5 * x : 1.0;
}

/*
 * window_sum skips the sum when the ring's count times the largest amount
 * cannot exceed max_sum: it must agree with the sum exactly, at the edges
 * too, for amounts that floats round up (0.1), round down (1/3), repeat
 * (so the bound is the sum) or vary, and limits on either side of the sum
 * and of the bound, one ulp apart.
 */
static void
window_sum_bound_is_exact(void)
{
	static const double amounts[] = {0.1, 1.0 / 3.0, 99.99, 1e6 + 0.01, 7.0, 0.0};
	uint64_t	rng = 23;
	int			skipped = 0,
				fired = 0;

	for (int i = 0; i < N_RANDOM; i++)
	{
		VigilProfile p;
		VigilRule	r = rule(VIGIL_RULE_WINDOW_SUM);
		double		base = amounts[unit_bits64(&rng) % 6];
		bool		same = unit_uniform(&rng) < 0.5;
		int			n = 1 + (int) (unit_bits64(&rng) % 20);
		double		t = T0,
					sum,
					ceiling,
					limits[8];
		VigilEvent	e;

		vigil_profile_init(&p);
		for (int k = 0; k < n; k++)
		{
			fold(&p, event(t, same ? base : base * unit_uniform(&rng) * 2.0));
			/* mostly inside a day, sometimes not */
			t += unit_uniform(&rng) < 0.9 ? unit_uniform(&rng) * HOUR : DAY;
		}
		e = event(t, same ? base : base * unit_uniform(&rng) * 2.0);
		CHECK(vigil_ring_sum_since(&p.recent, e.t - DAY, &sum));
		ceiling = p.recent.count * (double) (float) p.amount.max;
		limits[0] = sum + e.amount;
		limits[1] = nextafter(limits[0], 0.0);
		limits[2] = nextafter(limits[0], INFINITY);
		limits[3] = ceiling + e.amount;
		limits[4] = nextafter(limits[3], 0.0);
		limits[5] = nextafter(limits[3], INFINITY);
		limits[6] = ceiling;
		limits[7] = (sum + e.amount) * (0.5 + unit_uniform(&rng));
		for (int k = 0; k < 8; k++)
		{
			double		got;

			if (!(limits[k] > 0.0))
				continue;
			set(&r, "max_sum", limits[k]);
			got = eval(&r, &p, &e, NULL);
			CHECK(got == window_sum_reference(&r, &p, &e));
			if (ceiling + e.amount <= limits[k])
				skipped++;
			if (got > 0.0)
				fired++;
		}
	}
	printf("# bound skipped the sum %d times; the rule fired %d times\n", skipped, fired);
	CHECK(skipped > 0 && fired > 0);
}

/* Card testing: bursts of small amounts. */
static void
card_testing(void)
{
	VigilProfile p;
	VigilRule	r = rule(VIGIL_RULE_CARD_TESTING);
	VigilFinding f;
	VigilEvent	e;
	int			i;

	set(&r, "min_count", 4.0);
	vigil_profile_init(&p);
	fold(&p, event(T0 - HOUR, 1.0));	/* small, but outside 15 min */
	fold(&p, event(T0, 1.0));
	fold(&p, event(T0 + MINUTE, 80.0));	/* not small */
	fold(&p, event(T0 + 2 * MINUTE, 5.0));	/* exactly small_amount */
	e = event(T0 + 3 * MINUTE, 0.5);
	CHECK(eval(&r, &p, &e, NULL) == 0.0);	/* 3 < 4 */
	fold(&p, event(T0 + 2 * MINUTE + 30, 2.0));
	CHECK(eval(&r, &p, &e, &f) == 0.5);	/* 4: fires at min_count */
	CHECK(f.observed == 4.0 && f.expected == 4.0);
	CHECK(strstr(f.why, "4 transactions of at most 5.00 within 15 min") != NULL);
	fold(&p, event(T0 + 2 * MINUTE + 40, 2.0));
	CHECK(eval(&r, &p, &e, NULL) == 0.625);	/* 5 */

	/* the big purchase after the probes is not itself card testing */
	e.amount = 5.01;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);

	for (i = 0; i < 10; i++)
		fold(&p, event(T0 + 3 * MINUTE + i, 0.1));
	e.amount = 0.1;
	CHECK(eval(&r, &p, &e, NULL) == 1.0);
	e.t = T0 + DAY;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
}

/* Impossible travel: London to New York. */
static void
impossible_travel(void)
{
	VigilProfile p;
	VigilRule	r = rule(VIGIL_RULE_IMPOSSIBLE_TRAVEL);
	VigilFinding f;
	VigilEvent	e;
	double		km;

	vigil_profile_init(&p);
	e = located(T0, 10.0, NEW_YORK_LAT, NEW_YORK_LON);
	CHECK(eval(&r, &p, &e, NULL) == 0.0);	/* no last location yet */
	fold(&p, event(T0 - HOUR, 1.0));
	CHECK(eval(&r, &p, &e, NULL) == 0.0);	/* still none */
	fold(&p, located(T0, 10.0, LONDON_LAT, LONDON_LON));
	CHECK(vigil_geo_distance_km(LONDON_LAT, LONDON_LON, NEW_YORK_LAT,
								NEW_YORK_LON, &km));
	CHECK(km > 5500.0 && km < 5650.0);

	e = located(T0 + HOUR, 10.0, NEW_YORK_LAT, NEW_YORK_LON);
	CHECK(eval(&r, &p, &e, &f) == 1.0);
	CHECK_CLOSE(f.observed, km, 1e-12);
	CHECK(f.expected == 900.0);
	CHECK(strstr(f.why, "5,5") == f.why);
	CHECK(strstr(f.why, " km from the last transaction in 1.0 h: ") != NULL);
	CHECK(strstr(f.why, " km/h") != NULL);

	e.t = T0 + 8 * HOUR;		/* 697 km/h: an ordinary flight */
	CHECK(eval(&r, &p, &e, NULL) == 0.0);

	/* just below and just above the speed limit */
	e.t = T0 + km * 3600.0 / 899.0;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	e.t = T0 + km * 3600.0 / 901.0;
	CHECK(eval(&r, &p, &e, &f) > 0.5 && f.severity < 0.501);

	/* the same instant: infinite speed, full severity, no NaN */
	e.t = T0;
	CHECK(eval(&r, &p, &e, &f) == 1.0);
	CHECK(isinf(f.observed));
	CHECK(strstr(f.why, "at the same time") != NULL);

	/* before the last location (out of order): no verdict */
	e.t = T0 - MINUTE;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);

	/* no location on the event */
	e = event(T0 + MINUTE, 10.0);
	CHECK(eval(&r, &p, &e, NULL) == 0.0);

	/* fast but short: 50 km in 1 min is below min_distance_km */
	e = located(T0 + MINUTE, 10.0, LONDON_LAT + 50.0 / 111.2, LONDON_LON);
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	set(&r, "min_distance_km", 40.0);
	CHECK(eval(&r, &p, &e, &f) == 1.0);
	CHECK(strstr(f.why, "50 km from the last transaction in 1 min") == f.why);
}

/* New merchant and new category, after enough history. */
static void
new_merchant_category(void)
{
	VigilProfile p;
	VigilRule	m = rule(VIGIL_RULE_NEW_MERCHANT),
				c = rule(VIGIL_RULE_NEW_CATEGORY);
	VigilFinding f;
	VigilEvent	e;
	int			i;

	vigil_profile_init(&p);
	for (i = 0; i < 10; i++)
	{
		e = event(T0 + i * HOUR, 20.0);
		e.has_merchant = e.has_category = true;
		e.merchant_hash = vigil_hash64("grocer", 6);
		e.category_hash = vigil_hash64("5411", 4);
		if (i == 9)
		{
			/* 9 prior: not enough history yet */
			e.merchant_hash = vigil_hash64("casino", 6);
			e.category_hash = vigil_hash64("7995", 4);
			CHECK(eval(&m, &p, &e, NULL) == 0.0);
			CHECK(eval(&c, &p, &e, NULL) == 0.0);
			e.merchant_hash = vigil_hash64("grocer", 6);
			e.category_hash = vigil_hash64("5411", 4);
		}
		fold(&p, e);
	}

	e = event(T0 + DAY, 20.0);
	CHECK(eval(&m, &p, &e, NULL) == 0.0);	/* no merchant given */
	e.has_merchant = e.has_category = true;
	e.merchant_hash = vigil_hash64("grocer", 6);
	e.category_hash = vigil_hash64("5411", 4);
	CHECK(eval(&m, &p, &e, NULL) == 0.0);
	CHECK(eval(&c, &p, &e, NULL) == 0.0);
	e.merchant_hash = vigil_hash64("casino", 6);
	CHECK(eval(&m, &p, &e, &f) == 1.0);
	CHECK(strcmp(f.why, "new merchant for this card (1 known recently, 10 prior transactions)") == 0);
	CHECK(eval(&c, &p, &e, NULL) == 0.0);
	e.category_hash = vigil_hash64("7995", 4);
	CHECK(eval(&c, &p, &e, &f) == 1.0);
	CHECK(strstr(f.why, "new category") == f.why);

	/* min_history 0: even a new card's first merchant is new */
	vigil_profile_init(&p);
	set(&m, "min_history", 0.0);
	CHECK(eval(&m, &p, &e, NULL) == 1.0);
}

/* Unusual hour, including the boundary of max_share. */
static void
unusual_hour(void)
{
	VigilProfile p;
	VigilRule	r = rule(VIGIL_RULE_UNUSUAL_HOUR);
	VigilFinding f;
	VigilEvent	e;
	double		share;
	int			i;

	/* 19 then 40 days of purchases at 14:xx UTC */
	vigil_profile_init(&p);
	for (i = 0; i < 40; i++)
	{
		if (i == 19)
		{
			e = event(DAY0 + 19 * DAY + 3 * HOUR, 20.0);
			CHECK(eval(&r, &p, &e, NULL) == 0.0);	/* too little history */
		}
		fold(&p, event(DAY0 + i * DAY + 14 * HOUR + 10 * MINUTE, 20.0));
	}

	e = event(DAY0 + 40 * DAY + 3 * HOUR + 5 * MINUTE, 20.0);
	CHECK(vigil_hourhist_prob(&p.hours, e.t, 3, VIGIL_HOUR_HALF_LIFE_S, &share));
	CHECK(share > 0.01 && share < 0.02);
	CHECK_CLOSE(eval(&r, &p, &e, &f), 0.5 + 0.5 * (1.0 - share / 0.02), 1e-12);
	CHECK(f.observed == share && f.expected == 0.02);
	CHECK(strstr(f.why, "transaction at 03:00-03:59 UTC") == f.why);

	e.t = DAY0 + 40 * DAY + 14 * HOUR;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);

	/* strictly below max_share fires, at it does not */
	e.t = DAY0 + 40 * DAY + 3 * HOUR + 5 * MINUTE;
	set(&r, "max_share", share);
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	set(&r, "max_share", share * (1.0 + 1e-9));
	CHECK(eval(&r, &p, &e, &f) > 0.5 && f.severity < 0.5001);
}

/*
 * Prequential scoring: evaluation never changes the profile, so scoring an
 * event and then folding it gives the same as scoring against a copy.
 */
static void
eval_does_not_mutate(void)
{
	uint64_t	rng = 5;
	VigilProfile p,
				copy;
	double		t = T0;
	int			i,
				k;

	vigil_profile_init(&p);
	for (i = 0; i < N_RANDOM; i++)
	{
		VigilEvent	e = located(t, floor(unit_uniform(&rng) * 30000.0) / 100.0,
								unit_uniform(&rng) * 120.0 - 60.0,
								unit_uniform(&rng) * 360.0 - 180.0);

		e.has_merchant = true;
		e.merchant_hash = unit_bits64(&rng) % 40 << 48;
		memcpy(&copy, &p, sizeof(p));
		for (k = 0; k < VIGIL_RULE_NKINDS; k++)
		{
			VigilRule	r = rule((VigilRuleKind) k);
			VigilFinding f1,
						f2;
			double		s1 = rule_eval(&r, &p, &e, &f1);
			double		s2 = rule_eval(&r, &copy, &e, &f2);

			CHECK(s1 == s2);
			CHECK(memcmp(&f1, &f2, sizeof(f1)) == 0);
		}
		CHECK(memcmp(&copy, &p, sizeof(p)) == 0);
		fold(&p, e);
		t += unit_uniform(&rng) * 4.0 * HOUR;
	}
}

/* Random profiles and events: every result is a number in [0, 1]. */
static void
random_evals(void)
{
	uint64_t	rng = 11;
	VigilProfile p;
	double		t = T0;
	int			i,
				k,
				fired[VIGIL_RULE_NKINDS] = {0};

	vigil_profile_init(&p);
	for (i = 0; i < N_RANDOM; i++)
	{
		double		u = unit_uniform(&rng);
		VigilEvent	e = event(t, u < 0.3 ? unit_uniform(&rng) * 5.0 :
							  u < 0.95 ? unit_uniform(&rng) * 200.0 :
							  unit_uniform(&rng) * 20000.0);

		if (unit_uniform(&rng) < 0.7)
		{
			e.has_location = true;
			e.lat = unit_uniform(&rng) < 0.9 ? 48.0 : unit_uniform(&rng) * 180.0 - 90.0;
			e.lon = unit_uniform(&rng) < 0.9 ? 2.0 : unit_uniform(&rng) * 360.0 - 180.0;
		}
		e.has_merchant = e.has_category = unit_uniform(&rng) < 0.9;
		e.merchant_hash = unit_bits64(&rng) % 50 << 48;
		e.category_hash = unit_bits64(&rng) % 20 << 48;
		for (k = 0; k < VIGIL_RULE_NKINDS; k++)
			if (eval_default((VigilRuleKind) k, &p, e) > 0.0)
				fired[k]++;
		fold(&p, e);
		/* bursts, ordinary gaps, long pauses, and some late events */
		u = unit_uniform(&rng);
		t += u < 0.45 ? unit_uniform(&rng) * 60.0 :
			u < 0.9 ? unit_uniform(&rng) * 6.0 * HOUR :
			u < 0.95 ? unit_uniform(&rng) * 30.0 * DAY : -unit_uniform(&rng) * HOUR;
	}
	for (k = 0; k < VIGIL_RULE_NKINDS; k++)
	{
		printf("# %s fired %d times in %d events\n",
			   vigil_rule_kind_name((VigilRuleKind) k), fired[k], N_RANDOM);
		CHECK(fired[k] < N_RANDOM);
	}
	CHECK(fired[VIGIL_RULE_AMOUNT_ZSCORE] > 0);
	CHECK(fired[VIGIL_RULE_VELOCITY] > 0);
	CHECK(fired[VIGIL_RULE_IMPOSSIBLE_TRAVEL] > 0);
	CHECK(fired[VIGIL_RULE_NEW_MERCHANT] > 0);
}

/* Garbage profiles and rules: no crash, no NaN, severity in [0, 1]. */
static void
garbage_never_crashes(void)
{
	uint64_t	rng = 3;
	VigilProfile p;
	VigilRule	r;
	VigilFinding f;
	VigilEvent	e;
	unsigned char *bytes = (unsigned char *) &p;
	int			i,
				j;

	for (i = 0; i < N_GARBAGE; i++)
	{
		double		sev;

		for (j = 0; j < (int) sizeof(p); j++)
			bytes[j] = (unsigned char) unit_bits64(&rng);
		if (i % 2 == 0)
		{
			/* keep the indexes sound so the rules get to look inside */
			p.recent.head %= VIGIL_RING_CAP;
			p.recent.count %= VIGIL_RING_CAP + 1;
			p.merchants.count %= VIGIL_SEENSET_CAP + 1;
			p.categories.count %= VIGIL_SEENSET_CAP + 1;
		}
		r = rule((VigilRuleKind) (i % VIGIL_RULE_NKINDS));
		if (i % 3 == 0)
			memcpy(r.param, bytes + i % 64, sizeof(r.param));
		e = located(T0, (double) (int32_t) unit_bits64(&rng) / 100.0,
					unit_uniform(&rng) * 180.0 - 90.0, unit_uniform(&rng) * 360.0 - 180.0);
		e.has_merchant = e.has_category = true;
		e.merchant_hash = unit_bits64(&rng);
		memcpy(&e.t, bytes + 8, sizeof(double));	/* often invalid */
		if (i % 5 == 0)
			e.t = T0;
		sev = rule_eval(&r, &p, &e, &f);
		CHECK(sev >= 0.0 && sev <= 1.0);
		CHECK(f.severity == sev);
		CHECK(memchr(f.why, '\0', sizeof(f.why)) != NULL);
	}
}

/*
 * The i'th event of a card's varied history: every 10 minutes or so, now
 * and then a large amount or a journey to New York, one of 40 merchants.
 */
static VigilEvent
varied_event(int i, uint64_t *rng)
{
	double		t = T0 + i * 600.0 + unit_uniform(rng) * 300.0;
	VigilEvent	e = located(t, i % 97 == 0 ? 5000.0 : 20.0 + unit_uniform(rng) * 60.0,
							i % 89 == 0 ? NEW_YORK_LAT : LONDON_LAT,
							i % 89 == 0 ? NEW_YORK_LON : LONDON_LON);

	e.has_merchant = true;
	e.merchant_hash = unit_bits64(rng) % 40;
	return e;
}

/*
 * vigil_rules_score, detection's one-call path, agrees exactly with
 * evaluating each rule alone and combining: same score, same findings for
 * the rules that fired, severity 0 for the rest.  Its sentences are empty
 * until vigil_rules_explain writes them, the same as each rule's own.
 */
static void
score_all_matches_one_by_one(void)
{
	uint64_t	rng = 11;
	VigilRule	rules[VIGIL_RULE_NKINDS];
	VigilFinding all[VIGIL_RULE_NKINDS];
	VigilProfile p;
	int			fired = 0;

	for (int k = 0; k < VIGIL_RULE_NKINDS; k++)
		rules[k] = rule((VigilRuleKind) k);
	vigil_profile_init(&p);
	for (int i = 0; i < 3000; i++)
	{
		VigilEvent	e = varied_event(i, &rng);
		double		one_by_one = 0.0;
		double		score;

		score = vigil_rules_score(rules, VIGIL_RULE_NKINDS, &p, &e, all);
		for (int k = 0; k < VIGIL_RULE_NKINDS; k++)
			CHECK(all[k].why[0] == '\0');
		vigil_rules_explain(rules, VIGIL_RULE_NKINDS, &p, &e, all);
		for (int k = 0; k < VIGIL_RULE_NKINDS; k++)
		{
			VigilFinding f;
			double		sev = rule_eval(&rules[k], &p, &e, &f);

			one_by_one = vigil_score_combine(one_by_one, rules[k].weight, sev);
			CHECK(all[k].severity == sev);
			if (sev > 0.0)
			{
				fired++;
				CHECK(all[k].observed == f.observed || (isnan(all[k].observed) && isnan(f.observed)));
				CHECK(all[k].expected == f.expected);
				CHECK(all[k].why[0] != '\0' && strcmp(all[k].why, f.why) == 0);
			}
		}
		CHECK(score == one_by_one);
		fold(&p, e);
	}
	/* the data makes rules fire, or the comparison proved little */
	CHECK(fired > 50);
}

/*
 * vigil_rules_decide, detection's path, alerts exactly when
 * vigil_rules_score reaches the threshold, and then gives the same score
 * and the same severities; below the threshold it may leave rules
 * unevaluated, and it does: a light rule planned last is skipped when
 * nothing before it fired.  Checked over rule sets with random weights
 * and thresholds, among them scores right at the threshold.
 */
static void
decide_agrees_with_score(void)
{
	uint64_t	rng = 23;
	VigilRule	rules[VIGIL_RULE_NKINDS];
	VigilFinding all[VIGIL_RULE_NKINDS];
	VigilFinding some[VIGIL_RULE_NKINDS];
	int			order[VIGIL_RULE_NKINDS];
	double		rest[VIGIL_RULE_NKINDS + 1];
	VigilProfile p;
	int			alerts = 0,
				quiet = 0,
				skipped = 0;

	for (int round = 0; round < 80; round++)
	{
		/* round 0: the defaults, at the default threshold */
		double		threshold = round == 0 ? 0.5 : unit_uniform(&rng);

		/* half the rounds: a watch whose events lack some of the inputs */
		unsigned	inputs = round % 2 == 0 ? VIGIL_INPUT_ALL : (unsigned) (round / 2) % 16;
		int			nplan;

		for (int k = 0; k < VIGIL_RULE_NKINDS; k++)
		{
			rules[k] = rule((VigilRuleKind) k);
			if (round > 0)
				rules[k].weight = unit_uniform(&rng) < 0.3 ? 1.0 : unit_uniform(&rng);
		}
		nplan = vigil_rules_plan(rules, VIGIL_RULE_NKINDS, inputs, order, rest);
		/* new_merchant and merchant_risk need a merchant */
		CHECK(nplan == VIGIL_RULE_NKINDS - !(inputs & VIGIL_INPUT_LOCATION) -
			  2 * !(inputs & VIGIL_INPUT_MERCHANT) - !(inputs & VIGIL_INPUT_CATEGORY) -
			  !(inputs & VIGIL_INPUT_MODEL));
		CHECK(rest[nplan] == 1.0);
		for (int k = 0; k < nplan; k++)
			CHECK(rest[k] <= rest[k + 1]);

		vigil_profile_init(&p);
		for (int i = 0; i < 400; i++)
		{
			VigilEvent	e = varied_event(i, &rng);
			double		score,
						decided;

			/* such a watch's events never carry them */
			e.has_location &= (inputs & VIGIL_INPUT_LOCATION) != 0;
			e.has_merchant &= (inputs & VIGIL_INPUT_MERCHANT) != 0;
			e.has_category &= (inputs & VIGIL_INPUT_CATEGORY) != 0;
			e.has_model = (inputs & VIGIL_INPUT_MODEL) != 0;
			e.model_probability = unit_uniform(&rng);
			e.has_merchant_risk = i % 3 != 0;
			for (int w = 0; w < VIGIL_MERCHANT_WINDOWS; w++)
			{
				e.merchant_rows[w] = (double) (i % 40) * (w + 1);
				e.merchant_fraud[w] = floor(e.merchant_rows[w] * unit_uniform(&rng) * 0.5);
			}

			score = vigil_rules_score(rules, VIGIL_RULE_NKINDS, &p, &e, all);
			/* now and then a threshold the score sits right on */
			if (i % 50 == 49 && score > 0.0)
				threshold = score;
			decided = vigil_rules_decide(rules, VIGIL_RULE_NKINDS, order, nplan, rest,
										 threshold, &p, &e, some);
			CHECK((decided >= threshold) == (score >= threshold));
			if (score >= threshold)
			{
				alerts++;
				CHECK(decided == score);
				for (int k = 0; k < VIGIL_RULE_NKINDS; k++)
					CHECK(some[k].severity == all[k].severity);
			}
			else
			{
				quiet++;
				for (int k = 0; k < VIGIL_RULE_NKINDS; k++)
				{
					CHECK(some[k].severity == 0.0 || some[k].severity == all[k].severity);
					if (some[k].severity == 0.0 && all[k].severity > 0.0)
						skipped++;
				}
			}
			fold(&p, e);
		}
	}
	CHECK(alerts > 100 && quiet > 100);
	/* rules that fired were left unevaluated, or nothing was shown */
	CHECK(skipped > 100);
}

/*
 * rest[k] of a plan: what 1 - score the planned rules from the k-th on
 * leave at most, all at full severity: the product of their (1 - weight).
 */
static void
check_rest(const VigilRule *rules, const int *order, int nplan, const double *rest)
{
	for (int k = 0; k < nplan; k++)
	{
		double		left = 1.0;

		for (int j = nplan - 1; j >= k; j--)
			left *= 1.0 - rules[order[j]].weight;
		CHECK_CLOSE(rest[k], left, 1e-15);
	}
}

/*
 * The plan of the default rules evaluates the heavy rules first and leaves
 * unusual_hour, the costliest light rule, for last, where it can be
 * skipped; rules a watch's events cannot fire are not evaluated at all.
 */
static void
plan_of_defaults(void)
{
	VigilRule	rules[VIGIL_RULE_NKINDS];
	int			order[VIGIL_RULE_NKINDS];
	double		rest[VIGIL_RULE_NKINDS + 1];
	int			light = 0;

	for (int k = 0; k < VIGIL_RULE_NKINDS; k++)
		rules[k] = rule((VigilRuleKind) k);
	CHECK(vigil_rules_plan(rules, VIGIL_RULE_NKINDS, VIGIL_INPUT_ALL, order, rest) ==
		  VIGIL_RULE_NKINDS);
	CHECK(order[VIGIL_RULE_NKINDS - 1] == VIGIL_RULE_UNUSUAL_HOUR);
	for (int k = 0; k < VIGIL_RULE_NKINDS; k++)
	{
		if (rules[order[k]].weight < 0.5)
			light++;
		else
			CHECK(light == 0);	/* no heavy rule after a light one */
	}
	CHECK(light == 4);
	check_rest(rules, order, VIGIL_RULE_NKINDS, rest);

	/*
	 * A watch with only a merchant column and no model: the travel,
	 * category and model rules are left out, after the others, and so from
	 * the bound.
	 */
	CHECK(vigil_rules_plan(rules, VIGIL_RULE_NKINDS, VIGIL_INPUT_MERCHANT, order, rest) ==
		  VIGIL_RULE_NKINDS - 3);
	CHECK(order[VIGIL_RULE_NKINDS - 4] == VIGIL_RULE_UNUSUAL_HOUR);
	CHECK(order[VIGIL_RULE_NKINDS - 3] == VIGIL_RULE_MODEL);
	CHECK(order[VIGIL_RULE_NKINDS - 2] == VIGIL_RULE_IMPOSSIBLE_TRAVEL);
	CHECK(order[VIGIL_RULE_NKINDS - 1] == VIGIL_RULE_NEW_CATEGORY);
	CHECK(rest[VIGIL_RULE_NKINDS - 3] == 1.0);
	check_rest(rules, order, VIGIL_RULE_NKINDS - 3, rest);
}

/* Noisy-OR combination. */
static void
combine(void)
{
	double		s;

	CHECK(vigil_score_combine(0.0, 1.0, 0.5) == 0.5);
	CHECK(vigil_score_combine(0.5, 0.5, 1.0) == 0.75);
	CHECK(vigil_score_combine(0.3, 0.0, 1.0) == 0.3);
	CHECK(vigil_score_combine(0.3, 1.0, 0.0) == 0.3);
	CHECK(vigil_score_combine(0.0, 1.0, 1.0) == 1.0);
	CHECK(vigil_score_combine(0.9, 1.0, 1.0) == 1.0);

	/* new merchant and odd hour: neither alone reaches 0.5, together just (0.5125) */
	s = vigil_score_combine(0.0, 0.25, 1.0);
	CHECK(s == 0.25);
	s = vigil_score_combine(s, 0.35, 1.0);
	CHECK_CLOSE(s, 1.0 - 0.75 * 0.65, 1e-15);
	s = vigil_score_combine(s, 0.3, 1.0);
	CHECK_CLOSE(s, 1.0 - 0.75 * 0.65 * 0.7, 1e-15);
	CHECK(s > 0.5);

	/* order does not matter */
	CHECK_CLOSE(vigil_score_combine(vigil_score_combine(0.0, 0.3, 0.8), 0.6, 0.5),
				vigil_score_combine(vigil_score_combine(0.0, 0.6, 0.5), 0.3, 0.8),
				1e-15);

	/* out-of-range inputs are clamped; NaN counts as 0 */
	CHECK(vigil_score_combine(-1.0, 0.5, 0.5) == 0.25);
	CHECK(vigil_score_combine(0.0, 2.0, 1.0) == 1.0);
	CHECK(vigil_score_combine(2.0, 0.0, 0.0) == 1.0);
	CHECK(vigil_score_combine(NAN, 0.5, 1.0) == 0.5);
	CHECK(vigil_score_combine(0.5, NAN, 1.0) == 0.5);
	CHECK(vigil_score_combine(0.5, 1.0, NAN) == 0.5);
}

/* category_amount: the population's ln(amount) in the category, when it has enough rows. */
static void
category_amount(void)
{
	VigilProfile p;
	VigilRule	r = rule(VIGIL_RULE_CATEGORY_AMOUNT);
	VigilFinding f;
	VigilEvent	e = event(T0, 100.0);
	const char *why;

	vigil_profile_init(&p);		/* a new card: no history needed */
	CHECK(eval(&r, &p, &e, NULL) == 0.0);	/* no prior */
	e.prior_n = 1000;
	e.prior_log_mean = log(20.0);
	e.prior_log_sd = 0.5;
	/* z = ln(100 / 20) / 0.5 = 3.22 */
	CHECK_CLOSE(eval(&r, &p, &e, &f), 0.5 + 0.5 * (log(5.0) / 0.5 - 3.0) / 7.0, 1e-12);
	CHECK_CLOSE(f.observed, log(5.0) / 0.5, 1e-12);
	CHECK(strcmp(f.why, "amount 100.00 is 3.2 standard deviations above what cards pay in its category (typically 20.00)") == 0);
	e.amount = 20.0 * exp(1.5) * 0.999;	/* z just under 3 */
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	e.amount = 1e6;
	CHECK(eval(&r, &p, &e, NULL) == 1.0);
	e.prior_n = 49;				/* too few rows behind it */
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	e.prior_n = 1000;
	e.prior_log_sd = 0.0;		/* a constant category says nothing */
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	e.prior_log_sd = 0.5;
	e.amount = 0.0;				/* no logarithm */
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	e.amount = -5.0;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	/* saturate must lie above the threshold */
	set(&r, "threshold", 12.0);
	CHECK(!vigil_rule_check(&r, &why) && strstr(why, "category_amount") != NULL);
}

/* quiet_hour: the watch's share of rows in the local hour, when known. */
static void
quiet_hour(void)
{
	VigilProfile p;
	VigilRule	r = rule(VIGIL_RULE_QUIET_HOUR);
	VigilFinding f;
	VigilEvent	e = event(T0 + 3 * HOUR, 50.0);

	vigil_profile_init(&p);
	e.prior_hour_share = 0.0;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);	/* unknown */
	e.has_prior_hour = true;
	CHECK(eval(&r, &p, &e, &f) == 1.0);	/* an hour nobody pays in */
	e.prior_hour_share = 0.0075;
	CHECK_CLOSE(eval(&r, &p, &e, &f), 0.75, 1e-12);
	CHECK(strstr(f.why, "an hour with 0.8% of all the watch's transactions") != NULL);
	e.prior_hour_share = 0.015;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	e.prior_hour_share = NAN;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
}

/* model: the active model's probability, above the threshold; its own scale. */
static void
model(void)
{
	VigilProfile p;
	VigilRule	r = rule(VIGIL_RULE_MODEL);
	VigilFinding f;
	VigilEvent	e = event(T0, 50.0);
	const char *why;

	vigil_profile_init(&p);
	e.model_probability = 0.9;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);	/* no model */
	e.has_model = true;
	CHECK_CLOSE(eval(&r, &p, &e, &f), 0.5 + 0.5 * 0.85 / 0.95, 1e-12);
	CHECK(f.observed == 0.9 && f.expected == 0.05);
	CHECK(strstr(f.why, "fraud probability of 0.900, above 0.050") != NULL);
	e.model_probability = 0.05;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	/* at threshold 0.5 the severity is the probability itself */
	CHECK(vigil_rule_set_param(&r, "threshold", 0.5, &why));
	e.model_probability = 0.75;
	CHECK_CLOSE(eval(&r, &p, &e, NULL), 0.75, 1e-12);
	e.model_probability = 1.0;
	CHECK(eval(&r, &p, &e, NULL) == 1.0);
	/* a probability outside [0, 1] makes the event invalid: nothing fires */
	e.model_probability = 1.5;
	CHECK(!vigil_event_valid(&e, &why) && strstr(why, "model probability") != NULL);
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	e.model_probability = NAN;
	CHECK(!vigil_event_valid(&e, NULL));
	CHECK(!vigil_rule_set_param(&r, "threshold", 1.0, &why));
	CHECK(!vigil_rule_set_param(&r, "threshold", 0.0, &why));
}

/* merchant_risk: the share of the merchant's labelled rows that were fraud, in a window. */
static void
merchant_risk(void)
{
	VigilProfile p;
	VigilRule	r = rule(VIGIL_RULE_MERCHANT_RISK);
	VigilFinding f;
	VigilEvent	e = event(T0, 50.0);
	const char *why;

	vigil_profile_init(&p);
	e.merchant_rows[0] = 3;
	e.merchant_fraud[0] = 3;
	e.merchant_rows[1] = 10;
	e.merchant_fraud[1] = 6;
	e.merchant_rows[2] = 100;
	e.merchant_fraud[2] = 6;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);	/* no snapshot */
	e.has_merchant_risk = true;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);	/* no merchant */
	e.has_merchant = true;
	/* 7 days: 6 of 10, threshold 0.2, span 0.8 */
	CHECK_CLOSE(eval(&r, &p, &e, &f), 0.5 + 0.5 * 0.4 / 0.8, 1e-12);
	CHECK(f.observed == 0.6 && f.expected == 0.2);
	CHECK(strstr(f.why, "6 of the merchant's 10 labelled transactions in 7 days were fraud (60%)") != NULL);
	/* 30 days: 6% is below the threshold */
	CHECK(vigil_rule_set_param(&r, "window_days", 30, &why));
	CHECK(vigil_rule_check(&r, &why));
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	/* 1 day: 3 of 3, but fewer than min_fraud 4 */
	CHECK(vigil_rule_set_param(&r, "window_days", 1, &why));
	CHECK(vigil_rule_set_param(&r, "min_fraud", 4, &why));
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	CHECK(vigil_rule_set_param(&r, "min_fraud", 3, &why));
	CHECK(eval(&r, &p, &e, NULL) == 1.0);
	/* no labelled rows: nothing to judge by */
	e.merchant_rows[0] = 0;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
	/* windows other than 1, 7 and 30 days are refused, and never fire */
	CHECK(vigil_rule_set_param(&r, "window_days", 14, &why));
	CHECK(!vigil_rule_check(&r, &why) && strstr(why, "must be 1, 7 or 30") != NULL);
	e.merchant_rows[0] = 3;
	CHECK(eval(&r, &p, &e, NULL) == 0.0);
}

int
main(void)
{
	RUN(kind_names);
	RUN(defaults);
	RUN(set_param);
	RUN(check_consistency);
	RUN(zscore_boundary);
	RUN(amount_rules_need_history);
	RUN(zero_variance);
	RUN(ratio_boundary);
	RUN(limit_boundary);
	RUN(velocity_counts);
	RUN(window_sum);
	RUN(window_sum_bound_is_exact);
	RUN(card_testing);
	RUN(impossible_travel);
	RUN(new_merchant_category);
	RUN(unusual_hour);
	RUN(eval_does_not_mutate);
	RUN(random_evals);
	RUN(garbage_never_crashes);
	RUN(score_all_matches_one_by_one);
	RUN(decide_agrees_with_score);
	RUN(category_amount);
	RUN(quiet_hour);
	RUN(model);
	RUN(merchant_risk);
	RUN(plan_of_defaults);
	RUN(combine);
	return UNIT_DONE();
}
