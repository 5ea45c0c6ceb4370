# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import hashlib
import json
import os
import re
import stat

import base64
import datetime

import pytest
from ansible.module_utils import basic
from conftest import BACKUP_PASSWORD, assert_no_secret, connection_args, job, kart_error
from conftest import backup_args as args
from key_file_helpers import OTHER_SID, SID, forge, keys_by_type, read_manifest, write_key_file

from ansible_collections.vsp.encryption.plugins.module_utils import _backup_file as backup_file
from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils._keys import key_fingerprint
from ansible_collections.vsp.encryption.plugins.modules import encryption_key_backup

BACKUP = '/v1/objects/encryption-keys/file/actions/backup/invoke'
KMS = '/v1/objects/encryption-keys/kms/actions/backup/invoke'
KEY_FILE = b'\x00\x01opaque-encrypted-key-file\xff' * 100
OTHER_PASSWORD = 'Older#Pa55word'


@pytest.fixture(autouse=True)
def fast(fast_kdf):
    """Every test here derives with 1,000 PBKDF2 iterations (test_manifest.py runs the real 600,000)."""
    return fast_kdf


def expect_backup(vsp, body=KEY_FILE, headers=None, after=True):
    """The requests of a file backup: the identity, the keys and the key coverage, the download, and (``after``: the
    backup was made) the keys again."""
    vsp.login()
    vsp.before_backup()
    headers = headers or {'Content-Disposition': 'attachment; filename="keys.ekf"'}
    vsp.add('POST', BACKUP, body=body, headers=headers, content_type='application/octet-stream')
    if after:
        vsp.keys()
    vsp.logout()


def expect_reads(vsp, lost=False):
    """The requests of a run that backs nothing up: the identity, the keys and the key coverage."""
    vsp.login()
    vsp.before_backup(lost)
    vsp.logout()


def request_to(vsp, path):
    """The one request sent to ``path``."""
    found = [c.request for c in vsp.rsps.calls if c.request.url.split('/ConfigurationManager', 1)[1] == path]
    assert len(found) == 1, vsp.calls
    return found[0]


REMOVED_OPTIONS = {'password_verifier': False, 'manifest': False, 'skip_unchanged': True, 'read_keys_after': True,
                   'coverage': True, 'refuse_lost_keys': True}


@pytest.mark.parametrize('option', sorted(REMOVED_OPTIONS))
def test_removed_options_are_refused_before_any_request(vsp, tmp_path, option):
    """Options that only saved a module run or requests, or left out the manifest, are gone (issue 23)."""
    result = vsp.fail(encryption_key_backup.main, args(path=str(tmp_path), **{option: REMOVED_OPTIONS[option]}))
    assert result['msg'].startswith('Unsupported parameters for') and option in result['msg']
    assert vsp.calls == [] and os.listdir(str(tmp_path)) == []


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
    assert result['backup_needed'] is True
    assert result['backup_reason'] == 'no key file of this array there opens with this backup password and matches its manifest'
    assert result['size'] == len(KEY_FILE)
    assert result['sha256'] == hashlib.sha256(KEY_FILE).hexdigest()
    assert result['key_counts'] == {'DEK': 2, 'CEK': 1, 'KEK': 1, 'FREE': 3}
    assert result['lost_parity_groups'] == [] and sorted(result['encryption_keys_after']) == ['CEK', 'DEK', 'FREE', 'KEK']
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
    assert manifest['format_version'] == 2
    # which keys the file holds, and the drive of each DEK (conftest's keys: DEK 0, 1 on HDD00-00, HDD00-01)
    assert manifest['keys'] == {'DEK': ['0', '1'], 'CEK': ['0'], 'KEK': ['0'], 'FREE': ['0', '1', '2']}
    assert manifest['dek_locations'] == {'0': 'HDD00-00', '1': 'HDD00-01'}
    assert manifest['file'] == os.path.basename(path)
    # the password verifier and the MAC: the backup password opens it, another does not, an edit is found
    assert manifest['password_verifier']['kdf'] == 'pbkdf2-hmac-sha256'
    assert manifest['password_verifier']['iterations'] == mf.KDF_ITERATIONS
    assert manifest['mac']['algorithm'] == 'hmac-sha256'
    assert 'password_verifier' not in result  # no option, no field: the verifier is always written
    assert mf.check_password(manifest, mf.Deriver(BACKUP_PASSWORD)) is True
    assert mf.check_password(manifest, mf.Deriver(OTHER_PASSWORD)) is False
    with pytest.raises(VspApiError, match='changed after the backup'):
        mf.check_password(dict(manifest, dek_locations={'0': 'HDD00-00', '1': 'HDD00-01', '2': 'HDD00-02'}), mf.Deriver(BACKUP_PASSWORD))
    assert BACKUP_PASSWORD.encode() not in manifest_text.encode()
    assert base64.b64encode(BACKUP_PASSWORD.encode()).decode() not in manifest_text
    assert re.match(r'^[0-9a-f]{64}$', manifest['key_fingerprint'])
    assert manifest['key_fingerprint'] == result['key_fingerprint']
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', manifest['created_utc'])
    # the file, its manifest and the directory's lock file (one run at a time writes there)
    assert sorted(os.listdir(str(tmp_path))) == sorted([os.path.basename(path), os.path.basename(path) + '.manifest.json',
                                                        '.vsp-encryption.lock'])
    # request: JSON body with the password, Accept octet-stream
    request = request_to(vsp, BACKUP)
    assert request.headers['Accept'] == 'application/octet-stream'
    assert json.loads(request.body) == {'parameters': {'password': BACKUP_PASSWORD}}
    assert_no_secret(result, manifest_text)
    assert 'content' not in result


def test_the_manifest_and_its_verifier_are_always_written_also_beside_a_fixed_path(vsp, tmp_path, derivations):
    expect_backup(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path / 'fixed.ekf')))  # a fixed path, too
    manifest = read_manifest(result['path'])
    assert manifest['password_verifier']['kdf'] == 'pbkdf2-hmac-sha256' and manifest['mac']['algorithm'] == 'hmac-sha256'
    assert mf.check_password(manifest, mf.Deriver(BACKUP_PASSWORD)) is True
    assert len(derivations) == 2  # the backup's, and the check just above
    assert sorted(os.listdir(str(tmp_path))) == ['fixed.ekf', 'fixed.ekf.manifest.json']  # no lock beside a fixed path


def test_salt_reused_from_the_newest_manifest_the_password_opens(vsp, tmp_path, derivations):
    salt = b'S' * 16
    write_key_file(tmp_path, 'older.ekf', password=BACKUP_PASSWORD, salt=b'O' * 16, iterations=1000, day=1)
    newest = write_key_file(tmp_path, 'newest.ekf', password=BACKUP_PASSWORD, salt=salt, iterations=1000, day=2)
    del derivations[:]
    expect_backup(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path)))
    manifest = read_manifest(result['path'])
    assert manifest['password_verifier']['salt'] == read_manifest(newest)['password_verifier']['salt']
    assert base64.b64decode(manifest['password_verifier']['salt']) == salt
    assert manifest['password_verifier']['hash'] == read_manifest(newest)['password_verifier']['hash']
    # each verifier in the directory is checked once (the newest first); the new manifest reuses the newest's derivation
    assert derivations == [(salt, 1000), (b'O' * 16, 1000)]
    assert mf.check_password(manifest, mf.Deriver(BACKUP_PASSWORD)) is True


def test_salt_not_reused_after_a_password_rotation(vsp, tmp_path, derivations):
    salt = b'S' * 16
    write_key_file(tmp_path, 'newest.ekf', password=OTHER_PASSWORD, salt=salt, iterations=1000, day=2)
    del derivations[:]
    expect_backup(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path)))
    manifest = read_manifest(result['path'])
    assert base64.b64decode(manifest['password_verifier']['salt']) != salt
    assert len(derivations) == 2
    assert mf.check_password(manifest, mf.Deriver(BACKUP_PASSWORD)) is True


def test_salt_not_taken_from_another_arrays_manifest(vsp, tmp_path):
    salt = b'S' * 16
    write_key_file(tmp_path, '%s_20261101T020000Z.ekf' % SID, sid=OTHER_SID, password=BACKUP_PASSWORD, salt=salt, iterations=1000)
    expect_backup(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path)))
    assert base64.b64decode(read_manifest(result['path'])['password_verifier']['salt']) != salt


def test_two_backups_in_one_second_get_unique_names(vsp, tmp_path, monkeypatch):
    moment = datetime.datetime(2026, 12, 1, 2, 0, 0, tzinfo=datetime.timezone.utc)
    monkeypatch.setattr(backup_file, 'utc_now', lambda: moment)
    monkeypatch.setattr(encryption_key_backup, 'utc_now', lambda: moment)
    expect_backup(vsp)
    expect_backup(vsp, body=KEY_FILE + b'2')
    first = vsp.run(encryption_key_backup.main, args(path=str(tmp_path)))
    second = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), force=True))
    assert os.path.basename(first['path']) == '900000061726_20261201T020000Z.ekf'
    assert os.path.basename(second['path']) == '900000061726_20261201T020000Z_002.ekf'
    with open(first['path'], 'rb') as handle:
        assert handle.read() == KEY_FILE
    assert read_manifest(second['path'])['file'] == os.path.basename(second['path'])
    assert read_manifest(second['path'])['sha256'] == hashlib.sha256(KEY_FILE + b'2').hexdigest()


def test_the_key_file_gets_mode_and_its_manifest_0600(vsp, tmp_path):
    expect_backup(vsp)
    path = str(tmp_path / 'k.ekf')
    result = vsp.run(encryption_key_backup.main, args(path=path, mode='0640'))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert result['manifest_path'] == path + '.manifest.json'
    assert stat.S_IMODE(os.stat(result['manifest_path']).st_mode) == 0o600
    assert sorted(os.listdir(str(tmp_path))) == ['k.ekf', 'k.ekf.manifest.json']


def test_existing_file_without_a_manifest_is_refused_before_any_backup_request_and_kept(vsp, tmp_path):
    """A fixed file the collection cannot vouch for is never replaced unseen, nor a silent ok."""
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'old-backup')
    expect_reads(vsp)
    result = vsp.fail(encryption_key_backup.main, args(path=str(path)))
    assert result['msg'] == ('path: %s exists and has no manifest (%s.manifest.json), so whether it holds the keys the '
                             'array has now cannot be told. It is left alone: give path a directory (a new file whenever '
                             'the keys change), another file name, or force=true to replace it. Nothing was written and no '
                             'backup was requested.' % (path, path))
    assert vsp.write_calls() == []
    assert path.read_bytes() == b'old-backup'


@pytest.mark.parametrize('kind, words', [('other password', 'does not open with this backup password'),
                                         ('other array', 'holds the keys of another array'),
                                         ('damaged', 'does not match its manifest')])
def test_existing_file_that_does_not_count_is_refused_naming_why_and_kept(vsp, tmp_path, kind, words):
    password = 'Another-Pass-2026' if kind == 'other password' else BACKUP_PASSWORD
    path = write_key_file(tmp_path, 'k.ekf', keys=ARRAY_KEYS, fingerprint=ARRAY_FINGERPRINT, password=password,
                          sid=OTHER_SID if kind == 'other array' else SID)
    if kind == 'damaged':
        with open(path, 'ab') as handle:
            handle.write(b'x')
    before = open(path, 'rb').read()
    expect_reads(vsp)
    result = vsp.fail(encryption_key_backup.main, args(path=path))
    assert words in result['msg'] and 'force=true' in result['msg'], result['msg']
    assert vsp.write_calls() == []
    assert open(path, 'rb').read() == before


def test_existing_file_holding_the_current_keys_is_kept_with_no_backup_request(vsp, tmp_path):
    path = array_file(tmp_path, 'k.ekf', 1)
    before = open(path, 'rb').read()
    expect_reads(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=path))
    assert result['changed'] is False and result['backup_needed'] is False
    assert result['backup_reason'] == 'the keys are unchanged and %s matches its manifest and opens with the password' % path
    assert result['sha256'] == hashlib.sha256(before).hexdigest() and result['manifest_path'] == path + '.manifest.json'
    assert vsp.write_calls() == [] and open(path, 'rb').read() == before


def test_existing_file_of_older_keys_is_replaced_with_a_backup_of_the_current_keys(vsp, tmp_path):
    """After a key change a fixed file is never a silent ok: it no longer holds the keys the array has."""
    old_keys = keys_by_type({'0': 'HDD00-00'})
    path = write_key_file(tmp_path, 'k.ekf', keys=old_keys, fingerprint=key_fingerprint(old_keys), password=BACKUP_PASSWORD)
    expect_backup(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=path))
    assert result['changed'] is True and result['backup_needed'] is True and result['verified'] is True
    assert result['backup_reason'] == ('the keys changed since %s was made: it is replaced with a backup of the current '
                                       'keys' % path)
    assert open(path, 'rb').read() == KEY_FILE
    assert read_manifest(path)['key_fingerprint'] == ARRAY_FINGERPRINT


def test_existing_path_with_force_is_replaced(vsp, tmp_path):
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'old-backup')
    expect_backup(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=str(path), force=True))
    assert result['changed'] is True
    assert path.read_bytes() == KEY_FILE


def test_second_run_to_the_same_file_is_idempotent(vsp, tmp_path):
    path = str(tmp_path / 'k.ekf')
    expect_backup(vsp)
    assert vsp.run(encryption_key_backup.main, args(path=path))['changed'] is True
    writes = len(vsp.write_calls())
    expect_reads(vsp)
    second = vsp.run(encryption_key_backup.main, args(path=path))
    assert second['changed'] is False and second['backup_needed'] is False
    assert len(vsp.write_calls()) == writes  # the reads only


def test_check_mode_sends_no_write_and_writes_nothing(vsp, tmp_path):
    expect_reads(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path)), check_mode=True)
    assert result['changed'] is True and result['backup_needed'] is True
    assert result['msg'] == 'Would back up 7 keys to %s' % result['path']
    assert 'encryption_keys_after' not in result and 'verified' not in result
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
    expect_backup(vsp, headers={'Content-Length': str(len(KEY_FILE) + 10)}, after=False)
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
    expect_backup(vsp, after=False)
    result = vsp.fail(encryption_key_backup.main, args(path=str(tmp_path / 'k.ekf')))
    assert 'ChunkedEncodingError' in result['msg']
    assert os.listdir(str(tmp_path)) == []


def test_array_error_is_readable_and_secret_free(vsp, tmp_path):
    vsp.login()
    vsp.before_backup()
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
    vsp.before_backup()
    vsp.add('POST', KMS, status=202, json=job(20))
    vsp.keys()
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, connection_args(destination='kms', key_ids=['7', '8']))
    assert result['changed'] is True
    assert result['job']['jobId'] == 20
    assert json.loads(request_to(vsp, KMS).body) == {'parameters': {'keyIds': ['7', '8']}}
    assert 'path' not in result and 'manifest_path' not in result
    assert sorted(result['encryption_keys_after']) == ['CEK', 'DEK', 'FREE', 'KEK']


def test_kms_check_mode(vsp):
    expect_reads(vsp)
    result = vsp.run(encryption_key_backup.main, connection_args(destination='kms'), check_mode=True)
    assert result['changed'] is True
    assert result['msg'] == 'Would back up every key to the key management server'
    assert 'encryption_keys_after' not in result and 'job' not in result
    assert vsp.write_calls() == []


def test_kms_not_configured(vsp):
    vsp.login()
    vsp.before_backup()
    vsp.add('POST', KMS, status=412, json=kart_error('KART40100-E', 'No key management server is configured.'))
    vsp.logout()
    result = vsp.fail(encryption_key_backup.main, connection_args(destination='kms'))
    assert 'No key management server is configured.' in result['msg']


# -- directory_mode, the check on disk, the keys after the backup -----------------------------------------------
def test_directory_mode_creates_the_missing_directory_private_before_any_request(vsp, tmp_path):
    expect_backup(vsp)
    backups = tmp_path / 'new' / 'backups'
    result = vsp.run(encryption_key_backup.main, args(path=str(backups) + '/', directory_mode='0700'))
    assert stat.S_IMODE(os.stat(str(backups)).st_mode) == 0o700
    assert result['directory'] == {'path': str(backups) + '/', 'created': True, 'mode_changed': False}
    assert os.path.dirname(result['path']) == str(backups)
    assert result['verified'] is True


def test_directory_mode_gives_an_existing_directory_exactly_that_mode(vsp, tmp_path):
    backups = tmp_path / 'backups'
    backups.mkdir(mode=0o755)
    os.chmod(str(backups), 0o755)
    expect_backup(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=str(backups), directory_mode='0700'))
    assert stat.S_IMODE(os.stat(str(backups)).st_mode) == 0o700
    assert result['directory']['created'] is False and result['directory']['mode_changed'] is True


def test_directory_mode_unchanged_directory_and_an_existing_file_kept_is_no_change(vsp, tmp_path):
    os.chmod(str(tmp_path), 0o700)
    path = array_file(tmp_path, 'k.ekf', 1)
    expect_reads(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=path, directory_mode='0700'))
    assert result['changed'] is False
    assert result['directory'] == {'path': str(tmp_path), 'created': False, 'mode_changed': False}
    assert vsp.write_calls() == []


def test_directory_mode_in_check_mode_creates_nothing(vsp, tmp_path):
    expect_reads(vsp)
    backups = tmp_path / 'backups'
    result = vsp.run(encryption_key_backup.main, args(path=str(backups) + '/', directory_mode='0700'), check_mode=True)
    assert result['changed'] is True and result['directory']['created'] is True
    assert not backups.exists()
    assert vsp.write_calls() == []


@pytest.mark.parametrize('mode, words', [(700, 'must be a quoted octal text'), ('0x700', 'is not an octal mode'),
                                         ('0500', 'no write or search permission'), ('0600', 'no write or search permission')])
def test_directory_mode_refused_before_any_request(vsp, tmp_path, mode, words):
    result = vsp.fail(encryption_key_backup.main, args(path=str(tmp_path / 'new') + '/', directory_mode=mode))
    assert words in result['msg'] and result['msg'].startswith('directory_mode')
    assert not (tmp_path / 'new').exists()
    assert vsp.calls == []


def test_directory_mode_a_file_in_the_way_is_refused(vsp, tmp_path):
    (tmp_path / 'backups').write_bytes(b'')
    result = vsp.fail(encryption_key_backup.main, args(path=str(tmp_path / 'backups') + '/', directory_mode='0700'))
    assert 'exists and is not a directory' in result['msg']
    assert vsp.calls == []


def test_the_key_file_on_disk_differs_from_the_download_fails(vsp, tmp_path, monkeypatch):
    expect_backup(vsp, after=False)
    monkeypatch.setattr(backup_file, 'sha256_file', lambda path: ('0' * 64, len(KEY_FILE)))
    result = vsp.fail(encryption_key_backup.main, args(path=str(tmp_path / 'k.ekf')))
    assert result['msg'].startswith('The key file %s does not match what was downloaded (on disk: size %d, sha256 %s, mode 0600'
                                    % (tmp_path / 'k.ekf', len(KEY_FILE), '0' * 64))
    assert 'download: size %d, sha256 %s, mode 0600' % (len(KEY_FILE), hashlib.sha256(KEY_FILE).hexdigest()) in result['msg']
    assert result['msg'].endswith('Do not rely on it; check the disk and run the backup again.')


def test_verify_written_names_a_file_that_is_gone(tmp_path):
    with pytest.raises(VspApiError) as info:
        backup_file.verify_written(str(tmp_path / 'gone.ekf'), 10, 'a' * 64, 0o600)
    assert 'on disk (No such file or directory): size -, sha256 -, mode -' in info.value.msg
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'x')
    os.chmod(str(path), 0o640)
    with pytest.raises(VspApiError, match='mode 0640; download: size 1'):
        backup_file.verify_written(str(path), 1, hashlib.sha256(b'x').hexdigest(), 0o600)
    assert backup_file.verify_written(str(path), 1, hashlib.sha256(b'x').hexdigest(), 0o640) is True


def test_the_keys_are_read_again_after_a_backup_and_returned(vsp, tmp_path):
    vsp.login()
    vsp.before_backup()
    vsp.add('POST', BACKUP, body=KEY_FILE, headers={'Content-Disposition': 'attachment; filename="keys.ekf"'},
            content_type='application/octet-stream')
    vsp.get('/v1/objects/encryption-keys', {'data': [{'keyId': '0', 'keyType': 'DEK', 'targetDeviceLocation': 'HDD00-00',
                                                      'numOfBackups': 2}]})
    vsp.get('/v1/objects/encryption-keys', {'data': []})
    vsp.get('/v1/objects/encryption-keys', {'data': []})
    vsp.get('/v1/objects/encryption-keys', {'data': []})
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path / 'k.ekf')))
    assert result['encryption_keys_after']['DEK'] == [{'keyId': '0', 'keyType': 'DEK', 'targetDeviceLocation': 'HDD00-00',
                                                      'numOfBackups': 2}]
    assert sorted(result['encryption_keys_after']) == ['CEK', 'DEK', 'FREE', 'KEK']
    assert [k['numOfBackups'] for k in result['encryption_keys']['DEK']] == [1, 1]  # as read before the backup
    # the file holds the current keys on the next run: no backup, so nothing is read after
    expect_reads(vsp)
    assert 'encryption_keys_after' not in vsp.run(encryption_key_backup.main, args(path=str(tmp_path / 'k.ekf')))


# -- idempotence in a directory: path and force (the decision of encryption_key_file_info, in the backup's own run) ---
def test_unchanged_keys_send_no_backup_request_and_report_no_change(vsp, tmp_path, derivations):
    expect_backup(vsp)
    first = vsp.run(encryption_key_backup.main, args(path=str(tmp_path)))
    del derivations[:]
    calls = len(vsp.calls)
    expect_reads(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path)))
    assert result['changed'] is False and result['backup_needed'] is False
    assert result['path'] == first['path'] and result['sha256'] == first['sha256'] and result['size'] == first['size']
    assert result['manifest_path'] == first['manifest_path']
    assert result['backup_reason'] == ('the keys are unchanged and the newest file %s matches its manifest and opens with the '
                                       'password' % os.path.basename(first['path']))
    assert result['msg'] == 'No new backup: ' + result['backup_reason']
    assert [c for c in vsp.calls[calls:] if c[0] != 'GET' and 'sessions' not in c[1]] == []  # no backup request
    assert sorted(os.listdir(str(tmp_path))) == sorted([os.path.basename(first['path']), os.path.basename(first['manifest_path']),
                                                        '.vsp-encryption.lock'])
    assert len(derivations) == 1  # the newest file's verifier, once
    assert 'encryption_keys_after' not in result and 'verified' not in result
    assert result['lost_parity_groups'] == []  # the coverage is read (and returned) all the same


def test_unchanged_keys_in_check_mode_report_no_change(vsp, tmp_path):
    expect_backup(vsp)
    vsp.run(encryption_key_backup.main, args(path=str(tmp_path)))
    expect_reads(vsp)
    before = sorted(os.listdir(str(tmp_path)))
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path)), check_mode=True)
    assert result['changed'] is False and result['backup_needed'] is False
    assert result['msg'].startswith('No new backup: the keys are unchanged')
    assert sorted(os.listdir(str(tmp_path))) == before


def test_force_in_a_directory_always_makes_a_new_file(vsp, tmp_path):
    expect_backup(vsp)
    first = vsp.run(encryption_key_backup.main, args(path=str(tmp_path)))
    expect_reads(vsp)
    expect_backup(vsp, body=KEY_FILE + b'2')
    forced = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), force=True), check_mode=True)
    assert forced['changed'] is True and forced['msg'].startswith('Would back up 7 keys to ')  # check mode says so
    forced = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), force=True))
    assert forced['changed'] is True and forced['verified'] is True and forced['path'] != first['path']
    assert 'backup_needed' not in forced and 'backup_reason' not in forced  # no decision: force asks for a new file
    assert len([c for c in vsp.calls if c == ('POST', BACKUP)]) == 2
    assert sorted(f for f in os.listdir(str(tmp_path)) if f.endswith('.ekf')) == sorted(
        [os.path.basename(first['path']), os.path.basename(forced['path'])])
    with open(forced['path'], 'rb') as handle:
        assert handle.read() == KEY_FILE + b'2'
    assert read_manifest(forced['path'])['key_fingerprint'] == read_manifest(first['path'])['key_fingerprint']


def test_a_key_change_makes_a_new_file_deriving_once(vsp, tmp_path, derivations):
    salt = b'S' * 16
    newest = write_key_file(tmp_path, 'newest.ekf', password=BACKUP_PASSWORD, salt=salt, iterations=1000, day=2,
                            fingerprint='keys of yesterday')
    del derivations[:]
    expect_backup(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path)))
    assert result['changed'] is True and result['backup_needed'] is True and result['verified'] is True
    assert result['backup_reason'] == 'the keys changed since the newest file newest.ekf'
    assert result['path'] != newest and os.path.exists(result['path'])
    assert base64.b64decode(read_manifest(result['path'])['password_verifier']['salt']) == salt
    assert derivations == [(salt, 1000)]  # the fingerprint decided without deriving; the salt reuse derived once


def test_a_password_rotation_makes_a_new_file(vsp, tmp_path, derivations, warned):
    expect_backup(vsp)
    first = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), backup_password=OTHER_PASSWORD))
    del derivations[:]
    expect_backup(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path)))
    assert result['changed'] is True and result['backup_needed'] is True
    assert result['backup_reason'] == ('no key file of this array there opens with this backup password and matches its '
                                       'manifest')
    assert len(derivations) == 2  # the old file's salt (refused), then a new salt
    assert mf.check_password(read_manifest(result['path']), mf.Deriver(BACKUP_PASSWORD)) is True
    # the file of the older password is left alone, and named once
    assert os.path.exists(first['path'])
    assert warned == ['1 key file(s) of this array in the directory do not count and were neither used nor deleted: %s does '
                      'not open with this backup password (its password verifier does not take it): made with another '
                      'password, or not made by vsp.encryption. Look at them, and delete them yourself once you know they '
                      'are not needed.' % os.path.basename(first['path'])]


def test_a_fixed_path_makes_no_decision(vsp, tmp_path):
    """A fixed file path keeps its meaning: written when missing, left alone when it exists (unless force)."""
    expect_backup(vsp)
    path = str(tmp_path / 'k.ekf')
    result = vsp.run(encryption_key_backup.main, args(path=path))
    assert result['changed'] is True and result['path'] == path
    assert 'backup_needed' not in result and 'backup_reason' not in result


# -- keep: retention in the backup's own run, under the directory's lock --------------------------------------------
# the keys conftest's array lists: DEK 0 and 1 (HDD00-00, HDD00-01), CEK 0, KEK 0, FREE 0 to 2
ARRAY_KEYS = keys_by_type({'0': 'HDD00-00', '1': 'HDD00-01'}, cek=('0',), kek=('0',), free=('0', '1', '2'))
ARRAY_FINGERPRINT = key_fingerprint(ARRAY_KEYS)
LOCK = '.vsp-encryption.lock'


@pytest.fixture
def warned(monkeypatch):
    """The warnings the module gives (AnsibleModule.warn), in order."""
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, warning: warnings.append(warning))
    return warnings


def days_ago(days):
    return mf.utc_now() - datetime.timedelta(days=days)


def array_file(directory, name, days, **extra):
    """A key file of the keys conftest's array lists, made ``days`` ago with the backup password."""
    extra.setdefault('password', BACKUP_PASSWORD)
    return write_key_file(directory, name, keys=ARRAY_KEYS, fingerprint=ARRAY_FINGERPRINT, made=days_ago(days), **extra)


def test_keep_1_deletes_the_old_file_in_the_same_run_and_reports_it(vsp, tmp_path, warned):
    old = array_file(tmp_path, 'old.ekf', 1)
    expect_backup(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), keep=1, force=True))
    assert result['changed'] is True and result['verified'] is True
    assert result['retention'] == {'delete': [old], 'failed': [],
                                   'kept': [{'path': result['path'], 'reason': 'one of the 1 newest'}]}
    assert sorted(os.listdir(str(tmp_path))) == sorted([LOCK, os.path.basename(result['path']),
                                                        os.path.basename(result['manifest_path'])])
    assert warned == []


def test_keep_in_check_mode_deletes_nothing_and_says_what_it_would(vsp, tmp_path):
    newer = array_file(tmp_path, 'newer.ekf', 1)
    older = array_file(tmp_path, 'older.ekf', 2)
    before = sorted(os.listdir(str(tmp_path)))
    expect_reads(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), keep=1, force=True), check_mode=True)
    assert result['changed'] is True
    assert result['retention'] == {'delete': [older], 'failed': [],
                                   'kept': [{'path': newer, 'reason': 'one of the 1 newest'}]}
    assert sorted(os.listdir(str(tmp_path))) == before  # nothing deleted, no lock file either
    assert vsp.write_calls() == []
    expect_reads(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), keep=1), check_mode=True)
    assert result['changed'] is False and result['backup_needed'] is False
    assert result['retention']['delete'] == [older]
    assert sorted(os.listdir(str(tmp_path))) == before


def test_keep_deletes_the_old_file_without_a_new_backup_while_the_keys_are_unchanged(vsp, tmp_path):
    expect_backup(vsp)
    first = vsp.run(encryption_key_backup.main, args(path=str(tmp_path)))
    older = array_file(tmp_path, 'older.ekf', 2)
    expect_reads(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), keep=1))
    assert result['backup_needed'] is False and result['path'] == first['path']
    assert result['retention']['delete'] == [older] and not os.path.exists(older)
    assert result['changed'] is True  # a file was deleted


def test_keep_never_deletes_nor_counts_a_forged_file_and_names_it_once(vsp, tmp_path, warned):
    old = array_file(tmp_path, 'old.ekf', 1)
    forged = forge(tmp_path, 'forged.ekf', old)
    bare = array_file(tmp_path, 'bare.ekf', 3, password=None)  # no verifier: anyone's
    expect_reads(vsp)  # no backup request: old.ekf holds the keys
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), keep=1))
    assert result['backup_needed'] is False  # old.ekf holds the keys: the forged file dated 2099 did not outrank it
    assert result['path'] == old
    unauthenticated = ('has a manifest without a password verifier and MAC (format 2), so it is not authenticated: anyone who '
                       'can write the directory could have written it')
    assert result['retention'] == {'delete': [], 'failed': [], 'kept': [
        {'path': forged, 'reason': 'not deleted: it ' + unauthenticated},
        {'path': old, 'reason': 'one of the 1 newest'},
        {'path': bare, 'reason': 'not deleted: it ' + unauthenticated}]}
    assert os.path.exists(forged) and os.path.exists(bare) and os.path.exists(old)
    assert warned == ['2 key file(s) of this array in the directory do not count and were neither used nor deleted: forged.ekf '
                      '%s; bare.ekf %s. Look at them, and delete them yourself once you know they are not needed.'
                      % (unauthenticated, unauthenticated)]


def test_keep_on_a_fixed_file_path_is_refused_before_any_request(vsp, tmp_path):
    path = str(tmp_path / 'k.ekf')
    result = vsp.fail(encryption_key_backup.main, args(path=path, keep=1))
    assert result['msg'] == ('keep: %s is not a directory. The rule: retention keeps the newest key files of this array in a '
                             'directory, so path must name the directory. Nothing was sent to the array.' % path)
    assert vsp.calls == []


def test_check_mode_into_a_directory_with_a_file_that_does_not_count_names_it_and_sends_no_write(vsp, tmp_path, warned):
    """Neither skip_unchanged nor keep: the files there are still judged (with the password) before they are named."""
    bare = array_file(tmp_path, 'bare.ekf', 3, password=None)  # no verifier: anyone's
    expect_reads(vsp)
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path)), check_mode=True)
    assert result['changed'] is True and result['msg'].startswith('Would back up ')
    assert vsp.write_calls() == []
    assert len(warned) == 1 and warned[0].startswith('1 key file(s) of this array in the directory do not count') and 'bare.ekf' in warned[0]
    assert sorted(os.listdir(str(tmp_path))) == [
        'bare.ekf', 'bare.ekf.manifest.json']
    assert os.path.exists(bare)
