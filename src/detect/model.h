/*
 * model.h
 *		A watch's learned model (vigil.models) as detection and replay score
 *		with it: its trees and category codes, loaded once per backend.
 */
#ifndef VIGIL_MODEL_H
#define VIGIL_MODEL_H

#include "postgres.h"

#include "detect/core/profile.h"
#include "detect/core/trees.h"

/* A model ready to score rows. */
typedef struct VigilModel
{
	int64		id;
	VigilTrees	trees;
	uint64	   *categories;		/* the codes: category hashes in ascending order */
	int			ncategories;
} VigilModel;

extern VigilModel *vigil_model_load_state(int32 watch_id, const char *state,
										  MemoryContext mcxt);
extern VigilModel *vigil_model_load_id(int64 id, int32 watch_id, MemoryContext mcxt);
extern double vigil_model_probability(const VigilModel *m, const VigilProfile *before,
									  const VigilEvent *e);

#endif							/* VIGIL_MODEL_H */
