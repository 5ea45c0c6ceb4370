# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants of runbook_text.py that survived `make mutation` (docs/mutation.md).

These are the lines the operator reads at the end of a run (and pastes into a ticket): checked word
for word, with the defaults they fall back to."""

import pytest
from ansible_collections.vsp.encryption.plugins.plugin_utils import _runbook_text as rt
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError

INFO = {'storage': {'storage_device_id': '900000061726', 'model': 'VSP 5600'}, 'key_counts': {'DEK': 4},
        'lost_parity_groups': ['1-1'], 'lost_drives': ['HDD01-01']}


def test_backup_refusal_word_for_word():
    assert rt.backup_refusal(INFO, {'holders': ['/b/a.ekf', '/b/old.ekf']}, 'CMD') == (
        'Keys of parity group(s) [1-1] of array 900000061726 are lost (drives without a DEK: [HDD01-01]). No backup was '
        'written and none was deleted: a backup now would lack those keys, and retention could delete the only file that '
        'holds them. The newest key file that holds them: /b/a.ekf. Restore the keys: CMD. To write a file anyway '
        '(retention then deletes nothing), set encryption_key_backup_allow_lost_keys=true.')
    assert ('holds them. No key file in the backup directory holds them all (by the manifests). A good copy may be on the '
            'backup hosts (restore with encryption_key_restore_from_host=<host>) or on the KMS '
            '(encryption_key_restore_source=kms). Restore the keys from that good copy: a restore from the backup directory '
            'would find no file to use. To write') in rt.backup_refusal(INFO, {}, 'CMD')


def test_backup_summary_reason_defaults_to_requested():
    backup = {'changed': True, 'path': '/b/k.ekf', 'size': 3, 'sha256': 'ab'}
    assert rt.backup_summary(INFO, backup=backup, check_mode=True)[1] == 'File: would write /b/k.ekf (requested).'
    assert rt.backup_summary(INFO, backup=backup, files={'backup_reason': 'keys changed'}, check_mode=True)[1] == (
        'File: would write /b/k.ekf (keys changed).')
    assert rt.backup_summary(INFO, backup=backup)[1] == 'File: wrote and verified /b/k.ekf (3 bytes, sha256 ab) because requested.'


def test_backup_summary_override_copies_and_retention_word_for_word():
    lines = rt.backup_summary(INFO, lost_keys_override=True, copies={'h2': 'ab', 'h1': 'ab'},
                              retention={'delete': [], 'kept': [{'path': '/x', 'reason': 'one of the 3 newest'},
                                                                {'path': '/y'}, {'path': '/z', 'reason': 'odd'}]})
    assert lines[2] == ('Warning: keys of parity groups [1-1] are lost and encryption_key_backup_allow_lost_keys is set: the '
                        'new file lacks them, and retention deleted nothing.')
    assert lines[3] == 'Copies: verified (sha256 ab) on [h1, h2].'
    assert lines[4:] == ['Retention: nothing to delete.', 'Retention kept /y: None.', 'Retention kept /z: odd.']
    lines = rt.backup_summary(INFO, copies={'h1': 'ab', 'h2': 'cd'})
    assert lines[-1] == 'Copies: verified (sha256 ab, cd) on [h1, h2].'


def test_counts():
    assert rt.counts({}) == 'none'
    assert rt.counts({'DEK': 2, 'KEK': 1}) == 'DEK 2, KEK 1'


def test_failure_text_word_for_word():
    assert rt.failure_text('restore', 'Block', {'msg': 'busy'}, volumes=[{'ldev_id': 1, 'status': 'BLK'}], resume='CMD') == (
        'The restore stopped at "Block": busy. Pool volumes now: BLK: LDEV 1. Fix the cause, then run again: a rerun converges '
        '(blocked volumes stay blocked, the restore runs only while keys are lost, every pool volume is recovered at the '
        'end). Resume with: CMD')


def test_restore_summary_check_mode_word_for_word():
    assert rt.restore_summary({'lines': ['a', 'b', 'c', 'd']}, check_mode=True) == [
        'Check mode, nothing was changed. The plan: c d',
        'To do it, run without --check and with -e encryption_key_restore_confirm=true.']
    assert rt.restore_summary({}, check_mode=True)[0] == 'Check mode, nothing was changed. The plan: '


def test_restore_summary_keys_restored_defaults_to_zero():
    plan = {'restore_needed': True, 'source': 'kms'}
    assert rt.restore_summary(plan) == [
        'Blocked 0 pool volume(s), restored 0 key(s) from the key management server, recovered 0 pool volume(s).']


def test_resume_hint_sorts_the_variables():
    hint = rt.resume_hint('site.yml', {'b': 1, 'a': 2}, 'vsp1')
    assert hint == ("ansible-playbook -i <inventory> site.yml --limit vsp1 -e a=2 -e b=1  (add the vault options "
                    "this run used, for example --ask-vault-pass or --vault-password-file <file>)")


def test_text_list_names_value_by_default():
    with pytest.raises(VspApiError) as info:
        rt.text_list(1.5)
    assert info.value.msg == 'value must be a list or comma-separated text, not 1.5'
