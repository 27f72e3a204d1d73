/*
 * outbox.c
 *		The notifier's side of vigil.alerts: claim, record, recover.
 *
 * vigil.alerts is an outbox: detection inserts alerts as 'pending' in the
 * inserting transaction, and the notifier moves them along
 *
 *		pending -> sending -> sent | pending (retry later) | dead
 *
 * in short transactions of its own, never holding one open across network
 * I/O.  A claim commits 'sending' (and counts the attempt) before anything
 * is sent, so a crash between send and record leaves the alert 'sending';
 * the notifier puts those back to 'pending' when it starts, which makes
 * delivery at least once.  Every function here runs inside the caller's
 * transaction and SPI connection.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "common/pg_prng.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "guc.h"
#include "notify/core/backoff.h"
#include "notify/message.h"
#include "notify/outbox.h"
#include "plan.h"

/*
 * Alerts with a topic to go to: all of them when $2 (there is a default
 * topic), otherwise those of watches that name their own.
 */
#define HAS_TOPIC \
	"($2 OR EXISTS (SELECT FROM vigil.watches w WHERE w.id OPERATOR(pg_catalog.=) alerts.watch_id" \
	" AND w.sns_topic_arn OPERATOR(pg_catalog.<>) ''))"

/*
 * Whether vigil is installed in this database; if so, lock vigil.watches
 * for the rest of the transaction.  Every step of the notifier starts
 * here, so it takes vigil.watches before vigil.alerts, the order DROP
 * EXTENSION takes them in: a concurrent DROP EXTENSION then waits for the
 * step, or the step for it, instead of the two deadlocking.
 */
static bool
outbox_ready(void)
{
	Oid			nsp = get_namespace_oid("vigil", true);
	Oid			watches;

	if (!OidIsValid(get_extension_oid("vigil", true)) || !OidIsValid(nsp) ||
		!OidIsValid(watches = get_relname_relid("watches", nsp)))
		return false;
	LockRelationOid(watches, AccessShareLock);
	/* a DROP EXTENSION we waited for has committed by now */
	return OidIsValid(get_extension_oid("vigil", true));
}

/*
 * Start one short transaction of the worker, with SPI and a snapshot, for
 * activity (shown in pg_stat_activity).  False when vigil is not installed
 * in this database: the caller then ends the transaction at once.
 */
bool
vigil_outbox_begin(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
	return outbox_ready();
}

/* Commit the transaction vigil_outbox_begin started; allocate in mcxt after. */
void
vigil_outbox_end(MemoryContext mcxt)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(mcxt);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Put alerts left 'sending' by an earlier run back in the queue. */
uint64
vigil_outbox_recover(void)
{
	if (SPI_execute("UPDATE vigil.alerts SET status = 'pending' "
					"WHERE status OPERATOR(pg_catalog.=) 'sending'", false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not requeue alerts left sending");
	return SPI_processed;
}

/* Text of column col of the current SPI result row i, copied into mcxt. */
static char *
column_text(int i, int col, MemoryContext mcxt)
{
	bool		isnull;
	Datum		v = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, col, &isnull);

	if (isnull)
		return NULL;
	return MemoryContextStrdup(mcxt, TextDatumGetCString(v));
}

/*
 * Claim up to limit due alerts: mark them 'sending', count the attempt and
 * build their messages into *out (allocated in mcxt).  Rows another
 * transaction has locked are skipped, not waited for.  Returns how many.
 */
int
vigil_outbox_claim(int limit, bool any_topic, MemoryContext mcxt, VigilDelivery **out)
{
	static SPIPlanPtr plan = NULL;
	Datum		args[2] = {Int32GetDatum(limit), BoolGetDatum(any_topic)};
	VigilDelivery *d;

	if (plan == NULL)
	{
		Oid			argtypes[2] = {INT4OID, BOOLOID};

		/*
		 * The relation is named as the reporting views and the CloudWatch
		 * dimension name it (vigil.table_name: schema-qualified, quoted
		 * where needed), not as regclass prints it under a search_path.
		 */
		plan = vigil_prepare_plan(
								  "WITH due AS ("
								  " SELECT id FROM vigil.alerts"
								  " WHERE status OPERATOR(pg_catalog.=) 'pending'"
								  " AND next_attempt_at OPERATOR(pg_catalog.<=) pg_catalog.now()"
								  " AND " HAS_TOPIC
								  " ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) "
								  "UPDATE vigil.alerts a SET status = 'sending', attempts = a.attempts OPERATOR(pg_catalog.+) 1 "
								  "FROM due WHERE a.id OPERATOR(pg_catalog.=) due.id "
								  "RETURNING a.id, a.attempts, "
								  " COALESCE((SELECT w.sns_topic_arn FROM vigil.watches w"
								  "  WHERE w.id OPERATOR(pg_catalog.=) a.watch_id), ''), "
								  " a.watch_id, vigil.table_name(a.relation), a.key, "
								  " pg_catalog.to_jsonb(a.amount)::pg_catalog.text, "
								  " pg_catalog.to_jsonb(a.event_time)::pg_catalog.text, "
								  " a.score, pg_catalog.to_jsonb(a.fired)::pg_catalog.text, "
								  " a.explanation::pg_catalog.text, a.row_ref::pg_catalog.text, "
								  " pg_catalog.array_to_string(a.fired, ', ')",
								  2, argtypes);
	}
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not claim alerts");

	d = MemoryContextAllocZero(mcxt, sizeof(VigilDelivery) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		VigilAlertText a;

		d[i].alert_id = DatumGetInt64(SPI_getbinval(t, desc, 1, &isnull));
		d[i].attempts = DatumGetInt32(SPI_getbinval(t, desc, 2, &isnull));
		a.topic = column_text(i, 3, mcxt);
		a.watch_id = DatumGetInt32(SPI_getbinval(t, desc, 4, &isnull));
		a.relation = column_text(i, 5, mcxt);
		a.key = column_text(i, 6, mcxt);
		a.amount_json = column_text(i, 7, mcxt);
		a.event_time_json = column_text(i, 8, mcxt);
		a.score = DatumGetFloat8(SPI_getbinval(t, desc, 9, &isnull));
		a.fired_json = column_text(i, 10, mcxt);
		a.explanation_json = column_text(i, 11, mcxt);
		a.row_ref_json = column_text(i, 12, mcxt);
		a.fired_list = column_text(i, 13, mcxt);
		vigil_message_build(&d[i], &a, mcxt);
	}
	*out = d;
	return (int) SPI_processed;
}

/* A text[] datum of n C strings, NULLs allowed. */
static Datum
text_array(char **strs, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int i = 0; i < n; i++)
	{
		nulls[i] = strs[i] == NULL;
		elems[i] = nulls[i] ? (Datum) 0 : CStringGetTextDatum(strs[i]);
	}
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs,
											  TEXTOID, -1, false, TYPALIGN_INT));
}

/* How long to wait before retrying after the given attempt failed. */
static double
retry_delay_ms(int attempts)
{
	return (double) vigil_backoff_delay_ms(attempts, vigil_retry_base_ms, vigil_retry_max_ms,
										   pg_prng_double(&pg_global_prng_state));
}

/*
 * Record the outcomes of n deliveries.  Retries get a delay of full jitter
 * (uniform in [0, min(retry_max_ms, retry_base_ms * 2^(attempts - 1))]),
 * and become 'dead' once they have had max_attempts attempts.  Only rows
 * still 'sending' change: a requeue meanwhile wins.
 */
void
vigil_outbox_record(const VigilDelivery *d, int n, int max_attempts)
{
	static SPIPlanPtr plan = NULL;
	Datum	   *ids = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *delays = palloc(sizeof(Datum) * Max(n, 1));
	char	  **outcomes = palloc(sizeof(char *) * Max(n, 1));
	char	  **msgids = palloc(sizeof(char *) * Max(n, 1));
	char	  **errors = palloc(sizeof(char *) * Max(n, 1));
	Datum		args[6];
	int			m = 0;

	if (plan == NULL)
	{
		Oid			argtypes[6] = {INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
		FLOAT8ARRAYOID, INT4OID};

		plan = vigil_prepare_plan(
								  "UPDATE vigil.alerts a SET "
								  " status = CASE WHEN u.outcome OPERATOR(pg_catalog.=) 'sent' THEN 'sent'"
								  "  WHEN u.outcome OPERATOR(pg_catalog.=) 'dead'"
								  "   OR a.attempts OPERATOR(pg_catalog.>=) $6 THEN 'dead' ELSE 'pending' END, "
								  " delivered_at = CASE WHEN u.outcome OPERATOR(pg_catalog.=) 'sent'"
								  "  THEN pg_catalog.clock_timestamp() END, "
								  " message_id = u.msgid, last_error = u.err, last_attempt_at = pg_catalog.clock_timestamp(), "
								  " next_attempt_at = CASE WHEN u.outcome OPERATOR(pg_catalog.=) 'retry'"
								  "  THEN pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+)"
								  "   pg_catalog.make_interval(secs => u.delay OPERATOR(pg_catalog./) 1000)"
								  "  ELSE a.next_attempt_at END "
								  "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3),"
								  " pg_catalog.unnest($4), pg_catalog.unnest($5)) AS u(id, outcome, msgid, err, delay) "
								  "WHERE a.id OPERATOR(pg_catalog.=) u.id AND a.status OPERATOR(pg_catalog.=) 'sending'",
								  6, argtypes);
	}

	for (int i = 0; i < n; i++)
	{
		const char *outcome;

		switch (d[i].outcome)
		{
			case VIGIL_OUTCOME_SENT:
				outcome = "sent";
				break;
			case VIGIL_OUTCOME_DEAD:
				outcome = "dead";
				break;
			default:
				/* retried, or never attempted: back to the queue either way */
				outcome = "retry";
				break;
		}
		ids[m] = Int64GetDatum(d[i].alert_id);
		outcomes[m] = (char *) outcome;
		msgids[m] = d[i].message_id;
		errors[m] = d[i].outcome == VIGIL_OUTCOME_NONE ? "not attempted" : d[i].error;
		delays[m] = Float8GetDatum(retry_delay_ms(d[i].attempts));
		m++;
	}
	if (m == 0)
		return;
	args[0] = PointerGetDatum(construct_array(ids, m, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = text_array(outcomes, m);
	args[2] = text_array(msgids, m);
	args[3] = text_array(errors, m);
	args[4] = PointerGetDatum(construct_array(delays, m, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[5] = Int32GetDatum(max_attempts);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not record delivery outcomes");
}

/*
 * Milliseconds until the next pending alert with a topic is due (0: one is
 * due now), or -1 when there is none.  any_topic as for the claim.
 */
int64
vigil_outbox_next_due_ms(bool any_topic)
{
	static SPIPlanPtr plan = NULL;
	Datum		args[2] = {(Datum) 0, BoolGetDatum(any_topic)};
	bool		isnull;
	Datum		v;

	if (plan == NULL)
	{
		Oid			argtypes[2] = {INT4OID, BOOLOID};

		/* NULL for an empty queue (GREATEST would turn it into 0) */
		plan = vigil_prepare_plan(
								  "SELECT pg_catalog.ceil(1000 OPERATOR(pg_catalog.*) "
								  " pg_catalog.date_part('epoch', pg_catalog.min(next_attempt_at)"
								  "  OPERATOR(pg_catalog.-) pg_catalog.clock_timestamp()))::pg_catalog.int8 "
								  "FROM vigil.alerts WHERE status OPERATOR(pg_catalog.=) 'pending' AND " HAS_TOPIC,
								  2, argtypes);
	}
	if (SPI_execute_plan(plan, args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the next due alert");
	v = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return -1;
	return Max(DatumGetInt64(v), 0);
}
