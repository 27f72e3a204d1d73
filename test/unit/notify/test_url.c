/*
 * test_url.c
 *		Unit tests for percent-encoding, form bodies and endpoint URLs.
 *
 * test_sigv4.c also checks form bodies and Host values against botocore.
 */
#include <stdbool.h>
#include <string.h>

#include "notify/core/buf.h"
#include "notify/core/url.h"
#include "unit.h"

/* Encode a C string into a static buffer, for compact checks. */
static const char *
enc(const char *s, bool encode_slash)
{
	static char buf[1024];

	vigil_uri_encode(buf, s, strlen(s), encode_slash);
	return buf;
}

/* Unreserved bytes are kept, every other byte becomes %XX in uppercase. */
static void
uri_encoding(void)
{
	char		buf[3 * 256 + 1];
	unsigned char all[256];
	size_t		n,
				i;
	VigilBuf	b = VIGIL_BUF_INIT;

	CHECK(strcmp(enc("AZaz09-_.~", true), "AZaz09-_.~") == 0);
	CHECK(strcmp(enc("+", true), "%2B") == 0);
	CHECK(strcmp(enc("a b", true), "a%20b") == 0);
	CHECK(strcmp(enc("/x/", true), "%2Fx%2F") == 0);
	CHECK(strcmp(enc("/x/", false), "/x/") == 0);
	CHECK(strcmp(enc("\xc3\xa9", true), "%C3%A9") == 0);	/* é */
	CHECK(strcmp(enc("\xe2\x82\xac", true), "%E2%82%AC") == 0);	/* € */
	CHECK(strcmp(enc("a=b&c", true), "a%3Db%26c") == 0);
	CHECK(strcmp(enc("%*!'()", true), "%25%2A%21%27%28%29") == 0);
	CHECK(strcmp(enc("", true), "") == 0);

	/* a NUL inside srclen is a byte like any other */
	n = vigil_uri_encode(buf, "a\0b", 3, true);
	CHECK(n == 5 && strcmp(buf, "a%00b") == 0);

	/* every byte, and measuring agrees with writing */
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char) i;
	n = vigil_uri_encode(NULL, all, 256, true);
	CHECK(n == vigil_uri_encode(buf, all, 256, true));
	CHECK(n == strlen(buf));
	CHECK(n == 66 + 3 * (256 - 66));	/* 66 unreserved bytes */
	for (i = 0; i < 256; i++)
	{
		char		one[4];
		bool		unreserved = (i >= 'A' && i <= 'Z') ||
			(i >= 'a' && i <= 'z') || (i >= '0' && i <= '9') ||
			i == '-' || i == '_' || i == '.' || i == '~';
		char		want[4];

		vigil_uri_encode(one, &all[i], 1, true);
		if (unreserved)
			snprintf(want, sizeof(want), "%c", (int) i);
		else
			snprintf(want, sizeof(want), "%%%02X", (unsigned) i);
		CHECK(strcmp(one, want) == 0);
	}

	CHECK(vigil_buf_append_str(&b, "x="));
	CHECK(vigil_buf_append_uri(&b, "1 + 1/2", 7, true));
	CHECK(b.len == strlen(b.data) && strcmp(b.data, "x=1%20%2B%201%2F2") == 0);
	vigil_buf_free(&b);
}

/* Form bodies: encoded pairs joined by '&', all or nothing per pair. */
static void
form_building(void)
{
	VigilBuf	f = VIGIL_BUF_INIT;

	CHECK(vigil_form_add(&f, "Action", "Publish"));
	CHECK(strcmp(f.data, "Action=Publish") == 0);
	CHECK(vigil_form_add(&f, "TopicArn",
						 "arn:aws:sns:eu-west-1:123456789012:alerts"));
	CHECK(vigil_form_add(&f, "Message", "1+1=2 & caf\xc3\xa9 100%"));
	CHECK(vigil_form_add(&f, "Empty", ""));
	CHECK(vigil_form_add(&f, "A.member.1 x", "/~"));
	CHECK(strcmp(f.data,
				 "Action=Publish"
				 "&TopicArn=arn%3Aaws%3Asns%3Aeu-west-1%3A123456789012%3Aalerts"
				 "&Message=1%2B1%3D2%20%26%20caf%C3%A9%20100%25"
				 "&Empty="
				 "&A.member.1%20x=%2F~") == 0);
	CHECK(f.len == strlen(f.data));

	/* a value given by length may hold any byte */
	vigil_buf_reset(&f);
	CHECK(vigil_form_add_len(&f, "Bin", "a\0\n\xff" "tail", 4));
	CHECK(strcmp(f.data, "Bin=a%00%0A%FF") == 0);
	vigil_buf_free(&f);
}

/* Parse url and check its scheme, port, Host value and path. */
static void
check_url(const char *url, bool https, int port, const char *host,
		  const char *path)
{
	VigilUrl	u;

	if (!vigil_url_parse(url, &u))
	{
		printf("#   %s refused\n", url);
		unit_case_failed = 1;
		return;
	}
	CHECK(u.https == https);
	CHECK(u.port == port);
	if (strcmp(u.host, host) != 0 || strcmp(u.path, path) != 0)
	{
		printf("#   %s: host %s, path %s; want %s, %s\n", url, u.host, u.path,
			   host, path);
		unit_case_failed = 1;
	}
}

/* Endpoint URLs: default ports omitted from Host, malformed ones refused. */
static void
url_parsing(void)
{
	VigilUrl	u;
	char		longurl[VIGIL_URL_PATH_MAX + 64];

	check_url("https://sns.eu-west-1.amazonaws.com", true, 443,
			  "sns.eu-west-1.amazonaws.com", "/");
	check_url("https://sns.eu-west-1.amazonaws.com:443/", true, 443,
			  "sns.eu-west-1.amazonaws.com", "/");
	check_url("http://127.0.0.1:4566/", false, 4566, "127.0.0.1:4566", "/");
	check_url("http://127.0.0.1:80", false, 80, "127.0.0.1", "/");
	check_url("https://h:80/", true, 80, "h:80", "/");
	check_url("http://h:443/", false, 443, "h:443", "/");
	check_url("HTTP://LocalStack:4566/a/b%20c/", false, 4566,
			  "localstack:4566", "/a/b%20c/");
	check_url("http://[::1]:4566/", false, 4566, "[::1]:4566", "/");
	check_url("https://[2001:DB8::1]/x", true, 443, "[2001:db8::1]", "/x");
	check_url("http://[::ffff:127.0.0.1]:8080", false, 8080,
			  "[::ffff:127.0.0.1]:8080", "/");
	check_url("http://h:00080/", false, 80, "h", "/");
	check_url("http://h:65535/", false, 65535, "h:65535", "/");
	/* an empty port is the default one (RFC 3986, 3.2.3) */
	check_url("http://h:/", false, 80, "h", "/");

	CHECK(!vigil_url_parse(NULL, &u));
	CHECK(!vigil_url_parse("", &u));
	CHECK(!vigil_url_parse("sns.eu-west-1.amazonaws.com", &u));
	CHECK(!vigil_url_parse("ftp://h/", &u));
	CHECK(!vigil_url_parse("http:/h/", &u));
	CHECK(!vigil_url_parse("http://", &u));
	CHECK(!vigil_url_parse("http:///x", &u));
	CHECK(!vigil_url_parse("http://:80/", &u));
	CHECK(!vigil_url_parse("http://h:0/", &u));
	CHECK(!vigil_url_parse("http://h:65536/", &u));
	CHECK(!vigil_url_parse("http://h:99999999999999999999/", &u));
	CHECK(!vigil_url_parse("http://h:80x/", &u));
	CHECK(!vigil_url_parse("http://user:pw@h/", &u));
	CHECK(!vigil_url_parse("http://h/?Action=Publish", &u));
	CHECK(!vigil_url_parse("http://h?x", &u));
	CHECK(!vigil_url_parse("http://h/#frag", &u));
	CHECK(!vigil_url_parse("http://h h/", &u));
	CHECK(!vigil_url_parse("http://h/a b", &u));
	CHECK(!vigil_url_parse("http://h/a\r\nX: y", &u));
	CHECK(!vigil_url_parse("http://[::1/", &u));
	CHECK(!vigil_url_parse("http://[]/", &u));
	CHECK(!vigil_url_parse("http://[1.2.3.4]/", &u));
	CHECK(!vigil_url_parse("http://[::g]/", &u));
	CHECK(!vigil_url_parse("http://[::1]x/", &u));
	CHECK(!vigil_url_parse("http://h\xC3\xA9llo/", &u));

	/* a path of VIGIL_URL_PATH_MAX bytes does not fit with its NUL */
	strcpy(longurl, "http://h");
	memset(longurl + 8, 'a', VIGIL_URL_PATH_MAX);
	longurl[8] = '/';
	longurl[8 + VIGIL_URL_PATH_MAX] = '\0';
	CHECK(!vigil_url_parse(longurl, &u));
	longurl[8 + VIGIL_URL_PATH_MAX - 1] = '\0';
	CHECK(vigil_url_parse(longurl, &u) &&
		  strlen(u.path) == VIGIL_URL_PATH_MAX - 1);
}

int
main(void)
{
	RUN(uri_encoding);
	RUN(form_building);
	RUN(url_parsing);
	return UNIT_DONE();
}
