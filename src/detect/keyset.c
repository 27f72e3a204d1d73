/*
 * keyset.c
 *		The distinct keys of a batch of rows, numbered in order of appearance,
 *		with how many rows each has.
 *
 * A batch is up to a million rows over, typically, thousands of keys, and
 * every row's key is looked up as the row is read.  The lookups land at
 * random in the table, so what they cost is mostly cache misses, and the
 * table is kept small for that: 8 bytes a slot (the key's hash and number),
 * linear probing, at most half full; the keys' bytes are packed one after
 * the other into blocks, without the header and rounding up of an
 * allocation per key, and what a lookup reads of a key is in one record.
 * A simplehash of (pointer, length, hash, status, number) entries, with a
 * palloc'd copy of each key, took nearly twice the memory, which stayed
 * less in the CPU's cache beside the rows streaming past: reading a
 * million rows over 10,000 keys took a tenth longer with it.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "port/pg_bitutils.h"

#include "detect/keyset.h"

/* Bytes of key copies allocated at once. */
#define COPY_BLOCK (64 * 1024)

typedef struct KeySlot
{
	uint32		hash;
	int32		id;				/* the key's number; -1 when the slot is empty */
} KeySlot;

/* What a lookup needs of a key, in one place: it touches one cache line. */
typedef struct KeyInfo
{
	char	   *s;				/* NUL-terminated copy */
	int32		len;			/* in bytes */
	int32		rows;			/* times interned */
} KeyInfo;

struct KeySet
{
	MemoryContext mcxt;
	KeySlot    *slots;
	uint32		mask;			/* number of slots - 1, a power of 2 - 1 */
	int32		n;				/* keys */
	int32		max;			/* room in info */
	KeyInfo    *info;			/* by number */
	char	  **keys;			/* by number, once asked for */
	int32		nkeys;			/* entries of keys filled */
	char	   *free;			/* room for the next copies */
	Size		nfree;
};

/* Empty slots, nslots of them. */
static KeySlot *
empty_slots(MemoryContext mcxt, uint32 nslots)
{
	KeySlot    *slots = MemoryContextAllocHuge(mcxt, sizeof(KeySlot) * nslots);

	for (uint32 i = 0; i < nslots; i++)
		slots[i].id = -1;
	return slots;
}

/* An empty set, with room for about expected keys before it grows. */
KeySet *
vigil_keyset_create(MemoryContext mcxt, int32 expected)
{
	KeySet	   *ks = MemoryContextAllocZero(mcxt, sizeof(KeySet));
	uint32		nslots = pg_nextpower2_32(Max(expected, 8) * 2);

	ks->mcxt = mcxt;
	ks->slots = empty_slots(mcxt, nslots);
	ks->mask = nslots - 1;
	ks->max = Max(expected, 8);
	ks->info = MemoryContextAllocHuge(mcxt, sizeof(KeyInfo) * ks->max);
	return ks;
}

/*
 * The slot of the key s of len bytes with hash hash: the one holding it, or
 * the empty slot where it would go.
 */
static inline KeySlot *
probe(const KeySet *ks, const char *s, int len, uint32 hash)
{
	for (uint32 i = hash & ks->mask;; i = (i + 1) & ks->mask)
	{
		KeySlot    *slot = &ks->slots[i];

		if (slot->id < 0 ||
			(slot->hash == hash && ks->info[slot->id].len == len &&
			 memcmp(ks->info[slot->id].s, s, len) == 0))
			return slot;
	}
}

/* Double the slots, keeping the table at most half full. */
static void
grow_slots(KeySet *ks)
{
	uint32		nslots = (ks->mask + 1) * 2;
	KeySlot    *old = ks->slots;
	uint32		oldslots = ks->mask + 1;

	ks->slots = empty_slots(ks->mcxt, nslots);
	ks->mask = nslots - 1;
	for (uint32 i = 0; i < oldslots; i++)
	{
		uint32		j;

		if (old[i].id < 0)
			continue;
		for (j = old[i].hash & ks->mask; ks->slots[j].id >= 0; j = (j + 1) & ks->mask)
			;
		ks->slots[j] = old[i];
	}
	pfree(old);
}

/* A NUL-terminated copy of the len bytes at s, packed after the last one. */
static char *
copy_key(KeySet *ks, const char *s, int len)
{
	char	   *copy;

	if (ks->nfree < (Size) len + 1)
	{
		ks->nfree = Max(COPY_BLOCK, (Size) len + 1);
		ks->free = MemoryContextAlloc(ks->mcxt, ks->nfree);
	}
	copy = ks->free;
	memcpy(copy, s, len);
	copy[len] = '\0';
	ks->free += len + 1;
	ks->nfree -= len + 1;
	return copy;
}

/*
 * The number of the key s of len bytes, added (copied) if it is new; counts
 * one more row of the key.
 */
int32
vigil_keyset_intern(KeySet *ks, const char *s, int len)
{
	uint32		hash = hash_bytes((const unsigned char *) s, len);
	KeySlot    *slot = probe(ks, s, len, hash);

	if (slot->id >= 0)
	{
		ks->info[slot->id].rows++;
		return slot->id;
	}
	if (ks->n == ks->max)
	{
		ks->max *= 2;
		ks->info = repalloc_huge(ks->info, sizeof(KeyInfo) * ks->max);
	}
	ks->info[ks->n].s = copy_key(ks, s, len);
	ks->info[ks->n].len = len;
	ks->info[ks->n].rows = 1;
	slot->hash = hash;
	slot->id = ks->n++;
	if ((uint32) ks->n > (ks->mask + 1) / 2)
		grow_slots(ks);
	return ks->n - 1;
}

/* The number of the key s of len bytes; -1 if it is not in the set. */
int32
vigil_keyset_find(const KeySet *ks, const char *s, int len)
{
	return probe(ks, s, len, hash_bytes((const unsigned char *) s, len))->id;
}

/* How many keys the set holds, numbered 0 to that - 1. */
int32
vigil_keyset_count(const KeySet *ks)
{
	return ks->n;
}

/* The keys by number, as NUL-terminated strings, valid until one is added. */
char	  **
vigil_keyset_keys(KeySet *ks)
{
	if (ks->keys == NULL || ks->nkeys < ks->n)
	{
		if (ks->keys != NULL)
			pfree(ks->keys);
		ks->keys = MemoryContextAllocHuge(ks->mcxt, sizeof(char *) * Max(ks->n, 1));
		for (int32 id = 0; id < ks->n; id++)
			ks->keys[id] = ks->info[id].s;
		ks->nkeys = ks->n;
	}
	return ks->keys;
}

/* How many times the key numbered id was interned: its rows. */
int64
vigil_keyset_rows(const KeySet *ks, int32 id)
{
	Assert(id >= 0 && id < ks->n);
	return ks->info[id].rows;
}
