#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: array_capture
short_description: Write a read-only capture of a Hitachi VSP's answers, to rehearse a key loss on a twin
version_added: 1.1.0
description:
  - Reads, with C(GET) requests only and inside its own session (one log in, one log out), every answer the key-loss
    procedure of this collection reads from the array - the REST API version, the storage system, the parity groups,
    the drives (all, and those of each encrypted parity group), the LDEVs of each encrypted parity group, the pools,
    the pool volumes and DP volumes of the pools those groups belong to, the encryption key list of each type
    (metadata only, with every page as the array sent it) and the recent jobs - and writes them, as the array sent
    them, to a local JSON file with a format version, the time, the collection version and the REST API version.
  - The C(vsp-simulator --capture FILE) command of the collection's simulator serves such a file as a twin of the
    array, on which a site can rehearse the loss and restore of its keys.
  - The capture holds no secret. The password and the session token are sent in headers, never recorded; key
    material is never read (the key list holds metadata only); any field whose name says it may hold a secret
    (for example C(password), C(token) or a job's C(requestBody)) is written as C([not captured]).
  - The file is written atomically (a private temporary file in the same directory, moved into place when complete)
    with mode C(0600); an existing file at O(path) is replaced only then. The directory must exist.
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
      - In check mode the array is read as usual (only C(GET) requests) but no file is written; RV(summary) tells
        what the capture would hold.
  diff_mode:
    support: N/A
    details:
      - Nothing on the array is changed.
  idempotent:
    support: none
    details:
      - Each run writes a new capture (with its own time) and reports a change.
options:
  path:
    description:
      - The local file to write, on the host that runs the module (usually the control node, with
        C(delegate_to=localhost) or C(connection=local)). Its directory must exist.
    type: path
    required: true
  redact:
    description:
      - Replace the serial numbers (of the storage system and of the drives), the storage device id's serial part,
        names (pool names, LDEV labels and other names), WWNs and IP addresses, so that the capture can be shared.
      - Replacements are consistent within a capture (the same value is always replaced by the same text) and keep
        each value's form (a storage device id stays 12 digits, ending with the replaced serial number; an address
        stays an IPv4 address of a documentation network), so a twin serves a redacted capture too.
      - The replacements are not kept anywhere, so they cannot be reversed from the file.
    type: bool
    default: false
notes:
  - Size and time, measured against the simulator with 1,024 pool volumes and 4,096 keys, are in the user guide
    (docs/twin.md); a capture is refused, and nothing written, beyond 64 MiB.
  - A capture is bounded in time. It stops, writes nothing, and names what it had read so far once the longer of
    30 minutes and 60 times O(timeout) has passed (30 minutes with the default O(timeout) of 30 s; raise O(timeout)
    for an array known to answer slowly). The bound is checked before each request; the request then under way keeps
    its own limits (O(timeout), O(retries)). Paged lists are bounded apart (at most 4 pages each).
seealso:
  - module: vsp.encryption.array_api_check
  - module: vsp.encryption.encryption_key_info
'''

EXAMPLES = r'''
- name: Capture the array (read only)
  vsp.encryption.array_capture:
    host: vsp01.example.com
    username: "{{ vault_vsp_username }}"
    password: "{{ vault_vsp_password }}"
    path: /srv/vsp-captures/vsp01.capture.json
  delegate_to: localhost

- name: Capture the array, redacted to share it
  vsp.encryption.array_capture:
    path: /srv/vsp-captures/vsp01.redacted.capture.json
    redact: true
  delegate_to: localhost
'''

RETURN = r'''
path:
  description: The file written (also in check mode, where it is not written).
  returned: always
  type: str
  sample: /srv/vsp-captures/vsp01.capture.json
written:
  description: Whether the file was written (V(false) in check mode).
  returned: always
  type: bool
  sample: true
size:
  description: Size of the capture in bytes (as written, or as it would be written in check mode).
  returned: always
  type: int
  sample: 2481337
sha256:
  description: sha256 (hex) of the capture.
  returned: always
  type: str
  sample: 9f2c2b0e7d5a41f1d0a6ac1c6f6f5a6e2c6a94c7f6b3f3b8c5e0f4c7d1a2b3c4
format_version:
  description: The capture format version written.
  returned: always
  type: int
  sample: 1
redacted:
  description: Whether identifying values were replaced (O(redact)).
  returned: always
  type: bool
  sample: false
seconds:
  description: How long reading the array took.
  returned: always
  type: float
  sample: 3.2
summary:
  description: What the capture holds (redacted values when O(redact) is set).
  returned: always
  type: dict
  contains:
    storage_device_id:
      description: The storage device id.
      type: str
    serial_number:
      description: The serial number.
      type: int
    model:
      description: The model.
      type: str
    api_version:
      description: The C(apiVersion) the REST API answered, or null.
      type: str
    encrypted_parity_groups:
      description: The parity groups with C(isEncryptionEnabled) true.
      type: list
      elements: str
    pool_volumes:
      description: Number of distinct pool volumes captured.
      type: int
    dp_volumes:
      description: Number of distinct DP volumes captured.
      type: int
    key_counts:
      description: Number of keys by type.
      type: dict
    requests:
      description: Number of answers recorded (one per C(GET) request).
      type: int
  sample: {"storage_device_id": "936000412345", "serial_number": 412345, "model": "VSP E990", "api_version": "1.31.0",
           "encrypted_parity_groups": ["1-1", "1-2"], "pool_volumes": 4, "dp_volumes": 2,
           "key_counts": {"DEK": 8, "CEK": 1, "KEK": 1, "FREE": 8}, "requests": 17}
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vsp.encryption.plugins.module_utils._capture import capture, check_path, summary, write_capture
from ansible_collections.vsp.encryption.plugins.module_utils._runner import argument_spec, fail_on_error, run_module


def run(module, api):
    started = time.time()
    doc = capture(api, redact=module.params['redact'])
    seconds = round(time.time() - started, 2)
    path = module.params['path']
    size, sha256, written = write_capture(doc, path, check_mode=module.check_mode)
    return dict(changed=True, path=path, written=written, size=size, sha256=sha256, format_version=doc['format_version'],
                redacted=doc['redacted'], seconds=seconds, summary=summary(doc))


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(path=dict(type='path', required=True), redact=dict(type='bool', default=False)),
        supports_check_mode=True,
    )
    fail_on_error(module, check_path, module.params['path'])
    run_module(module, run)


if __name__ == '__main__':
    main()
