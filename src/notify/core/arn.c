/*
 * arn.c
 *		Amazon Resource Names; see arn.h.
 */
#include "notify/core/arn.h"

#include <string.h>

/* Find the region and resource of an ARN; false when it is malformed. */
static bool
arn_split(const char *arn, const char **region, size_t *regionlen,
		  const char **resource)
{
	const char *field[6];
	int			nfields = 1;
	const char *p;
	size_t		i;

	if (arn == NULL || strncmp(arn, "arn:", 4) != 0)
		return false;
	field[0] = arn;
	for (p = arn; *p != '\0' && nfields < 6; p++)
	{
		if (*p == ':')
			field[nfields++] = p + 1;
	}
	if (nfields < 6)
		return false;

	/* partition, service, region and resource are never empty */
	if (*field[1] == ':' || *field[2] == ':' || *field[3] == ':' ||
		*field[5] == '\0')
		return false;

	*regionlen = (size_t) (field[4] - 1 - field[3]);
	for (i = 0; i < *regionlen; i++)
	{
		char		c = field[3][i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	*region = field[3];
	*resource = field[5];
	return true;
}

/* Copy the region of an ARN into region (len bytes with the NUL). */
bool
vigil_arn_region(const char *arn, char *region, size_t len)
{
	const char *r;
	const char *resource;
	size_t		rlen;

	if (!arn_split(arn, &r, &rlen, &resource) || rlen >= len)
		return false;
	memcpy(region, r, rlen);
	region[rlen] = '\0';
	return true;
}

/* Whether a well-formed ARN names a FIFO topic (name ending in ".fifo"). */
bool
vigil_arn_is_fifo(const char *arn)
{
	const char *r;
	const char *resource;
	size_t		rlen,
				n;

	if (!arn_split(arn, &r, &rlen, &resource))
		return false;
	n = strlen(resource);
	return n > 5 && strcmp(resource + n - 5, ".fifo") == 0;
}
