/*
 * alert_store.h
 *		Inserting alerts into vigil.alerts without an SQL statement.
 */
#ifndef VIGIL_ALERT_STORE_H
#define VIGIL_ALERT_STORE_H

#include "postgres.h"

/* The columns of vigil.alerts that detection fills, in this order. */
typedef enum VigilAlertColumn
{
	VIGIL_ALERT_WATCH_ID,
	VIGIL_ALERT_RELATION,
	VIGIL_ALERT_ROW_REF,
	VIGIL_ALERT_KEY,
	VIGIL_ALERT_AMOUNT,
	VIGIL_ALERT_EVENT_TIME,
	VIGIL_ALERT_SCORE,
	VIGIL_ALERT_FIRED,
	VIGIL_ALERT_EXPLANATION,
	VIGIL_ALERT_STATUS,
	VIGIL_ALERT_NCOLUMNS
} VigilAlertColumn;

typedef struct AlertStore AlertStore;

extern AlertStore *vigil_alert_store_begin(void);
extern void vigil_alert_store_add(AlertStore *st, const Datum *values);
extern void vigil_alert_store_end(AlertStore *st);

#endif							/* VIGIL_ALERT_STORE_H */
