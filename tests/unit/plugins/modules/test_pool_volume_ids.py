# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""User-given ids of pool_volume_state / pool_volume_info are checked before anything is sent."""

import pytest
from conftest import connection_args, ldev

from ansible_collections.vsp.encryption.plugins.modules import pool_volume_info, pool_volume_state


@pytest.mark.parametrize('main, extra, message', [
    (pool_volume_state.main, {'parity_groups': ['..'], 'state': 'blocked'}, "parity_groups: '..' is not a parity group id"),
    (pool_volume_state.main, {'parity_groups': ['1-1', '.'], 'state': 'blocked'}, "parity_groups: '.' is not a parity group id"),
    (pool_volume_state.main, {'pool_ids': [128], 'state': 'normal'}, "pool_ids: '128' is not a pool id; the rule: an integer from 0 to 127"),
    (pool_volume_state.main, {'ldev_ids': [-1], 'state': 'normal'}, "ldev_ids: '-1' is not an LDEV id; the rule: an integer from 0 to 65279"),
    (pool_volume_state.main, {'ldev_ids': [65280], 'state': 'normal'}, "ldev_ids: '65280' is not an LDEV id"),
    (pool_volume_info.main, {'parity_groups': ['1-1/../..']}, "parity_groups: '1-1/../..' is not a parity group id"),
    (pool_volume_info.main, {'pool_ids': [-3]}, "pool_ids: '-3' is not a pool id"),
])
def test_bad_ids_fail_before_any_request(vsp, main, extra, message):
    result = vsp.fail(main, connection_args(**extra))
    assert result['msg'].startswith(message)
    assert vsp.calls == []


def test_comma_text_parity_groups_are_accepted(vsp):
    vsp.login()
    vsp.get('/v1/objects/parity-groups/1-1', {'parityGroupId': '1-1', 'isEncryptionEnabled': True})
    vsp.get('/v1/objects/parity-groups/1-2', {'parityGroupId': '1-2', 'isEncryptionEnabled': True})
    vsp.get('/v1/objects/ldevs', {'data': [ldev(1, 'BLK')]})
    vsp.get('/v1/objects/ldevs', {'data': [ldev(2, 'BLK', pgs=('1-2',))]})
    vsp.logout()
    result = vsp.run(pool_volume_state.main, connection_args(parity_groups=['1-1, 1-2'], state='blocked'))
    assert result['changed'] is False
    assert [v['ldev_id'] for v in result['volumes']] == [1, 2]
