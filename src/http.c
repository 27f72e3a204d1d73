/*
 * http.c
 *		libcurl handles set up alike for every request vigil makes.
 *
 * SNS and the metadata services are reached the same way: http or https
 * only (no redirects to other protocols), no signals (the worker owns its
 * signal handlers), a whole-request timeout, and TLS peer and host
 * verification against vigil.ca_file or the system's CAs.
 */
#include "postgres.h"

#include "core/sigv4.h"
#include "guc.h"
#include "http.h"

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
 * libcurl write callback: append the response body to the VigilBuf given
 * as CURLOPT_WRITEDATA.
 */
size_t
vigil_http_collect(char *data, size_t size, size_t nmemb, void *arg)
{
	VigilBuf   *buf = (VigilBuf *) arg;

	/* a short count makes libcurl fail the transfer; never longjmp here */
	if (!vigil_buf_append(buf, data, size * nmemb))
		return 0;
	return size * nmemb;
}
