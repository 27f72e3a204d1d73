/*
 * utility.h
 *		vigil's ProcessUtility hook.
 */
#ifndef VIGIL_UTILITY_H
#define VIGIL_UTILITY_H

extern void vigil_utility_install(bool preloaded);

#endif							/* VIGIL_UTILITY_H */
