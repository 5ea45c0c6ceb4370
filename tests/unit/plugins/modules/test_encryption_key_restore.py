# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import hashlib
import json
import os

import pytest
from conftest import BACKUP_PASSWORD, assert_no_secret, connection_args, job, kart_error, ldev
from key_file_helpers import OTHER_SID, forge, write_key_file

from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils import _restore_plan as restore_plan
from ansible_collections.vsp.encryption.plugins.modules import encryption_key_restore

RESTORE = '/v1/objects/encryption-keys/file/actions/restore/invoke'
KMS_RESTORE = '/v1/objects/encryption-keys/all/actions/kms-restore/invoke'
KEY_FILE = b'opaque-key-file' * 50
OTHER_PASSWORD = 'Older#Pa55word'

# The array: 1-1 (HDD00-00, HDD00-01) and 1-2 (HDD00-10) encrypted, 2-1 not.
ALL = {'1': 'HDD00-00', '2': 'HDD00-01', '3': 'HDD00-10'}
LOST_1_1 = {'1': 'HDD00-00', '3': 'HDD00-10'}      # the DEK of HDD00-01 is lost: 1-1 lost keys
LOST_BOTH = {'1': 'HDD00-00'}                     # 1-1 and 1-2 lost keys


@pytest.fixture(autouse=True)
def fast(fast_kdf):
    return fast_kdf


@pytest.fixture
def key_file(tmp_path):
    """A file of this array holding every DEK, with a verifier of BACKUP_PASSWORD."""
    return write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD, content=KEY_FILE)


def args(path, **extra):
    base = connection_args(path=path, backup_password=BACKUP_PASSWORD)
    base.update(extra)
    return dict((k, v) for k, v in base.items() if v is not None)


def expect_keys(vsp, locations):
    vsp.get('/v1/objects/encryption-keys', {'data': [{'keyId': k, 'keyType': 'DEK', 'targetDeviceLocation': v, 'numOfBackups': 1}
                                                     for k, v in sorted(locations.items())]})
    for key_type, key_id in (('CEK', '100'), ('KEK', '200'), ('FREE', '300')):
        vsp.get('/v1/objects/encryption-keys', {'data': [{'keyId': key_id, 'keyType': key_type, 'targetDeviceLocation': '-'}]})


def expect_coverage(vsp):
    vsp.get('/v1/objects/parity-groups', {'data': [{'parityGroupId': '1-1', 'isEncryptionEnabled': True},
                                                   {'parityGroupId': '1-2', 'isEncryptionEnabled': True},
                                                   {'parityGroupId': '2-1', 'isEncryptionEnabled': False}]})
    vsp.get('/v1/objects/drives', {'data': [{'driveLocationId': 'HDD00-00', 'parityGroupId': '1-1'},
                                            {'driveLocationId': 'HDD00-01', 'parityGroupId': '1-1'},
                                            {'driveLocationId': 'HDD00-10', 'parityGroupId': '1-2'},
                                            {'driveLocationId': 'HDD02-00', 'parityGroupId': '2-1'}]})


VOLUMES = {'1-1': [(1, 'BLK'), (2, 'BLK')], '1-2': [(3, 'BLK')]}


def expect_reads(vsp, locations=None):
    """What the plan reads before it decides on the groups and the file."""
    locations = LOST_1_1 if locations is None else locations
    vsp.login()
    vsp.storage()
    expect_keys(vsp, locations)
    expect_coverage(vsp)


def expect_volumes(vsp, groups=('1-1',), volumes=None, offline=True):
    volumes = volumes or VOLUMES  # the groups are not read again: the coverage listed every group
    for group in groups:
        vsp.get('/v1/objects/ldevs', {'data': [ldev(i, s, pgs=(group,)) for i, s in volumes[group]]})
    if offline and any(volumes[g] for g in groups):  # a restore is planned: the pools and DP volumes that go offline
        vsp.get('/v1/objects/pools/0', {'poolId': 0, 'poolName': 'enc-pool-0', 'poolStatus': 'POLN'})
        vsp.get('/v1/objects/ldevs', {'data': [ldev(50, pool_volume=False)]})


def expect_plan(vsp, locations=None, groups=('1-1',), volumes=None, offline=False):
    """``offline``: check mode with a restore planned also reads the pools and DP volumes that go offline."""
    expect_reads(vsp, locations)
    expect_volumes(vsp, groups, volumes, offline=offline)


def expect_restore(vsp, after=None, status=202, body=None):
    vsp.add('POST', RESTORE, status=status, json=body or job(30))
    expect_keys(vsp, ALL if after is None else after)
    expect_coverage(vsp)


def posts(vsp):
    return [p for m, p in vsp.write_calls() if m == 'POST']


# -- check mode: the plan, no write ---------------------------------------------------------------------
def test_check_mode_returns_the_plan_and_sends_no_write(vsp, key_file):
    expect_plan(vsp, volumes={'1-1': [(1, 'NML'), (2, 'BLK')]}, offline=True)
    vsp.logout()
    result = vsp.run(encryption_key_restore.main, args(key_file), check_mode=True)
    assert result['changed'] is True
    assert result['keys_restored'] == 0
    plan = result['plan']
    assert plan['parity_groups'] == ['1-1'] and plan['parity_groups_named'] is False
    assert plan['lost_parity_groups'] == ['1-1'] and plan['lost_drives'] == ['HDD00-01']
    assert plan['volumes_to_block'] == [1] and plan['volumes_to_recover'] == [1, 2]
    assert plan['path'] == key_file and plan['manifest_verified'] is True and plan['password_checked'] is True
    assert result['path'] == key_file and result['manifest_verified'] is True
    assert result['parity_groups'] == ['1-1']
    assert result['pool_volumes'] == [{'ldev_id': 1, 'status': 'NML'}, {'ldev_id': 2, 'status': 'BLK'}]
    assert result['msg'].startswith('Check mode, nothing was sent: Array 900000061726: parity group(s) [1-1] have lost keys')
    assert vsp.write_calls() == []
    assert_no_secret(result)


def test_check_mode_with_named_groups_as_text(vsp, key_file):
    expect_plan(vsp, groups=('1-1', '1-2'), offline=True)
    vsp.logout()
    result = vsp.run(encryption_key_restore.main, args(key_file, parity_groups='1-1, 1-2'), check_mode=True)
    assert result['parity_groups'] == ['1-1', '1-2']
    assert result['plan']['parity_groups_named'] is True
    assert vsp.write_calls() == []


def test_force_with_named_groups_and_a_directory_plans_a_restore(vsp, tmp_path):
    write_key_file(tmp_path, 'rotated.ekf', locations=ALL, password=OTHER_PASSWORD, day=3)
    good = write_key_file(tmp_path, 'good.ekf', locations=ALL, password=BACKUP_PASSWORD, day=2)
    expect_plan(vsp, ALL, groups=('1-2',), offline=True)
    vsp.logout()
    result = vsp.run(encryption_key_restore.main, args(str(tmp_path), parity_groups=['1-2'], force=True), check_mode=True)
    assert result['plan']['forced'] is True and result['plan']['restore_needed'] is True
    assert result['path'] == good
    assert result['parity_groups'] == ['1-2']
    assert vsp.write_calls() == []


def test_force_without_groups_refused_before_any_write(vsp, key_file):
    expect_reads(vsp, ALL)
    vsp.logout()
    result = vsp.fail(encryption_key_restore.main, args(key_file, force=True))
    assert result['msg'].startswith('parity_groups: with force')
    assert vsp.write_calls() == []


def test_nothing_lost_restores_nothing(vsp, key_file):
    expect_reads(vsp, ALL)
    vsp.logout()
    result = vsp.run(encryption_key_restore.main, args(key_file))
    assert result['changed'] is False
    assert result['plan']['restore_needed'] is False
    assert result['msg'] == 'No encrypted parity group of the array shows lost keys: nothing to restore'
    assert vsp.write_calls() == []


# -- the restore ----------------------------------------------------------------------------------------
def test_restore_from_file(vsp, key_file):
    expect_plan(vsp)
    expect_restore(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_restore.main, args(key_file))
    assert result['changed'] is True
    assert result['keys_restored'] == 1
    assert result['key_counts'] == {'DEK': 3, 'CEK': 1, 'KEK': 1, 'FREE': 1}
    assert result['lost_parity_groups_after'] == []
    assert result['manifest_verified'] is True
    assert result['sha256'] == hashlib.sha256(KEY_FILE).hexdigest()
    assert result['pool_volumes'] == [{'ldev_id': 1, 'status': 'BLK'}, {'ldev_id': 2, 'status': 'BLK'}]
    assert result['job']['jobId'] == 30
    assert result['msg'] == 'Restored 1 key(s) from the key file %s' % key_file
    request = [c.request for c in vsp.rsps.calls if c.request.method == 'POST' and c.request.url.endswith(RESTORE)][0]
    assert request.headers['Content-Type'].startswith('multipart/form-data')
    assert b'name="file"; filename="k.ekf"' in request.body
    assert KEY_FILE in request.body
    assert b'name="password"' in request.body
    assert posts(vsp) == [RESTORE]
    assert_no_secret(result)


def test_rerun_after_the_restore_changes_nothing(vsp, key_file):
    expect_plan(vsp)
    expect_restore(vsp)
    vsp.logout()
    assert vsp.run(encryption_key_restore.main, args(key_file))['changed'] is True
    expect_reads(vsp, ALL)
    vsp.logout()
    second = vsp.run(encryption_key_restore.main, args(key_file))
    assert second['changed'] is False
    assert second['plan']['restore_needed'] is False
    assert posts(vsp) == [RESTORE]  # the first run's restore only


def test_directory_source_picks_the_newest_file_holding_the_lost_keys(vsp, tmp_path):
    write_key_file(tmp_path, 'd5-after-loss.ekf', locations=LOST_1_1, password=BACKUP_PASSWORD, day=5)
    write_key_file(tmp_path, '900000061726_20261109T020000Z.ekf', locations=ALL, sid=OTHER_SID, password=BACKUP_PASSWORD, day=9)
    write_key_file(tmp_path, 'd4-rotated.ekf', locations=ALL, password=OTHER_PASSWORD, day=4)
    good = write_key_file(tmp_path, 'd3-good.ekf', locations=ALL, password=BACKUP_PASSWORD, day=3, content=KEY_FILE)
    write_key_file(tmp_path, 'd2-older.ekf', locations=ALL, password=BACKUP_PASSWORD, day=2)
    expect_plan(vsp)
    expect_restore(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_restore.main, args(str(tmp_path)))
    assert result['path'] == good
    assert 'HDD00-01' in result['plan']['path_reason']
    request = [c.request for c in vsp.rsps.calls if c.request.method == 'POST' and c.request.url.endswith(RESTORE)][0]
    assert b'filename="d3-good.ekf"' in request.body and KEY_FILE in request.body
    assert result['sha256'] == hashlib.sha256(KEY_FILE).hexdigest()


def test_keys_still_lost_after_the_restore_fails_naming_the_groups(vsp, key_file):
    expect_plan(vsp, LOST_BOTH, groups=('1-1', '1-2'))
    expect_restore(vsp, after=LOST_1_1)  # 1-2 came back, 1-1 did not
    vsp.logout()
    result = vsp.fail(encryption_key_restore.main, args(key_file))
    assert result['msg'].startswith('The restore from the key file %s finished, but keys of parity group(s) [1-1] are still '
                                    'lost (drives without a DEK: [HDD00-01]).' % key_file)
    assert 'recovery was not tried' in result['msg']
    assert result['lost_parity_groups_after'] == ['1-1']
    assert result['changed'] is True
    assert result['keys_restored'] == 1
    assert posts(vsp) == [RESTORE]
    assert_no_secret(result)


def test_keys_still_lost_names_another_file_that_holds_them(vsp, tmp_path):
    older = write_key_file(tmp_path, 'older.ekf', locations=ALL, password=BACKUP_PASSWORD, day=1)
    write_key_file(tmp_path, 'rotated.ekf', locations=ALL, password=OTHER_PASSWORD, day=2)
    used = write_key_file(tmp_path, 'used.ekf', locations=ALL, password=BACKUP_PASSWORD, day=3, content=KEY_FILE)
    expect_plan(vsp)
    expect_restore(vsp, after=LOST_1_1)  # the restore brought nothing back
    vsp.logout()
    result = vsp.fail(encryption_key_restore.main, args(used))
    assert 'The key file %s holds them' % older in result['msg']
    assert 'rotated.ekf' not in result['msg']  # the password does not open it
    assert posts(vsp) == [RESTORE]


def test_keys_still_lost_does_not_send_the_operator_back_to_the_same_file(vsp, key_file):
    """The file just used did not bring the keys back, whatever its manifest says: naming it again is a loop."""
    expect_plan(vsp)
    expect_restore(vsp, after=LOST_1_1)
    vsp.logout()
    result = vsp.fail(encryption_key_restore.main, args(key_file))
    assert 'still lost' in result['msg']
    assert 'The key file %s holds them' % key_file not in result['msg']


def test_restore_from_kms(vsp):
    expect_plan(vsp)
    vsp.add('POST', KMS_RESTORE, status=202, json=job(32))
    expect_keys(vsp, ALL)
    expect_coverage(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_restore.main, connection_args(source='kms'))
    assert result['changed'] is True
    assert result['keys_restored'] == 1
    assert 'path' not in result
    request = [c.request for c in vsp.rsps.calls if c.request.url.endswith(KMS_RESTORE)][0]
    assert json.loads(request.body) == {}


def test_wrong_password_found_by_the_array_for_a_file_restored_without_its_manifest(vsp, tmp_path):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, content=KEY_FILE)  # no verifier: only the array can tell
    expect_plan(vsp)
    vsp.add('POST', RESTORE, status=202, json=job(31, state='Failed', error=kart_error('KART30091-E', 'The password is incorrect.')))
    vsp.logout()
    result = vsp.fail(encryption_key_restore.main, args(path, verify_manifest=False))
    assert 'KART30091-E The password is incorrect.' in result['msg']
    assert_no_secret(result)


# -- refusals: all before a single write ----------------------------------------------------------------
def refusal(vsp, module_args, reads='plan'):
    if reads == 'identity':
        vsp.login()
        vsp.storage()
        expect_keys(vsp, LOST_1_1)
    elif reads == 'coverage':
        expect_reads(vsp)
    else:
        expect_plan(vsp)
    vsp.logout()
    result = vsp.fail(encryption_key_restore.main, module_args)
    assert vsp.write_calls() == []
    assert posts(vsp) == []
    assert_no_secret(result)
    return result['msg']


def test_refuses_another_arrays_file(vsp, tmp_path):
    path = write_key_file(tmp_path, '900000061726_20261101T020000Z.ekf', locations=ALL, sid=OTHER_SID, password=BACKUP_PASSWORD)
    msg = refusal(vsp, args(path), 'coverage')
    assert msg.startswith('path: %s is a key file of another array' % path)


def test_refuses_a_file_without_manifest(vsp, tmp_path):
    path = tmp_path / 'Keys.EKF'
    path.write_bytes(KEY_FILE)
    msg = refusal(vsp, args(str(path)), 'coverage')
    assert msg.startswith('path: %s has no manifest' % path)


def test_refuses_a_file_not_holding_the_lost_keys(vsp, tmp_path):
    path = write_key_file(tmp_path, 'short.ekf', locations=LOST_1_1, password=BACKUP_PASSWORD)
    msg = refusal(vsp, args(path), 'coverage')
    assert msg.startswith('path: %s holds no DEK for drive(s) HDD00-01' % path)


def test_refuses_a_wrong_password_by_the_verifier(vsp, tmp_path):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=OTHER_PASSWORD)
    msg = refusal(vsp, args(path), 'coverage')
    assert msg.startswith('backup_password does not match the password verifier')


def test_refuses_a_directory_without_a_fitting_file(vsp, tmp_path):
    write_key_file(tmp_path, 'short.ekf', locations=LOST_1_1, password=BACKUP_PASSWORD, day=2)
    write_key_file(tmp_path, 'rotated.ekf', locations=ALL, password=OTHER_PASSWORD, day=1)
    msg = refusal(vsp, args(str(tmp_path)), 'coverage')
    # the one file that holds the lost keys needs another password: backup_password is named, and every file's reason
    assert msg.startswith('backup_password: in %s, the password does not open any key file that would hold the lost keys '
                          '(rotated.ekf)' % tmp_path)
    assert 'short.ekf holds no DEK' in msg and 'rotated.ekf does not open with this backup password' in msg


def test_refuses_a_named_file_without_verifier_before_any_write(vsp, tmp_path):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, content=KEY_FILE)  # no verifier: anyone could have written it
    msg = refusal(vsp, args(path), 'coverage')
    assert msg.startswith('path: the manifest %s is not authenticated' % mf.manifest_path(path))
    assert 'verify_manifest: false' in msg


def test_a_directory_with_a_forged_newer_file_restores_the_real_one(vsp, tmp_path):
    good = write_key_file(tmp_path, 'good.ekf', locations=ALL, password=BACKUP_PASSWORD, day=3, content=KEY_FILE)
    forge(tmp_path, 'forged.ekf', good)
    expect_plan(vsp)
    expect_restore(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_restore.main, args(str(tmp_path)))
    assert result['path'] == good and result['sha256'] == hashlib.sha256(KEY_FILE).hexdigest()
    request = [c.request for c in vsp.rsps.calls if c.request.method == 'POST' and c.request.url.endswith(RESTORE)][0]
    assert b'filename="good.ekf"' in request.body and KEY_FILE in request.body


def test_refuses_a_directory_whose_files_lack_the_lost_keys_naming_path(vsp, tmp_path):
    write_key_file(tmp_path, 'short.ekf', locations=LOST_1_1, password=BACKUP_PASSWORD, day=2)
    msg = refusal(vsp, args(str(tmp_path)), 'coverage')
    assert msg.startswith('path: in %s, no key file there can restore the lost keys' % tmp_path)
    assert 'short.ekf holds no DEK' in msg


def test_refuses_a_directory_with_verify_manifest_false_before_anything_is_sent(vsp, tmp_path, key_file):
    result = vsp.fail(encryption_key_restore.main, args(str(tmp_path), verify_manifest=False))
    assert result['msg'].startswith('path: %s is a directory' % tmp_path)
    assert vsp.calls == []


def test_refuses_named_groups_that_leave_out_a_lost_group(vsp, key_file):
    msg = refusal(vsp, args(key_file, parity_groups=['1-2']), 'coverage')
    assert 'lost keys in parity group(s) [1-1], which parity_groups [1-2] leaves out' in msg


def test_refuses_another_array_by_expected_id(vsp, key_file):
    msg = refusal(vsp, args(key_file, expected_storage_device_id=OTHER_SID), 'identity')
    assert 'not the array the inventory names' in msg


def test_refuses_when_a_volume_is_not_blocked(vsp, key_file):
    expect_plan(vsp, volumes={'1-1': [(1, 'BLK'), (2, 'NML')]})
    vsp.logout()
    result = vsp.fail(encryption_key_restore.main, args(key_file))
    assert 'Not blocked: 2 (NML)' in result['msg']
    assert result['pool_volumes_not_blocked'] == [{'ldev_id': 2, 'status': 'NML'}]
    assert vsp.write_calls() == []


def test_manifest_mismatch_fails_before_any_write(vsp, key_file):
    with open(key_file, 'ab') as handle:
        handle.write(b'tampered')
    msg = refusal(vsp, args(key_file), 'coverage')
    assert 'does not match its manifest' in msg


def test_manifest_check_can_be_skipped(vsp, key_file):
    with open(key_file, 'ab') as handle:
        handle.write(b'tampered')
    expect_plan(vsp, offline=True)
    vsp.logout()
    result = vsp.run(encryption_key_restore.main, args(key_file, verify_manifest=False), check_mode=True)
    assert result['manifest_verified'] is False
    assert result['plan']['password_checked'] is None
    assert any('verify_manifest is false' in w for w in result['plan']['warnings'])
    assert vsp.write_calls() == []


def test_file_changed_after_the_check_is_not_uploaded(vsp, key_file, monkeypatch):
    real = restore_plan.make_plan

    def plan_then_swap(*a, **kw):
        plan = real(*a, **kw)
        with open(key_file, 'ab') as handle:
            handle.write(b'swapped')
        return plan

    monkeypatch.setattr(restore_plan, 'make_plan', plan_then_swap)
    expect_plan(vsp)
    vsp.logout()
    result = vsp.fail(encryption_key_restore.main, args(key_file))
    assert result['msg'].startswith('path %s changed after it was checked against its manifest' % key_file)
    assert posts(vsp) == []


@pytest.mark.parametrize('password', ['abc', 'has space1', 'y' * 300])
def test_password_validated_before_any_request(vsp, key_file, password):
    result = vsp.fail(encryption_key_restore.main, args(key_file, backup_password=password))
    assert 'backup_password' in result['msg']
    assert password not in result['msg']
    assert vsp.calls == []


def test_bad_parity_group_refused_before_any_request(vsp, key_file):
    result = vsp.fail(encryption_key_restore.main, args(key_file, parity_groups='1-1, 1_2'))
    assert "parity_groups: '1_2' is not a parity group id" in result['msg']
    assert vsp.calls == []


def test_missing_file_refused_before_any_request(vsp, tmp_path):
    path = str(tmp_path / 'Nope.EKF')
    result = vsp.fail(encryption_key_restore.main, args(path))
    assert result['msg'] == 'path: %s does not exist (nothing was sent to the array)' % path
    assert vsp.calls == []


def test_unreadable_file_refused_naming_the_path(vsp, key_file, monkeypatch):
    """A file that passes os.access but cannot be read (EIO; or root, for whom mode 000 is readable)."""
    from ansible_collections.vsp.encryption.plugins.module_utils import _key_files as key_files

    def broken(path):
        raise OSError(5, 'Input/output error')

    monkeypatch.setattr(key_files, 'sha256_file', broken)
    msg = refusal(vsp, args(key_file), 'coverage')
    assert key_file in msg
    assert 'Unexpected error' not in msg
    assert os.path.exists(key_file)


# -- plan -> review -> apply ----------------------------------------------------------------------------
def make_plan(vsp, path, locations=None, groups=('1-1',), **extra):
    """The check-mode run that makes the plan (the volumes not blocked yet); its result."""
    expect_plan(vsp, locations, groups=groups, volumes={'1-1': [(1, 'NML'), (2, 'NML')], '1-2': [(3, 'NML')]}, offline=True)
    vsp.logout()
    result = vsp.run(encryption_key_restore.main, args(path, **extra), check_mode=True)
    assert vsp.write_calls() == []
    return result


def apply_args(plan, **extra):
    """What the role passes to apply a plan: the plan and the backup password (the connection aside)."""
    base = connection_args(plan=plan, backup_password=BACKUP_PASSWORD)
    base.update(extra)
    return dict((k, v) for k, v in base.items() if v is not None)


def through_ansible(plan):
    """The plan as a later task gets it back (registered, templated, passed as a module option): JSON."""
    return json.loads(json.dumps(plan))


def test_a_plan_applied_as_made_restores_the_planned_bytes(vsp, tmp_path, derivations):
    write_key_file(tmp_path, 'older.ekf', locations=ALL, password=BACKUP_PASSWORD, day=2)
    good = write_key_file(tmp_path, 'good.ekf', locations=ALL, password=BACKUP_PASSWORD, day=3, content=KEY_FILE)
    planned = make_plan(vsp, str(tmp_path))['plan']
    assert planned['path'] == good and planned['sha256'] == hashlib.sha256(KEY_FILE).hexdigest()
    assert planned['format_version'] == 1 and planned['made_with']['path'] == str(tmp_path)
    assert_no_secret(planned)
    del derivations[:]
    expect_plan(vsp)  # the volumes blocked by now
    expect_restore(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_restore.main, apply_args(through_ansible(planned)))
    assert derivations  # the password verifier is derived again: no run skips it
    assert result['changed'] is True and result['keys_restored'] == 1
    assert result['path'] == good and result['sha256'] == planned['sha256']
    request = [c.request for c in vsp.rsps.calls if c.request.method == 'POST' and c.request.url.endswith(RESTORE)][0]
    assert b'filename="good.ekf"' in request.body and KEY_FILE in request.body
    assert posts(vsp) == [RESTORE]
    assert result['plan']['parity_groups'] == planned['parity_groups'] == ['1-1']
    assert_no_secret(result)


def test_a_plan_from_the_kms_applied_as_made_restores(vsp):
    expect_plan(vsp, offline=True)
    vsp.logout()
    planned = vsp.run(encryption_key_restore.main, connection_args(source='kms'), check_mode=True)['plan']
    expect_plan(vsp)
    vsp.add('POST', KMS_RESTORE, status=202, json=job(32))
    expect_keys(vsp, ALL)
    expect_coverage(vsp)
    vsp.logout()
    result = vsp.run(encryption_key_restore.main, connection_args(plan=through_ansible(planned)))  # no password needed
    assert result['changed'] is True and result['source'] == 'kms'
    assert posts(vsp) == [KMS_RESTORE]


def test_a_plan_in_check_mode_is_made_again_and_sends_no_write(vsp, key_file):
    planned = make_plan(vsp, key_file)['plan']
    expect_plan(vsp, volumes={'1-1': [(1, 'NML'), (2, 'NML')]}, offline=True)
    vsp.logout()
    result = vsp.run(encryption_key_restore.main, apply_args(planned), check_mode=True)
    assert result['msg'].startswith('Check mode, nothing was sent: the plan given still holds. Array 900000061726')
    assert vsp.write_calls() == []
    assert_no_secret(result)


STALE_END = '. Make a new plan (check mode) and review it (this one was made at %s). Nothing was sent to the array; nothing was changed on it.'


def stale(vsp, planned, reads, **extra):
    """Apply ``planned`` after ``reads`` registered what the array answers now: refused before any write."""
    reads()
    vsp.logout()
    result = vsp.fail(encryption_key_restore.main, apply_args(planned, **extra))
    assert vsp.write_calls() == []
    assert_no_secret(result)
    msg = result['msg']
    assert msg.startswith('plan: stale - ') and msg.endswith(STALE_END % planned['created_utc']), msg
    return msg[len('plan: stale - '):-len(STALE_END % planned['created_utc'])]


def test_a_stale_plan_file_swapped_is_refused_before_any_write(vsp, key_file, tmp_path):
    planned = make_plan(vsp, key_file)['plan']
    swapped = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD, content=b'a newer backup' * 10)
    assert swapped == key_file
    assert stale(vsp, planned, lambda: expect_reads(vsp)) == (
        "the file's sha256 is now %s, the plan has %s" % (hashlib.sha256(b'a newer backup' * 10).hexdigest(), planned['sha256']))


def test_a_stale_plan_of_another_array_is_refused_before_any_write(vsp, key_file):
    planned = make_plan(vsp, key_file)['plan']

    def another_array():
        vsp.login()
        vsp.storage(OTHER_SID)
        expect_keys(vsp, LOST_1_1)
        expect_coverage(vsp)

    assert stale(vsp, planned, another_array) == (
        'the array at this address is now storage device id %s (serial 61726), the plan has 900000061726 (serial 61726)' % OTHER_SID)


def test_a_stale_plan_a_group_no_longer_lost_is_refused_before_any_write(vsp, key_file):
    planned = make_plan(vsp, key_file)['plan']
    assert stale(vsp, planned, lambda: expect_reads(vsp, ALL)) == (
        'the parity groups with lost keys are now [], the plan has [1-1]; the drives without a DEK are now [], the plan has '
        '[HDD00-01]')


@pytest.mark.parametrize('named', [None, ['1-1']])
def test_a_stale_plan_a_new_group_lost_is_refused_before_any_write(vsp, key_file, named):
    planned = make_plan(vsp, key_file, parity_groups=named)['plan']
    assert stale(vsp, planned, lambda: expect_reads(vsp, LOST_BOTH)) == (
        'the parity groups with lost keys are now [1-1, 1-2], the plan has [1-1]; the drives without a DEK are now '
        '[HDD00-01, HDD00-10], the plan has [HDD00-01]')


def test_a_stale_plan_edited_by_hand_to_other_groups_is_refused_before_any_write(vsp, key_file):
    planned = make_plan(vsp, key_file)['plan']
    edited = dict(planned, parity_groups=['1-1', '1-2'], volumes_to_block=[1, 2, 3])
    assert stale(vsp, edited, lambda: expect_reads(vsp)) == 'the parity groups to act on are now [1-1], the plan has [1-1, 1-2]'


@pytest.mark.parametrize('change, named', [
    (lambda p: p.pop('sha256'), 'sha256 is missing'),
    (lambda p: p.pop('made_with'), 'made_with is missing'),
    (lambda p: p.update(lost_parity_groups='1-1'), "lost_parity_groups must be a list of parity group ids, not '1-1'"),
    (lambda p: p.update(format_version=2), 'format_version is 2; this version of the collection reads plans of format_version 1'),
    (lambda p: p.clear(), 'format_version is missing'),
])
def test_a_plan_missing_fields_or_of_wrong_types_is_refused_before_any_request(vsp, key_file, change, named):
    planned = make_plan(vsp, key_file)['plan']
    calls = len(vsp.calls)
    change(planned)
    result = vsp.fail(encryption_key_restore.main, apply_args(planned))
    assert result['msg'].startswith('plan: not a plan of this module - %s. The rule: plan takes the plan (RV plan) that a '
                                    'check-mode run of vsp.encryption.encryption_key_restore returned, unchanged' % named)
    assert len(vsp.calls) == calls  # not a single request
    assert_no_secret(result)


@pytest.mark.parametrize('option, value', [('path', '/srv/other.ekf'), ('parity_groups', ['1-1']), ('force', False),
                                           ('source', 'file')])
def test_a_plan_with_an_option_it_names_is_refused_before_any_request(vsp, key_file, option, value):
    planned = make_plan(vsp, key_file)['plan']
    calls = len(vsp.calls)
    result = vsp.fail(encryption_key_restore.main, apply_args(planned, **{option: value}))
    assert 'mutually exclusive' in result['msg'] and 'plan|%s' % option in result['msg']
    assert len(vsp.calls) == calls


def test_a_plan_from_a_file_without_the_backup_password_is_refused_before_any_request(vsp, key_file):
    planned = make_plan(vsp, key_file)['plan']
    calls = len(vsp.calls)
    result = vsp.fail(encryption_key_restore.main, connection_args(plan=planned))
    assert result['msg'].startswith('backup_password: the plan restores from the key file %s; give its backup_password' % key_file)
    assert len(vsp.calls) == calls


def test_a_plan_applied_with_a_wrong_password_is_refused_by_the_verifier_before_any_write(vsp, key_file):
    planned = make_plan(vsp, key_file)['plan']
    expect_reads(vsp)
    vsp.logout()
    result = vsp.fail(encryption_key_restore.main, apply_args(planned, backup_password=OTHER_PASSWORD))
    assert result['msg'].startswith('backup_password does not match the password verifier')
    assert vsp.write_calls() == []
    assert OTHER_PASSWORD not in json.dumps(result)


def test_source_file_without_path_or_password_is_refused_before_any_request(vsp):
    result = vsp.fail(encryption_key_restore.main, connection_args())
    assert result['msg'] == 'source is file but all of the following are missing: path, backup_password'
    assert vsp.calls == []
