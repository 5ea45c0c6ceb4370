# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The key backup file on disk: 0600 temp file + atomic move, unique names, size cap, manifest written
or the key file removed, one read for hash and upload, verification (the password and mode rules are in
``validate``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import hashlib
import json
import os
import re
import stat
import tempfile

from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils._manifest import manifest_path as mf_manifest_path
from ansible_collections.vsp.encryption.plugins.module_utils._manifest import open_regular as mf_open_regular
from ansible_collections.vsp.encryption.plugins.module_utils._limits import KEY_FILE_MAX
from ansible_collections.vsp.encryption.plugins.module_utils._validate import from_array
from ansible_collections.vsp.encryption.plugins.module_utils._validate import storage_device_id as validate_storage_device_id

CHUNK_SIZE = 64 * 1024
KEY_FILE_SUFFIX = '.ekf'
NAME_COUNTER_MAX = 999
# <storageDeviceId>_<YYYYmmddTHHMMSSZ>[_NNN].ekf, as backup_file_name makes them
BACKUP_NAME_RE = re.compile(r'^(?P<sdid>[0-9]{12})_(?P<stamp>[0-9]{8}T[0-9]{6}Z)(?:_(?P<n>[0-9]{3}))?\.ekf$')


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def backup_file_name(storage_device_id, now=None, counter=1):
    """``<storageDeviceId>_<YYYYmmddTHHMMSSZ>.ekf`` (UTC); ``counter`` 2.. adds ``_002`` .. ``_999``.

    The storage device id must be the array's 12-digit form (it names a file: nothing else may reach
    a path). Names of one array sort by creation time: ``..._20261129T101500Z.ekf`` <
    ``..._20261129T101500Z_002.ekf`` < ``..._20261129T101501Z.ekf`` ('.' sorts before '_').
    """
    sid = from_array(validate_storage_device_id, storage_device_id, 'storageDeviceId')
    now = now or utc_now()
    suffix = '' if counter == 1 else '_%03d' % counter
    return '%s_%s%s%s' % (sid, now.strftime('%Y%m%dT%H%M%SZ'), suffix, KEY_FILE_SUFFIX)


def parse_backup_file_name(name):
    """``(storage_device_id, 'YYYYmmddTHHMMSSZ', counter)`` of a name made by :func:`backup_file_name`, or None."""
    match = BACKUP_NAME_RE.match(os.path.basename(name))
    if not match:
        return None
    return match.group('sdid'), match.group('stamp'), int(match.group('n') or 1)


def manifest_path(path):
    return mf_manifest_path(path)


def sha256_file(path, cap=None, follow=True):
    """``(sha256, size)`` of a regular file (never a pipe or a device; with ``follow=False`` never a symlink).
    With ``cap``, a file larger than ``cap`` bytes raises :class:`OSError` (``EFBIG``) without being read past it."""
    digest = hashlib.sha256()
    size = 0
    with os.fdopen(mf_open_regular(path, follow=follow), 'rb') as handle:
        for chunk in iter(lambda: handle.read(CHUNK_SIZE), b''):
            digest.update(chunk)
            size += len(chunk)
            if cap is not None and size > cap:
                raise OSError(errno.EFBIG, 'larger than the cap of %s' % _size_text(cap))
    return digest.hexdigest(), size


def verify_written(path, size, sha256, mode):
    """Read the key file just written back from disk: it must have the ``size`` and ``sha256`` of the download and
    exactly the permissions ``mode``. Raises :class:`VspApiError` (naming both sides) when it does not."""
    try:
        disk_mode = stat.S_IMODE(os.stat(path).st_mode)
        disk_sha256, disk_size = sha256_file(path)
    except OSError as exc:
        disk_mode = disk_sha256 = disk_size = None
        reason = ' (%s)' % (exc.strerror or type(exc).__name__)
    else:
        reason = ''
        if disk_size == size and disk_sha256 == sha256 and disk_mode == mode:
            return True
    raise VspApiError('The key file %s does not match what was downloaded (on disk%s: size %s, sha256 %s, mode %s; download: '
                      'size %s, sha256 %s, mode %04o). Do not rely on it; check the disk and run the backup again.'
                      % (path, reason, '-' if disk_size is None else disk_size, disk_sha256 or '-',
                         '-' if disk_mode is None else '%04o' % disk_mode, size, sha256, mode))


def ensure_directory(path, mode, check_mode=False):
    """Create the directory ``path`` (and missing parents) with the permissions ``mode``, or give an existing one
    exactly ``mode``. Returns ``{'path', 'created', 'mode_changed'}`` (in check mode: what would be done)."""
    report = {'path': path, 'created': False, 'mode_changed': False}
    path = os.path.normpath(path)  # 'dir/' of a file that is in the way is that file
    if not os.path.isdir(path):
        if os.path.lexists(path):
            raise VspApiError('%s exists and is not a directory (nothing was sent to the array)' % path)
        report['created'] = True
        if not check_mode:
            try:
                os.makedirs(path, mode)
                os.chmod(path, mode)  # makedirs applies the umask
            except OSError as exc:
                raise VspApiError('The directory %s could not be created: %s (nothing was sent to the array)'
                                  % (path, exc.strerror or type(exc).__name__)) from None
        return report
    if stat.S_IMODE(os.stat(path).st_mode) != mode:
        report['mode_changed'] = True
        if not check_mode:
            try:
                os.chmod(path, mode)
            except OSError as exc:
                raise VspApiError('The mode of the directory %s could not be set to %04o: %s (nothing was sent to the array)'
                                  % (path, mode, exc.strerror or type(exc).__name__)) from None
    return report


def read_key_file_once(path, cap=KEY_FILE_MAX):
    """``(data, sha256, size)`` of the key file, read once: the bytes hashed are the bytes to upload.

    Refuses what is not a regular file and a file larger than ``cap`` bytes (nothing is read past it).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0))  # a pipe is refused below, not waited on
    except OSError as exc:
        raise VspApiError('The key file %s cannot be read: %s' % (path, exc.strerror or type(exc).__name__)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise VspApiError('The key file %s is not a regular file' % path)
        if info.st_size > cap:
            raise VspApiError('The key file %s is larger (%d bytes) than the cap of %s (a real one is a few KiB); nothing was sent'
                              % (path, info.st_size, _size_text(cap)))
        parts, size = [], 0
        while True:
            part = os.read(fd, CHUNK_SIZE)
            if not part:
                break
            size += len(part)
            if size > cap:
                raise VspApiError('The key file %s grew past the cap of %s while it was read; nothing was sent' % (path, _size_text(cap)))
            parts.append(part)
    except OSError as exc:
        raise VspApiError('The key file %s cannot be read: %s' % (path, exc.strerror or type(exc).__name__)) from None
    finally:
        os.close(fd)
    data = b''.join(parts)
    return data, hashlib.sha256(data).hexdigest(), len(data)


def _size_text(cap):
    if cap % (1024 * 1024) == 0:
        return '%d MiB (%d bytes, KEY_FILE_MAX)' % (cap // (1024 * 1024), cap)
    return '%d bytes' % cap


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


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _write_temp(chunks, directory, base, dest, *, cap, expected_size):
    """Write ``chunks`` to a new 0600 temp file ``.<base>.*.part`` in ``directory``; ``(tmp, size, sha256)``.

    On any failure (a broken stream, a full disk, more than ``cap`` bytes, a short or empty body) the
    temp file is removed and :class:`VspApiError` is raised.
    """
    if expected_size is not None and cap is not None and expected_size > cap:
        raise VspApiError('The array announced a key file of %d bytes, more than the cap of %s (a real one is a few KiB); '
                          'nothing was written to %s' % (expected_size, _size_text(cap), dest))
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % base, suffix='.part', dir=directory)
    digest = hashlib.sha256()
    size = 0
    try:
        try:
            try:
                for chunk in chunks:
                    if not chunk:
                        continue
                    if cap is not None and size + len(chunk) > cap:
                        raise VspApiError('The array sent more than the cap of %s for the key file (a real one is a few KiB): '
                                          'the download was stopped and nothing was written to %s' % (_size_text(cap), dest))
                    _write_all(fd, chunk)
                    digest.update(chunk)
                    size += len(chunk)
                os.fsync(fd)
            finally:
                os.close(fd)
        except VspApiError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken stream or a full disk; never leave a partial file
            raise VspApiError('Writing %s failed, no file was written: %s: %s' % (dest, type(exc).__name__, exc)) from None
        if expected_size is not None and size != expected_size:
            raise VspApiError('The download of %s was incomplete (%d of %d bytes, Content-Length); no file was written'
                              % (dest, size, expected_size))
        if size == 0:
            raise VspApiError('The array sent an empty key file; no file was written to %s' % dest)
    except BaseException:
        _remove_quietly(tmp)
        raise
    return tmp, size, digest.hexdigest()


def write_stream_atomically(chunks, dest, mode=0o600, expected_size=None, *, cap=None, exclusive=False):
    """Write an iterable of byte chunks to ``dest`` safely.

    The data goes to a temp file in the target directory, private (0600) from creation; it is moved
    into place (``os.replace``) only when complete and, when ``expected_size`` is given, of that size,
    and when ``cap`` is given, not larger. With ``exclusive`` it is linked into place instead and an
    existing ``dest`` is never replaced (an error says so). On any failure the temp file is removed
    and ``dest`` is left as it was. Returns ``(size, sha256)``.
    """
    directory = os.path.dirname(os.path.abspath(dest))
    tmp, size, sha256 = _write_temp(chunks, directory, os.path.basename(dest), dest, cap=cap, expected_size=expected_size)
    try:
        os.chmod(tmp, mode)
        if exclusive:
            try:
                os.link(tmp, dest)
            except FileExistsError:
                raise VspApiError('%s appeared while the key file was downloaded; it was left alone and no file was written' % dest) from None
            os.unlink(tmp)
        else:
            os.replace(tmp, dest)
    except BaseException as exc:
        _remove_quietly(tmp)
        if isinstance(exc, OSError):
            raise VspApiError('Writing %s failed, no file was written: %s' % (dest, exc.strerror or type(exc).__name__)) from None
        raise
    _fsync_dir(directory)
    return size, sha256


def _place_new(tmp, directory, storage_device_id, now, mode):
    """Give ``tmp`` the first free name of :func:`backup_file_name` (never replacing a file); the path."""
    os.chmod(tmp, mode)
    for counter in range(1, NAME_COUNTER_MAX + 1):
        path = os.path.join(directory, backup_file_name(storage_device_id, now, counter))
        if os.path.lexists(manifest_path(path)):
            continue  # a manifest without its key file: leave it alone, take another name
        try:
            os.link(tmp, path)  # atomic, and fails when the name exists: no overwrite, ever
        except FileExistsError:
            continue
        except OSError:
            # no hard links on this file system: reserve the name exclusively, then move onto it
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            os.close(fd)
            os.replace(tmp, path)
            return path
        os.unlink(tmp)
        return path
    raise VspApiError('No free file name for a new key file in %s: %d files of %s already exist' % (
        directory, NAME_COUNTER_MAX, backup_file_name(storage_device_id, now)))


def write_new_backup_file(chunks, directory, storage_device_id, *, mode=0o600, now=None, expected_size=None, cap=KEY_FILE_MAX):
    """Write a new key file in ``directory``, named by :func:`backup_file_name`; ``(path, size, sha256)``.

    The name is unique: a file created in the same second gets ``_002``, ``_003``... (the name is
    taken with ``os.link`` of the complete temp file, which fails rather than overwrite). At most
    ``cap`` bytes are accepted (default :data:`KEY_FILE_MAX`); beyond, the download stops and the
    partial temp file is removed. The storage device id is checked first (12 digits).
    """
    backup_file_name(storage_device_id, now)  # refuses a bad id before anything is written
    now = now or utc_now()
    directory = os.path.abspath(directory)
    base = backup_file_name(storage_device_id, now)
    tmp, size, sha256 = _write_temp(chunks, directory, base, os.path.join(directory, base), cap=cap, expected_size=expected_size)
    try:
        path = _place_new(tmp, directory, storage_device_id, now, mode)
    except BaseException as exc:
        _remove_quietly(tmp)
        if isinstance(exc, OSError):
            raise VspApiError('Writing the key file in %s failed, no file was written: %s'
                              % (directory, exc.strerror or type(exc).__name__)) from None
        raise
    _fsync_dir(directory)
    return path, size, sha256


def _content_length(response):
    expected = response.headers.get('Content-Length')
    try:
        return int(expected) if expected is not None else None
    except ValueError:
        return None


def write_json_atomically(path, data, mode=0o600):
    payload = data if isinstance(data, bytes) else (json.dumps(data, indent=2, sort_keys=True) + '\n').encode('utf-8')
    return write_stream_atomically([payload], path, mode=mode)


def write_manifest_or_remove(key_path, manifest, mode=0o600):
    """Write ``<key_path>.manifest.json`` atomically (``manifest``: bytes or a dict); ``(size, sha256)``.

    When that fails (a full disk...), the key file is removed, so no key file is ever left without its
    manifest, and :class:`VspApiError` is raised naming both files, with ``details={'changed': True}``
    (the array did make a backup: its ``numOfBackups`` grew).
    """
    mpath = manifest_path(key_path)
    try:
        return write_json_atomically(mpath, manifest, mode=mode)
    except (VspApiError, OSError) as exc:
        reason = exc.msg if isinstance(exc, VspApiError) else (exc.strerror or type(exc).__name__)
        try:
            os.unlink(key_path)
            fate = 'the key file %s was removed (a key file without its manifest cannot be checked)' % key_path
        except FileNotFoundError:
            fate = 'the key file %s does not exist' % key_path
        except OSError as rm_exc:
            fate = ('the key file %s could not be removed (%s) and has no manifest: delete it'
                    % (key_path, rm_exc.strerror or type(rm_exc).__name__))
        raise VspApiError('Writing the manifest %s failed (%s); %s. The array made the backup; run the backup again.'
                          % (mpath, reason, fate), details={'changed': True}) from None


def download_response(response, dest, mode=0o600, cap=KEY_FILE_MAX, *, exclusive=False):
    """Stream a ``requests`` response body into ``dest`` (see :func:`write_stream_atomically`), at most ``cap`` bytes."""
    try:
        return write_stream_atomically(response.iter_content(chunk_size=CHUNK_SIZE), dest, mode=mode,
                                       expected_size=_content_length(response), cap=cap, exclusive=exclusive)
    finally:
        response.close()


def download_new_backup_file(response, directory, storage_device_id, *, mode=0o600, now=None, cap=KEY_FILE_MAX):
    """Stream a ``requests`` response into a new, uniquely named key file (see :func:`write_new_backup_file`)."""
    try:
        return write_new_backup_file(response.iter_content(chunk_size=CHUNK_SIZE), directory, storage_device_id,
                                     mode=mode, now=now, expected_size=_content_length(response), cap=cap)
    finally:
        response.close()
