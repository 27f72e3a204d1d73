/*
 * geo.c
 *		Great-circle distance and travel speed.
 *
 * See geo.h for the formula and the conventions.
 */
#include "detect/core/geo.h"

#include <math.h>

#define RADIANS_PER_DEGREE (M_PI / 180.0)

/* Whether lat is a latitude in degrees; false for NaN too. */
static inline bool
valid_lat(double lat)
{
	return lat >= -90.0 && lat <= 90.0;
}

/* Whether lon is a longitude in degrees; false for NaN too. */
static inline bool
valid_lon(double lon)
{
	return lon >= -180.0 && lon <= 180.0;
}

/* Haversine distance in km between two points given in degrees. */
bool
vigil_geo_distance_km(double lat1, double lon1, double lat2, double lon2,
					  double *km)
{
	double		dlat,
				dlon,
				h;

	if (!valid_lat(lat1) || !valid_lon(lon1) ||
		!valid_lat(lat2) || !valid_lon(lon2))
		return false;

	/*
	 * Differences are taken in degrees, where they are exact for nearby
	 * points, and halved before the sine so tiny distances keep their
	 * precision.  A longitude difference of up to 360 degrees needs no
	 * wrapping: sin^2 of half of it has period 180 degrees.
	 */
	dlat = sin((lat2 - lat1) * (RADIANS_PER_DEGREE / 2.0));
	dlon = sin((lon2 - lon1) * (RADIANS_PER_DEGREE / 2.0));
	h = dlat * dlat +
		cos(lat1 * RADIANS_PER_DEGREE) * cos(lat2 * RADIANS_PER_DEGREE) *
		dlon * dlon;
	h = fmin(1.0, fmax(0.0, h));

	*km = 2.0 * VIGIL_EARTH_RADIUS_KM * asin(sqrt(h));
	return true;
}

/* Speed in km/h over elapsed_s seconds; see geo.h for elapsed_s <= 0. */
bool
vigil_geo_speed_kmh(double km, double elapsed_s, double *kmh)
{
	if (!isfinite(km) || km < 0.0 || !isfinite(elapsed_s))
		return false;

	if (elapsed_s <= 0.0)
		*kmh = km > 0.0 ? INFINITY : 0.0;
	else
		*kmh = km * 3600.0 / elapsed_s;
	return true;
}
