/*
 * cwquery.h
 *		Amazon CloudWatch PutMetricData requests in the Query API: the form
 *		body, and the limits AWS puts on its parts.
 *
 * Nothing here knows about PostgreSQL.  A request publishes data points of
 * one metric with one dimension, each a whole count at a time stamp, unit
 * Count, at the standard (one minute) resolution:
 *
 *		Action=PutMetricData&Version=2010-08-01&Namespace=NS
 *		&MetricData.member.N.MetricName=M
 *		&MetricData.member.N.Dimensions.member.1.Name=D
 *		&MetricData.member.N.Dimensions.member.1.Value=V
 *		&MetricData.member.N.Timestamp=2026-11-21T10:00:00Z
 *		&MetricData.member.N.Value=3&MetricData.member.N.Unit=Count
 *
 * form-encoded as url.h describes.  AWS takes at most 1000 data points
 * and 1 MB of body per request; a namespace is 1 to 255 ASCII characters,
 * no control characters, not starting with ':' (and "AWS/" is AWS's own);
 * a dimension value is 1 to 1024 ASCII characters, no control characters,
 * at least one of them not blank.
 *
 * Memory: as in buf.h, VigilBufs own their data, and a function that
 * fails leaves its output buffer as it was.
 */
#ifndef VIGIL_CWQUERY_H
#define VIGIL_CWQUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "notify/core/buf.h"

/* The most data points in one PutMetricData request. */
#define VIGIL_CW_MAX_DATA 1000
/* The largest PutMetricData body AWS takes: 1 MB, read as 10^6 to be safe. */
#define VIGIL_CW_MAX_BODY 1000000
#define VIGIL_CW_NAMESPACE_MAX 255
#define VIGIL_CW_DIMENSION_VALUE_MAX 1024
/* "YYYY-MM-DDTHH:MM:SSZ" */
#define VIGIL_CW_TIMESTAMP_LEN 20

/* One data point: a count for one dimension value at one time. */
typedef struct VigilCwDatum
{
	const char *dimension_value;	/* any bytes; see vigil_cw_dimension_value */
	time_t		timestamp;
	int64_t		value;
} VigilCwDatum;

/* Whether AWS accepts ns as a namespace of custom metrics. */
extern bool vigil_cw_namespace_valid(const char *ns);

/*
 * Append s to out as a valid dimension value: printable ASCII is kept,
 * every other byte (UTF-8 of non-ASCII names, control characters) and '%'
 * itself become %XX with uppercase hex, so different names stay different
 * and ASCII names read as they are.  False, out unchanged, when s is empty,
 * would be blank or longer than VIGIL_CW_DIMENSION_VALUE_MAX, or memory
 * runs out.
 */
extern bool vigil_cw_dimension_value(VigilBuf *out, const char *s);

/* Format t as CloudWatch's ISO 8601 time stamp; false outside 0000-9999. */
extern bool vigil_cw_timestamp(time_t t, char out[VIGIL_CW_TIMESTAMP_LEN + 1]);

/*
 * Build into the empty buffer form a PutMetricData request of metric in
 * namespace ns with the leading data points of data[0..n-1], dimension
 * named dimension: as many as fit in VIGIL_CW_MAX_DATA points and max_bytes
 * of body, in order.  Returns how many it took (at least one), or -1, with
 * form emptied, when even the first does not fit, a dimension value or time
 * stamp is invalid (see above), n < 1, or memory runs out.
 */
extern int	vigil_cw_put_metric_data(VigilBuf *form, const char *ns,
									 const char *metric, const char *dimension,
									 const VigilCwDatum *data, int n,
									 size_t max_bytes);

#endif							/* VIGIL_CWQUERY_H */
