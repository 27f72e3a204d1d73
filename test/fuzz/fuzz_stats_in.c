/*
 * fuzz_stats_in.c
 *		libFuzzer target: vigil.stats's text input (vigil_stats_in, through
 *		vigil_stats_from_text in stats/core/stats_io.c).
 *
 * The input, up to its first NUL, is the cstring PostgreSQL would pass.  A
 * summary read must be valid, and printed back with every double exact
 * (as stats_out prints them) it must read back bit for bit; errors must
 * point inside the string and say why.
 */
#include "fuzz.h"
#include "stats/core/stats_io.h"
#include "stats/core/welford.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer's entry point: one input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *str = fuzz_cstring(data, size);
	size_t		len = strlen(str);
	VigilStatsValue s,
				again;
	VigilStatsInError err;
	VigilStatsInStatus st;
	const char *why;
	char		text[256];

	memset(&s, 0, sizeof(s));
	st = vigil_stats_from_text(str, &s, &err);
	switch (st)
	{
		case VIGIL_STATS_IN_OK:
			FUZZ_CHECK(vigil_summary_valid(s.n, s.mean, s.m2, s.min, s.max, &why));
			snprintf(text, sizeof(text), " ( n : %lld , mean:%.17g,m2:%.17g ,min:%a,max: %.17g ) ",
					 (long long) s.n, s.mean, s.m2, s.min, s.max);
			FUZZ_CHECK(vigil_stats_from_text(text, &again, &err) == VIGIL_STATS_IN_OK);
			FUZZ_CHECK(memcmp(&s, &again, sizeof(s)) == 0);
			break;
		case VIGIL_STATS_IN_SYNTAX:
			FUZZ_CHECK(err.detail[0] != '\0' && strlen(err.detail) < sizeof(err.detail) - 1);
			break;
		case VIGIL_STATS_IN_NUMBER_RANGE:
			FUZZ_CHECK(err.length > 0 && err.offset + err.length <= len);
			break;
		case VIGIL_STATS_IN_INVALID:
			FUZZ_CHECK(err.why != NULL && err.why[0] != '\0');
			break;
		case VIGIL_STATS_IN_N_RANGE:
		case VIGIL_STATS_IN_NUMBER:
			break;
		default:
			FUZZ_CHECK(!"a known status for text");
	}
	free(str);
	return 0;
}
