/*
 * jsonb_value.h
 *		JSON values made as jsonb_in makes them from their text, for the
 *		jsonb detection builds in C (row references, explanations) without
 *		text to parse.
 */
#ifndef VIGIL_JSONB_VALUE_H
#define VIGIL_JSONB_VALUE_H

#include "postgres.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

/* v as the JSON string s (not copied). */
static inline JsonbValue *
vigil_jsonb_string(JsonbValue *v, const char *s)
{
	v->type = jbvString;
	v->val.string.val = (char *) s;
	v->val.string.len = strlen(s);
	return v;
}

/* v as the JSON number written s, read by numeric_in as jsonb_in reads it. */
static inline JsonbValue *
vigil_jsonb_number(JsonbValue *v, const char *s)
{
	v->type = jbvNumeric;
	v->val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
														 ObjectIdGetDatum(InvalidOid),
														 Int32GetDatum(-1)));
	return v;
}

extern JsonbValue *vigil_jsonb_double(JsonbValue *v, double x);
extern JsonbValue *vigil_jsonb_float(JsonbValue *v, float x);

#endif							/* VIGIL_JSONB_VALUE_H */
