#!/usr/bin/env python3
"""Compute AWS SigV4 test vectors with botocore for test/unit/notify/test_sigv4.c.

Usage: python3 test/unit/notify/sigv4_vectors.py > vectors.txt
       test/unit/bin/test_sigv4 vectors.txt   (or VIGIL_SIGV4_VECTORS=...)

Needs only the standard library and botocore (Debian: python3-botocore).
Each request is signed by botocore.auth.SigV4Auth with the clock frozen at
the vector's time, and the script checks botocore signed exactly the headers
the C code signs before printing anything.

Output format, read by test_sigv4.c: records of "key=value" lines separated
by a blank line; lines starting with '#' are comments.  A value is the rest
of the line after the first '=', taken literally (no trimming); keys ending
in "_hex" hold bytes as lowercase hex, so any byte survives; a "form" line,
which may repeat, is "<name hex> <value hex>".  A record's "kind" is "sign"
(a signed request) or "url" (an endpoint URL and the Host header botocore
derives from it).  The C test requires the vectors named in REQUIRED there,
so a truncated or stale file fails instead of silently testing less.
"""

import contextlib
import datetime
import hashlib
import sys
import types
from unittest import mock
from urllib.parse import quote, urlsplit

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

FORM = 'application/x-www-form-urlencoded; charset=utf-8'

# 2026-11-21T12:34:56Z
T_NOV = 1795264496


def encode(s):
    """RFC 3986 percent-encoding of a str's UTF-8 bytes, as the C code does."""
    return quote(s, safe='-_.~')


def form_body(pairs):
    return '&'.join(encode(n) + '=' + encode(v) for n, v in pairs)


def frozen_datetime(t):
    """A datetime.datetime whose "now" is always the epoch time t (UTC)."""
    fixed = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)

    class Frozen(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return fixed.replace(tzinfo=None)

        @classmethod
        def now(cls, tz=None):
            return fixed if tz is None else fixed.astimezone(tz)

    return Frozen


@contextlib.contextmanager
def frozen_clock(t):
    """Make botocore.auth's clock read the epoch time t.

    Debian 12's botocore (1.29) calls datetime.datetime.utcnow() in
    botocore.auth; newer ones call botocore.compat.get_current_datetime(),
    imported into botocore.auth.  Only botocore.auth's own references are
    replaced, whichever exist, so nothing else sees a frozen clock.
    """
    frozen = frozen_datetime(t)
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(
            botocore.auth, 'datetime',
            types.SimpleNamespace(datetime=frozen,
                                  timezone=datetime.timezone)))
        if hasattr(botocore.auth, 'get_current_datetime'):
            stack.enter_context(mock.patch.object(
                botocore.auth, 'get_current_datetime',
                lambda remove_tzinfo=True: (
                    frozen.utcnow() if remove_tzinfo
                    else frozen.now(datetime.timezone.utc))))
        yield


class CapturingSigV4Auth(botocore.auth.SigV4Auth):
    """SigV4Auth remembering its canonical request and string to sign."""

    def canonical_request(self, request):
        self.captured_cr = super().canonical_request(request)
        return self.captured_cr

    def string_to_sign(self, request, canonical_request):
        self.captured_sts = super().string_to_sign(request, canonical_request)
        return self.captured_sts


def literal(value):
    if '\n' in value or '\r' in value:
        raise ValueError('literal field with a line break: %r' % value)
    return value


def sign_vector(name, url, region, service, pairs=None, body=b'',
                content_type=FORM, query='', token=None, t=T_NOV,
                method='POST', akid='AKIDEXAMPLE',
                secret='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'):
    if pairs is not None:
        body = form_body(pairs).encode('ascii')
    full_url = url + ('?' + query if query else '')
    headers = {}
    if content_type is not None:
        headers['Content-Type'] = content_type
    request = AWSRequest(method=method, url=full_url, headers=headers,
                         data=body)
    signer = CapturingSigV4Auth(Credentials(akid, secret, token),
                                service, region)
    with frozen_clock(t):
        signer.add_auth(request)

    # The C code signs content-type (when given), host, x-amz-date and
    # x-amz-security-token (when given): botocore must have done the same.
    want = (['content-type'] if content_type else []) + ['host', 'x-amz-date']
    if token:
        want.append('x-amz-security-token')
    auth = request.headers['Authorization']
    signed = auth.split('SignedHeaders=')[1].split(',')[0]
    if signed != ';'.join(want):
        raise AssertionError('%s: botocore signed %s' % (name, signed))
    amz_date = request.headers['X-Amz-Date']
    if amz_date != datetime.datetime.fromtimestamp(
            t, datetime.timezone.utc).strftime('%Y%m%dT%H%M%SZ'):
        raise AssertionError('%s: clock not frozen: %s' % (name, amz_date))
    if token and request.headers['X-Amz-Security-Token'] != token:
        raise AssertionError('%s: token header missing' % name)

    lines = [
        'kind=sign',
        'name=' + literal(name),
        'method=' + method,
        'url=' + literal(url),
        'host=' + literal(botocore.auth._host_from_url(url)),
        'path=' + literal(urlsplit(url).path),
        'query=' + literal(query),
        'content_type=' + literal(content_type or ''),
    ]
    for n, v in pairs or []:
        lines.append('form=%s %s' % (n.encode().hex(), v.encode().hex()))
    lines += [
        'body_hex=' + body.hex(),
        'region=' + region,
        'service=' + service,
        'access_key=' + literal(akid),
        'secret_key=' + literal(secret),
        'token=' + literal(token or ''),
        'time=%d' % t,
        'x_amz_date=' + amz_date,
        'payload_hash=' + hashlib.sha256(body).hexdigest(),
        'signed_headers=' + signed,
        'signature=' + auth.split('Signature=')[1],
        'authorization=' + literal(auth),
        'canonical_request_hex=' + signer.captured_cr.encode().hex(),
        'string_to_sign_hex=' + signer.captured_sts.encode().hex(),
    ]
    return lines


def url_vector(url):
    path = urlsplit(url).path or '/'
    return ['kind=url', 'url=' + literal(url),
            'host=' + literal(botocore.auth._host_from_url(url)),
            'path=' + literal(path)]


TOKEN = ('IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+example'
         '/token+with/slashes+and+plus==')
TOPIC_US = 'arn:aws:sns:us-east-1:123456789012:vigil-alerts'
TOPIC_EU = 'arn:aws:sns:eu-west-1:123456789012:vigil-alerts.fifo'


def vectors():
    publish = [('Action', 'Publish'), ('TopicArn', TOPIC_US),
               ('Message', 'hello'), ('Version', '2010-03-31')]
    yield sign_vector('no-token', 'https://sns.us-east-1.amazonaws.com/',
                      'us-east-1', 'sns', publish)
    yield sign_vector('session-token', 'https://sns.us-east-1.amazonaws.com/',
                      'us-east-1', 'sns', publish, token=TOKEN,
                      akid='ASIAEXAMPLEEXAMPLE12')
    yield sign_vector('port-4566', 'http://127.0.0.1:4566/', 'us-east-1',
                      'sns', publish, akid='test', secret='test')
    yield sign_vector('form-unicode', 'https://sns.eu-west-1.amazonaws.com/',
                      'eu-west-1', 'sns', [
                          ('Action', 'PublishBatch'),
                          ('TopicArn', TOPIC_EU),
                          ('PublishBatchRequestEntries.member.1.Id', 'a-1'),
                          ('PublishBatchRequestEntries.member.1.Message',
                           '{"amount": "1+1=2 & more", "city": "Zürich",'
                           ' "note": "café € 100% ~ok* /path\ttab\nline"}'),
                          ('PublishBatchRequestEntries.member.1.Subject',
                           'a=b&c=d e+f'),
                          ('PublishBatchRequestEntries.member.1.'
                           'MessageGroupId', 'card 42'),
                          ('Version', '2010-03-31')])
    yield sign_vector('query-sorting', 'https://sns.us-east-1.amazonaws.com/',
                      'us-east-1', 'sns', content_type=None, method='GET',
                      query='Version=2010-03-31&Action=ListTopics&b=2&b=1'
                            '&a-b=x&a=&flag&NextToken=ab%2Bc%3D%3D&Z=~%2F%20')
    yield sign_vector('monitoring-eu-west-1',
                      'https://monitoring.eu-west-1.amazonaws.com',
                      'eu-west-1', 'monitoring', [
                          ('Action', 'PutMetricData'),
                          ('Namespace', 'pg_vigil'),
                          ('MetricData.member.1.MetricName', 'AlertsSent'),
                          ('MetricData.member.1.Value', '12.5'),
                          ('MetricData.member.1.Unit', 'Count'),
                          ('Version', '2010-08-01')], token=TOKEN)
    yield sign_vector('empty-body', 'https://sns.us-east-1.amazonaws.com/',
                      'us-east-1', 'sns', body=b'')
    yield sign_vector('explicit-default-port',
                      'https://sns.eu-west-1.amazonaws.com:443/',
                      'eu-west-1', 'sns', publish)
    yield sign_vector('odd-path-and-case',
                      'http://LocalHost:8080/a//b/./c/../d%20e/\u00e9/',
                      'us-east-1', 'sns', publish,
                      content_type='  application/x-www-form-urlencoded;'
                                   '   charset=utf-8 ')
    yield sign_vector('ipv6-literal', 'http://[::1]:4566/', 'us-east-1',
                      'sns', publish, akid='test', secret='test')
    yield sign_vector('leap-day', 'https://sns.us-east-1.amazonaws.com/',
                      'us-east-1', 'sns', publish, t=1709251199)
    yield sign_vector('last-second-1999',
                      'https://sns.eu-west-1.amazonaws.com/', 'eu-west-1',
                      'sns', publish, token=TOKEN, t=946684799)

    for url in ['https://sns.eu-west-1.amazonaws.com',
                'https://sns.eu-west-1.amazonaws.com:443/',
                'https://sns.eu-west-1.amazonaws.com:80/',
                'http://127.0.0.1:4566/',
                'http://127.0.0.1:80/x/y',
                'http://localhost',
                'HTTPS://SNS.US-EAST-1.AmazonAWS.com/',
                'http://[::1]:4566/',
                'http://[::1]/',
                'https://[2001:DB8::1]:443/topic',
                'http://sns.local:08080/']:
        yield url_vector(url)


def main():
    out = sys.stdout
    out.write('# AWS SigV4 vectors computed by botocore %s\n'
              % botocore.__version__)
    for i, lines in enumerate(vectors()):
        if i > 0:
            out.write('\n')
        out.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
