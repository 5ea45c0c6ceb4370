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
    assert set(reasons) == {'%s_20261130T020000Z.ekf' % SID, 'no-manifest.ekf', 'broken.ekf'}
    assert reasons['%s_20261130T020000Z.ekf' % SID] == 'the manifest names another array (%s)' % OTHER_SID
    assert reasons['no-manifest.ekf'] == 'no manifest'
    assert 'cannot be read' in reasons['broken.ekf']
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

    def sha256_file(path):
        if path == bad:
            raise OSError(5, 'Input/output error')
        return real(path)

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
    entry, reason = key_files.choose_for_restore(files, LOST, mf.Deriver(BACKUP_PASSWORD))
    assert entry['name'] == 'f1.ekf'
    assert 'HDD00-01' in reason and 'newest' in reason


def test_choose_without_password_check_takes_the_other_password_file(directory):
    files, dummy = key_files.scan(str(directory), SID)
    entry, dummy = key_files.choose_for_restore(files, LOST)
    assert entry['name'] == 'f2.ekf'


def test_choose_with_nothing_lost_takes_the_newest_intact_format_2(directory):
    files, dummy = key_files.scan(str(directory), SID)
    entry, reason = key_files.choose_for_restore(files, [], mf.Deriver(BACKUP_PASSWORD))
    assert entry['name'] == 'f3.ekf'
    assert reason == 'the newest key file of this array'


def test_choose_says_why_each_file_was_refused(directory):
    os.remove(str(directory / 'f1.ekf'))
    os.remove(str(directory / 'f0.ekf'))
    files, dummy = key_files.scan(str(directory), SID)
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore(files, LOST, mf.Deriver(BACKUP_PASSWORD))
    msg = info.value.msg
    assert msg.startswith('no key file there can restore the lost keys: ')
    assert 'f5.ekf does not match its manifest' in msg
    assert 'f4.ekf has a format-1 manifest' in msg
    assert 'f3.ekf holds no DEK for drive(s) HDD00-01' in msg
    assert 'f2.ekf was made with another backup password' in msg


def test_choose_needs_every_lost_drive(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'one.ekf', locations={'1': 'HDD00-00', '2': 'HDD00-01'}, day=2)
    write_key_file(tmp_path, 'other.ekf', locations={'3': 'HDD00-02'}, day=3)
    files, dummy = key_files.scan(str(tmp_path), SID)
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore(files, ['HDD00-01', 'HDD00-02'])
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
    entry, dummy = key_files.choose_for_restore(files, LOST, mf.Deriver(BACKUP_PASSWORD))
    assert entry['path'] == old
    os.remove(old)
    files, dummy = key_files.scan(str(tmp_path), SID)
    with pytest.raises(VspApiError) as info:
        key_files.choose_for_restore(files, LOST, mf.Deriver(BACKUP_PASSWORD))
    assert info.value.msg.startswith('no key file there can restore the lost keys: new.ekf ')
    assert 'MAC' in info.value.msg


def test_choose_from_no_file(tmp_path):
    with pytest.raises(VspApiError, match='no key file of this array'):
        key_files.choose_for_restore([], LOST)


def test_holders_are_intact_covering_files_newest_first(directory):
    files, dummy = key_files.scan(str(directory), SID)
    assert names(key_files.holders(files, LOST)) == ['f2.ekf', 'f1.ekf', 'f0.ekf']
    assert names(key_files.holders(files, ['HDD00-09'])) == []


# -- retention ----------------------------------------------------------------------------------------
def kept_reasons(kept):
    return dict((os.path.basename(k['path']), k['reason']) for k in kept)


def test_retention_keeps_the_newest_and_every_file_with_a_key_no_newer_kept_file_holds(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'n4.ekf', locations=AFTER_LOSS, day=4)   # after the loss
    write_key_file(tmp_path, 'n3.ekf', locations=AFTER_LOSS, day=3)   # same keys: deletable
    write_key_file(tmp_path, 'n2.ekf', locations=ALL, day=2)          # the only one with HDD00-01
    write_key_file(tmp_path, 'n1.ekf', locations=ALL, day=1)          # same as n2: deletable
    write_key_file(tmp_path, 'v1.ekf', version=1, day=1, hour=0)
    files, dummy = key_files.scan(str(tmp_path), SID)
    delete, kept = key_files.retention(files, 1)
    assert sorted(os.path.basename(p) for p in delete) == ['n1.ekf', 'n3.ekf', 'v1.ekf']
    reasons = kept_reasons(kept)
    assert reasons['n4.ekf'] == 'one of the 1 newest'
    assert 'HDD00-01' in reasons['n2.ekf'] and 'no newer kept file holds' in reasons['n2.ekf']
    assert set(reasons) == {'n4.ekf', 'n2.ekf'}


def test_retention_keeps_a_file_whose_only_extra_is_a_key_id(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'new.ekf', keys=keys_by_type(ALL, cek=('101',)), day=2)
    write_key_file(tmp_path, 'old.ekf', keys=keys_by_type(ALL, cek=('100',)), day=1)
    files, dummy = key_files.scan(str(tmp_path), SID)
    delete, kept = key_files.retention(files, 1)
    assert delete == []
    assert 'CEK:100' in kept_reasons(kept)['old.ekf']


def test_retention_keeps_damaged_files_and_does_not_count_what_they_hold(tmp_path, fast_kdf):
    damage(write_key_file(tmp_path, 'd.ekf', locations=ALL, day=5))
    write_key_file(tmp_path, 'n2.ekf', locations=AFTER_LOSS, day=2)
    write_key_file(tmp_path, 'n1.ekf', locations=ALL, day=1)
    files, dummy = key_files.scan(str(tmp_path), SID)
    delete, kept = key_files.retention(files, 1)
    assert delete == []
    reasons = kept_reasons(kept)
    assert 'left for you to look at' in reasons['d.ekf']
    assert reasons['n2.ekf'] == 'one of the 1 newest'      # the damaged file does not count toward keep
    assert 'HDD00-01' in reasons['n1.ekf']                 # what the damaged file holds does not count either


def test_retention_keep_counts_intact_newest(tmp_path, fast_kdf):
    for day in (1, 2, 3, 4):
        write_key_file(tmp_path, 'n%d.ekf' % day, locations=ALL, day=day)
    files, dummy = key_files.scan(str(tmp_path), SID)
    delete, kept = key_files.retention(files, 2)
    assert sorted(os.path.basename(p) for p in delete) == ['n1.ekf', 'n2.ekf']
    assert kept_reasons(kept) == {'n4.ekf': 'one of the 2 newest', 'n3.ekf': 'one of the 2 newest'}


@pytest.mark.parametrize('keep', [0, None, -1])
def test_retention_keep_0_keeps_all(tmp_path, fast_kdf, keep):
    write_key_file(tmp_path, 'n2.ekf', day=2)
    write_key_file(tmp_path, 'n1.ekf', day=1)
    files, dummy = key_files.scan(str(tmp_path), SID)
    delete, kept = key_files.retention(files, keep)
    assert delete == []
    assert [k['reason'] for k in kept] == ['retention is off (keep 0)'] * 2


def test_retention_never_deletes_the_only_holder_of_a_lost_key_after_several_short_backups(tmp_path, fast_kdf):
    """The nightly timeline of issue 11: many files made after the loss, keep 1."""
    write_key_file(tmp_path, 'good.ekf', locations=ALL, day=1)
    for day in range(2, 8):
        write_key_file(tmp_path, 'short%d.ekf' % day, locations=AFTER_LOSS, day=day)
    files, dummy = key_files.scan(str(tmp_path), SID)
    delete, kept = key_files.retention(files, 1)
    assert str(tmp_path / 'good.ekf') not in delete
    assert len(delete) == 5
    assert set(kept_reasons(kept)) == {'short7.ekf', 'good.ekf'}


# -- backup_decision ----------------------------------------------------------------------------------
def decide(tmp_path, fingerprint='fp', password=BACKUP_PASSWORD):
    files, dummy = key_files.scan(str(tmp_path), SID)
    return key_files.backup_decision(files, fingerprint, mf.Deriver(password) if password else None)


def test_backup_needed_without_files(tmp_path):
    assert decide(tmp_path) == (True, 'no intact key file of this array yet')


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
    needed, reason = decide(tmp_path)
    assert needed is True and 'password changed' in reason


def test_backup_needed_when_newest_has_no_verifier(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'n.ekf', fingerprint='fp')
    needed, reason = decide(tmp_path)
    assert needed is True and 'no password verifier' in reason
    # a site that turned verifiers off (no deriver) keeps it
    assert decide(tmp_path, password=None)[0] is False


def test_backup_needed_when_newest_is_format_1(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'old.ekf', password=BACKUP_PASSWORD, fingerprint='fp', day=1)
    write_key_file(tmp_path, 'new.ekf', version=1, fingerprint='fp', day=2)
    needed, reason = decide(tmp_path)
    assert needed is True and 'format-1' in reason and 'new.ekf' in reason


def test_backup_decision_skips_a_damaged_newest(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'old.ekf', password=BACKUP_PASSWORD, fingerprint='fp', day=1)
    damage(write_key_file(tmp_path, 'new.ekf', password=BACKUP_PASSWORD, fingerprint='fp', day=2))
    needed, reason = decide(tmp_path)
    assert needed is False and 'old.ekf' in reason
