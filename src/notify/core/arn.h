/*
 * arn.h
 *		Amazon Resource Names: the region of one, and whether it names a FIFO
 *		topic.
 *
 * Nothing here knows about PostgreSQL, and there is no global state.
 */
#ifndef VIGIL_ARN_H
#define VIGIL_ARN_H

#include <stdbool.h>
#include <stddef.h>

/*
 * ARNs, "arn:partition:service:region:account:resource".  vigil_arn_region
 * copies the region into region (len bytes, NUL included) and fails on a
 * malformed ARN, an empty or invalid region, or a region that does not fit.
 * vigil_arn_is_fifo tells whether a well-formed ARN's resource (an SNS
 * topic name) ends in ".fifo", which decides whether a publish needs a
 * MessageGroupId.
 */
extern bool vigil_arn_region(const char *arn, char *region, size_t len);
extern bool vigil_arn_is_fifo(const char *arn);

#endif							/* VIGIL_ARN_H */
