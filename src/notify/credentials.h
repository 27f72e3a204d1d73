/*
 * credentials.h
 *		AWS credentials, found the way AWS SDKs find them.
 */
#ifndef VIGIL_CREDENTIALS_H
#define VIGIL_CREDENTIALS_H

#include "postgres.h"

#include <time.h>

/* One set of credentials and where it came from. */
typedef struct VigilCredentials
{
	char		access_key_id[129];
	char		secret_access_key[129];
	char		session_token[4097];	/* empty for long-term keys */
	time_t		expiration;		/* 0: does not expire */
	const char *source;			/* "settings", "environment", ... */
} VigilCredentials;

extern bool vigil_credentials_get(VigilCredentials *out, char **why);
extern void vigil_credentials_reset(void);

#endif							/* VIGIL_CREDENTIALS_H */
