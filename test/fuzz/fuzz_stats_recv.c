/*
 * fuzz_stats_recv.c
 *		libFuzzer target: vigil.stats's binary input (vigil_stats_recv,
 *		through vigil_stats_from_binary in stats/core/stats_io.c).
 *
 * The whole input is the message.  A summary read must be valid and,
 * written back as stats_send writes it, give the input back.
 */
#include "fuzz.h"
#include "stats/core/stats_io.h"
#include "stats/core/welford.h"

/* Write v big-endian at p, as pq_sendint64 does. */
static void
put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char) v;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer's entry point: one input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	VigilStatsValue s;
	VigilStatsInError err;
	VigilStatsInStatus st;
	unsigned char out[VIGIL_STATS_BINARY_SIZE];
	const double *fields[4] = {&s.mean, &s.m2, &s.min, &s.max};
	const char *why;
	uint64_t	w;

	st = vigil_stats_from_binary(data, size, &s, &err);
	if (st == VIGIL_STATS_IN_OK)
	{
		FUZZ_CHECK(size == VIGIL_STATS_BINARY_SIZE);
		FUZZ_CHECK(vigil_summary_valid(s.n, s.mean, s.m2, s.min, s.max, &why));
		memcpy(&w, &s.n, sizeof(w));
		put_be64(out, w);
		for (int i = 0; i < 4; i++)
		{
			memcpy(&w, fields[i], sizeof(w));
			put_be64(out + 8 * (i + 1), w);
		}
		FUZZ_CHECK(memcmp(out, data, sizeof(out)) == 0);
	}
	else if (st == VIGIL_STATS_IN_BAD_LENGTH)
		FUZZ_CHECK(size != VIGIL_STATS_BINARY_SIZE && err.length == size);
	else
		FUZZ_CHECK(st == VIGIL_STATS_IN_INVALID && err.why != NULL);
	return 0;
}
