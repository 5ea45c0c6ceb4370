# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants of restore_plan.py that survived `make mutation` (docs/mutation.md)."""

import datetime
import os

import pytest
from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils import _restore_plan as restore_plan
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from conftest import BACKUP_PASSWORD
from key_file_helpers import OTHER_SID, SERIAL, SID, STORAGE, forge, read_manifest, resign, rewrite_manifest, write_key_file
from restore_plan_fakes import apply_plan, plan
from test_restore_plan import ALL, LOST_1_1, Api, refused


def test_a_key_file_changed_in_place_with_its_size_kept_is_refused(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    with open(path, 'r+b') as handle:
        first = handle.read(1)
        handle.seek(0)
        handle.write(bytes([first[0] ^ 0xFF]))
    assert 'does not match its manifest' in refused(Api(LOST_1_1), path)


# --- operator texts word for word, and the parameters each decision reads --------------------------------


NOTHING = ' Nothing was changed on the array.'


def test_identity_message_word_for_word():
    with pytest.raises(VspApiError) as info:
        restore_plan.check_identity(dict(STORAGE), OTHER_SID, 1)
    assert info.value.msg == ('expected_storage_device_id / expected_serial_number: the array at this address reports '
                              'storage device id %s, not %s and serial number %s, not 1. It is not the array the inventory '
                              'names; check host and storage_device_id.%s' % (SID, OTHER_SID, SERIAL, NOTHING))


def test_plan_checks_the_expected_serial_number(tmp_path):
    msg = refused(Api(ALL), str(tmp_path), expected_serial_number=1)
    assert 'serial number %s, not 1' % SERIAL in msg
    assert plan(Api(ALL), str(tmp_path), expected_serial_number=SERIAL)['restore_needed'] is False


def test_choose_groups_message_word_for_word():
    with pytest.raises(VspApiError) as info:
        restore_plan.choose_groups(['1-1'], ['1-1', '1-2'], False)
    assert info.value.msg == ('parity_groups: the array reports lost keys in parity group(s) [1-2], which parity_groups '
                              '[1-1] leaves out. A restore needs every pool volume of every group with lost keys blocked: '
                              'name them all, or leave parity_groups out to take the groups the array reports.' + NOTHING)


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
    sha, size = mf_sha(path)
    assert refused(Api(LOST_1_1), path) == (
        'path: %s does not match its manifest %s (sha256 %s, size %d; the manifest says sha256 %s, size %s). '
        'The file is damaged or not the one that was backed up.%s'
        % (path, mf.manifest_path(path), sha, size, data['sha256'], data['size'], NOTHING))


def mf_sha(path):
    from ansible_collections.vsp.encryption.plugins.module_utils import _key_files as key_files
    return key_files.sha256_file(path)


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
    from ansible_collections.vsp.encryption.plugins.module_utils import _key_files as key_files

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


def test_stale_plan_message_word_for_word(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    made = plan(Api(LOST_1_1), path)
    edited = dict(made, sha256='f' * 64, created_utc='2026-12-01T02:00:00Z')
    with pytest.raises(VspApiError) as info:
        apply_plan(Api(LOST_1_1), edited)
    assert info.value.msg == (
        "plan: stale - the file's sha256 is now %s, the plan has %s. Make a new plan (check mode) and review it (this one "
        'was made at 2026-12-01T02:00:00Z). Nothing was sent to the array; nothing was changed on it.' % (mf_sha(path)[0], 'f' * 64))


def test_not_a_plan_message_word_for_word():
    with pytest.raises(VspApiError) as info:
        restore_plan.options_of({'format_version': 1})
    assert info.value.msg.startswith('plan: not a plan of this module - created_utc is missing; storage is missing; ')
    assert info.value.msg.endswith('; made_with is missing. The rule: plan takes the plan (RV plan) that a check-mode run of '
                                   'vsp.encryption.encryption_key_restore returned, unchanged (format_version 1). Nothing was '
                                   'sent to the array; nothing was changed on it.')


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


def test_offline_impact_reads_the_groups(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    result = plan(Api(LOST_1_1), path)
    assert result['offline']['pool_volume_count'] == 2


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


def test_directory_pick_without_a_password_chooses_nothing(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'good.ekf', locations=ALL, password=BACKUP_PASSWORD, day=3)
    assert refused(Api(LOST_1_1), str(tmp_path), password=None) == (
        'path: in %s, no key file there can restore the lost keys: good.ekf is not authenticated: no backup password was '
        'given to check its manifest.%s' % (tmp_path, NOTHING))
