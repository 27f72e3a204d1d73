/*
 * plan.c
 *		The SPI statements vigil prepares once and keeps for a backend's life.
 */
#include "postgres.h"

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
