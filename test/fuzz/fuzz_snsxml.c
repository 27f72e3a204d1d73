/*
 * fuzz_snsxml.c
 *		libFuzzer target: SNS's XML responses (notify/core/snsxml.c), which
 *		come from the network.
 *
 * Each input is parsed as a Publish, a PublishBatch and an error response,
 * and every result must fit its field.  Then the input's bytes are used as
 * two values of a document built here, with the values escaped, split by
 * comments and CDATA sections and surrounded by decoy elements inside
 * comments, CDATA and processing instructions: whatever the values, the
 * parser must read them back exactly (or refuse ones SNS could not send).
 */
#include "fuzz.h"
#include "notify/core/snsxml.h"

/* A growing output buffer; aborts when out of memory. */
typedef struct Doc
{
	char	   *s;
	size_t		n;
	size_t		cap;
} Doc;

/* Append k bytes to d. */
static void
doc_put(Doc *d, const char *b, size_t k)
{
	if (d->n + k > d->cap)
	{
		d->cap = 2 * (d->n + k) + 64;
		d->s = realloc(d->s, d->cap);
		if (d->s == NULL)
			abort();
	}
	memcpy(d->s + d->n, b, k);
	d->n += k;
}

/* Append a NUL-terminated string to d. */
static void
doc_str(Doc *d, const char *s)
{
	doc_put(d, s, strlen(s));
}

/*
 * Append v (k bytes) as XML text, in one of several spellings chosen by
 * style: markup characters as entities, some ASCII as character references,
 * a comment in the middle, or all of it in a CDATA section when it can be.
 */
static void
doc_text(Doc *d, const char *v, size_t k, unsigned style)
{
	char		ref[16];
	size_t		i;
	bool		cdata = (style & 1) != 0;

	for (i = 0; i + 2 < k && cdata; i++)
		if (memcmp(v + i, "]]>", 3) == 0)
			cdata = false;
	if (cdata)
	{
		doc_str(d, "<![CDATA[");
		doc_put(d, v, k);
		doc_str(d, "]]>");
		return;
	}
	for (i = 0; i < k; i++)
	{
		unsigned char c = (unsigned char) v[i];

		if (i == k / 2 && (style & 2))
			doc_str(d, "<!-- <Id>decoy</Id> -->");
		if (c == '&')
			doc_str(d, "&amp;");
		else if (c == '<')
			doc_str(d, "&lt;");
		else if (c == '>')
			doc_str(d, (style & 4) ? "&gt;" : ">");
		else if (c == '"' && (style & 8))
			doc_str(d, "&quot;");
		else if (c == '\'' && (style & 8))
			doc_str(d, "&apos;");
		else if (c >= 0x21 && c < 0x7F && ((i + style) % 3 == 0))
		{
			snprintf(ref, sizeof(ref), (style & 16) ? "&#x%X;" : "&#%u;", c);
			doc_str(d, ref);
		}
		else
			doc_put(d, (const char *) &c, 1);
	}
}

/*
 * Whether the parser must read v (k bytes) back exactly as a value of at
 * most max bytes: not empty, no NUL, not starting or ending with white
 * space (values are trimmed), and fitting.
 */
static bool
readable(const char *v, size_t k, size_t max)
{
	static const char ws[] = " \t\r\n";

	return k > 0 && k <= max && memchr(v, '\0', k) == NULL &&
		strchr(ws, v[0]) == NULL && strchr(ws, v[k - 1]) == NULL;
}

/* Parse the input as each kind of response; results must fit. */
static void
parse_raw(const char *buf, size_t len)
{
	VigilSnsPublishResult p;
	VigilSnsBatchResult b;
	VigilSnsError e;
	int			i;

	if (vigil_snsxml_publish(buf, len, &p))
		FUZZ_CHECK(p.message_id[0] != '\0' &&
				   strlen(p.message_id) <= VIGIL_SNS_MESSAGE_ID_MAX);
	if (vigil_snsxml_publish_batch(buf, len, &b))
	{
		FUZZ_CHECK(b.nsuccessful >= 0 && b.nsuccessful <= VIGIL_SNS_BATCH_MAX);
		FUZZ_CHECK(b.nfailed >= 0 && b.nfailed <= VIGIL_SNS_BATCH_MAX);
		for (i = 0; i < b.nsuccessful; i++)
			FUZZ_CHECK(strlen(b.successful[i].id) <= VIGIL_SNS_ID_MAX &&
					   strlen(b.successful[i].message_id) <= VIGIL_SNS_MESSAGE_ID_MAX);
		for (i = 0; i < b.nfailed; i++)
			FUZZ_CHECK(strlen(b.failed[i].id) <= VIGIL_SNS_ID_MAX &&
					   strlen(b.failed[i].code) <= VIGIL_SNS_CODE_MAX &&
					   strlen(b.failed[i].message) <= VIGIL_SNS_TEXT_MAX);
	}
	if (vigil_snsxml_error(buf, len, &e))
		FUZZ_CHECK(e.code[0] != '\0' &&
				   strlen(e.code) <= VIGIL_SNS_CODE_MAX &&
				   strlen(e.type) <= VIGIL_SNS_CODE_MAX &&
				   strlen(e.message) <= VIGIL_SNS_TEXT_MAX);
}

/* Build documents around two values taken from the input; read them back. */
static void
round_trip(const uint8_t *data, size_t size)
{
	unsigned	style = size > 0 ? data[0] : 0;
	size_t		split = size > 1 ? data[1] % size : 0;
	const char *v1 = (const char *) data + (size > 2 ? 2 : size);
	size_t		k1 = split > 2 ? split - 2 : 0;
	const char *v2 = v1 + k1;
	size_t		k2 = size - (size_t) (v2 - (const char *) data);
	Doc			d = {NULL, 0, 0};
	VigilSnsBatchResult b;
	VigilSnsError e;
	bool		ok;

	/* a batch with one success (Id v1, MessageId v2) after decoys */
	doc_str(&d, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<PublishBatchResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
			"<!-- <PublishBatchResult><Successful><member><Id>x</Id> -->"
			"<PublishBatchResult>\n  <Successful>"
			"<?decoy <member><Id>y</Id></member> ?>"
			"<![CDATA[<member><Id>z</Id><MessageId>z</MessageId></member>]]>"
			"<member ");
	doc_str(&d, (style & 32) ? "a='>'" : "b=\"/\"");
	doc_str(&d, "><!-- <Id>w</Id> --><Id>");
	doc_text(&d, v1, k1, style);
	doc_str(&d, (style & 64) ? "</Id \n>" : "</Id>");
	doc_str(&d, "<MessageId>");
	doc_text(&d, v2, k2, style >> 1);
	doc_str(&d, "</MessageId></member></Successful>"
			"<Failed/></PublishBatchResult></PublishBatchResponse>");

	ok = vigil_snsxml_publish_batch(d.s, d.n, &b);
	if (readable(v1, k1, VIGIL_SNS_ID_MAX) &&
		readable(v2, k2, VIGIL_SNS_MESSAGE_ID_MAX))
	{
		FUZZ_CHECK(ok);
		FUZZ_CHECK(b.nsuccessful == 1 && b.nfailed == 0);
		FUZZ_CHECK(strlen(b.successful[0].id) == k1 &&
				   memcmp(b.successful[0].id, v1, k1) == 0);
		FUZZ_CHECK(strlen(b.successful[0].message_id) == k2 &&
				   memcmp(b.successful[0].message_id, v2, k2) == 0);
	}

	/* an error whose message is v1 and v2, cut to fit when long */
	d.n = 0;
	doc_str(&d, "<ErrorResponse><Error><Type>Sender</Type><Code>C</Code><Message>");
	doc_text(&d, v1, k1, style);
	doc_text(&d, v2, k2, style >> 2);
	doc_str(&d, "</Message></Error></ErrorResponse>");
	ok = vigil_snsxml_error(d.s, d.n, &e);
	FUZZ_CHECK(ok && strcmp(e.code, "C") == 0 && strcmp(e.type, "Sender") == 0);
	if (readable(v1, k1 + k2, SIZE_MAX))
	{
		size_t		n = strlen(e.message);

		if (k1 + k2 <= VIGIL_SNS_TEXT_MAX)
			FUZZ_CHECK(n == k1 + k2 && memcmp(e.message, v1, n) == 0);
		else
			/* cut: a prefix of the value, then "..." */
			FUZZ_CHECK(n >= 3 && n <= VIGIL_SNS_TEXT_MAX &&
					   strcmp(e.message + n - 3, "...") == 0 &&
					   memcmp(e.message, v1, n - 3) == 0);
	}
	free(d.s);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer's entry point: one input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_raw((const char *) data, size);
	round_trip(data, size);
	return 0;
}
