/*
 * rule_table.h
 *		The vigil.rules table: validating rule rows and loading a watch's rules.
 */
#ifndef VIGIL_RULE_TABLE_H
#define VIGIL_RULE_TABLE_H

#include "postgres.h"

#include "detect/core/rules.h"

/* One enabled rule of a watch, ready to evaluate. */
typedef struct VigilLoadedRule
{
	char	   *name;
	VigilRule	rule;
} VigilLoadedRule;

extern VigilLoadedRule *vigil_load_rules(int32 watch_id, int *nrules, MemoryContext mcxt);

#endif							/* VIGIL_RULE_TABLE_H */
