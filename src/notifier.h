/*
 * notifier.h
 *		The background worker that delivers alerts to Amazon SNS.
 */
#ifndef VIGIL_NOTIFIER_H
#define VIGIL_NOTIFIER_H

#include "postgres.h"

extern void vigil_notifier_register(void);
extern void vigil_notifier_wake_at_commit(void);

#endif							/* VIGIL_NOTIFIER_H */
