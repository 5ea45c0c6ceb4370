# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the tests of key files and manifests: key lists, key files with real format-2 manifests.

Tests that use them take the ``fast_kdf`` fixture (conftest.py), so PBKDF2 runs FAST_ITERATIONS
rounds instead of 600,000.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import threading

from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf

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
                   day=1, hour=2, fingerprint='fp', salt=None, iterations=FAST_ITERATIONS, version=2, keys=None, made=None):
    """A key file and its manifest (format 2 made by manifest.build; format 1 by hand). Returns the path.

    ``made``: the manifest's time (an aware datetime); else ``when(day, hour)``."""
    path = os.path.join(str(directory), name)
    content = content if content is not None else ('key file %s' % name).encode() * 20
    with open(path, 'wb') as handle:
        handle.write(content)
    sha = hashlib.sha256(content).hexdigest()
    keys = keys if keys is not None else keys_by_type(locations if locations is not None else {'1': 'HDD00-00'})
    storage = {'storage_device_id': sid, 'serial_number': serial, 'model': 'VSP 5600'}
    if version == 1:
        data = {'format_version': 1, 'file': name, 'sha256': sha, 'size': len(content),
                'created_utc': (made or when(day, hour)).strftime('%Y-%m-%dT%H:%M:%SZ'), 'storage_device_id': sid,
                'serial_number': serial, 'key_counts': {'DEK': len(keys['DEK'])}, 'key_fingerprint': fingerprint}
    else:
        deriver = mf.Deriver(password) if password else None
        data = mf.build(name, len(content), sha, storage=storage, keys_by_type=keys, key_fingerprint=fingerprint,
                        deriver=deriver, salt=salt, iterations=iterations, now=made or when(day, hour))
    with open(mf.manifest_path(path), 'wb') as handle:
        handle.write(mf.dumps(data))
    return path


def read_manifest(path):
    with open(mf.manifest_path(path)) as handle:
        return json.load(handle)


def rewrite_manifest(path, data):
    with open(mf.manifest_path(path), 'wb') as handle:
        handle.write(mf.dumps(data))


def resign(path, data, password, salt=None, iterations=FAST_ITERATIONS):
    """Write ``data`` as the manifest of ``path`` with a fresh verifier and MAC of ``password``, computed here
    independently of manifest.build: a manifest edited by someone who knows the password."""
    salt = salt if salt is not None else os.urandom(16)
    material = hashlib.pbkdf2_hmac('sha256', password.encode('utf-8'), salt, iterations, dklen=64)
    data = dict(data)
    data.pop('mac', None)
    data['password_verifier'] = {'kdf': 'pbkdf2-hmac-sha256', 'iterations': iterations,
                                 'salt': base64.b64encode(salt).decode('ascii'), 'hash': base64.b64encode(material[:32]).decode('ascii')}
    canonical = json.dumps(data, sort_keys=True, separators=(',', ':')).encode('utf-8')
    data['mac'] = {'algorithm': 'hmac-sha256', 'value': hmac.new(material[32:], canonical, hashlib.sha256).hexdigest()}
    rewrite_manifest(path, data)
    return data


def forge(directory, name, copy_of, *, content=b'junk, not a key file ' * 8, created_utc='2099-01-01T00:00:00Z'):
    """What anyone who can write the directory can make: junk bytes and a copy of a real manifest (``copy_of``'s) given the
    junk's sha256 and size and a date far ahead, without password verifier and MAC (they cannot be forged). Returns the path."""
    path = os.path.join(str(directory), name)
    with open(path, 'wb') as handle:
        handle.write(content)
    data = read_manifest(copy_of)
    data.update(file=name, sha256=hashlib.sha256(content).hexdigest(), size=len(content), created_utc=created_utc,
                password_verifier=None)
    data.pop('mac', None)
    rewrite_manifest(path, data)
    return path


def without_hanging(function, *args, fifos=(), timeout=20):
    """``function(*args)``, failing the test instead of hanging when it blocks on a pipe: after ``timeout`` seconds each
    of ``fifos`` is opened for writing (which lets a reader blocked on it go) and the test fails."""
    box = {}

    def call():
        try:
            box['value'] = function(*args)
        except BaseException as exc:  # handed to the test below
            box['error'] = exc

    thread = threading.Thread(target=call, name='without-hanging', daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        for fifo in fifos:
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        thread.join(timeout)
        raise AssertionError('%s blocked on a pipe for more than %d s' % (getattr(function, '__name__', function), timeout))
    if 'error' in box:
        raise box['error']
    return box['value']
