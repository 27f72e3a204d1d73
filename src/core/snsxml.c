/*
 * snsxml.c
 *		Reading Amazon SNS's XML responses: Publish, PublishBatch, errors.
 *
 * See snsxml.h.  Everything works on [begin, end) ranges of the input, so
 * a truncated or hostile document can make a parse fail but never make it
 * read outside the buffer.
 */
#include "snsxml.h"

#include <stdint.h>
#include <string.h>

#include "utf8.h"

/* A range of the input. */
typedef struct Span
{
	const char *p;
	const char *end;
} Span;

/* The first occurrence of needle (nlen bytes) in [p, end), or NULL. */
static const char *
find(const char *p, const char *end, const char *needle, size_t nlen)
{
	for (; p != NULL && p <= end && (size_t) (end - p) >= nlen; p++)
		if (memcmp(p, needle, nlen) == 0)
			return p;
	return NULL;
}

/*
 * The content of the first element named name in *in, which starts after
 * the content's end on success (so repeated calls walk siblings).
 */
static bool
element(Span *in, const char *name, Span *content)
{
	size_t		nlen = strlen(name);
	const char *p = in->p;

	while ((p = find(p, in->end, "<", 1)) != NULL)
	{
		const char *q = p + 1;
		const char *close;
		const char *gt;

		if ((size_t) (in->end - q) < nlen || memcmp(q, name, nlen) != 0 ||
			q + nlen >= in->end || (q[nlen] != '>' && q[nlen] != ' ' &&
									q[nlen] != '/' && q[nlen] != '\t' &&
									q[nlen] != '\r' && q[nlen] != '\n'))
		{
			p = q;
			continue;
		}
		gt = find(q + nlen, in->end, ">", 1);
		if (gt == NULL)
			return false;
		if (gt[-1] == '/')
		{
			/* <Name/>: empty */
			in->p = gt + 1;
			content->p = content->end = gt + 1;
			return true;
		}
		/* SNS's elements do not nest in themselves: the next closing tag ends it */
		for (close = gt + 1;; close++)
		{
			close = find(close, in->end, "</", 2);
			if (close == NULL)
				return false;
			if ((size_t) (in->end - close - 2) >= nlen + 1 &&
				memcmp(close + 2, name, nlen) == 0 && close[2 + nlen] == '>')
				break;
		}
		/* in and content may be the same span */
		in->p = close + 3 + nlen;
		content->p = gt + 1;
		content->end = close;
		return true;
	}
	return false;
}

/* Append code point cp as UTF-8 to out (at *n, room for size bytes). */
static bool
put_utf8(char *out, size_t size, size_t *n, uint32_t cp)
{
	char		b[VIGIL_UTF8_MAX];
	size_t		k;

	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return false;
	k = vigil_utf8_encode(cp, b);
	if (*n + k >= size)
		return false;
	memcpy(out + *n, b, k);
	*n += k;
	return true;
}

/*
 * Decode the text of s into out (size bytes with the NUL), trimming
 * surrounding whitespace.  A text that does not fit fails, unless cut is
 * true: then it is cut at a character boundary and ends with "...".
 */
static bool
text(Span s, char *out, size_t size, bool cut)
{
	size_t		n = 0;
	const char *p = s.p;

	while (p < s.end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	while (s.end > p && (s.end[-1] == ' ' || s.end[-1] == '\t' ||
						 s.end[-1] == '\r' || s.end[-1] == '\n'))
		s.end--;
	if (size < 4)
		return false;
	while (p < s.end)
	{
		bool		ok;

		if (*p == '&')
		{
			const char *semi = find(p, s.end, ";", 1);
			size_t		elen;
			uint32_t	cp = 0;

			if (semi == NULL || semi - p > 10)
				return false;
			elen = (size_t) (semi - p - 1);
			if (elen == 3 && memcmp(p + 1, "amp", 3) == 0)
				cp = '&';
			else if (elen == 2 && memcmp(p + 1, "lt", 2) == 0)
				cp = '<';
			else if (elen == 2 && memcmp(p + 1, "gt", 2) == 0)
				cp = '>';
			else if (elen == 4 && memcmp(p + 1, "quot", 4) == 0)
				cp = '"';
			else if (elen == 4 && memcmp(p + 1, "apos", 4) == 0)
				cp = '\'';
			else if (elen >= 2 && p[1] == '#')
			{
				bool		hex = p[2] == 'x' || p[2] == 'X';
				const char *d = p + (hex ? 3 : 2);

				if (d == semi)
					return false;
				for (; d < semi; d++)
				{
					int			v;

					if (*d >= '0' && *d <= '9')
						v = *d - '0';
					else if (hex && *d >= 'a' && *d <= 'f')
						v = *d - 'a' + 10;
					else if (hex && *d >= 'A' && *d <= 'F')
						v = *d - 'A' + 10;
					else
						return false;
					cp = cp * (hex ? 16 : 10) + (uint32_t) v;
					if (cp > 0x10FFFF)
						return false;
				}
			}
			else
				return false;
			ok = put_utf8(out, size, &n, cp);
			p = semi + 1;
		}
		else if (*p == '<')
			return false;		/* markup inside a value: not what SNS sends */
		else
		{
			ok = n + 1 < size;
			if (ok)
				out[n++] = *p++;
		}
		if (!ok)
		{
			if (!cut)
				return false;
			/* back off to a character boundary, leaving room for "..." */
			n = n + 4 > size ? size - 4 : n;
			while (n > 0 && ((unsigned char) out[n] & 0xC0) == 0x80)
				n--;
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
	}
	out[n] = '\0';
	return true;
}

/* The text of the first element name in s, as text() decodes it. */
static bool
field(Span s, const char *name, char *out, size_t size, bool cut)
{
	Span		c;

	return element(&s, name, &c) && text(c, out, size, cut);
}

/* Parse a PublishResponse: the MessageId. */
bool
vigil_snsxml_publish(const char *buf, size_t len, VigilSnsPublishResult *out)
{
	Span		doc = {buf, buf + len};
	Span		result;

	memset(out, 0, sizeof(*out));
	if (buf == NULL || !element(&doc, "PublishResponse", &result) ||
		!element(&result, "PublishResult", &result))
		return false;
	return field(result, "MessageId", out->message_id, sizeof(out->message_id), false) &&
		out->message_id[0] != '\0';
}

/* Parse a PublishBatchResponse: the Successful and Failed members. */
bool
vigil_snsxml_publish_batch(const char *buf, size_t len, VigilSnsBatchResult *out)
{
	Span		doc = {buf, buf + len};
	Span		result,
				list,
				member;

	memset(out, 0, sizeof(*out));
	if (buf == NULL || !element(&doc, "PublishBatchResponse", &result) ||
		!element(&result, "PublishBatchResult", &result))
		return false;

	list = result;
	if (element(&list, "Successful", &list))
	{
		while (element(&list, "member", &member))
		{
			VigilSnsBatchSuccess *s;

			if (out->nsuccessful == VIGIL_SNS_BATCH_MAX)
				return false;
			s = &out->successful[out->nsuccessful++];
			if (!field(member, "Id", s->id, sizeof(s->id), false) ||
				!field(member, "MessageId", s->message_id, sizeof(s->message_id), false))
				return false;
		}
	}
	list = result;
	if (element(&list, "Failed", &list))
	{
		while (element(&list, "member", &member))
		{
			VigilSnsBatchFailure *f;
			char		fault[8];

			if (out->nfailed == VIGIL_SNS_BATCH_MAX)
				return false;
			f = &out->failed[out->nfailed++];
			if (!field(member, "Id", f->id, sizeof(f->id), false) ||
				!field(member, "Code", f->code, sizeof(f->code), false))
				return false;
			if (!field(member, "Message", f->message, sizeof(f->message), true))
				f->message[0] = '\0';
			/* SenderFault is required; a missing one is read as ours to retry */
			f->sender_fault = field(member, "SenderFault", fault, sizeof(fault), false) &&
				strcmp(fault, "true") == 0;
		}
	}
	return true;
}

/* Parse an ErrorResponse: Type, Code and Message. */
bool
vigil_snsxml_error(const char *buf, size_t len, VigilSnsError *out)
{
	Span		doc = {buf, buf + len};
	Span		resp,
				err;

	memset(out, 0, sizeof(*out));
	if (buf == NULL || !element(&doc, "ErrorResponse", &resp) ||
		!element(&resp, "Error", &err))
		return false;
	if (!field(err, "Code", out->code, sizeof(out->code), false) || out->code[0] == '\0')
		return false;
	if (!field(err, "Type", out->type, sizeof(out->type), false))
		out->type[0] = '\0';
	if (!field(err, "Message", out->message, sizeof(out->message), true))
		out->message[0] = '\0';
	return true;
}
