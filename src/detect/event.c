/*
 * event.c
 *		Reading a watched table's rows as detection events.
 *
 * A watch names its columns by attribute number (see vigil.watches), so a
 * renamed column keeps working.  The accepted types are checked by
 * vigil.watch(); this file converts them: amounts from any integer, float
 * or numeric type, times from timestamptz, timestamp (read as UTC) or
 * integer epoch seconds, locations from numbers.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

#include "detect/core/decimal.h"
#include "detect/core/rules.h"
#include "detect/core/seenset.h"
#include "detect/event.h"
#include "detect/jsonb_value.h"
#include "detect/profile_type.h"
#include "plan.h"

/*
 * Numeric's on-disk header bits (numeric.c keeps them private): the top two
 * bits of the first uint16 tell the format.
 */
#define NUMERIC_FORMAT_MASK 0xC000
#define NUMERIC_FORMAT_LONG_POS 0x0000
#define NUMERIC_FORMAT_LONG_NEG 0x4000
#define NUMERIC_FORMAT_SHORT 0x8000
#define NUMERIC_SHORT_NEGATIVE 0x2000
#define NUMERIC_SHORT_WEIGHT_NEGATIVE 0x0040
#define NUMERIC_SHORT_WEIGHT_MASK 0x003F

/*
 * The longest key, in bytes, detection keeps a profile for.  Profiles are
 * found through a btree on (watch_id, key), whose entries must stay within
 * a third of a page (2704 bytes); a longer key would make the inserting
 * statement fail with an index error, or not, depending on how well the key
 * compresses.  Such rows are skipped instead, the same way whatever the key.
 */
#define MAX_KEY_BYTES 2000

/* Set up c for attribute attnum of tupdesc (0: the watch does not use it). */
static bool
column_init(VigilColumn *c, AttrNumber attnum, TupleDesc tupdesc, MemoryContext mcxt)
{
	Form_pg_attribute att;
	Oid			out;
	bool		varlena;

	c->attnum = attnum;
	if (attnum == 0)
		return true;
	if (attnum < 1 || attnum > tupdesc->natts)
		return false;
	att = TupleDescAttr(tupdesc, attnum - 1);
	if (att->attisdropped)
		return false;
	c->typid = att->atttypid;
	getTypeOutputInfo(c->typid, &out, &varlena);
	fmgr_info_cxt(out, &c->out, mcxt);
	return true;
}

/* Whether vigil.watch() accepts a column of type typid for an amount or a coordinate. */
static bool
number_type(Oid typid)
{
	return typid == INT2OID || typid == INT4OID || typid == INT8OID ||
		typid == FLOAT4OID || typid == FLOAT8OID || typid == NUMERICOID;
}

/* Whether vigil.watch() accepts a column of type typid for the time. */
static bool
time_type(Oid typid)
{
	return typid == TIMESTAMPTZOID || typid == TIMESTAMPOID || typid == INT2OID ||
		typid == INT4OID || typid == INT8OID;
}

/*
 * Load a watch and its columns for rel (a watched table, whose row type is
 * that of the rows detection reads), allocating in mcxt.  Runs inside the
 * caller's SPI connection.  False when the watch or one of its columns is
 * gone or of a type it cannot read, or the watch is on another table.
 */
bool
vigil_watch_load(VigilWatch *w, int32 watch_id, Relation rel, MemoryContext mcxt)
{
	static SPIPlanPtr plan = NULL;
	Datum		arg = Int32GetDatum(watch_id);
	TupleDesc	tupdesc = RelationGetDescr(rel);
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;
	AttrNumber	att[8];
	Datum		v;
	Oid			pkoid;
	Relation	pk;

	if (plan == NULL)
	{
		Oid			argtypes[1] = {INT4OID};

		plan = vigil_prepare_plan("SELECT key_attnum, amount_attnum, time_attnum, lat_attnum, "
								  "lon_attnum, merchant_attnum, category_attnum, alert_threshold, "
								  "relation, pg_catalog.to_jsonb(w) OPERATOR(pg_catalog.->>) 'on_error', "
								  "sns_topic_arn OPERATOR(pg_catalog.<>) '', "
								  "(pg_catalog.to_jsonb(w) OPERATOR(pg_catalog.->>) 'card_present_attnum')::pg_catalog.int2, "
								  "pg_catalog.to_jsonb(w) OPERATOR(pg_catalog.->>) 'time_zone' "
								  "FROM vigil.watches AS w WHERE id OPERATOR(pg_catalog.=) $1",
								  1, argtypes);
	}
	if (SPI_execute_plan(plan, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read vigil.watches");
	if (SPI_processed != 1)
		return false;

	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;

	/*
	 * The watch is for this table only: its attribute numbers mean nothing
	 * elsewhere, and a vigil.detect(id) trigger someone attached to another
	 * table must not write this watch's profiles.
	 */
	if (DatumGetObjectId(heap_getattr(t, 9, d, &isnull)) != RelationGetRelid(rel))
		return false;
	for (int i = 0; i < 7; i++)
	{
		Datum		v = heap_getattr(t, i + 1, d, &isnull);

		att[i] = isnull ? 0 : DatumGetInt16(v);
	}
	/* read by name too: a 0.1 schema has no card_present_attnum */
	v = heap_getattr(t, 12, d, &isnull);
	att[7] = isnull ? 0 : DatumGetInt16(v);
	/* and no time_zone (UTC); a name the server no longer knows is incomplete */
	v = heap_getattr(t, 13, d, &isnull);
	w->zone = MemoryContextAllocZero(mcxt, sizeof(VigilZone));
	w->zone->until = -INFINITY;
	if (!isnull && strcmp(TextDatumGetCString(v), "UTC") != 0)
	{
		w->zone->tz = pg_tzset(TextDatumGetCString(v));
		if (w->zone->tz == NULL)
			return false;
	}
	w->id = watch_id;
	w->relid = RelationGetRelid(rel);
	w->alert_threshold = DatumGetFloat8(heap_getattr(t, 8, d, &isnull));
	/* read by name: a 0.1 schema, not yet updated, has no on_error (raise) */
	v = heap_getattr(t, 10, d, &isnull);
	w->skip_on_error = !isnull && strcmp(TextDatumGetCString(v), "skip") == 0;
	v = heap_getattr(t, 11, d, &isnull);
	w->has_topic = !isnull && DatumGetBool(v);
	if (!column_init(&w->key, att[0], tupdesc, mcxt) ||
		!column_init(&w->amount, att[1], tupdesc, mcxt) ||
		!column_init(&w->time, att[2], tupdesc, mcxt) ||
		!column_init(&w->lat, att[3], tupdesc, mcxt) ||
		!column_init(&w->lon, att[4], tupdesc, mcxt) ||
		!column_init(&w->merchant, att[5], tupdesc, mcxt) ||
		!column_init(&w->category, att[6], tupdesc, mcxt) ||
		!column_init(&w->card_present, att[7], tupdesc, mcxt))
		return false;

	/*
	 * vigil.watch() checked the columns, but vigil.watches can be written
	 * directly (its CHECK constraints keep attribute numbers positive) and a
	 * column's type can change: a watch without its required columns, or
	 * with one of a type it cannot read, is incomplete.
	 */
	if (w->key.attnum == 0 || w->amount.attnum == 0 || w->time.attnum == 0 ||
		!number_type(w->amount.typid) || !time_type(w->time.typid) ||
		(w->lat.attnum != 0) != (w->lon.attnum != 0) ||
		(w->lat.attnum != 0 && !(number_type(w->lat.typid) && number_type(w->lon.typid))) ||
		(w->card_present.attnum != 0 && (w->lat.attnum == 0 || w->card_present.typid != BOOLOID)))
		return false;
	w->last_attnum = 0;
	for (int i = 0; i < 8; i++)
		w->last_attnum = Max(w->last_attnum, att[i]);

	w->priors = vigil_priors_load(watch_id, mcxt);
	w->merchant_risk = vigil_merchant_risk_load(watch_id, mcxt);

	/* the primary key identifies rows in alerts */
	pkoid = RelationGetPrimaryKeyIndex(rel);
	if (!OidIsValid(pkoid))
		return false;
	pk = RelationIdGetRelation(pkoid);
	w->npk = pk->rd_index->indnkeyatts;
	w->pk_attnums = MemoryContextAlloc(mcxt, sizeof(AttrNumber) * w->npk);
	w->pk_out = MemoryContextAlloc(mcxt, sizeof(FmgrInfo) * w->npk);
	w->pk_names = MemoryContextAlloc(mcxt, sizeof(char *) * w->npk);
	w->pk_typids = MemoryContextAlloc(mcxt, sizeof(Oid) * w->npk);
	for (int i = 0; i < w->npk; i++)
	{
		AttrNumber	a = pk->rd_index->indkey.values[i];
		Form_pg_attribute attr = TupleDescAttr(tupdesc, a - 1);
		Oid			out;
		bool		varlena;

		w->pk_attnums[i] = a;
		w->pk_names[i] = MemoryContextStrdup(mcxt, NameStr(attr->attname));
		w->pk_typids[i] = attr->atttypid;
		getTypeOutputInfo(attr->atttypid, &out, &varlena);
		fmgr_info_cxt(out, &w->pk_out[i], mcxt);
	}
	RelationClose(pk);
	return true;
}

/*
 * A varlena datum, detoasted only if it is compressed or stored out of
 * line; a short header is kept (as pg_detoast_datum_packed would), so the
 * result is read with the _ANY macros.  The test is inlined because
 * detection reads several such columns of every row, and almost none
 * needs detoasting.
 */
static inline struct varlena *
packed_varlena(Datum d)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);

	if (VARATT_IS_COMPRESSED(v) || VARATT_IS_EXTERNAL(v))
		return pg_detoast_datum_packed(v);
	return v;
}

/*
 * A numeric datum as the nearest double, as numeric_float8 gives it.  The
 * usual conversion prints the number and parses the text back; small
 * decimals (most amounts) are instead read straight from the stored
 * base-10000 digits by an exact fast path, everything else takes the usual
 * way.  The layout read here is numeric's on-disk format, which pg_upgrade
 * keeps stable: a uint16 header, then either the digits (short format: sign,
 * display scale and a 7-bit weight packed in the header) or an int16 weight
 * and the digits (long format), or nothing more for NaN and infinities.
 */
static double
numeric_to_double(Datum d)
{
	struct varlena *v = packed_varlena(d);
	const char *p = VARDATA_ANY(v);
	Size		len = VARSIZE_ANY_EXHDR(v);
	uint16		header;
	int16		weight;
	int16		digits[4];
	bool		negative;
	int			ndigits;
	double		result;

	if (len < sizeof(uint16))
		goto slow;
	memcpy(&header, p, sizeof(uint16));
	p += sizeof(uint16);
	len -= sizeof(uint16);
	if ((header & NUMERIC_FORMAT_MASK) == NUMERIC_FORMAT_SHORT)
	{
		negative = (header & NUMERIC_SHORT_NEGATIVE) != 0;
		weight = header & NUMERIC_SHORT_WEIGHT_MASK;
		if (header & NUMERIC_SHORT_WEIGHT_NEGATIVE)
			weight -= NUMERIC_SHORT_WEIGHT_MASK + 1;
	}
	else if ((header & NUMERIC_FORMAT_MASK) == NUMERIC_FORMAT_LONG_POS ||
			 (header & NUMERIC_FORMAT_MASK) == NUMERIC_FORMAT_LONG_NEG)
	{
		if (len < sizeof(int16))
			goto slow;
		negative = (header & NUMERIC_FORMAT_MASK) == NUMERIC_FORMAT_LONG_NEG;
		memcpy(&weight, p, sizeof(int16));
		p += sizeof(int16);
		len -= sizeof(int16);
	}
	else
		goto slow;				/* NaN or an infinity */

	ndigits = len / sizeof(int16);
	if (len % sizeof(int16) != 0 || len > sizeof(digits))
		goto slow;
	memcpy(digits, p, len);
	if (vigil_decimal_to_double(digits, ndigits, weight, negative, &result))
		return result;

slow:
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d));
}

/* A number from an integer, float or numeric datum (NaN if not finite). */
static double
number_from_datum(Datum d, Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return (double) DatumGetInt16(d);
		case INT4OID:
			return (double) DatumGetInt32(d);
		case INT8OID:
			return (double) DatumGetInt64(d);
		case FLOAT4OID:
			return (double) DatumGetFloat4(d);
		case FLOAT8OID:
			return DatumGetFloat8(d);
		case NUMERICOID:
			return numeric_to_double(d);
		default:
			return NAN;
	}
}

/* Seconds since the epoch from a time column's datum (NaN if infinite). */
static double
time_from_datum(Datum d, Oid typid)
{
	if (typid == TIMESTAMPTZOID || typid == TIMESTAMPOID)
	{
		TimestampTz ts = DatumGetTimestampTz(d);

		if (TIMESTAMP_NOT_FINITE(ts))
			return NAN;
		return vigil_timestamptz_to_epoch(ts);
	}
	return number_from_datum(d, typid);
}

/*
 * The text of a datum, not NUL-terminated, and its length: text and varchar
 * straight from the datum (detection reads every row's key and merchant,
 * and copying them first cost more than scoring), other types through
 * their output function.
 */
static const char *
text_of(const VigilColumn *c, Datum d, int *len)
{
	char	   *s;

	if (c->typid == TEXTOID || c->typid == VARCHAROID)
	{
		text	   *t = (text *) packed_varlena(d);

		*len = VARSIZE_ANY_EXHDR(t);
		return VARDATA_ANY(t);
	}
	s = OutputFunctionCall((FmgrInfo *) &c->out, d);
	*len = strlen(s);
	return s;
}

/*
 * The UTC offset of zone z at time t (finite).  A time outside the stretch
 * looked up last looks up its own, from t to the zone's next transition,
 * and one earlier in the same stretch widens it, so that rows of many keys
 * over the same hours (detection reads them key by key) share one lookup.
 */
static int32
vigil_zone_offset(VigilZone *z, double t)
{
	pg_time_t	pt;
	pg_time_t	boundary;
	long int	before;
	long int	after;
	int			before_dst;
	int			after_dst;
	int			found;
	double		until;

	if (z->tz == NULL)
		return 0;
	if (t >= z->from && t < z->until)
		return z->offset;
	if (!(fabs(t) < 9.0e15))
		return 0;				/* beyond any valid event time (vigil_event_valid) */
	pt = (pg_time_t) floor(t);
	found = pg_next_dst_boundary(&pt, &before, &before_dst, &boundary, &after, &after_dst, z->tz);
	if (found < 0)
		return 0;				/* outside the zone's known times: UTC */
	until = found == 1 ? (double) boundary : INFINITY;
	if (before == z->offset && until == z->until)
		z->from = Min(z->from, t);
	else
	{
		z->from = t;
		z->until = until;
		z->offset = (int32) before;
	}
	return z->offset;
}

/*
 * What e's watch knows beyond its row: the UTC offset of its time in the
 * watch's zone, and the population priors and merchant risk current then.  Every caller that
 * folds or scores an event read by vigil_event_read calls it first;
 * detection, which keeps rows compactly, calls it once per row it scores.
 */
void
vigil_event_localize(const VigilWatch *w, VigilEvent *e)
{
	e->utc_offset_s = vigil_zone_offset(w->zone, e->t);
	vigil_priors_apply(w->priors, e);
	vigil_merchant_risk_apply(w->merchant_risk, e);
}

/*
 * A column's value from the slot, whose columns up to the watch's last are
 * deformed, or false when NULL or not used.
 */
static inline bool
value_of(const VigilColumn *c, TupleTableSlot *slot, Datum *d)
{
	if (c->attnum == 0 || slot->tts_isnull[c->attnum - 1])
		return false;
	*d = slot->tts_values[c->attnum - 1];
	return true;
}

/*
 * The event and key of the row in slot.  Returns NULL, or why the row
 * cannot be scored (NULL or too long key; NULL amount or time; NaN or
 * infinite amount or time).  An incomplete or out-of-range location is
 * treated as no location.  *key (not NUL-terminated, *keylen bytes) lives
 * as long as the slot's tuple, or in the current memory context.
 */
const char *
vigil_event_read(const VigilWatch *w, TupleTableSlot *slot, VigilEvent *e,
				 const char **key, int *keylen)
{
	Datum		d;
	Datum		lat,
				lon;
	const char *why;
	const char *s;
	int			len;

	memset(e, 0, sizeof(*e));
	/* deform the row once, not once per column */
	slot_getsomeattrs(slot, w->last_attnum);
	if (!value_of(&w->key, slot, &d))
		return "key is NULL";
	*key = text_of(&w->key, d, keylen);
	if (*keylen > MAX_KEY_BYTES)
		return "key is longer than 2000 bytes";
	if (!value_of(&w->amount, slot, &d))
		return "amount is NULL";
	e->amount = number_from_datum(d, w->amount.typid);
	if (!isfinite(e->amount))
		return "amount is not a finite number";
	if (!value_of(&w->time, slot, &d))
		return "time is NULL";
	e->t = time_from_datum(d, w->time.typid);
	if (!isfinite(e->t))
		return "time is not finite";

	if (value_of(&w->lat, slot, &lat) && value_of(&w->lon, slot, &lon))
	{
		e->lat = number_from_datum(lat, w->lat.typid);
		e->lon = number_from_datum(lon, w->lon.typid);
		e->has_location = true;
		if (!vigil_event_valid(e, &why))
			e->has_location = false;
		/* where the card was only when it was there: not online */
		if (w->card_present.attnum != 0 &&
			!(value_of(&w->card_present, slot, &d) && DatumGetBool(d)))
			e->has_location = false;
	}
	if (value_of(&w->merchant, slot, &d))
	{
		s = text_of(&w->merchant, d, &len);
		e->merchant_hash = vigil_hash64(s, len);
		e->has_merchant = true;
	}
	if (value_of(&w->category, slot, &d))
	{
		s = text_of(&w->category, d, &len);
		e->category_hash = vigil_hash64(s, len);
		e->has_category = true;
	}
	if (!vigil_event_valid(e, &why))
		return why;
	return NULL;
}

/* vigil_event_read, with the key as a palloc'd C string. */
const char *
vigil_event_from_slot(const VigilWatch *w, TupleTableSlot *slot, VigilEvent *e,
					  char **key)
{
	const char *k = NULL;
	int			len = 0;
	const char *why = vigil_event_read(w, slot, e, &k, &len);

	*key = k != NULL ? pnstrdup(k, len) : NULL;
	return why;
}

/*
 * The row's primary key as a JSON object, {"id": 42}, for alerts: made as
 * jsonb, as jsonb_in would make it from that text (numbers through
 * numeric_in), without the text.
 */
Jsonb *
vigil_row_ref(const VigilWatch *w, TupleTableSlot *slot)
{
	JsonbParseState *state = NULL;
	JsonbValue	v;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < w->npk; i++)
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, w->pk_attnums[i], &isnull);
		char	   *s;

		pushJsonbValue(&state, WJB_KEY, vigil_jsonb_string(&v, w->pk_names[i]));
		if (isnull)
		{
			v.type = jbvNull;
			pushJsonbValue(&state, WJB_VALUE, &v);
			continue;
		}
		s = OutputFunctionCall((FmgrInfo *) &w->pk_out[i], d);
		switch (w->pk_typids[i])
		{
			case INT2OID:
			case INT4OID:
			case INT8OID:
				vigil_jsonb_number(&v, s);
				break;
			case BOOLOID:
				v.type = jbvBool;
				v.val.boolean = DatumGetBool(d);
				break;
			default:
				vigil_jsonb_string(&v, s);
				break;
		}
		pushJsonbValue(&state, WJB_VALUE, &v);
	}
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

/*
 * What w's events can carry beyond a time and an amount (VIGIL_INPUT_*
 * bits): vigil_event_read sets a location, merchant or category only from
 * the columns the watch has.
 */
unsigned
vigil_watch_inputs(const VigilWatch *w)
{
	unsigned	inputs = 0;

	if (w->lat.attnum != 0 && w->lon.attnum != 0)
		inputs |= VIGIL_INPUT_LOCATION;
	if (w->merchant.attnum != 0)
		inputs |= VIGIL_INPUT_MERCHANT;
	if (w->category.attnum != 0)
		inputs |= VIGIL_INPUT_CATEGORY;
	return inputs;
}
