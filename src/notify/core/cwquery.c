/*
 * cwquery.c
 *		Amazon CloudWatch PutMetricData requests in the Query API.
 *
 * See cwquery.h for the request's shape and AWS's limits.
 */
#include "notify/core/cwquery.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "notify/core/sigv4.h"
#include "notify/core/url.h"

static const char hexdigits_upper[] = "0123456789ABCDEF";

/* Whether c is printable ASCII, space included. */
static bool
is_printable(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* Whether AWS accepts ns as a namespace; see cwquery.h. */
bool
vigil_cw_namespace_valid(const char *ns)
{
	size_t		len = strlen(ns);

	if (len < 1 || len > VIGIL_CW_NAMESPACE_MAX || ns[0] == ':' ||
		strncmp(ns, "AWS/", 4) == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_printable((unsigned char) ns[i]))
			return false;
	return true;
}

/* Append s to out as a dimension value, escaped; see cwquery.h. */
bool
vigil_cw_dimension_value(VigilBuf *out, const char *s)
{
	size_t		oldlen = out->len;
	bool		blank = true;
	bool		ok = true;

	for (const unsigned char *p = (const unsigned char *) s; *p && ok; p++)
	{
		char		esc[3] = {'%', hexdigits_upper[*p >> 4], hexdigits_upper[*p & 0x0f]};

		if (is_printable(*p) && *p != '%')
			ok = vigil_buf_append(out, p, 1);
		else
			ok = vigil_buf_append(out, esc, sizeof(esc));
		blank = blank && *p == ' ';
		ok = ok && out->len - oldlen <= VIGIL_CW_DIMENSION_VALUE_MAX;
	}
	if (ok && !blank)
		return true;
	out->len = oldlen;
	if (out->data != NULL)
		out->data[oldlen] = '\0';
	return false;
}

/* Format t as YYYY-MM-DDTHH:MM:SSZ, from SigV4's YYYYMMDDTHHMMSSZ. */
bool
vigil_cw_timestamp(time_t t, char out[VIGIL_CW_TIMESTAMP_LEN + 1])
{
	char		d[VIGIL_SIGV4_DATE_LEN + 1];

	if (!vigil_sigv4_date(t, d))
		return false;
	snprintf(out, VIGIL_CW_TIMESTAMP_LEN + 1, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ",
			 d, d + 4, d + 6, d + 9, d + 11, d + 13);
	return true;
}

/* Append MetricData.member.i.suffix=value to form. */
static bool
add_member_field(VigilBuf *form, int i, const char *suffix, const char *value)
{
	char		name[64];

	snprintf(name, sizeof(name), "MetricData.member.%d.%s", i, suffix);
	return vigil_form_add(form, name, value);
}

/* Append the form fields of data point number i (1-based) to form. */
static bool
add_datum(VigilBuf *form, int i, const char *metric, const char *dimension,
		  const VigilCwDatum *d)
{
	VigilBuf	value = VIGIL_BUF_INIT;
	char		stamp[VIGIL_CW_TIMESTAMP_LEN + 1];
	char		count[24];
	bool		ok;

	if (!vigil_cw_timestamp(d->timestamp, stamp) ||
		!vigil_cw_dimension_value(&value, d->dimension_value))
		return false;
	snprintf(count, sizeof(count), "%" PRId64, d->value);
	ok = add_member_field(form, i, "MetricName", metric) &&
		add_member_field(form, i, "Dimensions.member.1.Name", dimension) &&
		add_member_field(form, i, "Dimensions.member.1.Value", value.data) &&
		add_member_field(form, i, "Timestamp", stamp) &&
		add_member_field(form, i, "Value", count) &&
		add_member_field(form, i, "Unit", "Count");
	vigil_buf_free(&value);
	return ok;
}

/* Build a PutMetricData body of the leading data that fit; see cwquery.h. */
int
vigil_cw_put_metric_data(VigilBuf *form, const char *ns, const char *metric,
						 const char *dimension, const VigilCwDatum *data,
						 int n, size_t max_bytes)
{
	int			taken = 0;

	if (n < 1 || form->len != 0 ||
		!vigil_form_add(form, "Action", "PutMetricData") ||
		!vigil_form_add(form, "Version", "2010-08-01") ||
		!vigil_form_add(form, "Namespace", ns))
		goto fail;
	while (taken < n && taken < VIGIL_CW_MAX_DATA)
	{
		size_t		before = form->len;
		bool		ok = add_datum(form, taken + 1, metric, dimension, &data[taken]);

		/*
		 * A point that does not fit, or cannot be encoded, ends the request
		 * before it; the caller sends what fits, and deals with that point
		 * when it comes first.
		 */
		if (!ok || form->len > max_bytes)
		{
			form->len = before;
			form->data[before] = '\0';
			if (taken == 0)
				goto fail;
			break;
		}
		taken++;
	}
	return taken;

fail:
	vigil_buf_reset(form);
	return -1;
}
