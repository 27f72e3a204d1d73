/*
 * test_trees.c
 *		Unit tests for the evaluation and byte form of tree ensembles.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect/core/trees.h"
#include "unit.h"

#define MAX_NODES 4096
#define MAX_ROOTS 64

/* A leaf giving v, with cover 1 (sum_covers gives its parents theirs). */
static VigilTreeNode
leaf(float v)
{
	VigilTreeNode n = {-1, v, -1, -1, false, 1.0f};

	return n;
}

/*
 * An inner node: x[f] < v goes to left, else right; NaN as default_left
 * says.  Its cover is left to sum_covers.
 */
static VigilTreeNode
split(int32_t f, float v, int32_t left, int32_t right, bool default_left)
{
	VigilTreeNode n = {f, v, left, right, default_left, 0.0f};

	return n;
}

/* Give each inner node of nodes[0, n) the sum of its children's covers. */
static void
sum_covers(VigilTreeNode *nodes, int32_t n)
{
	/* children come after their parents: theirs are summed first */
	for (int32_t i = n - 1; i >= 0; i--)
		if (nodes[i].feature >= 0)
			nodes[i].cover = nodes[nodes[i].left].cover + nodes[nodes[i].right].cover;
}

/* Point t at the given arrays. */
static void
make(VigilTrees *t, int32_t nfeatures, float base, const int32_t *roots, int32_t ntrees,
	 const VigilTreeNode *nodes, int32_t nnodes)
{
	t->nfeatures = nfeatures;
	t->ntrees = ntrees;
	t->nnodes = nnodes;
	t->base_margin = base;
	t->roots = roots;
	t->nodes = nodes;
}

/* The margin of a one-feature vector. */
static float
margin1(const VigilTrees *t, float x0)
{
	return vigil_trees_margin(t, &x0);
}

/* Whether why names the expected reason. */
static bool
says(const char *why, const char *part)
{
	if (why == NULL || strstr(why, part) == NULL)
	{
		printf("#   reason \"%s\", want one containing \"%s\"\n",
			   why ? why : "(null)", part);
		return false;
	}
	return true;
}

/* A stump: one split, two leaves, on top of a base margin. */
static void
stump(void)
{
	static const int32_t roots[] = {0};
	VigilTreeNode nodes[] = {split(0, 0.5f, 1, 2, true), leaf(-0.25f), leaf(0.75f)};
	VigilTrees	t;
	const char *why = "unset";

	make(&t, 1, 0.125f, roots, 1, nodes, 3);
	CHECK(vigil_trees_valid(&t, &why) && why == NULL);
	CHECK(margin1(&t, 0.0f) == -0.125f);
	CHECK(margin1(&t, 0.4999f) == -0.125f);
	CHECK(margin1(&t, 0.5f) == 0.875f);	/* equal to the split: right */
	CHECK(margin1(&t, 1.0f) == 0.875f);
	CHECK(margin1(&t, -INFINITY) == -0.125f);
	CHECK(margin1(&t, INFINITY) == 0.875f);
	/* missing goes the default way, whichever it is */
	CHECK(margin1(&t, NAN) == -0.125f);
	CHECK(margin1(&t, -NAN) == -0.125f);
	nodes[0].default_left = false;
	CHECK(margin1(&t, NAN) == 0.875f);
	CHECK(margin1(&t, 0.0f) == -0.125f);
}

/*
 * The comparison is in float32: a double below the threshold that rounds to
 * it goes right, as in XGBoost, whose feature values are floats.
 */
static void
float32_comparison(void)
{
	static const int32_t roots[] = {0};
	VigilTreeNode nodes[] = {split(0, 0.1f, 1, 2, false), leaf(-1.0f), leaf(1.0f)};
	VigilTrees	t;
	double		d = 0.1;
	double		below = (double) 0.1f - 1e-10;

	make(&t, 1, 0.0f, roots, 1, nodes, 3);
	CHECK(d < (double) 0.1f);	/* in double, 0.1 would go left */
	CHECK(margin1(&t, (float) d) == 1.0f);
	CHECK(below < (double) 0.1f && (float) below == 0.1f);
	CHECK(margin1(&t, (float) below) == 1.0f);
	CHECK(margin1(&t, nextafterf(0.1f, 0.0f)) == -1.0f);
	CHECK(margin1(&t, nextafterf(0.1f, 1.0f)) == 1.0f);
	/* -0 equals 0: not below it */
	nodes[0].value = 0.0f;
	CHECK(margin1(&t, -0.0f) == 1.0f);
	CHECK(margin1(&t, -FLT_MIN) == -1.0f);
}

/*
 * A full tree of depth 3 numbered as XGBoost numbers nodes (breadth first,
 * children after parents), every leaf reached by one vector.
 */
static const VigilTreeNode *
depth3_nodes(void)
{
	static VigilTreeNode nodes[15];

	nodes[0] = split(0, 1.0f, 1, 2, false);
	nodes[1] = split(1, 2.0f, 3, 4, true);
	nodes[2] = split(2, 3.0f, 5, 6, true);
	nodes[3] = split(2, 4.0f, 7, 8, false);
	nodes[4] = split(2, 0.0f, 9, 10, true);
	nodes[5] = split(1, 5.0f, 11, 12, false);
	nodes[6] = split(0, 6.0f, 13, 14, true);
	for (int i = 7; i < 15; i++)
		nodes[i] = leaf((float) (i - 6) * 0.125f);
	return nodes;
}

/* Each leaf of the depth-3 tree, and where missing values lead. */
static void
depth3(void)
{
	static const int32_t roots[] = {0};
	static const struct
	{
		float		x[3];
		int			leaf;
	}			cases[] = {
		{{0.5f, 0.0f, 0.0f}, 7},
		{{0.5f, 0.0f, 4.0f}, 8},
		{{0.5f, 2.0f, -1.0f}, 9},
		{{0.5f, 2.0f, 0.0f}, 10},
		{{1.0f, 0.0f, 0.0f}, 11},
		{{1.0f, 5.0f, 0.0f}, 12},
		{{1.0f, 0.0f, 3.0f}, 13},
		{{6.0f, 0.0f, 3.0f}, 14},
		/* missing: nodes 0, 2, 5 by default: right, left, right */
		{{NAN, NAN, NAN}, 12},
		/* missing at nodes 1 and 3: left, right */
		{{0.5f, NAN, NAN}, 8},
		/* missing at node 0 only: right, then 1 < 3 and 7 >= 5 */
		{{NAN, 7.0f, 1.0f}, 12},
		/* missing at node 4: left */
		{{0.5f, 7.0f, NAN}, 9},
	};
	VigilTrees	t;
	float		x[3];

	make(&t, 3, 0.0f, roots, 1, depth3_nodes(), 15);
	CHECK(vigil_trees_valid(&t, NULL));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		float		want = (float) (cases[i].leaf - 6) * 0.125f;

		memcpy(x, cases[i].x, sizeof(x));
		if (vigil_trees_margin(&t, x) != want)
		{
			printf("#   case %zu: margin %g, want leaf %d (%g)\n", i,
				   (double) vigil_trees_margin(&t, x), cases[i].leaf, (double) want);
			unit_case_failed = 1;
		}
	}
}

/*
 * Leaves are added in tree order in float: 2^24 + 1 + 1 - 2^24 is 0 in
 * float (each +1 rounds away) but 2 in double, and 2 when the order is
 * changed.  A root can be a leaf.
 */
static void
float_accumulation(void)
{
	static const int32_t roots[] = {0, 1, 2};
	VigilTreeNode nodes[] = {leaf(1.0f), leaf(1.0f), leaf(-16777216.0f)};
	VigilTreeNode reordered[] = {leaf(-16777216.0f), leaf(1.0f), leaf(1.0f)};
	VigilTrees	t;
	float		x = 0.0f;

	make(&t, 1, 16777216.0f, roots, 3, nodes, 3);
	CHECK(vigil_trees_valid(&t, NULL));
	CHECK(vigil_trees_margin(&t, &x) == 0.0f);
	make(&t, 1, 16777216.0f, roots, 3, reordered, 3);
	CHECK(vigil_trees_valid(&t, NULL));
	CHECK(vigil_trees_margin(&t, &x) == 2.0f);
}

/* Several stumps on different features, and a shared leaf. */
static void
several_trees(void)
{
	static const int32_t roots[] = {0, 3, 6, 9};
	VigilTreeNode nodes[] = {
		split(0, 10.0f, 1, 2, true), leaf(0.1f), leaf(-0.2f),
		split(1, -3.0f, 4, 5, false), leaf(0.3f), leaf(0.05f),
		split(2, 0.0f, 7, 8, true), leaf(-0.7f), leaf(0.4f),
		leaf(0.01f),
	};
	VigilTrees	t;
	float		x[3] = {11.0f, -5.0f, NAN};
	float		want = -0.5f;

	make(&t, 3, -0.5f, roots, 4, nodes, 10);
	CHECK(vigil_trees_valid(&t, NULL));
	want += -0.2f;
	want += 0.3f;
	want += -0.7f;
	want += 0.01f;
	CHECK(vigil_trees_margin(&t, x) == want);
	CHECK(vigil_trees_probability(&t, x) == vigil_trees_sigmoid(want));
}

/* XGBoost 1.7's Sigmoid in float, capped exponent included. */
static void
sigmoid(void)
{
	CHECK(vigil_trees_sigmoid(0.0f) == 0.5);
	for (int i = -800; i <= 800; i++)
	{
		float		m = (float) i / 10.0f;
		float		want = 1.0f / (1.0f + expf(-m));

		CHECK(vigil_trees_sigmoid(m) == (double) want);
	}
	/* expf(100) would overflow: the exponent stops at 88.7 */
	CHECK(vigil_trees_sigmoid(-100.0f) == (double) (1.0f / (expf(88.7f) + 1.0f)));
	CHECK(vigil_trees_sigmoid(-100.0f) > 0.0);
	CHECK(vigil_trees_sigmoid(-FLT_MAX) == vigil_trees_sigmoid(-100.0f));
	CHECK(vigil_trees_sigmoid(100.0f) == 1.0);
	CHECK(vigil_trees_sigmoid(FLT_MAX) == 1.0);
}

/* The byte form of the stump, written out by hand. */
static void
byte_layout(void)
{
	static const int32_t roots[] = {0};
	static const uint8_t want[] = {
		'V', 'G', 'T', '2',
		1, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0,
		0x00, 0x00, 0x00, 0x3E,	/* 0.125f */
		0, 0, 0, 0,
		0, 0, 0, 0, 0x00, 0x00, 0x00, 0x3F, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0,
		0x00, 0x00, 0x80, 0x40,	/* cover 4.0f */
		0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x80, 0xBE,
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0,
		0x00, 0x00, 0x80, 0x3F,	/* cover 1.0f */
		0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x40, 0x3F,
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0,
		0x00, 0x00, 0x40, 0x40,	/* cover 3.0f */
	};
	VigilTreeNode nodes[] = {split(0, 0.5f, 1, 2, true), leaf(-0.25f), leaf(0.75f)};
	VigilTrees	t;
	uint8_t		out[sizeof(want) + 1];

	nodes[2].cover = 3.0f;
	sum_covers(nodes, 3);
	make(&t, 1, 0.125f, roots, 1, nodes, 3);
	CHECK(vigil_trees_size(&t) == sizeof(want));
	memset(out, 0xAA, sizeof(out));
	vigil_trees_write(&t, out);
	CHECK(memcmp(out, want, sizeof(want)) == 0);
	CHECK(out[sizeof(want)] == 0xAA);	/* nothing past the end */
}

/* A node index's subtree leaf for x, recursively: a second evaluator. */
static float
reference_leaf(const VigilTreeNode *nodes, int32_t i, const float *x)
{
	const VigilTreeNode *n = &nodes[i];

	if (n->feature < 0)
		return n->value;
	if (x[n->feature] != x[n->feature])
		return reference_leaf(nodes, n->default_left ? n->left : n->right, x);
	return reference_leaf(nodes, (double) x[n->feature] < (double) n->value ?
						  n->left : n->right, x);
}

/*
 * A random ensemble as XGBoost lays one out: each tree's nodes together,
 * children numbered after their parents in breadth-first order.
 */
static void
random_ensemble(uint64_t *state, VigilTrees *t, int32_t *roots, VigilTreeNode *nodes)
{
	int32_t		nfeatures = 1 + (int32_t) (unit_uniform(state) * 12);
	int32_t		ntrees = 1 + (int32_t) (unit_uniform(state) * (MAX_ROOTS - 1));
	int32_t		n = 0;

	for (int32_t k = 0; k < ntrees; k++)
	{
		int32_t		next = n + 1;

		roots[k] = n;
		for (int32_t i = n; i < next; i++)
		{
			/* split while there is room for this tree and the others */
			if (next + 2 <= MAX_NODES - (ntrees - k) && next - n < 60 &&
				unit_uniform(state) < 0.6)
			{
				int32_t		f = (int32_t) (unit_uniform(state) * nfeatures);

				nodes[i] = split(f, (float) (unit_uniform(state) * 4.0 - 2.0),
								 next, next + 1, unit_uniform(state) < 0.5);
				next += 2;
			}
			else
			{
				nodes[i] = leaf((float) (unit_uniform(state) - 0.5));
				/* a leaf's default_left is kept, though never used */
				nodes[i].default_left = unit_uniform(state) < 0.1;
				nodes[i].cover = (float) (unit_uniform(state) * 100.0);
			}
		}
		n = next;
	}
	sum_covers(nodes, n);
	make(t, nfeatures, (float) (unit_uniform(state) - 0.5), roots, ntrees, nodes, n);
}

/* A random feature vector, some values missing, some on a threshold. */
static void
random_x(uint64_t *state, const VigilTrees *t, float *x)
{
	for (int32_t f = 0; f < t->nfeatures; f++)
	{
		double		u = unit_uniform(state);

		if (u < 0.1)
			x[f] = NAN;
		else if (u < 0.2)
			x[f] = t->nodes[(int32_t) (unit_uniform(state) * t->nnodes)].value;
		else if (u < 0.22)
			x[f] = u < 0.21 ? INFINITY : -INFINITY;
		else
			x[f] = (float) (unit_uniform(state) * 5.0 - 2.5);
	}
}

/*
 * write, counts, decode gives the same ensemble, which predicts the same,
 * and writes the same bytes again; margins agree with a second evaluator.
 */
static void
round_trip(void)
{
	static int32_t roots[MAX_ROOTS],
				roots2[MAX_ROOTS];
	static VigilTreeNode nodes[MAX_NODES],
				nodes2[MAX_NODES];
	static uint8_t bytes[VIGIL_TREES_HEADER_SIZE + 4 * MAX_ROOTS + VIGIL_TREES_NODE_SIZE * MAX_NODES],
				again[sizeof(bytes)];
	uint64_t	state = 7;

	for (int round = 0; round < 200; round++)
	{
		VigilTrees	t,
					u;
		size_t		size;
		int32_t		ntrees = -1,
					nnodes = -1;
		const char *why = "unset";
		float		x[VIGIL_TREES_MAX_FEATURES];

		random_ensemble(&state, &t, roots, nodes);
		CHECK(vigil_trees_valid(&t, &why) && why == NULL);
		size = vigil_trees_size(&t);
		CHECK(size <= sizeof(bytes));
		vigil_trees_write(&t, bytes);
		CHECK(vigil_trees_counts(bytes, size, &ntrees, &nnodes, &why) && why == NULL);
		CHECK(ntrees == t.ntrees && nnodes == t.nnodes);
		memset(&u, 0, sizeof(u));
		why = "unset";
		if (!vigil_trees_decode(bytes, size, &u, roots2, nodes2, &why))
		{
			printf("#   round %d: decode refused: %s\n", round, why);
			unit_case_failed = 1;
			continue;
		}
		CHECK(why == NULL && u.roots == roots2 && u.nodes == nodes2);
		CHECK(u.nfeatures == t.nfeatures && u.ntrees == t.ntrees && u.nnodes == t.nnodes);
		CHECK(memcmp(&u.base_margin, &t.base_margin, sizeof(float)) == 0);
		CHECK(memcmp(roots2, roots, sizeof(int32_t) * t.ntrees) == 0);
		for (int32_t i = 0; i < t.nnodes; i++)
			CHECK(nodes2[i].feature == nodes[i].feature &&
				  memcmp(&nodes2[i].value, &nodes[i].value, sizeof(float)) == 0 &&
				  nodes2[i].left == nodes[i].left && nodes2[i].right == nodes[i].right &&
				  nodes2[i].default_left == nodes[i].default_left &&
				  memcmp(&nodes2[i].cover, &nodes[i].cover, sizeof(float)) == 0);
		vigil_trees_write(&u, again);
		CHECK(memcmp(again, bytes, size) == 0);

		for (int k = 0; k < 20; k++)
		{
			float		m,
						want = t.base_margin;

			random_x(&state, &t, x);
			m = vigil_trees_margin(&t, x);
			for (int32_t i = 0; i < t.ntrees; i++)
				want += reference_leaf(nodes, roots[i], x);
			CHECK(m == want);
			CHECK(vigil_trees_margin(&u, x) == m);
			CHECK(vigil_trees_probability(&u, x) == vigil_trees_probability(&t, x));
		}
	}
}

/*
 * Contributions: the computation under test with guard bytes after its
 * workspace that must stay untouched, and a guard after phi (which must
 * have room for nfeatures + 2 floats).
 */
static void
contributions(const VigilTrees *t, const float *x, float *phi)
{
	static float means[MAX_NODES];
	static uint8_t workspace[1 << 16];
	int32_t		depth = vigil_trees_max_depth(t);
	size_t		size = vigil_trees_workspace_size(t, depth);

	CHECK(size + 64 <= sizeof(workspace));
	vigil_trees_node_means(t, means);
	memset(workspace, 0x5A, sizeof(workspace));
	phi[t->nfeatures + 1] = 12345.0f;
	vigil_trees_contributions(t, means, depth, x, workspace, phi);
	for (size_t i = size; i < size + 64; i++)
		CHECK(workspace[i] == 0x5A);
	CHECK(phi[t->nfeatures + 1] == 12345.0f);
}

/*
 * A stump worked by hand: covers 1 and 3 make the root's mean
 * (-0.25 + 3 x 0.75) / 4 = 0.5, every number exact in float.
 */
static void
shap_stump(void)
{
	static const int32_t roots[] = {0};
	VigilTreeNode nodes[] = {split(0, 0.5f, 1, 2, true), leaf(-0.25f), leaf(0.75f)};
	VigilTrees	t;
	float		means[3];
	float		phi[3];
	float		x;

	nodes[2].cover = 3.0f;
	sum_covers(nodes, 3);
	make(&t, 1, 0.125f, roots, 1, nodes, 3);
	CHECK(vigil_trees_max_depth(&t) == 1);
	vigil_trees_node_means(&t, means);
	CHECK(means[0] == 0.5f && means[1] == -0.25f && means[2] == 0.75f);

	x = 0.0f;
	contributions(&t, &x, phi);
	CHECK(phi[0] == -0.75f && phi[1] == 0.625f);
	x = 0.5f;
	contributions(&t, &x, phi);
	CHECK(phi[0] == 0.25f && phi[1] == 0.625f);
	/* missing: the default branch, left here, then right */
	x = NAN;
	contributions(&t, &x, phi);
	CHECK(phi[0] == -0.75f);
	nodes[0].default_left = false;
	contributions(&t, &x, phi);
	CHECK(phi[0] == 0.25f);
}

/* Trees that are a leaf: no feature contributes, the bias is the margin. */
static void
shap_leaves(void)
{
	static const int32_t roots[] = {0, 1, 2};
	VigilTreeNode nodes[] = {leaf(0.5f), leaf(-2.0f), leaf(0.25f)};
	VigilTrees	t;
	float		x[2] = {1.0f, NAN};
	float		phi[4];

	make(&t, 2, 1.0f, roots, 3, nodes, 3);
	CHECK(vigil_trees_max_depth(&t) == 0);
	CHECK(vigil_trees_workspace_size(&t, 0) == 16 + 24 + 2 * 4);
	contributions(&t, x, phi);
	CHECK(phi[0] == 0.0f && phi[1] == 0.0f);
	CHECK(phi[2] == -0.25f && phi[2] == vigil_trees_margin(&t, x));
}

/*
 * With one feature its contribution is the whole difference between the
 * row's leaf and the tree's mean, however often it is split on one path:
 * each split undoes the one above it.
 */
static void
shap_same_feature(void)
{
	static const int32_t roots[] = {0};
	VigilTreeNode nodes[] = {
		split(0, 0.0f, 1, 2, false),
		leaf(-1.0f), split(0, 1.0f, 3, 4, true),
		split(0, 0.5f, 5, 6, false), leaf(2.0f),
		leaf(0.5f), leaf(1.0f),
	};
	static const float xs[] = {-3.0f, 0.0f, 0.25f, 0.5f, 0.75f, 1.0f, 7.0f, NAN};
	VigilTrees	t;
	float		means[7];
	float		phi[3];

	nodes[1].cover = 4.0f;
	nodes[4].cover = 2.5f;
	nodes[5].cover = 0.5f;
	sum_covers(nodes, 7);
	make(&t, 1, 0.0f, roots, 1, nodes, 7);
	CHECK(vigil_trees_max_depth(&t) == 3);
	vigil_trees_node_means(&t, means);
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++)
	{
		contributions(&t, &xs[i], phi);
		CHECK_CLOSE(phi[0], vigil_trees_margin(&t, &xs[i]) - means[0], 1e-6);
		CHECK(phi[1] == means[0]);
	}
}

/*
 * The expectation of the subtree at node i for feature set s (a bit per
 * feature): splits on a feature of s follow x, the others weigh both
 * branches by cover.  Recursively, in double: a second computation.
 */
static double
expectation(const VigilTreeNode *nodes, int32_t i, const float *x, unsigned s)
{
	const VigilTreeNode *n = &nodes[i];
	float		v;

	if (n->feature < 0)
		return n->value;
	if (s & (1u << n->feature))
	{
		v = x[n->feature];
		if (v != v)
			return expectation(nodes, n->default_left ? n->left : n->right, x, s);
		return expectation(nodes, (double) v < (double) n->value ? n->left : n->right, x, s);
	}
	return ((double) nodes[n->left].cover * expectation(nodes, n->left, x, s) +
			(double) nodes[n->right].cover * expectation(nodes, n->right, x, s)) /
		(double) n->cover;
}

/*
 * Shapley values by their definition, over every subset of the features
 * (at most 6): phi[i] weighs f(S + i) - f(S) by |S|! (M - |S| - 1)! / M!
 * for each S without i, where f(S) sums the trees' expectations; the bias
 * is f of no feature plus the base margin.
 */
static void
brute_force(const VigilTrees *t, const float *x, double *phi)
{
	static const double fact[] = {1, 1, 2, 6, 24, 120, 720};
	int			m = t->nfeatures;
	double		f[64];

	for (unsigned s = 0; s < 1u << m; s++)
	{
		f[s] = 0.0;
		for (int32_t k = 0; k < t->ntrees; k++)
			f[s] += expectation(t->nodes, t->roots[k], x, s);
	}
	for (int i = 0; i < m; i++)
	{
		phi[i] = 0.0;
		for (unsigned s = 0; s < 1u << m; s++)
		{
			int			size = __builtin_popcount(s);

			if (s & (1u << i))
				continue;
			phi[i] += fact[size] * fact[m - size - 1] / fact[m] * (f[s | 1u << i] - f[s]);
		}
	}
	phi[m] = f[0] + t->base_margin;
}

/*
 * A random small ensemble for brute force: up to 6 features, 8 trees of
 * depth up to 4, laid out breadth first, random covers summed upwards as
 * XGBoost's nearly are.  Features repeat on paths often.  A left leaf may
 * have cover 0 (no row reached it); a right one never, so that no inner
 * node has cover 0.
 */
static void
small_ensemble(uint64_t *state, VigilTrees *t, int32_t *roots, VigilTreeNode *nodes)
{
	int32_t		nfeatures = 1 + (int32_t) (unit_uniform(state) * 6);
	int32_t		ntrees = 1 + (int32_t) (unit_uniform(state) * 8);
	int32_t		depth[MAX_NODES];
	int32_t		n = 0;

	for (int32_t k = 0; k < ntrees; k++)
	{
		int32_t		next = n + 1;

		roots[k] = n;
		depth[n] = 0;
		for (int32_t i = n; i < next; i++)
		{
			if (depth[i] < 4 && unit_uniform(state) < 0.65)
			{
				nodes[i] = split((int32_t) (unit_uniform(state) * nfeatures),
								 (float) (unit_uniform(state) * 4.0 - 2.0),
								 next, next + 1, unit_uniform(state) < 0.5);
				depth[next] = depth[next + 1] = depth[i] + 1;
				next += 2;
			}
			else
			{
				nodes[i] = leaf((float) (unit_uniform(state) * 2.0 - 1.0));
				nodes[i].cover = (float) (0.01 + unit_uniform(state) * 100.0);
			}
		}
		n = next;
	}
	for (int32_t i = 0; i < n; i++)
	{
		int32_t		l = nodes[i].left;

		if (nodes[i].feature >= 0 && nodes[l].feature < 0 && unit_uniform(state) < 0.15)
			nodes[l].cover = 0.0f;
	}
	sum_covers(nodes, n);
	make(t, nfeatures, (float) (unit_uniform(state) - 0.5), roots, ntrees, nodes, n);
}

/*
 * On random ensembles and rows (missing values, thresholds, infinities),
 * the contributions are the Shapley values brute force finds, and with
 * the bias they sum to the margin.
 */
static void
shap_brute_force(void)
{
	static int32_t roots[MAX_ROOTS];
	static VigilTreeNode nodes[MAX_NODES];
	uint64_t	state = 11;

	for (int round = 0; round < 300; round++)
	{
		VigilTrees	t;
		float		x[8];
		float		phi[8];
		double		want[7];

		small_ensemble(&state, &t, roots, nodes);
		CHECK(vigil_trees_valid(&t, NULL));
		for (int k = 0; k < 5; k++)
		{
			double		sum = 0.0;
			float		m;

			random_x(&state, &t, x);
			contributions(&t, x, phi);
			brute_force(&t, x, want);
			for (int32_t f = 0; f <= t.nfeatures; f++)
			{
				CHECK_CLOSE(phi[f], want[f], 1e-4);
				sum += phi[f];
			}
			m = vigil_trees_margin(&t, x);
			CHECK_CLOSE(sum, m, 1e-4);
		}
	}
}

/* Depths by recursion, against the level count of vigil_trees_max_depth. */
static int32_t
reference_depth(const VigilTreeNode *nodes, int32_t i)
{
	int32_t		l,
				r;

	if (nodes[i].feature < 0)
		return 0;
	l = reference_depth(nodes, nodes[i].left);
	r = reference_depth(nodes, nodes[i].right);
	return 1 + (l > r ? l : r);
}

/* The depth and the workspace's size. */
static void
shap_depth(void)
{
	static int32_t roots[MAX_ROOTS];
	static VigilTreeNode nodes[MAX_NODES];
	static const int32_t one_root[] = {0};
	uint64_t	state = 5;
	VigilTrees	t;

	make(&t, 3, 0.0f, one_root, 1, depth3_nodes(), 15);
	CHECK(vigil_trees_max_depth(&t) == 3);
	/* 10 path elements of 16 bytes, 4 steps of 24, 3 floats */
	CHECK(vigil_trees_workspace_size(&t, 3) == 160 + 96 + 12);
	for (int round = 0; round < 100; round++)
	{
		int32_t		want = 0;

		random_ensemble(&state, &t, roots, nodes);
		for (int32_t k = 0; k < t.ntrees; k++)
		{
			int32_t		d = reference_depth(nodes, roots[k]);

			want = d > want ? d : want;
		}
		CHECK(vigil_trees_max_depth(&t) == want);
	}
}

/*
 * The contributions of the ensembles round_trip makes (deeper, wider, more
 * trees) sum to the margin too.
 */
static void
shap_sums(void)
{
	static int32_t roots[MAX_ROOTS];
	static VigilTreeNode nodes[MAX_NODES];
	uint64_t	state = 3;

	for (int round = 0; round < 100; round++)
	{
		VigilTrees	t;
		float		x[16];
		float		phi[16];

		random_ensemble(&state, &t, roots, nodes);
		for (int k = 0; k < 5; k++)
		{
			double		sum = 0.0;

			random_x(&state, &t, x);
			contributions(&t, x, phi);
			for (int32_t f = 0; f <= t.nfeatures; f++)
				sum += phi[f];
			CHECK_CLOSE(sum, vigil_trees_margin(&t, x), 1e-4);
		}
	}
}

/* The ensemble whose bytes the rejection tests spoil: 2 features, 2 trees. */
static size_t
base_bytes(uint8_t *out)
{
	static const int32_t roots[] = {0, 3};
	VigilTreeNode nodes[] = {
		split(0, 0.5f, 1, 2, true), leaf(-0.25f), leaf(0.75f),
		split(1, 1.0f, 4, 5, false), split(0, 2.0f, 6, 7, true), leaf(0.5f),
		leaf(-0.125f), leaf(0.0625f),
	};
	VigilTrees	t;

	sum_covers(nodes, 8);
	make(&t, 2, 0.0f, roots, 2, nodes, 8);
	vigil_trees_write(&t, out);
	return vigil_trees_size(&t);
}

#define BASE_LEN (VIGIL_TREES_HEADER_SIZE + 4 * 2 + VIGIL_TREES_NODE_SIZE * 8)
#define ROOT(i) (VIGIL_TREES_HEADER_SIZE + 4 * (i))
#define NODE(i) (VIGIL_TREES_HEADER_SIZE + 4 * 2 + VIGIL_TREES_NODE_SIZE * (i))
#define FEATURE 0
#define VALUE 4
#define LEFT 8
#define RIGHT 12
#define FLAGS 16
#define COVER 20

/* Store a little-endian uint32 at b + off. */
static void
set_u32(uint8_t *b, size_t off, uint32_t v)
{
	b[off] = (uint8_t) v;
	b[off + 1] = (uint8_t) (v >> 8);
	b[off + 2] = (uint8_t) (v >> 16);
	b[off + 3] = (uint8_t) (v >> 24);
}

/* Store a float's bits at b + off. */
static void
set_f32(uint8_t *b, size_t off, float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof(u));
	set_u32(b, off, u);
}

/*
 * Whether decoding refuses the len bytes at b for the reason named by
 * part, and counts refuses them too when the header is what is wrong.
 */
static bool
refused(const uint8_t *b, size_t len, const char *part)
{
	static int32_t roots[MAX_ROOTS];
	static VigilTreeNode nodes[MAX_NODES];
	VigilTrees	t;
	int32_t		ntrees = -7,
				nnodes = -7;
	const char *why = NULL;
	bool		counted;

	counted = vigil_trees_counts(b, len, &ntrees, &nnodes, &why);
	if (!counted && !(ntrees == -7 && nnodes == -7))
		return false;			/* a refusal leaves the counts alone */
	if (counted && (ntrees > MAX_ROOTS || nnodes > MAX_NODES))
		return false;
	why = NULL;
	if (vigil_trees_decode(b, len, &t, roots, nodes, &why))
	{
		printf("#   accepted, want refused with \"%s\"\n", part);
		return false;
	}
	return says(why, part);
}

/* Whether counts and decode both accept the len bytes at b. */
static bool
accepted(const uint8_t *b, size_t len)
{
	static int32_t roots[MAX_ROOTS];
	static VigilTreeNode nodes[MAX_NODES];
	VigilTrees	t;
	int32_t		ntrees,
				nnodes;
	const char *why = NULL;

	if (!vigil_trees_counts(b, len, &ntrees, &nnodes, &why) ||
		!vigil_trees_decode(b, len, &t, roots, nodes, &why))
	{
		printf("#   refused: %s\n", why ? why : "(no reason)");
		return false;
	}
	return why == NULL;
}

/* Spoil the base bytes at off with a uint32 and expect the reason part. */
static bool
refused_u32(size_t off, uint32_t v, const char *part)
{
	uint8_t		b[BASE_LEN];

	base_bytes(b);
	set_u32(b, off, v);
	return refused(b, BASE_LEN, part);
}

/* Spoil the base bytes at off with a float and expect the reason part. */
static bool
refused_f32(size_t off, float v, const char *part)
{
	uint8_t		b[BASE_LEN];

	base_bytes(b);
	set_f32(b, off, v);
	return refused(b, BASE_LEN, part);
}

/* The header: length, magic, counts (huge ones included). */
static void
rejects_header(void)
{
	uint8_t		b[BASE_LEN + 1];
	int32_t		ntrees,
				nnodes;

	CHECK(base_bytes(b) == BASE_LEN);
	CHECK(vigil_trees_counts(b, BASE_LEN, &ntrees, &nnodes, NULL));
	CHECK(ntrees == 2 && nnodes == 8);
	CHECK(refused(b, 0, "shorter than a tree ensemble's header"));
	CHECK(refused(b, VIGIL_TREES_HEADER_SIZE - 1, "header"));
	CHECK(refused(b, BASE_LEN - 1, "truncated"));
	CHECK(refused(b, VIGIL_TREES_HEADER_SIZE, "truncated"));
	b[BASE_LEN] = 0;
	CHECK(refused(b, BASE_LEN + 1, "trailing bytes"));
	CHECK(refused_u32(0, 0x31544756, "bad magic"));	/* "VGT1": no covers */
	CHECK(refused_u32(0, 0x32746776, "bad magic"));	/* "vgt2" */

	CHECK(refused_u32(4, 0, "feature count"));
	CHECK(refused_u32(4, VIGIL_TREES_MAX_FEATURES + 1, "feature count"));
	CHECK(refused_u32(4, UINT32_MAX, "feature count"));
	CHECK(refused_u32(8, 0, "tree count"));
	CHECK(refused_u32(8, VIGIL_TREES_MAX_TREES + 1, "tree count"));
	CHECK(refused_u32(12, 1, "node count"));	/* fewer nodes than trees */
	CHECK(refused_u32(12, VIGIL_TREES_MAX_NODES + 1, "node count"));
	/* in range, but far more than the bytes hold */
	CHECK(refused_u32(12, VIGIL_TREES_MAX_NODES, "truncated"));
	base_bytes(b);
	set_u32(b, 8, VIGIL_TREES_MAX_TREES);
	set_u32(b, 12, VIGIL_TREES_MAX_TREES);
	CHECK(refused(b, BASE_LEN, "truncated"));

	/*
	 * Counts for which a 32-bit size computation wraps to exactly the
	 * length: 24 x (2^30 + 8) and 4 x (2^30 + 2) are 192 and 8 modulo 2^32.
	 */
	CHECK(refused_u32(12, 0x40000008u, "node count"));
	base_bytes(b);
	set_u32(b, 8, 0x40000002u);
	set_u32(b, 12, 0x40000008u);
	CHECK(refused(b, BASE_LEN, "tree count"));
	set_u32(b, 8, UINT32_MAX);
	set_u32(b, 12, UINT32_MAX);
	CHECK(refused(b, BASE_LEN, "tree count"));

	/* the largest feature count is fine */
	base_bytes(b);
	set_u32(b, 4, VIGIL_TREES_MAX_FEATURES);
	CHECK(accepted(b, BASE_LEN));
}

/* Roots, children, features, values, flags and leaves. */
static void
rejects_nodes(void)
{
	uint8_t		b[BASE_LEN];

	CHECK(refused_u32(ROOT(1), 8, "root"));
	CHECK(refused_u32(ROOT(0), UINT32_MAX, "root"));
	CHECK(refused_u32(ROOT(0), 0x80000000u, "root"));

	/* a child at its parent, before it, or past the end */
	CHECK(refused_u32(NODE(0) + LEFT, 0, "not after its parent"));
	CHECK(refused_u32(NODE(4) + RIGHT, 4, "not after its parent"));
	CHECK(refused_u32(NODE(4) + RIGHT, 3, "not after its parent"));
	CHECK(refused_u32(NODE(3) + LEFT, UINT32_MAX, "not after its parent"));
	CHECK(refused_u32(NODE(0) + RIGHT, 8, "child's index is out of range"));
	CHECK(refused_u32(NODE(4) + LEFT, INT32_MAX, "child's index is out of range"));

	CHECK(refused_u32(NODE(0) + FEATURE, 2, "feature is out of range"));
	CHECK(refused_u32(NODE(3) + FEATURE, 1024, "feature is out of range"));
	CHECK(refused_u32(NODE(0) + FEATURE, (uint32_t) -2, "below -1"));
	CHECK(refused_u32(NODE(7) + FEATURE, 0x80000000u, "below -1"));

	CHECK(refused_f32(NODE(0) + VALUE, NAN, "threshold is not finite"));
	CHECK(refused_f32(NODE(4) + VALUE, INFINITY, "threshold is not finite"));
	CHECK(refused_f32(NODE(4) + VALUE, -INFINITY, "threshold is not finite"));
	CHECK(refused_f32(NODE(1) + VALUE, NAN, "leaf value is not finite"));
	CHECK(refused_f32(NODE(7) + VALUE, -INFINITY, "leaf value is not finite"));
	CHECK(refused_f32(16, NAN, "base margin"));
	CHECK(refused_f32(16, INFINITY, "base margin"));

	CHECK(refused_u32(NODE(0) + FLAGS, 2, "unknown flag bits"));
	CHECK(refused_u32(NODE(5) + FLAGS, 0x80000000u, "unknown flag bits"));
	CHECK(refused_u32(NODE(7) + FLAGS, UINT32_MAX, "unknown flag bits"));

	CHECK(refused_u32(NODE(1) + LEFT, 2, "leaf has children"));
	CHECK(refused_u32(NODE(5) + RIGHT, 6, "leaf has children"));
	CHECK(refused_u32(NODE(7) + LEFT, 0, "leaf has children"));
	/* a split turned into a leaf keeps its children: refused */
	CHECK(refused_u32(NODE(4) + FEATURE, UINT32_MAX, "leaf has children"));

	/*
	 * The layout: trees one after the other, breadth first.  Tree 1 is
	 * nodes 3 (children 4, 5) and 4 (children 6, 7).
	 */
	CHECK(refused_u32(ROOT(1), 4, "does not start where"));
	CHECK(refused_u32(ROOT(1), 2, "does not start where"));
	CHECK(refused_u32(ROOT(0), 3, "does not start where"));
	base_bytes(b);
	set_u32(b, NODE(3) + LEFT, 5);	/* children swapped */
	set_u32(b, NODE(3) + RIGHT, 4);
	CHECK(refused(b, BASE_LEN, "breadth-first order"));
	/* depth first: 3 -> (4, 7), 4 -> (5, 6) */
	base_bytes(b);
	set_u32(b, NODE(3) + RIGHT, 7);
	set_u32(b, NODE(4) + LEFT, 5);
	set_u32(b, NODE(4) + RIGHT, 6);
	CHECK(refused(b, BASE_LEN, "breadth-first order"));
	/* node 4 a leaf: 6 and 7 belong to no tree */
	base_bytes(b);
	set_u32(b, NODE(4) + FEATURE, UINT32_MAX);
	set_u32(b, NODE(4) + LEFT, UINT32_MAX);
	set_u32(b, NODE(4) + RIGHT, UINT32_MAX);
	CHECK(refused(b, BASE_LEN, "left over"));
	/* both trees' roots at 0: its nodes would be walked twice */
	CHECK(refused_u32(ROOT(1), 0, "does not start where"));

	/* covers: any finite weight >= 0, at a leaf as at a split */
	CHECK(refused_f32(NODE(0) + COVER, NAN, "cover is not finite"));
	CHECK(refused_f32(NODE(7) + COVER, INFINITY, "cover is not finite"));
	CHECK(refused_f32(NODE(3) + COVER, -1.0f, "cover is negative"));
	CHECK(refused_f32(NODE(1) + COVER, -FLT_MIN, "cover is negative"));
	base_bytes(b);
	set_f32(b, NODE(1) + COVER, 0.0f);
	set_f32(b, NODE(3) + COVER, FLT_MAX);
	CHECK(accepted(b, BASE_LEN));

	/* leaves whose sum over the trees could overflow a float */
	CHECK(refused_f32(NODE(1) + VALUE, 1e38f, "overflow"));
	CHECK(refused_f32(NODE(6) + VALUE, -FLT_MAX, "overflow"));
	CHECK(refused_f32(16, 3e38f, "overflow"));
	base_bytes(b);
	set_f32(b, NODE(1) + VALUE, 1e30f);
	CHECK(accepted(b, BASE_LEN));
}

/* The in-memory checks are the decoder's: an ensemble built by hand. */
static void
valid_in_memory(void)
{
	static const int32_t roots[] = {0, 3};
	int32_t		bad_roots[] = {0, 9};
	int32_t		shared_roots[] = {0, 0};
	VigilTreeNode nodes[] = {
		split(0, 0.5f, 1, 2, true), leaf(-0.25f), leaf(0.75f),
		split(1, 1.0f, 4, 5, false), leaf(0.5f), leaf(-0.125f),
	};
	VigilTrees	t;
	const char *why = "unset";

	make(&t, 2, 0.0f, roots, 2, nodes, 6);
	CHECK(vigil_trees_valid(&t, &why) && why == NULL);
	t.nfeatures = 0;
	CHECK(!vigil_trees_valid(&t, &why) && says(why, "feature count"));
	t.nfeatures = 2;
	t.ntrees = 0;
	CHECK(!vigil_trees_valid(&t, &why) && says(why, "tree count"));
	t.ntrees = 2;
	t.nnodes = 1;
	CHECK(!vigil_trees_valid(&t, &why) && says(why, "node count"));
	t.nnodes = 6;
	t.base_margin = -INFINITY;
	CHECK(!vigil_trees_valid(&t, &why) && says(why, "base margin"));
	t.base_margin = 0.0f;
	t.roots = bad_roots;
	CHECK(!vigil_trees_valid(&t, &why) && says(why, "root"));
	t.roots = roots;
	nodes[3].left = 3;
	CHECK(!vigil_trees_valid(&t, &why) && says(why, "not after its parent"));
	nodes[3].left = 6;
	CHECK(!vigil_trees_valid(&t, &why) && says(why, "out of range"));
	nodes[3].left = 4;
	nodes[3].feature = 2;
	CHECK(!vigil_trees_valid(&t, &why) && says(why, "feature is out of range"));
	nodes[3].feature = 1;
	nodes[5].right = 5;
	CHECK(!vigil_trees_valid(&t, &why) && says(why, "leaf has children"));
	nodes[5].right = -1;
	/* a node shared by two parents, or a root shared by two trees */
	nodes[0].right = 1;
	CHECK(!vigil_trees_valid(&t, &why) && says(why, "breadth-first order"));
	nodes[0].right = 2;
	t.roots = shared_roots;
	CHECK(!vigil_trees_valid(&t, &why) && says(why, "does not start where"));
	t.roots = roots;
	nodes[2].cover = -NAN;
	CHECK(!vigil_trees_valid(&t, &why) && says(why, "cover is not finite"));
	nodes[2].cover = -0.5f;
	CHECK(!vigil_trees_valid(&t, &why) && says(why, "cover is negative"));
	nodes[2].cover = 1.0f;
	CHECK(vigil_trees_valid(&t, NULL));
}

int
main(void)
{
	RUN(stump);
	RUN(float32_comparison);
	RUN(depth3);
	RUN(float_accumulation);
	RUN(several_trees);
	RUN(sigmoid);
	RUN(byte_layout);
	RUN(round_trip);
	RUN(rejects_header);
	RUN(rejects_nodes);
	RUN(valid_in_memory);
	RUN(shap_stump);
	RUN(shap_leaves);
	RUN(shap_same_feature);
	RUN(shap_brute_force);
	RUN(shap_depth);
	RUN(shap_sums);
	return UNIT_DONE();
}
