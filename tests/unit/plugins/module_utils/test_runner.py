# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""plugins/module_utils/_runner.py: run_module (one session, logged out in every case; a VspApiError or any other
exception becomes a failed result; the retries in the result; the connection warnings and checks),
unknown_storage_device_id and fail_on_error. The modules' own tests (tests/unit/plugins/modules) drive the runner
through real modules too: the 404 of a storage system the server does not manage is tested there."""

import json

import pytest
from conftest import (
    PASSWORD,
    TOKEN,
    AnsibleExitJson,
    AnsibleFailJson,
    FakeModule,
    assert_no_secret,
    connection_args,
    kart_error,
)

from ansible_collections.vsp.encryption.plugins.module_utils import _runner as runner
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.modules import encryption_key_info

HTML = '<html><body><h1>500 Internal Server Error</h1></body></html>'
POOLS = '/v1/objects/pools'
LOGOUT = ('DELETE', '/v1/objects/sessions/3')


def run_module_result(module, run):
    """The result ``runner.run_module(module, run)`` exits or fails with."""
    with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as info:
        runner.run_module(module, run)
    return info.value.result


# -- one session, logged out in every case ----------------------------------------------------------
def test_nothing_is_sent_when_run_makes_no_request(vsp):
    result = run_module_result(FakeModule(), lambda module, api: {'changed': False, 'answer': 42})
    assert result == {'changed': False, 'answer': 42}
    assert vsp.calls == []


def test_one_session_for_every_request_of_run_logged_out_after_success(vsp):
    vsp.login()
    vsp.get(POOLS, {'data': []})
    vsp.get(POOLS, {'data': []})
    vsp.logout()
    result = run_module_result(FakeModule(), lambda module, api: {'changed': False, 'pools': api.list_pools() + api.list_pools()})
    assert result == {'changed': False, 'pools': []}
    assert [c[0] for c in vsp.calls] == ['POST', 'GET', 'GET', 'DELETE']


def test_the_session_is_logged_out_after_a_vsp_api_error(vsp):
    vsp.login()
    vsp.add('GET', POOLS, status=500, json=kart_error())
    vsp.logout()
    result = run_module_result(FakeModule(), lambda module, api: {'pools': api.list_pools()})
    assert result['failed'] is True
    assert vsp.calls[-1] == LOGOUT


def test_the_session_is_logged_out_after_an_unexpected_exception(vsp):
    def run(module, api):
        api.list_pools()
        raise KeyError('parityGroupId')

    vsp.login()
    vsp.get(POOLS, {'data': []})
    vsp.logout()
    result = run_module_result(FakeModule(), run)
    assert result['failed'] is True
    assert vsp.calls[-1] == LOGOUT


# -- a VspApiError becomes a failed result with the error fields ------------------------------------
def test_an_array_error_fails_with_its_description_and_fields(vsp):
    vsp.login()
    vsp.add('GET', POOLS, status=412, json=kart_error())
    vsp.logout()
    result = run_module_result(FakeModule(), lambda module, api: {'pools': api.list_pools()})
    assert result == {
        'failed': True, 'changed': False,
        'msg': 'GET /v1/objects/pools failed with HTTP 412: KART30000-E An error occurred in the storage system. '
               'Cause: The state is incorrect. Solution: Check the state.',
        'http_status': 412, 'message_id': 'KART30000-E', 'error_message': 'An error occurred in the storage system.',
        'cause': 'The state is incorrect.', 'solution': 'Check the state.', 'request_method': 'GET',
        'request_path': '/v1/objects/pools'}
    assert_no_secret(result)


def test_the_details_of_an_error_are_return_values_and_may_say_changed(vsp):
    def run(module, api):
        raise VspApiError('Step 2 failed', details={'changed': True, 'volumes_changed': [5]})

    result = run_module_result(FakeModule(), run)
    assert result == {'failed': True, 'changed': True, 'msg': 'Step 2 failed', 'volumes_changed': [5]}
    assert vsp.calls == []


def test_the_error_fields_win_over_details_of_the_same_name():
    def run(module, api):
        raise VspApiError('Refused', status=409, details={'http_status': 'not this'})

    result = run_module_result(FakeModule(), run)
    assert result['http_status'] == 409 and result['msg'] == 'Refused (HTTP 409)'


# -- an unexpected exception becomes a failed result ------------------------------------------------
def test_an_unexpected_exception_fails_with_its_type_and_text_and_no_secret(vsp):
    def run(module, api):
        api.list_pools()
        raise ValueError('the answer had no poolId')

    vsp.login()
    vsp.get(POOLS, {'data': []})
    vsp.logout()
    result = run_module_result(FakeModule(), run)
    assert result['failed'] is True
    assert result['msg'] == 'Unexpected error: ValueError: the answer had no poolId'
    assert 'ValueError: the answer had no poolId' in result['exception']  # the traceback, for -vvv
    assert 'request_retries' not in result
    assert_no_secret(result)
    assert PASSWORD not in result['exception'] and TOKEN not in result['exception']


def test_the_retries_before_an_unexpected_exception_are_in_the_result(vsp, no_sleep):
    def run(module, api):
        api.list_pools()
        raise RuntimeError('surprise')

    vsp.login()
    vsp.add('GET', POOLS, status=503, json=kart_error('KART00003-E', 'busy'))
    vsp.get(POOLS, {'data': []})
    vsp.logout()
    result = run_module_result(FakeModule(), run)
    assert result['msg'] == 'Unexpected error: RuntimeError: surprise'
    assert result['request_retries'] == [{'method': 'GET', 'path': POOLS, 'reason': 'HTTP 503', 'wait_seconds': round(no_sleep[0], 3)}]


# -- retries under request_retries ------------------------------------------------------------------
def test_retries_are_in_the_result_on_success(vsp, no_sleep):
    vsp.login()
    vsp.add('GET', '/v1/objects/pools', status=500, body=HTML, content_type='text/html')
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    result = run_module_result(FakeModule(), lambda module, api: {'changed': False, 'pools': api.list_pools()})
    assert result['request_retries'] == [{'method': 'GET', 'path': '/v1/objects/pools', 'reason': 'HTTP 500 with an HTML page',
                                          'wait_seconds': round(no_sleep[0], 3)}]
    assert 'failed' not in result


def test_retries_are_in_the_result_on_failure(vsp, no_sleep):
    vsp.login()
    for _dummy in range(3):
        vsp.add('GET', '/v1/objects/pools', status=503, json=kart_error('KART00003-E', 'busy'))
    vsp.logout()
    result = run_module_result(FakeModule(retries=2), lambda module, api: {'pools': api.list_pools()})
    assert result['failed'] is True
    assert [r['reason'] for r in result['request_retries']] == ['HTTP 503', 'HTTP 503']
    assert_no_secret(result)


def test_no_request_retries_key_without_a_retry(vsp):
    vsp.login()
    vsp.get('/v1/objects/pools', {'data': []})
    vsp.logout()
    result = run_module_result(FakeModule(), lambda module, api: {'pools': api.list_pools()})
    assert 'request_retries' not in result


# -- connection warnings ----------------------------------------------------------------------------
def test_warnings_name_the_risk():
    http = FakeModule(protocol='http', port=80)
    insecure = FakeModule(validate_certs=False)
    secure = FakeModule()
    for module in (http, insecure, secure):
        run_module_result(module, lambda module, api: {'changed': False})
    assert http.warnings == ['protocol is http: the password, the session token and the key file are sent in clear text']
    assert insecure.warnings == ['validate_certs is false: the certificate of the array is not checked, so a man in the '
                                 'middle can read the password and the key file']
    assert secure.warnings == []


def test_http_without_certificate_check_warns_once_about_clear_text():
    module = FakeModule(protocol='http', port=80, validate_certs=False)
    run_module_result(module, lambda module, api: {'changed': False})
    assert module.warnings == [runner.WARN_HTTP]


# -- the connection options checked before anything is sent -----------------------------------------
@pytest.mark.parametrize('sid', ['../../escape', '*', '90000006172', '900000061726\n', '9000000617261'])
def test_user_storage_device_id_is_checked_before_anything_is_sent(vsp, sid):
    result = run_module_result(FakeModule(storage_device_id=sid), lambda module, api: {'pools': api.list_pools()})
    assert result['failed'] is True
    assert result['msg'].startswith('storage_device_id: %r is not a storage device id; the rule: 12 digits' % sid)
    assert vsp.calls == []


# requests encodes Basic auth as latin-1; a euro sign in the password failed with a UnicodeEncodeError.
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


def test_missing_requests_fails_with_missing_required_lib(monkeypatch):
    monkeypatch.setattr(runner, 'HAS_REQUESTS', False)
    result = run_module_result(FakeModule(), lambda module, api: {})
    assert 'requests' in result['msg'] and result['failed'] is True


# -- unknown_storage_device_id: a 404 of a storage system the server does not manage ----------------
class StorageApi(object):
    """The parts of VspApi that unknown_storage_device_id uses; ``storage()`` raises ``unknown`` when given."""

    def __init__(self, storage_device_id, unknown=None):
        self.client = type('Client', (object,), {'storage_device_id': storage_device_id})()
        self.unknown = unknown
        self.asked = 0

    def storage(self):
        self.asked += 1
        if self.unknown is not None:
            raise self.unknown
        return {'storageDeviceId': self.client.storage_device_id}


SID = '900000099999'
NOT_MANAGED = VspApiError('storage_device_id 900000099999 is not a storage system of this REST server')


def not_found(path, status=404):
    return VspApiError('GET %s failed with HTTP %d' % (path, status), status=status, method='GET', path=path)


def test_a_404_of_an_object_of_the_storage_system_asks_the_server_once_and_names_the_cause():
    api = StorageApi(SID, unknown=NOT_MANAGED)
    assert runner.unknown_storage_device_id(api, not_found('/v1/objects/storages/%s/pools' % SID)) is NOT_MANAGED
    assert api.asked == 1


def test_a_404_stays_when_the_server_knows_the_storage_system():
    api = StorageApi(SID)
    error = not_found('/v1/objects/storages/%s/pools' % SID)
    assert runner.unknown_storage_device_id(api, error) is error
    assert api.asked == 1


@pytest.mark.parametrize('sid, error', [
    (SID, not_found('/v1/objects/storages/%s/pools' % SID, status=400)),  # not a 404
    (SID, not_found('/v1/objects/storages/900000061726/pools')),  # another storage system
    (SID, not_found('/v1/objects/storages/%s' % SID)),  # not an object of it
    (SID, not_found('/v1/objects/pools')),
    (SID, VspApiError('no path', status=404)),
    (None, not_found('/v1/objects/storages/%s/pools' % SID)),  # no storage_device_id given
])
def test_any_other_error_is_returned_as_it_is_without_a_request(sid, error):
    api = StorageApi(sid, unknown=NOT_MANAGED)
    assert runner.unknown_storage_device_id(api, error) is error
    assert api.asked == 0


# -- fail_on_error: a local check -------------------------------------------------------------------
def test_fail_on_error_returns_what_the_check_returns():
    assert runner.fail_on_error(FakeModule(), lambda a, b=0: a + b, 1, b=2) == 3


def test_fail_on_error_fails_with_the_description_and_the_error_fields():
    def check(path):
        raise VspApiError('path: %s is not a directory' % path, message_id='LOCAL-1', cause='a file is in the way')

    with pytest.raises(AnsibleFailJson) as info:
        runner.fail_on_error(FakeModule(), check, '/backups')
    assert info.value.result == {'failed': True, 'msg': 'path: /backups is not a directory: LOCAL-1. Cause: a file is in the way.',
                                 'message_id': 'LOCAL-1', 'cause': 'a file is in the way'}


def test_fail_on_error_lets_other_exceptions_through():
    def check():
        raise KeyError('x')

    with pytest.raises(KeyError):
        runner.fail_on_error(FakeModule(), check)
