/*
 * fuzz_trees.c
 *		libFuzzer target: tree ensembles' byte form as vigil stores it
 *		(vigil_trees_counts, vigil_trees_decode in detect/core/trees.c), and
 *		the evaluation of whatever ensemble is accepted.
 *
 * Input: an ensemble's bytes, then feature vectors.  The ensemble is the
 * prefix as long as its header says (the whole input when the header says
 * nothing usable), so that mutations of the rest do not spoil it.  Counts
 * and decode must agree and give a reason when they refuse; an accepted
 * ensemble is valid and writes back exactly the bytes it came from; and
 * every feature vector, NaN and infinities included, gets a finite margin,
 * reached within nnodes steps per tree and at most vigil_trees_max_depth
 * steps, and a probability in [0, 1].  The first few vectors also get their
 * contributions, computed in a workspace of exactly the size asked (the
 * sanitizers catch a step outside it); with covers as XGBoost writes them
 * and trees no deeper than vigil.train's, those must sum to the margin.
 */
#include "detect/core/trees.h"
#include "fuzz.h"

/* Feature vectors evaluated per input, at most. */
#define MAX_VECTORS 64

/* Feature vectors whose contributions are computed, at most. */
#define MAX_EXPLAINED 4

/* Deepest trees whose contributions must sum to the margin (vigil.train's). */
#define MAX_CHECKED_DEPTH 16

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A little-endian uint32 of the input. */
static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 |
		(uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/*
 * The next feature value: a small decimal, NaN (any payload), an infinity,
 * any 32 bits, or a split threshold of the ensemble or the float below it,
 * so that both sides of every comparison are reached.
 */
static float
fuzz_feature(FuzzIn *in, const VigilTrees *t)
{
	uint8_t		tag = fuzz_u8(in);
	uint32_t	bits;
	float		f;

	switch (tag % 6)
	{
		case 0:
			return (float) ((int16_t) fuzz_u16(in) / 100.0);
		case 1:
			bits = 0x7FC00000u | (uint32_t) fuzz_u16(in) | (tag & 0x80 ? 0x80000000u : 0);
			memcpy(&f, &bits, sizeof(f));
			return f;
		case 2:
			return (tag & 0x80) ? -INFINITY : INFINITY;
		case 3:
			bits = (uint32_t) fuzz_u16(in);
			bits |= (uint32_t) fuzz_u16(in) << 16;
			memcpy(&f, &bits, sizeof(f));
			return f;
		case 4:
			return t->nodes[fuzz_u16(in) % t->nnodes].value;
		default:
			return nextafterf(t->nodes[fuzz_u16(in) % t->nnodes].value, -INFINITY);
	}
}

/*
 * The margin again, walking each tree with a step count: every path must
 * end within nnodes steps, as children come after their parents, and
 * within max_depth.
 */
static float
counted_margin(const VigilTrees *t, const float *x, int32_t max_depth)
{
	float		margin = t->base_margin;

	for (int32_t i = 0; i < t->ntrees; i++)
	{
		int32_t		k = t->roots[i],
					steps = 0;

		while (t->nodes[k].feature >= 0)
		{
			const VigilTreeNode *n = &t->nodes[k];

			FUZZ_CHECK(++steps < t->nnodes);
			FUZZ_CHECK(steps <= max_depth);
			if (isnan(x[n->feature]))
				k = n->default_left ? n->left : n->right;
			else
				k = x[n->feature] < n->value ? n->left : n->right;
			FUZZ_CHECK(k > 0 && k < t->nnodes);
		}
		margin += t->nodes[k].value;
	}
	return margin;
}

/*
 * Whether t's covers are as XGBoost's: every inner node's positive, and
 * its children's summing to it within float rounding of a few additions.
 * Other covers can make contributions lose all precision.
 */
static bool
covers_consistent(const VigilTrees *t)
{
	for (int32_t i = 0; i < t->nnodes; i++)
	{
		const VigilTreeNode *n = &t->nodes[i];
		double		sum;

		if (n->feature == -1)
			continue;
		sum = (double) t->nodes[n->left].cover + t->nodes[n->right].cover;
		if (!(n->cover > 0.0f) || fabs(sum - n->cover) > 1e-3 * n->cover)
			return false;
	}
	return true;
}

/*
 * The scale of t's margins: |base_margin| plus each tree's largest |leaf|.
 * Contributions' rounding errors are small against it.
 */
static double
margin_scale(const VigilTrees *t)
{
	double		scale = fabs((double) t->base_margin);

	for (int32_t k = 0; k < t->ntrees; k++)
	{
		int32_t		end = k + 1 < t->ntrees ? t->roots[k + 1] : t->nnodes;
		double		largest = 0.0;

		/* the layout keeps each tree's nodes together, in root order */
		for (int32_t i = t->roots[k]; i < end; i++)
			if (t->nodes[i].feature == -1 && fabs((double) t->nodes[i].value) > largest)
				largest = fabs((double) t->nodes[i].value);
		scale += largest;
	}
	return scale;
}

/* libFuzzer's entry point: one input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzIn		in;
	VigilTrees	t;
	int32_t		ntrees = -1,
				nnodes = -1,
				root;
	VigilTreeNode node;
	int32_t    *roots;
	VigilTreeNode *nodes;
	uint8_t    *out;
	float	   *x;
	float	   *phi;
	float	   *means;
	void	   *workspace;
	int32_t		depth;
	bool		checked;
	double		scale;
	const char *why;
	size_t		len = size;
	uint64_t	need;
	float		margin;
	double		p;
	bool		ok;

	/* the length the header implies, when the input holds that much */
	if (size >= VIGIL_TREES_HEADER_SIZE)
	{
		need = VIGIL_TREES_HEADER_SIZE + 4 * (uint64_t) le32(data + 8) +
			VIGIL_TREES_NODE_SIZE * (uint64_t) le32(data + 12);
		if (need <= size)
			len = (size_t) need;
	}

	why = "unset";
	ok = vigil_trees_counts(data, len, &ntrees, &nnodes, &why);
	if (!ok)
	{
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		FUZZ_CHECK(ntrees == -1 && nnodes == -1);
		/* decode refuses as counts does, before touching the arrays */
		why = NULL;
		FUZZ_CHECK(!vigil_trees_decode(data, len, &t, &root, &node, &why));
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(why == NULL);
	FUZZ_CHECK(ntrees >= 1 && ntrees <= VIGIL_TREES_MAX_TREES);
	FUZZ_CHECK(nnodes >= ntrees && nnodes <= VIGIL_TREES_MAX_NODES);
	FUZZ_CHECK(len == VIGIL_TREES_HEADER_SIZE + 4 * (size_t) ntrees +
			   VIGIL_TREES_NODE_SIZE * (size_t) nnodes);
	/* the length must be exact: what follows the ensemble is refused */
	if (len < size)
		FUZZ_CHECK(!vigil_trees_counts(data, size, &ntrees, &nnodes, NULL));

	roots = malloc(sizeof(int32_t) * (size_t) ntrees);
	nodes = malloc(sizeof(VigilTreeNode) * (size_t) nnodes);
	out = malloc(len);
	if (roots == NULL || nodes == NULL || out == NULL)
		abort();
	why = "unset";
	ok = vigil_trees_decode(data, len, &t, roots, nodes, &why);
	if (!ok)
	{
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		free(roots);
		free(nodes);
		free(out);
		return 0;
	}
	FUZZ_CHECK(why == NULL && t.roots == roots && t.nodes == nodes);
	FUZZ_CHECK(t.ntrees == ntrees && t.nnodes == nnodes);
	FUZZ_CHECK(vigil_trees_valid(&t, NULL));
	FUZZ_CHECK(vigil_trees_size(&t) == len);
	vigil_trees_write(&t, out);
	FUZZ_CHECK(memcmp(out, data, len) == 0);

	depth = vigil_trees_max_depth(&t);
	FUZZ_CHECK(depth >= 0 && depth < t.nnodes);
	x = malloc(sizeof(float) * (size_t) t.nfeatures);
	phi = malloc(sizeof(float) * ((size_t) t.nfeatures + 1));
	means = malloc(sizeof(float) * (size_t) t.nnodes);
	workspace = malloc(vigil_trees_workspace_size(&t, depth));
	if (x == NULL || phi == NULL || means == NULL || workspace == NULL)
		abort();
	vigil_trees_node_means(&t, means);
	checked = depth <= MAX_CHECKED_DEPTH && covers_consistent(&t);
	scale = margin_scale(&t);
	in.p = data + len;
	in.n = size - len;
	for (int v = 0; v < MAX_VECTORS; v++)
	{
		for (int32_t f = 0; f < t.nfeatures; f++)
			x[f] = fuzz_feature(&in, &t);
		margin = vigil_trees_margin(&t, x);
		FUZZ_CHECK(isfinite(margin));
		FUZZ_CHECK(margin == counted_margin(&t, x, depth));
		p = vigil_trees_probability(&t, x);
		FUZZ_CHECK(p >= 0.0 && p <= 1.0);
		FUZZ_CHECK(p == vigil_trees_sigmoid(margin));
		if (v < MAX_EXPLAINED)
		{
			double		sum = 0.0;

			vigil_trees_contributions(&t, means, depth, x, workspace, phi);
			for (int32_t f = 0; f <= t.nfeatures; f++)
				sum += phi[f];
			if (checked && isfinite(sum))
				FUZZ_CHECK(fabs(sum - margin) <= 1e-3 * scale);
		}
		if (in.n == 0)
			break;				/* at least one vector, all zeros if need be */
	}

	free(x);
	free(phi);
	free(means);
	free(workspace);
	free(roots);
	free(nodes);
	free(out);
	return 0;
}
