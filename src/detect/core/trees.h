/*
 * trees.h
 *		Gradient-boosted tree ensembles trained by XGBoost (binary:logistic):
 *		evaluation for every inserted row, and a byte form to store them.
 *
 * Evaluation follows XGBoost 1.7's CPU predictor exactly, so that a row
 * scores inside the database as it scored when the model was validated:
 *
 *	- at an inner node a missing feature (NaN) takes the node's default
 *	  branch, any other value goes left when x[feature] < value compared in
 *	  float32 (so a value equal to the threshold goes right, as do +inf and
 *	  a value that only equals it after rounding to float);
 *	- the margin starts from base_margin and adds each tree's leaf in tree
 *	  order, in float arithmetic (XGBoost accumulates in bst_float);
 *	- the probability is common::Sigmoid of the margin, in float.
 *
 * Evaluation allocates nothing and takes no lock: it walks arrays that the
 * caller owns.  It is safe on any VigilTrees that vigil_trees_valid accepts,
 * whatever bytes it was decoded from, because every child's index is
 * greater than its parent's (XGBoost numbers children after their parents),
 * so every path ends at a leaf within nnodes steps.  Validity also bounds
 * the leaf values so that no margin overflows float: margins are finite.
 * And it requires the layout xgboost.c gives: the trees one after the
 * other, each breadth first (the children of its inner nodes, in index
 * order, are the nodes after its root two by two), so that every node
 * belongs to one tree and has one parent.
 *
 * Each node also keeps its cover: XGBoost's sum_hessian, the hessian of the
 * training rows that reached it, which the features' contributions weigh
 * the branches a row does not take by.  Covers are finite and >= 0; the
 * children's covers sum to their parent's only as nearly as float sums do,
 * and nothing here relies on more.
 *
 * Contributions (vigil_trees_contributions) split a row's margin among its
 * features: XGBoost 1.7's pred_contribs, the exact TreeSHAP of Lundberg et
 * al. ("Consistent individualized feature attribution for tree ensembles",
 * Algorithm 2), computed as its CPU predictor computes it, in float and in
 * the same order, so that they are XGBoost's bit for bit (as they were on
 * every value compared with libxgboost 1.7.4's):
 *
 *	- phi[f] is feature f's Shapley value in the game whose value for a set
 *	  S of features is the sum over the trees of each tree's expectation
 *	  when splits on features of S follow x and splits on the others weigh
 *	  both branches by their covers; each tree's are summed apart, then
 *	  added to phi in tree order;
 *	- at a split on a missing feature x follows the default branch, as in
 *	  evaluation;
 *	- a node's mean is its leaf value, or its children's means weighed by
 *	  their covers and divided by its own cover (FillNodeMeanValues), and
 *	  phi[nfeatures], the bias, is the sum of the roots' means in tree
 *	  order, then base_margin.
 *
 * The phi sum to the margin up to float rounding (exactly in real numbers).
 * They are finite when covers are as XGBoost writes them (children's sum
 * near their parent's, no inner node of cover 0); other covers, which only
 * a hand-made ensemble has, can make them infinite or NaN.  The work is
 * bounded: each node of each tree is visited once (the layout guarantees
 * it), with O(depth) arithmetic at an inner node and O(depth^2) at a leaf.
 * Computing them allocates nothing: the caller gives them node means
 * (vigil_trees_node_means, once per ensemble) and a workspace of
 * vigil_trees_workspace_size bytes for the ensemble's depth
 * (vigil_trees_max_depth):
 *
 *		16 x (depth + 1) x (depth + 2) / 2 + 24 x (depth + 1) + 4 x nfeatures
 *
 * (the path of every level of a tree, a stack of branches still to walk,
 * and the contributions of one tree).
 *
 * The byte form ("VGT2") is little-endian and independent of struct layout:
 *
 *		"VGT2", uint32 nfeatures, uint32 ntrees, uint32 nnodes,
 *		float32 base_margin, ntrees x uint32 root,
 *		nnodes x (int32 feature, float32 value, int32 left, int32 right,
 *				  uint32 flags: bit 0 = default_left, other bits 0,
 *				  float32 cover)
 *
 * A leaf has feature -1 and left = right = -1; its default_left is kept but
 * never used.  Decoding is in two steps so that the caller allocates (with
 * palloc): vigil_trees_counts gives the array sizes, vigil_trees_decode
 * fills the caller's arrays.  Every function that can refuse returns false
 * with a short static English reason in *why (when why is not NULL), and
 * sets *why to NULL on success.
 */
#ifndef VIGIL_TREES_H
#define VIGIL_TREES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIGIL_TREES_MAX_FEATURES 1024
#define VIGIL_TREES_MAX_TREES 100000
#define VIGIL_TREES_MAX_NODES (1 << 24)

/*
 * Bound on |base_margin| + ntrees x (largest |leaf value|): with it, float
 * rounding over at most VIGIL_TREES_MAX_TREES additions (each at most a
 * factor 1 + 2^-24) keeps every margin below 1.01e38 < FLT_MAX.  Real
 * models are more than thirty orders of magnitude below it.
 */
#define VIGIL_TREES_MAX_MARGIN 1e38

/* Bytes of the byte form's header (magic and counts), and of a node. */
#define VIGIL_TREES_HEADER_SIZE 20
#define VIGIL_TREES_NODE_SIZE 24

/* Bit 0 of a node's flags in the byte form: missing values go left. */
#define VIGIL_TREES_DEFAULT_LEFT 0x1u

/* One node: an inner node splits, a leaf (feature -1) gives a value. */
typedef struct VigilTreeNode
{
	int32_t		feature;		/* index of the feature split on; -1: a leaf */
	float		value;			/* the split threshold, or the leaf's value */
	int32_t		left;			/* taken when x[feature] < value (an index
								 * into nodes); -1 in a leaf */
	int32_t		right;			/* taken otherwise; -1 in a leaf */
	bool		default_left;	/* a missing feature (NaN) goes left, else right */
	float		cover;			/* XGBoost's sum_hessian of the node */
} VigilTreeNode;

/* An ensemble: trees whose nodes all sit in one array. */
typedef struct VigilTrees
{
	int32_t		nfeatures;		/* length of the feature vectors */
	int32_t		ntrees;
	int32_t		nnodes;
	float		base_margin;	/* the margin before the first tree */
	const int32_t *roots;		/* ntrees indexes into nodes */
	const VigilTreeNode *nodes; /* nnodes */
} VigilTrees;

extern bool vigil_trees_valid(const VigilTrees *t, const char **why);
extern float vigil_trees_margin(const VigilTrees *t, const float *x);
extern double vigil_trees_sigmoid(float margin);
extern double vigil_trees_probability(const VigilTrees *t, const float *x);

extern int32_t vigil_trees_max_depth(const VigilTrees *t);
extern void vigil_trees_node_means(const VigilTrees *t, float *means);
extern size_t vigil_trees_workspace_size(const VigilTrees *t, int32_t max_depth);
extern void vigil_trees_contributions(const VigilTrees *t, const float *means,
									  int32_t max_depth, const float *x, void *workspace,
									  float *phi);

extern size_t vigil_trees_size(const VigilTrees *t);
extern void vigil_trees_write(const VigilTrees *t, uint8_t *out);
extern bool vigil_trees_counts(const uint8_t *data, size_t len, int32_t *ntrees,
							   int32_t *nnodes, const char **why);
extern bool vigil_trees_decode(const uint8_t *data, size_t len, VigilTrees *t,
							   int32_t *roots, VigilTreeNode *nodes, const char **why);

#endif							/* VIGIL_TREES_H */
