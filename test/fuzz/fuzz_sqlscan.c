/*
 * fuzz_sqlscan.c
 *		libFuzzer target: whether a statement's text names a secret setting
 *		(core/sqlscan.c), which decides what the server log and
 *		pg_stat_activity show of statements anyone can send.
 *
 * The input, up to its first NUL, is a statement.  Beyond memory safety,
 * one promise is checked: whatever the input, a statement that follows it
 * and sets a secret is seen.  The text appended holds no quote, dollar,
 * comment or escape character, so it cannot close anything the input left
 * open; and an input that leaves a string, identifier or comment open is
 * itself in doubt, which must read as naming a secret too.
 */
#include "core/sqlscan.h"
#include "fuzz.h"

static const char *const secrets[] = {
	"vigil.aws_access_key_id",
	"vigil.aws_secret_access_key",
	"vigil.aws_session_token",
};

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer's entry point: one input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char tail[] = "\n;SET VIGIL . aws_session_token = 1";
	size_t		n = strnlen((const char *) data, size);
	char	   *sql = malloc(n + sizeof(tail));
	bool		named;

	if (sql == NULL)
		abort();
	memcpy(sql, data, n);
	sql[n] = '\0';
	named = vigil_sql_may_name(sql, secrets, 3);
	FUZZ_CHECK(named == vigil_sql_may_name(sql, secrets, 3));
	memcpy(sql + n, tail, sizeof(tail));
	FUZZ_CHECK(vigil_sql_may_name(sql, secrets, 3));
	free(sql);
	return 0;
}
