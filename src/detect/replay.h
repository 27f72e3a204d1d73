/*
 * replay.h
 *		Passes over a watched table's history: the machinery shared by
 *		vigil.replay, vigil.rebuild (replay.c) and vigil.verify (verify.c).
 */
#ifndef VIGIL_REPLAY_H
#define VIGIL_REPLAY_H

#include "postgres.h"

#include "fmgr.h"
#include "nodes/execnodes.h"
#include "storage/lockdefs.h"
#include "utils/rel.h"

#include "detect/event.h"
#include "detect/score.h"

typedef struct VigilPass VigilPass;

/*
 * Called once per key with its profile after all of the key's rows in the
 * window are folded; keys come in byte order (strcmp) of their text.
 */
typedef void (*VigilKeyDone) (VigilPass *p, const char *key, const VigilProfile *prof);

/*
 * Called for each row whose event time is in [since, until), with its event
 * and its key's profile as it was before the row (vigil_score's arguments).
 */
typedef void (*VigilRowDone) (VigilPass *p, TupleTableSlot *slot, const char *key,
							  const VigilEvent *e, const VigilProfile *before);

/* One pass over a watched table's history. */
struct VigilPass
{
	VigilWatch	w;
	VigilScorer scorer;
	Relation	rel;
	double		from;			/* rows folded: event times in [from, until) */
	double		since;			/* rows handed to row_done: in [since, until) */
	double		until;
	int64		model_id;		/* scored with, if vigil_pass_model_arg named one */
	ReturnSetInfo *rsinfo;		/* the result set, for functions returning one */
	VigilRowDone row_done;		/* or NULL */
	VigilKeyDone key_done;		/* or NULL */
	void	   *state;			/* the callbacks' own */
};

extern Relation vigil_open_table_arg(Oid relid, LOCKMODE lockmode, const char *fname);
extern double vigil_time_arg(FunctionCallInfo fcinfo, int n, double def);
extern void vigil_pass_load_watch(VigilPass *p);
extern void vigil_pass_model_arg(VigilPass *p, FunctionCallInfo fcinfo, int n);
extern void vigil_pass_run(VigilPass *p);
extern void vigil_pass_begin(VigilPass *p, FunctionCallInfo fcinfo, const char *fname);
extern void vigil_pass_end(VigilPass *p);

#endif							/* VIGIL_REPLAY_H */
