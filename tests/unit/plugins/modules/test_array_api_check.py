# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import copy
import json

import pytest
import requests
from conftest import BACKUP_PASSWORD, HOST, PASSWORD, assert_no_secret, connection_args, kart_error, ldev

from ansible_collections.vsp.encryption.plugins.modules import array_api_check
from ansible_collections.vsp.encryption.plugins.module_utils import _api_check as api_check

SID = '936000412345'
KEY_TIME = '2026-01-05T09:00:00Z'


def key(key_id, key_type, location='-'):
    return {'keyId': str(key_id), 'createdTime': KEY_TIME, 'keyType': key_type, 'uuid': '-', 'targetDeviceLocation': location,
            'keyGeneratedLocation': 'DKC', 'numOfBackups': 2}


def answers():
    """What an array answering as the collection expects sends, by step name (bodies may be edited by a test)."""
    deks = [key(0, 'DEK', 'HDD00-00'), key(1, 'DEK', 'HDD00-01')]
    return {
        'version': (200, {'productName': 'Configuration Manager REST API', 'apiVersion': '1.31.0'}),
        'storage': (200, {'storageDeviceId': SID, 'serialNumber': 412345, 'model': 'VSP E990'}),
        'storages': (200, {'data': [{'storageDeviceId': SID}]}),
        'pools_short': (200, {'data': [{'poolId': 0, 'poolStatus': 'POLN'}]}),
        'pools_long': (200, {'data': [{'poolId': 0, 'poolStatus': 'POLN'}]}),
        'DEK': (200, {'data': deks}),
        'CEK': (200, {'data': [key(2, 'CEK')]}),
        'KEK': (200, {'data': [key(3, 'KEK')]}),
        'FREE': (200, {'data': [key(4, 'FREE')]}),
        'page1': (200, {'data': deks[:1]}),
        'page2': (200, {'data': deks[1:]}),
        'drives': (200, {'data': [{'driveLocationId': 'HDD00-00', 'parityGroupId': '1-1'},
                                  {'driveLocationId': 'HDD00-01', 'parityGroupId': '1-1'}]}),
        'groups': (200, {'data': [{'parityGroupId': '1-1', 'isEncryptionEnabled': True},
                                  {'parityGroupId': '2-1', 'isEncryptionEnabled': False}]}),
        'group_drives': (200, {'data': [{'driveLocationId': 'HDD00-00', 'parityGroupId': '1-1'},
                                        {'driveLocationId': 'HDD00-01', 'parityGroupId': '1-1'}]}),
        'group_ldevs': (200, {'data': [ldev(0), ldev(1)]}),
        'pools': (200, {'data': [{'poolId': 0, 'poolStatus': 'POLN'}]}),
        'pool_volumes': (200, {'data': [ldev(0), ldev(1)]}),
        'dp_volumes': (200, {'data': [ldev(9, pool_volume=False)]}),
        'jobs': (200, {'data': [{'jobId': 7, 'status': 'Completed', 'state': 'Succeeded', 'createdTime': KEY_TIME,
                                 'updatedTime': KEY_TIME, 'affectedResources': []}]}),
        'missing_group': (404, kart_error('KART30013-E', 'Specified object does not exist. (parityGroupId = 63-63)',
                                          'The object does not exist.', 'Check the URL.')),
        'missing_ldev': (404, kart_error('KART30013-E', 'Specified object does not exist.', 'x', 'y')),
    }


ORDER = [
    ('version', '/configuration/version'),
    ('storage', '/v1/objects/storages/instance'),
    ('storages', '/v1/objects/storages'),
    ('pools_short', '/v1/objects/pools'),
    ('pools_long', '/v1/objects/storages/%s/pools' % SID),
    ('DEK', '/v1/objects/encryption-keys'), ('CEK', '/v1/objects/encryption-keys'),
    ('KEK', '/v1/objects/encryption-keys'), ('FREE', '/v1/objects/encryption-keys'),
    ('page1', '/v1/objects/encryption-keys'), ('page2', '/v1/objects/encryption-keys'),
    ('drives', '/v1/objects/drives'),
    ('groups', '/v1/objects/parity-groups'),
    ('group_drives', '/v1/objects/drives'),
    ('group_ldevs', '/v1/objects/ldevs'),
    ('pools', '/v1/objects/pools'),
    ('pool_volumes', '/v1/objects/ldevs'),
    ('dp_volumes', '/v1/objects/ldevs'),
    ('jobs', '/v1/objects/jobs'),
    ('missing_group', '/v1/objects/parity-groups/63-63'),
    ('missing_ldev', '/v1/objects/ldevs/65279'),
]


def register(vsp, bodies, skip=()):
    vsp.login()
    for name, path in ORDER:
        if name in skip:
            continue
        status, body = bodies[name]
        vsp.add('GET', path, status=status, json=body)
    vsp.logout()


def by_name(result):
    return dict((c['name'], c) for c in result['checks'])


def test_an_array_as_expected_confirms_everything_with_gets_only(vsp):
    register(vsp, answers())
    result = vsp.run(array_api_check.main, connection_args())
    checks = by_name(result)
    assert result['summary'] == {'confirmed': len(checks), 'differs': 0, 'not_checked': 0}, result['checks']
    assert result['changed'] is False and result['api_version'] == '1.31.0'
    assert result['storage'] == {'storage_device_id': SID, 'serial_number': 412345, 'model': 'VSP E990'}
    assert [m for m, p in vsp.calls] == ['POST'] + ['GET'] * len(ORDER) + ['DELETE']
    assert vsp.write_calls() == []
    assert '| key_id_string | confirmed |' in result['report_markdown']
    # the query strings of the facts the collection relies on
    urls = [c.request.url for c in vsp.rsps.calls]
    assert any('keyType=DEK&count=1&startKeyId=1' in u for u in urls)
    assert any('ldevOption=dpVolume&poolId=0' in u for u in urls)
    assert any('drives?parityGroupId=1-1' in u for u in urls)
    assert_no_secret(result)


def test_differences_are_reported_with_what_was_seen(vsp):
    bodies = answers()
    bodies['storage'] = (200, {'storageDeviceId': 936000412345, 'serialNumber': '412345', 'model': 'VSP E990'})
    deks = [dict(key(0, 'DEK', 'HDD00-00'), keyId=0), key(1, 'DEK', 'HDD09-09')]
    bodies['DEK'] = (200, {'data': deks})
    bodies['page1'] = (200, {'data': deks[:1]})
    bodies['page2'] = (200, {'data': deks[1:]})
    bodies['missing_group'] = (404, {'message': 'not found'})
    bodies['pool_volumes'] = (200, {'data': [ldev(0), ldev(9, pool_volume=False)]})
    register(vsp, bodies)
    result = vsp.run(array_api_check.main, connection_args())
    checks = by_name(result)
    assert checks['storage_identity']['status'] == 'differs'
    assert 'storageDeviceId is not a text of 12 digits' in checks['storage_identity']['seen']
    assert 'serialNumber is not an integer' in checks['storage_identity']['seen']
    assert checks['key_id_string']['status'] == 'differs' and '0' in checks['key_id_string']['seen']
    assert checks['dek_locations']['status'] == 'differs' and 'HDD09-09' in checks['dek_locations']['seen']
    assert checks['error_object_404']['status'] == 'differs' and 'errorSource' in checks['error_object_404']['seen']
    assert checks['pool_volumes_by_pool']['status'] == 'differs' and '9' in checks['pool_volumes_by_pool']['seen']
    assert result['summary']['differs'] == 5


def test_jobs_list_not_answered_is_not_checked_and_a_known_job_is_read(vsp):
    bodies = answers()
    bodies['jobs'] = (404, kart_error('KART30013-E', 'Specified object does not exist.'))
    register(vsp, bodies)
    result = vsp.run(array_api_check.main, connection_args())
    assert by_name(result)['job_object']['status'] == 'not_checked'
    assert 'give job_id' in by_name(result)['job_object']['seen']


def test_job_id_reads_that_job(vsp):
    bodies = answers()
    vsp_order = list(ORDER)
    index = [step[0] for step in vsp_order].index('jobs')
    vsp_order[index] = ('jobs', '/v1/objects/jobs/7')
    bodies['jobs'] = (200, copy.deepcopy(bodies['jobs'][1]['data'][0]))
    vsp.login()
    for name, path in vsp_order:
        status, body = bodies[name]
        vsp.add('GET', path, status=status, json=body)
    vsp.logout()
    result = vsp.run(array_api_check.main, connection_args(job_id=7))
    assert by_name(result)['job_object'] == dict(by_name(result)['job_object'], status='confirmed')
    assert "job 7: status 'Completed'" in by_name(result)['job_object']['seen']


def test_array_texts_are_cleaned_and_capped(vsp):
    bodies = answers()
    bodies['storage'] = (200, {'storageDeviceId': SID, 'serialNumber': 412345, 'model': 'VSP\x1b[31m' + 'X' * 2000})
    register(vsp, bodies)
    result = vsp.run(array_api_check.main, connection_args())
    seen = by_name(result)['storage_identity']['seen']
    assert '\x1b' not in seen and len(seen) <= api_check.SEEN_MAX + 3


def test_negative_job_id_refused_before_any_request(vsp):
    result = vsp.fail(array_api_check.main, connection_args(job_id=-1))
    assert 'job_id' in result['msg']
    assert vsp.calls == []


def test_opt_in_backup_checks_the_headers_and_keeps_no_key_material(vsp):
    register(vsp, answers(), skip=())
    # the opt-in backup comes after the reads, before the log out: move the log out behind it
    logout = vsp.rsps.registered()[-1]
    vsp.rsps.remove(logout)
    blob = b'\x00VSPEKF-key-material' * 64
    vsp.add('POST', '/v1/objects/encryption-keys/file/actions/backup/invoke', body=blob, content_type='application/octet-stream',
            headers={'Content-Disposition': 'attachment; filename="936000412345_20260105T020000Z.ekf"',
                     'Content-Length': str(len(blob))})
    vsp.logout()
    result = vsp.run(array_api_check.main, connection_args(backup_password=BACKUP_PASSWORD))
    check = by_name(result)['file_backup_headers']
    assert check['status'] == 'confirmed', check
    assert result['changed'] is True
    assert result['backup_headers'] == {'status': 200, 'content_type': 'application/octet-stream',
                                        'content_disposition': 'attachment; filename="936000412345_20260105T020000Z.ekf"',
                                        'content_length': str(len(blob)), 'bytes_received': len(blob)}
    assert vsp.write_calls() == [('POST', '/v1/objects/encryption-keys/file/actions/backup/invoke')]
    assert 'VSPEKF-key-material' not in json.dumps(result)
    assert_no_secret(result)


def test_opt_in_backup_in_check_mode_sends_no_write(vsp):
    register(vsp, answers())
    result = vsp.run(array_api_check.main, connection_args(backup_password=BACKUP_PASSWORD), check_mode=True)
    assert by_name(result)['file_backup_headers']['status'] == 'not_checked'
    assert result['changed'] is False and 'backup_headers' not in result
    assert vsp.write_calls() == []


def test_bad_backup_password_refused_before_any_request(vsp):
    result = vsp.fail(array_api_check.main, connection_args(backup_password='short'))
    assert 'backup_password' in result['msg'] and 'short' not in result['msg'].replace('too short', '')
    assert vsp.calls == []


# -- first contact: an array that is not reached, or refuses the log in, is one failure naming the cause ------------

def assert_not_reached(result, vsp, no_sleep):
    """Failed with every check not_checked (none differs), the report titled "not reached", one log in tried, no wait."""
    assert result['failed'] is True and result['reached'] is False
    assert result['summary'] == {'confirmed': 0, 'differs': 0, 'not_checked': len(result['checks'])}
    assert all(c['status'] == 'not_checked' and c['seen'].startswith('not run') for c in result['checks'])
    assert result['report_markdown'].startswith('# vsp.encryption: REST API check of https://%s:443: not reached' % HOST)
    assert 'unknown model' not in result['report_markdown']
    assert vsp.calls == [('POST', '/v1/objects/sessions')]  # once: no retries, no second log in, nothing else
    assert no_sleep == []
    assert_no_secret(result)


def test_connection_refused_fails_at_once_naming_the_cause_and_reports_nothing_as_differing(vsp, no_sleep):
    vsp.add('POST', '/v1/objects/sessions', body=requests.ConnectionError('[Errno 111] Connection refused'))
    result = vsp.fail(array_api_check.main, connection_args(retries=5))
    assert_not_reached(result, vsp, no_sleep)
    assert result['msg'].startswith('The array at https://%s:443 was not reached: connection refused' % HOST), result['msg']
    assert 'check host, port and protocol' in result['msg']
    assert result['msg'] in result['report_markdown']  # the report says why
    assert 'request_retries' not in result


def test_first_contact_uses_a_short_connect_timeout_and_says_when_it_ran_out(vsp, no_sleep):
    vsp.add('POST', '/v1/objects/sessions', body=requests.exceptions.ConnectTimeout('Connection to %s timed out' % HOST))
    result = vsp.fail(array_api_check.main, connection_args(retries=5, timeout=30))
    assert_not_reached(result, vsp, no_sleep)
    assert vsp.rsps.calls[0].request.req_kwargs['timeout'] == (10, 30)  # connect, read
    assert 'connection timed out (not set up within 10 s)' in result['msg'], result['msg']
    assert 'firewall' in result['msg']


def test_tls_error_fails_at_once_naming_ca_path_and_validate_certs(vsp, no_sleep):
    vsp.add('POST', '/v1/objects/sessions', body=requests.exceptions.SSLError(
        '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1000)'))
    result = vsp.fail(array_api_check.main, connection_args(ca_path='/etc/vsp/other-array-ca.pem'))
    assert_not_reached(result, vsp, no_sleep)
    assert 'TLS verification failed (unable to get local issuer certificate)' in result['msg'], result['msg']
    assert 'ca_path /etc/vsp/other-array-ca.pem' in result['msg'] and 'validate_certs' in result['msg']


def test_tls_error_without_ca_path_says_the_default_cas_were_used(vsp, no_sleep):
    vsp.add('POST', '/v1/objects/sessions', body=requests.exceptions.SSLError('certificate verify failed: self-signed certificate'))
    result = vsp.fail(array_api_check.main, connection_args())
    assert_not_reached(result, vsp, no_sleep)
    assert "default CAs (ca_path is not set)" in result['msg'], result['msg']


@pytest.mark.parametrize('body', [
    kart_error('KART40003-E', 'Authentication failed.', 'Authentication failed.', 'Check the credentials.'),
    {'messageId': 'KART40003-E', 'message': 'Authentication failed.'},
])
def test_login_refused_fails_once_with_the_message_id_never_the_password(vsp, no_sleep, body):
    vsp.add('POST', '/v1/objects/sessions', status=401, json=body)
    result = vsp.fail(array_api_check.main, connection_args(retries=5))
    assert_not_reached(result, vsp, no_sleep)
    assert result['msg'].startswith('The array at https://%s:443 refused the log in as admin (HTTP 401, KART40003-E '
                                    'Authentication failed.): wrong user name or password' % HOST), result['msg']
    assert result['message_id'] == 'KART40003-E' and result['http_status'] == 401
    assert PASSWORD not in json.dumps(result)


def test_a_busy_array_at_first_contact_is_still_retried(vsp, no_sleep):
    """503 is an answer of the array (busy, session cap): the usual retries, then the checks."""
    vsp.add('POST', '/v1/objects/sessions', status=503, json=kart_error('KART00003-E', 'busy'))
    register(vsp, answers())
    result = vsp.run(array_api_check.main, connection_args())
    assert result['reached'] is True and result['summary']['differs'] == 0
    assert len(no_sleep) == 1 and [r['reason'] for r in result['request_retries']] == ['HTTP 503']


def test_an_array_that_stops_answering_leaves_the_rest_not_checked_never_differs(vsp, no_sleep):
    bodies = answers()
    vsp.login()
    for name, path in ORDER[:5]:  # version, storage, storages, pools (short and long form)
        status, body = bodies[name]
        vsp.add('GET', path, status=status, json=body)
    for _attempt in range(3):  # retries=2: three attempts, then the check gives up
        vsp.add('GET', '/v1/objects/encryption-keys', body=requests.ConnectionError('[Errno 111] Connection refused'))
    vsp.add('DELETE', '/v1/objects/sessions/3', body=requests.ConnectionError('[Errno 111] Connection refused'))
    vsp.add('DELETE', '/v1/objects/sessions/3', body=requests.ConnectionError('[Errno 111] Connection refused'))
    vsp.add('DELETE', '/v1/objects/sessions/3', body=requests.ConnectionError('[Errno 111] Connection refused'))
    result = vsp.run(array_api_check.main, connection_args())
    checks = by_name(result)
    assert result['reached'] is True and result['summary']['differs'] == 0, result['checks']
    assert checks['url_forms']['status'] == 'confirmed'
    assert checks['key_list_dek']['status'] == 'not_checked'
    assert checks['key_list_dek']['seen'].startswith('not reached: Cannot reach https://%s:443' % HOST)
    assert 'connection refused' in checks['key_list_dek']['seen']
    later = result['checks'][result['checks'].index(checks['key_list_dek']) + 1:]
    assert later and all(c['status'] == 'not_checked' and 'stopped answering at check key_list_dek' in c['seen'] for c in later)
    assert [m for m, p in vsp.calls].count('GET') == 5 + 3  # nothing sent after the array stopped answering
