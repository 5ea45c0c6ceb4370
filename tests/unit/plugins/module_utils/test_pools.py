# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from conftest import connection_args, job, kart_error, ldev

from ansible_collections.vsp.encryption.plugins.module_utils._api import VspApi
from ansible_collections.vsp.encryption.plugins.module_utils._client import VspClient
from ansible_collections.vsp.encryption.plugins.module_utils import _pools as pools
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils._pools import offline_impact, recover_pools

RECOVER = '/v1/objects/pools/%d/actions/recover/invoke'


def pool(pool_id, status='POLN', name=None):
    return {'poolId': pool_id, 'poolStatus': status, 'poolName': name or 'pool%d' % pool_id}


def not_blocked():
    return kart_error('KART30097-E', 'The pool is not in the blocked status.', 'The conditions for running the API request are not met.',
                      'Check the state of the storage system.')


def run(fn, *args, **kwargs):
    with VspClient(connection_args()) as client:
        return fn(VspApi(client), *args, **kwargs)


def writes(vsp):
    return [c for c in vsp.calls if c[0] != 'GET' and not c[1].startswith('/v1/objects/sessions')]


# -- recover_pools and offline_impact against the simulated array ------------------------------------------------
def test_recovers_only_pools_not_normal(vsp):
    vsp.login()
    vsp.get('/v1/objects/pools/0', pool(0, 'POLE'))
    vsp.add('POST', RECOVER % 0, status=202, json=job(5))
    vsp.get('/v1/objects/pools/0', pool(0))
    vsp.get('/v1/objects/pools/1', pool(1))
    vsp.logout()
    result = run(recover_pools, [1, 0, 0, '1'])
    assert result == {
        'pools': [{'pool_id': 0, 'status_before': 'POLE', 'status_after': 'POLN', 'action': 'recovered'},
                  {'pool_id': 1, 'status_before': 'POLN', 'status_after': 'POLN', 'action': 'none'}],
        'recovered': [0], 'not_normal': [], 'failures': []}
    assert writes(vsp) == [('POST', RECOVER % 0)]


def test_not_blocked_412_counts_as_done(vsp):
    vsp.login()
    vsp.get('/v1/objects/pools/3', pool(3, 'POLF'))
    vsp.add('POST', RECOVER % 3, status=412, json=not_blocked())
    vsp.get('/v1/objects/pools/3', pool(3, 'POLF'))
    vsp.logout()
    result = run(recover_pools, [3])
    assert result['failures'] == [] and result['recovered'] == []
    assert result['pools'] == [{'pool_id': 3, 'status_before': 'POLF', 'status_after': 'POLF', 'action': 'not_blocked'}]
    # still not normal (full, say): the caller's verify step reports it
    assert result['not_normal'] == [3]


def test_other_412_and_failed_job_are_failures_and_every_pool_is_tried(vsp):
    vsp.login()
    vsp.get('/v1/objects/pools/0', pool(0, 'POLE'))
    vsp.add('POST', RECOVER % 0, status=412, json=kart_error('KART30097-E', 'The pool usage rate is 100%.'))
    vsp.get('/v1/objects/pools/1', pool(1, 'POLE'))
    vsp.add('POST', RECOVER % 1, status=202,
            json=job(7, state='Failed', error=kart_error('KART30000-E', 'The encryption keys of parity group 1-3 are lost.')))
    vsp.not_found('/v1/objects/pools/2')
    vsp.logout()
    result = run(recover_pools, [0, 1, 2])
    assert [f['pool_id'] for f in result['failures']] == [0, 1, 2]
    assert 'usage rate is 100%' in result['failures'][0]['msg'] and result['failures'][0]['status'] == 412
    assert 'parity group 1-3' in result['failures'][1]['msg'] and result['failures'][1]['message_id'] == 'KART30000-E'
    assert 'does not know this pool' in result['failures'][2]['msg']
    assert result['recovered'] == [] and result['not_normal'] == [0, 1]


def test_check_mode_sends_no_write(vsp):
    vsp.login()
    vsp.get('/v1/objects/pools/0', pool(0, 'POLE'))
    vsp.logout()
    result = run(recover_pools, [0], check_mode=True)
    assert result['pools'][0]['action'] == 'would_recover' and result['recovered'] == []
    assert writes(vsp) == []


def test_no_pools_no_request(vsp):
    assert run(recover_pools, []) == {'pools': [], 'recovered': [], 'not_normal': [], 'failures': []}
    assert vsp.calls == []


def test_offline_impact_lists_pools_and_dp_volumes(vsp):
    vsp.login()
    vsp.get('/v1/objects/pools/0', pool(0, name='enc-pool-0'))
    vsp.get('/v1/objects/ldevs', {'data': [ldev(20, pool_id=0, pool_volume=False), ldev(21, pool_id=0, pool_volume=False)]})
    vsp.get('/v1/objects/pools/1', pool(1, 'POLE'))
    vsp.get('/v1/objects/ldevs', {'data': []})
    vsp.logout()
    volumes = [ldev(3, pool_id=1, pgs=('1-3',)), ldev(0, pgs=('1-1',)), ldev(1, pgs=('1-1',))]
    result = run(offline_impact, ['1-1', '1-3'], volumes=volumes)
    assert result == {
        'pools': [
            {'pool_id': 0, 'pool_name': 'enc-pool-0', 'pool_status': 'POLN', 'pool_volume_ids': [0, 1], 'pool_volume_count': 2,
             'dp_volume_ids': [20, 21], 'dp_volume_count': 2},
            {'pool_id': 1, 'pool_name': 'pool1', 'pool_status': 'POLE', 'pool_volume_ids': [3], 'pool_volume_count': 1,
             'dp_volume_ids': [], 'dp_volume_count': 0}],
        'pool_ids': [0, 1], 'pool_volume_count': 3, 'dp_volume_ids': [20, 21], 'dp_volume_count': 2}
    dp_query = [c.request.url for c in vsp.rsps.calls if '/ldevs?' in c.request.url]
    assert dp_query and all('ldevOption=dpVolume' in u and 'count=16384' in u for u in dp_query)
    assert 'poolId=0' in dp_query[0] and 'poolId=1' in dp_query[1]
    assert writes(vsp) == []


def test_offline_impact_finds_the_volumes_itself(vsp):
    vsp.login()
    vsp.get('/v1/objects/parity-groups/1-1', {'parityGroupId': '1-1', 'isEncryptionEnabled': True})
    vsp.get('/v1/objects/ldevs', {'data': [ldev(0), ldev(9, pool_volume=False)]})
    vsp.get('/v1/objects/pools/0', pool(0))
    vsp.get('/v1/objects/ldevs', {'data': [ldev(9, pool_volume=False)]})
    vsp.logout()
    result = run(offline_impact, ['1-1'])
    assert result['pool_ids'] == [0] and result['pools'][0]['pool_volume_ids'] == [0]
    assert result['dp_volume_ids'] == [9]


def _error(status, message_id, message='boom', cause=None):
    return VspApiError('request failed', status=status, message_id=message_id, message=message, cause=cause)


# -- against an in-memory API: every failure kind, the failure record, the not-blocked rule ----------------------
class FakeApi(object):
    """get_pool answers from ``reads`` (a list per pool, consumed in order; an exception is raised)."""

    def __init__(self, reads, recover=None, dp=None):
        self.reads = dict((k, list(v)) for k, v in reads.items())
        self.recover = recover or {}
        self.dp = dp or {}
        self.recovered = []

    def get_pool(self, pool_id):
        answer = self.reads[pool_id].pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def recover_pool(self, pool_id):
        self.recovered.append(pool_id)
        if pool_id in self.recover:
            raise self.recover[pool_id]

    def list_dp_volumes(self, pool_id):
        return self.dp.get(pool_id, [])


def test_every_pool_is_reported_after_failures_of_each_kind():
    api = FakeApi({
        1: [_error(500, 'KART1-E')],                                            # the first read fails
        2: [{'poolStatus': 'POLE'}],                                            # the recover call fails
        3: [{'poolStatus': 'POLE'}, _error(503, 'KART3-E', cause='busy')],      # the read after recovery fails
        4: [{'poolStatus': 'POLE'}],                                            # 412 not blocked, then gone
        5: [{'poolStatus': 'POLE'}, {'poolStatus': 'POLN'}],                    # recovered
    }, recover={2: _error(500, 'KART2-E'), 4: _error(412, 'KART30097-E', 'The pool is not in the blocked status.')})
    api.reads[4].append(None)
    result = pools.recover_pools(api, [5, 4, 3, 2, 1])
    assert api.recovered == [2, 3, 4, 5]
    assert result['recovered'] == [3, 5]
    assert [(e['pool_id'], e['action'], e['status_after']) for e in result['pools']] == [
        (2, 'failed', 'POLE'), (3, 'recovered', 'POLE'), (4, 'not_blocked', None), (5, 'recovered', 'POLN')]
    assert result['not_normal'] == [2, 3, 4]
    assert [(f['pool_id'], f['message_id'], f['status']) for f in result['failures']] == [
        (1, 'KART1-E', 500), (2, 'KART2-E', 500), (3, 'KART3-E', 503)]
    assert result['failures'][2]['cause'] == 'busy'
    assert result['failures'][0]['msg'] == _error(500, 'KART1-E').describe()


def test_failure_of_another_exception_names_its_type():
    assert pools._failure(7, ValueError('bad')) == {'pool_id': 7, 'msg': 'ValueError: bad'}
    failure = pools._failure(8, _error(409, 'KART4-E'))
    assert failure == {'pool_id': 8, 'msg': _error(409, 'KART4-E').describe(), 'message_id': 'KART4-E', 'message': 'boom',
                       'status': 409}


def test_not_blocked_answer_needs_a_vsp_error_with_412_and_the_words():
    assert pools.is_not_blocked_answer(_error(412, 'x', None, 'The pool is not blocked'))
    assert not pools.is_not_blocked_answer(_error(409, 'x', 'The pool is not in the blocked status.'))
    assert not pools.is_not_blocked_answer(ValueError('not blocked'))
    assert not pools.is_not_blocked_answer(_error(412, 'x', 'Other reason.'))


def test_offline_impact_takes_pool_id_without_composing_pool_id_and_filters_dp_volumes_by_pool():
    volumes = [{'ldevId': 9}, {'ldevId': 10, 'poolId': 2}, {'ldevId': 11, 'composingPoolId': 1, 'poolId': 2}]
    api = FakeApi({1: [{'poolName': 'p1', 'poolStatus': 'POLN'}], 2: [None]},
                  dp={1: [{'ldevId': 20, 'poolId': 1}, {'ldevId': 21, 'poolId': 2}, {'ldevId': 22}], 2: [{'ldevId': 23, 'poolId': 2}]})
    impact = pools.offline_impact(api, [], volumes=volumes)
    assert impact['pool_ids'] == [1, 2]
    assert [(p['pool_volume_ids'], p['dp_volume_ids'], p['pool_name']) for p in impact['pools']] == [
        ([11], [20, 22], 'p1'), ([10], [23], None)]
    assert impact['dp_volume_ids'] == [20, 22, 23]
    assert impact['pool_volume_count'] == 2


def test_an_unknown_pool_does_not_stop_the_others_and_is_named():
    api = FakeApi({1: [None], 2: [{'poolStatus': 'POLE'}, {'poolStatus': 'POLN'}]})
    result = pools.recover_pools(api, [1, 2])
    assert result['failures'] == [{'pool_id': 1, 'msg': 'pool 1: the array does not know this pool'}]
    assert result['recovered'] == [2]


def test_failure_records_the_solution_and_status():
    exc = VspApiError('failed', status=500, message_id='KART1-E', message='m', cause='c', solution='s')
    api = FakeApi({1: [exc]})
    failure = pools.recover_pools(api, [1])['failures'][0]
    assert failure == {'pool_id': 1, 'msg': exc.describe(), 'message_id': 'KART1-E', 'message': 'm', 'cause': 'c',
                       'solution': 's', 'status': 500}


def test_not_blocked_words_in_the_cause_or_the_message():
    assert pools.is_not_blocked_answer(_error(412, 'KART1-E', message=None, cause='The pool is not blocked.'))
    assert pools.is_not_blocked_answer(_error(412, 'KART1-E', message='Pool is not in the blocked status', cause=None))
    assert not pools.is_not_blocked_answer(_error(412, 'KART1-E', message='The pool is blocked', cause=None))


class Plain(Exception):
    """An exception without the fields of VspApiError."""

    status = 412


def test_not_blocked_needs_a_vsp_api_error():
    assert not pools.is_not_blocked_answer(Plain('not blocked'))
