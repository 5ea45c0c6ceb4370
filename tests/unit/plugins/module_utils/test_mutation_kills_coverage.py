# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants of coverage.py that survived `make mutation` (docs/mutation.md)."""

from ansible_collections.vsp.encryption.plugins.module_utils import _coverage as coverage


class FakeApi(object):
    def __init__(self, groups, drives):
        self.groups = groups
        self.drives = drives

    def list_parity_groups(self):
        return [{'parityGroupId': g, 'isEncryptionEnabled': e} for g, e in self.groups.items()]

    def get_parity_group(self, group_id):
        return {'parityGroupId': group_id, 'isEncryptionEnabled': self.groups[group_id]} if group_id in self.groups else None

    def list_drives(self, parity_group_id=None):
        return [d for d in self.drives if parity_group_id is None or d.get('parityGroupId', parity_group_id) == parity_group_id]


def test_external_groups_sort_after_numbered_ones():
    api = FakeApi({'E1-1': True, '61-1': True, '2-1': True}, [])
    assert [r['parity_group_id'] for r in coverage.parity_group_coverage(api, [])['parity_groups']] == ['2-1', '61-1', 'E1-1']


def test_an_encrypted_group_without_drives_is_reported_empty():
    api = FakeApi({'1-1': True}, [])
    assert coverage.parity_group_coverage(api, [])['parity_groups'] == [{
        'parity_group_id': '1-1', 'is_encryption_enabled': True, 'drive_locations': [], 'drives_without_key': [],
        'keys_lost': False}]


def test_a_drive_without_its_group_field_counts_for_the_group_asked_for():
    api = FakeApi({'1-1': True}, [{'driveLocationId': 'HDD01-00'}])
    result = coverage.parity_group_coverage(api, [], ['1-1'])
    assert result['lost_drives'] == ['HDD01-00'] and result['lost_parity_groups'] == ['1-1']
