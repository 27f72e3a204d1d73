/*
 * notifier.h
 *		The background worker that delivers alerts to Amazon SNS, and what it
 *		shares with sessions and with the launcher that starts it
 *		(launcher.h).
 */
#ifndef VIGIL_NOTIFIER_H
#define VIGIL_NOTIFIER_H

#include "postgres.h"

#include "storage/latch.h"
#include "storage/spin.h"

/* What sessions and the two workers share, in shared memory. */
typedef struct NotifierShared
{
	slock_t		mutex;
	pid_t		pid;			/* the notifier's; 0 when not running */
	Latch	   *latch;			/* the notifier's latch, to wake it */
	Latch	   *launcher_latch; /* the launcher's, NULL when not running */

	/*
	 * Statements in progress that need vigil.database to themselves (DROP,
	 * RENAME, a copy of it as a template): while there are any, the notifier
	 * leaves the database and the launcher does not start another.
	 */
	int			holds;
	bool		left;			/* the notifier left because of a hold */
} NotifierShared;

extern NotifierShared *vigil_notifier_shared;

extern void vigil_notifier_shmem_register(void);
extern void vigil_notifier_wake_at_commit(void);

#endif							/* VIGIL_NOTIFIER_H */
