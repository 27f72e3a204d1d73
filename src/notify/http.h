/*
 * http.h
 *		libcurl handles set up alike for every request vigil makes.
 */
#ifndef VIGIL_HTTP_H
#define VIGIL_HTTP_H

#include "postgres.h"

#include <curl/curl.h>

#include "notify/core/buf.h"
#include "notify/core/url.h"
#include "notify/credentials.h"

/* The most of an SNS or CloudWatch answer vigil reads: they are a few kB. */
#define VIGIL_HTTP_MAX_RESPONSE (1024 * 1024)

/*
 * A response body, collected up to max bytes: a peer that sends more fails
 * the transfer (too_large), so what a server sends never grows the
 * worker's memory beyond that.
 */
typedef struct VigilHttpResponse
{
	VigilBuf	body;
	size_t		max;
	bool		too_large;
} VigilHttpResponse;

extern void vigil_http_setup(CURL *curl, const char *url, struct curl_slist *headers,
							 char *errbuf, long timeout_ms, bool verify);
extern char *vigil_http_printable(const char *text);
extern void vigil_http_collect_into(CURL *curl, VigilHttpResponse *response, size_t max);
extern char *vigil_http_failure(const VigilHttpResponse *response, CURLcode result,
								const char *errbuf);
extern const char *vigil_http_aws_post(const char *url, const VigilUrl *u, const char *service,
									   const char *region, const VigilCredentials *creds,
									   const VigilBuf *body, VigilHttpResponse *response,
									   char *errbuf, struct curl_slist **headers, CURL **curl);

#endif							/* VIGIL_HTTP_H */
