/*
 * http.c
 *		libcurl handles set up alike for every request vigil makes.
 *
 * SNS, CloudWatch and the metadata services are reached the same way: http
 * or https only (no redirects to other protocols), no signals (the worker
 * owns its signal handlers), a whole-request timeout, and TLS peer and host
 * verification against vigil.ca_file or the system's CAs.  SNS and
 * CloudWatch requests are also built alike: a form body POSTed to the Query
 * API, signed with SigV4.
 */
#include "postgres.h"

#include <time.h>

#include "guc.h"
#include "notify/core/sigv4.h"
#include "notify/http.h"

/*
 * Point curl at url with the given header lines, errors into errbuf
 * (CURL_ERROR_SIZE bytes); verify false turns TLS verification off.
 */
void
vigil_http_setup(CURL *curl, const char *url, struct curl_slist *headers,
				 char *errbuf, long timeout_ms, bool verify)
{
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
	if (vigil_ca_file[0] != '\0')
		curl_easy_setopt(curl, CURLOPT_CAINFO, vigil_ca_file);
}

/*
 * Text from a server made safe to store and log whatever the database
 * encoding: printable ASCII, anything else as '?'.
 */
char *
vigil_http_printable(const char *text)
{
	char	   *s = pstrdup(text);

	for (char *p = s; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	return s;
}

/*
 * libcurl write callback: append to the VigilHttpResponse given as
 * CURLOPT_WRITEDATA, up to its max.
 */
static size_t
collect(char *data, size_t size, size_t nmemb, void *arg)
{
	VigilHttpResponse *r = (VigilHttpResponse *) arg;
	size_t		n = size * nmemb;

	/* a short count makes libcurl fail the transfer; never longjmp here */
	if (n > r->max - r->body.len)
	{
		r->too_large = true;
		return 0;
	}
	if (!vigil_buf_append(&r->body, data, n))
		return 0;
	return n;
}

/* Collect curl's response body into *response (empty now), at most max bytes. */
void
vigil_http_collect_into(CURL *curl, VigilHttpResponse *response, size_t max)
{
	vigil_buf_reset(&response->body);
	response->max = max;
	response->too_large = false;
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, response);
}

/* Why a transfer that ended with result failed, for people (palloc'd). */
char *
vigil_http_failure(const VigilHttpResponse *response, CURLcode result, const char *errbuf)
{
	if (response->too_large)
		return psprintf("the response was longer than %zu bytes", response->max);
	return vigil_http_printable(errbuf[0] ? errbuf : curl_easy_strerror(result));
}

/* Append a header line to *headers, as libcurl wants it; false when out of memory. */
static bool
add_header(struct curl_slist **headers, const char *name, const char *value)
{
	char	   *line = psprintf("%s: %s", name, value);
	struct curl_slist *l = curl_slist_append(*headers, line);

	pfree(line);
	if (l == NULL)
		return false;
	*headers = l;
	return true;
}

/*
 * Set up an AWS Query API request: body POSTed to url (parsed into u),
 * signed with SigV4 for service in region, its response collected into
 * response and libcurl's errors into errbuf.  The header lines go to
 * *headers (the caller frees them, after the handle), the handle to *curl.
 * Returns NULL, or why the request cannot be made.
 */
const char *
vigil_http_aws_post(const char *url, const VigilUrl *u, const char *service,
					const char *region, const VigilCredentials *creds,
					const VigilBuf *body, VigilHttpResponse *response,
					char *errbuf, struct curl_slist **headers, CURL **curl)
{
	const char *content_type = "application/x-www-form-urlencoded; charset=utf-8";
	VigilSigV4Request sr;
	VigilSigV4Result sig;
	bool		ok;

	memset(&sr, 0, sizeof(sr));
	sr.method = "POST";
	sr.host = u->host;
	sr.path = u->path;
	sr.content_type = content_type;
	sr.body = body->data;
	sr.body_len = body->len;
	sr.region = region;
	sr.service = service;
	sr.access_key_id = creds->access_key_id;
	sr.secret_access_key = creds->secret_access_key;
	sr.session_token = creds->session_token;
	sr.now = time(NULL);
	if (!vigil_sigv4_sign(&sr, &sig))
		return "could not sign the request (invalid credentials or region?)";
	/* the signed Host, exactly: libcurl's own may differ in case or port */
	ok = add_header(headers, "Host", u->host) &&
		add_header(headers, "Content-Type", content_type) &&
		add_header(headers, "X-Amz-Date", sig.x_amz_date) &&
		add_header(headers, "Authorization", sig.authorization.data) &&
		(creds->session_token[0] == '\0' ||
		 add_header(headers, "X-Amz-Security-Token", creds->session_token)) &&
		add_header(headers, "Expect", "");
	vigil_sigv4_result_free(&sig);
	if (!ok)
		return "out of memory building the request";

	*curl = curl_easy_init();
	if (*curl == NULL)
		return "could not create a libcurl handle";
	vigil_http_setup(*curl, url, *headers, errbuf, vigil_request_timeout_ms, vigil_tls_verify);
	curl_easy_setopt(*curl, CURLOPT_POSTFIELDS, body->data);
	curl_easy_setopt(*curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body->len);
	vigil_http_collect_into(*curl, response, VIGIL_HTTP_MAX_RESPONSE);
	return NULL;
}
