/*
 * profile.h
 *		The per-key profile: everything detection knows about one card.
 *
 * A profile is a fixed-size block of plain old data built from the core
 * summaries: all-time amount statistics, exponentially decayed amount
 * statistics (whose last_t is also the profile's last event time), the
 * last known location, a ring of recent events, a decayed hour-of-day
 * histogram and sets of seen merchants and categories.  It is stored as the
 * payload of the vigil.profile varlena (at most VIGIL_PROFILE_MAX_BYTES with
 * its header) and must therefore never hold pointers or padding-dependent
 * data.
 *
 * Detection is prequential: each event is scored against the profile as it
 * was before the event (rules.h), then folded in with vigil_profile_fold.
 */
#ifndef VIGIL_PROFILE_H
#define VIGIL_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect/core/decay.h"
#include "detect/core/hourhist.h"
#include "detect/core/ring.h"
#include "detect/core/seenset.h"
#include "stats/core/welford.h"

/*
 * Bumped whenever the layout below changes.  A stored profile starts with
 * its version, and vigil_profile_from_stored (profile_io.h) reads every
 * version ever stored, converting an older layout to this one.
 */
#define VIGIL_PROFILE_VERSION 2

/*
 * The most a stored profile may take, with the 8 bytes before its payload
 * (varlena header, alignment): the budget detection's cost was measured at
 * (README, "Performance").
 */
#define VIGIL_PROFILE_MAX_BYTES 1024

/* Half-lives of the decayed summaries, in seconds of event time. */
#define VIGIL_AMOUNT_HALF_LIFE_S (30.0 * 86400.0)
#define VIGIL_HOUR_HALF_LIFE_S (90.0 * 86400.0)

/* Categories whose amounts a profile follows apart (its busiest recently). */
#define VIGIL_PROFILE_CATEGORIES 8

/* Bits of VigilProfile.flags. */
#define VIGIL_PROFILE_HAS_LOCATION 0x0001

/* The windows of merchant risk, in days: 1, 7, 30. */
#define VIGIL_MERCHANT_WINDOWS 3
extern const int vigil_merchant_window_days[VIGIL_MERCHANT_WINDOWS];

/* One transaction as detection sees it. */
typedef struct VigilEvent
{
	double		t;				/* event time, seconds since the epoch */
	int32_t		utc_offset_s;	/* of the watch's time zone at t: hours of the day are local */
	double		amount;			/* finite */
	double		lat;			/* degrees; used only if has_location */
	double		lon;
	uint64_t	merchant_hash;	/* vigil_hash64 of the text; if has_merchant */
	uint64_t	category_hash;	/* if has_category */
	bool		has_location;
	bool		has_merchant;
	bool		has_category;
	/* the watch's population, from its priors (vigil.refresh_priors) */
	double		prior_n;		/* rows behind the amount prior; 0: none */
	double		prior_log_mean;	/* of ln(amount) in the event's category (or all) */
	double		prior_log_sd;
	double		prior_hour_share;	/* of all rows, in the event's local hour */
	bool		has_prior_hour;	/* whether prior_hour_share is known */
	/*
	 * the labelled rows and the fraud among them at the event's merchant, in
	 * the 1, 7 and 30 days before its labels were known, from the merchant
	 * risk snapshot current at the event's time (vigil.refresh_merchant_risk)
	 */
	double		merchant_rows[VIGIL_MERCHANT_WINDOWS];
	double		merchant_fraud[VIGIL_MERCHANT_WINDOWS];
	bool		has_merchant_risk;	/* whether there is such a snapshot */
	/* the watch's active model (vigil.activate_model), if has_model */
	double		model_probability;	/* in [0, 1] */
	bool		has_model;
} VigilEvent;

/* A category's amounts on one card: decayed as the card's all-category ones. */
typedef struct VigilCategoryAmount
{
	uint64_t	hash;			/* vigil_hash64 of the category; 0 in an unused slot */
	VigilDecay	amount;			/* the card's amounts in it */
} VigilCategoryAmount;

typedef struct VigilProfile
{
	uint32_t	version;		/* VIGIL_PROFILE_VERSION */
	uint32_t	flags;			/* VIGIL_PROFILE_* bits */
	VigilWelford amount;		/* all events' amounts */
	VigilDecay	recent_amount;	/* decayed amounts; last_t is the last event */
	double		last_lat;		/* last located event, if HAS_LOCATION */
	double		last_lon;
	double		last_loc_t;
	VigilRing	recent;			/* recent (time, amount) events */
	VigilHourHist hours;		/* decayed hour-of-day histogram, local hours */
	VigilSeenSet merchants;
	VigilSeenSet categories;
	/* since version 2: the busiest categories' amounts, any order */
	VigilCategoryAmount by_category[VIGIL_PROFILE_CATEGORIES];
} VigilProfile;

/* A version 1 profile's size: version 2 added by_category at the end. */
#define VIGIL_PROFILE_V1_SIZE offsetof(VigilProfile, by_category)

extern const VigilCategoryAmount *vigil_profile_category(const VigilProfile *p, uint64_t hash);

extern void vigil_profile_init(VigilProfile *p);
extern bool vigil_event_valid(const VigilEvent *e, const char **why);
extern bool vigil_profile_fold(VigilProfile *p, const VigilEvent *e);
extern bool vigil_profile_valid(const VigilProfile *p, const char **why);
extern double vigil_profile_last_time(const VigilProfile *p);

/*
 * Cheap structural check (ring and seen-set indexes in bounds) that makes
 * fold and rule evaluation memory-safe on any bytes; not a validation: use
 * vigil_profile_valid for profiles that arrive from outside.
 */
extern bool vigil_profile_sound(const VigilProfile *p);

#endif							/* VIGIL_PROFILE_H */
