#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: encryption_key_info
short_description: List the encryption keys of a Hitachi VSP and check which parity groups lost theirs
version_added: 0.1.0
description:
  - Lists the encryption keys by type (C(DEK), C(CEK), C(KEK), C(FREE)) with how often each was backed up
    (C(numOfBackups)), the counts by type and the identity of the storage system.
  - With O(parity_groups), reports for each parity group its drives and which of them have no data
    encryption key (C(DEK)) in the key list, that is whose key is lost.
author:
  - vsp.encryption contributors (@vsp-encryption)
extends_documentation_fragment:
  - vsp.encryption.connection
  - vsp.encryption.attributes
  - vsp.encryption.attributes.actiongroup_vsp
  - vsp.encryption.attributes.info_module
options:
  key_types:
    description:
      - Types of keys to list.
    type: list
    elements: str
    choices: [DEK, CEK, KEK, FREE]
    default: [DEK, CEK, KEK, FREE]
  parity_groups:
    description:
      - Parity groups to report key coverage for. An unknown parity group fails the task.
    type: list
    elements: str
seealso:
  - module: vsp.encryption.encryption_key_backup
  - module: vsp.encryption.encryption_key_restore
'''

EXAMPLES = r'''
- name: List the keys
  vsp.encryption.encryption_key_info:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
  delegate_to: localhost
  register: keys

- name: Check whether parity groups 1-1 and 1-2 lost keys
  vsp.encryption.encryption_key_info:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
    key_types: [DEK]
    parity_groups: [1-1, 1-2]
  delegate_to: localhost
  register: coverage

- name: Fail when a key is lost
  ansible.builtin.assert:
    that: coverage.parity_groups | selectattr('keys_lost') | list | length == 0
'''

RETURN = r'''
encryption_keys:
  description:
    - The keys by type, as the storage system lists them.
    - Named C(encryption_keys) rather than C(keys), which Jinja cannot reach with dot notation.
  returned: always
  type: dict
  sample: {"DEK": [{"keyId": "7", "keyType": "DEK", "targetDeviceLocation": "HDD00-09", "numOfBackups": 4}], "CEK": [], "KEK": [], "FREE": []}
key_counts:
  description: Number of keys by listed type.
  returned: always
  type: dict
  sample: {"DEK": 8, "CEK": 1, "KEK": 1, "FREE": 22}
key_fingerprint:
  description:
    - SHA-256 (hex) of the sorted lines C(<keyType>:<keyId>) of every key listed (DEK, CEK, KEK, FREE).
    - It changes when a key is created, deleted or lost; a backup whose manifest holds the same fingerprint holds the same keys.
    - The M(vsp.encryption.encryption_key_backup) module writes it into the manifest.
  returned: when all four key types are listed
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
storage:
  description: Identity of the storage system.
  returned: always
  type: dict
  contains:
    storage_device_id:
      description: Storage device ID.
      type: str
    serial_number:
      description: Serial number.
      type: int
    model:
      description: Model.
      type: str
  sample: {"storage_device_id": "900000061726", "serial_number": 61726, "model": "VSP 5600"}
parity_groups:
  description: Key coverage of each parity group of O(parity_groups).
  returned: when O(parity_groups) is given
  type: list
  elements: dict
  contains:
    parity_group_id:
      description: Parity group id.
      type: str
    is_encryption_enabled:
      description: Whether encryption is enabled for the parity group.
      type: bool
    drive_locations:
      description: Drive locations of the parity group.
      type: list
      elements: str
    drives_without_key:
      description: Drive locations with no C(DEK) in the key list.
      type: list
      elements: str
    keys_lost:
      description: Whether the parity group is encrypted and some of its drives have no C(DEK).
      type: bool
  sample: [{"parity_group_id": "1-1", "is_encryption_enabled": true, "drive_locations": ["HDD00-00", "HDD00-01"],
            "drives_without_key": ["HDD00-01"], "keys_lost": true}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vsp.encryption.plugins.module_utils.api import KEY_TYPES
from ansible_collections.vsp.encryption.plugins.module_utils.common import argument_spec, key_fingerprint, run_module, storage_view
from ansible_collections.vsp.encryption.plugins.module_utils.pool_volumes import PoolVolumeFinder


def coverage(api, parity_group_ids, deks):
    finder = PoolVolumeFinder(api)
    finder.check_parity_groups(parity_group_ids)
    covered = set(k.get('targetDeviceLocation') for k in deks)
    report = []
    for pg in parity_group_ids:
        group = finder.parity_group(pg)
        encrypted = bool(group.get('isEncryptionEnabled'))
        locations = sorted(d['driveLocationId'] for d in api.list_drives(pg) if d.get('parityGroupId', pg) == pg)
        missing = [loc for loc in locations if loc not in covered] if encrypted else []
        report.append({
            'parity_group_id': pg,
            'is_encryption_enabled': encrypted,
            'drive_locations': locations,
            'drives_without_key': missing,
            'keys_lost': bool(missing),
        })
    return report


def run(module, api):
    types = [t for t in KEY_TYPES if t in module.params['key_types']]
    keys = api.list_keys_by_type(types)
    result = dict(
        changed=False,
        storage=storage_view(api.storage()),
        encryption_keys=keys,
        key_counts=dict((t, len(keys[t])) for t in types),
    )
    if len(types) == len(KEY_TYPES):
        result['key_fingerprint'] = key_fingerprint(keys)
    if module.params['parity_groups']:
        deks = keys['DEK'] if 'DEK' in keys else api.list_keys('DEK')
        result['parity_groups'] = coverage(api, module.params['parity_groups'], deks)
    return result


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            key_types=dict(type='list', elements='str', choices=list(KEY_TYPES), default=list(KEY_TYPES), no_log=False),
            parity_groups=dict(type='list', elements='str'),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == '__main__':
    main()
