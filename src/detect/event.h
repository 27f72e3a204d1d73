/*
 * event.h
 *		Reading a watched table's rows as detection events.
 */
#ifndef VIGIL_EVENT_H
#define VIGIL_EVENT_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "executor/tuptable.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "fmgr.h"

#include "detect/core/profile.h"
#include "detect/merchant_risk.h"
#include "detect/priors.h"

/* A watched column: where it is and how to read it. */
typedef struct VigilColumn
{
	AttrNumber	attnum;			/* 0 when the watch does not use it */
	Oid			typid;
	FmgrInfo	out;			/* output function, for text-valued columns */
} VigilColumn;

/*
 * A watch's time zone, and the UTC offset of the stretch of time looked up
 * last: rows come in runs of nearby times, and most share it.
 */
typedef struct VigilZone
{
	struct pg_tz *tz;			/* NULL: UTC */
	double		from;			/* offset holds in [from, until) */
	double		until;
	int32		offset;			/* seconds east of UTC */
} VigilZone;

/* A watch as detection needs it for one statement. */
typedef struct VigilWatch
{
	int32		id;
	Oid			relid;
	double		alert_threshold;
	bool		skip_on_error;	/* on_error = 'skip': a failure does not fail the insert */
	bool		has_topic;		/* names its own SNS topic */
	VigilColumn key;
	VigilColumn amount;
	VigilColumn time;
	VigilColumn lat;
	VigilColumn lon;
	VigilColumn merchant;
	VigilColumn category;
	VigilColumn card_present;	/* boolean: the location is where the card was */
	VigilZone  *zone;			/* hours of the day are local to it */
	VigilPriors *priors;		/* the population's, by time */
	VigilMerchantRisks *merchant_risk;	/* the merchants' labelled fraud, by time */
	AttrNumber	last_attnum;	/* the greatest of the columns' attnums */
	int			npk;			/* primary key columns, for row_ref */
	AttrNumber *pk_attnums;
	FmgrInfo   *pk_out;
	char	  **pk_names;
	Oid		   *pk_typids;
} VigilWatch;

extern bool vigil_watch_load(VigilWatch *w, int32 watch_id, Relation rel,
							 MemoryContext mcxt);
extern const char *vigil_event_read(const VigilWatch *w, TupleTableSlot *slot,
									VigilEvent *e, const char **key, int *keylen);
extern const char *vigil_event_from_slot(const VigilWatch *w, TupleTableSlot *slot,
										 VigilEvent *e, char **key);
extern Jsonb *vigil_row_ref(const VigilWatch *w, TupleTableSlot *slot);
extern unsigned vigil_watch_inputs(const VigilWatch *w);
extern void vigil_event_localize(const VigilWatch *w, VigilEvent *e);

#endif							/* VIGIL_EVENT_H */
