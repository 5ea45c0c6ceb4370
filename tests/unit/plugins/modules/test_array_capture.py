# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import functools
import json
import os
import stat

import pytest
from conftest import SeqClock, assert_no_secret, connection_args

from ansible_collections.vsp.encryption.plugins.modules import array_capture
from ansible_collections.vsp.encryption.plugins.module_utils import _capture as capture
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError

SID = '936000412345'
JOB_SECRET = 'Job-Body-Pa55word'


def key(key_id, key_type, location='-'):
    return {'keyId': str(key_id), 'createdTime': '2026-01-05T09:00:00Z', 'keyType': key_type, 'uuid': '-',
            'targetDeviceLocation': location, 'keyGeneratedLocation': 'DKC', 'numOfBackups': 2}


def pool_volume(ldev_id, pg):
    return {'ldevId': ldev_id, 'attributes': ['CVS', 'POOL'], 'status': 'NML', 'parityGroupIds': [pg], 'composingPoolId': 0,
            'label': 'finance-db-%d' % ldev_id}


def expect_capture(vsp):
    """The requests array_capture sends, in order, with answers of a small array (1-1 encrypted, 2-1 not)."""
    vsp.login()
    vsp.get('/configuration/version', {'productName': 'Configuration Manager REST API', 'apiVersion': '1.31.0'})
    vsp.get('/v1/objects/storages/instance', {'storageDeviceId': SID, 'serialNumber': 412345, 'model': 'VSP E990',
                                              'ctl1Ip': '10.20.30.41', 'ctl2Ip': '10.20.30.42'})
    vsp.get('/v1/objects/parity-groups', {'data': [{'parityGroupId': '1-1', 'isEncryptionEnabled': True},
                                                   {'parityGroupId': '2-1', 'isEncryptionEnabled': False}]})
    drives = [{'driveLocationId': 'HDD00-0%d' % i, 'parityGroupId': '1-1', 'serialNumber': 'WD-XYZ%d' % i} for i in range(2)]
    vsp.get('/v1/objects/drives', {'data': drives})
    vsp.get('/v1/objects/drives?parityGroupId=1-1', {'data': drives})
    vsp.get('/v1/objects/ldevs?count=16384&parityGroupId=1-1', {'data': [pool_volume(0, '1-1'), pool_volume(1, '1-1')]})
    vsp.get('/v1/objects/pools', {'data': [{'poolId': 0, 'poolName': 'finance-pool', 'poolStatus': 'POLN'}]})
    vsp.get('/v1/objects/ldevs?count=16384&poolId=0', {'data': [pool_volume(0, '1-1'), pool_volume(1, '1-1')]})
    vsp.get('/v1/objects/ldevs?ldevOption=dpVolume&poolId=0&count=16384',
            {'data': [{'ldevId': 5, 'attributes': ['CVS', 'HDP'], 'poolId': 0, 'label': 'finance-db-5'}]})
    vsp.get('/v1/objects/encryption-keys?keyType=DEK', {'data': [key(0, 'DEK', 'HDD00-00'), key(1, 'DEK', 'HDD00-01')]})
    vsp.get('/v1/objects/encryption-keys?keyType=CEK', {'data': [key(2, 'CEK')]})
    vsp.get('/v1/objects/encryption-keys?keyType=KEK', {'data': [key(3, 'KEK')]})
    vsp.get('/v1/objects/encryption-keys?keyType=FREE', {'data': [key(4, 'FREE')]})
    vsp.get('/v1/objects/jobs?count=100', {'data': [{'jobId': 7, 'status': 'Completed', 'request': {
        'requestUrl': 'https://10.20.30.41/ConfigurationManager/v1/objects/storages/%s/encryption-keys/file/actions/backup/invoke' % SID,
        'requestBody': '{"parameters": {"password": "%s"}}' % JOB_SECRET}}]})
    vsp.logout()


def test_capture_writes_every_answer_0600_with_its_metadata_and_sends_only_gets(vsp, tmp_path):
    expect_capture(vsp)
    path = str(tmp_path / 'vsp01.json')
    result = vsp.run(array_capture.main, connection_args(path=path))
    assert vsp.write_calls() == []
    assert result['changed'] and result['written'] and result['path'] == path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as handle:
        doc = json.load(handle)
    assert doc['format'] == 'vsp.encryption.array_capture' and doc['format_version'] == 1
    assert doc['api_version'] == '1.31.0' and doc['collection_version'] == capture.COLLECTION_VERSION
    assert doc['captured_at'].endswith('Z') and doc['redacted'] is False
    assert len(doc['answers']) == 14 and all(a['method'] == 'GET' and a['status'] == 200 for a in doc['answers'])
    assert doc['key_counts'] == {'DEK': 2, 'CEK': 1, 'KEK': 1, 'FREE': 1}
    assert result['summary'] == {'storage_device_id': SID, 'serial_number': 412345, 'model': 'VSP E990', 'api_version': '1.31.0',
                                 'encrypted_parity_groups': ['1-1'], 'pool_volumes': 2, 'dp_volumes': 1,
                                 'key_counts': doc['key_counts'], 'requests': 14}
    assert result['size'] == os.path.getsize(path)
    assert [n for n in os.listdir(str(tmp_path)) if n != 'vsp01.json'] == []  # no temp file left


def test_a_field_that_may_hold_a_secret_is_not_captured(vsp, tmp_path):
    expect_capture(vsp)
    path = str(tmp_path / 'c.json')
    result = vsp.run(array_capture.main, connection_args(path=path))
    text = open(path).read()
    assert JOB_SECRET not in text and capture.NOT_CAPTURED in text
    assert_no_secret(text, result)


def test_check_mode_reads_but_writes_nothing(vsp, tmp_path):
    expect_capture(vsp)
    path = str(tmp_path / 'c.json')
    result = vsp.run(array_capture.main, connection_args(path=path), check_mode=True)
    assert result['written'] is False and not os.path.exists(path)
    assert result['summary']['pool_volumes'] == 2 and result['size'] > 0


def test_redact_replaces_serials_names_wwns_and_addresses_consistently(vsp, tmp_path):
    expect_capture(vsp)
    path = str(tmp_path / 'c.json')
    result = vsp.run(array_capture.main, connection_args(path=path, redact=True))
    text = open(path).read()
    for original in ('412345', '10.20.30.41', '10.20.30.42', 'finance-pool', 'finance-db', 'WD-XYZ0'):
        assert original not in text, original
    doc = json.loads(text)
    assert doc['redacted'] is True and result['redacted'] is True
    storage = doc['answers'][1]['body']
    assert storage['serialNumber'] == 100001 and storage['storageDeviceId'] == '936000100001'
    assert storage['ctl1Ip'] == '192.0.2.1' and storage['ctl2Ip'] == '192.0.2.2'
    # the same LDEV label, listed by group and by pool, has the same replacement; the job's URL uses the same address and id
    by_group, by_pool = doc['answers'][5]['body']['data'], doc['answers'][7]['body']['data']
    assert [v['label'] for v in by_group] == [v['label'] for v in by_pool]
    assert len(set(v['label'] for v in by_group)) == 2
    url = doc['answers'][-1]['body']['data'][0]['request']['requestUrl']
    assert url.startswith('https://192.0.2.1/') and '/storages/936000100001/' in url
    assert result['summary']['storage_device_id'] == '936000100001'


def test_redactor_gives_the_same_replacement_for_the_same_input():
    red = capture.Redactor()
    assert red.serial(412345) == red.serial(412345) != red.serial(412346)
    assert red.storage_id('936000412345') == '936000%06d' % red.serial(412345)
    assert red.name('a') == red.name('a') != red.name('b')
    assert red.wwn('50060E8012345678') == red.wwn('50060e8012345678')
    assert red.address('10.0.0.1') == red.address('10.0.0.1') == '192.0.2.1'


def test_the_recorder_refuses_a_write_before_it_is_sent():
    class Client(object):
        storage_device_id = None

        def request(self, *args, **kwargs):
            raise AssertionError('sent')

    with pytest.raises(VspApiError, match='only GET requests'):
        capture.Recorder(Client()).request('POST', '/v1/objects/encryption-keys/file/actions/backup/invoke')


@pytest.mark.parametrize('where, words', [('missing/c.json', 'does not exist'), ('', 'is a directory')])
def test_a_bad_path_is_refused_before_any_request(vsp, tmp_path, where, words):
    result = vsp.fail(array_capture.main, connection_args(path=os.path.join(str(tmp_path), where)))
    assert 'path' in result['msg'] and words in result['msg']
    assert vsp.calls == []


def test_a_capture_beyond_the_cap_is_not_written(tmp_path, monkeypatch):
    monkeypatch.setattr(capture, 'CAPTURE_MAX', 10)
    with pytest.raises(VspApiError, match='more than the cap'):
        capture.write_capture({'answers': []}, str(tmp_path / 'c.json'))
    assert os.listdir(str(tmp_path)) == []


def slow_array(monkeypatch, step):
    """Each request of the capture starts ``step`` seconds after the one before (the recorder's clock; no real time
    passes, and the client's own per-request deadline is untouched)."""
    monkeypatch.setattr(array_capture, 'capture', functools.partial(capture.capture, clock=SeqClock(step=step)))


def test_a_capture_that_outlasts_its_bound_stops_names_what_it_read_and_writes_nothing(vsp, tmp_path, monkeypatch):
    # bound: the longer of 30 minutes and 60 times timeout (30 s) = 1800 s; at 300 s a request, the 7th would start
    # 2100 s in: the first six are read, then the capture stops before GET pools, and the session is logged out
    slow_array(monkeypatch, 300)
    vsp.login()
    vsp.get('/configuration/version', {'productName': 'Configuration Manager REST API', 'apiVersion': '1.31.0'})
    vsp.get('/v1/objects/storages/instance', {'storageDeviceId': SID, 'serialNumber': 412345, 'model': 'VSP E990'})
    vsp.get('/v1/objects/parity-groups', {'data': [{'parityGroupId': '1-1', 'isEncryptionEnabled': True}]})
    drives = [{'driveLocationId': 'HDD00-00', 'parityGroupId': '1-1'}]
    vsp.get('/v1/objects/drives', {'data': drives})
    vsp.get('/v1/objects/drives?parityGroupId=1-1', {'data': drives})
    vsp.get('/v1/objects/ldevs?count=16384&parityGroupId=1-1', {'data': [pool_volume(0, '1-1')]})
    vsp.logout()
    path = str(tmp_path / 'vsp01.json')
    result = vsp.fail(array_capture.main, connection_args(path=path))
    assert result['msg'].startswith('The capture stopped after 2100 s, over its bound of 1800 s (the longer of 30 minutes '
                                    'and 60 times timeout): the array answered too slowly.')
    assert ('Captured so far: 6 answers (configuration/version 1, storages/instance 1, parity-groups 1, drives 2, ldevs 1); '
            'not captured: GET /v1/objects/pools and what follows. No file was written') in result['msg']
    assert os.listdir(str(tmp_path)) == []
    assert ('GET', '/v1/objects/pools') not in vsp.calls and vsp.calls[-1][0] == 'DELETE'


def test_the_bound_of_a_capture_grows_with_timeout(vsp, tmp_path, monkeypatch):
    assert capture.capture_seconds(30) == capture.capture_seconds(5) == 1800
    assert capture.capture_seconds(120) == 7200
    # the same slow array, with timeout 120 (a site that knows its array is slow): 14 requests in 4200 s, all read
    slow_array(monkeypatch, 300)
    expect_capture(vsp)
    path = str(tmp_path / 'vsp01.json')
    result = vsp.run(array_capture.main, connection_args(path=path, timeout=120))
    assert result['written'] and result['summary']['requests'] == 14


def test_the_bound_is_checked_before_each_request_is_sent():
    class Client(object):
        storage_device_id = None
        sent = []

        def get_json(self, path, params=None):
            self.sent.append(path)
            return {'data': []}

    clock = SeqClock(step=10)
    recorder = capture.Recorder(Client(), seconds=25, clock=clock)
    recorder.get_json('/v1/objects/storages/instance')
    recorder.get_json('/v1/objects/storages/12345678901/ldevs', {'poolId': 3, 'count': 16384})
    with pytest.raises(VspApiError, match=r'not captured: GET /v1/objects/pools\?count=5 and what follows') as info:
        recorder.get_json('/v1/objects/pools', {'count': 5})
    assert 'Captured so far: 2 answers (storages/instance 1, ldevs 1)' in info.value.msg
    assert Client.sent == ['/v1/objects/storages/instance', '/v1/objects/storages/12345678901/ldevs']
    assert capture.Recorder(Client(), seconds=None, clock=clock).captured_so_far() == 'no answer'
