/*
 * seenset.c
 *		A small fixed-size set of recently seen keys (merchants, categories).
 *
 * See seenset.h for the fingerprinting, the replacement order and the
 * false-positive rate.  With 32 two-byte entries a linear scan is as fast
 * as anything cleverer, and keeping the array in recency order makes the
 * oldest entry simply fp[0].
 */
#include "detect/core/seenset.h"

#include <string.h>

#define FNV64_OFFSET_BASIS 0xcbf29ce484222325ULL
#define FNV64_PRIME 0x100000001b3ULL

/* FNV-1a 64 and the MurmurHash3 fmix64 finalizer. */
uint64_t
vigil_hash64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t	h = FNV64_OFFSET_BASIS;
	size_t		i;

	for (i = 0; i < len; i++)
	{
		h ^= p[i];
		h *= FNV64_PRIME;
	}

	/* FNV leaves the last bytes only in the low bits; fmix64 spreads them */
	return vigil_mix64(h);
}

/* The stored fingerprint of a hash: its top 16 bits. */
static inline uint16_t
fingerprint(uint64_t hash)
{
	return (uint16_t) (hash >> 48);
}

/*
 * Position of fp in s, or -1.  Newest first: a card's next merchant is most
 * often one it used lately.
 */
static int
find(const VigilSeenSet *s, uint16_t fp)
{
	int			i;

	for (i = s->count - 1; i >= 0; i--)
		if (s->fp[i] == fp)
			return i;
	return -1;
}

/* Make s an empty set. */
void
vigil_seenset_init(VigilSeenSet *s)
{
	memset(s, 0, sizeof(*s));
}

/* Whether the key with this hash has been seen (up to false positives). */
bool
vigil_seenset_contains(const VigilSeenSet *s, uint64_t hash)
{
	return find(s, fingerprint(hash)) >= 0;
}

/*
 * Record the key with this hash as the most recently seen one, forgetting
 * the oldest key if the set is full.  True when the key was not seen before.
 */
bool
vigil_seenset_insert(VigilSeenSet *s, uint64_t hash)
{
	uint16_t	fp = fingerprint(hash);
	int			i = find(s, fp);

	if (i >= 0)
	{
		/* move it to the newest position, unless it is there already */
		if (i < s->count - 1)
		{
			memmove(&s->fp[i], &s->fp[i + 1],
					(s->count - 1 - i) * sizeof(s->fp[0]));
			s->fp[s->count - 1] = fp;
		}
		return false;
	}

	if (s->count == VIGIL_SEENSET_CAP)
	{
		memmove(&s->fp[0], &s->fp[1],
				(VIGIL_SEENSET_CAP - 1) * sizeof(s->fp[0]));
		s->count--;
	}
	s->fp[s->count++] = fp;
	return true;
}

/* Number of keys held, at most VIGIL_SEENSET_CAP. */
int
vigil_seenset_count(const VigilSeenSet *s)
{
	return s->count;
}
