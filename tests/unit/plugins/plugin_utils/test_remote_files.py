# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""remote_files: the files on a backup host, decided on the control node with the password from what
encryption_key_file_info returned there (run here on a local directory, without the password, as the role runs it)."""

import datetime
import os

import pytest
from conftest import BACKUP_PASSWORD
from key_file_helpers import SID, forge, keys_by_type, write_key_file

from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.plugin_utils import _remote_files as remote_files
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.modules import encryption_key_file_info

ALL = {'1': 'HDD00-00', '2': 'HDD00-01', '3': 'HDD00-02'}
AFTER_LOSS = {'1': 'HDD00-00', '3': 'HDD00-02'}
KEYS = keys_by_type(ALL)
OTHER_PASSWORD = 'Older#Pa55word'
UNAUTHENTICATED = ('has a manifest without a password verifier and MAC (format 2), so it is not authenticated: anyone who '
                   'can write the directory could have written it')

pytestmark = pytest.mark.usefixtures('fast_kdf')


def days_ago(days):
    return mf.utc_now() - datetime.timedelta(days=days)


def on_host(directory, host='ctl1'):
    """What the role's looped encryption_key_file_info task registers for one backup host (no password sent there)."""
    result = encryption_key_file_info.run({'path': str(directory), 'storage_device_id': SID, 'key_fingerprint': None,
                                           'lost_drives': [], 'backup_password': None, 'keep': 0})
    return dict(result, item=host)


def names(pairs):
    return [[host, os.path.basename(path)] for host, path in pairs]


# -- deletions ----------------------------------------------------------------------------------------
def test_deletions_pair_each_manifest_then_its_key_file_per_host(tmp_path):
    one, two = tmp_path / 'one', tmp_path / 'two'
    for directory in (one, two):
        directory.mkdir()
        write_key_file(directory, 'new.ekf', keys=KEYS, password=BACKUP_PASSWORD, made=days_ago(1))
        write_key_file(directory, 'old.ekf', keys=KEYS, password=BACKUP_PASSWORD, made=days_ago(2))
    results = [on_host(one, 'ctl1'), {'item': 'ctl2', 'skipped': True}, dict(on_host(two, 'ctl3'), failed=True)]
    pairs = remote_files.deletions(results, BACKUP_PASSWORD, 1, KEYS, str(one))
    assert pairs == [['ctl1', mf.manifest_path(str(one / 'old.ekf'))], ['ctl1', str(one / 'old.ekf')]]
    assert remote_files.deletions([], BACKUP_PASSWORD, 1, KEYS, str(one)) == []
    assert remote_files.deletions(None, BACKUP_PASSWORD, 1, KEYS, str(one)) == []
    assert remote_files.deletions(results, BACKUP_PASSWORD, 0, KEYS, str(one)) == []


def test_deletions_never_of_files_that_do_not_count_nor_in_their_favour(tmp_path):
    real = write_key_file(tmp_path, 'real.ekf', keys=KEYS, password=BACKUP_PASSWORD, made=days_ago(1))
    forge(tmp_path, 'forged.ekf', real)
    write_key_file(tmp_path, 'theirs.ekf', keys=KEYS, password=OTHER_PASSWORD, made=days_ago(0.5))
    write_key_file(tmp_path, 'bare.ekf', keys=KEYS, made=days_ago(3))
    assert remote_files.deletions([on_host(tmp_path)], BACKUP_PASSWORD, 1, KEYS, str(tmp_path)) == []
    older = write_key_file(tmp_path, 'older.ekf', keys=KEYS, password=BACKUP_PASSWORD, made=days_ago(2))
    assert remote_files.deletions([on_host(tmp_path)], BACKUP_PASSWORD, 1, KEYS, str(tmp_path)) == [
        ['ctl1', mf.manifest_path(older)], ['ctl1', older]]
    # another password decides nothing: no file opens with it
    assert remote_files.deletions([on_host(tmp_path)], OTHER_PASSWORD, 1, KEYS, str(tmp_path)) == []


def test_deletions_keep_the_newest_holder_of_a_key_the_array_has(tmp_path):
    write_key_file(tmp_path, 'new.ekf', locations=AFTER_LOSS, password=BACKUP_PASSWORD, made=days_ago(1))
    holder = write_key_file(tmp_path, 'holder.ekf', locations=ALL, password=BACKUP_PASSWORD, made=days_ago(2))
    write_key_file(tmp_path, 'same.ekf', locations=ALL, password=BACKUP_PASSWORD, made=days_ago(3))
    pairs = remote_files.deletions([on_host(tmp_path)], BACKUP_PASSWORD, 1, KEYS, str(tmp_path))
    assert names(pairs) == [['ctl1', 'same.ekf.manifest.json'], ['ctl1', 'same.ekf']]
    delete, kept = remote_files.retention(on_host(tmp_path), BACKUP_PASSWORD, 1, KEYS)
    assert {'path': holder, 'reason': 'the newest file that holds key(s) DEK:2, which the array still has and no newer kept '
                                      'file holds'} in kept


def test_deletions_never_outside_the_directory_asked_about(tmp_path):
    backups = tmp_path / 'backups'
    backups.mkdir()
    write_key_file(backups, 'new.ekf', keys=KEYS, password=BACKUP_PASSWORD, made=days_ago(1))
    old = write_key_file(backups, 'old.ekf', keys=KEYS, password=BACKUP_PASSWORD, made=days_ago(2))
    result = on_host(backups)
    assert remote_files.deletions([result], BACKUP_PASSWORD, 1, KEYS, str(tmp_path / 'elsewhere')) == []
    assert remote_files.deletions([result], BACKUP_PASSWORD, 1, KEYS, str(backups) + '/') == [
        ['ctl1', mf.manifest_path(old)], ['ctl1', old]]
    # a host that answers with a path leaving the directory
    for entry in result['files']:
        if entry['path'] == old:
            entry['path'] = os.path.join(str(backups), '..', 'old.ekf')
    assert remote_files.deletions([result], BACKUP_PASSWORD, 1, KEYS, str(backups)) == []


def test_deletions_keep_the_path_case_and_spaces(tmp_path):
    directory = tmp_path / 'Backups' / 'VSP 01'
    directory.mkdir(parents=True)
    write_key_file(directory, 'Keys New.EKF.ekf', keys=KEYS, password=BACKUP_PASSWORD, made=days_ago(1))
    old = write_key_file(directory, 'Keys Old.EKF.ekf', keys=KEYS, password=BACKUP_PASSWORD, made=days_ago(2))
    assert remote_files.deletions([on_host(directory, 'Backup Host')], BACKUP_PASSWORD, 1, KEYS, str(directory)) == [
        ['Backup Host', old + '.manifest.json'], ['Backup Host', old]]


# -- what comes back from the host is checked again -----------------------------------------------------
def test_a_manifest_that_does_not_come_back_whole_is_set_aside_and_kept(tmp_path):
    write_key_file(tmp_path, 'new.ekf', keys=KEYS, password=BACKUP_PASSWORD, made=days_ago(1))
    old = write_key_file(tmp_path, 'old.ekf', keys=KEYS, password=BACKUP_PASSWORD, made=days_ago(2))
    older = write_key_file(tmp_path, 'older.ekf', keys=KEYS, password=BACKUP_PASSWORD, made=days_ago(3))
    result = on_host(tmp_path)
    by_path = dict((f['path'], f) for f in result['files'])
    by_path[old]['manifest']['keys'] = ['DEK:1']
    del by_path[older]['sha256']
    files, aside = remote_files.entries(result)
    assert [f['name'] for f in files] == ['new.ekf']
    assert aside == [{'path': old, 'reason': 'its manifest did not come back from the host whole'},
                     {'path': older, 'reason': 'the host did not say its sha256 and size'}]
    delete, kept = remote_files.retention(result, BACKUP_PASSWORD, 1, KEYS)
    assert delete == []
    assert kept[1:] == [{'path': old, 'reason': 'not deleted: its manifest did not come back from the host whole'},
                        {'path': older, 'reason': 'not deleted: the host did not say its sha256 and size'}]


def test_a_manifest_changed_on_the_way_does_not_count(tmp_path):
    write_key_file(tmp_path, 'new.ekf', keys=KEYS, password=BACKUP_PASSWORD, made=days_ago(1))
    old = write_key_file(tmp_path, 'old.ekf', keys=KEYS, password=BACKUP_PASSWORD, made=days_ago(2))
    result = on_host(tmp_path)
    new_entry = [f for f in result['files'] if f['path'] != old][0]
    new_entry['manifest']['created_utc'] = '2000-01-01T00:00:00Z'  # the MAC no longer holds
    assert remote_files.deletions([result], BACKUP_PASSWORD, 1, KEYS, str(tmp_path)) == []
    delete, kept = remote_files.retention(result, BACKUP_PASSWORD, 1, KEYS)
    reasons = dict((k['path'], k['reason']) for k in kept)
    assert reasons[new_entry['path']].startswith('not deleted: it cannot be trusted: new.ekf.manifest.json was changed after '
                                                 'the backup')
    assert reasons[old] == 'one of the 1 newest'


def test_a_sha256_the_host_reports_that_the_manifest_does_not_have_does_not_count(tmp_path):
    write_key_file(tmp_path, 'new.ekf', keys=KEYS, password=BACKUP_PASSWORD, made=days_ago(1))
    write_key_file(tmp_path, 'old.ekf', keys=KEYS, password=BACKUP_PASSWORD, made=days_ago(2))
    result = on_host(tmp_path)
    result['files'][0]['sha256'] = '0' * 64  # the newest file on the host is not what its manifest says
    assert remote_files.deletions([result], BACKUP_PASSWORD, 1, KEYS, str(tmp_path)) == []


# -- the file to fetch for a restore ----------------------------------------------------------------------
def test_choose_the_newest_file_the_password_opens_that_holds_the_lost_keys(tmp_path):
    real = write_key_file(tmp_path, 'real.ekf', locations=ALL, password=BACKUP_PASSWORD, made=days_ago(2))
    forge(tmp_path, 'forged.ekf', real)
    write_key_file(tmp_path, 'theirs.ekf', locations=ALL, password=OTHER_PASSWORD, made=days_ago(1))
    write_key_file(tmp_path, 'short.ekf', locations=AFTER_LOSS, password=BACKUP_PASSWORD, made=days_ago(0.5))
    path, reason = remote_files.choose(on_host(tmp_path), BACKUP_PASSWORD, ['HDD00-01'])
    assert path == real
    assert reason == ('the newest key file of this array that opens with the password and holds a DEK for every drive that '
                      'lost its key (HDD00-01)')
    assert remote_files.choice_or_refusal(on_host(tmp_path), BACKUP_PASSWORD, ['HDD00-01'], 'backup01', str(tmp_path)) == real


def test_choice_or_refusal_names_the_host_the_directory_and_each_file(tmp_path):
    real = write_key_file(tmp_path, 'short.ekf', locations=AFTER_LOSS, password=BACKUP_PASSWORD, made=days_ago(1))
    forge(tmp_path, 'forged.ekf', real)
    with pytest.raises(VspApiError) as info:
        remote_files.choice_or_refusal(on_host(tmp_path), BACKUP_PASSWORD, ['HDD00-01'], 'backup01', '/srv/b')
    assert info.value.msg == ('encryption_key_restore_path: in /srv/b on backup01, no key file there can restore the lost '
                              'keys: forged.ekf %s; short.ekf holds no DEK for drive(s) HDD00-01. Nothing was changed on the '
                              'array.' % UNAUTHENTICATED)
    with pytest.raises(VspApiError, match='^encryption_key_restore_path: in /srv/b on backup01, no key file of this array'):
        remote_files.choice_or_refusal({'files': []}, BACKUP_PASSWORD, ['HDD00-01'], 'backup01', '/srv/b')
