# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""restore_plan: ``plan['offline']`` (pools.offline_impact over the volumes already found) and its line in plan_lines (issue 13)."""

import json

import pytest
from conftest import BACKUP_PASSWORD, ldev
from key_file_helpers import SID, STORAGE, write_key_file
from restore_plan_fakes import FakeArray, plan

from ansible_collections.vsp.encryption.plugins.module_utils import _restore_plan as restore_plan

ALL = {'1': 'HDD01-00', '2': 'HDD01-01', '3': 'HDD01-10', '4': 'HDD01-11'}
LOST_1_1 = {'1': 'HDD01-00', '3': 'HDD01-10', '4': 'HDD01-11'}  # HDD01-01 of 1-1 lost
LOST_BOTH = {'9': 'HDD09-00'}  # every DEK of 1-1 and 1-2 lost


class Api(FakeArray):
    """Read calls of a two-group array (1-1: HDD01-00/01, 1-2: HDD01-10/11; 2-1 not encrypted), with pools and
    DP volumes. Records every call; has no write method, so a write raises AttributeError."""

    def __init__(self, locations, volumes=None, pools=None, dp_volumes=None):
        super(Api, self).__init__(locations)
        # parity group -> [(ldev id, status, pool id)]
        self.volumes = volumes if volumes is not None else {
            '1-1': [(1, 'NML', 0), (2, 'BLK', 0), (3, 'NML', 1)], '1-2': [(10, 'NML', 2)], '2-1': []}
        self.pools = pools if pools is not None else {
            0: {'poolId': 0, 'poolName': 'enc-pool-0', 'poolStatus': 'POLN'},
            1: {'poolId': 1, 'poolStatus': 'POLN'},  # no name
            2: {'poolId': 2, 'poolName': 'enc-pool-2', 'poolStatus': 'POLN'}}
        self.dp_volumes = dp_volumes if dp_volumes is not None else {0: [100, 101], 1: [], 2: [200]}

    def list_ldevs(self, parity_group_id=None, pool_id=None):
        self.calls.append('list_ldevs %s' % parity_group_id)
        return [ldev(i, s, pool_id=p, pgs=(parity_group_id,)) for i, s, p in self.volumes[parity_group_id]] + [
            ldev(900, pool_id=0, pgs=(parity_group_id,), pool_volume=False)]  # a DP volume on the group: not a pool volume

    def get_pool(self, pool_id):
        self.calls.append('get_pool %s' % pool_id)
        return self.pools.get(int(pool_id))

    def list_dp_volumes(self, pool_id):
        self.calls.append('list_dp_volumes %s' % pool_id)
        return [ldev(i, pool_id=pool_id, pgs=(), pool_volume=False) for i in self.dp_volumes[int(pool_id)]]

    def pool_calls(self):
        return [c for c in self.calls if c.startswith(('get_pool', 'list_dp_volumes'))]


def offline_lines(result):
    return [line for line in result['lines'] if line.startswith('Offline from the block until the recovery')]


@pytest.fixture
def key_file(tmp_path, fast_kdf):
    return write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)


# -- plan['offline'] ----------------------------------------------------------------------------------
def test_offline_lists_each_pool_with_its_pool_and_dp_volumes(key_file):
    api = Api(LOST_1_1)
    result = plan(api, key_file)
    assert result['parity_groups'] == ['1-1']
    assert result['offline'] == {
        'pools': [
            {'pool_id': 0, 'pool_name': 'enc-pool-0', 'pool_status': 'POLN', 'pool_volume_ids': [1, 2], 'pool_volume_count': 2,
             'dp_volume_ids': [100, 101], 'dp_volume_count': 2},
            {'pool_id': 1, 'pool_name': None, 'pool_status': 'POLN', 'pool_volume_ids': [3], 'pool_volume_count': 1,
             'dp_volume_ids': [], 'dp_volume_count': 0},
        ],
        'pool_ids': [0, 1], 'pool_volume_count': 3, 'dp_volume_ids': [100, 101], 'dp_volume_count': 2,
    }
    assert result['pools'] == [0, 1]
    # the pools of the acted-on groups only (pool 2 is of 1-2), each read once, after the volumes were found
    assert api.pool_calls() == ['get_pool 0', 'list_dp_volumes 0', 'get_pool 1', 'list_dp_volumes 1']
    assert api.calls.index('get_pool 0') > api.calls.index('list_ldevs 1-1')
    # the volumes found for the plan are reused: the group's LDEVs are listed once
    assert api.calls.count('list_ldevs 1-1') == 1
    assert 'list_ldevs 1-2' not in api.calls


def test_offline_line_words_the_pools_and_dp_volumes(key_file):
    result = plan(Api(LOST_1_1), key_file)
    lines = result['lines']
    block = [i for i, line in enumerate(lines) if line.startswith('Block ')]
    assert block
    assert lines[block[0] + 1] == ('Offline from the block until the recovery: pool(s) 0 (enc-pool-0), 1, so 2 DP volume(s) '
                                   '(LDEV 100-101) carved from them, and the 3 pool volume(s) of these parity groups. '
                                   'Stop or quiesce the hosts that use them.')
    assert lines[block[0] + 2].startswith("Checks before any write: this array's file")


def test_offline_over_two_groups_counts_each_pool_once(key_file):
    api = Api(LOST_BOTH, volumes={'1-1': [(1, 'NML', 0)], '1-2': [(10, 'BLK', 0), (11, 'NML', 2)], '2-1': []})
    result = plan(api, key_file)
    assert result['parity_groups'] == ['1-1', '1-2']
    offline = result['offline']
    assert offline['pool_ids'] == [0, 2]
    assert [p['pool_volume_ids'] for p in offline['pools']] == [[1, 10], [11]]
    assert offline['pool_volume_count'] == 3
    assert offline['dp_volume_ids'] == [100, 101, 200] and offline['dp_volume_count'] == 3
    assert api.pool_calls() == ['get_pool 0', 'list_dp_volumes 0', 'get_pool 2', 'list_dp_volumes 2']
    assert offline_lines(result) == [
        'Offline from the block until the recovery: pool(s) 0 (enc-pool-0), 2 (enc-pool-2), so 3 DP volume(s) '
        '(LDEV 100-101, 200) carved from them, and the 3 pool volume(s) of these parity groups. '
        'Stop or quiesce the hosts that use them.']


def test_offline_dp_volumes_are_ranges_however_many(key_file):
    api = Api(LOST_1_1, volumes={'1-1': [(1, 'NML', 0)], '1-2': [], '2-1': []}, dp_volumes={0: list(range(1000, 1060))})
    result = plan(api, key_file)
    assert result['offline']['dp_volume_count'] == 60
    assert result['offline']['dp_volume_ids'] == list(range(1000, 1060))  # the plan keeps them all
    assert offline_lines(result) == [
        'Offline from the block until the recovery: pool(s) 0 (enc-pool-0), so 60 DP volume(s) (LDEV 1000-1059) carved '
        'from them, and the 1 pool volume(s) of these parity groups. Stop or quiesce the hosts that use them.']


def test_offline_also_for_kms_and_forced_restores(tmp_path, fast_kdf):
    kms = plan(Api(LOST_1_1), None, password=None, source='kms')
    assert kms['offline']['pool_ids'] == [0, 1]
    assert len(offline_lines(kms)) == 1
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    forced = plan(Api(ALL), path, parity_groups=['1-2'], force=True)
    assert forced['forced'] is True
    assert forced['offline']['pool_ids'] == [2]
    assert offline_lines(forced) == [
        'Offline from the block until the recovery: pool(s) 2 (enc-pool-2), so 1 DP volume(s) (LDEV 200) carved from '
        'them, and the 1 pool volume(s) of these parity groups. Stop or quiesce the hosts that use them.']


def test_no_offline_when_nothing_is_to_restore(tmp_path):
    api = Api(ALL, volumes={'1-1': [(1, 'BLK', 0), (2, 'NML', 0)], '1-2': [], '2-1': []})
    result = plan(api, str(tmp_path / 'not-there.ekf'), parity_groups=['1-1'])
    assert result['restore_needed'] is False
    assert result['offline'] is None
    assert offline_lines(result) == []
    # nothing is blocked, so nothing is asked about the pools but their status (for the pools to recover)
    assert api.pool_calls() == ['get_pool 0']
    assert result['pools'] == [0] and result['pools_to_recover'] == []


def test_pools_to_recover_without_a_restore_are_those_not_normal(tmp_path):
    api = Api(ALL, volumes={'1-1': [(1, 'NML', 0), (2, 'NML', 1)], '1-2': [(10, 'NML', 2)], '2-1': []},
              pools={0: {'poolId': 0, 'poolStatus': 'POLE'}, 1: {'poolId': 1, 'poolStatus': 'POLN'}, 2: None})
    result = plan(api, str(tmp_path / 'not-there.ekf'), parity_groups=['1-1', '1-2'])
    assert result['restore_needed'] is False and result['volumes_to_recover'] == []
    # a pool left blocked by an earlier run (0), and one the array no longer shows (2): the rerun recovers them
    assert result['pools_to_recover'] == [0, 2]
    assert [c for c in api.calls if c.startswith('list_dp_volumes')] == []


def test_pools_to_recover_with_a_restore_are_every_pool_of_the_groups(key_file):
    api = Api(LOST_1_1)
    result = plan(api, key_file)
    assert result['restore_needed'] is True
    assert result['pools_to_recover'] == result['pools'] == [0, 1]


def test_no_offline_when_the_groups_have_no_pool_volume(key_file):
    api = Api(LOST_1_1, volumes={'1-1': [], '1-2': [], '2-1': []})
    result = plan(api, key_file)
    assert result['restore_needed'] is True and result['volumes'] == []
    assert result['offline'] is None
    assert offline_lines(result) == []
    assert api.pool_calls() == []


def test_plan_with_offline_is_json_and_has_no_secret(key_file):
    text = json.dumps(plan(Api(LOST_1_1), key_file))
    assert BACKUP_PASSWORD not in text
    assert '"offline": {"pools": [{"pool_id": 0' in text


# -- plan_lines with a given offline ------------------------------------------------------------------
def plan_dict(**extra):
    base = {'storage': STORAGE, 'lost_parity_groups': ['1-1'], 'lost_drives': ['HDD01-01'], 'evidence': 'E',
            'parity_groups_named': True, 'restore_needed': True, 'forced': False, 'parity_groups': ['1-1'], 'source': 'kms',
            'path': None, 'volumes_to_block': [1], 'volumes_to_recover': [1], 'pools': [0], 'warnings': []}
    base.update(extra)
    return base


def offline(pools, dp_ids):
    return {'pools': pools, 'pool_ids': [p['pool_id'] for p in pools], 'pool_volume_count': sum(p['pool_volume_count'] for p in pools),
            'dp_volume_ids': dp_ids, 'dp_volume_count': len(dp_ids)}


def test_plan_lines_offline_exact_wording():
    lines = restore_plan.plan_lines(plan_dict(offline=offline(
        [{'pool_id': 0, 'pool_name': 'Pool A', 'pool_volume_count': 1}, {'pool_id': 7, 'pool_name': '', 'pool_volume_count': 2}],
        [5, 6])))
    assert lines == [
        'Array %s: parity group(s) [1-1] have lost keys (drives without a DEK: [HDD01-01]).' % SID,
        lines[1],
        'Parity groups to act on (as named): [1-1].',
        'Block 1 pool volume(s) not blocked yet: LDEV 1 (pools [0]); restore the keys from the key management server; then '
        'recover all 1 pool volume(s): LDEV 1.',
        'Offline from the block until the recovery: pool(s) 0 (Pool A), 7, so 2 DP volume(s) (LDEV 5-6) carved from '
        'them, and the 3 pool volume(s) of these parity groups. Stop or quiesce the hosts that use them.',
    ]
    assert lines[1].startswith('Evidence: E.')


def test_plan_lines_scattered_dp_volumes_show_eight_ranges_and_count_the_rest():
    ids = list(range(0, 40, 2))  # 20 ids, none adjacent: 20 ranges
    lines = restore_plan.plan_lines(plan_dict(offline=offline([{'pool_id': 0, 'pool_name': None, 'pool_volume_count': 1}], ids)))
    line = [x for x in lines if x.startswith('Offline')][0]
    assert 'so 20 DP volume(s) (LDEV 0, 2, 4, 6, 8, 10, 12, 14 and 12 more) carved from them, and the' in line


@pytest.mark.parametrize('extra', [{}, {'offline': None}])
def test_plan_lines_without_offline_has_no_offline_line(extra):
    lines = restore_plan.plan_lines(plan_dict(**extra))
    assert not [x for x in lines if x.startswith('Offline')]
    assert len(lines) == 4


def test_plan_lines_no_restore_never_words_offline():
    lines = restore_plan.plan_lines(plan_dict(restore_needed=False, lost_parity_groups=[], offline=offline(
        [{'pool_id': 0, 'pool_name': None, 'pool_volume_count': 1}], [])))
    assert not [x for x in lines if x.startswith('Offline')]
