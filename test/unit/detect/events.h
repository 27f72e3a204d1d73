/*
 * events.h
 *		Building detection events for the profile and rules unit tests.
 */
#ifndef VIGIL_TEST_EVENTS_H
#define VIGIL_TEST_EVENTS_H

#include <string.h>

#include "detect/core/profile.h"

/* An event at time t with an amount and nothing else. */
static inline VigilEvent
event(double t, double amount)
{
	VigilEvent	e;

	memset(&e, 0, sizeof(e));
	e.t = t;
	e.amount = amount;
	return e;
}

/* An event at time t with an amount and a location. */
static inline VigilEvent
located(double t, double amount, double lat, double lon)
{
	VigilEvent	e = event(t, amount);

	e.has_location = true;
	e.lat = lat;
	e.lon = lon;
	return e;
}

#endif							/* VIGIL_TEST_EVENTS_H */
