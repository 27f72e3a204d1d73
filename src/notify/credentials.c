/*
 * credentials.c
 *		AWS credentials, found the way AWS SDKs find them.
 *
 * The provider chain, first match wins:
 *
 *	1. the settings vigil.aws_access_key_id / vigil.aws_secret_access_key /
 *	   vigil.aws_session_token (superuser-only);
 *	2. the server's environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *	   AWS_SESSION_TOKEN;
 *	3. the shared credentials file: AWS_SHARED_CREDENTIALS_FILE or
 *	   ~/.aws/credentials of the server's user, profile AWS_PROFILE or
 *	   "default";
 *	4. ECS container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 *	   (on 169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI, with
 *	   AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE) when set;
 *	5. EC2 instance metadata, IMDSv2 only (a session token first), at
 *	   AWS_EC2_METADATA_SERVICE_ENDPOINT or 169.254.169.254, unless
 *	   AWS_EC2_METADATA_DISABLED is true.
 *
 * A source that is half configured (a key id without its secret) is an
 * error, not a reason to try the next one: silently using other
 * credentials than the ones configured would be a surprise.  The result is
 * cached; temporary credentials are fetched again five minutes before they
 * expire, and every source is looked at again every five minutes and on
 * SIGHUP, so rotated keys are picked up.  Secrets are never logged.
 */
#include "postgres.h"

#include <curl/curl.h>
#include <pwd.h>
#include <unistd.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/fd.h"

#include "guc.h"
#include "notify/core/awsjson.h"
#include "notify/core/buf.h"
#include "notify/core/credfile.h"
#include "notify/core/url.h"
#include "notify/credentials.h"
#include "notify/http.h"

/* Refresh temporary credentials this long before they expire. */
#define REFRESH_MARGIN_S 300
/* Look at the sources again after this long, for rotated keys. */
#define RECHECK_S 300
/* Timeout of one request to a metadata service, in ms. */
#define METADATA_TIMEOUT_MS 2000
/* Largest response accepted from a metadata service. */
#define METADATA_MAX_BYTES 65536

static VigilCredentials cache;
static bool cached = false;
static time_t cached_at = 0;

/* Forget the cached credentials, so the next use looks them up again. */
void
vigil_credentials_reset(void)
{
	explicit_bzero(&cache, sizeof(cache));
	cached = false;
}

/* Copy a credential value, failing when it does not fit. */
static bool
copy_value(char *dst, size_t size, const char *src)
{
	return strlcpy(dst, src, size) < size;
}

/* Fill out from key id, secret and token; *why when they are unusable. */
static bool
set_keys(VigilCredentials *out, const char *source, const char *id,
		 const char *secret, const char *token, char **why)
{
	if (id == NULL || id[0] == '\0' || secret == NULL || secret[0] == '\0')
	{
		*why = psprintf("%s: an access key id needs its secret access key, and the other way round", source);
		return false;
	}
	if (!copy_value(out->access_key_id, sizeof(out->access_key_id), id) ||
		!copy_value(out->secret_access_key, sizeof(out->secret_access_key), secret) ||
		!copy_value(out->session_token, sizeof(out->session_token), token ? token : ""))
	{
		*why = psprintf("%s: a credential is too long", source);
		return false;
	}
	out->source = source;
	return true;
}

/* An environment variable, NULL when unset or empty. */
static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The whole of a small file, or NULL (with *why) when it cannot be read. */
static char *
read_small_file(const char *path, size_t *len, char **why)
{
	FILE	   *f = AllocateFile(path, "r");
	StringInfoData s;
	char		chunk[4096];
	size_t		got;

	if (f == NULL)
	{
		*why = psprintf("could not open \"%s\": %m", path);
		return NULL;
	}
	initStringInfo(&s);
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
	{
		if (s.len + got > 1024 * 1024)
		{
			FreeFile(f);
			*why = psprintf("\"%s\" is too large", path);
			return NULL;
		}
		appendBinaryStringInfo(&s, chunk, got);
	}
	FreeFile(f);
	*len = s.len;
	return s.data;
}

/* Source 3: the shared credentials file, if there is one. */
static bool
from_file(VigilCredentials *out, bool *present, char **why)
{
	const char *path = env("AWS_SHARED_CREDENTIALS_FILE");
	const char *profile = env("AWS_PROFILE") ? env("AWS_PROFILE") : "default";
	char	   *home_path = NULL;
	char	   *text;
	size_t		len;
	VigilAwsCredentials cf;
	VigilCredStatus st;

	if (path == NULL)
	{
		const char *home = env("HOME");
		struct passwd *pw = home ? NULL : getpwuid(geteuid());

		if (home == NULL && pw != NULL)
			home = pw->pw_dir;
		if (home == NULL)
			return false;
		home_path = psprintf("%s/.aws/credentials", home);
		path = home_path;
	}
	*present = access(path, F_OK) == 0;
	if (!*present)
		return false;
	if ((text = read_small_file(path, &len, why)) == NULL)
		return false;
	st = vigil_credfile_parse(text, len, profile, &cf);
	explicit_bzero(text, len);
	switch (st)
	{
		case VIGIL_CRED_FOUND:
			break;
		case VIGIL_CRED_NO_PROFILE:
		case VIGIL_CRED_NO_KEYS:
			*present = false;	/* nothing for us there: go on down the chain */
			return false;
		default:
			*why = psprintf("shared credentials file \"%s\", profile \"%s\": %s (line %d)",
							path, profile, cf.why ? cf.why : vigil_cred_status_name(st), cf.line);
			return false;
	}
	if (!set_keys(out, "shared credentials file", cf.access_key_id, cf.secret_access_key,
				  cf.session_token, why))
	{
		explicit_bzero(&cf, sizeof(cf));
		return false;
	}
	explicit_bzero(&cf, sizeof(cf));
	return true;
}

/*
 * One request to a metadata service: method, url, up to two extra header
 * lines.  The body lands in *body (caller frees); false with *why unless
 * the answer is 200.
 */
static bool
metadata_request(const char *method, const char *url, const char *h1, const char *h2,
				 VigilBuf *body, char **why)
{
	CURL	   *curl = curl_easy_init();
	struct curl_slist *headers = NULL;
	CURLcode	rc;
	long		status = 0;
	char		err[CURL_ERROR_SIZE] = "";
	VigilHttpResponse response = {*body, 0, false};

	if (curl == NULL)
	{
		*why = pstrdup("could not create a libcurl handle");
		return false;
	}
	if (h1)
		headers = curl_slist_append(headers, h1);
	if (h2)
		headers = curl_slist_append(headers, h2);
	/* always verified: vigil.tls_verify is for testing SNS endpoints only */
	vigil_http_setup(curl, url, headers, err, METADATA_TIMEOUT_MS, true);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	vigil_http_collect_into(curl, &response, METADATA_MAX_BYTES);
	if (strcmp(method, "PUT") == 0)
	{
		curl_easy_setopt(curl, CURLOPT_UPLOAD, 0L);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
	}
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	*body = response.body;
	if (rc != CURLE_OK)
	{
		*why = psprintf("%s %s: %s", method, url, vigil_http_failure(&response, rc, err));
		return false;
	}
	if (status != 200)
	{
		*why = psprintf("%s %s: HTTP %ld", method, url, status);
		return false;
	}
	return true;
}

/*
 * Temporary credentials from a metadata service's JSON answer (ECS and
 * IMDS use the same field names).
 */
static bool
from_json(VigilCredentials *out, const char *source, const VigilBuf *body, char **why)
{
	char		id[129],
				secret[129],
				token[4097],
				expiration[64];
	bool		fid,
				fsecret,
				ftoken,
				fexp;
	const char *json = body->data ? body->data : "";
	bool		ok;

	ok = vigil_json_get_string(json, body->len, "AccessKeyId", id, sizeof(id), &fid) &&
		vigil_json_get_string(json, body->len, "SecretAccessKey", secret, sizeof(secret), &fsecret) &&
		vigil_json_get_string(json, body->len, "Token", token, sizeof(token), &ftoken) &&
		vigil_json_get_string(json, body->len, "Expiration", expiration, sizeof(expiration), &fexp);
	if (!ok || !fid || !fsecret)
	{
		*why = psprintf("%s: unreadable credentials in the answer", source);
		return false;
	}
	if (!set_keys(out, source, id, secret, ftoken ? token : "", why))
		return false;
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(token, sizeof(token));
	out->expiration = 0;
	if (fexp && !vigil_iso8601_to_time(expiration, strlen(expiration), &out->expiration))
	{
		*why = psprintf("%s: unreadable Expiration \"%s\"", source, expiration);
		return false;
	}
	return true;
}

/*
 * Whether an http:// full URI may be used for container credentials: as in
 * the AWS SDKs, only on loopback or the ECS/EKS agent addresses, since the
 * answer is a secret and plain HTTP elsewhere could be intercepted.
 */
static bool
container_host_allowed(const VigilUrl *u)
{
	if (u->https)
		return true;
	return strncmp(u->host, "127.", 4) == 0 || strncmp(u->host, "[::1]", 5) == 0 ||
		strncmp(u->host, "localhost", 9) == 0 ||
		strncmp(u->host, "169.254.170.2", 13) == 0 ||
		strncmp(u->host, "169.254.170.23", 14) == 0;
}

/* Source 4: ECS (or EKS Pod Identity) container credentials. */
static bool
from_container(VigilCredentials *out, char **why)
{
	const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char *token_file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	char	   *url;
	char	   *auth = NULL;
	VigilBuf	body = VIGIL_BUF_INIT;
	VigilUrl	u;
	bool		ok;

	url = rel ? psprintf("http://169.254.170.2%s", rel) : pstrdup(full);
	if (!vigil_url_parse(url, &u) || !container_host_allowed(&u))
	{
		*why = psprintf("container credentials: \"%s\" is not an allowed URL (https, or http on loopback)", url);
		return false;
	}
	if (token_file != NULL)
	{
		size_t		len;
		char	   *t = read_small_file(token_file, &len, why);

		if (t == NULL)
			return false;
		while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r'))
			t[--len] = '\0';
		auth = psprintf("Authorization: %s", t);
	}
	else if (token != NULL)
		auth = psprintf("Authorization: %s", token);

	ok = metadata_request("GET", url, auth, NULL, &body, why) &&
		from_json(out, "container credentials", &body, why);
	vigil_buf_free(&body);
	return ok;
}

/*
 * What the metadata service returns goes into a header (the session token)
 * and a URL path (the role name): a CR or LF would start another header, a
 * '/' or '?' reach another resource.  A token is printable ASCII without
 * spaces; a role name at most 64 characters of IAM's name set.
 */
static bool
token_ok(const char *s, size_t len)
{
	if (len == 0 || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

/* See token_ok. */
static bool
role_ok(const char *s)
{
	size_t		len = strlen(s);

	return len > 0 && len <= 64 &&
		strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=,.@_-") == len;
}

/* Source 5: EC2 instance metadata, IMDSv2. */
static bool
from_instance(VigilCredentials *out, char **why)
{
	const char *base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	char	   *root;
	char	   *token_header;
	char	   *role;
	VigilBuf	body = VIGIL_BUF_INIT;
	bool		ok;

	if (base == NULL)
		base = "http://169.254.169.254";
	root = pstrdup(base);
	if (root[strlen(root) - 1] == '/')
		root[strlen(root) - 1] = '\0';

	if (!metadata_request("PUT", psprintf("%s/latest/api/token", root),
						  "X-aws-ec2-metadata-token-ttl-seconds: 21600", NULL, &body, why))
		return false;
	if (body.data == NULL || !token_ok(body.data, body.len))
	{
		vigil_buf_free(&body);
		*why = pstrdup("instance metadata: the session token has characters a token cannot have");
		return false;
	}
	token_header = psprintf("X-aws-ec2-metadata-token: %s", body.data);
	vigil_buf_reset(&body);

	if (!metadata_request("GET", psprintf("%s/latest/meta-data/iam/security-credentials/", root),
						  token_header, NULL, &body, why))
	{
		vigil_buf_free(&body);
		return false;
	}
	role = pnstrdup(body.data ? body.data : "", body.len);
	role[strcspn(role, "\r\n")] = '\0';
	vigil_buf_reset(&body);
	if (role[0] == '\0')
	{
		vigil_buf_free(&body);
		*why = pstrdup("instance metadata: no IAM role attached to the instance");
		return false;
	}
	if (!role_ok(role))
	{
		vigil_buf_free(&body);
		*why = pstrdup("instance metadata: the role name has characters an IAM role name cannot have");
		return false;
	}
	ok = metadata_request("GET", psprintf("%s/latest/meta-data/iam/security-credentials/%s", root, role),
						  token_header, NULL, &body, why) &&
		from_json(out, "instance metadata", &body, why);
	vigil_buf_free(&body);
	return ok;
}

/* Walk the chain; false with *why when no source has credentials. */
static bool
resolve(VigilCredentials *out, char **why)
{
	bool		present = false;
	const char *disabled;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (vigil_aws_access_key_id[0] != '\0' || vigil_aws_secret_access_key[0] != '\0')
		return set_keys(out, "settings", vigil_aws_access_key_id,
						vigil_aws_secret_access_key, vigil_aws_session_token, why);
	if (env("AWS_ACCESS_KEY_ID") || env("AWS_SECRET_ACCESS_KEY"))
		return set_keys(out, "environment", env("AWS_ACCESS_KEY_ID"),
						env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN"), why);
	if (from_file(out, &present, why))
		return true;
	if (present || *why != NULL)
		return false;
	if (env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") || env("AWS_CONTAINER_CREDENTIALS_FULL_URI"))
		return from_container(out, why);
	disabled = env("AWS_EC2_METADATA_DISABLED");
	if (disabled != NULL && pg_strcasecmp(disabled, "true") == 0)
	{
		*why = pstrdup("none configured (settings, environment, shared credentials file, "
					   "container), and instance metadata is disabled");
		return false;
	}
	if (from_instance(out, why))
		return true;
	*why = psprintf("none configured (settings, environment, shared credentials file, container), "
					"and instance metadata failed: %s", *why);
	return false;
}

/*
 * The credentials to sign with now, from the cache when still good.  False
 * with *why (palloc'd, secret-free) when there are none.
 */
bool
vigil_credentials_get(VigilCredentials *out, char **why)
{
	time_t		now = time(NULL);

	if (cached &&
		(cache.expiration == 0 || now < cache.expiration - REFRESH_MARGIN_S) &&
		now < cached_at + RECHECK_S)
	{
		memcpy(out, &cache, sizeof(cache));
		return true;
	}
	if (!resolve(&cache, why))
	{
		/* keep using unexpired temporary credentials if a refresh fails */
		if (cached && cache.expiration != 0 && now < cache.expiration)
		{
			memcpy(out, &cache, sizeof(cache));
			return true;
		}
		vigil_credentials_reset();
		return false;
	}
	cached = true;
	cached_at = now;
	memcpy(out, &cache, sizeof(cache));
	return true;
}
