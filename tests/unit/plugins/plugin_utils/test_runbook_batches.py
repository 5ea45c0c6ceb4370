# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""runbook_text: progress_batches, merge_batches (issue 16), verify_problems with pools (issue 13), backup_summary with
copies; each also as the filter the roles call, in the roles' own expressions (retention_deletions, which decides on
the control node with the password, is tested with remote_files: test_remote_files.py)."""

import pytest

from ansible_collections.vsp.encryption.plugins.filter.runbook import BUILDERS
from ansible_collections.vsp.encryption.plugins.plugin_utils import _runbook_text as rt

INFO = {'storage': {'storage_device_id': '900000061726', 'model': 'VSP 5600'}, 'lost_parity_groups': ['1-1'],
        'lost_drives': ['HDD01-01'], 'key_counts': {'DEK': 6, 'CEK': 1}}


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
    assert out == 'blocked 2 / 3 pool volumes (LDEV 1-3)=1,3;blocked 3 / 3 pool volumes (LDEV 5)=5;'


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
def test_backup_summary_copies_line_after_the_file_and_before_kms():
    lines = rt.backup_summary(dict(INFO, lost_parity_groups=[]), files={'backup_reason': 'requested', 'backup_needed': True},
                              backup={'changed': True, 'path': '/B/N.ekf', 'size': 10, 'sha256': 'ab'}, kms={'changed': False},
                              copies={'ctl2': 'ab', 'ctl1': 'ab'})
    assert lines == [
        'Array VSP 5600 900000061726: keys DEK 6, CEK 1.',
        'File: wrote and verified /B/N.ekf (10 bytes, sha256 ab) because requested.',
        'Copies: verified (sha256 ab) on [ctl1, ctl2].',
        'KMS: not requested.',
    ]


def test_backup_summary_copies_after_the_lost_keys_warning():
    lines = rt.backup_summary(INFO, files={'backup_needed': False, 'backup_reason': 'the keys are unchanged'},
                              lost_keys_override=True, copies={'ctl1': 'cd'})
    assert lines[2].startswith('Warning: keys of parity groups [1-1] are lost')
    assert lines[3] == 'Copies: verified (sha256 cd) on [ctl1].'
    assert len(lines) == 4


@pytest.mark.parametrize('copies', [None, {}])
def test_backup_summary_no_copies_no_line(copies):
    lines = rt.backup_summary(INFO, files={'backup_needed': False, 'backup_reason': 'r'}, copies=copies)
    assert lines == ['Array VSP 5600 900000061726: keys DEK 6, CEK 1.', 'File: no new backup: r.']


def test_backup_summary_copies_as_the_backup_role_calls_it(env):
    template = ("{{ info | runbook('backup_summary', files={'backup_needed': False, 'backup_reason': 'r'}, copies=summary.copies) "
                "| join(' / ') }}")
    out = env.from_string(template).render(info=INFO, summary={'copies': {'bk1': 'ef'}})
    assert out == 'Array VSP 5600 900000061726: keys DEK 6, CEK 1. / File: no new backup: r. / Copies: verified (sha256 ef) on [bk1].'
