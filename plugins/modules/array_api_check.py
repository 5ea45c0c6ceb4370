#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: array_api_check
short_description: Check, read only, that a Hitachi VSP answers its REST API as this collection expects
version_added: 1.0.0
description:
  - A first-contact check to run against a production array at any time. It sends only C(GET) requests,
    inside its own session (one log in, one log out); it changes nothing and reads no key material.
  - It checks each fact about the REST API that the collection relies on (both URL forms, the storage
    identity fields, the encryption key list's shape and paging, C(keyId) as a string, the drive location
    of each data encryption key against the drive list, the LDEV fields and the C(POOL) attribute,
    C(composingPoolId), C(isEncryptionEnabled) of parity groups, the drives and LDEVs of a parity group,
    the pool fields, the job object, the error object of a 404) and says for each whether the array
    C(confirmed) it, C(differs) (with what it saw) or it was C(not_checked) (and why).
  - First contact comes first, bounded. The module logs in once; the connection is tried once, with 10 seconds
    (or O(timeout) if smaller) to set up TCP and TLS, without the O(retries). When the array cannot be reached
    (connection refused or timed out, host name unknown), TLS verification fails, or the array refuses the log in,
    the module fails at once, with one message naming the cause and what to check (O(host) / O(port) / O(protocol),
    O(ca_path) / O(validate_certs), or O(username) / O(password), with the array's message id); no check runs,
    every check is C(not_checked), RV(reached) is V(false) and the report is titled "not reached".
    So a wrong port fails within seconds, and a host that drops the traffic within about 10 seconds.
  - After the first contact every request keeps O(retries) and O(timeout). If the array stops answering during the
    check, that check and every later one is C(not_checked) (never C(differs)) and says why.
  - The result holds no secret and no key material (key ids, types and drive locations only), so it can
    be attached to a bug report. The playbook C(vsp.encryption.check_array_api) writes it to a JSON and a
    Markdown file.
  - Only with O(backup_password) does it also send one write, a file backup of the keys, to check the
    answer's headers; that is off by default.
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
      - Without O(backup_password) the module only reads, in check mode too; with it, check mode does not send the backup.
  diff_mode:
    support: N/A
    details:
      - Nothing on the array is changed, except the backup counters with O(backup_password).
  idempotent:
    support: partial
    details:
      - Read only without O(backup_password); with it each run makes one backup and reports a change.
options:
  job_id:
    description:
      - The id of a job the array ran recently (for example from an earlier task's result), read with
        C(GET jobs/<id>) to check the job object. Without it the newest job of the job list is read, if the
        array answers C(GET jobs).
    type: int
  backup_password:
    description:
      - When given, ALSO make one file backup of the keys (C(POST encryption-keys/file/actions/backup/invoke),
        the request M(vsp.encryption.encryption_key_backup) sends) with this password and check the answer
        (HTTP 200, C(Content-Type), C(Content-Disposition), C(Content-Length) against the bytes received).
      - This is a write (the array counts it in each key's C(numOfBackups)) and the task reports C(changed).
        The key file's bytes are read and thrown away, never written to disk nor returned.
      - In check mode the backup is not sent (the check is C(not_checked)).
      - 6 to 255 characters, as for M(vsp.encryption.encryption_key_backup).
    type: str
seealso:
  - module: vsp.encryption.encryption_key_info
'''

EXAMPLES = r'''
- name: Check the array's REST API (read only)
  vsp.encryption.array_api_check:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
  delegate_to: localhost
  register: api_check

- name: Show what differs
  ansible.builtin.debug:
    msg: "{{ api_check.checks | selectattr('status', 'equalto', 'differs') | list }}"
'''

RETURN = r'''
checks:
  description: One entry per fact checked, in a fixed order.
  returned: always (also when the task fails because the array was not reached)
  type: list
  elements: dict
  contains:
    name:
      description: Short name of the check.
      type: str
    fact:
      description: The fact the collection relies on.
      type: str
    status:
      description:
        - C(confirmed), C(differs) or C(not_checked).
        - C(differs) only when the array answered and the answer differs from the fact; what could not be checked
          (the array was not reached, stopped answering, or showed nothing to check) is C(not_checked).
      type: str
    seen:
      description: What the array answered (field names, types, ids; never a secret or key material).
      type: str
    source:
      description: Where the fact comes from (Hitachi documentation, or C([I]) inferred).
      type: str
  sample: [{"name": "storage_identity", "fact": "storageDeviceId is 12 digits, serialNumber an integer, model a text",
            "status": "confirmed", "seen": "storageDeviceId '936000412345', serialNumber 412345, model 'VSP E990'",
            "source": "RG17 / HCS-JA HCSR0086"}]
summary:
  description: Number of checks by status.
  returned: always (also when the task fails because the array was not reached)
  type: dict
  sample: {"confirmed": 20, "differs": 0, "not_checked": 1}
storage:
  description: Identity of the storage system (as far as it could be read).
  returned: always
  type: dict
  sample: {"storage_device_id": "936000412345", "serial_number": 412345, "model": "VSP E990"}
backup_headers:
  description: What the opt-in file backup answered (only with O(backup_password) outside check mode).
  returned: when a backup was made
  type: dict
  sample: {"status": 200, "content_type": "application/octet-stream", "content_disposition": "attachment; filename=\"x.ekf\"",
           "content_length": "5120", "bytes_received": 5120}
api_version:
  description: The C(apiVersion) of C(GET /ConfigurationManager/configuration/version), if answered.
  returned: always
  type: str
  sample: 1.31.0
report_markdown:
  description:
    - The same report as Markdown, for a bug report.
    - When the array was not reached, its title names the address (protocol, host and port) and ends with
      "not reached", and it says why, instead of naming a model.
  returned: always (also when the task fails because the array was not reached)
  type: str
reached:
  description:
    - Whether the first contact succeeded (the array was reached and accepted the log in).
    - V(false) only in the result of a failed task; C(msg) then names the cause (connection refused or timed out,
      TLS verification failed, log in refused) and what to check, and every check is C(not_checked).
  returned: always
  type: bool
  sample: true
request_retries:
  description:
    - Every retry the module made (which request, why, how long it waited), so it is visible at C(-v). Never holds a secret.
  returned: when a request was retried (also on failure)
  type: list
  elements: dict
  sample: [{"method": "GET", "path": "/v1/objects/ldevs", "reason": "HTTP 503", "wait_seconds": 0.61}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vsp.encryption.plugins.module_utils._api_check import Checker, address, markdown, summarize
from ansible_collections.vsp.encryption.plugins.module_utils._keys import storage_view
from ansible_collections.vsp.encryption.plugins.module_utils._runner import argument_spec, fail_on_error, run_module
from ansible_collections.vsp.encryption.plugins.module_utils._validate import backup_password, job_id_option


def run(module, api):
    checker = Checker(api)
    checker.job_id = module.params['job_id']
    checker.backup_password = module.params['backup_password']
    checker.check_mode = module.check_mode
    checker.run()
    storage = storage_view(checker.storage) if checker.storage else {'storage_device_id': None, 'serial_number': None, 'model': None}
    summary = summarize(checker.checks)
    failure = checker.not_reached
    report = markdown(storage, checker.api_version, checker.checks, summary,
                      not_reached=failure.msg if failure is not None else None, where=address(api.client))
    result = dict(changed=checker.backup_headers is not None, checks=checker.checks, summary=summary, storage=storage,
                  api_version=checker.api_version, report_markdown=report, reached=failure is None)
    if checker.backup_headers is not None:
        result['backup_headers'] = checker.backup_headers
    if failure is not None:
        failure.details = result  # the task fails with the cause as msg, and still returns the report
        raise failure
    return result


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(job_id=dict(type='int'), backup_password=dict(type='str', no_log=True)),
        supports_check_mode=True,
    )
    fail_on_error(module, job_id_option, module.params['job_id'])
    if module.params['backup_password'] is not None:
        fail_on_error(module, backup_password, module.params['backup_password'])
    run_module(module, run)


if __name__ == '__main__':
    main()
