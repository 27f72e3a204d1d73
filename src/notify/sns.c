/*
 * sns.c
 *		Publishing alerts to Amazon SNS over HTTPS with libcurl.
 *
 * Alerts are grouped by topic and sent with the Query API, PublishBatch
 * for up to ten at a time (Publish when only one is due), form-encoded as
 * RFC 3986 requires ('+' as %2B: AWS reads a bare '+' as a space) and
 * signed with Signature Version 4.  Several requests are in flight at once
 * through libcurl's multi interface; the loop that drives them wakes at
 * least every 100 ms to honour SIGTERM and to call the caller's
 * between_polls, so a stop never waits for a slow endpoint.  No transaction
 * is open here.
 *
 * Outcomes, per alert: sent; retry (throttling, 5xx, timeouts, network
 * errors, and batch entries that failed through no fault of ours); dead
 * (any other 4xx: retrying the same request cannot succeed).
 */
#include "postgres.h"

#include <curl/curl.h>

#include "miscadmin.h"

#include "guc.h"
#include "notify/core/arn.h"
#include "notify/core/buf.h"
#include "notify/core/snsxml.h"
#include "notify/core/url.h"
#include "notify/credentials.h"
#include "notify/http.h"
#include "notify/message.h"
#include "notify/sns.h"

/* SNS's most entries per PublishBatch. */
#define BATCH_MAX 10

/* Longest we block in curl before checking for interrupts, in ms. */
#define POLL_MS 100

/* One HTTP request: a Publish or PublishBatch of some deliveries. */
typedef struct Request
{
	VigilDelivery **entries;
	int			n;
	CURL	   *curl;
	struct curl_slist *headers;
	VigilBuf	body;
	VigilHttpResponse response;
	char		error[CURL_ERROR_SIZE];
} Request;

/* Record the same outcome for every entry of a request. */
static void
set_all(Request *r, VigilOutcome outcome, const char *error)
{
	for (int i = 0; i < r->n; i++)
	{
		r->entries[i]->outcome = outcome;
		r->entries[i]->error = vigil_http_printable(error);
	}
}

/* Append one form field, failing the whole request when memory runs out. */
static bool
form(VigilBuf *body, const char *prefix, const char *name, const char *value)
{
	char		field[160];

	snprintf(field, sizeof(field), "%s%s", prefix, name);
	return vigil_form_add(body, field, value);
}

/* The form fields of one message, each name preceded by prefix. */
static bool
form_message(VigilBuf *body, const char *prefix, const VigilDelivery *d)
{
	char		id[32];

	snprintf(id, sizeof(id), INT64_FORMAT, d->alert_id);
	return form(body, prefix, "Message", d->message) &&
		form(body, prefix, "Subject", d->subject) &&
		form(body, prefix, "MessageAttributes.entry.1.Name", "rules") &&
		form(body, prefix, "MessageAttributes.entry.1.Value.DataType", "String.Array") &&
		form(body, prefix, "MessageAttributes.entry.1.Value.StringValue", d->rules) &&
		form(body, prefix, "MessageAttributes.entry.2.Name", "score") &&
		form(body, prefix, "MessageAttributes.entry.2.Value.DataType", "Number") &&
		form(body, prefix, "MessageAttributes.entry.2.Value.StringValue", d->score) &&
		form(body, prefix, "MessageAttributes.entry.3.Name", "relation") &&
		form(body, prefix, "MessageAttributes.entry.3.Value.DataType", "String") &&
		form(body, prefix, "MessageAttributes.entry.3.Value.StringValue", d->relation) &&
		(d->group_id == NULL ||
		 (form(body, prefix, "MessageGroupId", d->group_id) &&
		  form(body, prefix, "MessageDeduplicationId", id)));
}

/* The form body of a request: Publish for one entry, else PublishBatch. */
static bool
form_body(Request *r)
{
	const char *topic = r->entries[0]->topic;

	if (r->n == 1)
		return vigil_form_add(&r->body, "Action", "Publish") &&
			vigil_form_add(&r->body, "Version", "2010-03-31") &&
			vigil_form_add(&r->body, "TopicArn", topic) &&
			form_message(&r->body, "", r->entries[0]);

	if (!vigil_form_add(&r->body, "Action", "PublishBatch") ||
		!vigil_form_add(&r->body, "Version", "2010-03-31") ||
		!vigil_form_add(&r->body, "TopicArn", topic))
		return false;
	for (int i = 0; i < r->n; i++)
	{
		char		prefix[64];
		char		id[32];

		snprintf(prefix, sizeof(prefix), "PublishBatchRequestEntries.member.%d.", i + 1);
		snprintf(id, sizeof(id), "a" INT64_FORMAT, r->entries[i]->alert_id);
		if (!form(&r->body, prefix, "Id", id) ||
			!form_message(&r->body, prefix, r->entries[i]))
			return false;
	}
	return true;
}

/*
 * Build, sign and set up request r for the endpoint; false (with every
 * entry's outcome set) when that cannot be done.
 */
static bool
request_prepare(Request *r, const VigilCredentials *creds)
{
	const char *topic = r->entries[0]->topic;
	char		region[64];
	char	   *url;
	VigilUrl	u;
	const char *why;

	if (vigil_aws_region[0] != '\0')
		strlcpy(region, vigil_aws_region, sizeof(region));
	else if (!vigil_arn_region(topic, region, sizeof(region)))
	{
		set_all(r, VIGIL_OUTCOME_DEAD,
				psprintf("invalid SNS topic ARN \"%s\" and vigil.aws_region is not set", topic));
		return false;
	}
	url = vigil_sns_endpoint[0] != '\0' ? pstrdup(vigil_sns_endpoint)
		: psprintf("https://sns.%s.amazonaws.com/", region);
	if (!vigil_url_parse(url, &u))
	{
		set_all(r, VIGIL_OUTCOME_RETRY, psprintf("invalid SNS endpoint URL \"%s\"", url));
		return false;
	}
	if (!form_body(r))
	{
		set_all(r, VIGIL_OUTCOME_RETRY, "out of memory building the request");
		return false;
	}

	why = vigil_http_aws_post(url, &u, "sns", region, creds, &r->body, &r->response,
							  r->error, &r->headers, &r->curl);
	if (why != NULL)
	{
		set_all(r, VIGIL_OUTCOME_RETRY, why);
		return false;
	}
	curl_easy_setopt(r->curl, CURLOPT_PRIVATE, r);
	return true;
}

/* Whether an AWS error code means "try again later". */
static bool
transient_code(const char *code)
{
	static const char *const codes[] = {
		"Throttling", "Throttled", "ThrottlingException", "ThrottledException",
		"RequestThrottled", "TooManyRequestsException", "KMSThrottling",
		"KMSThrottlingException", "InternalError", "InternalFailure",
		"ServiceUnavailable", "RequestTimeout", "RequestTimeoutException",
		"ExpiredToken", "ExpiredTokenException", "RequestExpired",
	};

	for (size_t i = 0; i < lengthof(codes); i++)
		if (strcmp(code, codes[i]) == 0)
			return true;
	return false;
}

/* The delivery of request r whose batch entry id is id, if any. */
static VigilDelivery *
entry_by_id(Request *r, const char *id)
{
	for (int i = 0; i < r->n; i++)
	{
		char		want[32];

		snprintf(want, sizeof(want), "a" INT64_FORMAT, r->entries[i]->alert_id);
		if (strcmp(want, id) == 0)
			return r->entries[i];
	}
	return NULL;
}

/* Set every entry's outcome from a finished transfer's result. */
static void
request_finish(Request *r, CURLcode result)
{
	long		status = 0;

	if (result != CURLE_OK)
	{
		set_all(r, VIGIL_OUTCOME_RETRY, vigil_http_failure(&r->response, result, r->error));
		return;
	}
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
	/* up, whatever it made of the request: the notifier need not pause */
	for (int i = 0; i < r->n; i++)
		r->entries[i]->answered = status != 429 && status < 500;

	if (status == 200 && r->n == 1)
	{
		VigilSnsPublishResult pr;

		if (vigil_snsxml_publish(r->response.body.data, r->response.body.len, &pr))
		{
			r->entries[0]->outcome = VIGIL_OUTCOME_SENT;
			r->entries[0]->message_id = vigil_http_printable(pr.message_id);
		}
		else
			set_all(r, VIGIL_OUTCOME_RETRY, "unreadable Publish response");
		return;
	}
	if (status == 200)
	{
		VigilSnsBatchResult br;

		if (!vigil_snsxml_publish_batch(r->response.body.data, r->response.body.len, &br))
		{
			set_all(r, VIGIL_OUTCOME_RETRY, "unreadable PublishBatch response");
			return;
		}
		/* entries the response does not mention are retried */
		set_all(r, VIGIL_OUTCOME_RETRY, "not in the PublishBatch response");
		for (int i = 0; i < br.nsuccessful; i++)
		{
			VigilDelivery *d = entry_by_id(r, br.successful[i].id);

			if (d == NULL)
				continue;
			d->outcome = VIGIL_OUTCOME_SENT;
			d->message_id = vigil_http_printable(br.successful[i].message_id);
			d->error = NULL;
		}
		for (int i = 0; i < br.nfailed; i++)
		{
			VigilDelivery *d = entry_by_id(r, br.failed[i].id);

			if (d == NULL)
				continue;
			d->outcome = br.failed[i].sender_fault ? VIGIL_OUTCOME_DEAD : VIGIL_OUTCOME_RETRY;
			d->error = vigil_http_printable(psprintf("%s: %s", br.failed[i].code, br.failed[i].message));
		}
		return;
	}

	/* an error response */
	{
		VigilSnsError err;
		char	   *what;
		bool		transient;

		if (vigil_snsxml_error(r->response.body.data, r->response.body.len, &err))
		{
			/*
			 * Only the first line: AWS follows it with the canonical request
			 * it expected, which holds the session token.
			 */
			err.message[strcspn(err.message, "\r\n")] = '\0';
			what = psprintf("HTTP %ld %s: %s", status, err.code, err.message);
			transient = transient_code(err.code);
			if (strncmp(err.code, "Expired", 7) == 0 || strcmp(err.code, "RequestExpired") == 0)
				vigil_credentials_reset();
		}
		else
		{
			what = psprintf("HTTP %ld", status);
			transient = false;
		}
		if (status == 429 || status >= 500)
			transient = true;
		set_all(r, transient ? VIGIL_OUTCOME_RETRY : VIGIL_OUTCOME_DEAD, what);
	}
}

/* Release what a request holds outside palloc. */
static void
request_free(Request *r)
{
	if (r->curl != NULL)
		curl_easy_cleanup(r->curl);
	r->curl = NULL;
	curl_slist_free_all(r->headers);
	r->headers = NULL;
	vigil_buf_free(&r->body);
	vigil_buf_free(&r->response.body);
}

/*
 * Split the deliveries into requests: by topic, at most BATCH_MAX entries
 * and VIGIL_SNS_MAX_BYTES of messages each.  Returns how many.
 */
static int
plan_requests(VigilDelivery *d, int n, Request **out)
{
	Request    *reqs = palloc0(sizeof(Request) * Max(n, 1));
	bool	   *taken = palloc0(sizeof(bool) * Max(n, 1));
	int			nreqs = 0;

	for (int i = 0; i < n; i++)
	{
		Request    *r;
		size_t		bytes = 0;

		if (taken[i])
			continue;
		r = &reqs[nreqs++];
		r->entries = palloc(sizeof(VigilDelivery *) * BATCH_MAX);
		for (int j = i; j < n && r->n < BATCH_MAX; j++)
		{
			size_t		size = vigil_message_size(&d[j]);

			if (taken[j] || strcmp(d[j].topic, d[i].topic) != 0 ||
				(r->n > 0 && bytes + size > VIGIL_SNS_MAX_BYTES))
				continue;
			taken[j] = true;
			bytes += size;
			r->entries[r->n++] = &d[j];
		}
	}
	*out = reqs;
	return nreqs;
}

/*
 * The multi handle every round sends through.  It outlives the round so
 * that its connection cache does: the next round reuses the open
 * keep-alive connections to SNS instead of paying a TCP and TLS handshake
 * per request.
 */
static CURLM *sns_multi = NULL;

/* The long-lived multi handle, created on first use. */
static CURLM *
get_multi(void)
{
	if (sns_multi == NULL)
	{
		sns_multi = curl_multi_init();
		if (sns_multi == NULL)
			ereport(ERROR, (errmsg("could not create a libcurl multi handle")));
	}
	/* room for every connection a round keeps busy, and no more */
	curl_multi_setopt(sns_multi, CURLMOPT_MAXCONNECTS, (long) vigil_max_in_flight);
	return sns_multi;
}

/*
 * Close the connections kept open for the next round, so that new settings
 * (endpoint, TLS files) apply to every request from now on.
 */
void
vigil_sns_reset(void)
{
	if (sns_multi != NULL)
		curl_multi_cleanup(sns_multi);
	sns_multi = NULL;
}

/*
 * Send n deliveries with the given credentials and set each one's outcome.
 * Returns when every request has finished or timed out.  between_polls is
 * called on every turn of the loop that drives the requests, at least every
 * POLL_MS, with no transaction open; it may end the process.
 */
void
vigil_sns_deliver(VigilDelivery *d, int n, const VigilCredentials *creds,
				  void (*between_polls) (void))
{
	Request    *reqs;
	int			nreqs = plan_requests(d, n, &reqs);
	int			next = 0;
	int			running = 0;
	CURLM	   *multi = get_multi();

	for (int i = 0; i < n; i++)
	{
		if (d[i].topic[0] != '\0')
			continue;
		/* claimed only when a topic applies, but the setting may have changed */
		d[i].outcome = VIGIL_OUTCOME_RETRY;
		d[i].error = pstrdup("no SNS topic: set vigil.sns_topic_arn or the watch's sns_topic_arn");
	}

	PG_TRY();
	{
		while (next < nreqs || running > 0)
		{
			CURLMsg    *msg;
			int			left;

			/* keep up to vigil.max_in_flight requests going */
			while (next < nreqs && running < vigil_max_in_flight)
			{
				Request    *r = &reqs[next++];

				if (r->entries[0]->topic[0] == '\0' || !request_prepare(r, creds))
					continue;
				curl_multi_add_handle(multi, r->curl);
				running++;
			}
			curl_multi_perform(multi, &left);
			while ((msg = curl_multi_info_read(multi, &left)) != NULL)
			{
				Request    *r;

				if (msg->msg != CURLMSG_DONE)
					continue;
				curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &r);
				request_finish(r, msg->data.result);
				curl_multi_remove_handle(multi, r->curl);
				request_free(r);
				running--;
			}
			if (running > 0)
				curl_multi_poll(multi, NULL, 0, POLL_MS, NULL);
			CHECK_FOR_INTERRUPTS();
			between_polls();
		}
	}
	PG_FINALLY();
	{
		for (int i = 0; i < nreqs; i++)
		{
			if (reqs[i].curl != NULL)
				curl_multi_remove_handle(multi, reqs[i].curl);
			request_free(&reqs[i]);
		}
	}
	PG_END_TRY();
}
