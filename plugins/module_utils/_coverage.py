# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Key coverage: which encrypted parity groups have drives without a DEK (their keys are lost).

Evidence: a DEK serves one drive (``targetDeviceLocation``); the array's key list no longer lists a
lost key [I] (the simulator's rule; Hitachi's documents do not say it), so an encrypted parity group
with a drive that no listed DEK serves has lost keys. ``GET drives`` gives the drives of the groups [I].
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vsp.encryption.plugins.module_utils._parity_groups import ParityGroups

EVIDENCE = ('an encrypted parity group has lost keys when one of its drives (GET drives) is served by no DEK '
            'of the key list (GET encryption-keys?keyType=DEK, targetDeviceLocation)')


def _report(group_id, group, locations, covered):
    encrypted = bool(group.get('isEncryptionEnabled'))
    missing = [loc for loc in locations if loc not in covered] if encrypted else []
    return {
        'parity_group_id': group_id,
        'is_encryption_enabled': encrypted,
        'drive_locations': locations,
        'drives_without_key': missing,
        'keys_lost': bool(missing),
    }


def parity_group_coverage(api, deks, parity_group_ids=None, parity_groups=None):
    """Coverage of the named parity groups, or of every parity group of the array (None).

    Returns ``{'parity_groups': [...], 'lost_parity_groups': [...], 'lost_drives': [...]}``; with
    ``parity_group_ids`` None, ``parity_groups`` lists the encrypted groups only. Named groups are looked
    up through ``parity_groups`` (a :class:`ParityGroups`; a new one when not given), which fails on an
    unknown one; the list of every group, when read, is kept in ``parity_groups`` for the caller's later lookups.
    """
    covered = set(k.get('targetDeviceLocation') for k in deks)
    if parity_group_ids is None:
        groups = dict((str(g.get('parityGroupId')), g) for g in api.list_parity_groups())
        if parity_groups is not None:
            parity_groups.remember(groups)
        wanted = sorted((g for g, v in groups.items() if v.get('isEncryptionEnabled')), key=_group_order)
        by_group = {}
        for drive in api.list_drives():
            by_group.setdefault(str(drive.get('parityGroupId')), []).append(drive.get('driveLocationId'))
    else:
        groups = (parity_groups or ParityGroups(api)).require(parity_group_ids)
        wanted = list(parity_group_ids)
        by_group = dict((g, [d.get('driveLocationId') for d in api.list_drives(g) if str(d.get('parityGroupId', g)) == g])
                        for g in wanted)
    report = [_report(g, groups[g], sorted(loc for loc in by_group.get(g, []) if loc), covered) for g in wanted]
    lost = [r['parity_group_id'] for r in report if r['keys_lost']]
    drives = sorted(loc for r in report for loc in r['drives_without_key'])
    return {'parity_groups': report, 'lost_parity_groups': lost, 'lost_drives': drives}


def _group_order(group_id):
    parts = group_id.split('-')
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        return (10 ** 6, group_id)
