#!/usr/bin/python3
"""Tests of examples/generator/generate.py: determinism, the CSV and Kinesis formats, time order,
the labelled fraud patterns and the legitimate behaviour around them, the patterns and personas of
--fraud-mix and --legit-mix, and that the default output stays what it was before they existed.

Run:  /usr/bin/python3 test/examples/test_generator.py -v
  or  /usr/bin/python3 -m unittest discover -v -s test/examples -t test/examples
(not "-m unittest test/examples/...": the top directory "test" is also the name of Python's own
test package).
"""

import base64
import collections
import csv
import datetime
import hashlib
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


def run(*args, env=None, stderr=False):
    """The generator's standard output (bytes) for the arguments (and its standard error)."""
    p = subprocess.run([sys.executable, GEN, *args], capture_output=True, env=env, timeout=300)
    if p.returncode != 0:
        raise AssertionError(f"generate.py {' '.join(args)} failed: {p.stderr.decode()}")
    return (p.stdout, p.stderr) if stderr else p.stdout


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
                    ["--format", "kinesis", "--shards", "3", "--batch-size", "50", "--dup-rate", "0.05"],
                    ["--fraud-mix", ",".join(f"{p}=1" for p in gen.PATTERNS),
                     "--legit-mix", "night_owl=0.2,traveller=0.2,online_shopper=0.2,new_card=0.2"]):
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
        for p in gen.DEFAULT_PATTERNS:
            self.assertGreaterEqual(counts[p], 10, f"too few {p} incidents: {counts}")
        self.assertEqual(set(counts), set(gen.DEFAULT_PATTERNS), "other patterns only with --fraud-mix")
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


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def local_hour_at(row, city):
    """The hour of the day of a transaction in a city's time zone."""
    return ((epoch(row["trans_time"]) + CITY[city][4] * 3600) % 86400) / 3600


def is_night(h):
    return h >= 20 or h < 3


class DefaultOutput(unittest.TestCase):
    """Without --fraud-mix and --legit-mix the output is what it was before they existed: these
    checksums were taken from the generator of that time (the demo and the Lambda's tests rely
    on the same data for the same arguments)."""

    PINNED = (
        (["--seed", "3", "--cards", "100", "--days", "4", "--history-days", "3", "--fraud-rate", "0.3"],
         "56a0a98c5b5a7f2662d11e3f4d22eed42c7069305b227f7b47dee90b099e12d7",
         "transactions=2188 fraud=92 night_burst=38 amount_spike=18 impossible_travel=21 card_testing=15"),
        (["--seed", "3", "--cards", "100", "--days", "4", "--history-days", "3", "--fraud-rate", "0.3",
          "--format", "kinesis", "--shards", "2", "--dup-rate", "0.02", "--batch-size", "30"],
         "91f5d87543790f1d704da73086355e4495358923e41e4c6fcf5d9064c2cce01d",
         "transactions=2188 fraud=92 night_burst=38 amount_spike=18 impossible_travel=21 card_testing=15"),
        (["--seed", "1", "--cards", "200", "--days", "20", "--history-days", "10"],
         "781393c49d0941f4db8bf8fdda7c9e36a993a0ae02c0d9dc954b05ca635b4e1d",
         "transactions=17946 fraud=15 amount_spike=2 impossible_travel=3 card_testing=6 night_burst=4"),
        (["--seed", "1", "--cards", "200", "--days", "20", "--history-days", "10", "--format", "kinesis"],
         "c36f28e5bc10c1b763c7f2aa7a57b8dfd41320a7655ef27261a1de6bc50a7455",
         "transactions=17946 fraud=15 amount_spike=2 impossible_travel=3 card_testing=6 night_burst=4"),
    )

    def test_pinned_checksums(self):
        for args, digest, summary in self.PINNED:
            out, err = run(*args, "--summary", stderr=True)
            self.assertEqual(sha256(out), digest, args)
            self.assertEqual(err.decode().strip(), summary, args)

    def test_default_mix_spelled_out(self):
        # the default mix spelled out, with zero weights or shares added, is the default
        args, digest, _ = self.PINNED[0]
        for mix in (["--fraud-mix", "night_burst=1,amount_spike=1,card_testing=1,impossible_travel=1"],
                    ["--fraud-mix", "impossible_travel=2.5,card_testing=2.5,amount_spike=2.5,"
                                    "night_burst=2.5,skimming=0,new_card=0",
                     "--legit-mix", "night_owl=0,new_card=0"]):
            self.assertEqual(sha256(run(*args, *mix)), digest, mix)

    def test_mixes_change_only_their_part(self):
        start = epoch("2025-03-03T00:00:00Z")
        period = (start - 5 * 86400, start, start + 6 * 86400)

        def by_card(fraud_mix=None, legit_mix=None, personas=None):
            cards = collections.defaultdict(list)
            for r in gen.transactions(13, 300, *period, 0.3, fraud_mix, legit_mix, personas):
                cards[r["card_id"]].append(r)
            return cards

        base = by_card()
        # --fraud-mix: the same cards suffer an incident, the legitimate transactions are the same
        mixed = by_card([("account_takeover", 1), ("skimming", 1), ("slow_escalation", 1),
                         ("small_amounts", 1)])
        self.assertEqual(set(base), set(mixed))
        self.assertEqual({c for c, rows in base.items() if any(r["is_fraud"] for r in rows)},
                         {c for c, rows in mixed.items() if any(r["is_fraud"] for r in rows)})
        for c in base:
            self.assertEqual([r for r in base[c] if not r["is_fraud"]],
                             [r for r in mixed[c] if not r["is_fraud"]])
        self.assertNotEqual(base, mixed)
        # --legit-mix: the ordinary cards' transactions are the same
        personas = {}
        mixed = by_card(None, {"night_owl": 0.2, "traveller": 0.2, "online_shopper": 0.2}, personas)
        ordinary = [c for c, p in personas.items() if p is None]
        self.assertTrue(100 < len(ordinary) < 200, len(ordinary))
        for c in ordinary:
            self.assertEqual(base[c], mixed[c])
        self.assertTrue(any(base[c] != mixed[c] for c, p in personas.items() if p is not None))


class CompromisedMerchants(unittest.TestCase):
    """--compromised-merchants: transactions at a merchant in the COMPROMISE_DAYS after its
    compromise become fraud, and nothing else changes (same cards, times, merchants, amounts)."""

    def test_only_labels_change(self):
        start = epoch("2025-03-03T00:00:00Z")
        period = (start - 5 * 86400, start, start + 60 * 86400)
        base = list(gen.transactions(13, 200, *period, 0.3))
        comp = list(gen.transactions(13, 200, *period, 0.3, compromise_rate=0.002))
        self.assertEqual(len(base), len(comp))
        changed = 0
        windows = collections.defaultdict(list)
        for b, c in zip(base, comp):
            self.assertEqual({k: v for k, v in b.items() if k not in ("is_fraud", "fraud_pattern")},
                             {k: v for k, v in c.items() if k not in ("is_fraud", "fraud_pattern")})
            if b != c:
                changed += 1
                self.assertFalse(b["is_fraud"])
                self.assertEqual((c["is_fraud"], c["fraud_pattern"]), (True, "compromised_merchant"))
                self.assertGreaterEqual(epoch(c["trans_time"]), start)
                windows[c["merchant_id"]].append(epoch(c["trans_time"]))
            elif b["is_fraud"]:
                self.assertNotEqual(c["fraud_pattern"], "compromised_merchant")
        self.assertGreater(changed, 20)
        self.assertGreater(len(windows), 3)
        # every relabelled transaction lies in one of its merchant's compromises, and every
        # legitimate transaction in one was relabelled
        cps = gen.Compromises(13, 0.002, start, period[2])
        for b, c in zip(base, comp):
            inside = cps.covers(c["merchant_id"], epoch(c["trans_time"]))
            self.assertEqual(c["fraud_pattern"] == "compromised_merchant", inside and not b["is_fraud"])
        # deterministic, and off by default
        self.assertEqual(comp, list(gen.transactions(13, 200, *period, 0.3, compromise_rate=0.002)))
        self.assertEqual(sha256(run("--seed", "3", "--cards", "20", "--days", "2", "--compromised-merchants", "0")),
                         sha256(run("--seed", "3", "--cards", "20", "--days", "2")))

    def test_bad_rate(self):
        for rate in ("-0.1", "1", "2"):
            p = subprocess.run([sys.executable, GEN, "--compromised-merchants", rate], capture_output=True)
            self.assertEqual(p.returncode, 2, rate)


class MixOptions(unittest.TestCase):

    def test_bad_mixes(self):
        for args, message in (
                (["--fraud-mix", "phishing=1"], "unknown name 'phishing'"),
                (["--fraud-mix", "night_owl=1"], "unknown name 'night_owl'"),
                (["--legit-mix", "skimming=0.1"], "unknown name 'skimming'"),
                (["--fraud-mix", "skimming=-1,new_card=1"], "skimming: must be a finite number at least 0"),
                (["--legit-mix", "night_owl=-0.1"], "night_owl: must be a finite number at least 0"),
                (["--fraud-mix", "skimming=0,new_card=0"], "all weights are zero"),
                (["--fraud-mix", "skimming=nan"], "must be a finite number"),
                (["--legit-mix", "night_owl=0.6,traveller=0.3,new_card=0.2"], "add up to more than 1"),
                (["--legit-mix", "night_owl"], "expected name=weight"),
                (["--fraud-mix", "skimming=lots"], "not a number"),
                (["--fraud-mix", "skimming=1,skimming=2"], "skimming given twice")):
            p = subprocess.run([sys.executable, GEN, "--cards", "5", *args], capture_output=True,
                               timeout=60)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(b"usage:", p.stderr)
            self.assertIn(message, p.stderr.decode(), args)
            self.assertEqual(p.stdout, b"", args)

    def test_good_mixes(self):
        for args in (["--legit-mix", "night_owl=0.25,traveller=0.25,online_shopper=0.25,new_card=0.25"],
                     ["--fraud-mix", " skimming = 1 , new_card=0.5"], ["--legit-mix", "new_card=1"]):
            _, rows = rows_of(run("--cards", "30", "--hours", "12", "--fraud-rate", "0.5", *args))
            self.assertTrue(rows, args)

    def test_weights(self):
        _, rows = rows_of(run("--seed", "5", "--cards", "1200", "--days", "4", "--fraud-rate", "0.5",
                              "--fraud-mix", "skimming=3,account_takeover=1,card_testing=0"))
        counts = collections.Counter(p for p in {(r["card_id"], r["fraud_pattern"])
                                                 for r in rows if r["is_fraud"] == "true"})
        counts = collections.Counter(p for _, p in counts)
        self.assertEqual(set(counts), {"skimming", "account_takeover"})
        self.assertTrue(2 < counts["skimming"] / counts["account_takeover"] < 4.5, counts)


class NewPatterns(unittest.TestCase):
    """The patterns only --fraud-mix asks for, each with the property that defines it."""

    @classmethod
    def setUpClass(cls):
        cls.cards = 800
        cls.start = epoch("2025-03-03T00:00:00Z")
        cls.args = ["--seed", "31", "--cards", str(cls.cards), "--days", "30", "--history-days", "5",
                    "--fraud-rate", "0.3", "--fraud-mix",
                    "account_takeover=1,skimming=1,slow_escalation=1,new_card=1,small_amounts=1"]
        cls.csv, err = run(*cls.args, "--summary", stderr=True)
        cls.summary = dict(kv.split("=") for kv in err.decode().split())
        _, cls.rows = rows_of(cls.csv)
        cls.incidents = collections.defaultdict(list)       # (card, pattern) -> rows
        cls.card_rows = collections.defaultdict(list)       # card -> rows, fraud or not
        cls.legit = collections.defaultdict(list)
        for r in cls.rows:
            cls.card_rows[r["card_id"]].append(r)
            if r["is_fraud"] == "true":
                cls.incidents[(r["card_id"], r["fraud_pattern"])].append(r)
            else:
                cls.legit[r["card_id"]].append(r)

    def of(self, pattern):
        return [rows for (_, p), rows in self.incidents.items() if p == pattern]

    def test_every_new_pattern_present(self):
        counts = collections.Counter(p for _, p in self.incidents)
        new = ("account_takeover", "skimming", "slow_escalation", "new_card", "small_amounts")
        self.assertEqual(set(counts), set(new))
        for p in new:
            self.assertGreaterEqual(counts[p], 25, f"too few {p} incidents: {counts}")
            self.assertEqual(int(self.summary[p]), sum(len(rows) for rows in self.of(p)))
        self.assertEqual(int(self.summary["transactions"]), len(self.rows))
        cards = {c for c, _ in self.incidents}
        self.assertEqual(len(cards), len(self.incidents), "one incident per card")
        expected = 0.3 * self.cards
        self.assertLess(abs(len(cards) - expected), 4 * math.sqrt(expected * 0.7), len(cards))

    def test_time_order_and_no_fraud_in_history(self):
        times = [epoch(r["trans_time"]) for r in self.rows]
        self.assertEqual(times, sorted(times))
        for rows in self.incidents.values():
            self.assertTrue(all(epoch(r["trans_time"]) >= self.start for r in rows))

    def test_account_takeover(self):
        probes = 0
        for rows in self.of("account_takeover"):
            self.assertTrue(3 <= len(rows) <= 8, len(rows))
            for r in rows:
                self.assertIn(r["category"], ONLINE_CATEGORIES)
                self.assertEqual((r["merchant_lat"], r["merchant_lon"]), ("", ""))
                h = local_hour(r)
                self.assertTrue(h >= 22 or h < 4, h)
            span = epoch(rows[-1]["trans_time"]) - epoch(rows[0]["trans_time"])
            self.assertLess(span, 2 * 3600)
            if float(rows[0]["amount"]) < 10:
                probes += 1
                rows = rows[1:]
            self.assertTrue(all(float(r["amount"]) >= 40 for r in rows))
            self.assertLessEqual(len({r["merchant_id"] for r in rows}), 4)
        n = len(self.of("account_takeover"))
        self.assertTrue(0.2 * n < probes < 0.8 * n, (probes, n))

    def test_skimming(self):
        abroad = possible = 0
        for rows in self.of("skimming"):
            self.assertGreaterEqual(len(rows), 2)
            for r in rows:
                self.assertTrue(r["merchant_lat"], "a skimmed stripe is used in person")
                self.assertGreater(
                    km(r["cust_lat"], r["cust_lon"], r["merchant_lat"], r["merchant_lon"]), 500)
                self.assertIn(r["category"], {"misc_pos", "gas_transport", "grocery_pos", "shopping_pos"})
            span = epoch(rows[-1]["trans_time"]) - epoch(rows[0]["trans_time"])
            self.assertLess(span, 3 * 86400)
            first = rows[0]
            abroad += not (-170 < float(first["merchant_lon"]) < -60 and float(first["merchant_lat"]) > 20)
            t = epoch(first["trans_time"])
            before = [r for r in self.legit[first["card_id"]]
                      if r["merchant_lat"] and epoch(r["trans_time"]) <= t]
            if before:
                prev = before[-1]
                d = km(prev["merchant_lat"], prev["merchant_lon"],
                       first["merchant_lat"], first["merchant_lon"])
                possible += d / (max(1, t - epoch(prev["trans_time"])) / 3600) < 900
        n = len(self.of("skimming"))
        self.assertTrue(0.1 * n < abroad < 0.7 * n, (abroad, n))
        self.assertGreater(possible, 0.25 * n, "skimming is not always impossible travel")

    def test_slow_escalation(self):
        usual_first = 0
        for rows in self.of("slow_escalation"):
            self.assertTrue(5 <= len(rows) <= 10, len(rows))
            amounts = [float(r["amount"]) for r in rows]
            for a, b in zip(amounts, amounts[1:]):
                self.assertTrue(1.28 <= b / a <= 1.62, amounts)
            t = [epoch(r["trans_time"]) for r in rows]
            self.assertTrue(4 * 86400 < t[-1] - t[0] < 22 * 86400)
            legit = self.legit[rows[0]["card_id"]]
            usual = sorted(float(r["amount"]) for r in legit)
            self.assertTrue(0.3 < amounts[0] / usual[len(usual) // 2] < 3,
                            (amounts[0], usual[len(usual) // 2]))
            usual_first += rows[0]["category"] in {r["category"] for r in legit}
            # mixed with the cardholder's own
            self.assertTrue(any(t[0] < epoch(r["trans_time"]) < t[-1] for r in legit))
        self.assertGreater(usual_first, 0.8 * len(self.of("slow_escalation")))

    def test_new_card(self):
        stolen = built = 0
        for rows in self.of("new_card"):
            card = self.card_rows[rows[0]["card_id"]]
            self.assertGreaterEqual(epoch(card[0]["trans_time"]), self.start, "a new card has no history")
            self.assertTrue(1 <= len(rows) <= 5)
            for r in rows:
                self.assertLessEqual(card.index(r), 4, "at most 4 earlier rows of the card")
            stolen += card[0] is rows[0]
            built += card[0] is not rows[0]
        self.assertGreater(stolen, 0)
        self.assertGreater(built, 0)

    def test_small_amounts(self):
        ordinary_hours = n = 0
        for rows in self.of("small_amounts"):
            self.assertTrue(3 <= len(rows) <= 8, len(rows))
            legit = self.legit[rows[0]["card_id"]]
            cats = collections.Counter(r["category"] for r in legit)
            for r in rows:
                self.assertLess(float(r["amount"]), 30)
                self.assertLess(cats[r["category"]] / len(legit), 0.1, "a category the card seldom uses")
                n += 1
                ordinary_hours += 6 <= local_hour(r) < 24
            span = epoch(rows[-1]["trans_time"]) - epoch(rows[0]["trans_time"])
            self.assertTrue(86400 / 2 < span < 10 * 86400, span)
        self.assertGreater(ordinary_hours, 0.9 * n)


class Personas(unittest.TestCase):
    """The legitimate personas of --legit-mix, each with the property that defines it."""

    @classmethod
    def setUpClass(cls):
        cls.start = epoch("2025-03-03T00:00:00Z")
        cls.end = cls.start + 20 * 86400
        cls.mix = {"night_owl": 0.2, "traveller": 0.2, "online_shopper": 0.2, "new_card": 0.2}
        cls.personas = {}
        # in process, to know each card's persona; rows as the CSV has them
        recs = gen.transactions(41, 600, cls.start - 10 * 86400, cls.start, cls.end, 0.0, None,
                                cls.mix, cls.personas)
        cls.rows = [{f: gen.csv_value(f, r[f]) for f in gen.FIELDS} for r in recs]
        cls.by = collections.defaultdict(lambda: collections.defaultdict(list))   # persona -> card -> rows
        for r in cls.rows:
            cls.by[cls.personas[int(r["card_id"])] or "ordinary"][r["card_id"]].append(r)

    def share(self, persona, test):
        rows = [r for rows in self.by[persona].values() for r in rows]
        return sum(1 for r in rows if test(r)) / len(rows)

    def test_shares_and_order(self):
        counts = collections.Counter(self.personas.values())
        for p in gen.PERSONAS:
            self.assertLess(abs(counts[p] - 120), 4 * math.sqrt(120 * 0.8), counts)
        times = [epoch(r["trans_time"]) for r in self.rows]
        self.assertEqual(times, sorted(times))
        self.assertFalse(any(r["is_fraud"] == "true" for r in self.rows))

    def test_night_owl(self):
        owl = self.share("night_owl", lambda r: is_night(local_hour(r)))
        ordinary = self.share("ordinary", lambda r: is_night(local_hour(r)))
        self.assertGreater(owl, 0.7)
        self.assertLess(ordinary, 0.2)
        self.assertGreater(owl, 4 * ordinary)
        self.assertTrue(0.01 < self.share("night_owl", lambda r: 9 <= local_hour(r) < 17) < 0.15,
                        "night owls pay in the day now and then")

    def test_traveller(self):
        def far(r):
            return bool(r["merchant_lat"]) and km(r["cust_lat"], r["cust_lon"], r["merchant_lat"],
                                                  r["merchant_lon"]) > 150

        def foreign(r):
            return bool(r["merchant_lat"]) and any(
                km(r["merchant_lat"], r["merchant_lon"], c[2], c[3]) < 40 for c in gen.FOREIGN_CITIES)
        self.assertGreater(self.share("traveller", far), 0.12)
        self.assertGreater(self.share("traveller", far), 3 * self.share("ordinary", far))
        self.assertGreater(self.share("traveller", foreign), 0.02)
        travelled = sum(1 for rows in self.by["traveller"].values() if any(map(far, rows)))
        self.assertGreater(travelled, 0.8 * len(self.by["traveller"]))
        # online purchases while away: between two purchases in person far from home
        away_online = 0
        for rows in self.by["traveller"].values():
            located = [(i, far(r)) for i, r in enumerate(rows) if r["merchant_lat"]]
            for (i, a), (j, b) in zip(located, located[1:]):
                if a and b:
                    away_online += sum(1 for r in rows[i + 1:j] if r["category"] in ONLINE_CATEGORIES)
        self.assertGreater(away_online, 100)

    def test_online_shopper(self):
        def online(r):
            return r["category"] in ONLINE_CATEGORIES
        self.assertGreater(self.share("online_shopper", online), 0.6)
        self.assertLess(self.share("ordinary", online), 0.3)

        def merchants(persona):
            cards = self.by[persona].values()
            return sum(len({r["merchant_id"] for r in rows if online(r)}) for rows in cards) / len(cards)
        self.assertGreater(merchants("online_shopper"), 15)
        self.assertGreater(merchants("online_shopper"), 3 * merchants("ordinary"))

    def test_new_card(self):
        firsts = [epoch(rows[0]["trans_time"]) for rows in self.by["new_card"].values()]
        self.assertTrue(all(self.start <= t < self.end for t in firsts), "first row in the stream period")
        middle = self.start + 10 * 86400
        self.assertGreater(sum(t < middle for t in firsts), 0.25 * len(firsts))
        self.assertGreater(sum(t >= middle for t in firsts), 0.25 * len(firsts))
        self.assertTrue(all(epoch(rows[0]["trans_time"]) < self.start
                            for rows in self.by["ordinary"].values()), "ordinary cards have a history")

        # then an ordinary cardholder: as many purchases a day, near home, by day
        def per_day(persona):
            n = days = 0
            for rows in self.by[persona].values():
                first = epoch(rows[0]["trans_time"])
                if first < self.end - 86400 * 3:
                    n += len(rows)
                    days += (self.end - first) / 86400
            return n / days
        self.assertTrue(0.7 < per_day("new_card") / per_day("ordinary") < 1.4)
        self.assertLess(self.share("new_card", lambda r: is_night(local_hour(r))), 0.2)

    def test_summary(self):
        out, err = run("--seed", "41", "--cards", "200", "--days", "2", "--history-days", "2",
                       "--legit-mix", "night_owl=0.2,traveller=0.2,online_shopper=0.2,new_card=0.2",
                       "--summary", stderr=True)
        counts = dict(kv.split("=") for kv in err.decode().split())
        self.assertEqual(sum(int(counts.get(f"cards.{p}", 0)) for p in ("ordinary",) + gen.PERSONAS), 200)
        for p in ("ordinary",) + gen.PERSONAS:
            self.assertIn(f"transactions.{p}", counts)
        total = sum(int(v) for k, v in counts.items() if k.startswith("transactions."))
        self.assertEqual(total, int(counts["transactions"]))
        self.assertEqual(total, len(rows_of(out)[1]))


if __name__ == "__main__":
    unittest.main()
