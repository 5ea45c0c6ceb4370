# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""key_files.py: the key files of a backup directory - scan, which count (authenticate), damaged files (issue #24),
the choice for a restore, retention, deletion, the directory lock, the backup decision and the salt reused. The texts
are checked word for word: they are what the operator reads."""

import datetime
import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from conftest import BACKUP_PASSWORD, SeqClock
from key_file_helpers import (FAST_ITERATIONS, OTHER_SID, SERIAL, SID, forge, keys_by_type, read_manifest, rewrite_manifest, when,
                              without_hanging, write_key_file)

from ansible_collections.vsp.encryption.plugins.module_utils import _key_files as key_files
from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError

ALL = {'1': 'HDD00-00', '2': 'HDD00-01', '3': 'HDD00-02'}
AFTER_LOSS = {'1': 'HDD00-00', '3': 'HDD00-02'}  # the DEK of HDD00-01 is lost
LOST = ['HDD00-01']
ALL_OF_1_1 = {'1': 'HDD01-00', '2': 'HDD01-01'}
OTHER_PASSWORD = 'Older#Pa55word'


def damage(path):
    with open(path, 'ab') as handle:
        handle.write(b'x')


def names(entries):
    return [e['name'] for e in entries]


# -- scan ---------------------------------------------------------------------------------------------
NOT_REGULAR = 'not a regular file (a symbolic link, a directory, a pipe or a device)'


def test_scan_takes_only_this_arrays_files_by_manifest_newest_first(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'b.ekf', day=1)
    write_key_file(tmp_path, 'a.ekf', day=3)
    write_key_file(tmp_path, 'c.ekf', day=2)
    # the name says this array, the manifest says another: not this array's
    write_key_file(tmp_path, '%s_20261130T020000Z.ekf' % SID, sid=OTHER_SID, day=9)
    (tmp_path / 'no-manifest.ekf').write_bytes(b'keys')
    (tmp_path / 'broken.ekf').write_bytes(b'keys')
    (tmp_path / 'broken.ekf.manifest.json').write_text('{not json')
    (tmp_path / 'notes.txt').write_text('not a key file')
    write_key_file(tmp_path, '.hidden.ekf', day=8)
    os.symlink(str(tmp_path / 'a.ekf'), str(tmp_path / 'link.ekf'))
    os.mkdir(str(tmp_path / 'dir.ekf'))
    files, ignored = key_files.scan(str(tmp_path), SID)
    assert names(files) == ['a.ekf', 'c.ekf', 'b.ekf']
    assert [f['created_utc'] for f in files] == ['2026-11-03T02:00:00Z', '2026-11-02T02:00:00Z', '2026-11-01T02:00:00Z']
    reasons = dict((os.path.basename(i['path']), i['reason']) for i in ignored)
    assert set(reasons) == {'%s_20261130T020000Z.ekf' % SID, 'no-manifest.ekf', 'broken.ekf', 'link.ekf', 'dir.ekf'}
    assert reasons['%s_20261130T020000Z.ekf' % SID] == 'the manifest names another array (%s)' % OTHER_SID
    assert reasons['no-manifest.ekf'] == 'no manifest'
    assert 'cannot be read' in reasons['broken.ekf']
    # a symlink (even to a good file of this array) and a directory are never read nor followed
    assert reasons['link.ekf'] == reasons['dir.ekf'] == NOT_REGULAR
    assert all(f['intact'] for f in files)
    assert files[0]['path'] == str(tmp_path / 'a.ekf')
    assert files[0]['format_version'] == 2


def test_scan_marks_a_changed_file_not_intact(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'a.ekf')
    damage(path)
    files, dummy = key_files.scan(str(tmp_path), SID)
    assert files[0]['intact'] is False
    assert files[0]['size'] == os.path.getsize(path)


def test_scan_ignores_a_key_file_that_cannot_be_read(tmp_path, fast_kdf, monkeypatch):
    bad = write_key_file(tmp_path, 'bad.ekf', day=2)
    write_key_file(tmp_path, 'good.ekf', day=1)
    real = key_files.sha256_file

    def sha256_file(path, cap=None, follow=True):
        if path == bad:
            raise OSError(5, 'Input/output error')
        return real(path, cap=cap, follow=follow)

    monkeypatch.setattr(key_files, 'sha256_file', sha256_file)
    files, ignored = key_files.scan(str(tmp_path), SID)
    assert names(files) == ['good.ekf']
    assert ignored == [{'path': bad, 'reason': 'cannot be read (Input/output error)'}]


def test_scan_refuses_what_is_not_a_directory(tmp_path):
    with pytest.raises(VspApiError, match='is not a directory'):
        key_files.scan(str(tmp_path / 'missing'), SID)


def test_public_entry_has_no_internal_fields(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', password=BACKUP_PASSWORD)
    files, dummy = key_files.scan(str(tmp_path), SID)
    public = key_files.public(files[0])
    assert not [k for k in public if k.startswith('_')]
    assert public['has_password_verifier'] is True
    assert 'password_verifier' not in public


def test_scan_sets_aside_a_key_file_larger_than_the_cap(tmp_path, fast_kdf, monkeypatch):
    monkeypatch.setattr(key_files, 'KEY_FILE_MAX', 100)
    big = write_key_file(tmp_path, 'big.ekf', content=b'k' * 101, password=BACKUP_PASSWORD, day=2)
    write_key_file(tmp_path, 'fits.ekf', content=b'k' * 100, password=BACKUP_PASSWORD, day=1)
    files, ignored = key_files.scan(str(tmp_path), SID)
    assert names(files) == ['fits.ekf']
    assert ignored == [{'path': big, 'reason': 'cannot be read (larger than the cap of 100 bytes)'}]


@pytest.mark.parametrize('field, value, problem', [
    ('keys', ['DEK:1', 'DEK:2'], 'keys must be an object of key type to key ids'),
    ('keys', {'DEK': '1'}, 'keys.DEK must be a list of key ids'),
    ('sha256', 'not hex at all', 'sha256 must be 64 lower-case hex digits'),
    ('created_utc', 'yesterday, about two', 'created_utc must be a UTC time such as 2026-12-01T02:00:00Z'),
    ('size', -1, 'size must be a whole number of bytes'),
    ('format_version', 3, 'format_version must be 1 or 2'),
])
def test_scan_sets_aside_a_malformed_manifest_with_its_reason(tmp_path, fast_kdf, field, value, problem):
    good = write_key_file(tmp_path, 'good.ekf', locations=ALL, password=BACKUP_PASSWORD, day=1)
    bad = write_key_file(tmp_path, 'bad.ekf', locations=ALL, password=BACKUP_PASSWORD, day=2)
    data = read_manifest(bad)
    data[field] = value
    rewrite_manifest(bad, data)
    files, ignored = key_files.scan(str(tmp_path), SID)
    assert names(files) == ['good.ekf']
    assert ignored == [{'path': bad, 'reason': 'The manifest %s is malformed: %s' % (mf.manifest_path(bad), problem)}]
    # and nothing downstream trips over it
    assert key_files.choose_for_restore(files, LOST, mf.Deriver(BACKUP_PASSWORD), NOW)[0]['path'] == good


def test_scan_sets_aside_every_malformed_manifest_at_once_and_nothing_raises(tmp_path, fast_kdf):
    good = write_key_file(tmp_path, 'good.ekf', locations=ALL, password=BACKUP_PASSWORD, day=1)
    edits = {
        'keys-list.ekf': {'keys': ['DEK:1']},
        'sha-upper.ekf': {'sha256': 'A' * 64},
        'time-garbage.ekf': {'created_utc': '2026-13-45T99:00:00Z'},
        'size-negative.ekf': {'size': -5},
        'version-3.ekf': {'format_version': 3},
    }
    for name, edit in edits.items():
        path = write_key_file(tmp_path, name, locations=ALL, password=BACKUP_PASSWORD, day=2)
        data = read_manifest(path)
        data.update(edit)
        rewrite_manifest(path, data)
    (tmp_path / 'json-list.ekf').write_bytes(b'keys')
    (tmp_path / 'json-list.ekf.manifest.json').write_text('[{"sha256": "%s"}]' % ('0' * 64))
    files, ignored = key_files.scan(str(tmp_path), SID)
    assert names(files) == ['good.ekf']
    reasons = dict((os.path.basename(i['path']), i['reason']) for i in ignored)
    assert sorted(reasons) == sorted(list(edits) + ['json-list.ekf'])
    assert all(' is malformed: ' in reasons[name] for name in edits)
    assert reasons['json-list.ekf'] == ('The manifest %s is not a manifest of vsp.encryption (no sha256)'
                                        % mf.manifest_path(str(tmp_path / 'json-list.ekf')))
    deriver = mf.Deriver(BACKUP_PASSWORD)
    assert key_files.backup_decision(files, 'fp', deriver, NOW)[0] is False
    assert key_files.retention(files, 1, tokens(ALL), deriver, NOW) == ([], [{'path': good, 'reason': 'one of the 1 newest'}])


def test_scan_sets_aside_a_symlinked_manifest_and_pipes_without_hanging(tmp_path, fast_kdf):
    good = write_key_file(tmp_path, 'good.ekf', locations=ALL, password=BACKUP_PASSWORD, day=1)
    # a key file whose manifest is a symlink to a good manifest
    (tmp_path / 'linked.ekf').write_bytes(b'keys')
    linked_manifest = mf.manifest_path(str(tmp_path / 'linked.ekf'))
    os.symlink(mf.manifest_path(good), linked_manifest)
    # a key file that is a pipe (with a copy of a good manifest), and a manifest that is a pipe
    os.mkfifo(str(tmp_path / 'pipe.ekf'))
    shutil.copy(mf.manifest_path(good), mf.manifest_path(str(tmp_path / 'pipe.ekf')))
    (tmp_path / 'piped.ekf').write_bytes(b'keys')
    piped_manifest = mf.manifest_path(str(tmp_path / 'piped.ekf'))
    os.mkfifo(piped_manifest)
    files, ignored = without_hanging(key_files.scan, str(tmp_path), SID, fifos=[str(tmp_path / 'pipe.ekf'), piped_manifest])
    assert names(files) == ['good.ekf']
    assert dict((os.path.basename(i['path']), i['reason']) for i in ignored) == {
        'linked.ekf': 'The manifest %s cannot be read: it is a symbolic link' % linked_manifest,
        'pipe.ekf': NOT_REGULAR,
        'piped.ekf': 'The manifest %s cannot be read: not a regular file' % piped_manifest,
    }


def test_scan_entry_fields_come_from_the_manifest(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL_OF_1_1, password=BACKUP_PASSWORD, fingerprint='fp1')
    files, ignored = key_files.scan(str(tmp_path), SID)
    assert ignored == []
    entry = key_files.public(files[0])
    assert entry['storage_device_id'] == SID and entry['serial_number'] == SERIAL
    assert entry['key_counts'] == read_manifest(path)['key_counts'] and entry['key_counts']['DEK'] == 2
    assert entry['key_fingerprint'] == 'fp1' and entry['has_password_verifier'] is True and entry['intact'] is True
    assert entry['name'] == 'k.ekf' and entry['format_version'] == 2


def test_scan_size_decides_intact_and_a_manifest_without_size_is_intact(tmp_path):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL_OF_1_1)
    data = read_manifest(path)
    data['size'] += 1
    rewrite_manifest(path, data)
    assert key_files.scan(str(tmp_path), SID)[0][0]['intact'] is False
    data.pop('size')
    rewrite_manifest(path, data)
    assert key_files.scan(str(tmp_path), SID)[0][0]['intact'] is True


def test_scan_goes_on_after_a_file_of_another_array_and_an_unreadable_one(tmp_path, monkeypatch):
    write_key_file(tmp_path, 'a.ekf', locations=ALL_OF_1_1, sid=OTHER_SID)
    write_key_file(tmp_path, 'b.ekf', locations=ALL_OF_1_1, day=2)
    write_key_file(tmp_path, 'c.ekf', locations=ALL_OF_1_1, day=3)
    real = key_files.sha256_file

    def flaky(path, cap=None, follow=True):
        if path.endswith('b.ekf'):
            raise OSError()
        return real(path, cap=cap, follow=follow)
    monkeypatch.setattr(key_files, 'sha256_file', flaky)
    files, ignored = key_files.scan(str(tmp_path), SID)
    assert [f['name'] for f in files] == ['c.ekf']
    assert [(os.path.basename(i['path']), i['reason']) for i in ignored] == [
        ('a.ekf', 'the manifest names another array (%s)' % OTHER_SID), ('b.ekf', 'cannot be read (OSError)')]


def test_scan_goes_on_after_an_unreadable_manifest_and_a_file_without_one(tmp_path):
    (tmp_path / 'a.ekf').write_bytes(b'key')
    (tmp_path / 'a.ekf.manifest.json').write_text('not json')
    (tmp_path / 'b.ekf').write_bytes(b'key')
    write_key_file(tmp_path, 'c.ekf', locations=ALL_OF_1_1)
    files, ignored = key_files.scan(str(tmp_path), SID)
    assert [f['name'] for f in files] == ['c.ekf']
    assert [os.path.basename(i['path']) for i in ignored] == ['a.ekf', 'b.ekf']
    assert ignored[1]['reason'] == 'no manifest'


def test_scan_sets_aside_a_manifest_without_a_time(tmp_path):
    write_key_file(tmp_path, 'a.ekf', locations=ALL_OF_1_1, day=2)
    path = write_key_file(tmp_path, 'b.ekf', locations=ALL_OF_1_1, day=3)
    data = read_manifest(path)
    data.pop('created_utc')
    rewrite_manifest(path, data)
    files, ignored = key_files.scan(str(tmp_path), SID)
    assert [f['name'] for f in files] == ['a.ekf']
    assert ignored == [{'path': path, 'reason': 'The manifest %s is malformed: created_utc must be a UTC time such as '
                                                '2026-12-01T02:00:00Z' % mf.manifest_path(path)}]


# -- what counts: authenticate ------------------------------------------------------------------------
NOW = datetime.datetime(2026, 12, 1, 0, 0, 0, tzinfo=datetime.timezone.utc)  # after every when(day) of these tests
HOUR = datetime.timedelta(hours=1)
DAMAGED = 'does not match its manifest (sha256 or size): damaged, or not the file that was backed up'
UNAUTHENTICATED = ('has a manifest without a password verifier and MAC (format %d), so it is not authenticated: anyone who '
                   'can write the directory could have written it')
OTHER = ('does not open with this backup password (its password verifier does not take it): made with another password, '
         'or not made by vsp.encryption')
NO_PASSWORD = 'is not authenticated: no backup password was given to check its manifest'
NOT_CHECKED = 'was not checked: more than 16 different password verifiers were met in one run; the others are not checked'


def tokens(locations, **extra):
    return key_files.key_tokens(keys_by_type(locations, **extra))


def test_authenticate_marks_each_file_with_whether_it_counts_and_why_not(tmp_path, fast_kdf):
    damage(write_key_file(tmp_path, 'damaged.ekf', password=BACKUP_PASSWORD, day=5))
    write_key_file(tmp_path, 'v1.ekf', version=1, day=4)
    write_key_file(tmp_path, 'bare.ekf', day=3)
    write_key_file(tmp_path, 'other.ekf', password=OTHER_PASSWORD, day=2)
    write_key_file(tmp_path, 'ours.ekf', password=BACKUP_PASSWORD, day=1)
    files, dummy = key_files.scan(str(tmp_path), SID)
    assert key_files.authenticate(files, mf.Deriver(BACKUP_PASSWORD), NOW) is files
    assert [(f['name'], f['counts'], f['trust']) for f in files] == [
        ('damaged.ekf', False, DAMAGED), ('v1.ekf', False, UNAUTHENTICATED % 1), ('bare.ekf', False, UNAUTHENTICATED % 2),
        ('other.ekf', False, OTHER), ('ours.ekf', True, None)]
    assert names(key_files.counted(files)) == ['ours.ekf']
    assert key_files.public(files[-1])['counts'] is True and key_files.public(files[-1])['trust'] is None
    # an entry already marked is not checked again (one derivation per file and run)
    files[-1]['counts'] = 'kept'
    key_files.authenticate(files, mf.Deriver(OTHER_PASSWORD), NOW)
    assert files[-1]['counts'] == 'kept'


def test_authenticate_refuses_a_verifier_of_more_than_max_iterations_without_deriving(tmp_path, fast_kdf, derivations):
    path = write_key_file(tmp_path, 'slow.ekf', locations=ALL, password=BACKUP_PASSWORD, day=2)
    good = write_key_file(tmp_path, 'good.ekf', locations=ALL, password=BACKUP_PASSWORD, day=1, salt=b'g' * 16)
    data = read_manifest(path)
    data['password_verifier']['iterations'] = mf.MAX_ITERATIONS + 1
    rewrite_manifest(path, data)
    files, dummy = key_files.scan(str(tmp_path), SID)
    del derivations[:]
    entry, dummy = key_files.choose_for_restore(files, LOST, mf.Deriver(BACKUP_PASSWORD), NOW)
    assert entry['path'] == good
    assert files[0]['trust'] == ('cannot be trusted: slow.ekf.manifest.json has a malformed password verifier (more than %d '
                                 'iterations)' % mf.MAX_ITERATIONS)
    assert derivations == [(b'g' * 16, FAST_ITERATIONS)]  # the crafted verifier cost nothing


def test_more_than_sixteen_verifiers_leave_the_rest_unchecked_and_the_sites_own_files_are_checked_first(tmp_path, fast_kdf, derivations):
    site_salt = b'S' * 16
    for day in (1, 2, 3):  # the site's files: one password, one salt (the backup module reuses it)
        write_key_file(tmp_path, 'site%d.ekf' % day, locations=AFTER_LOSS, password=BACKUP_PASSWORD, salt=site_salt, day=day)
    # twenty newer files, each with a salt of its own: by date alone they would use up the derivations first. The five
    # oldest of them are the only ones that hold the lost key.
    for i in range(20):
        write_key_file(tmp_path, 'x%02d.ekf' % i, locations=ALL if i < 5 else AFTER_LOSS, password=BACKUP_PASSWORD,
                       salt=bytes([97 + i]) * 16, day=10, hour=i)
    files, dummy = key_files.scan(str(tmp_path), SID)
    del derivations[:]
    deriver = mf.Deriver(BACKUP_PASSWORD)
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore(files, LOST, deriver, NOW)
    assert not isinstance(info.value, key_files.PasswordRefused)
    assert len(derivations) == 16 and derivations[0] == (site_salt, FAST_ITERATIONS)
    by_name = dict((f['name'], f) for f in files)
    assert all(by_name['site%d.ekf' % day]['counts'] for day in (1, 2, 3))
    unchecked = sorted(f['name'] for f in files if not f['counts'])
    assert unchecked == ['x%02d.ekf' % i for i in range(5)]
    assert set(by_name[name]['trust'] for name in unchecked) == {NOT_CHECKED}
    # never deleted either, although older than the newest files that count
    delete, kept = key_files.retention(files, 1, tokens(AFTER_LOSS), deriver, NOW)
    assert not [p for p in delete if os.path.basename(p) in unchecked]
    reasons = kept_reasons(kept)
    assert reasons['x19.ekf'] == 'one of the 1 newest'
    assert all(reasons[name] == 'not deleted: it ' + NOT_CHECKED for name in unchecked)
    assert len(delete) == 14 + 3 and len(derivations) == 16


# -- damaged files: bytes no longer matching an authenticated manifest (issue #24) ----------------------
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


# -- choose_for_restore -------------------------------------------------------------------------------
@pytest.fixture
def directory(tmp_path, fast_kdf):
    """Newest first: damaged, format 1, made after the loss, another password, the right one, an older right one."""
    damage(write_key_file(tmp_path, 'f5.ekf', locations=ALL, password=BACKUP_PASSWORD, day=5))
    write_key_file(tmp_path, 'f4.ekf', locations=ALL, version=1, day=4)
    write_key_file(tmp_path, 'f3.ekf', locations=AFTER_LOSS, password=BACKUP_PASSWORD, day=3)
    write_key_file(tmp_path, 'f2.ekf', locations=ALL, password=OTHER_PASSWORD, day=2)
    write_key_file(tmp_path, 'f1.ekf', locations=ALL, password=BACKUP_PASSWORD, day=1, hour=3)
    write_key_file(tmp_path, 'f0.ekf', locations=ALL, password=BACKUP_PASSWORD, day=1, hour=1)
    return tmp_path


def test_choose_newest_file_holding_every_lost_dek(directory):
    files, dummy = key_files.scan(str(directory), SID)
    assert names(files) == ['f5.ekf', 'f4.ekf', 'f3.ekf', 'f2.ekf', 'f1.ekf', 'f0.ekf']
    entry, reason = key_files.choose_for_restore(files, LOST, mf.Deriver(BACKUP_PASSWORD), NOW)
    assert entry['name'] == 'f1.ekf'
    assert 'HDD00-01' in reason and 'newest' in reason


def test_choose_without_a_password_chooses_nothing_and_says_why(directory):
    files, dummy = key_files.scan(str(directory), SID)
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore(files, LOST, None, NOW)
    assert not isinstance(info.value, key_files.PasswordRefused)
    msg = info.value.msg
    assert msg.startswith('no key file there can restore the lost keys: f5.ekf %s; f4.ekf %s; ' % (DAMAGED, UNAUTHENTICATED % 1))
    assert 'f2.ekf %s' % NO_PASSWORD in msg and 'f1.ekf %s' % NO_PASSWORD in msg
    assert [f['counts'] for f in files] == [False] * 6


def test_choose_with_nothing_lost_takes_the_newest_file_that_counts(directory):
    files, dummy = key_files.scan(str(directory), SID)
    entry, reason = key_files.choose_for_restore(files, [], mf.Deriver(BACKUP_PASSWORD), NOW)
    assert entry['name'] == 'f3.ekf'
    assert reason == 'the newest key file of this array that opens with the password'


def test_choose_says_why_each_file_was_refused(directory):
    os.remove(str(directory / 'f1.ekf'))
    os.remove(str(directory / 'f0.ekf'))
    files, dummy = key_files.scan(str(directory), SID)
    with pytest.raises(key_files.PasswordRefused) as info:
        key_files.choose_for_restore(files, LOST, mf.Deriver(BACKUP_PASSWORD), NOW)
    msg = info.value.msg
    # the only file that would hold the lost keys needs another password: the refusal says so first
    assert msg.startswith('the password does not open any key file that would hold the lost keys (f2.ekf): ')
    assert 'f5.ekf %s' % DAMAGED in msg
    assert 'f4.ekf %s' % (UNAUTHENTICATED % 1) in msg
    assert 'f3.ekf holds no DEK for drive(s) HDD00-01' in msg
    assert 'f2.ekf %s' % OTHER in msg
    os.remove(str(directory / 'f2.ekf'))
    files, dummy = key_files.scan(str(directory), SID)
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore(files, LOST, mf.Deriver(BACKUP_PASSWORD), NOW)
    assert not isinstance(info.value, key_files.PasswordRefused)
    assert info.value.msg == ('no key file there can restore the lost keys: f5.ekf %s; f4.ekf %s; f3.ekf holds no DEK for '
                              'drive(s) HDD00-01' % (DAMAGED, UNAUTHENTICATED % 1))


def test_choose_needs_every_lost_drive(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'one.ekf', locations={'1': 'HDD00-00', '2': 'HDD00-01'}, password=BACKUP_PASSWORD, day=2)
    write_key_file(tmp_path, 'other.ekf', locations={'3': 'HDD00-02'}, password=BACKUP_PASSWORD, day=3)
    files, dummy = key_files.scan(str(tmp_path), SID)
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore(files, ['HDD00-01', 'HDD00-02'], mf.Deriver(BACKUP_PASSWORD), NOW)
    assert 'other.ekf holds no DEK for drive(s) HDD00-01' in info.value.msg
    assert 'one.ekf holds no DEK for drive(s) HDD00-02' in info.value.msg


def test_choose_skips_a_file_whose_manifest_was_edited(tmp_path, fast_kdf):
    """An edited manifest (MAC mismatch) is a damaged file: refused with its reason, the older good file taken."""
    old = write_key_file(tmp_path, 'old.ekf', locations=ALL, password=BACKUP_PASSWORD, day=1)
    new = write_key_file(tmp_path, 'new.ekf', locations=ALL, password=BACKUP_PASSWORD, day=2)
    data = read_manifest(new)
    data['model'] = 'edited'
    rewrite_manifest(new, data)
    files, dummy = key_files.scan(str(tmp_path), SID)
    entry, dummy = key_files.choose_for_restore(files, LOST, mf.Deriver(BACKUP_PASSWORD), NOW)
    assert entry['path'] == old
    os.remove(old)
    files, dummy = key_files.scan(str(tmp_path), SID)
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore(files, LOST, mf.Deriver(BACKUP_PASSWORD), NOW)
    assert info.value.msg.startswith('no key file there can restore the lost keys: new.ekf ')
    assert 'MAC' in info.value.msg


def test_choose_from_no_file(tmp_path):
    with pytest.raises(VspApiError, match='no key file of this array'):
        key_files.choose_for_restore([], LOST)


def test_holders_are_intact_covering_files_newest_first_and_only_those_that_count_once_authenticated(directory):
    files, dummy = key_files.scan(str(directory), SID)
    assert names(key_files.holders(files, LOST)) == ['f2.ekf', 'f1.ekf', 'f0.ekf']
    assert names(key_files.holders(files, ['HDD00-09'])) == []
    key_files.authenticate(files, mf.Deriver(BACKUP_PASSWORD), NOW)
    assert names(key_files.holders(files, LOST)) == ['f1.ekf', 'f0.ekf']


def test_choose_for_restore_texts_word_for_word(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', locations={'1': 'HDD01-00'}, password=BACKUP_PASSWORD, day=5)
    write_key_file(tmp_path, 'b.ekf', locations=ALL_OF_1_1, password='Other#Pa55', day=4)

    def files():  # each decision marks the entries for one password: a fresh scan for another
        return key_files.scan(str(tmp_path), SID)[0]

    with pytest.raises(key_files.PasswordRefused) as info:
        key_files.choose_for_restore(files(), ['HDD01-01', 'HDD01-02'][:1], mf.Deriver(BACKUP_PASSWORD), NOW)
    assert info.value.msg == (
        'the password does not open any key file that would hold the lost keys (b.ekf): it is not the password they were '
        'made with (after a rotation, older files need the older password); all files: a.ekf holds no DEK for drive(s) '
        'HDD01-01; b.ekf ' + OTHER)
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore(files(), ['HDD01-01', 'HDD01-02'], mf.Deriver(BACKUP_PASSWORD), NOW)
    assert not isinstance(info.value, key_files.PasswordRefused)
    assert info.value.msg == ('no key file there can restore the lost keys: a.ekf holds no DEK for drive(s) HDD01-01, '
                              'HDD01-02; b.ekf ' + OTHER)
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore([], ['HDD01-01'])
    assert info.value.msg == 'no key file of this array (by its manifest) is there'
    entry, reason = key_files.choose_for_restore(files(), ['HDD01-01', 'HDD01-00'], mf.Deriver('Other#Pa55'), NOW)
    assert entry['name'] == 'b.ekf'
    assert reason == ('the newest key file of this array that opens with the password and holds a DEK for every drive that '
                      'lost its key (HDD01-00, HDD01-01)')
    with pytest.raises(VspApiError) as info:  # at most eight drives named
        key_files.choose_for_restore(files(), ['HDD01-0%d' % i for i in range(10)], mf.Deriver(BACKUP_PASSWORD), NOW)
    assert info.value.msg == ('no key file there can restore the lost keys: a.ekf holds no DEK for drive(s) %s and 1 more; '
                              'b.ekf %s' % (', '.join('HDD01-0%d' % i for i in range(1, 9)), OTHER))


def test_choose_for_restore_a_format_1_file_leaves_it_a_password_refusal(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', locations=ALL_OF_1_1, version=1, day=5)
    write_key_file(tmp_path, 'b.ekf', locations=ALL_OF_1_1, password='Other#Pa55', day=4)
    files = key_files.scan(str(tmp_path), SID)[0]
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore(files, ['HDD01-01'], mf.Deriver(BACKUP_PASSWORD), NOW)
    assert isinstance(info.value, key_files.PasswordRefused)
    assert info.value.msg.endswith('all files: a.ekf has a manifest without a password verifier and MAC (format 1), so it is '
                                   'not authenticated: anyone who can write the directory could have written it; b.ekf ' + OTHER)


def test_choose_for_restore_names_the_manifest_of_an_edited_file(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'a.ekf', locations=ALL_OF_1_1, password=BACKUP_PASSWORD)
    data = read_manifest(path)
    data['model'] = 'edited'
    rewrite_manifest(path, data)
    files = key_files.scan(str(tmp_path), SID)[0]
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore(files, ['HDD01-01'], mf.Deriver(BACKUP_PASSWORD), NOW)
    assert info.value.msg == ('no key file there can restore the lost keys: a.ekf cannot be trusted: a.ekf.manifest.json was '
                              'changed after the backup (its MAC does not match); do not trust it')


# -- forged, foreign and future-dated files -----------------------------------------------------------
def test_a_forged_file_is_never_chosen_and_never_makes_retention_delete_a_real_one(tmp_path, fast_kdf):
    """Four nights of keep=1 in a directory that someone else writes too: each night a real backup and a forged copy of
    its manifest (junk bytes, their sha256 and size, dated 2099, no verifier and MAC)."""
    keys = keys_by_type(ALL)
    current = key_files.key_tokens(keys)
    for night in range(1, 5):
        real = write_key_file(tmp_path, 'real%d.ekf' % night, keys=keys, password=BACKUP_PASSWORD, day=night)
        forged = forge(tmp_path, 'forged%d.ekf' % night, real)
        now = when(night) + 2 * HOUR
        files, ignored = key_files.scan(str(tmp_path), SID)
        assert ignored == [] and files[0]['path'] == forged  # the newest by its manifest, and intact
        deriver = mf.Deriver(BACKUP_PASSWORD)
        entry, dummy = key_files.choose_for_restore(files, LOST, deriver, now)
        assert entry['path'] == real
        assert key_files.backup_decision(files, 'fp', deriver, now) == (
            False, 'the keys are unchanged and the newest file real%d.ekf matches its manifest and opens with the password' % night)
        delete, kept = key_files.retention(files, 1, current, deriver, now)
        assert delete == ([str(tmp_path / ('real%d.ekf' % (night - 1)))] if night > 1 else [])
        reasons = kept_reasons(kept)
        assert reasons['real%d.ekf' % night] == 'one of the 1 newest'
        assert reasons['forged%d.ekf' % night] == 'not deleted: it ' + UNAUTHENTICATED % 2
        assert key_files.delete_files(delete, str(tmp_path)) == (delete, [])
        assert os.path.exists(real) and os.path.exists(mf.manifest_path(real))
    left = sorted(n for n in os.listdir(str(tmp_path)) if n.endswith('.ekf'))
    assert left == ['forged1.ekf', 'forged2.ekf', 'forged3.ekf', 'forged4.ekf', 'real4.ekf']


def test_a_newer_file_of_another_password_does_not_make_keep_1_delete_the_only_file_ours_opens(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'theirs.ekf', locations=ALL, password=OTHER_PASSWORD, day=2)
    ours = write_key_file(tmp_path, 'ours.ekf', locations=ALL, password=BACKUP_PASSWORD, day=1)
    files, dummy = key_files.scan(str(tmp_path), SID)
    delete, kept = key_files.retention(files, 1, tokens(ALL), mf.Deriver(BACKUP_PASSWORD), NOW)
    assert delete == []
    assert kept_reasons(kept) == {'theirs.ekf': 'not deleted: it ' + OTHER, 'ours.ekf': 'one of the 1 newest'}
    assert key_files.choose_for_restore(files, LOST, mf.Deriver(BACKUP_PASSWORD), NOW)[0]['path'] == ours


def test_a_file_dated_in_the_future_does_not_count_is_not_deleted_and_does_not_outrank_todays(tmp_path, fast_kdf):
    today = write_key_file(tmp_path, 'today.ekf', locations=ALL, password=BACKUP_PASSWORD, fingerprint='fp', made=NOW - 2 * HOUR)
    write_key_file(tmp_path, 'ahead.ekf', locations=ALL, password=BACKUP_PASSWORD, fingerprint='keys of another day',
                   made=NOW + 24 * HOUR)
    files, dummy = key_files.scan(str(tmp_path), SID)
    assert names(files) == ['ahead.ekf', 'today.ekf']
    deriver = mf.Deriver(BACKUP_PASSWORD)
    key_files.authenticate(files, deriver, NOW)
    assert (files[0]['counts'], files[0]['trust']) == (
        False, 'is dated in the future (2026-12-02T00:00:00Z; the clock of the host that made it is wrong)')
    assert files[1]['counts'] is True
    assert key_files.backup_decision(files, 'fp', deriver, NOW) == (
        False, 'the keys are unchanged and the newest file today.ekf matches its manifest and opens with the password')
    delete, kept = key_files.retention(files, 1, tokens(ALL), deriver, NOW)
    assert delete == []
    assert kept_reasons(kept) == {'ahead.ekf': 'not deleted: it ' + files[0]['trust'], 'today.ekf': 'one of the 1 newest'}
    assert key_files.choose_for_restore(files, LOST, deriver, NOW)[0]['path'] == today
    assert key_files.reusable_salt(files, deriver) == mf.salt_of(read_manifest(today))


def test_a_file_dated_within_the_clock_tolerance_counts(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'soon.ekf', password=BACKUP_PASSWORD, made=NOW + key_files.FUTURE_TOLERANCE)
    write_key_file(tmp_path, 'later.ekf', password=BACKUP_PASSWORD, made=NOW + key_files.FUTURE_TOLERANCE + datetime.timedelta(seconds=1))
    files, dummy = key_files.scan(str(tmp_path), SID)
    key_files.authenticate(files, mf.Deriver(BACKUP_PASSWORD), NOW)
    assert [(f['name'], f['counts']) for f in files] == [('later.ekf', False), ('soon.ekf', True)]


def test_a_future_dated_file_is_chosen_only_when_no_file_dated_sanely_holds_the_lost_keys(tmp_path, fast_kdf):
    ahead = write_key_file(tmp_path, 'ahead.ekf', locations=ALL, password=BACKUP_PASSWORD, made=NOW + 24 * HOUR)
    write_key_file(tmp_path, 'short.ekf', locations=AFTER_LOSS, password=BACKUP_PASSWORD, made=NOW - 2 * HOUR)
    files, dummy = key_files.scan(str(tmp_path), SID)
    entry, reason = key_files.choose_for_restore(files, LOST, mf.Deriver(BACKUP_PASSWORD), NOW)
    assert entry['path'] == ahead
    assert reason == ('the newest key file of this array that opens with the password and holds the lost keys, although it is '
                      'dated in the future (2026-12-02T00:00:00Z): no file dated before now holds them')
    good = write_key_file(tmp_path, 'good.ekf', locations=ALL, password=BACKUP_PASSWORD, made=NOW - 48 * HOUR)
    files, dummy = key_files.scan(str(tmp_path), SID)
    assert key_files.choose_for_restore(files, LOST, mf.Deriver(BACKUP_PASSWORD), NOW)[0]['path'] == good


# -- retention ----------------------------------------------------------------------------------------
def kept_reasons(kept):
    return dict((os.path.basename(k['path']), k['reason']) for k in kept)


def retain(directory, keep, current, password=BACKUP_PASSWORD, now=NOW):
    files, dummy = key_files.scan(str(directory), SID)
    return key_files.retention(files, keep, current, mf.Deriver(password) if password else None, now)


def test_retention_keeps_the_newest_and_every_file_with_a_key_the_array_has_that_no_newer_kept_file_holds(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'n4.ekf', locations=AFTER_LOSS, password=BACKUP_PASSWORD, day=4)  # without DEK 2
    write_key_file(tmp_path, 'n3.ekf', locations=AFTER_LOSS, password=BACKUP_PASSWORD, day=3)  # same keys: deletable
    write_key_file(tmp_path, 'n2.ekf', locations=ALL, password=BACKUP_PASSWORD, day=2)         # the newest with DEK 2
    write_key_file(tmp_path, 'n1.ekf', locations=ALL, password=BACKUP_PASSWORD, day=1)         # same as n2: deletable
    write_key_file(tmp_path, 'v1.ekf', version=1, day=1, hour=0)                               # does not count: kept
    delete, kept = retain(tmp_path, 1, tokens(ALL))  # the array has DEK 2
    assert sorted(os.path.basename(p) for p in delete) == ['n1.ekf', 'n3.ekf']
    assert kept_reasons(kept) == {
        'n4.ekf': 'one of the 1 newest',
        'n2.ekf': 'the newest file that holds key(s) DEK:2, which the array still has and no newer kept file holds',
        'v1.ekf': 'not deleted: it ' + UNAUTHENTICATED % 1,
    }


def test_retention_a_key_the_array_no_longer_has_protects_nothing(tmp_path, fast_kdf):
    """Why the backup module applies no retention while keys are lost: a lost DEK is no longer listed by the array."""
    write_key_file(tmp_path, 'n3.ekf', locations=AFTER_LOSS, password=BACKUP_PASSWORD, day=3)
    write_key_file(tmp_path, 'n2.ekf', locations=ALL, password=BACKUP_PASSWORD, day=2)
    write_key_file(tmp_path, 'n1.ekf', locations=ALL, password=BACKUP_PASSWORD, day=1)
    delete, kept = retain(tmp_path, 1, tokens(AFTER_LOSS))
    assert sorted(os.path.basename(p) for p in delete) == ['n1.ekf', 'n2.ekf']
    assert kept_reasons(kept) == {'n3.ekf': 'one of the 1 newest'}


def test_retention_keeps_a_file_whose_only_extra_is_a_key_id_the_array_has(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'new.ekf', keys=keys_by_type(ALL, cek=('101',)), password=BACKUP_PASSWORD, day=2)
    write_key_file(tmp_path, 'old.ekf', keys=keys_by_type(ALL, cek=('100',)), password=BACKUP_PASSWORD, day=1)
    delete, kept = retain(tmp_path, 1, tokens(ALL, cek=('100', '101')))
    assert delete == []
    assert 'CEK:100' in kept_reasons(kept)['old.ekf']
    delete, kept = retain(tmp_path, 1, tokens(ALL, cek=('101',)))  # CEK 100 is gone from the array
    assert delete == [str(tmp_path / 'old.ekf')]


def test_retention_keeps_damaged_files_and_does_not_count_what_they_hold(tmp_path, fast_kdf):
    damage(write_key_file(tmp_path, 'd.ekf', locations=ALL, password=BACKUP_PASSWORD, day=5))
    write_key_file(tmp_path, 'n2.ekf', locations=AFTER_LOSS, password=BACKUP_PASSWORD, day=2)
    write_key_file(tmp_path, 'n1.ekf', locations=ALL, password=BACKUP_PASSWORD, day=1)
    delete, kept = retain(tmp_path, 1, tokens(ALL))
    assert delete == []
    reasons = kept_reasons(kept)
    assert reasons['d.ekf'] == 'not deleted: it ' + DAMAGED
    assert reasons['n2.ekf'] == 'one of the 1 newest'      # the damaged file does not count toward keep
    assert 'DEK:2' in reasons['n1.ekf']                    # what the damaged file holds does not count either


def test_retention_keep_counts_the_newest_files_that_count(tmp_path, fast_kdf):
    for day in (1, 2, 3, 4):
        write_key_file(tmp_path, 'n%d.ekf' % day, locations=ALL, password=BACKUP_PASSWORD, day=day)
    write_key_file(tmp_path, 'n5.ekf', locations=ALL, password=OTHER_PASSWORD, day=5)
    delete, kept = retain(tmp_path, 2, tokens(ALL))
    assert sorted(os.path.basename(p) for p in delete) == ['n1.ekf', 'n2.ekf']
    assert kept_reasons(kept) == {'n5.ekf': 'not deleted: it ' + OTHER, 'n4.ekf': 'one of the 2 newest',
                                  'n3.ekf': 'one of the 2 newest'}


@pytest.mark.parametrize('keep', [0, None, -1])
def test_retention_keep_0_keeps_all(tmp_path, fast_kdf, keep):
    write_key_file(tmp_path, 'n2.ekf', password=BACKUP_PASSWORD, day=2)
    write_key_file(tmp_path, 'n1.ekf', password=BACKUP_PASSWORD, day=1)
    delete, kept = retain(tmp_path, keep, tokens(ALL))
    assert delete == []
    assert [k['reason'] for k in kept] == ['retention is off (keep 0)'] * 2


def test_retention_keeps_the_files_of_the_last_hour(tmp_path, fast_kdf):
    for name, minutes in (('m10', 10), ('m50', 50), ('m59', 59), ('m60', 60), ('m70', 70)):
        write_key_file(tmp_path, name + '.ekf', locations=ALL, password=BACKUP_PASSWORD, made=NOW - datetime.timedelta(minutes=minutes))
    delete, kept = retain(tmp_path, 1, tokens(ALL))
    assert sorted(os.path.basename(p) for p in delete) == ['m60.ekf', 'm70.ekf']
    grace = 'made less than 60 minutes ago: another run may still be using it'
    assert kept_reasons(kept) == {'m10.ekf': 'one of the 1 newest', 'm50.ekf': grace, 'm59.ekf': grace}


def test_retention_after_ten_key_changes_with_keep_1_keeps_one_file(tmp_path, fast_kdf):
    """Each nightly file holds the FREE keys of its night; the array has only the last ones: keys gone from the array
    protect nothing, so retention stays bounded (keep, plus the files of the last hour)."""
    for night in range(1, 11):
        keys = keys_by_type(ALL, free=('%d' % (300 + night), '%d' % (400 + night)))
        write_key_file(tmp_path, 'n%02d.ekf' % night, keys=keys, password=BACKUP_PASSWORD, day=night)
    current = tokens(ALL, free=('310', '410'))
    delete, kept = retain(tmp_path, 1, current)
    assert len(delete) == 9
    assert kept_reasons(kept) == {'n10.ekf': 'one of the 1 newest'}
    # the same nights, the last two within the hour: one more kept, no more
    delete, kept = retain(tmp_path, 1, current, now=when(10) + datetime.timedelta(minutes=30))
    assert len(delete) == 9 and set(kept_reasons(kept)) == {'n10.ekf'}
    write_key_file(tmp_path, 'n11.ekf', keys=keys_by_type(ALL, free=('311', '411')), password=BACKUP_PASSWORD,
                   made=when(10) + datetime.timedelta(minutes=20))
    delete, kept = retain(tmp_path, 1, tokens(ALL, free=('311', '411')), now=when(10) + datetime.timedelta(minutes=30))
    assert len(delete) == 9
    assert kept_reasons(kept) == {'n11.ekf': 'one of the 1 newest',
                                  'n10.ekf': 'made less than 60 minutes ago: another run may still be using it'}


OLD = datetime.datetime(2026, 11, 1, 0, 0, 0, tzinfo=datetime.timezone.utc)


def counting_entry(path, keys, time=OLD):
    """An entry that already counts (authenticate leaves it alone), holding the keys ``keys``."""
    return {'path': path, 'intact': True, 'counts': True, 'trust': None, '_keys': set(keys), '_locations': set(),
            '_manifest': {}, '_time': time}


def test_retention_keys_held_by_every_newer_kept_file_count_not_only_the_last_one():
    files = [counting_entry('/a', ['1', '2']), counting_entry('/b', ['3']), counting_entry('/c', ['1'])]
    delete, kept = key_files.retention(files, 1, {'1', '2', '3'}, None, NOW)
    assert delete == ['/c']
    assert [k['path'] for k in kept] == ['/a', '/b']
    assert kept[1]['reason'] == 'the newest file that holds key(s) 3, which the array still has and no newer kept file holds'


def test_retention_reason_lists_at_most_eight_keys():
    keys = [str(i) for i in range(10, 19)]
    delete, kept = key_files.retention([counting_entry('/a', ['1']), counting_entry('/b', keys)], 1, set(keys) | {'1'}, None, NOW)
    assert delete == []
    assert kept[1]['reason'] == ('the newest file that holds key(s) %s and 1 more, which the array still has and no newer kept '
                                 'file holds' % ', '.join(keys[:8]))


def test_retention_reason_names_exactly_eight_keys():
    keys = ['DEK:%d' % i for i in range(10, 18)]
    delete, kept = key_files.retention([counting_entry('/a', ['1']), counting_entry('/b', keys)], 1, set(keys), None, NOW)
    assert kept[1]['reason'] == ('the newest file that holds key(s) %s, which the array still has and no newer kept file holds'
                                 % ', '.join(keys))


def test_retention_texts_word_for_word(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'd.ekf', locations=ALL_OF_1_1, password=BACKUP_PASSWORD)
    with open(path, 'ab') as handle:
        handle.write(b'x')

    def files():
        return key_files.scan(str(tmp_path), SID)[0]

    assert key_files.retention(files(), 0, set(), mf.Deriver(BACKUP_PASSWORD), NOW) == (
        [], [{'path': path, 'reason': 'retention is off (keep 0)'}])
    assert key_files.retention(files(), 1, set(), mf.Deriver(BACKUP_PASSWORD), NOW) == (
        [], [{'path': path, 'reason': 'not deleted: it does not match its manifest (sha256 or size): damaged, or not the file '
                                      'that was backed up'}])
    young = [counting_entry('/n', ['1'], NOW), counting_entry('/y', ['1'], NOW - datetime.timedelta(minutes=59))]
    assert key_files.retention(young, 1, {'1'}, None, NOW) == ([], [
        {'path': '/n', 'reason': 'one of the 1 newest'},
        {'path': '/y', 'reason': 'made less than 60 minutes ago: another run may still be using it'}])


# -- delete_files -------------------------------------------------------------------------------------
def test_delete_files_deletes_the_manifest_first_then_the_key_file(tmp_path, fast_kdf, monkeypatch):
    path = write_key_file(tmp_path, 'old.ekf', password=BACKUP_PASSWORD)
    order = []
    real = os.unlink

    def unlink(target, *args, **kwargs):
        order.append(os.path.basename(target))
        return real(target, *args, **kwargs)

    monkeypatch.setattr(key_files.os, 'unlink', unlink)
    assert key_files.delete_files([path], str(tmp_path)) == ([path], [])
    assert order == ['old.ekf.manifest.json', 'old.ekf']
    assert os.listdir(str(tmp_path)) == []


def test_delete_files_a_key_file_that_cannot_go_has_lost_its_manifest_so_it_is_never_chosen(tmp_path, fast_kdf):
    stuck = tmp_path / 'stuck.ekf'
    stuck.mkdir()  # unlink fails on a directory
    (tmp_path / 'stuck.ekf.manifest.json').write_text('{}')
    deleted, failed = key_files.delete_files([str(stuck)], str(tmp_path))
    assert deleted == [] and len(failed) == 1 and failed[0]['path'] == str(stuck)
    assert not os.path.exists(mf.manifest_path(str(stuck)))


def test_delete_files_never_deletes_outside_the_directory_nor_through_a_symlink(tmp_path, fast_kdf):
    backups = tmp_path / 'backups'
    elsewhere = tmp_path / 'elsewhere'
    backups.mkdir()
    elsewhere.mkdir()
    outside = write_key_file(elsewhere, 'outside.ekf', password=BACKUP_PASSWORD)
    inside = write_key_file(backups, 'inside.ekf', password=BACKUP_PASSWORD)
    link_out = str(backups / 'link-out.ekf')
    link_in = str(backups / 'link-in.ekf')
    os.symlink(outside, link_out)
    os.symlink(inside, link_in)
    dotdot = os.path.join(str(backups), '..', 'elsewhere', 'outside.ekf')
    asked = [outside, link_out, link_in, dotdot]
    deleted, failed = key_files.delete_files(asked, str(backups))
    assert deleted == []
    assert failed == [{'path': p, 'reason': 'not a file of %s' % backups} for p in asked]
    for path in (outside, mf.manifest_path(outside), inside, mf.manifest_path(inside), link_out, link_in):
        assert os.path.lexists(path), path


# -- one run at a time: DirectoryLock -----------------------------------------------------------------
LOCK_HOLDER = '''
import sys
from ansible_collections.vsp.encryption.plugins.module_utils._key_files import DirectoryLock
with DirectoryLock(sys.argv[1]):
    print('locked', flush=True)
    sys.stdin.read()  # until the test closes the pipe
print('released', flush=True)
'''


@pytest.fixture
def lock_holder(tmp_path):
    """Another process holding the directory's lock until its stdin is closed (synchronised by pipes, not by time)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, '-c', LOCK_HOLDER, str(tmp_path)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = proc.stdout.readline()
    if line != b'locked\n':
        proc.kill()
        pytest.fail('the lock holder did not start: %r %r' % (line, proc.communicate()[1]))
    yield proc
    if proc.poll() is None:
        proc.stdin.close()
        proc.wait(timeout=60)
    proc.stdout.close()
    proc.stderr.close()


def test_a_second_lock_on_the_directory_waits_then_fails_naming_the_holder(tmp_path, lock_holder, no_sleep, monkeypatch):
    monkeypatch.setattr(key_files.time, 'monotonic', SeqClock(step=1.0))  # each look at the clock: one second later
    lock = key_files.DirectoryLock(str(tmp_path), wait=5)
    assert lock.path == str(tmp_path / '.vsp-encryption.lock')
    with pytest.raises(VspApiError) as info:
        with lock:
            pytest.fail('the lock was taken while another process held it')
    msg = info.value.msg
    assert msg.startswith("Another run has held the backup directory's lock %s for more than 5 s (held by pid %d on "
                          % (lock.path, lock_holder.pid))
    assert msg.endswith('). Nothing was written or deleted; run again when it has finished.')
    assert no_sleep[:3] == [0.05, 0.1, 0.2]  # it waited, backing off, before it gave up
    lock_holder.stdin.close()
    assert lock_holder.stdout.readline() == b'released\n'
    assert lock_holder.wait(timeout=60) == 0
    with key_files.DirectoryLock(str(tmp_path), wait=0):  # free again once released
        with open(lock.path) as handle:
            assert handle.read().startswith('pid %d on ' % os.getpid())


def test_a_second_lock_waits_for_the_first_and_takes_it_once_released(tmp_path, lock_holder, monkeypatch):
    waited = []
    recorded_sleep = time.sleep  # conftest's no_sleep: records, does not sleep

    def sleep(delay):  # the lock's first wait: the holder lets go (its pipe closed), and is seen to have let go
        waited.append(delay)
        if len(waited) == 1:
            lock_holder.stdin.close()
            assert lock_holder.stdout.readline() == b'released\n'
            monkeypatch.setattr(time, 'sleep', recorded_sleep)  # subprocess's own wait sleeps too
            assert lock_holder.wait(timeout=60) == 0
            monkeypatch.setattr(time, 'sleep', sleep)

    monkeypatch.setattr(time, 'sleep', sleep)
    with key_files.DirectoryLock(str(tmp_path)) as lock:
        with open(lock.path) as handle:
            assert handle.read().startswith('pid %d on ' % os.getpid())
    assert waited == [0.05]


# -- backup_decision ----------------------------------------------------------------------------------
NO_FILE_COUNTS = 'no key file of this array there opens with this backup password and matches its manifest'


def decide(tmp_path, fingerprint='fp', password=BACKUP_PASSWORD):
    files, dummy = key_files.scan(str(tmp_path), SID)
    return key_files.backup_decision(files, fingerprint, mf.Deriver(password) if password else None, NOW)


def test_backup_needed_without_files(tmp_path):
    assert decide(tmp_path) == (True, NO_FILE_COUNTS)


def test_backup_not_needed_when_unchanged(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'n.ekf', password=BACKUP_PASSWORD, fingerprint='fp')
    needed, reason = decide(tmp_path)
    assert needed is False
    assert 'unchanged' in reason and 'n.ekf' in reason


def test_backup_needed_when_keys_changed(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'n.ekf', password=BACKUP_PASSWORD, fingerprint='old')
    needed, reason = decide(tmp_path, fingerprint='new')
    assert needed is True and 'keys changed' in reason


def test_backup_needed_after_a_password_rotation(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'n.ekf', password=OTHER_PASSWORD, fingerprint='fp')
    assert decide(tmp_path) == (True, NO_FILE_COUNTS)


def test_backup_needed_when_the_only_file_has_no_verifier_with_a_password_or_without(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'n.ekf', fingerprint='fp')
    assert decide(tmp_path) == (True, NO_FILE_COUNTS)
    assert decide(tmp_path, password=None) == (True, NO_FILE_COUNTS)


def test_backup_needed_without_a_password_whatever_the_files(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'n.ekf', password=BACKUP_PASSWORD, fingerprint='fp')
    assert decide(tmp_path, password=None) == (True, NO_FILE_COUNTS)


def test_backup_decision_passes_over_a_newer_format_1_file(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'old.ekf', password=BACKUP_PASSWORD, fingerprint='fp', day=1)
    write_key_file(tmp_path, 'new.ekf', version=1, fingerprint='fp', day=2)
    assert decide(tmp_path) == (False, 'the keys are unchanged and the newest file old.ekf matches its manifest and opens '
                                       'with the password')
    assert decide(tmp_path, fingerprint='other')[1] == 'the keys changed since the newest file old.ekf'


def test_backup_decision_skips_a_damaged_newest(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'old.ekf', password=BACKUP_PASSWORD, fingerprint='fp', day=1)
    damage(write_key_file(tmp_path, 'new.ekf', password=BACKUP_PASSWORD, fingerprint='fp', day=2))
    needed, reason = decide(tmp_path)
    assert needed is False and 'old.ekf' in reason


def test_reusable_salt_is_that_of_the_newest_file_that_counts(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'theirs.ekf', password=OTHER_PASSWORD, salt=b'T' * 16, day=3)
    forge(tmp_path, 'forged.ekf', write_key_file(tmp_path, 'ours.ekf', password=BACKUP_PASSWORD, salt=b'O' * 16, day=2))
    write_key_file(tmp_path, 'older.ekf', password=BACKUP_PASSWORD, salt=b'P' * 16, day=1)
    files, dummy = key_files.scan(str(tmp_path), SID)
    assert key_files.reusable_salt(files, mf.Deriver(BACKUP_PASSWORD)) == (b'O' * 16, FAST_ITERATIONS)
    files, dummy = key_files.scan(str(tmp_path), SID)
    assert key_files.reusable_salt(files, None) == (None, None)


def test_the_salt_is_reused_from_the_newest_file_with_a_verifier(tmp_path, fast_kdf):
    salt = b'S' * 16
    write_key_file(tmp_path, 'old.ekf', locations=ALL_OF_1_1, password=BACKUP_PASSWORD, salt=salt, day=1)
    write_key_file(tmp_path, 'newest-without.ekf', locations=ALL_OF_1_1, day=2)
    files = key_files.scan(str(tmp_path), SID)[0]
    assert [f['name'] for f in files] == ['newest-without.ekf', 'old.ekf']
    assert key_files.reusable_salt(files, mf.Deriver(BACKUP_PASSWORD)) == (salt, fast_kdf)


def test_backup_decision_texts_word_for_word(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL_OF_1_1, password=BACKUP_PASSWORD, fingerprint='fp')

    def files(directory=tmp_path):
        return key_files.scan(str(directory), SID)[0]

    assert key_files.backup_decision(files(), 'new', mf.Deriver(BACKUP_PASSWORD), NOW) == (
        True, 'the keys changed since the newest file k.ekf')
    assert key_files.backup_decision(files(), 'fp', mf.Deriver('Other#Pa55'), NOW) == (True, NO_FILE_COUNTS)
    assert key_files.backup_decision(files(), 'fp', mf.Deriver(BACKUP_PASSWORD), NOW) == (
        False, 'the keys are unchanged and the newest file k.ekf matches its manifest and opens with the password')
    data = read_manifest(path)
    data['model'] = 'edited'
    rewrite_manifest(path, data)
    edited = files()
    assert key_files.backup_decision(edited, 'fp', mf.Deriver(BACKUP_PASSWORD), NOW) == (True, NO_FILE_COUNTS)
    assert mf.manifest_path('k.ekf') in edited[0]['trust']
    bare = tmp_path / 'bare'
    bare.mkdir()
    write_key_file(bare, 'bare.ekf', locations=ALL_OF_1_1, fingerprint='fp')
    assert key_files.backup_decision(files(bare), 'fp', mf.Deriver(BACKUP_PASSWORD), NOW) == (True, NO_FILE_COUNTS)
    old = tmp_path / 'old'
    old.mkdir()
    write_key_file(old, 'o.ekf', locations=ALL_OF_1_1, version=1)
    assert key_files.backup_decision(files(old), 'fp', mf.Deriver(BACKUP_PASSWORD), NOW) == (True, NO_FILE_COUNTS)
    assert json.dumps(key_files.backup_decision([], 'fp', None)) == '[true, "%s"]' % NO_FILE_COUNTS


@pytest.mark.parametrize('plant', ['symlink', 'directory'])
def test_a_lock_file_planted_as_a_symlink_or_a_directory_is_refused_naming_it(tmp_path, plant):
    target = tmp_path / 'elsewhere'
    target.write_text('not ours')
    lock_path = tmp_path / '.vsp-encryption.lock'
    if plant == 'symlink':
        os.symlink(str(target), str(lock_path))
    else:
        lock_path.mkdir()
    with pytest.raises(VspApiError) as info:
        with key_files.DirectoryLock(str(tmp_path), wait=0):
            pytest.fail('the lock was taken through a planted %s' % plant)
    assert info.value.msg.startswith('The lock %s of the backup directory cannot be taken: ' % lock_path)
    assert info.value.msg.endswith('Nothing was written or deleted; remove it (a run recreates it) and run again.')
    assert target.read_text() == 'not ours'  # never written through the link
