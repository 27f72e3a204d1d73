/*
 * vigil.c
 *		The pg_vigil loadable module.
 *
 * The library works whether or not it is listed in shared_preload_libraries;
 * only the notifier background workers need preloading.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "detect/profile_hint.h"
#include "guc.h"
#include "notify/launcher.h"
#include "notify/notifier.h"
#include "redact.h"
#include "utility.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Define the settings and the utility hook; when preloaded, ask for shared
 * memory and register the notifier.
 */
void
_PG_init(void)
{
	vigil_guc_init(process_shared_preload_libraries_in_progress);
	vigil_redact_install();
	vigil_utility_install(process_shared_preload_libraries_in_progress);
	if (process_shared_preload_libraries_in_progress)
	{
		vigil_notifier_shmem_register();
		vigil_profile_hint_shmem_register();
		vigil_launcher_register();
	}
}
