/*
 * fuzz_credfile.c
 *		libFuzzer target: the AWS shared credentials file
 *		(notify/core/credfile.c), which anyone who can write the file
 *		controls.
 *
 * The input is the file.  It is read for the default profile (NULL and
 * "default" must agree), a fixed name and the first bracketed name in the
 * input, and every answer must keep credfile.h's contract: credentials
 * found are non-empty visible ASCII that fit and occur in the file, and
 * any other answer leaves no secret behind and says why.
 */
#define _GNU_SOURCE				/* memmem */
#include <string.h>

#include "fuzz.h"
#include "notify/core/credfile.h"

/* Whether s is non-empty (unless may_be_empty) visible ASCII of at most max. */
static bool
visible(const char *s, size_t max, bool may_be_empty)
{
	size_t		n = strlen(s);

	if (n > max || (n == 0 && !may_be_empty))
		return false;
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7E)
			return false;
	return true;
}

/* Parse for one profile and check the answer; returns the status. */
static VigilCredStatus
parse(const char *buf, size_t len, const char *profile,
	  VigilAwsCredentials *c)
{
	VigilCredStatus st;
	size_t		lines = 1,
				i;

	memset(c, 0x5A, sizeof(*c));	/* *out must be fully written */
	st = vigil_credfile_parse(buf, len, profile, c);
	FUZZ_CHECK(st >= VIGIL_CRED_FOUND && st <= VIGIL_CRED_MALFORMED);
	FUZZ_CHECK(strcmp(vigil_cred_status_name(st), "unknown status") != 0);
	if (st == VIGIL_CRED_FOUND)
	{
		FUZZ_CHECK(c->why == NULL && c->line == 0);
		FUZZ_CHECK(visible(c->access_key_id, VIGIL_CRED_KEY_ID_MAX, false));
		FUZZ_CHECK(visible(c->secret_access_key, VIGIL_CRED_SECRET_MAX, false));
		FUZZ_CHECK(visible(c->session_token, VIGIL_CRED_TOKEN_MAX, true));
		/* values are copied from the file, never made up */
		FUZZ_CHECK(memmem(buf, len, c->access_key_id, strlen(c->access_key_id)) != NULL);
		FUZZ_CHECK(memmem(buf, len, c->secret_access_key, strlen(c->secret_access_key)) != NULL);
		FUZZ_CHECK(memmem(buf, len, c->session_token, strlen(c->session_token)) != NULL);
	}
	else
	{
		FUZZ_CHECK(c->why != NULL && c->why[0] != '\0');
		FUZZ_CHECK(c->access_key_id[0] == '\0' && c->secret_access_key[0] == '\0' &&
				   c->session_token[0] == '\0');
		for (i = 0; i < len; i++)
			if (buf[i] == '\n')
				lines++;
		FUZZ_CHECK(c->line >= 0 && (size_t) c->line <= lines);
	}
	return st;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer's entry point: one input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *) data;
	static VigilAwsCredentials a,
				b;
	VigilCredStatus sa,
				sb;
	const char *open = memchr(buf, '[', size);
	const char *close;
	char	   *name;

	sa = parse(buf, size, NULL, &a);
	sb = parse(buf, size, "default", &b);
	FUZZ_CHECK(sa == sb && a.line == b.line && a.why == b.why);
	FUZZ_CHECK(strcmp(a.access_key_id, b.access_key_id) == 0 &&
			   strcmp(a.secret_access_key, b.secret_access_key) == 0 &&
			   strcmp(a.session_token, b.session_token) == 0);

	(void) parse(buf, size, "prod", &a);

	/* the first bracketed name, so that fuzzed names are looked up too */
	if (open != NULL &&
		(close = memchr(open, ']', size - (size_t) (open - buf))) != NULL)
	{
		name = fuzz_cstring((const uint8_t *) open + 1, (size_t) (close - open - 1));
		(void) parse(buf, size, name, &a);
		free(name);
	}
	return 0;
}
