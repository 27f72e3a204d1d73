/*
 * train.c
 *		vigil.train: a gradient-boosted model from a watched table's labelled
 *		history, stored in vigil.models.
 *
 * One replay (replay.c) gives each labelled row its card's profile as it
 * was before the row; features.c turns profile and row into the feature
 * vector that the detection trigger computes the same way when it scores
 * with the model, so there is no skew between training and serving.  The
 * latest share of the rows' time span (validation_share, 20%) is held out:
 * the model is trained on the rest, and its measures on the held-out rows
 * are stored with it.  Every labelled row is also scored by trees.c, the
 * evaluator the trigger uses, and by libxgboost itself: a model on which
 * the two disagree by more than MAX_DISAGREEMENT on any row is refused.  So
 * is one whose features' contributions to a score, as trees.c computes
 * them to explain an alert, are not libxgboost's (pred_contribs) on the
 * first held-out rows.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "detect/core/features.h"
#include "detect/core/ranking.h"
#include "detect/evaluate.h"
#include "detect/profile_type.h"
#include "detect/xgboost.h"
#include "guc.h"

PG_FUNCTION_INFO_V1(vigil_train);

/* Categories a model codes (the most frequent in its training rows). */
#define MAX_CATEGORIES 200

/* The largest difference allowed between trees.c's and libxgboost's probabilities. */
#define MAX_DISAGREEMENT 1e-6

/*
 * The largest difference allowed between trees.c's and libxgboost's
 * contributions, relative to the larger of 1 and libxgboost's.  trees.c
 * computes them in the same float steps, and they have been equal to the
 * last bit; a compiler that fused a multiply and an add would change them
 * by a few float roundings per tree.  A real difference of method is far
 * larger (contributions are log-odds, those that explain an alert above
 * 0.01).
 */
#define MAX_CONTRIBUTION_DISAGREEMENT 1e-4

/*
 * Held-out rows whose contributions are compared, and the work allowed for
 * them in nodes x (depth + 1)^2 (a row's contributions visit every node,
 * with depth^2 steps at a leaf; 1e9 is about 1.5 s here).  By the largest
 * trees the options allow: 500 rows of the default model, 32 of 5000
 * rounds of depth 6, 1 of 5000 of depth 16.
 */
#define CONTRIBUTION_ROWS 500
#define CONTRIBUTION_WORK 1e9

/* The alert rate the stored precision and recall are measured at. */
#define MEASURED_RATE 0.01

/* The labelled rows, as feature vectors (VigilPass.state). */
typedef struct Training
{
	VigilLabel	label;
	float	   *x;				/* rows x VIGIL_NFEATURES */
	float	   *y;
	double	   *t;
	uint64	   *category;		/* the category's hash; 0: none */
	int64		rows;
	int64		max;
	int64		limit;			/* max_rows */
	double		tmin;
	double		tmax;
} Training;

/* vigil.train's options, with their defaults. */
typedef struct Options
{
	VigilBoostParams boost;
	double		validation_share;
	int64		max_rows;
} Options;

/* A probability with its label, for ranking. */
typedef struct Scored
{
	float		p;
	bool		label;
} Scored;

/* train's row_done: keep a labelled row's features, label, time and category. */
static void
keep_row(VigilPass *p, TupleTableSlot *slot, const char *key pg_attribute_unused(),
		 const VigilEvent *e, const VigilProfile *before)
{
	Training   *tr = p->state;
	bool		label;

	if (!vigil_label_read(&tr->label, slot, &label))
		return;
	if (tr->rows == tr->max)
	{
		if (tr->rows >= tr->limit)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("more than %lld labelled rows to train on", (long long) tr->limit),
					 errhint("Train on a shorter range (since, until), or raise the option max_rows.")));
		tr->max = Min(Max(tr->max * 2, 1024), tr->limit);
		tr->x = repalloc_huge(tr->x, sizeof(float) * VIGIL_NFEATURES * tr->max);
		tr->y = repalloc_huge(tr->y, sizeof(float) * tr->max);
		tr->t = repalloc_huge(tr->t, sizeof(double) * tr->max);
		tr->category = repalloc_huge(tr->category, sizeof(uint64) * tr->max);
	}
	vigil_features(before, e, NAN, tr->x + tr->rows * VIGIL_NFEATURES);
	tr->y[tr->rows] = label ? 1.0f : 0.0f;
	tr->t[tr->rows] = e->t;
	tr->category[tr->rows] = e->has_category ? e->category_hash : 0;
	tr->tmin = Min(tr->tmin, e->t);
	tr->tmax = Max(tr->tmax, e->t);
	tr->rows++;
}

/* An option's value as a number in [min, max], or an ERROR. */
static double
option_number(JsonbValue *v, const char *key, double min, double max, bool integer)
{
	double		x;

	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a number", key)));
	x = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
	if (!(x >= min && x <= max) || (integer && x != floor(x)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be %s in [%g, %g], not %g", key,
						integer ? "an integer" : "a number", min, max, x)));
	return x;
}

/* vigil.train's options from the jsonb object o. */
static Options
read_options(Jsonb *o)
{
	Options		opt = {
		.boost = {
			.rounds = 50, .max_depth = 6, .learning_rate = 0.1, .min_child_weight = 1.0,
			.scale_pos_weight = 1.0, .subsample = 1.0, .max_bin = 256,
			.nthread = vigil_train_threads, .seed = 0
		},
		.validation_share = 0.2,
		.max_rows = 2000000
	};
	JsonbIterator *it;
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;

	if (!JB_ROOT_IS_OBJECT(o))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object")));
	it = JsonbIteratorInit(&o->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		JsonbIteratorNext(&it, &v, true);
		if (strcmp(key, "rounds") == 0)
			opt.boost.rounds = (int) option_number(&v, key, 1, 5000, true);
		else if (strcmp(key, "max_depth") == 0)
			opt.boost.max_depth = (int) option_number(&v, key, 1, 16, true);
		else if (strcmp(key, "learning_rate") == 0)
			opt.boost.learning_rate = option_number(&v, key, 1e-4, 1, false);
		else if (strcmp(key, "min_child_weight") == 0)
			opt.boost.min_child_weight = option_number(&v, key, 0, 1e6, false);
		else if (strcmp(key, "scale_pos_weight") == 0)
			opt.boost.scale_pos_weight = option_number(&v, key, 1e-3, 1e6, false);
		else if (strcmp(key, "subsample") == 0)
			opt.boost.subsample = option_number(&v, key, 0.01, 1, false);
		else if (strcmp(key, "max_bin") == 0)
			opt.boost.max_bin = (int) option_number(&v, key, 2, 1024, true);
		else if (strcmp(key, "seed") == 0)
			opt.boost.seed = (int) option_number(&v, key, 0, INT_MAX, true);
		else if (strcmp(key, "validation_share") == 0)
			opt.validation_share = option_number(&v, key, 0.01, 0.9, false);
		else if (strcmp(key, "max_rows") == 0)
			opt.max_rows = (int64) option_number(&v, key, 100, 1e9, true);
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\"", key),
					 errhint("Options are rounds, max_depth, learning_rate, min_child_weight, "
							 "scale_pos_weight, subsample, max_bin, seed, validation_share and max_rows.")));
	}
	return opt;
}

/* qsort comparator: category hashes. */
static int
cmp_hash(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return x < y ? -1 : (x > y);
}

/* A category hash with its count. */
typedef struct Counted
{
	uint64		hash;
	int64		n;
} Counted;

/* qsort comparator: the more frequent first, then by hash. */
static int
cmp_counted(const void *a, const void *b)
{
	const Counted *x = a;
	const Counted *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return cmp_hash(&x->hash, &y->hash);
}

/*
 * The model's categories: the MAX_CATEGORIES most frequent among the rows,
 * in hash order; a category's feature value is its position there.  Sets
 * every row's category feature and returns the count in *n.
 */
static uint64 *
code_categories(Training *tr, int *n)
{
	uint64	   *sorted = palloc(sizeof(uint64) * Max(tr->rows, 1));
	Counted    *counted = palloc(sizeof(Counted) * Max(tr->rows, 1));
	int64		ndistinct = 0;
	uint64	   *codes;

	memcpy(sorted, tr->category, sizeof(uint64) * tr->rows);
	qsort(sorted, tr->rows, sizeof(uint64), cmp_hash);
	for (int64 i = 0; i < tr->rows; i++)
	{
		if (sorted[i] == 0)
			continue;
		if (ndistinct > 0 && counted[ndistinct - 1].hash == sorted[i])
			counted[ndistinct - 1].n++;
		else
			counted[ndistinct++] = (Counted) {sorted[i], 1};
	}
	qsort(counted, ndistinct, sizeof(Counted), cmp_counted);
	*n = (int) Min(ndistinct, MAX_CATEGORIES);
	codes = palloc(sizeof(uint64) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
		codes[i] = counted[i].hash;
	qsort(codes, *n, sizeof(uint64), cmp_hash);
	for (int64 i = 0; i < tr->rows; i++)
		tr->x[i * VIGIL_NFEATURES + VIGIL_F_CATEGORY] =
			vigil_category_code(codes, *n, tr->category[i]);
	pfree(sorted);
	pfree(counted);
	return codes;
}

/* qsort comparator: the highest probability first. */
static int
cmp_scored(const void *a, const void *b)
{
	float		x = ((const Scored *) a)->p;
	float		y = ((const Scored *) b)->p;

	return x > y ? -1 : (x < y);
}

/* A measure for the metrics object; null when undefined. */
static void
add_measure(StringInfo buf, const char *key, double x)
{
	appendStringInfo(buf, "%s\"%s\": ", buf->len > 1 ? ", " : "", key);
	if (isfinite(x))
		appendStringInfo(buf, "%.6g", x);
	else
		appendStringInfoString(buf, "null");
}

/*
 * The measures of probabilities s (n rows, sorted here) as a JSON object:
 * rows, positives, PR-AUC, ROC-AUC, and the threshold, precision and recall
 * at MEASURED_RATE, with the disagreements of the two evaluators'
 * probabilities and contributions.
 */
static char *
measures(Scored *s, int64 n, double disagreement, double contribution_disagreement)
{
	VigilRanking r;
	VigilBudget b;
	int64		pos,
				neg,
				alerts = 0,
				caught = 0;
	double		ap,
				auc,
				threshold = NAN;
	StringInfoData buf;

	qsort(s, n, sizeof(Scored), cmp_scored);
	vigil_ranking_init(&r);
	vigil_budget_init(&b, n, MEASURED_RATE);
	for (int64 i = 0; i < n; i++)
	{
		vigil_ranking_add(&r, s[i].p, s[i].label);
		vigil_budget_add(&b, s[i].p);
	}
	vigil_ranking_finish(&r, &pos, &neg, &ap, &auc);
	if (vigil_budget_finish(&b, &threshold, &alerts))
		for (int64 i = 0; i < n && s[i].p >= threshold; i++)
			caught += s[i].label;
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	add_measure(&buf, "rows", n);
	add_measure(&buf, "positives", pos);
	add_measure(&buf, "pr_auc", ap);
	add_measure(&buf, "roc_auc", auc);
	add_measure(&buf, "alert_rate", MEASURED_RATE);
	add_measure(&buf, "threshold", threshold);
	add_measure(&buf, "precision", alerts > 0 ? (double) caught / alerts : NAN);
	add_measure(&buf, "recall", pos > 0 ? (double) caught / pos : NAN);
	add_measure(&buf, "evaluator_disagreement", disagreement);
	add_measure(&buf, "contribution_disagreement", contribution_disagreement);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* The options as trained with, as a JSON object. */
static char *
options_json(const Options *o)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	add_measure(&buf, "rounds", o->boost.rounds);
	add_measure(&buf, "max_depth", o->boost.max_depth);
	add_measure(&buf, "learning_rate", o->boost.learning_rate);
	add_measure(&buf, "min_child_weight", o->boost.min_child_weight);
	add_measure(&buf, "scale_pos_weight", o->boost.scale_pos_weight);
	add_measure(&buf, "subsample", o->boost.subsample);
	add_measure(&buf, "max_bin", o->boost.max_bin);
	add_measure(&buf, "seed", o->boost.seed);
	add_measure(&buf, "validation_share", o->validation_share);
	add_measure(&buf, "max_rows", (double) o->max_rows);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* The rows of tr on one side of split (valid: at or after it), copied out. */
static VigilBoostData
split_rows(const Training *tr, double split, bool valid)
{
	VigilBoostData d = {0};
	float	   *x;
	float	   *y;
	int64		n = 0;

	for (int64 i = 0; i < tr->rows; i++)
		n += (tr->t[i] >= split) == valid;
	x = palloc_extended(sizeof(float) * VIGIL_NFEATURES * Max(n, 1), MCXT_ALLOC_HUGE);
	y = palloc_extended(sizeof(float) * Max(n, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0, j = 0; i < tr->rows; i++)
	{
		if ((tr->t[i] >= split) != valid)
			continue;
		memcpy(x + j * VIGIL_NFEATURES, tr->x + i * VIGIL_NFEATURES,
			   sizeof(float) * VIGIL_NFEATURES);
		y[j++] = tr->y[i];
	}
	d.x = x;
	d.label = y;
	d.rows = n;
	d.features = VIGIL_NFEATURES;
	return d;
}

/* An ERROR unless d has rows of both classes; what names the rows. */
static void
require_both_classes(const VigilBoostData *d, const char *what)
{
	int64		pos = 0;

	for (int64 i = 0; i < d->rows; i++)
		pos += d->label[i] > 0.5f;
	if (pos == 0 || pos == d->rows)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the %s rows' labels are all %s", what, pos == 0 ? "false" : "true"),
				 errdetail("%lld labelled rows.", (long long) d->rows),
				 errhint("A model learns from both fraud and legitimate rows.")));
}

/*
 * How many held-out rows (of valid_rows) to compare contributions on: at
 * most CONTRIBUTION_ROWS, and at most CONTRIBUTION_WORK for the largest
 * trees the options allow (rounds full trees of max_depth), at least one.
 */
static int64
contribution_rows(const VigilBoostParams *p, int64 valid_rows)
{
	double		levels = p->max_depth + 1;
	double		per_row = p->rounds * (pow(2.0, levels) - 1.0) * levels * levels;
	int64		n = (int64) Max(1.0, Min(CONTRIBUTION_ROWS, CONTRIBUTION_WORK / per_row));

	return Min(n, valid_rows);
}

/*
 * The largest difference between trees.c's contributions and libxgboost's
 * (theirs: n rows of VIGIL_NFEATURES + 1 floats) for the first n rows of
 * x, relative to the larger of 1 and theirs; infinite where one is NaN.
 */
static double
contribution_disagreement(const VigilTrees *trees, const float *x, int64 n, const float *theirs)
{
	float	   *means = palloc_extended(sizeof(float) * trees->nnodes, MCXT_ALLOC_HUGE);
	int32		depth = vigil_trees_max_depth(trees);
	void	   *workspace = palloc(vigil_trees_workspace_size(trees, depth));
	float		phi[VIGIL_NFEATURES + 1];
	double		worst = 0.0;

	vigil_trees_node_means(trees, means);
	for (int64 i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		vigil_trees_contributions(trees, means, depth, x + i * VIGIL_NFEATURES, workspace, phi);
		for (int f = 0; f <= VIGIL_NFEATURES; f++)
		{
			double		want = theirs[i * (VIGIL_NFEATURES + 1) + f];
			double		d = phi[f] == want ? 0.0 : fabs(phi[f] - want) / Max(1.0, fabs(want));

			worst = Max(worst, isnan(d) ? INFINITY : d);
		}
	}
	pfree(workspace);
	pfree(means);
	return worst;
}

/* Store the model; returns its id. */
static int64
store(const VigilPass *p, const Training *tr, double split, const VigilTrees *trees,
	  const uint64 *codes, int ncodes, const char *params, const char *metrics,
	  int64 train_rows)
{
	Oid			types[11] = {INT4OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
	INT8OID, TEXTARRAYOID, INT8ARRAYOID, JSONBOID, JSONBOID, BYTEAOID};
	Datum		args[11];
	Datum	   *names = palloc(sizeof(Datum) * VIGIL_NFEATURES);
	Datum	   *hashes = palloc(sizeof(Datum) * Max(ncodes, 1));
	Size		size = vigil_trees_size(trees);
	bytea	   *bytes = palloc(VARHDRSZ + size);
	bool		isnull;
	int64		id;

	for (int i = 0; i < VIGIL_NFEATURES; i++)
		names[i] = CStringGetTextDatum(vigil_feature_names[i]);
	for (int i = 0; i < ncodes; i++)
		hashes[i] = Int64GetDatum((int64) codes[i]);
	SET_VARSIZE(bytes, VARHDRSZ + size);
	vigil_trees_write(trees, (uint8 *) VARDATA(bytes));
	args[0] = Int32GetDatum(p->w.id);
	args[1] = CStringGetTextDatum(tr->label.name);
	args[2] = TimestampTzGetDatum(vigil_epoch_to_timestamptz(tr->tmin));
	args[3] = TimestampTzGetDatum(vigil_epoch_to_timestamptz(split));
	args[4] = TimestampTzGetDatum(vigil_epoch_to_timestamptz(tr->tmax));
	args[5] = Int64GetDatum(train_rows);
	args[6] = PointerGetDatum(construct_array(names, VIGIL_NFEATURES, TEXTOID, -1, false,
											  TYPALIGN_INT));
	args[7] = PointerGetDatum(construct_array(hashes, ncodes, INT8OID, 8, FLOAT8PASSBYVAL,
											  TYPALIGN_DOUBLE));
	args[8] = DirectFunctionCall1(jsonb_in, CStringGetDatum(params));
	args[9] = DirectFunctionCall1(jsonb_in, CStringGetDatum(metrics));
	args[10] = PointerGetDatum(bytes);
	if (SPI_execute_with_args("INSERT INTO vigil.models (watch_id, label_column, first_event, "
							  "validation_from, last_event, train_rows, features, categories, "
							  "params, validation, trees) "
							  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
							  11, types, args, NULL, false, 1) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "could not store the model");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return id;
}

/*
 * vigil.train(relation, label_column, since, until, options): train a model
 * on the labelled rows in [since, until) and store it (not active); returns
 * its id.
 */
Datum
vigil_train(PG_FUNCTION_ARGS)
{
	VigilPass	p;
	Training	tr;
	Options		opt;
	VigilBoostData train;
	VigilBoostData valid;
	VigilTrees *trees;
	uint64	   *codes;
	int			ncodes;
	double		split;
	double		disagreement = 0.0;
	double		contrib_disagreement;
	float	   *train_pred;
	float	   *pred;
	int64		ncontrib;
	float	   *contrib;
	Scored	   *scored;
	char	   *json;
	Size		len;
	int64		id;

	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("options must not be NULL")));
	opt = read_options(PG_GETARG_JSONB_P(4));
	vigil_pass_begin(&p, fcinfo, "vigil.train");
	memset(&tr, 0, sizeof(tr));
	vigil_label_find(&tr.label, &p, fcinfo, 1);
	tr.limit = opt.max_rows;
	tr.tmin = INFINITY;
	tr.tmax = -INFINITY;
	tr.x = palloc(sizeof(float));
	tr.y = palloc(sizeof(float));
	tr.t = palloc(sizeof(double));
	tr.category = palloc(sizeof(uint64));
	p.from = -INFINITY;
	p.since = vigil_time_arg(fcinfo, 2, -INFINITY);
	p.until = vigil_time_arg(fcinfo, 3, INFINITY);
	p.row_done = keep_row;
	p.state = &tr;
	vigil_pass_run(&p);
	if (tr.rows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no labelled rows to train on"),
				 errhint("Rows whose label is NULL, or outside [since, until), are left out.")));

	codes = code_categories(&tr, &ncodes);
	split = tr.tmax - opt.validation_share * (tr.tmax - tr.tmin);
	train = split_rows(&tr, split, false);
	valid = split_rows(&tr, split, true);
	require_both_classes(&train, "training");
	train_pred = palloc_extended(sizeof(float) * Max(train.rows, 1), MCXT_ALLOC_HUGE);
	pred = palloc_extended(sizeof(float) * Max(valid.rows, 1), MCXT_ALLOC_HUGE);
	ncontrib = contribution_rows(&opt.boost, valid.rows);
	contrib = palloc(sizeof(float) * (VIGIL_NFEATURES + 1) * Max(ncontrib, 1));
	json = vigil_boost_train(&train, &valid, &opt.boost, train_pred, pred, ncontrib, contrib,
							 &len);
	trees = vigil_boost_trees(json, VIGIL_NFEATURES);
	pfree(json);

	/* every row, trained on or held out, scores the same in both */
	for (int64 i = 0; i < train.rows; i++)
		disagreement = Max(disagreement,
						   fabs(vigil_trees_probability(trees, train.x + i * VIGIL_NFEATURES) -
								train_pred[i]));
	scored = palloc_extended(sizeof(Scored) * Max(valid.rows, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < valid.rows; i++)
	{
		double		ours = vigil_trees_probability(trees, valid.x + i * VIGIL_NFEATURES);

		disagreement = Max(disagreement, fabs(ours - pred[i]));
		scored[i].p = pred[i];
		scored[i].label = valid.label[i] > 0.5f;
	}
	if (disagreement > MAX_DISAGREEMENT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("the trained model scores differently in pg_vigil than in xgboost"),
				 errdetail("The probabilities differ by up to %g on the labelled rows.",
						   disagreement)));
	contrib_disagreement = contribution_disagreement(trees, valid.x, ncontrib, contrib);
	if (contrib_disagreement > MAX_CONTRIBUTION_DISAGREEMENT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("the trained model's feature contributions differ in pg_vigil from xgboost's"),
				 errdetail("On the first %lld held-out rows they differ by up to %g (relative to the larger of 1 and xgboost's).",
						   (long long) ncontrib, contrib_disagreement)));
	id = store(&p, &tr, split, trees, codes, ncodes, options_json(&opt),
			   measures(scored, valid.rows, disagreement, contrib_disagreement), train.rows);
	vigil_pass_end(&p);
	PG_RETURN_INT64(id);
}
