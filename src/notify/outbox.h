/*
 * outbox.h
 *		The notifier's side of vigil.alerts: claim, record, recover.
 */
#ifndef VIGIL_OUTBOX_H
#define VIGIL_OUTBOX_H

#include "postgres.h"

#include "notify/delivery.h"

extern bool vigil_outbox_begin(const char *activity);
extern void vigil_outbox_end(MemoryContext mcxt);
extern uint64 vigil_outbox_recover(void);
extern int	vigil_outbox_claim(int limit, bool any_topic, MemoryContext mcxt,
							   VigilDelivery **out);
extern void vigil_outbox_record(const VigilDelivery *d, int n, int max_attempts);
extern int64 vigil_outbox_next_due_ms(bool any_topic);

#endif							/* VIGIL_OUTBOX_H */
