# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pools around a key restore: what goes offline (for the plan) and recovering blocked pools.

Blocking a pool volume blocks its pool, and with the pool every DP volume carved from it stops
serving I/O [C VOLQR: virtual volume protection; the extent on a given array is [I]]. After the
pool volumes are recovered, a pool may still not be normal (``poolStatus`` other than ``POLN``);
the documented call ``POST pools/{id}/actions/recover/invoke`` [C RG17 restoring-a-pool] unblocks
it. The array answers 412 "The pool is not in the blocked status" when there is nothing to
recover: that counts as done.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils._pool_volumes import PoolVolumeFinder

NORMAL = 'POLN'
NOT_BLOCKED_WORDS = ('not in the blocked status', 'not blocked')


def _pool_ids(pool_ids):
    return sorted(set(int(p) for p in pool_ids if p is not None))


def _failure(pool_id, exc):
    failure = {'pool_id': pool_id, 'msg': exc.describe() if isinstance(exc, VspApiError) else '%s: %s' % (type(exc).__name__, exc)}
    for key in ('message_id', 'message', 'cause', 'solution', 'status'):
        value = getattr(exc, key, None)
        if value:
            failure[key] = value
    return failure


def is_not_blocked_answer(exc):
    """True for the array's 412 saying the pool is not blocked (so there is nothing to recover)."""
    if not isinstance(exc, VspApiError) or exc.status != 412:
        return False
    text = ' '.join(str(getattr(exc, key, '') or '') for key in ('message', 'cause')).lower()
    return any(words in text for words in NOT_BLOCKED_WORDS)


def recover_pools(api, pool_ids, check_mode=False):
    """Recover every pool of ``pool_ids`` whose ``poolStatus`` is not ``POLN``.

    Reads each pool (sorted, deduplicated); for a pool not normal, calls
    :meth:`VspApi.recover_pool` (waits for its job) and reads the pool again. A 412 saying the pool
    is not blocked counts as success (``action: not_blocked``). Goes on after a failure, so every
    pool is reported. ``check_mode``: reads only, reports ``action: would_recover``.

    Returns ``{'pools': [{'pool_id', 'status_before', 'status_after', 'action'}], 'recovered': [ids],
    'not_normal': [ids still not POLN afterwards], 'failures': [{'pool_id', 'msg', ...}]}`` where
    ``action`` is ``none`` (already POLN), ``recovered``, ``not_blocked``, ``failed`` or ``would_recover``.
    """
    report, recovered, failures = [], [], []
    for pool_id in _pool_ids(pool_ids):
        try:
            pool = api.get_pool(pool_id)
        except VspApiError as exc:
            failures.append(_failure(pool_id, exc))
            continue
        if pool is None:
            failures.append({'pool_id': pool_id, 'msg': 'pool %d: the array does not know this pool' % pool_id})
            continue
        before = pool.get('poolStatus')
        entry = {'pool_id': pool_id, 'status_before': before, 'status_after': before, 'action': 'none'}
        report.append(entry)
        if before == NORMAL:
            continue
        if check_mode:
            entry['action'] = 'would_recover'
            continue
        try:
            api.recover_pool(pool_id)
            entry['action'] = 'recovered'
            recovered.append(pool_id)
        except VspApiError as exc:
            if not is_not_blocked_answer(exc):
                entry['action'] = 'failed'
                failures.append(_failure(pool_id, exc))
                continue
            entry['action'] = 'not_blocked'
        try:
            after = api.get_pool(pool_id)
        except VspApiError as exc:
            failures.append(_failure(pool_id, exc))
            continue
        entry['status_after'] = after.get('poolStatus') if after else None
    not_normal = [e['pool_id'] for e in report if e['status_after'] != NORMAL]
    return {'pools': report, 'recovered': recovered, 'not_normal': not_normal,
            'failures': sorted(failures, key=lambda f: f['pool_id'])}


def offline_impact(api, parity_group_ids, volumes=None):
    """What goes offline when the pool volumes of ``parity_group_ids`` are blocked, for the plan.

    ``volumes``: the pool volumes (LDEV objects) already found for those groups (else they are
    looked up with :class:`PoolVolumeFinder`, which fails on an unknown parity group). Each pool of
    those volumes goes blocked, and so do all DP volumes carved from it (listed with
    :meth:`VspApi.list_dp_volumes`).

    Returns ``{'pools': [{'pool_id', 'pool_name', 'pool_status', 'pool_volume_ids',
    'pool_volume_count', 'dp_volume_ids', 'dp_volume_count'}], 'pool_ids': [...],
    'pool_volume_count': N, 'dp_volume_ids': [...], 'dp_volume_count': N}`` (ids sorted).
    """
    if volumes is None:
        volumes = PoolVolumeFinder(api).by_parity_groups(list(parity_group_ids))
    by_pool = {}
    for ldev in volumes:
        pool_id = ldev.get('composingPoolId', ldev.get('poolId'))
        if pool_id is None:
            continue
        by_pool.setdefault(int(pool_id), set()).add(int(ldev['ldevId']))
    pools, all_dp = [], set()
    for pool_id in sorted(by_pool):
        pool = api.get_pool(pool_id) or {}
        dp_ids = sorted(set(int(ld['ldevId']) for ld in api.list_dp_volumes(pool_id)
                            if str(ld.get('poolId', pool_id)) == str(pool_id)))
        all_dp.update(dp_ids)
        pools.append({
            'pool_id': pool_id,
            'pool_name': pool.get('poolName'),
            'pool_status': pool.get('poolStatus'),
            'pool_volume_ids': sorted(by_pool[pool_id]),
            'pool_volume_count': len(by_pool[pool_id]),
            'dp_volume_ids': dp_ids,
            'dp_volume_count': len(dp_ids),
        })
    return {
        'pools': pools,
        'pool_ids': [p['pool_id'] for p in pools],
        'pool_volume_count': sum(p['pool_volume_count'] for p in pools),
        'dp_volume_ids': sorted(all_dp),
        'dp_volume_count': len(all_dp),
    }
