/*
 * sns.h
 *		Publishing alerts to Amazon SNS over HTTPS with libcurl.
 */
#ifndef VIGIL_SNS_H
#define VIGIL_SNS_H

#include "postgres.h"

#include "notify/credentials.h"
#include "notify/delivery.h"

extern void vigil_sns_deliver(VigilDelivery *d, int n, const VigilCredentials *creds,
							  void (*between_polls) (void));
extern void vigil_sns_reset(void);

#endif							/* VIGIL_SNS_H */
