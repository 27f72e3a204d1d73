/*
 * ranking.c
 *		How well scores rank labelled rows, and the threshold for an alert
 *		rate (see ranking.h).
 */
#include <math.h>

#include "detect/core/ranking.h"

/* Start measuring a ranking. */
void
vigil_ranking_init(VigilRanking *r)
{
	r->score = NAN;
	r->group_pos = 0;
	r->group_neg = 0;
	r->pos = 0;
	r->neg = 0;
	r->ap_sum = 0.0;
	r->auc_pairs = 0.0;
}

/*
 * Close the current group: its positives gain recall at the precision of
 * every row down to it, and each of its negatives is outranked by the
 * positives before it and ties with half of its own.
 */
static void
ranking_close(VigilRanking *r)
{
	int64_t		pos = r->pos + r->group_pos;
	int64_t		neg = r->neg + r->group_neg;

	if (r->group_pos > 0)
		r->ap_sum += (double) r->group_pos * ((double) pos / (double) (pos + neg));
	r->auc_pairs += (double) r->group_neg * ((double) r->pos + 0.5 * (double) r->group_pos);
	r->pos = pos;
	r->neg = neg;
	r->group_pos = 0;
	r->group_neg = 0;
}

/*
 * Feed one row's score and label.  Scores must come in descending order;
 * false (and the row is not counted) for a NaN or a score above the last.
 */
bool
vigil_ranking_add(VigilRanking *r, double score, bool positive)
{
	if (isnan(score) || score > r->score)
		return false;
	if (score != r->score)
	{
		ranking_close(r);
		r->score = score;
	}
	if (positive)
		r->group_pos++;
	else
		r->group_neg++;
	return true;
}

/*
 * The counts, the average precision (NAN without positives) and the ROC-AUC
 * (NAN unless both classes are present) of the rows fed.
 */
void
vigil_ranking_finish(VigilRanking *r, int64_t *positives, int64_t *negatives,
					 double *average_precision, double *roc_auc)
{
	ranking_close(r);
	*positives = r->pos;
	*negatives = r->neg;
	*average_precision = r->pos > 0 ? r->ap_sum / (double) r->pos : NAN;
	*roc_auc = r->pos > 0 && r->neg > 0 ?
		r->auc_pairs / ((double) r->pos * (double) r->neg) : NAN;
}

/*
 * Start looking for the threshold that alerts on the share rate of rows
 * rows, whose scores will be fed from the highest down.
 */
void
vigil_budget_init(VigilBudget *b, int64_t rows, double rate)
{
	b->want = rate * (double) rows;
	b->score = NAN;
	b->above = 0;
	b->group = 0;
	b->best_score = NAN;
	b->best_alerts = 0;
	b->done = false;
}

/*
 * Close the current group: its score, as a threshold, alerts on every row
 * so far.  The nearest count to the one wanted wins, the smaller on a tie;
 * once a threshold alerts on as many as wanted, lower ones only add more.
 */
static void
budget_close(VigilBudget *b)
{
	int64_t		alerts = b->above + b->group;

	if (b->group == 0 || b->done)
		return;
	if (!(b->score > 0.0))
		b->done = true;			/* a score of 0 fires no rule: no threshold */
	else
	{
		if (isnan(b->best_score) ||
			fabs((double) alerts - b->want) < fabs((double) b->best_alerts - b->want))
		{
			b->best_score = b->score;
			b->best_alerts = alerts;
		}
		if ((double) alerts >= b->want)
			b->done = true;
	}
	b->above = alerts;
	b->group = 0;
}

/*
 * Feed one row's score.  Scores must come in descending order; false for a
 * NaN or a score above the last.
 */
bool
vigil_budget_add(VigilBudget *b, double score)
{
	if (isnan(score) || score > b->score)
		return false;
	if (score != b->score)
	{
		budget_close(b);
		b->score = score;
	}
	b->group++;
	return true;
}

/*
 * The threshold chosen and the rows it alerts on; false when no row scored
 * above 0, so that no threshold alerts on any.
 */
bool
vigil_budget_finish(VigilBudget *b, double *threshold, int64_t *alerts)
{
	budget_close(b);
	if (isnan(b->best_score))
		return false;
	*threshold = b->best_score;
	*alerts = b->best_alerts;
	return true;
}
