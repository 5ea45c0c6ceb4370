#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: encryption_key_file_info
short_description: The key backup files of one Hitachi VSP in a directory, what each holds, and what to keep
version_added: 1.0.0
description:
  - Reads the key files (C(*.ekf)) in O(path) and their manifests, on the host that runs the module. It does not
    talk to the storage system and changes nothing.
  - A file counts as the array's only when its manifest names O(storage_device_id); other files, and files that are
    not regular files, too large or whose manifest is missing or malformed, are listed in RV(ignored) and never chosen
    or deleted.
  - Of the array's files, only those whose manifest opens with O(backup_password) (authenticated, intact, not dated
    in the future) are offered as holders, count as the newest, or are deleted by retention; RV(files) says of each
    file whether it counts and why not.
  - Tells which files hold a DEK for every drive in O(lost_drives) (RV(holders)), whether a scheduled backup
    should write a new file (RV(backup_needed), when O(key_fingerprint) is given), and which files retention may
    delete (RV(retention)) - never a file that holds a key the array has and no newer kept file holds.
  - The backup role uses it while keys are lost (which file holds them) and, on the backup hosts, to read their files
    (RV(files), with each manifest) so that the control node decides with the password; the decision whether a new file
    is needed, and retention of its own directory, M(vsp.encryption.encryption_key_backup) makes itself (with
    O(vsp.encryption.encryption_key_backup#module:path) a directory and O(vsp.encryption.encryption_key_backup#module:keep)).
author:
  - vsp.encryption contributors (@vsp-encryption)
extends_documentation_fragment:
  - vsp.encryption.attributes
  - vsp.encryption.attributes.info_module
options:
  path:
    description:
      - The directory of the key files.
    type: path
    required: true
  storage_device_id:
    description:
      - The storage device id of the array (12 digits), as M(vsp.encryption.encryption_key_info) reports it.
    type: str
    required: true
  key_fingerprint:
    description:
      - The array's current key fingerprint (RV(vsp.encryption.encryption_key_info#module:key_fingerprint)); with it the
        module tells whether a new backup is needed.
    type: str
  lost_drives:
    description:
      - Drive locations whose DEK the array lost (RV(vsp.encryption.encryption_key_info#module:lost_drives)).
    type: list
    elements: str
    default: []
  backup_password:
    description:
      - The backup password. A file counts (as a holder, as the newest file, for retention) only when its manifest
        opens with it - the verifier takes the password and the MAC holds. Without it no file counts.
    type: str
  keep:
    description:
      - Retention, as M(vsp.encryption.encryption_key_backup) applies it with O(vsp.encryption.encryption_key_backup#module:keep)
        (this module deletes nothing) - of the files that count, keep the O(keep) newest, every older file that holds a
        key the newest file that counts holds and no newer kept file holds, and every file made in the last hour;
        files that do not count are never deleted, and nothing while O(lost_drives) names a drive. V(0) keeps all.
    type: int
    default: 0
seealso:
  - module: vsp.encryption.encryption_key_backup
  - module: vsp.encryption.encryption_key_restore
'''

EXAMPLES = r'''
- name: What the backup directory holds for this array, and what retention would delete
  vsp.encryption.encryption_key_file_info:
    path: /srv/vsp-key-backups/936000412345
    storage_device_id: "936000412345"
    lost_drives: "{{ info.lost_drives }}"
    keep: 7
  register: files
'''

RETURN = r'''
files:
  description: The key files of this array (by manifest), newest first.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The key file.
      type: str
    created_utc:
      description: UTC time of the backup (from the manifest).
      type: str
    format_version:
      description: Manifest format (1 or 2; only format 2 says which keys the file holds).
      type: int
    intact:
      description: Whether the file still matches its manifest (sha256 and size).
      type: bool
    damaged:
      description:
        - Whether the file is damaged - it does not match its manifest (RV(files[].intact) false) while the manifest opens
          with O(backup_password) (the file the site made, changed since). A mismatch under a manifest that is not
          authenticated is not called damaged. Always V(false) without O(backup_password).
      type: bool
    key_counts:
      description: Keys by type in the file.
      type: dict
    has_password_verifier:
      description: Whether the manifest has a password verifier.
      type: bool
    manifest:
      description:
        - The file's manifest as read (it holds no secret - the password verifier is a slow salted hash), so that a
          control node can decide with the password what the host holds, without the password leaving it.
      type: dict
    counts:
      description: Whether the file counts - its manifest opens with O(backup_password), it matches it, and it is not dated in the future.
      type: bool
    trust:
      description: Why the file does not count, or null when it counts.
      type: str
  sample: [{"path": "/srv/b/936000412345_20261201T020000Z.ekf", "format_version": 2, "intact": true}]
ignored:
  description: Files left out, with the reason (no manifest, another array, unreadable).
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/srv/b/old.ekf", "reason": "no manifest"}]
newest:
  description: The newest key file of this array that counts, or null.
  returned: always
  type: str
  sample: /srv/b/936000412345_20261201T020000Z.ekf
holders:
  description: The files that count and hold a DEK for every drive of O(lost_drives), newest first.
  returned: always
  type: list
  elements: str
  sample: ["/srv/b/936000412345_20261130T020000Z.ekf"]
backup_needed:
  description: Whether a new backup file is needed (keys changed, password changed, no usable file).
  returned: when O(key_fingerprint) is given
  type: bool
  sample: false
backup_reason:
  description: Why (or why not).
  returned: when O(key_fingerprint) is given
  type: str
  sample: the keys are unchanged and the newest file matches its manifest and the password
restore_choice:
  description:
    - The file a restore from this directory would use, with O(backup_password) and O(lost_drives) - the choice of
      M(vsp.encryption.encryption_key_restore) (the newest file that counts and holds a DEK for every lost drive), and
      why; C(path) is null, and C(reason) says why each file was refused, when none fits.
  returned: when O(backup_password) is given
  type: dict
  contains:
    path:
      description: The key file, or null.
      type: str
    reason:
      description: Why this file, or why none.
      type: str
  sample: {"path": "/srv/b/936000412345_20261130T020000Z.ekf", "reason": "the newest key file of this array that opens with the password"}
retention:
  description: What retention deletes (key files; their manifests go with them) and what it keeps, with the reason.
  returned: always
  type: dict
  sample: {"delete": ["/srv/b/936000412345_20261101T020000Z.ekf"], "kept": [{"path": "/srv/b/x.ekf", "reason": "one of the 1 newest"}]}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vsp.encryption.plugins.module_utils import _key_files as key_files
from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils._runner import fail_on_error
from ansible_collections.vsp.encryption.plugins.module_utils._validate import keep, storage_device_id


def run(params):
    sid = storage_device_id(params['storage_device_id'])
    keep(params['keep'])
    files, ignored = key_files.scan(params['path'], sid)
    deriver = mf.Deriver(params['backup_password']) if params['backup_password'] else None
    key_files.authenticate(files, deriver)
    good = key_files.counted(files)
    lost = list(params['lost_drives'] or [])
    holders = key_files.holders(files, lost) if lost else []
    current = good[0]['_keys'] if good else set()
    if lost:  # while keys are lost retention deletes nothing, as the backup module does
        delete, kept = [], [{'path': f['path'], 'reason': 'keys are lost: retention deletes nothing'} for f in files]
    else:
        delete, kept = key_files.retention(files, params['keep'], current, deriver)
    result = dict(changed=False, files=[dict(key_files.public(f), manifest=f['_manifest']) for f in files], ignored=ignored,
                  newest=good[0]['path'] if good else None, holders=[f['path'] for f in holders],
                  retention={'delete': delete, 'kept': kept})
    if params['key_fingerprint']:
        needed, reason = key_files.backup_decision(files, params['key_fingerprint'], deriver)
        result.update(backup_needed=needed, backup_reason=reason)
    if deriver is not None:  # the restore's own choice (key_files.choose_for_restore), with why
        try:
            entry, reason = key_files.choose_for_restore(files, lost, deriver)
            result['restore_choice'] = {'path': entry['path'], 'reason': reason}
        except VspApiError as exc:
            result['restore_choice'] = {'path': None, 'reason': exc.msg}
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            storage_device_id=dict(type='str', required=True),
            key_fingerprint=dict(type='str', no_log=False),
            lost_drives=dict(type='list', elements='str', default=[]),
            backup_password=dict(type='str', no_log=True),
            keep=dict(type='int', default=0),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**fail_on_error(module, run, module.params))


if __name__ == '__main__':
    main()
