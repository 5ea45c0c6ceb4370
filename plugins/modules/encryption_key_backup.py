#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: encryption_key_backup
short_description: Back up the encryption keys of a Hitachi VSP to a password-protected file or to the KMS
version_added: 1.0.0
description:
  - Makes a secondary backup of the encryption keys of the storage system.
  - Before a backup it checks that the array is the one expected (O(expected_storage_device_id),
    O(expected_serial_number)), reads the keys and the key coverage of every encrypted parity group (as
    M(vsp.encryption.encryption_key_info) does) and returns them (RV(encryption_keys), RV(parity_groups),
    RV(lost_parity_groups), RV(lost_drives)).
  - While an encrypted parity group has lost keys it refuses (RV(backup_refused)) - nothing is written or deleted and no
    backup is requested - unless O(allow_lost_keys=true).
  - With O(destination=file), downloads the key file (protected by O(backup_password)) to O(path) on the
    host that runs the module, private (O(mode), default V(0600)) from creation, moved into place only
    when complete, and writes its manifest next to it (RV(manifest_path)).
  - With O(path) a directory, a new key file is made only when needed (see O(force)), and O(keep) applies retention
    there in the same run.
  - The key file written is read back from disk; the task fails when its size, sha256 or permissions differ from the
    download and O(mode) (RV(verified)).
  - With O(destination=kms), asks the storage system to back up the keys (all, or O(key_ids)) to the
    key management server.
  - After a backup it reads the keys again and returns them with the C(numOfBackups) the backup counted up
    (RV(encryption_keys_after)).
  - The manifest C(<file>.manifest.json) (mode 0600, format 2) holds the sha256, size, UTC time, storage device ID,
    serial number, model, key counts by type, the key fingerprint (see RV(key_fingerprint)), the key ids of each type,
    the drive each DEK serves (C(targetDeviceLocation)), a password verifier (a salted PBKDF2-HMAC-SHA256 hash of
    O(backup_password), 600,000 iterations) and an HMAC-SHA256 of the manifest keyed from the same derivation. It is
    always written - only a manifest that opens with the password is believed when a backup, a restore or retention
    reads the directory. The verifier adds nothing to what the key file (encrypted with the same password) already
    allows an attacker who can read the directory.
  - The file content is never returned.
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
      - Reads the storage identity, the keys and the key coverage and reports what would be done - whether a new key
        file is needed (RV(backup_needed)), what would be written, what retention would delete (RV(retention)); sends
        no backup request, writes and deletes nothing.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - With O(path) a directory and O(force=false) (the default), no file is made and nothing is requested while the
        newest key file of this array there that counts holds the current keys; with O(path) an existing file, while
        that file counts and holds the current keys (else it is replaced, or refused when it does not count).
      - O(force=true) with O(path) a directory, and O(destination=kms), back up on every run.
options:
  destination:
    description:
      - Where to back the keys up.
    type: str
    choices: [file, kms]
    default: file
  path:
    description:
      - With O(destination=file), the key file to write on the host that runs the module, or the directory of the key
        files.
      - If it is an existing directory (or ends with C(/) together with O(directory_mode)), a new file, when one is made
        (see O(force)), is named C(<storageDeviceId>_<YYYYmmddTHHMMSSZ>.ekf) (UTC); when a file of that name (or its
        manifest) exists, C(_002), C(_003)... up to C(_999) is added, so no file is ever replaced. The storage device
        id must be the documented 12 digits.
      - The parent directory must exist, unless O(directory_mode) is given.
      - Required when O(destination=file).
    type: path
  backup_password:
    description:
      - With O(destination=file), the password that protects the key file; it is needed to restore the keys.
      - 6 to 255 characters; letters A-Z and a-z, digits 0-9 and the 32 ASCII punctuation symbols
        (such as C(!), C(#), C(@) and C(~), the set of Python's C(string.punctuation)); no spaces, nothing outside ASCII.
        It is checked before anything is sent.
      - Required when O(destination=file).
    type: str
  mode:
    description:
      - Permissions of the key file, as a quoted octal text such as V('0600'). Unquoted, YAML reads 644 as a decimal
        number, which is refused with a message saying to quote it.
      - Owner-only modes only - no setuid, setgid or sticky bit, no group write and no permission for others; the owner
        must be able to read. The manifest is always 0600.
    type: raw
    default: '0600'
  force:
    description:
      - With O(path) a directory and V(false), no backup is requested and nothing is written while the newest key file of
        this array there that counts holds the current keys - its manifest names this array and opens with
        O(backup_password) (its verifier takes the password and its MAC holds), the file still matches it (sha256 and
        size), it is not dated in the future, and its C(key_fingerprint) equals the array's current one
        (RV(key_fingerprint)). A newer file of another password, one without an authenticated manifest, a damaged one
        or one dated in the future never stands in for it. The module then reports no change and returns that file as
        RV(path), with RV(backup_needed) and RV(backup_reason); a key change or a password rotation makes a new file.
        This is the decision of M(vsp.encryption.encryption_key_file_info)
        (RV(vsp.encryption.encryption_key_file_info#module:backup_needed)).
      - With O(path) a directory and V(true), a new key file is made on every run.
      - With O(path) a file that exists and V(false), the same decision for that one file - while it counts and holds the
        current keys, nothing is requested or written (no change, RV(backup_needed=false)); when it counts but the keys
        changed, it is replaced, atomically, with a backup of the current keys; a file that does not count (no
        manifest, another array's, damaged, another password's, unauthenticated) is refused, before any backup is
        requested, naming why, as it is never replaced unseen. V(true) replaces it on every run.
    type: bool
    default: false
  keep:
    description:
      - With O(destination=file) and O(path) a directory, retention after the backup - delete the key files of this array
        there (each with its manifest) that are not needed, in the same run and under the directory's lock.
      - Only files whose manifest opens with O(backup_password) are deleted, and only in favour of newer ones. Kept are the
        O(keep) newest, every file that holds a key the array still has and no newer kept file holds, and every file made
        in the last hour (another run may still be copying or restoring it). Right after a backup that is at most
        O(keep) files plus those of the last hour. Files that do not open with the password, are damaged, have no
        authenticated manifest or are dated in the future are never deleted; a warning names them.
      - Nothing is deleted while an encrypted parity group has lost keys (with O(allow_lost_keys=true), the only case a
        backup is made then), nor in check mode (RV(retention) then says what would be deleted).
      - V(0) keeps every file.
    type: int
    default: 0
  key_ids:
    description:
      - With O(destination=kms), the IDs of the keys to back up. All keys when not given.
    type: list
    elements: str
  directory_mode:
    description:
      - With O(destination=file), create the directory of the key file (O(path) when it ends with C(/) or is a
        directory, else its parent) with missing parents when it does not exist, and give it exactly these permissions,
        as a quoted octal text such as V('0700') (the owner needs write and search permission). Done before anything is
        sent to the array.
      - Not given, the directory must exist and is left as it is.
    type: raw
  allow_lost_keys:
    description:
      - While an encrypted parity group has lost keys (a drive that no listed DEK serves), the module refuses by default,
        and the task fails with RV(backup_refused=true) and the coverage (RV(lost_parity_groups), RV(lost_drives)) before
        anything is written or deleted and before a backup is requested. A backup then would lack those keys, and a
        retention that trusts the newest file could delete the only file that holds them. Restore them first
        (M(vsp.encryption.encryption_key_restore)); M(vsp.encryption.encryption_key_file_info) with
        O(vsp.encryption.encryption_key_file_info#module:lost_drives) names the key file that holds them.
      - V(true) backs up the keys that are left; O(keep) still deletes nothing while keys are lost.
    type: bool
    default: false
notes:
  - The file is written on the host that runs the module; use C(delegate_to) to write it on the controller.
  - Keep the file and its password in different places; both are needed to restore the keys.
seealso:
  - module: vsp.encryption.encryption_key_restore
  - module: vsp.encryption.encryption_key_info
  - module: vsp.encryption.encryption_key_file_info
'''

EXAMPLES = r'''
- name: Back up the keys into a directory, a new file only when the keys or the password changed (run it as often as you like)
  vsp.encryption.encryption_key_backup:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
    path: /srv/vsp-key-backups/
    directory_mode: '0700'
    backup_password: "{{ vault_vsp_backup_password }}"
    keep: 30
    expected_storage_device_id: "900000061726"
  delegate_to: localhost
  register: backup

- name: Make a new key file now, although the keys are unchanged
  vsp.encryption.encryption_key_backup:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
    path: /srv/vsp-key-backups/
    backup_password: "{{ vault_vsp_backup_password }}"
    force: true
  delegate_to: localhost

- name: Back up to a fixed file, replacing it
  vsp.encryption.encryption_key_backup:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
    ca_path: /etc/pki/vsp-ca.pem
    path: /srv/vsp-key-backups/vsp01-latest.ekf
    backup_password: "{{ vault_vsp_backup_password }}"
    force: true
  delegate_to: localhost

- name: Back up two keys to the key management server
  vsp.encryption.encryption_key_backup:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
    destination: kms
    key_ids: ["7", "8"]
  delegate_to: localhost
'''

RETURN = r'''
destination:
  description: Where the keys were backed up.
  returned: always
  type: str
  sample: file
path:
  description:
    - The key file (written, would be written in check mode, or kept). With O(path) a directory and no new file
      needed, the newest key file of this array there, which holds the current keys.
  returned: when O(destination=file) and the backup was not refused
  type: str
  sample: /srv/vsp-key-backups/900000061726_20261129T101500Z.ekf
size:
  description: Size of the key file in bytes.
  returned: when O(destination=file) and a file exists or was written
  type: int
  sample: 5120
sha256:
  description: SHA-256 of the key file.
  returned: when O(destination=file) and a file exists or was written
  type: str
  sample: 0c3d1a...
retention:
  description:
    - With O(keep) above 0 - the key files retention deleted (RV(retention.delete); in check mode, would delete), the
      files it kept with the reason (RV(retention.kept)), and the deletions that failed (RV(retention.failed)).
  returned: when O(keep) is above 0, O(path) is a directory and the backup was not refused
  type: dict
  contains:
    delete:
      description: The key files deleted, each with its manifest.
      type: list
      elements: str
    kept:
      description: The key files kept, each with the reason.
      type: list
      elements: dict
    failed:
      description: The key files that could not be deleted, with the reason.
      type: list
      elements: dict
  sample: {"delete": ["/srv/b/900000061726_20261101T020000Z.ekf"], "kept": [{"path": "/srv/b/x.ekf", "reason": "one of the 1 newest"}], "failed": []}
manifest_path:
  description: The manifest next to the key file (written, would be written in check mode, or the one of the file kept).
  returned: when O(destination=file) and the backup was not refused
  type: str
  sample: /srv/vsp-key-backups/900000061726_20261129T101500Z.ekf.manifest.json
key_counts:
  description: Number of keys by type before the backup.
  returned: when the storage system was asked
  type: dict
  sample: {"DEK": 8, "CEK": 1, "KEK": 1, "FREE": 22}
key_fingerprint:
  description:
    - SHA-256 (hex) of the sorted lines C(<keyType>:<keyId>) of every key listed (DEK, CEK, KEK, FREE).
    - It changes when a key is created, deleted or lost; a backup whose manifest holds the same fingerprint holds the same keys.
    - The M(vsp.encryption.encryption_key_backup) module writes it into the manifest.
  returned: when the storage system was asked
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
storage:
  description: Identity of the storage system.
  returned: when the storage system was asked
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
verified:
  description:
    - The key file written was read back from disk and has the size and sha256 of the download and exactly the
      permissions O(mode) (the task fails otherwise).
  returned: when O(destination=file) and a file was written
  type: bool
  sample: true
directory:
  description:
    - With O(directory_mode), the directory of the key file and whether it was created or its permissions changed
      (in check mode, would be).
  returned: when O(directory_mode) is given
  type: dict
  sample: {"path": "/srv/vsp-key-backups/", "created": false, "mode_changed": false}
encryption_keys:
  description:
    - The keys by type as the storage system listed them before the backup (as
      RV(vsp.encryption.encryption_key_info#module:encryption_keys)).
  returned: when the storage system was asked
  type: dict
  sample: {"DEK": [{"keyId": "7", "keyType": "DEK", "targetDeviceLocation": "HDD00-09", "numOfBackups": 4}], "CEK": [], "KEK": [], "FREE": []}
encryption_keys_after:
  description:
    - The keys by type as the storage system lists them after the backup (as
      RV(vsp.encryption.encryption_key_info#module:encryption_keys)), with C(numOfBackups) counted up.
  returned: when a backup was made (not in check mode)
  type: dict
  sample: {"DEK": [{"keyId": "7", "keyType": "DEK", "targetDeviceLocation": "HDD00-09", "numOfBackups": 5}], "CEK": [], "KEK": [], "FREE": []}
backup_needed:
  description:
    - With O(force=false), whether a new key file was (in check mode, would be) made - in the directory O(path), or in
      place of the existing file O(path).
  returned: when O(path) is a directory or an existing file, O(force=false) and the backup was not refused
  type: bool
  sample: false
backup_reason:
  description: With O(force=false), why a new key file was made or not (in the directory O(path), or in place of the existing file O(path)).
  returned: when O(path) is a directory or an existing file, O(force=false) and the backup was not refused
  type: str
  sample: the keys are unchanged and the newest file 900000061726_20261128T101500Z.ekf matches its manifest and opens with the password
parity_groups:
  description:
    - The key coverage of every encrypted parity group before the backup (as
      RV(vsp.encryption.encryption_key_info#module:parity_groups)).
  returned: when the storage system was asked
  type: list
  elements: dict
  sample: [{"parity_group_id": "1-1", "is_encryption_enabled": true, "drive_locations": ["HDD00-00"], "drives_without_key": [], "keys_lost": false}]
lost_parity_groups:
  description: The encrypted parity groups with lost keys.
  returned: when the storage system was asked
  type: list
  elements: str
  sample: []
lost_drives:
  description: The drives of those groups that no DEK serves.
  returned: when the storage system was asked
  type: list
  elements: str
  sample: []
coverage_evidence:
  description: How the coverage was decided (as RV(vsp.encryption.encryption_key_info#module:coverage_evidence)).
  returned: when the storage system was asked
  type: str
damaged_files:
  description:
    - The key files of this array in the directory that are damaged - their bytes no longer match their manifest, which
      the backup password authenticates - newest first, each with C(path), C(name), C(created_utc), C(sha256) and
      C(size) (of the bytes) and C(manifest_sha256) and C(manifest_size) (what the manifest says). They are never used
      or deleted; a warning names them (capped), and counts the key files of other arrays in the directory.
  returned: when O(path) is a directory (after the decision; empty when none is damaged)
  type: list
  elements: dict
  sample: [{"path": "/srv/vsp-key-backups/936000412345_20261201T020004Z.ekf", "name": "936000412345_20261201T020004Z.ekf",
            "created_utc": "2026-12-01T02:00:04Z", "sha256": "9f2c...", "size": 12288, "manifest_sha256": "5d41...",
            "manifest_size": 12288}]
backup_refused:
  description:
    - V(true) when the module refused because keys are lost and O(allow_lost_keys=false); nothing was written or deleted
      and no backup was requested.
  returned: when the backup was refused (a failed task)
  type: bool
  sample: true
job:
  description: The finished job of the KMS backup (id, status, state, times).
  returned: when O(destination=kms) and not in check mode
  type: dict
  sample: {"jobId": 12, "status": "Completed", "state": "Succeeded"}
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

from ansible_collections.vsp.encryption.plugins.module_utils import _key_files as key_files
from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils._backup_file import (
    backup_file_name,
    download_new_backup_file,
    download_response,
    ensure_directory,
    utc_now,
    verify_written,
    write_manifest_or_remove,
)
from ansible_collections.vsp.encryption.plugins.module_utils._coverage import EVIDENCE, parity_group_coverage
from ansible_collections.vsp.encryption.plugins.module_utils._keys import check_identity, key_counts, key_fingerprint, storage_view
from ansible_collections.vsp.encryption.plugins.module_utils._runner import argument_spec, fail_on_error, identity_argument_spec, run_module
from ansible_collections.vsp.encryption.plugins.module_utils._validate import backup_password, directory_mode, key_file_mode, writable_parent
from ansible_collections.vsp.encryption.plugins.module_utils._validate import keep as validate_keep
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils._jobs import summarize_job


def check_local(module):
    """Every local check, before anything is sent. Returns ``(path_is_dir, existing_file)``."""
    params = module.params
    if params['destination'] != 'file':
        return False, False
    backup_password(params['backup_password'])
    key_file_mode(params['mode'])
    path = params['path']
    if params['directory_mode'] is not None:
        as_dir = path.endswith(('/', os.sep)) or os.path.isdir(path)
        directory = path if as_dir else os.path.dirname(os.path.abspath(path))
        module.directory_report = ensure_directory(directory, directory_mode(params['directory_mode']),
                                                   check_mode=module.check_mode)
        if module.directory_report['created'] and module.check_mode:
            return as_dir, False
    validate_keep(params['keep'])
    if os.path.isdir(path):
        return True, False
    if params['keep'] and not path.endswith(('/', os.sep)):
        raise VspApiError('keep: %s is not a directory. The rule: retention keeps the newest key files of this array in a '
                          'directory, so path must name the directory. Nothing was sent to the array.' % path)
    writable_parent(path)
    return False, os.path.exists(path)


def read_array(api, params):
    """The array before a backup: its identity (checked against the expected one), its keys and the key coverage of
    every encrypted parity group (retention and the refusal must know which keys are lost). Refused while keys are
    lost, unless ``allow_lost_keys``. Returns ``(keys, facts)``: the facts are result fields."""
    storage = storage_view(api.storage())
    check_identity(storage, params['expected_storage_device_id'], params['expected_serial_number'])
    keys = api.list_keys_by_type()
    cov = parity_group_coverage(api, keys.get('DEK') or [])
    facts = dict(storage=storage, key_counts=key_counts(keys), key_fingerprint=key_fingerprint(keys), encryption_keys=keys,
                 parity_groups=cov['parity_groups'], lost_parity_groups=cov['lost_parity_groups'],
                 lost_drives=cov['lost_drives'], coverage_evidence=EVIDENCE)
    if cov['lost_parity_groups'] and not params['allow_lost_keys']:
        refused = dict(facts, changed=False, destination=params['destination'], backup_refused=True)
        raise VspApiError(lost_keys_refusal(facts), details=refused)
    return keys, facts


def lost_keys_refusal(facts):
    return ('Keys of parity group(s) %s of array %s are lost (drives without a DEK: %s). Nothing was written or deleted and '
            'no backup was requested: a backup now would lack those keys. Restore them first '
            '(vsp.encryption.encryption_key_restore), or set allow_lost_keys=true to back up the keys that are left '
            '(retention then deletes nothing).'
            % (', '.join(facts['lost_parity_groups']), facts['storage']['storage_device_id'], ', '.join(facts['lost_drives'])))


def run_file(module, api, path_is_dir, existing):
    params = module.params
    path = params['path']
    result = dict(changed=False, destination='file')
    keys, facts = read_array(api, params)
    directory = path if path_is_dir else os.path.dirname(os.path.abspath(path))
    result.update(facts)
    target = Target(directory, path_is_dir, keys)
    if existing and not params['force']:  # a fixed file: kept while it holds the current keys, else replaced
        needed, reason, found = key_files.fixed_file_decision(path, facts['storage']['storage_device_id'],
                                                              facts['key_fingerprint'], target.deriver(params))
        result.update(backup_needed=needed, backup_reason=reason)
        if not needed:
            result.update(path=path, size=found['size'], sha256=found['sha256'], manifest_path=mf.manifest_path(path),
                          msg='No new backup: %s' % reason)
            return result
        target.files = [found]  # its salt is reused: the password is derived once
    # one run at a time in a directory: the name, the file, its manifest and retention (no lock file in check mode, nor
    # beside a fixed path, which is replaced atomically and has no retention)
    if module.check_mode or not path_is_dir or not os.path.isdir(directory):
        return backup_into(module, api, result, target)
    with key_files.DirectoryLock(directory):
        return backup_into(module, api, result, target)


class Target(object):
    """Where a file backup goes: the directory, whether ``path`` names it, the keys the array has now, the files of
    this array there, and the one :class:`manifest.Deriver` of the run (the decision, the salt reuse and retention
    share its derivations)."""

    def __init__(self, directory, is_dir, keys):
        self.directory = directory
        self.is_dir = is_dir
        self.keys = keys
        self.files = []
        self.ignored = []  # the other files of the directory, as key_files.scan sets them aside
        self._deriver = None

    def deriver(self, params):
        if self._deriver is None:
            self._deriver = mf.Deriver(params['backup_password'])
        return self._deriver


def backup_into(module, api, result, target):
    """The decision, the backup, its manifest and retention, for a directory that no other run writes now."""
    params = module.params
    path = params['path']
    storage, counts, fingerprint = result['storage'], result['key_counts'], result['key_fingerprint']
    if target.is_dir:
        path = os.path.join(path, backup_file_name(storage['storage_device_id'], utc_now()))
    result.update(changed=True, path=path, manifest_path=mf.manifest_path(path))
    deriver = target.deriver(params)
    if target.is_dir and os.path.isdir(target.directory):
        target.files, target.ignored = key_files.scan(target.directory, storage['storage_device_id'])
    if target.is_dir and not params['force']:  # idempotence: a new file only when the newest one that counts is not enough
        needed, reason = key_files.backup_decision(target.files, fingerprint, deriver)
        result.update(backup_needed=needed, backup_reason=reason)
        if not needed:
            unchanged_result(result, target.files)
            return apply_retention(module, result, target, deriver)
    if module.check_mode:
        result['msg'] = 'Would back up %d keys to %s' % (sum(counts.values()), path)
        return apply_retention(module, result, target, deriver)
    mode = key_file_mode(params['mode'])
    salt, iterations = key_files.reusable_salt(target.files, deriver)
    response = api.backup_keys_to_file(params['backup_password'])
    if target.is_dir:  # a new, unique name: never replaces a file made in the same second
        path, size, sha256 = download_new_backup_file(response, target.directory, storage['storage_device_id'], mode=mode)
    else:
        size, sha256 = download_response(response, path, mode=mode)
    result.update(path=path, size=size, sha256=sha256, manifest_path=mf.manifest_path(path))
    manifest_data = mf.build(os.path.basename(path), size, sha256, storage=storage, keys_by_type=target.keys,
                             key_fingerprint=fingerprint, deriver=deriver, salt=salt,
                             iterations=iterations or mf.KDF_ITERATIONS)
    write_manifest_or_remove(path, mf.dumps(manifest_data))
    result['verified'] = verify_written(path, size, sha256, mode)
    result['encryption_keys_after'] = api.list_keys_by_type()  # numOfBackups counted up by the backup
    if target.is_dir and params['keep']:
        target.files = key_files.scan(target.directory, storage['storage_device_id'])[0]  # with the new file
    return apply_retention(module, result, target, deriver)


def apply_retention(module, result, target, deriver):
    """Retention (``keep``) in a directory, after the backup: nothing while keys are lost, nothing in check mode."""
    if not target.is_dir:
        return result
    keep, files = module.params['keep'], target.files
    if keep and result.get('lost_parity_groups'):
        result['retention'] = {'delete': [], 'failed': [], 'kept': [
            {'path': f['path'], 'reason': 'keys of parity group(s) %s are lost: retention deletes nothing'
             % ', '.join(result['lost_parity_groups'])} for f in files]}
    elif keep:
        delete, kept = key_files.retention(files, keep, key_files.key_tokens(target.keys), deriver)
        failed = []
        if delete and not module.check_mode:
            delete, failed = key_files.delete_files(delete, target.directory)
            result['changed'] = True
        result['retention'] = {'delete': delete, 'kept': kept, 'failed': failed}
        for item in failed:
            module.warn('Retention could not delete %s: %s.' % (item['path'], item['reason']))
    # authenticate marks each file once: the decision or retention did, except in check mode with force
    key_files.authenticate(files, deriver)
    result['damaged_files'] = [key_files.damaged_view(f) for f in key_files.damaged(files)]
    for warning in (key_files.damaged_warning(files, target.ignored), key_files.set_aside_warning(files)):
        if warning:
            module.warn(warning)
    return result


def unchanged_result(result, files):
    """No new file: the newest key file of this array that counts holds the current keys (the one the decision read)."""
    newest = key_files.counted(files)[0]
    result.update(changed=False, path=newest['path'], size=newest['size'], sha256=newest['sha256'],
                  manifest_path=mf.manifest_path(newest['path']),
                  msg='No new backup: %s' % result['backup_reason'])
    return result


def run_kms(module, api):
    result = dict(read_array(api, module.params)[1], changed=True, destination='kms')
    key_ids = module.params['key_ids']
    if module.check_mode:
        result['msg'] = 'Would back up %s to the key management server' % (
            'the keys %s' % ', '.join(key_ids) if key_ids else 'every key')
        return result
    job = api.backup_keys_to_kms(key_ids)
    result['job'] = summarize_job(job)
    result['encryption_keys_after'] = api.list_keys_by_type()  # numOfBackups counted up by the backup
    return result


def main():
    spec = argument_spec(
        destination=dict(type='str', default='file', choices=['file', 'kms']),
        path=dict(type='path'),
        backup_password=dict(type='str', no_log=True),
        mode=dict(type='raw', default='0600'),
        force=dict(type='bool', default=False),
        keep=dict(type='int', default=0),
        key_ids=dict(type='list', elements='str', no_log=False),
        directory_mode=dict(type='raw'),
        allow_lost_keys=dict(type='bool', default=False),
    )
    spec.update(identity_argument_spec())
    module = AnsibleModule(
        argument_spec=spec,
        required_if=[('destination', 'file', ('path', 'backup_password'))],
        supports_check_mode=True,
    )
    module.directory_report = None
    path_is_dir, existing = fail_on_error(module, check_local, module)

    def run(module, api):
        if module.params['destination'] == 'kms':
            return run_kms(module, api)
        result = run_file(module, api, path_is_dir, existing)
        if module.directory_report is not None:
            result['directory'] = module.directory_report
            result['changed'] = result['changed'] or module.directory_report['created'] or module.directory_report['mode_changed']
        return result

    run_module(module, run)


if __name__ == '__main__':
    main()
