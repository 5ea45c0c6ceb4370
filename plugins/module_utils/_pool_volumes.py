# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pool volumes: find those of parity groups / pools / LDEV ids, change their state concurrently."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils._parity_groups import ParityGroups

STATE_TO_STATUS = {'blocked': 'BLK', 'normal': 'NML'}
STATE_TO_REQUEST = {'blocked': 'blk', 'normal': 'nml'}
MAX_CONCURRENCY = 64


def is_pool_volume(ldev):
    return 'POOL' in (ldev.get('attributes') or [])


def is_defined(ldev):
    return bool(ldev) and ldev.get('emulationType') not in (None, 'NOT DEFINED')


def volume_view(ldev):
    """The fields the modules return for a pool volume."""
    return {
        'ldev_id': int(ldev['ldevId']),
        'status': ldev.get('status'),
        'pool_id': ldev.get('composingPoolId', ldev.get('poolId')),
        'parity_group_ids': list(ldev.get('parityGroupIds') or []),
    }


class PoolVolumeFinder(object):
    """Looks pool volumes up, failing (before any write) on unknown parity groups, pools or LDEVs.

    ``parity_groups``: the run's :class:`ParityGroups` (cached lookups; a new one when not given).
    """

    def __init__(self, api, parity_groups=None):
        self.api = api
        self.parity_groups = parity_groups or ParityGroups(api)

    def by_parity_groups(self, parity_group_ids):
        self.parity_groups.require(parity_group_ids)
        found = {}
        for pg in parity_group_ids:
            for ldev in self.api.list_ldevs(parity_group_id=pg):
                if is_pool_volume(ldev):
                    found[int(ldev['ldevId'])] = ldev
        return [found[k] for k in sorted(found)]

    def by_parity_groups_and_ids(self, parity_group_ids, ldev_ids):
        """The pool volumes of the parity groups whose ids are in ``ldev_ids`` (each must be one)."""
        wanted = set(int(i) for i in ldev_ids)
        volumes = [v for v in self.by_parity_groups(parity_group_ids) if int(v['ldevId']) in wanted]
        missing = sorted(wanted - set(int(v['ldevId']) for v in volumes))
        if missing:
            raise VspApiError('ldev_ids: LDEV id(s) %s are not pool volumes of parity group(s) %s; nothing was changed'
                              % (', '.join(str(m) for m in missing), ', '.join(parity_group_ids)))
        return volumes

    def by_pools(self, pool_ids, known_pool_ids=None):
        """``known_pool_ids``: ids from a pool list already read (saves one request per pool)."""
        if known_pool_ids is not None:
            known = set(str(p) for p in known_pool_ids)
            unknown = [str(p) for p in pool_ids if str(p) not in known]
        else:
            unknown = [str(p) for p in pool_ids if self.api.get_pool(p) is None]
        if unknown:
            raise VspApiError('pool_ids: unknown pool(s) %s; nothing was changed' % ', '.join(unknown))
        found = {}
        for pool_id in pool_ids:
            for ldev in self.api.list_ldevs(pool_id=pool_id):
                if is_pool_volume(ldev) and str(ldev.get('composingPoolId', pool_id)) == str(pool_id):
                    found[int(ldev['ldevId'])] = ldev
        return [found[k] for k in sorted(found)]

    def by_ldev_ids(self, ldev_ids):
        ldevs, unknown, not_pool = [], [], []
        for ldev_id in ldev_ids:
            ldev = self.api.get_ldev(ldev_id)
            if not is_defined(ldev):
                unknown.append(str(ldev_id))
            elif not is_pool_volume(ldev):
                not_pool.append(str(ldev_id))
            else:
                ldevs.append(ldev)
        problems = []
        if unknown:
            problems.append('unknown LDEV id(s): %s' % ', '.join(unknown))
        if not_pool:
            problems.append('LDEV id(s) that are not pool volumes (no POOL attribute): %s' % ', '.join(not_pool))
        if problems:
            raise VspApiError('ldev_ids: %s; nothing was changed' % '; '.join(problems))
        seen = {}
        for ldev in ldevs:
            seen[int(ldev['ldevId'])] = ldev
        return [seen[k] for k in sorted(seen)]


def pool_volume_report(api, parity_group_ids=None, pool_ids=None, parity_groups=None):
    """The pool volumes of parity groups (or of pools; with neither, of every pool), as the info modules return them.

    ``parity_groups``: the run's :class:`ParityGroups`, so groups the run has read are not read again.

    Returns ``(volumes, counts, pools)``: each volume as :func:`volume_view` with ``encrypted``, the number of
    volumes by status, and the pools of the volumes (and of ``pool_ids``) with their name and status.
    """
    finder = PoolVolumeFinder(api, parity_groups)
    all_pools = api.list_pools()
    if parity_group_ids:
        ldevs = finder.by_parity_groups(parity_group_ids)
    else:
        pool_ids_read = pool_ids or [int(p['poolId']) for p in all_pools]
        ldevs = finder.by_pools(pool_ids_read, known_pool_ids=[p.get('poolId') for p in all_pools])  # none: []
    volumes, counts = [], {}
    for ldev in ldevs:
        view = volume_view(ldev)
        view['encrypted'] = finder.parity_groups.is_encrypted(view['parity_group_ids'])
        volumes.append(view)
        counts[view['status']] = counts.get(view['status'], 0) + 1
    used = set(str(v['pool_id']) for v in volumes)
    if pool_ids and not parity_group_ids:
        used.update(str(p) for p in pool_ids)
    pools = [{'pool_id': p.get('poolId'), 'pool_name': p.get('poolName'), 'pool_status': p.get('poolStatus')}
             for p in all_pools if str(p.get('poolId')) in used]
    return volumes, counts, pools


def plan_changes(volumes, state):
    """Split ``volumes`` (LDEV objects) into those to change and the rest."""
    target = STATE_TO_STATUS[state]
    return [v for v in volumes if v.get('status') != target]


def change_state(api, volumes, state, concurrency):
    """Change the status of every given LDEV to ``state``, at most ``concurrency`` at once.

    Waits for every job, also when some fail. Returns ``(changed_ids, failures)`` where ``failures``
    is a list of dicts ``{ldev_id, msg, message_id, message, cause, solution}``.
    """
    request_status = STATE_TO_REQUEST[state]
    changed, failures = [], []
    if not volumes:
        return changed, failures

    def work(ldev):
        api.change_ldev_status(int(ldev['ldevId']), request_status)
        return int(ldev['ldevId'])

    workers = max(1, min(int(concurrency), MAX_CONCURRENCY, len(volumes)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [(int(ldev['ldevId']), pool.submit(work, ldev)) for ldev in volumes]
        for ldev_id, future in futures:
            try:
                changed.append(future.result())
            except VspApiError as exc:
                failure = {'ldev_id': ldev_id, 'msg': exc.describe()}
                for key in ('message_id', 'message', 'cause', 'solution'):
                    if getattr(exc, key):
                        failure[key] = getattr(exc, key)
                failures.append(failure)
            except Exception as exc:  # noqa: BLE001 - report every volume, whatever went wrong
                failures.append({'ldev_id': ldev_id, 'msg': '%s: %s' % (type(exc).__name__, exc)})
    return sorted(changed), sorted(failures, key=lambda f: f['ldev_id'])
