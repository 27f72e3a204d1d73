/*
 * evaluate.h
 *		Labels of a watched table's rows and rankings of their scores, for
 *		evaluation (evaluate.c) and tuning (tune.c).
 */
#ifndef VIGIL_EVALUATE_H
#define VIGIL_EVALUATE_H

#include "postgres.h"

#include "fmgr.h"
#include "executor/tuptable.h"
#include "utils/tuplesort.h"

#include "detect/replay.h"

/* A label column: boolean, or an integer that is 0 or 1. */
typedef struct VigilLabel
{
	const char *name;
	AttrNumber	attnum;
	Oid			type;			/* BOOLOID, INT2OID, INT4OID or INT8OID */
} VigilLabel;

/* Scores with their labels, sorted from the highest down. */
typedef struct ScoreSort
{
	Tuplesortstate *sort;
	TupleTableSlot *slot;		/* (negated score float8, label bool), minimal */
} ScoreSort;

/* Ranking measures of a ScoreSort, once every row is in. */
typedef struct Ranked
{
	double		average_precision;	/* NAN when undefined */
	double		roc_auc;
} Ranked;

extern void vigil_score_sort_begin(ScoreSort *s, int share);
extern void vigil_score_sort_put(ScoreSort *s, double score, bool label);
extern Ranked vigil_score_sort_rank(ScoreSort *s);
extern void vigil_label_check(VigilLabel *label, Relation rel, const char *name);
extern void vigil_label_find(VigilLabel *label, VigilPass *p, FunctionCallInfo fcinfo, int argno);
extern bool vigil_label_read(const VigilLabel *label, TupleTableSlot *slot, bool *positive);

#endif							/* VIGIL_EVALUATE_H */
