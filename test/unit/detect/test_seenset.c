/*
 * test_seenset.c
 *		Unit tests for the seen-before set and its hash function.
 */
#include <stdio.h>
#include <string.h>

#include "detect/core/seenset.h"
#include "unit.h"

/* Number of probe keys for the empirical false-positive rate. */
#define N_PROBES 1000000

/* vigil_hash64 of a formatted key such as "merchant-7". */
static uint64_t
key_hash(const char *prefix, int i)
{
	char		buf[64];
	int			len = snprintf(buf, sizeof(buf), "%s-%d", prefix, i);

	return vigil_hash64(buf, (size_t) len);
}

/* Reference MurmurHash3 fmix64, to check the composition in vigil_hash64. */
static uint64_t
fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* Number of bits set in x. */
static int
popcount64(uint64_t x)
{
	int			n = 0;

	while (x)
	{
		x &= x - 1;
		n++;
	}
	return n;
}

/*
 * Published FNV-1a 64 vectors under fmix64, and pinned outputs: stored
 * fingerprints depend on these values never changing.
 */
static void
hash_vectors(void)
{
	CHECK(vigil_hash64("", 0) == fmix64(0xcbf29ce484222325ULL));
	CHECK(vigil_hash64("a", 1) == fmix64(0xaf63dc4c8601ec8cULL));
	CHECK(vigil_hash64("foobar", 6) == fmix64(0x85944171f73967e8ULL));
	CHECK(vigil_hash64("", 0) == 0xefd01f60ba992926ULL);
	CHECK(vigil_hash64("a", 1) == 0x82a2a958a9bece5bULL);
	CHECK(vigil_hash64("foobar", 6) == 0x2c22194922d1672bULL);
	CHECK(vigil_hash64("merchant:ACME Corp", 18) == 0xb3089950fc813980ULL);
	/* length matters, including trailing zero bytes */
	CHECK(vigil_hash64("ab", 2) != vigil_hash64("ab", 3));
	CHECK(vigil_hash64("", 0) != vigil_hash64("\0", 1));
}

/* Flipping any one input bit flips about half of the output bits. */
static void
hash_avalanche(void)
{
	uint64_t	x = 1;
	long		flips = 0,
				trials = 0;
	long		top_flips[16] = {0};
	int			i,
				b,
				k;

	for (i = 0; i < 2000; i++)
	{
		unsigned char in[8];
		uint64_t	h;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		memcpy(in, &x, sizeof(in));
		h = vigil_hash64(in, sizeof(in));
		for (b = 0; b < 64; b++)
		{
			uint64_t	d;

			in[b / 8] ^= (unsigned char) (1 << (b % 8));
			d = h ^ vigil_hash64(in, sizeof(in));
			in[b / 8] ^= (unsigned char) (1 << (b % 8));
			flips += popcount64(d);
			for (k = 0; k < 16; k++)
				top_flips[k] += (d >> (48 + k)) & 1;
			trials++;
		}
	}
	CHECK(fabs((double) flips / trials - 32.0) < 0.5);
	/* the fingerprint bits in particular */
	for (k = 0; k < 16; k++)
		CHECK(fabs((double) top_flips[k] / trials - 0.5) < 0.02);
}

/* An empty set holds nothing. */
static void
empty_set(void)
{
	VigilSeenSet s;

	vigil_seenset_init(&s);
	CHECK(vigil_seenset_count(&s) == 0);
	CHECK(!vigil_seenset_contains(&s, 0));
	CHECK(!vigil_seenset_contains(&s, key_hash("merchant", 1)));
}

/* Insert reports new keys once; contains finds them afterwards. */
static void
insert_and_contains(void)
{
	VigilSeenSet s;
	uint64_t	a = key_hash("merchant", 1),
				b = key_hash("merchant", 2);

	vigil_seenset_init(&s);
	CHECK(!vigil_seenset_contains(&s, a));
	CHECK(vigil_seenset_insert(&s, a));
	CHECK(vigil_seenset_contains(&s, a));
	CHECK(!vigil_seenset_contains(&s, b));
	CHECK(!vigil_seenset_insert(&s, a));
	CHECK(vigil_seenset_count(&s) == 1);
	CHECK(vigil_seenset_insert(&s, b));
	CHECK(vigil_seenset_count(&s) == 2);
	/* a hash of 0 is an ordinary key */
	CHECK(!vigil_seenset_contains(&s, 0));
	CHECK(vigil_seenset_insert(&s, 0));
	CHECK(vigil_seenset_contains(&s, 0));
	CHECK(vigil_seenset_count(&s) == 3);
}

/*
 * A full set forgets the least recently inserted key; re-inserting a key
 * makes it the newest again.
 */
static void
replacement(void)
{
	VigilSeenSet s;
	uint64_t	h[VIGIL_SEENSET_CAP + 8];
	int			n = VIGIL_SEENSET_CAP + 8;
	int			i,
				j;

	/* the keys must have distinct fingerprints for exact answers */
	for (i = 0; i < n; i++)
	{
		h[i] = key_hash("shop", i);
		for (j = 0; j < i; j++)
			CHECK((h[i] >> 48) != (h[j] >> 48));
	}

	vigil_seenset_init(&s);
	for (i = 0; i < VIGIL_SEENSET_CAP; i++)
		CHECK(vigil_seenset_insert(&s, h[i]));
	CHECK(vigil_seenset_count(&s) == VIGIL_SEENSET_CAP);
	for (i = 0; i < VIGIL_SEENSET_CAP; i++)
		CHECK(vigil_seenset_contains(&s, h[i]));

	/* one more: key 0, the oldest, is forgotten */
	CHECK(vigil_seenset_insert(&s, h[VIGIL_SEENSET_CAP]));
	CHECK(vigil_seenset_count(&s) == VIGIL_SEENSET_CAP);
	CHECK(!vigil_seenset_contains(&s, h[0]));
	for (i = 1; i <= VIGIL_SEENSET_CAP; i++)
		CHECK(vigil_seenset_contains(&s, h[i]));

	/* refresh key 1, then two new keys evict keys 2 and 3 instead */
	CHECK(!vigil_seenset_insert(&s, h[1]));
	CHECK(vigil_seenset_insert(&s, h[VIGIL_SEENSET_CAP + 1]));
	CHECK(vigil_seenset_insert(&s, h[VIGIL_SEENSET_CAP + 2]));
	CHECK(vigil_seenset_contains(&s, h[1]));
	CHECK(!vigil_seenset_contains(&s, h[2]));
	CHECK(!vigil_seenset_contains(&s, h[3]));
	CHECK(vigil_seenset_contains(&s, h[4]));
	CHECK(s.fp[VIGIL_SEENSET_CAP - 3] == (uint16_t) (h[1] >> 48));

	/* a forgotten key counts as new again */
	CHECK(vigil_seenset_insert(&s, h[0]));
	CHECK(vigil_seenset_count(&s) == VIGIL_SEENSET_CAP);
}

/*
 * Empirical false-positive rate of a full set against the documented
 * 32 / 65536 = 4.88e-4: 1e6 probes expect 488 hits, standard deviation 22.
 */
static void
false_positive_rate(void)
{
	VigilSeenSet s;
	long		hits = 0;
	double		rate,
				want = (double) VIGIL_SEENSET_CAP / 65536.0;
	int			i;

	vigil_seenset_init(&s);
	for (i = 0; i < VIGIL_SEENSET_CAP; i++)
		CHECK(vigil_seenset_insert(&s, key_hash("merchant", i)));
	CHECK(vigil_seenset_count(&s) == VIGIL_SEENSET_CAP);

	for (i = 0; i < N_PROBES; i++)
		if (vigil_seenset_contains(&s, key_hash("probe", i)))
			hits++;
	rate = (double) hits / N_PROBES;
	printf("# false-positive rate: measured %.3e (%ld / %d), "
		   "documented %.3e\n", rate, hits, N_PROBES, want);
	/* within 4 standard deviations */
	CHECK(fabs(rate - want) < 4.0 * sqrt(want / N_PROBES));
}

int
main(void)
{
	RUN(hash_vectors);
	RUN(hash_avalanche);
	RUN(empty_set);
	RUN(insert_and_contains);
	RUN(replacement);
	RUN(false_positive_rate);
	return UNIT_DONE();
}
