/*
 * labels.h
 *		A watch's labels besides a label column given to a function: the
 *		table's own label column (vigil.set_label) and analysts' verdicts
 *		(vigil.verdicts), as training reads them.
 */
#ifndef VIGIL_LABELS_H
#define VIGIL_LABELS_H

#include "postgres.h"

#include "utils/hsearch.h"

/* A watch's verdicts by row: row_ref's jsonb text to fraud or not. */
typedef struct VigilVerdicts
{
	HTAB	   *rows;			/* of VigilVerdict; NULL when there are none */
	int64		count;
} VigilVerdicts;

/* One verdict. */
typedef struct VigilVerdict
{
	char	   *row_ref;		/* the key: the row_ref's text */
	bool		fraud;
} VigilVerdict;

extern void vigil_verdicts_load(VigilVerdicts *v, int32 watch_id, MemoryContext mcxt);
extern const VigilVerdict *vigil_verdicts_find(const VigilVerdicts *v, const char *row_ref);

#endif							/* VIGIL_LABELS_H */
