#!/usr/bin/python3
"""AWS Lambda handler: card transactions from a Kinesis stream into PostgreSQL (pg_vigil scores them).

Event source: a Kinesis stream whose records are JSON transactions (the fields of
examples/generator/generate.py; see RECORD below), base64-encoded by Kinesis as usual.  The
tables are those of examples/schema.sql.  For each invocation (one batch of one shard):

1. Every record is decoded and validated: base64, UTF-8, a JSON object, the required fields
   present with the right types and in range.  A record that fails is *rejected*: logged (one
   JSON line with its sequence number and the reason) and kept in the table ingest_rejects,
   never inserted.
2. The valid records are written in ONE statement, so one round trip per batch: customers,
   cards and merchants are upserted (the batch's last value of each attribute wins; an absent
   attribute keeps the stored one), unknown categories are added, and the transactions are
   inserted deduplicated by trans_num (ON CONFLICT DO NOTHING) — a record delivered twice, in one
   batch or two, becomes one row.  The connection is in autocommit mode: the statement is its
   own transaction, and pg_vigil's detection trigger runs inside it.
3. The handler returns a partial batch response, {"batchItemFailures": [{"itemIdentifier":
   sequenceNumber}, ...]}: the records to deliver again.

Which records are failures (the choice, and why).  With Kinesis, Lambda checkpoints the shard
before the lowest sequence number reported and delivers everything from there again; a record
reported on every delivery therefore blocks its shard until the records expire.  So:

- a record that can never succeed — malformed, missing fields, out of range, or refused by the
  database for its data (SQLSTATE classes 22 and 23: found by writing the batch again one record
  at a time) — is rejected as above and NOT reported: the shard moves on past it;
- a record that failed for a reason that may go away — the database unreachable, a restart or
  failover, a timeout, a deadlock or serialization failure, a lock not available, a permission
  or configuration error — IS reported, so Lambda delivers it again (and, if it keeps failing,
  the event source mapping's retry limit, maximum record age and on-failure destination decide).
  All the batch's valid records are reported then (the lowest one is what counts anyway);
  re-delivery is harmless, as the writes are idempotent.

Configure the event source mapping with FunctionResponseTypes = ["ReportBatchItemFailures"].

Database settings come from the environment: DATABASE_URL (a libpq connection URI or
"key=value" string) if set, otherwise libpq's own variables (PGHOST, PGPORT, PGDATABASE,
PGUSER, PGPASSWORD, PGSSLMODE, PGOPTIONS, PGCONNECT_TIMEOUT, PGAPPNAME, ...).  Defaults:
connect_timeout 5 s and application_name vigil-ingest unless given.  One connection is opened
on first use and kept in a module global across invocations of the same execution
environment; a connection that broke is replaced, and a batch that failed on a reused
connection is tried once more on a new one.  Statements are never prepared (psycopg's
prepare_threshold=None), so the connection may go through RDS Proxy without pinning or through
PgBouncer in transaction pooling mode.  Put a statement_timeout shorter than the function's
timeout in PGOPTIONS (e.g. "-c statement_timeout=20s").

Needs psycopg 3 (Debian 12: python3-psycopg; on Lambda, a layer with psycopg[binary]).
Also a command for shell scripts and tests: handler.py [FILE...] reads Kinesis events, one JSON
event per line (generate.py --format kinesis), from the files or standard input, invokes the
handler on each and prints a summary; it exits with status 1 if any record was reported for retry.
"""

import base64
import binascii
import datetime
import decimal
import json
import logging
import os
import re
import sys

import psycopg
import psycopg.conninfo

log = logging.getLogger("vigil-ingest")
log.setLevel(logging.INFO)
log.addHandler(logging.NullHandler())       # Lambda's root handler writes them to CloudWatch

MAX_AMOUNT = decimal.Decimal("1000000.00")    # above this a record is refused (not a card purchase)
MAX_ID = 2 ** 63 - 1
TEXT_MAX = 200
NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
LAST4_RE = re.compile(r"^[0-9]{4}$")
EARLIEST = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
LATEST = datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc)

# The record: field -> (required, kind).  Unknown fields are ignored.
RECORD = {
    "trans_num": (True, "name"),            # the processor's unique id of the transaction
    "trans_time": (True, "time"),           # ISO 8601 with a UTC offset ("...Z")
    "card_id": (True, "id"),
    "customer_id": (True, "id"),
    "merchant_id": (True, "id"),
    "merchant_name": (True, "text"),
    "category": (True, "category"),
    "amount": (True, "amount"),             # a JSON number, > 0, <= MAX_AMOUNT, whole cents
    "merchant_lat": (False, "lat"),         # where the card was used; absent when online
    "merchant_lon": (False, "lon"),
    "card_last4": (False, "last4"),
    "first_name": (False, "text"), "last_name": (False, "text"), "gender": (False, "text"),
    "dob": (False, "date"), "job": (False, "text"), "city": (False, "text"),
    "state": (False, "text"), "zip": (False, "text"),
    "cust_lat": (False, "lat"), "cust_lon": (False, "lon"),
    "city_pop": (False, "count"),
    "is_fraud": (False, "bool"),            # labels, for training and evaluation data
    "fraud_pattern": (False, "text"),
}

# One round trip: everything in one statement.  Parents are written before children in the
# same statement; the foreign-key checks run at its end and see them.  Keys are sorted, so
# concurrent batches lock shared rows (merchants, say) in the same order.
WRITE_SQL = """
WITH
cat AS (
	INSERT INTO categories (category)
	SELECT DISTINCT c FROM unnest(%(t_category)s::text[]) c
	ON CONFLICT DO NOTHING
	RETURNING 1),
cu AS (
	INSERT INTO customers AS c (customer_id, first_name, last_name, gender, dob, job, city, state,
								zip, lat, lon, city_pop)
	SELECT * FROM unnest(%(cu_id)s::bigint[], %(cu_first)s::text[], %(cu_last)s::text[],
						 %(cu_gender)s::text[], %(cu_dob)s::date[], %(cu_job)s::text[],
						 %(cu_city)s::text[], %(cu_state)s::text[], %(cu_zip)s::text[],
						 %(cu_lat)s::float8[], %(cu_lon)s::float8[], %(cu_pop)s::int[])
	ORDER BY 1
	ON CONFLICT (customer_id) DO UPDATE SET
		first_name = coalesce(EXCLUDED.first_name, c.first_name),
		last_name = coalesce(EXCLUDED.last_name, c.last_name),
		gender = coalesce(EXCLUDED.gender, c.gender),
		dob = coalesce(EXCLUDED.dob, c.dob),
		job = coalesce(EXCLUDED.job, c.job),
		city = coalesce(EXCLUDED.city, c.city),
		state = coalesce(EXCLUDED.state, c.state),
		zip = coalesce(EXCLUDED.zip, c.zip),
		lat = CASE WHEN EXCLUDED.lat IS NULL THEN c.lat ELSE EXCLUDED.lat END,
		lon = CASE WHEN EXCLUDED.lat IS NULL THEN c.lon ELSE EXCLUDED.lon END,
		city_pop = coalesce(EXCLUDED.city_pop, c.city_pop),
		updated_at = now()
	WHERE (c.first_name, c.last_name, c.gender, c.dob, c.job, c.city, c.state, c.zip, c.lat,
		   c.lon, c.city_pop)
		  IS DISTINCT FROM
		  (coalesce(EXCLUDED.first_name, c.first_name), coalesce(EXCLUDED.last_name, c.last_name),
		   coalesce(EXCLUDED.gender, c.gender), coalesce(EXCLUDED.dob, c.dob),
		   coalesce(EXCLUDED.job, c.job), coalesce(EXCLUDED.city, c.city),
		   coalesce(EXCLUDED.state, c.state), coalesce(EXCLUDED.zip, c.zip),
		   coalesce(EXCLUDED.lat, c.lat), CASE WHEN EXCLUDED.lat IS NULL THEN c.lon ELSE EXCLUDED.lon END,
		   coalesce(EXCLUDED.city_pop, c.city_pop))
	RETURNING 1),
ca AS (
	INSERT INTO cards AS c (card_id, customer_id, last4)
	SELECT * FROM unnest(%(ca_id)s::bigint[], %(ca_customer)s::bigint[], %(ca_last4)s::text[])
	ORDER BY 1
	ON CONFLICT (card_id) DO UPDATE SET
		customer_id = EXCLUDED.customer_id,
		last4 = coalesce(EXCLUDED.last4, c.last4),
		updated_at = now()
	WHERE (c.customer_id, c.last4)
		  IS DISTINCT FROM (EXCLUDED.customer_id, coalesce(EXCLUDED.last4, c.last4))
	RETURNING 1),
me AS (
	INSERT INTO merchants AS m (merchant_id, name, category, lat, lon)
	SELECT * FROM unnest(%(me_id)s::bigint[], %(me_name)s::text[], %(me_category)s::text[],
						 %(me_lat)s::float8[], %(me_lon)s::float8[])
	ORDER BY 1
	ON CONFLICT (merchant_id) DO UPDATE SET
		name = EXCLUDED.name, category = EXCLUDED.category,
		lat = CASE WHEN EXCLUDED.lat IS NULL THEN m.lat ELSE EXCLUDED.lat END,
		lon = CASE WHEN EXCLUDED.lat IS NULL THEN m.lon ELSE EXCLUDED.lon END,
		updated_at = now()
	WHERE (m.name, m.category, m.lat, m.lon)
		  IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.category, coalesce(EXCLUDED.lat, m.lat),
							CASE WHEN EXCLUDED.lat IS NULL THEN m.lon ELSE EXCLUDED.lon END)
	RETURNING 1),
rj AS (
	INSERT INTO ingest_rejects (event_id, sequence_number, event_source_arn, reason, payload)
	SELECT * FROM unnest(%(rj_event)s::text[], %(rj_seq)s::text[], %(rj_arn)s::text[],
						 %(rj_reason)s::text[], %(rj_payload)s::text[])
	ON CONFLICT (event_id) DO NOTHING
	RETURNING 1),
tx AS (
	INSERT INTO transactions (trans_num, card_id, merchant_id, category, amount, trans_time, lat,
							  lon, is_fraud, fraud_pattern)
	SELECT * FROM unnest(%(t_num)s::text[], %(t_card)s::bigint[], %(t_merchant)s::bigint[],
						 %(t_category)s::text[], %(t_amount)s::numeric[], %(t_time)s::timestamptz[],
						 %(t_lat)s::float8[], %(t_lon)s::float8[], %(t_fraud)s::boolean[],
						 %(t_pattern)s::text[])
	ORDER BY 6, 1
	ON CONFLICT (trans_num) DO NOTHING
	RETURNING 1)
SELECT (SELECT count(*) FROM tx), (SELECT count(*) FROM cu), (SELECT count(*) FROM ca),
	   (SELECT count(*) FROM me), (SELECT count(*) FROM cat), (SELECT count(*) FROM rj)
"""

_conn = None        # reused across invocations of one execution environment


class Invalid(Exception):
    """A record that can never be inserted."""


def log_event(level, event, **fields):
    """One JSON log line (CloudWatch Logs Insights can query its fields)."""
    log.log(level, json.dumps({"event": event, **fields}, default=str, sort_keys=True))


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def parse_record(rec):
    """The transaction of one Kinesis record, validated: dict of RECORD fields.  Raises Invalid."""
    try:
        raw = base64.b64decode(rec["kinesis"]["data"], validate=True)
    except (KeyError, TypeError) as e:
        raise Invalid("no kinesis.data in the record") from e
    except (binascii.Error, ValueError) as e:
        raise Invalid(f"data is not valid base64: {e}") from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Invalid(f"data is not UTF-8: {e}") from e
    try:
        doc = json.loads(text, parse_float=decimal.Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        raise Invalid(f"data is not valid JSON: {e}") from e
    if not isinstance(doc, dict):
        raise Invalid(f"data is a JSON {type(doc).__name__}, not an object")
    out = {}
    for field, (required, kind) in RECORD.items():
        v = doc.get(field)
        if v is None:
            if required:
                raise Invalid(f"missing field {field}")
            out[field] = None
            continue
        out[field] = check(field, kind, v)
    for a, b in (("merchant_lat", "merchant_lon"), ("cust_lat", "cust_lon")):
        if (out[a] is None) != (out[b] is None):
            raise Invalid(f"{a} and {b} must be given together")
    return out


def check(field, kind, v):
    """The value of a field of the given kind, or raise Invalid saying what is wrong."""
    def bad(what):
        shown = repr(v) if len(repr(v)) <= 60 else repr(v)[:57] + "..."
        return Invalid(f"{field} must be {what}, got {shown}")

    def number():
        if isinstance(v, bool) or not isinstance(v, (int, decimal.Decimal)):
            raise bad("a number")
        return v

    def string():
        if not isinstance(v, str):
            raise bad("a string")
        if "\x00" in v:
            raise bad("a string without NUL characters")
        return v

    if kind == "name":
        if not NAME_RE.match(string()):
            raise bad("1 to 64 letters, digits or _.:-")
        return v
    if kind == "text":
        if not 0 < len(string()) <= TEXT_MAX:
            raise bad(f"a string of 1 to {TEXT_MAX} characters")
        return v
    if kind == "category":
        if not CATEGORY_RE.match(string()):
            raise bad("a category code (lower case letters, digits, _; at most 40)")
        return v
    if kind == "last4":
        if not LAST4_RE.match(string()):
            raise bad("four digits")
        return v
    if kind == "id":
        if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= MAX_ID:
            raise bad("a positive integer below 2^63")
        return v
    if kind == "count":
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 2 ** 31 - 1:
            raise bad("a whole number between 0 and 2^31-1")
        return v
    if kind == "bool":
        if not isinstance(v, bool):
            raise bad("true or false")
        return v
    if kind == "amount":
        d = decimal.Decimal(number())
        if not d.is_finite() or not decimal.Decimal(0) < d <= MAX_AMOUNT:
            raise bad(f"more than 0 and at most {MAX_AMOUNT}")
        if d != d.quantize(decimal.Decimal("0.01")):
            raise bad("whole cents")
        return d.quantize(decimal.Decimal("0.01"))
    if kind in ("lat", "lon"):
        limit = 90 if kind == "lat" else 180
        d = number()
        if not (isinstance(d, int) or d.is_finite()) or not -limit <= d <= limit:
            raise bad(f"a number between -{limit} and {limit}")
        return float(d)
    if kind == "time":
        s = string()
        try:
            t = datetime.datetime.fromisoformat(s[:-1] + "+00:00" if s[-1:] in "Zz" else s)
        except ValueError as e:
            raise bad("an ISO 8601 time") from e
        if t.tzinfo is None:
            raise bad("a time with a UTC offset (e.g. 2025-03-03T14:05:09Z)")
        if not EARLIEST <= t < LATEST:
            raise bad("a time in the years 2000 to 2099")
        return t
    if kind == "date":
        try:
            d = datetime.date.fromisoformat(string())
        except ValueError as e:
            raise bad("a date (YYYY-MM-DD)") from e
        # today in UTC, as the times are: not the execution environment's local date
        if not datetime.date(1900, 1, 1) <= d <= datetime.datetime.now(datetime.timezone.utc).date():
            raise bad("a date between 1900-01-01 and today")
        return d
    raise AssertionError(kind)


def batch_params(rows, rejects):
    """The statement's parameters: arrays of the batch's entities and transactions."""
    customers, cards, merchants, txs = {}, {}, {}, {}
    for r in rows:
        cu = customers.setdefault(r["customer_id"], {})
        for f in ("first_name", "last_name", "gender", "dob", "job", "city", "state", "zip",
                  "city_pop"):
            if r[f] is not None:
                cu[f] = r[f]
        if r["cust_lat"] is not None:
            cu["lat"], cu["lon"] = r["cust_lat"], r["cust_lon"]
        ca = cards.setdefault(r["card_id"], {})
        ca["customer_id"] = r["customer_id"]
        if r["card_last4"] is not None:
            ca["last4"] = r["card_last4"]
        me = merchants.setdefault(r["merchant_id"], {})
        me["name"], me["category"] = r["merchant_name"], r["category"]
        if r["merchant_lat"] is not None:
            me["lat"], me["lon"] = r["merchant_lat"], r["merchant_lon"]
        txs.setdefault(r["trans_num"], r)       # the first of duplicates in the batch
    cu_ids, ca_ids, me_ids = sorted(customers), sorted(cards), sorted(merchants)
    t = list(txs.values())
    return {
        "cu_id": cu_ids,
        **{f"cu_{k}": [customers[i].get(f) for i in cu_ids] for k, f in (
            ("first", "first_name"), ("last", "last_name"), ("gender", "gender"), ("dob", "dob"),
            ("job", "job"), ("city", "city"), ("state", "state"), ("zip", "zip"), ("lat", "lat"),
            ("lon", "lon"), ("pop", "city_pop"))},
        "ca_id": ca_ids,
        "ca_customer": [cards[i]["customer_id"] for i in ca_ids],
        "ca_last4": [cards[i].get("last4") for i in ca_ids],
        "me_id": me_ids,
        "me_name": [merchants[i]["name"] for i in me_ids],
        "me_category": [merchants[i]["category"] for i in me_ids],
        "me_lat": [merchants[i].get("lat") for i in me_ids],
        "me_lon": [merchants[i].get("lon") for i in me_ids],
        "t_num": [r["trans_num"] for r in t],
        "t_card": [r["card_id"] for r in t],
        "t_merchant": [r["merchant_id"] for r in t],
        "t_category": [r["category"] for r in t],
        "t_amount": [r["amount"] for r in t],
        "t_time": [r["trans_time"] for r in t],
        "t_lat": [r["merchant_lat"] for r in t],
        "t_lon": [r["merchant_lon"] for r in t],
        "t_fraud": [r["is_fraud"] for r in t],
        "t_pattern": [r["fraud_pattern"] for r in t],
        "rj_event": [j["event_id"] for j in rejects],
        "rj_seq": [j["sequence_number"] for j in rejects],
        "rj_arn": [j["event_source_arn"] for j in rejects],
        "rj_reason": [j["reason"] for j in rejects],
        "rj_payload": [j["payload"] for j in rejects],
    }


def connect():
    """A new autocommit connection from DATABASE_URL or libpq's environment variables."""
    url = os.environ.get("DATABASE_URL", "")
    given = psycopg.conninfo.conninfo_to_dict(url)
    # prepare_threshold=None: never prepare statements.  psycopg prepares a statement on its
    # sixth execution by default, and a prepared statement pins the connection to its server
    # session in RDS Proxy and breaks PgBouncer's transaction pooling.  The batch is one
    # statement per invocation, so preparing it saves little.
    kwargs = {"autocommit": True, "prepare_threshold": None}
    if not os.environ.get("PGCONNECT_TIMEOUT") and "connect_timeout" not in given:
        kwargs["connect_timeout"] = 5
    if not os.environ.get("PGAPPNAME") and "application_name" not in given:
        kwargs["application_name"] = "vigil-ingest"
    return psycopg.connect(url, **kwargs)


def reset_connection():
    """Forget the kept connection (closing it), so the next write connects again."""
    global _conn
    if _conn is not None:
        try:
            _conn.close()
        except psycopg.Error:
            pass
    _conn = None


def write(rows, rejects):
    """Write one batch in one statement; returns its counts.  Raises psycopg.Error."""
    global _conn
    params = batch_params(rows, rejects)
    for _ in range(2):
        fresh = _conn is None or _conn.closed or _conn.broken
        if fresh:
            reset_connection()
            _conn = connect()
        try:
            with _conn.cursor() as cur:
                cur.execute(WRITE_SQL, params)
                counts = cur.fetchone()
            return dict(zip(("inserted", "customers", "cards", "merchants", "categories",
                             "rejects_stored"), counts))
        except psycopg.OperationalError:
            # The server's answer (a timeout, a deadlock) or a new connection failing: report
            # it.  A kept connection found dead (a restart, a failover, an idle timeout) is
            # replaced, and the batch tried once more on the new one.
            if fresh or not (_conn.closed or _conn.broken):
                raise
            reset_connection()
    raise AssertionError("unreachable")


def data_error(e):
    """Whether a database error is about the data (will fail the same way every time)."""
    return isinstance(e, (psycopg.DataError, psycopg.IntegrityError))


def handler(event, context=None):
    """Lambda entry point for a Kinesis event; returns the partial batch response."""
    records = event.get("Records") or []
    rows, seqs, rejects = [], [], []
    for rec in records:
        kin = rec.get("kinesis") if isinstance(rec, dict) else None
        seq = kin.get("sequenceNumber") if isinstance(kin, dict) else None
        try:
            if seq is None:
                raise Invalid("no kinesis.sequenceNumber in the record")
            rows.append(parse_record(rec))
            seqs.append(seq)
        except Invalid as e:
            rejects.append(reject(rec, seq, str(e)))

    failures = []
    counts = {"inserted": 0}
    if rows or rejects:
        try:
            counts = write(rows, rejects)
        except psycopg.Error as e:
            if not data_error(e):
                log_event(logging.ERROR, "batch_failed", records=len(rows), sqlstate=e.sqlstate,
                          error=str(e).strip(), retry_from=seqs[0] if seqs else None)
                failures = list(seqs)
            else:
                # some record's data is refused by the database: find it, one record at a time
                log_event(logging.WARNING, "batch_data_error", sqlstate=e.sqlstate,
                          error=str(e).strip())
                counts, failures = write_one_by_one(records, rows, seqs, rejects)
    for j in rejects:
        log_event(logging.WARNING, "record_rejected", sequence_number=j["sequence_number"],
                  event_id=j["event_id"], reason=j["reason"])
    duplicates = len(rows) - len(failures) - counts.get("inserted", 0)
    log_event(logging.INFO, "batch_done", records=len(records), valid=len(rows),
              inserted=counts.get("inserted", 0), duplicates=max(0, duplicates),
              rejected=len(rejects), retry=len(failures))
    return {"batchItemFailures": [{"itemIdentifier": s} for s in failures]}


def write_one_by_one(records, rows, seqs, rejects):
    """After a data error: each valid record in its own statement; returns (counts, failures)."""
    counts = {"inserted": 0}
    failures = []
    by_seq = {}
    for rec in records:
        kin = rec.get("kinesis") if isinstance(rec, dict) else None
        if isinstance(kin, dict):
            by_seq.setdefault(kin.get("sequenceNumber"), rec)
    for row, seq in zip(rows, seqs):
        try:
            counts["inserted"] += write([row], [])["inserted"]
        except psycopg.Error as e:
            if data_error(e):
                rejects.append(reject(by_seq.get(seq, {}), seq,
                                      f"refused by the database ({e.sqlstate}): {str(e).strip()}"))
            else:
                failures.append(seq)
    if rejects:
        try:
            write([], rejects)
        except psycopg.Error as e:
            log_event(logging.ERROR, "rejects_not_stored", sqlstate=e.sqlstate, error=str(e).strip())
    return counts, failures


def reject(rec, seq, reason):
    """A rejected record, as stored in ingest_rejects."""
    rec = rec if isinstance(rec, dict) else {}
    kin = rec.get("kinesis") if isinstance(rec.get("kinesis"), dict) else {}
    data = kin.get("data")
    seq_text = str(seq) if seq is not None else None
    return {
        "event_id": str(rec.get("eventID") or f"no-event-id:{seq_text}"),
        "sequence_number": seq_text,
        "event_source_arn": rec.get("eventSourceARN") if isinstance(rec.get("eventSourceARN"), str) else None,
        "reason": reason,
        "payload": data.replace("\x00", "") if isinstance(data, str) else None,
    }


def main(argv):
    """handler.py [FILE...]: invoke the handler on each Kinesis event (one JSON per line)."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if os.environ.get("VIGIL_INGEST_VERBOSE"):
        log.setLevel(logging.INFO)
    else:
        log.setLevel(logging.WARNING)
    events = records = retried = 0
    files = argv or ["-"]
    for name in files:
        f = sys.stdin if name == "-" else open(name, encoding="utf-8")
        try:
            for line in f:
                if not line.strip():
                    continue
                event = json.loads(line)
                result = handler(event)
                events += 1
                records += len(event.get("Records") or [])
                retried += len(result["batchItemFailures"])
        finally:
            if f is not sys.stdin:
                f.close()
    print(f"{events} events, {records} records, {retried} reported for retry", file=sys.stderr)
    return 1 if retried else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
