/*
 * trees.c
 *		Gradient-boosted tree ensembles: evaluation and byte form (see
 *		trees.h).
 *
 * The byte form sits in a table an administrator can UPDATE, so decoding
 * trusts nothing: every count, index and value is checked before the
 * ensemble is used, and the checks are the ones vigil_trees_valid makes on
 * an ensemble built in memory, so both paths accept the same models.
 * Evaluation then needs no check at all, which keeps it cheap enough for a
 * trigger that runs on every inserted row.
 */
#include "detect/core/trees.h"

#include <math.h>
#include <string.h>

static const uint8_t magic[4] = {'V', 'G', 'T', '2'};

/* Set *why, when the caller wants a reason. */
static inline bool
refuse(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return false;
}

/* Clear *why on success, so a caller never reads a stale reason. */
static inline bool
succeed(const char **why)
{
	if (why != NULL)
		*why = NULL;
	return true;
}

/* A little-endian uint32, whatever the host's byte order. */
static inline uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 |
		(uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/*
 * A little-endian int32 in two's complement, converted without relying on
 * the implementation-defined conversion of an out-of-range unsigned value.
 */
static inline int32_t
get_i32(const uint8_t *p)
{
	uint32_t	u = get_u32(p);

	return u <= (uint32_t) INT32_MAX ? (int32_t) u :
		(int32_t) (u - 0x80000000u) + INT32_MIN;
}

/* A float32 from its IEEE bits: memcpy keeps every bit pattern as is. */
static inline float
get_f32(const uint8_t *p)
{
	uint32_t	u = get_u32(p);
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* Write a uint32 little-endian. */
static inline void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

/* Write a float32's IEEE bits little-endian. */
static inline void
put_f32(uint8_t *p, float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof(u));
	put_u32(p, u);
}

/*
 * Check one node, the idx'th of t's.  Its cover is a weight (of the rows
 * that reached the node): finite and not negative.  Children must come
 * after their parent: XGBoost numbers every child after its parent, and it
 * is what makes each path from a root strictly increasing, hence finite, so
 * that evaluation can follow indexes without counting steps or detecting
 * cycles.
 */
static bool
node_valid(const VigilTrees *t, int32_t idx, const char **why)
{
	const VigilTreeNode *n = &t->nodes[idx];

	if (!isfinite(n->cover))
		return refuse(why, "a node's cover is not finite");
	if (n->cover < 0.0f)
		return refuse(why, "a node's cover is negative");
	if (n->feature < -1)
		return refuse(why, "a node's feature is below -1");
	if (n->feature == -1)
	{
		if (n->left != -1 || n->right != -1)
			return refuse(why, "a leaf has children");
		if (!isfinite(n->value))
			return refuse(why, "a leaf value is not finite");
		return true;
	}
	if (n->feature >= t->nfeatures)
		return refuse(why, "a split's feature is out of range");
	/* a NaN threshold would send every present value right, silently */
	if (!isfinite(n->value))
		return refuse(why, "a split threshold is not finite");
	if (n->left <= idx || n->right <= idx)
		return refuse(why, "a child's index is not after its parent's");
	if (n->left >= t->nnodes || n->right >= t->nnodes)
		return refuse(why, "a child's index is out of range");
	return true;
}

/*
 * Check that t's nodes are laid out as xgboost.c lays them out: the trees
 * one after the other in root order, nothing between or after them, each
 * breadth first, so that the children of a tree's inner nodes, taken in
 * index order, are the nodes after its root, two by two.  Then each node
 * is one root or the child of one node, and is reached from its root only:
 * a walk of every branch of every tree (contributions) visits nnodes nodes,
 * where a shared subtree could make it visit exponentially many, and a
 * tree's levels are runs of nodes (vigil_trees_max_depth).  Nodes are known
 * to be valid, children within range.
 */
static bool
layout_valid(const VigilTrees *t, const char **why)
{
	int32_t		end = 0;		/* where the next tree must start */

	for (int32_t k = 0; k < t->ntrees; k++)
	{
		int32_t		next;		/* the left child the next inner node must have */

		if (t->roots[k] != end)
			return refuse(why, "a tree does not start where the one before it ends");
		next = end + 1;
		for (int32_t i = end; i < next; i++)
		{
			const VigilTreeNode *n = &t->nodes[i];

			if (n->feature == -1)
				continue;
			if (n->left != next || n->right != next + 1)
				return refuse(why, "a tree's nodes are not in breadth-first order");
			next += 2;
		}
		end = next;
	}
	if (end != t->nnodes)
		return refuse(why, "nodes are left over after the last tree");
	return true;
}

/*
 * Whether t is an ensemble that evaluation can walk safely and whose
 * margins are finite: counts in range, roots and children in range,
 * children after parents, features in range, finite values and covers
 * (covers >= 0), trees laid out breadth first, and leaf values within
 * VIGIL_TREES_MAX_MARGIN (see trees.h).
 */
bool
vigil_trees_valid(const VigilTrees *t, const char **why)
{
	double		max_leaf = 0.0;

	if (t->nfeatures < 1 || t->nfeatures > VIGIL_TREES_MAX_FEATURES)
		return refuse(why, "the feature count is out of range");
	if (t->ntrees < 1 || t->ntrees > VIGIL_TREES_MAX_TREES)
		return refuse(why, "the tree count is out of range");
	if (t->nnodes < t->ntrees || t->nnodes > VIGIL_TREES_MAX_NODES)
		return refuse(why, "the node count is out of range");
	if (!isfinite(t->base_margin))
		return refuse(why, "the base margin is not finite");
	for (int32_t i = 0; i < t->ntrees; i++)
	{
		if (t->roots[i] < 0 || t->roots[i] >= t->nnodes)
			return refuse(why, "a root is out of range");
	}
	for (int32_t i = 0; i < t->nnodes; i++)
	{
		if (!node_valid(t, i, why))
			return false;
		if (t->nodes[i].feature == -1 && fabs((double) t->nodes[i].value) > max_leaf)
			max_leaf = fabs((double) t->nodes[i].value);
	}
	if (!layout_valid(t, why))
		return false;
	/* exact enough in double: the bound has a wide margin below FLT_MAX */
	if (fabs((double) t->base_margin) + (double) t->ntrees * max_leaf > VIGIL_TREES_MAX_MARGIN)
		return refuse(why, "the leaf values are large enough to overflow a margin");
	return succeed(why);
}

/*
 * XGBoost's raw margin of the feature vector x (t->nfeatures floats, NaN
 * for a missing value).  Each tree's leaf is added in tree order in float,
 * as XGBoost 1.7's CPU predictor adds into its bst_float predictions.
 */
float
vigil_trees_margin(const VigilTrees *t, const float *x)
{
	const VigilTreeNode *nodes = t->nodes;
	const int32_t *roots = t->roots;
	int32_t		ntrees = t->ntrees;
	float		margin = t->base_margin;

	for (int32_t i = 0; i < ntrees; i++)
	{
		const VigilTreeNode *n = &nodes[roots[i]];

		while (n->feature >= 0)
		{
			float		v = x[n->feature];

			/* as XGBoost's GetNextNode: missing first, then v < threshold */
			if (isnan(v))
				n = &nodes[n->default_left ? n->left : n->right];
			else
				n = &nodes[v < n->value ? n->left : n->right];
		}
		margin += n->value;
	}
	return margin;
}

/*
 * binary:logistic's transformation of a margin into a probability, as
 * XGBoost 1.7's common::Sigmoid computes it in float: the exponent capped
 * at 88.7 (expf's overflow is near 88.72), and an epsilon added to the
 * denominator that is too small to change a float >= 1 but is kept so the
 * arithmetic is XGBoost's step for step.  In [0, 1] for every margin but
 * NaN.
 */
double
vigil_trees_sigmoid(float margin)
{
	const float eps = (float) 1e-16;
	float		e = 88.7f < -margin ? 88.7f : -margin;	/* std::min(-x, 88.7f) */
	float		denom = expf(e) + 1.0f + eps;

	return (double) (1.0f / denom);
}

/* The probability XGBoost's binary:logistic predicts for x. */
double
vigil_trees_probability(const VigilTrees *t, const float *x)
{
	return vigil_trees_sigmoid(vigil_trees_margin(t, x));
}

/* Bytes of t's byte form; t must be valid (the size is then below 2^29). */
size_t
vigil_trees_size(const VigilTrees *t)
{
	return VIGIL_TREES_HEADER_SIZE + 4 * (size_t) t->ntrees +
		VIGIL_TREES_NODE_SIZE * (size_t) t->nnodes;
}

/* Write t's byte form, exactly vigil_trees_size(t) bytes, to out. */
void
vigil_trees_write(const VigilTrees *t, uint8_t *out)
{
	uint8_t    *p = out;

	memcpy(p, magic, sizeof(magic));
	put_u32(p + 4, (uint32_t) t->nfeatures);
	put_u32(p + 8, (uint32_t) t->ntrees);
	put_u32(p + 12, (uint32_t) t->nnodes);
	put_f32(p + 16, t->base_margin);
	p += VIGIL_TREES_HEADER_SIZE;
	for (int32_t i = 0; i < t->ntrees; i++, p += 4)
		put_u32(p, (uint32_t) t->roots[i]);
	for (int32_t i = 0; i < t->nnodes; i++, p += VIGIL_TREES_NODE_SIZE)
	{
		const VigilTreeNode *n = &t->nodes[i];

		put_u32(p, (uint32_t) n->feature);
		put_f32(p + 4, n->value);
		put_u32(p + 8, (uint32_t) n->left);
		put_u32(p + 12, (uint32_t) n->right);
		put_u32(p + 16, n->default_left ? VIGIL_TREES_DEFAULT_LEFT : 0);
		put_f32(p + 20, n->cover);
	}
}

/*
 * The number of roots and nodes that the len bytes at data hold, for the
 * caller to allocate vigil_trees_decode's arrays.  Checks the header and
 * that the length is exactly what the counts imply, nothing more.
 */
bool
vigil_trees_counts(const uint8_t *data, size_t len, int32_t *ntrees, int32_t *nnodes,
				   const char **why)
{
	uint32_t	nf,
				nt,
				nn;
	uint64_t	need;

	if (len < VIGIL_TREES_HEADER_SIZE)
		return refuse(why, "shorter than a tree ensemble's header");
	if (memcmp(data, magic, sizeof(magic)) != 0)
		return refuse(why, "not a tree ensemble (bad magic)");
	nf = get_u32(data + 4);
	nt = get_u32(data + 8);
	nn = get_u32(data + 12);
	if (nf < 1 || nf > VIGIL_TREES_MAX_FEATURES)
		return refuse(why, "the feature count is out of range");
	if (nt < 1 || nt > VIGIL_TREES_MAX_TREES)
		return refuse(why, "the tree count is out of range");
	if (nn < nt || nn > VIGIL_TREES_MAX_NODES)
		return refuse(why, "the node count is out of range");

	/*
	 * The counts are bounded now, so this cannot wrap even in 32 bits; 64
	 * bits keep it so should the bounds ever grow.
	 */
	need = VIGIL_TREES_HEADER_SIZE + 4 * (uint64_t) nt + VIGIL_TREES_NODE_SIZE * (uint64_t) nn;
	if ((uint64_t) len < need)
		return refuse(why, "shorter than its counts imply (truncated)");
	if ((uint64_t) len > need)
		return refuse(why, "longer than its counts imply (trailing bytes)");
	*ntrees = (int32_t) nt;
	*nnodes = (int32_t) nn;
	return succeed(why);
}

/*
 * Decode the len bytes at data into t, whose roots and nodes become the
 * caller's arrays (of the sizes vigil_trees_counts gave).  On failure the
 * arrays may have been written to, and t must not be used.
 */
bool
vigil_trees_decode(const uint8_t *data, size_t len, VigilTrees *t, int32_t *roots,
				   VigilTreeNode *nodes, const char **why)
{
	const uint8_t *p;
	int32_t		ntrees,
				nnodes;

	if (!vigil_trees_counts(data, len, &ntrees, &nnodes, why))
		return false;
	t->nfeatures = (int32_t) get_u32(data + 4);
	t->ntrees = ntrees;
	t->nnodes = nnodes;
	t->base_margin = get_f32(data + 16);
	t->roots = roots;
	t->nodes = nodes;

	p = data + VIGIL_TREES_HEADER_SIZE;
	for (int32_t i = 0; i < ntrees; i++, p += 4)
		roots[i] = get_i32(p);	/* one of 2^31 or more turns negative: refused */
	for (int32_t i = 0; i < nnodes; i++, p += VIGIL_TREES_NODE_SIZE)
	{
		uint32_t	flags = get_u32(p + 16);

		/* unknown bits would be lost on writing, and may mean a newer form */
		if ((flags & ~VIGIL_TREES_DEFAULT_LEFT) != 0)
			return refuse(why, "a node has unknown flag bits");
		nodes[i].feature = get_i32(p);
		nodes[i].value = get_f32(p + 4);
		nodes[i].left = get_i32(p + 8);
		nodes[i].right = get_i32(p + 12);
		nodes[i].default_left = (flags & VIGIL_TREES_DEFAULT_LEFT) != 0;
		nodes[i].cover = get_f32(p + 20);
	}
	return vigil_trees_valid(t, why);
}
