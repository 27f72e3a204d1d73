/*
 * profile_hint.c
 *		Where each key's row of vigil.profiles was last seen.
 *
 * A card's next transaction updates its profile row, and finding that row
 * through the primary key (a B-tree descent with its comparisons) costs as
 * much as scoring the row.  HOT updates keep a row's chain root in place
 * for as long as it stays on its page, so the root's position is a good
 * guess for the key's next statement, whichever session runs it.  This file
 * keeps those positions in a direct-mapped table in shared memory, sized by
 * vigil.profile_location_cache.
 *
 * A position is only ever a hint: whoever follows one checks that the row
 * it finds is visible and belongs to the key, and otherwise uses the index.
 * So the table needs no lock, and a stale, overwritten or colliding entry
 * costs one page visit.  Each entry is one 64-bit word (a 16-bit tag from
 * the key's hash, the block and the offset), written and read atomically,
 * so a reader never sees half of another session's entry.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "detect/core/seenset.h"
#include "detect/profile_hint.h"
#include "guc.h"

static pg_atomic_uint64 *hints = NULL;
static uint64 hint_mask = 0;	/* entries - 1; entries is a power of two */
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Entries that fit in vigil.profile_location_cache: a power of two, or 0. */
static uint64
hint_entries(void)
{
	uint64		n = (uint64) vigil_profile_location_cache * 1024 / sizeof(pg_atomic_uint64);
	uint64		p = 1;

	if (n == 0)
		return 0;
	while (p * 2 <= n)
		p *= 2;
	return p;
}

/* Ask for the table's memory. */
static void
hint_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(hint_entries() * sizeof(pg_atomic_uint64));
}

/* Find or create the table. */
static void
hint_shmem_startup(void)
{
	uint64		n = hint_entries();
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	if (n == 0)
		return;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	hints = ShmemInitStruct("vigil profile locations", n * sizeof(pg_atomic_uint64), &found);
	if (!found)
	{
		for (uint64 i = 0; i < n; i++)
			pg_atomic_init_u64(&hints[i], 0);
	}
	hint_mask = n - 1;
	LWLockRelease(AddinShmemInitLock);
}

/* Ask for the table's shared memory; from _PG_init when preloaded. */
void
vigil_profile_hint_shmem_register(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = hint_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = hint_shmem_startup;
}

/* The hash of watch_id's key in the profiles table relid of this database. */
uint64
vigil_profile_hint_hash(Oid relid, int32 watch_id, const char *key, int len)
{
	uint64		h = vigil_hash64(key, len);

	h ^= (((uint64) MyDatabaseId << 32) | relid) * UINT64CONST(0x9e3779b97f4a7c15);
	h ^= (uint64) (uint32) watch_id * UINT64CONST(0xc2b2ae3d27d4eb4f);
	/* mixed again, so that every input bit reaches both index and tag */
	return vigil_mix64(h);
}

/* The position last remembered for hash, if any. */
bool
vigil_profile_hint_get(uint64 hash, ItemPointer tid)
{
	uint64		e;

	if (hints == NULL)
		return false;
	e = pg_atomic_read_u64(&hints[hash & hint_mask]);
	if ((e >> 48) != (hash >> 48) || (e & 0xffff) == InvalidOffsetNumber)
		return false;
	ItemPointerSet(tid, (BlockNumber) (e >> 16), (OffsetNumber) (e & 0xffff));
	return true;
}

/* Remember tid as the position of hash's row. */
void
vigil_profile_hint_set(uint64 hash, ItemPointer tid)
{
	uint64		e;

	if (hints == NULL)
		return;
	e = (hash & UINT64CONST(0xffff000000000000)) |
		((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) |
		ItemPointerGetOffsetNumberNoCheck(tid);
	if (pg_atomic_read_u64(&hints[hash & hint_mask]) != e)
		pg_atomic_write_u64(&hints[hash & hint_mask], e);
}
