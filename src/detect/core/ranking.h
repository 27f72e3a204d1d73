/*
 * ranking.h
 *		How well scores rank labelled rows, and the threshold for an alert
 *		rate: the arithmetic of vigil.evaluate and vigil.calibrate.
 *
 * Both walk the scores from the highest down, one at a time, so they need
 * no memory of their own: the caller sorts (vigil's evaluation sorts with
 * PostgreSQL's tuplesort, which spills to disk).  Rows with equal scores
 * form one group, since no threshold can separate them:
 *
 *	- average precision is scikit-learn's average_precision_score: the sum
 *	  over groups of (recall gained) x (precision down to that group);
 *	- ROC-AUC is the probability that a positive scores above a negative,
 *	  ties counting one half (the trapezoids of the ROC curve).
 */
#ifndef VIGIL_RANKING_H
#define VIGIL_RANKING_H

#include <stdbool.h>
#include <stdint.h>

/* Precision and ROC measures of scores fed in descending order. */
typedef struct VigilRanking
{
	double		score;			/* the current group's score */
	int64_t		group_pos;		/* positives and negatives in it */
	int64_t		group_neg;
	int64_t		pos;			/* in the groups before it */
	int64_t		neg;
	double		ap_sum;			/* sum of positives x precision */
	double		auc_pairs;		/* (positive, negative) pairs ranked right */
} VigilRanking;

extern void vigil_ranking_init(VigilRanking *r);
extern bool vigil_ranking_add(VigilRanking *r, double score, bool positive);
extern void vigil_ranking_finish(VigilRanking *r, int64_t *positives, int64_t *negatives,
								 double *average_precision, double *roc_auc);

/* The threshold for an alert rate, from scores fed in descending order. */
typedef struct VigilBudget
{
	double		want;			/* rows the rate asks for */
	double		score;			/* the current group's score */
	int64_t		above;			/* rows in the groups before it */
	int64_t		group;			/* rows in it */
	double		best_score;		/* the best threshold so far, or NAN */
	int64_t		best_alerts;	/* the rows it alerts on */
	bool		done;			/* no later threshold can be better */
} VigilBudget;

extern void vigil_budget_init(VigilBudget *b, int64_t rows, double rate);
extern bool vigil_budget_add(VigilBudget *b, double score);
extern bool vigil_budget_finish(VigilBudget *b, double *threshold, int64_t *alerts);

#endif							/* VIGIL_RANKING_H */
