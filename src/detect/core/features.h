/*
 * features.h
 *		A transaction's feature vector for a learned model: what the card's
 *		profile before the transaction, the population's priors and the
 *		transaction itself say, as numbers.
 *
 * Training (vigil.train, over a replay) and serving (the detection trigger)
 * both call vigil_features with the profile as it was before the row, so a
 * model sees in production exactly what it was trained on.  A feature that
 * is unknown for a row (no history yet, no location) is NaN: gradient-boosted
 * trees send it down each split's learned default branch.
 *
 * The list only grows at its end, and a model records the names it was
 * trained on: a model whose names are not a prefix of this list was trained
 * by another version and is refused.
 */
#ifndef VIGIL_FEATURES_H
#define VIGIL_FEATURES_H

#include "detect/core/profile.h"

typedef enum VigilFeature
{
	VIGIL_F_AMOUNT,
	VIGIL_F_LOG_AMOUNT,
	VIGIL_F_CARD_COUNT,
	VIGIL_F_CARD_MEAN,
	VIGIL_F_CARD_SD,
	VIGIL_F_CARD_Z,
	VIGIL_F_CARD_RATIO,
	VIGIL_F_CARD_MAX_RATIO,
	VIGIL_F_PRIOR_Z,
	VIGIL_F_PRIOR_RATIO,
	VIGIL_F_PRIOR_COUNT,
	VIGIL_F_SINCE_LAST,
	VIGIL_F_COUNT_1H,
	VIGIL_F_SUM_1H,
	VIGIL_F_COUNT_24H,
	VIGIL_F_SUM_24H,
	VIGIL_F_KM_FROM_LAST,
	VIGIL_F_KMH_FROM_LAST,
	VIGIL_F_NEW_MERCHANT,
	VIGIL_F_NEW_CATEGORY,
	VIGIL_F_MERCHANTS_SEEN,
	VIGIL_F_CATEGORIES_SEEN,
	VIGIL_F_CARD_HOUR_SHARE,
	VIGIL_F_POPULATION_HOUR_SHARE,
	VIGIL_F_HOUR,
	VIGIL_F_DAY_OF_WEEK,
	VIGIL_F_CATEGORY,
	VIGIL_F_MERCHANT_FRAUD_1D,
	VIGIL_F_MERCHANT_FRAUD_7D,
	VIGIL_F_MERCHANT_FRAUD_30D,
	VIGIL_F_CARD_CATEGORY_COUNT,
	VIGIL_F_CARD_CATEGORY_SHARE,
	VIGIL_F_CARD_CATEGORY_MEAN,
	VIGIL_F_CARD_CATEGORY_Z,
	VIGIL_F_CARD_CATEGORY_RATIO,
	VIGIL_NFEATURES
} VigilFeature;

/* The features' names, as models list them, by VigilFeature. */
extern const char *const vigil_feature_names[VIGIL_NFEATURES];

/*
 * Fill x[0 .. VIGIL_NFEATURES - 1] for a valid event e against profile p
 * as it was before e.  category is the code the model gives e's category
 * (NaN for none or one it does not know).
 */
extern void vigil_features(const VigilProfile *p, const VigilEvent *e, float category,
						   float *x);

/*
 * The category feature's value for the category whose hash is hash (0:
 * none): its position among a model's n codes, hashes in ascending order;
 * NaN when it has none or is not among them.
 */
extern float vigil_feature_usual(const float *x, int f);
extern float vigil_category_code(const uint64_t *codes, int n, uint64_t hash);

#endif							/* VIGIL_FEATURES_H */
