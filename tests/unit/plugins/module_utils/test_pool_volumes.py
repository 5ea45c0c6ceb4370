# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest
from conftest import connection_args, job, kart_error, ldev

from ansible_collections.vsp.encryption.plugins.module_utils import _pool_volumes as pv
from ansible_collections.vsp.encryption.plugins.module_utils._api import VspApi
from ansible_collections.vsp.encryption.plugins.module_utils._client import VspClient
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils._pool_volumes import PoolVolumeFinder, change_state, plan_changes, pool_volume_report


# -- against the simulated array ---------------------------------------------------------------------------------
def test_by_parity_groups_filters_pool_volumes(vsp):
    vsp.login()
    vsp.get('/v1/objects/parity-groups/1-1', {'parityGroupId': '1-1', 'isEncryptionEnabled': True})
    vsp.get('/v1/objects/ldevs', {'data': [ldev(2), ldev(1, 'BLK'), ldev(9, pool_volume=False)]})
    vsp.logout()
    with VspClient(connection_args()) as client:
        finder = PoolVolumeFinder(VspApi(client))
        found = finder.by_parity_groups(['1-1'])
        assert [v['ldevId'] for v in found] == [1, 2]
        assert finder.parity_groups.is_encrypted(['1-1']) is True  # cached, no request
        assert [v['ldevId'] for v in plan_changes(found, 'blocked')] == [2]
    assert vsp.rsps.calls[2].request.url.endswith('/v1/objects/ldevs?count=16384&parityGroupId=1-1')


def test_unknown_parity_group(vsp):
    vsp.login()
    vsp.not_found('/v1/objects/parity-groups/9-9')
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with VspClient(connection_args()) as client:
            PoolVolumeFinder(VspApi(client)).by_parity_groups(['9-9'])
    assert 'parity_groups: unknown parity group(s) 9-9' in str(info.value)


def test_ldev_ids_must_be_pool_volumes(vsp):
    vsp.login()
    vsp.get('/v1/objects/ldevs/1', ldev(1))
    vsp.get('/v1/objects/ldevs/9', ldev(9, pool_volume=False))
    vsp.not_found('/v1/objects/ldevs/77')
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with VspClient(connection_args()) as client:
            PoolVolumeFinder(VspApi(client)).by_ldev_ids([1, 9, 77])
    text = str(info.value)
    assert text.startswith('ldev_ids: ')
    assert 'unknown LDEV id(s): 77' in text
    assert 'not pool volumes (no POOL attribute): 9' in text


def test_change_state_concurrent_waits_for_all_and_reports(vsp_unordered):
    vsp = vsp_unordered
    vsp.login()
    for i in (1, 2, 4):
        vsp.add('POST', '/v1/objects/ldevs/%d/actions/change-status/invoke' % i, status=202, json=job(i))
    vsp.add('POST', '/v1/objects/ldevs/3/actions/change-status/invoke', status=202,
            json=job(3, state='Failed', error=kart_error('KART30000-E', 'Keys of the parity group are lost.')))
    vsp.logout()
    with VspClient(connection_args(), pool_size=4) as client:
        changed, failures = change_state(VspApi(client), [ldev(i) for i in (1, 2, 3, 4)], 'normal', 4)
    assert changed == [1, 2, 4]
    assert [f['ldev_id'] for f in failures] == [3]
    assert failures[0]['message_id'] == 'KART30000-E'
    assert failures[0]['message'] == 'Keys of the parity group are lost.'


def test_key_and_ldev_paging(vsp):
    vsp.login()
    vsp.get('/v1/objects/encryption-keys', {'data': [{'keyId': str(i), 'keyType': 'FREE'} for i in range(1024)]})
    vsp.get('/v1/objects/encryption-keys', {'data': [{'keyId': '1024', 'keyType': 'FREE'}]})
    vsp.get('/v1/objects/ldevs', {'data': [ldev(i) for i in range(16384)]})
    vsp.get('/v1/objects/ldevs', {'data': [ldev(16384)]})
    vsp.logout()
    with VspClient(connection_args()) as client:
        api = VspApi(client)
        assert len(api.list_keys('FREE')) == 1025
        assert len(api.list_ldevs(pool_id=0)) == 16385
    urls = [c.request.url for c in vsp.rsps.calls]
    assert urls[2].endswith('keyType=FREE&startKeyId=1024&count=1024')
    assert urls[4].endswith('count=16384&poolId=0&headLdevId=16384')


# -- against an in-memory API --------------------------------------------------------------------------------------
def bare_ldev(ldev_id, pool=True, **extra):
    """An LDEV with only the fields given (no pool or parity group unless named), for the in-memory API."""
    row = {'ldevId': ldev_id, 'emulationType': 'OPEN-V-CVS', 'attributes': ['CVS', 'POOL'] if pool else ['CVS', 'HDP'],
           'status': 'NML'}
    row.update(extra)
    return row


class FakeApi(object):
    """The array's parity groups, pools and LDEVs in memory; ``fail`` maps an LDEV id to the error its state change raises."""

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


# -- PoolVolumeFinder: the refusals word for word, which volumes of which pool -----------------------------------
def test_ldev_id_refusals_word_for_word():
    api = FakeApi([bare_ldev(1), bare_ldev(2, pool=False), bare_ldev(3, pool=False), {'ldevId': 4, 'emulationType': 'NOT DEFINED'}])
    finder = pv.PoolVolumeFinder(api)
    assert refusal(finder.by_ldev_ids, [4, 9, 2, 3]) == (
        'ldev_ids: unknown LDEV id(s): 4, 9; LDEV id(s) that are not pool volumes (no POOL attribute): 2, 3; nothing was changed')


def test_by_ldev_ids_sorted_and_once():
    api = FakeApi([bare_ldev(7), bare_ldev(1)])
    assert [row['ldevId'] for row in pv.PoolVolumeFinder(api).by_ldev_ids([7, 1, 7])] == [1, 7]
    assert pv.PoolVolumeFinder(api).by_ldev_ids([7])[0] is api.ldevs[7]


def test_is_defined_by_the_emulation_type():
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
    finder = pv.PoolVolumeFinder(FakeApi([bare_ldev(1)]))
    assert refusal(finder.by_parity_groups_and_ids, ['1-1', '1-2'], [1, 3, 2]) == (
        'ldev_ids: LDEV id(s) 2, 3 are not pool volumes of parity group(s) 1-1, 1-2; nothing was changed')


def test_by_pools_keeps_only_the_volumes_of_that_pool():
    by_pool = {5: [bare_ldev(1, composingPoolId=5), bare_ldev(2, composingPoolId=6), bare_ldev(3), bare_ldev(4, pool=False)]}
    found = pv.PoolVolumeFinder(FakeApi(by_pool=by_pool)).by_pools([5])
    assert [row['ldevId'] for row in found] == [1, 3]


def test_volume_view_pool_id_is_the_composing_pool_else_the_pool():
    assert pv.volume_view(bare_ldev(1, composingPoolId=5, poolId=6))['pool_id'] == 5
    assert pv.volume_view(bare_ldev(1, poolId=6))['pool_id'] == 6
    assert pv.volume_view(bare_ldev(1))['pool_id'] is None


def test_is_encrypted_is_none_for_an_unknown_group():
    finder = pv.PoolVolumeFinder(FakeApi())
    assert finder.parity_groups.is_encrypted(['1-1', '1-2']) is True
    assert finder.parity_groups.is_encrypted(['1-2']) is False
    assert finder.parity_groups.is_encrypted(['9-9']) is None


# -- change_state: how many run at once, the failure records ------------------------------------------------------
@pytest.mark.parametrize('concurrency, count, workers', [(4, 10, 4), (16, 3, 3), (100, 80, 64), (0, 5, 1), ('2', 5, 2)])
def test_change_state_worker_count_follows_concurrency_capped_at_64_and_the_volume_count(monkeypatch, concurrency, count, workers):
    seen = []
    real = pv.ThreadPoolExecutor

    def spy(max_workers):
        seen.append(max_workers)
        return real(max_workers=max_workers)
    monkeypatch.setattr(pv, 'ThreadPoolExecutor', spy)
    api = FakeApi()
    changed, failures = pv.change_state(api, [bare_ldev(i) for i in range(count)], 'blocked', concurrency)
    assert seen == [workers]
    assert changed == list(range(count)) and failures == []
    assert sorted(api.changed) == [(i, 'blk') for i in range(count)]


def test_change_state_failures_sorted_with_their_texts():
    api_error = VspApiError('refused', message_id='KART30000-E', message='busy', cause='c', solution='s')
    api = FakeApi(fail={3: RuntimeError('socket closed'), 1: api_error})
    changed, failures = pv.change_state(api, [bare_ldev(3), bare_ldev(2), bare_ldev(1)], 'normal', 2)
    assert changed == [2]
    assert failures == [
        {'ldev_id': 1, 'msg': api_error.describe(), 'message_id': 'KART30000-E', 'message': 'busy', 'cause': 'c', 'solution': 's'},
        {'ldev_id': 3, 'msg': 'RuntimeError: socket closed'},
    ]


# -- pool_volume_report -------------------------------------------------------------------------------------------
class PoolsOnly(object):
    """Two pools; pool 7 has no pool volume."""

    def list_pools(self):
        return [{'poolId': 5, 'poolName': 'p5', 'poolStatus': 'POLN'}, {'poolId': 7, 'poolName': 'p7', 'poolStatus': 'POLF'}]

    def list_ldevs(self, parity_group_id=None, pool_id=None):
        return []


def test_pool_volume_report_lists_a_named_pool_without_volumes():
    volumes, counts, pools = pool_volume_report(PoolsOnly(), pool_ids=[7])
    assert volumes == [] and counts == {}
    assert pools == [{'pool_id': 7, 'pool_name': 'p7', 'pool_status': 'POLF'}]
