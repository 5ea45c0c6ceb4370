# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""restore_plan.py: the groups and the key file a restore acts on, the plan and its lines (with the pools and DP
volumes offline, issue 13), the checks of the upload, the holder hint, the plan given back for apply, and the password
derived ahead while the array is read. The refusals and plan lines are checked word for word: the operator reads them."""

import datetime
import json
import os

import pytest
from conftest import BACKUP_PASSWORD, ldev
from key_file_helpers import OTHER_SID, SERIAL, SID, STORAGE, forge, read_manifest, resign, rewrite_manifest, write_key_file
from restore_plan_fakes import FakeArray as Api
from restore_plan_fakes import apply_plan, plan

from ansible_collections.vsp.encryption.plugins.module_utils import _key_files as key_files
from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils import _restore_plan as restore_plan
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError

ALL = {'1': 'HDD01-00', '2': 'HDD01-01', '3': 'HDD01-10', '4': 'HDD01-11'}
LOST_1_1 = {'1': 'HDD01-00', '3': 'HDD01-10', '4': 'HDD01-11'}  # HDD01-01 of 1-1 lost
LOST_BOTH = {'9': 'HDD09-00'}  # every DEK of 1-1 and 1-2 lost
OTHER_PASSWORD = 'Older#Pa55word'
NOTHING = ' Nothing was changed on the array.'


def refused(api, path=None, password=BACKUP_PASSWORD, **extra):
    with pytest.raises(VspApiError) as info:
        plan(api, path, password, **extra)
    assert info.value.msg.endswith('Nothing was changed on the array.')
    return info.value.msg


def sha_and_size(path):
    """The sha256 and size of the file as it is now."""
    return key_files.sha256_file(path)


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


def test_identity_message_word_for_word():
    with pytest.raises(VspApiError) as info:
        restore_plan.check_identity(dict(STORAGE), OTHER_SID, 1)
    assert info.value.msg == ('expected_storage_device_id / expected_serial_number: the array at this address reports '
                              'storage device id %s, not %s and serial number %s, not 1. It is not the array the inventory '
                              'names; check host and storage_device_id.%s' % (SID, OTHER_SID, SERIAL, NOTHING))


def test_choose_groups_message_word_for_word():
    with pytest.raises(VspApiError) as info:
        restore_plan.choose_groups(['1-1'], ['1-1', '1-2'], False)
    assert info.value.msg == ('parity_groups: the array reports lost keys in parity group(s) [1-2], which parity_groups '
                              '[1-1] leaves out. A restore needs every pool volume of every group with lost keys blocked: '
                              'name them all, or leave parity_groups out to take the groups the array reports.' + NOTHING)


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


def test_plan_checks_the_expected_serial_number(tmp_path):
    msg = refused(Api(ALL), str(tmp_path), expected_serial_number=1)
    assert 'serial number %s, not 1' % SERIAL in msg
    assert plan(Api(ALL), str(tmp_path), expected_serial_number=SERIAL)['restore_needed'] is False


def test_forced_is_false_when_groups_show_lost_keys(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    result = plan(Api(LOST_1_1), path, force=True)
    assert result['forced'] is False
    assert not any('(forced' in line for line in result['lines'])


def test_no_groups_no_volume_read(tmp_path):
    api = Api(ALL)
    result = plan(api, str(tmp_path))
    assert result['volumes'] == [] and not [c for c in api.calls if c.startswith('list_ldevs')]


class PoolIdApi(Api):
    def list_ldevs(self, parity_group_id=None, pool_id=None):
        rows = super(PoolIdApi, self).list_ldevs(parity_group_id, pool_id)
        for row in rows:
            row['poolId'] = row.pop('composingPoolId', None)
        return rows


def test_pool_id_taken_from_pool_id_when_no_composing_pool_id(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    result = plan(PoolIdApi(LOST_1_1), path)
    assert result['pools'] == [5]
    assert all(v['pool_id'] == 5 for v in result['volumes'])
    assert result['offline']['pools'][0]['pool_id'] == 5


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


def test_a_key_file_changed_in_place_with_its_size_kept_is_refused(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    with open(path, 'r+b') as handle:
        first = handle.read(1)
        handle.seek(0)
        handle.write(bytes([first[0] ^ 0xFF]))
    assert 'does not match its manifest' in refused(Api(LOST_1_1), path)


def test_another_array_message_word_for_word(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, serial=12345, password=BACKUP_PASSWORD)
    assert refused(Api(LOST_1_1), path) == (
        'path: %s is a key file of another array (its manifest names storage device id %s, serial 12345; this array is '
        '%s, serial %s). The rule: a key file is restored only to the array it was made on.%s' % (path, SID, SID, SERIAL, NOTHING))


def test_not_matching_message_word_for_word(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    data = read_manifest(path)
    with open(path, 'ab') as handle:
        handle.write(b'x')
    sha, size = sha_and_size(path)
    assert refused(Api(LOST_1_1), path) == (
        'path: %s does not match its manifest %s (sha256 %s, size %d; the manifest says sha256 %s, size %s). '
        'The file is damaged or not the one that was backed up.%s'
        % (path, mf.manifest_path(path), sha, size, data['sha256'], data['size'], NOTHING))


def test_size_alone_differing_is_refused_and_a_manifest_without_size_is_accepted(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    data = read_manifest(path)
    data['size'] = data['size'] + 1
    resign(path, data, BACKUP_PASSWORD)  # authenticated: only the size differs
    assert 'does not match its manifest' in refused(Api(LOST_1_1), path)
    data.pop('size')
    resign(path, data, BACKUP_PASSWORD)
    assert plan(Api(LOST_1_1), path)['manifest_verified'] is True


def test_unreadable_key_file_message(tmp_path, fast_kdf, monkeypatch):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)

    def fail(p):
        raise OSError(13, 'Permission denied')
    monkeypatch.setattr(key_files, 'sha256_file', fail)
    assert refused(Api(LOST_1_1), path) == 'path: %s cannot be read: Permission denied.%s' % (path, NOTHING)

    def fail_bare(p):
        raise OSError()
    monkeypatch.setattr(key_files, 'sha256_file', fail_bare)
    assert refused(Api(LOST_1_1), path) == 'path: %s cannot be read: OSError.%s' % (path, NOTHING)


def test_missing_dek_message_word_for_word(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations={'1': 'HDD01-00', '4': 'HDD01-11'}, password=BACKUP_PASSWORD)
    assert refused(Api({'1': 'HDD01-00', '4': 'HDD01-11'}), path) == (
        'path: %s holds no DEK for drive(s) HDD01-01, HDD01-10, whose keys are lost (the file was made after the loss, or '
        'before those drives were encrypted). The rule: the file must hold a DEK for every drive that lost its key. Name '
        'an older file, or the directory to let the collection pick one.%s' % (path, NOTHING))


def test_warnings_word_for_word(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    assert plan(Api(LOST_1_1), path)['warnings'] == []
    ahead = write_key_file(tmp_path, 'ahead.ekf', locations=ALL, password=BACKUP_PASSWORD,
                           made=datetime.datetime(2099, 1, 1, 0, 0, 0, tzinfo=datetime.timezone.utc))
    assert plan(Api(LOST_1_1), ahead)['warnings'] == [
        '%s is dated in the future (2099-01-01T00:00:00Z): the clock of the host that made it is wrong.' % mf.manifest_path(ahead)]


def test_unauthenticated_named_file_message_word_for_word(tmp_path, fast_kdf):
    for version in (2, 1):
        path = write_key_file(tmp_path, 'v%d.ekf' % version, locations=ALL, version=version)
        assert refused(Api(LOST_1_1), path) == (
            'path: the manifest %s is not authenticated (format %d, without a password verifier and MAC): anyone who can '
            'write the directory could have written it, and nothing in it can be believed. The rule: a file is restored '
            'from its manifest only when the manifest opens with backup_password. If you know this file is right, restore '
            'it without its manifest (verify_manifest: false); the array then decides whether it is this array\'s and holds '
            'the lost keys, after the volumes are blocked.%s' % (mf.manifest_path(path), version, NOTHING))


def test_password_checked_with_the_manifest_path_named(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    data = read_manifest(path)
    data['password_verifier']['mac'] = {'value': 'AAAA'}
    rewrite_manifest(path, data)
    with pytest.raises(VspApiError) as info:
        plan(Api(LOST_1_1), path)
    assert info.value.msg.startswith('%s was changed after the backup (its MAC does not match)' % mf.manifest_path(path))


def test_no_manifest_message_word_for_word(tmp_path):
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'keys')
    assert refused(Api(LOST_1_1), str(path)) == (
        "path: %s has no manifest (%s). The rule: a restore needs the manifest made with the file, to check that the file "
        "is this array's, is intact, holds the lost keys and opens with the password. Set verify_manifest: false only if "
        "you know the file is right.%s" % (path, mf.manifest_path(str(path)), NOTHING))


def test_verify_manifest_defaults_to_true(tmp_path):
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'keys')
    params = {'source': 'file', 'path': str(path)}
    with pytest.raises(VspApiError, match='has no manifest'):
        restore_plan.make_plan(Api(LOST_1_1), params, dict(STORAGE), None)


def test_verify_manifest_false_texts(tmp_path):
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'keys')
    result = plan(Api(LOST_1_1), str(path), password=None, verify_manifest=False)
    assert result['path_reason'] == 'named by path (manifest check turned off with verify_manifest: false)'
    assert result['warnings'] == [
        "verify_manifest is false: the file is not checked against a manifest; whether it is this array's, whether it "
        "holds the lost keys and whether the password opens it are known only after the volumes are blocked."]
    assert "Checks before any write: this array's file, no manifest check, password not checkable before the restore." in result['lines']


def test_directory_pick_passes_over_a_file_without_verifier_naming_it(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'bare.ekf', locations=ALL, day=3)
    assert refused(Api(LOST_1_1), str(tmp_path)) == (
        'path: in %s, no key file there can restore the lost keys: bare.ekf has a manifest without a password verifier and '
        'MAC (format 2), so it is not authenticated: anyone who can write the directory could have written it.%s'
        % (tmp_path, NOTHING))
    good = write_key_file(tmp_path, 'good.ekf', locations=ALL, password=BACKUP_PASSWORD, day=2)
    result = plan(Api(LOST_1_1), str(tmp_path))
    assert result['path'] == good and result['password_checked'] is True
    # the newer file that was passed over is named, once
    assert result['warnings'] == [
        '1 newer key file(s) of this array in the directory do not count and were not used: bare.ekf has a manifest '
        'without a password verifier and MAC (format 2), so it is not authenticated: anyone who can write the directory could '
        'have written it.']


def test_directory_pick_with_verifier_has_no_warning(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'good.ekf', locations=ALL, password=BACKUP_PASSWORD, day=3)
    result = plan(Api(LOST_1_1), str(tmp_path))
    assert result['warnings'] == [] and result['password_checked'] is True


def test_directory_refusal_names_at_most_five_set_aside_files_and_counts_other_arrays(tmp_path, fast_kdf):
    for day in range(1, 13):
        write_key_file(tmp_path, 'f%02d.ekf' % day, locations=ALL, sid=OTHER_SID, day=day)
    msg = refused(Api(LOST_1_1), str(tmp_path))
    assert msg == ('path: in %s, no key file of this array (by its manifest) is there. 12 file(s) there belong to other '
                   'arrays.%s' % (tmp_path, NOTHING))
    for i in range(7):
        (tmp_path / ('loose%d.ekf' % i)).write_bytes(b'keys')
    msg = refused(Api(LOST_1_1), str(tmp_path))
    assert msg == ('path: in %s, no key file of this array (by its manifest) is there. Set aside there: %s and 2 more. 12 '
                   'file(s) there belong to other arrays.%s'
                   % (tmp_path, '; '.join('loose%d.ekf: no manifest' % i for i in range(5)), NOTHING))
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert refused(Api(LOST_1_1), str(empty)) == 'path: in %s, no key file of this array (by its manifest) is there.%s' % (
        empty, NOTHING)


def test_directory_pick_without_a_password_chooses_nothing(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'good.ekf', locations=ALL, password=BACKUP_PASSWORD, day=3)
    assert refused(Api(LOST_1_1), str(tmp_path), password=None) == (
        'path: in %s, no key file there can restore the lost keys: good.ekf is not authenticated: no backup password was '
        'given to check its manifest.%s' % (tmp_path, NOTHING))


def test_plan_fields_for_a_named_file(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    result = plan(Api(LOST_1_1), path)
    assert result['coverage'] and result['path_reason'] == 'named by path' and result['password_checked'] is True
    nothing = plan(Api(ALL), path)
    assert nothing['path'] == path and nothing['path_reason'] == 'not used: no key is lost'
    assert nothing['manifest_verified'] is False and nothing['password_checked'] is None
    assert nothing['forced'] is False
    kms = plan(Api(LOST_1_1), None, password=None, source='kms')
    assert kms['path_reason'] is None and kms['manifest_verified'] is False and kms['password_checked'] is None


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


def test_plan_lines_texts_word_for_word():
    base = {'storage': STORAGE, 'lost_parity_groups': ['1-1'], 'lost_drives': ['HDD01-01'], 'evidence': 'E',
            'parity_groups_named': True, 'restore_needed': True, 'parity_groups': ['1-1'], 'volumes_to_block': [1],
            'volumes_to_recover': [1, 2], 'pools': [5], 'forced': False, 'source': 'file', 'path': '/k.ekf',
            'path_reason': 'named by path', 'manifest_verified': False, 'password_checked': False, 'warnings': [],
            'offline': {'pools': [{'pool_id': 5}], 'dp_volume_count': 0, 'dp_volume_ids': [], 'pool_volume_count': 2}}
    lines = restore_plan.plan_lines(base)
    assert lines[1] == ('Evidence: E. If you know keys are lost but the array shows none (an array that keeps lost keys '
                        'listed), name the parity groups and set force.')
    assert lines[2] == 'Parity groups to act on (as named): [1-1].'
    assert lines[4] == ('Offline from the block until the recovery: pool(s) 5, so no DP volume carved from them, and the 2 pool '
                        'volume(s) of these parity groups. Stop or quiesce the hosts that use them.')
    assert lines[5] == "Checks before any write: this array's file, no manifest check, password does not match."
    base['offline'] = {'pools': [{'pool_id': 5}], 'dp_volume_count': 50, 'dp_volume_ids': list(range(50)),
                       'pool_volume_count': 2}
    assert ' ...)' not in restore_plan.plan_lines(base)[4]
    base['offline'] = {'pools': [{'pool_id': 5}], 'dp_volume_count': 51, 'dp_volume_ids': list(range(51)),
                       'pool_volume_count': 2}
    line = restore_plan.plan_lines(base)[4]
    assert '51 DP volume(s) (LDEV 0-50)' in line
    base['forced'] = True
    assert restore_plan.plan_lines(base)[3] == (
        'Block 1 pool volume(s) not blocked yet: LDEV 1 (pools [5]); restore the keys (forced: no group shows lost keys) '
        'from the key file /k.ekf (named by path); then recover all 2 pool volume(s): LDEV 1-2.')


# -- plan_lines with a given offline ----------------------------------------------------------------
def plan_dict(**extra):
    base = {'storage': STORAGE, 'lost_parity_groups': ['1-1'], 'lost_drives': ['HDD01-01'], 'evidence': 'E',
            'parity_groups_named': True, 'restore_needed': True, 'forced': False, 'parity_groups': ['1-1'], 'source': 'kms',
            'path': None, 'volumes_to_block': [1], 'volumes_to_recover': [1], 'pools': [0], 'warnings': []}
    base.update(extra)
    return base


def offline(pools, dp_ids):
    return {'pools': pools, 'pool_ids': [p['pool_id'] for p in pools], 'pool_volume_count': sum(p['pool_volume_count'] for p in pools),
            'dp_volume_ids': dp_ids, 'dp_volume_count': len(dp_ids)}


def test_plan_lines_offline_exact_wording():
    lines = restore_plan.plan_lines(plan_dict(offline=offline(
        [{'pool_id': 0, 'pool_name': 'Pool A', 'pool_volume_count': 1}, {'pool_id': 7, 'pool_name': '', 'pool_volume_count': 2}],
        [5, 6])))
    assert lines == [
        'Array %s: parity group(s) [1-1] have lost keys (drives without a DEK: [HDD01-01]).' % SID,
        lines[1],
        'Parity groups to act on (as named): [1-1].',
        'Block 1 pool volume(s) not blocked yet: LDEV 1 (pools [0]); restore the keys from the key management server; then '
        'recover all 1 pool volume(s): LDEV 1.',
        'Offline from the block until the recovery: pool(s) 0 (Pool A), 7, so 2 DP volume(s) (LDEV 5-6) carved from '
        'them, and the 3 pool volume(s) of these parity groups. Stop or quiesce the hosts that use them.',
    ]
    assert lines[1].startswith('Evidence: E.')


def test_plan_lines_scattered_dp_volumes_show_eight_ranges_and_count_the_rest():
    ids = list(range(0, 40, 2))  # 20 ids, none adjacent: 20 ranges
    lines = restore_plan.plan_lines(plan_dict(offline=offline([{'pool_id': 0, 'pool_name': None, 'pool_volume_count': 1}], ids)))
    line = [x for x in lines if x.startswith('Offline')][0]
    assert 'so 20 DP volume(s) (LDEV 0, 2, 4, 6, 8, 10, 12, 14 and 12 more) carved from them, and the' in line


@pytest.mark.parametrize('extra', [{}, {'offline': None}])
def test_plan_lines_without_offline_has_no_offline_line(extra):
    lines = restore_plan.plan_lines(plan_dict(**extra))
    assert not [x for x in lines if x.startswith('Offline')]
    assert len(lines) == 4


def test_plan_lines_no_restore_never_words_offline():
    lines = restore_plan.plan_lines(plan_dict(restore_needed=False, lost_parity_groups=[], offline=offline(
        [{'pool_id': 0, 'pool_name': None, 'pool_volume_count': 1}], [])))
    assert not [x for x in lines if x.startswith('Offline')]


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


def test_read_upload_empty_message(tmp_path):
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'')
    with pytest.raises(VspApiError) as info:
        restore_plan.read_upload(str(path))
    assert info.value.msg == 'path %s is empty.%s' % (path, NOTHING)


def test_still_lost_message_word_for_word():
    cov = {'lost_parity_groups': ['1-1'], 'lost_drives': ['HDD01-01']}
    assert restore_plan.still_lost_message('the KMS', cov) == (
        'The restore from the KMS finished, but keys of parity group(s) [1-1] are still lost (drives without a DEK: '
        '[HDD01-01]). The pool volumes stay blocked and recovery was not tried, as it must fail while keys are lost. Use a '
        'key file that holds those keys (name the backup directory to let the collection pick one).')


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


def test_holder_hint_and_path_need_a_file_source_a_path_and_the_password(tmp_path, fast_kdf):
    holder = write_key_file(tmp_path, 'holder.ekf', locations=ALL, password=BACKUP_PASSWORD, day=3)
    used = write_key_file(tmp_path, 'used.ekf', locations=LOST_1_1, password=BACKUP_PASSWORD, day=4)
    cov = {'lost_drives': ['HDD01-01']}
    plan_file = {'source': 'file', 'path': used, 'storage': dict(STORAGE)}
    deriver = mf.Deriver(BACKUP_PASSWORD)
    assert restore_plan.holder_path(plan_file, cov, deriver) == holder
    assert restore_plan.holder_path(dict(plan_file, source='kms'), cov, deriver) is None
    assert restore_plan.holder_path(dict(plan_file, path=None), cov, deriver) is None
    assert restore_plan.holder_hint(dict(plan_file, source='kms'), cov, deriver) is None
    assert restore_plan.holder_hint(dict(plan_file, path=None), cov, deriver) is None
    assert restore_plan.holder_hint(plan_file, cov, deriver) == (
        'The key file %s holds them: rerun with it (or with the directory %s).' % (holder, os.path.dirname(holder)))
    # without the password no file counts, so none is offered
    assert restore_plan.holder_path(plan_file, cov) is None
    assert restore_plan.holder_hint(plan_file, cov) == (
        'No key file in %s holds them (by the manifests); look for an older copy, or restore from the KMS.' % tmp_path)


def test_holder_path_never_offers_a_forged_file(tmp_path, fast_kdf):
    used = write_key_file(tmp_path, 'used.ekf', locations=LOST_1_1, password=BACKUP_PASSWORD, day=4)
    holder = write_key_file(tmp_path, 'holder.ekf', locations=ALL, password=BACKUP_PASSWORD, day=3)
    forge(tmp_path, 'forged.ekf', holder)
    plan_file = {'source': 'file', 'path': used, 'storage': dict(STORAGE)}
    assert restore_plan.holder_path(plan_file, {'lost_drives': ['HDD01-01']}, mf.Deriver(BACKUP_PASSWORD)) == holder


def test_holder_path_passes_over_a_file_whose_manifest_was_edited(tmp_path, fast_kdf):
    edited = write_key_file(tmp_path, 'edited.ekf', locations=ALL, password=BACKUP_PASSWORD, day=3)
    data = read_manifest(edited)
    data['model'] = 'edited'
    rewrite_manifest(edited, data)
    older = write_key_file(tmp_path, 'older.ekf', locations=ALL, password=BACKUP_PASSWORD, day=2)
    used = write_key_file(tmp_path, 'used.ekf', locations=LOST_1_1, password=BACKUP_PASSWORD, day=4)
    cov = {'lost_drives': ['HDD01-01']}
    plan_file = {'source': 'file', 'path': used, 'storage': dict(STORAGE)}
    assert restore_plan.holder_path(plan_file, cov, mf.Deriver(BACKUP_PASSWORD)) == older
    os.unlink(older)
    assert restore_plan.holder_path(plan_file, cov, mf.Deriver(BACKUP_PASSWORD)) is None


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


def test_stale_plan_message_word_for_word(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    made = plan(Api(LOST_1_1), path)
    edited = dict(made, sha256='f' * 64, created_utc='2026-12-01T02:00:00Z')
    with pytest.raises(VspApiError) as info:
        apply_plan(Api(LOST_1_1), edited)
    assert info.value.msg == (
        "plan: stale - the file's sha256 is now %s, the plan has %s. Make a new plan (check mode) and review it (this one "
        'was made at 2026-12-01T02:00:00Z). Nothing was sent to the array; nothing was changed on it.' % (sha_and_size(path)[0], 'f' * 64))


def test_not_a_plan_message_word_for_word():
    with pytest.raises(VspApiError) as info:
        restore_plan.options_of({'format_version': 1})
    assert info.value.msg.startswith('plan: not a plan of this module - created_utc is missing; storage is missing; ')
    assert info.value.msg.endswith('; made_with is missing. The rule: plan takes the plan (RV plan) that a check-mode run of '
                                   'vsp.encryption.encryption_key_restore returned, unchanged (format_version 1). Nothing was '
                                   'sent to the array; nothing was changed on it.')


# -- plan['offline']: the pools and DP volumes offline from the block until the recovery (issue 13) -----
class PoolsApi(Api):
    """Read calls of a two-group array (1-1: HDD01-00/01, 1-2: HDD01-10/11; 2-1 not encrypted), with pools and
    DP volumes. Records every call; has no write method, so a write raises AttributeError."""

    def __init__(self, locations, volumes=None, pools=None, dp_volumes=None):
        super(PoolsApi, self).__init__(locations)
        # parity group -> [(ldev id, status, pool id)]
        self.volumes = volumes if volumes is not None else {
            '1-1': [(1, 'NML', 0), (2, 'BLK', 0), (3, 'NML', 1)], '1-2': [(10, 'NML', 2)], '2-1': []}
        self.pools = pools if pools is not None else {
            0: {'poolId': 0, 'poolName': 'enc-pool-0', 'poolStatus': 'POLN'},
            1: {'poolId': 1, 'poolStatus': 'POLN'},  # no name
            2: {'poolId': 2, 'poolName': 'enc-pool-2', 'poolStatus': 'POLN'}}
        self.dp_volumes = dp_volumes if dp_volumes is not None else {0: [100, 101], 1: [], 2: [200]}

    def list_ldevs(self, parity_group_id=None, pool_id=None):
        self.calls.append('list_ldevs %s' % parity_group_id)
        return [ldev(i, s, pool_id=p, pgs=(parity_group_id,)) for i, s, p in self.volumes[parity_group_id]] + [
            ldev(900, pool_id=0, pgs=(parity_group_id,), pool_volume=False)]  # a DP volume on the group: not a pool volume

    def get_pool(self, pool_id):
        self.calls.append('get_pool %s' % pool_id)
        return self.pools.get(int(pool_id))

    def list_dp_volumes(self, pool_id):
        self.calls.append('list_dp_volumes %s' % pool_id)
        return [ldev(i, pool_id=pool_id, pgs=(), pool_volume=False) for i in self.dp_volumes[int(pool_id)]]

    def pool_calls(self):
        return [c for c in self.calls if c.startswith(('get_pool', 'list_dp_volumes'))]


def offline_lines(result):
    return [line for line in result['lines'] if line.startswith('Offline from the block until the recovery')]


@pytest.fixture
def key_file(tmp_path, fast_kdf):
    return write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)


def test_offline_lists_each_pool_with_its_pool_and_dp_volumes(key_file):
    api = PoolsApi(LOST_1_1)
    result = plan(api, key_file)
    assert result['parity_groups'] == ['1-1']
    assert result['offline'] == {
        'pools': [
            {'pool_id': 0, 'pool_name': 'enc-pool-0', 'pool_status': 'POLN', 'pool_volume_ids': [1, 2], 'pool_volume_count': 2,
             'dp_volume_ids': [100, 101], 'dp_volume_count': 2},
            {'pool_id': 1, 'pool_name': None, 'pool_status': 'POLN', 'pool_volume_ids': [3], 'pool_volume_count': 1,
             'dp_volume_ids': [], 'dp_volume_count': 0},
        ],
        'pool_ids': [0, 1], 'pool_volume_count': 3, 'dp_volume_ids': [100, 101], 'dp_volume_count': 2,
    }
    assert result['pools'] == [0, 1]
    # the pools of the acted-on groups only (pool 2 is of 1-2), each read once, after the volumes were found
    assert api.pool_calls() == ['get_pool 0', 'list_dp_volumes 0', 'get_pool 1', 'list_dp_volumes 1']
    assert api.calls.index('get_pool 0') > api.calls.index('list_ldevs 1-1')
    # the volumes found for the plan are reused: the group's LDEVs are listed once
    assert api.calls.count('list_ldevs 1-1') == 1
    assert 'list_ldevs 1-2' not in api.calls


def test_offline_line_words_the_pools_and_dp_volumes(key_file):
    result = plan(PoolsApi(LOST_1_1), key_file)
    lines = result['lines']
    block = [i for i, line in enumerate(lines) if line.startswith('Block ')]
    assert block
    assert lines[block[0] + 1] == ('Offline from the block until the recovery: pool(s) 0 (enc-pool-0), 1, so 2 DP volume(s) '
                                   '(LDEV 100-101) carved from them, and the 3 pool volume(s) of these parity groups. '
                                   'Stop or quiesce the hosts that use them.')
    assert lines[block[0] + 2].startswith("Checks before any write: this array's file")


def test_offline_over_two_groups_counts_each_pool_once(key_file):
    api = PoolsApi(LOST_BOTH, volumes={'1-1': [(1, 'NML', 0)], '1-2': [(10, 'BLK', 0), (11, 'NML', 2)], '2-1': []})
    result = plan(api, key_file)
    assert result['parity_groups'] == ['1-1', '1-2']
    offline = result['offline']
    assert offline['pool_ids'] == [0, 2]
    assert [p['pool_volume_ids'] for p in offline['pools']] == [[1, 10], [11]]
    assert offline['pool_volume_count'] == 3
    assert offline['dp_volume_ids'] == [100, 101, 200] and offline['dp_volume_count'] == 3
    assert api.pool_calls() == ['get_pool 0', 'list_dp_volumes 0', 'get_pool 2', 'list_dp_volumes 2']
    assert offline_lines(result) == [
        'Offline from the block until the recovery: pool(s) 0 (enc-pool-0), 2 (enc-pool-2), so 3 DP volume(s) '
        '(LDEV 100-101, 200) carved from them, and the 3 pool volume(s) of these parity groups. '
        'Stop or quiesce the hosts that use them.']


def test_offline_dp_volumes_are_ranges_however_many(key_file):
    api = PoolsApi(LOST_1_1, volumes={'1-1': [(1, 'NML', 0)], '1-2': [], '2-1': []}, dp_volumes={0: list(range(1000, 1060))})
    result = plan(api, key_file)
    assert result['offline']['dp_volume_count'] == 60
    assert result['offline']['dp_volume_ids'] == list(range(1000, 1060))  # the plan keeps them all
    assert offline_lines(result) == [
        'Offline from the block until the recovery: pool(s) 0 (enc-pool-0), so 60 DP volume(s) (LDEV 1000-1059) carved '
        'from them, and the 1 pool volume(s) of these parity groups. Stop or quiesce the hosts that use them.']


def test_offline_also_for_kms_and_forced_restores(tmp_path, fast_kdf):
    kms = plan(PoolsApi(LOST_1_1), None, password=None, source='kms')
    assert kms['offline']['pool_ids'] == [0, 1]
    assert len(offline_lines(kms)) == 1
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    forced = plan(PoolsApi(ALL), path, parity_groups=['1-2'], force=True)
    assert forced['forced'] is True
    assert forced['offline']['pool_ids'] == [2]
    assert offline_lines(forced) == [
        'Offline from the block until the recovery: pool(s) 2 (enc-pool-2), so 1 DP volume(s) (LDEV 200) carved from '
        'them, and the 1 pool volume(s) of these parity groups. Stop or quiesce the hosts that use them.']


def test_no_offline_when_nothing_is_to_restore(tmp_path):
    api = PoolsApi(ALL, volumes={'1-1': [(1, 'BLK', 0), (2, 'NML', 0)], '1-2': [], '2-1': []})
    result = plan(api, str(tmp_path / 'not-there.ekf'), parity_groups=['1-1'])
    assert result['restore_needed'] is False
    assert result['offline'] is None
    assert offline_lines(result) == []
    # nothing is blocked, so nothing is asked about the pools but their status (for the pools to recover)
    assert api.pool_calls() == ['get_pool 0']
    assert result['pools'] == [0] and result['pools_to_recover'] == []


def test_pools_to_recover_without_a_restore_are_those_not_normal(tmp_path):
    api = PoolsApi(ALL, volumes={'1-1': [(1, 'NML', 0), (2, 'NML', 1)], '1-2': [(10, 'NML', 2)], '2-1': []},
                   pools={0: {'poolId': 0, 'poolStatus': 'POLE'}, 1: {'poolId': 1, 'poolStatus': 'POLN'}, 2: None})
    result = plan(api, str(tmp_path / 'not-there.ekf'), parity_groups=['1-1', '1-2'])
    assert result['restore_needed'] is False and result['volumes_to_recover'] == []
    # a pool left blocked by an earlier run (0), and one the array no longer shows (2): the rerun recovers them
    assert result['pools_to_recover'] == [0, 2]
    assert [c for c in api.calls if c.startswith('list_dp_volumes')] == []


def test_pools_to_recover_with_a_restore_are_every_pool_of_the_groups(key_file):
    api = PoolsApi(LOST_1_1)
    result = plan(api, key_file)
    assert result['restore_needed'] is True
    assert result['pools_to_recover'] == result['pools'] == [0, 1]


def test_no_offline_when_the_groups_have_no_pool_volume(key_file):
    api = PoolsApi(LOST_1_1, volumes={'1-1': [], '1-2': [], '2-1': []})
    result = plan(api, key_file)
    assert result['restore_needed'] is True and result['volumes'] == []
    assert result['offline'] is None
    assert offline_lines(result) == []
    assert api.pool_calls() == []


def test_plan_with_offline_is_json_and_has_no_secret(key_file):
    text = json.dumps(plan(PoolsApi(LOST_1_1), key_file))
    assert BACKUP_PASSWORD not in text
    assert '"offline": {"pools": [{"pool_id": 0' in text


def test_offline_impact_reads_the_groups(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    result = plan(Api(LOST_1_1), path)
    assert result['offline']['pool_volume_count'] == 2


# -- start_derivation: the password derived ahead from the salt of the file a restore will use ----------
SALT = b'S' * 16
ALL_OF_1_1 = {'1': 'HDD01-00', '2': 'HDD01-01'}


def started(deriver):
    return sorted(deriver._pending)  # pylint: disable=protected-access


def test_start_derivation_takes_the_salt_of_the_named_file(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL_OF_1_1, password=BACKUP_PASSWORD, salt=SALT)
    deriver = mf.Deriver(BACKUP_PASSWORD)
    restore_plan.start_derivation(path, deriver)
    assert started(deriver) == [(SALT, fast_kdf)]
    assert mf.check_password(read_manifest(path), deriver) is True


def test_start_derivation_takes_the_newest_manifest_with_a_verifier_in_a_directory(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'old.ekf', locations=ALL_OF_1_1, password=BACKUP_PASSWORD, salt=b'O' * 16, day=1)
    write_key_file(tmp_path, 'new.ekf', locations=ALL_OF_1_1, password=BACKUP_PASSWORD, salt=SALT, day=2)
    write_key_file(tmp_path, 'newest-without.ekf', locations=ALL_OF_1_1, day=3)
    (tmp_path / 'broken.ekf').write_bytes(b'x')
    (tmp_path / 'broken.ekf.manifest.json').write_bytes(b'{not json')
    deriver = mf.Deriver(BACKUP_PASSWORD)
    restore_plan.start_derivation(str(tmp_path), deriver)
    assert started(deriver) == [(SALT, fast_kdf)]


def test_start_derivation_without_a_usable_manifest_starts_nothing(tmp_path, fast_kdf):
    bare = tmp_path / 'bare.ekf'
    bare.write_bytes(b'keys')
    broken = tmp_path / 'broken.ekf'
    broken.write_bytes(b'keys')
    (tmp_path / 'broken.ekf.manifest.json').write_bytes(b'{not json')
    without = write_key_file(tmp_path, 'without.ekf', locations=ALL_OF_1_1)
    deriver = mf.Deriver(BACKUP_PASSWORD)
    for path in (str(bare), str(broken), without, str(tmp_path / 'missing.ekf')):
        restore_plan.start_derivation(path, deriver)
    assert started(deriver) == []
    empty = tmp_path / 'empty'
    os.mkdir(str(empty))
    restore_plan.start_derivation(str(empty), deriver)
    assert started(deriver) == []


def test_start_derivation_picks_by_time_not_by_name(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', locations=ALL_OF_1_1, password=BACKUP_PASSWORD, salt=b'O' * 16, day=1)
    write_key_file(tmp_path, 'b.ekf', locations=ALL_OF_1_1, password=BACKUP_PASSWORD, salt=SALT, day=2)
    deriver = mf.Deriver(BACKUP_PASSWORD)
    restore_plan.start_derivation(str(tmp_path), deriver)
    assert started(deriver) == [(SALT, fast_kdf)]
