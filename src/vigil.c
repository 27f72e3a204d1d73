/*
 * vigil.c
 *		The pg_vigil loadable module.
 *
 * The library works whether or not it is listed in shared_preload_libraries;
 * only the notifier background worker will need preloading.
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;
