# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants of key_files.py that survived `make mutation` (docs/mutation.md)."""

import json
import os

import pytest
from ansible_collections.vsp.encryption.plugins.module_utils import key_files
from ansible_collections.vsp.encryption.plugins.module_utils import manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils.errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils.key_files import retention
from conftest import BACKUP_PASSWORD
from key_file_helpers import OTHER_SID, SERIAL, SID, read_manifest, rewrite_manifest, write_key_file


def entry(path, keys, locations=()):
    return {'path': path, 'intact': True, '_keys': set(keys), '_locations': set(locations)}


def test_keys_held_by_every_newer_kept_file_count_not_only_the_last_one():
    files = [entry('/a', ['1', '2'], ['HDD00-01']), entry('/b', ['3'], ['HDD00-02']), entry('/c', ['1'], ['HDD00-01'])]
    delete, kept = retention(files, 1)
    assert delete == ['/c']
    assert [k['path'] for k in kept] == ['/a', '/b']
    assert kept[1]['reason'] == 'the newest file that holds a DEK for drive(s) HDD00-02, which no newer kept file holds'


def test_reason_lists_at_most_eight_keys_or_drives():
    keys = [str(i) for i in range(10, 19)]
    delete, kept = retention([entry('/a', ['1']), entry('/b', keys)], 1)
    assert delete == []
    assert kept[1]['reason'] == 'the newest file that holds key(s) %s, which no newer kept file holds' % ', '.join(keys[:8])
    drives = ['HDD00-%02d' % i for i in range(10, 19)]
    delete, kept = retention([entry('/a', ['1']), entry('/b', ['1'], drives)], 1)
    assert kept[1]['reason'].startswith('the newest file that holds a DEK for drive(s) %s,' % ', '.join(drives[:8]))


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

    def flaky(path):
        if path.endswith('b.ekf'):
            raise OSError()
        return real(path)
    monkeypatch.setattr(key_files, 'sha256_file', flaky)
    files, ignored = key_files.scan(str(tmp_path), SID)
    assert [f['name'] for f in files] == ['c.ekf']
    assert [(os.path.basename(i['path']), i['reason']) for i in ignored] == [
        ('a.ekf', 'the manifest names another array (%s)' % OTHER_SID), ('b.ekf', 'cannot be read (OSError)')]


def test_scan_without_a_time_sorts_last(tmp_path):
    write_key_file(tmp_path, 'a.ekf', locations=ALL, day=2)
    path = write_key_file(tmp_path, 'b.ekf', locations=ALL, day=3)
    data = read_manifest(path)
    data.pop('created_utc')
    rewrite_manifest(path, data)
    assert [f['name'] for f in key_files.scan(str(tmp_path), SID)[0]] == ['a.ekf', 'b.ekf']


def test_choose_for_restore_texts_word_for_word(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', locations={'1': 'HDD01-00'}, password=BACKUP_PASSWORD, day=5)
    write_key_file(tmp_path, 'b.ekf', locations=ALL, password='Other#Pa55', day=4)
    files = key_files.scan(str(tmp_path), SID)[0]
    with pytest.raises(key_files.PasswordRefused) as info:
        key_files.choose_for_restore(files, ['HDD01-01', 'HDD01-02'][:1], mf.Deriver(BACKUP_PASSWORD))
    assert info.value.msg == (
        'the password does not match the password verifier of any key file that holds the lost keys (b.ekf): it is not '
        'the password they were made with (after a rotation, older files need the older password); all files: a.ekf holds '
        'no DEK for drive(s) HDD01-01; b.ekf was made with another backup password (its password verifier does not match)')
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore(files, ['HDD01-01', 'HDD01-02'], mf.Deriver(BACKUP_PASSWORD))
    assert info.value.msg == ('no key file there can restore the lost keys: a.ekf holds no DEK for drive(s) HDD01-01, '
                              'HDD01-02; b.ekf holds no DEK for drive(s) HDD01-02')
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore([], ['HDD01-01'])
    assert info.value.msg == 'no key file of this array (by its manifest) is there'
    entry, reason = key_files.choose_for_restore(files, ['HDD01-01', 'HDD01-00'], mf.Deriver('Other#Pa55'))
    assert entry['name'] == 'b.ekf'
    assert reason == 'the newest key file of this array that holds a DEK for every drive that lost its key (HDD01-00, HDD01-01)'


def test_choose_for_restore_a_format_1_file_leaves_it_a_password_refusal(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', locations=ALL, version=1, day=5)
    write_key_file(tmp_path, 'b.ekf', locations=ALL, password='Other#Pa55', day=4)
    files = key_files.scan(str(tmp_path), SID)[0]
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore(files, ['HDD01-01'], mf.Deriver(BACKUP_PASSWORD))
    assert isinstance(info.value, key_files.PasswordRefused)
    assert info.value.msg.endswith('all files: a.ekf has a format-1 manifest that does not say which keys it holds; b.ekf '
                                   'was made with another backup password (its password verifier does not match)')


def test_choose_for_restore_names_the_manifest_of_an_edited_file(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'a.ekf', locations=ALL, password=BACKUP_PASSWORD)
    data = read_manifest(path)
    data['model'] = 'edited'
    rewrite_manifest(path, data)
    files = key_files.scan(str(tmp_path), SID)[0]
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore(files, ['HDD01-01'], mf.Deriver(BACKUP_PASSWORD))
    assert info.value.msg == ('no key file there can restore the lost keys: a.ekf cannot be trusted: %s was changed after the '
                              'backup (its MAC does not match); do not trust it' % mf.manifest_path(path))


def test_retention_texts_word_for_word():
    files = [{'path': '/a', 'intact': False, '_keys': set(), '_locations': set()}]
    assert key_files.retention(files, 0) == ([], [{'path': '/a', 'reason': 'retention is off (keep 0)'}])
    assert key_files.retention(files, 1) == ([], [{'path': '/a', 'reason': 'does not match its manifest: left for you to look at'}])


def test_backup_decision_texts_word_for_word(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD, fingerprint='fp')
    files = key_files.scan(str(tmp_path), SID)[0]
    assert key_files.backup_decision(files, 'new') == (True, 'the keys changed since the newest file k.ekf')
    assert key_files.backup_decision(files, 'fp', mf.Deriver('Other#Pa55')) == (
        True, 'the backup password changed since the newest file k.ekf')
    assert key_files.backup_decision(files, 'fp', mf.Deriver(BACKUP_PASSWORD)) == (
        False, 'the keys are unchanged and the newest file k.ekf matches its manifest and the password')
    data = read_manifest(path)
    data['model'] = 'edited'
    rewrite_manifest(path, data)
    with pytest.raises(VspApiError) as info:
        key_files.backup_decision(key_files.scan(str(tmp_path), SID)[0], 'fp', mf.Deriver(BACKUP_PASSWORD))
    assert mf.manifest_path(path) in info.value.msg
    bare = write_key_file(tmp_path / '..', 'bare.ekf', locations=ALL, fingerprint='fp')
    files = [f for f in key_files.scan(os.path.dirname(bare), SID)[0] if f['name'] == 'bare.ekf']
    assert key_files.backup_decision(files, 'fp', mf.Deriver(BACKUP_PASSWORD)) == (
        True, 'the newest file bare.ekf has no password verifier, so it is not known to open with this password')
    old = tmp_path / 'old'
    old.mkdir()
    write_key_file(old, 'o.ekf', locations=ALL, version=1)
    assert key_files.backup_decision(key_files.scan(str(old), SID)[0], 'fp') == (
        True, 'the newest file o.ekf has a format-1 manifest, which does not say which keys it holds')
    assert json.dumps(key_files.backup_decision([], 'fp')) == '[true, "no intact key file of this array yet"]'


def test_reason_names_exactly_eight_drives():
    drives = ['HDD00-%02d' % i for i in range(10, 19)]
    delete, kept = retention([entry('/a', ['1']), entry('/b', ['1'], drives)], 1)
    assert kept[1]['reason'] == ('the newest file that holds a DEK for drive(s) %s, which no newer kept file holds'
                                 % ', '.join(drives[:8]))


def test_scan_goes_on_after_an_unreadable_manifest_and_a_file_without_one(tmp_path):
    (tmp_path / 'a.ekf').write_bytes(b'key')
    (tmp_path / 'a.ekf.manifest.json').write_text('not json')
    (tmp_path / 'b.ekf').write_bytes(b'key')
    write_key_file(tmp_path, 'c.ekf', locations=ALL)
    files, ignored = key_files.scan(str(tmp_path), SID)
    assert [f['name'] for f in files] == ['c.ekf']
    assert [os.path.basename(i['path']) for i in ignored] == ['a.ekf', 'b.ekf']
    assert ignored[1]['reason'] == 'no manifest'
