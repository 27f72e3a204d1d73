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
 * utility statement's text (utility.c).
 *
 * Not covered, and said in the docs: pg_stat_activity shows a statement's
 * text from the moment it arrives until it is parsed, and
 * pg_stat_statements keeps the text when it was loaded after vigil (its
 * hook then runs first).
 */
#include "postgres.h"

#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "parser/analyze.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/elog.h"
#include "utils/guc.h"

#include "core/sqlscan.h"
#include "redact.h"

/* What stands for a statement that names a secret. */
#define HIDDEN "(hidden: it names a vigil secret)"

static emit_log_hook_type prev_emit_log_hook = NULL;
static post_parse_analyze_hook_type prev_post_parse_analyze_hook = NULL;

/* The parameters whose values must never be shown. */
static const char *const secret_names[] = {
	"vigil.aws_access_key_id",
	"vigil.aws_secret_access_key",
	"vigil.aws_session_token",
};

/* Whether text (a statement, or a message quoting one) may name a secret. */
static bool
names_secret(const char *text)
{
	return text != NULL && vigil_sql_may_name(text, secret_names, lengthof(secret_names));
}

/*
 * Whether a statement's text may need reading at all: one that names a
 * secret has "vigil" in it in some case, or escapes, or strings split over
 * lines.  This keeps the usual statement (an INSERT on one line) from being
 * read twice.
 */
static bool
worth_reading(const char *text)
{
	if (strpbrk(text, "\\&") != NULL ||
		(strchr(text, '\'') != NULL && strpbrk(text, "\n\r") != NULL))
		return true;
	for (const char *p = text; (p = strpbrk(p, "vV")) != NULL; p++)
		if (pg_strncasecmp(p, "vigil", 5) == 0)
			return true;
	return false;
}

/*
 * Whether a message of elevel goes to the server log with its STATEMENT
 * line under log_min_error_statement (elog.c's is_log_level_output: LOG
 * ranks between ERROR and FATAL there).
 */
static bool
statement_logged(int elevel)
{
	if (elevel == LOG || elevel == LOG_SERVER_ONLY)
		return log_min_error_statement == LOG || log_min_error_statement <= ERROR;
	if (log_min_error_statement == LOG)
		return elevel >= FATAL;
	return elevel >= log_min_error_statement;
}

/* Whether a log message quotes the statement: log_statement's and the like. */
static bool
quotes_statement(const char *message)
{
	return strncmp(message, "statement: ", 11) == 0 || strncmp(message, "duration: ", 10) == 0 ||
		strncmp(message, "execute ", 8) == 0 || strncmp(message, "bind ", 5) == 0 ||
		strncmp(message, "parse ", 6) == 0;
}

/*
 * The log hook: hide the value of a secret the postmaster logs on reload
 * ("parameter ... changed to ..."), and the text of a statement that names
 * a secret wherever a message carries it.
 */
static void
redact_secrets(ErrorData *edata)
{
	for (size_t i = 0; i < lengthof(secret_names); i++)
	{
		char	   *changed = psprintf("parameter \"%s\" changed to ", secret_names[i]);

		if (edata->message != NULL && strncmp(edata->message, changed, strlen(changed)) == 0)
			edata->message = psprintf("parameter \"%s\" changed (value hidden)", secret_names[i]);
		pfree(changed);
	}
	if (edata->message != NULL && quotes_statement(edata->message) && names_secret(edata->message))
		edata->message = pstrdup("statement: " HIDDEN);
	if (!edata->hide_stmt && debug_query_string != NULL && statement_logged(edata->elevel) &&
		names_secret(debug_query_string))
		edata->hide_stmt = true;
	/* the parameters of an extended-protocol statement, a PL/pgSQL statement */
	if (names_secret(edata->detail))
		edata->detail = pstrdup(HIDDEN);
	if (names_secret(edata->context))
		edata->context = pstrdup(HIDDEN);
	if (names_secret(edata->internalquery))
		edata->internalquery = NULL;
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/*
 * After parse analysis: a statement that names a secret shows in
 * pg_stat_activity (to roles with pg_read_all_stats, and as an idle
 * session's last statement) as a placeholder.
 */
static void
hide_activity(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze_hook)
		prev_post_parse_analyze_hook(pstate, query, jstate);
	if (pstate->p_sourcetext != NULL && worth_reading(pstate->p_sourcetext) &&
		names_secret(pstate->p_sourcetext))
		pgstat_report_activity(STATE_RUNNING, HIDDEN);
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
}
