/*
 * alert_writer.h
 *		Writing a statement's alerts, skipped rows and shadow scores as
 *		detection finds them, in bounded memory.
 */
#ifndef VIGIL_ALERT_WRITER_H
#define VIGIL_ALERT_WRITER_H

#include "postgres.h"

#include "executor/tuptable.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "detect/event.h"

typedef struct AlertWriter AlertWriter;

extern AlertWriter *vigil_alert_writer_begin(const VigilWatch *w, Tuplestorestate *ts,
											 TupleDesc desc);
extern void vigil_alert_writer_batch(AlertWriter *aw, int64 first);
extern void vigil_alert_writer_skip(AlertWriter *aw, int64 arrival, TupleTableSlot *row,
									const char *why);
extern void vigil_alert_writer_alert(AlertWriter *aw, int64 arrival, const char *key,
									 double amount, double t, double score,
									 const ArrayType *fired, const Jsonb *explanation);
extern void vigil_alert_writer_shadow(AlertWriter *aw, int64 arrival, const char *key,
									  double amount, double t, int64 model, double score,
									  double probability);
extern void vigil_alert_writer_end(AlertWriter *aw);

#endif							/* VIGIL_ALERT_WRITER_H */
