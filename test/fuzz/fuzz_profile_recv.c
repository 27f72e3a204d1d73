/*
 * fuzz_profile_recv.c
 *		libFuzzer target: vigil.profile's binary input (vigil_profile_recv,
 *		through vigil_profile_from_binary in detect/core/profile_io.c), which
 *		COPY ... (FORMAT binary) and clients sending binary parameters feed.
 *
 * The whole input is the payload (of this version's layout, or of version
 * 1's, which is read as its prefix).  A profile that passes validation is then
 * used as detection would use one loaded from the table: every rule kind is
 * scored against it and events are folded in, and a folded profile must
 * still be valid, since vigil_profile_valid promises to accept whatever
 * folding produces (otherwise what the trigger stores could not be loaded
 * back from a dump).  Inputs longer than a payload also use their first
 * sizeof(VigilProfile) bytes as one, and the rest as the events.
 */
#include "detect/core/profile_io.h"
#include "detect/core/rules.h"
#include "fuzz.h"

/* Score events against p and fold them in, checking what must hold. */
static void
exercise(VigilProfile *p, FuzzIn *in)
{
	VigilRule	rules[VIGIL_RULE_NKINDS];
	VigilFinding findings[VIGIL_RULE_NKINDS];
	VigilEvent	e;
	const char *why;
	double		t = vigil_profile_last_time(p),
				score;
	int			k,
				n = 0;

	for (k = 0; k < VIGIL_RULE_NKINDS; k++)
		vigil_rule_defaults(&rules[k], (VigilRuleKind) k);
	if (!isfinite(t))
		t = 1.7e9;
	do
	{
		fuzz_event(in, &t, &e);
		score = vigil_rules_score(rules, VIGIL_RULE_NKINDS, p, &e, findings);
		FUZZ_CHECK(score >= 0.0 && score <= 1.0);
		vigil_rules_explain(rules, VIGIL_RULE_NKINDS, p, &e, findings);
		for (k = 0; k < VIGIL_RULE_NKINDS; k++)
			FUZZ_CHECK(findings[k].severity >= 0.0 && findings[k].severity <= 1.0 &&
					   memchr(findings[k].why, '\0', sizeof(findings[k].why)) != NULL);
		if (vigil_profile_fold(p, &e) && !vigil_profile_valid(p, &why))
		{
			fprintf(stderr, "folded profile is invalid: %s\n", why);
			FUZZ_CHECK(!"a folded profile is valid");
		}
	} while (in->n > 0 && ++n < 64);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer's entry point: one input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	VigilProfile p;
	VigilProfileInError err;
	VigilProfileInStatus st;
	FuzzIn		in = {data, 0};
	const char *why;

	memset(&p, 0xA5, sizeof(p));
	st = vigil_profile_from_binary(data, size, &p, &err);
	if (st == VIGIL_PROFILE_IN_OK)
	{
		/* the current layout as is, or a version 1 profile as its prefix */
		if (size == sizeof(p))
			FUZZ_CHECK(memcmp(&p, data, size) == 0);
		else
			FUZZ_CHECK(size == VIGIL_PROFILE_V1_SIZE && data[0] == 1 &&
					   memcmp((const uint8_t *) &p + 4, data + 4, size - 4) == 0 &&
					   p.by_category[0].hash == 0);
		FUZZ_CHECK(vigil_profile_valid(&p, &why));
		exercise(&p, &in);
	}
	else if (st == VIGIL_PROFILE_IN_BAD_LENGTH)
		FUZZ_CHECK(size != sizeof(p) && err.length == size);
	else if (st == VIGIL_PROFILE_IN_BAD_VERSION)
		FUZZ_CHECK(size >= 4 && err.version != VIGIL_PROFILE_VERSION &&
				   memcmp(&err.version, data, 4) == 0);
	else
		FUZZ_CHECK(st == VIGIL_PROFILE_IN_INVALID && err.why != NULL &&
				   err.why[0] != '\0');

	if (size > sizeof(p) &&
		vigil_profile_from_binary(data, sizeof(p), &p, &err) == VIGIL_PROFILE_IN_OK)
	{
		in.p = data + sizeof(p);
		in.n = size - sizeof(p);
		exercise(&p, &in);
	}
	return 0;
}
