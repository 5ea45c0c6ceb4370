# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Damaged key files (issue #24): which files are *damaged* - their bytes no longer match their authenticated
manifest - and the backup's warning that names them (this array's, capped) and counts the other arrays' files."""

import pytest
from conftest import BACKUP_PASSWORD
from key_file_helpers import OTHER_SID, SID, forge, write_key_file

from ansible_collections.vsp.encryption.plugins.module_utils import _key_files as key_files
from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf

OTHER_PASSWORD = 'Older#Pa55word'


def flip_a_byte(path, at=7):
    with open(path, 'r+b') as handle:
        handle.seek(at)
        byte = handle.read(1)
        handle.seek(at)
        handle.write(bytes([byte[0] ^ 0xFF]))


def authenticated(tmp_path, password=BACKUP_PASSWORD):
    files, ignored = key_files.scan(str(tmp_path), SID)
    return key_files.authenticate(files, mf.Deriver(password) if password else None), ignored


def test_a_flipped_byte_under_an_authenticated_manifest_is_damaged_and_nothing_else_is(tmp_path, fast_kdf):
    flip_a_byte(write_key_file(tmp_path, 'flipped.ekf', password=BACKUP_PASSWORD, day=6))
    flip_a_byte(write_key_file(tmp_path, 'other-password.ekf', password=OTHER_PASSWORD, day=5))
    flip_a_byte(write_key_file(tmp_path, 'unauthenticated.ekf', day=4))  # format 2, no verifier or MAC
    flip_a_byte(write_key_file(tmp_path, 'v1.ekf', version=1, day=3))
    # a manifest copied beside other bytes, which it matches: a forgery, not damage (and its MAC is for another name)
    forge(str(tmp_path), 'forged.ekf', write_key_file(tmp_path, 'good.ekf', password=BACKUP_PASSWORD, day=1))
    files, _ignored = authenticated(tmp_path)
    assert [(f['name'], f['intact'], f['damaged'], f['counts']) for f in files] == [
        ('forged.ekf', True, False, False), ('flipped.ekf', False, True, False), ('other-password.ekf', False, False, False),
        ('unauthenticated.ekf', False, False, False), ('v1.ekf', False, False, False), ('good.ekf', True, False, True)]
    assert [f['name'] for f in key_files.damaged(files)] == ['flipped.ekf']
    assert key_files.public(files[1])['damaged'] is True  # encryption_key_file_info returns it


def test_without_a_password_nothing_is_called_damaged_by_authenticate(tmp_path, fast_kdf):
    flip_a_byte(write_key_file(tmp_path, 'flipped.ekf', password=BACKUP_PASSWORD, day=2))
    files, _ignored = authenticated(tmp_path, password=None)
    assert [f['damaged'] for f in files] == [False]
    # the audit without the password takes a format-2 manifest as it says
    assert key_files.is_damaged(files[0], None) is True


def test_the_warning_names_this_arrays_damaged_file_with_its_bytes_against_its_manifest(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'flipped.ekf', password=BACKUP_PASSWORD, day=2)
    flip_a_byte(path)
    write_key_file(tmp_path, 'good.ekf', password=BACKUP_PASSWORD, day=1)
    files, ignored = authenticated(tmp_path)
    view = key_files.damaged_view(files[0])
    assert view['sha256'] != view['manifest_sha256'] and view['size'] == view['manifest_size']
    assert key_files.damaged_warning(files, ignored) == (
        'DAMAGED key file(s) of this array: 1 whose bytes no longer match their authenticated manifest: %s (made '
        '2026-11-02T02:00:00Z; %d bytes, sha256 %s; its manifest says %d bytes, sha256 %s). A restore from them would '
        'fail; they were neither used nor deleted. Find out what changed them (disk, share, copy), then replace each from '
        'a good copy (a backup host) or delete it with its manifest.'
        % (path, view['size'], view['sha256'], view['manifest_size'], view['manifest_sha256']))
    # said once: the warning of the files that do not count leaves it to the damaged one
    assert key_files.set_aside_warning(files) is None


def test_the_warning_counts_other_arrays_files_and_caps_its_list(tmp_path, fast_kdf):
    for i in range(7):
        flip_a_byte(write_key_file(tmp_path, 'd%d.ekf' % i, password=BACKUP_PASSWORD, day=1 + i))
    for i in range(3):
        flip_a_byte(write_key_file(tmp_path, 'theirs%d.ekf' % i, sid=OTHER_SID, password=BACKUP_PASSWORD, day=1))
    files, ignored = authenticated(tmp_path)
    text = key_files.damaged_warning(files, ignored)
    assert text.startswith('DAMAGED key file(s) of this array: 7 whose bytes')
    assert [n for n in ('d%d.ekf' % i for i in range(7)) if n in text] == ['d2.ekf', 'd3.ekf', 'd4.ekf', 'd5.ekf', 'd6.ekf']
    assert ' (and 2 more).' in text
    assert 'theirs' not in text
    assert text.endswith('The directory also holds 3 key file(s) of other arrays, not checked here (their own runs check '
                         'them).')


@pytest.mark.parametrize('restore', [False, True])
def test_the_set_aside_warning_still_names_the_other_files_that_do_not_count(tmp_path, fast_kdf, restore):
    flip_a_byte(write_key_file(tmp_path, 'flipped.ekf', password=BACKUP_PASSWORD, day=3))
    write_key_file(tmp_path, 'other.ekf', password=OTHER_PASSWORD, day=2)
    files, _ignored = authenticated(tmp_path)
    text = key_files.set_aside_warning(files, restore=restore)
    assert 'other.ekf' in text
    assert ('flipped.ekf' in text) is restore  # a restore has no damaged-file warning of its own


def test_the_backup_decision_names_the_damaged_file_when_no_file_counts(tmp_path, fast_kdf):
    flip_a_byte(write_key_file(tmp_path, 'only.ekf', password=BACKUP_PASSWORD, day=2))
    files, _ignored = key_files.scan(str(tmp_path), SID)
    assert key_files.backup_decision(files, 'fp', mf.Deriver(BACKUP_PASSWORD)) == (
        True, 'no key file of this array there opens with this backup password and matches its manifest (only.ekf is '
              'DAMAGED: its bytes no longer match its authenticated manifest)')
    write_key_file(tmp_path, 'good.ekf', password=BACKUP_PASSWORD, day=1)
    files, _ignored = key_files.scan(str(tmp_path), SID)
    assert key_files.backup_decision(files, 'fp', mf.Deriver(BACKUP_PASSWORD))[1].startswith(
        'the keys are unchanged and the newest file good.ekf')
