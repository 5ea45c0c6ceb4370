# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import base64

import pytest
import requests
from conftest import PASSWORD, TOKEN, assert_no_secret, connection_args, job, kart_error

from ansible_collections.vsp.encryption.plugins.module_utils import client as client_mod
from ansible_collections.vsp.encryption.plugins.module_utils.api import VspApi
from ansible_collections.vsp.encryption.plugins.module_utils.client import VspClient
from ansible_collections.vsp.encryption.plugins.module_utils.errors import VspApiError

STORAGE = {'storageDeviceId': '900000061726', 'model': 'VSP 5600', 'serialNumber': 61726}
CHANGE = '/v1/objects/ldevs/5/actions/change-status/invoke'
KMS_RESTORE = '/v1/objects/encryption-keys/all/actions/kms-restore/invoke'


def make_client(**extra):
    return VspClient(connection_args(**extra))


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


def test_connection_refused_after_bound(vsp):
    for _dummy in range(3):
        vsp.add('POST', '/v1/objects/sessions', body=requests.ConnectionError('[Errno 111] Connection refused'))
    with pytest.raises(VspApiError) as info:
        with make_client(retries=2) as client:
            VspApi(client).list_pools()
    assert 'connection refused after 2 retries' in str(info.value)


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
