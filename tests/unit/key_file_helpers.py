# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the tests of key files and manifests: key lists, key files with real format-2 manifests.

Tests that use them take the ``fast_kdf`` fixture (conftest.py), so PBKDF2 runs FAST_ITERATIONS
rounds instead of 600,000.
"""

import datetime
import hashlib
import json
import os

from ansible_collections.vsp.encryption.plugins.module_utils import manifest as mf

SID = '900000061726'
SERIAL = 61726
OTHER_SID = '900000099999'
FAST_ITERATIONS = 1000
STORAGE = {'storage_device_id': SID, 'serial_number': SERIAL, 'model': 'VSP 5600'}


def dek(key_id, location):
    return {'keyId': str(key_id), 'keyType': 'DEK', 'targetDeviceLocation': location, 'numOfBackups': 1}


def keys_by_type(locations, cek=('100',), kek=('200',), free=('300', '301')):
    """``locations``: {keyId: drive location} of the DEKs."""
    return {
        'DEK': [dek(k, v) for k, v in sorted(locations.items(), key=lambda kv: int(kv[0]))],
        'CEK': [{'keyId': k, 'keyType': 'CEK', 'targetDeviceLocation': '-'} for k in cek],
        'KEK': [{'keyId': k, 'keyType': 'KEK', 'targetDeviceLocation': '-'} for k in kek],
        'FREE': [{'keyId': k, 'keyType': 'FREE', 'targetDeviceLocation': '-'} for k in free],
    }


def when(day, hour=2):
    return datetime.datetime(2026, 11, day, hour, 0, 0, tzinfo=datetime.timezone.utc)


def write_key_file(directory, name, *, locations=None, content=None, sid=SID, serial=SERIAL, password=None,
                   day=1, hour=2, fingerprint='fp', salt=None, iterations=FAST_ITERATIONS, version=2, keys=None):
    """A key file and its manifest (format 2 made by manifest.build; format 1 by hand). Returns the path."""
    path = os.path.join(str(directory), name)
    content = content if content is not None else ('key file %s' % name).encode() * 20
    with open(path, 'wb') as handle:
        handle.write(content)
    sha = hashlib.sha256(content).hexdigest()
    keys = keys if keys is not None else keys_by_type(locations if locations is not None else {'1': 'HDD00-00'})
    storage = {'storage_device_id': sid, 'serial_number': serial, 'model': 'VSP 5600'}
    if version == 1:
        data = {'format_version': 1, 'file': name, 'sha256': sha, 'size': len(content),
                'created_utc': when(day, hour).strftime('%Y-%m-%dT%H:%M:%SZ'), 'storage_device_id': sid,
                'serial_number': serial, 'key_counts': {'DEK': len(keys['DEK'])}, 'key_fingerprint': fingerprint}
    else:
        deriver = mf.Deriver(password) if password else None
        data = mf.build(name, len(content), sha, storage=storage, keys_by_type=keys, key_fingerprint=fingerprint,
                        deriver=deriver, salt=salt, iterations=iterations, now=when(day, hour))
    with open(mf.manifest_path(path), 'wb') as handle:
        handle.write(mf.dumps(data))
    return path


def read_manifest(path):
    with open(mf.manifest_path(path)) as handle:
        return json.load(handle)


def rewrite_manifest(path, data):
    with open(mf.manifest_path(path), 'wb') as handle:
        handle.write(mf.dumps(data))
