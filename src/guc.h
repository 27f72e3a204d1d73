/*
 * guc.h
 *		pg_vigil's configuration parameters (vigil.*).
 */
#ifndef VIGIL_GUC_H
#define VIGIL_GUC_H

#include "postgres.h"


extern bool vigil_enabled;
extern bool vigil_direct_writes;
extern char *vigil_database;
extern int	vigil_profile_location_cache;
extern int	vigil_train_threads;
extern char *vigil_sns_topic_arn;
extern char *vigil_aws_region;
extern char *vigil_sns_endpoint;
extern char *vigil_cloudwatch_namespace;
extern char *vigil_cloudwatch_endpoint;
extern int	vigil_batch_size;
extern int	vigil_max_attempts;
extern int	vigil_retry_base_ms;
extern int	vigil_retry_max_ms;
extern int	vigil_request_timeout_ms;
extern int	vigil_max_in_flight;
extern char *vigil_ca_file;
extern bool vigil_tls_verify;
extern char *vigil_aws_access_key_id;
extern char *vigil_aws_secret_access_key;
extern char *vigil_aws_session_token;

extern void vigil_guc_init(bool preloading);

#endif							/* VIGIL_GUC_H */
