/*
 * http.h
 *		libcurl handles set up alike for every request vigil makes.
 */
#ifndef VIGIL_HTTP_H
#define VIGIL_HTTP_H

#include "postgres.h"

#include <curl/curl.h>

extern void vigil_http_setup(CURL *curl, const char *url, struct curl_slist *headers,
							 char *errbuf, long timeout_ms, bool verify);

#endif							/* VIGIL_HTTP_H */
