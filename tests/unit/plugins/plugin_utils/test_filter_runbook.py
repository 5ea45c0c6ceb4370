# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest
from ansible.errors import AnsibleFilterError
from conftest import BACKUP_PASSWORD
from key_file_helpers import write_key_file

from ansible_collections.vsp.encryption.plugins.filter.runbook import BUILDERS, FilterModule, runbook
from ansible_collections.vsp.encryption.plugins.plugin_utils import _remote_files as remote_files
from ansible_collections.vsp.encryption.plugins.plugin_utils import _runbook_text as runbook_text

# the builders about the files on backup hosts are remote_files functions (named for what they do there); the audit's
# wrap module_utils/_audit.py; the others are the runbook_text function of their name
REMOTE = {'retention_deletions': remote_files.deletions, 'host_key_file': remote_files.choice_or_refusal,
          'reached_hosts': remote_files.reached, 'copy_status': remote_files.copy_status,
          'with_deletions': remote_files.with_deletions}


def builder(name):
    """The runbook filter bound to one builder, as a template calls it: value | runbook(name, ...)."""
    return lambda value, *args, **kwargs: runbook(value, name, *args, **kwargs)


def test_the_collection_has_two_filters_one_public_one_private():
    assert set(FilterModule().filters()) == {'text_list', 'runbook'}


def test_each_builder_is_its_function():
    for name, func in BUILDERS.items():
        if name.startswith('audit_'):
            continue
        assert func is (REMOTE.get(name) or getattr(runbook_text, name)), name
    assert set(REMOTE) <= set(BUILDERS)


def test_an_unknown_builder_is_a_filter_error_naming_the_builders(env):
    with pytest.raises(AnsibleFilterError) as info:
        env.from_string("{{ 1 | runbook('nope') }}").render()
    assert str(info.value).startswith("runbook: no builder 'nope'; the builders: audit_error, audit_markdown, ")


def test_text_list_in_a_template(env):
    out = env.from_string("{{ groups | text_list | join('|') }}").render(groups='1-1, 1-2, 1-1')
    assert out == '1-1|1-2'


def test_text_list_error_becomes_a_filter_error_naming_the_variable():
    text_list = FilterModule().filters()['text_list']
    with pytest.raises(AnsibleFilterError) as info:
        text_list({'a': 1}, 'encryption_key_restore_parity_groups')
    assert 'encryption_key_restore_parity_groups must be a list or comma-separated text' in str(info.value)


def test_keyword_arguments_pass_through(env):
    plan = {'restore_needed': False, 'parity_groups': ['1-1'], 'lines': []}
    out = env.from_string("{{ plan | runbook('restore_summary', recover={'changed_ldev_ids': [3]}) | join(' ') }}").render(plan=plan)
    assert out == 'No key was lost: nothing restored, nothing blocked; recovered 1 pool volume(s) (LDEV 3).'
    info = {'storage': {'storage_device_id': '900000061726', 'model': 'VSP 5600'}, 'key_counts': {'DEK': 1}}
    out = env.from_string("{{ info | runbook('backup_summary', files={'backup_needed': False, 'backup_reason': 'r'}) | join(' / ') }}").render(info=info)
    assert out == 'Array VSP 5600 900000061726: keys DEK 1. / File: no new backup: r.'


def test_resume_hint_in_a_template(env):
    out = env.from_string("{{ 'pb.yml' | runbook('resume_hint', {'a': 1}, 'vsp01', [], 'DR job') }}").render()
    assert out == 'Relaunch the job template "DR job" (limit vsp01) with these extra variables: {"a": 1}'


def test_verify_problems_and_failure_text_in_a_template(env):
    out = env.from_string("{{ lost | runbook('verify_problems', vols) }}").render(lost=['1-1'], vols=[{'ldev_id': 1, 'status': 'BLK'}])
    assert out == 'Verification failed: parity groups with lost keys: [1-1]; pool volumes not normal: BLK: LDEV 1.'
    out = env.from_string("{{ 'key restore of vsp01' | runbook('failure_text', 'Restore', {'msg': 'M'}, false) }}").render()
    assert out == 'The key restore of vsp01 stopped at "Restore": M.'
    out = env.from_string("{{ 'key restore of vsp01' | runbook('failure_text', 'Restore', {'msg': 'x: M'}, false, fix='x') }}").render()
    assert out == 'The key restore of vsp01 stopped at "Restore": x: M.'


def test_retention_deletions_in_a_template_pairs_each_manifest_then_its_key_file(env, tmp_path, fast_kdf):
    from test_remote_files import KEYS, days_ago, on_host
    write_key_file(tmp_path, 'New.ekf', keys=KEYS, password=BACKUP_PASSWORD, made=days_ago(1))
    old = write_key_file(tmp_path, 'Old.ekf', keys=KEYS, password=BACKUP_PASSWORD, made=days_ago(2))
    results = [on_host(tmp_path, 'ctl1'), {'item': 'ctl2', 'skipped': True}]
    out = env.from_string("{{ results | runbook('retention_deletions', password, 1, keys, directory) | map('join', ' ') | join(', ') }}")
    assert out.render(results=results, password=BACKUP_PASSWORD, keys=KEYS, directory=str(tmp_path)) == (
        'ctl1 %s.manifest.json, ctl1 %s' % (old, old))


def test_host_key_file_refusal_becomes_a_filter_error(tmp_path, fast_kdf):
    host_key_file = builder('host_key_file')
    with pytest.raises(AnsibleFilterError) as info:
        host_key_file({'files': []}, BACKUP_PASSWORD, ['HDD00-01'], 'backup01', '/srv/b')
    assert str(info.value).startswith('encryption_key_restore_path: in /srv/b on backup01, no key file of this array')
