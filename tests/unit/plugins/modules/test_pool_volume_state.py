# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from conftest import assert_no_secret, connection_args, job, kart_error, ldev

from ansible_collections.vsp.encryption.plugins.modules import pool_volume_state

CHANGE = '/v1/objects/ldevs/%d/actions/change-status/invoke'


def args(**extra):
    base = connection_args(parity_groups=['1-1'], state='blocked', concurrency=1)
    base.update(extra)
    return dict((k, v) for k, v in base.items() if v is not None)


def expect_lookup(vsp, volumes):
    vsp.get('/v1/objects/parity-groups/1-1', {'parityGroupId': '1-1', 'isEncryptionEnabled': True})
    vsp.get('/v1/objects/ldevs', {'data': volumes})


def test_blocks_only_volumes_not_blocked(vsp):
    vsp.login()
    expect_lookup(vsp, [ldev(1, 'BLK'), ldev(2), ldev(3), ldev(50, pool_volume=False)])
    vsp.add('POST', CHANGE % 2, status=202, json=job(1))
    vsp.add('POST', CHANGE % 3, status=202, json=job(2))
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args(), diff=True)
    assert result['changed'] is True
    assert result['changed_ldev_ids'] == [2, 3]
    assert result['volumes'] == [
        {'ldev_id': 1, 'pool_id': 0, 'parity_group_ids': ['1-1'], 'before': 'BLK', 'after': 'BLK'},
        {'ldev_id': 2, 'pool_id': 0, 'parity_group_ids': ['1-1'], 'before': 'NML', 'after': 'BLK'},
        {'ldev_id': 3, 'pool_id': 0, 'parity_group_ids': ['1-1'], 'before': 'NML', 'after': 'BLK'},
    ]
    assert result['diff'] == {'before': {'1': 'BLK', '2': 'NML', '3': 'NML'}, 'after': {'1': 'BLK', '2': 'BLK', '3': 'BLK'}}
    assert vsp.rsps.calls[3].request.body == b'{"parameters": {"status": "blk"}}'
    assert_no_secret(result)


def test_second_run_is_idempotent(vsp):
    vsp.login()
    expect_lookup(vsp, [ldev(1, 'BLK'), ldev(2, 'BLK')])
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args())
    assert result['changed'] is False
    assert result['changed_ldev_ids'] == []
    assert vsp.write_calls() == []


def test_check_mode_sends_no_write(vsp):
    vsp.login()
    expect_lookup(vsp, [ldev(1, 'BLK'), ldev(2)])
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args(), check_mode=True)
    assert result['changed'] is True
    assert result['changed_ldev_ids'] == [2]
    assert result['volumes'][1]['after'] == 'BLK'
    assert vsp.write_calls() == []


def test_recover_by_pool(vsp):
    vsp.login()
    vsp.get('/v1/objects/pools/0', {'poolId': 0, 'poolStatus': 'POLE'})
    vsp.get('/v1/objects/ldevs', {'data': [ldev(1, 'BLK'), ldev(2, 'BLK')]})
    vsp.add('POST', CHANGE % 1, status=202, json=job(1))
    vsp.add('POST', CHANGE % 2, status=202, json=job(2))
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args(parity_groups=None, pool_ids=[0], state='normal'))
    assert result['changed_ldev_ids'] == [1, 2]
    assert vsp.rsps.calls[3].request.body == b'{"parameters": {"status": "nml"}}'


def test_ldev_ids_not_pool_volume_fails_before_write(vsp):
    vsp.login()
    vsp.get('/v1/objects/ldevs/1', ldev(1))
    vsp.get('/v1/objects/ldevs/9', ldev(9, pool_volume=False))
    vsp.logout()
    result = vsp.fail(pool_volume_state.main, args(parity_groups=None, ldev_ids=[1, 9]))
    assert result['msg'].startswith('ldev_ids: ') and '9' in result['msg'] and 'not pool volumes' in result['msg']
    assert vsp.write_calls() == []


def test_unknown_pool_fails(vsp):
    vsp.login()
    vsp.not_found('/v1/objects/pools/7')
    vsp.logout()
    result = vsp.fail(pool_volume_state.main, args(parity_groups=None, pool_ids=[7]))
    assert 'pool_ids: unknown pool(s) 7' in result['msg']


def test_partial_failure_reports_changed_and_failed(vsp):
    vsp.login()
    expect_lookup(vsp, [ldev(1, 'BLK'), ldev(2, 'BLK'), ldev(3, 'BLK')])
    vsp.add('POST', CHANGE % 1, status=202, json=job(1))
    vsp.add('POST', CHANGE % 2, status=202, json=job(2, state='Failed', error=kart_error('KART30000-E', 'The keys are lost.')))
    vsp.add('POST', CHANGE % 3, status=202, json=job(3))
    vsp.logout()
    result = vsp.fail(pool_volume_state.main, args(state='normal'))
    assert result['changed'] is True
    assert result['changed_ldev_ids'] == [1, 3]
    assert [f['ldev_id'] for f in result['failed_volumes']] == [2]
    assert '(failed LDEV ids: 2); changed LDEV ids: 1, 3' in result['msg']
    assert 'KART30000-E' in result['msg']
    assert [v['after'] for v in result['volumes']] == ['NML', 'BLK', 'NML']
    assert_no_secret(result)


def test_concurrent_changes(vsp_unordered):
    vsp = vsp_unordered
    vsp.login()
    expect_lookup(vsp, [ldev(i) for i in range(10)])
    for i in range(10):
        vsp.add('POST', CHANGE % i, status=202, json=job(i))
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args(concurrency=4))
    assert result['changed_ldev_ids'] == list(range(10))


def test_concurrency_bounds(vsp):
    result = vsp.fail(pool_volume_state.main, args(concurrency=65))
    assert 'concurrency must be between 1 and 64' in result['msg']
    assert vsp.calls == []


def test_selectors_mutually_exclusive(vsp):
    result = vsp.fail(pool_volume_state.main, args(pool_ids=[1]))
    assert 'mutually exclusive' in result['msg']
    assert vsp.calls == []


def test_session_expiry_midway_logs_in_again_once(vsp):
    vsp.login(token='first')
    expect_lookup(vsp, [ldev(1)])
    vsp.add('POST', CHANGE % 1, status=401, json=kart_error('KART40047-E', 'The specified token is invalid.'))
    vsp.login(token='second', session_id=9)
    vsp.add('POST', CHANGE % 1, status=202, json=job(1))
    vsp.logout(session_id=9)
    result = vsp.run(pool_volume_state.main, args())
    assert result['changed_ldev_ids'] == [1]
    assert vsp.rsps.calls[5].request.headers['Authorization'] == 'Session second'


def test_array_unreachable_is_readable(vsp):
    import requests
    for _dummy in range(3):
        vsp.add('POST', '/v1/objects/sessions', body=requests.ConnectionError('[Errno 111] Connection refused'))
    result = vsp.fail(pool_volume_state.main, args())
    assert 'connection refused after 2 retries' in result['msg']
    assert_no_secret(result)


# -- the identity guards (doc fragment vsp.encryption.identity): checked before any volume is read or changed --------
def test_another_array_is_refused_before_any_volume_is_read_or_changed(vsp):
    vsp.login()
    vsp.storage()  # reports 900000061726
    vsp.logout()
    result = vsp.fail(pool_volume_state.main, args(expected_storage_device_id='900000099999'))
    assert result['msg'] == (
        'expected_storage_device_id / expected_serial_number: the array at this address reports storage device id '
        '900000061726, not 900000099999. It is not the array the inventory names; check host and storage_device_id. '
        'Nothing was changed on the array.')
    assert vsp.write_calls() == []
    assert [call[1] for call in vsp.calls] == ['/v1/objects/sessions', '/v1/objects/storages/instance', '/v1/objects/sessions/3']


def test_another_serial_number_is_refused_with_no_write(vsp):
    vsp.login()
    vsp.storage()
    vsp.logout()
    result = vsp.fail(pool_volume_state.main, args(state='normal', expected_serial_number='412345'))
    assert 'serial number 61726, not 412345' in result['msg']
    assert vsp.write_calls() == []


def test_the_expected_array_is_changed(vsp):
    vsp.login()
    vsp.storage()
    expect_lookup(vsp, [ldev(1)])
    vsp.add('POST', CHANGE % 1, status=202, json=job(1))
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args(expected_storage_device_id='900000061726', expected_serial_number='61726'))
    assert result['changed_ldev_ids'] == [1]
    assert vsp.calls[1] == ('GET', '/v1/objects/storages/instance')  # first, before the volumes are read
