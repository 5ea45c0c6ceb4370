# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""encryption_key_backup's own preflight, in every run that may back up: the identity guards (expected_*), the key
coverage read before the backup and returned, the refusal while keys are lost (allow_lost_keys to back up anyway), and
retention that deletes nothing while keys are lost."""

import datetime
import os

import pytest
from conftest import BACKUP_PASSWORD, assert_no_secret, connection_args, job
from conftest import backup_args as args
from key_file_helpers import keys_by_type, write_key_file

from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.modules import encryption_key_backup

BACKUP = '/v1/objects/encryption-keys/file/actions/backup/invoke'
KMS = '/v1/objects/encryption-keys/kms/actions/backup/invoke'
KEY_FILE = b'\x00\x01opaque-encrypted-key-file\xff' * 100
REFUSAL = ('Keys of parity group(s) 1-2 of array 900000061726 are lost (drives without a DEK: HDD00-10). Nothing was '
           'written or deleted and no backup was requested: a backup now would lack those keys. Restore them first '
           '(vsp.encryption.encryption_key_restore), or set allow_lost_keys=true to back up the keys that are left '
           '(retention then deletes nothing).')


pytestmark = pytest.mark.usefixtures('fast_kdf')


def expect_reads(vsp, lost=False, counts=None):
    vsp.login()
    vsp.before_backup(lost, counts)


def expect_download(vsp):
    vsp.add('POST', BACKUP, body=KEY_FILE, headers={'Content-Disposition': 'attachment; filename="keys.ekf"'},
            content_type='application/octet-stream')
    vsp.keys()  # the keys again after the backup


def paths(vsp):
    return [call[1].split('?', 1)[0] for call in vsp.calls]


# the keys conftest's array lists (DEK 0 and 1 on HDD00-00 and HDD00-01, CEK 0, KEK 0, FREE 0 to 2) and one more
# FREE key the array no longer has: without the loss, retention would delete this file
OLDER_KEYS = keys_by_type({'0': 'HDD00-00', '1': 'HDD00-01'}, cek=('0',), kek=('0',), free=('0', '1', '2', '9'))


def older_file(directory, name='older.ekf'):
    return write_key_file(directory, name, keys=OLDER_KEYS, password=BACKUP_PASSWORD,
                          made=mf.utc_now() - datetime.timedelta(days=2))


def test_the_coverage_is_always_read_before_the_backup_and_returned(vsp, tmp_path):
    expect_reads(vsp)
    expect_download(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path)))
    assert result['changed'] is True and result['verified'] is True
    assert result['lost_parity_groups'] == [] and result['lost_drives'] == []
    assert [g['parity_group_id'] for g in result['parity_groups']] == ['1-1']  # the encrypted groups only
    assert result['parity_groups'][0]['drive_locations'] == ['HDD00-00', 'HDD00-01']
    assert 'GET drives' in result['coverage_evidence']
    # the keys as read before the backup (numOfBackups before it)
    assert sorted(result['encryption_keys']) == ['CEK', 'DEK', 'FREE', 'KEK']
    assert [k['numOfBackups'] for k in result['encryption_keys']['DEK']] == [1, 1]
    assert result['key_counts'] == {'DEK': 2, 'CEK': 1, 'KEK': 1, 'FREE': 3}
    assert 'backup_refused' not in result
    # the coverage reads come after the keys and before the download
    got = paths(vsp)
    assert got.index('/v1/objects/parity-groups') == got.index('/v1/objects/drives') - 1
    assert got.index('/v1/objects/drives') < got.index(BACKUP)
    assert os.path.isfile(result['path'])
    assert_no_secret(result)


def test_lost_keys_refuse_a_backup_to_an_existing_file_before_it_is_looked_at(vsp, tmp_path):
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'old-backup')
    expect_reads(vsp, lost=True)
    vsp.logout()
    result = vsp.fail(encryption_key_backup.main, args(path=str(path)))
    assert result['backup_refused'] is True and result['lost_parity_groups']
    assert vsp.write_calls() == [] and path.read_bytes() == b'old-backup'


def test_lost_keys_refused_by_default_with_no_write_request_and_nothing_deleted(vsp, tmp_path):
    older = older_file(tmp_path)
    before = sorted(os.listdir(str(tmp_path)))
    expect_reads(vsp, lost=True)
    vsp.logout()
    result = vsp.fail(encryption_key_backup.main, args(path=str(tmp_path), keep=1))
    assert result['backup_refused'] is True and result['changed'] is False
    assert result['lost_parity_groups'] == ['1-2'] and result['lost_drives'] == ['HDD00-10']
    assert result['storage']['storage_device_id'] == '900000061726'
    assert result['msg'] == REFUSAL
    assert vsp.write_calls() == []
    assert sorted(os.listdir(str(tmp_path))) == before and os.path.exists(older)  # nothing written, nothing deleted
    assert_no_secret(result)


def test_lost_keys_refused_in_check_mode_too(vsp, tmp_path):
    expect_reads(vsp, lost=True)
    vsp.logout()
    result = vsp.fail(encryption_key_backup.main, args(path=str(tmp_path)), check_mode=True)
    assert result['backup_refused'] is True and result['msg'] == REFUSAL
    assert vsp.write_calls() == [] and os.listdir(str(tmp_path)) == []


def test_allow_lost_keys_backs_up_the_keys_that_are_left_and_deletes_nothing(vsp, tmp_path):
    older = older_file(tmp_path)
    expect_reads(vsp, lost=True)
    expect_download(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), allow_lost_keys=True, keep=1))
    assert result['changed'] is True and result['verified'] is True and os.path.isfile(result['path'])
    assert result['lost_parity_groups'] == ['1-2'] and 'backup_refused' not in result
    reason = 'keys of parity group(s) 1-2 are lost: retention deletes nothing'
    assert result['retention'] == {'delete': [], 'failed': [],
                                   'kept': [{'path': result['path'], 'reason': reason}, {'path': older, 'reason': reason}]}
    assert os.path.exists(older) and os.path.exists(mf.manifest_path(older))


def test_allow_lost_keys_in_check_mode_says_what_would_be_written(vsp, tmp_path):
    expect_reads(vsp, lost=True)
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), allow_lost_keys=True), check_mode=True)
    assert result['changed'] is True and result['lost_parity_groups'] == ['1-2']
    assert result['msg'] == 'Would back up 7 keys to %s' % result['path']
    assert vsp.write_calls() == [] and os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize('allow', [False, True])
def test_keep_never_deletes_the_only_file_holding_a_lost_key(vsp, tmp_path, allow):
    holder = older_file(tmp_path, 'holder.ekf')
    expect_reads(vsp, counts={'DEK': 1, 'CEK': 1, 'KEK': 1, 'FREE': 3})  # the DEK of HDD00-01 is lost: no longer listed
    if allow:
        expect_download(vsp)
    vsp.logout()
    if allow:
        result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), keep=1, allow_lost_keys=True))
        assert result['retention']['delete'] == []
    else:
        result = vsp.fail(encryption_key_backup.main, args(path=str(tmp_path), keep=1))
        assert result['backup_refused'] is True and vsp.write_calls() == []
    assert result['lost_parity_groups'] == ['1-1'] and result['lost_drives'] == ['HDD00-01']
    assert os.path.exists(holder) and os.path.exists(mf.manifest_path(holder))


def test_another_array_refused_before_its_keys_are_read(vsp, tmp_path):
    vsp.login()
    vsp.storage()
    vsp.logout()
    result = vsp.fail(encryption_key_backup.main, args(path=str(tmp_path), expected_storage_device_id='900000099999'))
    assert result['msg'] == (
        'expected_storage_device_id / expected_serial_number: the array at this address reports storage device id '
        '900000061726, not 900000099999. It is not the array the inventory names; check host and storage_device_id. '
        'Nothing was changed on the array.')
    assert paths(vsp) == ['/v1/objects/sessions', '/v1/objects/storages/instance', '/v1/objects/sessions/3']
    assert os.listdir(str(tmp_path)) == []


def test_another_serial_number_refused(vsp, tmp_path):
    vsp.login()
    vsp.storage()
    vsp.logout()
    result = vsp.fail(encryption_key_backup.main, args(path=str(tmp_path), expected_serial_number='412345'))
    assert 'serial number 61726, not 412345' in result['msg']
    assert vsp.write_calls() == []


def test_the_expected_array_is_backed_up(vsp, tmp_path):
    expect_reads(vsp)
    expect_download(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), expected_storage_device_id='900000061726',
                                                      expected_serial_number='61726'))
    assert result['changed'] is True and os.path.isfile(result['path'])


def test_kms_backup_refused_by_default_while_keys_are_lost(vsp):
    expect_reads(vsp, lost=True)
    vsp.logout()
    result = vsp.fail(encryption_key_backup.main, connection_args(destination='kms'))
    assert result['backup_refused'] is True and result['destination'] == 'kms' and result['msg'] == REFUSAL
    assert vsp.write_calls() == []


def test_kms_backup_with_allow_lost_keys_backs_up(vsp):
    expect_reads(vsp, lost=True)
    vsp.add('POST', KMS, status=202, json=job(22))
    vsp.keys()
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, connection_args(destination='kms', allow_lost_keys=True))
    assert result['changed'] is True and result['job']['jobId'] == 22 and result['lost_parity_groups'] == ['1-2']


def test_kms_backup_returns_the_coverage_and_the_keys_after(vsp):
    expect_reads(vsp)
    vsp.add('POST', KMS, status=202, json=job(21))
    vsp.keys()
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, connection_args(destination='kms', expected_storage_device_id='900000061726'))
    assert result['changed'] is True and result['job']['jobId'] == 21
    assert result['lost_parity_groups'] == [] and result['parity_groups'][0]['parity_group_id'] == '1-1'
    assert sorted(result['encryption_keys_after']) == ['CEK', 'DEK', 'FREE', 'KEK']
    got = paths(vsp)
    assert got[got.index(KMS) + 1:] == ['/v1/objects/encryption-keys'] * 4 + ['/v1/objects/sessions/3']  # the keys after
