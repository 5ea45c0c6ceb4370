# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The manifest next to a key file: what the file holds, whose it is, and a password verifier.

Format 2 (``format_version: 2``) records:

* the file's ``sha256`` and ``size``, the UTC time, the storage identity (``storage``: id, serial, model);
* per key type the key ids (``keys``) and, for each DEK, the drive it serves (``dek_locations``:
  ``{keyId: targetDeviceLocation}``), so the collection can tell which lost keys a file holds;
* ``password_verifier``: a salted PBKDF2-HMAC-SHA256 hash (600,000 iterations or more) of the backup
  password, so a wrong password is found before anything is sent to the array;
* ``mac``: an HMAC-SHA256 over the rest of the manifest, keyed from the same derivation, so a
  manifest edited by someone who does not know the password is refused.

Why the verifier adds nothing to what the key file already allows: the key file lies next to the
manifest and is itself encrypted with the same password; whoever can read the manifest can read the
key file and try passwords against it. The verifier is at least as slow to attack.

A manifest is *authenticated* when its verifier takes the backup password and its MAC holds: only
then does the collection believe what it says (which array, which keys, when). The backup directory
is a share that other hosts and people may write; a manifest without a verifier or MAC (format 1, or
format 2 written with the verifier off) could have been written by anyone, so it is read and
listed, but never chosen from a directory, never counted as "newer" and never the reason another
file is deleted (:mod:`key_files`).

Everything read here is untrusted input: :func:`read` takes only a regular file (never a symlink, a
pipe or a device), at most ``MAX_MANIFEST_BYTES``, and :func:`check_shape` refuses a manifest whose
fields are not of the documented types, so that no file in the directory can crash a run. A
verifier asking for more than ``MAX_ITERATIONS`` is refused, and a :class:`Deriver` derives for at
most ``MAX_DERIVATIONS`` different verifiers a run, so that crafted manifests cannot stall a run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import stat
import threading

from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError

MANIFEST_SUFFIX = '.manifest.json'
FORMAT_VERSION = 2
KEY_TYPES = ('DEK', 'CEK', 'KEK', 'FREE')
KDF_NAME = 'pbkdf2-hmac-sha256'
KDF_ITERATIONS = 600000
MIN_ITERATIONS = 600000
MAX_ITERATIONS = 4 * KDF_ITERATIONS  # room for a stronger default later; more is a crafted manifest
MAX_DERIVATIONS = 16  # different verifiers (salt, iterations) derived in one run
SALT_BYTES = 16
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
TIME_FORMAT = '%Y-%m-%dT%H:%M:%SZ'
SHA256_RE = re.compile(r'[0-9a-f]{64}')


class TooManyVerifiers(VspApiError):
    """A run met more different password verifiers than :data:`MAX_DERIVATIONS`; the rest are not checked."""


def manifest_path(path):
    return path + MANIFEST_SUFFIX


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def _b64(data):
    return base64.b64encode(data).decode('ascii')


def _unb64(text):
    return base64.b64decode(text.encode('ascii'), validate=True)


def derive(password, salt, iterations):
    """``(verifier, mac_key)``: the two halves of one PBKDF2-HMAC-SHA256 derivation of the password."""
    material = hashlib.pbkdf2_hmac('sha256', password.encode('utf-8'), salt, iterations, dklen=64)
    return material[:32], material[32:]


class Deriver(object):
    """Caches derivations by (salt, iterations): files made with one password share a salt.

    :meth:`start` begins a derivation in a thread (PBKDF2 releases the GIL), so that it runs while the module
    waits for the array; the call that needs it then waits for that thread instead of deriving again.
    """

    def __init__(self, password, limit=MAX_DERIVATIONS):
        self._password = password
        self._cache = {}
        self._pending = {}
        self._limit = limit

    def _admit(self, key):
        """Raise :class:`TooManyVerifiers` when ``key`` would be one derivation more than the limit."""
        if key not in self._cache and key not in self._pending and len(self._cache) + len(self._pending) >= self._limit:
            raise TooManyVerifiers('more than %d different password verifiers were met in one run; the others are not checked'
                                   % self._limit)

    def start(self, salt, iterations):
        """Derive for ``(salt, iterations)`` in the background; a no-op when it is known or under way (or over the limit)."""
        key = (salt, iterations)
        if key in self._cache or key in self._pending or len(self._cache) + len(self._pending) >= self._limit:
            return
        box = []
        thread = threading.Thread(target=self._derive_into, args=(box, salt, iterations), name='vsp-kdf', daemon=True)
        self._pending[key] = (thread, box)
        thread.start()

    def _derive_into(self, box, salt, iterations):
        try:
            box.append(derive(self._password, salt, iterations))
        except Exception:  # pylint: disable=broad-except  # the call that needs it derives again and raises there
            box.append(None)

    def __call__(self, salt, iterations):
        key = (salt, iterations)
        self._admit(key)
        if key not in self._cache:
            thread, box = self._pending.pop(key, (None, []))
            if thread is not None:
                thread.join()
            done = box[0] if box else None
            self._cache[key] = done if done is not None else derive(self._password, salt, iterations)
        return self._cache[key]


def _canonical(manifest):
    body = dict((k, v) for k, v in manifest.items() if k != 'mac')
    return json.dumps(body, sort_keys=True, separators=(',', ':')).encode('utf-8')


def key_ids_by_type(keys_by_type):
    return dict((t, sorted((str(k.get('keyId')) for k in (keys_by_type.get(t) or [])), key=_id_order)) for t in KEY_TYPES)


def _id_order(key_id):
    return (0, int(key_id)) if str(key_id).isdigit() else (1, str(key_id))


def dek_locations(keys_by_type):
    return dict((str(k.get('keyId')), k.get('targetDeviceLocation')) for k in (keys_by_type.get('DEK') or [])
                if k.get('targetDeviceLocation'))


def build(file_name, size, sha256, *, storage, keys_by_type, key_fingerprint, deriver=None, salt=None,
          iterations=KDF_ITERATIONS, now=None):
    """A format-2 manifest. ``deriver`` (a :class:`Deriver`) adds the password verifier and the MAC."""
    now = now or utc_now()
    ids = key_ids_by_type(keys_by_type)
    manifest = {
        'format_version': FORMAT_VERSION,
        'file': file_name,
        'sha256': sha256,
        'size': size,
        'created_utc': now.strftime(TIME_FORMAT),
        'storage_device_id': storage.get('storage_device_id'),
        'serial_number': storage.get('serial_number'),
        'model': storage.get('model'),
        'key_counts': dict((t, len(ids[t])) for t in KEY_TYPES),
        'key_fingerprint': key_fingerprint,
        'keys': ids,
        'dek_locations': dek_locations(keys_by_type),
        'created_by': 'vsp.encryption.encryption_key_backup',
        'password_verifier': None,
    }
    if deriver is not None:
        salt = salt if salt is not None else os.urandom(SALT_BYTES)
        verifier, mac_key = deriver(salt, iterations)
        manifest['password_verifier'] = {'kdf': KDF_NAME, 'iterations': iterations, 'salt': _b64(salt), 'hash': _b64(verifier)}
        manifest['mac'] = {'algorithm': 'hmac-sha256', 'value': hmac.new(mac_key, _canonical(manifest), hashlib.sha256).hexdigest()}
    return manifest


def dumps(manifest):
    return (json.dumps(manifest, indent=2, sort_keys=True) + '\n').encode('utf-8')


def open_regular(path, follow=True):
    """A file descriptor of ``path`` opened for reading, or :class:`OSError`: only a regular file is opened, never a
    pipe or a device (``O_NONBLOCK``: opening a pipe does not wait for a writer); with ``follow=False`` never a symlink."""
    flags = os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | (0 if follow else getattr(os, 'O_NOFOLLOW', 0))
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, 'not a regular file')
    except BaseException:
        os.close(fd)
        raise
    return fd


def read(path):
    """The manifest of the key file ``path`` (a dict), or None when there is none.

    Raises :class:`VspApiError` when it exists but cannot be read, is not a regular file (a symlink, a pipe), is
    larger than ``MAX_MANIFEST_BYTES`` or is not a manifest of the documented shape (:func:`check_shape`).
    """
    mpath = manifest_path(path)
    if not os.path.lexists(mpath):
        return None
    try:
        fd = open_regular(mpath, follow=False)
        with os.fdopen(fd, 'rb') as handle:
            raw = handle.read(MAX_MANIFEST_BYTES + 1)
        if len(raw) > MAX_MANIFEST_BYTES:
            raise ValueError('larger than %d bytes' % MAX_MANIFEST_BYTES)
        data = json.loads(raw.decode('utf-8'))
    except OSError as exc:
        why = 'it is a symbolic link' if os.path.islink(mpath) else (exc.strerror or type(exc).__name__)
        raise VspApiError('The manifest %s cannot be read: %s' % (mpath, why)) from None
    except ValueError as exc:
        raise VspApiError('The manifest %s cannot be read: %s' % (mpath, exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get('sha256'), str):
        raise VspApiError('The manifest %s is not a manifest of vsp.encryption (no sha256)' % mpath)
    problem = check_shape(data)
    if problem:
        raise VspApiError('The manifest %s is malformed: %s' % (mpath, problem))
    return data


def _is_id(value):
    return isinstance(value, (str, int)) and not isinstance(value, bool)


def _shape_of_keys(keys):
    if not isinstance(keys, dict):
        return 'keys must be an object of key type to key ids'
    for key_type, ids in keys.items():
        if key_type not in KEY_TYPES:
            return 'keys names an unknown key type %r' % str(key_type)[:20]
        if not isinstance(ids, list) or not all(_is_id(i) for i in ids):
            return 'keys.%s must be a list of key ids' % key_type
    return None


def check_shape(data):
    """None when the manifest's fields have the documented types, else what is wrong (one sentence, no value of it)."""
    if not SHA256_RE.fullmatch(data['sha256']):
        return 'sha256 must be 64 lower-case hex digits'
    size = data.get('size')
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        return 'size must be a whole number of bytes'
    fmt = data.get('format_version', 1)
    if fmt not in (1, 2) or isinstance(fmt, bool):
        return 'format_version must be 1 or 2'
    if parse_time(data.get('created_utc')) is None:
        return 'created_utc must be a UTC time such as 2026-12-01T02:00:00Z'
    if not _is_id(data.get('storage_device_id')):
        return 'storage_device_id is missing'
    for name in ('key_fingerprint', 'file', 'model'):
        if data.get(name) is not None and not isinstance(data[name], str):
            return '%s must be text' % name
    for name in ('key_counts', 'dek_locations', 'password_verifier', 'mac'):
        if data.get(name) is not None and not isinstance(data[name], dict):
            return '%s must be an object' % name
    if fmt == 2:
        problem = _shape_of_keys(data.get('keys'))
        if problem:
            return problem
        if not all(isinstance(v, str) for v in (data.get('dek_locations') or {}).values()):
            return 'dek_locations must map key ids to drive locations'
    return None


def parse_time(text):
    """The aware UTC datetime of a manifest's ``created_utc``, or None when it is not of that form."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def version(manifest):
    value = manifest.get('format_version')
    return value if isinstance(value, int) else 1


def holds(manifest):
    """``(key_tokens, dek_drive_locations)`` the file holds, or ``(None, None)`` for a format-1 manifest.

    ``key_tokens`` is a set of ``<keyType>:<keyId>``.
    """
    if version(manifest) < 2 or not isinstance(manifest.get('keys'), dict):
        return None, None
    tokens = set()
    for key_type, ids in manifest['keys'].items():
        for key_id in ids or []:
            tokens.add('%s:%s' % (key_type, key_id))
    locations = set(v for v in (manifest.get('dek_locations') or {}).values() if isinstance(v, str))
    return tokens, locations


def check_password(manifest, deriver, mpath='the manifest'):
    """True when the password matches the verifier (and the MAC holds), False when it does not,
    None when the manifest has no verifier. Raises when the verifier matches but the MAC does not
    (the manifest was edited) or the verifier is malformed.
    """
    verifier = manifest.get('password_verifier')
    if not verifier:
        return None
    try:
        if verifier.get('kdf') != KDF_NAME:
            raise ValueError('unknown kdf')
        iterations = int(verifier['iterations'])
        if iterations < MIN_ITERATIONS:
            raise ValueError('fewer than %d iterations' % MIN_ITERATIONS)
        if iterations > MAX_ITERATIONS:
            raise ValueError('more than %d iterations' % MAX_ITERATIONS)
        salt = _unb64(verifier['salt'])
        expected = _unb64(verifier['hash'])
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise VspApiError('%s has a malformed password verifier (%s)' % (mpath, exc)) from None
    computed, mac_key = deriver(salt, iterations)
    if not hmac.compare_digest(computed, expected):
        return False
    mac = manifest.get('mac') or {}
    value = mac.get('value') if isinstance(mac, dict) else None
    if not isinstance(value, str) or not hmac.compare_digest(
            hmac.new(mac_key, _canonical(manifest), hashlib.sha256).hexdigest(), value):
        raise VspApiError('%s was changed after the backup (its MAC does not match); do not trust it' % mpath)
    return True


def salt_of(manifest):
    verifier = manifest.get('password_verifier') or {}
    try:
        return _unb64(verifier['salt']), int(verifier['iterations'])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None, None
