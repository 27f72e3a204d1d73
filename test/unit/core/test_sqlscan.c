/*
 * test_sqlscan.c
 *		Unit tests for reading whether a statement names a setting.
 */
#include <stdlib.h>
#include <string.h>

#include "core/sqlscan.h"
#include "unit.h"

static const char *const secrets[] = {
	"vigil.aws_access_key_id",
	"vigil.aws_secret_access_key",
	"vigil.aws_session_token",
};

/* Whether sql names a secret. */
static bool
names(const char *sql)
{
	return vigil_sql_may_name(sql, secrets, 3);
}

/* Every spelling PostgreSQL reads as the name of a secret. */
static void
spellings(void)
{
	CHECK(names("ALTER SYSTEM SET vigil.aws_secret_access_key = 'x'"));
	CHECK(names("ALTER SYSTEM SET VIGIL.AWS_SECRET_ACCESS_KEY = 'x'"));
	CHECK(names("alter system set \"vigil\".\"aws_secret_access_key\" = 'x'"));
	CHECK(names("ALTER SYSTEM SET \"VIGIL\".\"AWS_SECRET_ACCESS_KEY\" TO 'x'"));
	CHECK(names("ALTER SYSTEM SET vigil . aws_secret_access_key = 'x'"));
	CHECK(names("ALTER SYSTEM SET vigil\n\t.\r\naws_session_token = 'x'"));
	CHECK(names("ALTER SYSTEM SET vigil/* a */./* b /* nested */ */aws_access_key_id = 'x'"));
	CHECK(names("ALTER SYSTEM SET vigil -- a comment\n . aws_access_key_id = 'x'"));
	CHECK(names("ALTER SYSTEM SET \"vigil.aws_secret_access_key\" = 'x'"));
	CHECK(names("ALTER SYSTEM SET \"VIGIL.AWS_secret_ACCESS_KEY\" = 'x'"));
	CHECK(names("ALTER SYSTEM SET U&\"vigil\".U&\"aws\\005fsecret\\+00005faccess_key\" = 'x'"));
	CHECK(names("SET vigil.aws_session_token TO DEFAULT"));
	CHECK(names("ALTER ROLE r SET vigil.aws_session_token = 'x'"));
	CHECK(names("RESET vigil.aws_session_token"));
	CHECK(names("SELECT set_config('vigil.aws_secret_access_key', 'x', false)"));
	CHECK(names("SELECT set_config('VIGIL.AWS_SECRET_ACCESS_KEY', 'x', false)"));
	CHECK(names("SELECT set_config(E'vigil.\\x61ws_secret_access_key', 'x', false)"));
	CHECK(names("SELECT set_config(E'vigil.\\141ws_secret_access_key', 'x', false)"));
	CHECK(names("SELECT set_config(e'vigil.\\u0061ws_secret_access_key', 'x', false)"));
	CHECK(names("SELECT set_config(E'vigil.\\U00000061ws_secret_access_key', 'x', false)"));
	CHECK(names("SELECT set_config(E'vigil.\\aws_secret_access_key', 'x', false)"));
	CHECK(names("SELECT set_config(E'it''s vigil.aws_secret_access_key', 'x', false)"));
	CHECK(names("SELECT set_config(U&'vigil.\\0061ws_secret_access_key', 'x', false)"));
	CHECK(names("SELECT set_config(N'vigil.aws_secret_access_key', 'x', false)"));
	CHECK(names("SELECT set_config($$vigil.aws_secret_access_key$$, 'x', false)"));
	CHECK(names("SELECT set_config($q$vigil.aws_secret_access_key$q$, 'x', false)"));
	/* adjacent strings are one */
	CHECK(names("SELECT set_config('vigil.aws_'\n'secret_access_key', 'x', false)"));
	CHECK(names("SELECT set_config('vigil.aws_' -- split\n 'secret_access_key', 'x', false)"));
	/* with standard_conforming_strings off, a backslash escapes in any string */
	CHECK(names("SELECT set_config('vigil.\\x61ws_secret_access_key', 'x', false)"));
	CHECK(names("SELECT set_config('it\\'s', 'vigil.aws_session_token')"));
	/* a string continuing a U&'' or E'' one keeps its escapes; || joins strings */
	CHECK(names("SELECT set_config(U&'vigil.aws_'\n'\\0073ecret_access_key', 'x', false)"));
	CHECK(names("SELECT set_config(E'vigil.aws_'\n'\\x73ecret_access_key', 'x', false)"));
	CHECK(names("SELECT set_config('vigil.aws_' || 'secret_access_key', 'x', false)"));
	CHECK(names("SELECT set_config('vigil.' || E'aws_\\x73ecret_access_key', 'x', false)"));
	/* SQL inside a string: a DO block's body, what a function EXECUTEs */
	CHECK(names("DO $$BEGIN SET vigil . aws_secret_access_key = 'v'; END$$"));
	CHECK(names("DO $$BEGIN SET \"vigil\".\"aws_secret_access_key\" = 'v'; END$$"));
	CHECK(names("DO $d$BEGIN PERFORM set_config(E'vigil.aws\\x5fsecret_access_key', 'v', false); END$d$"));
	CHECK(names("DO 'BEGIN EXECUTE ''SET vigil . aws_session_token = 1''; END'"));
	/* names inside a longer string or identifier */
	CHECK(names("DO $$BEGIN EXECUTE 'ALTER SYSTEM SET vigil.aws_session_token = ''x'''; END$$"));
	CHECK(names("SELECT 1 AS \"x vigil.aws_access_key_id y\""));
}

/* In doubt, a statement is taken to name a secret. */
static void
doubt(void)
{
	CHECK(names("SELECT 'unterminated"));
	CHECK(names("SELECT \"unterminated"));
	CHECK(names("SELECT E'unterminated\\'"));
	CHECK(names("SELECT $tag$ unterminated $other$"));
	CHECK(names("SELECT 1 /* unterminated /* nested */"));
	CHECK(names("SELECT U&'\\zzzz'"));
	CHECK(names("SELECT E'\\u12'"));
	CHECK(names("SET U&\"vigil\".U&\"aws!005fsecret_access_key\" UESCAPE '!' = 'x'"));
}

/* What does not name a secret, spelled close to it. */
static void
others(void)
{
	CHECK(!names(""));
	CHECK(!names("ALTER SYSTEM SET vigil.batch_size = 99"));
	CHECK(!names("SELECT 1"));
	CHECK(!names("ALTER SYSTEM SET vigil.aws_region = 'eu-west-1'"));
	CHECK(!names("ALTER SYSTEM SET vigil.aws_secret_access_key_x = 'x'"));
	CHECK(!names("ALTER SYSTEM SET vigilx.aws_secret_access_key = 'x'"));
	CHECK(!names("ALTER SYSTEM SET vigil.\"aws_secret_access_key \" = 'x'"));
	CHECK(!names("SELECT vigil, aws_secret_access_key FROM t"));
	CHECK(!names("SELECT vigil.aws_secret FROM t"));
	CHECK(!names("SELECT 'vigil' . 'aws_secret_access_key'"));
	CHECK(!names("SELECT 1 -- vigil.aws_secret_access_key"));
	CHECK(!names("SELECT 1 /* vigil.aws_secret_access_key */"));
	CHECK(!names("SELECT 'vigil.aws_' || 'x', 'secret_access_key'"));
	CHECK(!names("SELECT $1, $2 FROM t WHERE a = 'it''s'"));
	CHECK(!names("SELECT 'a\\b'"));
	CHECK(!names("SELECT E'\\x', E'\\xg'"));
	CHECK(!names("DO $$BEGIN SET vigil.batch_size = 1; END$$"));
}

/* Any bytes: each prefix of a tricky statement is read without running past its end. */
static void
prefixes(void)
{
	const char *sql = "SET U&\"vigil\".\"aws\" = E'\\x6\\u0041' || $a$b$a$ /* c /* d */ */ -- e\n'f''g' \"h\"\"i\"";
	size_t		n = strlen(sql);

	for (size_t i = 0; i <= n; i++)
	{
		char	   *p = malloc(i + 1);

		memcpy(p, sql, i);
		p[i] = '\0';
		(void) names(p);
		free(p);
	}
	CHECK(!names(sql));
}

int
main(void)
{
	RUN(spellings);
	RUN(doubt);
	RUN(others);
	RUN(prefixes);
	return UNIT_DONE();
}
