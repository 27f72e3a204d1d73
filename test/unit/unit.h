/*
 * unit.h
 *		A tiny TAP-emitting test harness for the pure C core.
 *
 * Each test binary prints one "ok N - name" or "not ok N - name" line per
 * test case and a "1..N" plan at the end, so test/run can count cases and
 * prove(1) could read the output too.  The exit status is non-zero when any
 * case failed.
 */
#ifndef VIGIL_UNIT_H
#define VIGIL_UNIT_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

static int	unit_cases;
static int	unit_failed_cases;
static int	unit_case_failed;

/* Deterministic 64-bit random numbers (splitmix64): repeatable test data. */
static inline uint64_t
unit_bits64(uint64_t *state)
{
	uint64_t	z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A deterministic random double, uniform in [0, 1). */
static inline double
unit_uniform(uint64_t *state)
{
	return (double) (unit_bits64(state) >> 11) / 9007199254740992.0;
}

/* Report a failed check inside the current case, without stopping it. */
#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			printf("#   %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			unit_case_failed = 1; \
		} \
	} while (0)

/* Check that two doubles agree to a relative tolerance (or both are 0). */
#define CHECK_CLOSE(got, want, reltol) \
	do { \
		double	g_ = (got), w_ = (want); \
		double	s_ = fabs(w_) > 1.0 ? fabs(w_) : 1.0; \
		if (!(fabs(g_ - w_) <= (reltol) * s_)) \
		{ \
			printf("#   %s:%d: %s = %.17g, want %.17g (rel tol %g)\n", \
				   __FILE__, __LINE__, #got, g_, w_, (double) (reltol)); \
			unit_case_failed = 1; \
		} \
	} while (0)

/* Run one test case function and print its TAP line. */
#define RUN(fn) \
	do { \
		unit_case_failed = 0; \
		fn(); \
		unit_cases++; \
		if (unit_case_failed) \
			unit_failed_cases++; \
		printf("%sok %d - %s\n", unit_case_failed ? "not " : "", unit_cases, #fn); \
	} while (0)

/* Print the plan and turn the result into an exit status. */
#define UNIT_DONE() \
	(printf("1..%d\n", unit_cases), unit_failed_cases == 0 ? 0 : 1)

#endif							/* VIGIL_UNIT_H */
