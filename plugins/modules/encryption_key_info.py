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
version_added: 1.0.0
description:
  - Lists the encryption keys by type (C(DEK), C(CEK), C(KEK), C(FREE)) with how often each was backed up
    (C(numOfBackups)), the counts by type and the identity of the storage system.
  - Reports the key coverage of the parity groups (O(parity_groups), or every encrypted parity group of the array
    when it is not given) - each group's drives and which of them have no data encryption key (C(DEK)) in the key
    list, that is whose key is lost - and the list of parity groups with lost keys.
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
      - Parity groups to report key coverage for, as a list or comma-separated text (V(1-1, 1-2)); each a parity
        group id such as V(1-1). An unknown parity group fails the task.
      - When not given, every encrypted parity group of the array.
    type: list
    elements: str
  coverage:
    description:
      - Report the key coverage (two more requests, or two per named parity group).
    type: bool
    default: true
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
  description:
    - Key coverage of each parity group of O(parity_groups) or, when it is not given, of every encrypted parity group
      of the array.
  returned: when O(coverage=true)
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
lost_parity_groups:
  description: The parity groups (of RV(parity_groups)) with lost keys.
  returned: when O(coverage=true)
  type: list
  elements: str
  sample: ["1-1"]
lost_drives:
  description: Drive locations of encrypted parity groups that no DEK serves.
  returned: when O(coverage=true)
  type: list
  elements: str
  sample: ["HDD00-01"]
coverage_evidence:
  description: On what evidence keys are taken as lost.
  returned: when O(coverage=true)
  type: str
  sample: an encrypted parity group has lost keys when one of its drives is served by no DEK
request_retries:
  description:
    - Every retry the module made (which request, why, how long it waited), so it is visible at C(-v). Never holds a secret.
  returned: when a request was retried (also on failure)
  type: list
  elements: dict
  sample: [{"method": "GET", "path": "/v1/objects/ldevs", "reason": "HTTP 503", "wait_seconds": 0.61}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vsp.encryption.plugins.module_utils._api import KEY_TYPES
from ansible_collections.vsp.encryption.plugins.module_utils._keys import key_fingerprint, storage_view
from ansible_collections.vsp.encryption.plugins.module_utils._runner import argument_spec, fail_on_error, run_module
from ansible_collections.vsp.encryption.plugins.module_utils._coverage import EVIDENCE, parity_group_coverage
from ansible_collections.vsp.encryption.plugins.module_utils._validate import parity_group_ids


def run(module, api, groups):
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
    if module.params['coverage']:
        deks = keys['DEK'] if 'DEK' in keys else api.list_keys('DEK')
        cov = parity_group_coverage(api, deks, groups or None)
        result.update(parity_groups=cov['parity_groups'], lost_parity_groups=cov['lost_parity_groups'],
                      lost_drives=cov['lost_drives'], coverage_evidence=EVIDENCE)
    return result


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            key_types=dict(type='list', elements='str', choices=list(KEY_TYPES), default=list(KEY_TYPES), no_log=False),
            parity_groups=dict(type='list', elements='str'),
            coverage=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    groups = fail_on_error(module, parity_group_ids, module.params['parity_groups'])
    run_module(module, lambda module, api: run(module, api, groups))


if __name__ == '__main__':
    main()
