/*
 * snapshot.h
 *		Finding, among a watch's snapshots taken by time (population priors,
 *		merchant risk), the one an event at time t is judged by.
 */
#ifndef VIGIL_SNAPSHOT_H
#define VIGIL_SNAPSHOT_H

#include <stddef.h>

/*
 * The index of the newest of n snapshots taken at or before t, or -1 when
 * none was: the snapshots are in ascending order of their time, the first's
 * at *as_of and each next one's stride bytes further.
 */
static inline int
vigil_snapshot_at(const double *as_of, size_t stride, int n, double t)
{
	int			lo = 0;
	int			hi = n;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (*(const double *) ((const char *) as_of + (size_t) mid * stride) <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

#endif							/* VIGIL_SNAPSHOT_H */
