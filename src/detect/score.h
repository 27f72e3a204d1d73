/*
 * score.h
 *		Scoring one event against a watch's rules, and explaining the score.
 */
#ifndef VIGIL_SCORE_H
#define VIGIL_SCORE_H

#include "postgres.h"

#include "utils/array.h"
#include "utils/jsonb.h"

#include "detect/model.h"
#include "detect/rule_table.h"

/* An alert's explanation details at most this many of the rules that fired. */
#define VIGIL_EXPLAIN_MAX 8

/* A model's entry names at most this many of the features behind its probability. */
#define VIGIL_EXPLAIN_FEATURES 5

/*
 * A watch's rules and model, and the findings of the event scored last.
 * model is NULL when the watch has no active model or no enabled rule of
 * kind model: then nothing computes a feature.
 */
typedef struct VigilScorer
{
	VigilModel *model;
	double		probability;	/* the model's, for the event scored last; NaN: none */
	unsigned	inputs;			/* what the watch's events carry (VIGIL_INPUT_*) */
	VigilRule  *rules;
	char	  **names;			/* rules[i] is called names[i] */
	int			nrules;
	VigilFinding *findings;		/* one per rule */
	int		   *order;			/* vigil_rules_plan's, for vigil_score_decide */
	int			nplan;
	double	   *rest;
} VigilScorer;

extern void vigil_scorer_init(VigilScorer *s, int32 watch_id, unsigned inputs,
							  MemoryContext mcxt);
extern bool vigil_scorer_init_shadow(VigilScorer *s, int32 watch_id, unsigned inputs,
									 MemoryContext mcxt);
extern void vigil_scorer_use_model(VigilScorer *s, int32 watch_id, int64 model_id,
								   MemoryContext mcxt);
extern const VigilEvent *vigil_scorer_event(VigilScorer *s, const VigilProfile *before,
											const VigilEvent *e, VigilEvent *copy);
extern double vigil_score(VigilScorer *s, const VigilProfile *before, const VigilEvent *e);
extern double vigil_score_decide(VigilScorer *s, const VigilProfile *before,
								 const VigilEvent *e, double threshold);
extern Jsonb *vigil_explain(VigilScorer *s, const VigilProfile *before, const VigilEvent *e);
extern ArrayType *vigil_fired_array(const VigilScorer *s);

#endif							/* VIGIL_SCORE_H */
