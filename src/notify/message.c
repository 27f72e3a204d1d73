/*
 * message.c
 *		The SNS message, subject and attributes of one alert.
 *
 * The message is JSON with the alert's fields, for code; the subject is a
 * line for people (email subscribers see it); the attributes (rules,
 * score, relation) let subscribers filter with SNS filter policies
 * without parsing the message.  SNS refuses anything over 256 KB, so an
 * oversized message is trimmed rather than lost: first the explanation,
 * then the row reference, then the key.  On FIFO topics a card's alerts
 * share a message group (its key), so they arrive in order.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/json.h"

#include "guc.h"
#include "notify/core/arn.h"
#include "notify/message.h"

/* SNS limits: Subject length, MessageGroupId length. */
#define SUBJECT_MAX 99
#define GROUP_ID_MAX 128

/* What replaces a trimmed field. */
#define TRIMMED "\"(trimmed: the message exceeded 256 KB)\""

/* The JSON message of alert a, with key, row_ref and explanation as given. */
static char *
message_json(int64 alert_id, const VigilAlertText *a, const char *key,
			 const char *row_ref, const char *explanation)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfo(&s, "{\"alert_id\": " INT64_FORMAT ", \"watch\": %d, \"relation\": ",
					 alert_id, a->watch_id);
	escape_json(&s, a->relation);
	appendStringInfoString(&s, ", \"key\": ");
	escape_json(&s, key);
	appendStringInfo(&s, ", \"amount\": %s, \"event_time\": %s, \"score\": %.17g, "
					 "\"fired\": %s, \"explanation\": %s, \"row_ref\": %s}",
					 a->amount_json, a->event_time_json, a->score, a->fired_json,
					 explanation, row_ref);
	return s.data;
}

/*
 * The subject: "vigil alert: RULES on RELATION, key KEY", cut to SNS's
 * limit, in printable ASCII (anything else becomes '?', as SNS accepts
 * nothing else there).
 */
static char *
subject_line(const VigilAlertText *a, const char *rules)
{
	char	   *s = psprintf("vigil alert: %s on %s, key %s", rules, a->relation, a->key);
	size_t		len = strlen(s);

	if (len > SUBJECT_MAX)
		len = SUBJECT_MAX;
	s[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			s[i] = '?';
	return s;
}

/*
 * The MessageGroupId of a key on a FIFO topic: the key itself when SNS
 * accepts it (1 to 128 printable ASCII characters, no spaces), otherwise a
 * hash of it, which still keeps one card's alerts in one group.
 */
static char *
group_id(const char *key)
{
	size_t		len = strlen(key);
	bool		ok = len > 0 && len <= GROUP_ID_MAX;

	for (size_t i = 0; ok && i < len; i++)
		ok = key[i] > 0x20 && key[i] < 0x7f;
	if (ok)
		return pstrdup(key);
	return psprintf("key-%016llx",
					(unsigned long long) hash_bytes_extended((const unsigned char *) key,
															 (int) len, 0));
}

/* Bytes SNS counts for d: the message and its attributes. */
size_t
vigil_message_size(const VigilDelivery *d)
{
	return strlen(d->message) +
		strlen("rules") + strlen("String.Array") + strlen(d->rules) +
		strlen("score") + strlen("Number") + strlen(d->score) +
		strlen("relation") + strlen("String") + strlen(d->relation);
}

/* Fill in d's topic, message, subject and attributes from alert a. */
void
vigil_message_build(VigilDelivery *d, const VigilAlertText *a, MemoryContext mcxt)
{
	MemoryContext old = MemoryContextSwitchTo(mcxt);
	const char *topic = a->topic[0] != '\0' ? a->topic : vigil_sns_topic_arn;
	char	   *key = a->key;

	d->topic = pstrdup(topic);
	d->rules = pstrdup(a->fired_json);
	d->relation = pstrdup(a->relation);
	d->score = psprintf("%.5f", a->score);
	d->subject = subject_line(a, a->fired_list);
	d->group_id = vigil_arn_is_fifo(topic) ? group_id(a->key) : NULL;
	d->message = message_json(d->alert_id, a, key, a->row_ref_json, a->explanation_json);
	if (vigil_message_size(d) > VIGIL_SNS_MAX_BYTES)
		d->message = message_json(d->alert_id, a, key, a->row_ref_json, TRIMMED);
	if (vigil_message_size(d) > VIGIL_SNS_MAX_BYTES)
		d->message = message_json(d->alert_id, a, key, TRIMMED, TRIMMED);
	if (vigil_message_size(d) > VIGIL_SNS_MAX_BYTES)
	{
		/* a key of more than 256 KB: keep its start, whole characters */
		int			keep = pg_mbcliplen(key, strlen(key), 1024);

		key = pnstrdup(key, keep);
		d->message = message_json(d->alert_id, a, key, TRIMMED, TRIMMED);
	}
	MemoryContextSwitchTo(old);
}
