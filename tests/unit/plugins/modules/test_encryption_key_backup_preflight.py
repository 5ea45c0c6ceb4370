# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""encryption_key_backup's own preflight (coverage, refuse_lost_keys, expected_*): the reads of
encryption_key_info and the backup role's refusals, in the module run that backs up."""

import datetime
import os

import pytest
import responses
from conftest import BACKUP_PASSWORD, AnsibleExitJson, AnsibleFailJson, Vsp, assert_no_secret, connection_args, job
from conftest import backup_args as args
from conftest import patch_module_args
from key_file_helpers import keys_by_type, write_key_file

from ansible_collections.vsp.encryption.plugins.module_utils import manifest as mf
from ansible_collections.vsp.encryption.plugins.modules import encryption_key_backup

BACKUP = '/v1/objects/encryption-keys/file/actions/backup/invoke'
KMS = '/v1/objects/encryption-keys/kms/actions/backup/invoke'
KEY_FILE = b'\x00\x01opaque-encrypted-key-file\xff' * 100
COVERAGE_READS = [('GET', '/v1/objects/parity-groups'), ('GET', '/v1/objects/drives')]


pytestmark = pytest.mark.usefixtures('fast_kdf')


def expect_groups(vsp, lost=False):
    vsp.coverage(lost)


def expect_reads(vsp, lost=False):
    vsp.login()
    vsp.storage()
    vsp.keys()
    expect_groups(vsp, lost)


def expect_download(vsp):
    vsp.add('POST', BACKUP, body=KEY_FILE, headers={'Content-Disposition': 'attachment; filename="keys.ekf"'},
            content_type='application/octet-stream')


def paths(vsp):
    return [call[1].split('?', 1)[0] for call in vsp.calls]


def test_coverage_is_read_before_the_backup_and_returned(vsp, tmp_path):
    expect_reads(vsp)
    expect_download(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), coverage=True))
    assert result['changed'] is True and result['verified'] is True
    assert result['lost_parity_groups'] == [] and result['lost_drives'] == []
    assert [g['parity_group_id'] for g in result['parity_groups']] == ['1-1']  # the encrypted groups only
    assert result['parity_groups'][0]['drive_locations'] == ['HDD00-00', 'HDD00-01']
    assert 'GET drives' in result['coverage_evidence']
    # the keys as read before the backup (numOfBackups before it)
    assert sorted(result['encryption_keys']) == ['CEK', 'DEK', 'FREE', 'KEK']
    assert [k['numOfBackups'] for k in result['encryption_keys']['DEK']] == [1, 1]
    assert result['key_counts'] == {'DEK': 2, 'CEK': 1, 'KEK': 1, 'FREE': 3}
    # the coverage reads come after the keys and before the download
    got = paths(vsp)
    assert got.index('/v1/objects/parity-groups') == got.index('/v1/objects/drives') - 1
    assert got.index('/v1/objects/drives') < got.index(BACKUP)
    assert os.path.isfile(result['path'])
    assert_no_secret(result)


def test_without_coverage_nothing_more_is_read_or_returned(vsp, tmp_path):
    vsp.login()
    vsp.storage()
    vsp.keys()
    expect_download(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path)))
    for field in ('encryption_keys', 'parity_groups', 'lost_parity_groups', 'lost_drives', 'coverage_evidence', 'backup_refused'):
        assert field not in result, field
    assert not [c for c in vsp.calls if c in COVERAGE_READS]


def test_lost_keys_refused_before_anything_is_written_or_requested(vsp, tmp_path):
    expect_reads(vsp, lost=True)
    vsp.logout()
    result = vsp.fail(encryption_key_backup.main, args(path=str(tmp_path), refuse_lost_keys=True, skip_unchanged=True))
    assert result['backup_refused'] is True and result['changed'] is False
    assert result['lost_parity_groups'] == ['1-2'] and result['lost_drives'] == ['HDD00-10']
    assert result['storage']['storage_device_id'] == '900000061726'
    assert result['msg'] == (
        'refuse_lost_keys: keys of parity group(s) 1-2 of array 900000061726 are lost (drives without a DEK: HDD00-10). '
        'Nothing was written and no backup was requested: a backup now would lack those keys. Restore them first '
        '(vsp.encryption.encryption_key_restore), or set refuse_lost_keys=false to back up the keys that are left.')
    assert vsp.write_calls() == []
    assert os.listdir(str(tmp_path)) == []
    assert_no_secret(result)


def test_lost_keys_without_refusal_backed_up_and_reported(vsp, tmp_path):
    expect_reads(vsp, lost=True)
    expect_download(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), coverage=True))
    assert result['changed'] is True and result['lost_parity_groups'] == ['1-2']
    assert 'backup_refused' not in result
    assert os.path.isfile(result['path'])


def test_no_lost_keys_refusal_option_backs_up(vsp, tmp_path):
    expect_reads(vsp)
    expect_download(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), refuse_lost_keys=True))
    assert result['changed'] is True and result['lost_parity_groups'] == []  # refuse_lost_keys implies coverage


def test_another_array_refused_before_its_keys_are_read(vsp, tmp_path):
    vsp.login()
    vsp.storage()
    vsp.logout()
    result = vsp.fail(encryption_key_backup.main, args(path=str(tmp_path), coverage=True, expected_storage_device_id='900000099999'))
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
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), coverage=True, expected_storage_device_id='900000061726',
                                                      expected_serial_number='61726'))
    assert result['changed'] is True and os.path.isfile(result['path'])


def test_check_mode_reads_the_coverage_and_writes_nothing(vsp, tmp_path):
    expect_reads(vsp, lost=True)
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), coverage=True), check_mode=True)
    assert result['lost_parity_groups'] == ['1-2']
    assert vsp.write_calls() == []
    assert os.listdir(str(tmp_path)) == []


def test_kms_backup_refused_while_keys_are_lost(vsp):
    expect_reads(vsp, lost=True)
    vsp.logout()
    result = vsp.fail(encryption_key_backup.main, connection_args(destination='kms', refuse_lost_keys=True))
    assert result['backup_refused'] is True and result['destination'] == 'kms'
    assert vsp.write_calls() == []


def test_kms_backup_with_coverage(vsp):
    expect_reads(vsp)
    vsp.add('POST', KMS, status=202, json=job(21))
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, connection_args(destination='kms', coverage=True))
    assert result['changed'] is True and result['job']['jobId'] == 21
    assert result['lost_parity_groups'] == [] and result['parity_groups'][0]['parity_group_id'] == '1-1'


# -- keep while keys are lost: retention deletes nothing --------------------------------------------------------------
# the keys conftest's array lists (DEK 0 and 1 on HDD00-00 and HDD00-01, CEK 0, KEK 0, FREE 0 to 2) and one more
# FREE key the array no longer has: without the loss, retention would delete this file
OLDER_KEYS = keys_by_type({'0': 'HDD00-00', '1': 'HDD00-01'}, cek=('0',), kek=('0',), free=('0', '1', '2', '9'))


def test_keep_while_keys_are_lost_deletes_nothing(vsp, tmp_path):
    older = write_key_file(tmp_path, 'older.ekf', keys=OLDER_KEYS, password=BACKUP_PASSWORD,
                           made=mf.utc_now() - datetime.timedelta(days=2))
    expect_reads(vsp, lost=True)
    expect_download(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_backup.main, args(path=str(tmp_path), coverage=True, keep=1))
    assert result['lost_parity_groups'] == ['1-2'] and os.path.isfile(result['path'])
    reason = 'keys of parity group(s) 1-2 are lost: retention deletes nothing'
    kept = [{'path': result['path'], 'reason': reason}, {'path': older, 'reason': reason}]
    assert result['retention'] == {'delete': [], 'failed': [], 'kept': kept}
    assert os.path.exists(older) and os.path.exists(mf.manifest_path(older))


def test_keep_never_deletes_the_only_file_holding_a_lost_key_even_without_coverage(tmp_path):
    holder = write_key_file(tmp_path, 'holder.ekf', keys=OLDER_KEYS, password=BACKUP_PASSWORD,
                            made=mf.utc_now() - datetime.timedelta(days=2))
    # any of the fixes passes: reading the coverage when keep is set (the reads are there, not required), or refusing keep
    # without coverage
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        vsp = Vsp(rsps)
        vsp.login()
        vsp.storage()
        vsp.keys({'DEK': 1, 'CEK': 1, 'KEK': 1, 'FREE': 3})  # the DEK of HDD00-01 is lost: no longer listed
        expect_groups(vsp)  # 1-1: HDD00-01, which no DEK serves
        expect_download(vsp)
        vsp.logout()
        with patch_module_args(args(path=str(tmp_path), keep=1)):
            with pytest.raises((AnsibleExitJson, AnsibleFailJson)):
                encryption_key_backup.main()
    assert os.path.exists(holder) and os.path.exists(mf.manifest_path(holder))
