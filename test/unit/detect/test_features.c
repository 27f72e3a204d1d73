/*
 * test_features.c
 *		Unit tests for the feature vector a learned model reads.
 */
#include <math.h>
#include <string.h>

#include "detect/core/features.h"
#include "events.h"
#include "unit.h"

/* 2025-03-05 12:00 UTC, a Wednesday. */
#define T0 1741176000.0

/* A card's profile after n events of amount, an hour apart, ending at t. */
static void
history(VigilProfile *p, int n, double amount, double t)
{
	vigil_profile_init(p);
	for (int i = n - 1; i >= 0; i--)
	{
		VigilEvent	e = located(t - 3600.0 * i, amount, 48.85, 2.35);

		e.has_merchant = true;
		e.merchant_hash = vigil_hash64("shop", 4);
		e.has_category = true;
		e.category_hash = vigil_hash64("grocery", 7);
		CHECK(vigil_profile_fold(p, &e));
	}
}

/* Every name is set, and distinct. */
static void
names(void)
{
	for (int i = 0; i < VIGIL_NFEATURES; i++)
	{
		CHECK(vigil_feature_names[i] != NULL);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(vigil_feature_names[i], vigil_feature_names[j]) != 0);
	}
}

/* A new card: the amount and the time are known, the card's history is not. */
static void
new_card(void)
{
	VigilProfile p;
	VigilEvent	e = event(T0, 99.0);
	float		x[VIGIL_NFEATURES];

	vigil_profile_init(&p);
	vigil_features(&p, &e, 3.0f, x);
	CHECK(x[VIGIL_F_AMOUNT] == 99.0f);
	CHECK(x[VIGIL_F_LOG_AMOUNT] == (float) log1p(99.0));
	CHECK(x[VIGIL_F_CARD_COUNT] == 0.0f);
	CHECK(x[VIGIL_F_HOUR] == 12.0f);
	CHECK(x[VIGIL_F_DAY_OF_WEEK] == 3.0f);
	CHECK(x[VIGIL_F_CATEGORY] == 3.0f);
	CHECK(isnan(x[VIGIL_F_CARD_MEAN]));
	CHECK(isnan(x[VIGIL_F_CARD_Z]));
	CHECK(isnan(x[VIGIL_F_SINCE_LAST]));
	CHECK(isnan(x[VIGIL_F_NEW_MERCHANT]));
	CHECK(isnan(x[VIGIL_F_KM_FROM_LAST]));
	CHECK(isnan(x[VIGIL_F_PRIOR_Z]));
	CHECK(isnan(x[VIGIL_F_POPULATION_HOUR_SHARE]));
}

/* A card with history: its statistics, windows, journey and novelty. */
static void
known_card(void)
{
	VigilProfile p;
	VigilEvent	e = located(T0 + 1800.0, 100.0, 48.85, 2.35 + 1.0);
	float		x[VIGIL_NFEATURES];

	history(&p, 30, 20.0, T0);
	e.has_merchant = true;
	e.merchant_hash = vigil_hash64("other shop", 10);
	e.has_category = true;
	e.category_hash = vigil_hash64("grocery", 7);
	vigil_features(&p, &e, NAN, x);
	CHECK(x[VIGIL_F_CARD_COUNT] == 30.0f);
	CHECK_CLOSE(x[VIGIL_F_CARD_MEAN], 20.0, 1e-6);
	CHECK(x[VIGIL_F_CARD_SD] >= 0.0f && x[VIGIL_F_CARD_SD] < 1e-3f);
	CHECK_CLOSE(x[VIGIL_F_CARD_RATIO], 5.0, 1e-6);
	CHECK_CLOSE(x[VIGIL_F_CARD_MAX_RATIO], 5.0, 1e-6);
	CHECK(x[VIGIL_F_SINCE_LAST] == 1800.0f);
	CHECK(x[VIGIL_F_COUNT_1H] == 1.0f);
	CHECK(x[VIGIL_F_SUM_1H] == 20.0f);
	CHECK(x[VIGIL_F_COUNT_24H] == 16.0f);	/* the ring holds 16 */
	CHECK_CLOSE(x[VIGIL_F_KM_FROM_LAST], 73.1, 0.01);
	CHECK_CLOSE(x[VIGIL_F_KMH_FROM_LAST], 2.0 * x[VIGIL_F_KM_FROM_LAST], 1e-6);
	CHECK(x[VIGIL_F_NEW_MERCHANT] == 1.0f);
	CHECK(x[VIGIL_F_NEW_CATEGORY] == 0.0f);
	CHECK(x[VIGIL_F_MERCHANTS_SEEN] == 1.0f);
	CHECK(x[VIGIL_F_CATEGORIES_SEEN] == 1.0f);
	CHECK(x[VIGIL_F_CARD_HOUR_SHARE] >= 0.0f && x[VIGIL_F_CARD_HOUR_SHARE] <= 1.0f);
	CHECK(isnan(x[VIGIL_F_CATEGORY]));
}

/* Priors and the time zone: local hour and day, the population's features. */
static void
priors_and_zone(void)
{
	VigilProfile p;
	VigilEvent	e = event(T0 - 13 * 3600.0, 50.0);	/* Tuesday 23:00 UTC */
	float		x[VIGIL_NFEATURES];

	vigil_profile_init(&p);
	e.utc_offset_s = 2 * 3600;	/* Wednesday 01:00 local */
	e.prior_n = 1000.0;
	e.prior_log_mean = log(25.0);
	e.prior_log_sd = 0.5;
	e.prior_hour_share = 0.01;
	e.has_prior_hour = true;
	vigil_features(&p, &e, NAN, x);
	CHECK(x[VIGIL_F_HOUR] == 1.0f);
	CHECK(x[VIGIL_F_DAY_OF_WEEK] == 3.0f);
	CHECK_CLOSE(x[VIGIL_F_PRIOR_Z], log(2.0) / 0.5, 1e-6);
	CHECK_CLOSE(x[VIGIL_F_PRIOR_RATIO], 2.0, 1e-6);
	CHECK(x[VIGIL_F_PRIOR_COUNT] == 1000.0f);
	CHECK(x[VIGIL_F_POPULATION_HOUR_SHARE] == 0.01f);

	/* before 1970 the day of the week still counts from Sunday */
	e = event(-86400.0, 1.0);	/* 1969-12-31, a Wednesday */
	vigil_features(&p, &e, NAN, x);
	CHECK(x[VIGIL_F_DAY_OF_WEEK] == 3.0f);
}

/* Merchant risk: the fraud share per window when a snapshot is known, else NaN. */
static void
merchant_risk(void)
{
	VigilProfile p;
	VigilEvent	e = {.t = 1.7e9, .amount = 20.0, .has_merchant = true, .merchant_hash = 9};
	float		x[VIGIL_NFEATURES];

	vigil_profile_init(&p);
	vigil_features(&p, &e, NAN, x);
	CHECK(isnan(x[VIGIL_F_MERCHANT_FRAUD_1D]) && isnan(x[VIGIL_F_MERCHANT_FRAUD_30D]));
	e.has_merchant_risk = true;	/* a snapshot without the merchant: no known fraud */
	vigil_features(&p, &e, NAN, x);
	CHECK(x[VIGIL_F_MERCHANT_FRAUD_1D] == 0.0f && x[VIGIL_F_MERCHANT_FRAUD_7D] == 0.0f &&
		  x[VIGIL_F_MERCHANT_FRAUD_30D] == 0.0f);
	e.merchant_rows[0] = 4;
	e.merchant_fraud[0] = 1;
	e.merchant_rows[1] = 10;
	e.merchant_fraud[1] = 5;
	e.merchant_rows[2] = 50;
	e.merchant_fraud[2] = 5;
	vigil_features(&p, &e, NAN, x);
	CHECK(x[VIGIL_F_MERCHANT_FRAUD_1D] == 0.25f && x[VIGIL_F_MERCHANT_FRAUD_7D] == 0.5f &&
		  x[VIGIL_F_MERCHANT_FRAUD_30D] == 0.1f);
	CHECK(strcmp(vigil_feature_names[VIGIL_F_MERCHANT_FRAUD_7D], "merchant_fraud_share_7d") == 0);
	e.has_merchant = false;		/* no merchant column */
	vigil_features(&p, &e, NAN, x);
	CHECK(isnan(x[VIGIL_F_MERCHANT_FRAUD_7D]));
}

/* The card's own amounts in the category: count, share, mean, z and ratio. */
static void
card_category(void)
{
	VigilProfile p;
	VigilEvent	e = {.t = 1.7e9, .has_category = true, .category_hash = 77};
	float		x[VIGIL_NFEATURES];

	vigil_profile_init(&p);
	for (int i = 0; i < 4; i++)
	{
		VigilEvent	f = {.t = 1.7e9 - 400.0 + 100.0 * i, .amount = i % 2 ? 30.0 : 10.0,
		.has_category = true, .category_hash = i < 2 ? 77 : 78};

		CHECK(vigil_profile_fold(&p, &f));
	}
	/* 77 had 10 and 30: mean 20, sd 10; two of four rows, a few minutes ago */
	e.amount = 50.0;
	vigil_features(&p, &e, NAN, x);
	CHECK(fabsf(x[VIGIL_F_CARD_CATEGORY_COUNT] - 2.0f) < 1e-3f);
	CHECK(fabsf(x[VIGIL_F_CARD_CATEGORY_SHARE] - 0.5f) < 1e-4f);
	CHECK(fabsf(x[VIGIL_F_CARD_CATEGORY_MEAN] - 20.0f) < 1e-3f);
	CHECK(fabsf(x[VIGIL_F_CARD_CATEGORY_Z] - 3.0f) < 1e-3f);
	CHECK(fabsf(x[VIGIL_F_CARD_CATEGORY_RATIO] - 2.5f) < 1e-4f);
	/* a category the card never used: none of it */
	e.category_hash = 79;
	vigil_features(&p, &e, NAN, x);
	CHECK(x[VIGIL_F_CARD_CATEGORY_COUNT] == 0.0f && x[VIGIL_F_CARD_CATEGORY_SHARE] == 0.0f);
	CHECK(isnan(x[VIGIL_F_CARD_CATEGORY_MEAN]) && isnan(x[VIGIL_F_CARD_CATEGORY_Z]));
	/* no category column: unknown */
	e.has_category = false;
	vigil_features(&p, &e, NAN, x);
	CHECK(isnan(x[VIGIL_F_CARD_CATEGORY_COUNT]) && isnan(x[VIGIL_F_CARD_CATEGORY_SHARE]));
}

/* A category's code: its position among the model's codes, else NaN. */
static void
category_codes(void)
{
	static const uint64_t codes[] = {3, 7, 0x8000000000000000ULL, UINT64_MAX};

	CHECK(vigil_category_code(codes, 4, 3) == 0.0f);
	CHECK(vigil_category_code(codes, 4, 7) == 1.0f);
	CHECK(vigil_category_code(codes, 4, 0x8000000000000000ULL) == 2.0f);
	CHECK(vigil_category_code(codes, 4, UINT64_MAX) == 3.0f);
	CHECK(isnan(vigil_category_code(codes, 4, 5)));
	CHECK(isnan(vigil_category_code(codes, 4, 1)));
	CHECK(isnan(vigil_category_code(codes, 4, 0)));	/* none */
	CHECK(isnan(vigil_category_code(codes, 0, 3)));
	CHECK(isnan(vigil_category_code(codes, 3, UINT64_MAX)));
}

/* The card's usual value: its mean amount for the amount features only. */
static void
usual_values(void)
{
	float		x[VIGIL_NFEATURES];

	for (int i = 0; i < VIGIL_NFEATURES; i++)
		x[i] = 1.0f;
	x[VIGIL_F_CARD_MEAN] = 40.0f;
	CHECK(vigil_feature_usual(x, VIGIL_F_AMOUNT) == 40.0f);
	CHECK(vigil_feature_usual(x, VIGIL_F_LOG_AMOUNT) == (float) log1p(40.0));
	CHECK(isnan(vigil_feature_usual(x, VIGIL_F_CARD_Z)));
	CHECK(isnan(vigil_feature_usual(x, VIGIL_F_HOUR)));
	x[VIGIL_F_CARD_MEAN] = NAN;	/* a new card */
	CHECK(isnan(vigil_feature_usual(x, VIGIL_F_AMOUNT)));
	CHECK(isnan(vigil_feature_usual(x, VIGIL_F_LOG_AMOUNT)));
}

int
main(void)
{
	RUN(names);
	RUN(new_card);
	RUN(known_card);
	RUN(priors_and_zone);
	RUN(merchant_risk);
	RUN(card_category);
	RUN(category_codes);
	RUN(usual_values);
	return UNIT_DONE();
}
