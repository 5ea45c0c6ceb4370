# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""runbook_text: the texts of the runbooks (lists, resume hints, failure texts, summaries, refusals) and the batch builders
progress_batches, merge_batches (issue 16), verify_problems with pools (issue 13), backup_summary with copies; the
builders also as the filter the roles call, in the roles' own expressions (retention_deletions, which decides on the
control node with the password, is tested with remote_files: test_remote_files.py). Texts are checked word for word
where the operator reads them."""

import json
import shlex

import pytest

from ansible_collections.vsp.encryption.plugins.filter.runbook import BUILDERS
from ansible_collections.vsp.encryption.plugins.plugin_utils import _runbook_text as rt
from ansible_collections.vsp.encryption.plugins.module_utils import _validate as validate
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError

RESUME_VARS = {'encryption_key_restore_path': "/Backups/VSP 01/it's.ekf", 'encryption_key_restore_confirm': True,
               'encryption_key_restore_parity_groups': ['1-1', '1-2']}


def shell_part(hint):
    """The command of a shell resume hint (before the two-space note)."""
    return hint.split('  (add the vault options', 1)[0]


# -- text_list ----------------------------------------------------------------------------------------
@pytest.mark.parametrize('value, expected', [
    ('1-1, 1-2', ['1-1', '1-2']),
    ('1-1,1-2', ['1-1', '1-2']),
    (' 1-1 , 1-2 ', ['1-1', '1-2']),
    (['1-1', '1-2'], ['1-1', '1-2']),
    (['1-1, 1-2', '2-1'], ['1-1', '1-2', '2-1']),
    ('1-1, 1-1, 1-2', ['1-1', '1-2']),
    (['1-2', '1-1', '1-2'], ['1-2', '1-1']),
    ('', []),
    ('  ', []),
    ([], []),
    (None, []),
    (7, ['7']),
    ([7, 8], ['7', '8']),
])
def test_text_list(value, expected):
    assert rt.text_list(value) == expected
    assert validate.text_list(value, 'x') == expected


@pytest.mark.parametrize('value', [{'a': 1}, [['1-1']], [{'a': 1}], 1.5])
def test_text_list_refuses_other_shapes_naming_the_parameter(value):
    with pytest.raises(VspApiError) as info:
        rt.text_list(value, 'encryption_key_restore_parity_groups')
    assert info.value.msg.startswith('encryption_key_restore_parity_groups')


def test_parity_group_ids_from_survey_text():
    assert validate.parity_group_ids('1-1, 1-2') == ['1-1', '1-2']
    with pytest.raises(VspApiError) as info:
        validate.parity_group_ids('1-1, 1_2, x')
    assert info.value.msg == "parity_groups: '1_2', 'x' are not a parity group id; the rule: <number>-<number>, for example 1-1"


def test_text_list_names_value_by_default():
    with pytest.raises(VspApiError) as info:
        rt.text_list(1.5)
    assert info.value.msg == 'value must be a list or comma-separated text, not 1.5'


# -- resume_hint --------------------------------------------------------------------------------------
def test_resume_hint_shell_line_round_trips_through_the_shell():
    hint = rt.resume_hint('vsp.encryption.restore_encryption_keys', RESUME_VARS, 'vsp01', ['inv/hosts.yml', 'inv/My Site.yml'])
    argv = shlex.split(shell_part(hint))
    assert argv[0] == 'ansible-playbook'
    assert argv[1:5] == ['-i', 'inv/hosts.yml', '-i', 'inv/My Site.yml']
    assert argv[5] == 'vsp.encryption.restore_encryption_keys'
    assert argv[6:8] == ['--limit', 'vsp01']
    assert argv[8:10] == ['-e', 'encryption_key_restore_confirm=true']
    assert argv[10:12] == ['-e', 'encryption_key_restore_parity_groups=1-1,1-2']
    assert argv[12] == '-e' and json.loads(argv[13]) == {'encryption_key_restore_path': "/Backups/VSP 01/it's.ekf"}


def test_resume_hint_has_no_double_quote_so_the_default_callback_prints_it_pasteable():
    """The default callback prints a message as JSON: a double quote would come out as \\" and not paste."""
    hint = rt.resume_hint('vsp.encryption.restore_encryption_keys', dict(RESUME_VARS, encryption_key_restore_path='/Backups/VSP 01/k.ekf'),
                          'vsp01', ['inv/My Site.yml'], check_mode=True)
    assert '"' not in hint and '\\' not in hint
    assert json.loads(json.dumps(hint)) == hint and json.dumps(hint)[1:-1] == hint


def extra_vars_as_ansible_reads_them(hint):
    """The ``-e`` arguments of a resume line, split by a shell and read by ansible-playbook's own code."""
    from ansible import context
    from ansible.module_utils.common.collections import ImmutableDict
    from ansible.parsing.dataloader import DataLoader
    from ansible.utils.vars import load_extra_vars
    argv = shlex.split(shell_part(hint))
    saved = context.CLIARGS
    context.CLIARGS = ImmutableDict(extra_vars=[argv[i + 1] for i, arg in enumerate(argv) if arg == '-e'])
    load_extra_vars.extra_vars = None  # it keeps the first answer of a process
    try:
        return dict(load_extra_vars(DataLoader()))
    finally:
        context.CLIARGS = saved
        load_extra_vars.extra_vars = None


@pytest.mark.parametrize('path', ['/Backups/VSP01/k.ekf', '/Backups/Key Backups/k.ekf', '/Backups/VSP 01: site A/k.ekf',
                                  "/Backups/it's/k.ekf", '/Backups/a,b/k.ekf', '/Backups/trailing /k.ekf', '/Backups/x=y/k.ekf'])
def test_resume_hint_values_reach_ansible_playbook_as_given(path):
    """``-e key=value`` splits at blanks even inside one shell word: a path with a blank must still arrive whole."""
    resume_vars = {'encryption_key_restore_path': path, 'encryption_key_restore_confirm': True,
                   'encryption_key_restore_parity_groups': ['1-1', '1-2']}
    seen = extra_vars_as_ansible_reads_them(rt.resume_hint('pb.yml', resume_vars, 'vsp01', ['hosts']))
    assert seen['encryption_key_restore_path'] == path
    assert str(seen['encryption_key_restore_confirm']).lower() == 'true'
    assert seen['encryption_key_restore_parity_groups'] == '1-1,1-2'


def test_resume_hint_leaves_out_empty_values():
    hint = rt.resume_hint('pb.yml', {'encryption_key_restore_parity_groups': [], 'encryption_key_restore_from_host': '',
                                     'encryption_key_restore_verify_manifest': False}, 'vsp01', ['hosts'])
    assert shlex.split(shell_part(hint))[-2:] == ['-e', 'encryption_key_restore_verify_manifest=false']


def test_resume_hint_mentions_the_vault_options():
    hint = rt.resume_hint('pb.yml', {}, 'vsp01')
    assert '--ask-vault-pass' in hint and '--vault-password-file' in hint
    assert 'add the vault options this run used' in hint
    assert '-i <inventory>' in hint


def test_resume_hint_quotes_a_hostile_host():
    hint = rt.resume_hint('pb.yml', {}, 'vsp01; rm -rf /')
    argv = shlex.split(shell_part(hint))
    assert argv[argv.index('--limit') + 1] == 'vsp01; rm -rf /'


def test_resume_hint_quotes_a_playbook_path_with_a_space():
    """The playbook is a role variable (encryption_key_restore_playbook): a path like any other."""
    hint = rt.resume_hint('/srv/DR Playbooks/restore.yml', {}, 'vsp01', ['hosts'])
    argv = shlex.split(shell_part(hint))
    assert '/srv/DR Playbooks/restore.yml' in argv


def test_resume_hint_awx_form():
    hint = rt.resume_hint('pb.yml', RESUME_VARS, 'vsp01', ['/runner/inventory/hosts'], awx_template='DR: restore keys')
    assert hint.startswith('Relaunch the job template "DR: restore keys" (limit vsp01) with these extra variables: ')
    assert json.loads(hint.split('extra variables: ', 1)[1]) == RESUME_VARS
    assert 'ansible-playbook' not in hint and 'vault' not in hint


def test_resume_hint_of_a_rehearsal_is_a_rehearsal():
    hint = rt.resume_hint('vsp.encryption.restore_encryption_keys', {'encryption_key_restore_source': 'file'}, 'vsp01',
                          ['hosts'], check_mode=True)
    argv = shlex.split(shell_part(hint))
    assert argv[4:] == ['--limit', 'vsp01', '--check', '-e', 'encryption_key_restore_source=file']
    awx = rt.resume_hint('pb.yml', {}, 'vsp01', [], awx_template='DR', check_mode=True)
    assert awx.startswith('Relaunch the job template "DR" (limit vsp01, job type check) with these extra variables: ')


def test_resume_hint_empty_awx_template_gives_the_shell_form():
    assert rt.resume_hint('pb.yml', {}, 'vsp01', [], '').startswith('ansible-playbook ')


def test_resume_hint_sorts_the_variables():
    hint = rt.resume_hint('site.yml', {'b': 1, 'a': 2}, 'vsp1')
    assert hint == ("ansible-playbook -i <inventory> site.yml --limit vsp1 -e a=2 -e b=1  (add the vault options "
                    "this run used, for example --ask-vault-pass or --vault-password-file <file>)")


# -- failure_text -------------------------------------------------------------------------------------
def test_failure_text_says_the_cause_once_with_volumes_and_resume():
    text = rt.failure_text('key restore of vsp01', 'Block the pool volumes', {'msg': 'KART40060-E wrong password'},
                           [{'ldev_id': 1, 'status': 'BLK'}, {'ldev_id': 2, 'status': 'NML'}], 'ansible-playbook x')
    assert text.startswith('The key restore of vsp01 stopped at "Block the pool volumes": KART40060-E wrong password.')
    assert text.count('KART40060-E') == 1
    assert 'Pool volumes now: BLK: LDEV 1; NML: LDEV 2.' in text
    assert text.endswith('Resume with: ansible-playbook x')


def test_failure_text_groups_the_volumes_by_state_as_ranges():
    volumes = [{'ldev_id': i, 'status': 'BLK'} for i in range(4)] + [{'ldev_id': 9, 'status': 'NML'}]
    text = rt.failure_text('key restore of vsp01', 'Block the pool volumes', {'msg': 'busy'}, volumes, 'CMD')
    assert 'Pool volumes now: BLK: LDEV 0-3; NML: LDEV 9.' in text


def test_failure_text_names_the_input_to_fix_and_its_resume_line_leaves_it_out():
    result = {'msg': 'parity_groups: unknown parity group(s) 9-9; nothing was changed'}
    resume_vars = {'encryption_key_restore_parity_groups': ['1-1', '9-9'], 'encryption_key_restore_source': 'file'}
    fix = rt.failed_input(result, resume_vars, 'encryption_key_restore_')
    assert fix == 'encryption_key_restore_parity_groups'
    hint = rt.resume_hint('pb.yml', dict((k, v) for k, v in resume_vars.items() if k != fix), 'vsp01', ['hosts'])
    assert '9-9' not in hint
    text = rt.failure_text('key restore of vsp01', 'Plan', result, [], hint, fix=fix)
    assert ('Fix encryption_key_restore_parity_groups, then run again: the resume command leaves it out; add it with a '
            'value that works, or leave it out for its default. A rerun converges. Resume with: ansible-playbook ') in text


@pytest.mark.parametrize('msg', ['backup_password does not match', 'HTTP 500 from the array', '', None])
def test_failed_input_is_empty_when_the_cause_names_no_input_of_the_resume_line(msg):
    assert rt.failed_input({'msg': msg}, {'encryption_key_restore_path': '/k.ekf'}, 'encryption_key_restore_') == ''
    assert rt.failed_input(None, {}, 'encryption_key_restore_') == ''


def test_failure_text_variants():
    assert 'Pool volumes now: unknown (they could not be read).' in rt.failure_text('w', 't', {'msg': 'm'}, None)
    assert 'Pool volumes now: none.' in rt.failure_text('w', 't', {'msg': 'm'}, [])
    text = rt.failure_text('w', None, None, False)
    assert text == 'The w stopped at "?": no message.'
    assert rt.failure_text('w', 't', {'msg': 'nothing was changed'}, False) == 'The w stopped at "t": nothing was changed.'
    assert rt.failure_text('w', 't', {'msg': 'Done!'}, False) == 'The w stopped at "t": Done!'


def test_failure_text_keeps_path_case():
    text = rt.failure_text('w', 't', {'msg': 'path: /Backups/VSP01/Keys.EKF has no manifest'}, False)
    assert '/Backups/VSP01/Keys.EKF' in text


def test_failure_text_word_for_word():
    assert rt.failure_text('restore', 'Block', {'msg': 'busy'}, volumes=[{'ldev_id': 1, 'status': 'BLK'}], resume='CMD') == (
        'The restore stopped at "Block": busy. Pool volumes now: BLK: LDEV 1. Fix the cause, then run again: a rerun converges '
        '(blocked volumes stay blocked, the restore runs only while keys are lost, every pool volume is recovered at the '
        'end). Resume with: CMD')


# -- restore_summary ----------------------------------------------------------------------------------
PLAN = {'lines': ['Array X: ...', 'Evidence: ...', 'Parity groups to act on: [1-1].', 'Block 2 ...'],
        'restore_needed': True, 'source': 'file', 'path': '/Backups/VSP01/K.ekf', 'parity_groups': ['1-1', '1-2']}


def test_restore_summary_check_mode():
    lines = rt.restore_summary(PLAN, check_mode=True)
    assert lines[0] == 'Check mode, nothing was changed. The plan: Parity groups to act on: [1-1]. Block 2 ...'
    assert 'encryption_key_restore_confirm=true' in lines[1]
    assert len(lines) == 2


def test_restore_summary_after_a_restore():
    lines = rt.restore_summary(PLAN, block={'changed_ldev_ids': [1, 2]}, restore={'keys_restored': 4},
                               recover={'changed_ldev_ids': [1, 2, 3]},
                               after={'volumes': [{}, {}, {}], 'key_counts': {'DEK': 8, 'CEK': 1}})
    assert lines[0] == ('Blocked 2 pool volume(s) (LDEV 1-2), restored 4 key(s) from the key file /Backups/VSP01/K.ekf, '
                        'recovered 3 pool volume(s) (LDEV 1-3).')
    assert lines[1] == ('Verified on the array: no encrypted parity group has lost keys; all 3 pool volume(s) of parity '
                        'groups [1-1, 1-2] are normal (NML). Keys now: DEK 8, CEK 1.')


def test_restore_summary_kms_and_nothing_lost():
    kms = rt.restore_summary(dict(PLAN, source='kms'), restore={'keys_restored': 1})
    assert 'from the key management server' in kms[0] and len(kms) == 1
    nothing = rt.restore_summary(dict(PLAN, restore_needed=False), recover={'changed_ldev_ids': [7]})
    assert nothing == ['No key was lost: nothing restored, nothing blocked; recovered 1 pool volume(s) (LDEV 7).']
    assert rt.restore_summary(dict(PLAN, restore_needed=False)) == ['No key was lost: nothing restored, blocked or recovered.']


def test_restore_summary_check_mode_word_for_word():
    assert rt.restore_summary({'lines': ['a', 'b', 'c', 'd']}, check_mode=True) == [
        'Check mode, nothing was changed. The plan: c d',
        'To do it, run without --check and with -e encryption_key_restore_confirm=true.']
    assert rt.restore_summary({}, check_mode=True)[0] == 'Check mode, nothing was changed. The plan: '


def test_restore_summary_keys_restored_defaults_to_zero():
    plan = {'restore_needed': True, 'source': 'kms'}
    assert rt.restore_summary(plan) == [
        'Blocked 0 pool volume(s), restored 0 key(s) from the key management server, recovered 0 pool volume(s).']


# -- verify_problems ----------------------------------------------------------------------------------
def test_verify_problems():
    assert rt.verify_problems([], [{'ldev_id': 1, 'status': 'NML'}]) == ''
    assert rt.verify_problems(None, None) == ''
    assert rt.verify_problems(['1-1', '1-2'], [{'ldev_id': 1, 'status': 'NML'}, {'ldev_id': 2, 'status': 'BLK'}]) == (
        'Verification failed: parity groups with lost keys: [1-1, 1-2]; pool volumes not normal: BLK: LDEV 2.')
    assert rt.verify_problems([], [{'ldev_id': 2, 'status': 'BLK'}]) == 'Verification failed: pool volumes not normal: BLK: LDEV 2.'


# -- backup_refusal / backup_summary ------------------------------------------------------------------
INFO = {'storage': {'storage_device_id': '900000061726', 'model': 'VSP 5600'}, 'lost_parity_groups': ['1-1', '1-2'],
        'lost_drives': ['HDD01-01', 'HDD01-10'], 'key_counts': {'DEK': 6, 'CEK': 1}}


def test_backup_refusal_names_groups_holder_and_restore_command():
    text = rt.backup_refusal(INFO, {'holders': ['/Backups/VSP01/Good.ekf', '/Backups/VSP01/Older.ekf']},
                             'ansible-playbook restore.yml -e x')
    assert 'Keys of parity group(s) [1-1, 1-2] of array 900000061726 are lost (drives without a DEK: [HDD01-01, HDD01-10]).' in text
    assert 'No backup was written and none was deleted' in text
    assert 'The newest key file that holds them: /Backups/VSP01/Good.ekf.' in text
    assert 'Older.ekf' not in text
    assert 'Restore the keys: ansible-playbook restore.yml -e x.' in text
    assert 'encryption_key_backup_allow_lost_keys=true' in text


def test_backup_refusal_without_holder_says_where_a_good_copy_may_be():
    text = rt.backup_refusal(INFO, {}, 'cmd')
    assert 'No key file in the backup directory holds them all (by the manifests). A good copy may be on the backup hosts ' \
           '(restore with encryption_key_restore_from_host=<host>) or on the KMS (encryption_key_restore_source=kms).' in text
    assert 'cmd' not in text  # a restore from the directory cannot work: not suggested


def test_backup_refusal_with_only_a_damaged_file_names_it_and_the_good_copies_not_a_restore_from_it():
    damaged = {'path': '/Backups/VSP01/Only.ekf', 'counts': False, 'damaged': True, 'created_utc': '2026-12-01T02:00:04Z',
               'trust': 'does not match its manifest (sha256 or size): damaged, or not the file that was backed up',
               'manifest': {'dek_locations': {'1': 'HDD01-01', '2': 'HDD01-10'}}}
    text = rt.backup_refusal(INFO, {'holders': [], 'files': [damaged]},
                             "ansible-playbook restore.yml -e '{\"encryption_key_restore_path\": \"/Backups/VSP01\"}'",
                             copy_hosts=['backup01', 'backup02'])
    assert ('The only key file(s) in the backup directory that claim to hold them are DAMAGED - their bytes no longer match '
            'their authenticated manifest, so a restore from them would fail: /Backups/VSP01/Only.ekf (made '
            '2026-12-01T02:00:04Z). A good copy may be on the backup hosts [backup01, backup02] (restore with '
            'encryption_key_restore_from_host=<host>) or on the KMS (encryption_key_restore_source=kms).') in text
    assert 'ansible-playbook' not in text and 'encryption_key_restore_path' not in text
    assert 'Restore the keys from that good copy: a restore from the backup directory would find no file to use.' in text


def test_backup_refusal_caps_the_damaged_files_and_counts_the_other_claimants():
    lost = {'dek_locations': {'1': 'HDD01-01', '2': 'HDD01-10'}}
    files = [{'path': '/b/d%d.ekf' % i, 'counts': False, 'damaged': True, 'manifest': lost} for i in range(5)]
    files.append({'path': '/b/other-password.ekf', 'counts': False, 'damaged': False, 'trust': 'x', 'manifest': lost})
    text = rt.backup_refusal(INFO, {'files': files}, 'cmd')
    assert '/b/d0.ekf (made ?); /b/d1.ekf (made ?); /b/d2.ekf (made ?) (and 2 more).' in text
    assert '/b/d3.ekf' not in text and 'other-password' not in text
    assert ' 1 other file(s) claiming them do not count either' in text


def test_backup_refusal_with_only_a_damaged_holder_says_so():
    damaged = {'path': '/Backups/VSP01/Only.ekf', 'counts': False, 'trust': 'does not match its manifest (sha256 or size)',
               'manifest': {'dek_locations': {'1': 'HDD01-01', '2': 'HDD01-10'}}}
    elsewhere = {'path': '/Backups/VSP01/Part.ekf', 'counts': False, 'trust': 'x', 'manifest': {'dek_locations': {'1': 'HDD01-01'}}}
    text = rt.backup_refusal(INFO, {'holders': [], 'files': [damaged, elsewhere]}, 'cmd')
    assert ('Only key files that do not count claim to hold them: /Backups/VSP01/Only.ekf does not match its manifest '
            '(sha256 or size). A good copy may be on the backup hosts') in text
    assert 'Part.ekf' not in text and 'No key file in the backup directory' not in text


def test_backup_summary_written():
    lines = rt.backup_summary(INFO, files={'backup_reason': 'the keys changed since the newest file a.ekf', 'backup_needed': True},
                              backup={'changed': True, 'path': '/Backups/VSP01/N.ekf', 'size': 10, 'sha256': 'ab'},
                              kms={'changed': True},
                              retention={'delete': ['/Backups/VSP01/Old.ekf'],
                                         'kept': [{'path': '/Backups/VSP01/N.ekf', 'reason': 'one of the 1 newest'},
                                                  {'path': '/Backups/VSP01/Good.ekf', 'reason': 'the newest file that holds X'}]})
    assert lines[0] == 'Array VSP 5600 900000061726: keys DEK 6, CEK 1.'
    assert lines[1] == ('File: wrote and verified /Backups/VSP01/N.ekf (10 bytes, sha256 ab) because the keys changed since the '
                        'newest file a.ekf.')
    assert lines[2] == 'KMS: backed up the keys to the key management server.'
    assert lines[3] == 'Retention: deleted [/Backups/VSP01/Old.ekf].'
    assert lines[4] == 'Retention kept /Backups/VSP01/Good.ekf: the newest file that holds X.'
    assert len(lines) == 5


def test_backup_summary_not_needed_check_mode_and_override():
    lines = rt.backup_summary(INFO, files={'backup_needed': False, 'backup_reason': 'the keys are unchanged'},
                              kms={'changed': False}, retention={'delete': [], 'kept': []}, lost_keys_override=True)
    assert lines[1] == 'File: no new backup: the keys are unchanged.'
    assert lines[2].startswith('Warning: keys of parity groups [1-1, 1-2] are lost and encryption_key_backup_allow_lost_keys is set')
    assert lines[3] == 'KMS: not requested.'
    assert lines[4] == 'Retention: nothing to delete.'
    check = rt.backup_summary(INFO, files={'backup_reason': 'requested'}, backup={'changed': True, 'path': '/B/N.ekf'},
                              kms={'changed': True}, check_mode=True)
    assert check[0].startswith('Check mode, nothing is written. Array')
    assert check[1] == 'File: would write /B/N.ekf (requested).'
    assert check[2] == 'KMS: would back up the keys to the key management server.'
    assert rt.backup_summary(INFO)[1] == 'File: not requested.'


def test_backup_summary_names_the_damaged_files_above_the_recap():
    """Ansible prints a task's warnings after the play recap: the summary says it where the operator reads."""
    damaged = [{'path': '/b/936000412345_2026120%dT020000Z.ekf' % i} for i in range(1, 6)]
    lines = rt.backup_summary(INFO, files={'backup_needed': True, 'backup_reason': 'r'},
                              backup={'changed': True, 'path': '/b/new.ekf', 'size': 1, 'sha256': 'ab', 'damaged_files': damaged})
    assert ('Damaged: 5 key file(s) of this array no longer match their manifest (/b/936000412345_20261201T020000Z.ekf, '
            '/b/936000412345_20261202T020000Z.ekf, /b/936000412345_20261203T020000Z.ekf and 2 more): neither used nor '
            'deleted; replace them from a good copy or delete them (the warning says more).') in lines
    assert not any(line.startswith('Damaged') for line in rt.backup_summary(INFO, backup={'damaged_files': []}))


def test_backup_refusal_caps_the_lost_drives():
    info = dict(INFO, lost_drives=['HDD%02d-%02d' % (i // 8, i % 8) for i in range(40)])
    text = rt.backup_refusal(info, {'holders': ['/b/k.ekf']}, 'CMD')
    assert '(drives without a DEK: [HDD00-00, HDD00-01, HDD00-02, HDD00-03, HDD00-04, HDD00-05, HDD00-06, HDD00-07 and 32 more])' in text


def test_backup_refusal_of_a_kms_only_site_gives_the_restore_from_the_kms():
    text = rt.backup_refusal(INFO, {}, 'FROM-DIR', kms_command='FROM-KMS')
    assert 'Restore the keys from the key management server, where this site backs them up: FROM-KMS.' in text
    assert 'FROM-DIR' not in text and 'backup directory' not in text, text


def test_backup_refusal_prefers_a_holder_in_the_directory_to_the_kms():
    text = rt.backup_refusal(INFO, {'holders': ['/b/k.ekf'], 'files': []}, 'FROM-DIR', kms_command='FROM-KMS')
    assert 'Restore the keys: FROM-DIR.' in text and 'FROM-KMS' not in text


ONE_GROUP_LOST = {'storage': {'storage_device_id': '900000061726', 'model': 'VSP 5600'}, 'key_counts': {'DEK': 4},
                  'lost_parity_groups': ['1-1'], 'lost_drives': ['HDD01-01']}


def test_backup_refusal_word_for_word():
    assert rt.backup_refusal(ONE_GROUP_LOST, {'holders': ['/b/a.ekf', '/b/old.ekf']}, 'CMD') == (
        'Keys of parity group(s) [1-1] of array 900000061726 are lost (drives without a DEK: [HDD01-01]). No backup was '
        'written and none was deleted: a backup now would lack those keys, and retention could delete the only file that '
        'holds them. The newest key file that holds them: /b/a.ekf. Restore the keys: CMD. To write a file anyway '
        '(retention then deletes nothing), set encryption_key_backup_allow_lost_keys=true.')
    assert ('holds them. No key file in the backup directory holds them all (by the manifests). A good copy may be on the '
            'backup hosts (restore with encryption_key_restore_from_host=<host>) or on the KMS '
            '(encryption_key_restore_source=kms). Restore the keys from that good copy: a restore from the backup directory '
            'would find no file to use. To write') in rt.backup_refusal(ONE_GROUP_LOST, {}, 'CMD')


def test_backup_summary_reason_defaults_to_requested():
    backup = {'changed': True, 'path': '/b/k.ekf', 'size': 3, 'sha256': 'ab'}
    assert rt.backup_summary(ONE_GROUP_LOST, backup=backup, check_mode=True)[1] == 'File: would write /b/k.ekf (requested).'
    assert rt.backup_summary(ONE_GROUP_LOST, backup=backup, files={'backup_reason': 'keys changed'}, check_mode=True)[1] == (
        'File: would write /b/k.ekf (keys changed).')
    assert rt.backup_summary(ONE_GROUP_LOST, backup=backup)[1] == 'File: wrote and verified /b/k.ekf (3 bytes, sha256 ab) because requested.'


def test_backup_summary_override_copies_and_retention_word_for_word():
    lines = rt.backup_summary(ONE_GROUP_LOST, lost_keys_override=True, copies={'h2': 'ab', 'h1': 'ab'},
                              retention={'delete': [], 'kept': [{'path': '/x', 'reason': 'one of the 3 newest'},
                                                                {'path': '/y'}, {'path': '/z', 'reason': 'odd'}]})
    assert lines[2] == ('Warning: keys of parity groups [1-1] are lost and encryption_key_backup_allow_lost_keys is set: the '
                        'new file lacks them, and retention deleted nothing.')
    assert lines[3] == 'Copies: verified (sha256 ab) on [h1, h2].'
    assert lines[4:] == ['Retention: nothing to delete.', 'Retention kept /y: None.', 'Retention kept /z: odd.']
    lines = rt.backup_summary(ONE_GROUP_LOST, copies={'h1': 'ab', 'h2': 'cd'})
    assert lines[-1] == 'Copies: verified (sha256 ab, cd) on [h1, h2].'


def test_counts_joins_the_types_or_says_none():
    assert rt.counts({}) == 'none'
    assert rt.counts({'DEK': 2, 'KEK': 1}) == 'DEK 2, KEK 1'


# -- the batch builders of the runbook filter ---------------------------------------------------------
def test_the_batch_builders_are_the_plugin_utils_functions():
    for name in ('progress_batches', 'merge_batches', 'verify_problems', 'backup_summary'):
        assert BUILDERS[name] is getattr(rt, name)


# -- progress_batches ---------------------------------------------------------------------------------
def test_progress_batches_splits_sorted_ids_and_says_how_far():
    assert rt.progress_batches([4, 0, 3, 1, 2], size=2, verb='blocked') == [
        {'ldev_ids': [0, 1], 'label': 'blocked 2 / 5 pool volumes (LDEV 0-1)'},
        {'ldev_ids': [2, 3], 'label': 'blocked 4 / 5 pool volumes (LDEV 2-3)'},
        {'ldev_ids': [4], 'label': 'blocked 5 / 5 pool volumes (LDEV 4)'},
    ]


def test_progress_batches_default_size_and_the_documented_label():
    batches = rt.progress_batches(range(1024), verb='blocked')
    assert [len(b['ldev_ids']) for b in batches] == [256, 256, 256, 256]
    assert batches[0]['label'] == 'blocked 256 / 1024 pool volumes (LDEV 0-255)'
    assert batches[1]['label'] == 'blocked 512 / 1024 pool volumes (LDEV 256-511)'  # the label the docs show
    assert batches[3]['label'] == 'blocked 1024 / 1024 pool volumes (LDEV 768-1023)'
    assert [i for b in batches for i in b['ldev_ids']] == list(range(1024))


def test_progress_batches_name_the_batch_ids_as_ranges_never_a_span_over_other_volumes():
    # parity groups 1-1 and 1-3 of a twin: LDEV 0-255 and 512-767; 256-511 belong to 1-2, which is not touched
    ids = list(range(0, 256)) + list(range(512, 768))
    assert rt.progress_batches(ids, size=512, verb='would block')[0]['label'] == \
        'would block 512 / 512 pool volumes (LDEV 0-255, 512-767)'


def test_progress_batches_exact_multiple_and_one_batch():
    assert rt.progress_batches([7, 8], size=2) == [{'ldev_ids': [7, 8], 'label': 'changed 2 / 2 pool volumes (LDEV 7-8)'}]
    assert rt.progress_batches([9], size=256, verb='recovered') == [{'ldev_ids': [9], 'label': 'recovered 1 / 1 pool volumes (LDEV 9)'}]


@pytest.mark.parametrize('ids', [None, [], ()])
def test_progress_batches_nothing_to_do_is_no_batch(ids):
    assert rt.progress_batches(ids, size=4) == []


def test_progress_batches_ids_as_text_and_size_as_text_or_below_one():
    # survey answers and extra vars arrive as text
    assert rt.progress_batches(['10', '2'], size='1') == [
        {'ldev_ids': [2], 'label': 'changed 1 / 2 pool volumes (LDEV 2)'},
        {'ldev_ids': [10], 'label': 'changed 2 / 2 pool volumes (LDEV 10)'},
    ]
    assert [b['ldev_ids'] for b in rt.progress_batches([1, 2], size=0)] == [[1], [2]]
    assert [b['ldev_ids'] for b in rt.progress_batches([1, 2], size=-5)] == [[1], [2]]


def test_progress_batches_as_the_restore_role_loops_over_them(env):
    template = ("{% for item in plan.volumes_to_block | runbook('progress_batches', size, 'blocked') %}"
                "{{ item.label }}={{ item.ldev_ids | join(',') }};{% endfor %}")
    out = env.from_string(template).render(plan={'volumes_to_block': [5, 1, 3]}, size=2)
    assert out == 'blocked 2 / 3 pool volumes (LDEV 1, 3)=1,3;blocked 3 / 3 pool volumes (LDEV 5)=5;'


def test_progress_batches_recover_the_pools_in_the_last_batch_when_it_holds_every_pool():
    volumes = [{'ldev_id': i, 'pool_id': 0 if i < 4 else 1} for i in range(6)]
    batches = rt.progress_batches(range(6), size=4, verb='recovered', volumes=volumes, pools=[1])
    assert [(b['pool_ids'], b['recover_pools']) for b in batches] == [([0], False), ([1], True)]
    assert batches[1]['label'] == 'recovered 6 / 6 pool volumes (LDEV 4-5)'


def test_progress_batches_no_pool_recovery_in_a_batch_that_misses_a_pool_or_when_none_is_to_recover():
    volumes = [{'ldev_id': i, 'pool_id': 0 if i < 4 else 1} for i in range(6)]
    # pool 0 lies in the first batch only: the last batch cannot recover it (the role then runs its own task)
    assert [b['recover_pools'] for b in rt.progress_batches(range(6), 4, 'recovered', volumes, [0, 1])] == [False, False]
    assert [b['recover_pools'] for b in rt.progress_batches(range(6), 4, 'recovered', volumes, [])] == [False, False]
    assert [b['recover_pools'] for b in rt.progress_batches(range(6), 8, 'recovered', volumes, [0, 1])] == [True]
    # a volume the plan does not know has no pool
    assert rt.progress_batches([7], 8, 'recovered', volumes, [0]) == [
        {'ldev_ids': [7], 'label': 'recovered 1 / 1 pool volumes (LDEV 7)', 'pool_ids': [], 'recover_pools': False}]


def test_progress_batches_with_volumes_but_no_pools_give_the_pools_of_each_batch():
    volumes = [{'ldev_id': 1, 'pool_id': 5}, {'ldev_id': 2, 'pool_id': 6}]
    batches = rt.progress_batches([1, 2], 1, 'blocked', volumes=volumes)
    assert [b['pool_ids'] for b in batches] == [[5], [6]]
    assert [b['recover_pools'] for b in batches] == [False, False]


def test_merge_batches_names_the_pools_a_batch_checked():
    pools = [{'pool_id': 3, 'status_before': 'POLE', 'status_after': 'POLN', 'action': 'recovered'},
             {'pool_id': 0, 'status_before': 'POLN', 'status_after': 'POLN', 'action': 'none'}]
    results = [{'changed_ldev_ids': [1]}, {'changed_ldev_ids': [2], 'pools': pools}]
    assert rt.merge_batches(results)['pools_checked'] == [0, 3]


# -- merge_batches ------------------------------------------------------------------------------------
def test_merge_batches_joins_changed_and_failed_ids():
    results = [
        {'changed': True, 'changed_ldev_ids': [3, 1], 'item': {'ldev_ids': [1, 2, 3]}},
        {'changed': False, 'changed_ldev_ids': [], 'item': {'ldev_ids': [4]}},
        {'failed': True, 'changed': True, 'changed_ldev_ids': [5],
         'failed_volumes': [{'ldev_id': 7, 'msg': 'x'}, {'ldev_id': 6, 'msg': 'y'}], 'item': {'ldev_ids': [5, 6, 7]}},
    ]
    assert rt.merge_batches(results) == {'changed_ldev_ids': [1, 3, 5], 'failed_ldev_ids': [6, 7], 'changed': True,
                                         'pools_checked': []}


def test_merge_batches_skipped_and_empty_loops_change_nothing():
    skipped = [{'changed': False, 'skipped': True, 'skip_reason': 'Conditional result was False', 'item': {'ldev_ids': [1]}}]
    nothing = {'changed_ldev_ids': [], 'failed_ldev_ids': [], 'changed': False, 'pools_checked': []}
    assert rt.merge_batches(skipped) == nothing
    assert rt.merge_batches([]) == nothing
    assert rt.merge_batches(None) == nothing


def test_merge_batches_as_the_restore_role_calls_it(env):
    out = env.from_string("{{ (reg.results | default([]) | runbook('merge_batches')).changed_ldev_ids | join(',') }}")
    assert out.render(reg={'results': [{'changed_ldev_ids': [2]}, {'changed_ldev_ids': [1]}]}) == '1,2'
    # a loop over no items registers no results list
    assert out.render(reg={'skipped': True, 'changed': False}) == ''


# -- verify_problems with pools -----------------------------------------------------------------------
def test_verify_problems_pools_all_normal_or_unknown_status():
    volumes = [{'ldev_id': 1, 'status': 'NML'}]
    assert rt.verify_problems([], volumes, [{'pool_id': 0, 'pool_status': 'POLN'}, {'pool_id': 1, 'pool_status': None}]) == ''
    assert rt.verify_problems([], volumes, []) == ''
    assert rt.verify_problems([], volumes, None) == ''


def test_verify_problems_names_each_pool_not_normal():
    pools = [{'pool_id': 0, 'pool_name': 'p0', 'pool_status': 'POLN'}, {'pool_id': 1, 'pool_status': 'POLE'},
             {'pool_id': 2, 'pool_status': 'POLS'}]
    assert rt.verify_problems([], [{'ldev_id': 1, 'status': 'NML'}], pools) == (
        'Verification failed: pools not normal: pool 1 POLE, pool 2 POLS.')


def test_verify_problems_order_groups_then_pools_then_volumes():
    text = rt.verify_problems(['1-1'], [{'ldev_id': 2, 'status': 'BLK'}, {'ldev_id': 3, 'status': 'NML'}],
                              [{'pool_id': 4, 'pool_status': 'POLE'}])
    assert text == ('Verification failed: parity groups with lost keys: [1-1]; pools not normal: pool 4 POLE; '
                    'pool volumes not normal: BLK: LDEV 2.')
    assert rt.verify_problems([], [{'ldev_id': 2, 'status': 'BLK'}], [{'pool_id': 4, 'pool_status': 'POLE'}]) == (
        'Verification failed: pools not normal: pool 4 POLE; pool volumes not normal: BLK: LDEV 2.')


def test_verify_problems_with_pools_as_the_restore_role_calls_it(env):
    template = "{{ lost | runbook('verify_problems', vols.pool_volumes | default([]), vols.pools | default([])) }}"
    vols = {'pool_volumes': [{'ldev_id': 1, 'status': 'NML'}], 'pools': [{'pool_id': 0, 'pool_name': 'p0', 'pool_status': 'POLE'}]}
    assert env.from_string(template).render(lost=[], vols=vols) == 'Verification failed: pools not normal: pool 0 POLE.'
    assert env.from_string(template).render(lost=[], vols={'pool_volumes': []}) == ''


# -- backup_summary with copies -----------------------------------------------------------------------
COPIES_INFO = {'storage': {'storage_device_id': '900000061726', 'model': 'VSP 5600'}, 'lost_parity_groups': ['1-1'],
               'lost_drives': ['HDD01-01'], 'key_counts': {'DEK': 6, 'CEK': 1}}


def test_backup_summary_copies_line_after_the_file_and_before_kms():
    lines = rt.backup_summary(dict(COPIES_INFO, lost_parity_groups=[]), files={'backup_reason': 'requested', 'backup_needed': True},
                              backup={'changed': True, 'path': '/B/N.ekf', 'size': 10, 'sha256': 'ab'}, kms={'changed': False},
                              copies={'ctl2': 'ab', 'ctl1': 'ab'})
    assert lines == [
        'Array VSP 5600 900000061726: keys DEK 6, CEK 1.',
        'File: wrote and verified /B/N.ekf (10 bytes, sha256 ab) because requested.',
        'Copies: verified (sha256 ab) on [ctl1, ctl2].',
        'KMS: not requested.',
    ]


def test_backup_summary_copies_after_the_lost_keys_warning():
    lines = rt.backup_summary(COPIES_INFO, files={'backup_needed': False, 'backup_reason': 'the keys are unchanged'},
                              lost_keys_override=True, copies={'ctl1': 'cd'})
    assert lines[2].startswith('Warning: keys of parity groups [1-1] are lost')
    assert lines[3] == 'Copies: verified (sha256 cd) on [ctl1].'
    assert len(lines) == 4


@pytest.mark.parametrize('copies', [None, {}])
def test_backup_summary_no_copies_no_line(copies):
    lines = rt.backup_summary(COPIES_INFO, files={'backup_needed': False, 'backup_reason': 'r'}, copies=copies)
    assert lines == ['Array VSP 5600 900000061726: keys DEK 6, CEK 1.', 'File: no new backup: r.']


def test_backup_summary_copies_as_the_backup_role_calls_it(env):
    template = ("{{ info | runbook('backup_summary', files={'backup_needed': False, 'backup_reason': 'r'}, copies=summary.copies) "
                "| join(' / ') }}")
    out = env.from_string(template).render(info=COPIES_INFO, summary={'copies': {'bk1': 'ef'}})
    assert out == 'Array VSP 5600 900000061726: keys DEK 6, CEK 1. / File: no new backup: r. / Copies: verified (sha256 ef) on [bk1].'
