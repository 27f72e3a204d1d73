/*
 * message.h
 *		The SNS message, subject and attributes of one alert.
 */
#ifndef VIGIL_MESSAGE_H
#define VIGIL_MESSAGE_H

#include "postgres.h"

#include "notify/delivery.h"

/* SNS's limit on one message, attributes included (and on a whole batch). */
#define VIGIL_SNS_MAX_BYTES 262144

/* An alert's columns as the claim reads them; the *_json fields are JSON. */
typedef struct VigilAlertText
{
	char	   *topic;			/* the watch's topic; empty: vigil.sns_topic_arn */
	int32		watch_id;
	char	   *relation;
	char	   *key;
	char	   *amount_json;
	char	   *event_time_json;
	double		score;
	char	   *fired_json;
	char	   *fired_list;		/* the same names as "a, b" */
	char	   *explanation_json;
	char	   *row_ref_json;
} VigilAlertText;

extern void vigil_message_build(VigilDelivery *d, const VigilAlertText *a,
								MemoryContext mcxt);
extern size_t vigil_message_size(const VigilDelivery *d);

#endif							/* VIGIL_MESSAGE_H */
