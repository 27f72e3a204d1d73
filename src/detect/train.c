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
 *
 * Labels come from a label column of the table (the one given, or the
 * watch's own, vigil.set_label) and, for the rows it leaves NULL, from
 * analysts' verdicts (vigil.verdicts).  A row younger than the label
 * maturity (measured from until, or now) is left out unless an analyst
 * labelled it: its fraud may not be known yet.  vigil.retrain trains the
 * same way and also scores each row as the watch scores now (its active
 * model, or its rules), to compare the two on the same held-out rows.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "detect/core/features.h"
#include "detect/core/ranking.h"
#include "detect/evaluate.h"
#include "detect/labels.h"
#include "detect/profile_type.h"
#include "detect/xgboost.h"
#include "guc.h"

PG_FUNCTION_INFO_V1(vigil_train);
PG_FUNCTION_INFO_V1(vigil_retrain);

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
	bool		has_column;		/* false: verdicts only */
	VigilVerdicts verdicts;
	double		mature_before;	/* a row at or after it needs a verdict */
	int64		verdict_labels; /* rows taken in whose label is a verdict */
	int64		immature;		/* labelled rows left out for their age */
	bool		compare;		/* retrain: also score as the watch does now */
	VigilModel *incumbent;		/* with its active model; NULL: its rules */
	float	   *x;				/* rows x VIGIL_NFEATURES */
	float	   *y;
	double	   *t;
	uint64	   *category;		/* the category's hash; 0: none */
	float	   *base;			/* compare: the watch's score now */
	int64		rows;
	int64		max;
	int64		limit;			/* max_rows */
	int64		seen;			/* labelled rows read, kept or not */
	pg_prng_state sample;		/* retrain: which rows past limit replace which */
	double		tmin;
	double		tmax;
} Training;

/* vigil.train's options, with their defaults. */
typedef struct Options
{
	VigilBoostParams boost;
	double		validation_share;
	int64		max_rows;
	Datum		maturity;		/* an interval; 0: the watch's label_maturity */
} Options;

/* What a training run is given: vigil.train's arguments, or vigil.retrain's. */
typedef struct Request
{
	const char *label_column;	/* NULL: the watch's own, if it has one */
	double		since;
	double		until;
	TimestampTz maturity_from;	/* the earlier of until and now */
	Options		opt;
	bool		compare;
} Request;

/* A stored model, and for retrain how the watch's scorer did beside it. */
typedef struct Trained
{
	int64		id;
	double		pr_auc;			/* on the validation rows; NaN: undefined */
	double		base_pr_auc;	/* the watch's scorer's, on the same rows */
	int64		incumbent;		/* the active model compared with; 0: the rules */
	int64		valid_rows;
	int64		valid_positives;
	double		split;
	double		tmax;
	Datum		alert_budget;	/* the watch's; NULL: none */
	bool		no_budget;
	char	   *maturity;		/* the maturity applied, as text */
} Trained;

/* A probability with its label, for ranking. */
typedef struct Scored
{
	float		p;
	bool		label;
} Scored;

/* The analyst's verdict on the row in slot, or NULL. */
static const VigilVerdict *
find_verdict(VigilPass *p, Training *tr, TupleTableSlot *slot)
{
	Jsonb	   *ref = vigil_row_ref(&p->w, slot);

	return vigil_verdicts_find(&tr->verdicts, JsonbToCString(NULL, &ref->root, VARSIZE(ref)));
}

/*
 * train's row_done: keep a labelled row's features, label, time and
 * category (and with compare, the watch's score for it now).  The label is
 * the column's where it is not NULL and the row is mature, else the
 * analyst's verdict; a row younger than the maturity without a verdict is
 * left out, since its column may not say yet what it was.
 */
static void
keep_row(VigilPass *p, TupleTableSlot *slot, const char *key pg_attribute_unused(),
		 const VigilEvent *e, const VigilProfile *before)
{
	Training   *tr = p->state;
	bool		label = false;
	bool		in_column = tr->has_column && vigil_label_read(&tr->label, slot, &label);
	const VigilVerdict *verdict = tr->verdicts.count > 0 ? find_verdict(p, tr, slot) : NULL;
	bool		from_verdict = false;
	int64		at;

	if (!in_column || e->t >= tr->mature_before)
	{
		if (verdict == NULL)
		{
			tr->immature += in_column;
			return;
		}
		label = verdict->fraud;
		from_verdict = true;
	}
	tr->seen++;
	tr->tmin = Min(tr->tmin, e->t);
	tr->tmax = Max(tr->tmax, e->t);
	if (tr->rows < tr->limit)
	{
		at = tr->rows++;
		if (at == tr->max)
		{
			tr->max = Min(Max(tr->max * 2, 1024), tr->limit);
			tr->x = repalloc_huge(tr->x, sizeof(float) * VIGIL_NFEATURES * tr->max);
			tr->y = repalloc_huge(tr->y, sizeof(float) * tr->max);
			tr->t = repalloc_huge(tr->t, sizeof(double) * tr->max);
			tr->category = repalloc_huge(tr->category, sizeof(uint64) * tr->max);
			if (tr->compare)
				tr->base = repalloc_huge(tr->base, sizeof(float) * tr->max);
		}
	}
	else if (!tr->compare)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("more than %lld labelled rows to train on", (long long) tr->limit),
				 errhint("Train on a shorter range (since, until), or raise the option max_rows.")));
	else
	{
		/*
		 * retrain, which the nightly job runs on a table that only grows:
		 * a uniform sample of the labelled rows (a reservoir), the same one
		 * every run over the same rows
		 */
		at = (int64) pg_prng_uint64_range(&tr->sample, 0, tr->seen - 1);
		if (at >= tr->limit)
			return;
	}
	if (tr->compare)
		tr->base[at] = tr->incumbent != NULL ?
			vigil_model_probability(tr->incumbent, before, e) :
			vigil_score(&p->scorer, before, e);
	tr->verdict_labels += from_verdict;
	vigil_features(before, e, NAN, tr->x + at * VIGIL_NFEATURES);
	tr->y[at] = label ? 1.0f : 0.0f;
	tr->t[at] = e->t;
	tr->category[at] = e->has_category ? e->category_hash : 0;
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

/* An option's value as an interval, not negative, or an ERROR. */
static Datum
option_interval(JsonbValue *v, const char *key)
{
	Datum		x;
	Interval   *zero = palloc0(sizeof(Interval));

	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be an interval as a string, such as \"30 days\"", key)));
	x = DirectFunctionCall3(interval_in,
							CStringGetDatum(pnstrdup(v->val.string.val, v->val.string.len)),
							ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	if (DatumGetInt32(DirectFunctionCall2(interval_cmp, x, IntervalPGetDatum(zero))) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must not be negative, not %s", key,
						DatumGetCString(DirectFunctionCall1(interval_out, x)))));
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
		.max_rows = 2000000,
		.maturity = (Datum) 0
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
		else if (strcmp(key, "maturity") == 0)
			opt.maturity = option_interval(&v, key);
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\"", key),
					 errhint("Options are rounds, max_depth, learning_rate, min_child_weight, "
							 "scale_pos_weight, subsample, max_bin, seed, validation_share, max_rows "
							 "and maturity.")));
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
 * rows, positives, PR-AUC (also in *pr_auc), ROC-AUC, and the threshold,
 * precision and recall at MEASURED_RATE, with the disagreements of the two
 * evaluators' probabilities and contributions, and how many of the rows
 * trained on or held out had a verdict for a label, and how many were left
 * out as too young.
 */
static char *
measures(Scored *s, int64 n, double disagreement, double contribution_disagreement,
		 const Training *tr, double *pr_auc)
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
	add_measure(&buf, "verdict_labels", tr->verdict_labels);
	add_measure(&buf, "immature_rows", tr->immature);
	appendStringInfoChar(&buf, '}');
	*pr_auc = ap;
	return buf.data;
}

/* The average precision (PR-AUC) of scores s (n rows, sorted here); NaN: undefined. */
static double
average_precision(Scored *s, int64 n)
{
	VigilRanking r;
	int64		pos;
	int64		neg;
	double		ap;
	double		auc;

	qsort(s, n, sizeof(Scored), cmp_scored);
	vigil_ranking_init(&r);
	for (int64 i = 0; i < n; i++)
		vigil_ranking_add(&r, s[i].p, s[i].label);
	vigil_ranking_finish(&r, &pos, &neg, &ap, &auc);
	return ap;
}

/* The options as trained with, as a JSON object, with the maturity applied. */
static char *
options_json(const Options *o, const char *maturity)
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
	appendStringInfoString(&buf, ", \"maturity\": ");
	escape_json(&buf, maturity);
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
	args[1] = tr->has_column ? CStringGetTextDatum(tr->label.name) : (Datum) 0;
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
							  11, types, args, tr->has_column ? NULL : " n         ", false, 1) !=
		SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "could not store the model");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return id;
}

/*
 * Read the watch's label settings for a run of req: its label column when
 * req names none (left unset in tr when it has none either), its alert
 * budget, and when a row is mature (the option maturity, else the watch's
 * label_maturity, before req's maturity_from).  Runs as the caller.
 */
static void
read_watch_labels(VigilPass *p, const Request *req, Training *tr, Trained *out)
{
	const Options *opt = &req->opt;
	Oid			argtypes[3] = {INT4OID, TIMESTAMPTZOID, INTERVALOID};
	Datum		args[3];
	bool		isnull;
	Datum		attnum;
	bool		no_column;
	HeapTuple	row;
	TupleDesc	desc;

	int			nestlevel = NewGUCNestLevel();

	/* the maturity's text in one style, whatever the session's */
	(void) set_config_option("intervalstyle", "postgres", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	args[0] = Int32GetDatum(p->w.id);
	args[1] = TimestampTzGetDatum(req->maturity_from);
	args[2] = opt->maturity;
	if (SPI_execute_with_args("SELECT w.label_attnum, "
							  "$2 OPERATOR(pg_catalog.-) COALESCE($3, w.label_maturity), "
							  "COALESCE($3, w.label_maturity)::pg_catalog.text, "
							  "w.alert_budget "
							  "FROM vigil.watches w WHERE w.id OPERATOR(pg_catalog.=) $1",
							  3, argtypes, args, opt->maturity == (Datum) 0 ? "  n" : NULL,
							  true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the labels of watch %d", p->w.id);
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	attnum = SPI_getbinval(row, desc, 1, &no_column);
	tr->mature_before = vigil_timestamptz_to_epoch(DatumGetTimestampTz(SPI_getbinval(row, desc, 2,
																					 &isnull)));
	out->maturity = SPI_getvalue(row, desc, 3);
	out->alert_budget = SPI_getbinval(row, desc, 4, &out->no_budget);
	AtEOXact_GUC(true, nestlevel);
	if (req->label_column != NULL)
	{
		vigil_label_check(&tr->label, p->rel, req->label_column);
		tr->has_column = true;
	}
	else if (!no_column)
	{
		char	   *name = get_attname(RelationGetRelid(p->rel), DatumGetInt16(attnum), true);

		if (name != NULL)
		{
			vigil_label_check(&tr->label, p->rel, name);
			tr->has_column = true;
		}
	}
}

/*
 * Train a model as req asks on the pass's table (begun by the caller, who
 * ends it) and store it; out says what was stored and, with req->compare,
 * how the watch's scorer ranked the same validation rows.
 */
static void
train_model(VigilPass *p, const Request *req, Trained *out)
{
	Training	tr;
	const Options *opt = &req->opt;
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
	float	   *served = NULL;	/* compare: trees.c's probabilities of the held-out rows */
	char	   *json;
	char	   *metrics;
	Size		len;

	memset(&tr, 0, sizeof(tr));
	memset(out, 0, sizeof(*out));
	read_watch_labels(p, req, &tr, out);
	vigil_verdicts_load(&tr.verdicts, p->w.id, CurrentMemoryContext);
	if (!tr.has_column && tr.verdicts.count == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the watch on table %s has no labels", RelationGetRelationName(p->rel)),
				 errhint("Name its label column with vigil.set_label, or record analysts' verdicts with vigil.label.")));
	tr.compare = req->compare;
	if (tr.compare)
	{
		tr.incumbent = vigil_model_load_state(p->w.id, "active", CurrentMemoryContext);
		out->incumbent = tr.incumbent != NULL ? tr.incumbent->id : 0;
	}
	tr.limit = opt->max_rows;
	pg_prng_seed(&tr.sample, 0x76696769);
	tr.tmin = INFINITY;
	tr.tmax = -INFINITY;
	tr.x = palloc(sizeof(float));
	tr.y = palloc(sizeof(float));
	tr.t = palloc(sizeof(double));
	tr.category = palloc(sizeof(uint64));
	tr.base = palloc(sizeof(float));
	p->from = -INFINITY;
	p->since = req->since;
	p->until = req->until;
	p->row_done = keep_row;
	p->state = &tr;
	vigil_pass_run(p);
	if (tr.rows == 0 && tr.immature > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no labelled rows to train on"),
				 errdetail("%lld labelled rows are younger than the label maturity (%s) and have no analyst's verdict.",
						   (long long) tr.immature, out->maturity),
				 errhint("Rows whose label is NULL, or outside [since, until), are left out.")));
	if (tr.rows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no labelled rows to train on"),
				 errhint("Rows whose label is NULL, or outside [since, until), are left out.")));

	codes = code_categories(&tr, &ncodes);
	split = tr.tmax - opt->validation_share * (tr.tmax - tr.tmin);
	train = split_rows(&tr, split, false);
	valid = split_rows(&tr, split, true);
	require_both_classes(&train, "training");
	train_pred = palloc_extended(sizeof(float) * Max(train.rows, 1), MCXT_ALLOC_HUGE);
	pred = palloc_extended(sizeof(float) * Max(valid.rows, 1), MCXT_ALLOC_HUGE);
	ncontrib = contribution_rows(&opt->boost, valid.rows);
	contrib = palloc(sizeof(float) * (VIGIL_NFEATURES + 1) * Max(ncontrib, 1));
	json = vigil_boost_train(&train, &valid, &opt->boost, train_pred, pred, ncontrib, contrib,
							 &len);
	trees = vigil_boost_trees(json, VIGIL_NFEATURES);
	pfree(json);

	/* every row, trained on or held out, scores the same in both */
	for (int64 i = 0; i < train.rows; i++)
		disagreement = Max(disagreement,
						   fabs(vigil_trees_probability(trees, train.x + i * VIGIL_NFEATURES) -
								train_pred[i]));
	scored = palloc_extended(sizeof(Scored) * Max(valid.rows, 1), MCXT_ALLOC_HUGE);
	if (tr.compare)
		served = palloc_extended(sizeof(float) * Max(valid.rows, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < valid.rows; i++)
	{
		double		ours = vigil_trees_probability(trees, valid.x + i * VIGIL_NFEATURES);

		disagreement = Max(disagreement, fabs(ours - pred[i]));
		scored[i].p = pred[i];
		scored[i].label = valid.label[i] > 0.5f;
		out->valid_positives += scored[i].label;
		if (served != NULL)
			served[i] = (float) ours;
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
	metrics = measures(scored, valid.rows, disagreement, contrib_disagreement, &tr, &out->pr_auc);
	out->id = store(p, &tr, split, trees, codes, ncodes, options_json(opt, out->maturity),
					metrics, train.rows);
	out->valid_rows = valid.rows;
	out->split = split;
	out->tmax = tr.tmax;
	if (tr.compare)
	{
		/*
		 * Both on the same held-out rows with the same labels, the
		 * candidate as trees.c scores it, as the active model is scored: an
		 * unchanged model then ties with itself exactly.
		 */
		int64		n = 0;

		for (int64 i = 0; i < tr.rows; i++)
		{
			if (tr.t[i] < split)
				continue;
			scored[n] = (Scored) {served[n], tr.y[i] > 0.5f};
			n++;
		}
		out->pr_auc = average_precision(scored, n);
		n = 0;
		for (int64 i = 0; i < tr.rows; i++)
			if (tr.t[i] >= split)
				scored[n++] = (Scored) {tr.base[i], tr.y[i] > 0.5f};
		out->base_pr_auc = average_precision(scored, n);
	}
}

/*
 * vigil.train(relation, label_column, since, until, options): train a model
 * on the labelled rows in [since, until) and store it (not active); returns
 * its id.  A NULL label_column is the watch's own (vigil.set_label), or
 * analysts' verdicts alone.
 */
Datum
vigil_train(PG_FUNCTION_ARGS)
{
	VigilPass	p;
	Request		req;
	Trained		out;

	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("options must not be NULL")));
	req.opt = read_options(PG_GETARG_JSONB_P(4));
	vigil_pass_begin(&p, fcinfo, "vigil.train");
	req.label_column = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	req.since = vigil_time_arg(fcinfo, 2, -INFINITY);
	req.until = vigil_time_arg(fcinfo, 3, INFINITY);
	/* labels mature by now: a later until cannot make young rows older */
	req.maturity_from = GetCurrentTransactionStartTimestamp();
	if (!PG_ARGISNULL(3) && PG_GETARG_TIMESTAMPTZ(3) < req.maturity_from)
		req.maturity_from = PG_GETARG_TIMESTAMPTZ(3);
	req.compare = false;
	train_model(&p, &req, &out);
	vigil_pass_end(&p);
	PG_RETURN_INT64(out.id);
}

/* A number for a JSON object, in its shortest exact digits; null when undefined. */
static void
add_json_number(StringInfo buf, const char *key, double x)
{
	appendStringInfo(buf, ", \"%s\": ", key);
	if (isfinite(x))
		appendStringInfoString(buf, float8out_internal(x));
	else
		appendStringInfoString(buf, "null");
}

/* A time for a JSON object, as timestamptz's text. */
static void
add_json_time(StringInfo buf, const char *key, double t)
{
	appendStringInfo(buf, ", \"%s\": ", key);
	escape_json(buf, DatumGetCString(DirectFunctionCall1(timestamptz_out,
														 TimestampTzGetDatum(vigil_epoch_to_timestamptz(t)))));
}

/*
 * vigil.retrain(relation, options): train a candidate on the watch's labels
 * and activate it (vigil.activate_model with the watch's alert_budget) only
 * if its PR-AUC on its validation rows is not below the watch's scorer's
 * on the same rows: its active model's, or with none its rules'.  The
 * decision and why go on the candidate's row of vigil.models.
 */
Datum
vigil_retrain(PG_FUNCTION_ARGS)
{
	VigilPass	p;
	Request		req;
	Trained		out;
	TupleDesc	desc;
	bool		activate;
	const char *reason;
	double		threshold = NAN;
	StringInfoData detail;
	Datum		values[6];
	bool		nulls[6] = {false};
	Oid			argtypes[3] = {INT8OID, TEXTOID, JSONBOID};
	Datum		args[3];
	MemoryContext caller = CurrentMemoryContext;
	Datum		result;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "vigil.retrain must return a row");
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("options must not be NULL")));
	req.opt = read_options(PG_GETARG_JSONB_P(1));
	vigil_pass_begin(&p, fcinfo, "vigil.retrain");
	req.label_column = NULL;
	req.since = -INFINITY;
	req.until = INFINITY;
	req.maturity_from = GetCurrentTransactionStartTimestamp();
	req.compare = true;
	train_model(&p, &req, &out);

	if (isnan(out.pr_auc))
	{
		activate = false;
		reason = "the validation rows have no fraud: nothing to compare";
	}
	else if (out.pr_auc >= out.base_pr_auc)
	{
		activate = true;
		reason = out.incumbent != 0 ? "not worse than the active model on the same rows" :
			"no active model, and not worse than the rules on the same rows";
	}
	else
	{
		activate = false;
		reason = out.incumbent != 0 ? "worse than the active model on the same rows" :
			"no active model, and worse than the rules on the same rows";
	}
	if (activate)
	{
		Oid			types[2] = {INT8OID, FLOAT8OID};
		Datum		a[2] = {Int64GetDatum(out.id), out.alert_budget};
		bool		isnull;

		if (SPI_execute_with_args("SELECT a.alert_threshold FROM vigil.activate_model($1, $2) a",
								  2, types, a, out.no_budget ? " n" : NULL, false, 1) !=
			SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not activate model %lld", (long long) out.id);
		threshold = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
												 1, &isnull));
	}
	else
		threshold = p.w.alert_threshold;

	initStringInfo(&detail);
	appendStringInfoString(&detail, "{\"reason\": ");
	escape_json(&detail, reason);
	appendStringInfoString(&detail, ", \"compared_with\": ");
	escape_json(&detail, out.incumbent != 0 ? "model" : "rules");
	appendStringInfoString(&detail, ", \"previous_model\": ");
	if (out.incumbent != 0)
		appendStringInfo(&detail, INT64_FORMAT, out.incumbent);
	else
		appendStringInfoString(&detail, "null");
	add_json_number(&detail, "pr_auc", out.pr_auc);
	add_json_number(&detail, "previous_pr_auc", out.base_pr_auc);
	add_json_time(&detail, "validation_from", out.split);
	add_json_time(&detail, "last_event", out.tmax);
	add_json_number(&detail, "rows", out.valid_rows);
	add_json_number(&detail, "positives", out.valid_positives);
	add_json_number(&detail, "alert_budget",
					out.no_budget ? NAN : DatumGetFloat8(out.alert_budget));
	add_json_number(&detail, "alert_threshold", threshold);
	appendStringInfoChar(&detail, '}');
	args[0] = Int64GetDatum(out.id);
	args[1] = CStringGetTextDatum(activate ? "activated" : "kept");
	args[2] = DirectFunctionCall1(jsonb_in, CStringGetDatum(detail.data));
	if (SPI_execute_with_args("UPDATE vigil.models SET decision = $2, decision_detail = $3 "
							  "WHERE id OPERATOR(pg_catalog.=) $1",
							  3, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not record the decision on model %lld", (long long) out.id);

	values[0] = Int64GetDatum(out.id);
	values[1] = args[1];
	values[2] = Float8GetDatum(out.pr_auc);
	nulls[2] = isnan(out.pr_auc);
	values[3] = Int64GetDatum(out.incumbent);
	nulls[3] = out.incumbent == 0;
	values[4] = Float8GetDatum(out.base_pr_auc);
	nulls[4] = isnan(out.base_pr_auc);
	values[5] = Float8GetDatum(threshold);
	/* the row, made before SPI's memory goes (a float8 need not be by value) */
	MemoryContextSwitchTo(caller);
	result = HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));
	vigil_pass_end(&p);
	PG_RETURN_DATUM(result);
}
