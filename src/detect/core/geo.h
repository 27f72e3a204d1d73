/*
 * geo.h
 *		Great-circle distance and travel speed, for "impossible travel" rules.
 *
 * Distances use the haversine formula on a sphere of the mean Earth radius
 * (IUGG R1 = 6371.0088 km).  The sphere differs from the WGS84 ellipsoid by
 * up to about 0.5%, far below what matters for comparing a travel speed
 * with an airliner's.  The haversine is computed as 2 R asin(sqrt(h)) with h
 * clamped to [0, 1]: it keeps full relative precision for distances down to
 * millimetres, where the spherical law of cosines loses everything, and the
 * clamp keeps rounding near antipodal points (h slightly above 1) from
 * producing NaN.  Antipodal points are pi R apart, about 20015 km.
 *
 * Both functions return false, leaving *km or *kmh untouched, on invalid
 * input: non-finite values, latitudes outside [-90, 90] or longitudes
 * outside [-180, 180] degrees, a negative distance.
 */
#ifndef VIGIL_GEO_H
#define VIGIL_GEO_H

#include <stdbool.h>

#define VIGIL_EARTH_RADIUS_KM 6371.0088

extern bool vigil_geo_distance_km(double lat1, double lon1,
								  double lat2, double lon2, double *km);

/*
 * Speed in km/h needed to cover km in elapsed_s seconds.  When no time has
 * passed (elapsed_s <= 0, e.g. events out of order or at the same instant),
 * the speed is +Infinity for a positive distance and 0 for no distance.
 */
extern bool vigil_geo_speed_kmh(double km, double elapsed_s, double *kmh);

#endif							/* VIGIL_GEO_H */
