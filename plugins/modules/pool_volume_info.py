#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: pool_volume_info
short_description: List the pool volumes of parity groups or pools of a Hitachi VSP
version_added: 1.0.0
description:
  - Lists pool volumes (LDEVs with the C(POOL) attribute) with their status, pool, parity groups and whether
    their parity group is encrypted, and counts them by status.
  - Selects by O(parity_groups) or O(pool_ids); with neither, the pool volumes of every pool.
author:
  - vsp.encryption contributors (@vsp-encryption)
extends_documentation_fragment:
  - vsp.encryption.connection
  - vsp.encryption.attributes
  - vsp.encryption.attributes.actiongroup_vsp
  - vsp.encryption.attributes.info_module
options:
  parity_groups:
    description:
      - Parity groups whose pool volumes are listed. An unknown parity group fails the task.
      - Each is C(<number>-<number>), for example V(1-1); comma-separated text is accepted too.
      - Mutually exclusive with O(pool_ids).
    type: list
    elements: str
  pool_ids:
    description:
      - Pools whose pool volumes are listed (integers from 0 to 127). An unknown pool fails the task.
    type: list
    elements: int
seealso:
  - module: vsp.encryption.pool_volume_state
'''

EXAMPLES = r'''
- name: Pool volumes of parity group 1-1
  vsp.encryption.pool_volume_info:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
    parity_groups: [1-1]
  delegate_to: localhost
  register: info

- name: Show which are blocked
  ansible.builtin.debug:
    msg: "{{ info.pool_volumes | selectattr('status', 'equalto', 'BLK') | map(attribute='ldev_id') | list }}"
'''

RETURN = r'''
pool_volumes:
  description: The selected pool volumes.
  returned: always
  type: list
  elements: dict
  contains:
    ldev_id:
      description: LDEV id.
      type: int
    status:
      description: Status as the storage system names it (C(NML) normal, C(BLK) blocked).
      type: str
    pool_id:
      description: Pool the volume belongs to.
      type: int
    parity_group_ids:
      description: Parity groups of the volume.
      type: list
      elements: str
    encrypted:
      description: Whether a parity group of the volume has encryption enabled.
      type: bool
  sample: [{"ldev_id": 1, "status": "NML", "pool_id": 0, "parity_group_ids": ["1-1"], "encrypted": true}]
counts:
  description: Number of selected pool volumes by status.
  returned: always
  type: dict
  sample: {"NML": 3, "BLK": 1}
pools:
  description: The pools of the selected pool volumes.
  returned: always
  type: list
  elements: dict
  contains:
    pool_id:
      description: Pool id.
      type: int
    pool_name:
      description: Pool name.
      type: str
    pool_status:
      description: Pool status (for example C(POLN) normal, C(POLE) blocked).
      type: str
  sample: [{"pool_id": 0, "pool_name": "pool0", "pool_status": "POLN"}]
request_retries:
  description:
    - Every retry the module made (which request, why, how long it waited), so it is visible at C(-v). Never holds a secret.
  returned: when a request was retried (also on failure)
  type: list
  elements: dict
  sample: [{"method": "GET", "path": "/v1/objects/ldevs", "reason": "HTTP 503", "wait_seconds": 0.61}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vsp.encryption.plugins.module_utils import _validate as validate
from ansible_collections.vsp.encryption.plugins.module_utils._runner import argument_spec, fail_on_error, run_module
from ansible_collections.vsp.encryption.plugins.module_utils._pool_volumes import pool_volume_report


def run(module, api):
    volumes, counts, pools = pool_volume_report(api, module.params['parity_groups'], module.params['pool_ids'])
    return dict(changed=False, pool_volumes=volumes, counts=counts, pools=pools)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            parity_groups=dict(type='list', elements='str'),
            pool_ids=dict(type='list', elements='int'),
        ),
        mutually_exclusive=[('parity_groups', 'pool_ids')],
        supports_check_mode=True,
    )
    for name, check in (('parity_groups', validate.parity_group_ids), ('pool_ids', validate.pool_ids)):
        if module.params[name] is not None:
            module.params[name] = fail_on_error(module, check, module.params[name], name)
    run_module(module, run)


if __name__ == '__main__':
    main()
