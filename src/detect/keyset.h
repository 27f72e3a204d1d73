/*
 * keyset.h
 *		The distinct keys of a batch of rows, numbered in order of appearance,
 *		with how many rows each has.
 *
 * Detection looks up every row's key once, so this is on the path of every
 * row: see keyset.c for why it is not a simplehash.
 */
#ifndef VIGIL_KEYSET_H
#define VIGIL_KEYSET_H

typedef struct KeySet KeySet;

extern KeySet *vigil_keyset_create(MemoryContext mcxt, int32 expected);
extern int32 vigil_keyset_intern(KeySet *ks, const char *s, int len);
extern int32 vigil_keyset_find(const KeySet *ks, const char *s, int len);
extern int32 vigil_keyset_count(const KeySet *ks);
extern char **vigil_keyset_keys(KeySet *ks);
extern int64 vigil_keyset_rows(const KeySet *ks, int32 id);

#endif							/* VIGIL_KEYSET_H */
