/*
 * seenset.h
 *		A small fixed-size set of recently seen keys (merchants, categories).
 *
 * Keys are hashed by the caller, normally with vigil_hash64 over the key's
 * text, and the set stores only a 16-bit fingerprint of each hash: the top
 * 16 bits, which vigil_hash64's final mixing makes uniform.  At most
 * VIGIL_SEENSET_CAP fingerprints are kept, oldest first.  Inserting a key
 * that is already present makes it the newest again, and inserting a new
 * key into a full set forgets the oldest, so the set holds the most
 * recently used keys in fixed memory (66 bytes, no padding, plain old data).
 *
 * False positives: a key never inserted is reported as seen when its
 * fingerprint equals a stored one.  The stored fingerprints are distinct
 * (an insert that matches is not stored twice), so for k stored keys and a
 * uniform hash the false-positive rate is
 *
 *		FPR = k / 65536,  about 1 - (1 - 2^-16)^k,
 *
 * at most 32 / 65536 = 4.9e-4 when full.  The same event, a new key
 * matching a stored fingerprint, makes vigil_seenset_insert report an
 * unseen key as already seen.  There are no false negatives for keys among
 * the VIGIL_SEENSET_CAP most recently inserted.
 */
#ifndef VIGIL_SEENSET_H
#define VIGIL_SEENSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIGIL_SEENSET_CAP 32

typedef struct VigilSeenSet
{
	uint16_t	fp[VIGIL_SEENSET_CAP];	/* fingerprints, oldest first */
	uint16_t	count;			/* fingerprints in fp[0 .. count-1] */
} VigilSeenSet;

/*
 * 64-bit hash of len bytes: FNV-1a 64 followed by the MurmurHash3 fmix64
 * finalizer, which spreads every input bit over all output bits.  Not
 * cryptographic; stable across platforms and releases, since hashes are
 * stored.
 */
extern uint64_t vigil_hash64(const void *data, size_t len);

/* The MurmurHash3 fmix64 finalizer: every input bit reaches every output bit. */
static inline uint64_t
vigil_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

extern void vigil_seenset_init(VigilSeenSet *s);
extern bool vigil_seenset_contains(const VigilSeenSet *s, uint64_t hash);
extern bool vigil_seenset_insert(VigilSeenSet *s, uint64_t hash);
extern int	vigil_seenset_count(const VigilSeenSet *s);

#endif							/* VIGIL_SEENSET_H */
