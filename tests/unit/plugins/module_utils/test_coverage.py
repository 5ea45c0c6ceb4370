# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest
from key_file_helpers import dek

from ansible_collections.vsp.encryption.plugins.module_utils._coverage import parity_group_coverage
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError


class Api(object):
    """The read calls coverage uses, over a small array; records each call."""

    def __init__(self, groups, drives):
        self.groups = groups      # {id: encrypted}
        self.drives = drives      # [(location, group)]
        self.calls = []

    def list_parity_groups(self):
        self.calls.append('list_parity_groups')
        return [{'parityGroupId': g, 'isEncryptionEnabled': e} for g, e in self.groups.items()]

    def get_parity_group(self, group_id):
        self.calls.append('get_parity_group %s' % group_id)
        if group_id not in self.groups:
            return None
        return {'parityGroupId': group_id, 'isEncryptionEnabled': self.groups[group_id]}

    def list_drives(self, parity_group_id=None):
        self.calls.append('list_drives %s' % parity_group_id)
        return [{'driveLocationId': loc, 'parityGroupId': g} for loc, g in self.drives
                if parity_group_id is None or g == parity_group_id]


def array():
    groups = {'10-1': True, '2-1': True, '1-1': True, '3-1': False, '1-2': True}
    drives = [('HDD10-00', '10-1'), ('HDD02-01', '2-1'), ('HDD02-00', '2-1'), ('HDD01-00', '1-1'), ('HDD01-01', '1-1'),
              ('HDD03-00', '3-1'), ('HDD01-10', '1-2'), ('SPARE-00', None)]
    return Api(groups, drives)


# Every encrypted group of the array (none named)


def test_every_encrypted_group_in_numeric_order_with_two_reads():
    api = array()
    deks = [dek(1, 'HDD10-00'), dek(2, 'HDD02-00'), dek(3, 'HDD01-00'), dek(4, 'HDD01-10')]
    cov = parity_group_coverage(api, deks)
    assert api.calls == ['list_parity_groups', 'list_drives None']
    assert [g['parity_group_id'] for g in cov['parity_groups']] == ['1-1', '1-2', '2-1', '10-1']  # 3-1 is not encrypted
    assert cov['lost_parity_groups'] == ['1-1', '2-1']
    assert cov['lost_drives'] == ['HDD01-01', 'HDD02-01']
    by_id = dict((g['parity_group_id'], g) for g in cov['parity_groups'])
    assert by_id['2-1'] == {'parity_group_id': '2-1', 'is_encryption_enabled': True, 'drive_locations': ['HDD02-00', 'HDD02-01'],
                            'drives_without_key': ['HDD02-01'], 'keys_lost': True}
    assert by_id['10-1']['keys_lost'] is False


def test_nothing_lost():
    api = array()
    deks = [dek(i, loc) for i, (loc, g) in enumerate(api.drives) if g]
    cov = parity_group_coverage(api, deks)
    assert cov['lost_parity_groups'] == [] and cov['lost_drives'] == []


def test_external_groups_sort_after_numbered_ones():
    api = Api({'E1-1': True, '61-1': True, '2-1': True}, [])
    assert [r['parity_group_id'] for r in parity_group_coverage(api, [])['parity_groups']] == ['2-1', '61-1', 'E1-1']


def test_an_encrypted_group_without_drives_is_reported_empty():
    api = Api({'1-1': True}, [])
    assert parity_group_coverage(api, [])['parity_groups'] == [{
        'parity_group_id': '1-1', 'is_encryption_enabled': True, 'drive_locations': [], 'drives_without_key': [],
        'keys_lost': False}]


# Named groups


def test_named_groups_include_unencrypted_ones_never_lost():
    api = array()
    cov = parity_group_coverage(api, [dek(1, 'HDD01-00')], ['3-1', '1-1'])
    assert [g['parity_group_id'] for g in cov['parity_groups']] == ['3-1', '1-1']
    assert cov['parity_groups'][0]['keys_lost'] is False and cov['parity_groups'][0]['drives_without_key'] == []
    assert cov['lost_parity_groups'] == ['1-1']
    assert cov['lost_drives'] == ['HDD01-01']
    assert 'list_parity_groups' not in api.calls
    assert 'list_drives 1-1' in api.calls


def test_named_unknown_group_refused_naming_it():
    api = array()
    with pytest.raises(VspApiError) as info:
        parity_group_coverage(api, [], ['1-1', '9-9', '8-8'])
    assert info.value.msg == 'parity_groups: unknown parity group(s) 9-9, 8-8; nothing was changed'


def test_drives_of_another_group_in_a_filtered_answer_are_not_counted():
    class Sloppy(Api):
        def list_drives(self, parity_group_id=None):
            return [{'driveLocationId': 'HDD01-00', 'parityGroupId': '1-1'}, {'driveLocationId': 'HDD09-00', 'parityGroupId': '9-1'}]

    api = Sloppy({'1-1': True}, [])
    cov = parity_group_coverage(api, [dek(1, 'HDD01-00')], ['1-1'])
    assert cov['parity_groups'][0]['drive_locations'] == ['HDD01-00']
    assert cov['lost_parity_groups'] == []


def test_a_drive_without_its_group_field_counts_for_the_group_asked_for():
    class NoGroupField(Api):
        def list_drives(self, parity_group_id=None):
            return [{'driveLocationId': 'HDD01-00'}]

    api = NoGroupField({'1-1': True}, [])
    result = parity_group_coverage(api, [], ['1-1'])
    assert result['lost_drives'] == ['HDD01-00'] and result['lost_parity_groups'] == ['1-1']
