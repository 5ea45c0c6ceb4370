# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import jinja2
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vsp.encryption.plugins.filter.runbook import FilterModule
from ansible_collections.vsp.encryption.plugins.module_utils import runbook_text

NAMES = {'text_list', 'resume_hint', 'failure_text', 'restore_summary', 'verify_problems', 'backup_refusal', 'backup_summary',
         'retention_deletions'}


@pytest.fixture
def env():
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    environment.filters.update(FilterModule().filters())
    return environment


def test_every_filter_is_there_and_wraps_its_function():
    filters = FilterModule().filters()
    assert NAMES <= set(filters)  # more may be added; each must wrap the runbook_text function of its name
    for name, func in filters.items():
        assert func.__name__ == name
        assert func.__doc__ == getattr(runbook_text, name).__doc__


def test_text_list_in_a_template(env):
    out = env.from_string("{{ groups | text_list | join('|') }}").render(groups='1-1, 1-2,,1-1')
    assert out == '1-1|1-2'


def test_text_list_error_becomes_a_filter_error_naming_the_variable():
    text_list = FilterModule().filters()['text_list']
    with pytest.raises(AnsibleFilterError) as info:
        text_list({'a': 1}, 'encryption_key_restore_parity_groups')
    assert 'encryption_key_restore_parity_groups must be a list or comma-separated text' in str(info.value)


def test_keyword_arguments_pass_through(env):
    plan = {'restore_needed': False, 'parity_groups': ['1-1'], 'lines': []}
    out = env.from_string("{{ plan | restore_summary(recover={'changed_ldev_ids': [3]}) | join(' ') }}").render(plan=plan)
    assert out == 'No key was lost: nothing restored, nothing blocked; recovered 1 pool volume(s) [3].'
    info = {'storage': {'storage_device_id': '900000061726', 'model': 'VSP 5600'}, 'key_counts': {'DEK': 1}}
    out = env.from_string("{{ info | backup_summary(files={'backup_needed': False, 'backup_reason': 'r'}) | join(' / ') }}").render(info=info)
    assert out == 'Array VSP 5600 900000061726: keys DEK 1. / File: no new backup: r.'


def test_resume_hint_in_a_template(env):
    out = env.from_string("{{ 'pb.yml' | resume_hint({'a': 1}, 'vsp01', [], 'DR job') }}").render()
    assert out == 'Relaunch the job template "DR job" (limit vsp01) with these extra variables: {"a": 1}'


def test_verify_problems_and_failure_text_in_a_template(env):
    out = env.from_string("{{ lost | verify_problems(vols) }}").render(lost=['1-1'], vols=[{'ldev_id': 1, 'status': 'BLK'}])
    assert out == 'Verification failed: parity groups with lost keys: [1-1]; pool volumes not normal: LDEV 1 BLK.'
    out = env.from_string("{{ 'key restore of vsp01' | failure_text('Restore', {'msg': 'M'}, false) }}").render()
    assert out == 'The key restore of vsp01 stopped at "Restore": M'


def test_retention_deletions_pairs_each_key_file_with_its_manifest(env):
    results = [{'item': 'ctl1', 'retention': {'delete': ['/B/Old.ekf'], 'kept': []}},
               {'item': 'ctl2', 'retention': {'delete': []}},
               {'item': 'ctl3'}]
    out = env.from_string("{{ results | retention_deletions | map('join', ' ') | join(', ') }}").render(results=results)
    assert out == 'ctl1 /B/Old.ekf, ctl1 /B/Old.ekf.manifest.json'
    assert runbook_text.retention_deletions(None) == []
