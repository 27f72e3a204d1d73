/*
 * metrics.h
 *		The AnomalyCount metric: alerts per watch per minute, published to
 *		Amazon CloudWatch.
 */
#ifndef VIGIL_METRICS_H
#define VIGIL_METRICS_H

#include "postgres.h"

extern long vigil_metrics_round(void);

#endif							/* VIGIL_METRICS_H */
