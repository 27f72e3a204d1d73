/*
 * fuzz_profile_in.c
 *		libFuzzer target: vigil.profile's text input (vigil_profile_in,
 *		through vigil_profile_from_text in detect/core/profile_io.c), which
 *		dumps, COPY and casts from text feed.
 *
 * The input, up to its first NUL, is the cstring PostgreSQL would pass.  A
 * profile read must be valid and be exactly the payload's bytes; each
 * error must point inside the string; and the payload written back as
 * profile_out writes it must read back the same.
 */
#include "detect/core/profile_io.h"
#include "fuzz.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer's entry point: one input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *str = fuzz_cstring(data, size);
	size_t		len = strlen(str);
	VigilProfile p,
				again;
	VigilProfileInError err;
	VigilProfileInStatus st;
	const char *why;
	char	   *text;
	size_t		i;

	st = vigil_profile_from_text(str, &p, &err);
	switch (st)
	{
		case VIGIL_PROFILE_IN_OK:
			FUZZ_CHECK(vigil_profile_valid(&p, &why));
			/* as profile_out writes it: lowercase hex after a summary */
			text = malloc(64 + 2 * sizeof(p));
			if (text == NULL)
				abort();
			i = (size_t) sprintf(text, "(n:%llu,data:\\x", (unsigned long long) p.amount.n);
			for (size_t b = 0; b < sizeof(p); b++)
				i += (size_t) sprintf(text + i, "%02x", ((const unsigned char *) &p)[b]);
			strcpy(text + i, ")");
			FUZZ_CHECK(vigil_profile_from_text(text, &again, &err) == VIGIL_PROFILE_IN_OK);
			FUZZ_CHECK(memcmp(&p, &again, sizeof(p)) == 0);
			free(text);
			break;
		case VIGIL_PROFILE_IN_NO_PAYLOAD:
			FUZZ_CHECK(strstr(str, "data:\\x") == NULL);
			break;
		case VIGIL_PROFILE_IN_NO_END:
			FUZZ_CHECK(len == 0 || str[len - 1] != ')' ||
					   strchr(strstr(str, "data:\\x"), ')') != str + len - 1);
			break;
		case VIGIL_PROFILE_IN_BAD_LENGTH:
			FUZZ_CHECK(err.length != 2 * sizeof(p) && err.length < len);
			break;
		case VIGIL_PROFILE_IN_BAD_DIGIT:
			FUZZ_CHECK(err.offset < len && strchr("0123456789abcdefABCDEF", str[err.offset]) == NULL);
			break;
		case VIGIL_PROFILE_IN_BAD_VERSION:
			FUZZ_CHECK(err.version != VIGIL_PROFILE_VERSION);
			break;
		case VIGIL_PROFILE_IN_INVALID:
			FUZZ_CHECK(err.why != NULL && err.why[0] != '\0');
			break;
		default:
			FUZZ_CHECK(!"a known status");
	}
	free(str);
	return 0;
}
