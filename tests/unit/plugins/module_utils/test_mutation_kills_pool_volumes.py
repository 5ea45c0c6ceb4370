# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants of pool_volumes.py that survived `make mutation` (docs/mutation.md).

A plain fake API (no HTTP): the finder's refusals word for word, which pool a volume belongs to, and how
many LDEV state changes run at once."""

import pytest
from ansible_collections.vsp.encryption.plugins.module_utils import _pool_volumes as pv
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError


def ldev(ldev_id, pool=True, **extra):
    row = {'ldevId': ldev_id, 'emulationType': 'OPEN-V-CVS', 'attributes': ['CVS', 'POOL'] if pool else ['CVS', 'HDP'],
           'status': 'NML'}
    row.update(extra)
    return row


class FakeApi(object):
    def __init__(self, ldevs=(), groups=('1-1', '1-2'), pools=(5, 6), by_pool=None, fail=None):
        self.ldevs = dict((row['ldevId'], row) for row in ldevs)
        self.groups = groups
        self.pools = pools
        self.by_pool = by_pool or {}
        self.fail = fail or {}
        self.changed = []

    def get_parity_group(self, group_id):
        return {'parityGroupId': group_id, 'isEncryptionEnabled': group_id == '1-1'} if group_id in self.groups else None

    def get_pool(self, pool_id):
        return {'poolId': pool_id} if pool_id in self.pools else None

    def get_ldev(self, ldev_id):
        return self.ldevs.get(ldev_id)

    def list_ldevs(self, parity_group_id=None, pool_id=None):
        if pool_id is not None:
            return self.by_pool.get(pool_id, [])
        return list(self.ldevs.values())

    def change_ldev_status(self, ldev_id, status):
        if ldev_id in self.fail:
            raise self.fail[ldev_id]
        self.changed.append((ldev_id, status))


def refusal(call, *args):
    with pytest.raises(VspApiError) as info:
        call(*args)
    return info.value.msg


def test_ldev_id_refusals_word_for_word():
    api = FakeApi([ldev(1), ldev(2, pool=False), ldev(3, pool=False), {'ldevId': 4, 'emulationType': 'NOT DEFINED'}])
    finder = pv.PoolVolumeFinder(api)
    assert refusal(finder.by_ldev_ids, [4, 9, 2, 3]) == (
        'ldev_ids: unknown LDEV id(s): 4, 9; LDEV id(s) that are not pool volumes (no POOL attribute): 2, 3; nothing was changed')


def test_by_ldev_ids_sorted_and_once():
    api = FakeApi([ldev(7), ldev(1)])
    assert [row['ldevId'] for row in pv.PoolVolumeFinder(api).by_ldev_ids([7, 1, 7])] == [1, 7]
    assert pv.PoolVolumeFinder(api).by_ldev_ids([7])[0] is api.ldevs[7]


def test_is_defined():
    assert pv.is_defined({'emulationType': 'OPEN-V'}) is True
    assert pv.is_defined({'emulationType': 'NOT DEFINED'}) is False
    assert pv.is_defined({'emulationType': 'not defined'}) is True
    assert pv.is_defined({}) is False


def test_unknown_group_and_pool_refusals_word_for_word():
    finder = pv.PoolVolumeFinder(FakeApi())
    assert refusal(finder.parity_groups.require, ['1-1', '9-1', '9-2']) == (
        'parity_groups: unknown parity group(s) 9-1, 9-2; nothing was changed')
    assert refusal(finder.by_pools, [5, 7, 8]) == 'pool_ids: unknown pool(s) 7, 8; nothing was changed'
    assert refusal(finder.by_pools, [5, 7, 8], [5]) == 'pool_ids: unknown pool(s) 7, 8; nothing was changed'


def test_ids_not_in_the_groups_refusal_word_for_word():
    finder = pv.PoolVolumeFinder(FakeApi([ldev(1)]))
    assert refusal(finder.by_parity_groups_and_ids, ['1-1', '1-2'], [1, 3, 2]) == (
        'ldev_ids: LDEV id(s) 2, 3 are not pool volumes of parity group(s) 1-1, 1-2; nothing was changed')


def test_by_pools_keeps_only_the_volumes_of_that_pool():
    by_pool = {5: [ldev(1, composingPoolId=5), ldev(2, composingPoolId=6), ldev(3), ldev(4, pool=False)]}
    found = pv.PoolVolumeFinder(FakeApi(by_pool=by_pool)).by_pools([5])
    assert [row['ldevId'] for row in found] == [1, 3]


def test_volume_view_pool_id():
    assert pv.volume_view(ldev(1, composingPoolId=5, poolId=6))['pool_id'] == 5
    assert pv.volume_view(ldev(1, poolId=6))['pool_id'] == 6
    assert pv.volume_view(ldev(1))['pool_id'] is None


def test_is_encrypted():
    finder = pv.PoolVolumeFinder(FakeApi())
    assert finder.parity_groups.is_encrypted(['1-1', '1-2']) is True
    assert finder.parity_groups.is_encrypted(['1-2']) is False
    assert finder.parity_groups.is_encrypted(['9-9']) is None


@pytest.mark.parametrize('concurrency, count, workers', [(4, 10, 4), (16, 3, 3), (100, 80, 64), (0, 5, 1), ('2', 5, 2)])
def test_change_state_worker_count(monkeypatch, concurrency, count, workers):
    seen = []
    real = pv.ThreadPoolExecutor

    def spy(max_workers):
        seen.append(max_workers)
        return real(max_workers=max_workers)
    monkeypatch.setattr(pv, 'ThreadPoolExecutor', spy)
    api = FakeApi()
    changed, failures = pv.change_state(api, [ldev(i) for i in range(count)], 'blocked', concurrency)
    assert seen == [workers]
    assert changed == list(range(count)) and failures == []
    assert sorted(api.changed) == [(i, 'blk') for i in range(count)]


def test_change_state_failures_sorted_with_their_texts():
    api_error = VspApiError('refused', message_id='KART30000-E', message='busy', cause='c', solution='s')
    api = FakeApi(fail={3: RuntimeError('socket closed'), 1: api_error})
    changed, failures = pv.change_state(api, [ldev(3), ldev(2), ldev(1)], 'normal', 2)
    assert changed == [2]
    assert failures == [
        {'ldev_id': 1, 'msg': api_error.describe(), 'message_id': 'KART30000-E', 'message': 'busy', 'cause': 'c', 'solution': 's'},
        {'ldev_id': 3, 'msg': 'RuntimeError: socket closed'},
    ]
