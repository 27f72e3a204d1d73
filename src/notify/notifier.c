/*
 * notifier.c
 *		The background worker that delivers alerts to Amazon SNS.
 *
 * One worker per cluster, connected to vigil.database, started by the
 * launcher (launcher.c) whenever that database exists.  Each round:
 *
 *	1. claim due alerts in a short transaction (outbox.c) and commit;
 *	2. send them with no transaction open (sns.c), several requests in
 *	   flight;
 *	3. record each alert's outcome in another short transaction.
 *
 * It sleeps on its latch until the next retry is due; a transaction that
 * wrote alerts sets the latch when it commits, so new alerts leave at once
 * instead of at the next poll.  Errors in a round (the extension dropped
 * under it, a lost connection to nothing in particular) are logged and
 * the round is retried after a pause, inside the same process: the worker
 * never exits on an error, so it cannot crash-loop.  While the extension
 * is not installed it checks again every few seconds, quietly.
 *
 * Between rounds it also publishes the AnomalyCount metric to CloudWatch
 * when vigil.cloudwatch_namespace is set (metrics.c), and sleeps no longer
 * than that needs.
 *
 * A statement that needs the database to itself (DROP DATABASE, a rename, a
 * copy of it as a template) asks the worker to leave; it exits between two
 * steps, never inside a transaction, and the launcher starts it again once
 * the statement is over, if the database is still there.
 */
#include "postgres.h"

#include <curl/curl.h>

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "notify/credentials.h"
#include "notify/metrics.h"
#include "notify/notifier.h"
#include "notify/outbox.h"
#include "notify/sns.h"

PGDLLEXPORT void vigil_notifier_main(Datum arg pg_attribute_unused());

/* How long to sleep at most, so that even a missed wakeup costs little. */
#define IDLE_SLEEP_MS 10000
/* Pause after a failed round, and between checks for the extension. */
#define ERROR_SLEEP_MS 1000
#define ABSENT_SLEEP_MS 5000
/* Pause when every due alert is locked by another transaction (SKIP LOCKED). */
#define LOCKED_SLEEP_MS 100
/*
 * Longest pause after rounds in which no request was answered (the endpoint
 * down or failing, or no credentials to be had), whatever wakes the worker: each commit of
 * an alert would otherwise have it try the endpoint again, at the cost of
 * the inserting sessions.  Short, so that alerts leave soon after the
 * endpoint is back.
 */
#define FAILING_MAX_SLEEP_MS 10000

NotifierShared *vigil_notifier_shared = NULL;

/* Where a round allocates; reset after every round. */
static MemoryContext roundcxt = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Why the last round had no credentials, so that it is logged once. */
static char last_credentials_error[1024] = "";

/*
 * While deliveries fail: how long the pause after the last failed round
 * was (0: they do not), and until when wakeups are ignored.
 */
static long failing_ms = 0;
static TimestampTz failing_until = 0;

/* Whether this transaction wrote alerts; see vigil_notifier_wake_at_commit. */
static bool wake_at_commit = false;
static bool xact_callback_registered = false;

/* Ask for the shared state's memory. */
static void
notifier_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(NotifierShared)));
}

/* Find or create the shared state. */
static void
notifier_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	vigil_notifier_shared = ShmemInitStruct("vigil notifier", sizeof(NotifierShared), &found);
	if (!found)
	{
		memset(vigil_notifier_shared, 0, sizeof(NotifierShared));
		SpinLockInit(&vigil_notifier_shared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Ask for the workers' shared memory; from _PG_init when preloaded. */
void
vigil_notifier_shmem_register(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = notifier_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = notifier_shmem_startup;
}

/* Set the worker's latch, if it is running. */
static void
notifier_wake(void)
{
	Latch	   *latch = NULL;

	if (vigil_notifier_shared == NULL)
		return;
	SpinLockAcquire(&vigil_notifier_shared->mutex);
	if (vigil_notifier_shared->pid != 0)
		latch = vigil_notifier_shared->latch;
	SpinLockRelease(&vigil_notifier_shared->mutex);
	if (latch != NULL)
		SetLatch(latch);
}

/* Wake the worker when a transaction that wrote alerts commits. */
static void
notifier_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (wake_at_commit)
				notifier_wake();
			wake_at_commit = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* COMMIT PREPARED wakes the worker instead (launcher.c) */
			wake_at_commit = false;
			break;
		default:
			break;
	}
}

/*
 * Note that the current transaction wrote alerts, so that its commit wakes
 * the worker (a rollback does not: its alerts are gone).
 */
void
vigil_notifier_wake_at_commit(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(notifier_xact_callback, NULL);
		xact_callback_registered = true;
	}
	wake_at_commit = true;
}

PG_FUNCTION_INFO_V1(vigil_notifier_running);

/* vigil.notifier_running(): whether the worker is up. */
Datum
vigil_notifier_running(PG_FUNCTION_ARGS)
{
	pid_t		pid = 0;

	if (vigil_notifier_shared != NULL)
	{
		SpinLockAcquire(&vigil_notifier_shared->mutex);
		pid = vigil_notifier_shared->pid;
		SpinLockRelease(&vigil_notifier_shared->mutex);
	}
	PG_RETURN_BOOL(pid != 0);
}

PG_FUNCTION_INFO_V1(vigil_notifier_wake);

/* vigil.wake_notifier(): have the worker look at the queue now. */
Datum
vigil_notifier_wake(PG_FUNCTION_ARGS)
{
	vigil_notifier_wake_at_commit();
	PG_RETURN_VOID();
}

/* Forget the worker in shared memory when it exits, however it exits. */
static void
notifier_detach(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	SpinLockAcquire(&vigil_notifier_shared->mutex);
	vigil_notifier_shared->pid = 0;
	vigil_notifier_shared->latch = NULL;
	SpinLockRelease(&vigil_notifier_shared->mutex);
}

/*
 * Exit when a statement needs vigil.database to itself (see launcher.c).
 * Called only where no transaction is open: alerts being sent stay
 * 'sending' and are queued again by the next run, like after a SIGTERM.
 */
static void
notifier_leave_if_held(void)
{
	NotifierShared *sh = vigil_notifier_shared;
	bool		held;

	SpinLockAcquire(&sh->mutex);
	held = sh->holds > 0;
	if (held)
		sh->left = true;
	SpinLockRelease(&sh->mutex);
	if (!held)
		return;
	ereport(LOG,
			(errmsg("vigil notifier leaves database \"%s\" for a statement that needs it alone",
					vigil_database)));
	proc_exit(0);
}

/* Commit the step's transaction, and go back to allocating in the round. */
static void
step_end(void)
{
	vigil_outbox_end(roundcxt);
}

/*
 * Start a transaction for one step of a round, with SPI and a snapshot.
 * Every step needs the extension: false, with the step already ended and
 * recovery to be redone, when it is not installed.
 */
static bool
step_begin(const char *activity, bool *recovered)
{
	if (vigil_outbox_begin(activity))
		return true;
	step_end();
	*recovered = false;
	return false;
}

/*
 * One round: claim, send, record.  Returns how long to sleep before the
 * next one in ms (0: go again at once, there is more to do).  Credentials
 * are resolved only when an alert is due: an idle worker on a machine with
 * none configured would otherwise ask the instance metadata service every
 * few seconds, for nothing.
 */
/*
 * A round failed as a whole: pause longer each time, from vigil.retry_base_ms
 * up to FAILING_MAX_SLEEP_MS, and ignore wakeups until then.
 */
static long
round_failed(void)
{
	failing_ms = Min(failing_ms == 0 ? vigil_retry_base_ms : failing_ms * 2, FAILING_MAX_SLEEP_MS);
	failing_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), failing_ms);
	return failing_ms;
}

/* A request got through (or the settings changed): no more pausing. */
static void
round_succeeded(void)
{
	failing_ms = 0;
	failing_until = 0;
}

/*
 * Milliseconds left of the pause after failed rounds, 0 when there is
 * none.
 */
static long
failing_left_ms(void)
{
	TimestampTz now;

	if (failing_until == 0)
		return 0;
	now = GetCurrentTimestamp();
	/* past it, or further than the pause itself (the clock went back) */
	if (now >= failing_until || failing_until - now > (TimestampTz) failing_ms * 1000)
		return 0;
	return (long) ((failing_until - now + 999) / 1000);
}

static long
notifier_round(bool *recovered)
{
	VigilDelivery *d = NULL;
	int			n;
	bool		any_topic = vigil_sns_topic_arn[0] != '\0';
	int64		due;
	VigilCredentials creds;
	char	   *why = NULL;

	if (!step_begin("vigil notifier: checking the queue", recovered))
		return ABSENT_SLEEP_MS;
	if (!*recovered)
	{
		uint64		back = vigil_outbox_recover();

		if (back > 0)
			ereport(LOG,
					(errmsg("vigil notifier: %llu alerts left sending by an earlier run are queued again",
							(unsigned long long) back)));
		*recovered = true;
	}
	due = vigil_outbox_next_due_ms(any_topic);
	step_end();
	if (due < 0 || due > IDLE_SLEEP_MS)
		return IDLE_SLEEP_MS;
	if (due > 0)
		return (long) due;

	/* outside any transaction: this may ask a metadata service */
	if (!vigil_credentials_get(&creds, &why))
	{
		/* say it once, not every round, until the reason changes */
		if (strcmp(why, last_credentials_error) != 0)
			ereport(WARNING,
					(errmsg("vigil notifier: no AWS credentials: %s", why),
					 errhint("Set vigil.aws_access_key_id and vigil.aws_secret_access_key, "
							 "the AWS_* environment variables of the server, or give the server an IAM role.")));
		strlcpy(last_credentials_error, why, sizeof(last_credentials_error));
		return round_failed();
	}
	last_credentials_error[0] = '\0';

	if (!step_begin("vigil notifier: claiming alerts", recovered))
		return ABSENT_SLEEP_MS;
	n = vigil_outbox_claim(vigil_batch_size, any_topic, roundcxt, &d);
	step_end();
	if (n == 0)
		return LOCKED_SLEEP_MS;

	pgstat_report_activity(STATE_RUNNING, psprintf("vigil notifier: sending %d alerts", n));
	vigil_sns_deliver(d, n, &creds, notifier_leave_if_held);

	/* with the extension gone, so are the alerts to record */
	if (!step_begin("vigil notifier: recording outcomes", recovered))
		return ABSENT_SLEEP_MS;
	vigil_outbox_record(d, n, vigil_max_attempts);
	step_end();
	/* the endpoint answered one of them (sent or refused): it is up */
	for (int i = 0; i < n; i++)
	{
		if (d[i].answered)
		{
			/* the next round sees what is due next, retries of these among it */
			round_succeeded();
			return 0;
		}
	}
	return round_failed();
}

/* The worker's entry point. */
void
vigil_notifier_main(Datum arg pg_attribute_unused())
{
	bool		recovered = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(vigil_database, NULL, 0);
	/* also what log_line_prefix's %a shows */
	SetConfigOption("application_name", "vigil notifier", PGC_USERSET, PGC_S_SESSION);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		ereport(FATAL, (errmsg("vigil notifier: could not initialize libcurl")));

	SpinLockAcquire(&vigil_notifier_shared->mutex);
	vigil_notifier_shared->pid = MyProcPid;
	vigil_notifier_shared->latch = MyLatch;
	SpinLockRelease(&vigil_notifier_shared->mutex);
	before_shmem_exit(notifier_detach, (Datum) 0);

	roundcxt = AllocSetContextCreate(TopMemoryContext, "vigil notifier round",
									 ALLOCSET_DEFAULT_SIZES);
	ereport(LOG, (errmsg("vigil notifier started on database \"%s\"", vigil_database)));

	for (;;)
	{
		long		sleep_ms;

		CHECK_FOR_INTERRUPTS();
		notifier_leave_if_held();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			vigil_credentials_reset();
			vigil_sns_reset();
			round_succeeded();
		}

		/* while deliveries fail, commits of new alerts do not wake it */
		if ((sleep_ms = failing_left_ms()) > 0)
		{
			sleep_ms = Min(sleep_ms, vigil_metrics_round());
			if (sleep_ms > 0)
			{
				(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
								 sleep_ms, PG_WAIT_EXTENSION);
				ResetLatch(MyLatch);
			}
			continue;
		}

		MemoryContextSwitchTo(roundcxt);
		PG_TRY();
		{
			sleep_ms = notifier_round(&recovered);
		}
		PG_CATCH();
		{
			/* log it, clean up, and try again later in this same process */
			MemoryContextSwitchTo(roundcxt);
			EmitErrorReport();
			FlushErrorState();
			AbortOutOfAnyTransaction();
			pgstat_report_activity(STATE_IDLE, NULL);
			recovered = false;
			sleep_ms = ERROR_SLEEP_MS;
		}
		PG_END_TRY();
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(roundcxt);

		/* on their own: metrics never hold up alerts, nor fail their round */
		sleep_ms = Min(sleep_ms, vigil_metrics_round());

		if (sleep_ms > 0)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 sleep_ms, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
}
