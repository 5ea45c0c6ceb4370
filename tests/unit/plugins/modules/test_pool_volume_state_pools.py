# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pool_volume_state: recover_pools (issue 13) and parity_groups combined with ldev_ids (issue 16).

Ordered HTTP mocks: every expected request is consumed, in order; the requests made are asserted,
so an extra GET per LDEV or a write in check mode fails the test.
"""

from conftest import assert_no_secret, connection_args, job, kart_error, ldev

from ansible_collections.vsp.encryption.plugins.modules import pool_volume_state

CHANGE = '/v1/objects/ldevs/%d/actions/change-status/invoke'
RECOVER = '/v1/objects/pools/%d/actions/recover/invoke'
PG = '/v1/objects/parity-groups/%s'
LDEVS_OF = '/v1/objects/ldevs?count=16384&parityGroupId=%s'
LOGIN = ('POST', '/v1/objects/sessions')
LOGOUT = ('DELETE', '/v1/objects/sessions/3')


def args(**extra):
    base = connection_args(parity_groups=['1-1'], state='normal', concurrency=1)
    base.update(extra)
    return dict((k, v) for k, v in base.items() if v is not None)


def pool(pool_id, status='POLN', name=None):
    return {'poolId': pool_id, 'poolStatus': status, 'poolName': name or 'pool%d' % pool_id}


def group(vsp, pg='1-1', volumes=()):
    vsp.get(PG % pg, {'parityGroupId': pg, 'isEncryptionEnabled': True})
    vsp.get('/v1/objects/ldevs', {'data': list(volumes)})


def get(path):
    return ('GET', path)


def post(path):
    return ('POST', path)


def not_blocked():
    return kart_error('KART30097-E', 'The pool is not in the blocked status.', 'The conditions for running the API request are not met.',
                      'Check the state of the storage system.')


# -- recover_pools ------------------------------------------------------------------------------------
def test_recover_pools_recovers_the_pool_left_blocked_after_the_volumes(vsp):
    vsp.login()
    group(vsp, volumes=[ldev(1, 'BLK', pool_id=0), ldev(2, 'BLK', pool_id=1), ldev(3, 'NML', pool_id=1)])
    vsp.add('POST', CHANGE % 1, status=202, json=job(1))
    vsp.add('POST', CHANGE % 2, status=202, json=job(2))
    vsp.get('/v1/objects/pools/0', pool(0, 'POLE'))
    vsp.add('POST', RECOVER % 0, status=202, json=job(3))
    vsp.get('/v1/objects/pools/0', pool(0))
    vsp.get('/v1/objects/pools/1', pool(1))
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args(recover_pools=True))
    assert result['changed'] is True
    assert result['changed_ldev_ids'] == [1, 2]
    assert result['pools'] == [
        {'pool_id': 0, 'status_before': 'POLE', 'status_after': 'POLN', 'action': 'recovered'},
        {'pool_id': 1, 'status_before': 'POLN', 'status_after': 'POLN', 'action': 'none'},
    ]
    assert vsp.calls == [LOGIN, get(PG % '1-1'), get(LDEVS_OF % '1-1'), post(CHANGE % 1), post(CHANGE % 2),
                         get('/v1/objects/pools/0'), post(RECOVER % 0), get('/v1/objects/pools/0'), get('/v1/objects/pools/1'), LOGOUT]
    recover_call = [c for c in vsp.rsps.calls if c.request.url.endswith('/recover/invoke')][0]
    assert not recover_call.request.body  # documented: no body
    assert_no_secret(result)


def test_recover_pools_alone_changes_the_result_even_when_no_volume_changed(vsp):
    vsp.login()
    group(vsp, volumes=[ldev(1, 'NML', pool_id=4)])
    vsp.get('/v1/objects/pools/4', pool(4, 'POLE'))
    vsp.add('POST', RECOVER % 4, status=202, json=job(3))
    vsp.get('/v1/objects/pools/4', pool(4))
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args(recover_pools=True))
    assert result['changed'] is True
    assert result['changed_ldev_ids'] == []
    assert result['pools'] == [{'pool_id': 4, 'status_before': 'POLE', 'status_after': 'POLN', 'action': 'recovered'}]
    assert vsp.write_calls() == [post(RECOVER % 4)]


def test_recover_pools_rerun_is_idempotent(vsp):
    vsp.login()
    group(vsp, volumes=[ldev(1, 'NML', pool_id=0), ldev(2, 'NML', pool_id=0)])
    vsp.get('/v1/objects/pools/0', pool(0))
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args(recover_pools=True))
    assert result['changed'] is False
    assert result['pools'] == [{'pool_id': 0, 'status_before': 'POLN', 'status_after': 'POLN', 'action': 'none'}]
    assert vsp.write_calls() == []
    # one pool read for two volumes of the same pool
    assert vsp.calls.count(get('/v1/objects/pools/0')) == 1


def test_recover_pools_not_blocked_answer_counts_as_done(vsp):
    vsp.login()
    group(vsp, volumes=[ldev(1, 'NML', pool_id=2)])
    vsp.get('/v1/objects/pools/2', pool(2, 'POLS'))
    vsp.add('POST', RECOVER % 2, status=412, json=not_blocked())
    vsp.get('/v1/objects/pools/2', pool(2))
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args(recover_pools=True))
    assert result['changed'] is False
    assert result['pools'] == [{'pool_id': 2, 'status_before': 'POLS', 'status_after': 'POLN', 'action': 'not_blocked'}]


def test_recover_pools_fails_naming_the_pool_still_not_normal(vsp):
    vsp.login()
    group(vsp, volumes=[ldev(1, 'BLK', pool_id=0), ldev(2, 'BLK', pool_id=1)])
    vsp.add('POST', CHANGE % 1, status=202, json=job(1))
    vsp.add('POST', CHANGE % 2, status=202, json=job(2))
    vsp.get('/v1/objects/pools/0', pool(0))
    vsp.get('/v1/objects/pools/1', pool(1, 'POLE'))
    vsp.add('POST', RECOVER % 1, status=202, json=job(3))
    vsp.get('/v1/objects/pools/1', pool(1, 'POLE'))
    vsp.logout()
    result = vsp.fail(pool_volume_state.main, args(recover_pools=True))
    assert result['msg'] == ('The pool volumes are normal, but pool(s) 1 are not (poolStatus): the pool recovery left them so. '
                             'Run the task again once the cause is fixed.')
    # the volumes did change: the failed result says so, with the pools
    assert result['changed'] is True
    assert result['changed_ldev_ids'] == [1, 2]
    assert result['pools'] == [
        {'pool_id': 0, 'status_before': 'POLN', 'status_after': 'POLN', 'action': 'none'},
        {'pool_id': 1, 'status_before': 'POLE', 'status_after': 'POLE', 'action': 'recovered'},
    ]
    assert [v['after'] for v in result['volumes']] == ['NML', 'NML']
    assert_no_secret(result)


def test_recover_pools_failed_job_and_unknown_pool_are_both_named(vsp):
    vsp.login()
    group(vsp, volumes=[ldev(1, 'NML', pool_id=0), ldev(2, 'NML', pool_id=7)])
    vsp.get('/v1/objects/pools/0', pool(0, 'POLE'))
    vsp.add('POST', RECOVER % 0, status=202,
            json=job(5, state='Failed', error=kart_error('KART30000-E', 'The encryption keys of parity group 1-1 are lost.')))
    vsp.not_found('/v1/objects/pools/7')
    vsp.logout()
    result = vsp.fail(pool_volume_state.main, args(recover_pools=True))
    assert result['msg'].startswith('The pool volumes are normal, but pool(s) 0, 7 are not (poolStatus): ')
    assert 'Recovery of pool 0 failed (job 5 state Failed)' in result['msg']
    assert 'The encryption keys of parity group 1-1 are lost.' in result['msg']
    assert 'pool 7: the array does not know this pool' in result['msg']
    assert result['message_id'] == 'KART30000-E'
    assert result['changed'] is False
    # the pool whose read failed is not in the report; the one whose recovery failed is, unchanged
    assert result['pools'] == [{'pool_id': 0, 'status_before': 'POLE', 'status_after': 'POLE', 'action': 'failed'}]
    assert vsp.write_calls() == [post(RECOVER % 0)]
    assert_no_secret(result)


def test_recover_pools_a_failed_recovery_is_not_reported_as_action_none(vsp):
    """pools.recover_pools documents ``action: none`` as "already POLN"; a pool whose recovery was tried and failed
    says ``failed``."""
    vsp.login()
    group(vsp, volumes=[ldev(1, 'NML', pool_id=0)])
    vsp.get('/v1/objects/pools/0', pool(0, 'POLE'))
    vsp.add('POST', RECOVER % 0, status=412, json=kart_error('KART30097-E', 'The pool usage rate is 100%.'))
    vsp.logout()
    result = vsp.fail(pool_volume_state.main, args(recover_pools=True))
    assert 'The pool usage rate is 100%.' in result['msg']
    assert vsp.write_calls() == [post(RECOVER % 0)]
    assert result['pools'] == [{'pool_id': 0, 'status_before': 'POLE', 'status_after': 'POLE', 'action': 'failed'}]


def test_recover_pools_check_mode_reports_would_recover_without_a_write(vsp):
    vsp.login()
    group(vsp, volumes=[ldev(1, 'BLK', pool_id=0), ldev(2, 'NML', pool_id=1)])
    vsp.get('/v1/objects/pools/0', pool(0, 'POLE'))
    vsp.get('/v1/objects/pools/1', pool(1))
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args(recover_pools=True), check_mode=True)
    assert result['changed'] is True
    assert result['changed_ldev_ids'] == [1]
    assert result['pools'] == [
        {'pool_id': 0, 'status_before': 'POLE', 'status_after': 'POLE', 'action': 'would_recover'},
        {'pool_id': 1, 'status_before': 'POLN', 'status_after': 'POLN', 'action': 'none'},
    ]
    assert vsp.write_calls() == []
    assert vsp.calls == [LOGIN, get(PG % '1-1'), get(LDEVS_OF % '1-1'), get('/v1/objects/pools/0'), get('/v1/objects/pools/1'), LOGOUT]


def test_recover_pools_check_mode_pool_only_is_changed_and_does_not_fail(vsp):
    vsp.login()
    group(vsp, volumes=[ldev(1, 'NML', pool_id=0)])
    vsp.get('/v1/objects/pools/0', pool(0, 'POLE'))
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args(recover_pools=True), check_mode=True)
    assert result['changed'] is True
    assert result['changed_ldev_ids'] == []
    assert result['pools'][0]['action'] == 'would_recover'
    assert vsp.write_calls() == []


def test_recover_pools_is_ignored_with_state_blocked(vsp):
    vsp.login()
    group(vsp, volumes=[ldev(1, 'NML', pool_id=0)])
    vsp.add('POST', CHANGE % 1, status=202, json=job(1))
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args(state='blocked', recover_pools=True))
    assert result['changed_ldev_ids'] == [1]
    assert 'pools' not in result
    assert not [c for c in vsp.calls if '/pools/' in c[1]]


def test_recover_pools_default_is_off(vsp):
    vsp.login()
    group(vsp, volumes=[ldev(1, 'BLK', pool_id=0)])
    vsp.add('POST', CHANGE % 1, status=202, json=job(1))
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args())
    assert 'pools' not in result
    assert not [c for c in vsp.calls if '/pools/' in c[1]]


def test_recover_pools_not_tried_when_a_volume_failed(vsp):
    vsp.login()
    group(vsp, volumes=[ldev(1, 'BLK', pool_id=0), ldev(2, 'BLK', pool_id=0)])
    vsp.add('POST', CHANGE % 1, status=202, json=job(1))
    vsp.add('POST', CHANGE % 2, status=202, json=job(2, state='Failed', error=kart_error('KART30000-E', 'The keys are lost.')))
    vsp.logout()
    result = vsp.fail(pool_volume_state.main, args(recover_pools=True))
    assert result['msg'].startswith('1 of 2 pool volume(s) could not be set to normal (failed LDEV ids: 2); changed LDEV ids: 1.')
    assert 'pools' not in result
    assert not [c for c in vsp.calls if '/pools/' in c[1]]


# -- parity_groups with ldev_ids ----------------------------------------------------------------------
def test_groups_and_ids_take_part_of_the_groups_volumes_without_a_get_per_ldev(vsp):
    vsp.login()
    group(vsp, volumes=[ldev(i, 'NML') for i in range(8)] + [ldev(50, pool_volume=False)])
    vsp.add('POST', CHANGE % 2, status=202, json=job(1))
    vsp.add('POST', CHANGE % 5, status=202, json=job(2))
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args(state='blocked', ldev_ids=[5, 2]), diff=True)
    assert result['changed'] is True
    assert result['changed_ldev_ids'] == [2, 5]
    assert result['volumes'] == [
        {'ldev_id': 2, 'pool_id': 0, 'parity_group_ids': ['1-1'], 'before': 'NML', 'after': 'BLK'},
        {'ldev_id': 5, 'pool_id': 0, 'parity_group_ids': ['1-1'], 'before': 'NML', 'after': 'BLK'},
    ]
    assert result['diff'] == {'before': {'2': 'NML', '5': 'NML'}, 'after': {'2': 'BLK', '5': 'BLK'}}
    assert vsp.calls == [LOGIN, get(PG % '1-1'), get(LDEVS_OF % '1-1'), post(CHANGE % 2), post(CHANGE % 5), LOGOUT]
    assert not [c for c in vsp.calls if c[1].startswith('/v1/objects/ldevs/') and c[0] == 'GET']


def test_groups_and_ids_across_two_groups_leave_the_volumes_already_in_state(vsp):
    vsp.login()
    vsp.get(PG % '1-1', {'parityGroupId': '1-1', 'isEncryptionEnabled': True})
    vsp.get(PG % '1-2', {'parityGroupId': '1-2', 'isEncryptionEnabled': True})
    vsp.get('/v1/objects/ldevs', {'data': [ldev(1, 'BLK'), ldev(2, 'BLK')]})
    vsp.get('/v1/objects/ldevs', {'data': [ldev(10, 'NML', pgs=('1-2',)), ldev(11, 'BLK', pgs=('1-2',))]})
    vsp.add('POST', CHANGE % 1, status=202, json=job(1))
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args(parity_groups=['1-1', '1-2'], ldev_ids=[1, 10, 1]))
    assert result['changed_ldev_ids'] == [1]
    assert [(v['ldev_id'], v['before'], v['after']) for v in result['volumes']] == [(1, 'BLK', 'NML'), (10, 'NML', 'NML')]
    assert vsp.calls == [LOGIN, get(PG % '1-1'), get(PG % '1-2'), get(LDEVS_OF % '1-1'), get(LDEVS_OF % '1-2'),
                         post(CHANGE % 1), LOGOUT]


def test_groups_and_ids_refuse_ids_not_among_the_groups_pool_volumes_before_any_write(vsp):
    vsp.login()
    group(vsp, volumes=[ldev(1, 'NML'), ldev(2, 'NML'), ldev(50, pool_volume=False)])
    vsp.logout()
    result = vsp.fail(pool_volume_state.main, args(state='blocked', ldev_ids=[1, 50, 300]))
    assert result['msg'] == 'ldev_ids: LDEV id(s) 50, 300 are not pool volumes of parity group(s) 1-1; nothing was changed'
    assert result['changed'] is False
    assert vsp.write_calls() == []
    assert vsp.calls == [LOGIN, get(PG % '1-1'), get(LDEVS_OF % '1-1'), LOGOUT]


def test_groups_and_ids_unknown_group_refused_before_the_ldev_lists(vsp):
    vsp.login()
    vsp.get(PG % '1-1', {'parityGroupId': '1-1', 'isEncryptionEnabled': True})
    vsp.not_found(PG % '9-9')
    vsp.logout()
    result = vsp.fail(pool_volume_state.main, args(parity_groups=['1-1', '9-9'], ldev_ids=[1]))
    assert result['msg'].startswith('parity_groups: unknown parity group(s) 9-9; nothing was changed')
    assert vsp.calls == [LOGIN, get(PG % '1-1'), get(PG % '9-9'), LOGOUT]


def test_groups_and_ids_check_mode_sends_no_write(vsp):
    vsp.login()
    group(vsp, volumes=[ldev(1, 'NML'), ldev(2, 'BLK'), ldev(3, 'NML')])
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args(state='blocked', ldev_ids=[2, 3]), check_mode=True)
    assert result['changed'] is True
    assert result['changed_ldev_ids'] == [3]
    assert [(v['ldev_id'], v['before'], v['after']) for v in result['volumes']] == [(2, 'BLK', 'BLK'), (3, 'NML', 'BLK')]
    assert vsp.write_calls() == []


def test_groups_and_ids_second_run_is_idempotent(vsp):
    vsp.login()
    group(vsp, volumes=[ldev(1, 'BLK'), ldev(2, 'BLK'), ldev(3, 'NML')])
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args(state='blocked', ldev_ids=[1, 2]))
    assert result['changed'] is False
    assert result['changed_ldev_ids'] == []
    assert vsp.write_calls() == []


def test_groups_and_ids_with_recover_pools_reads_only_the_pools_of_the_selected_volumes(vsp):
    """As documented: the pools of the *selected* pool volumes (pool 1 of LDEV 3 is not read)."""
    vsp.login()
    group(vsp, volumes=[ldev(1, 'BLK', pool_id=0), ldev(3, 'BLK', pool_id=1)])
    vsp.add('POST', CHANGE % 1, status=202, json=job(1))
    vsp.get('/v1/objects/pools/0', pool(0, 'POLE'))
    vsp.add('POST', RECOVER % 0, status=202, json=job(2))
    vsp.get('/v1/objects/pools/0', pool(0))
    vsp.logout()
    result = vsp.run(pool_volume_state.main, args(ldev_ids=[1], recover_pools=True))
    assert result['changed_ldev_ids'] == [1]
    assert [p['pool_id'] for p in result['pools']] == [0]
    assert vsp.write_calls() == [post(CHANGE % 1), post(RECOVER % 0)]


def test_groups_and_ids_bad_ldev_id_refused_before_any_request(vsp):
    result = vsp.fail(pool_volume_state.main, args(ldev_ids=[1, 65280]))
    assert result['msg'].startswith("ldev_ids: '65280' is not an LDEV id")
    assert vsp.calls == []


def test_groups_and_ids_empty_ldev_ids_refused_before_any_request(vsp):
    result = vsp.fail(pool_volume_state.main, args(ldev_ids=[]))
    assert result['msg'] == 'ldev_ids must not be empty'
    assert vsp.calls == []


def test_pool_ids_with_ldev_ids_still_refused(vsp):
    result = vsp.fail(pool_volume_state.main, args(parity_groups=None, pool_ids=[0], ldev_ids=[1]))
    assert 'mutually exclusive' in result['msg'] and 'pool_ids' in result['msg'] and 'ldev_ids' in result['msg']
    assert vsp.calls == []
