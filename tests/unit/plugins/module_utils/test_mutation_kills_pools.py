# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants of pools.py that survived `make mutation` (docs/mutation.md)."""

from ansible_collections.vsp.encryption.plugins.module_utils import _pools as pools
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError


def _error(status, message_id, message='boom', cause=None):
    return VspApiError('request failed', status=status, message_id=message_id, message=message, cause=cause)


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


def test_offline_impact_uses_pool_id_skips_volumes_without_pool_and_filters_dp_volumes():
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
