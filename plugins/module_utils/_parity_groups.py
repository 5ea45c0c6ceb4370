# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parity-group lookups of one run, each group read once: the groups the user names must exist, and
whether they are encrypted. Used by the pool volume finder and by key coverage."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError


class ParityGroups(object):
    """``GET parity-groups/<id>`` once per group (None: the array does not know it)."""

    def __init__(self, api):
        self.api = api
        self._groups = {}

    def get(self, parity_group_id):
        if parity_group_id not in self._groups:
            self._groups[parity_group_id] = self.api.get_parity_group(parity_group_id)
        return self._groups[parity_group_id]

    def remember(self, groups):
        """Take ``{id: group}`` already read (from the list of every parity group), so they are not read again."""
        self._groups.update(groups)

    def require(self, parity_group_ids):
        """``{id: group}`` of the named groups; fails, before any write, naming every unknown one."""
        groups = dict((pg, self.get(pg)) for pg in parity_group_ids)
        unknown = [pg for pg in parity_group_ids if groups[pg] is None]
        if unknown:
            raise VspApiError('parity_groups: unknown parity group(s) %s; nothing was changed' % ', '.join(unknown))
        return groups

    def is_encrypted(self, parity_group_ids):
        """True if any of the parity groups has encryption enabled (None when none of them is known)."""
        values = [bool(group.get('isEncryptionEnabled')) for group in (self.get(pg) for pg in parity_group_ids) if group is not None]
        return any(values) if values else None
