# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  host:
    description:
      - Host name or IP address of the REST API server of the storage system (the controller/GUM, the SVP,
        or a Configuration Manager REST server).
      - If not set, the environment variable E(VSP_HOST) is used.
      - Environment variables are read on the host that runs the module (the managed node, usually
        C(localhost) with C(delegate_to)), not on the controller.
    type: str
    required: true
  port:
    description:
      - TCP port of the REST API server.
      - If not set, the environment variable E(VSP_PORT) is used.
    type: int
    default: 443
  protocol:
    description:
      - Protocol used to talk to the REST API server.
      - V(http) sends the password, the session token and the key file in clear text; the module warns.
      - If not set, the environment variable E(VSP_PROTOCOL) is used.
    type: str
    choices: [https, http]
    default: https
  username:
    description:
      - User of the storage system. Backing up and restoring keys need the Security Administrator
        (View & Modify) role; blocking and recovering pool volumes need the Storage Administrator (Provisioning) role.
      - Printable ASCII only - letters, digits and the ASCII punctuation symbols except the colon; no spaces, no control
        characters, nothing outside ASCII. It is checked before anything is sent.
      - If not set, the environment variable E(VSP_USERNAME) is used.
    type: str
    required: true
  password:
    description:
      - Password of O(username). Never returned or logged.
      - Printable ASCII only - letters A-Z and a-z, digits 0-9 and the 32 ASCII punctuation symbols such as C(!), C(#),
        C(@) and C(~); no spaces, no control characters, nothing outside ASCII (a euro sign or an accented letter is
        refused, naming the position but never the character). It is checked before anything is sent.
      - If not set, the environment variable E(VSP_PASSWORD) is used.
    type: str
    required: true
  storage_device_id:
    description:
      - The 12-digit storage device ID (anything else is refused before a request is sent). When set, object URLs take the form
        C(/ConfigurationManager/v1/objects/storages/<storage_device_id>/...), as a Configuration Manager
        REST server requires; when not set, C(/ConfigurationManager/v1/objects/...) of the embedded server.
      - If not set, the environment variable E(VSP_STORAGE_DEVICE_ID) is used.
    type: str
  validate_certs:
    description:
      - Whether to verify the TLS certificate of the REST API server.
      - Set to V(false) only for test systems - whoever sits between the module and the array can then read the
        password and the key file; the module warns.
      - If not set, the environment variable E(VSP_VALIDATE_CERTS) is used.
    type: bool
    default: true
  ca_path:
    description:
      - File (PEM) with the CA certificate(s) used to verify the server certificate, for a private CA or a
        self-signed certificate.
      - If not set, the environment variable E(VSP_CA_PATH) is used.
    type: path
  timeout:
    description:
      - Seconds to wait for one HTTP request.
    type: int
    default: 30
  retries:
    description:
      - How many times a request is repeated after an HTTP 503 (server busy, for example the limit of
        64 sessions) or a connection error, with exponential back-off and jitter, honouring C(Retry-After).
      - Read timeouts are repeated only for requests that read (C(GET)).
    type: int
    default: 5
  wait_timeout:
    description:
      - Seconds to wait for one asynchronous job of the storage system to complete.
    type: int
    default: 900
requirements:
  - requests
notes:
  - The connection options can be set once for every module of the collection with
    C(module_defaults) and the action group C(group/vsp.encryption.vsp).
  - The module logs in once, reuses the session for every request and deletes the session at the end,
    also when it fails.
'''
