/*
 * test_arn.c
 *		Unit tests for reading Amazon Resource Names.
 */
#include <string.h>

#include "notify/core/arn.h"
#include "unit.h"

/* Regions come out of well-formed ARNs only. */
static void
arn_parsing(void)
{
	char		region[32];
	char		tiny[9];

	CHECK(vigil_arn_region("arn:aws:sns:eu-west-1:123456789012:alerts",
						   region, sizeof(region)));
	CHECK(strcmp(region, "eu-west-1") == 0);
	CHECK(vigil_arn_region("arn:aws-cn:sns:cn-north-1:123456789012:a:b",
						   region, sizeof(region)));
	CHECK(strcmp(region, "cn-north-1") == 0);
	CHECK(vigil_arn_region("arn:aws:sns:us-east-1:123456789012:x.fifo",
						   region, sizeof(region)));
	CHECK(strcmp(region, "us-east-1") == 0);

	/* "eu-west-1" needs 10 bytes with its NUL; 9 is too few */
	strcpy(tiny, "untouch");
	CHECK(!vigil_arn_region("arn:aws:sns:eu-west-1:123456789012:alerts",
							tiny, sizeof(tiny)));
	CHECK(strcmp(tiny, "untouch") == 0);

	strcpy(region, "untouched");
	CHECK(!vigil_arn_region(NULL, region, sizeof(region)));
	CHECK(!vigil_arn_region("", region, sizeof(region)));
	CHECK(!vigil_arn_region("arn:aws:sns", region, sizeof(region)));
	CHECK(!vigil_arn_region("arn:aws:sns:eu-west-1:123456789012", region,
							sizeof(region)));
	CHECK(!vigil_arn_region("arn:aws:sns:eu-west-1:123456789012:", region,
							sizeof(region)));
	CHECK(!vigil_arn_region("arn:aws:sns::123456789012:alerts", region,
							sizeof(region)));
	CHECK(!vigil_arn_region("arn::sns:eu-west-1:123456789012:alerts", region,
							sizeof(region)));
	CHECK(!vigil_arn_region("arn:aws::eu-west-1:123456789012:alerts", region,
							sizeof(region)));
	CHECK(!vigil_arn_region("arn:aws:sns:EU-WEST-1:123456789012:alerts",
							region, sizeof(region)));
	CHECK(!vigil_arn_region("arn:aws:sns:eu west:123456789012:alerts",
							region, sizeof(region)));
	CHECK(!vigil_arn_region("urn:aws:sns:eu-west-1:123456789012:alerts",
							region, sizeof(region)));
	CHECK(!vigil_arn_region("sns:eu-west-1:123456789012:alerts", region,
							sizeof(region)));
	CHECK(strcmp(region, "untouched") == 0);
}

/* FIFO topics are the well-formed ARNs whose name ends in ".fifo". */
static void
fifo_detection(void)
{
	CHECK(vigil_arn_is_fifo("arn:aws:sns:eu-west-1:123456789012:alerts.fifo"));
	CHECK(vigil_arn_is_fifo("arn:aws:sns:us-east-1:123456789012:a.fifo"));
	CHECK(!vigil_arn_is_fifo("arn:aws:sns:eu-west-1:123456789012:alerts"));
	CHECK(!vigil_arn_is_fifo("arn:aws:sns:eu-west-1:123456789012:.fifo"));
	CHECK(!vigil_arn_is_fifo("arn:aws:sns:eu-west-1:123456789012:alerts.FIFO"));
	CHECK(!vigil_arn_is_fifo("arn:aws:sns:eu-west-1:123456789012:fifo"));
	CHECK(!vigil_arn_is_fifo("arn:aws:sns:eu-west-1:123456789012:x.fifo.y"));
	CHECK(!vigil_arn_is_fifo("alerts.fifo"));
	CHECK(!vigil_arn_is_fifo("arn:aws:sns::123456789012:alerts.fifo"));
	CHECK(!vigil_arn_is_fifo(NULL));
}

int
main(void)
{
	RUN(arn_parsing);
	RUN(fifo_detection);
	return UNIT_DONE();
}
