/*
 * plan.c
 *		The SPI statements vigil prepares once and keeps for a backend's life.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "plan.h"

/*
 * Prepare sql and keep the plan.  The plan is generic: detection's statements
 * take arrays and ids whose values say nothing about the best plan, and
 * custom plans made PostgreSQL plan them again on every statement.
 */
SPIPlanPtr
vigil_prepare_plan(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);

	if (plan == NULL || SPI_keepplan(plan) != 0)
		elog(ERROR, "could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	return plan;
}

/* A text[] argument of the n C strings at strs. */
Datum
vigil_text_array(char **strs, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(strs[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}
