/*
 * guc.c
 *		pg_vigil's configuration parameters (vigil.*).
 *
 * Everything the notifier reads is PGC_SIGHUP: it is set in
 * postgresql.conf or with ALTER SYSTEM and takes effect on reload, because
 * the worker, not the sessions, is what uses it.  The AWS secrets are
 * superuser-only and left out of SHOW ALL and pg_settings (whose reset_val
 * would show them to pg_read_all_settings), and show hooks mask them from
 * everyone but superusers; redact.c keeps statements that set them out of
 * the log, pg_stat_activity and pg_stat_statements.
 */
#include "postgres.h"

#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "guc.h"
#include "notify/core/cwquery.h"

bool		vigil_enabled = true;
bool		vigil_direct_writes = true;
char	   *vigil_database = NULL;
char	   *vigil_sns_topic_arn = NULL;
char	   *vigil_aws_region = NULL;
char	   *vigil_sns_endpoint = NULL;
char	   *vigil_cloudwatch_namespace = NULL;
char	   *vigil_cloudwatch_endpoint = NULL;
int			vigil_profile_location_cache = 1024;
int			vigil_train_threads = 1;
int			vigil_batch_size = 100;
int			vigil_max_attempts = 10;
int			vigil_retry_base_ms = 500;
int			vigil_retry_max_ms = 300000;
int			vigil_request_timeout_ms = 10000;
int			vigil_max_in_flight = 8;
char	   *vigil_ca_file = NULL;
bool		vigil_tls_verify = true;
char	   *vigil_aws_access_key_id = NULL;
char	   *vigil_aws_secret_access_key = NULL;
char	   *vigil_aws_session_token = NULL;

/*
 * What SHOW and current_setting() display of a secret.  Superuser-only
 * settings stay readable by roles with pg_read_all_settings (pg_monitor
 * among them); secrets must not be, so everyone but superusers sees a mask
 * (empty when unset, so monitoring can still tell which source is in use).
 */
static const char *
show_secret(const char *value)
{
	if (value == NULL || value[0] == '\0' || superuser())
		return value;
	return "********";
}

/* Show hooks of the three secrets: see show_secret. */
static const char *
show_aws_access_key_id(void)
{
	return show_secret(vigil_aws_access_key_id);
}

static const char *
show_aws_secret_access_key(void)
{
	return show_secret(vigil_aws_secret_access_key);
}

static const char *
show_aws_session_token(void)
{
	return show_secret(vigil_aws_session_token);
}

/* Accept only a namespace CloudWatch takes, or empty (no metrics). */
static bool
check_cloudwatch_namespace(char **newval, void **extra pg_attribute_unused(),
						   GucSource source pg_attribute_unused())
{
	if (**newval == '\0' || vigil_cw_namespace_valid(*newval))
		return true;
	GUC_check_errdetail("A CloudWatch namespace is 1 to 255 ASCII characters without control characters, "
						"and starts neither with \":\" nor with \"AWS/\".");
	return false;
}

/*
 * Define the vigil.* parameters; called from _PG_init.  vigil.database is
 * read once, when the postmaster starts the worker, so it exists only when
 * the library is preloaded (PostgreSQL refuses to define a restart-only
 * parameter later).
 */
void
vigil_guc_init(bool preloading)
{
	DefineCustomBoolVariable("vigil.enabled",
							 "Whether the detection triggers score inserted rows.",
							 "Off (an incident switch): rows inserted into watched tables are neither scored, "
							 "nor folded into profiles, nor recorded; vigil.rebuild folds them in later.",
							 &vigil_enabled, true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("vigil.direct_writes",
							 "Whether detection writes profile rows and alerts itself, without SQL statements.",
							 "Off: every profile write goes through INSERT ... ON CONFLICT DO UPDATE and every "
							 "alert through INSERT, slower but independent of PostgreSQL's internals (a safety "
							 "switch).",
							 &vigil_direct_writes, true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vigil.train_threads",
							"Threads vigil.train lets libxgboost use.",
							"Each is a thread inside the training backend, busy for the whole training.",
							&vigil_train_threads, 1, 1, 64,
							PGC_USERSET, 0, NULL, NULL, NULL);
	if (preloading)
		DefineCustomStringVariable("vigil.database",
								   "Database the notifier connects to (where vigil is installed).",
								   NULL, &vigil_database, "postgres",
								   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	if (preloading)
		DefineCustomIntVariable("vigil.profile_location_cache",
								"Shared memory that remembers where profile rows are, so detection can skip the index.",
								"0 turns it off.",
								&vigil_profile_location_cache, 1024, 0, 1024 * 1024,
								PGC_POSTMASTER, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomStringVariable("vigil.sns_topic_arn",
							   "Amazon SNS topic that receives alerts, unless a watch names its own.",
							   NULL, &vigil_sns_topic_arn, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("vigil.aws_region",
							   "AWS region of SNS; empty: the topic ARN's region.",
							   NULL, &vigil_aws_region, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("vigil.sns_endpoint",
							   "SNS endpoint URL; empty: https://sns.REGION.amazonaws.com/.",
							   NULL, &vigil_sns_endpoint, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("vigil.cloudwatch_namespace",
							   "CloudWatch namespace of the AnomalyCount metric; empty: no metrics.",
							   NULL, &vigil_cloudwatch_namespace, "",
							   PGC_SIGHUP, 0, check_cloudwatch_namespace, NULL, NULL);
	DefineCustomStringVariable("vigil.cloudwatch_endpoint",
							   "CloudWatch endpoint URL; empty: https://monitoring.REGION.amazonaws.com/.",
							   NULL, &vigil_cloudwatch_endpoint, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vigil.batch_size",
							"Alerts the notifier claims per round (sent 10 per PublishBatch).",
							NULL, &vigil_batch_size, 100, 1, 10000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vigil.max_attempts",
							"Delivery attempts before an alert is marked dead.",
							NULL, &vigil_max_attempts, 10, 1, 1000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vigil.retry_base_ms",
							"First retry delay cap; doubles per attempt (full jitter).",
							NULL, &vigil_retry_base_ms, 500, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("vigil.retry_max_ms",
							"Largest retry delay.",
							NULL, &vigil_retry_max_ms, 300000, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("vigil.request_timeout_ms",
							"Timeout of one HTTP request to AWS.",
							NULL, &vigil_request_timeout_ms, 10000, 100, 600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("vigil.max_in_flight",
							"HTTP requests the notifier keeps in flight at once.",
							NULL, &vigil_max_in_flight, 8, 1, 64,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("vigil.ca_file",
							   "CA bundle for TLS peer verification; empty: the system's.",
							   NULL, &vigil_ca_file, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("vigil.tls_verify",
							 "Verify the TLS peer and host name (only turn off for testing).",
							 NULL, &vigil_tls_verify, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("vigil.aws_access_key_id",
							   "AWS access key id; empty: environment, shared file, container or instance credentials.",
							   NULL, &vigil_aws_access_key_id, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, show_aws_access_key_id);
	DefineCustomStringVariable("vigil.aws_secret_access_key",
							   "AWS secret access key.",
							   NULL, &vigil_aws_secret_access_key, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, show_aws_secret_access_key);
	DefineCustomStringVariable("vigil.aws_session_token",
							   "AWS session token, for temporary credentials.",
							   NULL, &vigil_aws_session_token, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, show_aws_session_token);
	MarkGUCPrefixReserved("vigil");
}
