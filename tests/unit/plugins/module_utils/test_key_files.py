# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import os

import pytest
from conftest import BACKUP_PASSWORD
from key_file_helpers import OTHER_SID, SID, keys_by_type, read_manifest, rewrite_manifest, write_key_file

from ansible_collections.vsp.encryption.plugins.module_utils import key_files
from ansible_collections.vsp.encryption.plugins.module_utils import manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils.errors import VspApiError

ALL = {'1': 'HDD00-00', '2': 'HDD00-01', '3': 'HDD00-02'}
AFTER_LOSS = {'1': 'HDD00-00', '3': 'HDD00-02'}  # the DEK of HDD00-01 is lost
LOST = ['HDD00-01']
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


