/*
 * launcher.c
 *		Starts the notifier whenever vigil.database exists, and gets it out of
 *		the way of statements that need that database to themselves.
 *
 * A worker connected to a database cannot outlive it: DROP DATABASE waits
 * five seconds for it and fails, and a worker whose database is gone exits
 * FATAL at every start, a crash loop in the log.  So the postmaster starts a
 * launcher that connects to no database (it reads only the shared catalog
 * pg_database) and runs the notifier as a dynamic worker while the database
 * is there to connect to.
 *
 * Sessions that are about to drop, rename or copy the database take a hold
 * in shared memory (vigil_launcher_utility, from the utility hook), which makes the notifier leave
 * and keeps the launcher from starting it; the hold ends with the session's
 * transaction, which wakes the launcher to look again.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "notify/launcher.h"
#include "notify/notifier.h"

PGDLLEXPORT void vigil_launcher_main(Datum arg pg_attribute_unused());

/* Wait before starting again a notifier that stopped on its own. */
#define RESTART_MS 10000
/* Between checks for a missing database. */
#define ABSENT_MS 5000
/* Between checks on a notifier an earlier launcher started. */
#define ORPHAN_MS 1000

/* Whether this session's transaction holds the database; see hold_database. */
static bool holding = false;
static bool xact_callback_registered = false;

/*
 * Whether vigil.database is there to connect to.  A heap scan, as the
 * autovacuum launcher does: with no database selected the relcache cannot
 * build pg_database's indexes when the init file is missing.
 */
static bool
database_ready(void)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	bool		ready = false;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (strcmp(NameStr(db->datname), vigil_database) == 0)
		{
			/* an interrupted DROP DATABASE leaves it invalid */
			ready = db->datallowconn && !database_is_invalid_form(db);
			break;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return ready;
}

/* Start the notifier, telling the postmaster to signal us when it stops. */
static BackgroundWorkerHandle *
notifier_start(void)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	/* the launcher restarts it, after looking at the database */
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "vigil", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "vigil_notifier_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "vigil notifier", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "vigil notifier", BGW_MAXLEN);
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		return NULL;
	return handle;
}

/* Forget the launcher's latch when it exits. */
static void
launcher_detach(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	SpinLockAcquire(&vigil_notifier_shared->mutex);
	vigil_notifier_shared->launcher_latch = NULL;
	SpinLockRelease(&vigil_notifier_shared->mutex);
}

/*
 * How long to wait before looking again, after deciding whether to start the
 * notifier now; *handle is set when it was started.
 */
static long
launcher_step(BackgroundWorkerHandle **handle, TimestampTz *not_before,
			  bool *said_absent, bool *said_no_slot)
{
	NotifierShared *sh = vigil_notifier_shared;
	pid_t		pid;
	int			holds;
	bool		left;
	TimestampTz now = GetCurrentTimestamp();

	if (*handle != NULL)
	{
		if (GetBackgroundWorkerPid(*handle, &pid) != BGWH_STOPPED)
			return -1;			/* the postmaster signals us when it stops */
		pfree(*handle);
		*handle = NULL;
		SpinLockAcquire(&sh->mutex);
		left = sh->left;
		sh->left = false;
		SpinLockRelease(&sh->mutex);
		/* it left for a hold: back as soon as the hold ends */
		*not_before = left ? now : TimestampTzPlusMilliseconds(now, RESTART_MS);
	}

	SpinLockAcquire(&sh->mutex);
	holds = sh->holds;
	pid = sh->pid;
	SpinLockRelease(&sh->mutex);

	if (holds > 0)
		return -1;				/* the hold's end wakes us */
	if (now < *not_before)
		return (long) ((*not_before - now) / 1000) + 1;
	if (pid != 0)
		return ORPHAN_MS;		/* an earlier launcher's notifier still runs */
	if (!database_ready())
	{
		if (!*said_absent)
			ereport(LOG,
					(errmsg("vigil notifier waits for database \"%s\" to exist and accept connections",
							vigil_database)));
		*said_absent = true;
		return ABSENT_MS;
	}
	*said_absent = false;
	*handle = notifier_start();
	if (*handle == NULL)
	{
		if (!*said_no_slot)
			ereport(WARNING,
					(errmsg("vigil launcher could not start the notifier: no background worker slot is free"),
					 errhint("Raise max_worker_processes.")));
		*said_no_slot = true;
		return RESTART_MS;
	}
	*said_no_slot = false;
	return -1;
}

/* The launcher's entry point. */
void
vigil_launcher_main(Datum arg pg_attribute_unused())
{
	BackgroundWorkerHandle *handle = NULL;
	TimestampTz not_before = 0;
	bool		said_absent = false;
	bool		said_no_slot = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* no database: it reads only pg_database, and so outlives them all */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	SpinLockAcquire(&vigil_notifier_shared->mutex);
	vigil_notifier_shared->launcher_latch = MyLatch;
	SpinLockRelease(&vigil_notifier_shared->mutex);
	before_shmem_exit(launcher_detach, (Datum) 0);

	for (;;)
	{
		long		wait_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		wait_ms = launcher_step(&handle, &not_before, &said_absent, &said_no_slot);
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | (wait_ms >= 0 ? WL_TIMEOUT : 0),
						 wait_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* End this session's hold when its transaction ends, and wake the launcher. */
static void
hold_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	Latch	   *latch;

	if (!holding)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			break;
		default:
			return;
	}
	holding = false;
	SpinLockAcquire(&vigil_notifier_shared->mutex);
	vigil_notifier_shared->holds--;
	latch = vigil_notifier_shared->launcher_latch;
	SpinLockRelease(&vigil_notifier_shared->mutex);
	if (latch != NULL)
		SetLatch(latch);
}

/* Take a hold on vigil.database until this transaction ends; see above. */
static void
hold_database(void)
{
	Latch	   *latch;

	if (holding)
		return;
	if (!xact_callback_registered)
	{
		RegisterXactCallback(hold_xact_callback, NULL);
		xact_callback_registered = true;
	}
	holding = true;
	SpinLockAcquire(&vigil_notifier_shared->mutex);
	vigil_notifier_shared->holds++;
	latch = vigil_notifier_shared->pid != 0 ? vigil_notifier_shared->latch : NULL;
	SpinLockRelease(&vigil_notifier_shared->mutex);
	/* the statement waits up to 5 s for other sessions to leave */
	if (latch != NULL)
		SetLatch(latch);
}

/* Whether a DefElem list names vigil.database under the option NAME. */
static bool
option_names_database(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (strcmp(def->defname, name) == 0 && def->arg != NULL &&
			strcmp(defGetString(def), vigil_database) == 0)
			return true;
	}
	return false;
}

/*
 * Whether a statement drops, renames, moves or copies vigil.database, or
 * creates it: the first four wait for other sessions to leave it, and the
 * end of any of them is when the launcher should look again.
 */
static bool
statement_concerns_database(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_DropdbStmt:
			return strcmp(((DropdbStmt *) stmt)->dbname, vigil_database) == 0;
		case T_CreatedbStmt:
			{
				CreatedbStmt *c = (CreatedbStmt *) stmt;

				return strcmp(c->dbname, vigil_database) == 0 ||
					option_names_database(c->options, "template");
			}
		case T_RenameStmt:
			{
				RenameStmt *r = (RenameStmt *) stmt;

				return r->renameType == OBJECT_DATABASE &&
					(strcmp(r->subname, vigil_database) == 0 ||
					 strcmp(r->newname, vigil_database) == 0);
			}
		case T_AlterDatabaseStmt:
			{
				AlterDatabaseStmt *a = (AlterDatabaseStmt *) stmt;
				ListCell   *lc;

				if (strcmp(a->dbname, vigil_database) != 0)
					return false;
				foreach(lc, a->options)
				{
					if (strcmp(lfirst_node(DefElem, lc)->defname, "tablespace") == 0)
						return true;
				}
				return false;
			}
		default:
			return false;
	}
}

/*
 * Hold the database for statements that need it, and wake the notifier when
 * COMMIT PREPARED commits a transaction that may have written alerts
 * (PREPARE TRANSACTION forgets who wrote them).  Called for every utility
 * statement when the library is preloaded (utility.c).
 */
void
vigil_launcher_utility(Node *stmt)
{
	if (statement_concerns_database(stmt))
		hold_database();
	else if (IsA(stmt, TransactionStmt) &&
			 ((TransactionStmt *) stmt)->kind == TRANS_STMT_COMMIT_PREPARED)
		vigil_notifier_wake_at_commit();
}

/* Register the launcher; from _PG_init when preloaded. */
void
vigil_launcher_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = RESTART_MS / 1000;
	strlcpy(worker.bgw_library_name, "vigil", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "vigil_launcher_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "vigil launcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "vigil launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}
