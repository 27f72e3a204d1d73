/*
 * rule_table.c
 *		The vigil.rules table: validation on write, loading for detection.
 *
 * Rules are rows, so analysts change them with UPDATE.  A BEFORE trigger
 * checks every written row through the same parser detection uses, so a
 * bad kind or parameter is an error naming the rule and the parameter at
 * write time, never a surprise at insert time, and it stores the complete
 * parameter set (defaults filled in) so pgAdmin shows what is in force.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "funcapi.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/snapmgr.h"

#include "detect/rule_table.h"
#include "plan.h"

PG_FUNCTION_INFO_V1(vigil_rules_validate);

/* The kind names, for error hints. */
static char *
kind_list(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int k = 0; k < VIGIL_RULE_NKINDS; k++)
		appendStringInfo(&buf, "%s%s", k ? ", " : "",
						 vigil_rule_kind_name((VigilRuleKind) k));
	return buf.data;
}

/* A core message as a PostgreSQL detail: capitalized, ending in a period. */
static char *
sentence(const char *why)
{
	char	   *s = psprintf("%s.", why);

	s[0] = pg_toupper((unsigned char) s[0]);
	return s;
}

/*
 * Parse one rule row into r, raising an error that names the rule (and the
 * parameter) when the kind, a parameter or the weight is invalid.
 */
static void
parse_rule(const char *name, const char *kind, Jsonb *params, double weight,
		   VigilRule *r)
{
	VigilRuleKind k;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	const char *why;

	if (!vigil_rule_kind_from_name(kind, &k))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown kind \"%s\" for rule \"%s\"", kind, name),
				 errhint("The kinds are: %s.", kind_list())));
	vigil_rule_defaults(r, k);
	r->weight = weight;

	if (!JB_ROOT_IS_OBJECT(params))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params of rule \"%s\" must be a JSON object", name)));
	it = JsonbIteratorInit(&params->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *param;
		double		value;

		if (tok != WJB_KEY)
			continue;
		param = pnstrdup(v.val.string.val, v.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		if (v.type != jbvNumeric)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("parameter \"%s\" of rule \"%s\" must be a number", param, name)));
		/*
		 * Out-of-range numbers become infinities or zero, which the rule
		 * refuses with its own message naming the rule and the parameter.
		 */
		value = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
												   NumericGetDatum(v.val.numeric)));
		if (!vigil_rule_set_param(r, param, value, &why))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid parameter \"%s\" for rule \"%s\"", param, name),
					 errdetail("%s", sentence(why))));
	}
	if (!vigil_rule_check(r, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid parameters for rule \"%s\"", name),
				 errdetail("%s", sentence(why))));
}

/* The complete parameters of r as a jsonb object. */
Datum
vigil_rule_params_jsonb(const VigilRule *r)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < vigil_rule_nparams(r->kind); i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, vigil_rule_param_name(r->kind, i));
		appendStringInfo(&buf, ": %s", float8out_internal(r->param[i]));
	}
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

/*
 * Refuse a new rule name (new_name) longer than VIGIL_RULE_NAME_MAX bytes,
 * and a new rule of a watch (watch_id) that has VIGIL_MAX_RULES already.
 * The watch's row is locked first, so that two sessions adding rules count
 * one after the other, and the count sees what is committed then (and
 * what this statement wrote before this row).  Rules written before these
 * limits (0.1) stay as they are until renamed.
 */
static void
check_limits(const char *name, bool new_name, int32 watch_id, bool new_rule)
{
	static SPIPlanPtr lock_plan = NULL;
	static SPIPlanPtr count_plan = NULL;
	Datum		arg = Int32GetDatum(watch_id);
	bool		isnull;
	int64		n;

	if (new_name && strlen(name) > VIGIL_RULE_NAME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("rule name \"%s\" is too long", name),
				 errdetail("A rule's name has at most %d bytes.", VIGIL_RULE_NAME_MAX)));
	if (!new_rule)
		return;
	SPI_connect();
	/* ready once the last is: a failed prepare leaves it NULL, to try again */
	if (count_plan == NULL)
	{
		Oid			argtypes[1] = {INT4OID};

		lock_plan = vigil_prepare_plan("SELECT 1 FROM vigil.watches "
									   "WHERE id OPERATOR(pg_catalog.=) $1 FOR NO KEY UPDATE",
									   1, argtypes);
		count_plan = vigil_prepare_plan("SELECT pg_catalog.count(*) FROM vigil.rules "
										"WHERE watch_id OPERATOR(pg_catalog.=) $1",
										1, argtypes);
	}
	/* counted with a snapshot taken once the lock is held, at any isolation level */
	if (SPI_execute_plan(lock_plan, &arg, NULL, false, 0) != SPI_OK_SELECT ||
		SPI_execute_snapshot(count_plan, &arg, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 false, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not count the rules of watch %d", watch_id);
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	if (n >= VIGIL_MAX_RULES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("watch %d already has %d rules, the most a watch can have", watch_id,
						VIGIL_MAX_RULES),
				 errhint("Delete or reuse a rule it no longer needs.")));
}

/* BEFORE INSERT OR UPDATE trigger on vigil.rules. */
Datum
vigil_rules_validate(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	static const char *const columns[] = {"name", "kind", "params", "weight"};
	TupleDesc	tupdesc;
	HeapTuple	tuple;
	Datum		v[lengthof(columns)];
	int			cols[1];
	Datum		values[1];
	bool		nulls[1] = {false};
	Datum		watch_id;
	bool		watch_isnull;
	bool		moved = false;
	bool		renamed = false;
	VigilRule	r;

	/* the columns are read by type below: only vigil.rules has them right */
	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		RelationGetRelid(td->tg_relation) !=
		get_relname_relid("rules", get_namespace_oid("vigil", false)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("vigil_rules_validate must be a BEFORE ROW trigger on vigil.rules")));
	tupdesc = td->tg_relation->rd_att;
	tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;

	for (size_t i = 0; i < lengthof(columns); i++)
	{
		bool		isnull;

		v[i] = heap_getattr(tuple, SPI_fnumber(tupdesc, columns[i]), tupdesc, &isnull);
		/* NOT NULL constraints are checked after BEFORE triggers: let them */
		if (isnull)
			return PointerGetDatum(tuple);
	}
	watch_id = heap_getattr(tuple, SPI_fnumber(tupdesc, "watch_id"), tupdesc, &watch_isnull);
	if (watch_isnull)
		return PointerGetDatum(tuple);
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		bool		old_isnull;
		Datum		old_watch = heap_getattr(td->tg_trigtuple, SPI_fnumber(tupdesc, "watch_id"),
											 tupdesc, &old_isnull);
		Datum		old_name = heap_getattr(td->tg_trigtuple, SPI_fnumber(tupdesc, "name"),
											tupdesc, &old_isnull);

		moved = DatumGetInt32(old_watch) != DatumGetInt32(watch_id);
		renamed = strcmp(TextDatumGetCString(old_name), TextDatumGetCString(v[0])) != 0;
	}
	check_limits(TextDatumGetCString(v[0]), TRIGGER_FIRED_BY_INSERT(td->tg_event) || renamed,
				 DatumGetInt32(watch_id), TRIGGER_FIRED_BY_INSERT(td->tg_event) || moved);
	parse_rule(TextDatumGetCString(v[0]), TextDatumGetCString(v[1]),
			   DatumGetJsonbP(v[2]), DatumGetFloat8(v[3]), &r);

	cols[0] = SPI_fnumber(tupdesc, "params");
	values[0] = vigil_rule_params_jsonb(&r);
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, tupdesc, 1, cols, values, nulls));
}

/*
 * The enabled rules of a watch, in name order, parsed, allocated in mcxt.
 * Runs inside the caller's SPI connection.
 */
VigilLoadedRule *
vigil_load_rules(int32 watch_id, int *nrules, MemoryContext mcxt)
{
	static SPIPlanPtr plan = NULL;
	Datum		arg = Int32GetDatum(watch_id);
	VigilLoadedRule *rules;

	if (plan == NULL)
	{
		Oid			argtypes[1] = {INT4OID};

		plan = vigil_prepare_plan("SELECT name, kind, params, weight FROM vigil.rules "
								  "WHERE watch_id OPERATOR(pg_catalog.=) $1 AND enabled "
								  "ORDER BY name",
								  1, argtypes);
	}
	if (SPI_execute_plan(plan, &arg, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read vigil.rules");

	*nrules = (int) SPI_processed;
	rules = MemoryContextAllocZero(mcxt, sizeof(VigilLoadedRule) * Max(*nrules, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;

		rules[i].name = MemoryContextStrdup(mcxt,
											TextDatumGetCString(heap_getattr(t, 1, d, &isnull)));
		parse_rule(rules[i].name,
				   TextDatumGetCString(heap_getattr(t, 2, d, &isnull)),
				   DatumGetJsonbP(heap_getattr(t, 3, d, &isnull)),
				   DatumGetFloat8(heap_getattr(t, 4, d, &isnull)),
				   &rules[i].rule);
	}
	return rules;
}

PG_FUNCTION_INFO_V1(vigil_rule_defaults_srf);

/*
 * vigil.rule_defaults(): every rule kind with its default parameters and
 * weight, the one place vigil.watch() takes a new watch's rules from.
 */
Datum
vigil_rule_defaults_srf(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int k = 0; k < VIGIL_RULE_NKINDS; k++)
	{
		VigilRule	r;
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		vigil_rule_defaults(&r, (VigilRuleKind) k);
		values[0] = CStringGetTextDatum(vigil_rule_kind_name(r.kind));
		values[1] = vigil_rule_params_jsonb(&r);
		values[2] = Float8GetDatum(r.weight);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
