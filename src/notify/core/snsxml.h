/*
 * snsxml.h
 *		Reading Amazon SNS's XML responses: Publish, PublishBatch, errors.
 *
 * Not a general XML parser: SNS's responses are small documents of
 * elements and text, and the notifier needs a handful of values from them.
 * An element is found by name (with or without attributes such as xmlns,
 * whose quoted values may hold '>'), its text runs to the matching closing
 * tag (white space allowed before its '>'), and the five predefined
 * entities and numeric character references are decoded.  Comments,
 * processing instructions (<?xml ...?>) and CDATA sections are not markup:
 * elements inside them are not found, and in a value comments and
 * processing instructions are dropped while a CDATA section's bytes are
 * text.  A DOCTYPE (or any other <!...> declaration) fails the parse, as
 * its entity definitions could not be honoured, and so does a NUL byte or
 * other markup in a value.  Inputs are (buf, len) and need not be
 * NUL-terminated; nothing is read past len.  Ids and codes that do not fit
 * their fields make the parse fail; an error message (for people) is cut
 * to fit and ends with "...".
 */
#ifndef VIGIL_SNSXML_H
#define VIGIL_SNSXML_H

#include <stdbool.h>
#include <stddef.h>

#define VIGIL_SNS_BATCH_MAX 10
#define VIGIL_SNS_ID_MAX 80
#define VIGIL_SNS_MESSAGE_ID_MAX 100
#define VIGIL_SNS_CODE_MAX 64
#define VIGIL_SNS_TEXT_MAX 1024

typedef struct VigilSnsPublishResult
{
	char		message_id[VIGIL_SNS_MESSAGE_ID_MAX + 1];
} VigilSnsPublishResult;

typedef struct VigilSnsBatchSuccess
{
	char		id[VIGIL_SNS_ID_MAX + 1];
	char		message_id[VIGIL_SNS_MESSAGE_ID_MAX + 1];
} VigilSnsBatchSuccess;

typedef struct VigilSnsBatchFailure
{
	char		id[VIGIL_SNS_ID_MAX + 1];
	char		code[VIGIL_SNS_CODE_MAX + 1];
	char		message[VIGIL_SNS_TEXT_MAX + 1];
	bool		sender_fault;
} VigilSnsBatchFailure;

typedef struct VigilSnsBatchResult
{
	int			nsuccessful;
	int			nfailed;
	VigilSnsBatchSuccess successful[VIGIL_SNS_BATCH_MAX];
	VigilSnsBatchFailure failed[VIGIL_SNS_BATCH_MAX];
} VigilSnsBatchResult;

typedef struct VigilSnsError
{
	char		type[VIGIL_SNS_CODE_MAX + 1];
	char		code[VIGIL_SNS_CODE_MAX + 1];
	char		message[VIGIL_SNS_TEXT_MAX + 1];
} VigilSnsError;

extern bool vigil_snsxml_publish(const char *buf, size_t len,
								 VigilSnsPublishResult *out);
extern bool vigil_snsxml_publish_batch(const char *buf, size_t len,
									   VigilSnsBatchResult *out);
extern bool vigil_snsxml_error(const char *buf, size_t len, VigilSnsError *out);

#endif							/* VIGIL_SNSXML_H */
