/*
 * features.c
 *		A transaction's feature vector for a learned model.
 *
 * Every feature is a plain reading of what the rules read (rules.c): the
 * card's decayed amount statistics, its ring of recent events, its last
 * location, its seen merchants and categories and hour histogram, and the
 * population's priors that vigil_event_localize puts on the event.  The
 * rules turn these into severities with thresholds a person chose; a model
 * learns its own thresholds and interactions from labels.
 */
#include "detect/core/features.h"

#include <math.h>

#include "detect/core/geo.h"

/* By VigilFeature; names are stored with models, so never rename one. */
const char *const vigil_feature_names[VIGIL_NFEATURES] = {
	[VIGIL_F_AMOUNT] = "amount",
	[VIGIL_F_LOG_AMOUNT] = "log_amount",
	[VIGIL_F_CARD_COUNT] = "card_count",
	[VIGIL_F_CARD_MEAN] = "card_mean",
	[VIGIL_F_CARD_SD] = "card_sd",
	[VIGIL_F_CARD_Z] = "card_z",
	[VIGIL_F_CARD_RATIO] = "card_ratio",
	[VIGIL_F_CARD_MAX_RATIO] = "card_max_ratio",
	[VIGIL_F_PRIOR_Z] = "category_prior_z",
	[VIGIL_F_PRIOR_RATIO] = "category_prior_ratio",
	[VIGIL_F_PRIOR_COUNT] = "category_prior_count",
	[VIGIL_F_SINCE_LAST] = "seconds_since_last",
	[VIGIL_F_COUNT_1H] = "count_1h",
	[VIGIL_F_SUM_1H] = "sum_1h",
	[VIGIL_F_COUNT_24H] = "count_24h",
	[VIGIL_F_SUM_24H] = "sum_24h",
	[VIGIL_F_KM_FROM_LAST] = "km_from_last",
	[VIGIL_F_KMH_FROM_LAST] = "kmh_from_last",
	[VIGIL_F_NEW_MERCHANT] = "new_merchant",
	[VIGIL_F_NEW_CATEGORY] = "new_category",
	[VIGIL_F_MERCHANTS_SEEN] = "merchants_seen",
	[VIGIL_F_CATEGORIES_SEEN] = "categories_seen",
	[VIGIL_F_CARD_HOUR_SHARE] = "card_hour_share",
	[VIGIL_F_POPULATION_HOUR_SHARE] = "population_hour_share",
	[VIGIL_F_HOUR] = "hour",
	[VIGIL_F_DAY_OF_WEEK] = "day_of_week",
	[VIGIL_F_CATEGORY] = "category",
	[VIGIL_F_MERCHANT_FRAUD_1D] = "merchant_fraud_share_1d",
	[VIGIL_F_MERCHANT_FRAUD_7D] = "merchant_fraud_share_7d",
	[VIGIL_F_MERCHANT_FRAUD_30D] = "merchant_fraud_share_30d",
	[VIGIL_F_CARD_CATEGORY_COUNT] = "card_category_count",
	[VIGIL_F_CARD_CATEGORY_SHARE] = "card_category_share",
	[VIGIL_F_CARD_CATEGORY_MEAN] = "card_category_mean",
	[VIGIL_F_CARD_CATEGORY_Z] = "card_category_z",
	[VIGIL_F_CARD_CATEGORY_RATIO] = "card_category_ratio",
};

/* x as a feature: the float nearest, NaN for anything not finite. */
static inline float
feature(double x)
{
	return isfinite(x) ? (float) x : NAN;
}

/* The events in p's ring since t_from, and their sum, as features. */
static void
window(const VigilProfile *p, double t_from, float *count, float *sum)
{
	int			n;
	double		s;

	*count = vigil_ring_count_since(&p->recent, t_from, &n) ? (float) n : NAN;
	*sum = vigil_ring_sum_since(&p->recent, t_from, &s) ? feature(s) : NAN;
}

/* Distance and speed from p's last location to e's, as features. */
static void
journey(const VigilProfile *p, const VigilEvent *e, float *km, float *kmh)
{
	double		d,
				speed;

	*km = *kmh = NAN;
	if (!e->has_location || !(p->flags & VIGIL_PROFILE_HAS_LOCATION) ||
		!(e->t >= p->last_loc_t) ||
		!vigil_geo_distance_km(p->last_lat, p->last_lon, e->lat, e->lon, &d))
		return;
	*km = feature(d);
	if (vigil_geo_speed_kmh(d, e->t - p->last_loc_t, &speed))
		*kmh = feature(speed);
}

/*
 * Whether e's merchant or category (has, hash) is new to the card: 1 or 0,
 * NaN when the event has none.
 */
static inline float
novelty(bool has, uint64_t hash, const VigilSeenSet *seen)
{
	return has ? (vigil_seenset_contains(seen, hash) ? 0.0f : 1.0f) : NAN;
}

/*
 * The card's own amounts in e's category: its decayed count and share of
 * the card's rows, and the amount against the category's decayed mean and
 * standard deviation.  A category the profile does not follow (new to the
 * card, or rare on it) counts 0 and has no mean.
 */
static void
card_category(const VigilProfile *p, const VigilEvent *e, float *x)
{
	const VigilCategoryAmount *c = vigil_profile_category(p, e->category_hash);
	double		all = vigil_decay_weight(&p->recent_amount, e->t, VIGIL_AMOUNT_HALF_LIFE_S);
	double		w,
				mean,
				sd;

	if (c == NULL)
	{
		x[VIGIL_F_CARD_CATEGORY_COUNT] = 0.0f;
		x[VIGIL_F_CARD_CATEGORY_SHARE] = 0.0f;
		return;
	}
	w = vigil_decay_weight(&c->amount, e->t, VIGIL_AMOUNT_HALF_LIFE_S);
	mean = vigil_decay_mean(&c->amount);
	sd = sqrt(vigil_decay_variance(&c->amount));
	x[VIGIL_F_CARD_CATEGORY_COUNT] = feature(w);
	if (all > 0.0)
		x[VIGIL_F_CARD_CATEGORY_SHARE] = feature(w / all);
	x[VIGIL_F_CARD_CATEGORY_MEAN] = feature(mean);
	if (sd > 0.0)
		x[VIGIL_F_CARD_CATEGORY_Z] = feature((e->amount - mean) / sd);
	if (mean > 0.0)
		x[VIGIL_F_CARD_CATEGORY_RATIO] = feature(e->amount / mean);
}

/* See features.h. */
void
vigil_features(const VigilProfile *p, const VigilEvent *e, float category, float *x)
{
	bool		history = p->amount.n > 0 && vigil_profile_sound(p);
	double		mean = history ? vigil_decay_mean(&p->recent_amount) : NAN;
	double		var = history ? vigil_decay_variance(&p->recent_amount) : NAN;
	double		sd = var >= 0.0 ? sqrt(var) : NAN;
	double		share;
	int			hour;

	for (int i = 0; i < VIGIL_NFEATURES; i++)
		x[i] = NAN;
	x[VIGIL_F_AMOUNT] = feature(e->amount);
	x[VIGIL_F_LOG_AMOUNT] = e->amount > -1.0 ? feature(log1p(e->amount)) : NAN;
	x[VIGIL_F_CARD_COUNT] = (float) p->amount.n;
	if (e->prior_n > 0.0)
	{
		x[VIGIL_F_PRIOR_COUNT] = feature(e->prior_n);
		if (e->amount > 0.0 && e->prior_log_sd > 0.0)
			x[VIGIL_F_PRIOR_Z] = feature((log(e->amount) - e->prior_log_mean) / e->prior_log_sd);
		x[VIGIL_F_PRIOR_RATIO] = feature(e->amount / exp(e->prior_log_mean));
	}
	if (e->has_prior_hour)
		x[VIGIL_F_POPULATION_HOUR_SHARE] = feature(e->prior_hour_share);
	if (vigil_hourhist_hour(e->t, e->utc_offset_s, &hour))
	{
		/* 1970-01-01 was a Thursday: day 4, counting from Sunday */
		double		days = floor((e->t + e->utc_offset_s) / 86400.0);

		x[VIGIL_F_HOUR] = (float) hour;
		x[VIGIL_F_DAY_OF_WEEK] = feature(fmod(fmod(days + 4.0, 7.0) + 7.0, 7.0));
		if (history &&
			vigil_hourhist_prob(&p->hours, e->t, hour, VIGIL_HOUR_HALF_LIFE_S, &share))
			x[VIGIL_F_CARD_HOUR_SHARE] = feature(share);
	}
	x[VIGIL_F_CATEGORY] = category;
	if (e->has_merchant_risk && e->has_merchant)
		for (int w = 0; w < VIGIL_MERCHANT_WINDOWS; w++)
			x[VIGIL_F_MERCHANT_FRAUD_1D + w] =
				e->merchant_rows[w] > 0.0 ? feature(e->merchant_fraud[w] / e->merchant_rows[w]) : 0.0f;
	if (!history)
		return;

	x[VIGIL_F_CARD_MEAN] = feature(mean);
	x[VIGIL_F_CARD_SD] = feature(sd);
	if (sd > 0.0)
		x[VIGIL_F_CARD_Z] = feature((e->amount - mean) / sd);
	if (mean > 0.0)
		x[VIGIL_F_CARD_RATIO] = feature(e->amount / mean);
	if (p->amount.max > 0.0)
		x[VIGIL_F_CARD_MAX_RATIO] = feature(e->amount / p->amount.max);
	x[VIGIL_F_SINCE_LAST] = feature(e->t - vigil_profile_last_time(p));
	window(p, e->t - 3600.0, &x[VIGIL_F_COUNT_1H], &x[VIGIL_F_SUM_1H]);
	window(p, e->t - 86400.0, &x[VIGIL_F_COUNT_24H], &x[VIGIL_F_SUM_24H]);
	journey(p, e, &x[VIGIL_F_KM_FROM_LAST], &x[VIGIL_F_KMH_FROM_LAST]);
	x[VIGIL_F_NEW_MERCHANT] = novelty(e->has_merchant, e->merchant_hash, &p->merchants);
	x[VIGIL_F_NEW_CATEGORY] = novelty(e->has_category, e->category_hash, &p->categories);
	if (e->has_category)
		card_category(p, e, x);
	x[VIGIL_F_MERCHANTS_SEEN] = (float) vigil_seenset_count(&p->merchants);
	x[VIGIL_F_CATEGORIES_SEEN] = (float) vigil_seenset_count(&p->categories);
}

/* See features.h. */
float
vigil_category_code(const uint64_t *codes, int n, uint64_t hash)
{
	int			lo = 0,
				hi = n;

	if (hash == 0)
		return NAN;
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (codes[mid] < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && codes[lo] == hash ? (float) lo : NAN;
}

/*
 * The card's usual value of feature f, for an explanation to set beside
 * x[f]: the card's mean amount for the amount and its logarithm, the
 * features a profile keeps a baseline of in the same unit.  NaN for every
 * other feature: those either measure the row against the card's usual
 * already (z-scores, ratios, shares, novelty) or have no baseline kept.
 */
float
vigil_feature_usual(const float *x, int f)
{
	float		mean = x[VIGIL_F_CARD_MEAN];

	switch (f)
	{
		case VIGIL_F_AMOUNT:
			return mean;
		case VIGIL_F_LOG_AMOUNT:
			return mean > -1.0f ? feature(log1p(mean)) : NAN;
		default:
			return NAN;
	}
}
