# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import json
import os

import pytest
from conftest import BACKUP_PASSWORD
from key_file_helpers import OTHER_SID, SID, forge, write_key_file

from ansible_collections.vsp.encryption.plugins.modules import encryption_key_file_info

ALL = {'1': 'HDD00-00', '2': 'HDD00-01', '3': 'HDD00-02'}
AFTER_LOSS = {'1': 'HDD00-00', '3': 'HDD00-02'}
OTHER_PASSWORD = 'Older#Pa55word'


def args(path, **extra):
    base = {'path': str(path), 'storage_device_id': SID}
    base.update(extra)
    return base


def listing(directory):
    return sorted(os.listdir(str(directory)))


@pytest.fixture
def backups(tmp_path, fast_kdf):
    """Nightly files: two after the loss, the good one, an older one, another array's, one without manifest."""
    write_key_file(tmp_path, 'd5.ekf', locations=AFTER_LOSS, password=BACKUP_PASSWORD, fingerprint='now', day=5)
    write_key_file(tmp_path, 'd4.ekf', locations=AFTER_LOSS, password=BACKUP_PASSWORD, fingerprint='now', day=4)
    write_key_file(tmp_path, 'd3.ekf', locations=ALL, password=BACKUP_PASSWORD, fingerprint='before', day=3)
    write_key_file(tmp_path, 'd2.ekf', locations=ALL, password=BACKUP_PASSWORD, fingerprint='before', day=2)
    write_key_file(tmp_path, '%s_20261109T020000Z.ekf' % SID, locations=ALL, sid=OTHER_SID, day=9)
    (tmp_path / 'loose.ekf').write_bytes(b'keys')
    return tmp_path


def test_lists_this_arrays_files_holders_and_retention(vsp, backups):
    before = listing(backups)
    result = vsp.run(encryption_key_file_info.main, args(backups, lost_drives=['HDD00-01'], keep=1,
                                                         backup_password=BACKUP_PASSWORD))
    assert result['changed'] is False
    assert [os.path.basename(f['path']) for f in result['files']] == ['d5.ekf', 'd4.ekf', 'd3.ekf', 'd2.ekf']
    assert all(f['intact'] and f['format_version'] == 2 and f['has_password_verifier'] for f in result['files'])
    assert all(f['counts'] is True and f['trust'] is None for f in result['files'])
    assert not [k for f in result['files'] for k in f if k.startswith('_')]
    assert sorted((os.path.basename(i['path']), i['reason']) for i in result['ignored']) == [
        ('%s_20261109T020000Z.ekf' % SID, 'the manifest names another array (%s)' % OTHER_SID),
        ('loose.ekf', 'no manifest'),
    ]
    assert result['newest'] == str(backups / 'd5.ekf')
    assert result['holders'] == [str(backups / 'd3.ekf'), str(backups / 'd2.ekf')]
    # while a drive's DEK is lost retention deletes nothing (as the backup module), whatever keep says
    assert result['retention']['delete'] == []
    assert set(k['reason'] for k in result['retention']['kept']) == {'keys are lost: retention deletes nothing'}
    without_loss = vsp.run(encryption_key_file_info.main, args(backups, keep=1, backup_password=BACKUP_PASSWORD))
    kept = dict((os.path.basename(k['path']), k['reason']) for k in without_loss['retention']['kept'])
    assert kept['d5.ekf'] == 'one of the 1 newest'
    assert str(backups / 'd4.ekf') in without_loss['retention']['delete']  # same keys as d5
    assert 'backup_needed' not in result
    assert listing(backups) == before  # changes nothing
    assert vsp.calls == []  # never talks to the array


def test_retention_is_of_the_files_that_count_only(vsp, backups):
    """Without the password no file counts: nothing would be deleted, and nothing is the newest."""
    result = vsp.run(encryption_key_file_info.main, args(backups, keep=1))
    assert result['retention']['delete'] == [] and result['newest'] is None
    assert set(k['reason'] for k in result['retention']['kept']) == {
        'not deleted: it is not authenticated: no backup password was given to check its manifest'}
    assert all(f['counts'] is False for f in result['files'])


def test_retention_never_offers_the_only_holders_of_a_lost_drive(vsp, backups):
    result = vsp.run(encryption_key_file_info.main, args(backups, lost_drives=['HDD00-01'], keep=1,
                                                         backup_password=BACKUP_PASSWORD))
    assert result['holders'] == [str(backups / 'd3.ekf'), str(backups / 'd2.ekf')]
    assert str(backups / 'd3.ekf') not in result['retention']['delete']


def test_backup_needed_when_keys_changed_and_not_when_unchanged(vsp, backups):
    changed = vsp.run(encryption_key_file_info.main, args(backups, key_fingerprint='later', backup_password=BACKUP_PASSWORD))
    assert changed['backup_needed'] is True and 'keys changed' in changed['backup_reason']
    same = vsp.run(encryption_key_file_info.main, args(backups, key_fingerprint='now', backup_password=BACKUP_PASSWORD))
    assert same['backup_needed'] is False and 'd5.ekf' in same['backup_reason']


def test_backup_needed_after_a_password_rotation(vsp, backups):
    no_file_counts = 'no key file of this array there opens with this backup password and matches its manifest'
    result = vsp.run(encryption_key_file_info.main, args(backups, key_fingerprint='now', backup_password=OTHER_PASSWORD))
    assert result['backup_needed'] is True and result['backup_reason'] == no_file_counts
    # without a password no file counts either: a new file is needed
    without = vsp.run(encryption_key_file_info.main, args(backups, key_fingerprint='now'))
    assert without['backup_needed'] is True and without['backup_reason'] == no_file_counts


def test_password_verifier_is_no_option(vsp, backups):
    result = vsp.fail(encryption_key_file_info.main, args(backups, key_fingerprint='now', backup_password=BACKUP_PASSWORD,
                                                          password_verifier=False))
    assert result['msg'].startswith('Unsupported parameters for') and 'password_verifier' in result['msg']


def test_holders_are_only_files_the_password_opens(vsp, tmp_path, fast_kdf):
    write_key_file(tmp_path, 'new.ekf', locations=ALL, password=OTHER_PASSWORD, day=3)
    write_key_file(tmp_path, 'old.ekf', locations=ALL, password=BACKUP_PASSWORD, day=2)
    without = vsp.run(encryption_key_file_info.main, args(tmp_path, lost_drives=['HDD00-01']))
    assert without['holders'] == []
    result = vsp.run(encryption_key_file_info.main, args(tmp_path, lost_drives=['HDD00-01'], backup_password=BACKUP_PASSWORD))
    assert [os.path.basename(p) for p in result['holders']] == ['old.ekf']
    assert [(os.path.basename(f['path']), f['counts']) for f in result['files']] == [('new.ekf', False), ('old.ekf', True)]
    assert result['files'][0]['trust'].startswith('does not open with this backup password')


def test_a_forged_newer_file_is_listed_but_never_the_newest_a_holder_or_deleted(vsp, tmp_path, fast_kdf):
    real = write_key_file(tmp_path, 'real.ekf', locations=ALL, password=BACKUP_PASSWORD, fingerprint='now', day=2)
    write_key_file(tmp_path, 'older.ekf', locations=ALL, password=BACKUP_PASSWORD, fingerprint='now', day=1)
    forged = forge(tmp_path, 'forged.ekf', real)
    result = vsp.run(encryption_key_file_info.main, args(tmp_path, lost_drives=['HDD00-01'], keep=1, key_fingerprint='now',
                                                         backup_password=BACKUP_PASSWORD))
    assert [f['path'] for f in result['files']][0] == forged and result['files'][0]['counts'] is False
    assert result['newest'] == real and forged not in result['holders']
    assert result['retention']['delete'] == []  # keys are lost
    result = vsp.run(encryption_key_file_info.main, args(tmp_path, keep=1, key_fingerprint='now', backup_password=BACKUP_PASSWORD))
    assert result['retention']['delete'] == [str(tmp_path / 'older.ekf')]
    assert result['backup_needed'] is False and 'real.ekf' in result['backup_reason']


def test_keep_0_deletes_nothing_and_no_secret_in_result(vsp, backups):
    result = vsp.run(encryption_key_file_info.main, args(backups, backup_password=BACKUP_PASSWORD, key_fingerprint='now'))
    assert result['retention']['delete'] == []
    assert len(result['retention']['kept']) == 4
    assert BACKUP_PASSWORD not in json.dumps(result)
    assert result['holders'] == []


def test_empty_directory(vsp, tmp_path):
    result = vsp.run(encryption_key_file_info.main, args(tmp_path, key_fingerprint='fp'))
    assert result['files'] == [] and result['newest'] is None
    assert result['backup_needed'] is True


@pytest.mark.parametrize('extra, words', [
    ({'storage_device_id': '1234'}, 'storage_device_id'),
    ({'keep': -1}, 'keep must be 0'),
])
def test_bad_input_refused(vsp, tmp_path, extra, words):
    result = vsp.fail(encryption_key_file_info.main, args(tmp_path, **extra))
    assert words in result['msg']


def test_missing_directory_refused(vsp, tmp_path):
    result = vsp.fail(encryption_key_file_info.main, args(tmp_path / 'Missing'))
    assert result['msg'] == '%s is not a directory' % (tmp_path / 'Missing')


def test_damaged_file_listed_not_intact_and_kept(vsp, tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'a.ekf', password=BACKUP_PASSWORD, day=2)
    write_key_file(tmp_path, 'b.ekf', password=BACKUP_PASSWORD, day=1)
    with open(path, 'ab') as handle:
        handle.write(b'x')
    result = vsp.run(encryption_key_file_info.main, args(tmp_path, keep=1, backup_password=BACKUP_PASSWORD))
    assert [f['intact'] for f in result['files']] == [False, True]
    assert [f['counts'] for f in result['files']] == [False, True]
    assert result['newest'] == str(tmp_path / 'b.ekf')
    assert result['retention']['delete'] == []


def test_restore_choice_is_the_restores_own_choice_and_says_why(vsp, backups):
    """One rule: the file a restore from this directory would use (key_files.choose_for_restore), with the reason."""
    lost = vsp.run(encryption_key_file_info.main, args(backups, lost_drives=['HDD00-01'], backup_password=BACKUP_PASSWORD))
    assert lost['restore_choice']['path'] == str(backups / 'd3.ekf') == lost['holders'][0]
    assert lost['restore_choice']['reason'].startswith('the newest key file of this array that opens with the password and '
                                                       'holds a DEK for every drive that lost its key (HDD00-01)')
    nothing_lost = vsp.run(encryption_key_file_info.main, args(backups, backup_password=BACKUP_PASSWORD))
    assert nothing_lost['restore_choice'] == {'path': str(backups / 'd5.ekf'),
                                              'reason': 'the newest key file of this array that opens with the password'}
    wrong = vsp.run(encryption_key_file_info.main, args(backups, lost_drives=['HDD00-01'], backup_password='Other#Pass-w0rd'))
    assert wrong['restore_choice']['path'] is None
    assert wrong['restore_choice']['reason'].startswith('the password does not open any key file that would hold the lost keys')
    assert 'restore_choice' not in vsp.run(encryption_key_file_info.main, args(backups))  # no password: no choice
