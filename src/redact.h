/*
 * redact.h
 *		Keeping statements that name the AWS secrets out of the log,
 *		pg_stat_activity and pg_stat_statements.
 */
#ifndef VIGIL_REDACT_H
#define VIGIL_REDACT_H

#include "postgres.h"

#include "nodes/plannodes.h"

extern void vigil_redact_install(void);
extern void vigil_redact_utility(PlannedStmt **pstmt, const char **queryString);

#endif							/* VIGIL_REDACT_H */
