/*
 * plan.h
 *		The SPI statements vigil prepares once and keeps for a backend's life.
 */
#ifndef VIGIL_PLAN_H
#define VIGIL_PLAN_H

#include "postgres.h"

#include "executor/spi.h"

extern SPIPlanPtr vigil_prepare_plan(const char *sql, int nargs, Oid *argtypes);
extern Datum vigil_text_array(char **strs, int n);

#endif							/* VIGIL_PLAN_H */
