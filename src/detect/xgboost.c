/*
 * xgboost.c
 *		Training gradient-boosted trees with libxgboost, loaded only when a
 *		model is trained.
 *
 * libxgboost brings libstdc++ and an OpenMP runtime with it, so it is not
 * linked: vigil.train opens it with dlopen the first time a backend trains,
 * and neither the postmaster nor any other backend ever maps it.  Scoring
 * never calls it (trees.c evaluates the trees it produced).
 *
 * Inside a backend it must be kept from three things:
 *	- PostgreSQL's signal handlers must never run on its threads: every call
 *	  runs with signals blocked, and the OpenMP threads it starts inherit that
 *	  mask for good.  A cancel arrives between boosting rounds, where the mask
 *	  is restored and CHECK_FOR_INTERRUPTS runs.
 *	- Its handles must not leak when an error or a cancel ends training: they
 *	  are freed by a callback of the memory context training runs in.
 *	- Its errors and output: a failed call becomes an ERROR with the
 *	  library's message, and its logging is turned off.
 */
#include "postgres.h"

#include <dlfcn.h>
#include <math.h>
#include <signal.h>

#include <xgboost/c_api.h>

#include "libpq/pqsignal.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "detect/xgboost.h"

/* Debian's libxgboost0; its soname is what the -dev package's link names. */
#define XGBOOST_LIBRARY "libxgboost.so.0"

/* The library's entry points used here, checked against its own header. */
typedef struct XgbApi
{
	__typeof__(XGBGetLastError) *GetLastError;
	__typeof__(XGBSetGlobalConfig) *SetGlobalConfig;
	__typeof__(XGDMatrixCreateFromMat) *DMatrixCreateFromMat;
	__typeof__(XGDMatrixSetFloatInfo) *DMatrixSetFloatInfo;
	__typeof__(XGDMatrixFree) *DMatrixFree;
	__typeof__(XGBoosterCreate) *BoosterCreate;
	__typeof__(XGBoosterSetParam) *BoosterSetParam;
	__typeof__(XGBoosterUpdateOneIter) *BoosterUpdateOneIter;
	__typeof__(XGBoosterPredict) *BoosterPredict;
	__typeof__(XGBoosterSaveModelToBuffer) *BoosterSaveModelToBuffer;
	__typeof__(XGBoosterFree) *BoosterFree;
} XgbApi;

static XgbApi api;
static bool api_loaded = false;

/* XGBoosterPredict's option_mask for pred_contribs (exact TreeSHAP). */
#define XGB_PREDICT_CONTRIBS 4

/* The handles of one training, freed with its memory context. */
typedef struct Handles
{
	DMatrixHandle train;
	DMatrixHandle valid;
	DMatrixHandle sample;		/* valid's rows whose contributions are asked */
	BoosterHandle booster;
	MemoryContextCallback cb;
} Handles;

/* Load the library and its entry points, once per backend. */
static void
load_api(void)
{
	void	   *lib;
	const char *missing = NULL;

	if (api_loaded)
		return;
	lib = dlopen(XGBOOST_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("could not load %s: %s", XGBOOST_LIBRARY, dlerror()),
				 errhint("Training a model needs libxgboost (Debian: apt-get install libxgboost0).")));
#define XGB_SYM(field, name) \
	do { \
		if ((api.field = (__typeof__(api.field)) dlsym(lib, #name)) == NULL && missing == NULL) \
			missing = #name; \
	} while (0)
	XGB_SYM(GetLastError, XGBGetLastError);
	XGB_SYM(SetGlobalConfig, XGBSetGlobalConfig);
	XGB_SYM(DMatrixCreateFromMat, XGDMatrixCreateFromMat);
	XGB_SYM(DMatrixSetFloatInfo, XGDMatrixSetFloatInfo);
	XGB_SYM(DMatrixFree, XGDMatrixFree);
	XGB_SYM(BoosterCreate, XGBoosterCreate);
	XGB_SYM(BoosterSetParam, XGBoosterSetParam);
	XGB_SYM(BoosterUpdateOneIter, XGBoosterUpdateOneIter);
	XGB_SYM(BoosterPredict, XGBoosterPredict);
	XGB_SYM(BoosterSaveModelToBuffer, XGBoosterSaveModelToBuffer);
	XGB_SYM(BoosterFree, XGBoosterFree);
#undef XGB_SYM
	if (missing != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s has no function %s", XGBOOST_LIBRARY, missing),
				 errhint("pg_vigil trains with libxgboost 1.7.")));
	api_loaded = true;
}

/* The memory context callback: free whatever handles were made. */
static void
free_handles(void *arg)
{
	Handles    *h = arg;
	sigset_t	saved;

	sigprocmask(SIG_SETMASK, &BlockSig, &saved);
	if (h->booster != NULL)
		api.BoosterFree(h->booster);
	if (h->train != NULL)
		api.DMatrixFree(h->train);
	if (h->valid != NULL)
		api.DMatrixFree(h->valid);
	if (h->sample != NULL)
		api.DMatrixFree(h->sample);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	h->booster = h->train = h->valid = h->sample = NULL;
}

/*
 * Signals blocked for a library call; the ERROR for a failed one is raised
 * only once they are restored.
 */
#define XGB_CALL(what, call) \
	do { \
		sigset_t	saved_; \
		int			rc_; \
		sigprocmask(SIG_SETMASK, &BlockSig, &saved_); \
		rc_ = (call); \
		sigprocmask(SIG_SETMASK, &saved_, NULL); \
		if (rc_ != 0) \
			ereport(ERROR, \
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION), \
					 errmsg("xgboost could not %s: %s", what, api.GetLastError()))); \
	} while (0)

/* A DMatrix of d, with its labels when it has them. */
static DMatrixHandle
make_matrix(const VigilBoostData *d, DMatrixHandle *slot)
{
	XGB_CALL("make a matrix",
			 api.DMatrixCreateFromMat(d->x, (bst_ulong) d->rows, (bst_ulong) d->features,
									  NAN, slot));
	if (d->label != NULL)
		XGB_CALL("set labels",
				 api.DMatrixSetFloatInfo(*slot, "label", d->label, (bst_ulong) d->rows));
	return *slot;
}

/* Set one booster parameter, a number printed as text. */
static void
set_param(BoosterHandle b, const char *name, double value)
{
	char		buf[64];

	snprintf(buf, sizeof(buf), "%.17g", value);
	XGB_CALL("set a parameter", api.BoosterSetParam(b, name, buf));
}

/* See xgboost.h. */
char *
vigil_boost_train(const VigilBoostData *train, const VigilBoostData *valid,
				  const VigilBoostParams *params, float *train_pred, float *valid_pred,
				  int64 ncontrib, float *valid_contrib, Size *len)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(caller, "vigil xgboost", ALLOCSET_SMALL_SIZES);
	Handles    *h = MemoryContextAllocZero(cxt, sizeof(Handles));
	bst_ulong	n;
	const float *out;
	const char *json;
	char	   *copy;

	load_api();
	h->cb.func = free_handles;
	h->cb.arg = h;
	MemoryContextRegisterResetCallback(cxt, &h->cb);

	XGB_CALL("be configured", api.SetGlobalConfig("{\"verbosity\": 0}"));
	make_matrix(train, &h->train);
	XGB_CALL("make a booster", api.BoosterCreate(&h->train, 1, &h->booster));
	XGB_CALL("set a parameter", api.BoosterSetParam(h->booster, "objective", "binary:logistic"));
	XGB_CALL("set a parameter", api.BoosterSetParam(h->booster, "tree_method", "hist"));
	set_param(h->booster, "max_depth", params->max_depth);
	set_param(h->booster, "eta", params->learning_rate);
	set_param(h->booster, "min_child_weight", params->min_child_weight);
	set_param(h->booster, "scale_pos_weight", params->scale_pos_weight);
	set_param(h->booster, "subsample", params->subsample);
	set_param(h->booster, "max_bin", params->max_bin);
	set_param(h->booster, "nthread", params->nthread);
	set_param(h->booster, "seed", params->seed);

	for (int i = 0; i < params->rounds; i++)
	{
		CHECK_FOR_INTERRUPTS();
		XGB_CALL("train a round", api.BoosterUpdateOneIter(h->booster, i, h->train));
	}
	CHECK_FOR_INTERRUPTS();

	XGB_CALL("predict", api.BoosterPredict(h->booster, h->train, 0, 0, 0, &n, &out));
	if (n != (bst_ulong) train->rows)
		elog(ERROR, "xgboost predicted %llu rows of %lld",
			 (unsigned long long) n, (long long) train->rows);
	memcpy(train_pred, out, sizeof(float) * train->rows);
	if (valid->rows > 0)
	{
		make_matrix(valid, &h->valid);
		XGB_CALL("predict", api.BoosterPredict(h->booster, h->valid, 0, 0, 0, &n, &out));
		if (n != (bst_ulong) valid->rows)
			elog(ERROR, "xgboost predicted %llu rows of %lld",
				 (unsigned long long) n, (long long) valid->rows);
		memcpy(valid_pred, out, sizeof(float) * valid->rows);
	}
	if (ncontrib > 0)
	{
		/* a matrix of the first rows only: valid's could be millions */
		VigilBoostData sample = *valid;

		sample.rows = ncontrib;
		sample.label = NULL;
		make_matrix(&sample, &h->sample);
		XGB_CALL("predict contributions",
				 api.BoosterPredict(h->booster, h->sample, XGB_PREDICT_CONTRIBS, 0, 0, &n, &out));
		if (n != (bst_ulong) ncontrib * (bst_ulong) (valid->features + 1))
			elog(ERROR, "xgboost gave %llu contributions for %lld rows of %d features",
				 (unsigned long long) n, (long long) ncontrib, valid->features);
		memcpy(valid_contrib, out, sizeof(float) * n);
	}
	XGB_CALL("save its model",
			 api.BoosterSaveModelToBuffer(h->booster, "{\"format\": \"json\"}", &n, &json));
	copy = MemoryContextAllocHuge(caller, n + 1);
	memcpy(copy, json, n);
	copy[n] = '\0';
	*len = n;
	MemoryContextDelete(cxt);
	return copy;
}

/* The member key of object o, which must be of type want (jbvArray, ...). */
static JsonbValue *
member(JsonbContainer *o, const char *key, enum jbvType want, JsonbValue *res)
{
	JsonbValue *v = o != NULL ? getKeyJsonValueFromContainer(o, key, strlen(key), res) : NULL;

	if (v == NULL || v->type != want)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("xgboost's model has no %s \"%s\" where pg_vigil expects one",
						want == jbvString ? "string" : "array or object", key)));
	return v;
}

/* The container of a member that is an array or an object. */
static JsonbContainer *
container(JsonbContainer *o, const char *key)
{
	JsonbValue	res;

	return member(o, key, jbvBinary, &res)->val.binary.data;
}

/* Element i of array a, which must be an array or an object. */
static JsonbContainer *
element_container(JsonbContainer *a, int i)
{
	JsonbValue *v = getIthJsonbValueFromContainer(a, i);

	if (v == NULL || v->type != jbvBinary)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("xgboost's model has a tree that is not an object")));
	return v->val.binary.data;
}

/* Element i of array a as a float, read from its text as strtof would. */
static float
element_float(JsonbContainer *a, int i)
{
	JsonbValue *v = getIthJsonbValueFromContainer(a, i);
	char	   *text;
	float		f;

	if (v == NULL || v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("xgboost's model has a tree array that is not numeric")));
	/* from the text, not through float8: rounding twice could move a split */
	text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	f = strtof(text, NULL);
	pfree(text);
	return f;
}

/* Element i of array a as an integer. */
static int64
element_int(JsonbContainer *a, int i)
{
	return (int64) element_float(a, i);
}

/*
 * The trees of a model in XGBoost's JSON (learner.gradient_booster.model),
 * over feature vectors of the given length.  Each tree's nodes are numbered
 * anew in breadth-first order from its root, the trees one after the other
 * (the layout trees.c requires), and nodes XGBoost pruned but kept in its
 * arrays are left out.  Each node's cover is its sum_hessian, the
 * weight XGBoost's contributions (pred_contribs) give its branch.
 */
VigilTrees *
vigil_boost_trees(const char *json, int features)
{
	Jsonb	   *doc = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
	JsonbContainer *learner = container(&doc->root, "learner");
	JsonbContainer *model = container(container(learner, "gradient_booster"), "model");
	JsonbContainer *trees = container(model, "trees");
	JsonbValue	res;
	JsonbValue *bs = member(container(learner, "learner_model_param"), "base_score",
							jbvString, &res);
	char	   *base = pnstrdup(bs->val.string.val, bs->val.string.len);
	float		base_score = strtof(base, NULL);
	int			ntrees = JsonContainerSize(trees);
	int64		total = 0;
	VigilTrees *t = palloc0(sizeof(VigilTrees));
	int32	   *roots = palloc(sizeof(int32) * Max(ntrees, 1));
	VigilTreeNode *nodes;
	const char *why;

	if (!JsonContainerIsArray(trees) || ntrees == 0)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("xgboost's model has no trees")));
	for (int i = 0; i < ntrees; i++)
		total += JsonContainerSize(container(element_container(trees, i), "left_children"));
	if (total > (1 << 24))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("xgboost's model has %lld nodes, more than pg_vigil evaluates",
						(long long) total)));
	nodes = palloc(sizeof(VigilTreeNode) * total);
	t->nnodes = 0;
	for (int i = 0; i < ntrees; i++)
	{
		JsonbContainer *tree = element_container(trees, i);
		JsonbContainer *left = container(tree, "left_children");
		JsonbContainer *right = container(tree, "right_children");
		JsonbContainer *split = container(tree, "split_indices");
		JsonbContainer *cond = container(tree, "split_conditions");
		JsonbContainer *dflt = container(tree, "default_left");
		JsonbContainer *type = container(tree, "split_type");
		JsonbContainer *hess = container(tree, "sum_hessian");
		int			n = JsonContainerSize(left);
		int		   *queue = palloc(sizeof(int) * n);
		int			head = 0,
					tail = 0;

		roots[i] = t->nnodes;
		queue[tail++] = 0;
		/* the queue's k-th node becomes nodes[roots[i] + k] */
		while (head < tail)
		{
			int			old = queue[head];
			VigilTreeNode *node = &nodes[roots[i] + head];
			int64		l = element_int(left, old);

			head++;
			node->value = element_float(cond, old);
			node->cover = element_float(hess, old);
			if (l < 0)
			{
				node->feature = -1;
				node->left = node->right = -1;
				node->default_left = false;
				continue;
			}
			if (element_int(type, old) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("xgboost's model splits on a category, which pg_vigil does not evaluate")));
			if (l >= n || element_int(right, old) < 0 || element_int(right, old) >= n ||
				tail + 2 > n)
				ereport(ERROR,
						(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
						 errmsg("xgboost's model has a tree whose children are out of range")));
			node->feature = (int32) element_int(split, old);
			node->default_left = element_int(dflt, old) != 0;
			node->left = roots[i] + tail;
			queue[tail++] = (int) l;
			node->right = roots[i] + tail;
			queue[tail++] = (int) element_int(right, old);
		}
		t->nnodes += tail;
		pfree(queue);
	}
	t->nfeatures = features;
	t->ntrees = ntrees;
	t->base_margin = -logf(1.0f / base_score - 1.0f);
	t->roots = roots;
	t->nodes = nodes;
	if (!vigil_trees_valid(t, &why))
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("xgboost's model does not make valid trees: %s", why)));
	return t;
}
