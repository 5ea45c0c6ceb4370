# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import base64
import json
import random

import pytest
import requests
from conftest import (
    BACKUP_PASSWORD,
    PASSWORD,
    TOKEN,
    AnsibleExitJson,
    AnsibleFailJson,
    EdgeRng,
    FakeModule,
    SeqClock,
    assert_no_secret,
    connection_args,
    job,
    kart_error,
)

from ansible_collections.vsp.encryption.plugins.module_utils import _client as client_mod
from ansible_collections.vsp.encryption.plugins.module_utils import _runner as runner
from ansible_collections.vsp.encryption.plugins.module_utils._api import VspApi
from ansible_collections.vsp.encryption.plugins.module_utils._client import VspClient
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.modules import encryption_key_info

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


# -- run_module: warnings, retries in the result, connection options ---------------------------------
def _run(module, run):
    with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as info:
        runner.run_module(module, run)
    return info.value.result


def test_warnings_name_the_risk():
    http = FakeModule(protocol='http', port=80)
    insecure = FakeModule(validate_certs=False)
    secure = FakeModule()
    for module in (http, insecure, secure):
        _run(module, lambda module, api: {'changed': False})
    assert http.warnings == ['protocol is http: the password, the session token and the key file are sent in clear text']
    assert insecure.warnings == ['validate_certs is false: the certificate of the array is not checked, so a man in the '
                                 'middle can read the password and the key file']
    assert secure.warnings == []


def test_retries_are_in_the_result_on_success(vsp, no_sleep):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=500, body=HTML, content_type='text/html')
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    result = _run(FakeModule(), lambda module, api: {'changed': False, 'pools': api.list_pools()})
    assert result['request_retries'] == [{'method': 'GET', 'path': '/v1/objects/pools', 'reason': 'HTTP 500 with an HTML page',
                                          'wait_seconds': round(no_sleep[0], 3)}]
    assert 'failed' not in result


def test_retries_are_in_the_result_on_failure(vsp, no_sleep):
    vsp.login()
    for _dummy in range(3):
        vsp.add('GET', '/v1/objects/pools', status=503, json=kart_error('KART00003-E', 'busy'))
    vsp.logout()
    result = _run(FakeModule(retries=2), lambda module, api: {'pools': api.list_pools()})
    assert result['failed'] is True
    assert [r['reason'] for r in result['request_retries']] == ['HTTP 503', 'HTTP 503']
    assert_no_secret(result)


def test_no_retries_no_key(vsp):
    vsp.login()
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    result = _run(FakeModule(), lambda module, api: {'pools': api.list_pools()})
    assert 'request_retries' not in result


@pytest.mark.parametrize('sid', ['../../escape', '*', '90000006172', '900000061726\n', '9000000617261'])
def test_user_storage_device_id_is_checked_before_anything_is_sent(vsp, sid):
    result = _run(FakeModule(storage_device_id=sid), lambda module, api: {'pools': api.list_pools()})
    assert result['failed'] is True
    assert result['msg'].startswith('storage_device_id: %r is not a storage device id; the rule: 12 digits' % sid)
    assert vsp.calls == []


def test_missing_requests_fails_with_missing_required_lib(monkeypatch):
    monkeypatch.setattr(runner, 'HAS_REQUESTS', False)
    result = _run(FakeModule(), lambda module, api: {})
    assert 'requests' in result['msg'] and result['failed'] is True


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


# Issue 22: requests encodes Basic auth as latin-1; a euro sign in the password failed with a UnicodeEncodeError.
@pytest.mark.parametrize('option, value, rule', [
    ('password', 'Conn-S3cret-\u20ac', 'password contains a character outside ASCII (at position 13); the rule: a password of an array user'),
    ('username', 'admin\u20ac', 'username contains a character outside ASCII (at position 6); the rule: a user name of the array'),
])
def test_a_module_with_a_non_ascii_credential_fails_with_the_rule_and_sends_nothing(vsp, option, value, rule):
    result = vsp.fail(encryption_key_info.main, connection_args(**{option: value}))
    assert result['msg'].startswith(rule) and result['msg'].endswith('nothing was sent')
    assert 'UnicodeEncodeError' not in result['msg'] and 'exception' not in result
    assert value not in json.dumps(result, ensure_ascii=False) and '\u20ac' not in result['msg']
    assert vsp.calls == []
