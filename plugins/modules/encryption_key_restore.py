#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: encryption_key_restore
short_description: Restore lost encryption keys of a Hitachi VSP from a backup file or from the KMS
version_added: 0.1.0
description:
  - Restores, from a secondary backup, the encryption keys whose key information the storage system lost
    (keys that were not lost are left alone).
  - With O(source=file), uploads the key file O(path) with its O(backup_password), after checking the file
    against its manifest C(<path>.manifest.json) when there is one.
  - With O(source=kms), restores the keys from the key management server.
  - With O(parity_groups), first checks that every pool volume of those parity groups is blocked
    (C(BLK)), as the storage system requires; otherwise it fails, lists the volumes that are not blocked
    and sends nothing. Use M(vsp.encryption.pool_volume_state) to block them, and to recover them afterwards.
author:
  - vsp.encryption contributors (@vsp-encryption)
extends_documentation_fragment:
  - vsp.encryption.connection
  - vsp.encryption.attributes
  - vsp.encryption.attributes.actiongroup_vsp
attributes:
  check_mode:
    support: full
    details:
      - Runs every read-only precondition check (file, manifest, password rule, pool volume states, keys)
        and reports what would be restored; sends no restore request.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - A restore is an action and reports a change whenever it runs. Restoring when no key is lost changes
        nothing on the storage system; RV(keys_restored) is then 0.
options:
  source:
    description:
      - Where to restore the keys from.
    type: str
    choices: [file, kms]
    default: file
  path:
    description:
      - With O(source=file), the key file made by M(vsp.encryption.encryption_key_backup), on the host that runs
        the module. Required when O(source=file).
    type: path
  backup_password:
    description:
      - With O(source=file), the password given when the file was made. Checked against the password rule
        before anything is sent. Required when O(source=file).
    type: str
  verify_manifest:
    description:
      - When C(<path>.manifest.json) exists, check the size and sha256 of O(path) against it and fail before
        anything is sent if they differ.
    type: bool
    default: true
  parity_groups:
    description:
      - Parity groups whose keys are to be restored. Every pool volume of these groups must be blocked, or the
        module fails before any write and lists the volumes that are not.
    type: list
    elements: str
notes:
  - The request format of the restore (from a file and from the KMS) is not in the public documentation
    of the REST API; the collection's guess is marked in C(plugins/module_utils/api.py).
seealso:
  - module: vsp.encryption.encryption_key_backup
  - module: vsp.encryption.pool_volume_state
  - module: vsp.encryption.encryption_key_info
'''

EXAMPLES = r'''
- name: Restore the lost keys of parity group 1-1 from a backup file
  vsp.encryption.encryption_key_restore:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
    path: /srv/vsp-key-backups/900000061726_20261129T101500Z.ekf
    backup_password: "{{ vault_vsp_backup_password }}"
    parity_groups: [1-1]
  delegate_to: localhost

- name: Check the preconditions only
  vsp.encryption.encryption_key_restore:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
    path: /srv/vsp-key-backups/900000061726_20261129T101500Z.ekf
    backup_password: "{{ vault_vsp_backup_password }}"
    parity_groups: [1-1]
  check_mode: true
  delegate_to: localhost

- name: Restore from the key management server
  vsp.encryption.encryption_key_restore:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
    source: kms
    parity_groups: [1-1, 1-2]
  delegate_to: localhost
'''

RETURN = r'''
source:
  description: Where the keys were restored from.
  returned: always
  type: str
  sample: file
path:
  description: The key file.
  returned: when O(source=file)
  type: str
  sample: /srv/vsp-key-backups/900000061726_20261129T101500Z.ekf
sha256:
  description: SHA-256 of the key file.
  returned: when O(source=file)
  type: str
  sample: 0c3d1a...
manifest_verified:
  description: Whether the file was checked against its manifest (false when there is none or O(verify_manifest=false)).
  returned: when O(source=file)
  type: bool
  sample: true
parity_groups:
  description: The parity groups checked.
  returned: always
  type: list
  elements: str
  sample: ['1-1']
pool_volumes:
  description: The pool volumes of O(parity_groups) and their status.
  returned: always
  type: list
  elements: dict
  contains:
    ldev_id:
      description: LDEV id.
      type: int
    status:
      description: Status (C(BLK) blocked, C(NML) normal).
      type: str
  sample: [{"ldev_id": 1, "status": "BLK"}]
keys_restored:
  description: Number of keys listed after the restore minus the number listed before (0 in check mode).
  returned: always
  type: int
  sample: 4
key_counts:
  description: Number of keys by type before the restore (check mode) or after it.
  returned: always
  type: dict
  sample: {"DEK": 8, "CEK": 1, "KEK": 1, "FREE": 22}
job:
  description: The finished job of the restore (id, status, state, times).
  returned: when the restore ran
  type: dict
  sample: {"jobId": 14, "status": "Completed", "state": "Succeeded"}
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vsp.encryption.plugins.module_utils.backup_file import sha256_file, validate_backup_password, verify_against_manifest
from ansible_collections.vsp.encryption.plugins.module_utils.common import argument_spec, fail_on_error, key_counts, run_module
from ansible_collections.vsp.encryption.plugins.module_utils.errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils.jobs import summarize_job
from ansible_collections.vsp.encryption.plugins.module_utils.pool_volumes import PoolVolumeFinder


def check_file(module):
    """Local checks of the file source, before anything is sent. Returns the file facts."""
    params = module.params
    validate_backup_password(params['backup_password'])
    path = params['path']
    if not os.path.isfile(path):
        raise VspApiError('path %s is not a file (nothing was sent to the array)' % path)
    if not os.access(path, os.R_OK):
        raise VspApiError('path %s is not readable (nothing was sent to the array)' % path)
    try:
        if params['verify_manifest']:
            verified, sha256, size, dummy = verify_against_manifest(path)
        else:
            verified = False
            sha256, size = sha256_file(path)
    except OSError as exc:  # readable by mode but not in fact (I/O error, root on a protected mount...)
        raise VspApiError('path %s cannot be read: %s (nothing was sent to the array)' % (path, exc.strerror or type(exc).__name__)) from None
    if size == 0:
        raise VspApiError('path %s is empty (nothing was sent to the array)' % path)
    return dict(path=path, sha256=sha256, manifest_verified=verified)


def count_keys(api):
    return key_counts(api.list_keys_by_type())


def run(module, api, file_facts):
    params = module.params
    parity_groups = params['parity_groups'] or []
    result = dict(changed=False, source=params['source'], parity_groups=parity_groups, pool_volumes=[], keys_restored=0)
    result.update(file_facts)

    volumes = PoolVolumeFinder(api).by_parity_groups(parity_groups) if parity_groups else []
    result['pool_volumes'] = [{'ldev_id': int(v['ldevId']), 'status': v.get('status')} for v in volumes]
    not_blocked = [v for v in result['pool_volumes'] if v['status'] != 'BLK']
    if not_blocked:
        raise VspApiError('Not every pool volume of parity group(s) %s is blocked; block them first '
                          '(vsp.encryption.pool_volume_state state=blocked). Not blocked: %s. Nothing was restored.'
                          % (', '.join(parity_groups), ', '.join('%d (%s)' % (v['ldev_id'], v['status']) for v in not_blocked)),
                          details=dict(result, pool_volumes_not_blocked=not_blocked))

    before = count_keys(api)
    result['key_counts'] = before
    if module.check_mode:
        result['changed'] = True
        result['msg'] = 'Preconditions hold; would restore the lost keys from %s' % (
            file_facts.get('path') if params['source'] == 'file' else 'the KMS')
        return result

    if params['source'] == 'file':
        with open(params['path'], 'rb') as handle:
            content = handle.read()
        job = api.restore_keys_from_file(os.path.basename(params['path']), content, params['backup_password'])
    else:
        job = api.restore_keys_from_kms()
    after = count_keys(api)
    result.update(changed=True, job=summarize_job(job), key_counts=after,
                  keys_restored=sum(after.values()) - sum(before.values()))
    return result


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            source=dict(type='str', default='file', choices=['file', 'kms']),
            path=dict(type='path'),
            backup_password=dict(type='str', no_log=True),
            verify_manifest=dict(type='bool', default=True),
            parity_groups=dict(type='list', elements='str'),
        ),
        required_if=[('source', 'file', ('path', 'backup_password'))],
        supports_check_mode=True,
    )
    file_facts = fail_on_error(module, check_file, module) if module.params['source'] == 'file' else {}

    run_module(module, lambda module, api: run(module, api, file_facts))


if __name__ == '__main__':
    main()
