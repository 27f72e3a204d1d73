/*
 * detect.h
 *		Scoring the rows a statement or a replicated transaction inserted.
 */
#ifndef VIGIL_DETECT_H
#define VIGIL_DETECT_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

extern void vigil_detect_rows(FunctionCallInfo fcinfo, int32 watch_id, Relation rel,
							  Tuplestorestate *ts, bool replicated, bool quiet);

#endif							/* VIGIL_DETECT_H */
