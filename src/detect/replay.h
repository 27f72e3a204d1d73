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

/* One pass over a watched table's history. */
struct VigilPass
{
	VigilWatch	w;
	VigilScorer scorer;
	Relation	rel;
	double		since;			/* event times in [since, until) */
	double		until;
	ReturnSetInfo *rsinfo;		/* the result set, for functions returning one */
	VigilKeyDone key_done;		/* NULL: score each row into rsinfo (replay) */
	void	   *state;			/* key_done's own */
};

extern Relation vigil_open_table_arg(Oid relid, LOCKMODE lockmode, const char *fname);
extern double vigil_time_arg(FunctionCallInfo fcinfo, int n, double def);
extern void vigil_pass_load_watch(VigilPass *p);
extern void vigil_pass_run(VigilPass *p);

#endif							/* VIGIL_REPLAY_H */
