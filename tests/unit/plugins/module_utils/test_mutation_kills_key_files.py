# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants of key_files.py that survived `make mutation` (docs/mutation.md)."""

import datetime
import json
import os

import pytest
from ansible_collections.vsp.encryption.plugins.module_utils import _key_files as key_files
from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils._key_files import retention
from conftest import BACKUP_PASSWORD
from key_file_helpers import OTHER_SID, SERIAL, SID, read_manifest, rewrite_manifest, write_key_file

NOW = datetime.datetime(2026, 12, 1, 0, 0, 0, tzinfo=datetime.timezone.utc)
OLD = datetime.datetime(2026, 11, 1, 0, 0, 0, tzinfo=datetime.timezone.utc)


def entry(path, keys, time=OLD):
    """An entry that already counts (authenticate leaves it alone), holding the keys ``keys``."""
    return {'path': path, 'intact': True, 'counts': True, 'trust': None, '_keys': set(keys), '_locations': set(),
            '_manifest': {}, '_time': time}


def test_keys_held_by_every_newer_kept_file_count_not_only_the_last_one():
    files = [entry('/a', ['1', '2']), entry('/b', ['3']), entry('/c', ['1'])]
    delete, kept = retention(files, 1, {'1', '2', '3'}, None, NOW)
    assert delete == ['/c']
    assert [k['path'] for k in kept] == ['/a', '/b']
    assert kept[1]['reason'] == 'the newest file that holds key(s) 3, which the array still has and no newer kept file holds'


def test_reason_lists_at_most_eight_keys():
    keys = [str(i) for i in range(10, 19)]
    delete, kept = retention([entry('/a', ['1']), entry('/b', keys)], 1, set(keys) | {'1'}, None, NOW)
    assert delete == []
    assert kept[1]['reason'] == ('the newest file that holds key(s) %s and 1 more, which the array still has and no newer kept '
                                 'file holds' % ', '.join(keys[:8]))


# --- scan entries, choice and backup decision: fields read from the manifest and texts word for word ----


ALL = {'1': 'HDD01-00', '2': 'HDD01-01'}


def test_scan_entry_fields_come_from_the_manifest(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD, fingerprint='fp1')
    files, ignored = key_files.scan(str(tmp_path), SID)
    assert ignored == []
    entry = key_files.public(files[0])
    assert entry['storage_device_id'] == SID and entry['serial_number'] == SERIAL
    assert entry['key_counts'] == read_manifest(path)['key_counts'] and entry['key_counts']['DEK'] == 2
    assert entry['key_fingerprint'] == 'fp1' and entry['has_password_verifier'] is True and entry['intact'] is True
    assert entry['name'] == 'k.ekf' and entry['format_version'] == 2


def test_scan_size_decides_intact_and_a_manifest_without_size_is_intact(tmp_path):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL)
    data = read_manifest(path)
    data['size'] += 1
    rewrite_manifest(path, data)
    assert key_files.scan(str(tmp_path), SID)[0][0]['intact'] is False
    data.pop('size')
    rewrite_manifest(path, data)
    assert key_files.scan(str(tmp_path), SID)[0][0]['intact'] is True


def test_scan_goes_on_after_a_file_of_another_array_and_an_unreadable_one(tmp_path, monkeypatch):
    write_key_file(tmp_path, 'a.ekf', locations=ALL, sid=OTHER_SID)
    write_key_file(tmp_path, 'b.ekf', locations=ALL, day=2)
    write_key_file(tmp_path, 'c.ekf', locations=ALL, day=3)
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


def test_scan_sets_aside_a_manifest_without_a_time(tmp_path):
    write_key_file(tmp_path, 'a.ekf', locations=ALL, day=2)
    path = write_key_file(tmp_path, 'b.ekf', locations=ALL, day=3)
    data = read_manifest(path)
    data.pop('created_utc')
    rewrite_manifest(path, data)
    files, ignored = key_files.scan(str(tmp_path), SID)
    assert [f['name'] for f in files] == ['a.ekf']
    assert ignored == [{'path': path, 'reason': 'The manifest %s is malformed: created_utc must be a UTC time such as '
                                                '2026-12-01T02:00:00Z' % mf.manifest_path(path)}]


OTHER = ('does not open with this backup password (its password verifier does not take it): made with another password, '
         'or not made by vsp.encryption')
NO_FILE_COUNTS = 'no key file of this array there opens with this backup password and matches its manifest'


def test_choose_for_restore_texts_word_for_word(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', locations={'1': 'HDD01-00'}, password=BACKUP_PASSWORD, day=5)
    write_key_file(tmp_path, 'b.ekf', locations=ALL, password='Other#Pa55', day=4)

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
    write_key_file(tmp_path, 'a.ekf', locations=ALL, version=1, day=5)
    write_key_file(tmp_path, 'b.ekf', locations=ALL, password='Other#Pa55', day=4)
    files = key_files.scan(str(tmp_path), SID)[0]
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore(files, ['HDD01-01'], mf.Deriver(BACKUP_PASSWORD), NOW)
    assert isinstance(info.value, key_files.PasswordRefused)
    assert info.value.msg.endswith('all files: a.ekf has a manifest without a password verifier and MAC (format 1), so it is '
                                   'not authenticated: anyone who can write the directory could have written it; b.ekf ' + OTHER)


def test_choose_for_restore_names_the_manifest_of_an_edited_file(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'a.ekf', locations=ALL, password=BACKUP_PASSWORD)
    data = read_manifest(path)
    data['model'] = 'edited'
    rewrite_manifest(path, data)
    files = key_files.scan(str(tmp_path), SID)[0]
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore(files, ['HDD01-01'], mf.Deriver(BACKUP_PASSWORD), NOW)
    assert info.value.msg == ('no key file there can restore the lost keys: a.ekf cannot be trusted: a.ekf.manifest.json was '
                              'changed after the backup (its MAC does not match); do not trust it')


def test_retention_texts_word_for_word(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'd.ekf', locations=ALL, password=BACKUP_PASSWORD)
    with open(path, 'ab') as handle:
        handle.write(b'x')

    def files():
        return key_files.scan(str(tmp_path), SID)[0]

    assert key_files.retention(files(), 0, set(), mf.Deriver(BACKUP_PASSWORD), NOW) == (
        [], [{'path': path, 'reason': 'retention is off (keep 0)'}])
    assert key_files.retention(files(), 1, set(), mf.Deriver(BACKUP_PASSWORD), NOW) == (
        [], [{'path': path, 'reason': 'not deleted: it does not match its manifest (sha256 or size): damaged, or not the file '
                                      'that was backed up'}])
    young = [entry('/n', ['1'], NOW), entry('/y', ['1'], NOW - datetime.timedelta(minutes=59))]
    assert key_files.retention(young, 1, {'1'}, None, NOW) == ([], [
        {'path': '/n', 'reason': 'one of the 1 newest'},
        {'path': '/y', 'reason': 'made less than 60 minutes ago: another run may still be using it'}])


def test_backup_decision_texts_word_for_word(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD, fingerprint='fp')

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
    write_key_file(bare, 'bare.ekf', locations=ALL, fingerprint='fp')
    assert key_files.backup_decision(files(bare), 'fp', mf.Deriver(BACKUP_PASSWORD), NOW) == (True, NO_FILE_COUNTS)
    old = tmp_path / 'old'
    old.mkdir()
    write_key_file(old, 'o.ekf', locations=ALL, version=1)
    assert key_files.backup_decision(files(old), 'fp', mf.Deriver(BACKUP_PASSWORD), NOW) == (True, NO_FILE_COUNTS)
    assert json.dumps(key_files.backup_decision([], 'fp', None)) == '[true, "%s"]' % NO_FILE_COUNTS


def test_reason_names_exactly_eight_keys():
    keys = ['DEK:%d' % i for i in range(10, 18)]
    delete, kept = retention([entry('/a', ['1']), entry('/b', keys)], 1, set(keys), None, NOW)
    assert kept[1]['reason'] == ('the newest file that holds key(s) %s, which the array still has and no newer kept file holds'
                                 % ', '.join(keys))


def test_scan_goes_on_after_an_unreadable_manifest_and_a_file_without_one(tmp_path):
    (tmp_path / 'a.ekf').write_bytes(b'key')
    (tmp_path / 'a.ekf.manifest.json').write_text('not json')
    (tmp_path / 'b.ekf').write_bytes(b'key')
    write_key_file(tmp_path, 'c.ekf', locations=ALL)
    files, ignored = key_files.scan(str(tmp_path), SID)
    assert [f['name'] for f in files] == ['c.ekf']
    assert [os.path.basename(i['path']) for i in ignored] == ['a.ekf', 'b.ekf']
    assert ignored[1]['reason'] == 'no manifest'
