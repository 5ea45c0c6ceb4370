# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import hashlib
import json
import os
import re
import stat

import pytest
from conftest import BACKUP_PASSWORD, assert_no_secret, connection_args, job, kart_error

from ansible_collections.vsp.encryption.plugins.modules import encryption_key_backup

BACKUP = '/v1/objects/encryption-keys/file/actions/backup/invoke'
KMS = '/v1/objects/encryption-keys/kms/actions/backup/invoke'
KEY_FILE = b'\x00\x01opaque-encrypted-key-file\xff' * 100


def args(**extra):
    base = connection_args(backup_password=BACKUP_PASSWORD)
    base.update(extra)
    return dict((k, v) for k, v in base.items() if v is not None)


def expect_backup(vsp, body=KEY_FILE, headers=None):
    vsp.login()
    vsp.storage()
    vsp.keys()
    headers = headers or {'Content-Disposition': 'attachment; filename="keys.ekf"'}
    vsp.add('POST', BACKUP, body=body, headers=headers, content_type='application/octet-stream')
    vsp.logout()


def test_backup_to_directory_with_manifest(vsp, tmp_path):
    expect_backup(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path)))
    path = result['path']
    assert re.match(r'^900000061726_\d{8}T\d{6}Z\.ekf$', os.path.basename(path))
    assert os.path.dirname(path) == str(tmp_path)
    with open(path, 'rb') as handle:
        assert handle.read() == KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert result['changed'] is True
    assert result['size'] == len(KEY_FILE)
    assert result['sha256'] == hashlib.sha256(KEY_FILE).hexdigest()
    assert result['key_counts'] == {'DEK': 2, 'CEK': 1, 'KEK': 1, 'FREE': 3}
    assert result['storage'] == {'storage_device_id': '900000061726', 'serial_number': 61726, 'model': 'VSP 5600'}
    assert result['manifest_path'] == path + '.manifest.json'
    assert stat.S_IMODE(os.stat(result['manifest_path']).st_mode) == 0o600
    with open(result['manifest_path']) as handle:
        manifest_text = handle.read()
    manifest = json.loads(manifest_text)
    assert manifest['sha256'] == result['sha256']
    assert manifest['size'] == len(KEY_FILE)
    assert manifest['storage_device_id'] == '900000061726'
    assert manifest['serial_number'] == 61726
    assert manifest['model'] == 'VSP 5600'
    assert manifest['key_counts'] == result['key_counts']
    assert manifest['format_version'] == 1
    assert re.match(r'^[0-9a-f]{64}$', manifest['key_fingerprint'])
    assert manifest['key_fingerprint'] == result['key_fingerprint']
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', manifest['created_utc'])
    assert sorted(os.listdir(str(tmp_path))) == sorted([os.path.basename(path), os.path.basename(path) + '.manifest.json'])
    # request: JSON body with the password, Accept octet-stream
    request = vsp.rsps.calls[6].request
    assert request.headers['Accept'] == 'application/octet-stream'
    assert json.loads(request.body) == {'parameters': {'password': BACKUP_PASSWORD}}
    assert_no_secret(result, manifest_text)
    assert 'content' not in result


def test_backup_mode_and_no_manifest(vsp, tmp_path):
    expect_backup(vsp)
    path = str(tmp_path / 'k.ekf')
    result = vsp.run(encryption_key_backup.main, args(path=path, mode='0640', manifest=False))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert 'manifest_path' not in result
    assert os.listdir(str(tmp_path)) == ['k.ekf']


def test_existing_path_without_force_sends_nothing(vsp, tmp_path):
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'old-backup')
    result = vsp.run(encryption_key_backup.main, args(path=str(path)))
    assert result['changed'] is False
    assert result['sha256'] == hashlib.sha256(b'old-backup').hexdigest()
    assert vsp.calls == []
    assert path.read_bytes() == b'old-backup'


def test_existing_path_with_force_is_replaced(vsp, tmp_path):
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'old-backup')
    expect_backup(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=str(path), force=True))
    assert result['changed'] is True
    assert path.read_bytes() == KEY_FILE


def test_second_run_is_idempotent(vsp, tmp_path):
    path = str(tmp_path / 'k.ekf')
    expect_backup(vsp)
    assert vsp.run(encryption_key_backup.main, args(path=path))['changed'] is True
    calls = len(vsp.calls)
    assert vsp.run(encryption_key_backup.main, args(path=path))['changed'] is False
    assert len(vsp.calls) == calls


def test_check_mode_sends_no_write_and_writes_nothing(vsp, tmp_path):
    vsp.login()
    vsp.storage()
    vsp.keys()
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path)), check_mode=True)
    assert result['changed'] is True
    assert result['path'].startswith(str(tmp_path))
    assert vsp.write_calls() == []
    assert os.listdir(str(tmp_path)) == []


def test_missing_parent_directory_fails_before_any_request(vsp, tmp_path):
    result = vsp.fail(encryption_key_backup.main, args(path=str(tmp_path / 'missing' / 'k.ekf')))
    assert 'does not exist' in result['msg']
    assert vsp.calls == []


@pytest.mark.parametrize('password', ['Sh0r!', 'x' * 256, 'with spaceZ', 'bad\u00e9char'])
def test_password_validated_before_any_request(vsp, tmp_path, password):
    result = vsp.fail(encryption_key_backup.main, args(path=str(tmp_path), backup_password=password))
    assert 'backup_password' in result['msg']
    assert password not in result['msg']
    assert vsp.calls == []


def test_content_length_mismatch_leaves_no_file(vsp, tmp_path):
    expect_backup(vsp, headers={'Content-Length': str(len(KEY_FILE) + 10)})
    result = vsp.fail(encryption_key_backup.main, args(path=str(tmp_path / 'k.ekf')))
    assert 'no file was written' in result['msg'] or 'incomplete' in result['msg']
    assert os.listdir(str(tmp_path)) == []
    assert vsp.calls[-1][0] == 'DELETE'


def test_stream_error_leaves_no_file(vsp, tmp_path, monkeypatch):
    import requests

    original = requests.Response.iter_content

    def broken(self, chunk_size=1, decode_unicode=False):
        if not self.url.endswith(BACKUP):
            yield from original(self, chunk_size, decode_unicode)
            return
        yield b'partial'
        raise requests.exceptions.ChunkedEncodingError('Connection broken')

    monkeypatch.setattr(requests.Response, 'iter_content', broken)
    expect_backup(vsp)
    result = vsp.fail(encryption_key_backup.main, args(path=str(tmp_path / 'k.ekf')))
    assert 'ChunkedEncodingError' in result['msg']
    assert os.listdir(str(tmp_path)) == []


def test_array_error_is_readable_and_secret_free(vsp, tmp_path):
    vsp.login()
    vsp.storage()
    vsp.keys()
    vsp.add('POST', BACKUP, status=412, json=kart_error('KART40089-E', 'Resources are locked.', 'A lock is held.', 'Unlock first.'))
    vsp.logout()
    result = vsp.fail(encryption_key_backup.main, args(path=str(tmp_path / 'k.ekf')))
    assert result['http_status'] == 412
    assert result['message_id'] == 'KART40089-E'
    assert 'Solution: Unlock first.' in result['msg']
    assert os.listdir(str(tmp_path)) == []
    assert_no_secret(result)


def test_kms_backup(vsp):
    vsp.login()
    vsp.storage()
    vsp.keys()
    vsp.add('POST', KMS, status=202, json=job(20))
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, connection_args(destination='kms', key_ids=['7', '8']))
    assert result['changed'] is True
    assert result['job']['jobId'] == 20
    assert json.loads(vsp.rsps.calls[6].request.body) == {'parameters': {'keyIds': ['7', '8']}}
    assert 'path' not in result


def test_kms_check_mode(vsp):
    vsp.login()
    vsp.storage()
    vsp.keys()
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, connection_args(destination='kms'), check_mode=True)
    assert result['changed'] is True
    assert vsp.write_calls() == []


def test_kms_not_configured(vsp):
    vsp.login()
    vsp.storage()
    vsp.keys()
    vsp.add('POST', KMS, status=412, json=kart_error('KART40100-E', 'No key management server is configured.'))
    vsp.logout()
    result = vsp.fail(encryption_key_backup.main, connection_args(destination='kms'))
    assert 'No key management server is configured.' in result['msg']
