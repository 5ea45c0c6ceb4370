# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import hashlib
import json

import pytest
from conftest import BACKUP_PASSWORD, assert_no_secret, connection_args, job, kart_error, ldev

from ansible_collections.vsp.encryption.plugins.modules import encryption_key_restore

RESTORE = '/v1/objects/encryption-keys/file/actions/restore/invoke'
KMS_RESTORE = '/v1/objects/encryption-keys/all/actions/kms-restore/invoke'
KEY_FILE = b'opaque-key-file' * 50


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / 'k.ekf'
    path.write_bytes(KEY_FILE)
    manifest = {'format_version': 1, 'sha256': hashlib.sha256(KEY_FILE).hexdigest(), 'size': len(KEY_FILE)}
    (tmp_path / 'k.ekf.manifest.json').write_text(json.dumps(manifest))
    return str(path)


def args(path, **extra):
    base = connection_args(path=path, backup_password=BACKUP_PASSWORD, parity_groups=['1-1'])
    base.update(extra)
    return dict((k, v) for k, v in base.items() if v is not None)


def expect_preflight(vsp, statuses=('BLK', 'BLK'), counts=None):
    vsp.login()
    vsp.get('/v1/objects/parity-groups/1-1', {'parityGroupId': '1-1', 'isEncryptionEnabled': True})
    vsp.get('/v1/objects/ldevs', {'data': [ldev(i + 1, s) for i, s in enumerate(statuses)]})
    vsp.keys(counts or {'DEK': 2, 'CEK': 1, 'KEK': 1, 'FREE': 3})


def test_restore_from_file(vsp, key_file):
    expect_preflight(vsp)
    vsp.add('POST', RESTORE, status=202, json=job(30))
    vsp.keys({'DEK': 4, 'CEK': 1, 'KEK': 1, 'FREE': 3})
    vsp.logout()
    result = vsp.run(encryption_key_restore.main, args(key_file))
    assert result['changed'] is True
    assert result['keys_restored'] == 2
    assert result['manifest_verified'] is True
    assert result['sha256'] == hashlib.sha256(KEY_FILE).hexdigest()
    assert result['pool_volumes'] == [{'ldev_id': 1, 'status': 'BLK'}, {'ldev_id': 2, 'status': 'BLK'}]
    assert result['job']['jobId'] == 30
    request = vsp.rsps.calls[7].request
    assert request.headers['Content-Type'].startswith('multipart/form-data')
    assert b'name="file"; filename="k.ekf"' in request.body
    assert KEY_FILE in request.body
    assert b'name="password"' in request.body
    assert_no_secret(result)


def test_refuses_when_a_volume_is_not_blocked(vsp, key_file):
    vsp.login()
    vsp.get('/v1/objects/parity-groups/1-1', {'parityGroupId': '1-1', 'isEncryptionEnabled': True})
    vsp.get('/v1/objects/ldevs', {'data': [ldev(1, 'BLK'), ldev(2, 'NML')]})
    vsp.logout()
    result = vsp.fail(encryption_key_restore.main, args(key_file))
    assert 'Not blocked: 2 (NML)' in result['msg']
    assert result['pool_volumes_not_blocked'] == [{'ldev_id': 2, 'status': 'NML'}]
    assert vsp.write_calls() == []


def test_manifest_mismatch_fails_before_any_request(vsp, key_file):
    with open(key_file, 'ab') as handle:
        handle.write(b'tampered')
    result = vsp.fail(encryption_key_restore.main, args(key_file))
    assert 'does not match its manifest' in result['msg']
    assert vsp.calls == []


def test_manifest_check_can_be_skipped(vsp, key_file):
    with open(key_file, 'ab') as handle:
        handle.write(b'tampered')
    expect_preflight(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_restore.main, args(key_file, verify_manifest=False), check_mode=True)
    assert result['manifest_verified'] is False


def test_check_mode_runs_checks_and_sends_no_write(vsp, key_file):
    expect_preflight(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_restore.main, args(key_file), check_mode=True)
    assert result['changed'] is True
    assert result['keys_restored'] == 0
    assert vsp.write_calls() == []


@pytest.mark.parametrize('password', ['abc', 'has space1', 'y' * 300])
def test_password_validated_before_any_request(vsp, key_file, password):
    result = vsp.fail(encryption_key_restore.main, args(key_file, backup_password=password))
    assert 'backup_password' in result['msg']
    assert password not in result['msg']
    assert vsp.calls == []


def test_missing_file(vsp, tmp_path):
    result = vsp.fail(encryption_key_restore.main, args(str(tmp_path / 'nope.ekf')))
    assert 'is not a file' in result['msg']
    assert vsp.calls == []


def test_wrong_password_job_failure(vsp, key_file):
    expect_preflight(vsp)
    vsp.add('POST', RESTORE, status=202, json=job(31, state='Failed', error=kart_error('KART30091-E', 'The password is incorrect.')))
    vsp.logout()
    result = vsp.fail(encryption_key_restore.main, args(key_file))
    assert 'KART30091-E The password is incorrect.' in result['msg']
    assert_no_secret(result)


def test_restore_from_kms(vsp):
    expect_preflight(vsp)
    vsp.add('POST', KMS_RESTORE, status=202, json=job(32))
    vsp.keys()
    vsp.logout()
    result = vsp.run(encryption_key_restore.main, connection_args(source='kms', parity_groups=['1-1']))
    assert result['changed'] is True
    assert result['keys_restored'] == 0
    assert json.loads(vsp.rsps.calls[7].request.body) == {}


def test_unreadable_file_fails_naming_path_before_any_request(vsp, key_file, monkeypatch):
    """A file that passes os.access but cannot be read (EIO; or root, for whom mode 000 is readable)."""
    def broken(path):
        raise OSError(5, 'Input/output error')
    monkeypatch.setattr(encryption_key_restore, 'verify_against_manifest', broken)
    result = vsp.fail(encryption_key_restore.main, args(key_file))
    assert result['msg'] == 'path %s cannot be read: Input/output error (nothing was sent to the array)' % key_file
    assert vsp.calls == []
