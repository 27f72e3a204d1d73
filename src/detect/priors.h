/*
 * priors.h
 *		A watch's population priors (vigil.priors): what its cards pay per
 *		category and when they pay, as snapshots taken by
 *		vigil.refresh_priors.
 */
#ifndef VIGIL_PRIORS_H
#define VIGIL_PRIORS_H

#include "postgres.h"

#include "detect/core/profile.h"

/* What the rows of one category (or of all) paid: ln(amount). */
typedef struct VigilPrior
{
	uint64		hash;			/* vigil_hash64 of the category's text */
	double		n;
	double		log_mean;
	double		log_sd;
} VigilPrior;

/* One snapshot: built from the rows before as_of. */
typedef struct VigilPriorSet
{
	double		as_of;			/* epoch seconds */
	bool		has_all;
	VigilPrior	all;			/* every row */
	double		hours[24];		/* shares of rows per local hour, if has_hours */
	bool		has_hours;
	VigilPrior *categories;		/* sorted by hash */
	int			ncategories;
} VigilPriorSet;

/* A watch's snapshots, oldest first. */
typedef struct VigilPriors
{
	VigilPriorSet *sets;
	int			nsets;
} VigilPriors;

extern VigilPriors *vigil_priors_load(int32 watch_id, MemoryContext mcxt);
extern void vigil_priors_apply(const VigilPriors *priors, VigilEvent *e);

#endif							/* VIGIL_PRIORS_H */
