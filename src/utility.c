/*
 * utility.c
 *		vigil's ProcessUtility hook.
 *
 * Some utility statements mean something to vigil before they run: one
 * that names an AWS secret must not show its text (redact.c), and,
 * with the notifier preloaded, one that drops, renames or copies its
 * database needs the notifier out of the way, and COMMIT PREPARED should
 * wake it (launcher.c).  One hook looks at each statement for all of them.
 */
#include "postgres.h"

#include "tcop/utility.h"

#include "notify/launcher.h"
#include "redact.h"
#include "utility.h"

static ProcessUtility_hook_type prev_utility_hook = NULL;
static bool notifier_preloaded = false;

/* The hook: let vigil see the statement, then run it. */
static void
vigil_utility_hook(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				   ProcessUtilityContext context, ParamListInfo params,
				   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	vigil_redact_utility(&pstmt, &queryString);
	if (notifier_preloaded)
		vigil_launcher_utility(pstmt->utilityStmt);
	if (prev_utility_hook)
		prev_utility_hook(pstmt, queryString, readOnlyTree, context, params,
						  queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
}

/* Install the hook; from _PG_init.  preloaded: the notifier is registered. */
void
vigil_utility_install(bool preloaded)
{
	notifier_preloaded = preloaded;
	prev_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = vigil_utility_hook;
}
