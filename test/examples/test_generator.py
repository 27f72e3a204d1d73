#!/usr/bin/python3
"""Tests of examples/generator/generate.py: determinism, the CSV and Kinesis formats, time order,
the labelled fraud patterns and the legitimate behaviour around them.

Run:  /usr/bin/python3 test/examples/test_generator.py -v
  or  /usr/bin/python3 -m unittest discover -v -s test/examples -t test/examples
(not "-m unittest test/examples/...": the top directory "test" is also the name of Python's own
test package).
"""

import base64
import collections
import csv
import datetime
import importlib.util
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GEN = os.path.join(TOP, "examples", "generator", "generate.py")

spec = importlib.util.spec_from_file_location("vigil_generate", GEN)
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)

HIGH_VALUE = {"shopping_net", "shopping_pos", "misc_net", "misc_pos", "travel"}
ONLINE_CATEGORIES = {c for c, v in gen.CATEGORIES.items() if not v[2]}
CITY = {c[0]: c for c in gen.CITIES}


def run(*args, env=None):
    """The generator's standard output (bytes) for the arguments."""
    p = subprocess.run([sys.executable, GEN, *args], capture_output=True, env=env, timeout=300)
    if p.returncode != 0:
        raise AssertionError(f"generate.py {' '.join(args)} failed: {p.stderr.decode()}")
    return p.stdout


def rows_of(data):
    """CSV bytes as (header, list of dicts)."""
    r = csv.reader(io.StringIO(data.decode()))
    header = next(r)
    return header, [dict(zip(header, row)) for row in r]


def epoch(text):
    return gen.epoch_of(text)


def km(lat1, lon1, lat2, lon2):
    return gen.haversine_km(float(lat1), float(lon1), float(lat2), float(lon2))


def local_hour(row):
    """The hour of the day of a transaction in its cardholder's home time zone."""
    tz = CITY[row["city"]][4]
    return ((epoch(row["trans_time"]) + tz * 3600) % 86400) / 3600


class Determinism(unittest.TestCase):

    def test_same_seed_same_bytes(self):
        for fmt in (["--format", "csv"],
                    ["--format", "kinesis", "--shards", "3", "--batch-size", "50", "--dup-rate", "0.05"]):
            args = ["--seed", "7", "--cards", "120", "--days", "2", "--fraud-rate", "0.2", *fmt]
            a = run(*args, env={**os.environ, "PYTHONHASHSEED": "1"})
            b = run(*args, env={**os.environ, "PYTHONHASHSEED": "2"})
            self.assertGreater(len(a), 10000)
            self.assertEqual(a, b, f"two runs of {args} differ")

    def test_different_seed_different_output(self):
        a = run("--seed", "1", "--cards", "50", "--days", "1")
        b = run("--seed", "2", "--cards", "50", "--days", "1")
        self.assertNotEqual(a, b)
        na = {r["trans_num"] for r in rows_of(a)[1]}
        nb = {r["trans_num"] for r in rows_of(b)[1]}
        self.assertFalse(na & nb, "different seeds share transaction numbers")

    def test_out_file_equals_stdout(self):
        args = ["--seed", "3", "--cards", "40", "--hours", "12"]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "out.csv")
            self.assertEqual(run(*args, "--out", path), b"")
            with open(path, "rb") as f:
                self.assertEqual(f.read(), run(*args))

    def test_parts_split_the_stream(self):
        args = ["--seed", "5", "--cards", "80", "--days", "1", "--history-days", "3"]
        whole = run(*args)
        history = run(*args, "--part", "history")
        stream = run(*args, "--part", "stream")
        header = whole.split(b"\n", 1)[0] + b"\n"
        self.assertEqual(whole, history + stream[len(header):])
        _, hist_rows = rows_of(history)
        _, stream_rows = rows_of(stream)
        self.assertTrue(hist_rows and stream_rows)
        self.assertTrue(all(r["trans_time"] < "2025-03-03T00:00:00Z" for r in hist_rows))
        self.assertTrue(all(r["trans_time"] >= "2025-03-03T00:00:00Z" for r in stream_rows))

    def test_bad_arguments(self):
        for args in (["--fraud-rate", "2"], ["--cards", "0"], ["--format", "xml"],
                     ["--days", "1", "--hours", "2"], ["--batch-size", "0"], ["--start", "yesterday"]):
            p = subprocess.run([sys.executable, GEN, *args], capture_output=True, timeout=60)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(b"usage:", p.stderr)


class Formats(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.args = ["--seed", "11", "--cards", "300", "--days", "2", "--history-days", "5",
                    "--fraud-rate", "0.2"]
        cls.csv = run(*cls.args)
        cls.header, cls.rows = rows_of(cls.csv)
        cls.kinesis = run(*cls.args, "--format", "kinesis", "--batch-size", "100", "--shards", "2")

    def test_csv_columns_and_values(self):
        self.assertEqual(tuple(self.header), gen.FIELDS)
        self.assertGreater(len(self.rows), 3000)
        owner = {}
        nums = set()
        for r in self.rows:
            self.assertRegex(r["trans_num"], r"^[0-9a-f]{32}$")
            nums.add(r["trans_num"])
            self.assertRegex(r["trans_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertRegex(r["amount"], r"^\d+\.\d\d$")
            self.assertGreater(float(r["amount"]), 0)
            self.assertLess(float(r["amount"]), 100000)
            for f in ("card_id", "customer_id", "merchant_id", "city_pop"):
                self.assertRegex(r[f], r"^\d+$", f)
            self.assertRegex(r["card_last4"], r"^\d{4}$")
            self.assertIn(r["category"], gen.CATEGORIES)
            self.assertIn(r["is_fraud"], ("true", "false"))
            if r["is_fraud"] == "true":
                self.assertIn(r["fraud_pattern"], gen.PATTERNS)
            else:
                self.assertEqual(r["fraud_pattern"], "")
            # where the card was used: card-present categories have a place, online ones none
            if r["category"] in ONLINE_CATEGORIES:
                self.assertEqual((r["merchant_lat"], r["merchant_lon"]), ("", ""))
            else:
                self.assertTrue(-90 <= float(r["merchant_lat"]) <= 90)
                self.assertTrue(-180 <= float(r["merchant_lon"]) <= 180)
            self.assertTrue(-90 <= float(r["cust_lat"]) <= 90)
            self.assertTrue(-180 <= float(r["cust_lon"]) <= 180)
            # a card belongs to one customer
            self.assertEqual(owner.setdefault(r["card_id"], r["customer_id"]), r["customer_id"])
        self.assertEqual(len(nums), len(self.rows), "trans_num is not unique")
        self.assertGreater(len(owner), 250)
        self.assertLess(len(set(owner.values())), len(owner), "no customer has two cards")

    def test_csv_time_order(self):
        times = [epoch(r["trans_time"]) for r in self.rows]
        self.assertEqual(times, sorted(times))
        self.assertGreaterEqual(times[0], epoch("2025-02-26T00:00:00Z"))
        self.assertLess(times[-1], epoch("2025-03-05T00:00:00Z"))

    def test_hours_period(self):
        _, rows = rows_of(run("--seed", "2", "--cards", "200", "--start", "2025-06-01T06:00:00Z",
                              "--hours", "6"))
        self.assertTrue(rows)
        for r in rows:
            self.assertTrue("2025-06-01T06:00:00Z" <= r["trans_time"] < "2025-06-01T12:00:00Z")

    def test_kinesis_events(self):
        lines = self.kinesis.decode().splitlines()
        seen = []
        last_seq = {}
        last_time = {}
        for line in lines:
            event = json.loads(line)
            self.assertEqual(list(event), ["Records"])
            recs = event["Records"]
            self.assertTrue(1 <= len(recs) <= 100)
            shards = {r["eventID"].split(":")[0] for r in recs}
            self.assertEqual(len(shards), 1, "an event mixes shards")
            for rec in recs:
                self.assertEqual(rec["eventSource"], "aws:kinesis")
                self.assertEqual(rec["eventName"], "aws:kinesis:record")
                self.assertRegex(rec["eventSourceARN"], r"^arn:aws:kinesis:[a-z0-9-]+:\d{12}:stream/")
                k = rec["kinesis"]
                shard, seq = rec["eventID"].split(":")
                self.assertRegex(shard, r"^shardId-\d{12}$")
                self.assertEqual(seq, k["sequenceNumber"])
                self.assertRegex(seq, r"^\d{56}$")
                self.assertGreater(int(seq), last_seq.get(shard, -1), "sequence numbers must increase")
                last_seq[shard] = int(seq)
                doc = json.loads(base64.b64decode(k["data"], validate=True))
                self.assertEqual(k["partitionKey"], str(doc["card_id"]))
                self.assertEqual(gen.shard_of(k["partitionKey"], 2), int(shard[8:]))
                for f in ("trans_num", "trans_time", "card_id", "customer_id", "merchant_id",
                          "merchant_name", "category", "amount", "is_fraud"):
                    self.assertIn(f, doc)
                self.assertTrue(set(doc) <= set(gen.FIELDS))
                self.assertIsInstance(doc["amount"], (int, float))
                self.assertEqual(round(doc["amount"], 2), doc["amount"])
                t = epoch(doc["trans_time"])
                self.assertGreaterEqual(t, last_time.get(shard, 0), "a shard's records are in time order")
                last_time[shard] = t
                self.assertGreaterEqual(k["approximateArrivalTimestamp"], t)
                seen.append(doc)
        self.assertEqual(len(last_seq), 2)
        # the same transactions as the CSV
        self.assertEqual(sorted(d["trans_num"] for d in seen), sorted(r["trans_num"] for r in self.rows))
        by_num = {r["trans_num"]: r for r in self.rows}
        for d in seen[:500]:
            r = by_num[d["trans_num"]]
            for f in gen.FIELDS:
                self.assertEqual(gen.csv_value(f, d.get(f)), r[f], f)

    def test_kinesis_duplicates(self):
        out = run("--seed", "4", "--cards", "100", "--days", "1", "--format", "kinesis",
                  "--batch-size", "20", "--dup-rate", "0.1")
        datas = collections.Counter()
        seqs = set()
        for line in out.decode().splitlines():
            for rec in json.loads(line)["Records"]:
                datas[rec["kinesis"]["data"]] += 1
                seqs.add(rec["kinesis"]["sequenceNumber"])
        total = sum(datas.values())
        self.assertEqual(len(seqs), total, "a duplicate must have its own sequence number")
        dups = total - len(datas)
        self.assertTrue(0.05 * len(datas) < dups < 0.15 * len(datas), (dups, len(datas)))
        self.assertEqual(max(datas.values()), 2)


class Behaviour(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.cards = 600
        cls.args = ["--seed", "21", "--cards", str(cls.cards), "--days", "3", "--history-days", "10",
                    "--fraud-rate", "0.25"]
        _, cls.rows = rows_of(run(*cls.args))
        cls.incidents = collections.defaultdict(list)       # (card, pattern) -> rows
        for r in cls.rows:
            if r["is_fraud"] == "true":
                cls.incidents[(r["card_id"], r["fraud_pattern"])].append(r)
        cls.legit = collections.defaultdict(list)
        for r in cls.rows:
            if r["is_fraud"] == "false":
                cls.legit[r["card_id"]].append(r)

    def of(self, pattern):
        return [rows for (_, p), rows in self.incidents.items() if p == pattern]

    def test_every_pattern_present(self):
        counts = collections.Counter(p for _, p in self.incidents)
        for p in gen.PATTERNS:
            self.assertGreaterEqual(counts[p], 10, f"too few {p} incidents: {counts}")
        # --fraud-rate is the share of cards with an incident
        cards = {c for c, _ in self.incidents}
        expected = 0.25 * self.cards
        self.assertLess(abs(len(cards) - expected), 4 * math.sqrt(expected * 0.75), len(cards))
        self.assertTrue(all(len({p for c2, p in self.incidents if c2 == c}) == 1 for c in cards))

    def test_no_fraud_in_history(self):
        for rows in self.incidents.values():
            for r in rows:
                self.assertGreaterEqual(r["trans_time"], "2025-03-03T00:00:00Z")

    def test_night_burst(self):
        for rows in self.of("night_burst"):
            self.assertGreaterEqual(len(rows), 3)
            self.assertLessEqual(len(rows), 12)
            self.assertTrue(0.5 <= local_hour(rows[0]) < 4.5, local_hour(rows[0]))
            span = epoch(rows[-1]["trans_time"]) - epoch(rows[0]["trans_time"])
            self.assertLess(span, 4 * 3600)
            self.assertTrue(all(r["category"] in HIGH_VALUE for r in rows))
            self.assertTrue(all(float(r["amount"]) >= 60 for r in rows))

    def test_amount_spike(self):
        ratios = []
        daytime = 0
        for rows in self.of("amount_spike"):
            self.assertTrue(1 <= len(rows) <= 3)
            usual = sorted(float(r["amount"]) for r in self.legit[rows[0]["card_id"]])
            median = usual[len(usual) // 2]
            daytime += 6 <= local_hour(rows[0]) < 24
            for r in rows:
                ratios.append(float(r["amount"]) / median)
        self.assertGreater(daytime, 0.9 * len(self.of("amount_spike")), "spikes come at ordinary hours")
        self.assertGreater(sorted(ratios)[len(ratios) // 2], 4, "spikes should mostly be large")
        self.assertTrue(any(x < 3 for x in ratios), "some spikes should be hard to tell apart")

    def test_card_testing(self):
        for rows in self.of("card_testing"):
            small = [r for r in rows if float(r["amount"]) < 5]
            self.assertGreaterEqual(len(small), 3)
            self.assertTrue(all(r["merchant_lat"] == "" for r in rows), "card testing is online")
            t = [epoch(r["trans_time"]) for r in small]
            self.assertLess(t[-1] - t[0], len(t) * 6 * 60 + 1)
            self.assertTrue(all(float(r["amount"]) > 50 for r in rows if r not in small))

    def test_impossible_travel(self):
        too_fast = 0
        incidents = self.of("impossible_travel")
        for rows in incidents:
            first = rows[0]
            self.assertTrue(all(r["merchant_lat"] for r in rows), "cloned cards are used in person")
            self.assertGreater(km(first["cust_lat"], first["cust_lon"], first["merchant_lat"],
                                  first["merchant_lon"]), 1500)
            # the cardholder's last purchase in person before it
            t = epoch(first["trans_time"])
            before = [r for r in self.legit[first["card_id"]]
                      if r["merchant_lat"] and epoch(r["trans_time"]) <= t]
            if before:
                prev = before[-1]
                d = km(prev["merchant_lat"], prev["merchant_lon"], first["merchant_lat"], first["merchant_lon"])
                hours = max(1, t - epoch(prev["trans_time"])) / 3600
                too_fast += d / hours > 900
        self.assertGreater(too_fast, len(incidents) / 2, "most should be faster than a plane")

    def test_legit_behaviour(self):
        near = far = night = day = big = n = 0
        for card, rows in self.legit.items():
            amounts = sorted(float(r["amount"]) for r in rows)
            median = amounts[len(amounts) // 2]
            for r in rows:
                n += 1
                if r["merchant_lat"]:
                    d = km(r["cust_lat"], r["cust_lon"], r["merchant_lat"], r["merchant_lon"])
                    near += d < 60
                    far += d >= 60
                h = local_hour(r)
                night += h < 6
                day += h >= 6
                big += float(r["amount"]) > 3 * median
        self.assertGreater(n, 10000)
        self.assertGreater(near / (near + far), 0.9, "cardholders mostly shop near home")
        self.assertGreater(far, 0, "cardholders travel now and then")
        self.assertLess(night / n, 0.03)
        self.assertGreater(night, 0)
        self.assertLess(big / n, 0.01)
        self.assertGreater(big, 0, "a legitimate large purchase now and then")

    def test_cards_have_habits(self):
        # a card's purchases concentrate on a few categories and merchants
        top_share = []
        repeat = []
        for rows in self.legit.values():
            if len(rows) < 20:
                continue
            cats = collections.Counter(r["category"] for r in rows)
            top_share.append(sum(c for _, c in cats.most_common(4)) / len(rows))
            merchants = collections.Counter(r["merchant_id"] for r in rows)
            repeat.append(1 - len(merchants) / len(rows))
        self.assertGreater(sum(top_share) / len(top_share), 0.8)
        self.assertGreater(sum(repeat) / len(repeat), 0.4)


if __name__ == "__main__":
    unittest.main()
