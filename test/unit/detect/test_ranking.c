/*
 * test_ranking.c
 *		Unit tests for average precision, ROC-AUC and the alert-rate
 *		threshold.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "detect/core/ranking.h"
#include "unit.h"

#define N_RANDOM 400

/* Sort rows by score, highest first. */
typedef struct Row
{
	double		score;
	int			label;
} Row;

static int
by_score_desc(const void *a, const void *b)
{
	double		x = ((const Row *) a)->score;
	double		y = ((const Row *) b)->score;

	return (x < y) - (x > y);
}

/* Feed rows (sorted) to a ranking and finish it. */
static void
measure(const Row *rows, int n, int64_t *pos, int64_t *neg, double *ap, double *auc)
{
	VigilRanking r;

	vigil_ranking_init(&r);
	for (int i = 0; i < n; i++)
		CHECK(vigil_ranking_add(&r, rows[i].score, rows[i].label));
	vigil_ranking_finish(&r, pos, neg, ap, auc);
}

/*
 * Average precision straight from its definition: for each distinct score
 * t, from the highest, precision and recall of "score >= t", summing
 * (R_n - R_n-1) P_n.
 */
static double
reference_ap(const Row *rows, int n)
{
	int			npos = 0;
	double		ap = 0.0,
				last_recall = 0.0;

	for (int i = 0; i < n; i++)
		npos += rows[i].label;
	for (int i = 0; i < n; i++)
	{
		int			tp = 0,
					all = 0;

		if (i > 0 && rows[i].score == rows[i - 1].score)
			continue;
		for (int j = 0; j < n; j++)
			if (rows[j].score >= rows[i].score)
			{
				all++;
				tp += rows[j].label;
			}
		ap += ((double) tp / npos - last_recall) * ((double) tp / all);
		last_recall = (double) tp / npos;
	}
	return ap;
}

/* ROC-AUC by counting every (positive, negative) pair; a tie counts 1/2. */
static double
reference_auc(const Row *rows, int n)
{
	double		pairs = 0.0;
	int64_t		npos = 0,
				nneg = 0;

	for (int i = 0; i < n; i++)
	{
		if (!rows[i].label)
			continue;
		npos++;
		for (int j = 0; j < n; j++)
			if (!rows[j].label)
				pairs += rows[i].score > rows[j].score ? 1.0 :
					rows[i].score == rows[j].score ? 0.5 : 0.0;
	}
	for (int i = 0; i < n; i++)
		nneg += !rows[i].label;
	return pairs / ((double) npos * nneg);
}

/* scikit-learn's documented example: AP 0.8333..., ROC-AUC 0.75. */
static void
sklearn_example(void)
{
	Row			rows[] = {{0.8, 1}, {0.4, 0}, {0.35, 1}, {0.1, 0}};
	int64_t		pos,
				neg;
	double		ap,
				auc;

	measure(rows, 4, &pos, &neg, &ap, &auc);
	CHECK(pos == 2 && neg == 2);
	CHECK_CLOSE(ap, 5.0 / 6.0, 1e-15);
	CHECK_CLOSE(auc, 0.75, 1e-15);
}

/* Tied scores are one threshold: a tie of a positive and a negative at the top. */
static void
ties_are_one_group(void)
{
	Row			rows[] = {{0.9, 1}, {0.9, 0}, {0.5, 1}, {0.1, 0}};
	int64_t		pos,
				neg;
	double		ap,
				auc;

	measure(rows, 4, &pos, &neg, &ap, &auc);
	/* thresholds 0.9: P 1/2 R 1/2; 0.5: P 2/3 R 1 */
	CHECK_CLOSE(ap, 0.5 * 0.5 + 0.5 * (2.0 / 3.0), 1e-15);
	/* pairs: (0.9+, 0.9-) 1/2, (0.9+, 0.1-) 1, (0.5+, 0.9-) 0, (0.5+, 0.1-) 1 */
	CHECK_CLOSE(auc, 2.5 / 4.0, 1e-15);
}

/* Random rows with many ties agree with the definitions. */
static void
random_against_definitions(void)
{
	uint64_t	state = 42;

	for (int round = 0; round < 20; round++)
	{
		Row			rows[N_RANDOM];
		int			levels = 1 + round * 7;
		int64_t		pos,
					neg;
		double		ap,
					auc;

		for (int i = 0; i < N_RANDOM; i++)
		{
			rows[i].score = floor(unit_uniform(&state) * levels) / levels;
			rows[i].label = unit_uniform(&state) < 0.1 + 0.5 * rows[i].score;
		}
		rows[0].label = 1;
		rows[1].label = 0;
		qsort(rows, N_RANDOM, sizeof(Row), by_score_desc);
		measure(rows, N_RANDOM, &pos, &neg, &ap, &auc);
		CHECK(pos + neg == N_RANDOM);
		CHECK_CLOSE(ap, reference_ap(rows, N_RANDOM), 1e-12);
		CHECK_CLOSE(auc, reference_auc(rows, N_RANDOM), 1e-12);
	}
}

/* A perfect ranking scores 1 and 1; one class alone leaves what needs both undefined. */
static void
perfect_and_one_class(void)
{
	Row			perfect[] = {{0.9, 1}, {0.8, 1}, {0.3, 0}, {0.3, 0}};
	Row			negatives[] = {{0.9, 0}, {0.1, 0}};
	Row			positives[] = {{0.9, 1}, {0.1, 1}};
	int64_t		pos,
				neg;
	double		ap,
				auc;

	measure(perfect, 4, &pos, &neg, &ap, &auc);
	CHECK(ap == 1.0 && auc == 1.0);
	measure(negatives, 2, &pos, &neg, &ap, &auc);
	CHECK(pos == 0 && neg == 2 && isnan(ap) && isnan(auc));
	measure(positives, 2, &pos, &neg, &ap, &auc);
	CHECK(pos == 2 && ap == 1.0 && isnan(auc));
	measure(NULL, 0, &pos, &neg, &ap, &auc);
	CHECK(pos == 0 && neg == 0 && isnan(ap) && isnan(auc));
}

/* A score above the last one, or NaN, is refused and not counted. */
static void
refuses_disorder(void)
{
	VigilRanking r;
	VigilBudget b;
	int64_t		pos,
				neg;
	double		ap,
				auc;

	vigil_ranking_init(&r);
	CHECK(vigil_ranking_add(&r, 0.5, true));
	CHECK(!vigil_ranking_add(&r, 0.6, false));
	CHECK(!vigil_ranking_add(&r, NAN, false));
	vigil_ranking_finish(&r, &pos, &neg, &ap, &auc);
	CHECK(pos == 1 && neg == 0);
	vigil_budget_init(&b, 2, 0.5);
	CHECK(vigil_budget_add(&b, 0.5));
	CHECK(!vigil_budget_add(&b, 0.7));
	CHECK(!vigil_budget_add(&b, NAN));
}

/* The threshold for a rate of 10 rows with these scores. */
static bool
budget(double rate, double *threshold, int64_t *alerts)
{
	static const double scores[] = {0.9, 0.9, 0.8, 0.5, 0.5, 0.5, 0.2, 0, 0, 0};
	VigilBudget b;

	vigil_budget_init(&b, 10, rate);
	for (int i = 0; i < 10; i++)
		CHECK(vigil_budget_add(&b, scores[i]));
	return vigil_budget_finish(&b, threshold, alerts);
}

/* The nearest count wins, the smaller on a tie; 0 is never a threshold. */
static void
budget_nearest(void)
{
	double		t;
	int64_t		n;

	CHECK(budget(0.3, &t, &n) && t == 0.8 && n == 3);
	CHECK(budget(0.4, &t, &n) && t == 0.8 && n == 3);
	CHECK(budget(0.5, &t, &n) && t == 0.5 && n == 6);
	CHECK(budget(0.45, &t, &n) && t == 0.8 && n == 3);
	CHECK(budget(0.01, &t, &n) && t == 0.9 && n == 2);
	CHECK(budget(0.99, &t, &n) && t == 0.2 && n == 7);
}

/* No threshold when nothing scored above 0, or nothing was fed. */
static void
budget_none(void)
{
	VigilBudget b;
	double		t;
	int64_t		n;

	vigil_budget_init(&b, 3, 0.1);
	for (int i = 0; i < 3; i++)
		CHECK(vigil_budget_add(&b, 0.0));
	CHECK(!vigil_budget_finish(&b, &t, &n));
	vigil_budget_init(&b, 0, 0.1);
	CHECK(!vigil_budget_finish(&b, &t, &n));
}

int
main(void)
{
	RUN(sklearn_example);
	RUN(ties_are_one_group);
	RUN(random_against_definitions);
	RUN(perfect_and_one_class);
	RUN(refuses_disorder);
	RUN(budget_nearest);
	RUN(budget_none);
	return UNIT_DONE();
}
