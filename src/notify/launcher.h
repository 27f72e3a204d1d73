/*
 * launcher.h
 *		The background worker that starts the notifier whenever vigil.database
 *		exists, and gets it out of the way of statements that need that
 *		database to themselves.
 */
#ifndef VIGIL_LAUNCHER_H
#define VIGIL_LAUNCHER_H

#include "postgres.h"

#include "nodes/nodes.h"

extern void vigil_launcher_register(void);
extern void vigil_launcher_utility(Node *stmt);

#endif							/* VIGIL_LAUNCHER_H */
