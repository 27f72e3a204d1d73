/*
 * trees.c
 *		Gradient-boosted tree ensembles: evaluation, contributions and byte
 *		form (see trees.h).
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

/*
 * The depth of t's deepest leaf (a root is at depth 0); t must be valid.
 * In a tree laid out breadth first each level is a run of nodes, and the
 * next level is the two children of each of its inner nodes, the run
 * right after it: counting levels needs no memory.
 */
int32_t
vigil_trees_max_depth(const VigilTrees *t)
{
	int32_t		max = 0;

	for (int32_t k = 0; k < t->ntrees; k++)
	{
		int32_t		first = t->roots[k],
					last = first,
					depth = 0;

		for (;;)
		{
			int32_t		inner = 0;

			for (int32_t i = first; i <= last; i++)
				inner += t->nodes[i].feature >= 0;
			if (inner == 0)
				break;
			first = last + 1;
			last += 2 * inner;
			depth++;
		}
		if (depth > max)
			max = depth;
	}
	return max;
}

/*
 * Each node's mean into means (t->nnodes floats): its leaf value, or its
 * children's means weighed by their covers, over its own cover.  As XGBoost's
 * FillNodeMeanValues in float, step for step; children come after their
 * parent, so going backwards finds theirs ready.
 */
void
vigil_trees_node_means(const VigilTrees *t, float *means)
{
	for (int32_t i = t->nnodes - 1; i >= 0; i--)
	{
		const VigilTreeNode *n = &t->nodes[i];
		float		m;

		if (n->feature == -1)
		{
			means[i] = n->value;
			continue;
		}
		m = means[n->left] * t->nodes[n->left].cover;
		m += means[n->right] * t->nodes[n->right].cover;
		m /= n->cover;
		means[i] = m;
	}
}

/*
 * One element of TreeSHAP's path of unique features: the feature split on
 * (-1 for the root's), the share of the parent's cover that goes its way
 * when the feature is not known ("zero"), whether the row goes its way when
 * it is ("one", 0 or 1), and the weight of the subsets of the path's
 * features that have this element's position (pweight in XGBoost).
 */
typedef struct PathElement
{
	int32_t		feature;
	float		zero;
	float		one;
	float		weight;
} PathElement;

/*
 * A node still to visit, as XGBoost's TreeShap is called for it: its
 * level in the tree (which path slot is its), the length its unique path
 * will have less one, and the feature and fractions its parent adds.
 */
typedef struct ShapStep
{
	int32_t		node;
	int32_t		level;
	int32_t		depth;
	int32_t		feature;
	float		zero;
	float		one;
} ShapStep;

/* Path elements for the levels 0 to max_depth: level l's path holds l + 1. */
static inline size_t
path_slots(int32_t max_depth)
{
	return ((size_t) max_depth + 1) * ((size_t) max_depth + 2) / 2;
}

/*
 * Bytes of workspace vigil_trees_contributions needs for t, whose depth is
 * at most max_depth (as vigil_trees_max_depth gives); for a valid t it is
 * below 2^50.
 */
size_t
vigil_trees_workspace_size(const VigilTrees *t, int32_t max_depth)
{
	return sizeof(PathElement) * path_slots(max_depth) +
		sizeof(ShapStep) * ((size_t) max_depth + 1) + sizeof(float) * (size_t) t->nfeatures;
}

/*
 * Extend path, whose elements are 0 to depth - 1, by element depth: the
 * feature, and its zero and one fractions (XGBoost's ExtendPath).
 */
static void
extend_path(PathElement *path, int32_t depth, float zero, float one, int32_t feature)
{
	path[depth].feature = feature;
	path[depth].zero = zero;
	path[depth].one = one;
	path[depth].weight = depth == 0 ? 1.0f : 0.0f;
	for (int32_t i = depth - 1; i >= 0; i--)
	{
		path[i + 1].weight += one * path[i].weight * (float) (i + 1) / (float) (depth + 1);
		path[i].weight = zero * path[i].weight * (float) (depth - i) / (float) (depth + 1);
	}
}

/*
 * Undo the extension by element index of path, whose elements are 0 to
 * depth (XGBoost's UnwindPath): the weights become what they would have
 * been without it, and the elements after it move down one.  A one
 * fraction is 0 or 1; where it is 0 the zero fraction divides, and is 0
 * only below an inner node of cover 0, whose contributions are NaN anyway
 * (XGBoost's too).
 */
static void
unwind_path(PathElement *path, int32_t depth, int32_t index)
{
	float		one = path[index].one;
	float		zero = path[index].zero;
	float		next = path[depth].weight;

	for (int32_t i = depth - 1; i >= 0; i--)
	{
		if (one != 0.0f)
		{
			float		w = path[i].weight;

			path[i].weight = next * (float) (depth + 1) / ((float) (i + 1) * one);
			next = w - path[i].weight * zero * (float) (depth - i) / (float) (depth + 1);
		}
		else
			path[i].weight = path[i].weight * (float) (depth + 1) /
				(zero * (float) (depth - i));
	}
	for (int32_t i = index; i < depth; i++)
	{
		path[i].feature = path[i + 1].feature;
		path[i].zero = path[i + 1].zero;
		path[i].one = path[i + 1].one;
	}
}

/*
 * The total weight path, whose elements are 0 to depth, would have with
 * element index unwound, without unwinding it (XGBoost's UnwoundPathSum).
 * Where both fractions are 0 every weight is 0 (XGBoost checks it), and
 * so is the sum.
 */
static float
unwound_path_sum(const PathElement *path, int32_t depth, int32_t index)
{
	float		one = path[index].one;
	float		zero = path[index].zero;
	float		next = path[depth].weight;
	float		total = 0.0f;

	for (int32_t i = depth - 1; i >= 0; i--)
	{
		if (one != 0.0f)
		{
			float		w = next * (float) (depth + 1) / ((float) (i + 1) * one);

			total += w;
			next = path[i].weight - w * zero * ((float) (depth - i) / (float) (depth + 1));
		}
		else if (zero != 0.0f)
			total += (path[i].weight / zero) / ((float) (depth - i) / (float) (depth + 1));
	}
	return total;
}

/*
 * Add the contributions of the tree at root to phi (XGBoost's TreeShap,
 * with no condition).  XGBoost recurses into the row's child, then the
 * other; here a stack of the nodes still to visit, in the workspace rather
 * than on the C stack, keeps that order, so that phi sums in it.  Each
 * level of the tree has its slot of paths: a node's path is its parent's
 * (one level up, intact until both the parent's children are done),
 * extended by the parent's split.
 */
static void
tree_shap(const VigilTrees *t, const float *x, int32_t root, PathElement *paths,
		  ShapStep *stack, float *phi)
{
	int32_t		top = 0;

	stack[top++] = (ShapStep) {root, 0, 0, -1, 1.0f, 1.0f};
	while (top > 0)
	{
		ShapStep	s = stack[--top];
		const VigilTreeNode *n = &t->nodes[s.node];
		PathElement *path = paths + (size_t) s.level * ((size_t) s.level + 1) / 2;
		int32_t		depth = s.depth;
		int32_t		hot,
					cold,
					index;
		float		v,
					hot_zero,
					cold_zero,
					zero = 1.0f,
					one = 1.0f;

		if (s.level > 0)
			memcpy(path, path - s.level, sizeof(PathElement) * (size_t) depth);
		extend_path(path, depth, s.zero, s.one, s.feature);

		if (n->feature == -1)
		{
			for (int32_t i = 1; i <= depth; i++)
			{
				float		w = unwound_path_sum(path, depth, i);

				phi[path[i].feature] += w * (path[i].one - path[i].zero) * n->value;
			}
			continue;
		}

		/* the row's branch, as evaluation takes it */
		v = x[n->feature];
		if (isnan(v))
			hot = n->default_left ? n->left : n->right;
		else
			hot = v < n->value ? n->left : n->right;
		cold = hot == n->left ? n->right : n->left;
		hot_zero = t->nodes[hot].cover / n->cover;
		cold_zero = t->nodes[cold].cover / n->cover;

		/* a feature already split on above: undo that split, redo it here */
		for (index = 0; index <= depth; index++)
			if (path[index].feature == n->feature)
				break;
		if (index <= depth)
		{
			zero = path[index].zero;
			one = path[index].one;
			unwind_path(path, depth, index);
			depth--;
		}

		stack[top++] = (ShapStep) {cold, s.level + 1, depth + 1, n->feature, cold_zero * zero, 0.0f};
		stack[top++] = (ShapStep) {hot, s.level + 1, depth + 1, n->feature, hot_zero * zero, one};
	}
}

/*
 * The contributions of x's features to its margin into phi (t->nfeatures
 * + 1 floats, the bias last), as XGBoost 1.7's pred_contribs gives them;
 * see trees.h.  means are vigil_trees_node_means's for t, max_depth at
 * least vigil_trees_max_depth's, and workspace, aligned as malloc aligns,
 * holds vigil_trees_workspace_size(t, max_depth) bytes.
 */
void
vigil_trees_contributions(const VigilTrees *t, const float *means, int32_t max_depth,
						  const float *x, void *workspace, float *phi)
{
	PathElement *paths = workspace;
	ShapStep   *stack = (ShapStep *) (paths + path_slots(max_depth));
	float	   *tree_phi = (float *) (stack + max_depth + 1);
	float		bias = 0.0f;

	for (int32_t f = 0; f < t->nfeatures; f++)
		phi[f] = 0.0f;
	for (int32_t k = 0; k < t->ntrees; k++)
	{
		bias += means[t->roots[k]];
		for (int32_t f = 0; f < t->nfeatures; f++)
			tree_phi[f] = 0.0f;
		tree_shap(t, x, t->roots[k], paths, stack, tree_phi);
		for (int32_t f = 0; f < t->nfeatures; f++)
			phi[f] += tree_phi[f];
	}
	phi[t->nfeatures] = bias + t->base_margin;
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
