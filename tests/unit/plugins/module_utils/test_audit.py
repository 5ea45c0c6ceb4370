# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The key-backup audit (module_utils/_audit.py) over real key files with format-2 manifests."""

import datetime
import json

import pytest
from conftest import BACKUP_PASSWORD
from key_file_helpers import SID, STORAGE, keys_by_type, when, write_key_file

from ansible_collections.vsp.encryption.plugins.module_utils import _audit as audit
from ansible_collections.vsp.encryption.plugins.module_utils import _key_files as key_files
from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError

DRIVES = {'1': 'HDD00-00', '2': 'HDD00-01'}
NOW = when(2, 2)  # 24 hours after when(1, 2)


def damage_file(path):
    with open(path, 'ab') as handle:
        handle.write(b'x')


def array_keys(locations=None, created='2026-10-01T00:00:00Z', backups=1, **kw):
    keys = keys_by_type(locations or DRIVES, **kw)
    for key in (k for t in keys.values() for k in t):
        key.setdefault('numOfBackups', backups)
        key['createdTime'] = created
        key['keyGeneratedLocation'] = 'DKC'
    return keys


def run(tmp_path, keys=None, lost=(), max_age=26, now=NOW, deriver=None, kms=None):
    files, ignored = key_files.scan(str(tmp_path), SID)
    return audit.audit_array('vsp01', storage=STORAGE, encryption_keys=keys or array_keys(), lost_parity_groups=list(lost),
                             files=files, ignored=ignored, max_age_hours=max_age, now=now,
                             deriver=deriver, kms_configured=kms, directory=str(tmp_path))


def test_covered_when_the_newest_verified_file_holds_every_key_and_is_recent(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', keys=array_keys(), day=1)
    result = run(tmp_path)
    assert result['covered'] is True, result['problems']
    assert result['problems'] == [] and result['uncovered_keys'] == []
    assert result['newest_verified_file']['name'] == 'a.ekf'
    assert result['newest_age_hours'] == 24.0 and result['too_old'] is False
    assert result['storage_device_id'] == SID and result['key_counts'] == {'DEK': 2, 'CEK': 1, 'KEK': 1, 'FREE': 2}
    assert result['files'] == {'of_this_array': 1, 'verified': 1, 'unverified': [], 'ignored': 0}


def test_too_old_is_not_covered_at_the_limit_it_still_is(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', keys=array_keys(), day=1)
    assert run(tmp_path, max_age=24)['covered'] is True  # exactly 24 h old, 24 allowed
    result = run(tmp_path, max_age=23.5)
    assert result['covered'] is False and result['too_old'] is True
    assert result['problems'] == ['the newest verified key file a.ekf is 24.0 hours old, more than the 23.5 allowed']


def test_a_key_created_after_the_newest_file_is_named_with_every_reason(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', keys=array_keys(), day=1)
    keys = array_keys()
    keys['FREE'].append({'keyId': '302', 'keyType': 'FREE', 'targetDeviceLocation': '-', 'numOfBackups': 0,
                         'createdTime': '2026-11-01T05:00:00Z', 'keyGeneratedLocation': 'DKC'})
    result = run(tmp_path, keys=keys)
    assert result['covered'] is False
    assert [(u['key_type'], u['key_id']) for u in result['uncovered_keys']] == [('FREE', '302')]
    assert result['uncovered_keys'][0]['reasons'] == [
        'numOfBackups is 0: never backed up',
        'created 2026-11-01T05:00:00Z, after the newest verified file (2026-11-01T02:00:00Z)',
        'not in the newest verified file a.ekf']
    assert result['problems'] == ['1 key no verified key file holds: FREE 302']


def test_num_of_backups_zero_alone_makes_a_key_uncovered(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', keys=array_keys(), day=1)
    keys = array_keys()
    keys['CEK'][0]['numOfBackups'] = 0
    result = run(tmp_path, keys=keys)
    assert [(u['key_type'], u['key_id'], u['reasons']) for u in result['uncovered_keys']] == [
        ('CEK', '100', ['numOfBackups is 0: never backed up'])]
    assert not result['covered']


def test_only_the_newest_verified_file_counts_not_an_older_one(tmp_path, fast_kdf):
    # the older file holds DEK 3; the newest does not: DEK 3 is uncovered although an older file has it
    write_key_file(tmp_path, 'old.ekf', keys=array_keys({'1': 'HDD00-00', '2': 'HDD00-01', '3': 'HDD00-02'}), day=1)
    write_key_file(tmp_path, 'new.ekf', keys=array_keys(), day=1, hour=3)
    result = run(tmp_path, keys=array_keys({'1': 'HDD00-00', '2': 'HDD00-01', '3': 'HDD00-02'}))
    assert result['newest_verified_file']['name'] == 'new.ekf'
    assert [(u['key_type'], u['key_id']) for u in result['uncovered_keys']] == [('DEK', '3')]


def test_a_dek_held_for_another_drive_is_uncovered(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', keys=array_keys({'1': 'HDD00-00', '2': 'HDD00-01'}), day=1)
    result = run(tmp_path, keys=array_keys({'1': 'HDD00-00', '2': 'HDD00-07'}))
    assert [u['reasons'] for u in result['uncovered_keys']] == [
        ['the newest verified file holds it for drive HDD00-01, the array for HDD00-07']]


def test_a_damaged_newest_file_makes_the_array_not_covered_though_an_older_file_holds_every_key(tmp_path, fast_kdf):
    """The last backup is damaged: the older file is judged for the keys, and the damaged newest file is a problem of
    its own (issue #24: the audit was green)."""
    write_key_file(tmp_path, 'old.ekf', keys=array_keys(), day=1)
    damage_file(write_key_file(tmp_path, 'new.ekf', keys=array_keys(), day=1, hour=12))
    result = run(tmp_path)
    assert result['newest_verified_file']['name'] == 'old.ekf' and result['uncovered_keys'] == []
    assert result['covered'] is False
    assert result['files']['verified'] == 1
    assert result['files']['unverified'] == [{'name': 'new.ekf', 'created_utc': '2026-11-01T12:00:00Z',
                                              'reason': 'does not match its manifest (sha256 or size)', 'damaged': True}]
    [damaged] = result['damaged_files']
    assert damaged['path'] == str(tmp_path / 'new.ekf') and damaged['newest'] is True and damaged['blocking'] is True
    assert damaged['only_holder_of'] == [] and damaged['size'] == damaged['manifest_size'] + 1
    assert result['problems'] == [audit.damaged_problem(damaged, False)]
    assert result['problems'][0].startswith('the key file %s is damaged: its bytes no longer match its manifest (' % damaged['path'])
    assert 'and it is the newest key file of this array. A restore from it would fail' in result['problems'][0]


def test_a_damaged_only_file_is_the_only_holder_of_every_key_and_named_once(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'only.ekf', keys=array_keys(), day=1, password=BACKUP_PASSWORD)
    damage_file(path)
    result = run(tmp_path, deriver=mf.Deriver(BACKUP_PASSWORD))
    [damaged] = result['damaged_files']
    assert damaged['newest'] is True and damaged['blocking'] is True
    assert damaged['only_holder_of'] == ['DEK 1', 'DEK 2', 'CEK 100', 'KEK 200', 'FREE 300', 'FREE 301']
    assert result['problems'] == [audit.damaged_problem(damaged, True), 'no key file of this array there is verified']
    assert ('its bytes no longer match its authenticated manifest' in result['problems'][0]
            and 'the only one that holds keys DEK 1, DEK 2, CEK 100, KEK 200, FREE 300, FREE 301' in result['problems'][0])
    assert sum(p.count('only.ekf') for p in result['problems']) == 1  # said once


def test_a_damaged_older_file_behind_a_newer_verified_one_is_listed_not_blocking(tmp_path, fast_kdf):
    damage_file(write_key_file(tmp_path, 'old.ekf', keys=array_keys(), day=1, hour=1))
    write_key_file(tmp_path, 'new.ekf', keys=array_keys(), day=1, hour=12)
    result = run(tmp_path)
    assert result['covered'] is True and result['problems'] == []
    assert [(d['name'], d['newest'], d['only_holder_of'], d['blocking']) for d in result['damaged_files']] == [
        ('old.ekf', False, [], False)]


def test_a_damaged_older_file_that_alone_holds_a_key_blocks(tmp_path, fast_kdf):
    """The newer verified file lacks DEK 2 (its drive's key came back from a restore of the older file, say)."""
    damage_file(write_key_file(tmp_path, 'old.ekf', keys=array_keys(), day=1, hour=1))
    write_key_file(tmp_path, 'new.ekf', keys=array_keys({'1': 'HDD00-00'}), day=1, hour=12)
    result = run(tmp_path)
    [damaged] = result['damaged_files']
    assert (damaged['newest'], damaged['only_holder_of'], damaged['blocking']) == (False, ['DEK 2'], True)
    assert result['covered'] is False and audit.damaged_problem(damaged, False) in result['problems']
    assert 'the only one that holds key DEK 2.' in audit.damaged_problem(damaged, False)


def test_a_mismatch_under_a_manifest_of_another_password_is_not_called_damaged(tmp_path, fast_kdf):
    """Only a manifest the password authenticates makes a mismatching file *damaged* (anyone could write the rest)."""
    damage_file(write_key_file(tmp_path, 'other.ekf', keys=array_keys(), day=1, hour=12, password='another-Password-1'))
    write_key_file(tmp_path, 'a.ekf', keys=array_keys(), day=1, password=BACKUP_PASSWORD)
    result = run(tmp_path, deriver=mf.Deriver(BACKUP_PASSWORD))
    assert result['damaged_files'] == [] and result['covered'] is True, result['problems']
    assert result['files']['unverified'][0]['damaged'] is False


def test_report_and_markdown_name_every_damaged_file_and_the_arrays_it_leaves_uncovered(tmp_path, fast_kdf):
    one, two = tmp_path / 'one', tmp_path / 'two'
    one.mkdir()
    two.mkdir()
    damage_file(write_key_file(one, 'only.ekf', keys=array_keys(), day=1))
    damage_file(write_key_file(two, 'older.ekf', keys=array_keys(), day=1, hour=1))
    write_key_file(two, 'newer.ekf', keys=array_keys(), day=1, hour=12)
    arrays = [dict(run(one), name='vsp01'), dict(run(two), name='vsp02')]
    doc = audit.report(arrays, 26, now=NOW)
    assert doc['ok'] is False and doc['arrays_not_covered'] == ['vsp01'] and doc['arrays_with_damaged_files'] == ['vsp01']
    assert doc['damaged_key_files'] == [{'array': 'vsp01', 'path': str(one / 'only.ekf'), 'blocking': True},
                                        {'array': 'vsp02', 'path': str(two / 'older.ekf'), 'blocking': False}]
    text = audit.markdown(doc)
    assert '## Damaged key files' in text
    assert ('* vsp01: %s (made 2026-11-01T02:00:00Z): **not covered**: the newest key file of the array and the only '
            'holder of DEK 1, DEK 2, CEK 100, KEK 200, FREE 300, FREE 301' % (one / 'only.ekf')) in text
    assert ('* vsp02: %s (made 2026-11-01T01:00:00Z): a newer verified file holds every key of the array it holds'
            % (two / 'older.ekf')) in text


def test_markdown_caps_the_damaged_files_it_lists(tmp_path, fast_kdf):
    for i in range(audit.DAMAGED_SHOWN + 3):
        damage_file(write_key_file(tmp_path, 'f%02d.ekf' % i, keys=array_keys(), day=1, hour=i % 24))
    text = audit.markdown(audit.report([run(tmp_path)], 26, now=NOW))
    assert text.count('.ekf (made') == audit.DAMAGED_SHOWN
    assert '* and 3 more (the JSON report lists them all)' in text


def test_no_verified_file_every_key_uncovered(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'v1.ekf', keys=array_keys(), day=1, version=1)
    result = run(tmp_path)
    assert result['covered'] is False and result['newest_verified_file'] is None and result['too_old'] is None
    assert len(result['uncovered_keys']) == 6
    assert all('no verified key file' in u['reasons'] for u in result['uncovered_keys'])
    assert result['problems'] == ['no key file of this array there is verified '
                                  '(v1.ekf has a format-1 manifest, which does not say which keys it holds)']


def test_empty_directory_and_missing_directory(tmp_path, fast_kdf):
    assert run(tmp_path)['problems'] == ['no key file of this array (by its manifest) in %s' % tmp_path]
    missing = str(tmp_path / 'nope')
    result = audit.audit_array('vsp01', storage=STORAGE, encryption_keys=array_keys(), files=[], max_age_hours=26,
                               now=NOW, directory=missing, directory_missing=True)
    assert result['problems'] == ['the backup directory %s does not exist' % missing] and not result['covered']


def test_lost_keys_are_not_covered_even_with_a_good_file(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', keys=array_keys(), day=1)
    # the lost DEK is absent from the list; the file still holds it - but the group has lost keys
    result = run(tmp_path, keys=array_keys({'1': 'HDD00-00'}), lost=['1-1'])
    assert result['covered'] is False and result['uncovered_keys'] == []
    assert result['lost_parity_groups'] == ['1-1']
    assert result['problems'] == ['parity group(s) 1-1 have lost keys: restore them '
                                  '(vsp.encryption.restore_encryption_keys) before anything else']


def test_password_verifier_with_the_password_given(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', keys=array_keys(), day=1, password=BACKUP_PASSWORD)
    assert run(tmp_path, deriver=mf.Deriver(BACKUP_PASSWORD))['covered'] is True
    assert run(tmp_path)['password_checked'] is False
    other = run(tmp_path, deriver=mf.Deriver('An0ther#Password'))
    assert other['covered'] is False and other['password_checked'] is True
    assert other['files']['unverified'][0]['reason'].startswith('was made with another backup password')
    # a file without a verifier is not known to open with the current password
    write_key_file(tmp_path, 'b.ekf', keys=array_keys(), day=1, hour=3)
    result = run(tmp_path, deriver=mf.Deriver(BACKUP_PASSWORD))
    assert result['newest_verified_file']['name'] == 'a.ekf'
    assert result['files']['unverified'][0]['name'] == 'b.ekf'


def test_edited_manifest_mac_fails_verification(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'a.ekf', keys=array_keys(), day=1, password=BACKUP_PASSWORD)
    with open(mf.manifest_path(path)) as handle:
        data = json.load(handle)
    data['keys']['FREE'].append('999')
    with open(mf.manifest_path(path), 'w') as handle:
        json.dump(data, handle)
    result = run(tmp_path, deriver=mf.Deriver(BACKUP_PASSWORD))
    assert result['covered'] is False
    assert 'its MAC does not match' in result['files']['unverified'][0]['reason']


def test_kms_is_unknown_unless_a_key_or_the_site_says(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', keys=array_keys(), day=1)
    assert run(tmp_path)['kms'] == 'unknown'
    assert run(tmp_path, kms=False)['kms'] == 'not configured'
    assert run(tmp_path, kms=True)['kms'] == 'configured'
    keys = array_keys()
    keys['DEK'][0]['keyGeneratedLocation'] = 'KMS'
    result = run(tmp_path, keys=keys, kms=False)
    assert result['kms'] == 'in use' and 'keyGeneratedLocation KMS' in result['kms_evidence']


def test_max_age_must_be_positive(tmp_path):
    with pytest.raises(VspApiError, match='max_age_hours must be more than 0'):
        audit.audit_array('x', storage=STORAGE, encryption_keys=array_keys(), files=[], max_age_hours=0, now=NOW)


def test_report_and_markdown(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', keys=array_keys(), day=1)
    good = run(tmp_path)
    bad = audit.audit_error('vsp02', 'Read the keys: POST /v1/objects/sessions failed: connection refused', 26)
    doc = audit.report([bad, good], max_age_hours=26, now=NOW)
    assert doc['kind'] == 'vsp.encryption.audit_key_backups' and doc['format_version'] == 1
    assert doc['ok'] is False and doc['arrays_total'] == 2 and doc['arrays_covered'] == 1
    assert doc['arrays_not_covered'] == ['vsp02'] and [a['name'] for a in doc['arrays']] == ['vsp01', 'vsp02']
    assert doc['generated_utc'] == '2026-11-02T02:00:00Z'
    json.dumps(doc)  # JSON as it is
    text = audit.markdown(doc)
    assert '1 of 2 arrays covered; not covered: vsp02.' in text
    assert '| vsp01 | %s | yes | a.ekf | 24.0 | 0 | - | unknown |' % SID in text
    assert '| vsp02 | - | **no** | - | - | 0 | - | unknown |' in text
    assert '* vsp02: the array could not be audited: Read the keys: POST /v1/objects/sessions failed: connection refused' in text
    assert audit.report([good], now=NOW)['ok'] is True
    with pytest.raises(VspApiError, match='no array'):
        audit.report([])


def test_markdown_cells_cannot_break_the_table():
    doc = audit.report([audit.audit_error('a|b', 'x\n| injected | row |')], now=NOW)
    lines = audit.markdown(doc).splitlines()
    rows = [line for line in lines if line.startswith('| a\\|b |')]
    assert len(rows) == 1 and rows[0].count(' | ') == 7
    assert not [line for line in lines if line.startswith('| injected')]


def test_no_secret_or_verifier_in_the_result(tmp_path, fast_kdf):
    write_key_file(tmp_path, 'a.ekf', keys=array_keys(), day=1, password=BACKUP_PASSWORD)
    result = run(tmp_path, deriver=mf.Deriver(BACKUP_PASSWORD))
    text = json.dumps(result)
    data = json.load(open(mf.manifest_path(str(tmp_path / 'a.ekf'))))
    assert BACKUP_PASSWORD not in text
    assert data['password_verifier']['hash'] not in text and data['mac']['value'] not in text


def test_parse_time():
    assert audit.parse_time('2026-11-01T02:00:00Z') == datetime.datetime(2026, 11, 1, 2, tzinfo=datetime.timezone.utc)
    assert audit.parse_time('yesterday') is None and audit.parse_time(None) is None
