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

extern void vigil_http_setup(CURL *curl, const char *url, struct curl_slist *headers,
							 char *errbuf, long timeout_ms, bool verify);
extern char *vigil_http_printable(const char *text);
extern size_t vigil_http_collect(char *data, size_t size, size_t nmemb, void *arg);
extern const char *vigil_http_aws_post(const char *url, const VigilUrl *u, const char *service,
									   const char *region, const VigilCredentials *creds,
									   const VigilBuf *body, VigilBuf *response, char *errbuf,
									   struct curl_slist **headers, CURL **curl);

#endif							/* VIGIL_HTTP_H */
