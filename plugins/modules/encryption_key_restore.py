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
version_added: 1.0.0
description:
  - Restores, from a secondary backup, the encryption keys whose key information the storage system lost
    (keys that were not lost are left alone).
  - Before any write it decides, and returns as RV(plan), which parity groups have lost keys (every encrypted
    parity group of the array is read), which groups to act on (O(parity_groups), or the groups with lost keys
    when it is not given), which key file to use and why, and which pool volumes and pools go offline.
  - With O(source=file), uploads the key file with its O(backup_password). O(path) may name the file or the
    backup directory; from a directory it takes the newest key file of this array (by its manifest) that holds a
    DEK for every drive that lost its key. The file must be this array's, match its manifest, hold the lost keys
    and, when the manifest has a password verifier, open with O(backup_password); otherwise the module fails
    naming the rule and sends nothing.
  - With O(source=kms), restores the keys from the key management server.
  - Every pool volume of the parity groups must be blocked (C(BLK)), as the storage system requires; otherwise
    the module fails, lists the volumes that are not blocked and sends nothing. Use
    M(vsp.encryption.pool_volume_state) to block them, and to recover them afterwards.
  - After the restore it reads the key coverage again and fails when keys are still lost, so that no recovery
    is tried that must fail.
  - "Plan, review, apply: run it in check mode, show RV(plan) and have it confirmed, block the pool volumes, then run it
    with O(plan) (and O(backup_password)). That run makes the plan again from the array and the file, with every check
    (identity, key coverage, file chosen, manifest authenticated with the password, lost drives held), and refuses a
    plan that no longer holds - another array, other groups with lost keys or other drives without a DEK, other groups
    to act on, another source, key file or sha256 - before any write, naming each difference."
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
      - Runs every read-only check (file, manifest, password rule and verifier, key coverage, pool volume states)
        and returns the plan; sends no restore request. The restore role uses it as its preflight.
      - With O(plan), checks that the plan still holds, and sends no restore request either.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - When no parity group shows lost keys (and O(force=false)) nothing is restored and the module reports no change.
options:
  plan:
    description:
      - The plan to apply, RV(plan) of a check-mode run of this module (for example C("{{ planned.plan }}")), unchanged.
      - The source, the path, the parity groups and O(force) are those the plan was made with (RV(plan.made_with)), so
        O(source), O(path), O(parity_groups) and O(force) are refused with it. Give O(backup_password) again (the plan
        holds no secret), and O(verify_manifest) as the plan was made.
      - The plan is made again and compared with this one before any write; a plan that no longer holds is refused as
        stale, naming each difference. A plan is not refused for its age alone (RV(plan.created_utc)).
      - Something that is not a plan of this module (a field missing or of the wrong type, another RV(plan.format_version))
        is refused before any request.
    type: dict
  source:
    description:
      - Where to restore the keys from.
      - Not with O(plan), which names the source.
    type: str
    choices: [file, kms]
    default: file
  path:
    description:
      - With O(source=file), the key file made by M(vsp.encryption.encryption_key_backup), or the directory that
        holds the key files, on the host that runs the module. Required when O(source=file), without O(plan).
      - Not with O(plan), which names the path it was made with.
    type: path
  backup_password:
    description:
      - With O(source=file), the password given when the file was made. Checked against the password rule and
        against the manifest's password verifier before anything is sent (also with O(plan), as no run skips the check).
        Required when O(source=file), and with a O(plan) made with O(source=file).
    type: str
  verify_manifest:
    description:
      - Check the key file against its manifest C(<path>.manifest.json) (this array's, intact, holds the lost
        keys, password verifier) and refuse a file without a manifest.
      - Set V(false) only on purpose, for a file whose manifest is lost; O(path) must then name the file.
    type: bool
    default: true
  parity_groups:
    description:
      - Parity groups whose pool volumes are blocked for the restore, as a list or comma-separated text
        (V(1-1, 1-2)). Each must be a parity group id such as V(1-1).
      - When not given, the parity groups that the array shows with lost keys.
      - When given, it must include every parity group with lost keys.
      - Not with O(plan), which names the parity groups it was made with.
    type: list
    elements: str
  force:
    description:
      - Restore even when no parity group shows lost keys (for an array that keeps lost keys listed).
        Needs O(parity_groups).
      - Not with O(plan), which says whether it was made with O(force).
    type: bool
    default: false
notes:
  - The request format of the restore (from a file and from the KMS) is not in the public documentation
    of the REST API; the collection's guess is marked in C(plugins/module_utils/_api.py).
  - Lost keys are found from the key coverage of the drives (see RV(plan.evidence)). On an array that keeps
    lost keys listed no loss shows; name the parity groups and set O(force=true).
seealso:
  - module: vsp.encryption.encryption_key_backup
  - module: vsp.encryption.pool_volume_state
  - module: vsp.encryption.encryption_key_info
'''

EXAMPLES = r'''
# Plan, review, apply (what the role vsp.encryption.encryption_key_restore does, with batches and a resume hint).
- name: Plan the restore (check mode); the groups with lost keys and the file come from the array and the manifests
  vsp.encryption.encryption_key_restore:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
    path: /srv/vsp-key-backups/900000061726/
    backup_password: "{{ vault_vsp_backup_password }}"
  check_mode: true
  delegate_to: localhost
  no_log: true  # the task takes the backup password; the plan holds no secret
  register: planned

- name: Review the plan
  ansible.builtin.debug:
    msg: "{{ planned.plan.lines }}"

- name: Confirm it
  ansible.builtin.pause:
    prompt: "The pool volumes {{ planned.plan.volumes_to_block }} go offline. Enter to go on, Ctrl+C and A to stop"
  when: planned.plan.restore_needed

- name: Block every pool volume of the parity groups of the plan
  vsp.encryption.pool_volume_state:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
    parity_groups: "{{ planned.plan.parity_groups }}"
    state: blocked
  delegate_to: localhost
  when: planned.plan.restore_needed

- name: Apply the plan (refused before any write when it no longer holds)
  vsp.encryption.encryption_key_restore:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
    plan: "{{ planned.plan }}"
    backup_password: "{{ vault_vsp_backup_password }}"
  delegate_to: localhost
  no_log: true
  when: planned.plan.restore_needed

- name: Recover the pool volumes
  vsp.encryption.pool_volume_state:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
    parity_groups: "{{ planned.plan.parity_groups }}"
    state: normal
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
  description: The key file used (or that would be used).
  returned: when O(source=file)
  type: str
  sample: /srv/vsp-key-backups/900000061726/900000061726_20261129T101500Z.ekf
sha256:
  description: SHA-256 of the bytes uploaded.
  returned: when O(source=file) and the restore ran
  type: str
  sample: 0c3d1a...
manifest_verified:
  description: Whether the file was checked against its manifest (false with O(verify_manifest=false)).
  returned: when O(source=file)
  type: bool
  sample: true
parity_groups:
  description: The parity groups acted on.
  returned: always
  type: list
  elements: str
  sample: ['1-1']
pool_volumes:
  description: The pool volumes of RV(parity_groups) and their status.
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
storage:
  description: Identity of the storage system.
  returned: when the storage system was asked
  type: dict
  sample: {"storage_device_id": "900000061726", "serial_number": 61726, "model": "VSP 5600"}
job:
  description: The finished job of the restore (id, status, state, times).
  returned: when the restore ran
  type: dict
  sample: {"jobId": 14, "status": "Completed", "state": "Succeeded"}
resume_path:
  description: When keys are still lost after the restore, the key file that holds them (or the directory) for a rerun.
  returned: when the restore ran and keys are still lost
  type: str
  sample: /srv/vsp-key-backups/900000061726/900000061726_20261128T101500Z.ekf
lost_parity_groups_after:
  description: Parity groups with lost keys after the restore (empty on success).
  returned: when the restore ran
  type: list
  elements: str
  sample: []
plan:
  description:
    - The decisions made before any write (also in check mode). Plain data, no secret; give it back unchanged as O(plan)
      to apply it.
    - With O(plan), the plan made again (with a new RV(plan.created_utc)).
  returned: when the storage system was asked
  type: dict
  contains:
    format_version:
      description: The format of the plan (V(1)); O(plan) takes a plan of a format this version of the collection reads.
      type: int
    created_utc:
      description: When the plan was made (UTC, C(YYYY-MM-DDThh:mm:ssZ)), so that an old plan can be told.
      type: str
    made_with:
      description: The options the plan was made with; a run with O(plan) makes the plan again with them.
      type: dict
      contains:
        source:
          description: O(source).
          type: str
        path:
          description: O(path) as given (the file, or the directory); null with O(source=kms).
          type: str
        parity_groups:
          description: O(parity_groups) as given, or null when not given.
          type: list
          elements: str
        force:
          description: O(force).
          type: bool
    storage:
      description: Identity of the storage system the plan was made on (storage_device_id, serial_number, model).
      type: dict
    source:
      description: Where the keys are restored from.
      type: str
    parity_groups:
      description: The parity groups acted on.
      type: list
      elements: str
    parity_groups_named:
      description: Whether O(parity_groups) named them (else they are the groups with lost keys).
      type: bool
    lost_parity_groups:
      description: Every encrypted parity group of the array with lost keys.
      type: list
      elements: str
    lost_drives:
      description: Drive locations of encrypted parity groups that no DEK serves.
      type: list
      elements: str
    evidence:
      description: On what evidence keys are taken as lost.
      type: str
    restore_needed:
      description: Whether a restore is needed (keys lost, or O(force)).
      type: bool
    forced:
      description: Whether the restore is needed only because of O(force) (no group shows lost keys).
      type: bool
    path:
      description: The key file used (or to be used).
      type: str
    path_reason:
      description: Why that file.
      type: str
    sha256:
      description: The sha256 of that file, which its manifest gives and the file was found to have (null without a manifest check).
      type: str
    manifest_verified:
      description: Whether the file was checked against its manifest.
      type: bool
    password_checked:
      description: Whether O(backup_password) matches the manifest's password verifier (null when there is none).
      type: bool
    key_counts:
      description: Number of keys by type when the plan was made.
      type: dict
    warnings:
      description: Warnings about the file chosen (also in RV(plan.lines)).
      type: list
      elements: str
    volumes:
      description: Pool volumes of the parity groups with status and pool id.
      type: list
      elements: dict
    volumes_to_block:
      description: LDEV ids to block.
      type: list
      elements: int
    volumes_to_recover:
      description: LDEV ids to recover afterwards.
      type: list
      elements: int
    pools:
      description: Pool ids of those pool volumes.
      type: list
      elements: int
    pools_to_recover:
      description:
        - Pool ids the recovery brings back to normal (C(POLN)) afterwards. With a restore, every pool of RV(plan.pools);
          without one, those of them that are not normal now (left so by an earlier run), read once per pool.
      type: list
      elements: int
    coverage:
      description: The key coverage of every encrypted parity group (its drives, which of them no DEK serves).
      type: list
      elements: dict
    offline:
      description: In check mode with a restore planned, the pools and DP volumes that go offline (null otherwise).
      type: dict
    lines:
      description: The plan in words, for the operator.
      type: list
      elements: str
  sample: {"format_version": 1, "created_utc": "2026-12-01T02:00:00Z", "parity_groups": ["1-1"], "lost_parity_groups": ["1-1"],
           "restore_needed": true, "volumes_to_block": [1, 2]}
request_retries:
  description:
    - Every retry the module made (which request, why, how long it waited), so it is visible at C(-v). Never holds a secret.
  returned: when a request was retried (also on failure)
  type: list
  elements: dict
  sample: [{"method": "GET", "path": "/v1/objects/ldevs", "reason": "HTTP 503", "wait_seconds": 0.61}]
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils import _restore_plan as restore_plan
from ansible_collections.vsp.encryption.plugins.module_utils._keys import key_counts, storage_view
from ansible_collections.vsp.encryption.plugins.module_utils._lists import bracketed
from ansible_collections.vsp.encryption.plugins.module_utils._runner import argument_spec, fail_on_error, identity_argument_spec, run_module
from ansible_collections.vsp.encryption.plugins.module_utils._coverage import parity_group_coverage
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils._jobs import summarize_job
from ansible_collections.vsp.encryption.plugins.module_utils._validate import (
    backup_password, named_file_without_manifest, parity_group_ids, readable_path)


def run_params(params):
    """The options of this run: with ``plan``, the source, path, parity groups and force it was made with (a plan that
    is not one of this module is refused)."""
    if params['plan'] is None:
        return params
    return dict(params, **restore_plan.options_of(params['plan']))


def check_local(params):
    """Local checks, before anything is sent."""
    given = params
    params = run_params(params)
    parity_group_ids(params['parity_groups'])
    if params['source'] != 'file':
        return
    if given['plan'] is not None and params['backup_password'] is None:
        raise VspApiError('backup_password: the plan restores from the key file %s; give its backup_password (the plan holds '
                          'no secret): the password is checked against the manifest again and sent with the file.%s'
                          % (params['path'], restore_plan.NOTHING_SENT_TO_ARRAY))
    missing = [name for name in ('path', 'backup_password') if params[name] is None]
    if missing:
        raise VspApiError('source is file but all of the following are missing: %s' % ', '.join(missing))
    backup_password(params['backup_password'])
    readable_path(params['path'])
    named_file_without_manifest(params['path'], params['verify_manifest'])


def restore(api, params, plan):
    """Upload the file (read once: the bytes checked are the bytes sent) or restore from the KMS."""
    if params['source'] == 'kms':
        return api.restore_keys_from_kms(), 'the key management server', None
    # the sha256 the plan checked the file against (its manifest's): the bytes sent must still have it
    content, sha256 = restore_plan.read_upload(plan['path'], plan['sha256'] if plan['manifest_verified'] else None)
    job = api.restore_keys_from_file(os.path.basename(plan['path']), content, params['backup_password'])
    return job, 'the key file %s' % plan['path'], sha256


def run(module, api):
    params = run_params(module.params)
    deriver = mf.Deriver(params['backup_password']) if params['source'] == 'file' and params['verify_manifest'] else None
    if deriver is not None:
        restore_plan.start_derivation(params['path'], deriver)  # while the array is read
    storage = storage_view(api.storage())
    # with a plan given back: made again, every check included; refused as stale when anything differs
    plan = restore_plan.make_plan(api, params, storage, deriver, offline=module.check_mode, against=module.params['plan'])
    for warning in plan['warnings']:
        module.warn(warning)
    result = dict(changed=False, source=params['source'], parity_groups=plan['parity_groups'], plan=plan, storage=storage,
                  pool_volumes=[{'ldev_id': v['ldev_id'], 'status': v['status']} for v in plan['volumes']],
                  keys_restored=0, key_counts=plan['key_counts'])
    if params['source'] == 'file':
        result.update(path=plan['path'], manifest_verified=plan['manifest_verified'])
    if not plan['restore_needed']:
        result['msg'] = 'No encrypted parity group of the array shows lost keys: nothing to restore'
        return result
    if module.check_mode:
        held = 'the plan given still holds. ' if module.params['plan'] is not None else ''
        result.update(changed=True, msg='Check mode, nothing was sent: ' + held + ' '.join(plan['lines']))
        return result
    not_blocked = [v for v in result['pool_volumes'] if v['status'] != 'BLK']
    if not_blocked:
        raise VspApiError('Not every pool volume of parity group(s) %s is blocked; block them first '
                          '(vsp.encryption.pool_volume_state state=blocked). Not blocked: %s. Nothing was restored.'
                          % (bracketed(plan['parity_groups']),
                             ', '.join('%d (%s)' % (v['ldev_id'], v['status']) for v in not_blocked)),
                          details=dict(result, pool_volumes_not_blocked=not_blocked))
    job, source_text, sha256 = restore(api, params, plan)
    keys_after = api.list_keys_by_type()
    after = key_counts(keys_after)
    cov = parity_group_coverage(api, keys_after.get('DEK') or [])
    result.update(changed=True, job=summarize_job(job), key_counts=after, lost_parity_groups_after=cov['lost_parity_groups'],
                  keys_restored=sum(after.values()) - sum(plan['key_counts'].values()))
    if sha256:
        result['sha256'] = sha256
    if cov['lost_parity_groups']:
        if params['source'] == 'file':  # what a rerun should use: the file that holds the keys, else the directory
            # a file counts as a holder only when its manifest opens with the password (also after verify_manifest: false)
            deriver = deriver or mf.Deriver(params['backup_password'])
            result['resume_path'] = restore_plan.holder_path(plan, cov, deriver) or os.path.dirname(os.path.abspath(plan['path']))
        raise VspApiError(restore_plan.still_lost_message(source_text, cov, restore_plan.holder_hint(plan, cov, deriver)),
                          details=result)
    result['msg'] = 'Restored %d key(s) from %s' % (result['keys_restored'], source_text)
    return result


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            plan=dict(type='dict'),
            source=dict(type='str', default='file', choices=['file', 'kms']),
            path=dict(type='path'),
            backup_password=dict(type='str', no_log=True),
            verify_manifest=dict(type='bool', default=True),
            parity_groups=dict(type='list', elements='str'),
            force=dict(type='bool', default=False),
            **identity_argument_spec()
        ),
        # with a plan, these are the plan's (defaults do not count: Ansible checks this before it sets them)
        mutually_exclusive=[('plan', 'source'), ('plan', 'path'), ('plan', 'parity_groups'), ('plan', 'force')],
        supports_check_mode=True,
    )
    fail_on_error(module, check_local, module.params)
    run_module(module, run)


if __name__ == '__main__':
    main()
