#!/usr/bin/python3
"""Tests of the ingestion Lambda (examples/lambda/handler.py) against a real PostgreSQL cluster
with pg_vigil, the sample schema (examples/schema.sql) and the generator's CSV loader.

Starts a throwaway cluster with test/cluster.sh in tmp/lambda-cluster on the first free port from
54331 (VIGIL_EXAMPLES_PORT), creates a database with CREATE EXTENSION vigil and the schema, and calls
the handler with Kinesis events: hand-made ones (duplicates, malformed records, transient
failures) and generated ones (examples/generator/generate.py).  Needs the extension installed
(make install) and python3-psycopg.  The cluster is destroyed at the end.

Run:  /usr/bin/python3 test/examples/test_lambda.py -v
  or  /usr/bin/python3 -m unittest discover -v -s test/examples -t test/examples
"""

import base64
import datetime
import decimal
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
import unittest
from unittest import mock

import psycopg

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER = os.path.join(TOP, "tmp", "lambda-cluster")
PORT = subprocess.run([os.path.join(TOP, "test", "cluster.sh"), "port",
                       os.environ.get("VIGIL_EXAMPLES_PORT", "54331")],
                      check=True, capture_output=True, text=True).stdout.strip()
DB = "vigil_lambda"
PSQL = "/usr/lib/postgresql/15/bin/psql"
GEN = os.path.join(TOP, "examples", "generator", "generate.py")
HANDLER = os.path.join(TOP, "examples", "lambda", "handler.py")
ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/test"
ROLE = "vigil_ingest_test"
DB_ENV = {"PGHOST": "127.0.0.1", "PGPORT": PORT, "PGDATABASE": DB, "PGUSER": "postgres"}

spec = importlib.util.spec_from_file_location("vigil_ingest_handler", HANDLER)
handler = importlib.util.module_from_spec(spec)
spec.loader.exec_module(handler)

_seq = [0]


def next_seq():
    """A new Kinesis-like sequence number (56 digits, increasing)."""
    _seq[0] += 1
    return f"4959{0:04d}{_seq[0] + 10 ** 9:048d}"


def record(data, seq=None):
    """A Kinesis record of the Lambda event; data is a dict (sent as JSON), bytes or a str (sent as is)."""
    seq = seq or next_seq()
    if isinstance(data, dict):
        data = json.dumps(data).encode()
    if isinstance(data, bytes):
        data = base64.b64encode(data).decode()
    return {"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "k", "sequenceNumber": seq,
                        "data": data, "approximateArrivalTimestamp": 1741000000.0},
            "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"shardId-000000000000:{seq}",
            "eventName": "aws:kinesis:record", "awsRegion": "us-east-1", "eventSourceARN": ARN}


def event(*records):
    return {"Records": list(records)}


def seq_of(rec):
    return rec["kinesis"]["sequenceNumber"]


_num = [0]


def tx(**over):
    """A valid transaction record (a dict), with a new trans_num unless given."""
    _num[0] += 1
    doc = {
        "trans_num": f"t{_num[0]:06d}", "trans_time": "2025-03-03T12:00:00Z", "card_id": 9100001,
        "card_last4": "4242", "customer_id": 9200001, "first_name": "Ada", "last_name": "Lovelace",
        "gender": "F", "dob": "1985-12-10", "job": "Programmer", "city": "Boston", "state": "MA",
        "zip": "02110", "cust_lat": 42.36, "cust_lon": -71.06, "city_pop": 692600,
        "merchant_id": 9300001, "merchant_name": "Corner Market", "category": "grocery_pos",
        "merchant_lat": 42.35, "merchant_lon": -71.05, "amount": 23.45, "is_fraud": False,
    }
    doc.update(over)
    return {k: v for k, v in doc.items() if v is not ...}


def sh(*args, **kw):
    p = subprocess.run(list(args), capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p.stdout


class LambdaTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cluster = os.path.join(TOP, "test", "cluster.sh")
        sh(cluster, "destroy", CLUSTER)
        # cleanups run even when the rest of the set-up fails
        cls.addClassCleanup(sh, cluster, "destroy", CLUSTER)
        sh(cluster, "start", CLUSTER, PORT)
        env = mock.patch.dict(os.environ, DB_ENV)
        env.start()
        cls.addClassCleanup(env.stop)
        cls.addClassCleanup(handler.reset_connection)
        os.environ.pop("DATABASE_URL", None)
        admin = psycopg.connect(host="127.0.0.1", port=PORT, user="postgres", dbname="postgres",
                                autocommit=True)
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.execute(f"CREATE DATABASE {DB}")
        admin.execute(f"DROP ROLE IF EXISTS {ROLE}")
        admin.execute(f"CREATE ROLE {ROLE} LOGIN")
        admin.close()
        cls.db = psycopg.connect(host="127.0.0.1", port=PORT, user="postgres", dbname=DB,
                                 autocommit=True)
        cls.addClassCleanup(cls.db.close)
        cls.db.execute("CREATE EXTENSION vigil")
        sh(PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", PORT, "-U", "postgres",
           "-d", DB, "-f", os.path.join(TOP, "examples", "schema.sql"))
        # the least-privileged role that schema.sql documents
        with open(os.path.join(TOP, "examples", "schema.sql")) as f:
            grants = [line.strip()[3:].replace("vigil_ingest", ROLE) for line in f
                      if line.strip().startswith("--   GRANT")]
        assert len(grants) >= 3, grants
        for g in grants:
            cls.db.execute(g)

    def setUp(self):
        handler.reset_connection()

    def q(self, sql, *args):
        return self.db.execute(sql, args).fetchall()

    def q1(self, sql, *args):
        return self.db.execute(sql, args).fetchone()[0]

    def stored(self, nums):
        return sorted(r[0] for r in self.q("SELECT trans_num FROM transactions WHERE trans_num = ANY(%s)",
                                           list(nums)))

    def invoke(self, ev):
        """Call the handler; check the shape of its answer; return the sequence numbers to retry."""
        res = handler.handler(ev, None)
        self.assertEqual(list(res), ["batchItemFailures"])
        for item in res["batchItemFailures"]:
            self.assertEqual(list(item), ["itemIdentifier"])
        return [i["itemIdentifier"] for i in res["batchItemFailures"]]

    # --- the happy path -----------------------------------------------------------------------

    def test_inserts_transactions_and_entities(self):
        a = tx(card_id=9100101, customer_id=9200101, merchant_id=9300101, amount=12.3,
               trans_time="2025-03-03T10:15:00+02:00")
        b = tx(card_id=9100102, customer_id=9200101, merchant_id=9300102, category="shopping_net",
               merchant_name="Web Shop", merchant_lat=None, merchant_lon=None, amount=1999.99,
               is_fraud=True, fraud_pattern="amount_spike")
        c = tx(card_id=9100101, customer_id=9200101, merchant_id=9300101, amount=7)
        self.assertEqual(self.invoke(event(record(a), record(b), record(c))), [])
        rows = self.q("SELECT trans_num, card_id, merchant_id, category, amount, trans_time, lat, lon, "
                      "is_fraud, fraud_pattern FROM transactions WHERE trans_num = ANY(%s) ORDER BY 1",
                      [a["trans_num"], b["trans_num"], c["trans_num"]])
        self.assertEqual(rows, [
            (a["trans_num"], 9100101, 9300101, "grocery_pos", decimal.Decimal("12.30"),
             datetime.datetime(2025, 3, 3, 8, 15, tzinfo=datetime.timezone.utc), 42.35, -71.05, False, None),
            (b["trans_num"], 9100102, 9300102, "shopping_net", decimal.Decimal("1999.99"),
             datetime.datetime(2025, 3, 3, 12, 0, tzinfo=datetime.timezone.utc), None, None, True,
             "amount_spike"),
            (c["trans_num"], 9100101, 9300101, "grocery_pos", decimal.Decimal("7.00"),
             datetime.datetime(2025, 3, 3, 12, 0, tzinfo=datetime.timezone.utc), 42.35, -71.05, False, None),
        ])
        self.assertEqual(self.q("SELECT customer_id, first_name, last_name, dob, city, lat, lon, city_pop "
                                "FROM customers WHERE customer_id = 9200101"),
                         [(9200101, "Ada", "Lovelace", datetime.date(1985, 12, 10), "Boston", 42.36, -71.06,
                           692600)])
        self.assertEqual(self.q("SELECT card_id, customer_id, last4 FROM cards WHERE card_id IN (9100101, 9100102) "
                                "ORDER BY 1"), [(9100101, 9200101, "4242"), (9100102, 9200101, "4242")])
        self.assertEqual(self.q("SELECT merchant_id, name, category, lat, lon FROM merchants "
                                "WHERE merchant_id IN (9300101, 9300102) ORDER BY 1"),
                         [(9300101, "Corner Market", "grocery_pos", 42.35, -71.05),
                          (9300102, "Web Shop", "shopping_net", None, None)])
        # detection saw them: the card's profile counts two transactions
        self.assertEqual(self.q1("SELECT n FROM vigil.profile_summary WHERE key = '9100101'"), 2)

    def test_upserts_update_and_keep(self):
        first = tx(card_id=9100201, customer_id=9200201, merchant_id=9300201)
        self.assertEqual(self.invoke(event(record(first))), [])
        before = self.q1("SELECT updated_at FROM customers WHERE customer_id = 9200201")
        # the customer moved (new city, home), the merchant was renamed, the card re-issued with
        # new last digits; absent optional fields keep what is stored
        moved = tx(card_id=9100201, customer_id=9200201, merchant_id=9300201, city="Denver", state="CO",
                   cust_lat=39.74, cust_lon=-104.99, merchant_name="Corner Market & Deli",
                   card_last4="1111", first_name=None, job=None, dob=None, city_pop=None)
        unknown_cat = tx(card_id=9100202, customer_id=9200201, merchant_id=9300202,
                         category="crypto_exchange", merchant_name="Coin Place")
        # within a batch the last record's attributes win
        self.assertEqual(self.invoke(event(record(unknown_cat), record(moved))), [])
        self.assertEqual(self.q("SELECT first_name, job, dob, city, state, lat, lon, city_pop FROM customers "
                                "WHERE customer_id = 9200201"),
                         [("Ada", "Programmer", datetime.date(1985, 12, 10), "Denver", "CO", 39.74, -104.99,
                           692600)])
        self.assertGreater(self.q1("SELECT updated_at FROM customers WHERE customer_id = 9200201"), before)
        self.assertEqual(self.q1("SELECT name FROM merchants WHERE merchant_id = 9300201"), "Corner Market & Deli")
        self.assertEqual(self.q1("SELECT last4 FROM cards WHERE card_id = 9100201"), "1111")
        self.assertEqual(self.q1("SELECT count(*) FROM cards WHERE customer_id = 9200201"), 2)
        self.assertEqual(self.q("SELECT description FROM categories WHERE category = 'crypto_exchange'"), [(None,)])
        # an unchanged entity is not rewritten
        stamp = self.q1("SELECT updated_at FROM merchants WHERE merchant_id = 9300202")
        self.assertEqual(self.invoke(event(record(tx(card_id=9100202, customer_id=9200201, merchant_id=9300202,
                                                     category="crypto_exchange", merchant_name="Coin Place")))),
                         [])
        self.assertEqual(self.q1("SELECT updated_at FROM merchants WHERE merchant_id = 9300202"), stamp)

    def test_one_statement_per_batch(self):
        recs = [record(tx(card_id=9100300 + i % 7, customer_id=9200300 + i % 5, merchant_id=9300300 + i % 11))
                for i in range(60)]
        calls = []
        real = psycopg.Cursor.execute

        def counting(cur, query, *a, **kw):
            calls.append(query)
            return real(cur, query, *a, **kw)

        self.invoke(event(record(tx())))          # connected before counting
        with mock.patch.object(psycopg.Cursor, "execute", counting):
            self.assertEqual(self.invoke(event(*recs)), [])
        self.assertEqual(len(calls), 1, "one statement per batch")
        self.assertEqual(len(self.stored(json.loads(base64.b64decode(r["kinesis"]["data"]))["trans_num"]
                                         for r in recs)), 60)

    def test_statements_are_never_prepared(self):
        # psycopg prepares a statement on its sixth execution unless told not to; a prepared
        # statement pins an RDS Proxy session and breaks PgBouncer's transaction pooling
        for _ in range(10):
            self.assertEqual(self.invoke(event(record(tx(card_id=9100350)))), [])
        self.assertEqual(handler._conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0],
                         0)
        self.assertIsNone(handler._conn.prepare_threshold)

    # --- duplicates and re-delivery ------------------------------------------------------------

    def test_duplicates_within_and_across_batches(self):
        a, b, c = tx(card_id=9100401), tx(card_id=9100401), tx(card_id=9100401)
        # a producer retry: the same data twice, with two sequence numbers, in one batch
        first = event(record(a), record(b), record(a))
        self.assertEqual(self.invoke(first), [])
        # and again in the next batch, with new data
        self.assertEqual(self.invoke(event(record(b), record(c))), [])
        # the same transaction number with other data is still the same transaction: the first
        # delivered wins, in a later batch or in the same one
        self.assertEqual(self.invoke(event(record(dict(a, amount=99.99)))), [])
        d = tx(card_id=9100401)
        self.assertEqual(self.invoke(event(record(d), record(dict(d, amount=88.88)))), [])
        self.assertEqual(self.q1("SELECT amount FROM transactions WHERE trans_num = %s", d["trans_num"]),
                         decimal.Decimal("23.45"))
        self.assertEqual(self.q("SELECT trans_num, count(*) FROM transactions WHERE trans_num IN (%s, %s, %s) "
                                "GROUP BY 1 ORDER BY 1", a["trans_num"], b["trans_num"], c["trans_num"]),
                         [(a["trans_num"], 1), (b["trans_num"], 1), (c["trans_num"], 1)])
        self.assertEqual(self.q1("SELECT amount FROM transactions WHERE trans_num = %s", a["trans_num"]),
                         decimal.Decimal("23.45"))
        # detection counted each transaction once
        self.assertEqual(self.q1("SELECT n FROM vigil.profile_summary WHERE key = '9100401'"), 4)

    def test_redelivery_is_idempotent(self):
        recs = [record(tx(card_id=9100501, amount=20 + i, trans_time=f"2025-03-04T0{i}:00:00Z"))
                for i in range(6)]
        recs.append(record(tx(card_id=9100501, amount=5000, trans_time="2025-03-04T07:00:00Z")))
        recs.append(record(b"not json"))
        ev = event(*recs)
        self.assertEqual(self.invoke(ev), [])

        def state():
            return (self.q("SELECT trans_num, amount FROM transactions WHERE card_id = 9100501 ORDER BY 1"),
                    self.q("SELECT profile::text FROM vigil.profiles WHERE key = '9100501'"),
                    self.q("SELECT id, key, amount FROM vigil.alerts WHERE key = '9100501' ORDER BY id"),
                    self.q("SELECT event_id, reason FROM ingest_rejects WHERE sequence_number = %s",
                           seq_of(recs[-1])))

        once = state()
        self.assertEqual(len(once[0]), 7)
        self.assertEqual(len(once[3]), 1)
        self.assertEqual(self.invoke(ev), [])
        self.assertEqual(self.invoke(ev), [])
        self.assertEqual(state(), once)

    # --- bad records ---------------------------------------------------------------------------

    def test_malformed_records_reported_not_inserted(self):
        good = [tx(card_id=9100601), tx(card_id=9100601)]
        base = tx(card_id=9100602)
        no = ...
        bad_docs = {
            "missing trans_num": dict(base, trans_num=no),
            "missing amount": dict(base, amount=no),
            "missing card_id": dict(base, card_id=no),
            "null merchant_id": dict(base, merchant_id=None),
            "amount as a string": dict(base, amount="12.00"),
            "negative amount": dict(base, amount=-5),
            "zero amount": dict(base, amount=0),
            "huge amount": dict(base, amount=1e12),
            "fraction of a cent": dict(base, amount=12.345),
            "card_id as a string": dict(base, card_id="9100602"),
            "card_id true": dict(base, card_id=True),
            "card_id negative": dict(base, card_id=-1),
            "card_id too big": dict(base, card_id=2 ** 63),
            "latitude 91": dict(base, merchant_lat=91.0),
            "longitude -181": dict(base, merchant_lon=-181.5),
            "customer latitude -90.5": dict(base, cust_lat=-90.5),
            "latitude alone": dict(base, merchant_lon=no),
            "time without offset": dict(base, trans_time="2025-03-03T12:00:00"),
            "time garbage": dict(base, trans_time="yesterday"),
            "time as a number": dict(base, trans_time=1741000000),
            "year 1999": dict(base, trans_time="1999-12-31T23:59:59Z"),
            "category with spaces": dict(base, category="Grocery POS"),
            "NUL in the name": dict(base, merchant_name="Bad\u0000Name"),
            "empty name": dict(base, merchant_name=""),
            "is_fraud as a string": dict(base, is_fraud="no"),
            "bad last4": dict(base, card_last4="42"),
            "dob in the future": dict(base, dob="2999-01-01"),
        }
        bad_raw = {
            "bad base64": "!!!not base64!!!",
            "not UTF-8": base64.b64encode(b"\xff\xfe{}").decode(),
            "not JSON": base64.b64encode(b'{"trans_num": "x",').decode(),
            "a JSON array": base64.b64encode(b"[1, 2, 3]").decode(),
            "NaN": base64.b64encode(json.dumps(dict(base, amount=float("nan"))).encode()).decode(),
            "Infinity latitude": base64.b64encode(
                json.dumps(dict(base, merchant_lat=float("inf"))).encode()).decode(),
        }
        recs, bad_seqs, bad_nums = [], {}, set()
        for doc in good[:1]:
            recs.append(record(doc))
        for why, doc in bad_docs.items():
            doc = {k: v for k, v in doc.items() if v is not ...}
            doc["trans_num"] = doc.get("trans_num") and f"bad-{len(bad_nums)}"
            if doc["trans_num"] is None:
                doc.pop("trans_num")
            else:
                bad_nums.add(doc["trans_num"])
            r = record(doc)
            bad_seqs[seq_of(r)] = why
            recs.append(r)
        for why, data in bad_raw.items():
            r = record(data)
            bad_seqs[seq_of(r)] = why
            recs.append(r)
        recs.append(record(good[1]))
        no_seq = record(tx(card_id=9100602))
        del no_seq["kinesis"]["sequenceNumber"]
        recs.append(no_seq)

        with self.assertLogs("vigil-ingest", level="WARNING") as logs:
            failures = self.invoke(event(*recs))
        self.assertEqual(failures, [], "bad records must not be retried")
        self.assertEqual(self.stored(g["trans_num"] for g in good), sorted(g["trans_num"] for g in good))
        self.assertEqual(self.stored(bad_nums), [])
        self.assertEqual(self.q1("SELECT count(*) FROM transactions WHERE card_id = 9100602"), 0)
        # each bad record is logged with its sequence number, and kept in ingest_rejects
        logged = [json.loads(line.split(":", 2)[2]) for line in logs.output]
        rejected = {e["sequence_number"]: e["reason"] for e in logged if e["event"] == "record_rejected"}
        for seq, why in bad_seqs.items():
            self.assertIn(seq, rejected, why)
        self.assertEqual(len(rejected), len(bad_seqs) + 1)
        stored = dict(self.q("SELECT sequence_number, reason FROM ingest_rejects WHERE sequence_number = ANY(%s)",
                             list(bad_seqs)))
        self.assertEqual(set(stored), set(bad_seqs))
        self.assertIn("base64", stored[[s for s, w in bad_seqs.items() if w == "bad base64"][0]])
        self.assertIn("amount", stored[[s for s, w in bad_seqs.items() if w == "huge amount"][0]])
        self.assertIn("merchant_lat", stored[[s for s, w in bad_seqs.items() if w == "latitude 91"][0]])
        self.assertIn("missing field trans_num",
                      stored[[s for s, w in bad_seqs.items() if w == "missing trans_num"][0]])
        self.assertEqual(self.q1("SELECT payload FROM ingest_rejects WHERE sequence_number = %s",
                                 [s for s, w in bad_seqs.items() if w == "bad base64"][0]), "!!!not base64!!!")

    def test_database_refusal_isolates_the_record(self):
        # a constraint the handler does not know about: the database refuses one record's data
        self.db.execute("ALTER TABLE transactions ADD CONSTRAINT test_no_777 CHECK (amount <> 777.77)")
        try:
            recs = [record(tx(card_id=9100701, amount=a)) for a in (10, 777.77, 30)]
            with self.assertLogs("vigil-ingest", level="WARNING") as logs:
                self.assertEqual(self.invoke(event(*recs)), [])
        finally:
            self.db.execute("ALTER TABLE transactions DROP CONSTRAINT test_no_777")
        self.assertEqual(self.q("SELECT amount FROM transactions WHERE card_id = 9100701 ORDER BY 1"),
                         [(decimal.Decimal("10.00"),), (decimal.Decimal("30.00"),)])
        self.assertRegex(self.q1("SELECT reason FROM ingest_rejects WHERE sequence_number = %s", seq_of(recs[1])),
                         r"^refused by the database \(23514\)")
        self.assertTrue(any(seq_of(recs[1]) in line for line in logs.output))

    # --- transient failures --------------------------------------------------------------------

    def test_database_down_reports_valid_records(self):
        good = [record(tx(card_id=9100801)) for _ in range(3)]
        bad = record(b"garbage")
        ev = event(good[0], bad, good[1], good[2])
        with mock.patch.dict(os.environ, {"PGPORT": "1"}), \
                self.assertLogs("vigil-ingest", level="WARNING") as logs:
            handler.reset_connection()
            failures = self.invoke(ev)
        self.assertEqual(failures, [seq_of(r) for r in good], "retry the valid records, not the bad one")
        self.assertTrue(any('"batch_failed"' in line for line in logs.output))
        self.assertTrue(any(seq_of(bad) in line and "record_rejected" in line for line in logs.output))
        self.assertEqual(self.q1("SELECT count(*) FROM transactions WHERE card_id = 9100801"), 0)
        # Lambda delivers the batch again once the database is back
        handler.reset_connection()
        self.assertEqual(self.invoke(ev), [])
        self.assertEqual(self.q1("SELECT count(*) FROM transactions WHERE card_id = 9100801"), 3)

    def test_lock_timeout_reports_valid_records(self):
        recs = [record(tx(card_id=9100901)) for _ in range(2)]
        blocker = psycopg.connect(host="127.0.0.1", port=PORT, user="postgres", dbname=DB)
        try:
            blocker.execute("LOCK TABLE transactions IN ACCESS EXCLUSIVE MODE")
            with mock.patch.dict(os.environ, {"PGOPTIONS": "-c lock_timeout=300ms"}), \
                    self.assertLogs("vigil-ingest", level="ERROR") as logs:
                handler.reset_connection()
                self.assertEqual(self.invoke(event(*recs)), [seq_of(r) for r in recs])
            self.assertTrue(any("55P03" in line for line in logs.output), logs.output)
        finally:
            blocker.rollback()
            blocker.close()
        handler.reset_connection()
        self.assertEqual(self.invoke(event(*recs)), [])
        self.assertEqual(self.q1("SELECT count(*) FROM transactions WHERE card_id = 9100901"), 2)

    def test_kept_connection_survives_a_restart(self):
        self.assertEqual(self.invoke(event(record(tx(card_id=9101001)))), [])
        kept = handler._conn
        pid = kept.info.backend_pid
        self.assertEqual(self.q1("SELECT application_name FROM pg_stat_activity WHERE pid = %s", pid),
                         "vigil-ingest")
        self.assertTrue(self.q1("SELECT pg_terminate_backend(%s)", pid))
        for _ in range(50):
            if not self.q1("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", pid):
                break
            time.sleep(0.1)
        # the next invocation finds its connection dead, connects again and succeeds
        self.assertEqual(self.invoke(event(record(tx(card_id=9101001)))), [])
        self.assertIsNot(handler._conn, kept)
        self.assertEqual(self.q1("SELECT count(*) FROM transactions WHERE card_id = 9101001"), 2)
        # and the new connection is kept for the next one
        conn = handler._conn
        self.assertEqual(self.invoke(event(record(tx(card_id=9101001)))), [])
        self.assertIs(handler._conn, conn)

    def test_concurrent_batches(self):
        # two shards' Lambdas writing the same merchants and customers at once
        shared = [dict(merchant_id=9301100 + i, customer_id=9201100 + i % 3) for i in range(20)]
        evs = [event(*[record(tx(card_id=9101100 + s * 50 + i % 5, **shared[(i * (s + 1)) % 20]))
                       for i in range(40)]) for s in range(2)]
        results = {}

        def run(s):
            spec2 = importlib.util.spec_from_file_location(f"handler_copy_{s}", HANDLER)
            h = importlib.util.module_from_spec(spec2)
            spec2.loader.exec_module(h)
            results[s] = h.handler(evs[s])
            h.reset_connection()

        threads = [threading.Thread(target=run, args=(s,)) for s in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(results, {0: {"batchItemFailures": []}, 1: {"batchItemFailures": []}})
        self.assertEqual(self.q1("SELECT count(*) FROM transactions WHERE card_id BETWEEN 9101100 AND 9101199"), 80)

    # --- the least-privileged role, the CLI, generated streams ---------------------------------

    def test_runs_as_least_privileged_role(self):
        recs = [record(tx(card_id=9101201, customer_id=9201201, merchant_id=9301201)),
                record(tx(card_id=9101201, customer_id=9201201, merchant_id=9301201, city="Salem")),
                record(tx(card_id=9101202, customer_id=9201201, merchant_id=9301202, category="pawn_shop",
                          city="Salem")),
                record(b"[]")]
        with mock.patch.dict(os.environ, {"PGUSER": ROLE}):
            handler.reset_connection()
            self.assertEqual(self.invoke(event(*recs)), [])
            self.assertEqual(handler._conn.info.user, ROLE)
            self.assertEqual(self.invoke(event(*recs)), [])       # the conflict paths too
        self.assertEqual(self.q1("SELECT count(*) FROM transactions WHERE card_id IN (9101201, 9101202)"), 3)
        self.assertEqual(self.q1("SELECT city FROM customers WHERE customer_id = 9201201"), "Salem")
        self.assertEqual(self.q1("SELECT count(*) FROM ingest_rejects WHERE sequence_number = %s",
                                 seq_of(recs[3])), 1)
        # detection ran although the role has no privilege on the schema vigil
        self.assertFalse(self.q1("SELECT has_schema_privilege(%s, 'vigil', 'USAGE')", ROLE))
        self.assertEqual(self.q1("SELECT n FROM vigil.profile_summary WHERE key = '9101201'"), 2)

    def test_schema_runs_twice(self):
        # set-up ran examples/schema.sql once; a second run creates nothing and changes nothing
        before = self.q("SELECT (SELECT count(*) FROM categories), (SELECT count(*) FROM vigil.watches), "
                        "(SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace)")
        sh(PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", PORT, "-U", "postgres",
           "-d", DB, "-f", os.path.join(TOP, "examples", "schema.sql"))
        self.assertEqual(self.q("SELECT (SELECT count(*) FROM categories), (SELECT count(*) FROM vigil.watches), "
                                "(SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace)"),
                         before)
        self.assertEqual(self.invoke(event(record(tx()))), [])

    def test_empty_event(self):
        self.assertEqual(handler.handler({"Records": []}), {"batchItemFailures": []})
        self.assertEqual(handler.handler({}), {"batchItemFailures": []})

    def test_command_line(self):
        lines = "\n".join(json.dumps(event(record(tx(card_id=9101301)), record(tx(card_id=9101301))))
                          for _ in range(3)) + "\n"
        p = subprocess.run([sys.executable, HANDLER], input=lines, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("3 events, 6 records, 0 reported for retry", p.stderr)
        self.assertEqual(self.q1("SELECT count(*) FROM transactions WHERE card_id = 9101301"), 6)
        p = subprocess.run([sys.executable, HANDLER], input=json.dumps(event(record(tx()))) + "\n",
                           capture_output=True, text=True, timeout=120, env={**os.environ, "PGPORT": "1"})
        self.assertEqual(p.returncode, 1)
        self.assertIn("1 events, 1 records, 1 reported for retry", p.stderr)
        # DATABASE_URL wins over the PG* variables
        url = f"postgresql://postgres@127.0.0.1:{PORT}/{DB}"
        p = subprocess.run([sys.executable, HANDLER], input=json.dumps(event(record(tx(card_id=9101302)))) + "\n",
                           capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PGPORT": "1", "DATABASE_URL": url})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.q1("SELECT count(*) FROM transactions WHERE card_id = 9101302"), 1)

    def test_generated_stream_raises_alerts_on_fraud(self):
        args = ["--seed", "3", "--cards", "150", "--days", "2", "--history-days", "20",
                "--fraud-rate", "0.3"]
        # the history as a nightly COPY would load it ...
        hist = subprocess.run([sys.executable, GEN, *args, "--part", "history"], capture_output=True,
                              check=True, timeout=300).stdout
        sh(PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", PORT, "-U", "postgres",
           "-d", DB, "-f", os.path.join(TOP, "examples", "generator", "load_csv.sql"), input=hist.decode())
        hist_rows = hist.count(b"\n") - 1
        # ... and the stream through the Lambda, with producer retries (duplicates)
        stream = subprocess.run([sys.executable, GEN, *args, "--part", "stream", "--format", "kinesis",
                                 "--batch-size", "200", "--dup-rate", "0.03"],
                                capture_output=True, check=True, timeout=300).stdout.decode()
        nums = set()
        records = 0
        for line in stream.splitlines():
            ev = json.loads(line)
            records += len(ev["Records"])
            for r in ev["Records"]:
                nums.add(json.loads(base64.b64decode(r["kinesis"]["data"]))["trans_num"])
            self.assertEqual(self.invoke(ev), [])
        self.assertGreater(records, len(nums), "the stream should carry duplicates")
        lo, hi = 4000001, 4000150
        self.assertEqual(self.q1("SELECT count(*) FROM transactions WHERE card_id BETWEEN %s AND %s", lo, hi),
                         hist_rows + len(nums))
        self.assertEqual(self.q1("SELECT count(DISTINCT trans_num) FROM transactions WHERE card_id BETWEEN %s AND %s",
                                 lo, hi), hist_rows + len(nums))
        rows = self.q("""
            SELECT coalesce(t.fraud_pattern, 'legit'), count(*), count(a.id)
            FROM transactions t
            LEFT JOIN vigil.alerts a ON a.relation = 'transactions'::regclass
                 AND (a.row_ref ->> 'transaction_id')::bigint = t.transaction_id
            WHERE t.card_id BETWEEN %s AND %s AND t.trans_time >= '2025-03-03'
            GROUP BY 1""", lo, hi)
        stats = {p: (n, alerted) for p, n, alerted in rows}
        fraud_n = sum(n for p, (n, _) in stats.items() if p != "legit")
        fraud_alerted = sum(a for p, (_, a) in stats.items() if p != "legit")
        legit_n, legit_alerted = stats["legit"]
        self.assertGreater(fraud_n, 50)
        self.assertGreater(fraud_alerted / fraud_n, 0.5, stats)
        self.assertLess(legit_alerted / legit_n, 0.03, stats)
        self.assertGreater(fraud_alerted / fraud_n, 20 * legit_alerted / legit_n, stats)
        for p in ("night_burst", "amount_spike", "card_testing", "impossible_travel"):
            self.assertIn(p, stats)
            self.assertGreater(stats[p][1], 0, f"no alert for {p}: {stats}")
        fired = dict(self.q("""
            SELECT f, count(*)
            FROM vigil.alerts a
                 JOIN transactions t ON (a.row_ref ->> 'transaction_id')::bigint = t.transaction_id
                 CROSS JOIN LATERAL unnest(a.fired) f
            WHERE t.is_fraud AND t.card_id BETWEEN %s AND %s GROUP BY 1""", lo, hi))
        for rule in ("amount_ratio", "card_testing", "impossible_travel", "unusual_hour"):
            self.assertIn(rule, fired, fired)


if __name__ == "__main__":
    unittest.main()
