/*
 * make_seeds.c
 *		Writes the generated part of the seed corpora in test/fuzz/corpus:
 *		genuine profiles (binary and text forms), summaries of real data
 *		sets (binary and text), rule inputs in fuzz_rules's format, and
 *		tree ensembles followed by feature vectors for fuzz_trees.
 *
 * Run by `make fuzz-seeds`, which is needed only when a layout changes
 * (VIGIL_PROFILE_VERSION, the input format of fuzz.h): the files are
 * committed, so fuzzing starts from values the code really produces rather
 * than from bytes the fuzzer would need hours to make consistent.  The
 * hand-written seeds (AWS responses, credentials files) are not touched.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/core/profile.h"
#include "detect/core/rules.h"
#include "detect/core/trees.h"
#include "stats/core/welford.h"

static const char *dir = "test/fuzz/corpus";

/* Write n bytes to dir/target/name. */
static void
write_file(const char *target, const char *name, const void *b, size_t n)
{
	char		path[512];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(b, 1, n, f) != n || fclose(f) != 0)
	{
		perror(path);
		exit(1);
	}
}

/* A byte buffer being built in fuzz.h's input format. */
typedef struct Enc
{
	uint8_t		b[4096];
	size_t		n;
} Enc;

/* Append one byte. */
static void
put8(Enc *e, unsigned v)
{
	if (e->n < sizeof(e->b))
		e->b[e->n++] = (uint8_t) v;
}

/* Append a 16-bit number, little-endian, as fuzz_u16 reads it. */
static void
put16(Enc *e, unsigned v)
{
	put8(e, v & 0xFF);
	put8(e, (v >> 8) & 0xFF);
}

/* Append a double as fuzz_double reads it: hundredths, or all 64 bits. */
static void
put_double(Enc *e, double d)
{
	double		h = d * 100.0;

	if (fabs(h) <= 32767.0 && h == floor(h))
	{
		put8(e, 0);
		put16(e, (unsigned) (uint16_t) (int16_t) h);
	}
	else
	{
		uint64_t	bits;

		memcpy(&bits, &d, sizeof(bits));
		put8(e, 3);
		for (int i = 0; i < 8; i++)
			put8(e, (unsigned) (bits >> (8 * i)) & 0xFF);
	}
}

/*
 * Append an event as fuzz_event reads it: dt seconds after the last one
 * (a multiple of 0.25 below 16384 s, or of 2 s below 131072 s), an amount,
 * optional location, merchant and category numbers.
 */
static void
put_event(Enc *e, double dt, double amount, bool loc, double lat, double lon,
		  int merchant, int category)
{
	unsigned	flags = 0;
	bool		coarse = dt >= 16384.0;

	if (dt < 0)
	{
		flags |= 0x80;
		dt = -dt;
	}
	if (coarse)
		flags |= 0x40;
	if (loc)
		flags |= 0x01;
	if (merchant >= 0)
		flags |= 0x02;
	if (category >= 0)
		flags |= 0x04;
	put8(e, flags);
	put16(e, (unsigned) (coarse ? dt / 2.0 : dt * 4.0));
	put_double(e, amount);
	if (loc)
	{
		put16(e, (unsigned) (uint16_t) (int16_t) (lat * 364.0));
		put16(e, (unsigned) (uint16_t) (int16_t) (lon * 182.0));
	}
	put8(e, merchant >= 0 ? (unsigned) merchant : 0);
	put8(e, category >= 0 ? (unsigned) category : 0);
}

/* A deterministic pseudo-random number in [0, 1) (splitmix64). */
static double
uniform(uint64_t *state)
{
	uint64_t	z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (double) ((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

/*
 * A card's history: n events from t0, amounts around mean, every few a
 * located one, merchants from a small set.  Events are appended to enc
 * (when not NULL) and folded into p.
 */
static void
history(VigilProfile *p, Enc *enc, int n, double mean, double gap,
		uint64_t seed)
{
	static const double cities[][2] = {
		{40.7128, -74.0060}, {51.5074, -0.1278}, {48.8566, 2.3522},
		{35.6762, 139.6503}, {-33.8688, 151.2093},
	};
	double		t = 1700000000.0;
	VigilEvent	e;

	for (int i = 0; i < n; i++)
	{
		double		dt = (double) (int) (gap * (0.5 + uniform(&seed)) * 4.0) / 4.0;
		int			city = (int) (uniform(&seed) * 2.0);
		int			merchant = (int) (uniform(&seed) * 6.0);

		memset(&e, 0, sizeof(e));
		t += dt;
		e.t = t;
		e.amount = (double) (int) (mean * (0.5 + uniform(&seed)) * 100.0) / 100.0;
		e.has_location = i % 3 == 0;
		e.lat = cities[city][0];
		e.lon = cities[city][1];
		e.has_merchant = true;
		e.merchant_hash = 0x9e3779b97f4a7c15ULL * (uint64_t) (merchant + 1);
		e.has_category = true;
		e.category_hash = 0xbf58476d1ce4e5b9ULL * (uint64_t) (merchant % 3 + 1);
		if (!vigil_profile_fold(p, &e))
		{
			fprintf(stderr, "make_seeds: fold failed\n");
			exit(1);
		}
		if (enc != NULL)
			put_event(enc, dt, e.amount, e.has_location, e.lat, e.lon,
					  merchant, merchant % 3);
	}
}

/* Write a profile's binary form, and its text form as profile_out does. */
static void
write_profile(const char *name, const VigilProfile *p)
{
	char		file[128];
	char		text[256 + 2 * sizeof(VigilProfile)];
	const char *why;
	size_t		n;

	if (!vigil_profile_valid(p, &why))
	{
		fprintf(stderr, "make_seeds: %s is invalid: %s\n", name, why);
		exit(1);
	}
	snprintf(file, sizeof(file), "%s.bin", name);
	write_file("profile_recv", file, p, sizeof(*p));

	n = (size_t) snprintf(text, sizeof(text), "(n:%llu,mean:%.15g,stddev:%.15g,last_time:%.15g,data:\\x",
						  (unsigned long long) p->amount.n, vigil_welford_mean(&p->amount),
						  p->amount.n > 1 ? sqrt(vigil_welford_var_samp(&p->amount)) : 0.0,
						  vigil_profile_last_time(p));
	for (size_t i = 0; i < sizeof(*p); i++)
		n += (size_t) snprintf(text + n, sizeof(text) - n, "%02x",
							   ((const unsigned char *) p)[i]);
	snprintf(text + n, sizeof(text) - n, ")");
	snprintf(file, sizeof(file), "%s.txt", name);
	write_file("profile_in", file, text, strlen(text));
}

/* Profiles of cards with short, long, steady and travelling histories. */
static void
profiles(void)
{
	VigilProfile p;
	Enc			tail = {{0}, 0};
	uint8_t		with_events[sizeof(VigilProfile) + sizeof(tail.b)];

	vigil_profile_init(&p);
	write_profile("empty", &p);
	history(&p, NULL, 1, 25.0, 60.0, 1);
	write_profile("one_event", &p);
	vigil_profile_init(&p);
	history(&p, NULL, 12, 45.0, 3600.0, 2);
	write_profile("twelve_events", &p);
	vigil_profile_init(&p);
	history(&p, NULL, 200, 80.0, 20000.0, 3);
	write_profile("long_history", &p);	/* the ring has lost events */
	vigil_profile_init(&p);
	history(&p, NULL, 30, 10.0, 86400.0, 4);
	write_profile("daily", &p);

	/* a profile followed by events, for fuzz_profile_recv's second mode */
	vigil_profile_init(&p);
	history(&p, NULL, 20, 60.0, 7200.0, 5);
	memcpy(with_events, &p, sizeof(p));
	put_event(&tail, 30.0, 4000.0, true, 35.6762, 139.6503, 40, 30);
	put_event(&tail, 10.0, 1.0, false, 0, 0, 41, 2);
	put_event(&tail, 10.0, 1.5, false, 0, 0, 41, 2);
	put_event(&tail, -5000.0, 20.0, true, 51.5, -0.12, 1, 1);
	memcpy(with_events + sizeof(p), tail.b, tail.n);
	write_file("profile_recv", "with_events.bin", with_events, sizeof(p) + tail.n);
}

/* Write a summary of xs in both forms, as stats_agg would build it. */
static void
write_stats(const char *name, const double *xs, int n)
{
	VigilWelford w;
	uint64_t	words[5];
	unsigned char bin[40];
	char		text[256],
				file[128];
	double		mean,
				m2;

	vigil_welford_init(&w);
	for (int i = 0; i < n; i++)
		vigil_welford_add(&w, xs[i], NULL);
	mean = vigil_welford_mean(&w);
	m2 = w.m2 > 0.0 ? w.m2 : 0.0;
	if (w.min == w.max)
	{
		mean = w.min;
		m2 = 0.0;
	}
	snprintf(text, sizeof(text), "(n:%llu,mean:%.17g,m2:%.17g,min:%.17g,max:%.17g)",
			 (unsigned long long) w.n, mean, m2, w.min, w.max);
	snprintf(file, sizeof(file), "%s.txt", name);
	write_file("stats_in", file, text, strlen(text));

	words[0] = w.n;
	memcpy(&words[1], &mean, 8);
	memcpy(&words[2], &m2, 8);
	memcpy(&words[3], &w.min, 8);
	memcpy(&words[4], &w.max, 8);
	for (int i = 0; i < 5; i++)
		for (int b = 0; b < 8; b++)
			bin[8 * i + b] = (unsigned char) (words[i] >> (56 - 8 * b));
	snprintf(file, sizeof(file), "%s.bin", name);
	write_file("stats_recv", file, bin, sizeof(bin));
}

/* Summaries of small, identical, offset and extreme data sets. */
static void
stats(void)
{
	static const double three[] = {1, 2, 3};
	static const double one[] = {42.5};
	static const double same[] = {7, 7, 7, 7};
	static const double offset[] = {1e9 + 0.1, 1e9 + 0.2, 1e9 + 0.4, 1e9 + 0.8};
	static const double spread[] = {-1e150, 1e150, 0, 5e-324};
	static const double amounts[] = {12.99, 45.00, 3.50, 120.00, 19.99, 7.25, 64.10, 230.00};
	static const double extremes[] = {0, 8.8544945874389708e-159, 8.8544945874389708e-159, 0};

	write_stats("three", three, 3);
	write_stats("one", one, 1);
	write_stats("identical", same, 4);
	write_stats("offset", offset, 4);
	write_stats("spread", spread, 4);
	write_stats("amounts", amounts, 8);
	write_stats("subnormal_m2", extremes, 4);
}

/* One rule input: kind, parameter settings, then a card's events. */
static void
write_rule(const char *name, VigilRuleKind kind, const char *const *params,
		   const double *values, int nparams, int events, double mean,
		   double gap, uint64_t seed)
{
	Enc			e = {{0}, 0};
	VigilProfile p;

	put8(&e, (unsigned) kind);
	put8(&e, (unsigned) nparams);
	for (int i = 0; i < nparams; i++)
	{
		int			idx = -1;

		for (int k = 0; k < vigil_rule_nparams(kind); k++)
			if (strcmp(params[i], vigil_rule_param_name(kind, k)) == 0)
				idx = k;
		if (idx < 0)
		{
			/* an unknown name: selector with the 0x80 bit, then the name */
			put8(&e, 0x80);
			put8(&e, (unsigned) strlen(params[i]));
			for (const char *c = params[i]; *c; c++)
				put8(&e, (unsigned) (unsigned char) *c);
		}
		else
			put8(&e, (unsigned) idx);
		put_double(&e, values[i]);
	}
	vigil_profile_init(&p);
	history(&p, &e, events, mean, gap, seed);
	write_file("rules", name, e.b, e.n);
}

/* A rule of each kind with typical parameters and a history that fires it. */
static void
rules(void)
{
	static const char *const zs[] = {"threshold", "min_history", "saturate"};
	static const double zsv[] = {2.5, 5, 5};
	static const char *const ratio[] = {"ratio", "saturate"};
	static const double ratiov[] = {2, 8};
	static const char *const limit[] = {"limit"};
	static const double limitv[] = {100};
	static const char *const vel[] = {"window_seconds", "max_count"};
	static const double velv[] = {600, 3};
	static const char *const ws[] = {"window_seconds", "max_sum"};
	static const double wsv[] = {3600, 150};
	static const char *const ct[] = {"window_seconds", "small_amount", "min_count"};
	static const double ctv[] = {900, 5, 3};
	static const char *const it[] = {"max_speed_kmh", "min_distance_km"};
	static const double itv[] = {800, 50};
	static const char *const nm[] = {"min_history"};
	static const double nmv[] = {3};
	static const char *const uh[] = {"min_history", "max_share"};
	static const double uhv[] = {5, 0.1};
	static const char *const bad[] = {"threshold", "thresold", "saturate"};
	static const double badv[] = {7, 1, 6};

	write_rule("amount_zscore", VIGIL_RULE_AMOUNT_ZSCORE, zs, zsv, 3, 16, 40.0, 3600.0, 11);
	write_rule("amount_ratio", VIGIL_RULE_AMOUNT_RATIO, ratio, ratiov, 2, 10, 30.0, 7200.0, 12);
	write_rule("amount_limit", VIGIL_RULE_AMOUNT_LIMIT, limit, limitv, 1, 6, 90.0, 600.0, 13);
	write_rule("velocity", VIGIL_RULE_VELOCITY, vel, velv, 2, 12, 20.0, 60.0, 14);
	write_rule("window_sum", VIGIL_RULE_WINDOW_SUM, ws, wsv, 2, 12, 20.0, 300.0, 15);
	write_rule("card_testing", VIGIL_RULE_CARD_TESTING, ct, ctv, 3, 10, 4.0, 30.0, 16);
	write_rule("impossible_travel", VIGIL_RULE_IMPOSSIBLE_TRAVEL, it, itv, 2, 12, 50.0, 1800.0, 17);
	write_rule("new_merchant", VIGIL_RULE_NEW_MERCHANT, nm, nmv, 1, 12, 50.0, 3600.0, 18);
	write_rule("new_category", VIGIL_RULE_NEW_CATEGORY, nm, nmv, 1, 12, 50.0, 3600.0, 19);
	write_rule("unusual_hour", VIGIL_RULE_UNUSUAL_HOUR, uh, uhv, 2, 40, 50.0, 5000.0, 20);
	/* saturate below threshold and a misspelt name: both refused */
	write_rule("inconsistent", VIGIL_RULE_AMOUNT_ZSCORE, bad, badv, 3, 4, 50.0, 3600.0, 21);
}

/*
 * An ensemble's byte form followed by feature vectors as fuzz_trees reads
 * them: per value a tag byte, 0 and hundredths as a 16-bit number, or 1 for
 * a missing value.
 */
static void
write_trees(const char *name, const VigilTrees *t, const double *xs, int nx)
{
	static uint8_t b[65536];
	const char *why;
	size_t		n;

	if (!vigil_trees_valid(t, &why) || vigil_trees_size(t) + 3 * (size_t) nx > sizeof(b))
	{
		fprintf(stderr, "make_seeds: %s is invalid or too big: %s\n", name, why ? why : "");
		exit(1);
	}
	vigil_trees_write(t, b);
	n = vigil_trees_size(t);
	for (int i = 0; i < nx; i++)
	{
		if (isnan(xs[i]))
			b[n++] = 1;
		else
		{
			uint16_t	h = (uint16_t) (int16_t) lround(xs[i] * 100.0);

			b[n++] = 0;
			b[n++] = (uint8_t) (h & 0xFF);
			b[n++] = (uint8_t) (h >> 8);
		}
	}
	write_file("trees", name, b, n);
}

/* A leaf of a tree ensemble, with a cover (a weight of rows) of its own. */
static VigilTreeNode
tree_leaf(float v, float cover)
{
	VigilTreeNode n = {-1, v, -1, -1, false, cover};

	return n;
}

/* An inner node of a tree ensemble; tree_covers gives it its cover. */
static VigilTreeNode
tree_split(int32_t f, float v, int32_t left, int32_t right, bool default_left)
{
	VigilTreeNode n = {f, v, left, right, default_left, 0.0f};

	return n;
}

/*
 * Give each inner node of nodes[0, n) the sum of its children's covers, as
 * XGBoost's are (up to rounding); children come after their parents.
 */
static void
tree_covers(VigilTreeNode *nodes, int32_t n)
{
	for (int32_t i = n - 1; i >= 0; i--)
		if (nodes[i].feature >= 0)
			nodes[i].cover = nodes[nodes[i].left].cover + nodes[nodes[i].right].cover;
}

/*
 * Ensembles laid out as XGBoost lays them out (children numbered after
 * their parents): a stump, a full tree of depth 3, stumps with a leaf-only
 * tree, the widest feature vector, and a random ensemble of 20 trees.
 */
static void
trees(void)
{
	static const int32_t one_root[] = {0};
	static const int32_t four_roots[] = {0, 3, 6, 9};
	static const double stump_x[] = {0, 0.5, NAN, 1, -3};
	static const double depth3_x[] = {0.5, 0, 0, 0.5, 2, -1, 1, 5, 0, 6, 0, 3, NAN, NAN, NAN};
	static const double several_x[] = {11, -5, NAN, 9.99, -3, 0, NAN, NAN, 1};
	static VigilTreeNode nodes[1024];
	static int32_t roots[20];
	static double xs[8 * 6];
	VigilTrees	t = {1, 1, 3, 0.125f, one_root, nodes};
	uint64_t	seed = 31;
	int32_t		n = 0;

	nodes[0] = tree_split(0, 0.5f, 1, 2, true);
	nodes[1] = tree_leaf(-0.25f, 1.0f);
	nodes[2] = tree_leaf(0.75f, 3.0f);
	tree_covers(nodes, 3);
	write_trees("stump", &t, stump_x, 5);

	nodes[0] = tree_split(0, 1.0f, 1, 2, false);
	nodes[1] = tree_split(1, 2.0f, 3, 4, true);
	nodes[2] = tree_split(2, 3.0f, 5, 6, true);
	nodes[3] = tree_split(2, 4.0f, 7, 8, false);
	nodes[4] = tree_split(2, 0.0f, 9, 10, true);
	nodes[5] = tree_split(1, 5.0f, 11, 12, false);
	nodes[6] = tree_split(0, 6.0f, 13, 14, true);
	for (int i = 7; i < 15; i++)
		nodes[i] = tree_leaf((float) (i - 6) * 0.125f, (float) (i % 3 + 1));
	tree_covers(nodes, 15);
	t.nfeatures = 3;
	t.nnodes = 15;
	t.base_margin = 0.0f;
	write_trees("depth3", &t, depth3_x, 15);

	nodes[0] = tree_split(0, 10.0f, 1, 2, true);
	nodes[1] = tree_leaf(0.1f, 20.0f);
	nodes[2] = tree_leaf(-0.2f, 5.0f);
	nodes[3] = tree_split(1, -3.0f, 4, 5, false);
	nodes[4] = tree_leaf(0.3f, 2.5f);
	nodes[5] = tree_leaf(0.05f, 22.5f);
	nodes[6] = tree_split(2, 0.0f, 7, 8, true);
	nodes[7] = tree_leaf(-0.7f, 0.0f);
	nodes[8] = tree_leaf(0.4f, 25.0f);
	nodes[9] = tree_leaf(0.01f, 25.0f);
	tree_covers(nodes, 10);
	t.ntrees = 4;
	t.nnodes = 10;
	t.base_margin = -0.5f;
	t.roots = four_roots;
	write_trees("several", &t, several_x, 9);

	nodes[0] = tree_split(VIGIL_TREES_MAX_FEATURES - 1, 0.0f, 1, 2, false);
	nodes[1] = tree_leaf(-1.0f, 0.5f);
	nodes[2] = tree_leaf(1.0f, 0.25f);
	tree_covers(nodes, 3);
	t.nfeatures = VIGIL_TREES_MAX_FEATURES;
	t.ntrees = 1;
	t.nnodes = 3;
	t.roots = one_root;
	write_trees("wide", &t, NULL, 0);

	/* each tree grown breadth first, splitting 3 times in 5, to depth 4 */
	for (int k = 0; k < 20; k++)
	{
		int32_t		next = n + 1;

		roots[k] = n;
		for (int32_t i = n; i < next; i++)
		{
			int32_t		depth = 0;

			for (int32_t m = i - n + 1; m > 1; m /= 2)
				depth++;
			if (depth < 4 && uniform(&seed) < 0.6)
			{
				nodes[i] = tree_split((int32_t) (uniform(&seed) * 8.0),
									  (float) (int) (uniform(&seed) * 400.0 - 200.0) / 100.0f,
									  next, next + 1, uniform(&seed) < 0.5);
				next += 2;
			}
			else
				nodes[i] = tree_leaf((float) (uniform(&seed) - 0.5) * 0.3f,
									 (float) (int) (uniform(&seed) * 1000.0) / 8.0f);
		}
		n = next;
	}
	tree_covers(nodes, n);
	for (int i = 0; i < 8 * 6; i++)
		xs[i] = i % 7 == 3 ? NAN : (double) (int) (uniform(&seed) * 500.0 - 250.0) / 100.0;
	t.nfeatures = 8;
	t.ntrees = 20;
	t.nnodes = n;
	t.base_margin = -1.3862944f;	/* base_score 0.2 */
	t.roots = roots;
	write_trees("xgboost_like", &t, xs, 8 * 6);
}

/* Write every generated seed. */
int
main(int argc, char **argv)
{
	if (argc > 1)
		dir = argv[1];
	profiles();
	stats();
	rules();
	trees();
	return 0;
}
