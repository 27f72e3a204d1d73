/*
 * rules.c
 *		Detection rules: kinds, parameters, evaluation and score combination.
 *
 * Every rule looks at one event and the card's profile as it was before the
 * event (prequential scoring: the event never vouches for itself) and
 * returns a severity in [0, 1], 0 when it does not fire.  Rules with a
 * threshold share one severity scale:
 *
 *		severity = 0.5 + 0.5 * min(1, (observed - threshold) / span)
 *
 * when observed > threshold, so a rule is 0.5 just past its threshold and 1
 * at threshold + span (its saturation point).  With weight 1 such a rule
 * alone reaches the default alert threshold 0.5 of the noisy-OR in rules.h.
 *
 * The default parameters and weights were chosen against labelled data
 * (make eval; docs/evaluation.md): chosen on one generated fraud mix, checked
 * on another.  The amount rules saturate late so that the most extreme
 * amounts keep ranking above the merely unusual (saturated severities tie,
 * and ties at the top cost precision); the z-score and the ratio weigh less
 * than 1, so that a moderate anomaly needs a second rule to alert; of the
 * light rules (new merchant, new category, unusual hour, quiet hour) no
 * three alert together.  Comparisons are written so that NaN never fires, and every
 * division is guarded, so no rule produces NaN on any valid event and
 * profile.
 *
 * "min_history" parameters count the card's prior transactions (the
 * profile's amount.n).  Times are event times in seconds; hours of the day
 * are in the watch's time zone (VigilEvent.utc_offset_s).
 * The rules and their parameters (defaults in brackets):
 *
 * amount_zscore: threshold [3.5] > 0, min_history [10] >= 2, saturate [80] >
 *		threshold, min_stddev_ratio [0.05] >= 0.  With at least min_history
 *		prior transactions, z = (amount - mean) / stddev_eff over the
 *		decayed (recent) amount mean and standard deviation, where
 *		stddev_eff = max(stddev, min_stddev_ratio * |mean|, 0.01).  The
 *		floor matters for cards with steady spending: a card that always
 *		pays exactly 10.00 has stddev 0, and 10.01 would otherwise be
 *		infinitely unusual; with the floor a 5% (or one cent) change is one
 *		standard deviation.  Only amounts above the mean fire (z >
 *		threshold); span saturate - threshold.  Weight 0.5.
 *
 * amount_ratio: ratio [2] > 1, min_history [5] >= 1, saturate [20] > ratio.
 *		amount / (decayed mean) > ratio, for cards with a positive mean;
 *		span saturate - ratio.  Catches large jumps on cards whose history
 *		is too short or too spread out for the z-score.  Weight 0.75: alone,
 *		it alerts from 8 times the mean.
 *
 * amount_limit: limit [10000] > 0.  A static ceiling, whatever the history:
 *		amount > limit, span limit (severity 1 at twice the limit).
 *		Weight 1.
 *
 * velocity: window_seconds [3600] > 0, max_count [5] integer in
 *		[1, VIGIL_RING_CAP - 1].  count = prior events with time >= t -
 *		window_seconds, plus this one; fires when count > max_count, span
 *		max_count.  When the ring has lost events from the window the count
 *		is a lower bound, which is still sound for "more than".  max_count
 *		stays below the ring's capacity so that the rule can fire at all.
 *		Weight 1.
 *
 * window_sum: window_seconds [86400] > 0, max_sum [5000] > 0.  Sum of the
 *		prior amounts in the window plus this amount > max_sum, span
 *		max_sum.  A lower bound when the ring is saturated.  Weight 1.
 *
 * card_testing: window_seconds [900] > 0, small_amount [5] > 0, min_count
 *		[3] integer in [2, VIGIL_RING_CAP - 1].  Fraudsters check stolen
 *		card numbers with bursts of tiny purchases.  Only for an amount <=
 *		small_amount: count = prior events in the window with amount <=
 *		small_amount, plus this one; fires when count >= min_count, with
 *		severity 0.5 at min_count rising to 1 at 2 * min_count.  Weight 1.
 *
 * impossible_travel: max_speed_kmh [900] > 0, min_distance_km [100] >= 0.
 *		For a located event and a profile with a last location: the
 *		great-circle distance from the last location over the time since
 *		it; fires when distance >= min_distance_km and the speed exceeds
 *		max_speed_kmh (an airliner's cruising speed), span max_speed_kmh.
 *		The minimum distance ignores nearby places where geolocation noise
 *		over a few minutes would look fast.  An event older than the last
 *		location (out of order) does not fire; one at the same instant, far
 *		away, has infinite speed and severity 1.  Weight 0.5: merchant
 *		coordinates are not always where the card is, so alone it does
 *		not alert below full severity.
 *
 * new_merchant: min_history [10] >= 0, integer.  Severity 1 for an event
 *		with a merchant at a card with at least min_history prior
 *		transactions whose recent merchants (the last 32 distinct ones) do
 *		not include it.  A weak signal alone: weight 0.2.
 *
 * new_category: as new_merchant for merchant categories.  Weight 0.1.
 *
 * unusual_hour: min_history [20] >= 1, integer; max_share [0.02] in (0, 1).
 *		With at least min_history prior transactions, p is the smoothed
 *		share of the card's decayed activity in the event's hour of the day
 *		in the watch's time zone (hourhist.h); fires when p < max_share with severity 0.5 + 0.5 *
 *		(1 - p / max_share).  Because of the add-one smoothing p is at
 *		least 1 / (weight + 24), so the rule needs a decayed history of
 *		more than 1 / max_share - 24 events (26 by default) before it can
 *		fire.  Weight 0.3.
 *
 * category_amount: threshold [3] > 0, saturate [10] > threshold, min_count
 *		[50] integer >= 2.  The watch's population prior (vigil.priors,
 *		through VigilEvent.prior_*): z = (ln amount - mean) / stddev of
 *		ln(amount) over the cards' rows in the event's category (over all
 *		rows when the category has no prior), built from at least min_count
 *		rows; fires when z > threshold, span saturate - threshold.  Judges
 *		new cards, which have no history, and amounts by what their
 *		category costs: a flight is not a coffee.  Weight 0.5.
 *
 * quiet_hour: max_share [0.015] in (0, 1).  The watch's share of rows in
 *		the event's local hour (its prior); fires when it is below
 *		max_share, with severity 0.5 + 0.5 * (1 - share / max_share): the
 *		hours when the watch's cardholders sleep, whatever one card's
 *		history.  Weight 0.1.
 *
 * model: threshold [0.05] in (0, 1).  The probability of fraud that the
 *		watch's active model (vigil.activate_model, through
 *		VigilEvent.model_probability) gives the event; fires when it is above
 *		threshold, span 1 - threshold: alone, the model alerts at the
 *		default alert threshold from one chance in twenty.  Fraud is rare,
 *		so a model's probabilities are mostly small and the ones that
 *		matter for ranking are far below 0.5; below the threshold the rules
 *		alone rank the rows, and the default was chosen where the PR-AUC
 *		of rules and model together stops improving as it falls (make
 *		eval, on the classic data set; the subtle one, held out, agrees).
 *		Weight 1.  A watch without an active model never evaluates it.
 *
 * merchant_risk: window_days [7] (1, 7 or 30), threshold [0.2] in (0, 1),
 *		min_fraud [2] integer >= 1.  A common point of compromise: the share
 *		of the labelled rows at the event's merchant that were fraud in the
 *		window_days before its labels were known (vigil.refresh_merchant_risk,
 *		through VigilEvent.merchant_*); fires when at least min_fraud of them
 *		were fraud and the share is above threshold, span 1 - threshold.
 *		Catches fraud that no per-card statistic sees: ordinary cardholders
 *		paying ordinary amounts at a merchant whose terminal or database was
 *		compromised.  Weight 0.75.
 *
 * Messages returned through *why by vigil_rule_set_param and
 * vigil_rule_check may live in a static buffer, valid until the next call
 * of either (PostgreSQL backends are single-threaded).
 */
#include "detect/core/rules.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/core/geo.h"

/* Smallest standard deviation amount_zscore divides by, in currency units. */
#define MIN_STDDEV 0.01

/* What values one parameter accepts, and its default. */
typedef struct ParamSpec
{
	const char *name;
	double		def;
	double		lo;				/* lower bound */
	double		hi;				/* upper bound; INFINITY for none */
	bool		lo_open;		/* lo itself is excluded */
	bool		hi_open;		/* hi itself is excluded */
	bool		integer;		/* must be a whole number */
} ParamSpec;

/* One rule kind: its name, default weight and parameters in order. */
typedef struct KindSpec
{
	const char *name;
	double		weight;
	int			nparams;
	ParamSpec	param[VIGIL_RULE_MAX_PARAMS];
} KindSpec;

/* Parameter positions, as in the table below. */
#define ZS_THRESHOLD 0
#define ZS_MIN_HISTORY 1
#define ZS_SATURATE 2
#define ZS_MIN_STDDEV_RATIO 3
#define AR_RATIO 0
#define AR_MIN_HISTORY 1
#define AR_SATURATE 2
#define AL_LIMIT 0
#define VE_WINDOW 0
#define VE_MAX_COUNT 1
#define WS_WINDOW 0
#define WS_MAX_SUM 1
#define CT_WINDOW 0
#define CT_SMALL_AMOUNT 1
#define CT_MIN_COUNT 2
#define IT_MAX_SPEED 0
#define IT_MIN_DISTANCE 1
#define NS_MIN_HISTORY 0
#define UH_MIN_HISTORY 0
#define UH_MAX_SHARE 1
#define CA_THRESHOLD 0
#define CA_SATURATE 1
#define CA_MIN_COUNT 2
#define QH_MAX_SHARE 0
#define MO_THRESHOLD 0
#define MR_WINDOW_DAYS 0
#define MR_THRESHOLD 1
#define MR_MIN_FRAUD 2

/* Shorthands for the table: x > lo, x >= lo, integers in [lo, hi]. */
#define ABOVE(n, d, lo) {n, d, lo, INFINITY, true, true, false}
#define AT_LEAST(n, d, lo) {n, d, lo, INFINITY, false, true, false}
#define COUNT(n, d, lo, hi) {n, d, lo, hi, false, false, true}

static const KindSpec kinds[VIGIL_RULE_NKINDS] = {
	[VIGIL_RULE_AMOUNT_ZSCORE] = {"amount_zscore", 0.5, 4, {
			ABOVE("threshold", 3.5, 0.0),
			COUNT("min_history", 10.0, 2.0, INFINITY),
			ABOVE("saturate", 80.0, 0.0),
			AT_LEAST("min_stddev_ratio", 0.05, 0.0)}},
	[VIGIL_RULE_AMOUNT_RATIO] = {"amount_ratio", 0.75, 3, {
			ABOVE("ratio", 2.0, 1.0),
			COUNT("min_history", 5.0, 1.0, INFINITY),
			ABOVE("saturate", 20.0, 1.0)}},
	[VIGIL_RULE_AMOUNT_LIMIT] = {"amount_limit", 1.0, 1, {
			ABOVE("limit", 10000.0, 0.0)}},
	[VIGIL_RULE_VELOCITY] = {"velocity", 1.0, 2, {
			ABOVE("window_seconds", 3600.0, 0.0),
			COUNT("max_count", 5.0, 1.0, VIGIL_RING_CAP - 1)}},
	[VIGIL_RULE_WINDOW_SUM] = {"window_sum", 1.0, 2, {
			ABOVE("window_seconds", 86400.0, 0.0),
			ABOVE("max_sum", 5000.0, 0.0)}},
	[VIGIL_RULE_CARD_TESTING] = {"card_testing", 1.0, 3, {
			ABOVE("window_seconds", 900.0, 0.0),
			ABOVE("small_amount", 5.0, 0.0),
			COUNT("min_count", 3.0, 2.0, VIGIL_RING_CAP - 1)}},
	[VIGIL_RULE_IMPOSSIBLE_TRAVEL] = {"impossible_travel", 0.5, 2, {
			ABOVE("max_speed_kmh", 900.0, 0.0),
			AT_LEAST("min_distance_km", 100.0, 0.0)}},
	[VIGIL_RULE_NEW_MERCHANT] = {"new_merchant", 0.2, 1, {
			COUNT("min_history", 10.0, 0.0, INFINITY)}},
	[VIGIL_RULE_NEW_CATEGORY] = {"new_category", 0.1, 1, {
			COUNT("min_history", 10.0, 0.0, INFINITY)}},
	[VIGIL_RULE_UNUSUAL_HOUR] = {"unusual_hour", 0.3, 2, {
			COUNT("min_history", 20.0, 1.0, INFINITY),
			{"max_share", 0.02, 0.0, 1.0, true, true, false}}},
	[VIGIL_RULE_CATEGORY_AMOUNT] = {"category_amount", 0.5, 3, {
			ABOVE("threshold", 3.0, 0.0),
			ABOVE("saturate", 10.0, 0.0),
			COUNT("min_count", 50.0, 2.0, INFINITY)}},
	[VIGIL_RULE_QUIET_HOUR] = {"quiet_hour", 0.1, 1, {
			{"max_share", 0.015, 0.0, 1.0, true, true, false}}},
	[VIGIL_RULE_MODEL] = {"model", 1.0, 1, {
			{"threshold", 0.05, 0.0, 1.0, true, true, false}}},
	[VIGIL_RULE_MERCHANT_RISK] = {"merchant_risk", 0.75, 3, {
			COUNT("window_days", 7.0, 1.0, 30.0),
			{"threshold", 0.2, 0.0, 1.0, true, true, false},
			COUNT("min_fraud", 2.0, 1.0, INFINITY)}},
};

/*
 * Inlining that the compiler must do where it can: eval_checked, and the
 * evaluations of the rules most watches run on every row, into the loops
 * over rules.  Called, they cost more than most of them compute.
 */
#ifdef __GNUC__
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* Room for the messages built for *why. */
static char why_buf[320];

/* Whether kind is one of the enum's rule kinds (it may come from outside). */
static bool
kind_valid(VigilRuleKind kind)
{
	return (int) kind >= 0 && (int) kind < VIGIL_RULE_NKINDS;
}

/* The snake_case name of a rule kind; NULL for a value outside the enum. */
const char *
vigil_rule_kind_name(VigilRuleKind kind)
{
	return kind_valid(kind) ? kinds[kind].name : NULL;
}

/* The rule kind with the given snake_case name; false if there is none. */
bool
vigil_rule_kind_from_name(const char *name, VigilRuleKind *kind)
{
	int			k;

	if (name == NULL)
		return false;
	for (k = 0; k < VIGIL_RULE_NKINDS; k++)
		if (strcmp(name, kinds[k].name) == 0)
		{
			*kind = (VigilRuleKind) k;
			return true;
		}
	return false;
}

/*
 * Make r a rule of the given kind with the default weight and parameters;
 * unused parameter slots are 0.  An invalid kind gives weight 0.
 */
void
vigil_rule_defaults(VigilRule *r, VigilRuleKind kind)
{
	int			i;

	memset(r, 0, sizeof(*r));
	r->kind = kind;
	if (!kind_valid(kind))
		return;
	r->weight = kinds[kind].weight;
	for (i = 0; i < kinds[kind].nparams; i++)
		r->param[i] = kinds[kind].param[i].def;
}

/* Number of parameters of a rule kind; 0 for an invalid kind. */
int
vigil_rule_nparams(VigilRuleKind kind)
{
	return kind_valid(kind) ? kinds[kind].nparams : 0;
}

/* Name of parameter i of a rule kind; NULL when there is no such one. */
const char *
vigil_rule_param_name(VigilRuleKind kind, int i)
{
	if (!kind_valid(kind) || i < 0 || i >= kinds[kind].nparams)
		return NULL;
	return kinds[kind].param[i].name;
}

/* Whether value is acceptable for the parameter ps, on its own. */
static bool
param_in_range(const ParamSpec *ps, double value)
{
	if (!isfinite(value))
		return false;
	if (ps->lo_open ? !(value > ps->lo) : !(value >= ps->lo))
		return false;
	if (ps->hi_open ? !(value < ps->hi) : !(value <= ps->hi))
		return false;
	return !ps->integer || floor(value) == value;
}

/* Explain in why_buf what values parameter ps of kind accepts. */
static const char *
range_message(VigilRuleKind kind, const ParamSpec *ps, double value)
{
	char		hi[32];

	if (isinf(ps->hi))
		snprintf(hi, sizeof(hi), "infinity");
	else
		snprintf(hi, sizeof(hi), "%g", ps->hi);
	snprintf(why_buf, sizeof(why_buf),
			 "parameter \"%s\" for rule kind %s must be %s in %c%g, %s%c, got %g",
			 ps->name, kinds[kind].name,
			 ps->integer ? "a whole number" : "a finite number",
			 ps->lo_open ? '(' : '[', ps->lo, hi,
			 ps->hi_open || isinf(ps->hi) ? ')' : ']', value);
	return why_buf;
}

/*
 * Set the parameter called name of r to value.  False, with r unchanged and
 * *why explaining, for an invalid kind, an unknown name or a value outside
 * the parameter's range.  Consistency between parameters is left to
 * vigil_rule_check, so they can be set in any order.
 */
bool
vigil_rule_set_param(VigilRule *r, const char *name, double value,
					 const char **why)
{
	const KindSpec *ks;
	size_t		len;
	int			i;

	*why = NULL;
	if (!kind_valid(r->kind))
	{
		*why = "unknown rule kind";
		return false;
	}
	ks = &kinds[r->kind];
	for (i = 0; i < ks->nparams; i++)
		if (name != NULL && strcmp(name, ks->param[i].name) == 0)
			break;

	if (i == ks->nparams)
	{
		snprintf(why_buf, sizeof(why_buf),
				 "unknown parameter \"%.64s\" for rule kind %s (expected one of: ",
				 name != NULL ? name : "", ks->name);
		for (i = 0; i < ks->nparams; i++)
		{
			len = strlen(why_buf);
			snprintf(why_buf + len, sizeof(why_buf) - len, "%s%s",
					 i > 0 ? ", " : "", ks->param[i].name);
		}
		len = strlen(why_buf);
		snprintf(why_buf + len, sizeof(why_buf) - len, ")");
		*why = why_buf;
		return false;
	}

	if (!param_in_range(&ks->param[i], value))
	{
		*why = range_message(r->kind, &ks->param[i], value);
		return false;
	}
	r->param[i] = value;
	return true;
}

/* The index of a window of merchant risk, or -1 for a length that is none. */
static int
merchant_window(double days)
{
	for (int w = 0; w < VIGIL_MERCHANT_WINDOWS; w++)
		if (days == vigil_merchant_window_days[w])
			return w;
	return -1;
}

/*
 * Whether r can be evaluated as intended: a known kind, a weight in [0, 1],
 * every parameter in its range and the parameters consistent with each
 * other.  On false *why names what is wrong.
 */
bool
vigil_rule_check(const VigilRule *r, const char **why)
{
	const KindSpec *ks;
	int			i;

	*why = NULL;
	if (!kind_valid(r->kind))
	{
		*why = "unknown rule kind";
		return false;
	}
	ks = &kinds[r->kind];
	if (!(r->weight >= 0.0 && r->weight <= 1.0))
	{
		snprintf(why_buf, sizeof(why_buf),
				 "the weight of a rule of kind %s must be between 0 and 1, got %g",
				 ks->name, r->weight);
		*why = why_buf;
		return false;
	}
	for (i = 0; i < ks->nparams; i++)
		if (!param_in_range(&ks->param[i], r->param[i]))
		{
			*why = range_message(r->kind, &ks->param[i], r->param[i]);
			return false;
		}

	switch (r->kind)
	{
		case VIGIL_RULE_AMOUNT_ZSCORE:
			if (!(r->param[ZS_SATURATE] > r->param[ZS_THRESHOLD]))
				*why = "parameter \"saturate\" for rule kind amount_zscore must be greater than \"threshold\"";
			break;
		case VIGIL_RULE_AMOUNT_RATIO:
			if (!(r->param[AR_SATURATE] > r->param[AR_RATIO]))
				*why = "parameter \"saturate\" for rule kind amount_ratio must be greater than \"ratio\"";
			break;
		case VIGIL_RULE_CATEGORY_AMOUNT:
			if (!(r->param[CA_SATURATE] > r->param[CA_THRESHOLD]))
				*why = "parameter \"saturate\" for rule kind category_amount must be greater than \"threshold\"";
			break;
		case VIGIL_RULE_MERCHANT_RISK:
			if (merchant_window(r->param[MR_WINDOW_DAYS]) < 0)
				*why = "parameter \"window_days\" for rule kind merchant_risk must be 1, 7 or 30";
			break;
		default:
			break;
	}
	return *why == NULL;
}

/*
 * Severity of observed against a threshold: 0 unless observed > threshold,
 * then 0.5 rising linearly to 1 at threshold + span.  NaN never fires; a
 * degenerate span (unchecked rule) saturates at once.
 */
static double
threshold_severity(double observed, double threshold, double span)
{
	double		x;

	if (!(observed > threshold))
		return 0.0;
	if (!(span > 0.0))
		return 1.0;
	x = (observed - threshold) / span;
	if (!(x < 1.0))
		return 1.0;				/* also when the division overflowed */
	return 0.5 + 0.5 * x;
}

/* A window length for people: "15 min", "24 h", "90 s". */
static void
format_window(double s, char *buf, size_t len)
{
	if (s >= 3600.0 && fmod(s, 3600.0) == 0.0)
		snprintf(buf, len, "%g h", s / 3600.0);
	else if (s >= 60.0 && fmod(s, 60.0) == 0.0)
		snprintf(buf, len, "%g min", s / 60.0);
	else
		snprintf(buf, len, "%g s", s);
}

/* An elapsed time for people: "0.5 h", "4 min", "30 s". */
static void
format_elapsed(double s, char *buf, size_t len)
{
	if (s >= 360.0)
		snprintf(buf, len, "%.1f h", s / 3600.0);
	else if (s >= 60.0)
		snprintf(buf, len, "%.0f min", s / 60.0);
	else
		snprintf(buf, len, "%.0f s", s);
}

/* A UTC offset as a zone: "UTC", "UTC+01:00", "UTC-05:30". */
static const char *
format_offset(int32_t offset_s, char *buf, size_t len)
{
	int32_t		m = abs(offset_s) / 60;

	if (offset_s == 0)
		return "UTC";
	snprintf(buf, len, "UTC%c%02d:%02d", offset_s < 0 ? '-' : '+', (int) (m / 60), (int) (m % 60));
	return buf;
}

/* A distance in whole km with thousands separators: "5,570". */
static void
format_km(double km, char *buf, size_t len)
{
	long		v = (long) floor(km + 0.5);		/* km <= half the equator */

	if (v >= 1000)
		snprintf(buf, len, "%ld,%03ld", v / 1000, v % 1000);
	else
		snprintf(buf, len, "%ld", v);
}

/*
 * The evaluations below compute numbers only: they run for every row, and
 * most rows alert on nothing.  The sentences of the findings are written by
 * describe(), for the rules that fired on rows that alert.  All but the
 * hour-of-day rule's (light, and often left out by vigil_rules_decide) are
 * inlined into the loops over rules.
 */

/* amount_zscore: see the top of the file. */
static ALWAYS_INLINE double
eval_zscore(const VigilRule *r, const VigilProfile *p, const VigilEvent *e,
			VigilFinding *f)
{
	double		mean = vigil_decay_mean(&p->recent_amount);
	double		var = vigil_decay_variance(&p->recent_amount);
	double		sd,
				floor_sd,
				z,
				sev;

	if ((double) p->amount.n < r->param[ZS_MIN_HISTORY] ||
		!isfinite(mean) || !isfinite(var))
		return 0.0;

	/* fmax without the call: mean and var are finite, so are these */
	sd = var > 0.0 ? sqrt(var) : 0.0;
	floor_sd = r->param[ZS_MIN_STDDEV_RATIO] * fabs(mean);
	if (!(floor_sd >= MIN_STDDEV))
		floor_sd = MIN_STDDEV;
	if (sd < floor_sd)
		sd = floor_sd;
	if (!isfinite(sd))
		return 0.0;
	z = (e->amount - mean) / sd;

	sev = threshold_severity(z, r->param[ZS_THRESHOLD],
							 r->param[ZS_SATURATE] - r->param[ZS_THRESHOLD]);
	if (sev > 0.0)
	{
		f->observed = z;
		f->expected = r->param[ZS_THRESHOLD];
	}
	return sev;
}

/* amount_ratio: see the top of the file. */
static ALWAYS_INLINE double
eval_ratio(const VigilRule *r, const VigilProfile *p, const VigilEvent *e,
		   VigilFinding *f)
{
	double		mean = vigil_decay_mean(&p->recent_amount);
	double		ratio,
				sev;

	if ((double) p->amount.n < r->param[AR_MIN_HISTORY] || !(mean > 0.0))
		return 0.0;

	ratio = e->amount / mean;	/* may be +Inf for a tiny mean: fires fully */
	sev = threshold_severity(ratio, r->param[AR_RATIO],
							 r->param[AR_SATURATE] - r->param[AR_RATIO]);
	if (sev > 0.0)
	{
		f->observed = ratio;
		f->expected = r->param[AR_RATIO];
	}
	return sev;
}

/* amount_limit: see the top of the file. */
static ALWAYS_INLINE double
eval_limit(const VigilRule *r, const VigilEvent *e, VigilFinding *f)
{
	double		limit = r->param[AL_LIMIT];
	double		sev = threshold_severity(e->amount, limit, limit);

	if (sev > 0.0)
	{
		f->observed = e->amount;
		f->expected = limit;
	}
	return sev;
}

/* velocity: see the top of the file. */
static ALWAYS_INLINE double
eval_velocity(const VigilRule *r, const VigilProfile *p, const VigilEvent *e,
			  VigilFinding *f)
{
	double		max_count = r->param[VE_MAX_COUNT];
	double		from = e->t - r->param[VE_WINDOW];
	int			prior,
				count;
	double		sev;
	bool		reached;

	/*
	 * The rule fires when the count exceeds max_count, that is when the
	 * window held at least floor(max_count) events before this one; whether
	 * it did is one comparison, which settles most rows without a count.
	 */
	if (max_count >= 0.0 && max_count <= VIGIL_RING_CAP &&
		vigil_ring_has_since(&p->recent, from, (int) max_count, &reached) &&
		!reached)
		return 0.0;
	if (!vigil_ring_count_since(&p->recent, from, &prior))
		return 0.0;
	count = prior + 1;
	sev = threshold_severity(count, max_count, max_count);
	if (sev > 0.0)
	{
		f->observed = count;
		f->expected = max_count;
	}
	return sev;
}

/* window_sum: see the top of the file. */
static ALWAYS_INLINE double
eval_window_sum(const VigilRule *r, const VigilProfile *p,
				const VigilEvent *e, VigilFinding *f)
{
	double		max_sum = r->param[WS_MAX_SUM];
	double		sum,
				sev;

	/*
	 * Without negative amounts, a window holds at most count amounts of at
	 * most M, the largest amount as the float the ring stores it (that none
	 * is larger is checked by vigil_profile_valid).  A double holds every
	 * k * M exactly (M has 24 bits, k at most 16), so each rounded partial
	 * sum stays at most k * M, and where count * M + amount does not exceed
	 * max_sum neither does the window's sum plus amount: the sum need not be
	 * taken.  That is the usual row of a card whose amounts are small beside
	 * the limit.  An empty profile's bound is NaN, which takes the sum.
	 */
	if (p->amount.min >= 0.0 &&
		p->recent.count * (double) (float) p->amount.max + e->amount <= max_sum)
		return 0.0;
	if (!vigil_ring_sum_since(&p->recent, e->t - r->param[WS_WINDOW], &sum))
		return 0.0;
	sum += e->amount;
	sev = threshold_severity(sum, max_sum, max_sum);
	if (sev > 0.0)
	{
		f->observed = sum;
		f->expected = max_sum;
	}
	return sev;
}

/* card_testing: see the top of the file. */
static ALWAYS_INLINE double
eval_card_testing(const VigilRule *r, const VigilProfile *p,
				  const VigilEvent *e, VigilFinding *f)
{
	double		small = r->param[CT_SMALL_AMOUNT];
	double		min_count = r->param[CT_MIN_COUNT];
	int			prior,
				count;

	if (!(e->amount <= small) ||
		!vigil_ring_count_small_since(&p->recent, e->t - r->param[CT_WINDOW],
									  small, &prior))
		return 0.0;
	count = prior + 1;
	if (!(count >= min_count))
		return 0.0;
	f->observed = count;
	f->expected = min_count;
	return min_count > 0.0 ?
		0.5 + 0.5 * fmin(1.0, (count - min_count) / min_count) : 1.0;
}

/*
 * The journey of impossible_travel, for a located event and a profile with
 * a last location: the distance in km from the last location and the time
 * since it.  False when there is none to time: no locations, an event older
 * than the last location (out of order), or a distance that cannot be
 * measured.
 */
static bool
journey(const VigilProfile *p, const VigilEvent *e, double *km, double *elapsed)
{
	if (!e->has_location || !(p->flags & VIGIL_PROFILE_HAS_LOCATION))
		return false;
	*elapsed = e->t - p->last_loc_t;
	if (!(*elapsed >= 0.0))
		return false;
	return vigil_geo_distance_km(p->last_lat, p->last_lon, e->lat, e->lon, km);
}

/* impossible_travel: see the top of the file. */
static ALWAYS_INLINE double
eval_travel(const VigilRule *r, const VigilProfile *p, const VigilEvent *e,
			VigilFinding *f)
{
	double		max_speed = r->param[IT_MAX_SPEED];
	double		km,
				elapsed,
				speed,
				sev;

	if (!journey(p, e, &km, &elapsed) ||
		!(km >= r->param[IT_MIN_DISTANCE]) ||
		!vigil_geo_speed_kmh(km, elapsed, &speed))
		return 0.0;

	sev = threshold_severity(speed, max_speed, max_speed);
	if (sev > 0.0)
	{
		f->observed = speed;
		f->expected = max_speed;
	}
	return sev;
}

/* new_merchant and new_category: see the top of the file. */
static ALWAYS_INLINE double
eval_new(const VigilRule *r, const VigilProfile *p, bool has,
		 uint64_t hash, const VigilSeenSet *seen, VigilFinding *f)
{
	if (!has || (double) p->amount.n < r->param[NS_MIN_HISTORY] ||
		vigil_seenset_contains(seen, hash))
		return 0.0;

	f->observed = 0.0;			/* times seen recently */
	f->expected = vigil_seenset_count(seen);	/* how many are known */
	return 1.0;
}

/* unusual_hour: see the top of the file. */
static double
eval_hour(const VigilRule *r, const VigilProfile *p, const VigilEvent *e,
		  VigilFinding *f)
{
	double		max_share = r->param[UH_MAX_SHARE];
	double		share;
	int			hour;

	if ((double) p->amount.n < r->param[UH_MIN_HISTORY] ||
		!vigil_hourhist_hour(e->t, e->utc_offset_s, &hour) ||
		!vigil_hourhist_prob(&p->hours, e->t, hour, VIGIL_HOUR_HALF_LIFE_S,
							 &share) ||
		!(share < max_share) || !(max_share > 0.0))
		return 0.0;

	f->observed = share;
	f->expected = max_share;
	return 0.5 + 0.5 * (1.0 - share / max_share);
}

/* category_amount: see the top of the file. */
static double
eval_category_amount(const VigilRule *r, const VigilEvent *e, VigilFinding *f)
{
	double		z;

	if (!(e->prior_n >= r->param[CA_MIN_COUNT]) || !(e->amount > 0.0) ||
		!(e->prior_log_sd > 0.0))
		return 0.0;
	z = (log(e->amount) - e->prior_log_mean) / e->prior_log_sd;
	f->observed = z;
	f->expected = r->param[CA_THRESHOLD];
	return threshold_severity(z, r->param[CA_THRESHOLD],
							  r->param[CA_SATURATE] - r->param[CA_THRESHOLD]);
}

/* quiet_hour: see the top of the file. */
static double
eval_quiet_hour(const VigilRule *r, const VigilEvent *e, VigilFinding *f)
{
	double		max_share = r->param[QH_MAX_SHARE];
	double		share = e->prior_hour_share;

	if (!e->has_prior_hour || !(share >= 0.0) || !(share < max_share) || !(max_share > 0.0))
		return 0.0;
	f->observed = share;
	f->expected = max_share;
	return 0.5 + 0.5 * (1.0 - share / max_share);
}

/* model: see the top of the file. */
static double
eval_model(const VigilRule *r, const VigilEvent *e, VigilFinding *f)
{
	double		threshold = r->param[MO_THRESHOLD];

	if (!e->has_model || !(e->model_probability > threshold))
		return 0.0;
	f->observed = e->model_probability;
	f->expected = threshold;
	return threshold_severity(e->model_probability, threshold, 1.0 - threshold);
}

/* merchant_risk: see the top of the file. */
static double
eval_merchant_risk(const VigilRule *r, const VigilEvent *e, VigilFinding *f)
{
	int			w = merchant_window(r->param[MR_WINDOW_DAYS]);
	double		share;

	if (w < 0 || !e->has_merchant || !e->has_merchant_risk ||
		!(e->merchant_fraud[w] >= r->param[MR_MIN_FRAUD]) || !(e->merchant_rows[w] > 0.0))
		return 0.0;
	share = e->merchant_fraud[w] / e->merchant_rows[w];
	f->observed = share;
	f->expected = r->param[MR_THRESHOLD];
	return threshold_severity(share, r->param[MR_THRESHOLD], 1.0 - r->param[MR_THRESHOLD]);
}

/*
 * Evaluate rule r for a valid event e against a sound profile; a rule of
 * no known kind scores 0.  Sets f->severity to the result; observed and
 * expected only when the rule fires.  Inlined into its callers' loops over
 * rules, which run for every row: a call per rule cost more than most
 * rules' evaluation.
 */
static ALWAYS_INLINE double
eval_checked(const VigilRule *r, const VigilProfile *before, const VigilEvent *e,
			 VigilFinding *f)
{
	double		sev = 0.0;

	switch (r->kind)
	{
		case VIGIL_RULE_AMOUNT_ZSCORE:
			sev = eval_zscore(r, before, e, f);
			break;
		case VIGIL_RULE_AMOUNT_RATIO:
			sev = eval_ratio(r, before, e, f);
			break;
		case VIGIL_RULE_AMOUNT_LIMIT:
			sev = eval_limit(r, e, f);
			break;
		case VIGIL_RULE_VELOCITY:
			sev = eval_velocity(r, before, e, f);
			break;
		case VIGIL_RULE_WINDOW_SUM:
			sev = eval_window_sum(r, before, e, f);
			break;
		case VIGIL_RULE_CARD_TESTING:
			sev = eval_card_testing(r, before, e, f);
			break;
		case VIGIL_RULE_IMPOSSIBLE_TRAVEL:
			sev = eval_travel(r, before, e, f);
			break;
		case VIGIL_RULE_NEW_MERCHANT:
			sev = eval_new(r, before, e->has_merchant, e->merchant_hash,
						   &before->merchants, f);
			break;
		case VIGIL_RULE_NEW_CATEGORY:
			sev = eval_new(r, before, e->has_category, e->category_hash,
						   &before->categories, f);
			break;
		case VIGIL_RULE_UNUSUAL_HOUR:
			sev = eval_hour(r, before, e, f);
			break;
		case VIGIL_RULE_CATEGORY_AMOUNT:
			sev = eval_category_amount(r, e, f);
			break;
		case VIGIL_RULE_QUIET_HOUR:
			sev = eval_quiet_hour(r, e, f);
			break;
		case VIGIL_RULE_MODEL:
			sev = eval_model(r, e, f);
			break;
		case VIGIL_RULE_MERCHANT_RISK:
			sev = eval_merchant_risk(r, e, f);
			break;
		case VIGIL_RULE_NKINDS:
			break;
	}

	/* belt and braces: a severity is a number in [0, 1] */
	if (!(sev > 0.0))
		sev = 0.0;
	else if (sev > 1.0)
		sev = 1.0;
	f->severity = sev;
	return sev;
}

/*
 * A window of seconds before event e for people, into buf; true when the
 * ring may have lost events of it (its count or sum is a lower bound).
 */
static bool
describe_window(double seconds, const VigilProfile *before, const VigilEvent *e,
				char *buf, size_t len)
{
	bool		saturated = false;

	(void) vigil_ring_saturated(&before->recent, e->t - seconds, &saturated);
	format_window(seconds, buf, len);
	return saturated;
}

/*
 * Write the sentence of finding f of rule r, which fired for event e
 * against before, from its observed and expected values and what the
 * profile says.
 */
static void
describe(const VigilRule *r, const VigilProfile *before, const VigilEvent *e,
		 VigilFinding *f)
{
	char		window[48];
	char		dist[32];
	char		elapsed_text[32];
	char		zone[16];
	bool		saturated;
	double		km,
				elapsed;
	int			hour;

	switch (r->kind)
	{
		case VIGIL_RULE_AMOUNT_ZSCORE:
			snprintf(f->why, sizeof(f->why),
					 "amount %.2f is %.1f standard deviations above the card's recent mean %.2f",
					 e->amount, f->observed, vigil_decay_mean(&before->recent_amount));
			break;
		case VIGIL_RULE_AMOUNT_RATIO:
			snprintf(f->why, sizeof(f->why),
					 "amount %.2f is %.1f times the card's recent mean %.2f",
					 e->amount, f->observed, vigil_decay_mean(&before->recent_amount));
			break;
		case VIGIL_RULE_AMOUNT_LIMIT:
			snprintf(f->why, sizeof(f->why),
					 "amount %.2f exceeds the limit %.2f", e->amount, f->expected);
			break;
		case VIGIL_RULE_VELOCITY:
			saturated = describe_window(r->param[VE_WINDOW], before, e, window, sizeof(window));
			snprintf(f->why, sizeof(f->why),
					 "%s%.0f transactions within %s, more than the %.0f expected",
					 saturated ? "at least " : "", f->observed, window, f->expected);
			break;
		case VIGIL_RULE_WINDOW_SUM:
			saturated = describe_window(r->param[WS_WINDOW], before, e, window, sizeof(window));
			snprintf(f->why, sizeof(f->why),
					 "%stotal %.2f within %s exceeds %.2f",
					 saturated ? "at least " : "", f->observed, window, f->expected);
			break;
		case VIGIL_RULE_CARD_TESTING:
			format_window(r->param[CT_WINDOW], window, sizeof(window));
			snprintf(f->why, sizeof(f->why),
					 "%.0f transactions of at most %.2f within %s, a card-testing pattern",
					 f->observed, r->param[CT_SMALL_AMOUNT], window);
			break;
		case VIGIL_RULE_IMPOSSIBLE_TRAVEL:
			if (!journey(before, e, &km, &elapsed))
				break;			/* it fired, so there is one */
			format_km(km, dist, sizeof(dist));
			if (elapsed > 0.0)
			{
				format_elapsed(elapsed, elapsed_text, sizeof(elapsed_text));
				snprintf(f->why, sizeof(f->why),
						 "%s km from the last transaction in %s: %.0f km/h",
						 dist, elapsed_text, f->observed);
			}
			else
				snprintf(f->why, sizeof(f->why),
						 "%s km from the last transaction at the same time", dist);
			break;
		case VIGIL_RULE_NEW_MERCHANT:
		case VIGIL_RULE_NEW_CATEGORY:
			snprintf(f->why, sizeof(f->why),
					 "new %s for this card (%.0f known recently, %llu prior transactions)",
					 r->kind == VIGIL_RULE_NEW_MERCHANT ? "merchant" : "category",
					 f->expected, (unsigned long long) before->amount.n);
			break;
		case VIGIL_RULE_UNUSUAL_HOUR:
			(void) vigil_hourhist_hour(e->t, e->utc_offset_s, &hour);
			snprintf(f->why, sizeof(f->why),
					 "transaction at %02d:00-%02d:59 %s, an hour with %.1f%% of the card's recent activity",
					 hour, hour, format_offset(e->utc_offset_s, zone, sizeof(zone)),
					 100.0 * f->observed);
			break;
		case VIGIL_RULE_CATEGORY_AMOUNT:
			snprintf(f->why, sizeof(f->why),
					 "amount %.2f is %.1f standard deviations above what cards pay in its category (typically %.2f)",
					 e->amount, f->observed, exp(e->prior_log_mean));
			break;
		case VIGIL_RULE_QUIET_HOUR:
			(void) vigil_hourhist_hour(e->t, e->utc_offset_s, &hour);
			snprintf(f->why, sizeof(f->why),
					 "transaction at %02d:00-%02d:59 %s, an hour with %.1f%% of all the watch's transactions",
					 hour, hour, format_offset(e->utc_offset_s, zone, sizeof(zone)),
					 100.0 * f->observed);
			break;
		case VIGIL_RULE_MODEL:
			snprintf(f->why, sizeof(f->why),
					 "the watch's model gives a fraud probability of %.3f, above %.3f",
					 f->observed, f->expected);
			break;
		case VIGIL_RULE_MERCHANT_RISK:
			{
				int			w = merchant_window(r->param[MR_WINDOW_DAYS]);

				snprintf(f->why, sizeof(f->why),
						 "%.0f of the merchant's %.0f labelled transactions in %d days were fraud (%.0f%%)",
						 e->merchant_fraud[w], e->merchant_rows[w], vigil_merchant_window_days[w],
						 100.0 * f->observed);
			}
			break;
		case VIGIL_RULE_NKINDS:
			break;
	}
}

/*
 * Score event e against n rules at once: the noisy-OR of the fired rules'
 * weighted severities.  findings[i].severity is rule i's severity (0 when it
 * did not fire); observed and expected are set only when it fired, and why
 * is left empty (vigil_rules_explain fills it).  The event and the profile
 * are checked once, not once per rule: this is detection's hot path.
 */
double
vigil_rules_score(const VigilRule *rules, int n, const VigilProfile *before,
				  const VigilEvent *e, VigilFinding *findings)
{
	bool		ok = vigil_event_valid(e, NULL) && vigil_profile_sound(before);
	double		score = 0.0;

	for (int i = 0; i < n; i++)
	{
		findings[i].severity = 0.0;
		findings[i].why[0] = '\0';
		if (!ok || !kind_valid(rules[i].kind))
			continue;
		if (eval_checked(&rules[i], before, e, &findings[i]) > 0.0)
			score = vigil_score_combine(score, rules[i].weight, findings[i].severity);
	}
	return score;
}

/* Clamp x into [0, 1]; NaN counts as 0. */
static double
clamp01(double x)
{
	return fmin(1.0, fmax(0.0, x));
}

/*
 * What evaluating a rule kind costs, in rough ranks, for vigil_rules_plan:
 * the hour-of-day rule decays a 24-bucket histogram (an exp2 and a sum),
 * the travel rule computes a great-circle distance, the window rules scan
 * the ring; the others are a few comparisons.
 */
static int
kind_cost(VigilRuleKind kind)
{
	switch (kind)
	{
		case VIGIL_RULE_UNUSUAL_HOUR:
		case VIGIL_RULE_IMPOSSIBLE_TRAVEL:
			return 3;
		case VIGIL_RULE_WINDOW_SUM:
		case VIGIL_RULE_VELOCITY:
		case VIGIL_RULE_CARD_TESTING:
			return 2;
		default:
			return 1;
	}
}

/* What a rule of this kind needs an event to carry to fire at all. */
static unsigned
kind_inputs(VigilRuleKind kind)
{
	switch (kind)
	{
		case VIGIL_RULE_IMPOSSIBLE_TRAVEL:
			return VIGIL_INPUT_LOCATION;
		case VIGIL_RULE_NEW_MERCHANT:
			return VIGIL_INPUT_MERCHANT;
		case VIGIL_RULE_NEW_CATEGORY:
			return VIGIL_INPUT_CATEGORY;
		case VIGIL_RULE_MODEL:
			return VIGIL_INPUT_MODEL;
		case VIGIL_RULE_MERCHANT_RISK:
			return VIGIL_INPUT_MERCHANT;
		default:
			return 0;
	}
}

/* Whether rule r can fire on events that carry only what inputs says. */
static bool
can_fire(const VigilRule *r, unsigned inputs)
{
	return (kind_inputs(r->kind) & ~inputs) == 0;
}

/* Whether rule a goes before rule b in a plan: see vigil_rules_plan. */
static bool
plan_before(const VigilRule *rules, unsigned inputs, int a, int b)
{
	bool		used_a = can_fire(&rules[a], inputs);
	bool		used_b = can_fire(&rules[b], inputs);
	bool		light_a = !(clamp01(rules[a].weight) >= 0.5);
	bool		light_b = !(clamp01(rules[b].weight) >= 0.5);

	if (used_a != used_b)
		return used_a;
	if (light_a != light_b)
		return light_b;
	if (kind_cost(rules[a].kind) != kind_cost(rules[b].kind))
		return kind_cost(rules[a].kind) < kind_cost(rules[b].kind);
	return a < b;
}

/*
 * Plan the order in which vigil_rules_decide evaluates n rules for events
 * that carry only what inputs (VIGIL_INPUT_* bits) says: order[0 .. n-1] is
 * a permutation of the rule indexes whose first entries, as many as this
 * returns, are the rules to evaluate; the others need what the events never
 * carry (a travel rule on a watch without a location), cannot fire, and are
 * never evaluated.  rest[k] (k in 0 .. that count) is the most that the
 * rules order[k ..] evaluated can leave of a score's complement,
 * prod (1 - weight).  Only the last rules of a plan can be left out, so
 * heavy rules (weight 0.5 or more, which can alert alone) come first and
 * the light ones after them, cheapest first: the expensive light rule left
 * last is the one that can most often go unevaluated.
 */
int
vigil_rules_plan(const VigilRule *rules, int n, unsigned inputs, int *order,
				 double *rest)
{
	int			nplan = 0;

	for (int i = 0; i < n; i++)
	{
		int			k = i;

		/* insertion sort: n is the number of a watch's rules */
		while (k > 0 && plan_before(rules, inputs, i, order[k - 1]))
		{
			order[k] = order[k - 1];
			k--;
		}
		order[k] = i;
		if (can_fire(&rules[i], inputs))
			nplan++;
	}
	rest[nplan] = 1.0;
	for (int k = nplan - 1; k >= 0; k--)
		rest[k] = rest[k + 1] * (1.0 - clamp01(rules[order[k]].weight));
	return nplan;
}

/*
 * Rounding allowance of vigil_rules_decide's bound: far more than the few
 * ulps by which noisy-ORs of the same severities in another order differ,
 * far less than any threshold anyone sets.
 */
#define DECIDE_SLACK 1e-9

/*
 * vigil_rules_score for detection, which keeps only the scores that reach
 * the alert threshold: the first nplan rules of the order planned by
 * vigil_rules_plan (for inputs e carries no more than) are evaluated in
 * that order, and evaluation stops as soon as the rules left could not
 * lift the score to threshold, even all at full severity.  So the result
 * is at least threshold exactly when vigil_rules_score's is, and then it is
 * the same score with the same severities; otherwise it is some score
 * below threshold, and the findings are partial.  why is left as it was:
 * vigil_rules_explain fills it in for the rows that alert.
 */
double
vigil_rules_decide(const VigilRule *rules, int n, const int *order,
				   int nplan, const double *rest, double threshold,
				   const VigilProfile *before, const VigilEvent *e,
				   VigilFinding *findings)
{
	bool		fired = false;
	double		partial = 0.0;
	double		score = 0.0;
	double		need = threshold - DECIDE_SLACK;
	int			k;

	if (!vigil_event_valid(e, NULL) || !vigil_profile_sound(before))
		k = 0;
	else
		for (k = 0; k < nplan; k++)
		{
			int			i = order[k];

			/* rest[k] is 0 while a rule of weight 1 is left */
			if (rest[k] > 0.0 && 1.0 - (1.0 - partial) * rest[k] < need)
				break;
			if (eval_checked(&rules[i], before, e, &findings[i]) > 0.0)
			{
				fired = true;
				partial = vigil_score_combine(partial, rules[i].weight, findings[i].severity);
			}
		}
	/* the rules left unevaluated did not fire */
	for (int j = k; j < n; j++)
		findings[order[j]].severity = 0.0;
	if (k < nplan)
		return partial;

	/* all planned rules evaluated: combine in rule order, as vigil_rules_score */
	if (!fired)
		return 0.0;
	for (int i = 0; i < n; i++)
		if (findings[i].severity > 0.0)
			score = vigil_score_combine(score, rules[i].weight, findings[i].severity);
	return score;
}

/*
 * Fill in why for the rules that fired in the last vigil_rules_score of the
 * same rules, event and profile.
 */
void
vigil_rules_explain(const VigilRule *rules, int n, const VigilProfile *before,
					const VigilEvent *e, VigilFinding *findings)
{
	for (int i = 0; i < n; i++)
		if (findings[i].severity > 0.0)
			describe(&rules[i], before, e, &findings[i]);
}

/*
 * Add a fired rule to a running noisy-OR score: the score is the chance
 * that at least one rule is right, with each rule trusted weight * severity.
 */
double
vigil_score_combine(double score, double weight, double severity)
{
	double		c = clamp01(weight) * clamp01(severity);

	/* 1 - (1 - s) is not always s in floating point: keep s exactly */
	if (c == 0.0)
		return clamp01(score);
	return clamp01(1.0 - (1.0 - clamp01(score)) * (1.0 - c));
}
