/*
 * test_snsxml.c
 *		Unit tests for reading SNS's XML responses.
 */
#include <stdlib.h>
#include <string.h>

#include "notify/core/snsxml.h"
#include "unit.h"

static const char publish[] =
"<?xml version=\"1.0\"?>\n"
"<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\n"
"  <PublishResult>\n    <MessageId>567910cd-659e-55d4-8ccb-5aaf14679dc0</MessageId>\n"
"  </PublishResult>\n  <ResponseMetadata><RequestId>d74b8436</RequestId></ResponseMetadata>\n"
"</PublishResponse>\n";

static const char batch[] =
"<PublishBatchResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishBatchResult>"
"<Failed><member><Code>InternalError</Code><Id>a2</Id><SenderFault>false</SenderFault>"
"<Message>try &amp; again &lt;later&gt; &#233;&#x263A;</Message></member>"
"<member><Id>a3</Id><SenderFault>true</SenderFault><Code>InvalidParameter</Code>"
"<Message>bad</Message></member></Failed>"
"<Successful><member><Id>a1</Id><MessageId>m-1</MessageId></member>"
"<member><MessageId>m-4</MessageId><Id>a4</Id></member></Successful>"
"</PublishBatchResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
"</PublishBatchResponse>";

static const char error[] =
"<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\r\n"
"<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>\r\n"
"<RequestId>9dd01905</RequestId></ErrorResponse>";

/* A Publish response gives its MessageId. */
static void
test_publish(void)
{
	VigilSnsPublishResult r;

	CHECK(vigil_snsxml_publish(publish, strlen(publish), &r));
	CHECK(strcmp(r.message_id, "567910cd-659e-55d4-8ccb-5aaf14679dc0") == 0);
	CHECK(!vigil_snsxml_publish(error, strlen(error), &r));
	CHECK(!vigil_snsxml_publish("<PublishResponse><PublishResult><MessageId></MessageId>"
								"</PublishResult></PublishResponse>", 83, &r));
}

/* A PublishBatch response: members in any order, entities decoded. */
static void
test_batch(void)
{
	VigilSnsBatchResult r;

	CHECK(vigil_snsxml_publish_batch(batch, strlen(batch), &r));
	CHECK(r.nsuccessful == 2 && r.nfailed == 2);
	CHECK(strcmp(r.successful[0].id, "a1") == 0 && strcmp(r.successful[0].message_id, "m-1") == 0);
	CHECK(strcmp(r.successful[1].id, "a4") == 0 && strcmp(r.successful[1].message_id, "m-4") == 0);
	CHECK(strcmp(r.failed[0].id, "a2") == 0 && strcmp(r.failed[0].code, "InternalError") == 0);
	CHECK(!r.failed[0].sender_fault);
	CHECK(strcmp(r.failed[0].message, "try & again <later> \xc3\xa9\xe2\x98\xba") == 0);
	CHECK(strcmp(r.failed[1].id, "a3") == 0 && r.failed[1].sender_fault);
}

/* An error response gives Type, Code and Message. */
static void
test_error(void)
{
	VigilSnsError e;

	CHECK(vigil_snsxml_error(error, strlen(error), &e));
	CHECK(strcmp(e.type, "Sender") == 0);
	CHECK(strcmp(e.code, "Throttling") == 0);
	CHECK(strcmp(e.message, "Rate exceeded") == 0);
	CHECK(!vigil_snsxml_error(publish, strlen(publish), &e));
	CHECK(!vigil_snsxml_error("Service Unavailable", 19, &e));
}

/* A long message is cut with "..."; a long id fails the parse. */
static void
test_limits(void)
{
	char	   *doc = malloc(8192);
	VigilSnsError e;
	VigilSnsBatchResult r;

	strcpy(doc, "<ErrorResponse><Error><Code>X</Code><Message>");
	for (int i = 0; i < 3000; i++)
		strcat(doc, i % 2 ? "\xc3\xa9" : "a");
	strcat(doc, "</Message></Error></ErrorResponse>");
	CHECK(vigil_snsxml_error(doc, strlen(doc), &e));
	CHECK(strlen(e.message) <= VIGIL_SNS_TEXT_MAX);
	CHECK(strcmp(e.message + strlen(e.message) - 3, "...") == 0);

	strcpy(doc, "<PublishBatchResponse><PublishBatchResult><Successful><member><Id>");
	for (int i = 0; i < 100; i++)
		strcat(doc, "x");
	strcat(doc, "</Id><MessageId>m</MessageId></member></Successful></PublishBatchResult></PublishBatchResponse>");
	CHECK(!vigil_snsxml_publish_batch(doc, strlen(doc), &r));

	/* more than ten members */
	strcpy(doc, "<PublishBatchResponse><PublishBatchResult><Successful>");
	for (int i = 0; i < 11; i++)
		strcat(doc, "<member><Id>a</Id><MessageId>m</MessageId></member>");
	strcat(doc, "</Successful></PublishBatchResult></PublishBatchResponse>");
	CHECK(!vigil_snsxml_publish_batch(doc, strlen(doc), &r));
	free(doc);
}

/* Bad entities and stray markup fail cleanly. */
static void
test_malformed(void)
{
	static const char *const bad[] = {
		"<ErrorResponse><Error><Code>A&bogus;</Code></Error></ErrorResponse>",
		"<ErrorResponse><Error><Code>&#0;</Code></Error></ErrorResponse>",
		"<ErrorResponse><Error><Code>&#xD800;</Code></Error></ErrorResponse>",
		"<ErrorResponse><Error><Code>&#99999999;</Code></Error></ErrorResponse>",
		"<ErrorResponse><Error><Code>a<b>c</b></Code></Error></ErrorResponse>",
		"<ErrorResponse><Error><Code>unterminated</Error></ErrorResponse>",
		"<ErrorResponse><Error><Code",
	};
	VigilSnsError e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!vigil_snsxml_error(bad[i], strlen(bad[i]), &e));
}

/* Elements inside comments are not elements: the known bug. */
static void
test_comments(void)
{
	static const char doc[] =
		"<PublishResponse><PublishResult>"
		"<!-- <MessageId>x</MessageId> -->"
		"<MessageId>real-id</MessageId>"
		"</PublishResult></PublishResponse>";
	static const char only_comment[] =
		"<PublishResponse><PublishResult>"
		"<!-- <MessageId>x</MessageId> -->"
		"</PublishResult></PublishResponse>";
	static const char close_in_comment[] =
		"<ErrorResponse><Error><Code>A<!-- </Code> -->B</Code>"
		"<Message>m<!---->n</Message></Error></ErrorResponse>";
	static const char cut_comment[] =
		"<PublishResponse><PublishResult><!-- <MessageId>x</MessageId>"
		"</PublishResult></PublishResponse>";
	VigilSnsPublishResult r;
	VigilSnsError e;

	CHECK(vigil_snsxml_publish(doc, strlen(doc), &r));
	CHECK(strcmp(r.message_id, "real-id") == 0);
	CHECK(!vigil_snsxml_publish(only_comment, strlen(only_comment), &r));
	/* a closing tag in a comment does not close; the comment is dropped */
	CHECK(vigil_snsxml_error(close_in_comment, strlen(close_in_comment), &e));
	CHECK(strcmp(e.code, "AB") == 0);
	CHECK(strcmp(e.message, "mn") == 0);
	/* an unterminated comment hides everything after it */
	CHECK(!vigil_snsxml_publish(cut_comment, strlen(cut_comment), &r));
}

/* CDATA sections and processing instructions are not markup either. */
static void
test_cdata_and_pi(void)
{
	static const char hidden[] =
		"<?xml version=\"1.0\"?><?x <MessageId>pi</MessageId> ?>"
		"<PublishResponse><PublishResult>"
		"<![CDATA[<MessageId>cdata</MessageId>]]>"
		"<MessageId>id-1</MessageId></PublishResult></PublishResponse>";
	static const char value[] =
		"<ErrorResponse><Error><Code><![CDATA[Bad<&>]]>Code</Code>"
		"<Message>a<?pi x?>b<![CDATA[]]></Message></Error></ErrorResponse>";
	static const char *const bad[] = {
		/* a DOCTYPE could define entities we do not know */
		"<!DOCTYPE r [<!ENTITY e \"x\">]><ErrorResponse><Error><Code>&e;</Code></Error></ErrorResponse>",
		"<ErrorResponse><Error><Code><![CDATA[x]></Code></Error></ErrorResponse>",
		"<ErrorResponse><Error><Code>x<?pi</Code></Error></ErrorResponse>",
		"<ErrorResponse><Error><Code>x<!</Code></Error></ErrorResponse>",
	};
	VigilSnsPublishResult r;
	VigilSnsError e;

	CHECK(vigil_snsxml_publish(hidden, strlen(hidden), &r));
	CHECK(strcmp(r.message_id, "id-1") == 0);
	CHECK(vigil_snsxml_error(value, strlen(value), &e));
	CHECK(strcmp(e.code, "Bad<&>Code") == 0);
	CHECK(strcmp(e.message, "ab") == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!vigil_snsxml_error(bad[i], strlen(bad[i]), &e));
}

/* Quoted '>' in attributes, white space in closing tags. */
static void
test_tags(void)
{
	static const char doc[] =
		"<PublishResponse a='>' b=\"/>\"><PublishResult >"
		"<MessageId\n x=\">\">m-2</MessageId\n></PublishResult ></PublishResponse>";
	VigilSnsPublishResult r;

	CHECK(vigil_snsxml_publish(doc, strlen(doc), &r));
	CHECK(strcmp(r.message_id, "m-2") == 0);
}

/*
 * A bad reference in a message that is cut to fit fails that field rather
 * than ending it early with "..."; a NUL byte fails a value instead of
 * silently shortening it.
 */
static void
test_bad_text(void)
{
	static const char bad_ref[] =
		"<ErrorResponse><Error><Code>C</Code><Message>ok &#0; more</Message>"
		"</Error></ErrorResponse>";
	static const char nul[] =
		"<PublishResponse><PublishResult><MessageId>ab\0cd</MessageId>"
		"</PublishResult></PublishResponse>";
	VigilSnsError e;
	VigilSnsPublishResult r;

	CHECK(vigil_snsxml_error(bad_ref, strlen(bad_ref), &e));
	CHECK(strcmp(e.code, "C") == 0);
	CHECK(strcmp(e.message, "") == 0);
	CHECK(!vigil_snsxml_publish(nul, sizeof(nul) - 1, &r));
}

/*
 * Every prefix of each document, in an exact-size heap copy (so that
 * AddressSanitizer sees any read past the end), fails until it holds the
 * whole document element, and then reads as the complete document does;
 * no prefix reads as another kind of response.
 */
static void
test_prefixes(void)
{
	const char *docs[] = {publish, batch, error};
	const char *ends[] = {"</PublishResponse>", "</PublishBatchResponse>",
	"</ErrorResponse>"};

	for (int d = 0; d < 3; d++)
	{
		size_t		len = strlen(docs[d]);
		size_t		whole = (size_t) (strstr(docs[d], ends[d]) - docs[d]) +
			strlen(ends[d]);

		for (size_t n = 0; n <= len; n++)
		{
			char	   *copy = malloc(n ? n : 1);
			VigilSnsPublishResult p;
			VigilSnsBatchResult b;
			VigilSnsError e;
			bool		got_p,
						got_b,
						got_e;

			memcpy(copy, docs[d], n);
			got_p = vigil_snsxml_publish(copy, n, &p);
			got_b = vigil_snsxml_publish_batch(copy, n, &b);
			got_e = vigil_snsxml_error(copy, n, &e);
			free(copy);
			CHECK(got_p == (d == 0 && n >= whole));
			CHECK(got_b == (d == 1 && n >= whole));
			CHECK(got_e == (d == 2 && n >= whole));
			if (got_p)
				CHECK(strcmp(p.message_id, "567910cd-659e-55d4-8ccb-5aaf14679dc0") == 0);
			if (got_b)
				CHECK(b.nsuccessful == 2 && b.nfailed == 2 &&
					  strcmp(b.failed[1].code, "InvalidParameter") == 0);
			if (got_e)
				CHECK(strcmp(e.code, "Throttling") == 0 &&
					  strcmp(e.message, "Rate exceeded") == 0);
		}
	}
}

int
main(void)
{
	RUN(test_publish);
	RUN(test_batch);
	RUN(test_error);
	RUN(test_limits);
	RUN(test_malformed);
	RUN(test_comments);
	RUN(test_cdata_and_pi);
	RUN(test_tags);
	RUN(test_bad_text);
	RUN(test_prefixes);
	return UNIT_DONE();
}
