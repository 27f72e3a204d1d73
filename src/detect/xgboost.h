/*
 * xgboost.h
 *		Training gradient-boosted trees with libxgboost, loaded only when a
 *		model is trained.
 */
#ifndef VIGIL_XGBOOST_H
#define VIGIL_XGBOOST_H

#include "postgres.h"

#include "detect/core/trees.h"

/* What training is asked for (vigil.train's options). */
typedef struct VigilBoostParams
{
	int			rounds;			/* trees */
	int			max_depth;
	double		learning_rate;
	double		min_child_weight;
	double		scale_pos_weight;
	double		subsample;
	int			max_bin;
	int			nthread;
	int			seed;
} VigilBoostParams;

/* A matrix of rows x features, row-major, NaN for a missing value. */
typedef struct VigilBoostData
{
	const float *x;
	const float *label;			/* 0 or 1 per row; NULL when only predicting */
	int64		rows;
	int			features;
} VigilBoostData;

/*
 * Train on train, and predict the probabilities of train's and valid's
 * rows into train_pred and valid_pred (as many floats as rows), and the
 * contributions of valid's first ncontrib rows (ncontrib <= valid->rows)
 * into valid_contrib (XGBoost's pred_contribs: per row, one float per
 * feature and the bias last).
 * Returns the model as XGBoost's JSON, palloc'd, *len bytes.
 */
extern char *vigil_boost_train(const VigilBoostData *train, const VigilBoostData *valid,
							   const VigilBoostParams *params, float *train_pred,
							   float *valid_pred, int64 ncontrib, float *valid_contrib,
							   Size *len);

extern VigilTrees *vigil_boost_trees(const char *json, int features);

#endif							/* VIGIL_XGBOOST_H */
