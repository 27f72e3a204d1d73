/*
 * merchant_risk.h
 *		A watch's merchant risk (vigil.merchant_risk): each merchant's
 *		labelled fraud in recent windows, as snapshots taken by
 *		vigil.refresh_merchant_risk.
 */
#ifndef VIGIL_MERCHANT_RISK_H
#define VIGIL_MERCHANT_RISK_H

#include "postgres.h"

#include "detect/core/profile.h"

/* One merchant's labelled rows and fraud, per window (1, 7, 30 days). */
typedef struct VigilMerchantRisk
{
	uint64		hash;			/* vigil_hash64 of the merchant's text */
	float		rows[VIGIL_MERCHANT_WINDOWS];
	float		fraud[VIGIL_MERCHANT_WINDOWS];
} VigilMerchantRisk;

/* One snapshot: the merchants with fraud in its longest window, by hash. */
typedef struct VigilMerchantRiskSet
{
	double		as_of;			/* epoch seconds */
	VigilMerchantRisk *merchants;
	int			nmerchants;
} VigilMerchantRiskSet;

/* A watch's snapshots, oldest first. */
typedef struct VigilMerchantRisks
{
	VigilMerchantRiskSet *sets;
	int			nsets;
} VigilMerchantRisks;

extern VigilMerchantRisks *vigil_merchant_risk_load(int32 watch_id, MemoryContext mcxt);
extern void vigil_merchant_risk_apply(const VigilMerchantRisks *risks, VigilEvent *e);

#endif							/* VIGIL_MERCHANT_RISK_H */
