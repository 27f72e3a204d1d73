/*
 * fuzz_awsjson.c
 *		libFuzzer target: the JSON credential documents of the ECS and EC2
 *		metadata services and their ISO 8601 times (notify/core/awsjson.c).
 *
 * The input is a document; each field the credential provider reads is
 * looked up with buffers of several sizes, and the answers must keep the
 * contract of awsjson.h: out always NUL-terminated, a found value valid
 * UTF-8 with no NUL that fits, and the same answer from a bigger buffer.
 * Found "Expiration" values, and the input itself, are read as times and
 * compared with timegm() where they parse.
 */
#include <time.h>

#include "fuzz.h"
#include "notify/core/awsjson.h"

/* The fields credentials.c reads, and a few more for variety. */
static const char *const fields[] = {
	"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "Code", "",
};

/*
 * Check an accepted time against timegm(): the fields are where awsjson.h
 * says, the zone is Z or an offset, a fraction is dropped.
 */
static void
check_time(const char *s, size_t len, time_t t)
{
	struct tm	tm;
	int			year,
				oh = 0,
				om = 0;
	const char *zone;
	long long	want;

	FUZZ_CHECK(len >= 20);
	memset(&tm, 0, sizeof(tm));
	year = atoi(s);
	tm.tm_year = year - 1900;
	tm.tm_mon = atoi(s + 5) - 1;
	tm.tm_mday = atoi(s + 8);
	tm.tm_hour = atoi(s + 11);
	tm.tm_min = atoi(s + 14);
	tm.tm_sec = atoi(s + 17);	/* 60 is normalised to the next minute */
	zone = s + len - 1;
	if (*zone != 'Z' && *zone != 'z')
	{
		zone = s + len - 6;
		oh = atoi(zone + 1);
		om = atoi(zone + 4);
		if (*zone == '-')
			oh = -oh, om = -om;
	}
	want = (long long) timegm(&tm) - (oh * 3600LL + om * 60LL);
	FUZZ_CHECK((long long) t == want);
}

/* Read s as a time; when it parses, it must be the time timegm() gives. */
static void
try_time(const char *s, size_t len)
{
	time_t		t = 12345;
	char	   *copy;

	if (!vigil_iso8601_to_time(s, len, &t))
	{
		FUZZ_CHECK(t == 12345);	/* untouched on failure */
		return;
	}
	copy = fuzz_cstring((const uint8_t *) s, len);	/* atoi wants a NUL */
	check_time(copy, len, t);
	free(copy);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer's entry point: one input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *) data;
	static char big[8192];
	char		small[24];
	bool		found,
				found_big;
	size_t		f;
	bool		ok,
				ok_big;

	for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
	{
		memset(big, 'x', sizeof(big));
		ok_big = vigil_json_get_string(json, size, fields[f], big, sizeof(big),
									   &found_big);
		FUZZ_CHECK(memchr(big, '\0', sizeof(big)) != NULL);
		if (!ok_big || !found_big)
			FUZZ_CHECK(big[0] == '\0' && !found_big);
		else
			FUZZ_CHECK(fuzz_utf8_valid(big, strlen(big)));

		/* a small buffer: the same answer, or a failure when it cannot fit */
		memset(small, 'x', sizeof(small));
		ok = vigil_json_get_string(json, size, fields[f], small, sizeof(small),
								   &found);
		FUZZ_CHECK(memchr(small, '\0', sizeof(small)) != NULL);
		if (ok)
		{
			FUZZ_CHECK(ok_big && found == found_big);
			FUZZ_CHECK(strcmp(small, big) == 0);
		}
		else
		{
			FUZZ_CHECK(small[0] == '\0' && !found);
			FUZZ_CHECK(!ok_big || (found_big && strlen(big) >= sizeof(small)));
		}

		/* outlen 0 fails and writes nothing */
		FUZZ_CHECK(!vigil_json_get_string(json, size, fields[f], small, 0, &found));

		if (ok_big && found_big && strcmp(fields[f], "Expiration") == 0)
			try_time(big, strlen(big));
	}
	try_time(json, size);
	return 0;
}
