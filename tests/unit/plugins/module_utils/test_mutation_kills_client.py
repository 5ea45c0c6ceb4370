# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants of client.py that survived `make mutation` (docs/mutation.md)."""

import errno
import json

import pytest
import requests
import urllib3
from ansible_collections.vsp.encryption.plugins.module_utils import _client as client
from ansible_collections.vsp.encryption.plugins.module_utils._client import VspClient
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from conftest import TOKEN, SeqClock, connection_args


def response(status, body=b'', content_type=None, headers=None):
    answer = requests.Response()
    answer.status_code = status
    answer._content = body
    if content_type:
        answer.headers['Content-Type'] = content_type
    answer.headers.update(headers or {})
    return answer


@pytest.mark.parametrize('status, hint', [
    (401, ' (user name or password rejected, or the session expired)'),
    (403, ' (the user lacks the role this operation needs)'),
    (404, ''),
    (402, ''),
])
def test_http_error_summary_names_401_and_403_only(status, hint):
    exc = VspClient._http_error('GET', '/v1/x', response(status, b'{}', 'application/json'))
    assert exc.msg == 'GET /v1/x failed with HTTP %d%s' % (status, hint)
    assert (exc.status, exc.method, exc.path) == (status, 'GET', '/v1/x')


def test_http_error_names_a_non_json_answer_type_capped():
    exc = VspClient._http_error('POST', '/v1/y', response(500, b'<html>', 'text/' + 'h' * 100))
    assert exc.msg == 'POST /v1/y failed with HTTP 500 (answer of type %s...)' % ('text/' + 'h' * 75)
    exc = VspClient._http_error('POST', '/v1/y', response(401, b'<html>', 'text/html'))
    assert exc.msg.endswith('(user name or password rejected, or the session expired) (answer of type text/html)')


def test_http_error_reads_json_without_content_type_and_ignores_json_of_another_type():
    body = json.dumps({'messageId': 'KART1-E', 'message': 'm'}).encode()
    exc = VspClient._http_error('GET', '/v1/z', response(400, body))
    assert exc.message_id == 'KART1-E'
    assert exc.msg == 'GET /v1/z failed with HTTP 400'
    exc = VspClient._http_error('GET', '/v1/z', response(400, body, 'text/plain'))
    assert exc.message_id is None
    assert exc.msg.endswith('(answer of type text/plain)')


def test_http_error_keeps_a_given_summary():
    exc = VspClient._http_error('GET', '/v1/z', response(401, b'x', 'text/plain'), 'login failed')
    assert exc.msg == 'login failed'


@pytest.mark.parametrize('value, expected', [('0', 0.0), ('0.5', 0.5), ('-3', 0.0), ('500', client.RETRY_AFTER_CAP), ('soon', None)])
def test_retry_after_is_clamped(value, expected):
    assert VspClient._retry_after(response(503, headers={'Retry-After': value})) == expected


def test_retry_after_absent():
    assert VspClient._retry_after(response(503)) is None


@pytest.mark.parametrize('text, expected', [
    ('[Errno %d] whatever' % errno.ECONNREFUSED, 'connection refused'),
    ('Connection refused', 'connection refused'),
    ('nodename nor servname provided', 'host name could not be resolved'),
    ('Temporary failure in name resolution', 'host name could not be resolved'),
    ('getaddrinfo failed', 'host name could not be resolved'),
    ('Name or service not known', 'host name could not be resolved'),
    ('Connection reset by peer', 'connection reset by peer'),
    ('RemoteDisconnected(...)', 'connection closed by the server'),
    ('Connection aborted.', 'connection closed by the server'),
    ('Server closed connection', 'connection closed by the server'),
    ('something else', 'connection error (ConnectionError)'),
])
def test_connection_error_names(text, expected):
    assert client._describe_connection_error(requests.exceptions.ConnectionError(text)) == expected


def test_connect_timeout_and_unknown_errors():
    assert client._describe_connection_error(requests.exceptions.ConnectTimeout('x')) == 'connection timed out'
    assert client._describe_connection_error(requests.exceptions.ReadTimeout('x')) == 'connection error (ReadTimeout)'


def test_not_sent_only_when_the_request_cannot_have_reached_the_array():
    assert client._not_sent(requests.exceptions.ConnectTimeout('x'), 'connection timed out')
    wrapped = urllib3.exceptions.MaxRetryError(None, '/x', urllib3.exceptions.NewConnectionError(None, 'refused'))
    assert client._not_sent(requests.exceptions.ConnectionError(wrapped), 'connection error (ConnectionError)')
    assert client._not_sent(requests.exceptions.ConnectionError(urllib3.exceptions.ConnectTimeoutError('t')), 'other')
    assert not client._not_sent(requests.exceptions.ConnectionError('x'), 'connection closed by the server')
    assert not client._not_sent(requests.exceptions.ConnectionError(), 'connection reset by peer')
    assert client._not_sent(requests.exceptions.ConnectionError(), 'connection refused')


# --- reading answers: the exact limits, the deadline, read1 versus read, and the errors' fields -------


class Raw(object):
    """A urllib3 response stand-in: ``read1`` (or only ``read``) hands out the parts, records the calls."""

    def __init__(self, parts, read1=True, fail_after=None):
        self.parts = list(parts)
        self.calls = []
        self.closed = False
        self.fail_after = fail_after
        if read1:
            self.read1 = self._read1

    def _next(self, how, amt, decode_content):
        self.calls.append((how, amt, decode_content))
        if self.fail_after is not None and len(self.calls) > self.fail_after:
            raise ConnectionResetError('reset')
        return self.parts.pop(0) if self.parts else b''

    def _read1(self, amt, decode_content=None):
        return self._next('read1', amt, decode_content)

    def read(self, amt, decode_content=None):
        return self._next('read', amt, decode_content)

    def close(self):
        self.closed = True


def new_client(clock=None, **extra):
    return VspClient(connection_args(**extra), clock=clock)


def test_chunks_use_read1_with_decoding_else_read():
    raw = Raw([b'ab', b'c'])
    assert list(new_client()._chunks(raw, float('inf'))) == [b'ab', b'c']
    assert raw.calls == [('read1', client.READ_CHUNK, True)] * 3
    raw = Raw([b'ab'], read1=False)
    assert list(new_client()._chunks(raw, float('inf'))) == [b'ab']
    assert raw.calls == [('read', client.READ_CHUNK, True)] * 2


def test_chunks_deadline_is_inclusive():
    clock = SeqClock(step=1.0)
    start = clock()
    raw = Raw([b'a', b'b', b'c', b'd'])
    got = []
    with pytest.raises(client._BodyError) as info:
        for chunk in new_client(clock=clock, timeout=7)._chunks(raw, start + 3):
            got.append(chunk)
    # the clock reads start+1, +2, +3 (not past the deadline: read), then +4 (past it)
    assert got == [b'a', b'b', b'c']
    assert info.value.reason == 'the answer did not arrive within 7 s (timeout)'
    assert info.value.retryable is False
    assert info.value.args == ('the answer did not arrive within 7 s (timeout)',)


def test_chunks_broken_connection_is_retryable_and_named():
    raw = Raw([b'a'], fail_after=1)
    with pytest.raises(client._BodyError) as info:
        list(new_client()._chunks(raw, float('inf')))
    assert info.value.reason == 'the answer is incomplete: the connection broke while it was read (ConnectionResetError)'
    assert info.value.retryable is True


def test_bounded_stream_exact_limit_and_error_fields():
    raw = Raw([b'ab', b'cd'])
    bounded = client._BoundedRaw(new_client(), raw, method='POST', path='/v1/k', limit=4, deadline=float('inf'), status=200)
    assert bounded.read() == b'abcd'
    raw = Raw([b'ab', b'cd', b'e'])
    bounded = client._BoundedRaw(new_client(), raw, method='POST', path='/v1/k', limit=4, deadline=float('inf'), status=200)
    with pytest.raises(VspApiError) as info:
        bounded.read()
    assert info.value.msg == 'POST /v1/k: the answer is larger than the limit of 4 bytes'
    assert (info.value.status, info.value.method, info.value.path) == (200, 'POST', '/v1/k')
    assert raw.closed
    assert bounded.closed is True  # other attributes come from the raw answer


def test_check_length_exact_limit():
    VspClient._check_length(response(200, headers={'Content-Length': '10'}), 10)
    VspClient._check_length(response(200, headers={'Content-Length': 'x'}), 10)
    with pytest.raises(client._BodyError) as info:
        VspClient._check_length(response(200, headers={'Content-Length': ' 11'}), 10)
    assert info.value.reason == 'the answer of 11 bytes is larger than the limit of 10 bytes'
    assert info.value.retryable is False


def test_read_body_exact_limit():
    answer = response(200)
    answer.raw = Raw([b'{"a"', b':1}'])
    new_client()._read_body(answer, 'GET', '/v1/x', 8, float('inf'))
    assert answer.content == b'{"a":1}' and answer.json() == {'a': 1}
    assert answer._content_consumed is True
    answer = response(200)
    answer.raw = Raw([b'{"a"', b':12}', b'x'])
    with pytest.raises(client._BodyError) as info:
        new_client()._read_body(answer, 'GET', '/v1/x', 8, float('inf'))
    assert info.value.reason == 'the answer is larger than the limit of 8 bytes' and info.value.retryable is False


def test_media_type():
    assert client.media_type(response(200, content_type='Application/JSON; charset=utf-8; x=y')) == 'application/json'
    assert client.media_type(response(200, content_type='text/plain;a;b')) == 'text/plain'
    assert client.media_type(response(200)) == ''


@pytest.mark.parametrize('status, expected', [
    (399, None),
    (400, 'HTTP 400 KART00003-E (the REST server is busy)'),
    (401, None),
    (402, 'HTTP 402 KART00003-E (the REST server is busy)'),
])
def test_retry_reason_busy_from_400_but_not_401(status, expected):
    body = json.dumps({'messageID': 'KART00003-E'}).encode()
    assert VspClient._retry_reason(response(status, body, 'application/json'), 'POST', False) == expected


def test_retry_reason_solution_type_retry_caps_the_message_id():
    body = json.dumps({'messageId': 'M' * 70, 'solutionType': 'RETRY'}).encode()
    assert VspClient._retry_reason(response(409, body, 'application/json'), 'GET', True) == (
        'HTTP 409 %s... with solutionType RETRY' % ('M' * 64))
    body = json.dumps({'messageId': 'M' * 64, 'solutionType': 'RETRY'}).encode()
    assert VspClient._retry_reason(response(409, body, 'application/json'), 'GET', True) == 'HTTP 409 %s with solutionType RETRY' % ('M' * 64)
    body = json.dumps({'solutionType': 'RETRY'}).encode()
    assert VspClient._retry_reason(response(409, body, 'application/json'), 'GET', True) == 'HTTP 409 no messageId with solutionType RETRY'
    body = json.dumps(['RETRY']).encode()
    assert VspClient._retry_reason(response(409, body, 'application/json'), 'GET', True) is None
    assert VspClient._retry_reason(response(409, json.dumps({'solutionType': 'RETRY'}).encode()), 'POST', False) is None


# --- log in, get_json and request over the HTTP mock ---------------------------------------------------
def test_login_sends_an_empty_json_body_with_basic_auth(vsp):
    vsp.login()
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    with new_client() as c:
        c.get_json('/v1/objects/pools')
    login = vsp.rsps.calls[0].request
    assert login.method == 'POST' and login.body == b'{}'
    assert login.headers['Authorization'].startswith('Basic ')


@pytest.mark.parametrize('body', [{'token': TOKEN}, {'sessionId': 3}, {'token': '', 'sessionId': 3}, ['x']])
def test_login_answer_without_token_and_session_id(vsp, body):
    vsp.add('POST', '/v1/objects/sessions', json=body)
    with pytest.raises(VspApiError) as info:
        with new_client() as c:
            c.get_json('/v1/objects/pools')
    assert info.value.msg == 'Log in failed: the answer has no token and sessionId'
    assert (info.value.status, info.value.method, info.value.path) == (200, 'POST', '/v1/objects/sessions')


def test_login_refused_names_the_request(vsp):
    vsp.add('POST', '/v1/objects/sessions', status=403, json={'messageId': 'KART1-E'})
    with pytest.raises(VspApiError) as info:
        with new_client() as c:
            c.get_json('/v1/objects/pools')
    assert (info.value.status, info.value.method, info.value.path) == (403, 'POST', '/v1/objects/sessions')


def test_login_is_retried_when_busy(vsp, no_sleep):
    vsp.add('POST', '/v1/objects/sessions', status=503)
    vsp.login()
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    with new_client() as c:
        assert c.get_json('/v1/objects/pools') == {'data': []}
    assert c.retries_made[0]['method'] == 'POST'


def test_get_json_not_json(vsp):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', body=b'<html>', content_type='text/html')
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with new_client() as c:
            c.get_json('/v1/objects/pools')
    assert info.value.msg == 'GET /v1/objects/pools answered something that is not JSON'
    assert (info.value.status, info.value.method, info.value.path) == (200, 'GET', '/v1/objects/pools')


def test_get_json_cleans_escaped_control_characters(vsp):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', body=b'{"name": "a\\u001bb"}', content_type='application/json')
    vsp.logout()
    with new_client() as c:
        assert c.get_json('/v1/objects/pools') == {'name': 'a b'}


def test_request_passes_params_json_headers_and_stream(vsp):
    vsp.login()
    vsp.add('POST', '/v1/objects/x', json={'ok': 1})
    vsp.logout()
    with new_client() as c:
        answer = c.request('POST', '/v1/objects/x', params={'q': '1'}, json={'a': 2}, headers={'X-Test': 'y'}, stream=True)
        assert answer.raw.__class__ is client._BoundedRaw
        assert b''.join(answer.iter_content(chunk_size=10)) == b'{"ok": 1}'
    sent = vsp.rsps.calls[1].request
    assert sent.url.endswith('/v1/objects/x?q=1')
    assert json.loads(sent.body) == {'a': 2}
    assert sent.headers['X-Test'] == 'y' and sent.headers['Authorization'] == 'Session %s' % TOKEN


def test_request_sends_files(vsp):
    vsp.login()
    vsp.add('POST', '/v1/objects/x', json={})
    vsp.logout()
    with new_client() as c:
        c.request('POST', '/v1/objects/x', files={'file': ('k.ekf', b'KEYDATA')})
    assert b'KEYDATA' in vsp.rsps.calls[1].request.body


def test_relogin_after_401_uses_the_new_token_and_session(vsp):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=401, json={})
    vsp.login(token='second-token', session_id=4)
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout(session_id=4)
    with new_client() as c:
        c.get_json('/v1/objects/pools')
    assert vsp.rsps.calls[3].request.headers['Authorization'] == 'Session second-token'


def test_tls_messages_word_for_word():
    mismatch = requests.exceptions.SSLError("certificate verify failed: Hostname mismatch, certificate is not valid for 'x'")
    assert client._describe_connection_error(mismatch) == (
        'TLS error (hostname mismatch: the certificate of the array does not name the host connected to; set host to a '
        'name or IP address the certificate lists)')
    other = requests.exceptions.SSLError("hostname 'a' doesn't match 'b'")
    assert client._describe_connection_error(other).startswith('TLS error (hostname mismatch')
    untrusted = requests.exceptions.SSLError('certificate verify failed: unable to get local issuer certificate')
    assert client._describe_connection_error(untrusted) == (
        'TLS error (certificate not trusted? set ca_path to the CA of the array, or validate_certs: false for a test system)')


@pytest.mark.parametrize('description', ['connection refused', 'host name could not be resolved', 'connection timed out'])
def test_not_sent_descriptions(description):
    assert client._not_sent(requests.exceptions.ConnectionError(), description)


def test_login_is_repeated_after_a_connection_broken_after_sending(vsp, no_sleep):
    vsp.add('POST', '/v1/objects/sessions', body=requests.ConnectionError('Connection reset by peer'))
    vsp.login()
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    with new_client() as c:
        assert c.get_json('/v1/objects/pools') == {'data': []}
    assert [(r['method'], r['reason']) for r in c.retries_made] == [('POST', 'connection reset by peer')]


def test_stream_over_its_limit_names_the_request_and_status(vsp):
    path = '/v1/objects/encryption-keys/file/actions/backup/invoke'
    vsp.login()
    vsp.add('POST', path, status=200, body=b'k' * 50, content_type='application/octet-stream')
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with new_client() as c:
            answer = c.request('POST', path, stream=True, limit=10)
            b''.join(answer.iter_content(chunk_size=5))
    assert info.value.msg == 'POST %s: the answer is larger than the limit of 10 bytes' % path
    assert (info.value.status, info.value.method, info.value.path) == (200, 'POST', path)


def test_stream_default_limit_is_key_file_max(vsp, monkeypatch):
    monkeypatch.setattr(client, 'KEY_FILE_MAX', 10)
    path = '/v1/objects/encryption-keys/file/actions/backup/invoke'
    vsp.login()
    vsp.add('POST', path, status=200, body=b'k' * 50, content_type='application/octet-stream')
    vsp.logout()
    with pytest.raises(VspApiError, match='larger than the limit of 10 bytes'):
        with new_client() as c:
            b''.join(c.request('POST', path, stream=True).iter_content(chunk_size=5))


def test_a_failed_log_in_again_after_401_sends_no_log_out(vsp, no_sleep):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=401, json={})
    vsp.add('POST', '/v1/objects/sessions', status=401, json={})
    with pytest.raises(VspApiError, match='check username and password'):
        with new_client() as c:
            c.get_json('/v1/objects/pools')
    assert [call.request.method for call in vsp.rsps.calls] == ['POST', 'GET', 'POST']


def test_retry_wait_recorded_to_the_millisecond():
    c = new_client()
    c.record_retry('GET', '/v1/x', 'HTTP 503', 1.23456)
    assert c.retries_made == [{'method': 'GET', 'path': '/v1/x', 'reason': 'HTTP 503', 'wait_seconds': 1.235}]


# --- added after the full run: the request sent again after a 401, the fields of every _send error ------
def test_the_request_sent_again_after_401_is_the_same_request(vsp):
    vsp.login()
    vsp.add('POST', '/v1/objects/x', status=401, json={})
    vsp.login(token='second-token', session_id=4)
    vsp.add('POST', '/v1/objects/x', body=b'k' * 20, content_type='application/octet-stream')
    vsp.logout(session_id=4)
    with pytest.raises(VspApiError, match='larger than the limit of 10 bytes'):
        with new_client() as c:
            answer = c.request('POST', '/v1/objects/x', params={'q': '1'}, json={'a': 2}, headers={'X-Test': 'y'},
                               stream=True, limit=10)
            b''.join(answer.iter_content(chunk_size=5))
    first, again = vsp.rsps.calls[1].request, vsp.rsps.calls[3].request
    assert again.url == first.url and again.url.endswith('/v1/objects/x?q=1')
    assert again.body == first.body and json.loads(again.body) == {'a': 2}
    assert again.headers['X-Test'] == 'y' and again.headers['Authorization'] == 'Session second-token'


@pytest.mark.parametrize('status, redirect', [(299, False), (300, True), (399, True), (400, False)])
def test_redirect_range_is_300_to_399(vsp, status, redirect):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=status, json={'data': []})
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with new_client(retries=0) as c:
            c.request('GET', '/v1/objects/pools', expected=(200,))
    assert ('a redirect to no location' in info.value.msg) is redirect
    assert (info.value.status, info.value.method, info.value.path) == (status, 'GET', '/v1/objects/pools')


def test_error_fields_of_a_request_that_failed_to_send(vsp):
    vsp.login()
    vsp.add('POST', '/v1/objects/x', body=requests.exceptions.ReadTimeout('read timed out'))
    vsp.add('POST', '/v1/objects/y', body=requests.exceptions.SSLError('certificate verify failed'))
    vsp.add('POST', '/v1/objects/z', body=requests.ConnectionError('Connection reset by peer'))
    vsp.add('POST', '/v1/objects/w', body=requests.exceptions.InvalidHeader('bad'))
    vsp.logout()
    texts = []
    with new_client() as c:
        for path in ('/v1/objects/x', '/v1/objects/y', '/v1/objects/z', '/v1/objects/w'):
            with pytest.raises(VspApiError) as info:
                c.request('POST', path)
            assert (info.value.method, info.value.path) == ('POST', path)
            texts.append(info.value.msg)
    maybe = '; the array may have carried out the request, check its state before repeating it'
    assert texts == [
        'POST /v1/objects/x timed out after 30 s (timeout)' + maybe,
        'POST /v1/objects/y failed: TLS error (certificate not trusted? set ca_path to the CA of the array, or '
        'validate_certs: false for a test system)',
        'POST /v1/objects/z failed: connection reset by peer after the request was sent' + maybe,
        'POST /v1/objects/w failed: InvalidHeader',
    ]


# --- added after the full run on 368eadc: the upload and the idempotent flag after a 401, the retry count ------
def test_the_upload_sent_again_after_401_carries_the_same_file(vsp):
    vsp.login()
    vsp.add('POST', '/v1/objects/x', status=401, json={})
    vsp.login(token='second-token', session_id=4)
    vsp.add('POST', '/v1/objects/x', json={})
    vsp.logout(session_id=4)
    with new_client() as c:
        c.request('POST', '/v1/objects/x', files={'file': ('k.ekf', b'KEYDATA')})
    first, again = vsp.rsps.calls[1].request, vsp.rsps.calls[3].request
    assert b'KEYDATA' in first.body and b'KEYDATA' in again.body


def test_a_request_marked_idempotent_stays_so_after_401(vsp, no_sleep):
    vsp.login()
    vsp.add('POST', '/v1/objects/x', status=401, json={})
    vsp.login(token='second-token', session_id=4)
    vsp.add('POST', '/v1/objects/x', body=requests.ConnectionError('Connection reset by peer'))
    vsp.add('POST', '/v1/objects/x', json={'ok': 1})
    vsp.logout(session_id=4)
    with new_client() as c:
        assert c.request('POST', '/v1/objects/x', json={'a': 1}, idempotent=True).json() == {'ok': 1}
    assert [(r['method'], r['reason']) for r in c.retries_made] == [('POST', 'connection reset by peer')]


def test_retries_stop_after_exactly_retries(vsp):
    waits = []

    def bounded_sleep(seconds):  # a wrong counter retries for ever: stop it as a failure, not a hang
        waits.append(seconds)
        assert len(waits) <= 10, 'retried more than 10 times'

    vsp.login()
    for status in [503] * 4:
        vsp.add('GET', '/v1/objects/pools', status=status, json={})
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with VspClient(connection_args(retries=3), sleep=bounded_sleep) as c:
            c.get_json('/v1/objects/pools')
    assert len(waits) == 3 and len(c.retries_made) == 3
    assert info.value.msg.startswith('GET /v1/objects/pools: HTTP 503') and info.value.msg.endswith('after 3 retries')
