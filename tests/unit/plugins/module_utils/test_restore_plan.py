# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import datetime
import json
import os

import pytest
from conftest import BACKUP_PASSWORD
from key_file_helpers import OTHER_SID, SERIAL, SID, STORAGE, forge, read_manifest, rewrite_manifest, write_key_file
from restore_plan_fakes import FakeArray as Api
from restore_plan_fakes import apply_plan, plan

from ansible_collections.vsp.encryption.plugins.module_utils import _key_files as key_files
from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils import _restore_plan as restore_plan
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError

ALL = {'1': 'HDD01-00', '2': 'HDD01-01', '3': 'HDD01-10', '4': 'HDD01-11'}
LOST_1_1 = {'1': 'HDD01-00', '3': 'HDD01-10', '4': 'HDD01-11'}  # HDD01-01 of 1-1 lost
OTHER_PASSWORD = 'Older#Pa55word'


def refused(api, path=None, password=BACKUP_PASSWORD, **extra):
    with pytest.raises(VspApiError) as info:
        plan(api, path, password, **extra)
    assert info.value.msg.endswith('Nothing was changed on the array.')
    return info.value.msg


# -- choose_groups / check_identity -------------------------------------------------------------------
def test_choose_groups_named_must_include_every_lost_group():
    assert restore_plan.choose_groups(['1-1', '1-2'], ['1-1'], False) == ['1-1', '1-2']
    with pytest.raises(VspApiError) as info:
        restore_plan.choose_groups(['1-3'], ['1-1', '1-2'], False)
    msg = info.value.msg
    assert msg.startswith('parity_groups: the array reports lost keys in parity group(s) [1-1, 1-2], which parity_groups [1-3] leaves out')
    assert 'Nothing was changed' in msg


def test_choose_groups_discovered_when_not_named():
    assert restore_plan.choose_groups([], ['1-1', '1-2'], False) == ['1-1', '1-2']
    assert restore_plan.choose_groups([], [], False) == []


def test_choose_groups_force_needs_named_groups_when_nothing_shows_lost():
    with pytest.raises(VspApiError, match='^parity_groups: with force'):
        restore_plan.choose_groups([], [], True)
    assert restore_plan.choose_groups(['1-1'], [], True) == ['1-1']
    assert restore_plan.choose_groups([], ['1-2'], True) == ['1-2']


def test_check_identity():
    restore_plan.check_identity(STORAGE, SID, str(SERIAL))
    restore_plan.check_identity(STORAGE, None, None)
    restore_plan.check_identity(STORAGE, '', '')
    with pytest.raises(VspApiError) as info:
        restore_plan.check_identity(STORAGE, OTHER_SID, '12345')
    msg = info.value.msg
    assert msg.startswith('expected_storage_device_id / expected_serial_number')
    assert 'storage device id %s, not %s' % (SID, OTHER_SID) in msg and 'serial number 61726, not 12345' in msg
    with pytest.raises(VspApiError) as info:
        restore_plan.check_identity(STORAGE, SID, 1)
    assert 'serial number 61726, not 1.' in info.value.msg and 'storage device id' not in info.value.msg


# -- make_plan: groups --------------------------------------------------------------------------------
def test_plan_takes_the_lost_groups_from_the_array(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    api = Api(LOST_1_1)
    result = plan(api, path)
    assert result['parity_groups'] == ['1-1'] and result['parity_groups_named'] is False
    assert result['lost_parity_groups'] == ['1-1'] and result['lost_drives'] == ['HDD01-01']
    assert result['restore_needed'] is True and result['forced'] is False
    assert result['volumes'] == [{'ldev_id': 1, 'status': 'NML', 'pool_id': 5}, {'ldev_id': 2, 'status': 'BLK', 'pool_id': 5}]
    assert result['volumes_to_block'] == [1]
    assert result['volumes_to_recover'] == [1, 2]
    assert result['pools'] == [5]
    assert result['path'] == path and result['manifest_verified'] is True and result['password_checked'] is True
    assert result['warnings'] == []
    assert 'list_ldevs 1-2' not in api.calls


def test_plan_named_groups_as_text(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    result = plan(Api(LOST_1_1), path, parity_groups=['1-1, 1-2'])
    assert result['parity_groups'] == ['1-1', '1-2'] and result['parity_groups_named'] is True
    assert result['volumes_to_block'] == [1, 3]


def test_plan_refuses_named_groups_leaving_out_a_lost_one(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    msg = refused(Api(LOST_1_1), path, parity_groups=['1-2'])
    assert '[1-1]' in msg and 'leaves out' in msg


def test_plan_refuses_a_bad_group_id(tmp_path):
    with pytest.raises(VspApiError, match="parity_groups: '1_1' is not a parity group id"):
        plan(Api(ALL), str(tmp_path), parity_groups=['1_1'])


def test_plan_refuses_another_array_by_identity(tmp_path):
    api = Api(ALL)
    msg = refused(api, str(tmp_path), expected_storage_device_id=OTHER_SID)
    assert 'not the array the inventory names' in msg
    assert not [c for c in api.calls if c.startswith('list_ldevs')]


def test_plan_nothing_lost_restores_nothing_and_needs_no_file(tmp_path):
    api = Api(ALL, statuses={'1-1': {1: 'BLK', 2: 'NML'}, '1-2': {3: 'NML'}, '2-1': {}})
    result = plan(api, str(tmp_path / 'not-there.ekf'), parity_groups=['1-1'])
    assert result['restore_needed'] is False
    assert result['volumes_to_block'] == [] and result['volumes_to_recover'] == [1]
    assert result['path_reason'] == 'not used: no key is lost'
    assert result['lines'][2].startswith('Nothing to restore, nothing to block. Recover the 1 pool volume(s) of parity groups [1-1]')


def test_plan_force_without_loss(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    result = plan(Api(ALL), path, parity_groups=['1-2'], force=True)
    assert result['restore_needed'] is True and result['forced'] is True
    assert result['volumes_to_block'] == [3]
    assert any('(forced: no group shows lost keys)' in line for line in result['lines'])
    msg = refused(Api(ALL), path, force=True)
    assert msg.startswith('parity_groups: with force')


def test_plan_kms_needs_no_file():
    result = plan(Api(LOST_1_1), None, password=None, source='kms')
    assert result['path'] is None and result['source'] == 'kms'
    assert any('from the key management server' in line for line in result['lines'])


# -- make_plan / choose_file: the file ----------------------------------------------------------------
def test_named_file_of_another_array_refused(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, '%s_20261101T020000Z.ekf' % SID, locations=ALL, sid=OTHER_SID, password=BACKUP_PASSWORD)
    msg = refused(Api(LOST_1_1), path)
    assert msg.startswith('path: %s is a key file of another array' % path)
    assert OTHER_SID in msg


def test_named_file_of_another_serial_refused(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, serial=12345, password=BACKUP_PASSWORD)
    assert 'is a key file of another array' in refused(Api(LOST_1_1), path)


def test_named_file_without_manifest_refused(tmp_path):
    path = tmp_path / 'Keys.EKF'
    path.write_bytes(b'keys')
    msg = refused(Api(LOST_1_1), str(path))
    assert msg.startswith('path: %s has no manifest' % path)
    assert 'verify_manifest: false' in msg


@pytest.mark.parametrize('verify_manifest', [True, False])
def test_a_manifest_named_instead_of_its_key_file_is_refused_naming_the_key_file(tmp_path, fast_kdf, verify_manifest):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    msg = refused(Api(LOST_1_1), path + '.manifest.json', verify_manifest=verify_manifest)
    assert msg.startswith('path: %s.manifest.json is a manifest, not a key file. Give the key file it describes: %s (or the '
                          'directory of the key files).' % (path, path)), msg
    assert '.manifest.json.manifest.json' not in msg


def test_named_file_without_manifest_accepted_with_verify_manifest_false(tmp_path):
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'keys')
    result = plan(Api(LOST_1_1), str(path), password=None, verify_manifest=False)
    assert result['path'] == str(path) and result['manifest_verified'] is False and result['password_checked'] is None
    assert any('verify_manifest is false' in w for w in result['warnings'])
    assert any(line.startswith('Warning: verify_manifest is false') for line in result['lines'])


def test_named_file_not_matching_its_manifest_refused(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    with open(path, 'ab') as handle:
        handle.write(b'x')
    assert 'does not match its manifest' in refused(Api(LOST_1_1), path)


def test_named_file_not_covering_the_lost_drives_refused(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=LOST_1_1, password=BACKUP_PASSWORD)
    msg = refused(Api(LOST_1_1), path)
    assert msg.startswith('path: %s holds no DEK for drive(s) HDD01-01' % path)


def test_named_file_with_wrong_password_refused(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=OTHER_PASSWORD)
    msg = refused(Api(LOST_1_1), path)
    assert msg.startswith('backup_password does not match the password verifier in %s' % mf.manifest_path(path))
    assert BACKUP_PASSWORD not in msg and OTHER_PASSWORD not in msg


UNAUTHENTICATED = ('path: the manifest %s is not authenticated (format %d, without a password verifier and MAC): anyone who '
                   'can write the directory could have written it, and nothing in it can be believed.')


def test_named_file_without_verifier_refused_before_anything_is_changed(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL)
    msg = refused(Api(LOST_1_1), path)
    assert msg.startswith(UNAUTHENTICATED % (mf.manifest_path(path), 2))
    assert 'verify_manifest: false' in msg


def test_named_format_1_file_refused_as_not_authenticated(tmp_path):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, version=1)
    msg = refused(Api(LOST_1_1), path)
    assert msg.startswith(UNAUTHENTICATED % (mf.manifest_path(path), 1))


def test_named_file_with_a_verifier_but_no_mac_refused(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    data = read_manifest(path)
    del data['mac']
    rewrite_manifest(path, data)
    assert refused(Api(LOST_1_1), path).startswith(UNAUTHENTICATED % (mf.manifest_path(path), 2))


def test_named_file_dated_in_the_future_is_used_with_a_warning(tmp_path, fast_kdf):
    ahead = mf.utc_now() + datetime.timedelta(days=1)
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD, made=ahead)
    result = plan(Api(LOST_1_1), path)
    assert result['path'] == path and result['password_checked'] is True
    assert result['warnings'] == ['%s is dated in the future (%s): the clock of the host that made it is wrong.'
                                  % (mf.manifest_path(path), ahead.strftime('%Y-%m-%dT%H:%M:%SZ'))]


def test_named_file_with_edited_manifest_refused(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=LOST_1_1, password=BACKUP_PASSWORD)
    data = read_manifest(path)
    data['dek_locations']['2'] = 'HDD01-01'  # claims a DEK it does not hold
    data['keys']['DEK'].append('2')
    rewrite_manifest(path, data)
    with pytest.raises(VspApiError, match='changed after the backup'):
        plan(Api(LOST_1_1), path)


def test_directory_picks_the_newest_covering_file_of_this_array(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'after-loss.ekf', locations=LOST_1_1, password=BACKUP_PASSWORD, day=5)
    write_key_file(tmp_path, 'other-array.ekf', locations=ALL, sid=OTHER_SID, password=BACKUP_PASSWORD, day=6)
    write_key_file(tmp_path, 'rotated.ekf', locations=ALL, password=OTHER_PASSWORD, day=4)
    good = write_key_file(tmp_path, 'good.ekf', locations=ALL, password=BACKUP_PASSWORD, day=3)
    write_key_file(tmp_path, 'older.ekf', locations=ALL, password=BACKUP_PASSWORD, day=2)
    result = plan(Api(LOST_1_1), str(tmp_path))
    assert result['path'] == good
    assert 'HDD01-01' in result['path_reason']
    assert result['manifest_verified'] is True and result['password_checked'] is True
    assert any(good in line and 'HDD01-01' in line for line in result['lines'])


def test_directory_without_a_covering_file_refused_saying_why(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'after-loss.ekf', locations=LOST_1_1, password=BACKUP_PASSWORD, day=5)
    write_key_file(tmp_path, 'rotated.ekf', locations=ALL, password=OTHER_PASSWORD, day=4)
    write_key_file(tmp_path, 'theirs.ekf', locations=ALL, sid=OTHER_SID, day=3)
    msg = refused(Api(LOST_1_1), str(tmp_path))
    # the only file holding the lost keys needs another password: the message names backup_password, and every file
    assert msg.startswith('backup_password: in %s, the password does not open any key file that would hold the lost keys '
                          '(rotated.ekf)' % tmp_path)
    assert 'after-loss.ekf holds no DEK for drive(s) HDD01-01' in msg
    assert 'rotated.ekf does not open with this backup password' in msg
    assert msg.endswith(' 1 file(s) there belong to other arrays. Nothing was changed on the array.')
    assert 'theirs.ekf' not in msg  # another array's files are counted, not listed (a fleet shares one directory)


def test_directory_never_picks_a_forged_newer_file(tmp_path, fast_kdf):
    good = write_key_file(tmp_path, 'good.ekf', locations=ALL, password=BACKUP_PASSWORD, day=3)
    forged = forge(tmp_path, 'forged.ekf', good)
    result = plan(Api(LOST_1_1), str(tmp_path))
    assert result['path'] == good and result['sha256'] == key_files.sha256_file(good)[0]
    assert len(result['warnings']) == 1 and os.path.basename(forged) in result['warnings'][0]


def test_directory_with_verify_manifest_false_refused(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'good.ekf', locations=ALL, password=BACKUP_PASSWORD)
    msg = refused(Api(LOST_1_1), str(tmp_path), password=None, verify_manifest=False)
    assert msg.startswith('path: %s is a directory' % tmp_path) and 'verify_manifest: false' in msg


def test_empty_directory_refused(tmp_path):
    msg = refused(Api(LOST_1_1), str(tmp_path))
    assert 'no key file of this array' in msg


# -- plan_lines ---------------------------------------------------------------------------------------
def test_plan_lines_print_lists_as_lists_and_keep_the_path_case(tmp_path, fast_kdf):
    directory = tmp_path / 'Backups' / 'VSP01'
    directory.mkdir(parents=True)
    path = write_key_file(directory, 'Keys-OK.EKF.ekf', locations=ALL, password=BACKUP_PASSWORD)
    api = Api({'9': 'HDD09-00'})  # every DEK of 1-1 and 1-2 lost
    result = plan(api, path)
    lines = result['lines']
    assert lines[0] == ('Array %s: parity group(s) [1-1, 1-2] have lost keys (drives without a DEK: '
                        '[HDD01-00, HDD01-01, HDD01-10, HDD01-11]).' % SID)
    assert lines[2] == 'Parity groups to act on (taken from the array, as parity_groups was not given): [1-1, 1-2].'
    assert lines[3].startswith('Block 2 pool volume(s) not blocked yet: LDEV 1, 3 (pools [5]); restore the keys from '
                               'the key file %s (named by path); then recover all 3 pool volume(s): LDEV 1-3.' % path)
    assert lines[4] == ('Offline from the block until the recovery: pool(s) 5 (enc-pool-5), so 1 DP volume(s) (LDEV 105) '
                        'carved from them, and the 3 pool volume(s) of these parity groups. Stop or quiesce the hosts '
                        'that use them.')
    assert lines[5] == "Checks before any write: this array's file, manifest verified, password matches the verifier."
    assert 'Backups/VSP01/Keys-OK.EKF.ekf' in ' '.join(lines)


def test_plan_lines_without_loss():
    lines = restore_plan.plan_lines({
        'storage': STORAGE, 'lost_parity_groups': [], 'lost_drives': [], 'evidence': 'E', 'parity_groups_named': True,
        'restore_needed': False, 'parity_groups': ['1-1', '1-2'], 'volumes_to_recover': [], 'warnings': ['w1'],
        'source': 'file'})
    assert lines[0] == 'Array %s: no encrypted parity group shows lost keys.' % SID
    assert lines[1].startswith('Evidence: E.')
    # a healthy array: no "Recover the 0 pool volume(s) ... LDEV []"
    assert lines[2] == 'Nothing to restore, block or recover: every pool volume of parity groups [1-1, 1-2] is normal.'
    assert lines[3] == 'Warning: w1'


def test_ids_text():
    assert restore_plan.ids_text(['1-1', '1-2']) == '[1-1, 1-2]'
    assert restore_plan.ids_text([]) == '[]'
    assert restore_plan.ids_text(x for x in [1]) == '[1]'


# -- read_upload / still_lost_message -----------------------------------------------------------------
def test_read_upload_returns_the_bytes_checked(tmp_path):
    import hashlib
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'key bytes')
    content, sha = restore_plan.read_upload(str(path), hashlib.sha256(b'key bytes').hexdigest())
    assert content == b'key bytes' and sha == hashlib.sha256(b'key bytes').hexdigest()
    assert restore_plan.read_upload(str(path))[0] == b'key bytes'


def test_read_upload_detects_a_file_changed_after_the_check(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    result = plan(Api(LOST_1_1), path)
    expected = mf.read(result['path'])['sha256']
    with open(path, 'ab') as handle:
        handle.write(b'swapped')
    with pytest.raises(VspApiError) as info:
        restore_plan.read_upload(path, expected)
    assert info.value.msg.startswith('path %s changed after it was checked against its manifest' % path)
    assert info.value.msg.endswith('Nothing was changed on the array.')


def test_read_upload_refuses_empty_and_oversized(tmp_path):
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'')
    with pytest.raises(VspApiError, match='is empty'):
        restore_plan.read_upload(str(path))
    path.write_bytes(b'x' * 100)
    with pytest.raises(VspApiError, match='larger'):
        restore_plan.read_upload(str(path), cap=10)


def test_still_lost_message():
    cov = {'lost_parity_groups': ['1-1', '1-2'], 'lost_drives': ['HDD01-01']}
    msg = restore_plan.still_lost_message('the key file /B/K.ekf', cov)
    assert msg.startswith('The restore from the key file /B/K.ekf finished, but keys of parity group(s) [1-1, 1-2] are still lost '
                          '(drives without a DEK: [HDD01-01]).')
    assert 'recovery was not tried' in msg
    assert restore_plan.still_lost_message('x', cov, 'Try /B/Older.ekf.').endswith('Try /B/Older.ekf.')


def test_plan_has_no_secret(tmp_path, fast_kdf):
    import json
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    text = json.dumps(plan(Api(LOST_1_1), path), default=str)
    assert BACKUP_PASSWORD not in text
    assert os.path.basename(path) in text


# -- holder_hint --------------------------------------------------------------------------------------
def test_holder_hint_kms_and_no_holder(tmp_path, fast_kdf):
    cov = {'lost_parity_groups': ['1-1'], 'lost_drives': ['HDD01-01']}
    assert restore_plan.holder_hint({'source': 'kms', 'path': None, 'storage': STORAGE}, cov) is None
    used = write_key_file(tmp_path, 'short.ekf', locations=LOST_1_1, password=BACKUP_PASSWORD)
    hint = restore_plan.holder_hint({'source': 'file', 'path': used, 'storage': STORAGE}, cov, mf.Deriver(BACKUP_PASSWORD))
    assert hint == 'No key file in %s holds them (by the manifests); look for an older copy, or restore from the KMS.' % tmp_path


def test_holder_hint_names_a_holder_the_password_opens(tmp_path, fast_kdf):
    cov = {'lost_parity_groups': ['1-1'], 'lost_drives': ['HDD01-01']}
    good = write_key_file(tmp_path, 'good.ekf', locations=ALL, password=BACKUP_PASSWORD, day=1)
    write_key_file(tmp_path, 'rotated.ekf', locations=ALL, password=OTHER_PASSWORD, day=2)
    used = write_key_file(tmp_path, 'short.ekf', locations=LOST_1_1, password=BACKUP_PASSWORD, day=3)
    hint = restore_plan.holder_hint({'source': 'file', 'path': used, 'storage': STORAGE}, cov, mf.Deriver(BACKUP_PASSWORD))
    assert hint.startswith('The key file %s holds them' % good)


# -- plan -> review -> apply: the plan made again against the plan given back ------------------------------------------
STALE_END = '. Make a new plan (check mode) and review it (this one was made at %s). Nothing was sent to the array; nothing was changed on it.'


def stale(api, made, password=BACKUP_PASSWORD, **extra):
    with pytest.raises(VspApiError) as info:
        apply_plan(api, made, password, **extra)
    msg = info.value.msg
    assert msg.startswith('plan: stale - ') and msg.endswith(STALE_END % made['created_utc']), msg
    return msg[len('plan: stale - '):-len(STALE_END % made['created_utc'])]


def test_plan_gives_the_sha256_of_the_file_it_verified(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    first = plan(Api(LOST_1_1), path)
    assert first['sha256'] == key_files.sha256_file(path)[0]
    assert first['password_checked'] is True


def test_a_plan_is_plain_data_with_its_format_its_time_and_the_options_it_was_made_with(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    made = plan(Api(LOST_1_1), str(tmp_path), parity_groups='1-1')
    assert json.loads(json.dumps(made)) == made  # through Ansible unchanged: dicts, lists, text, numbers, booleans, null
    assert BACKUP_PASSWORD not in json.dumps(made)
    assert made['format_version'] == 1
    assert abs((mf.parse_time(made['created_utc']) - mf.utc_now()).total_seconds()) < 60
    assert made['made_with'] == {'source': 'file', 'path': str(tmp_path), 'parity_groups': ['1-1'], 'force': False}
    assert made['path'] == path
    assert restore_plan.options_of(made) == made['made_with']
    kms = plan(Api(LOST_1_1), None, password=None, source='kms')
    assert kms['made_with'] == {'source': 'kms', 'path': None, 'parity_groups': None, 'force': False}


def test_a_plan_applied_as_made_holds_and_the_password_is_derived_again(tmp_path, fast_kdf, derivations):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    made = plan(Api(LOST_1_1), str(tmp_path))
    del derivations[:]
    again = apply_plan(Api(LOST_1_1, statuses={'1-1': {1: 'BLK', 2: 'BLK'}, '1-2': {3: 'NML'}, '2-1': {}}), made)
    assert derivations  # no option skips the password verifier: the apply derives it again
    assert again['path'] == path and again['sha256'] == made['sha256'] and again['password_checked'] is True
    assert again['parity_groups'] == made['parity_groups'] == ['1-1']
    assert again['volumes_to_block'] == []  # blocked since: the volumes are not part of the comparison


def test_a_plan_is_not_refused_for_its_age_alone(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    made = dict(plan(Api(LOST_1_1), str(tmp_path)), created_utc='2020-01-01T00:00:00Z')
    assert apply_plan(Api(LOST_1_1), made)['sha256'] == made['sha256']


def test_a_stale_plan_file_swapped_for_another_the_password_opens(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    made = plan(Api(LOST_1_1), path)
    write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD, content=b'newer backup' * 30)
    assert stale(Api(LOST_1_1), made) == "the file's sha256 is now %s, the plan has %s" % (key_files.sha256_file(path)[0],
                                                                                           made['sha256'])


def test_a_stale_plan_file_swapped_for_one_without_verifier_is_refused_by_the_manifest_check(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    made = plan(Api(LOST_1_1), path)
    write_key_file(tmp_path, 'k.ekf', locations=ALL, content=b'other bytes' * 30)  # new bytes, a manifest anyone can write
    with pytest.raises(VspApiError) as info:
        apply_plan(Api(LOST_1_1), made)
    assert info.value.msg.startswith(UNAUTHENTICATED % (mf.manifest_path(path), 2))


def test_a_stale_plan_directory_that_now_gives_another_file(tmp_path, fast_kdf):
    good = write_key_file(tmp_path, 'good.ekf', locations=ALL, password=BACKUP_PASSWORD, day=3)
    made = plan(Api(LOST_1_1), str(tmp_path))
    newer = write_key_file(tmp_path, 'newer.ekf', locations=ALL, password=BACKUP_PASSWORD, day=4)
    assert stale(Api(LOST_1_1), made) == ("the key file is now %s, the plan has %s; the file's sha256 is now %s, the plan has %s"
                                          % (newer, good, key_files.sha256_file(newer)[0], made['sha256']))


def test_a_stale_plan_another_array(tmp_path, fast_kdf):
    """Refused on the array's facts, before the file is read (the file is of the plan's array, not of this one)."""
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    made = plan(Api(LOST_1_1), path)
    other = dict(STORAGE, storage_device_id=OTHER_SID, serial_number=12345)
    assert stale(Api(LOST_1_1), made, storage=other) == (
        'the array at this address is now storage device id %s (serial 12345), the plan has %s (serial %s)' % (OTHER_SID, SID, SERIAL))


def test_a_stale_plan_a_group_no_longer_lost(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    made = plan(Api(LOST_1_1), path)
    assert stale(Api(ALL), made) == ('the parity groups with lost keys are now [], the plan has [1-1]; the drives without a DEK '
                                     'are now [], the plan has [HDD01-01]')


def test_a_stale_plan_a_new_group_lost(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    both = {'1': 'HDD01-00', '4': 'HDD01-11'}
    for named in (None, ['1-1']):  # also with the groups named: stale, not a refusal of the plan's parity_groups
        made = plan(Api(LOST_1_1), path, parity_groups=named)
        assert stale(Api(both), made) == ('the parity groups with lost keys are now [1-1, 1-2], the plan has [1-1]; the drives '
                                          'without a DEK are now [HDD01-01, HDD01-10], the plan has [HDD01-01]')


def test_a_stale_plan_edited_by_hand_to_other_groups(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    made = plan(Api(LOST_1_1), path)
    edited = dict(made, parity_groups=['1-1', '1-2'], volumes_to_block=[1, 3])
    assert stale(Api(LOST_1_1), edited) == 'the parity groups to act on are now [1-1], the plan has [1-1, 1-2]'
    edited = dict(made, made_with=dict(made['made_with'], parity_groups=['1-1', '1-2']))
    assert stale(Api(LOST_1_1), edited) == 'the parity groups to act on are now [1-1, 1-2], the plan has [1-1]'
    edited = dict(made, source='kms', path=None, sha256=None)
    assert stale(Api(LOST_1_1), edited) == (
        'the source is now file, the plan has kms; the key file is now %s, the plan has None; the file\'s sha256 is now %s, the '
        'plan has None' % (path, made['sha256']))


def test_a_stale_plan_made_without_the_manifest_check(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    made = plan(Api(LOST_1_1), path, verify_manifest=False)
    assert stale(Api(LOST_1_1), made) == ("the file's sha256 is now %s, the plan has None; the file is now checked against its "
                                          "manifest, the plan's was not" % key_files.sha256_file(path)[0])
    assert apply_plan(Api(LOST_1_1), made, verify_manifest=False)['manifest_verified'] is False


def test_a_stale_plan_names_every_difference(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    made = plan(Api(ALL), path, parity_groups=['1-2'], force=True)
    msg = stale(Api(ALL), dict(made, restore_needed=False, parity_groups=['1-1'], sha256='0' * 64))
    assert msg == ('the parity groups to act on are now [1-2], the plan has [1-1]; a restore is now needed, the plan has none; '
                   "the file's sha256 is now %s, the plan has %s" % (made['sha256'], '0' * 64))


NOT_A_PLAN_END = ('. The rule: plan takes the plan (RV plan) that a check-mode run of vsp.encryption.encryption_key_restore '
                  'returned, unchanged (format_version 1). Nothing was sent to the array; nothing was changed on it.')


def not_a_plan(value):
    with pytest.raises(VspApiError) as info:
        restore_plan.options_of(value)
    msg = info.value.msg
    assert msg.startswith('plan: not a plan of this module - ') and msg.endswith(NOT_A_PLAN_END), msg
    return msg[len('plan: not a plan of this module - '):-len(NOT_A_PLAN_END)]


def test_a_plan_missing_fields_or_of_wrong_types_is_refused_naming_each(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    made = plan(Api(LOST_1_1), path)
    assert not_a_plan(['1-1']) == "it is ['1-1'], not a dict"
    assert not_a_plan({'parity_groups': ['1-1']}) == 'format_version is missing'
    assert not_a_plan(dict(made, format_version=2)) == 'format_version is 2; this version of the collection reads plans of format_version 1'
    assert not_a_plan(dict(made, format_version=True)).startswith('format_version is True')
    short = dict((k, v) for k, v in made.items() if k not in ('sha256', 'lost_drives', 'made_with'))
    assert not_a_plan(short) == 'lost_drives is missing; sha256 is missing; made_with is missing'
    assert not_a_plan(dict(made, parity_groups='1-1', restore_needed='yes', created_utc='today', storage={})) == (
        "created_utc must be a UTC time such as 2026-12-01T02:00:00Z, not 'today'; storage must be a dict with storage_device_id "
        "and serial_number, not {}; parity_groups must be a list of parity group ids, not '1-1'; restore_needed must be true or "
        "false, not 'yes'")
    assert not_a_plan(dict(made, sha256='ABC')) == "sha256 must be null or 64 lower-case hex digits, not 'ABC'"
    assert not_a_plan(dict(made, made_with=dict(made['made_with'], force='no', parity_groups=['1_1']))) == (
        "made_with.parity_groups must be null or a list of parity group ids, not ['1_1']; made_with.force must be true or false, "
        "not 'no'")
    assert not_a_plan(dict(made, made_with={'source': 'file', 'path': None, 'parity_groups': None, 'force': False})) == (
        'made_with.path is missing (null) with made_with.source file')
    assert not_a_plan(dict(made, made_with='file')) == "made_with must be a dict of source, path, parity_groups and force, not 'file'"


def test_a_named_group_the_coverage_did_not_list_is_asked_of_the_array(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    api = Api(ALL)
    with pytest.raises(VspApiError) as info:
        plan(api, path, parity_groups=['1-1', '9-9'], force=True)
    assert info.value.msg == 'parity_groups: unknown parity group(s) 9-9; nothing was changed'
    assert 'get_parity_group 9-9' in api.calls and 'get_parity_group 1-1' not in api.calls
