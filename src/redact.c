/*
 * redact.c
 *		Keeping statements that name the AWS secrets (vigil.aws_*) out of
 *		what other people read: the server log, pg_stat_activity and
 *		pg_stat_statements.
 *
 * A statement that sets a secret (ALTER SYSTEM SET, SET, ALTER ROLE ...
 * SET, set_config) carries its value in its text.  The server writes the
 * text to the log (log_statement, log_min_duration_statement, the
 * STATEMENT and CONTEXT lines of an error) right after raw parsing, before
 * any hook sees a parse tree, so the decision is made from the text, by
 * core/sqlscan.c, which reads it as PostgreSQL's scanner does (any case,
 * quotes, blanks and comments around the dot, strings, escapes) and hides
 * when in doubt.  The same test keeps such a statement out of
 * pg_stat_activity (post_parse_analyze_hook reports a placeholder) and, for
 * the later ProcessUtility hooks such as pg_stat_statements', replaces a
 * utility statement's text (utility.c).  Which message logs a statement is
 * told by its untranslated format (message_id), whatever lc_messages says.
 *
 * Not covered, and said in the docs: pg_stat_activity shows a statement's
 * text from the moment it arrives until it is parsed, pg_stat_statements
 * keeps the text when it was loaded after vigil (its hook then runs first),
 * and a name built at run time (format(), a column's value, a function's
 * argument) is no name in the text.
 */
#include "postgres.h"

#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "parser/analyze.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/elog.h"

#include "core/sqlscan.h"
#include "redact.h"

/* What stands for a statement that names a secret. */
#define HIDDEN "(hidden: it names a vigil secret)"

static emit_log_hook_type prev_emit_log_hook = NULL;
static post_parse_analyze_hook_type prev_post_parse_analyze_hook = NULL;
static ExecutorStart_hook_type prev_executor_start_hook = NULL;

/* The parameters whose values must never be shown. */
static const char *const secret_names[] = {
	"vigil.aws_access_key_id",
	"vigil.aws_secret_access_key",
	"vigil.aws_session_token",
};

/*
 * Whether text may need reading at all: one that names a secret has
 * "vigil" in it in some case, or escapes (\, U&), strings joined by || or
 * split over lines.  This keeps the usual text (a one-line INSERT, its log
 * line) from being read by the scanner.
 */
static bool
worth_reading(const char *text)
{
	if (strpbrk(text, "\\&|") != NULL ||
		(strchr(text, '\'') != NULL && strpbrk(text, "\n\r") != NULL))
		return true;
	for (const char *p = text; (p = strpbrk(p, "vV")) != NULL; p++)
		if (pg_strncasecmp(p, "vigil", 5) == 0)
			return true;
	return false;
}

/* Whether text (a statement, or a message quoting one) may name a secret. */
static bool
names_secret(const char *text)
{
	return text != NULL && worth_reading(text) &&
		vigil_sql_may_name(text, secret_names, lengthof(secret_names));
}

/*
 * Whether a message logs a statement's text, by its untranslated format
 * (which lc_messages does not change): log_statement's, and
 * log_min_duration_statement's and the extended protocol's like it.
 */
static bool
logs_statement(const char *message_id)
{
	/* "%s %s%s%s: %s" is the extended protocol's execute (or execute fetch) */
	return message_id != NULL &&
		(strncmp(message_id, "statement: ", 11) == 0 || strncmp(message_id, "duration: ", 10) == 0 ||
		 strcmp(message_id, "%s %s%s%s: %s") == 0 || strncmp(message_id, "bind ", 5) == 0 ||
		 strncmp(message_id, "parse ", 6) == 0);
}

/*
 * The log hook: hide the value of a secret the postmaster logs on reload
 * ("parameter ... changed to ..."), and, for a statement that names a
 * secret, its text wherever a message carries it: the message that logs it,
 * the STATEMENT line, and the DETAIL (an extended-protocol statement's
 * parameters) and CONTEXT lines.  A DETAIL, CONTEXT or internal query that
 * names a secret is hidden whatever the statement.
 */
static void
redact_secrets(ErrorData *edata)
{
	bool		named = names_secret(debug_query_string);

	if (edata->message_id != NULL &&
		strcmp(edata->message_id, "parameter \"%s\" changed to \"%s\"") == 0)
	{
		for (size_t i = 0; i < lengthof(secret_names); i++)
			if (edata->message != NULL && strstr(edata->message, secret_names[i]) != NULL)
				edata->message = psprintf("parameter \"%s\" changed (value hidden)", secret_names[i]);
	}
	else if (edata->message != NULL &&
			 ((named && strstr(edata->message, debug_query_string) != NULL) ||
			  (logs_statement(edata->message_id) && (named || names_secret(edata->message)))))
		edata->message = pstrdup("statement: " HIDDEN);
	if (named)
		edata->hide_stmt = true;
	if (edata->detail != NULL && (named || names_secret(edata->detail)))
		edata->detail = pstrdup(HIDDEN);
	if (edata->context != NULL && (named || names_secret(edata->context)))
		edata->context = pstrdup(HIDDEN);
	if (names_secret(edata->internalquery))
		edata->internalquery = NULL;
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/*
 * After parse analysis: a statement that names a secret shows in
 * pg_stat_activity (to roles with pg_read_all_stats, and as an idle
 * session's last statement) as a placeholder.  Only the session's own
 * statement, not those it runs inside (SPI: detection's among them).
 */
static void
hide_activity(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze_hook)
		prev_post_parse_analyze_hook(pstate, query, jstate);
	if (pstate->p_sourcetext == debug_query_string && names_secret(debug_query_string))
		pgstat_report_activity(STATE_RUNNING, HIDDEN);
}

/*
 * Before the executor runs the session's statement: the extended protocol
 * reports its text again at Bind and Execute, after parse analysis.
 */
static void
hide_execution(QueryDesc *queryDesc, int eflags)
{
	if (queryDesc->sourceText == debug_query_string && names_secret(debug_query_string))
		pgstat_report_activity(STATE_RUNNING, HIDDEN);
	if (prev_executor_start_hook)
		prev_executor_start_hook(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/*
 * Before a utility statement runs: one naming a secret shows as the
 * placeholder in pg_stat_activity, and the ProcessUtility hooks after
 * vigil's (pg_stat_statements keeps utility statements' text) get a copy of
 * *pstmt whose text, *queryString, is the placeholder.
 */
void
vigil_redact_utility(PlannedStmt **pstmt, const char **queryString)
{
	PlannedStmt *copy;

	if (*queryString == NULL || !names_secret(*queryString))
		return;
	/* the statement's execution reports its text again */
	pgstat_report_activity(STATE_RUNNING, HIDDEN);
	copy = makeNode(PlannedStmt);
	memcpy(copy, *pstmt, sizeof(PlannedStmt));
	copy->stmt_location = 0;
	copy->stmt_len = 0;
	*pstmt = copy;
	*queryString = HIDDEN;
}

/* Install the hooks; from _PG_init. */
void
vigil_redact_install(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = redact_secrets;
	prev_post_parse_analyze_hook = post_parse_analyze_hook;
	post_parse_analyze_hook = hide_activity;
	prev_executor_start_hook = ExecutorStart_hook;
	ExecutorStart_hook = hide_execution;
}
