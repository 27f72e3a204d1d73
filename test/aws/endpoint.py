#!/usr/bin/python3
"""Loopback fake of the AWS services pg_vigil's notifier talks to, strict like AWS.

One ThreadingHTTPServer (HTTP/1.1, keep-alive, optional TLS) that plays:

  * Amazon SNS Query API      POST /  (credential scope service "sns")   Publish, PublishBatch
  * Amazon CloudWatch         POST /  (credential scope service "monitoring")  PutMetricData
  * ECS container credentials GET  /ecs/creds  (path: --ecs-path)
  * EC2 IMDSv2                PUT  /latest/api/token, GET /latest/meta-data/...
  * a control API for tests   POST /_control, GET /_messages, /_metrics, /_stats

Start it (Debian's python, so that botocore imports):

  /usr/bin/python3 test/aws/endpoint.py --port 0 --state-dir DIR \\
      --topic arn:aws:sns:us-east-1:123456789012:vigil-alerts \\
      --topic arn:aws:sns:us-east-1:123456789012:vigil-alerts.fifo \\
      --access-key AKIDEXAMPLE --secret-key SECRET [--session-token TOK]

Command line options
  --host H               listen address (default 127.0.0.1)
  --port N               listen port; 0 picks a free one (default 4566)
  --state-dir DIR        required; output files go here (created if missing)
  --tls-cert C --tls-key K   serve HTTPS instead of HTTP (TLS handshake runs per connection thread)
  --access-key A --secret-key S [--session-token T]   one long-lived credential
  --credentials FILE     JSON list of {"access_key","secret_key","session_token"?,"expiration"?} (ISO 8601)
  --topic ARN            a topic that exists (repeatable). Names ending in ".fifo" are FIFO topics.
  --any-topic            every well-formed topic ARN exists
  --content-dedup        FIFO topics have ContentBasedDeduplication (default: they do not)
  --region R             the endpoint's region: every credential scope must name it
                         (default: any region, but SNS requests must be scoped to the topic's region)
  --max-skew SECONDS     allowed |X-Amz-Date - server clock| (default 300, as SNS)
  --seed N               seed of the fault-injection RNG (default 1)
  --temp-ttl SECONDS     lifetime of temporary credentials handed out by ECS/IMDS (default 3600)
  --ecs-path PATH        ECS credentials path (default /ecs/creds)
  --ecs-auth TOKEN       require "Authorization: TOKEN" on the ECS endpoint (else 401)
  --imds-role NAME       IAM role name served by IMDS (default vigil-notifier)
  --imds-allow-v1        IMDS also answers without a session token (IMDSv1); default is IMDSv2-only
  --account ID           account id used in IMDS/ECS documents (default: first topic's, or 123456789012)
  --no-request-log       do not write requests.jsonl (benchmarks)
  --verbose              log each request line to stderr

Output files in --state-dir (JSON Lines, flushed after each line so tests can tail them)
  port                 the listening port, written (atomically) once listening; removed on clean exit
  requests.jsonl       one line per API / ECS / IMDS request (control requests are not logged),
                       written before the response is sent (so a client that has its response
                       finds the line) or, for a request that gets none, when it ends: time,
                       method, path, kind, service, action, entries, status, code,
                       message (errors), access_key, request_id, client_port (to see connection reuse),
                       duration_ms, body_bytes, raw_plus (count of literal '+' in the body: a client that
                       forgot to encode '+' as %2B shows up here), ignored_params (parameters AWS would
                       silently ignore: unknown names, list members after a gap), fault (injected fault)
  messages.jsonl       one line per ACCEPTED AND DELIVERED SNS message: topic, message, subject,
                       attributes {Name: {DataType, StringValue|BinaryValue}}, message_structure,
                       group_id, dedup_id, message_id, sequence_number, action, batch_entry_id,
                       request_id, access_key, received (ISO 8601, ms), received_epoch
  deduplicated.jsonl   FIFO messages accepted but not re-delivered (duplicate dedup id within 5 minutes)
  metrics.jsonl        one line per CloudWatch datum: namespace, metric, dimensions, value | values+counts |
                       statistic_values, unit, timestamp, storage_resolution, received, request_id

Control API (same port, never signed; JSON in, JSON out)
  POST /_control {...}   keys may be combined; the answer is the resulting fault settings
    "fail_rate": 0.1          fail that fraction of API requests (after authentication succeeds)
    "fail_next": N            fail the next N API requests
    "fail_status": 500        HTTP status of injected failures (default 500)
    "fail_code": "InternalError"   error code (e.g. Throttling, ServiceUnavailable, InternalFailure)
    "fail_message": "..."     error message (default depends on the code)
    "fail_mode": "error"      "error" = XML error response; "close" = drop the connection, no response;
                              "flood" = answer 200 with an endless chunked body, cut off after
                              flood_bytes (or when the client hangs up; stats: flood_bytes_sent)
    "flood_bytes": 67108864   how much a flood sends at most
    "fail_services": ["sns"]  which API services the failures apply to ("sns", "monitoring")
    "entry_fail_rate": 0.2    in PublishBatch, that fraction of otherwise-valid entries fails with
                              Code InternalError, SenderFault false (not delivered)
    "delay_ms": 200           delay every API response
    "hang": true              read API requests but never answer them until reset/"hang": false;
                              a released request is dropped (connection closed, nothing processed)
    "lose_response_next": N   process the next N API requests (messages ARE delivered) but close the
                              connection instead of answering: the "accepted, response lost" case
    "creds_fail_next": N      the next N ECS/IMDS credential fetches fail with "creds_fail_status" (500)
    "clock_offset": SECONDS   shift the server clock (signature expiry, credential expiry)
    "expire_credentials": true  every temporary credential handed out so far expires now
    "add_topic": ARN / "remove_topic": ARN
    "clear": true             truncate messages/deduplicated/metrics files, empty the FIFO dedup cache,
                              zero the stats
    "reset": true             clear all faults (and release hung requests); applied before other keys
  GET /_control            current fault settings
  GET /_messages[?topic=ARN&since=N]   messages.jsonl as a JSON array (since = skip the first N lines)
  GET /_metrics            metrics.jsonl as a JSON array
  GET /_stats              {"requests", "by_kind", "actions", "accepted_messages", "deduplicated",
                            "batch_entries_failed", "rejected": {code: n}, "faults_injected",
                            "responses_lost", "hung", "metrics_recorded",
                            "credential_fetches": {"ecs", "imds_token", "imds_role", "imds_credentials"},
                            "temporary_credentials_issued"}

What it reproduces from AWS
  * SigV4 verification: Authorization header parsed like AWS; the canonical request, string to sign
    and signing key are recomputed with botocore's SigV4Auth over exactly the headers named in
    SignedHeaders (values trimmed/collapsed, repeated headers joined with ','), the path
    double-encoded as for non-S3 services, the canonical query re-encoded, and the SHA-256 of the
    body as received (an X-Amz-Content-SHA256 header is not trusted). Errors, all HTTP 403:
      MissingAuthenticationToken  no Authorization header
      IncompleteSignature         garbled header, missing Credential/SignedHeaders/Signature, bad
                                  credential scope, no X-Amz-Date/Date, "host" (or x-amz-date, or
                                  x-amz-security-token when sent) not among SignedHeaders
      InvalidClientTokenId        unknown access key id; session token missing, wrong, or sent for a
                                  long-lived key ("The security token included in the request is invalid.")
      ExpiredToken                temporary credential past its Expiration
      SignatureDoesNotMatch       signature mismatch (the message carries the canonical request and
                                  string to sign the server expected, as AWS query services do);
                                  X-Amz-Date more than --max-skew off ("Signature expired: ..." /
                                  "Signature not yet current: ..."); scope date != X-Amz-Date date;
                                  scope service not sns/monitoring ("Credential should be scoped to
                                  correct service"); scope region != topic region or --region
                                  ("Credential should be scoped to a valid region ...")
  * Query protocol: application/x-www-form-urlencoded body (charset allowed; query-string parameters
    are merged in, as AWS does), decoded like urllib.parse.parse_qsl: '+' IS A SPACE, %2B is '+'.
    Values are stored exactly as decoded. Repeated names: the first wins. Lists (entry.N / member.N)
    are read from 1 up to the first gap; anything after a gap is ignored (and logged).
  * SNS Publish / PublishBatch validation with SNS's codes: NotFound (404, unknown topic),
    InvalidParameter (empty/too long message, subject, MessageStructure, FIFO ids, MessageGroupId on a
    standard topic), InvalidParameterValue (message attributes: names, types String/Number/Binary/
    String.Array and custom ".label" types, values, Number range/precision, String.Array JSON, at most
    10 attributes), ValidationError (missing required member), InvalidAction (other actions, wrong
    Version), EmptyBatchRequest, TooManyEntriesInBatchRequest, BatchEntryIdsNotDistinct,
    InvalidBatchEntryId, BatchRequestTooLong; per-entry failures in <Failed> with SenderFault.
    The 262144-byte limit counts the message plus attribute names, types and values.
    FIFO: MessageGroupId required, MessageDeduplicationId required unless --content-dedup, ids of at
    most 128 alphanumeric/punctuation characters, duplicates within 5 minutes answered with the
    original MessageId/SequenceNumber and not delivered again. Responses are the AWS XML documents
    (botocore's own QueryParser parses them; the self-test checks that).
  * CloudWatch PutMetricData validation (MissingParameter, InvalidParameterValue,
    InvalidParameterCombination), 1000 data per call, 30 dimensions, StandardUnit names, timestamps
    within two weeks back / two hours ahead.
  * ECS credentials JSON and IMDSv2 (token PUT with TTL 1..21600, 401 without a valid token,
    403 for any request carrying X-Forwarded-For, 404 for an unknown role). Each fetch hands out a NEW
    temporary key (ASIA..., base64 secret and session token containing '+', '/', '='), valid until
    its Expiration; the SNS/CloudWatch signature check accepts it with its session token.

What it does not reproduce
  * No delivery to subscribers, no subscriptions, filter policies, KMS, topic attributes; only
    Publish, PublishBatch and PutMetricData are implemented (others: InvalidAction).
  * TargetArn / PhoneNumber publishing, presigned (query-string) SigV4, SigV2, SigV4a, chunked
    aws-chunked payload signing are not supported (rejected).
  * Error message texts follow AWS where known but are not guaranteed word for word; AWS's model
    names InvalidParameterValueException's wire code "ParameterValueInvalid", while the service is
    observed to answer "InvalidParameterValue" -- this fake answers "InvalidParameterValue".
  * Standard topics reject MessageGroupId (AWS accepts it since the 2025 "fair queues" change).
  * Expired signatures are answered "SignatureDoesNotMatch" (as SNS does), not "RequestExpired".
  * No throttling of its own except injected faults; no request size limits beyond those above.

SIGTERM / SIGINT stop it cleanly (exit status 0).
"""

import argparse
import base64
import binascii
import datetime
import decimal
import email.utils
import hashlib
import hmac
import http.server
import json
import math
import os
import random
import re
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import uuid
from urllib.parse import parse_qsl, quote, unquote_plus, urlsplit
from xml.sax.saxutils import escape

from botocore.auth import SigV4Auth
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials
from botocore.awsrequest import AWSRequest

SNS_XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"
CW_XMLNS = "http://monitoring.amazonaws.com/doc/2010-08-01/"
SNS_VERSION = "2010-03-31"
CW_VERSION = "2010-08-01"
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"

MAX_MESSAGE_BYTES = 262144          # SNS: message + attributes, and the sum over a batch
MAX_BATCH_ENTRIES = 10
MAX_MESSAGE_ATTRIBUTES = 10
FIFO_DEDUP_WINDOW = 300.0           # seconds
MAX_BODY_BYTES = 4 * 1024 * 1024    # anything larger is refused before reading
CW_MAX_DATA = 1000
CW_MAX_DIMENSIONS = 30
CW_UNITS = frozenset([
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
    "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
    "Count/Second", "None"])

TOPIC_ARN_RE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256}(?:\.fifo)?)$")
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
BATCH_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
ATTR_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
FIFO_ID_RE = re.compile(r"^[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}$")
NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")

INVALID_TOKEN_MSG = "The security token included in the request is invalid."


class ApiError(Exception):
    """An error answered as an AWS XML ErrorResponse."""

    def __init__(self, status, code, message, sender=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.sender = status < 500 if sender is None else sender


def invalid_parameter(message):
    return ApiError(400, "InvalidParameter", "Invalid parameter: " + message)


def invalid_value(message):
    return ApiError(400, "InvalidParameterValue", message)


def iso_now(epoch=None):
    """ISO 8601 UTC with milliseconds and a Z, e.g. 2026-11-21T12:00:00.123Z."""
    dt = datetime.datetime.fromtimestamp(time.time() if epoch is None else epoch, datetime.timezone.utc)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_seconds(epoch):
    """ISO 8601 UTC to the second, the form ECS/IMDS use for Expiration."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sigv4_time(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(SIGV4_TIMESTAMP)


# --------------------------------------------------------------------------------------------
# Credentials: long-lived keys from the command line and temporary ones handed out by ECS/IMDS
# --------------------------------------------------------------------------------------------

class Credential:
    """One access key: its secret, its session token (None = long-lived key) and expiry."""

    def __init__(self, access_key, secret_key, token=None, expires=None, source="static"):
        self.access_key = access_key
        self.secret_key = secret_key
        self.token = token
        self.expires = expires      # epoch seconds or None
        self.source = source


class CredentialStore:
    """Thread-safe map access key id -> Credential; issues rotating temporary credentials."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_key = {}
        self.issued = 0

    def add(self, cred):
        with self._lock:
            self._by_key[cred.access_key] = cred

    def get(self, access_key):
        with self._lock:
            return self._by_key.get(access_key)

    def issue(self, source, ttl, now):
        """A fresh temporary credential, like STS: ASIA key, base64 secret and token."""
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
        akid = "ASIA" + "".join(secrets.choice(alphabet) for _ in range(16))
        secret = base64.b64encode(secrets.token_bytes(30)).decode()          # 40 chars, may hold + and /
        token = base64.b64encode(secrets.token_bytes(301)).decode()          # ends in '=', holds + and /
        cred = Credential(akid, secret, token, now + ttl, source)
        with self._lock:
            self._by_key[akid] = cred
            self.issued += 1
        return cred

    def expire_temporary(self, now):
        with self._lock:
            for cred in self._by_key.values():
                if cred.source != "static" and cred.token is not None:
                    cred.expires = min(cred.expires or now, now - 1)


# --------------------------------------------------------------------------------------------
# SigV4 verification
# --------------------------------------------------------------------------------------------

class _ReceivedRequestSigV4(SigV4Auth):
    """botocore's SigV4 signer applied to a request we received.

    botocore normally signs every header of an outgoing request; here the header set is exactly
    the one the client named in SignedHeaders, with the values as they arrived, and the canonical
    query string is rebuilt from the raw query (decoded, then RFC 3986 re-encoded and sorted).
    Everything else -- path normalisation and double encoding, header value trimming, payload
    hash, string to sign, signing key derivation -- is botocore's own code.
    """

    def __init__(self, secret_key, service, region, received_headers, signed_names, canonical_query):
        super().__init__(Credentials("unused", secret_key), service, region)
        self._received = received_headers
        self._signed_names = signed_names
        self._canonical_query = canonical_query

    def headers_to_sign(self, request):
        header_map = HTTPHeaders()
        for name in self._signed_names:
            for value in self._received.get_all(name) or []:
                header_map[name] = value
        return header_map

    def canonical_query_string(self, request):
        return self._canonical_query


def canonical_query_from_raw(raw_query):
    """Server-side canonical query string: decode each name/value, re-encode per SigV4, sort.

    Decoding is form decoding ('+' is a space), the same as for the parameters themselves, so a
    query built with urlencode() (spaces as '+') verifies against a signature computed over %20.
    """
    pairs = []
    for piece in raw_query.split("&") if raw_query else []:
        if not piece:
            continue
        name, _, value = piece.partition("=")
        pairs.append((quote(unquote_plus(name), safe="-_.~"), quote(unquote_plus(value), safe="-_.~")))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


class AuthInfo:
    def __init__(self, cred, service, region):
        self.cred = cred
        self.access_key = cred.access_key
        self.service = service
        self.region = region


def parse_authorization(value):
    """Split 'AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...' like AWS does."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        raise ApiError(403, "IncompleteSignature",
                       f"Unsupported AWS 'algorithm': '{algorithm}'. Authorization={value}")
    fields = {}
    for part in rest.split(","):
        key, eq, val = part.strip().partition("=")
        if eq:
            fields[key] = val
    missing = [k for k in ("Credential", "Signature", "SignedHeaders") if not fields.get(k)]
    if missing:
        raise ApiError(403, "IncompleteSignature",
                       " ".join(f"Authorization header requires '{k}' parameter." for k in missing)
                       + f" Authorization={value}")
    return fields


def authenticate(state, method, raw_path, raw_query, headers, body, now):
    """Verify the request's SigV4 signature; return AuthInfo or raise ApiError (403)."""
    authz = headers.get("Authorization")
    if authz is None:
        if "X-Amz-Signature=" in raw_query or "X-Amz-Credential=" in raw_query:
            raise ApiError(403, "IncompleteSignature",
                           "Presigned (query string) SigV4 is not supported by this fake endpoint.")
        raise ApiError(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
    fields = parse_authorization(authz)

    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not all(scope):
        raise ApiError(403, "IncompleteSignature",
                       f"Credential must have exactly 5 slash-delimited elements, e.g. "
                       f"keyid/date/region/service/term, got '{fields['Credential']}'")
    access_key, scope_date, region, service, _ = scope

    signed_names = fields["SignedHeaders"].split(";")
    if "host" not in signed_names:
        raise ApiError(403, "IncompleteSignature",
                       "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")

    # The request time: X-Amz-Date, else Date (RFC 1123); it must be signed either way.
    amz_date = headers.get("X-Amz-Date")
    if amz_date is not None:
        if "x-amz-date" not in signed_names:
            raise ApiError(403, "IncompleteSignature", "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")
        try:
            req_time = datetime.datetime.strptime(amz_date, SIGV4_TIMESTAMP).replace(
                tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            raise ApiError(403, "IncompleteSignature",
                           f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See "
                           "http://en.wikipedia.org/wiki/ISO_8601")
    elif headers.get("Date") is not None:
        if "date" not in signed_names:
            raise ApiError(403, "IncompleteSignature", "'Date' must be a 'SignedHeader' in the AWS Authorization.")
        try:
            req_time = email.utils.parsedate_to_datetime(headers.get("Date")).timestamp()
        except (TypeError, ValueError):
            raise ApiError(403, "IncompleteSignature", "Date header is not a valid RFC 1123 date.")
        amz_date = sigv4_time(req_time)
    else:
        raise ApiError(403, "IncompleteSignature",
                       "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
                       f"Authorization={authz}")

    if scope_date != amz_date[:8]:
        raise ApiError(403, "SignatureDoesNotMatch",
                       f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                       f"from HTTP: '{scope_date}' != '{amz_date[:8]}', from '{amz_date}'.")
    if service not in ("sns", "monitoring"):
        raise ApiError(403, "SignatureDoesNotMatch",
                       f"Credential should be scoped to correct service: 'sns' or 'monitoring', not '{service}'.")
    if not REGION_RE.match(region) or (state.region and region != state.region):
        raise ApiError(403, "SignatureDoesNotMatch",
                       f"Credential should be scoped to a valid region, not '{region}'.")

    cred = state.creds.get(access_key)
    if cred is None:
        raise ApiError(403, "InvalidClientTokenId", INVALID_TOKEN_MSG)
    token = headers.get("X-Amz-Security-Token")
    if token is not None and "x-amz-security-token" not in signed_names:
        raise ApiError(403, "IncompleteSignature",
                       "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.")
    if cred.token is None:
        if token is not None:
            raise ApiError(403, "InvalidClientTokenId", INVALID_TOKEN_MSG)
    elif token is None or not hmac.compare_digest(token.encode(), cred.token.encode()):
        raise ApiError(403, "InvalidClientTokenId", INVALID_TOKEN_MSG)
    if cred.expires is not None and now >= cred.expires:
        raise ApiError(403, "ExpiredToken", "The security token included in the request is expired")

    skew = state.max_skew
    if req_time < now - skew:
        raise ApiError(403, "SignatureDoesNotMatch",
                       f"Signature expired: {amz_date} is now earlier than {sigv4_time(now - skew)} "
                       f"({sigv4_time(now)} - {skew / 60:g} min.)")
    if req_time > now + skew:
        raise ApiError(403, "SignatureDoesNotMatch",
                       f"Signature not yet current: {amz_date} is still later than {sigv4_time(now + skew)} "
                       f"({sigv4_time(now)} + {skew / 60:g} min.)")

    signer = _ReceivedRequestSigV4(cred.secret_key, service, region, headers, signed_names,
                                   canonical_query_from_raw(raw_query))
    scheme = "https" if state.tls else "http"
    request = AWSRequest(method=method, url=f"{scheme}://endpoint{raw_path or '/'}", data=body)
    request.context["timestamp"] = amz_date
    canonical_request = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical_request)
    expected = signer.signature(string_to_sign, request)
    if not hmac.compare_digest(expected.encode(), fields["Signature"].encode()):
        raise ApiError(403, "SignatureDoesNotMatch",
                       "The request signature we calculated does not match the signature you provided. "
                       "Check your AWS Secret Access Key and signing method. Consult the service "
                       "documentation for details.\n\nThe Canonical String for this request should have been\n'"
                       + canonical_request + "'\n\nThe String-to-Sign should have been\n'" + string_to_sign + "'\n")
    return AuthInfo(cred, service, region)


# --------------------------------------------------------------------------------------------
# Query-protocol parameters
# --------------------------------------------------------------------------------------------

class Params:
    """Decoded query parameters; remembers which ones were read so the rest can be reported.

    sub("A.member.3") is a view of the keys under "A.member.3."; indexed("A.member") lists the
    views for A.member.1, A.member.2, ... up to the first gap (as the AWS query deserializer does).
    """

    def __init__(self, data, used=None, prefix="", prefixes=None):
        self._data = data
        self._used = used if used is not None else set()
        self._prefix = prefix
        if prefixes is None:
            prefixes = set()
            for key in data:
                parts = key.split(".")
                for i in range(1, len(parts)):
                    prefixes.add(".".join(parts[:i]) + ".")
        self._prefixes = prefixes

    def get(self, key, default=None):
        full = self._prefix + key
        if full in self._data:
            self._used.add(full)
            return self._data[full]
        return default

    def peek(self, key):
        return self._data.get(self._prefix + key)

    def present(self, key):
        full = self._prefix + key
        return full in self._data or (full + ".") in self._prefixes

    def sub(self, key):
        return Params(self._data, self._used, self._prefix + key + ".", self._prefixes)

    def indexed(self, key):
        out = []
        n = 1
        while self.present(f"{key}.{n}"):
            out.append(self.sub(f"{key}.{n}"))
            n += 1
        return out

    def indexed_values(self, key):
        out = []
        n = 1
        while self.present(f"{key}.{n}"):
            out.append(self.get(f"{key}.{n}"))
            n += 1
        return out

    def ignored(self):
        return sorted(set(self._data) - self._used)


def parse_form(body, raw_query):
    """Decode a form body (and the query string) as AWS does: '+' is a space, %XX are UTF-8."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(raw_query, keep_blank_values=True, encoding="utf-8", errors="strict")
        pairs += parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise ApiError(400, "MalformedQueryString", "The request body is not valid UTF-8 once percent-decoded.")
    data = {}
    duplicates = []
    for name, value in pairs:
        if name in data:
            duplicates.append(name)     # the first occurrence wins
        else:
            data[name] = value
    return data, duplicates


# --------------------------------------------------------------------------------------------
# SNS validation
# --------------------------------------------------------------------------------------------

class Topic:
    def __init__(self, arn):
        m = TOPIC_ARN_RE.match(arn)
        if not m:
            raise ValueError(f"not a topic ARN: {arn}")
        self.arn = arn
        self.region = m.group(2)
        self.account = m.group(3)
        self.name = m.group(4)
        self.fifo = self.name.endswith(".fifo")


def attribute_entries(p):
    """The MessageAttributes.entry.N list of a Publish (or batch entry) as (name, Params) pairs."""
    return [(e.get("Name"), e.sub("Value")) for e in p.indexed("MessageAttributes.entry")]


def payload_size(p):
    """Bytes SNS counts against the 256 KiB limit: message + attribute names, types and values."""
    size = len((p.peek("Message") or "").encode())
    for entry in p.indexed("MessageAttributes.entry"):
        for key in ("Name", "Value.DataType", "Value.StringValue"):
            size += len((entry.peek(key) or "").encode())
        binary = entry.peek("Value.BinaryValue")
        if binary:
            try:
                size += len(base64.b64decode(binary, validate=True))
            except (binascii.Error, ValueError):
                size += len(binary)
    return size


def validate_number(name, value):
    if not NUMBER_RE.match(value):
        raise invalid_value(f"Could not cast message attribute '{name}' value to number.")
    number = decimal.Decimal(value)
    if number != 0:
        digits = number.normalize().as_tuple().digits
        if len(digits) > 38:
            raise invalid_value(f"The message attribute '{name}' with type 'Number' has more than 38 digits of precision.")
        if not decimal.Decimal("1e-128") <= abs(number) <= decimal.Decimal("1e126"):
            raise invalid_value(f"The message attribute '{name}' with type 'Number' is out of range "
                                "(its magnitude must be between 10^-128 and 10^+126).")


def validate_attributes(p):
    """Validate MessageAttributes like SNS; return {name: {"DataType", "StringValue"|"BinaryValue"}}."""
    entries = attribute_entries(p)
    if len(entries) > MAX_MESSAGE_ATTRIBUTES:
        raise invalid_value(f"Number of message attributes [{len(entries)}] exceeds the allowed maximum "
                            f"[{MAX_MESSAGE_ATTRIBUTES}].")
    out = {}
    for name, value in entries:
        if not name:
            raise invalid_value("The message attribute name can not be empty.")
        if not ATTR_NAME_RE.match(name) or name.startswith(".") or name.endswith(".") or ".." in name:
            raise invalid_value(f"The message attribute name '{name}' is invalid: it may hold up to 256 "
                                "characters A-Z, a-z, 0-9, '_', '-', '.', not start or end with '.', "
                                "and not have successive periods.")
        lower = name.lower()
        if (lower.startswith("aws.") and not lower.startswith("aws.sns.")) or lower.startswith("amazon."):
            raise invalid_value(f"The message attribute name '{name}' starts with a reserved prefix "
                                "('AWS.' or 'Amazon.').")
        if name in out:
            raise invalid_value(f"The message attribute '{name}' is specified more than once.")
        data_type = value.get("DataType")
        string_value = value.get("StringValue")
        binary_value = value.get("BinaryValue")
        if not data_type:
            raise invalid_value(f"The message attribute '{name}' must contain non-empty message attribute type.")
        base, _, label = data_type.partition(".")
        if data_type == "String.Array":
            base = "String.Array"
        elif base not in ("String", "Number", "Binary") or (_ and not re.match(r"^[A-Za-z0-9_.-]+$", label)) \
                or len(data_type) > 256:
            raise invalid_value(f"The message attribute '{name}' has an invalid message attribute type, "
                                "the set of supported type prefixes is Binary, Number, and String.")
        field = "BinaryValue" if base == "Binary" else "StringValue"
        given, other = (binary_value, string_value) if base == "Binary" else (string_value, binary_value)
        if other is not None:
            raise invalid_value(f"The message attribute '{name}' with type '{data_type}' must use field "
                                f"'{field[:-5]}'.")
        if not given:
            raise invalid_value(f"The message attribute '{name}' must contain non-empty message attribute "
                                f"value for message attribute type '{data_type}'.")
        if base == "Number":
            validate_number(name, given)
        elif base == "String.Array":
            try:
                array = json.loads(given)
            except ValueError:
                array = None
            if not isinstance(array, list) or any(isinstance(v, (dict, list)) for v in array):
                raise invalid_value(f"The message attribute '{name}' with type 'String.Array' must be a JSON "
                                    "array of strings, numbers, true, false or null.")
        elif base == "Binary":
            try:
                base64.b64decode(given, validate=True)
            except (binascii.Error, ValueError):
                raise invalid_value(f"The message attribute '{name}' with type 'Binary' is not valid base64.")
        out[name] = {"DataType": data_type, field: given}
    return out


def validate_entry(state, topic, p):
    """Validate one message (a Publish, or one PublishBatch entry); return its fields or raise."""
    message = p.get("Message")
    if message is None:
        raise ApiError(400, "ValidationError", "1 validation error detected: Value null at 'message' failed "
                                               "to satisfy constraint: Member must not be null")
    if message == "":
        raise invalid_parameter("Empty message")
    if payload_size(p) > MAX_MESSAGE_BYTES:
        raise invalid_parameter("Message too long")

    subject = p.get("Subject")
    if subject is not None:
        ok = 0 < len(subject) < 100 and all(0x20 <= ord(c) <= 0x7E for c in subject) and subject[0] != " "
        if not ok:
            raise invalid_parameter("Subject")

    structure = p.get("MessageStructure")
    if structure is not None:
        if structure != "json":
            raise invalid_parameter("MessageStructure")
        try:
            doc = json.loads(message)
        except ValueError:
            raise invalid_parameter("Message Structure - JSON message body failed to parse")
        if not isinstance(doc, dict) or not isinstance(doc.get("default"), str):
            raise invalid_parameter("Message Structure - No default entry in JSON message body")

    attributes = validate_attributes(p)

    group_id = p.get("MessageGroupId")
    dedup_id = p.get("MessageDeduplicationId")
    if topic.fifo:
        if group_id is None:
            raise invalid_parameter("The MessageGroupId parameter is required for FIFO topics")
        if not FIFO_ID_RE.match(group_id):
            raise invalid_parameter("MessageGroupId Reason: MessageGroupId can only include alphanumeric "
                                    "and punctuation characters. 1 to 128 in length.")
        if dedup_id is None:
            if not state.content_dedup:
                raise invalid_parameter("The topic should either have ContentBasedDeduplication enabled "
                                        "or MessageDeduplicationId provided explicitly")
        elif not FIFO_ID_RE.match(dedup_id):
            raise invalid_parameter("MessageDeduplicationId Reason: MessageDeduplicationId can only include "
                                    "alphanumeric and punctuation characters. 1 to 128 in length.")
    else:
        if group_id is not None:
            raise invalid_parameter("MessageGroupId Reason: The request includes MessageGroupId parameter "
                                    "that is not valid for this topic type")
        if dedup_id is not None:
            raise invalid_parameter("MessageDeduplicationId Reason: The request includes "
                                    "MessageDeduplicationId parameter that is not valid for this topic type")
    return {"message": message, "subject": subject, "message_structure": structure,
            "attributes": attributes, "group_id": group_id, "dedup_id": dedup_id}


# --------------------------------------------------------------------------------------------
# Shared server state
# --------------------------------------------------------------------------------------------

FAULT_DEFAULTS = {
    "fail_rate": 0.0, "fail_next": 0, "fail_status": 500, "fail_code": "InternalError",
    "fail_message": None, "fail_mode": "error", "fail_services": ["sns"], "entry_fail_rate": 0.0,
    "flood_bytes": 64 << 20,
    "delay_ms": 0, "hang": False, "lose_response_next": 0, "creds_fail_next": 0,
    "creds_fail_status": 500, "clock_offset": 0.0,
}

DEFAULT_FAULT_MESSAGES = {
    "InternalError": "Internal Error", "InternalFailure": "The request processing has failed because of "
    "an unknown error, exception or failure.", "Throttling": "Rate exceeded",
    "ThrottlingException": "Rate exceeded", "ServiceUnavailable": "Service is unavailable",
}


def empty_stats():
    return {"requests": 0, "by_kind": {}, "actions": {}, "accepted_messages": 0, "deduplicated": 0,
            "batch_entries_failed": 0, "rejected": {}, "faults_injected": 0, "responses_lost": 0,
            "hung": 0, "metrics_recorded": 0, "flood_bytes_sent": 0,
            "credential_fetches": {"ecs": 0, "imds_token": 0, "imds_role": 0, "imds_credentials": 0}}


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.dir = args.state_dir
        self.region = args.region
        self.max_skew = args.max_skew
        self.temp_ttl = args.temp_ttl
        self.tls = bool(args.tls_cert)
        self.any_topic = args.any_topic
        self.content_dedup = args.content_dedup
        self.ecs_path = args.ecs_path
        self.ecs_auth = args.ecs_auth
        self.imds_role = args.imds_role
        self.imds_allow_v1 = args.imds_allow_v1
        self.verbose = args.verbose
        self.rng = random.Random(args.seed)
        self.topics = {}
        for arn in args.topic:
            self.topics[arn] = Topic(arn)
        first = next(iter(self.topics.values()), None)
        self.account = args.account or (first.account if first else "123456789012")
        self.home_region = args.region or (first.region if first else "us-east-1")

        self.creds = CredentialStore()
        if args.access_key or args.secret_key:
            if not (args.access_key and args.secret_key):
                raise SystemExit("--access-key and --secret-key go together")
            self.creds.add(Credential(args.access_key, args.secret_key, args.session_token))
        if args.credentials:
            with open(args.credentials) as f:
                for item in json.load(f):
                    expires = None
                    if item.get("expiration"):
                        expires = datetime.datetime.fromisoformat(
                            item["expiration"].replace("Z", "+00:00")).timestamp()
                    self.creds.add(Credential(item["access_key"], item["secret_key"],
                                              item.get("session_token"), expires))

        self.faults = dict(FAULT_DEFAULTS)
        self.unhang = threading.Event()
        self.unhang.set()
        self.stopping = threading.Event()
        self.imds_tokens = {}       # token -> expiry epoch
        self.dedup = {}             # (topic arn, dedup id) -> (expiry epoch, message id, sequence number)
        self.sequence = 0
        self.stats = empty_stats()

        os.makedirs(self.dir, exist_ok=True)
        self.files = {}
        names = ["messages", "deduplicated", "metrics"] + ([] if args.no_request_log else ["requests"])
        for name in names:
            self.files[name] = open(os.path.join(self.dir, name + ".jsonl"), "a", encoding="utf-8")

    def now(self):
        """The server clock, shifted by the clock_offset fault."""
        return time.time() + self.faults["clock_offset"]

    def write(self, name, record):
        """Append one JSON line to DIR/<name>.jsonl and flush (caller need not hold the lock)."""
        f = self.files.get(name)
        if f is None:
            return
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self.lock:
            f.write(line)
            f.flush()

    def count(self, key, sub=None, n=1):
        with self.lock:
            if sub is None:
                self.stats[key] += n
            else:
                self.stats[key][sub] = self.stats[key].get(sub, 0) + n

    def topic(self, arn):
        with self.lock:
            t = self.topics.get(arn)
        if t is None and self.any_topic:
            t = Topic(arn)
        return t

    def read_lines(self, name):
        path = os.path.join(self.dir, name + ".jsonl")
        with self.lock:
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except FileNotFoundError:
                text = ""
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def close(self):
        with self.lock:
            for f in self.files.values():
                f.close()
            self.files = {}

    # Control API ---------------------------------------------------------------------------

    def control(self, body):
        if not isinstance(body, dict):
            raise ValueError("control body must be a JSON object")
        unknown = set(body) - set(FAULT_DEFAULTS) - {"reset", "clear", "expire_credentials",
                                                     "add_topic", "remove_topic"}
        if unknown:
            raise ValueError(f"unknown control keys: {sorted(unknown)}")
        with self.lock:
            if body.get("reset"):
                self.faults = dict(FAULT_DEFAULTS)
                self.unhang.set()
            for key in FAULT_DEFAULTS:
                if key in body:
                    value = body[key]
                    if key == "fail_services":
                        value = [value] if isinstance(value, str) else list(value)
                    elif key not in ("fail_code", "fail_message", "fail_mode", "hang") and \
                            not isinstance(value, (int, float)):
                        raise ValueError(f"{key} must be a number")
                    self.faults[key] = value
            if "fail_mode" in body and body["fail_mode"] not in ("error", "close", "flood"):
                raise ValueError("fail_mode is 'error', 'close' or 'flood'")
            if "hang" in body:
                if body["hang"]:
                    self.unhang.clear()
                else:
                    self.unhang.set()
            if body.get("add_topic"):
                self.topics[body["add_topic"]] = Topic(body["add_topic"])
            if body.get("remove_topic"):
                self.topics.pop(body["remove_topic"], None)
            if body.get("clear"):
                for name in ("messages", "deduplicated", "metrics"):
                    f = self.files.get(name)
                    if f is not None:
                        f.truncate(0)
                        f.seek(0)
                self.dedup.clear()
                self.stats = empty_stats()
            faults = dict(self.faults)
        if body.get("expire_credentials"):
            self.creds.expire_temporary(self.now())
        return faults

    def take_fault(self, service):
        """Decide whether this API request gets an injected failure; return the fault or None."""
        with self.lock:
            f = self.faults
            if service not in f["fail_services"]:
                return None
            hit = False
            if f["fail_next"] > 0:
                f["fail_next"] -= 1
                hit = True
            elif f["fail_rate"] > 0 and self.rng.random() < f["fail_rate"]:
                hit = True
            if not hit:
                return None
            self.stats["faults_injected"] += 1
            return dict(f)

    def take_counter(self, key):
        """Decrement a 'next N' fault counter; True if it was positive."""
        with self.lock:
            if self.faults[key] > 0:
                self.faults[key] -= 1
                return True
            return False

    def entry_fails(self):
        with self.lock:
            rate = self.faults["entry_fail_rate"]
            return rate > 0 and self.rng.random() < rate


# --------------------------------------------------------------------------------------------
# SNS and CloudWatch actions
# --------------------------------------------------------------------------------------------

def publish_response(message_id, sequence, request_id):
    seq = f"<SequenceNumber>{sequence}</SequenceNumber>" if sequence else ""
    return (f'<PublishResponse xmlns="{SNS_XMLNS}"><PublishResult><MessageId>{message_id}</MessageId>{seq}'
            f"</PublishResult><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
            f"</PublishResponse>")


def publish_batch_response(successful, failed, request_id):
    ok = "".join(
        f"<member><Id>{escape(s['Id'])}</Id><MessageId>{s['MessageId']}</MessageId>"
        + (f"<SequenceNumber>{s['SequenceNumber']}</SequenceNumber>" if s.get("SequenceNumber") else "")
        + "</member>" for s in successful)
    bad = "".join(
        f"<member><Id>{escape(f['Id'])}</Id><Code>{escape(f['Code'])}</Code><Message>{escape(f['Message'])}"
        f"</Message><SenderFault>{'true' if f['SenderFault'] else 'false'}</SenderFault></member>"
        for f in failed)
    return (f'<PublishBatchResponse xmlns="{SNS_XMLNS}"><PublishBatchResult>'
            + (f"<Successful>{ok}</Successful>" if ok else "<Successful/>")
            + (f"<Failed>{bad}</Failed>" if bad else "<Failed/>")
            + f"</PublishBatchResult><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
            f"</PublishBatchResponse>")


def error_response(xmlns, err, request_id):
    kind = "Sender" if err.sender else "Receiver"
    return (f'<ErrorResponse xmlns="{xmlns}"><Error><Type>{kind}</Type><Code>{escape(err.code)}</Code>'
            f"<Message>{escape(err.message)}</Message></Error><RequestId>{request_id}</RequestId>"
            f"</ErrorResponse>")


def resolve_topic(state, auth, arn, missing_error):
    """TopicArn checks in AWS order: present, well-formed, scoped region, exists."""
    if arn is None:
        raise missing_error
    if not TOPIC_ARN_RE.match(arn):
        raise invalid_parameter("TopicArn")
    region = TOPIC_ARN_RE.match(arn).group(2)
    if region != auth.region:
        raise ApiError(403, "SignatureDoesNotMatch",
                       f"Credential should be scoped to a valid region, not '{auth.region}'. "
                       f"(this endpoint serves the topic's region '{region}')")
    topic = state.topic(arn)
    if topic is None:
        raise ApiError(404, "NotFound", "Topic does not exist")
    return topic


def deliver(state, topic, fields, ctx, action, batch_id=None):
    """Accept one validated message: FIFO dedup, then record it. Returns (message_id, sequence)."""
    now = time.time()
    sequence = None
    if topic.fifo:
        dedup_id = fields["dedup_id"] or hashlib.sha256(fields["message"].encode()).hexdigest()
        key = (topic.arn, dedup_id)
        with state.lock:
            hit = state.dedup.get(key)
            if hit and hit[0] > now:
                state.stats["deduplicated"] += 1
                duplicate = True
            else:
                duplicate = False
                message_id = str(uuid.uuid4())
                state.sequence += 1
                sequence = str(10000000000000000000 + state.sequence * 1000 + state.rng.randrange(1000))
                state.dedup[key] = (now + FIFO_DEDUP_WINDOW, message_id, sequence)
                if len(state.dedup) > 100000:
                    state.dedup = {k: v for k, v in state.dedup.items() if v[0] > now}
        if duplicate:
            state.write("deduplicated", {"topic": topic.arn, "dedup_id": dedup_id, "group_id": fields["group_id"],
                                         "message_id": hit[1], "message": fields["message"], "action": action,
                                         "batch_entry_id": batch_id, "request_id": ctx["request_id"],
                                         "received": iso_now(now), "received_epoch": now})
            ctx["deduplicated"] = ctx.get("deduplicated", 0) + 1
            return hit[1], hit[2]
    else:
        message_id = str(uuid.uuid4())
    record = {"topic": topic.arn, "message": fields["message"], "subject": fields["subject"],
              "attributes": fields["attributes"], "message_structure": fields["message_structure"],
              "group_id": fields["group_id"], "dedup_id": fields["dedup_id"], "message_id": message_id,
              "sequence_number": sequence, "action": action, "batch_entry_id": batch_id,
              "request_id": ctx["request_id"], "access_key": ctx.get("access_key"),
              "received": iso_now(now), "received_epoch": now}
    state.write("messages", record)
    state.count("accepted_messages")
    return message_id, sequence


def action_publish(state, auth, p, ctx):
    missing = invalid_parameter("TopicArn or TargetArn Reason: no value for required parameter")
    for unsupported in ("TargetArn", "PhoneNumber"):
        if p.get(unsupported) is not None:
            raise invalid_parameter(f"{unsupported} Reason: publishing to {unsupported} is not supported by "
                                    "this fake endpoint")
    topic = resolve_topic(state, auth, p.get("TopicArn"), missing)
    fields = validate_entry(state, topic, p)
    message_id, sequence = deliver(state, topic, fields, ctx, "Publish")
    ctx["entries"] = 1
    return publish_response(message_id, sequence, ctx["request_id"])


def action_publish_batch(state, auth, p, ctx):
    missing = ApiError(400, "ValidationError", "1 validation error detected: Value null at 'topicArn' "
                                               "failed to satisfy constraint: Member must not be null")
    topic = resolve_topic(state, auth, p.get("TopicArn"), missing)
    entries = p.indexed("PublishBatchRequestEntries.member")
    ctx["entries"] = len(entries)
    if not entries:
        raise ApiError(400, "EmptyBatchRequest", "The batch request doesn't contain any entries.")
    if len(entries) > MAX_BATCH_ENTRIES:
        raise ApiError(400, "TooManyEntriesInBatchRequest",
                       "The batch request contains more entries than permissible.")
    ids = [e.get("Id") for e in entries]
    for entry_id in ids:
        if entry_id is None or not BATCH_ID_RE.match(entry_id):
            raise ApiError(400, "InvalidBatchEntryId",
                           "A batch entry id can only contain alphanumeric characters, hyphens and "
                           "underscores. It can be at most 80 letters long.")
    if len(set(ids)) != len(ids):
        raise ApiError(400, "BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id.")
    if sum(payload_size(e) for e in entries) > MAX_MESSAGE_BYTES:
        raise ApiError(400, "BatchRequestTooLong",
                       "The length of all the messages put together is more than the limit.")

    successful, failed = [], []
    for entry_id, entry in zip(ids, entries):
        try:
            fields = validate_entry(state, topic, entry)
        except ApiError as err:
            failed.append({"Id": entry_id, "Code": err.code, "Message": err.message, "SenderFault": True})
            continue
        if state.entry_fails():
            failed.append({"Id": entry_id, "Code": "InternalError", "Message": "Internal Error",
                           "SenderFault": False})
            continue
        message_id, sequence = deliver(state, topic, fields, ctx, "PublishBatch", entry_id)
        successful.append({"Id": entry_id, "MessageId": message_id, "SequenceNumber": sequence})
    if failed:
        state.count("batch_entries_failed", n=len(failed))
        ctx["failed_entries"] = [{"Id": f["Id"], "Code": f["Code"]} for f in failed]
    return publish_batch_response(successful, failed, ctx["request_id"])


def cw_number(value, where):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise invalid_value(f"The value {value} for parameter {where} is invalid.")
    if math.isnan(number) or math.isinf(number) or \
            (number != 0 and not 8.515920e-109 <= abs(number) <= 1.174271e+108):
        raise invalid_value(f"The value {value} for parameter {where} is invalid.")
    return number


def action_put_metric_data(state, auth, p, ctx):
    namespace = p.get("Namespace")
    if namespace is None:
        raise ApiError(400, "MissingParameter", "The parameter Namespace is required.")
    if not 1 <= len(namespace) <= 255 or namespace.startswith(":") or namespace.startswith("AWS/"):
        raise invalid_value(f"The value {namespace} for parameter Namespace is invalid.")
    data = p.indexed("MetricData.member")
    if not data:
        raise ApiError(400, "MissingParameter", "The parameter MetricData is required.")
    if len(data) > CW_MAX_DATA:
        raise invalid_value(f"The collection MetricData must not have a size greater than {CW_MAX_DATA}.")
    now = state.now()
    records = []
    for i, d in enumerate(data, 1):
        where = f"MetricData.member.{i}"
        name = d.get("MetricName")
        if not name:
            raise ApiError(400, "MissingParameter", f"The parameter {where}.MetricName is required.")
        if len(name) > 255:
            raise invalid_value(f"The value for parameter {where}.MetricName is longer than 255 characters.")
        dims = {}
        dim_entries = d.indexed("Dimensions.member")
        if len(dim_entries) > CW_MAX_DIMENSIONS:
            raise invalid_value(f"The collection {where}.Dimensions must not have a size greater than "
                                f"{CW_MAX_DIMENSIONS}.")
        for j, dim in enumerate(dim_entries, 1):
            dname, dvalue = dim.get("Name"), dim.get("Value")
            if not dname:
                raise ApiError(400, "MissingParameter", f"The parameter {where}.Dimensions.member.{j}.Name is required.")
            if not dvalue:
                raise ApiError(400, "MissingParameter", f"The parameter {where}.Dimensions.member.{j}.Value is required.")
            if len(dname) > 255 or len(dvalue) > 1024:
                raise invalid_value(f"The value for parameter {where}.Dimensions.member.{j} is too long.")
            if dname in dims:
                raise invalid_value(f"No metric may have duplicate dimension names ({where}: '{dname}').")
            dims[dname] = dvalue
        record = {"namespace": namespace, "metric": name, "dimensions": dims}
        has_value = d.get("Value") is not None
        has_stats = d.present("StatisticValues")
        has_values = d.present("Values.member")
        if has_value + has_stats + has_values > 1:
            raise ApiError(400, "InvalidParameterCombination",
                           f"The parameters {where}.Value, {where}.StatisticValues and {where}.Values are "
                           "mutually exclusive and you have specified more than one.")
        if has_value:
            record["value"] = cw_number(d.get("Value"), f"{where}.Value")
        elif has_stats:
            stats = {}
            for key in ("SampleCount", "Sum", "Minimum", "Maximum"):
                raw = d.get("StatisticValues." + key)
                if raw is None:
                    raise ApiError(400, "MissingParameter", f"The parameter {where}.StatisticValues.{key} is required.")
                stats[key] = cw_number(raw, f"{where}.StatisticValues.{key}")
            record["statistic_values"] = stats
        elif has_values:
            values = [cw_number(v, f"{where}.Values") for v in d.indexed_values("Values.member")]
            counts = [cw_number(v, f"{where}.Counts") for v in d.indexed_values("Counts.member")]
            if counts and len(counts) != len(values):
                raise invalid_value(f"The parameters {where}.Values and {where}.Counts must be of the same size.")
            record["values"] = values
            record["counts"] = counts or None
        else:
            raise ApiError(400, "MissingParameter", f"The parameter {where}.Value, {where}.StatisticValues or "
                                                    f"{where}.Values is required.")
        unit = d.get("Unit")
        if unit is not None and unit not in CW_UNITS:
            raise invalid_value(f"The value {unit} for parameter {where}.Unit is invalid.")
        record["unit"] = unit
        stamp = d.get("Timestamp")
        if stamp is not None:
            try:
                ts = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
                if ts.tzinfo is None:
                    ts = ts.replace(tzinfo=datetime.timezone.utc)
            except ValueError:
                raise invalid_value(f"The value {stamp} for parameter {where}.Timestamp is invalid.")
            if ts.timestamp() > now + 2 * 3600:
                raise invalid_value(f"The parameter {where}.Timestamp must specify a time no more than two "
                                    "hours in the future.")
            if ts.timestamp() < now - 14 * 86400:
                raise invalid_value(f"The parameter {where}.Timestamp must specify a time within the past "
                                    "two weeks.")
        record["timestamp"] = stamp
        resolution = d.get("StorageResolution")
        if resolution is not None and resolution not in ("1", "60"):
            raise invalid_value(f"The value {resolution} for parameter {where}.StorageResolution is invalid.")
        record["storage_resolution"] = int(resolution) if resolution else None
        records.append(record)
    received = time.time()
    for record in records:
        record.update(received=iso_now(received), request_id=ctx["request_id"], access_key=auth.access_key)
        state.write("metrics", record)
    state.count("metrics_recorded", n=len(records))
    ctx["entries"] = len(records)
    return (f'<PutMetricDataResponse xmlns="{CW_XMLNS}"><ResponseMetadata><RequestId>{ctx["request_id"]}'
            f"</RequestId></ResponseMetadata></PutMetricDataResponse>")


ACTIONS = {
    "sns": (SNS_VERSION, SNS_XMLNS, {"Publish": action_publish, "PublishBatch": action_publish_batch}),
    "monitoring": (CW_VERSION, CW_XMLNS, {"PutMetricData": action_put_metric_data}),
}


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------

class DropConnection(Exception):
    """Close the connection without writing any response."""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pg_vigil-fake-aws/1.0"
    timeout = 300                   # idle keep-alive connections are closed after this

    @property
    def state(self):
        return self.server.state

    def log_message(self, fmt, *args):
        if self.state.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    # Plumbing -------------------------------------------------------------------------------

    def read_body(self):
        """The request body (Content-Length or chunked); raises DropConnection if unreadable."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise DropConnection()
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    self.send_plain(413, "request body too large\n", close=True)
                    raise DropConnection()
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
        length = self.headers.get("Content-Length")
        if length is None:
            if self.command in ("POST", "PUT"):
                self.send_plain(411, "Content-Length required\n", close=True)
                raise DropConnection()
            return b""
        try:
            length = int(length)
        except ValueError:
            self.send_plain(400, "bad Content-Length\n", close=True)
            raise DropConnection()
        if length > MAX_BODY_BYTES:
            self.send_plain(413, "request body too large\n", close=True)
            raise DropConnection()
        return self.rfile.read(length) if length else b""

    def send_bytes(self, status, body, content_type, headers=None, close=False):
        self.close_record(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_flood(self, limit):
        """A 200 whose chunked body never ends: chunks of XML-ish filler until limit bytes are sent
        or the client hangs up (a client must cap what it reads)."""
        state = self.server.state
        self.close_record(200)
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = b"<Filler>" + b"x" * (65536 - 19) + b"</Filler>\n"
        sent = 0
        try:
            while sent < limit:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with state.lock:
                state.stats["flood_bytes_sent"] += sent

    def send_plain(self, status, text, headers=None, close=False):
        self.send_bytes(status, text.encode(), "text/plain", headers, close)

    def send_json(self, status, obj):
        self.send_bytes(status, (json.dumps(obj, indent=None) + "\n").encode(), "application/json")

    def open_record(self, record, started, on_close):
        """Start the current request's requests.jsonl line; on_close(record) runs just before it is
        written, by close_record."""
        self.record, self.record_started, self.record_on_close = record, started, on_close

    def close_record(self, status=None):
        """Write the current request's line, once: before its response goes out (send_bytes), or
        when the request ends without one."""
        record, self.record = self.record, None
        if record is None:
            return
        if status is not None:
            record.setdefault("status", status)
        self.record_on_close(record)
        record["duration_ms"] = round((time.monotonic() - self.record_started) * 1000, 3)
        self.log_request_record(record)

    def log_request_record(self, record):
        record.setdefault("time", iso_now())
        record.setdefault("method", self.command)
        record.setdefault("path", self.path)
        record["client_port"] = self.client_address[1] if len(self.client_address) > 1 else None
        self.state.write("requests", record)

    def dispatch(self):
        started = time.monotonic()
        split = urlsplit(self.path)
        path, query = split.path, split.query
        self.record = None
        try:
            body = self.read_body()
            if path in ("/_control", "/_messages", "/_metrics", "/_stats"):
                self.handle_control(path, query, body)
                self.state.count("by_kind", "control")
            elif path == self.state.ecs_path:
                self.open_record({"kind": "ecs"}, started, lambda r: self.state.count("by_kind", "ecs"))
                self.close_record(self.handle_ecs())
            elif path.startswith("/latest/"):
                self.open_record({"kind": "imds"}, started, lambda r: self.state.count("by_kind", "imds"))
                self.close_record(self.handle_imds(path))
            else:
                self.handle_api(path, query, body, started)
        except DropConnection:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # Control API ----------------------------------------------------------------------------

    def handle_control(self, path, query, body):
        state = self.state
        if path == "/_control":
            if self.command == "GET":
                with state.lock:
                    faults = dict(state.faults)
                self.send_json(200, faults)
                return 200
            if self.command != "POST":
                self.send_plain(405, "use POST\n")
                return 405
            try:
                faults = state.control(json.loads(body or b"{}"))
            except (ValueError, TypeError) as err:
                self.send_json(400, {"error": str(err)})
                return 400
            self.send_json(200, faults)
            return 200
        if self.command != "GET":
            self.send_plain(405, "use GET\n")
            return 405
        if path == "/_stats":
            with state.lock:
                stats = json.loads(json.dumps(state.stats))
            stats["temporary_credentials_issued"] = state.creds.issued
            self.send_json(200, stats)
        else:
            params = dict(parse_qsl(query))
            rows = state.read_lines("messages" if path == "/_messages" else "metrics")
            since = params.get("since", "0")
            rows = rows[int(since) if since.isdigit() else 0:]
            if "topic" in params:
                rows = [r for r in rows if r.get("topic") == params["topic"]]
            self.send_json(200, rows)
        return 200

    # Credential sources ---------------------------------------------------------------------

    def creds_document(self, source):
        state = self.state
        cred = state.creds.issue(source, state.temp_ttl, state.now())
        return cred, {"AccessKeyId": cred.access_key, "SecretAccessKey": cred.secret_key,
                      "Token": cred.token, "Expiration": iso_seconds(cred.expires)}

    def handle_ecs(self):
        state = self.state
        if self.command != "GET":
            self.send_plain(405, "Method Not Allowed\n")
            return 405
        if state.ecs_auth is not None and self.headers.get("Authorization") != state.ecs_auth:
            self.send_json(401, {"message": "Unauthorized: bad or missing Authorization header"})
            return 401
        state.count("credential_fetches", "ecs")
        if state.take_counter("creds_fail_next"):
            status = state.faults["creds_fail_status"]
            self.send_json(status, {"message": "injected credentials failure"})
            return status
        _, doc = self.creds_document("ecs")
        doc["RoleArn"] = f"arn:aws:iam::{state.account}:role/{state.imds_role}"
        self.send_json(200, doc)
        return 200

    def handle_imds(self, path):
        state = self.state
        if self.headers.get("X-Forwarded-For") is not None:
            self.send_plain(403, "Forbidden\n")
            return 403
        now = state.now()
        if path == "/latest/api/token":
            if self.command != "PUT":
                self.send_plain(405, "Method Not Allowed\n")
                return 405
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            if ttl is None or not ttl.strip().isdigit() or not 1 <= int(ttl) <= 21600:
                self.send_plain(400, "Bad Request\n")
                return 400
            state.count("credential_fetches", "imds_token")
            token = base64.b64encode(secrets.token_bytes(42)).decode()
            with state.lock:
                state.imds_tokens = {t: e for t, e in state.imds_tokens.items() if e > now}
                state.imds_tokens[token] = now + int(ttl)
            self.send_plain(200, token, {"X-aws-ec2-metadata-token-ttl-seconds": str(int(ttl))})
            return 200
        if self.command != "GET":
            self.send_plain(405, "Method Not Allowed\n")
            return 405
        token = self.headers.get("X-aws-ec2-metadata-token")
        if token is None:
            valid = state.imds_allow_v1
        else:
            with state.lock:
                valid = state.imds_tokens.get(token, 0) > now
        if not valid:
            self.send_plain(401, "Unauthorized\n")
            return 401
        role = state.imds_role
        prefix = "/latest/meta-data/iam/security-credentials"
        if path in (prefix, prefix + "/"):
            state.count("credential_fetches", "imds_role")
            self.send_plain(200, role)
            return 200
        if path.startswith(prefix + "/"):
            if path[len(prefix) + 1:] != role:
                self.send_plain(404, "Not Found\n")
                return 404
            state.count("credential_fetches", "imds_credentials")
            if state.take_counter("creds_fail_next"):
                status = state.faults["creds_fail_status"]
                self.send_plain(status, "injected credentials failure\n")
                return status
            _, doc = self.creds_document("imds")
            doc = {"Code": "Success", "LastUpdated": iso_seconds(time.time()), "Type": "AWS-HMAC", **doc}
            self.send_json(200, doc)
            return 200
        simple = {
            "/latest/meta-data/placement/region": state.home_region,
            "/latest/meta-data/placement/availability-zone": state.home_region + "a",
            "/latest/meta-data/iam/info": json.dumps({
                "Code": "Success", "LastUpdated": iso_seconds(time.time()),
                "InstanceProfileArn": f"arn:aws:iam::{state.account}:instance-profile/{role}",
                "InstanceProfileId": "AIPAFAKEFAKEFAKEFAKE"}),
            "/latest/dynamic/instance-identity/document": json.dumps({
                "accountId": state.account, "region": state.home_region,
                "availabilityZone": state.home_region + "a", "instanceId": "i-0fake0fake0fake00",
                "instanceType": "m5.large", "architecture": "x86_64"}),
        }
        if path in simple:
            self.send_plain(200, simple[path])
            return 200
        self.send_plain(404, "Not Found\n")
        return 404

    # AWS APIs -------------------------------------------------------------------------------

    def handle_api(self, path, query, body, started):
        state = self.state
        request_id = str(uuid.uuid4())
        ctx = {"kind": "api", "request_id": request_id, "body_bytes": len(body), "raw_plus": body.count(b"+")}
        xmlns = SNS_XMLNS

        def counted(record):
            state.count("requests")
            state.count("by_kind", record.get("service", "api"))
        self.open_record(ctx, started, counted)
        try:
            # Errors before authentication are worded for the service the client meant.
            scope = re.search(r"Credential=[^/]*/[^/]*/[^/]*/([^/]*)/", self.headers.get("Authorization") or "")
            if (scope and scope.group(1) == "monitoring") or b"Version=2010-08-01" in body:
                xmlns = CW_XMLNS

            # Faults that act before anything is looked at.
            if not state.unhang.is_set():
                state.count("hung")
                ctx["fault"] = "hang"
                while not state.unhang.wait(0.2):
                    if state.stopping.is_set():
                        break
                raise DropConnection()
            delay = state.faults["delay_ms"]
            if delay:
                time.sleep(delay / 1000.0)

            auth = authenticate(state, self.command, path, query, self.headers, body, state.now())
            ctx["access_key"] = auth.access_key
            ctx["service"] = auth.service
            version, xmlns, actions = ACTIONS[auth.service]

            fault = state.take_fault(auth.service)
            if fault:
                ctx["fault"] = fault["fail_code"] if fault["fail_mode"] == "error" else fault["fail_mode"]
                if fault["fail_mode"] == "close":
                    raise DropConnection()
                if fault["fail_mode"] == "flood":
                    self.send_flood(int(fault["flood_bytes"]))
                    raise DropConnection()
                code = fault["fail_code"]
                raise ApiError(int(fault["fail_status"]), code,
                               fault["fail_message"] or DEFAULT_FAULT_MESSAGES.get(code, "Injected fault"))

            if self.command == "POST" and body:
                ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                if ctype != "application/x-www-form-urlencoded":
                    raise ApiError(400, "MissingAction",
                                   f"Content-Type must be application/x-www-form-urlencoded, got "
                                   f"'{self.headers.get('Content-Type')}': the body was not read as parameters.")
            data, duplicates = parse_form(body, query)
            if duplicates:
                ctx["duplicate_params"] = duplicates
            p = Params(data)
            action = p.get("Action")
            given_version = p.get("Version")
            ctx["action"] = action
            if not action:
                raise ApiError(400, "MissingAction", "Missing Action")
            if given_version != version or action not in actions:
                raise ApiError(400, "InvalidAction",
                               f"Could not find operation {action} for version {given_version or 'NO_VERSION_SPECIFIED'}")
            state.count("actions", action)
            try:
                xml = actions[action](state, auth, p, ctx)
            finally:
                ignored = p.ignored()
                if ignored:
                    ctx["ignored_params"] = ignored

            if state.take_counter("lose_response_next"):
                state.count("responses_lost")
                ctx["fault"] = "lose_response"
                ctx["status"] = 200
                raise DropConnection()
            self.send_bytes(200, xml.encode(), "text/xml", {"x-amzn-RequestId": request_id})
        except ApiError as err:
            state.count("rejected", err.code)
            ctx.update(status=err.status, code=err.code, message=err.message[:2000])
            try:
                self.send_bytes(err.status, error_response(xmlns, err, request_id).encode(), "text/xml",
                                {"x-amzn-RequestId": request_id})
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
        except DropConnection:
            self.close_connection = True
            ctx.setdefault("status", None)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:                                   # a bug here: answer 500, keep serving
            traceback.print_exc()
            ctx.update(status=500, code="InternalFailure")
            err = ApiError(500, "InternalFailure", "fake endpoint bug; see its stderr")
            try:
                self.send_bytes(500, error_response(xmlns, err, request_id).encode(), "text/xml", close=True)
            except OSError:
                self.close_connection = True
        finally:
            self.close_record()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False          # SIGTERM must not wait for idle keep-alive or hung connections
    request_queue_size = 1024

    def __init__(self, address, state, tls_context):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.state = state
        self.tls_context = tls_context
        super().__init__(address, Handler)

    def finish_request(self, request, client_address):
        """Runs in the connection's thread: do the TLS handshake here, not in accept()."""
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls_context is not None:
            request.settimeout(10)
            try:
                request = self.tls_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
            request.settimeout(None)
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        if self.state.verbose:
            super().handle_error(request, client_address)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Loopback fake of AWS SNS/CloudWatch/ECS/IMDS for pg_vigil tests "
                                             "(see the module docstring).")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=4566)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--access-key")
    ap.add_argument("--secret-key")
    ap.add_argument("--session-token")
    ap.add_argument("--credentials")
    ap.add_argument("--topic", action="append", default=[])
    ap.add_argument("--any-topic", action="store_true")
    ap.add_argument("--content-dedup", action="store_true")
    ap.add_argument("--region")
    ap.add_argument("--max-skew", type=float, default=300.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--temp-ttl", type=float, default=3600.0)
    ap.add_argument("--ecs-path", default="/ecs/creds")
    ap.add_argument("--ecs-auth")
    ap.add_argument("--imds-role", default="vigil-notifier")
    ap.add_argument("--imds-allow-v1", action="store_true")
    ap.add_argument("--account")
    ap.add_argument("--no-request-log", action="store_true")
    ap.add_argument("--processes", type=int, default=1,
                    help="serve from this many processes sharing the port (benchmarks only: each process "
                         "keeps its own control state, fault injection and counters; the .jsonl files, "
                         "opened for append, are shared)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    for arn in args.topic:
        if not TOPIC_ARN_RE.match(arn):
            ap.error(f"--topic {arn}: not a topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")

    state = State(args)
    tls_context = None
    if args.tls_cert:
        tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)

    port_file = os.path.join(args.state_dir, "port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    server = Server((args.host, args.port), state, tls_context)
    port = server.server_address[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(f"{port}\n")
    os.replace(port_file + ".tmp", port_file)

    # Python serves on one core at a time: extra processes accept on the
    # same listening socket, so a benchmark can load the notifier harder
    # than one process could.
    children = []
    for _ in range(max(args.processes, 1) - 1):
        pid = os.fork()
        if pid == 0:
            children = None
            break
        children.append(pid)

    def stop(signum, frame):
        state.stopping.set()
        state.unhang.set()
        for pid in children or []:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if children is None:
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            os._exit(0)
    scheme = "https" if tls_context else "http"
    print(f"fake AWS endpoint listening on {scheme}://{args.host}:{port} (state in {args.state_dir})",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        for pid in children:
            os.waitpid(pid, 0)
        server.server_close()
        state.close()
        try:
            os.unlink(port_file)
        except FileNotFoundError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
