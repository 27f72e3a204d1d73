/*
 * profile_io.c
 *		Reading a vigil.profile from outside: text payload and binary form.
 *
 * See profile_io.h.  The profile is decoded into a local copy and checked
 * before anything is written to *out, so a caller never sees half a value.
 */
#include "detect/core/profile_io.h"

#include <string.h>

#include "core/hex.h"

/* A profile from the "data:\x<hex>)" payload of its text form. */
VigilProfileInStatus
vigil_profile_from_text(const char *str, VigilProfile *out,
						VigilProfileInError *err)
{
	static const char marker[] = "data:\\x";
	unsigned char bytes[VIGIL_PROFILE_MAX_BYTES];
	const char *hex = strstr(str, marker);
	const char *end;
	size_t		hexlen,
				i;
	VigilProfileInStatus status;

	memset(err, 0, sizeof(*err));
	if (hex == NULL)
		return VIGIL_PROFILE_IN_NO_PAYLOAD;
	hex += strlen(marker);
	end = strchr(hex, ')');
	if (end == NULL || end[1] != '\0')
		return VIGIL_PROFILE_IN_NO_END;
	hexlen = (size_t) (end - hex);
	if (hexlen % 2 != 0 || hexlen > 2 * sizeof(bytes))
	{
		err->length = hexlen;
		return VIGIL_PROFILE_IN_BAD_LENGTH;
	}

	/* digits are checked in order, so the first bad one is reported */
	for (i = 0; i < hexlen; i++)
	{
		int			v = vigil_hex_value((unsigned char) hex[i]);

		if (v < 0)
		{
			err->offset = (size_t) (hex + i - str);
			return VIGIL_PROFILE_IN_BAD_DIGIT;
		}
		if (i % 2 == 0)
			bytes[i / 2] = (unsigned char) (v << 4);
		else
			bytes[i / 2] |= (unsigned char) v;
	}
	status = vigil_profile_from_binary(bytes, hexlen / 2, out, err);
	if (status == VIGIL_PROFILE_IN_BAD_LENGTH)
		err->length = hexlen;	/* said in digits, as they were given */
	return status;
}

/*
 * A stored profile's bytes, of any version ever stored, in the current
 * layout; not validated.
 */
VigilProfileInStatus
vigil_profile_from_stored(const void *buf, size_t len, VigilProfile *out,
						  VigilProfileInError *err)
{
	uint32_t	version;

	memset(err, 0, sizeof(*err));
	if (len < sizeof(version) || len > VIGIL_PROFILE_MAX_BYTES - 8)
	{
		err->length = len;
		return VIGIL_PROFILE_IN_BAD_LENGTH;
	}
	/* copy first: buf need not be aligned */
	memcpy(&version, buf, sizeof(version));
	switch (version)
	{
			/*
			 * An older version gets its own case here, converting its layout
			 * to the current one.
			 */
		case 1:
			/* version 2 appended by_category: a version 1 profile follows none */
			if (len != VIGIL_PROFILE_V1_SIZE)
			{
				err->length = len;
				return VIGIL_PROFILE_IN_BAD_LENGTH;
			}
			memset(out, 0, sizeof(VigilProfile));
			memcpy(out, buf, VIGIL_PROFILE_V1_SIZE);
			out->version = VIGIL_PROFILE_VERSION;
			return VIGIL_PROFILE_IN_OK;
		case VIGIL_PROFILE_VERSION:
			if (len != sizeof(VigilProfile))
			{
				err->length = len;
				return VIGIL_PROFILE_IN_BAD_LENGTH;
			}
			memcpy(out, buf, sizeof(VigilProfile));
			return VIGIL_PROFILE_IN_OK;
	}
	err->version = version;
	return VIGIL_PROFILE_IN_BAD_VERSION;
}

/* A profile from its binary form: a stored profile's bytes, validated. */
VigilProfileInStatus
vigil_profile_from_binary(const void *buf, size_t len, VigilProfile *out,
						  VigilProfileInError *err)
{
	VigilProfile p;
	VigilProfileInStatus status = vigil_profile_from_stored(buf, len, &p, err);

	if (status != VIGIL_PROFILE_IN_OK)
		return status;
	if (!vigil_profile_valid(&p, &err->why))
		return VIGIL_PROFILE_IN_INVALID;
	memcpy(out, &p, sizeof(p));
	return VIGIL_PROFILE_IN_OK;
}
