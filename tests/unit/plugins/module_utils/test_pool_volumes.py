# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest
from conftest import connection_args, job, kart_error, ldev

from ansible_collections.vsp.encryption.plugins.module_utils._api import VspApi
from ansible_collections.vsp.encryption.plugins.module_utils._client import VspClient
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils._pool_volumes import PoolVolumeFinder, change_state, plan_changes


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
