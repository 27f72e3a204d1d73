/*
 * test_profile_io.c
 *		Unit tests for reading vigil.profile's text payload and binary
 *		form: the verdicts behind every error the type's input functions
 *		raise (the pg_regress suite checks the messages themselves).
 */
#include <stdlib.h>
#include <string.h>

#include "detect/core/profile_io.h"
#include "events.h"
#include "unit.h"

#define T0 1700000000.0

/* A genuine profile of a few events. */
static void
genuine(VigilProfile *p)
{
	VigilEvent	e;

	vigil_profile_init(p);
	for (int i = 0; i < 5; i++)
	{
		e = located(T0 + 600.0 * i, 10.0 + i, 48.85, 2.35);
		vigil_profile_fold(p, &e);
	}
}

/* The text form of p as profile_out writes it (free it). */
static char *
text_of(const VigilProfile *p, bool upper)
{
	char	   *s = malloc(64 + 2 * sizeof(*p));
	size_t		n = (size_t) sprintf(s, "(n:5,mean:12,data:\\x");

	for (size_t i = 0; i < sizeof(*p); i++)
		n += (size_t) sprintf(s + n, upper ? "%02X" : "%02x",
							  ((const unsigned char *) p)[i]);
	strcpy(s + n, ")");
	return s;
}

/* A profile's text and binary forms read back as the same profile. */
static void
round_trip(void)
{
	VigilProfile p,
				q;
	VigilProfileInError err;
	unsigned char *odd = malloc(sizeof(p) + 1);
	char	   *s;

	genuine(&p);
	s = text_of(&p, false);
	CHECK(vigil_profile_from_text(s, &q, &err) == VIGIL_PROFILE_IN_OK);
	CHECK(memcmp(&p, &q, sizeof(p)) == 0);
	free(s);
	s = text_of(&p, true);
	CHECK(vigil_profile_from_text(s, &q, &err) == VIGIL_PROFILE_IN_OK);
	CHECK(memcmp(&p, &q, sizeof(p)) == 0);
	free(s);

	/* binary, from an odd address: the input need not be aligned */
	memcpy(odd + 1, &p, sizeof(p));
	memset(&q, 0, sizeof(q));
	CHECK(vigil_profile_from_binary(odd + 1, sizeof(p), &q, &err) == VIGIL_PROFILE_IN_OK);
	CHECK(memcmp(&p, &q, sizeof(p)) == 0);
	free(odd);
}

/* The text errors of expected/profile.out, and the others. */
static void
text_errors(void)
{
	VigilProfile p,
				q;
	VigilProfileInError err;
	char	   *s,
			   *hex;
	char	   *zz = malloc(32 + 2 * sizeof(p));

	CHECK(vigil_profile_from_text("(n:1)", &q, &err) == VIGIL_PROFILE_IN_NO_PAYLOAD);
	CHECK(vigil_profile_from_text("(n:1,data:\\x00)", &q, &err) == VIGIL_PROFILE_IN_BAD_LENGTH &&
		  err.length == 2);
	/* an odd number of digits, and more than the budget, whatever they are */
	CHECK(vigil_profile_from_text("(n:1,data:\\x010000000)", &q, &err) == VIGIL_PROFILE_IN_BAD_LENGTH &&
		  err.length == 9);
	{
		size_t		n = 2 * VIGIL_PROFILE_MAX_BYTES + 2;
		char	   *big = malloc(n + 32);

		strcpy(big, "(n:1,data:\\x");
		memset(big + strlen(big), 'z', n);
		strcpy(big + 12 + n, ")");
		CHECK(vigil_profile_from_text(big, &q, &err) == VIGIL_PROFILE_IN_BAD_LENGTH && err.length == n);
		free(big);
	}
	CHECK(vigil_profile_from_text("(n:1,data:\\x00", &q, &err) == VIGIL_PROFILE_IN_NO_END);
	CHECK(vigil_profile_from_text("(n:1,data:\\x00) ", &q, &err) == VIGIL_PROFILE_IN_NO_END);
	CHECK(vigil_profile_from_text("(n:1,data:\\x0)0)", &q, &err) == VIGIL_PROFILE_IN_NO_END);

	strcpy(zz, "(n:1,data:\\x");
	for (size_t i = 0; i < sizeof(p); i++)
		strcat(zz, "zz");
	strcat(zz, ")");
	CHECK(vigil_profile_from_text(zz, &q, &err) == VIGIL_PROFILE_IN_BAD_DIGIT &&
		  err.offset == 12);
	free(zz);

	genuine(&p);
	s = text_of(&p, false);
	hex = strstr(s, "data:\\x") + 7;
	/* the version byte: a version this code does not know */
	hex[0] = '0';
	hex[1] = '9';
	CHECK(vigil_profile_from_text(s, &q, &err) == VIGIL_PROFILE_IN_BAD_VERSION &&
		  err.version == 9);
	hex[1] = '2';
	/* the event count, bytes 8..15 */
	memset(hex + 16, '0', 16);
	CHECK(vigil_profile_from_text(s, &q, &err) == VIGIL_PROFILE_IN_INVALID &&
		  strcmp(err.why, "amount statistics of an empty profile must be empty") == 0);
	free(s);
}

/*
 * White space inside the payload is refused where it stands.  PostgreSQL's
 * hex_decode, which this input used to call, skips it: a payload of the
 * right length with two blanks decoded one byte short and left the last
 * byte of the profile as whatever the allocation held.
 */
static void
text_blanks(void)
{
	VigilProfile p,
				q;
	VigilProfileInError err;
	char	   *s;
	char	   *hex;

	genuine(&p);
	s = text_of(&p, false);
	hex = strstr(s, "data:\\x") + 7;
	hex[20] = ' ';
	hex[21] = '\n';
	CHECK(vigil_profile_from_text(s, &q, &err) == VIGIL_PROFILE_IN_BAD_DIGIT &&
		  s[err.offset] == ' ' && err.offset == (size_t) (hex + 20 - s));
	free(s);
}

/* Binary input of the wrong size or content. */
static void
binary_errors(void)
{
	VigilProfile p,
				q;
	VigilProfileInError err;
	unsigned char b[sizeof(p) + 1];

	genuine(&p);
	memcpy(b, &p, sizeof(p));
	CHECK(vigil_profile_from_binary(b, sizeof(p) - 1, &q, &err) == VIGIL_PROFILE_IN_BAD_LENGTH &&
		  err.length == sizeof(p) - 1);
	CHECK(vigil_profile_from_binary(b, sizeof(p) + 1, &q, &err) == VIGIL_PROFILE_IN_BAD_LENGTH);
	CHECK(vigil_profile_from_binary(b, 3, &q, &err) == VIGIL_PROFILE_IN_BAD_LENGTH &&
		  err.length == 3);
	b[0] = 0xFF;
	memset(&q, 0x5A, sizeof(q));
	CHECK(vigil_profile_from_binary(b, sizeof(p), &q, &err) == VIGIL_PROFILE_IN_BAD_VERSION &&
		  err.version == 0xFF);
	/* nothing is written on failure */
	for (size_t i = 0; i < sizeof(q); i++)
		CHECK(((unsigned char *) &q)[i] == 0x5A);
}

/*
 * Stored bytes: every version known is read into the current layout, without
 * the validation input gets; an unknown one and a wrong size are refused.
 */
static void
stored(void)
{
	VigilProfile p,
				q;
	VigilProfileInError err;
	unsigned char b[sizeof(p) + 1];

	genuine(&p);
	memcpy(b + 1, &p, sizeof(p));
	memset(&q, 0, sizeof(q));
	CHECK(vigil_profile_from_stored(b + 1, sizeof(p), &q, &err) == VIGIL_PROFILE_IN_OK);
	CHECK(memcmp(&p, &q, sizeof(p)) == 0);
	/* a count of 0 with amounts is invalid input, but stored bytes are trusted */
	memset(b + 1 + 8, 0, 8);
	CHECK(vigil_profile_from_binary(b + 1, sizeof(p), &q, &err) == VIGIL_PROFILE_IN_INVALID);
	CHECK(vigil_profile_from_stored(b + 1, sizeof(p), &q, &err) == VIGIL_PROFILE_IN_OK);
	CHECK(vigil_profile_from_stored(b + 1, sizeof(p) - 8, &q, &err) == VIGIL_PROFILE_IN_BAD_LENGTH &&
		  err.length == sizeof(p) - 8);
	CHECK(vigil_profile_from_stored(b + 1, 0, &q, &err) == VIGIL_PROFILE_IN_BAD_LENGTH);
	b[1] = 0;
	CHECK(vigil_profile_from_stored(b + 1, sizeof(p), &q, &err) == VIGIL_PROFILE_IN_BAD_VERSION &&
		  err.version == 0);
	b[1] = VIGIL_PROFILE_VERSION + 1;
	CHECK(vigil_profile_from_stored(b + 1, sizeof(p), &q, &err) == VIGIL_PROFILE_IN_BAD_VERSION &&
		  err.version == VIGIL_PROFILE_VERSION + 1);
}

/*
 * A version 1 profile (stored before version 2 appended the categories'
 * amounts) reads as the same profile following no category.
 */
static void
version_1(void)
{
	VigilProfile p,
				q;
	VigilProfileInError err;
	unsigned char b[sizeof(p)];
	uint32_t	v1 = 1;

	genuine(&p);
	memcpy(b, &p, VIGIL_PROFILE_V1_SIZE);
	memcpy(b, &v1, sizeof(v1));
	CHECK(vigil_profile_from_binary(b, VIGIL_PROFILE_V1_SIZE, &q, &err) == VIGIL_PROFILE_IN_OK);
	CHECK(q.version == VIGIL_PROFILE_VERSION);
	CHECK(memcmp(&p, &q, VIGIL_PROFILE_V1_SIZE) == 0);
	for (int i = 0; i < VIGIL_PROFILE_CATEGORIES; i++)
		CHECK(q.by_category[i].hash == 0 && q.by_category[i].amount.weight == 0.0);
	CHECK(vigil_profile_from_binary(b, VIGIL_PROFILE_V1_SIZE + 8, &q, &err) ==
		  VIGIL_PROFILE_IN_BAD_LENGTH);
	CHECK(vigil_profile_from_binary(b, sizeof(p), &q, &err) == VIGIL_PROFILE_IN_BAD_LENGTH);
}

int
main(void)
{
	RUN(round_trip);
	RUN(text_errors);
	RUN(text_blanks);
	RUN(binary_errors);
	RUN(stored);
	RUN(version_1);
	return UNIT_DONE();
}
