/*
 * sqlscan.h
 *		Whether a statement's text may name a setting, read the way
 *		PostgreSQL's scanner reads SQL.
 *
 * The server log writes a statement's text before any hook sees its parse
 * tree, so whether a statement names a secret setting must be decided from
 * the text.  A name has many spellings: any case (setting names are
 * case-insensitive), quoted ("vigil"."aws_secret_access_key", or one quoted
 * identifier "vigil.aws_secret_access_key"), blanks or comments around its
 * dot, inside a string (set_config('vigil.aws_...', ...)), with escapes
 * (E'...', U&'...', U&"..."), split over adjacent strings.
 *
 * vigil_sql_may_name reads identifiers, quoted identifiers, strings, dollar
 * quotes and comments as PostgreSQL's scanner does, and says true when a
 * name appears as "part.part" (each part an identifier or quoted
 * identifier) or inside any identifier or string (adjacent strings, and
 * strings joined by ||, read as one), and reads each string's body as SQL
 * too (a DO block, a statement a function EXECUTEs).  When it cannot be sure
 * it says true: an unterminated comment, string or identifier; a UESCAPE
 * clause.  A plain string with a backslash is read both as
 * standard_conforming_strings reads it and as an E'' string.  A name built
 * at run time (format(), a function's argument) is beyond it.
 *
 * names are lower case, each with one dot.  No PostgreSQL here: it is
 * unit-tested and fuzzed on any bytes.
 */
#ifndef VIGIL_SQLSCAN_H
#define VIGIL_SQLSCAN_H

#include <stdbool.h>

extern bool vigil_sql_may_name(const char *sql, const char *const *names, int nnames);

#endif							/* VIGIL_SQLSCAN_H */
