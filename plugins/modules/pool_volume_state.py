#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: pool_volume_state
short_description: Block or recover the pool volumes of parity groups, pools or LDEV ids
version_added: 1.0.0
description:
  - Selects pool volumes (LDEVs with the C(POOL) attribute) by parity group, pool or LDEV id and brings
    them to O(state=blocked) (C(BLK)) or O(state=normal) (C(NML)) with the C(change-status) action of
    the storage system.
  - Only volumes not already in the state are touched; their jobs run concurrently, at most
    O(concurrency) at once.
  - Before restoring lost encryption keys, every pool volume of the affected parity groups must be
    blocked; after the restore, they must be recovered.
  - Every parity group, pool or LDEV id is checked before any change; an unknown one, or an LDEV that
    is not a pool volume, fails the task and nothing is changed.
  - Blocking a pool volume blocks its pool; the volumes of that pool become unavailable to hosts.
  - With O(expected_storage_device_id) or O(expected_serial_number), the identity of the array is read and checked
    first, before any volume is read or changed.
author:
  - vsp.encryption contributors (@vsp-encryption)
extends_documentation_fragment:
  - vsp.encryption.connection
  - vsp.encryption.identity
  - vsp.encryption.attributes
  - vsp.encryption.attributes.actiongroup_vsp
attributes:
  check_mode:
    support: full
    details:
      - Reads the volumes and reports which would change; sends no change request.
  diff_mode:
    support: full
    details:
      - The diff shows the status of each selected volume before and after.
  idempotent:
    support: full
options:
  parity_groups:
    description:
      - IDs of parity groups (for example V(1-1)) whose pool volumes are selected.
      - Each is C(<number>-<number>); comma-separated text (V(1-1,1-2)) is accepted too. Anything else fails
        the task before a request is sent.
      - One of O(parity_groups), O(pool_ids) and O(ldev_ids) is required; O(parity_groups) may be combined with
        O(ldev_ids) to take a part of the pool volumes of the groups (the roles do so to report progress batch by
        batch, reading the groups' LDEV lists instead of one LDEV at a time).
    type: list
    elements: str
  pool_ids:
    description:
      - IDs of pools whose pool volumes are selected (integers from 0 to 127).
    type: list
    elements: int
  ldev_ids:
    description:
      - IDs of LDEVs to select (integers from 0 to 65279); each must be a pool volume.
      - With O(parity_groups), each must be a pool volume of those parity groups.
    type: list
    elements: int
  state:
    description:
      - V(blocked) blocks the volumes (C(BLK)); V(normal) recovers them (C(NML)).
    type: str
    required: true
    choices: [blocked, normal]
  concurrency:
    description:
      - How many status changes run at the same time, 1 to 64.
    type: int
    default: 8
  recover_pools:
    description:
      - With O(state=normal), afterwards recover every pool of the selected pool volumes whose C(poolStatus) is not
        C(POLN), with the documented C(POST pools/{id}/actions/recover/invoke) (an answer that the pool is not blocked
        counts as done). An array may leave a pool blocked after its pool volumes are normal again.
    type: bool
    default: false
notes:
  - If some changes fail, the module still waits for the others, then fails and lists the volumes that
    changed and those that failed, with the message of the storage system.
  - Recovering a pool volume of a parity group whose encryption keys are lost fails until the keys
    are restored.
seealso:
  - module: vsp.encryption.pool_volume_info
  - module: vsp.encryption.encryption_key_restore
'''

EXAMPLES = r'''
- name: Block every pool volume of the parity groups whose keys are lost
  vsp.encryption.pool_volume_state:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
    parity_groups: [1-1, 1-2]
    state: blocked
  delegate_to: localhost

- name: Recover them after the key restore, 16 at a time, only on the array the inventory names
  vsp.encryption.pool_volume_state:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
    parity_groups: [1-1, 1-2]
    state: normal
    concurrency: 16
    expected_storage_device_id: "900000061726"
  delegate_to: localhost

- name: Block the pool volumes of pool 0 (connection set by module_defaults)
  module_defaults:
    group/vsp.encryption.vsp:
      host: vsp01.example.com
      username: "{{ vault_vsp_username }}"
      password: "{{ vault_vsp_password }}"
      ca_path: /etc/pki/vsp-ca.pem
  vsp.encryption.pool_volume_state:
    pool_ids: [0]
    state: blocked
  delegate_to: localhost
'''

RETURN = r'''
volumes:
  description: Every selected pool volume with its status before and after.
  returned: always
  type: list
  elements: dict
  contains:
    ldev_id:
      description: LDEV id.
      type: int
      sample: 1
    pool_id:
      description: Pool the volume belongs to.
      type: int
      sample: 0
    parity_group_ids:
      description: Parity groups of the volume.
      type: list
      elements: str
      sample: ['1-1']
    before:
      description: Status before, as the storage system names it.
      type: str
      sample: NML
    after:
      description: Status after (in check mode, the status it would have).
      type: str
      sample: BLK
  sample: [{"ldev_id": 1, "pool_id": 0, "parity_group_ids": ["1-1"], "before": "NML", "after": "BLK"}]
changed_ldev_ids:
  description: IDs of the volumes whose status was changed (in check mode, would be changed).
  returned: always
  type: list
  elements: int
  sample: [1, 2]
failed_volumes:
  description: Volumes whose change failed, each with the message of the storage system.
  returned: failure
  type: list
  elements: dict
  sample: [{"ldev_id": 3, "message_id": "KART30000-E", "msg": "Change of the status of LDEV 3 to nml failed"}]
pools:
  description: The pools of the selected volumes, with the status before and after the pool recovery.
  returned: when O(recover_pools=true) and O(state=normal)
  type: list
  elements: dict
  sample: [{"pool_id": 0, "status_before": "POLE", "status_after": "POLN", "action": "recovered"}]
diff:
  description: Status of each selected volume before and after, keyed by LDEV id.
  returned: always
  type: dict
  sample: {"before": {"1": "NML"}, "after": {"1": "BLK"}}
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
from ansible_collections.vsp.encryption.plugins.module_utils._keys import check_identity, storage_view
from ansible_collections.vsp.encryption.plugins.module_utils._runner import argument_spec, fail_on_error, identity_argument_spec, run_module
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils._pools import recover_pools
from ansible_collections.vsp.encryption.plugins.module_utils._pool_volumes import (
    MAX_CONCURRENCY,
    STATE_TO_STATUS,
    PoolVolumeFinder,
    change_state,
    plan_changes,
    volume_view,
)


def select_volumes(module, api):
    finder = PoolVolumeFinder(api)
    if module.params['parity_groups'] and module.params['ldev_ids']:
        return finder.by_parity_groups_and_ids(module.params['parity_groups'], module.params['ldev_ids'])
    if module.params['parity_groups']:
        return finder.by_parity_groups(module.params['parity_groups'])
    if module.params['pool_ids']:
        return finder.by_pools(module.params['pool_ids'])
    return finder.by_ldev_ids(module.params['ldev_ids'])


def check_expected_array(module, api):
    """The identity guards, before any volume is read or changed (the array is asked only when one is given)."""
    expected_id, expected_serial = module.params['expected_storage_device_id'], module.params['expected_serial_number']
    if expected_id or expected_serial not in (None, ''):
        check_identity(storage_view(api.storage()), expected_id, expected_serial)


def run(module, api):
    check_expected_array(module, api)
    state = module.params['state']
    target = STATE_TO_STATUS[state]
    volumes = select_volumes(module, api)
    to_change = plan_changes(volumes, state)
    change_ids = set(int(v['ldevId']) for v in to_change)

    if module.check_mode:
        changed_ids, failures = sorted(change_ids), []
    else:
        changed_ids, failures = change_state(api, to_change, state, module.params['concurrency'])

    done = set(changed_ids)
    views = []
    for ldev in volumes:
        view = volume_view(ldev)
        before = view.pop('status')
        view['before'] = before
        view['after'] = target if int(ldev['ldevId']) in done else before
        views.append(view)
    diff = {
        'before': dict((str(v['ldev_id']), v['before']) for v in views),
        'after': dict((str(v['ldev_id']), v['after']) for v in views),
    }
    result = dict(changed=bool(changed_ids), volumes=views, changed_ldev_ids=changed_ids, diff=diff)
    if module.params['recover_pools'] and state == 'normal' and not failures:
        report = recover_pools(api, [v['pool_id'] for v in views], check_mode=module.check_mode)
        result['pools'] = report['pools']
        result['changed'] = result['changed'] or bool(report['recovered']) or any(
            p['action'] == 'would_recover' for p in report['pools'])
        if report['failures'] or (report['not_normal'] and not module.check_mode):
            first = report['failures'][0] if report['failures'] else {}
            raise VspApiError('The pool volumes are normal, but pool(s) %s are not (poolStatus): %s. Run the task again '
                              'once the cause is fixed.'
                              % (', '.join(str(i) for i in sorted(set(report['not_normal']) | set(f['pool_id'] for f in report['failures']))),
                                 '; '.join(f['msg'] for f in report['failures']) or 'the pool recovery left them so'),
                              message_id=first.get('message_id'), message=first.get('message'), cause=first.get('cause'),
                              solution=first.get('solution'), details=result)
    if failures:
        result['failed_volumes'] = failures
        raise VspApiError('%d of %d pool volume(s) could not be set to %s (failed LDEV ids: %s); changed LDEV ids: %s. '
                          'Fix the cause and run the task again: volumes already %s are left alone.'
                          % (len(failures), len(to_change), state, ', '.join(str(f['ldev_id']) for f in failures),
                             ', '.join(str(i) for i in changed_ids) or 'none', state),
                          message_id=failures[0].get('message_id'), message=failures[0].get('message'),
                          cause=failures[0].get('cause'), solution=failures[0].get('solution'), details=result)
    return result


def main():
    spec = argument_spec(
        parity_groups=dict(type='list', elements='str'),
        pool_ids=dict(type='list', elements='int'),
        ldev_ids=dict(type='list', elements='int'),
        state=dict(type='str', required=True, choices=['blocked', 'normal']),
        concurrency=dict(type='int', default=8),
        recover_pools=dict(type='bool', default=False),
    )
    spec.update(identity_argument_spec())
    module = AnsibleModule(
        argument_spec=spec,
        mutually_exclusive=[('parity_groups', 'pool_ids'), ('pool_ids', 'ldev_ids')],
        required_one_of=[('parity_groups', 'pool_ids', 'ldev_ids')],
        supports_check_mode=True,
    )
    fail_on_error(module, validate.concurrency, module.params['concurrency'], MAX_CONCURRENCY)
    for name, check in (('parity_groups', validate.parity_group_ids), ('pool_ids', validate.pool_ids), ('ldev_ids', validate.ldev_ids)):
        if module.params[name] is not None:
            module.params[name] = fail_on_error(module, check, module.params[name], name)
        fail_on_error(module, validate.not_empty, module.params[name], name)
    run_module(module, run, pool_size=module.params['concurrency'])


if __name__ == '__main__':
    main()
