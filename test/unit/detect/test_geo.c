/*
 * test_geo.c
 *		Unit tests for great-circle distance and travel speed.
 */
#include <stdint.h>

#include "detect/core/geo.h"
#include "unit.h"

/* Distance, or NaN when the call is refused. */
static double
dist(double lat1, double lon1, double lat2, double lon2)
{
	double		km = NAN;

	return vigil_geo_distance_km(lat1, lon1, lat2, lon2, &km) ? km : NAN;
}

/*
 * Independent reference: the chord between the two points as unit vectors
 * in long double, turned into an arc, 2 R asin(chord / 2).
 */
static double
chord_reference(double lat1, double lon1, double lat2, double lon2)
{
	long double rad = 3.14159265358979323846264338327950288L / 180.0L;
	long double p1 = lat1 * rad,
				l1 = lon1 * rad,
				p2 = lat2 * rad,
				l2 = lon2 * rad;
	long double dx = cosl(p1) * cosl(l1) - cosl(p2) * cosl(l2);
	long double dy = cosl(p1) * sinl(l1) - cosl(p2) * sinl(l2);
	long double dz = sinl(p1) - sinl(p2);
	long double c = sqrtl(dx * dx + dy * dy + dz * dz);

	if (c > 2.0L)
		c = 2.0L;
	return (double) (2.0L * VIGIL_EARTH_RADIUS_KM * asinl(c / 2.0L));
}

/* London to Paris, a published ~343.5 km, and agreement with the chord. */
static void
london_paris(void)
{
	double		km = dist(51.5074, -0.1278, 48.8566, 2.3522);

	CHECK(fabs(km - 343.5) < 0.5);
	CHECK_CLOSE(km, chord_reference(51.5074, -0.1278, 48.8566, 2.3522), 1e-12);
	/* symmetric */
	CHECK(dist(48.8566, 2.3522, 51.5074, -0.1278) == km);
	/* JFK to LAX, ~3974 km on this sphere */
	CHECK_CLOSE(dist(40.6413, -73.7781, 33.9416, -118.4085),
				chord_reference(40.6413, -73.7781, 33.9416, -118.4085), 1e-12);
	CHECK(fabs(dist(40.6413, -73.7781, 33.9416, -118.4085) - 3974.3) < 0.5);
}

/* The same point is 0 km away, including at the poles and the date line. */
static void
same_point(void)
{
	CHECK(dist(51.5074, -0.1278, 51.5074, -0.1278) == 0.0);
	CHECK(dist(0.0, 0.0, 0.0, 0.0) == 0.0);
	CHECK(dist(90.0, 0.0, 90.0, 123.0) < 1e-9);	/* the pole, any longitude */
	CHECK(dist(-90.0, -180.0, -90.0, 180.0) < 1e-9);
	CHECK(dist(10.0, 180.0, 10.0, -180.0) < 1e-9);	/* one meridian */
	/* across the date line the short way: 0.2 degrees of longitude */
	CHECK_CLOSE(dist(0.0, 179.9, 0.0, -179.9),
				VIGIL_EARTH_RADIUS_KM * 0.2 * M_PI / 180.0, 1e-9);
}

/* Antipodal points are pi R apart; quarter turns pi R / 2. */
static void
antipodes(void)
{
	double		half = M_PI * VIGIL_EARTH_RADIUS_KM;

	CHECK_CLOSE(dist(0.0, 0.0, 0.0, 180.0), half, 1e-12);
	CHECK_CLOSE(dist(90.0, 0.0, -90.0, 0.0), half, 1e-12);
	CHECK_CLOSE(dist(45.0, 30.0, -45.0, -150.0), half, 1e-12);
	CHECK_CLOSE(dist(-33.8688, 151.2093, 33.8688, -28.7907), half, 1e-12);
	CHECK(fabs(half - 20015.114) < 0.001);
	CHECK_CLOSE(dist(0.0, 0.0, 0.0, 90.0), half / 2, 1e-12);
	CHECK_CLOSE(dist(0.0, 0.0, 90.0, 0.0), half / 2, 1e-12);
	/* near-antipodal points stay finite and below pi R */
	CHECK(dist(45.0, 30.0, -45.0 + 1e-9, -150.0) <= half);
	CHECK(dist(45.0, 30.0, -45.0 + 1e-9, -150.0) > half - 1e-6);
}

/* Metre-scale distances keep their relative precision. */
static void
tiny_distances(void)
{
	double		m = VIGIL_EARTH_RADIUS_KM * 1e-5 * M_PI / 180.0;

	/* 1e-5 degrees of latitude: R * dphi, about 1.11 m */
	CHECK_CLOSE(dist(51.5, -0.1, 51.5 + 1e-5, -0.1) / m, 1.0, 1e-9);
	CHECK(fabs(dist(51.5, -0.1, 51.5 + 1e-5, -0.1) - 0.00111195) < 1e-8);
	/* 1e-5 degrees of longitude at 60 degrees: half of that */
	CHECK_CLOSE(dist(60.0, 10.0, 60.0, 10.0 + 1e-5) / (m / 2), 1.0, 1e-9);
	/* diagonal ~1 m, against the long double chord */
	CHECK_CLOSE(dist(-33.8688, 151.2093, -33.868807, 151.209306) /
				chord_reference(-33.8688, 151.2093, -33.868807, 151.209306),
				1.0, 1e-8);
	/* a millimetre is not zero */
	CHECK_CLOSE(dist(0.0, 0.0, 1e-8, 0.0) / (m / 1000), 1.0, 1e-9);
}

/* Against the chord reference over many random point pairs. */
static void
random_pairs(void)
{
	uint64_t	s = 12345;
	int			i;
	double		worst = 0.0;

	for (i = 0; i < 10000; i++)
	{
		double		v[4];
		int			k;
		double		got,
					want;

		for (k = 0; k < 4; k++)
		{
			s = s * 6364136223846793005ULL + 1442695040888963407ULL;
			v[k] = (double) (s >> 11) / 9007199254740992.0;
		}
		v[0] = v[0] * 180.0 - 90.0;
		v[1] = v[1] * 360.0 - 180.0;
		v[2] = v[2] * 180.0 - 90.0;
		v[3] = v[3] * 360.0 - 180.0;
		got = dist(v[0], v[1], v[2], v[3]);
		want = chord_reference(v[0], v[1], v[2], v[3]);
		if (fabs(got - want) > worst)
			worst = fabs(got - want);
	}
	/* a metre of error would be 1e-3; the haversine is far better */
	CHECK(worst < 1e-6);
}

/* Out-of-range or non-finite coordinates are refused, *km untouched. */
static void
rejects_invalid(void)
{
	double		km = 7.0;
	double		bad[] = {NAN, INFINITY, -INFINITY};
	int			i;

	CHECK(!vigil_geo_distance_km(90.000001, 0.0, 0.0, 0.0, &km));
	CHECK(!vigil_geo_distance_km(0.0, 0.0, -90.5, 0.0, &km));
	CHECK(!vigil_geo_distance_km(0.0, 180.0001, 0.0, 0.0, &km));
	CHECK(!vigil_geo_distance_km(0.0, 0.0, 0.0, -181.0, &km));
	for (i = 0; i < 3; i++)
	{
		CHECK(!vigil_geo_distance_km(bad[i], 0.0, 0.0, 0.0, &km));
		CHECK(!vigil_geo_distance_km(0.0, bad[i], 0.0, 0.0, &km));
		CHECK(!vigil_geo_distance_km(0.0, 0.0, bad[i], 0.0, &km));
		CHECK(!vigil_geo_distance_km(0.0, 0.0, 0.0, bad[i], &km));
	}
	CHECK(km == 7.0);
	/* the edges themselves are valid */
	CHECK(vigil_geo_distance_km(-90.0, -180.0, 90.0, 180.0, &km));
	CHECK_CLOSE(km, M_PI * VIGIL_EARTH_RADIUS_KM, 1e-12);
}

/* Speed: km over hours, and the documented no-time-elapsed cases. */
static void
speed(void)
{
	double		kmh = -1.0;

	CHECK(vigil_geo_speed_kmh(100.0, 3600.0, &kmh) && kmh == 100.0);
	CHECK(vigil_geo_speed_kmh(343.5, 1800.0, &kmh) && kmh == 687.0);
	CHECK(vigil_geo_speed_kmh(0.0, 60.0, &kmh) && kmh == 0.0);
	CHECK(vigil_geo_speed_kmh(5.0, 0.0, &kmh) && isinf(kmh) && kmh > 0);
	CHECK(vigil_geo_speed_kmh(5.0, -10.0, &kmh) && isinf(kmh) && kmh > 0);
	CHECK(vigil_geo_speed_kmh(0.0, 0.0, &kmh) && kmh == 0.0);
	CHECK(vigil_geo_speed_kmh(0.0, -10.0, &kmh) && kmh == 0.0);
	/* a denormal elapsed time does not turn 0 km into NaN */
	CHECK(vigil_geo_speed_kmh(0.0, 5e-324, &kmh) && kmh == 0.0);

	kmh = 9.0;
	CHECK(!vigil_geo_speed_kmh(-1.0, 60.0, &kmh));
	CHECK(!vigil_geo_speed_kmh(NAN, 60.0, &kmh));
	CHECK(!vigil_geo_speed_kmh(INFINITY, 60.0, &kmh));
	CHECK(!vigil_geo_speed_kmh(1.0, NAN, &kmh));
	CHECK(!vigil_geo_speed_kmh(1.0, INFINITY, &kmh));
	CHECK(!vigil_geo_speed_kmh(1.0, -INFINITY, &kmh));
	CHECK(kmh == 9.0);
}

int
main(void)
{
	RUN(london_paris);
	RUN(same_point);
	RUN(antipodes);
	RUN(tiny_distances);
	RUN(random_pairs);
	RUN(rejects_invalid);
	RUN(speed);
	return UNIT_DONE();
}
