/*
 * utf8.h
 *		UTF-8 checking and encoding for the parsers of untrusted bytes.
 */
#ifndef VIGIL_UTF8_H
#define VIGIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Longest UTF-8 sequence of one code point. */
#define VIGIL_UTF8_MAX 4

extern size_t vigil_utf8_seq_len(const unsigned char *p, size_t avail);
extern size_t vigil_utf8_encode(uint32_t cp, char *buf);

#endif							/* VIGIL_UTF8_H */
