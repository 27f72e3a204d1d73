/*
 * metrics.c
 *		The AnomalyCount metric: alerts per watch per minute, published to
 *		Amazon CloudWatch with PutMetricData.
 *
 * While vigil.cloudwatch_namespace is set, the notifier publishes, for each
 * minute once it is over and GRACE_MS more have passed (for transactions
 * that were committing as it ended), one data point per watch: how many of
 * its alerts were created in that minute, 0 included, so that dashboards
 * show a flat line rather than gaps.  The dimension Relation is the watched
 * table's schema-qualified name.  An alert counts in the minute of its
 * created_at, its inserting transaction's start, so a transaction that
 * commits more than GRACE_MS after that minute has ended is counted in
 * none.
 *
 * Progress is kept in vigil.metric_cursor, in (minute, watch id) order, and
 * moves only once CloudWatch has taken the data: publishing is at least
 * once, and a restart neither publishes a minute again nor skips one.
 * Publishing starts at the current minute; after downtime (or a time
 * without a namespace) it catches up at most CATCHUP_MINUTES minutes and
 * logs that it skips the older ones.
 *
 * Like the delivery of alerts, each step reads up to 1000 counts in a short
 * transaction and commits, sends them with no transaction open, and
 * records the outcome in another short transaction.  The request runs on a
 * libcurl multi handle of its own that the notifier polls between its
 * rounds, so a slow or unreachable CloudWatch never holds up an alert.
 * Throttling, 5xx, network errors and timeouts are retried with the
 * delivery backoff, and so are refused credentials or permissions (401,
 * 403): fixing those must not cost data.  Any other 4xx means the request
 * itself is wrong: a WARNING, and its data points are skipped.
 */
#include "postgres.h"

#include <curl/curl.h>
#include <limits.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "notify/core/arn.h"
#include "notify/core/backoff.h"
#include "notify/core/buf.h"
#include "notify/core/cwquery.h"
#include "notify/core/snsxml.h"
#include "notify/core/url.h"
#include "notify/credentials.h"
#include "notify/http.h"
#include "notify/metrics.h"
#include "notify/outbox.h"
#include "plan.h"

#define METRIC_NAME "AnomalyCount"
#define DIMENSION_NAME "Relation"

/* How long after a minute has ended its alerts are counted, in ms. */
#define GRACE_MS 5000
/* The most minutes published after downtime. */
#define CATCHUP_MINUTES 60
/* How often a request in flight is looked at, in ms. */
#define POLL_MS 50
/* Pause between checks for the extension, in ms. */
#define ABSENT_MS 5000

/* What became of a request. */
typedef enum Outcome
{
	OUTCOME_SENT,
	OUTCOME_RETRY,				/* transient, or credentials to fix */
	OUTCOME_SKIP				/* the request itself is wrong */
} Outcome;

/* The PutMetricData request of a step, and what it publishes. */
typedef struct Request
{
	CURLM	   *multi;
	CURL	   *curl;
	struct curl_slist *headers;
	VigilBuf	body;
	VigilHttpResponse response;
	char		error[CURL_ERROR_SIZE];
	TimestampTz first_minute;
	TimestampTz last_minute;	/* the cursor once it is through */
	int32		last_watch;
	TimestampTz next;			/* when the next step is due after it */
} Request;

static Request req;
static bool in_flight = false;

/* No step before this time: the next minute's end, or a backoff. */
static TimestampTz next_step = 0;
/* Failed steps in a row, for the backoff. */
static int	failures = 0;
/* The failure logged last, so that a lasting one is logged once. */
static char last_warning[1024] = "";

/* Where a step allocates; reset whenever no request is in flight. */
static MemoryContext stepcxt = NULL;

/* The start of the minute t falls in. */
static TimestampTz
minute_start(TimestampTz t)
{
	TimestampTz r = t % USECS_PER_MINUTE;

	return t - (r < 0 ? r + USECS_PER_MINUTE : r);
}

/* When the counts of the minute starting at minute are due. */
static TimestampTz
minute_due(TimestampTz minute)
{
	return minute + USECS_PER_MINUTE + GRACE_MS * INT64CONST(1000);
}

/* A minute for messages, in a string of its own. */
static char *
minute_text(TimestampTz minute)
{
	/* timestamptz_to_str returns a static buffer */
	return pstrdup(timestamptz_to_str(minute));
}

/* Milliseconds from now until t, 0 when it has passed. */
static long
ms_until(TimestampTz t)
{
	TimestampTz now = GetCurrentTimestamp();

	return t <= now ? 0 : (long) ((t - now + 999) / 1000);
}

/*
 * Log a failure as a WARNING, unless it is the one logged last: a lasting
 * problem is logged once, not at every retry.  skipped names the data
 * points given up, NULL when they are tried again.
 */
static void
warn_once(const char *what, const char *skipped)
{
	if (strcmp(what, last_warning) == 0)
		return;
	strlcpy(last_warning, what, sizeof(last_warning));
	ereport(WARNING,
			(errmsg("vigil notifier: could not publish AnomalyCount to CloudWatch: %s", what),
			 skipped ? errdetail("The data points of %s are skipped.", skipped)
			 : errdetail("They are tried again later.")));
}

/* Commit the step's transaction, and go back to allocating in the step. */
static void
txn_end(void)
{
	vigil_outbox_end(stepcxt);
}

/*
 * Start a short transaction with SPI and a snapshot; false, with it ended
 * already, when vigil is not installed.  Like every step of the notifier
 * it locks vigil.watches first (see outbox.c), before reading vigil.alerts.
 */
static bool
txn_begin(const char *activity)
{
	if (vigil_outbox_begin(activity))
		return true;
	txn_end();
	return false;
}

/*
 * Read the cursor into *minute and *watch_id; false, after starting it at
 * the current minute, when publishing has never run.
 */
static bool
cursor_read(TimestampTz now, TimestampTz *minute, int32 *watch_id)
{
	static SPIPlanPtr read_plan = NULL;
	static SPIPlanPtr start_plan = NULL;
	Datum		args[1] = {TimestampTzGetDatum(minute_start(now))};
	bool		isnull;

	if (read_plan == NULL)
		read_plan = vigil_prepare_plan("SELECT minute, watch_id FROM vigil.metric_cursor", 0, NULL);
	if (SPI_execute_plan(read_plan, NULL, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read vigil.metric_cursor");
	if (SPI_processed == 1)
	{
		*minute = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		*watch_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		return true;
	}

	if (start_plan == NULL)
	{
		Oid			argtypes[1] = {TIMESTAMPTZOID};

		start_plan = vigil_prepare_plan("INSERT INTO vigil.metric_cursor (minute) VALUES ($1)", 1, argtypes);
	}
	if (SPI_execute_plan(start_plan, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not start vigil.metric_cursor");
	*minute = minute_start(now);
	*watch_id = 0;
	return false;
}

/* Move the cursor forward to (minute, watch_id); never back. */
static void
cursor_move(TimestampTz minute, int32 watch_id)
{
	static SPIPlanPtr plan = NULL;
	Datum		args[2] = {TimestampTzGetDatum(minute), Int32GetDatum(watch_id)};

	if (plan == NULL)
	{
		Oid			argtypes[2] = {TIMESTAMPTZOID, INT4OID};

		plan = vigil_prepare_plan(
								  "UPDATE vigil.metric_cursor SET minute = $1, watch_id = $2 "
								  "WHERE minute OPERATOR(pg_catalog.<) $1"
								  " OR (minute OPERATOR(pg_catalog.=) $1 AND watch_id OPERATOR(pg_catalog.<) $2)",
								  2, argtypes);
	}
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not move vigil.metric_cursor");
}

/* Note a request's error in the cursor's row, NULL when it went through. */
static void
cursor_note(const char *error)
{
	static SPIPlanPtr plan = NULL;
	Datum		args[1] = {error ? CStringGetTextDatum(error) : (Datum) 0};

	if (plan == NULL)
	{
		Oid			argtypes[1] = {TEXTOID};

		plan = vigil_prepare_plan(
								  "UPDATE vigil.metric_cursor"
								  " SET last_error = $1, last_attempt_at = pg_catalog.clock_timestamp()",
								  1, argtypes);
	}
	if (SPI_execute_plan(plan, args, error ? " " : "n", false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update vigil.metric_cursor");
}

/*
 * Read the counts after the cursor (minute, watch_id) in the minutes before
 * end, in (minute, watch id) order, at most VIGIL_CW_MAX_DATA: the data
 * points into *data and their watches' ids into *watches, both allocated
 * in stepcxt.  A watch counts from the minute it was created in.  Returns
 * how many.
 */
static int
read_counts(TimestampTz minute, int32 watch_id, TimestampTz end,
			VigilCwDatum **data, int32 **watches)
{
	static SPIPlanPtr plan = NULL;
	Datum		args[4] = {TimestampTzGetDatum(minute), TimestampTzGetDatum(end),
	Int32GetDatum(watch_id), Int32GetDatum(VIGIL_CW_MAX_DATA)};
	VigilCwDatum *d;
	int32	   *w;

	if (plan == NULL)
	{
		Oid			argtypes[4] = {TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, INT4OID};

		/* minutes are counted from 2000-01-01 UTC, whatever the time zone */
		plan = vigil_prepare_plan(
								  "WITH c AS ("
								  " SELECT a.watch_id, pg_catalog.date_bin('1 minute', a.created_at,"
								  "  '2000-01-01 00:00:00+00') AS minute, pg_catalog.count(*) AS n"
								  " FROM vigil.alerts a"
								  " WHERE a.created_at OPERATOR(pg_catalog.>=) $1"
								  " AND a.created_at OPERATOR(pg_catalog.<) $2"
								  " GROUP BY 1, 2) "
								  "SELECT m.minute, w.id, pg_catalog.format('%I.%I', s.nspname, r.relname),"
								  " COALESCE(c.n, 0) "
								  "FROM pg_catalog.generate_series($1, $2 OPERATOR(pg_catalog.-)"
								  " '1 minute'::pg_catalog.interval, '1 minute'::pg_catalog.interval) AS m(minute)"
								  " JOIN vigil.watches w ON pg_catalog.date_bin('1 minute', w.created_at,"
								  "  '2000-01-01 00:00:00+00') OPERATOR(pg_catalog.<=) m.minute"
								  " JOIN pg_catalog.pg_class r ON r.oid OPERATOR(pg_catalog.=) w.relation"
								  " JOIN pg_catalog.pg_namespace s ON s.oid OPERATOR(pg_catalog.=) r.relnamespace"
								  " LEFT JOIN c ON c.watch_id OPERATOR(pg_catalog.=) w.id"
								  "  AND c.minute OPERATOR(pg_catalog.=) m.minute "
								  "WHERE m.minute OPERATOR(pg_catalog.>) $1 OR w.id OPERATOR(pg_catalog.>) $3 "
								  "ORDER BY m.minute, w.id LIMIT $4",
								  4, argtypes);
	}
	if (SPI_execute_plan(plan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not count alerts per minute");

	d = MemoryContextAlloc(stepcxt, sizeof(VigilCwDatum) * Max(SPI_processed, 1));
	w = MemoryContextAlloc(stepcxt, sizeof(int32) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		d[i].timestamp = timestamptz_to_time_t(DatumGetTimestampTz(SPI_getbinval(t, desc, 1, &isnull)));
		w[i] = DatumGetInt32(SPI_getbinval(t, desc, 2, &isnull));
		d[i].dimension_value = MemoryContextStrdup(stepcxt,
												   TextDatumGetCString(SPI_getbinval(t, desc, 3, &isnull)));
		d[i].value = DatumGetInt64(SPI_getbinval(t, desc, 4, &isnull));
	}
	*data = d;
	*watches = w;
	return (int) SPI_processed;
}

/* Back off before the next step, after one more failure in a row. */
static long
retry_later(void)
{
	failures++;
	next_step = GetCurrentTimestamp() +
		vigil_backoff_delay_ms(failures, vigil_retry_base_ms, vigil_retry_max_ms,
							   pg_prng_double(&pg_global_prng_state)) * INT64CONST(1000);
	return ms_until(next_step);
}

/* Release what the request holds outside palloc. */
static void
request_free(void)
{
	if (req.multi != NULL && req.curl != NULL)
		curl_multi_remove_handle(req.multi, req.curl);
	if (req.curl != NULL)
		curl_easy_cleanup(req.curl);
	if (req.multi != NULL)
		curl_multi_cleanup(req.multi);
	req.curl = NULL;
	req.multi = NULL;
	curl_slist_free_all(req.headers);
	req.headers = NULL;
	vigil_buf_free(&req.body);
	vigil_buf_free(&req.response.body);
	in_flight = false;
}

/*
 * Sign the body built in req.body for the endpoint at url and start
 * sending it.  Returns NULL, or why it could not start.
 */
static const char *
request_start(const VigilCredentials *creds, const char *region, const char *url,
			  const VigilUrl *u)
{
	const char *why = vigil_http_aws_post(url, u, "monitoring", region, creds, &req.body,
										  &req.response, req.error, &req.headers, &req.curl);

	if (why != NULL)
		return why;
	req.multi = curl_multi_init();
	if (req.multi == NULL)
		return "could not create a libcurl handle";
	if (curl_multi_add_handle(req.multi, req.curl) != CURLM_OK)
		return "could not start the request";
	in_flight = true;
	return NULL;
}

/* Whether an AWS error code means "try again later". */
static bool
transient_code(const char *code)
{
	static const char *const codes[] = {
		"Throttling", "ThrottlingException", "RequestThrottled", "TooManyRequestsException",
		"RequestTimeout", "RequestTimeoutException", "ExpiredToken", "ExpiredTokenException",
		"RequestExpired",
	};

	for (size_t i = 0; i < lengthof(codes); i++)
		if (strcmp(code, codes[i]) == 0)
			return true;
	return false;
}

/* How the finished request ended; *what says why, when it did not go through. */
static Outcome
request_outcome(CURLcode result, char **what)
{
	long		status = 0;
	VigilSnsError err;
	bool		transient = false;

	*what = NULL;
	if (result != CURLE_OK)
	{
		*what = vigil_http_failure(&req.response, result, req.error);
		return OUTCOME_RETRY;
	}
	curl_easy_getinfo(req.curl, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200)
		return OUTCOME_SENT;

	/* CloudWatch's Query API errors are SNS's ErrorResponse documents */
	if (vigil_snsxml_error(req.response.body.data, req.response.body.len, &err))
	{
		/*
		 * Only the first line: AWS follows it with the canonical request it
		 * expected, which holds the session token.
		 */
		err.message[strcspn(err.message, "\r\n")] = '\0';
		*what = vigil_http_printable(psprintf("HTTP %ld %s: %s", status, err.code, err.message));
		transient = transient_code(err.code);
		if (strncmp(err.code, "Expired", 7) == 0 || strcmp(err.code, "RequestExpired") == 0)
			vigil_credentials_reset();
	}
	else
		*what = psprintf("HTTP %ld", status);
	if (transient || status == 401 || status == 403 || status == 429 || status >= 500)
		return OUTCOME_RETRY;
	return OUTCOME_SKIP;
}

/*
 * Record how the step's request ended: move the cursor past its data when
 * they went through or are given up, and note the error.  Returns how long
 * to wait before the next step, in ms.
 */
static long
request_done(Outcome outcome, const char *what)
{
	if (outcome == OUTCOME_RETRY)
		warn_once(what, NULL);
	else if (outcome == OUTCOME_SKIP)
		warn_once(what, psprintf("the minutes from %s to %s", minute_text(req.first_minute),
								 minute_text(req.last_minute)));

	/* with the extension gone, so is the cursor */
	if (txn_begin("vigil notifier: recording CloudWatch progress"))
	{
		if (outcome != OUTCOME_RETRY)
			cursor_move(req.last_minute, req.last_watch);
		cursor_note(what);
		txn_end();
	}

	if (outcome == OUTCOME_RETRY)
		return retry_later();
	failures = 0;
	if (outcome == OUTCOME_SENT)
		last_warning[0] = '\0';
	next_step = req.next;
	return ms_until(next_step);
}

/* Look at the request in flight, and record how it ended once it has. */
static long
request_poll(void)
{
	int			running;
	int			left;
	CURLMsg    *msg;
	bool		done = false;
	CURLcode	result = CURLE_OK;
	char	   *what;
	Outcome		outcome;

	curl_multi_perform(req.multi, &running);
	while ((msg = curl_multi_info_read(req.multi, &left)) != NULL)
	{
		if (msg->msg != CURLMSG_DONE)
			continue;
		done = true;
		result = msg->data.result;
	}
	if (!done)
		return POLL_MS;
	outcome = request_outcome(result, &what);
	request_free();
	return request_done(outcome, what);
}

/*
 * A step: read the counts due and start sending them.  Returns how long to
 * wait before the notifier calls again, in ms.
 */
static long
step_start(void)
{
	VigilCredentials creds;
	char	   *why = NULL;
	char		region[64];
	char	   *url;
	VigilUrl	u;
	TimestampTz now;
	TimestampTz end;
	TimestampTz minute;
	int32		watch_id;
	VigilCwDatum *data = NULL;
	int32	   *watches = NULL;
	int			n = 0;
	int			taken;
	const char *failed;

	/* outside any transaction: this may ask a metadata service */
	if (!vigil_credentials_get(&creds, &why))
		return retry_later();	/* the delivery round says why */
	if (vigil_aws_region[0] != '\0')
		strlcpy(region, vigil_aws_region, sizeof(region));
	else if (!vigil_arn_region(vigil_sns_topic_arn, region, sizeof(region)))
	{
		warn_once("no AWS region: set vigil.aws_region or vigil.sns_topic_arn", NULL);
		return retry_later();
	}
	url = vigil_cloudwatch_endpoint[0] != '\0' ? pstrdup(vigil_cloudwatch_endpoint)
		: psprintf("https://monitoring.%s.amazonaws.com/", region);
	if (!vigil_url_parse(url, &u))
	{
		warn_once(psprintf("invalid CloudWatch endpoint URL \"%s\"", url), NULL);
		return retry_later();
	}

	if (!txn_begin("vigil notifier: counting alerts for CloudWatch"))
	{
		next_step = GetCurrentTimestamp() + ABSENT_MS * INT64CONST(1000);
		return ABSENT_MS;
	}
	now = GetCurrentTimestamp();
	end = minute_start(now - GRACE_MS * INT64CONST(1000));
	if (cursor_read(now, &minute, &watch_id) &&
		minute < end - CATCHUP_MINUTES * USECS_PER_MINUTE)
	{
		TimestampTz from = end - CATCHUP_MINUTES * USECS_PER_MINUTE;

		ereport(LOG,
				(errmsg("vigil notifier: AnomalyCount is not published for the minutes from %s to %s",
						minute_text(minute), minute_text(from - USECS_PER_MINUTE)),
				 errdetail("After downtime, the notifier publishes the last %d minutes only.",
						   CATCHUP_MINUTES)));
		minute = from;
		watch_id = 0;
		cursor_move(minute, watch_id);
	}
	if (minute < end)
	{
		n = read_counts(minute, watch_id, end, &data, &watches);
		/* no watches: every minute before end is done */
		if (n == 0)
			cursor_move(end, 0);
	}
	txn_end();
	if (n == 0)
	{
		failures = 0;
		next_step = minute_due(Max(minute, end));
		return ms_until(next_step);
	}

	memset(&req, 0, sizeof(req));
	taken = vigil_cw_put_metric_data(&req.body, vigil_cloudwatch_namespace, METRIC_NAME,
									 DIMENSION_NAME, data, n, VIGIL_CW_MAX_BODY);
	req.first_minute = time_t_to_timestamptz(data[0].timestamp);
	if (taken < 0)
	{
		/* this point can never be sent: give it up, and go on at once */
		req.last_minute = req.first_minute;
		req.last_watch = watches[0];
		req.next = 0;
		request_free();
		return request_done(OUTCOME_SKIP,
							psprintf("the data point of relation %s cannot be encoded", data[0].dimension_value));
	}
	req.last_minute = time_t_to_timestamptz(data[taken - 1].timestamp);
	req.last_watch = watches[taken - 1];
	/* with every closed minute in this request, the next step is the next minute's */
	req.next = taken == n && n < VIGIL_CW_MAX_DATA ? minute_due(end) : 0;
	failed = request_start(&creds, region, url, &u);
	if (failed != NULL)
	{
		request_free();
		return request_done(OUTCOME_RETRY, failed);
	}
	return POLL_MS;
}

/*
 * Publish what is due, or look at the request in flight; the notifier
 * calls this between its rounds.  Returns how long it may sleep before the
 * next call, in ms (LONG_MAX: as long as it likes).  Errors are logged and
 * retried with backoff here, never passed on: metrics must not stand in
 * the way of alerts.
 */
long
vigil_metrics_round(void)
{
	MemoryContext oldcxt;
	long		wait_ms;

	if (!in_flight && vigil_cloudwatch_namespace[0] == '\0')
		return LONG_MAX;
	if (stepcxt == NULL)
		stepcxt = AllocSetContextCreate(TopMemoryContext, "vigil metrics step",
										ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(stepcxt);
	PG_TRY();
	{
		if (in_flight)
			wait_ms = request_poll();
		else if (GetCurrentTimestamp() < next_step)
			wait_ms = ms_until(next_step);
		else
			wait_ms = step_start();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(stepcxt);
		EmitErrorReport();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		pgstat_report_activity(STATE_IDLE, NULL);
		request_free();
		wait_ms = retry_later();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	if (!in_flight)
		MemoryContextReset(stepcxt);
	return wait_ms;
}
