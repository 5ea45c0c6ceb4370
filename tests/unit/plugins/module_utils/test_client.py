# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import base64
import errno
import json
import random

import pytest
import requests
import urllib3
from conftest import (
    BACKUP_PASSWORD,
    PASSWORD,
    TOKEN,
    EdgeRng,
    SeqClock,
    assert_no_secret,
    connection_args,
    job,
    kart_error,
)

from ansible_collections.vsp.encryption.plugins.module_utils import _client as client_mod
from ansible_collections.vsp.encryption.plugins.module_utils._api import VspApi
from ansible_collections.vsp.encryption.plugins.module_utils._client import VspClient
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError

STORAGE = {'storageDeviceId': '900000061726', 'model': 'VSP 5600', 'serialNumber': 61726}
CHANGE = '/v1/objects/ldevs/5/actions/change-status/invoke'
KMS_RESTORE = '/v1/objects/encryption-keys/all/actions/kms-restore/invoke'


def make_client(rng=None, clock=None, **extra):
    return VspClient(connection_args(**extra), rng=rng, clock=clock)


def logged_in(client):
    """A client that holds session 3 already (no log in request; the log out is still sent)."""
    client._token, client._session_id = TOKEN, 3
    return client


def test_session_lifecycle_login_once_and_logout(vsp):
    vsp.login()
    vsp.get('/v1/objects/storages/instance', STORAGE)
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    with make_client() as client:
        api = VspApi(client)
        assert api.storage()['model'] == 'VSP 5600'
        assert api.list_pools() == []
    calls = vsp.rsps.calls
    assert calls[0].request.headers['Authorization'] == 'Basic ' + base64.b64encode(('admin:%s' % PASSWORD).encode()).decode()
    for call in calls[1:]:
        assert call.request.headers['Authorization'] == 'Session %s' % TOKEN
    assert [c[0] for c in vsp.calls] == ['POST', 'GET', 'GET', 'DELETE']


def test_nothing_sent_when_nothing_asked(vsp):
    with make_client():
        pass
    assert vsp.calls == []


def test_relogin_once_on_401(vsp):
    vsp.login(token='first')
    vsp.add('GET', '/v1/objects/pools', status=401, json=kart_error('KART40047-E', 'The specified token is invalid.'))
    vsp.login(token='second', session_id=4)
    vsp.get('/v1/objects/pools', {'data': [{'poolId': 0}]})
    vsp.logout(session_id=4)
    with make_client() as client:
        assert VspApi(client).list_pools() == [{'poolId': 0}]
    assert vsp.rsps.calls[3].request.headers['Authorization'] == 'Session second'


def test_second_401_fails_and_logs_out(vsp):
    vsp.login(token='first')
    vsp.add('GET', '/v1/objects/pools', status=401, json=kart_error('KART40047-E', 'The specified token is invalid.'))
    vsp.login(token='second', session_id=4)
    vsp.add('GET', '/v1/objects/pools', status=401, json=kart_error('KART40047-E', 'The specified token is invalid.'))
    vsp.logout(session_id=4)
    with pytest.raises(VspApiError) as info:
        with make_client() as client:
            VspApi(client).list_pools()
    assert info.value.status == 401
    assert 'KART40047-E' in str(info.value)


def test_login_rejected(vsp):
    vsp.add('POST', '/v1/objects/sessions', status=401, json=kart_error('KART40046-E', 'Authentication failed.', None, None))
    with pytest.raises(VspApiError) as info:
        with make_client() as client:
            VspApi(client).list_pools()
    assert info.value.status == 401
    assert 'Log in as admin failed (check username and password)' in str(info.value)
    assert_no_secret(str(info.value), info.value.to_result())


def test_logout_on_failure(vsp):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=500, json=kart_error())
    vsp.logout()
    with pytest.raises(VspApiError):
        with make_client() as client:
            VspApi(client).list_pools()
    assert vsp.calls[-1] == ('DELETE', '/v1/objects/sessions/3')


def test_503_retry_after_is_honoured(vsp, no_sleep):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=503, json=kart_error('KART00003-E', 'busy'), headers={'Retry-After': '7'})
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    with make_client() as client:
        assert VspApi(client).list_pools() == []
    assert no_sleep == [7.0]


def test_503_bound(vsp, no_sleep):
    vsp.login()
    for _dummy in range(3):  # 1 try + retries=2
        vsp.add('GET', '/v1/objects/pools', status=503, json=kart_error('KART00003-E', 'The server is busy.'))
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client(retries=2) as client:
            VspApi(client).list_pools()
    assert 'HTTP 503 after 2 retries' in str(info.value)
    assert info.value.status == 503
    assert len(no_sleep) == 2
    assert no_sleep[1] > no_sleep[0] * 1.0 or no_sleep[1] >= 0.5  # back-off grows (with jitter)


def test_connection_error_retried_then_ok(vsp, no_sleep):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', body=requests.ConnectionError('Connection refused'))
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    with make_client() as client:
        assert VspApi(client).list_pools() == []
    assert len(no_sleep) == 1


def test_connection_refused_after_bound(vsp, no_sleep):
    for _dummy in range(3):
        vsp.add('POST', '/v1/objects/sessions', body=requests.ConnectionError('[Errno 111] Connection refused'))
    with pytest.raises(VspApiError) as info:
        with make_client(retries=2) as client:
            VspApi(client).list_pools()
    assert 'connection refused after 2 retries' in str(info.value)
    assert len(no_sleep) == 2
    assert len(vsp.calls) == 3


def test_get_read_timeout_is_retried_post_is_not(vsp):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', body=requests.exceptions.ReadTimeout('read timed out'))
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.add('POST', KMS_RESTORE, body=requests.exceptions.ReadTimeout('read timed out'))
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client() as client:
            api = VspApi(client)
            assert api.list_pools() == []
            api.restore_keys_from_kms()
    assert 'timed out after 30 s (timeout)' in str(info.value)
    assert 'the array may have carried out the request, check its state before repeating it' in str(info.value)
    assert [c[0] for c in vsp.calls].count('POST') == 2  # log in + the restore, sent once


def test_idempotent_status_change_is_retried_after_read_timeout(vsp, no_sleep):
    """Changing an LDEV to a state is harmless to repeat: a lost answer is asked for again."""
    vsp.login()
    vsp.add('POST', CHANGE, body=requests.exceptions.ReadTimeout('read timed out'))
    vsp.add('POST', CHANGE, status=202, json=job(11))
    vsp.logout()
    with make_client() as client:
        assert VspApi(client).change_ldev_status(5, 'blk')['state'] == 'Succeeded'
        assert [(r['method'], r['path'], r['reason']) for r in client.retries_made] == [
            ('POST', CHANGE, 'timed out after 30 s (timeout)')]


def test_write_broken_after_sending_is_not_repeated(vsp):
    """A connection reset after the restore was sent: not sent again, the message says to check first."""
    vsp.login()
    vsp.add('POST', KMS_RESTORE, body=requests.ConnectionError(ConnectionResetError(104, 'Connection reset by peer')))
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client() as client:
            VspApi(client).restore_keys_from_kms()
    text = str(info.value)
    assert 'connection reset by peer after the request was sent' in text
    assert 'the array may have carried out the request, check its state before repeating it' in text
    assert [c for c in vsp.calls if c[1] == KMS_RESTORE] == [('POST', KMS_RESTORE)]


def test_write_refused_before_sending_is_retried(vsp, no_sleep):
    """Connection refused: the request never reached the array, so sending it again is safe."""
    vsp.login()
    vsp.add('POST', KMS_RESTORE, body=requests.ConnectionError('[Errno 111] Connection refused'))
    vsp.add('POST', KMS_RESTORE, status=202, json=job(3))
    vsp.logout()
    with make_client() as client:
        assert VspApi(client).restore_keys_from_kms()['jobId'] == 3
    assert len(no_sleep) == 1


def test_idempotent_status_change_is_retried_after_broken_connection(vsp, no_sleep):
    vsp.login()
    vsp.add('POST', CHANGE, body=requests.ConnectionError(ConnectionResetError(104, 'Connection reset by peer')))
    vsp.add('POST', CHANGE, status=202, json=job(11))
    vsp.logout()
    with make_client() as client:
        VspApi(client).change_ldev_status(5, 'blk')
        assert client.retries_made[0]['reason'] == 'connection reset by peer'


def test_error_mapping_readable(vsp):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=412, json=kart_error())
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client() as client:
            VspApi(client).list_pools()
    exc = info.value
    text = exc.describe()
    assert text.startswith('GET /v1/objects/pools failed with HTTP 412')
    for part in ('KART30000-E', 'An error occurred in the storage system.', 'Cause: The state is incorrect.', 'Solution: Check the state.'):
        assert part in text
    assert exc.to_result() == {'http_status': 412, 'message_id': 'KART30000-E', 'error_message': 'An error occurred in the storage system.',
                               'cause': 'The state is incorrect.', 'solution': 'Check the state.', 'request_method': 'GET',
                               'request_path': '/v1/objects/pools'}
    assert_no_secret(text, exc.to_result())


def test_storage_device_id_url_form(vsp):
    vsp.login()
    vsp.get('/v1/objects/storages', {'data': [STORAGE]})
    vsp.get('/v1/objects/storages/900000061726/pools', {'data': []})
    vsp.logout()
    with make_client(storage_device_id='900000061726') as client:
        api = VspApi(client)
        assert api.storage()['serialNumber'] == 61726
        assert api.list_pools() == []


def test_verify_uses_ca_path():
    assert make_client().http.verify is True
    assert make_client(ca_path='/etc/ca.pem').http.verify == '/etc/ca.pem'
    assert make_client(validate_certs=False, ca_path='/etc/ca.pem').http.verify is False


def test_pool_size_follows_concurrency():
    c = VspClient(connection_args(), pool_size=32)
    assert c.http.get_adapter('https://x/')._pool_maxsize == 32


def test_ca_path_wins_over_requests_ca_bundle(vsp, monkeypatch):
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', '/etc/ssl/certs/ca-certificates.crt')
    monkeypatch.setenv('CURL_CA_BUNDLE', '/etc/ssl/certs/ca-certificates.crt')
    vsp.login()
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    with make_client(ca_path='/tmp/array-ca.pem') as client:
        VspApi(client).list_pools()
    assert [c.request.req_kwargs['verify'] for c in vsp.rsps.calls] == ['/tmp/array-ca.pem'] * 3


@pytest.mark.parametrize('text, expected', [
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for '127.1'.",
     'hostname mismatch: the certificate of the array does not name the host connected to; set host to'),
    ('[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, certificate is not valid for 127.0.0.2.',
     'hostname mismatch'),
    ('[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate',
     'certificate not trusted? set ca_path'),
])
def test_tls_errors_name_their_cause(text, expected):
    """An untrusted CA and a hostname mismatch are different fixes: the message says which."""
    assert expected in client_mod._describe_connection_error(requests.exceptions.SSLError(text))


def test_logout_survives_a_503_burst(vsp, no_sleep):
    """A busy array at log out: retried within `retries`, so the session does not stay behind (64-session cap)."""
    vsp.login()
    vsp.get('/v1/objects/pools', {'data': []})
    busy = kart_error('KART00003-E', 'The server is busy.')
    vsp.add('DELETE', '/v1/objects/sessions/3', status=503, json=busy, headers={'Retry-After': '1'})
    vsp.add('DELETE', '/v1/objects/sessions/3', status=503, json=busy, headers={'Retry-After': '1'})
    vsp.logout()
    with make_client() as client:
        VspApi(client).list_pools()
    assert [c for c in vsp.calls if c[0] == 'DELETE'] == [('DELETE', '/v1/objects/sessions/3')] * 3
    assert no_sleep == [1.0, 1.0]


# -- log in, get_json and request -------------------------------------------------------------------
def test_login_sends_an_empty_json_body_with_basic_auth(vsp):
    vsp.login()
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    with make_client() as c:
        c.get_json('/v1/objects/pools')
    login = vsp.rsps.calls[0].request
    assert login.method == 'POST' and login.body == b'{}'
    assert login.headers['Authorization'].startswith('Basic ')


@pytest.mark.parametrize('body', [{'token': TOKEN}, {'sessionId': 3}, {'token': '', 'sessionId': 3}, ['x']])
def test_a_login_answer_without_token_and_session_id_is_refused(vsp, body):
    vsp.add('POST', '/v1/objects/sessions', json=body)
    with pytest.raises(VspApiError) as info:
        with make_client() as c:
            c.get_json('/v1/objects/pools')
    assert info.value.msg == 'Log in failed: the answer has no token and sessionId'
    assert (info.value.status, info.value.method, info.value.path) == (200, 'POST', '/v1/objects/sessions')


def test_login_refused_names_the_request(vsp):
    vsp.add('POST', '/v1/objects/sessions', status=403, json={'messageId': 'KART1-E'})
    with pytest.raises(VspApiError) as info:
        with make_client() as c:
            c.get_json('/v1/objects/pools')
    assert (info.value.status, info.value.method, info.value.path) == (403, 'POST', '/v1/objects/sessions')


def test_get_json_after_a_401_uses_the_new_session(vsp):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=401, json={})
    vsp.login(token='second-token', session_id=4)
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout(session_id=4)
    with make_client() as c:
        c.get_json('/v1/objects/pools')
    assert vsp.rsps.calls[3].request.headers['Authorization'] == 'Session second-token'


def test_a_failed_log_in_again_after_401_sends_no_log_out(vsp, no_sleep):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=401, json={})
    vsp.add('POST', '/v1/objects/sessions', status=401, json={})
    with pytest.raises(VspApiError, match='check username and password'):
        with make_client() as c:
            c.get_json('/v1/objects/pools')
    assert [call.request.method for call in vsp.rsps.calls] == ['POST', 'GET', 'POST']


def test_get_json_refuses_an_answer_that_is_not_json(vsp):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', body=b'<html>', content_type='text/html')
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client() as c:
            c.get_json('/v1/objects/pools')
    assert info.value.msg == 'GET /v1/objects/pools answered something that is not JSON'
    assert (info.value.status, info.value.method, info.value.path) == (200, 'GET', '/v1/objects/pools')


def test_get_json_cleans_escaped_control_characters(vsp):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', body=b'{"name": "a\\u001bb"}', content_type='application/json')
    vsp.logout()
    with make_client() as c:
        assert c.get_json('/v1/objects/pools') == {'name': 'a b'}


def test_request_passes_params_json_headers_and_stream(vsp):
    vsp.login()
    vsp.add('POST', '/v1/objects/x', json={'ok': 1})
    vsp.logout()
    with make_client() as c:
        answer = c.request('POST', '/v1/objects/x', params={'q': '1'}, json={'a': 2}, headers={'X-Test': 'y'}, stream=True)
        assert answer.raw.__class__ is client_mod._BoundedRaw
        assert b''.join(answer.iter_content(chunk_size=10)) == b'{"ok": 1}'
    sent = vsp.rsps.calls[1].request
    assert sent.url.endswith('/v1/objects/x?q=1')
    assert json.loads(sent.body) == {'a': 2}
    assert sent.headers['X-Test'] == 'y' and sent.headers['Authorization'] == 'Session %s' % TOKEN


def test_request_sends_files(vsp):
    vsp.login()
    vsp.add('POST', '/v1/objects/x', json={})
    vsp.logout()
    with make_client() as c:
        c.request('POST', '/v1/objects/x', files={'file': ('k.ekf', b'KEYDATA')})
    assert b'KEYDATA' in vsp.rsps.calls[1].request.body


def test_the_request_sent_again_after_401_is_the_same_request(vsp):
    vsp.login()
    vsp.add('POST', '/v1/objects/x', status=401, json={})
    vsp.login(token='second-token', session_id=4)
    vsp.add('POST', '/v1/objects/x', body=b'k' * 20, content_type='application/octet-stream')
    vsp.logout(session_id=4)
    with pytest.raises(VspApiError, match='larger than the limit of 10 bytes'):
        with make_client() as c:
            answer = c.request('POST', '/v1/objects/x', params={'q': '1'}, json={'a': 2}, headers={'X-Test': 'y'},
                               stream=True, limit=10)
            b''.join(answer.iter_content(chunk_size=5))
    first, again = vsp.rsps.calls[1].request, vsp.rsps.calls[3].request
    assert again.url == first.url and again.url.endswith('/v1/objects/x?q=1')
    assert again.body == first.body and json.loads(again.body) == {'a': 2}
    assert again.headers['X-Test'] == 'y' and again.headers['Authorization'] == 'Session second-token'


def test_the_upload_sent_again_after_401_carries_the_same_file(vsp):
    vsp.login()
    vsp.add('POST', '/v1/objects/x', status=401, json={})
    vsp.login(token='second-token', session_id=4)
    vsp.add('POST', '/v1/objects/x', json={})
    vsp.logout(session_id=4)
    with make_client() as c:
        c.request('POST', '/v1/objects/x', files={'file': ('k.ekf', b'KEYDATA')})
    first, again = vsp.rsps.calls[1].request, vsp.rsps.calls[3].request
    assert b'KEYDATA' in first.body and b'KEYDATA' in again.body


def test_a_request_that_failed_to_send_is_named_with_its_cause(vsp):
    vsp.login()
    vsp.add('POST', '/v1/objects/x', body=requests.exceptions.ReadTimeout('read timed out'))
    vsp.add('POST', '/v1/objects/y', body=requests.exceptions.SSLError('certificate verify failed'))
    vsp.add('POST', '/v1/objects/z', body=requests.ConnectionError('Connection reset by peer'))
    vsp.add('POST', '/v1/objects/w', body=requests.exceptions.InvalidHeader('bad'))
    vsp.logout()
    texts = []
    with make_client() as c:
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


# -- redirects ------------------------------------------------------------------------------------
@pytest.mark.parametrize('status', [301, 302, 303, 307, 308])
def test_redirect_is_an_error_and_nothing_is_sent_there(vsp, status):
    """A redirect of the key backup (it carries the backup password) is refused, never followed."""
    vsp.login()
    vsp.add('POST', '/v1/objects/encryption-keys/file/actions/backup/invoke', status=status,
            headers={'Location': 'https://evil.example/steal\x1b[31m\r\nok: [vsp]'})
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client() as client:
            VspApi(client).backup_keys_to_file(BACKUP_PASSWORD)
    text = str(info.value)
    assert 'answered HTTP %d, a redirect to' % status in text
    assert "'https://evil.example/steal [31m  ok: [vsp]'" in text
    assert 'nothing was sent there' in text
    assert '\x1b' not in text and '\n' not in text and '\r' not in text
    assert info.value.status == status
    assert [c[1] for c in vsp.calls] == ['/v1/objects/sessions', '/v1/objects/encryption-keys/file/actions/backup/invoke',
                                         '/v1/objects/sessions/3']
    assert_no_secret(text, info.value.to_result())


def test_redirect_location_is_capped(vsp):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=302, headers={'Location': 'https://x/' + 'a' * 5000})
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client() as client:
            VspApi(client).list_pools()
    assert len(str(info.value)) < 400
    assert "a...'" in str(info.value)


@pytest.mark.parametrize('status, redirect', [(299, False), (300, True), (399, True), (400, False)])
def test_redirect_range_is_300_to_399(vsp, status, redirect):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=status, json={'data': []})
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client(retries=0) as c:
            c.request('GET', '/v1/objects/pools', expected=(200,))
    assert ('a redirect to no location' in info.value.msg) is redirect
    assert (info.value.status, info.value.method, info.value.path) == (status, 'GET', '/v1/objects/pools')


# -- size limits and deadline ---------------------------------------------------------------------
def test_json_answer_over_the_limit_by_content_length(vsp, monkeypatch):
    monkeypatch.setattr(client_mod, 'JSON_MAX', 1000)
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', body=b'{"data": [' + b'0, ' * 600 + b'0]}', content_type='application/json',
            headers={'Content-Length': '1812'})
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client() as client:
            VspApi(client).list_pools()
    assert 'GET /v1/objects/pools: the answer of 1812 bytes is larger than the limit of 1000 bytes' in str(info.value)
    assert [c[0] for c in vsp.calls] == ['POST', 'GET', 'DELETE']  # not retried


def test_json_answer_over_the_limit_without_content_length(vsp, monkeypatch):
    """No Content-Length: reading stops once the limit is passed (the body is never held whole)."""
    monkeypatch.setattr(client_mod, 'JSON_MAX', 1000)
    monkeypatch.setattr(client_mod, 'READ_CHUNK', 100)
    reads = []
    original = client_mod.VspClient._chunks

    def counting(self, raw, deadline):
        for chunk in original(self, raw, deadline):
            reads.append(len(chunk))
            yield chunk

    monkeypatch.setattr(client_mod.VspClient, '_chunks', counting)
    vsp.add('GET', '/v1/objects/pools', body=b'{"data": [' + b'0, ' * 6000 + b'0]}', content_type='application/json')
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with logged_in(make_client()) as client:
            VspApi(client).list_pools()
    assert 'the answer is larger than the limit of 1000 bytes' in str(info.value)
    assert reads == [100] * 11 + [2]  # 11 reads of 100 bytes, then stop (the body has 18,000); then the log out's {}


def test_a_dripping_answer_ends_at_timeout(vsp, monkeypatch):
    """One byte per read, 2 s apart: the request ends at `timeout` (5 s), not when the server stops."""
    monkeypatch.setattr(client_mod, 'READ_CHUNK', 1)
    vsp.add('GET', '/v1/objects/pools', body=b'{"data": []}' + b' ' * 100, content_type='application/json')
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with logged_in(make_client(clock=SeqClock(step=2.0), timeout=5)) as client:
            VspApi(client).list_pools()
    assert 'GET /v1/objects/pools: the answer did not arrive within 5 s (timeout)' in str(info.value)
    assert [c[1] for c in vsp.calls if c[0] == 'GET'] == ['/v1/objects/pools']  # not retried


def test_a_dripping_key_file_ends_at_timeout(vsp, monkeypatch):
    monkeypatch.setattr(client_mod, 'READ_CHUNK', 1)
    vsp.add('POST', '/v1/objects/encryption-keys/file/actions/backup/invoke', body=b'k' * 100, content_type='application/octet-stream')
    vsp.logout()
    received = []
    with pytest.raises(VspApiError) as info:
        with logged_in(make_client(clock=SeqClock(step=2.0), timeout=5)) as client:
            response = VspApi(client).backup_keys_to_file(BACKUP_PASSWORD)
            for chunk in response.iter_content(chunk_size=4096):
                received.append(chunk)
    assert 'did not arrive within 5 s (timeout)' in str(info.value)
    assert 0 < len(b''.join(received)) < 10


def test_key_file_stream_over_its_limit(vsp):
    vsp.login()
    vsp.add('POST', '/v1/objects/encryption-keys/file/actions/backup/invoke', body=b'k' * 5000, content_type='application/octet-stream')
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client() as client:
            response = client.request('POST', '/v1/objects/encryption-keys/file/actions/backup/invoke', stream=True, limit=1000)
            b''.join(response.iter_content(chunk_size=100))
    assert 'the answer is larger than the limit of 1000 bytes' in str(info.value)


def test_key_file_limit_by_content_length(vsp):
    vsp.login()
    vsp.add('POST', '/v1/objects/encryption-keys/file/actions/backup/invoke', body=b'k' * 5000, content_type='application/octet-stream',
            headers={'Content-Length': '5000'})
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client() as client:
            client.request('POST', '/v1/objects/encryption-keys/file/actions/backup/invoke', stream=True, limit=1000)
    assert 'the answer of 5000 bytes is larger than the limit of 1000 bytes' in str(info.value)
    assert 'may have carried out' in str(info.value)


def test_key_file_limit_constant():
    assert client_mod.KEY_FILE_MAX == 16 * 1024 * 1024
    assert client_mod.JSON_MAX == 16 * 1024 * 1024


def test_stream_over_its_limit_names_the_request_and_status(vsp):
    path = '/v1/objects/encryption-keys/file/actions/backup/invoke'
    vsp.login()
    vsp.add('POST', path, status=200, body=b'k' * 50, content_type='application/octet-stream')
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client() as c:
            answer = c.request('POST', path, stream=True, limit=10)
            b''.join(answer.iter_content(chunk_size=5))
    assert info.value.msg == 'POST %s: the answer is larger than the limit of 10 bytes' % path
    assert (info.value.status, info.value.method, info.value.path) == (200, 'POST', path)


def test_stream_default_limit_is_key_file_max(vsp, monkeypatch):
    monkeypatch.setattr(client_mod, 'KEY_FILE_MAX', 10)
    path = '/v1/objects/encryption-keys/file/actions/backup/invoke'
    vsp.login()
    vsp.add('POST', path, status=200, body=b'k' * 50, content_type='application/octet-stream')
    vsp.logout()
    with pytest.raises(VspApiError, match='larger than the limit of 10 bytes'):
        with make_client() as c:
            b''.join(c.request('POST', path, stream=True).iter_content(chunk_size=5))


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


def test_answers_are_read_with_read1_and_decoding_else_read():
    raw = Raw([b'ab', b'c'])
    assert list(make_client()._chunks(raw, float('inf'))) == [b'ab', b'c']
    assert raw.calls == [('read1', client_mod.READ_CHUNK, True)] * 3
    raw = Raw([b'ab'], read1=False)
    assert list(make_client()._chunks(raw, float('inf'))) == [b'ab']
    assert raw.calls == [('read', client_mod.READ_CHUNK, True)] * 2


def test_the_read_deadline_is_inclusive():
    clock = SeqClock(step=1.0)
    start = clock()
    raw = Raw([b'a', b'b', b'c', b'd'])
    got = []
    with pytest.raises(client_mod._BodyError) as info:
        for chunk in make_client(clock=clock, timeout=7)._chunks(raw, start + 3):
            got.append(chunk)
    # the clock reads start+1, +2, +3 (not past the deadline: read), then +4 (past it)
    assert got == [b'a', b'b', b'c']
    assert info.value.reason == 'the answer did not arrive within 7 s (timeout)'
    assert info.value.retryable is False
    assert info.value.args == ('the answer did not arrive within 7 s (timeout)',)


def test_a_connection_broken_while_reading_is_retryable_and_named():
    raw = Raw([b'a'], fail_after=1)
    with pytest.raises(client_mod._BodyError) as info:
        list(make_client()._chunks(raw, float('inf')))
    assert info.value.reason == 'the answer is incomplete: the connection broke while it was read (ConnectionResetError)'
    assert info.value.retryable is True


def test_a_stream_may_reach_its_limit_exactly_past_it_the_error_names_the_request():
    raw = Raw([b'ab', b'cd'])
    bounded = client_mod._BoundedRaw(make_client(), raw, method='POST', path='/v1/k', limit=4, deadline=float('inf'), status=200)
    assert bounded.read() == b'abcd'
    raw = Raw([b'ab', b'cd', b'e'])
    bounded = client_mod._BoundedRaw(make_client(), raw, method='POST', path='/v1/k', limit=4, deadline=float('inf'), status=200)
    with pytest.raises(VspApiError) as info:
        bounded.read()
    assert info.value.msg == 'POST /v1/k: the answer is larger than the limit of 4 bytes'
    assert (info.value.status, info.value.method, info.value.path) == (200, 'POST', '/v1/k')
    assert raw.closed
    assert bounded.closed is True  # other attributes come from the raw answer


def test_content_length_may_equal_the_limit_exactly():
    VspClient._check_length(response(200, headers={'Content-Length': '10'}), 10)
    VspClient._check_length(response(200, headers={'Content-Length': 'x'}), 10)
    with pytest.raises(client_mod._BodyError) as info:
        VspClient._check_length(response(200, headers={'Content-Length': ' 11'}), 10)
    assert info.value.reason == 'the answer of 11 bytes is larger than the limit of 10 bytes'
    assert info.value.retryable is False


def test_a_body_may_reach_its_limit_exactly():
    answer = response(200)
    answer.raw = Raw([b'{"a"', b':1}'])
    make_client()._read_body(answer, 'GET', '/v1/x', 8, float('inf'))
    assert answer.content == b'{"a":1}' and answer.json() == {'a': 1}
    assert answer._content_consumed is True
    answer = response(200)
    answer.raw = Raw([b'{"a"', b':12}', b'x'])
    with pytest.raises(client_mod._BodyError) as info:
        make_client()._read_body(answer, 'GET', '/v1/x', 8, float('inf'))
    assert info.value.reason == 'the answer is larger than the limit of 8 bytes' and info.value.retryable is False


# -- retries: 500 HTML, KART00003-E, bounds, exact back-off ---------------------------------------
HTML = '<html><body><h1>500 Internal Server Error</h1></body></html>'


def test_500_html_is_retried_and_recorded(vsp, no_sleep):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=500, body=HTML, content_type='text/html')
    vsp.add('GET', '/v1/objects/pools', status=500, body=HTML, content_type='text/html; charset=UTF-8')
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    with make_client(rng=EdgeRng()) as client:
        assert VspApi(client).list_pools() == []
        assert client.retries_made == [
            {'method': 'GET', 'path': '/v1/objects/pools', 'reason': 'HTTP 500 with an HTML page', 'wait_seconds': 0.5},
            {'method': 'GET', 'path': '/v1/objects/pools', 'reason': 'HTTP 500 with an HTML page', 'wait_seconds': 1.0},
        ]
    assert no_sleep == [0.5, 1.0]


def test_500_html_is_retried_for_writes_too(vsp, no_sleep):
    """Hitachi: repeat the request until the 500 is no longer HTML (the REST server did not take it)."""
    vsp.login()
    vsp.add('POST', KMS_RESTORE, status=500, body=HTML, content_type='text/html')
    vsp.add('POST', KMS_RESTORE, status=202, json=job(4))
    vsp.logout()
    with make_client() as client:
        assert VspApi(client).restore_keys_from_kms()['jobId'] == 4
    assert len(no_sleep) == 1


def test_500_json_is_not_retried(vsp, no_sleep):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=500, json=kart_error())
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client() as client:
            VspApi(client).list_pools()
    assert info.value.message_id == 'KART30000-E'
    assert no_sleep == []


def test_500_html_bound(vsp, no_sleep):
    vsp.login()
    for _dummy in range(3):
        vsp.add('GET', '/v1/objects/pools', status=500, body=HTML, content_type='text/html')
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client(retries=2) as client:
            VspApi(client).list_pools()
    assert 'GET /v1/objects/pools: HTTP 500 with an HTML page after 2 retries' in str(info.value)
    assert info.value.status == 500
    assert '<html>' not in str(info.value)
    assert len(no_sleep) == 2


def test_kart00003_busy_is_retried(vsp, no_sleep):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=500, json=kart_error('KART00003-E', 'The REST server is busy.'))
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    with make_client() as client:
        assert VspApi(client).list_pools() == []
        assert client.retries_made[0]['reason'] == 'HTTP 500 KART00003-E (the REST server is busy)'
    assert len(no_sleep) == 1


def test_max_retries_is_honoured_exactly(vsp, no_sleep):
    """retries=3: 1 try + 3 retries, then the error; a 5th request would find no mock and fail differently."""
    vsp.login()
    for _dummy in range(4):
        vsp.add('GET', '/v1/objects/pools', status=503, json=kart_error('KART00003-E', 'busy'))
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client(retries=3, rng=EdgeRng()) as client:
            VspApi(client).list_pools()
    assert 'HTTP 503 after 3 retries' in str(info.value)
    assert [c for c in vsp.calls if c[0] == 'GET'] == [('GET', '/v1/objects/pools')] * 4
    assert no_sleep == [0.5, 1.0, 2.0]


def test_retries_zero_means_one_try(vsp, no_sleep):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=503, json=kart_error('KART00003-E', 'busy'))
    vsp.logout()
    with pytest.raises(VspApiError):
        with make_client(retries=0) as client:
            VspApi(client).list_pools()
    assert no_sleep == []


def test_backoff_exact_with_upper_and_lower_jitter():
    upper = make_client(rng=EdgeRng())
    lower = make_client(rng=EdgeRng(low=True))
    assert [upper.backoff(a) for a in range(8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert [lower.backoff(a) for a in range(8)] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert upper.backoff(3, retry_after=7.0) == 7.0


def test_backoff_exact_with_a_seeded_random_source():
    expected_rng = random.Random(20261201)
    expected = []
    for attempt in range(6):
        delay = min(30.0, 0.5 * 2 ** attempt)
        expected.append(delay / 2 + expected_rng.uniform(0, delay / 2))
    client = make_client(rng=random.Random(20261201))
    delays = [client.backoff(a) for a in range(6)]
    assert delays == expected
    assert len(set(delays)) == 6  # not a constant
    assert all(0.5 * min(30.0, 0.5 * 2 ** a) <= d <= min(30.0, 0.5 * 2 ** a) for a, d in enumerate(delays))


def test_retry_after_beats_backoff_and_is_capped(vsp, no_sleep):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=503, json=kart_error('KART00003-E', 'busy'), headers={'Retry-After': '99999'})
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    with make_client(rng=EdgeRng()) as client:
        VspApi(client).list_pools()
    assert no_sleep == [120.0]


def test_retries_made_hold_no_secret(vsp, no_sleep):
    vsp.login()
    vsp.add('POST', '/v1/objects/encryption-keys/file/actions/backup/invoke', status=503, json=kart_error('KART00003-E', 'busy'))
    vsp.add('POST', '/v1/objects/encryption-keys/file/actions/backup/invoke', body=b'k', content_type='application/octet-stream')
    vsp.logout()
    with make_client() as client:
        VspApi(client).backup_keys_to_file(BACKUP_PASSWORD).close()
        assert [r['reason'] for r in client.retries_made] == ['HTTP 503']
        assert_no_secret(client.retries_made)


def test_retry_wait_recorded_to_the_millisecond():
    c = make_client()
    c.record_retry('GET', '/v1/x', 'HTTP 503', 1.23456)
    assert c.retries_made == [{'method': 'GET', 'path': '/v1/x', 'reason': 'HTTP 503', 'wait_seconds': 1.235}]


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


@pytest.mark.parametrize('value, expected', [('0', 0.0), ('0.5', 0.5), ('-3', 0.0), ('500', client_mod.RETRY_AFTER_CAP), ('soon', None)])
def test_retry_after_is_clamped_to_0_and_120_seconds_and_ignored_when_not_a_number(value, expected):
    assert VspClient._retry_after(response(503, headers={'Retry-After': value})) == expected


def test_no_retry_after_header_gives_no_wait():
    assert VspClient._retry_after(response(503)) is None


@pytest.mark.parametrize('status, expected', [
    (399, None),
    (400, 'HTTP 400 KART00003-E (the REST server is busy)'),
    (401, None),
    (402, 'HTTP 402 KART00003-E (the REST server is busy)'),
])
def test_a_busy_answer_is_retried_from_http_400_but_not_401(status, expected):
    body = json.dumps({'messageID': 'KART00003-E'}).encode()
    assert VspClient._retry_reason(response(status, body, 'application/json'), 'POST', False) == expected


def test_the_solution_type_retry_reason_caps_the_message_id_at_64():
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


def test_login_is_retried_when_busy(vsp, no_sleep):
    vsp.add('POST', '/v1/objects/sessions', status=503)
    vsp.login()
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    with make_client() as c:
        assert c.get_json('/v1/objects/pools') == {'data': []}
    assert c.retries_made[0]['method'] == 'POST'


def test_login_is_repeated_after_a_connection_broken_after_sending(vsp, no_sleep):
    vsp.add('POST', '/v1/objects/sessions', body=requests.ConnectionError('Connection reset by peer'))
    vsp.login()
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    with make_client() as c:
        assert c.get_json('/v1/objects/pools') == {'data': []}
    assert [(r['method'], r['reason']) for r in c.retries_made] == [('POST', 'connection reset by peer')]


def test_a_request_marked_idempotent_stays_so_after_401(vsp, no_sleep):
    vsp.login()
    vsp.add('POST', '/v1/objects/x', status=401, json={})
    vsp.login(token='second-token', session_id=4)
    vsp.add('POST', '/v1/objects/x', body=requests.ConnectionError('Connection reset by peer'))
    vsp.add('POST', '/v1/objects/x', json={'ok': 1})
    vsp.logout(session_id=4)
    with make_client() as c:
        assert c.request('POST', '/v1/objects/x', json={'a': 1}, idempotent=True).json() == {'ok': 1}
    assert [(r['method'], r['reason']) for r in c.retries_made] == [('POST', 'connection reset by peer')]


def test_empty_200_of_a_get_is_retried(vsp, no_sleep):
    """Hitachi: the 500 HTML answers are sometimes preceded by a 200 with an empty body."""
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=200, body=b'')
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    with make_client() as client:
        assert VspApi(client).list_pools() == []
        assert [r['reason'] for r in client.retries_made] == ['HTTP 200 with an empty body']


def test_empty_200_of_a_write_is_not_retried(vsp, no_sleep):
    vsp.login()
    vsp.add('POST', KMS_RESTORE, status=200, body=b'')
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client() as client:
            VspApi(client).restore_keys_from_kms()
    assert 'without a job object' in str(info.value)
    assert no_sleep == []


def test_error_object_with_solution_type_retry_is_retried_when_idempotent(vsp, no_sleep):
    retry = dict(kart_error('KART40071-E', 'Try again.'), solutionType='RETRY')
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=409, json=retry)
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.add('POST', KMS_RESTORE, status=409, json=retry)
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client() as client:
            api = VspApi(client)
            assert api.list_pools() == []
            assert [r['reason'] for r in client.retries_made] == ['HTTP 409 KART40071-E with solutionType RETRY']
            api.restore_keys_from_kms()  # not idempotent: reported, not repeated
    assert info.value.message_id == 'KART40071-E'
    assert len(no_sleep) == 1


# -- array text -----------------------------------------------------------------------------------
def test_array_error_text_is_cleaned_and_capped(vsp):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=412,
            json=kart_error('KART30000-E\x1b]0;x\x07', 'bad\x1b[2J\r\nok: [vsp] => done' + 'm' * 2000, 'c\u202eause', 'sol\nution'))
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with make_client() as client:
            VspApi(client).list_pools()
    exc = info.value
    text = str(exc)
    for bad in ('\x1b', '\r', '\n', '\x07', '\u202e'):
        assert bad not in text
        assert bad not in repr(exc.to_result())
    assert exc.message.startswith('bad [2J  ok: [vsp] => done')
    assert len(exc.message) == 503 and exc.message.endswith('...')
    assert exc.cause == 'c ause'
    assert exc.solution == 'sol ution'


# -- error summaries, connection error names, what was not sent -------------------------------------
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
def test_http_error_summary_gives_a_hint_for_401_and_403_only(status, hint):
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


def test_media_type_is_lower_case_without_parameters():
    assert client_mod.media_type(response(200, content_type='Application/JSON; charset=utf-8; x=y')) == 'application/json'
    assert client_mod.media_type(response(200, content_type='text/plain;a;b')) == 'text/plain'
    assert client_mod.media_type(response(200)) == ''


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
def test_each_connection_error_has_a_short_name(text, expected):
    assert client_mod._describe_connection_error(requests.exceptions.ConnectionError(text)) == expected


def test_a_connect_timeout_is_named_other_errors_by_their_type():
    assert client_mod._describe_connection_error(requests.exceptions.ConnectTimeout('x')) == 'connection timed out'
    assert client_mod._describe_connection_error(requests.exceptions.ReadTimeout('x')) == 'connection error (ReadTimeout)'


def test_tls_errors_word_for_word():
    mismatch = requests.exceptions.SSLError("certificate verify failed: Hostname mismatch, certificate is not valid for 'x'")
    assert client_mod._describe_connection_error(mismatch) == (
        'TLS error (hostname mismatch: the certificate of the array does not name the host connected to; set host to a '
        'name or IP address the certificate lists)')
    other = requests.exceptions.SSLError("hostname 'a' doesn't match 'b'")
    assert client_mod._describe_connection_error(other).startswith('TLS error (hostname mismatch')
    untrusted = requests.exceptions.SSLError('certificate verify failed: unable to get local issuer certificate')
    assert client_mod._describe_connection_error(untrusted) == (
        'TLS error (certificate not trusted? set ca_path to the CA of the array, or validate_certs: false for a test system)')


def test_not_sent_only_when_the_request_cannot_have_reached_the_array():
    assert client_mod._not_sent(requests.exceptions.ConnectTimeout('x'), 'connection timed out')
    wrapped = urllib3.exceptions.MaxRetryError(None, '/x', urllib3.exceptions.NewConnectionError(None, 'refused'))
    assert client_mod._not_sent(requests.exceptions.ConnectionError(wrapped), 'connection error (ConnectionError)')
    assert client_mod._not_sent(requests.exceptions.ConnectionError(urllib3.exceptions.ConnectTimeoutError('t')), 'other')
    assert not client_mod._not_sent(requests.exceptions.ConnectionError('x'), 'connection closed by the server')
    assert not client_mod._not_sent(requests.exceptions.ConnectionError(), 'connection reset by peer')
    assert client_mod._not_sent(requests.exceptions.ConnectionError(), 'connection refused')


@pytest.mark.parametrize('description', ['connection refused', 'host name could not be resolved', 'connection timed out'])
def test_refused_unresolved_and_timed_out_connections_count_as_not_sent(description):
    assert client_mod._not_sent(requests.exceptions.ConnectionError(), description)
