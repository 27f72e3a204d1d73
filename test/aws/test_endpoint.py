#!/usr/bin/python3
"""Self-test of test/aws/endpoint.py, the loopback fake of SNS / CloudWatch / ECS / IMDS.

Run:  /usr/bin/python3 -m unittest test/aws/test_endpoint.py      (or run this file as a script)

It starts the endpoint on port 0 in a temporary directory and drives it with requests signed by
botocore (SigV4Auth over AWSRequest, sent with http.client), checks answers with botocore's own
Query-protocol parser, and also uses real botocore clients and credential fetchers against it.
"""

import base64
import datetime
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

import botocore.parsers
import botocore.session
from botocore.auth import SigV4Auth, SIGV4_TIMESTAMP
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.httpsession import URLLib3Session
from botocore.credentials import Credentials, ContainerProvider
from botocore.utils import ContainerMetadataFetcher, InstanceMetadataFetcher

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")

ENDPOINT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "endpoint.py")
REGION = "us-east-1"
ACCOUNT = "123456789012"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:vigil-alerts"
FIFO = f"arn:aws:sns:{REGION}:{ACCOUNT}:vigil-alerts.fifo"
WEST_TOPIC = f"arn:aws:sns:us-west-2:{ACCOUNT}:vigil-west"
AKID, SECRET = "AKIAVIGILTEST0000001", "vigil/test+Secret/Key+0000000000000000000"
FILE_AKID, FILE_SECRET = "AKIAVIGILFILE0000002", "another/secret+from/the+credentials+file00"
TMP_AKID, TMP_SECRET, TMP_TOKEN = "ASIAVIGILTEST0000003", "temp+secret/key00000000000000000000000000", "FwoG+tok/en=="
ECS_AUTH = "Bearer vigil-ecs-token"
FORM = "application/x-www-form-urlencoded; charset=utf-8"

_session = botocore.session.get_session()
SNS_MODEL = _session.get_service_model("sns")
CW_MODEL = _session.get_service_model("cloudwatch")


class Endpoint:
    """A running endpoint.py process in its own temporary state directory."""

    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="vigil-aws-")
        creds_file = os.path.join(self.dir, "creds.json")
        with open(creds_file, "w") as f:
            json.dump([{"access_key": FILE_AKID, "secret_key": FILE_SECRET},
                       {"access_key": TMP_AKID, "secret_key": TMP_SECRET, "session_token": TMP_TOKEN}], f)
        self.state_dir = os.path.join(self.dir, "state")
        cmd = [sys.executable, ENDPOINT, "--port", "0", "--state-dir", self.state_dir,
               "--access-key", AKID, "--secret-key", SECRET, "--credentials", creds_file,
               "--topic", TOPIC, "--topic", FIFO, "--topic", WEST_TOPIC, "--seed", "7",
               "--ecs-auth", ECS_AUTH, *extra]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
        port_file = os.path.join(self.state_dir, "port")
        deadline = time.time() + 15
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("endpoint did not start: " + self.proc.stderr.read().decode())
            time.sleep(0.05)
        with open(port_file) as f:
            self.port = int(f.read())
        self.tls = "--tls-cert" in extra
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(10)
        self.proc.stderr.close()
        return rc

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def http(self, method, path, body=None, headers=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def control(self, **settings):
        status, _, body = self.http("POST", "/_control", json.dumps(settings).encode(),
                                    {"Content-Type": "application/json"})
        assert status == 200, body
        return json.loads(body)

    def get(self, path):
        status, _, body = self.http("GET", path)
        assert status == 200, body
        return json.loads(body)

    def messages(self):
        return self.get("/_messages")

    def stats(self):
        return self.get("/_stats")


class FixedTimeSigV4(SigV4Auth):
    """botocore's signer with an optional fixed signing time and optional headers left unsigned."""

    def __init__(self, credentials, service, region, when=None, unsigned=()):
        super().__init__(credentials, service, region)
        self.when = when
        self.unsigned = unsigned

    def headers_to_sign(self, request):
        headers = super().headers_to_sign(request)
        for name in self.unsigned:
            del headers[name]
        return headers

    def add_auth(self, request):
        if self.when is None:
            return super().add_auth(request)
        request.context["timestamp"] = self.when.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        canonical = self.canonical_request(request)
        signature = self.signature(self.string_to_sign(request, canonical), request)
        self._inject_signature_to_request(request, signature)


def form(params):
    """Properly encode query parameters (space -> %20, '+' -> %2B)."""
    from urllib.parse import quote
    return "&".join(f"{quote(k, safe='')}={quote(str(v), safe='-_.~')}" for k, v in params.items())


def publish_params(topic=TOPIC, message="hello", **extra):
    return {"Action": "Publish", "Version": "2010-03-31", "TopicArn": topic, "Message": message, **extra}


def batch_params(entries, topic=TOPIC):
    params = {"Action": "PublishBatch", "Version": "2010-03-31", "TopicArn": topic}
    for i, entry in enumerate(entries, 1):
        for key, value in entry.items():
            params[f"PublishBatchRequestEntries.member.{i}.{key}"] = value
    return params


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def parse(self, operation, model=SNS_MODEL):
        """Parse with botocore's Query parser, exactly as an SDK would."""
        shape = model.operation_model(operation).output_shape
        return botocore.parsers.QueryParser().parse(
            {"status_code": self.status, "headers": self.headers, "body": self.body}, shape)

    @property
    def code(self):
        return self.parse("Publish")["Error"]["Code"]

    @property
    def message(self):
        return self.parse("Publish")["Error"]["Message"]


def call(ep, body, *, creds=(AKID, SECRET, None), region=REGION, service="sns", when=None, unsigned=(),
         content_type=FORM, tamper=None, extra_headers=None, timeout=10, context=None):
    """Sign `body` (dict -> encoded form, or a raw str) with botocore and POST it to the endpoint."""
    if isinstance(body, dict):
        body = form(body)
    headers = {"Content-Type": content_type} if content_type else {}
    headers.update(extra_headers or {})
    request = AWSRequest(method="POST", url=ep.url, data=body.encode(), headers=headers)
    FixedTimeSigV4(Credentials(*creds), service, region, when, unsigned).add_auth(request)
    prepared = request.prepare()
    out_headers = dict(prepared.headers)
    data = prepared.body
    if tamper:
        out_headers, data = tamper(out_headers, data)
    if ep.tls:
        conn = http.client.HTTPSConnection("127.0.0.1", ep.port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", ep.port, timeout=timeout)
    try:
        conn.request("POST", "/", body=data, headers=out_headers)
        resp = conn.getresponse()
        return Response(resp.status, dict(resp.getheaders()), resp.read())
    finally:
        conn.close()


def request_record(ep, resp, timeout=5.0):
    """The line of requests.jsonl for the request that got resp.  The endpoint logs a request once it has
    answered it, so the line can come a moment after the response: wait for it."""
    rid = resp.headers["x-amzn-RequestId"]
    deadline = time.monotonic() + timeout
    while True:
        with open(os.path.join(ep.state_dir, "requests.jsonl")) as f:
            for line in f.read().splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue                        # a line still being written
                if record.get("request_id") == rid:
                    return record
        if time.monotonic() > deadline:
            raise AssertionError(f"request {rid} is not in requests.jsonl")
        time.sleep(0.01)


class EndpointTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ep = Endpoint()

    @classmethod
    def tearDownClass(cls):
        rc = cls.ep.stop()
        cls.ep.cleanup()
        assert rc == 0, f"endpoint exit status {rc} after SIGTERM"

    def setUp(self):
        self.ep.control(reset=True, clear=True)

    def assertError(self, resp, status, code, fragment=None):
        self.assertEqual(resp.status, status, resp.body)
        self.assertEqual(resp.code, code, resp.body)
        root = resp.body.decode()
        self.assertIn('<ErrorResponse xmlns="http://', root)
        self.assertIn("<RequestId>", root)
        if fragment:
            self.assertIn(fragment, resp.message)


class TestSignature(EndpointTestCase):
    def test_signed_publish_accepted_and_recorded(self):
        resp = call(self.ep, publish_params(message="fraud alert 1", Subject="Alert",
                                            **{"MessageAttributes.entry.1.Name": "score",
                                               "MessageAttributes.entry.1.Value.DataType": "Number",
                                               "MessageAttributes.entry.1.Value.StringValue": "0.97"}))
        self.assertEqual(resp.status, 200, resp.body)
        parsed = resp.parse("Publish")
        self.assertIn("MessageId", parsed)
        self.assertNotIn("SequenceNumber", parsed)
        self.assertEqual(parsed["ResponseMetadata"]["RequestId"], resp.headers["x-amzn-RequestId"])
        msgs = self.ep.messages()
        self.assertEqual(len(msgs), 1)
        m = msgs[0]
        self.assertEqual((m["topic"], m["message"], m["subject"]), (TOPIC, "fraud alert 1", "Alert"))
        self.assertEqual(m["attributes"], {"score": {"DataType": "Number", "StringValue": "0.97"}})
        self.assertEqual(m["message_id"], parsed["MessageId"])
        self.assertEqual(m["access_key"], AKID)
        with open(os.path.join(self.ep.state_dir, "messages.jsonl")) as f:
            self.assertEqual(json.loads(f.read().splitlines()[-1])["message"], "fraud alert 1")
        last = request_record(self.ep, resp)
        self.assertEqual((last["action"], last["status"], last["access_key"]), ("Publish", 200, AKID))

    def test_credentials_file_and_session_token(self):
        self.assertEqual(call(self.ep, publish_params(), creds=(FILE_AKID, FILE_SECRET, None)).status, 200)
        self.assertEqual(call(self.ep, publish_params(), creds=(TMP_AKID, TMP_SECRET, TMP_TOKEN)).status, 200)

    def test_wrong_signature(self):
        def flip(headers, data):
            auth = headers["Authorization"]
            last = auth[-1]
            headers["Authorization"] = auth[:-1] + ("0" if last != "0" else "1")
            return headers, data
        resp = call(self.ep, publish_params(), tamper=flip)
        self.assertError(resp, 403, "SignatureDoesNotMatch", "The Canonical String for this request")
        self.assertEqual(self.ep.messages(), [])

    def test_body_changed_after_signing(self):
        resp = call(self.ep, publish_params(message="a"),
                    tamper=lambda h, d: (h, d.replace(b"Message=a", b"Message=b")))
        self.assertError(resp, 403, "SignatureDoesNotMatch")

    def test_wrong_secret(self):
        resp = call(self.ep, publish_params(), creds=(AKID, "not-the-secret", None))
        self.assertError(resp, 403, "SignatureDoesNotMatch", "does not match")

    def test_unknown_access_key(self):
        resp = call(self.ep, publish_params(), creds=("AKIAUNKNOWN000000000", SECRET, None))
        self.assertError(resp, 403, "InvalidClientTokenId", "security token included in the request is invalid")

    def test_stale_and_future_date(self):
        now = datetime.datetime.utcnow()
        resp = call(self.ep, publish_params(), when=now - datetime.timedelta(minutes=6))
        self.assertError(resp, 403, "SignatureDoesNotMatch", "Signature expired")
        resp = call(self.ep, publish_params(), when=now + datetime.timedelta(minutes=6))
        self.assertError(resp, 403, "SignatureDoesNotMatch", "Signature not yet current")
        # within the 5 minute window is fine
        self.assertEqual(call(self.ep, publish_params(), when=now - datetime.timedelta(minutes=4)).status, 200)

    def test_server_clock_offset(self):
        self.ep.control(clock_offset=400)
        self.assertError(call(self.ep, publish_params()), 403, "SignatureDoesNotMatch", "Signature expired")

    def test_session_token_rules(self):
        # a credential that requires a token, without it / with a wrong one
        self.assertError(call(self.ep, publish_params(), creds=(TMP_AKID, TMP_SECRET, None)),
                         403, "InvalidClientTokenId")
        self.assertError(call(self.ep, publish_params(), creds=(TMP_AKID, TMP_SECRET, "wrong")),
                         403, "InvalidClientTokenId")
        # a token sent for a long-lived key
        self.assertError(call(self.ep, publish_params(), creds=(AKID, SECRET, "unexpected")),
                         403, "InvalidClientTokenId")
        # the token header must be signed
        resp = call(self.ep, publish_params(), creds=(TMP_AKID, TMP_SECRET, TMP_TOKEN),
                    unsigned=("x-amz-security-token",))
        self.assertError(resp, 403, "IncompleteSignature", "X-Amz-Security-Token")

    def test_unsigned_host(self):
        resp = call(self.ep, publish_params(), unsigned=("host",))
        self.assertError(resp, 403, "IncompleteSignature", "'Host'")

    def test_wrong_region(self):
        resp = call(self.ep, publish_params(), region="us-west-2")
        self.assertError(resp, 403, "SignatureDoesNotMatch", "Credential should be scoped to a valid region")
        # the same credentials scoped to us-west-2 are fine for a us-west-2 topic
        self.assertEqual(call(self.ep, publish_params(topic=WEST_TOPIC), region="us-west-2").status, 200)

    def test_wrong_service(self):
        resp = call(self.ep, publish_params(), service="sqs")
        self.assertError(resp, 403, "SignatureDoesNotMatch", "correct service")

    def test_missing_and_garbled_authorization(self):
        status, headers, body = self.ep.http("POST", "/", form(publish_params()).encode(), {"Content-Type": FORM})
        self.assertError(Response(status, headers, body), 403, "MissingAuthenticationToken")

        def garble(h, d):
            h["Authorization"] = h["Authorization"].split(",")[0]      # only the Credential part
            return h, d
        self.assertError(call(self.ep, publish_params(), tamper=garble), 403, "IncompleteSignature",
                         "SignedHeaders")

        def no_date(h, d):
            del h["X-Amz-Date"]
            return h, d
        self.assertError(call(self.ep, publish_params(), tamper=no_date), 403, "IncompleteSignature")

    def test_stats_count_rejections(self):
        call(self.ep, publish_params(), creds=(AKID, "bad", None))
        call(self.ep, publish_params())
        stats = self.ep.stats()
        self.assertEqual(stats["rejected"].get("SignatureDoesNotMatch"), 1)
        self.assertEqual(stats["accepted_messages"], 1)
        # a request left over by an earlier test (a released hang) may land after the reset
        self.assertGreaterEqual(stats["requests"], 2)


class TestQueryProtocol(EndpointTestCase):
    def test_plus_is_a_space_unless_encoded(self):
        raw = "Action=Publish&Version=2010-03-31&TopicArn=" + TOPIC.replace(":", "%3A")
        resp = call(self.ep, raw + "&Message=a+b%2Bc%20d")
        self.assertEqual(resp.status, 200)
        self.assertEqual(self.ep.messages()[-1]["message"], "a b+c d")
        self.assertEqual(request_record(self.ep, resp)["raw_plus"], 1)

    def test_content_type_required(self):
        resp = call(self.ep, publish_params(), content_type="application/json")
        self.assertEqual(resp.status, 400, resp.body)
        self.assertIn("Content-Type", resp.message)
        self.assertEqual(self.ep.messages(), [])

    def test_version_and_action(self):
        self.assertError(call(self.ep, {**publish_params(), "Version": "2012-01-01"}), 400, "InvalidAction")
        self.assertError(call(self.ep, {**publish_params(), "Action": "CreateTopic"}), 400, "InvalidAction")
        params = publish_params()
        del params["Version"]
        self.assertError(call(self.ep, params), 400, "InvalidAction")

    def test_publish_validation(self):
        unknown = f"arn:aws:sns:{REGION}:{ACCOUNT}:no-such-topic"
        self.assertError(call(self.ep, publish_params(topic=unknown)), 404, "NotFound", "Topic does not exist")
        self.assertError(call(self.ep, publish_params(topic="not-an-arn")), 400, "InvalidParameter")
        params = publish_params()
        del params["Message"]
        self.assertError(call(self.ep, params), 400, "ValidationError")
        self.assertError(call(self.ep, publish_params(message="")), 400, "InvalidParameter", "Empty message")
        self.assertError(call(self.ep, publish_params(message="x" * 262145)), 400, "InvalidParameter",
                         "Message too long")
        self.assertEqual(call(self.ep, publish_params(message="x" * 262144)).status, 200)
        # the limit counts attributes too
        big = publish_params(message="x" * 262140, **{"MessageAttributes.entry.1.Name": "k",
                                                      "MessageAttributes.entry.1.Value.DataType": "String",
                                                      "MessageAttributes.entry.1.Value.StringValue": "vvvv"})
        self.assertError(call(self.ep, big), 400, "InvalidParameter", "Message too long")
        for subject in ("x" * 100, "line\nbreak", "", "caf\u00e9"):
            self.assertError(call(self.ep, publish_params(Subject=subject)), 400, "InvalidParameter", "Subject")
        self.assertEqual(call(self.ep, publish_params(Subject="x" * 99)).status, 200)
        self.assertError(call(self.ep, publish_params(MessageGroupId="g1")), 400, "InvalidParameter",
                         "MessageGroupId")

    def test_message_attribute_validation(self):
        def attr(name, dtype, value, field="StringValue"):
            return publish_params(**{"MessageAttributes.entry.1.Name": name,
                                     "MessageAttributes.entry.1.Value.DataType": dtype,
                                     f"MessageAttributes.entry.1.Value.{field}": value})
        bad = [attr("n", "Number", "12abc"), attr("n", "Number", "1e400"), attr("arr", "String.Array", "[1,"),
               attr("arr", "String.Array", '{"a": 1}'), attr("arr", "String.Array", "[[1]]"),
               attr("s", "Strin", "x"), attr("s", "String", ""), attr("AWS.thing", "String", "x"),
               attr("bad..name", "String", "x"), attr("b", "Binary", "x", "StringValue"),
               attr("b", "Binary", "!!!", "BinaryValue")]
        for params in bad:
            with self.subTest(params=params):
                self.assertError(call(self.ep, params), 400, "InvalidParameterValue")
        good = [attr("n", "Number", "-1.5e10"), attr("arr", "String.Array", '["a", 1, true, null]'),
                attr("s", "String.custom", "x"), attr("b", "Binary", base64.b64encode(b"\0\1").decode(), "BinaryValue")]
        for params in good:
            with self.subTest(params=params):
                self.assertEqual(call(self.ep, params).status, 200)
        many = publish_params()
        for i in range(1, 12):
            many[f"MessageAttributes.entry.{i}.Name"] = f"a{i}"
            many[f"MessageAttributes.entry.{i}.Value.DataType"] = "String"
            many[f"MessageAttributes.entry.{i}.Value.StringValue"] = "v"
        self.assertError(call(self.ep, many), 400, "InvalidParameterValue", "exceeds the allowed maximum")

    def test_list_gap_is_ignored_and_logged(self):
        params = publish_params(**{"MessageAttributes.entry.2.Name": "late",
                                   "MessageAttributes.entry.2.Value.DataType": "String",
                                   "MessageAttributes.entry.2.Value.StringValue": "v", "Bogus": "1"})
        resp = call(self.ep, params)
        self.assertEqual(resp.status, 200)
        self.assertEqual(self.ep.messages()[-1]["attributes"], {})
        ignored = request_record(self.ep, resp)["ignored_params"]
        self.assertIn("MessageAttributes.entry.2.Name", ignored)
        self.assertIn("Bogus", ignored)


class TestBatch(EndpointTestCase):
    def test_batch_accepted(self):
        entries = [{"Id": f"alert-{i}", "Message": f"m{i}", "Subject": "S",
                    "MessageAttributes.entry.1.Name": "rule", "MessageAttributes.entry.1.Value.DataType": "String",
                    "MessageAttributes.entry.1.Value.StringValue": "zscore"} for i in range(10)]
        resp = call(self.ep, batch_params(entries))
        self.assertEqual(resp.status, 200, resp.body)
        parsed = resp.parse("PublishBatch")
        self.assertEqual([s["Id"] for s in parsed["Successful"]], [f"alert-{i}" for i in range(10)])
        self.assertEqual(parsed["Failed"], [])
        msgs = self.ep.messages()
        self.assertEqual([m["message"] for m in msgs], [f"m{i}" for i in range(10)])
        self.assertEqual(msgs[3]["batch_entry_id"], "alert-3")
        self.assertEqual(msgs[3]["attributes"]["rule"]["StringValue"], "zscore")

    def test_batch_request_errors(self):
        self.assertError(call(self.ep, batch_params([{"Id": f"i{i}", "Message": "m"} for i in range(11)])),
                         400, "TooManyEntriesInBatchRequest")
        self.assertError(call(self.ep, batch_params([])), 400, "EmptyBatchRequest")
        self.assertError(call(self.ep, batch_params([{"Id": "a", "Message": "m"}, {"Id": "a", "Message": "n"}])),
                         400, "BatchEntryIdsNotDistinct")
        self.assertError(call(self.ep, batch_params([{"Id": "bad id!", "Message": "m"}])), 400, "InvalidBatchEntryId")
        self.assertError(call(self.ep, batch_params([{"Id": "x" * 81, "Message": "m"}])), 400, "InvalidBatchEntryId")
        self.assertError(call(self.ep, batch_params([{"Id": "a", "Message": "x" * 200000},
                                                     {"Id": "b", "Message": "y" * 70000}])),
                         400, "BatchRequestTooLong")
        self.assertEqual(self.ep.messages(), [])

    def test_partial_failure(self):
        entries = [{"Id": "good1", "Message": "ok"},
                   {"Id": "badnum", "Message": "x", "MessageAttributes.entry.1.Name": "n",
                    "MessageAttributes.entry.1.Value.DataType": "Number",
                    "MessageAttributes.entry.1.Value.StringValue": "NaN-ish"},
                   {"Id": "empty", "Message": ""},
                   {"Id": "good2", "Message": "ok2"}]
        resp = call(self.ep, batch_params(entries))
        self.assertEqual(resp.status, 200, resp.body)
        parsed = resp.parse("PublishBatch")
        self.assertEqual([s["Id"] for s in parsed["Successful"]], ["good1", "good2"])
        failed = {f["Id"]: f for f in parsed["Failed"]}
        self.assertEqual(failed["badnum"]["Code"], "InvalidParameterValue")
        self.assertEqual(failed["empty"]["Code"], "InvalidParameter")
        self.assertTrue(all(f["SenderFault"] is True for f in failed.values()))
        self.assertEqual([m["message"] for m in self.ep.messages()], ["ok", "ok2"])
        self.assertEqual(self.ep.stats()["batch_entries_failed"], 2)


class TestFifo(EndpointTestCase):
    def test_fifo_rules(self):
        self.assertError(call(self.ep, publish_params(topic=FIFO, MessageDeduplicationId="d")),
                         400, "InvalidParameter", "MessageGroupId")
        self.assertError(call(self.ep, publish_params(topic=FIFO, MessageGroupId="card-1")),
                         400, "InvalidParameter", "MessageDeduplicationId")
        self.assertError(call(self.ep, publish_params(topic=FIFO, MessageGroupId="g" * 129,
                                                      MessageDeduplicationId="d")), 400, "InvalidParameter")
        first = call(self.ep, publish_params(topic=FIFO, message="one", MessageGroupId="card-1",
                                             MessageDeduplicationId="alert-1"))
        self.assertEqual(first.status, 200, first.body)
        p1 = first.parse("Publish")
        self.assertTrue(p1["SequenceNumber"].isdigit())
        again = call(self.ep, publish_params(topic=FIFO, message="one", MessageGroupId="card-1",
                                             MessageDeduplicationId="alert-1")).parse("Publish")
        self.assertEqual(again["MessageId"], p1["MessageId"])           # deduplicated
        second = call(self.ep, publish_params(topic=FIFO, message="two", MessageGroupId="card-1",
                                              MessageDeduplicationId="alert-2")).parse("Publish")
        self.assertGreater(int(second["SequenceNumber"]), int(p1["SequenceNumber"]))
        msgs = self.ep.messages()
        self.assertEqual([(m["message"], m["group_id"], m["dedup_id"]) for m in msgs],
                         [("one", "card-1", "alert-1"), ("two", "card-1", "alert-2")])
        self.assertEqual(self.ep.stats()["deduplicated"], 1)

    def test_fifo_batch(self):
        entries = [{"Id": "a", "Message": "1", "MessageGroupId": "g", "MessageDeduplicationId": "d1"},
                   {"Id": "b", "Message": "2", "MessageGroupId": "g", "MessageDeduplicationId": "d1"},
                   {"Id": "c", "Message": "3", "MessageDeduplicationId": "d3"}]
        parsed = call(self.ep, batch_params(entries, topic=FIFO)).parse("PublishBatch")
        ok = {s["Id"]: s for s in parsed["Successful"]}
        self.assertEqual(set(ok), {"a", "b"})
        self.assertEqual(ok["a"]["MessageId"], ok["b"]["MessageId"])
        self.assertIn("SequenceNumber", ok["a"])
        self.assertEqual([f["Id"] for f in parsed["Failed"]], ["c"])
        self.assertEqual([m["message"] for m in self.ep.messages()], ["1"])


class TestFaults(EndpointTestCase):
    def test_fail_next(self):
        self.ep.control(fail_next=2, fail_status=503, fail_code="ServiceUnavailable")
        for _ in range(2):
            resp = call(self.ep, publish_params())
            self.assertError(resp, 503, "ServiceUnavailable")
            self.assertIn("<Type>Receiver</Type>", resp.body.decode())
        self.assertEqual(call(self.ep, publish_params()).status, 200)
        self.assertEqual(len(self.ep.messages()), 1)
        self.assertEqual(self.ep.stats()["faults_injected"], 2)

    def test_throttling_and_rate(self):
        self.ep.control(fail_rate=1.0, fail_status=400, fail_code="Throttling")
        self.assertError(call(self.ep, publish_params()), 400, "Throttling", "Rate exceeded")
        self.ep.control(reset=True, fail_rate=0.5, fail_status=429, fail_code="Throttling")
        statuses = [call(self.ep, publish_params()).status for _ in range(30)]
        self.assertTrue(0 < statuses.count(429) < 30, statuses)
        self.assertEqual(len(self.ep.messages()), statuses.count(200))

    def test_faults_only_after_authentication(self):
        self.ep.control(fail_next=1)
        self.assertError(call(self.ep, publish_params(), creds=(AKID, "bad", None)), 403, "SignatureDoesNotMatch")
        self.assertError(call(self.ep, publish_params()), 500, "InternalError")

    def test_entry_fail_rate(self):
        self.ep.control(entry_fail_rate=1.0)
        parsed = call(self.ep, batch_params([{"Id": "a", "Message": "m"}, {"Id": "b", "Message": ""}])) \
            .parse("PublishBatch")
        failed = {f["Id"]: f for f in parsed["Failed"]}
        self.assertEqual((failed["a"]["Code"], failed["a"]["SenderFault"]), ("InternalError", False))
        self.assertEqual((failed["b"]["Code"], failed["b"]["SenderFault"]), ("InvalidParameter", True))
        self.assertEqual(self.ep.messages(), [])

    def test_delay(self):
        self.ep.control(delay_ms=300)
        started = time.monotonic()
        self.assertEqual(call(self.ep, publish_params()).status, 200)
        self.assertGreaterEqual(time.monotonic() - started, 0.3)

    def test_hang_until_reset(self):
        self.ep.control(hang=True)
        with self.assertRaises((socket.timeout, TimeoutError)):
            call(self.ep, publish_params(), timeout=0.5)
        self.ep.control(reset=True)
        self.assertEqual(call(self.ep, publish_params(message="after")).status, 200)
        self.assertEqual([m["message"] for m in self.ep.messages()], ["after"])
        self.assertGreaterEqual(self.ep.stats()["hung"], 1)

    def test_lost_response_and_closed_connection(self):
        self.ep.control(lose_response_next=1)
        with self.assertRaises(http.client.RemoteDisconnected):
            call(self.ep, publish_params(message="delivered"))
        self.assertEqual([m["message"] for m in self.ep.messages()], ["delivered"])
        self.ep.control(fail_next=1, fail_mode="close")
        with self.assertRaises(http.client.RemoteDisconnected):
            call(self.ep, publish_params(message="dropped"))
        self.assertEqual(len(self.ep.messages()), 1)

    def test_flood(self):
        # a 200 whose chunked body never ends: cut off (no last chunk) once 200000 bytes are out
        self.ep.control(fail_next=1, fail_mode="flood", flood_bytes=200000)
        with self.assertRaises(http.client.IncompleteRead) as cut:
            call(self.ep, publish_params(message="flooded"))
        self.assertEqual(len(cut.exception.partial), 4 * 65535)
        self.assertTrue(cut.exception.partial.startswith(b"<Filler>"))
        self.assertEqual(self.ep.stats()["flood_bytes_sent"], 4 * 65535)
        self.assertEqual(self.ep.messages(), [])
        self.assertEqual(call(self.ep, publish_params(message="after")).status, 200)
        with self.assertRaises(AssertionError):
            self.ep.control(fail_mode="deluge")

    def test_bad_control(self):
        status, _, _ = self.ep.http("POST", "/_control", b'{"no_such_knob": 1}')
        self.assertEqual(status, 400)


class TestCloudWatch(EndpointTestCase):
    def test_put_metric_data(self):
        params = {"Action": "PutMetricData", "Version": "2010-08-01", "Namespace": "PgVigil",
                  "MetricData.member.1.MetricName": "AlertsDelivered", "MetricData.member.1.Value": "12",
                  "MetricData.member.1.Unit": "Count",
                  "MetricData.member.1.Dimensions.member.1.Name": "Database",
                  "MetricData.member.1.Dimensions.member.1.Value": "prod",
                  "MetricData.member.2.MetricName": "DeliveryLatency",
                  "MetricData.member.2.StatisticValues.SampleCount": "3",
                  "MetricData.member.2.StatisticValues.Sum": "30", "MetricData.member.2.StatisticValues.Minimum": "5",
                  "MetricData.member.2.StatisticValues.Maximum": "15", "MetricData.member.2.Unit": "Milliseconds",
                  "MetricData.member.2.Timestamp": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}
        resp = call(self.ep, params, service="monitoring")
        self.assertEqual(resp.status, 200, resp.body)
        self.assertIn(b"<PutMetricDataResponse", resp.body)
        resp.parse("PutMetricData", CW_MODEL)
        metrics = self.ep.get("/_metrics")
        self.assertEqual([m["metric"] for m in metrics], ["AlertsDelivered", "DeliveryLatency"])
        self.assertEqual(metrics[0]["dimensions"], {"Database": "prod"})
        self.assertEqual(metrics[1]["statistic_values"]["Sum"], 30.0)

    def test_put_metric_data_errors(self):
        base = {"Action": "PutMetricData", "Version": "2010-08-01"}
        resp = call(self.ep, {**base, "MetricData.member.1.MetricName": "m", "MetricData.member.1.Value": "1"},
                    service="monitoring")
        self.assertError(resp, 400, "MissingParameter", "Namespace")
        self.assertIn(b"monitoring.amazonaws.com", resp.body)
        resp = call(self.ep, {**base, "Namespace": "N", "MetricData.member.1.MetricName": "m",
                              "MetricData.member.1.Value": "1", "MetricData.member.1.Unit": "Parsecs"},
                    service="monitoring")
        self.assertError(resp, 400, "InvalidParameterValue")
        # an SNS action signed for CloudWatch is not a CloudWatch action
        self.assertError(call(self.ep, publish_params(), service="monitoring"), 400, "InvalidAction")


class TestBotocoreClients(EndpointTestCase):
    """Real SDK clients against the fake: proves the wire format on both sides."""

    def client(self, service, access_key=AKID, secret=SECRET, token=None):
        client = _session.create_client(service, region_name=REGION, endpoint_url=self.ep.url,
                                        aws_access_key_id=access_key, aws_secret_access_key=secret,
                                        aws_session_token=token, config=Config(retries={"max_attempts": 1}))
        self.addCleanup(client.close)
        return client

    def test_sns_client(self):
        sns = self.client("sns")
        out = sns.publish(TopicArn=TOPIC, Message="1+1=2 & more", Subject="Fraud",
                          MessageAttributes={"score": {"DataType": "Number", "StringValue": "3.5"},
                                             "tags": {"DataType": "String.Array", "StringValue": '["a","b"]'},
                                             "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}})
        self.assertIn("MessageId", out)
        out = sns.publish_batch(TopicArn=TOPIC, PublishBatchRequestEntries=[
            {"Id": "one", "Message": "a+b"}, {"Id": "two", "Message": ""}])
        self.assertEqual([s["Id"] for s in out["Successful"]], ["one"])
        self.assertEqual(out["Failed"][0]["Id"], "two")
        out = sns.publish(TopicArn=FIFO, Message="f", MessageGroupId="g", MessageDeduplicationId="d")
        self.assertIn("SequenceNumber", out)
        msgs = self.ep.messages()
        self.assertEqual([m["message"] for m in msgs], ["1+1=2 & more", "a+b", "f"])
        self.assertEqual(msgs[0]["attributes"]["blob"], {"DataType": "Binary", "BinaryValue": "AP8="})
        with self.assertRaises(sns.exceptions.NotFoundException):
            sns.publish(TopicArn=TOPIC + "-gone", Message="x")
        bad = self.client("sns", secret="wrong")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            bad.publish(TopicArn=TOPIC, Message="x")
        self.assertEqual(cm.exception.response["Error"]["Code"], "SignatureDoesNotMatch")

    def test_cloudwatch_client(self):
        cw = self.client("cloudwatch")
        cw.put_metric_data(Namespace="PgVigil", MetricData=[
            {"MetricName": "Backlog", "Value": 3, "Unit": "Count",
             "Dimensions": [{"Name": "Watch", "Value": "transactions"}]},
            {"MetricName": "Latency", "Values": [1.0, 2.0], "Counts": [3, 4], "Unit": "Milliseconds"}])
        metrics = self.ep.get("/_metrics")
        self.assertEqual(metrics[0]["value"], 3.0)
        self.assertEqual(metrics[1]["values"], [1.0, 2.0])


class TestCredentialSources(EndpointTestCase):
    def imds_token(self, ttl="60", extra=None):
        headers = {"X-aws-ec2-metadata-token-ttl-seconds": ttl}
        headers.update(extra or {})
        return self.ep.http("PUT", "/latest/api/token", b"", headers)

    def test_imds_v2_flow(self):
        self.assertEqual(self.ep.http("PUT", "/latest/api/token", b"")[0], 400)
        self.assertEqual(self.imds_token("0")[0], 400)
        self.assertEqual(self.imds_token("21601")[0], 400)
        self.assertEqual(self.imds_token(extra={"X-Forwarded-For": "10.0.0.1"})[0], 403)
        status, headers, token = self.imds_token()
        self.assertEqual(status, 200)
        self.assertEqual(headers["X-aws-ec2-metadata-token-ttl-seconds"], "60")
        listing = "/latest/meta-data/iam/security-credentials/"
        self.assertEqual(self.ep.http("GET", listing)[0], 401)
        self.assertEqual(self.ep.http("GET", listing, headers={"X-aws-ec2-metadata-token": "bogus"})[0], 401)
        auth = {"X-aws-ec2-metadata-token": token.decode()}
        self.assertEqual(self.ep.http("GET", listing, headers={**auth, "X-Forwarded-For": "1.2.3.4"})[0], 403)
        status, _, role = self.ep.http("GET", listing, headers=auth)
        self.assertEqual((status, role), (200, b"vigil-notifier"))
        self.assertEqual(self.ep.http("GET", listing + "other-role", headers=auth)[0], 404)
        status, _, body = self.ep.http("GET", listing + "vigil-notifier", headers=auth)
        doc = json.loads(body)
        self.assertEqual((doc["Code"], doc["Type"]), ("Success", "AWS-HMAC"))
        self.assertTrue(doc["AccessKeyId"].startswith("ASIA"))
        doc2 = json.loads(self.ep.http("GET", listing + "vigil-notifier", headers=auth)[2])
        self.assertNotEqual(doc["AccessKeyId"], doc2["AccessKeyId"])          # rotates on each fetch
        for d in (doc, doc2):
            creds = (d["AccessKeyId"], d["SecretAccessKey"], d["Token"])
            self.assertEqual(call(self.ep, publish_params(), creds=creds).status, 200)
            self.assertError(call(self.ep, publish_params(), creds=creds[:2] + (None,)), 403, "InvalidClientTokenId")
        fetches = self.ep.stats()["credential_fetches"]
        self.assertEqual((fetches["imds_token"], fetches["imds_credentials"]), (1, 2))

    def test_imds_with_botocore_fetcher(self):
        fetcher = InstanceMetadataFetcher(timeout=2, num_attempts=1, base_url=f"http://127.0.0.1:{self.ep.port}/")
        self.addCleanup(fetcher._session.close)
        creds = fetcher.retrieve_iam_role_credentials()
        self.assertEqual(creds["role_name"], "vigil-notifier")
        resp = call(self.ep, publish_params(), creds=(creds["access_key"], creds["secret_key"], creds["token"]))
        self.assertEqual(resp.status, 200, resp.body)

    def test_ecs_flow(self):
        self.assertEqual(self.ep.http("GET", "/ecs/creds")[0], 401)
        self.assertEqual(self.ep.http("GET", "/ecs/creds", headers={"Authorization": "wrong"})[0], 401)
        status, _, body = self.ep.http("GET", "/ecs/creds", headers={"Authorization": ECS_AUTH})
        self.assertEqual(status, 200)
        doc = json.loads(body)
        self.assertRegex(doc["Expiration"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        creds = (doc["AccessKeyId"], doc["SecretAccessKey"], doc["Token"])
        self.assertEqual(call(self.ep, publish_params(), creds=creds).status, 200)
        # botocore's own container provider
        http_session = URLLib3Session(timeout=2)
        self.addCleanup(http_session.close)
        provider = ContainerProvider(environ={
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://127.0.0.1:{self.ep.port}/ecs/creds",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": ECS_AUTH}, fetcher=ContainerMetadataFetcher(http_session))
        frozen = provider.load().get_frozen_credentials()
        self.assertNotEqual(frozen.access_key, doc["AccessKeyId"])
        resp = call(self.ep, publish_params(), creds=(frozen.access_key, frozen.secret_key, frozen.token))
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(self.ep.stats()["credential_fetches"]["ecs"], 2)     # 401s are not fetches

    def test_temporary_credentials_expire(self):
        doc = json.loads(self.ep.http("GET", "/ecs/creds", headers={"Authorization": ECS_AUTH})[2])
        creds = (doc["AccessKeyId"], doc["SecretAccessKey"], doc["Token"])
        self.ep.control(expire_credentials=True)
        self.assertError(call(self.ep, publish_params(), creds=creds), 403, "ExpiredToken")
        self.assertEqual(call(self.ep, publish_params()).status, 200)     # long-lived keys unaffected

    def test_credentials_fetch_failure(self):
        self.ep.control(creds_fail_next=1)
        self.assertEqual(self.ep.http("GET", "/ecs/creds", headers={"Authorization": ECS_AUTH})[0], 500)
        self.assertEqual(self.ep.http("GET", "/ecs/creds", headers={"Authorization": ECS_AUTH})[0], 200)


class TestProcess(unittest.TestCase):
    def test_tls_and_sigterm(self):
        work = tempfile.mkdtemp(prefix="vigil-tls-")
        self.addCleanup(shutil.rmtree, work, True)
        cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        ep = Endpoint("--tls-cert", cert, "--tls-key", key, "--temp-ttl", "30")
        self.addCleanup(ep.cleanup)
        context = ssl.create_default_context(cafile=cert)
        resp = call(ep, publish_params(message="over tls"), context=context)
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(call(ep, publish_params(), creds=(AKID, "bad", None), context=context).code,
                         "SignatureDoesNotMatch")
        port_file = os.path.join(ep.state_dir, "port")
        self.assertTrue(os.path.exists(port_file))
        self.assertEqual(ep.stop(), 0)
        self.assertFalse(os.path.exists(port_file))
        with open(os.path.join(ep.state_dir, "messages.jsonl")) as f:
            self.assertEqual(json.loads(f.readline())["message"], "over tls")


if __name__ == "__main__":
    unittest.main()
