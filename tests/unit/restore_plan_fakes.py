# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fake array and the plan call shared by the restore_plan unit tests (test_restore_plan*.py)."""

from conftest import BACKUP_PASSWORD, ldev
from key_file_helpers import STORAGE, keys_by_type

from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils import _restore_plan as restore_plan


class FakeArray(object):
    """Read calls of a two-group array (1-1: HDD01-00/01, 1-2: HDD01-10/11; 2-1 not encrypted). No write method."""

    def __init__(self, locations, statuses=None):
        self.keys = keys_by_type(locations)
        self.groups = {'1-1': True, '1-2': True, '2-1': False}
        self.drives = [('HDD01-00', '1-1'), ('HDD01-01', '1-1'), ('HDD01-10', '1-2'), ('HDD01-11', '1-2'), ('HDD02-00', '2-1')]
        self.statuses = statuses or {'1-1': {1: 'NML', 2: 'BLK'}, '1-2': {3: 'NML'}, '2-1': {}}
        self.calls = []

    def list_keys_by_type(self):
        self.calls.append('list_keys_by_type')
        return self.keys

    def list_parity_groups(self):
        self.calls.append('list_parity_groups')
        return [{'parityGroupId': g, 'isEncryptionEnabled': e} for g, e in self.groups.items()]

    def get_parity_group(self, group_id):
        self.calls.append('get_parity_group %s' % group_id)
        return {'parityGroupId': group_id, 'isEncryptionEnabled': self.groups[group_id]} if group_id in self.groups else None

    def list_drives(self, parity_group_id=None):
        self.calls.append('list_drives')
        return [{'driveLocationId': loc, 'parityGroupId': g} for loc, g in self.drives
                if parity_group_id is None or g == parity_group_id]

    def get_pool(self, pool_id):
        self.calls.append('get_pool %s' % pool_id)
        return {'poolId': pool_id, 'poolName': 'enc-pool-%s' % pool_id, 'poolStatus': 'POLN'}

    def list_dp_volumes(self, pool_id):
        self.calls.append('list_dp_volumes %s' % pool_id)
        return [{'ldevId': 100 + pool_id, 'poolId': pool_id, 'attributes': ['CVS', 'HDP']}]

    def list_ldevs(self, parity_group_id=None, pool_id=None):
        self.calls.append('list_ldevs %s' % parity_group_id)
        return [ldev(i, s, pool_id=5, pgs=(parity_group_id,)) for i, s in sorted(self.statuses[parity_group_id].items())]


def params(path=None, **extra):
    base = {'source': 'file', 'path': path, 'backup_password': BACKUP_PASSWORD, 'verify_manifest': True,
            'parity_groups': None, 'force': False, 'expected_storage_device_id': None, 'expected_serial_number': None}
    base.update(extra)
    return base


def plan(api, path=None, password=BACKUP_PASSWORD, **extra):
    return restore_plan.make_plan(api, params(path, **extra), dict(STORAGE), mf.Deriver(password) if password else None)


def apply_plan(api, made, password=BACKUP_PASSWORD, storage=None, **extra):
    """make_plan as a run given ``made`` back (option ``plan``) runs it: with the options it was made with, against it."""
    options = dict(extra, **restore_plan.options_of(made))
    return restore_plan.make_plan(api, params(**options), dict(storage or STORAGE), mf.Deriver(password) if password else None,
                                  against=made)
