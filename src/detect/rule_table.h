/*
 * rule_table.h
 *		The vigil.rules table: validating rule rows and loading a watch's rules.
 */
#ifndef VIGIL_RULE_TABLE_H
#define VIGIL_RULE_TABLE_H

#include "postgres.h"

#include "detect/core/rules.h"

/*
 * Limits that keep what an alert says, and so what detection holds for a
 * statement, bounded: a rule's name in bytes (as for identifiers), and a
 * watch's rules.
 */
#define VIGIL_RULE_NAME_MAX 63
#define VIGIL_MAX_RULES 64

/* One enabled rule of a watch, ready to evaluate. */
typedef struct VigilLoadedRule
{
	char	   *name;
	VigilRule	rule;
} VigilLoadedRule;

extern VigilLoadedRule *vigil_load_rules(int32 watch_id, int *nrules, MemoryContext mcxt);
extern Datum vigil_rule_params_jsonb(const VigilRule *r);

#endif							/* VIGIL_RULE_TABLE_H */
