/*
 * snsxml.c
 *		Reading Amazon SNS's XML responses: Publish, PublishBatch, errors.
 *
 * See snsxml.h.  Everything works on [begin, end) ranges of the input, so
 * a truncated or hostile document can make a parse fail but never make it
 * read outside the buffer.
 */
#include "notify/core/snsxml.h"

#include <stdint.h>
#include <string.h>

#include "notify/core/utf8.h"

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

/* Whether c is XML white space. */
static inline bool
xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Where the markup starting with the '<' at p ends, when it is a comment,
 * a CDATA section or a processing instruction (<?xml ...?>): their bytes are
 * not markup, so an element inside a comment, say, must not be found.
 * Returns the byte after it, p itself for any other markup, and NULL when it
 * is cut short or is another <!...> declaration such as a DOCTYPE, whose
 * entity definitions we could not honour.
 */
static const char *
skip_special(const char *p, const char *end)
{
	size_t		avail = (size_t) (end - p);
	const char *e;

	if (avail >= 4 && memcmp(p, "<!--", 4) == 0)
	{
		e = find(p + 4, end, "-->", 3);
		return e != NULL ? e + 3 : NULL;
	}
	if (avail >= 9 && memcmp(p, "<![CDATA[", 9) == 0)
	{
		e = find(p + 9, end, "]]>", 3);
		return e != NULL ? e + 3 : NULL;
	}
	if (avail >= 2 && p[1] == '?')
	{
		e = find(p + 2, end, "?>", 2);
		return e != NULL ? e + 2 : NULL;
	}
	if (avail >= 2 && p[1] == '!')
		return NULL;
	return p;
}

/*
 * The next '<' in [p, end) that starts a tag rather than a comment, CDATA
 * section or processing instruction; NULL at the end or on markup that
 * skip_special refuses.
 */
static const char *
next_tag(const char *p, const char *end)
{
	const char *after;

	while ((p = find(p, end, "<", 1)) != NULL)
	{
		after = skip_special(p, end);
		if (after == p)
			return p;
		p = after;
	}
	return NULL;
}

/* Whether [p, end) starts with name, then '>', '/' or white space. */
static bool
name_at(const char *p, const char *end, const char *name, size_t nlen)
{
	return (size_t) (end - p) > nlen && memcmp(p, name, nlen) == 0 &&
		(p[nlen] == '>' || p[nlen] == '/' || xml_space(p[nlen]));
}

/*
 * The '>' that ends the start tag whose attributes begin at p: the first
 * one outside quotes, since an attribute value may hold '>'.  NULL if the
 * tag is cut short.
 */
static const char *
tag_end(const char *p, const char *end)
{
	char		quote = 0;

	for (; p < end; p++)
	{
		if (quote != 0)
		{
			if (*p == quote)
				quote = 0;
		}
		else if (*p == '"' || *p == '\'')
			quote = *p;
		else if (*p == '>')
			return p;
		else if (*p == '<')
			return NULL;
	}
	return NULL;
}

/*
 * The content of the first element named name in *in, which starts after
 * the element's end on success (so repeated calls walk siblings).  Tags
 * inside comments, CDATA sections and processing instructions do not
 * count, as they are not tags.
 */
static bool
element(Span *in, const char *name, Span *content)
{
	size_t		nlen = strlen(name);
	const char *p = in->p;
	const char *gt;
	const char *close;
	const char *q = NULL;

	for (;; p++)
	{
		p = next_tag(p, in->end);
		if (p == NULL)
			return false;
		if (name_at(p + 1, in->end, name, nlen))
			break;
	}
	gt = tag_end(p + 1 + nlen, in->end);
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
		close = next_tag(close, in->end);
		if (close == NULL)
			return false;
		if ((size_t) (in->end - close) > 2 + nlen && close[1] == '/' &&
			memcmp(close + 2, name, nlen) == 0)
		{
			/* "</Name", then white space and '>' */
			for (q = close + 2 + nlen; q < in->end && xml_space(*q); q++)
				;
			if (q < in->end && *q == '>')
				break;
		}
	}
	/* in and content may be the same span */
	in->p = q + 1;
	content->p = gt + 1;
	content->end = close;
	return true;
}

/* Where text() writes: out[0 .. n), with room for size bytes with the NUL. */
typedef struct Out
{
	char	   *buf;
	size_t		size;
	size_t		n;
	bool		full;			/* something did not fit */
} Out;

/* Append the k bytes at b to o; false, noting it, when they do not fit. */
static bool
put(Out *o, const char *b, size_t k)
{
	if (o->n + k >= o->size)
	{
		o->full = true;
		return false;
	}
	memcpy(o->buf + o->n, b, k);
	o->n += k;
	return true;
}

/*
 * Append code point cp as UTF-8 to o.  False for a code point that is not
 * an XML character we accept (NUL, a surrogate, beyond U+10FFFF), and when
 * it does not fit (o->full).
 */
static bool
put_utf8(Out *o, uint32_t cp)
{
	char		b[VIGIL_UTF8_MAX];

	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return false;
	return put(o, b, vigil_utf8_encode(cp, b));
}

/*
 * Decode the entity or character reference at p (an '&' before end) into
 * o, and return the byte after its ';'.  NULL when it is not one of XML's
 * five entities or a valid reference, or when it does not fit (o->full).
 */
static const char *
reference(const char *p, const char *end, Out *o)
{
	const char *semi = find(p, end, ";", 1);
	size_t		elen;
	uint32_t	cp = 0;

	if (semi == NULL || semi - p > 10)
		return NULL;
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
			return NULL;
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
				return NULL;
			cp = cp * (hex ? 16 : 10) + (uint32_t) v;
			if (cp > 0x10FFFF)
				return NULL;
		}
	}
	else
		return NULL;
	return put_utf8(o, cp) ? semi + 1 : NULL;
}

/*
 * Decode the text of s into out (size bytes with the NUL), trimming
 * surrounding whitespace: entities and character references decoded,
 * comments and processing instructions dropped, CDATA sections copied as
 * they are.  Other markup, a bad reference or a NUL byte fail.  A text
 * that does not fit fails too, unless cut is true: then it is cut at a
 * character boundary and ends with "...".
 */
static bool
text(Span s, char *out, size_t size, bool cut)
{
	Out			o = {out, size, 0, false};
	const char *p = s.p;
	const char *after;
	size_t		n;

	while (p < s.end && xml_space(*p))
		p++;
	while (s.end > p && xml_space(s.end[-1]))
		s.end--;
	if (size < 4)
		return false;
	while (p < s.end && !o.full)
	{
		if (*p == '&')
		{
			after = reference(p, s.end, &o);
			if (after == NULL && !o.full)
				return false;
			if (after == NULL)
				break;
			p = after;
		}
		else if (*p == '<')
		{
			after = skip_special(p, s.end);
			if (after == NULL || after == p)
				return false;	/* markup inside a value: not what SNS sends */
			if (s.end - p >= 9 && memcmp(p, "<![CDATA[", 9) == 0)
			{
				/* a CDATA section's bytes are text, markup characters too */
				for (p += 9; p < after - 3 && !o.full; p++)
					if (*p == '\0' || !put(&o, p, 1))
						break;
				if (p < after - 3 && !o.full)
					return false;	/* a NUL */
			}
			p = after;
		}
		else if (*p == '\0')
			return false;		/* not an XML character, and it would cut the string */
		else if (put(&o, p, 1))
			p++;
	}
	if (o.full)
	{
		if (!cut)
			return false;
		/*
		 * Back off to a character boundary, leaving room for "...": the
		 * first byte dropped must not continue the character before it.
		 */
		n = o.n + 4 > size ? size - 4 : o.n;
		while (n > 0 && n < o.n && ((unsigned char) out[n] & 0xC0) == 0x80)
			n--;
		memcpy(out + n, "...", 3);
		o.n = n + 3;
	}
	out[o.n] = '\0';
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
