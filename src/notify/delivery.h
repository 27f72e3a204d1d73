/*
 * delivery.h
 *		One alert on its way to SNS, as the notifier carries it.
 */
#ifndef VIGIL_DELIVERY_H
#define VIGIL_DELIVERY_H

#include "postgres.h"

/* What became of one delivery attempt. */
typedef enum VigilOutcome
{
	VIGIL_OUTCOME_NONE,			/* not attempted (e.g. no credentials yet) */
	VIGIL_OUTCOME_SENT,
	VIGIL_OUTCOME_RETRY,		/* transient: throttled, 5xx, timeout, network */
	VIGIL_OUTCOME_DEAD			/* permanent: the request itself is wrong */
} VigilOutcome;

/* A claimed alert, its SNS message, and the outcome of sending it. */
typedef struct VigilDelivery
{
	int64		alert_id;
	int32		attempts;		/* including this one */
	char	   *topic;			/* topic ARN */
	char	   *message;		/* JSON body of the SNS message */
	char	   *subject;
	char	   *rules;			/* JSON array of the fired rules' names */
	char	   *relation;
	char	   *score;			/* decimal text, for the Number attribute */
	char	   *group_id;		/* MessageGroupId for FIFO topics, else NULL */
	VigilOutcome outcome;
	bool		answered;		/* the endpoint answered, other than "try later" */
	char	   *message_id;		/* SNS's id, when sent */
	char	   *error;			/* why not, otherwise */
} VigilDelivery;

#endif							/* VIGIL_DELIVERY_H */
