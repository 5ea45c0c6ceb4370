# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The password derived in a thread while the array is read (manifest.Deriver.start, restore_plan.start_derivation)."""

import os
import threading

from conftest import BACKUP_PASSWORD
from key_file_helpers import SID, read_manifest, write_key_file

from ansible_collections.vsp.encryption.plugins.module_utils import _key_files as key_files
from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils import _restore_plan as restore_plan

SALT = b'S' * 16
ALL = {'1': 'HDD01-00', '2': 'HDD01-01'}


def test_a_started_derivation_is_the_one_the_call_gets(derivations):
    deriver = mf.Deriver(BACKUP_PASSWORD)
    deriver.start(SALT, 1000)
    deriver.start(SALT, 1000)  # under way: not started again
    assert deriver(SALT, 1000) == mf.derive(BACKUP_PASSWORD, SALT, 1000)
    deriver.start(SALT, 1000)  # known: not started again
    assert deriver(SALT, 1000) == mf.derive(BACKUP_PASSWORD, SALT, 1000)
    assert derivations == [(SALT, 1000)] * 3  # the thread's, and the two of this test


def test_a_derivation_that_failed_in_its_thread_is_made_by_the_call(monkeypatch):
    calls = []
    real = mf.derive

    def fails_first(password, salt, iterations):
        calls.append(salt)
        if len(calls) == 1:
            raise MemoryError('in the thread')
        return real(password, salt, iterations)

    monkeypatch.setattr(mf, 'derive', fails_first)
    deriver = mf.Deriver(BACKUP_PASSWORD)
    deriver.start(SALT, 1000)
    assert deriver(SALT, 1000) == real(BACKUP_PASSWORD, SALT, 1000)
    assert calls == [SALT, SALT]


def started(deriver):
    return sorted(deriver._pending)  # pylint: disable=protected-access


def test_start_derivation_takes_the_salt_of_the_named_file(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD, salt=SALT)
    deriver = mf.Deriver(BACKUP_PASSWORD)
    restore_plan.start_derivation(path, deriver)
    assert started(deriver) == [(SALT, fast_kdf)]
    assert mf.check_password(read_manifest(path), deriver) is True


def test_start_derivation_takes_the_newest_manifest_with_a_verifier_in_a_directory(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'old.ekf', locations=ALL, password=BACKUP_PASSWORD, salt=b'O' * 16, day=1)
    write_key_file(tmp_path, 'new.ekf', locations=ALL, password=BACKUP_PASSWORD, salt=SALT, day=2)
    write_key_file(tmp_path, 'newest-without.ekf', locations=ALL, day=3)
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
    without = write_key_file(tmp_path, 'without.ekf', locations=ALL)
    deriver = mf.Deriver(BACKUP_PASSWORD)
    for path in (str(bare), str(broken), without, str(tmp_path / 'missing.ekf')):
        restore_plan.start_derivation(path, deriver)
    assert started(deriver) == []
    empty = tmp_path / 'empty'
    os.mkdir(str(empty))
    restore_plan.start_derivation(str(empty), deriver)
    assert started(deriver) == []


def test_the_derivation_thread_is_a_named_daemon(monkeypatch):
    """A daemon: a module that ends before the derivation is needed does not wait for it."""
    release = threading.Event()
    real = mf.derive

    def held(password, salt, iterations):
        release.wait(30)
        return real(password, salt, iterations)

    monkeypatch.setattr(mf, 'derive', held)
    deriver = mf.Deriver(BACKUP_PASSWORD)
    deriver.start(SALT, 1000)
    try:
        threads = [t for t in threading.enumerate() if t.name == 'vsp-kdf']
        assert len(threads) == 1 and threads[0].daemon is True
    finally:
        release.set()
    assert deriver(SALT, 1000) == real(BACKUP_PASSWORD, SALT, 1000)


def test_start_derivation_picks_by_time_not_by_name(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', locations=ALL, password=BACKUP_PASSWORD, salt=b'O' * 16, day=1)
    write_key_file(tmp_path, 'b.ekf', locations=ALL, password=BACKUP_PASSWORD, salt=SALT, day=2)
    deriver = mf.Deriver(BACKUP_PASSWORD)
    restore_plan.start_derivation(str(tmp_path), deriver)
    assert started(deriver) == [(SALT, fast_kdf)]


def test_the_salt_is_reused_from_the_newest_file_with_a_verifier(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'old.ekf', locations=ALL, password=BACKUP_PASSWORD, salt=SALT, day=1)
    write_key_file(tmp_path, 'newest-without.ekf', locations=ALL, day=2)
    files = key_files.scan(str(tmp_path), SID)[0]
    assert [f['name'] for f in files] == ['newest-without.ekf', 'old.ekf']
    assert key_files.reusable_salt(files, mf.Deriver(BACKUP_PASSWORD)) == (SALT, fast_kdf)
