# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The key backup file on disk: password rule, 0600 temp file + atomic move, sha256 manifest, verification."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import json
import os
import string
import tempfile

from ansible_collections.vsp.encryption.plugins.module_utils.errors import VspApiError

MANIFEST_SUFFIX = '.manifest.json'
MANIFEST_FORMAT_VERSION = 1
PASSWORD_MIN = 6
PASSWORD_MAX = 255
PASSWORD_SYMBOLS = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'  # noqa: S105 - the allowed symbols, not a password
PASSWORD_CHARS = frozenset(string.ascii_letters + string.digits + PASSWORD_SYMBOLS)
CHUNK_SIZE = 64 * 1024


def validate_backup_password(password, name='backup_password'):
    """Raise :class:`VspApiError` naming the parameter and the rule, never the value."""
    rule = ('%s must be %d to %d characters long and use only letters A-Z a-z, digits 0-9 and the symbols %s '
            '(no spaces)' % (name, PASSWORD_MIN, PASSWORD_MAX, PASSWORD_SYMBOLS))
    if password is None or not isinstance(password, str):
        raise VspApiError('%s is required. Rule: %s' % (name, rule))
    if len(password) < PASSWORD_MIN:
        raise VspApiError('%s is too short (%d characters). Rule: %s' % (name, len(password), rule))
    if len(password) > PASSWORD_MAX:
        raise VspApiError('%s is too long (%d characters). Rule: %s' % (name, len(password), rule))
    bad = [i + 1 for i, c in enumerate(password) if c not in PASSWORD_CHARS]
    if bad:
        what = 'a space' if any(password[i - 1].isspace() for i in bad) else 'a character that is not allowed'
        raise VspApiError('%s contains %s (at position %s). Rule: %s'
                          % (name, what, ', '.join(str(i) for i in bad[:5]), rule))


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def backup_file_name(storage_device_id, now=None):
    """``<storageDeviceId>_<UTC timestamp YYYYmmddTHHMMSSZ>.ekf``."""
    now = now or utc_now()
    return '%s_%s.ekf' % (storage_device_id, now.strftime('%Y%m%dT%H%M%SZ'))


def manifest_path(path):
    return path + MANIFEST_SUFFIX


def parse_mode(mode):
    """Octal string (``'0600'``, ``'600'``) or int → int."""
    if isinstance(mode, int):
        return mode
    try:
        return int(str(mode), 8)
    except ValueError:
        raise VspApiError('mode must be an octal number such as 0600, not %r' % (mode,)) from None


def sha256_file(path):
    digest = hashlib.sha256()
    size = 0
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(CHUNK_SIZE), b''):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_stream_atomically(chunks, dest, mode=0o600, expected_size=None):
    """Write an iterable of byte chunks to ``dest`` safely.

    The data goes to a temp file in the target directory, private (0600) from creation; it is moved
    into place (``os.replace``) only when complete and, when ``expected_size`` is given, of that size.
    On any failure the temp file is removed and ``dest`` is left as it was. Returns ``(size, sha256)``.
    """
    directory = os.path.dirname(os.path.abspath(dest))
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(dest), suffix='.part', dir=directory)
    digest = hashlib.sha256()
    size = 0
    try:
        try:
            with os.fdopen(fd, 'wb') as handle:
                for chunk in chunks:
                    if not chunk:
                        continue
                    handle.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                handle.flush()
                os.fsync(handle.fileno())
        except VspApiError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken stream or a full disk; never leave a partial file
            raise VspApiError('Writing %s failed, no file was written: %s: %s' % (dest, type(exc).__name__, exc)) from None
        if expected_size is not None and size != expected_size:
            raise VspApiError('The download of %s was incomplete (%d of %d bytes, Content-Length); no file was written'
                              % (dest, size, expected_size))
        if size == 0:
            raise VspApiError('The array sent an empty key file; no file was written to %s' % dest)
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        _remove_quietly(tmp)
        raise
    _fsync_dir(directory)
    return size, digest.hexdigest()


def write_json_atomically(path, data, mode=0o600):
    payload = (json.dumps(data, indent=2, sort_keys=True) + '\n').encode('utf-8')
    return write_stream_atomically([payload], path, mode=mode)


def download_response(response, dest, mode=0o600):
    """Stream a ``requests`` response body into ``dest`` (see :func:`write_stream_atomically`)."""
    expected = response.headers.get('Content-Length')
    try:
        expected = int(expected) if expected is not None else None
    except ValueError:
        expected = None
    try:
        return write_stream_atomically(response.iter_content(chunk_size=CHUNK_SIZE), dest, mode=mode, expected_size=expected)
    finally:
        response.close()


def build_manifest(file_path, size, sha256, storage, key_counts, *, key_fingerprint=None, now=None):
    now = now or utc_now()
    return {
        'format_version': MANIFEST_FORMAT_VERSION,
        'file': os.path.basename(file_path),
        'sha256': sha256,
        'size': size,
        'created_utc': now.strftime('%Y-%m-%dT%H:%M:%SZ'),
        'storage_device_id': storage.get('storage_device_id'),
        'serial_number': storage.get('serial_number'),
        'model': storage.get('model'),
        'key_counts': key_counts,
        'key_fingerprint': key_fingerprint,
        'created_by': 'vsp.encryption.encryption_key_backup',
    }


def read_manifest(path):
    """The manifest next to ``path``, or None when there is none."""
    mpath = manifest_path(path)
    if not os.path.exists(mpath):
        return None
    try:
        with open(mpath, 'rb') as handle:
            data = json.loads(handle.read().decode('utf-8'))
    except (OSError, ValueError) as exc:
        raise VspApiError('The manifest %s cannot be read: %s' % (mpath, exc)) from None
    if not isinstance(data, dict) or 'sha256' not in data:
        raise VspApiError('The manifest %s has no sha256' % mpath)
    return data


def verify_against_manifest(path):
    """Check ``path`` against ``<path>.manifest.json``.

    Returns ``(verified, sha256, size, manifest)``; ``verified`` is False when there is no manifest.
    Raises :class:`VspApiError` when the file does not match.
    """
    sha256, size = sha256_file(path)
    manifest = read_manifest(path)
    if manifest is None:
        return False, sha256, size, None
    if manifest.get('sha256') != sha256 or (manifest.get('size') is not None and manifest.get('size') != size):
        raise VspApiError('%s does not match its manifest %s (sha256 %s, size %d; the manifest says sha256 %s, size %s). '
                          'The file is damaged or not the one that was backed up; nothing was sent to the array.'
                          % (path, manifest_path(path), sha256, size, manifest.get('sha256'), manifest.get('size')))
    return True, sha256, size, manifest
