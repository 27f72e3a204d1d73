/*
 * hex.h
 *		Hexadecimal digits, for the parsers of the pure core.
 */
#ifndef VIGIL_HEX_H
#define VIGIL_HEX_H

/* The value of hexadecimal digit c, or -1. */
static inline int
vigil_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif							/* VIGIL_HEX_H */
