/*
 * test_credfile.c
 *		Unit tests for the AWS shared credentials file reader.
 */
#include <stdlib.h>
#include <string.h>

#include "notify/core/credfile.h"
#include "unit.h"

#define AKID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define TOKEN "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH+w=="

/* Parse the first len bytes of text from an exact-length heap copy. */
static VigilCredStatus
parse_n(const char *text, size_t len, const char *profile,
		VigilAwsCredentials *c)
{
	char	   *copy = malloc(len > 0 ? len : 1);
	VigilCredStatus st;

	memcpy(copy, text, len);
	st = vigil_credfile_parse(copy, len, profile, c);
	free(copy);
	/* nothing secret is left behind unless the credentials were found */
	if (st != VIGIL_CRED_FOUND)
	{
		CHECK(c->access_key_id[0] == '\0');
		CHECK(c->secret_access_key[0] == '\0');
		CHECK(c->session_token[0] == '\0');
		CHECK(c->why != NULL);
	}
	else
		CHECK(c->why == NULL && c->line == 0);
	return st;
}

/* parse_n for a NUL-terminated text. */
static VigilCredStatus
parse(const char *text, const char *profile, VigilAwsCredentials *c)
{
	return parse_n(text, strlen(text), profile, c);
}

/* Whether the result holds exactly these values. */
static bool
creds_are(const VigilAwsCredentials *c, const char *akid, const char *secret,
		  const char *token)
{
	return strcmp(c->access_key_id, akid) == 0 &&
		strcmp(c->secret_access_key, secret) == 0 &&
		strcmp(c->session_token, token) == 0;
}

/* The usual file: default and named profiles, with and without a token. */
static void
basic_profiles(void)
{
	const char *f =
		"[default]\n"
		"aws_access_key_id = " AKID "\n"
		"aws_secret_access_key = " SECRET "\n"
		"\n"
		"[prod]\n"
		"aws_access_key_id=AKIAPROD\n"
		"aws_secret_access_key=prodsecret\n"
		"aws_session_token=" TOKEN "\n"
		"region = eu-west-1\n";
	VigilAwsCredentials c;

	CHECK(parse(f, NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, AKID, SECRET, ""));
	CHECK(parse(f, "default", &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, AKID, SECRET, ""));
	CHECK(parse(f, "prod", &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "AKIAPROD", "prodsecret", TOKEN));
	/* section names are exact: case, spaces, "profile " prefix */
	CHECK(parse(f, "Prod", &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse(f, "profile prod", &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse(f, "prod ", &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse(f, "dev", &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse(f, "", &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse("", NULL, &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse("\n\n# only comments\n", NULL, &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse("[ default ]\naws_access_key_id=a\naws_secret_access_key=b\n",
				NULL, &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse("[profile default]\naws_access_key_id=a\n"
				"aws_secret_access_key=b\n", NULL, &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(vigil_cred_status_name(VIGIL_CRED_NO_PROFILE) != NULL);
}

/* Whitespace, ':' as delimiter, key case, CRLF and CR line ends. */
static void
syntax_variants(void)
{
	VigilAwsCredentials c;

	CHECK(parse("[default]\r\n"
				"  AWS_Access_Key_ID\t=\t" AKID "  \r\n"
				"aws_secret_access_key:" SECRET "\r\n",
				NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, AKID, SECRET, ""));
	/* lone CR line ends, no final line end, \v and \f trimmed */
	CHECK(parse("[default]\raws_access_key_id = a\r"
				"aws_secret_access_key = \v\fb\f",
				NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", ""));
	/* the first delimiter splits: a secret may contain '=' and ':' */
	CHECK(parse("[default]\naws_access_key_id = a\n"
				"aws_secret_access_key = x=y:z==\n",
				NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "x=y:z==", ""));
	/* header text after the last ']' is ignored, names run to the last ] */
	CHECK(parse("[default] trailing\naws_access_key_id=a\n"
				"aws_secret_access_key=b\n", NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(parse("[a]b]\naws_access_key_id=a\naws_secret_access_key=b\n",
				"a]b", &c) == VIGIL_CRED_FOUND);
	CHECK(parse("[we ird=name;#]\naws_access_key_id=a\n"
				"aws_secret_access_key=b\n", "we ird=name;#", &c) ==
		  VIGIL_CRED_FOUND);
	/* an indented header after a header is still a header */
	CHECK(parse("[x]\n  [default]\n  aws_access_key_id=a\n"
				"  aws_secret_access_key=b\n", NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", ""));
	/* "[]" is no header: inside a section it is a bad key line */
	CHECK(parse("[default]\n[]\n", NULL, &c) == VIGIL_CRED_MALFORMED);
	CHECK(parse("[default]\n[]=x\naws_access_key_id=a\n"
				"aws_secret_access_key=b\n", NULL, &c) == VIGIL_CRED_FOUND);
}

/* Comments only at line start; "#" after a value is part of it. */
static void
comments(void)
{
	VigilAwsCredentials c;

	CHECK(parse("# leading comment\n; another\n[default]\n"
				"  # indented comment\n"
				"aws_access_key_id = a\n"
				"\t; another\n"
				"aws_secret_access_key = b\n", NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", ""));
	/* no inline comments: the value keeps them (and is then refused) */
	CHECK(parse("[default]\naws_access_key_id = a # mine\n"
				"aws_secret_access_key = b\n", NULL, &c) ==
		  VIGIL_CRED_MALFORMED);
	CHECK(c.line == 2);
	CHECK(parse("[default]\naws_access_key_id = a;x\n"
				"aws_secret_access_key = b#y\n", NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a;x", "b#y", ""));
	/* a commented-out key does not count */
	CHECK(parse("[default]\n#aws_access_key_id = a\n"
				"aws_secret_access_key = b\n", NULL, &c) ==
		  VIGIL_CRED_INCOMPLETE);
}

/* Session token, its older alias, and which wins. */
static void
session_tokens(void)
{
	VigilAwsCredentials c;

	CHECK(parse("[default]\naws_access_key_id=a\naws_secret_access_key=b\n"
				"aws_security_token=old\n", NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", "old"));
	/* botocore looks at aws_security_token first */
	CHECK(parse("[default]\naws_access_key_id=a\naws_secret_access_key=b\n"
				"aws_session_token=new\naws_security_token=old\n",
				NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", "old"));
	/* an empty token is no token, even when it hides the other one */
	CHECK(parse("[default]\naws_access_key_id=a\naws_secret_access_key=b\n"
				"aws_session_token=\n", NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", ""));
	CHECK(parse("[default]\naws_access_key_id=a\naws_secret_access_key=b\n"
				"aws_session_token=new\naws_security_token=\n",
				NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", ""));
	/* a bad token that is not used does not matter */
	CHECK(parse("[default]\naws_access_key_id=a\naws_secret_access_key=b\n"
				"aws_session_token=bad value\naws_security_token=ok\n",
				NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", "ok"));
	CHECK(parse("[default]\naws_access_key_id=a\naws_secret_access_key=b\n"
				"aws_session_token=bad value\n",
				NULL, &c) == VIGIL_CRED_MALFORMED);
	CHECK(c.line == 4);
}

/* One key without the other, empty keys, no keys at all. */
static void
incomplete(void)
{
	VigilAwsCredentials c;

	CHECK(parse("[default]\naws_access_key_id=a\n", NULL, &c) ==
		  VIGIL_CRED_INCOMPLETE);
	CHECK(c.line == 2);
	CHECK(parse("[default]\naws_secret_access_key=b\n", NULL, &c) ==
		  VIGIL_CRED_INCOMPLETE);
	CHECK(parse("[default]\naws_access_key_id=\naws_secret_access_key=b\n",
				NULL, &c) == VIGIL_CRED_INCOMPLETE);
	CHECK(parse("[default]\naws_access_key_id=a\naws_secret_access_key= \n",
				NULL, &c) == VIGIL_CRED_INCOMPLETE);
	CHECK(c.line == 3);
	CHECK(parse("[default]\nregion=us-east-1\naws_session_token=t\n",
				NULL, &c) == VIGIL_CRED_NO_KEYS);
	CHECK(parse("[default]\n", NULL, &c) == VIGIL_CRED_NO_KEYS);
	/* the keys of another profile do not leak in */
	CHECK(parse("[default]\naws_access_key_id=a\n[other]\n"
				"aws_secret_access_key=b\n", NULL, &c) ==
		  VIGIL_CRED_INCOMPLETE);
}

/* [DEFAULT] fills in what a profile does not set; it is not a profile. */
static void
default_section(void)
{
	VigilAwsCredentials c;
	const char *f =
		"[DEFAULT]\naws_secret_access_key = shared\naws_session_token = dt\n"
		"[a]\naws_access_key_id = ka\n"
		"[b]\naws_access_key_id = kb\naws_secret_access_key = sb\n"
		"aws_session_token = \n"
		"[DEFAULT]\naws_access_key_id = kd\n"
		"[c]\n";

	CHECK(parse(f, "a", &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "ka", "shared", "dt"));
	CHECK(parse(f, "b", &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "kb", "sb", ""));
	CHECK(parse(f, "c", &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "kd", "shared", "dt"));
	CHECK(parse(f, "DEFAULT", &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(parse(f, "default", &c) == VIGIL_CRED_NO_PROFILE);
	/* a key twice across the two [DEFAULT] blocks */
	CHECK(parse("[DEFAULT]\naws_access_key_id=a\n[x]\n[DEFAULT]\n"
				"AWS_ACCESS_KEY_ID=b\n", "x", &c) == VIGIL_CRED_MALFORMED);
	CHECK(c.line == 5);
}

/* Duplicates that matter are refused, others are tolerated. */
static void
duplicates(void)
{
	VigilAwsCredentials c;

	CHECK(parse("[default]\naws_access_key_id=a\naws_secret_access_key=b\n"
				"[default]\naws_access_key_id=c\n", NULL, &c) ==
		  VIGIL_CRED_MALFORMED);
	CHECK(c.line == 4);
	CHECK(parse("[default]\naws_access_key_id=a\naws_secret_access_key=b\n"
				"Aws_Access_Key_Id=c\n", NULL, &c) == VIGIL_CRED_MALFORMED);
	CHECK(c.line == 4);
	/* even with the same value */
	CHECK(parse("[default]\naws_access_key_id=a\naws_access_key_id=a\n"
				"aws_secret_access_key=b\n", NULL, &c) ==
		  VIGIL_CRED_MALFORMED);
	/* other keys and sections repeated: accepted (see credfile.h) */
	CHECK(parse("[x]\nk=1\n[x]\nk=2\n[default]\nregion=a\nregion=b\n"
				"aws_access_key_id=a\naws_secret_access_key=b\n",
				NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", ""));
}

/* Multi-line values, as configparser sees indented lines. */
static void
continuation_lines(void)
{
	VigilAwsCredentials c;

	/* an indented key line after a key continues it */
	CHECK(parse("[default]\naws_access_key_id = a\n"
				"  aws_secret_access_key = b\n", NULL, &c) ==
		  VIGIL_CRED_MALFORMED);
	CHECK(c.line == 2);
	/* continuations of other keys are skipped */
	CHECK(parse("[default]\ns3 =\n  max_concurrent_requests = 20\n"
				"  addressing_style = path\n\n  # note\n"
				"aws_access_key_id = a\naws_secret_access_key = b\n",
				NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", ""));
	CHECK(parse("[default]\nnote = first\n  second line\n"
				"aws_access_key_id = a\naws_secret_access_key = b\n",
				NULL, &c) == VIGIL_CRED_FOUND);
	/* a nested block needs '=' on each line (botocore) */
	CHECK(parse("[default]\ns3 =\n  not a pair\n"
				"aws_access_key_id = a\naws_secret_access_key = b\n",
				NULL, &c) == VIGIL_CRED_MALFORMED);
	CHECK(c.line == 3);
	CHECK(parse("[other]\ns3 =\n  x = 1\n  not a pair\n"
				"[default]\naws_access_key_id = a\naws_secret_access_key = b\n",
				NULL, &c) == VIGIL_CRED_MALFORMED);
	CHECK(parse("[DEFAULT]\ns3 =\n  nope\n", NULL, &c) ==
		  VIGIL_CRED_NO_PROFILE);
	CHECK(parse("[DEFAULT]\ns3 =\n  nope\n[default]\n", NULL, &c) ==
		  VIGIL_CRED_MALFORMED);
	/* the continuation must be deeper than the key line itself */
	CHECK(parse("[default]\n  aws_access_key_id = a\n"
				"  aws_secret_access_key = b\n", NULL, &c) ==
		  VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", ""));
	CHECK(parse("[default]\n  aws_access_key_id = a\n"
				"    more\naws_secret_access_key = b\n", NULL, &c) ==
		  VIGIL_CRED_MALFORMED);
	/* blank lines and comments between do not end a value */
	CHECK(parse("[default]\naws_secret_access_key = b\naws_access_key_id = a\n"
				"\n# c\n\n  more\n", NULL, &c) == VIGIL_CRED_MALFORMED);
	CHECK(c.line == 3);
	/* ... and a header right after a key is not a continuation */
	CHECK(parse("[x]\nk = v\n[default]\n aws_access_key_id = a\n"
				" aws_secret_access_key = b\n", NULL, &c) ==
		  VIGIL_CRED_FOUND);
}

/* Syntax errors anywhere make the whole file malformed. */
static void
malformed(void)
{
	VigilAwsCredentials c;
	const char *good = "[default]\naws_access_key_id=a\n"
		"aws_secret_access_key=b\n";
	const char *bad[] = {
		"aws_access_key_id=a\n[default]\n",
		"\xEF\xBB\xBF[default]\naws_access_key_id=a\naws_secret_access_key=b\n",
		"[default]\naws_access_key_id=a\naws_secret_access_key=b\njunk\n",
		"[default]\naws_access_key_id=a\naws_secret_access_key=b\n= x\n",
		"[default]\naws_access_key_id=a\naws_secret_access_key=b\n  : x\n",
		"[x]\njunk\n[default]\naws_access_key_id=a\naws_secret_access_key=b\n",
		"[default\naws_access_key_id=a\naws_secret_access_key=b\n",
		"[default]\naws_access_key_id=a b\naws_secret_access_key=b\n",
		"[default]\naws_access_key_id=a\x01\naws_secret_access_key=b\n",
		"[default]\naws_access_key_id=a\naws_secret_access_key=\xC3\xA9\n",
	};
	size_t		i;

	CHECK(parse(good, NULL, &c) == VIGIL_CRED_FOUND);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		if (parse(bad[i], NULL, &c) != VIGIL_CRED_MALFORMED)
			printf("# not malformed: case %d\n", (int) i);
		CHECK(parse(bad[i], NULL, &c) == VIGIL_CRED_MALFORMED);
		CHECK(c.line > 0);
	}
	CHECK(parse(bad[0], NULL, &c) == VIGIL_CRED_MALFORMED && c.line == 1);
	CHECK(parse(bad[2], NULL, &c) == VIGIL_CRED_MALFORMED && c.line == 4);
	/* a NUL byte: part of the line, so part of the value */
	CHECK(parse_n("[default]\naws_access_key_id=a\0\naws_secret_access_key=b\n",
				  55, NULL, &c) == VIGIL_CRED_MALFORMED);
	CHECK(c.line == 2);
	/* a syntax error in a profile we do not ask for still counts */
	CHECK(parse("[default]\naws_access_key_id=a\naws_secret_access_key=b\n"
				"[other]\nnot a key line\n", NULL, &c) == VIGIL_CRED_MALFORMED);
	CHECK(c.line == 5);
}

/* Python's view of the text: UTF-8, Unicode whitespace, str.lower(). */
static void
unicode_text(void)
{
	VigilAwsCredentials c;

	/* NBSP and ideographic space are trimmed like ASCII spaces */
	CHECK(parse("[default]\n\xC2\xA0" "aws_access_key_id\xC2\xA0=\xE3\x80\x80" "a"
				"\xC2\xA0\naws_secret_access_key = b\xE2\x80\xAF\n",
				NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", ""));
	/* ... but not inside a value */
	CHECK(parse("[default]\naws_access_key_id = a\xC2\xA0" "b\n"
				"aws_secret_access_key = b\n", NULL, &c) ==
		  VIGIL_CRED_MALFORMED);
	/* a blank line of Unicode spaces; indentation counts characters */
	CHECK(parse("\xE2\x80\x83\n[default]\n\xE2\x80\x83" "aws_access_key_id = a\n"
				"  aws_secret_access_key = b\n", NULL, &c) ==
		  VIGIL_CRED_MALFORMED);	/* 2 characters > 1: a continuation */
	CHECK(parse("[default]\n\xE2\x80\x83" "aws_access_key_id = a\n"
				" aws_secret_access_key = b\n", NULL, &c) == VIGIL_CRED_FOUND);
	/* KELVIN SIGN lowercases to 'k' */
	CHECK(parse("[default]\naws_access_\xE2\x84\xAA" "ey_id = a\n"
				"aws_secret_access_key = b\n", NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, "a", "b", ""));
	CHECK(parse("[default]\naws_access_\xE2\x84\xAA" "ey_id = a\n"
				"aws_access_key_id = a\naws_secret_access_key = b\n",
				NULL, &c) == VIGIL_CRED_MALFORMED);
	/* not UTF-8 anywhere: the whole file is refused */
	CHECK(parse("[default]\naws_access_key_id = a\naws_secret_access_key = b\n"
				"[x]\nk = \xFF\n", NULL, &c) == VIGIL_CRED_MALFORMED);
	CHECK(c.line == 5);
	CHECK(parse("[default]\r\naws_access_key_id = a\r\n# \xC0\x80\r\n",
				NULL, &c) == VIGIL_CRED_MALFORMED);
	CHECK(c.line == 3);
	CHECK(parse("[default]\n# \xED\xA0\x80\n", NULL, &c) ==
		  VIGIL_CRED_MALFORMED);
	CHECK(parse("[default]\n# \xE2\x82", NULL, &c) == VIGIL_CRED_MALFORMED);
	/* a nested value is split at \v, \f, U+2028 ... as splitlines() does */
	CHECK(parse("[default]\ns3 =\n  a = 1\vb = 2\xE2\x80\xA8" "c=3\n"
				"aws_access_key_id = a\naws_secret_access_key = b\n",
				NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(parse("[default]\ns3 =\n  a = 1\vb\n"
				"aws_access_key_id = a\naws_secret_access_key = b\n",
				NULL, &c) == VIGIL_CRED_MALFORMED);
	CHECK(parse("[default]\ns3 =\n  a = 1\xC2\x85 # x\n"
				"aws_access_key_id = a\naws_secret_access_key = b\n",
				NULL, &c) == VIGIL_CRED_MALFORMED);
	/* an empty token continued on the next line is no token: malformed */
	CHECK(parse("[default]\naws_access_key_id = a\naws_secret_access_key = b\n"
				"aws_session_token =\n  x = y\n", NULL, &c) ==
		  VIGIL_CRED_MALFORMED);
	CHECK(c.line == 4);
}

/* Values up to their maximum fit, one byte more does not. */
static void
value_lengths(void)
{
	static char f[2 * VIGIL_CRED_TOKEN_MAX];
	static const size_t max[3] = {VIGIL_CRED_KEY_ID_MAX, VIGIL_CRED_SECRET_MAX,
	VIGIL_CRED_TOKEN_MAX};
	VigilAwsCredentials c;
	char		v[3][VIGIL_CRED_TOKEN_MAX + 2];
	int			k,
				extra;

	for (k = 0; k < 3; k++)
	{
		for (extra = 0; extra <= 1; extra++)
		{
			int			j;

			for (j = 0; j < 3; j++)
				strcpy(v[j], "x");
			memset(v[k], 'A' + k, max[k] + extra);
			v[k][max[k] + extra] = '\0';
			snprintf(f, sizeof(f),
					 "[default]\naws_access_key_id=%s\n"
					 "aws_secret_access_key=%s\naws_session_token=%s\n",
					 v[0], v[1], v[2]);
			if (extra == 0)
			{
				CHECK(parse(f, NULL, &c) == VIGIL_CRED_FOUND);
				CHECK(creds_are(&c, v[0], v[1], v[2]));
			}
			else
			{
				CHECK(parse(f, NULL, &c) == VIGIL_CRED_TOO_LONG);
				CHECK(c.line == k + 2);
			}
		}
	}
}

/* The status of the first (at - f) + extra bytes of f. */
static VigilCredStatus
status_at(const char *f, const char *at, size_t extra, VigilAwsCredentials *c)
{
	return parse_n(f, (size_t) (at - f) + extra, NULL, c);
}

/*
 * Every prefix of a file parses without reading past it; credentials
 * found in a prefix are the file's or prefixes of them; and cuts at chosen
 * places give what the complete lines and the partial last line imply.
 */
static void
every_prefix(void)
{
	const char *f =
		"# creds\r\n[other]\r\nk = v\r\n  cont = 1\r\n"
		"[default]\r\naws_access_key_id = " AKID "\r\n"
		"aws_secret_access_key = " SECRET "\r\n"
		"aws_session_token = " TOKEN "\r\n";
	size_t		len = strlen(f),
				n;
	const char *dflt = strstr(f, "[default]");
	const char *akid = strstr(f, "aws_access_key_id");
	const char *secret = strstr(f, "aws_secret_access_key");
	const char *token = strstr(f, "aws_session_token");
	VigilAwsCredentials c;
	VigilCredStatus st;

	for (n = 0; n <= len; n++)
	{
		st = parse_n(f, n, NULL, &c);
		CHECK(st >= VIGIL_CRED_FOUND && st <= VIGIL_CRED_MALFORMED);
		if (st == VIGIL_CRED_FOUND)
		{
			CHECK(strcmp(c.access_key_id, AKID) == 0);
			CHECK(strncmp(c.secret_access_key, SECRET,
						  strlen(c.secret_access_key)) == 0);
			CHECK(strncmp(c.session_token, TOKEN,
						  strlen(c.session_token)) == 0);
		}
	}

	CHECK(status_at(f, f, 0, &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(status_at(f, f, 5, &c) == VIGIL_CRED_NO_PROFILE);	/* comment */
	CHECK(status_at(f, f, 12, &c) == VIGIL_CRED_MALFORMED);	/* "[ot" */
	CHECK(status_at(f, dflt, 0, &c) == VIGIL_CRED_NO_PROFILE);
	CHECK(status_at(f, dflt, 4, &c) == VIGIL_CRED_MALFORMED);	/* "[def" */
	CHECK(status_at(f, dflt, 9, &c) == VIGIL_CRED_NO_KEYS);
	CHECK(status_at(f, akid, 0, &c) == VIGIL_CRED_NO_KEYS);
	CHECK(status_at(f, akid, 5, &c) == VIGIL_CRED_MALFORMED);	/* "aws_a" */
	CHECK(status_at(f, akid, 19, &c) == VIGIL_CRED_INCOMPLETE);	/* empty */
	CHECK(status_at(f, akid, 20, &c) == VIGIL_CRED_INCOMPLETE);
	CHECK(status_at(f, secret, 0, &c) == VIGIL_CRED_INCOMPLETE);
	CHECK(status_at(f, secret, 4, &c) == VIGIL_CRED_MALFORMED);
	CHECK(status_at(f, secret, 24, &c) == VIGIL_CRED_INCOMPLETE);
	CHECK(status_at(f, secret, 25, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, AKID, "w", ""));
	CHECK(status_at(f, token, 0, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, AKID, SECRET, ""));
	CHECK(status_at(f, token, 3, &c) == VIGIL_CRED_MALFORMED);
	CHECK(status_at(f, token, 20, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, AKID, SECRET, ""));
	CHECK(status_at(f, token, 21, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, AKID, SECRET, "I"));
	CHECK(parse_n(f, len, NULL, &c) == VIGIL_CRED_FOUND);
	CHECK(creds_are(&c, AKID, SECRET, TOKEN));
}

/* Whether the len bytes at buf hold the string s. */
static bool
holds(const char *buf, size_t len, const char *s)
{
	size_t		n = strlen(s);

	for (size_t at = 0; at + n <= len; at++)
		if (memcmp(buf + at, s, n) == 0)
			return true;
	return false;
}

/*
 * Random bytes and random mutations never crash or overread; credentials
 * found are values the text holds, within their limits; and the loop meets
 * both found credentials and malformed files.
 */
static void
random_garbage(void)
{
	static const char alphabet[] = "[]=:#; \t\r\naws_ecrtkyid\vDEFAULT";
	const char *f = "[default]\naws_access_key_id = a\n"
		"aws_secret_access_key = b\n  x\n[DEFAULT]\naws_session_token = t\n";
	uint64_t	state = 11;
	char		buf[256];
	size_t		len,
				k;
	VigilAwsCredentials c;
	int			i,
				found = 0,
				malformed = 0;

	for (i = 0; i < 30000; i++)
	{
		VigilCredStatus st;

		if (i % 2)
		{
			len = unit_bits64(&state) % sizeof(buf);
			for (k = 0; k < len; k++)
				buf[k] = alphabet[unit_bits64(&state) % (sizeof(alphabet) - 1)];
		}
		else
		{
			len = strlen(f);
			memcpy(buf, f, len);
			for (k = 0; k < 2; k++)
				buf[unit_bits64(&state) % len] =
					alphabet[unit_bits64(&state) % (sizeof(alphabet) - 1)];
		}
		st = parse_n(buf, len, i % 3 ? NULL : "DEFAULT", &c);
		if (st == VIGIL_CRED_FOUND)
		{
			found++;
			CHECK(c.access_key_id[0] != '\0' && c.secret_access_key[0] != '\0');
			CHECK(holds(buf, len, c.access_key_id));
			CHECK(holds(buf, len, c.secret_access_key));
		}
		malformed += (st == VIGIL_CRED_MALFORMED);
	}
	CHECK(found > 0 && malformed > 0);
}

int
main(void)
{
	RUN(basic_profiles);
	RUN(syntax_variants);
	RUN(comments);
	RUN(session_tokens);
	RUN(incomplete);
	RUN(default_section);
	RUN(duplicates);
	RUN(continuation_lines);
	RUN(malformed);
	RUN(unicode_text);
	RUN(value_lengths);
	RUN(every_prefix);
	RUN(random_garbage);
	return UNIT_DONE();
}
