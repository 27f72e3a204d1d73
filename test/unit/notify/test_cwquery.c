/*
 * test_cwquery.c
 *		Unit tests for CloudWatch PutMetricData request bodies.
 */
#include <stdlib.h>
#include <string.h>

#include "notify/core/cwquery.h"
#include "unit.h"

/* 2026-11-21T10:00:00Z */
#define T0 ((time_t) 1795255200)

/* Namespaces: ASCII without control characters, not ':...' nor 'AWS/...'. */
static void
test_namespace(void)
{
	char		longest[VIGIL_CW_NAMESPACE_MAX + 2];

	CHECK(vigil_cw_namespace_valid("Vigil"));
	CHECK(vigil_cw_namespace_valid("Fraud/Detection prod"));
	CHECK(vigil_cw_namespace_valid("AWSome"));
	CHECK(!vigil_cw_namespace_valid(""));
	CHECK(!vigil_cw_namespace_valid(":Vigil"));
	CHECK(!vigil_cw_namespace_valid("AWS/EC2"));
	CHECK(!vigil_cw_namespace_valid("Vigil\tTab"));
	CHECK(!vigil_cw_namespace_valid("Vigil\x7f"));
	CHECK(!vigil_cw_namespace_valid("Vigil/donn\xc3\xa9" "es"));
	memset(longest, 'n', VIGIL_CW_NAMESPACE_MAX);
	longest[VIGIL_CW_NAMESPACE_MAX] = '\0';
	CHECK(vigil_cw_namespace_valid(longest));
	longest[VIGIL_CW_NAMESPACE_MAX] = 'n';
	longest[VIGIL_CW_NAMESPACE_MAX + 1] = '\0';
	CHECK(!vigil_cw_namespace_valid(longest));
}

/* Dimension values: ASCII kept, the rest and '%' escaped, limits kept. */
static void
test_dimension_value(void)
{
	VigilBuf	b = VIGIL_BUF_INIT;
	char	   *longest = malloc(VIGIL_CW_DIMENSION_VALUE_MAX + 2);

	CHECK(vigil_cw_dimension_value(&b, "public.transactions"));
	CHECK(strcmp(b.data, "public.transactions") == 0);
	vigil_buf_reset(&b);
	CHECK(vigil_cw_dimension_value(&b, "\"My Schema\".\"a+b\""));
	CHECK(strcmp(b.data, "\"My Schema\".\"a+b\"") == 0);
	vigil_buf_reset(&b);
	CHECK(vigil_cw_dimension_value(&b, "public.donn\xc3\xa9" "es 100%\n"));
	CHECK(strcmp(b.data, "public.donn%C3%A9es 100%25%0A") == 0);

	/* a failure leaves what was there */
	vigil_buf_reset(&b);
	CHECK(vigil_cw_dimension_value(&b, "x"));
	CHECK(!vigil_cw_dimension_value(&b, ""));
	CHECK(!vigil_cw_dimension_value(&b, "   "));
	CHECK(vigil_cw_dimension_value(&b, " y "));
	CHECK(strcmp(b.data, "x y ") == 0);

	vigil_buf_reset(&b);
	memset(longest, 'v', VIGIL_CW_DIMENSION_VALUE_MAX);
	longest[VIGIL_CW_DIMENSION_VALUE_MAX] = '\0';
	CHECK(vigil_cw_dimension_value(&b, longest));
	CHECK(b.len == VIGIL_CW_DIMENSION_VALUE_MAX);
	vigil_buf_reset(&b);
	longest[VIGIL_CW_DIMENSION_VALUE_MAX - 1] = '%';
	CHECK(!vigil_cw_dimension_value(&b, longest));
	CHECK(b.len == 0);
	free(longest);
	vigil_buf_free(&b);
}

/* Time stamps are ISO 8601 in UTC, to the second. */
static void
test_timestamp(void)
{
	char		s[VIGIL_CW_TIMESTAMP_LEN + 1];

	CHECK(vigil_cw_timestamp(T0, s));
	CHECK(strcmp(s, "2026-11-21T10:00:00Z") == 0);
	CHECK(vigil_cw_timestamp(T0 + 14 * 3600 - 1, s));
	CHECK(strcmp(s, "2026-11-21T23:59:59Z") == 0);
	CHECK(vigil_cw_timestamp(0, s));
	CHECK(strcmp(s, "1970-01-01T00:00:00Z") == 0);
}

/* The whole body of a request of two points, field by field. */
static void
test_body(void)
{
	VigilBuf	b = VIGIL_BUF_INIT;
	VigilCwDatum d[2] = {{"public.txn", T0, 3}, {"s.\"T x\"", T0 + 60, 0}};

	CHECK(vigil_cw_put_metric_data(&b, "Vigil/Fraud", "AnomalyCount", "Relation", d, 2,
								   VIGIL_CW_MAX_BODY) == 2);
	CHECK(strcmp(b.data,
				 "Action=PutMetricData&Version=2010-08-01&Namespace=Vigil%2FFraud"
				 "&MetricData.member.1.MetricName=AnomalyCount"
				 "&MetricData.member.1.Dimensions.member.1.Name=Relation"
				 "&MetricData.member.1.Dimensions.member.1.Value=public.txn"
				 "&MetricData.member.1.Timestamp=2026-11-21T10%3A00%3A00Z"
				 "&MetricData.member.1.Value=3&MetricData.member.1.Unit=Count"
				 "&MetricData.member.2.MetricName=AnomalyCount"
				 "&MetricData.member.2.Dimensions.member.1.Name=Relation"
				 "&MetricData.member.2.Dimensions.member.1.Value=s.%22T%20x%22"
				 "&MetricData.member.2.Timestamp=2026-11-21T10%3A01%3A00Z"
				 "&MetricData.member.2.Value=0&MetricData.member.2.Unit=Count") == 0);

	/* the escaped value is encoded once more for the form */
	vigil_buf_reset(&b);
	d[0].dimension_value = "caf\xc3\xa9";
	CHECK(vigil_cw_put_metric_data(&b, "V", "M", "D", d, 1, VIGIL_CW_MAX_BODY) == 1);
	CHECK(strstr(b.data, "Dimensions.member.1.Value=caf%25C3%25A9&") != NULL);
	vigil_buf_free(&b);
}

/* At most 1000 points, and no more than max_bytes of body. */
static void
test_limits(void)
{
	VigilBuf	b = VIGIL_BUF_INIT;
	VigilCwDatum *d = malloc(sizeof(VigilCwDatum) * 2500);
	size_t		one;
	int			n;

	for (int i = 0; i < 2500; i++)
		d[i] = (VigilCwDatum) {"public.txn", T0 + 60 * (i / 7), i};
	CHECK(vigil_cw_put_metric_data(&b, "V", "AnomalyCount", "Relation", d, 2500,
								   VIGIL_CW_MAX_BODY) == VIGIL_CW_MAX_DATA);
	CHECK(b.len <= VIGIL_CW_MAX_BODY);
	CHECK(strstr(b.data, "MetricData.member.1000.Unit=Count") != NULL);
	CHECK(strstr(b.data, "MetricData.member.1001.") == NULL);

	/* a body cap cuts between points, never inside one */
	vigil_buf_reset(&b);
	CHECK(vigil_cw_put_metric_data(&b, "V", "AnomalyCount", "Relation", d, 1, 100000) == 1);
	one = b.len;
	vigil_buf_reset(&b);
	n = vigil_cw_put_metric_data(&b, "V", "AnomalyCount", "Relation", d, 2500, 2 * one);
	CHECK(n == 2);
	CHECK(b.len < 2 * one);
	CHECK(strcmp(b.data + b.len - strlen("member.2.Unit=Count"), "member.2.Unit=Count") == 0);

	/* nothing fits, nothing to send, or a bad first point: -1, empty */
	vigil_buf_reset(&b);
	CHECK(vigil_cw_put_metric_data(&b, "V", "AnomalyCount", "Relation", d, 1, one - 1) == -1);
	CHECK(b.len == 0);
	CHECK(vigil_cw_put_metric_data(&b, "V", "AnomalyCount", "Relation", d, 0, VIGIL_CW_MAX_BODY) == -1);
	d[1].dimension_value = "";
	CHECK(vigil_cw_put_metric_data(&b, "V", "AnomalyCount", "Relation", d + 1, 5,
								   VIGIL_CW_MAX_BODY) == -1);
	CHECK(b.len == 0);
	/* a bad point later ends the request before it */
	CHECK(vigil_cw_put_metric_data(&b, "V", "AnomalyCount", "Relation", d, 5, VIGIL_CW_MAX_BODY) == 1);
	free(d);
	vigil_buf_free(&b);
}

int
main(void)
{
	RUN(test_namespace);
	RUN(test_dimension_value);
	RUN(test_timestamp);
	RUN(test_body);
	RUN(test_limits);
	return UNIT_DONE();
}
