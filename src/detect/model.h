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

/*
 * A model ready to score rows, and to explain a score: means and max_depth
 * are what vigil_trees_contributions needs besides its workspace
 * (vigil_trees_workspace_size(&trees, max_depth) bytes).
 */
typedef struct VigilModel
{
	int64		id;
	VigilTrees	trees;
	float	   *means;			/* each node's mean (vigil_trees_node_means) */
	int32		max_depth;		/* the deepest leaf's depth (vigil_trees_max_depth) */
	uint64	   *categories;		/* the codes: category hashes in ascending order */
	int			ncategories;
} VigilModel;

extern VigilModel *vigil_model_load_state(int32 watch_id, const char *state,
										  MemoryContext mcxt);
extern VigilModel *vigil_model_load_id(int64 id, int32 watch_id, MemoryContext mcxt);
extern double vigil_model_probability(const VigilModel *m, const VigilProfile *before,
									  const VigilEvent *e);
extern void vigil_model_contributions(const VigilModel *m, const VigilProfile *before,
									  const VigilEvent *e, float *x, float *phi);

#endif							/* VIGIL_MODEL_H */
