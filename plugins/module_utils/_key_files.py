# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The key files of one array in a directory, and the decisions made from their manifests.

The backup directory is not trusted: in the field it is a share that other hosts, other schedules and
other people can write. So:

* :func:`scan` lists the ``*.ekf`` files whose manifest names this array; a file that is not a regular
  file, is too large, or whose manifest is missing or malformed is set aside with its reason (never
  read past a cap, never followed through a symlink, never touched);
* :func:`authenticate` marks the files whose manifest is authenticated with the site's backup password
  (its verifier takes the password and its MAC holds) and not dated in the future; only those *count*:
* :func:`choose_for_restore` picks the newest counted file that holds a DEK for every lost drive;
* :func:`retention` deletes only counted files, only in favour of newer counted ones, never one that
  holds a key the array still has that no newer kept file holds, and never one made in the last
  ``RETENTION_GRACE`` (another run may still be copying or restoring it);
* :func:`backup_decision` tells whether a scheduled backup should write a new file;
* :class:`DirectoryLock` serialises the runs that write or delete in one directory.

Nothing here talks to the array: the modules act on the answers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import os
import socket
import stat
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None

from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils._backup_file import sha256_file
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils._limits import KEY_FILE_MAX
from ansible_collections.vsp.encryption.plugins.module_utils._lists import capped

KEY_FILE_SUFFIX = '.ekf'
LOCK_NAME = '.vsp-encryption.lock'
FUTURE_TOLERANCE = datetime.timedelta(minutes=10)  # clocks of the hosts that write one share may differ this much
RETENTION_GRACE = datetime.timedelta(hours=1)  # a file this young may still be copied or restored by another run
OTHER_ARRAY = 'the manifest names another array'  # the reason scan gives, how messages tell them apart
LOCK_WAIT = 300  # seconds a run waits for another run on the same directory


class PasswordRefused(VspApiError):
    """Every file that would hold the lost keys was made with another backup password."""


def entry(path, manifest, sha256, size):
    """A key file of the array as the decisions read it, from its manifest and the sha256 and size of its bytes."""
    tokens, locations = mf.holds(manifest)
    return {
        'path': path,
        'name': os.path.basename(path),
        'created_utc': manifest.get('created_utc'),
        'format_version': mf.version(manifest),
        'storage_device_id': manifest.get('storage_device_id'),
        'serial_number': manifest.get('serial_number'),
        'key_counts': manifest.get('key_counts'),
        'key_fingerprint': manifest.get('key_fingerprint'),
        'has_password_verifier': bool(manifest.get('password_verifier')),
        'intact': manifest.get('sha256') == sha256 and manifest.get('size', size) == size,
        'damaged': False,  # set by authenticate: it does not match its authenticated manifest (is_damaged)
        'sha256': sha256,
        'size': size,
        # not returned: used by the decisions
        '_manifest': manifest,
        '_keys': tokens,
        '_locations': locations,
        '_time': mf.parse_time(manifest.get('created_utc')),
    }


def public(entry):
    """The entry without its internal fields (for module results)."""
    return dict((k, v) for k, v in entry.items() if not k.startswith('_'))


def scan(directory, storage_device_id):
    """``(files, ignored)``: the key files of this array (newest first) and the others with the reason.

    A file belongs to the array only if its manifest says so (``storage_device_id``); names are not
    trusted (and a manifest is not trusted either until :func:`authenticate`). A file that is not a
    regular file (a symlink, a pipe, a directory), is larger than ``KEY_FILE_MAX`` or has no manifest,
    and a manifest that cannot be read or is malformed, is listed as ignored with the reason.
    """
    if not os.path.isdir(directory):
        raise VspApiError('%s is not a directory' % directory)
    files, ignored = [], []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not name.endswith(KEY_FILE_SUFFIX) or name.startswith('.'):
            continue
        if os.path.islink(path) or not os.path.isfile(path):
            ignored.append({'path': path, 'reason': 'not a regular file (a symbolic link, a directory, a pipe or a device)'})
            continue
        try:
            manifest = mf.read(path)
        except VspApiError as exc:
            ignored.append({'path': path, 'reason': exc.msg})
            continue
        if manifest is None:
            ignored.append({'path': path, 'reason': 'no manifest'})
            continue
        if str(manifest.get('storage_device_id')) != str(storage_device_id):
            ignored.append({'path': path, 'reason': '%s (%s)' % (OTHER_ARRAY, manifest.get('storage_device_id'))})
            continue
        try:
            sha256, size = sha256_file(path, cap=KEY_FILE_MAX, follow=False)
        except OSError as exc:
            ignored.append({'path': path, 'reason': 'cannot be read (%s)' % (exc.strerror or type(exc).__name__)})
            continue
        files.append(entry(path, manifest, sha256, size))
    return newest_first(files), ignored


def newest_first(files):
    """The entries ordered newest first (by the manifests' time, then by name)."""
    return sorted(files, key=lambda e: (e['created_utc'] or '', e['name']), reverse=True)


def of_other_arrays(ignored):
    """The ignored files that belong to other arrays (counted, not listed, in messages: a fleet shares one directory)."""
    return [i for i in ignored if i['reason'].startswith(OTHER_ARRAY)]


def in_the_future(when, now=None):
    """True when ``when`` (a manifest's time) lies more than ``FUTURE_TOLERANCE`` after ``now``."""
    return when > (now or mf.utc_now()) + FUTURE_TOLERANCE


# -- what counts --------------------------------------------------------------------------------------------------
def is_damaged(entry, deriver):
    """True when the file is *damaged*: its bytes no longer match its manifest (sha256 or size) while the manifest is
    authenticated with the backup password (``deriver``: its verifier takes the password and its MAC holds) - the
    file the site made, changed since. A mismatch under a manifest that is not authenticated is not called damaged
    (anyone who can write the directory could have written both). ``deriver`` None: a manifest cannot be
    authenticated; a format-2 manifest is then taken as it says (as an audit without the password does)."""
    if entry['intact'] or entry['format_version'] < 2 or entry['_keys'] is None:
        return False
    if deriver is None:
        return True
    if not entry['has_password_verifier'] or not entry['_manifest'].get('mac'):
        return False
    try:
        return mf.check_password(entry['_manifest'], deriver, entry['name'] + mf.MANIFEST_SUFFIX) is True
    except VspApiError:
        return False


def _distrust(entry, deriver, now):
    """Why the file does not count (a sentence), or None when its manifest is authenticated and dated sanely."""
    if not entry['intact']:
        entry['damaged'] = deriver is not None and is_damaged(entry, deriver)
        return 'does not match its manifest (sha256 or size): damaged, or not the file that was backed up'
    if entry['format_version'] < 2 or not entry['has_password_verifier'] or not entry['_manifest'].get('mac'):
        return ('has a manifest without a password verifier and MAC (format %d), so it is not authenticated: anyone who can '
                'write the directory could have written it' % entry['format_version'])
    if deriver is None:
        return 'is not authenticated: no backup password was given to check its manifest'
    try:
        ok = mf.check_password(entry['_manifest'], deriver, entry['name'] + mf.MANIFEST_SUFFIX)
    except mf.TooManyVerifiers as exc:
        return 'was not checked: %s' % exc.msg
    except VspApiError as exc:
        return 'cannot be trusted: %s' % exc.msg
    if ok is not True:
        return ('does not open with this backup password (its password verifier does not take it): made with another '
                'password, or not made by vsp.encryption')
    if in_the_future(entry['_time'], now):
        entry['_future'] = True
        return 'is dated in the future (%s; the clock of the host that made it is wrong)' % entry['created_utc']
    return None


def _verifier_order(files):
    """The files in the order their verifiers are checked: files made with one password share a salt, so the
    verifiers held by the most files come first (then the newest), and a directory of crafted manifests each with
    its own salt cannot use up the derivations of a run before the site's own files are checked."""
    groups = {}
    for entry in files:
        key = mf.salt_of(entry['_manifest'])
        groups.setdefault(key, []).append(entry)
    ranked = sorted(groups.values(), key=lambda g: (-len(g), [-_stamp(e) for e in g][:1]))
    return [e for g in ranked for e in g]


def _stamp(entry):
    return entry['_time'].timestamp() if entry['_time'] else 0


def authenticate(files, deriver, now=None):
    """Mark each entry: ``counts`` (bool) and ``trust`` (None, or why it does not count). Returns ``files``.

    A file counts only when it matches its manifest, the manifest is authenticated with the backup password
    (``deriver``) and it is not dated more than ``FUTURE_TOLERANCE`` ahead of ``now``. Idempotent: an entry
    already marked is not checked again."""
    now = now or mf.utc_now()
    for entry in _verifier_order(files):
        if 'counts' in entry:
            continue
        why = _distrust(entry, deriver, now)
        entry['trust'] = why
        entry['counts'] = why is None
    return files


def counted(files):
    """The files that count (:func:`authenticate` first), newest first."""
    return [f for f in files if f.get('counts')]


def set_aside(files):
    """``[{path, reason}]`` of the files that do not count, as warnings name them (:func:`authenticate` first)."""
    return [{'path': f['path'], 'reason': f.get('trust') or 'not checked'} for f in files if not f.get('counts')]


def damaged(files):
    """The entries :func:`authenticate` found damaged (:func:`is_damaged`), newest first."""
    return [f for f in files if f.get('damaged')]


def damaged_view(entry):
    """What a message or a result says of a damaged file: its path, its time, and its bytes against its manifest."""
    manifest = entry['_manifest']
    return {'path': entry['path'], 'name': entry['name'], 'created_utc': entry['created_utc'],
            'sha256': entry['sha256'], 'size': entry['size'],
            'manifest_sha256': manifest.get('sha256'), 'manifest_size': manifest.get('size')}


def damaged_warning(files, ignored=(), limit=5):
    """One warning naming the damaged files of this array (capped, ``and N more``), or None (:func:`authenticate`
    first). The files of other arrays in ``ignored`` (as :func:`scan` returns it) are counted, not listed: each array's
    own run checks its files."""
    bad = damaged(files)
    if not bad:
        return None
    shown = '; '.join('%s (made %s; %d bytes, sha256 %s; its manifest says %s bytes, sha256 %s)'
                      % (v['path'], v['created_utc'], v['size'], v['sha256'], v['manifest_size'], v['manifest_sha256'])
                      for v in (damaged_view(f) for f in bad[:limit]))
    more = ' (and %d more)' % (len(bad) - limit) if len(bad) > limit else ''
    others = len(of_other_arrays(ignored or []))
    tail = (' The directory also holds %d key file(s) of other arrays, not checked here (their own runs check them).'
            % others) if others else ''
    return ('DAMAGED key file(s) of this array: %d whose bytes no longer match their authenticated manifest: %s%s. A '
            'restore from them would fail; they were neither used nor deleted. Find out what changed them (disk, share, '
            'copy), then replace each from a good copy (a backup host) or delete it with its manifest.%s'
            % (len(bad), shown, more, tail))


def set_aside_warning(files, limit=5, restore=False):
    """One warning naming the files of this array that do not count (capped), or None. ``restore``: worded for a
    restore (which deletes nothing anyway). Damaged files are left to :func:`damaged_warning` (said once), except in
    a restore's warning."""
    aside = set_aside([f for f in files if restore or not f.get('damaged')])
    if not aside:
        return None
    shown = '; '.join('%s %s' % (os.path.basename(a['path']), a['reason']) for a in aside[:limit])
    more = ' (and %d more)' % (len(aside) - limit) if len(aside) > limit else ''
    if restore:
        return ('%d newer key file(s) of this array in the directory do not count and were not used: %s%s.'
                % (len(aside), shown, more))
    return ('%d key file(s) of this array in the directory do not count and were neither used nor deleted: %s%s. '
            'Look at them, and delete them yourself once you know they are not needed.' % (len(aside), shown, more))


def covers(entry, lost_drives):
    """True when the file holds a DEK for every drive in ``lost_drives`` (format 2 only)."""
    if entry['_locations'] is None:
        return False
    return set(lost_drives).issubset(entry['_locations'])


def holders(files, lost_drives):
    """The intact files that hold a DEK for every lost drive, newest first (counted ones only once
    :func:`authenticate` marked them)."""
    return [f for f in files if f['intact'] and covers(f, lost_drives) and f.get('counts', True)]


def choose_for_restore(files, lost_drives, deriver=None, now=None):
    """``(entry, reason)``: the newest file of this array that counts and holds a DEK for every lost drive.

    A file counts only when its manifest is authenticated with the password (``deriver``): a file with an
    unauthenticated manifest, another password's file or a damaged one is never chosen. Raises
    :class:`VspApiError` explaining why each file was refused when none fits.
    """
    authenticate(files, deriver, now)
    refused, password_refused = [], []
    for entry in files:
        why = entry['trust']
        if why is None and not covers(entry, lost_drives):
            missing = sorted(set(lost_drives) - entry['_locations'])
            why = 'holds no DEK for drive(s) %s' % capped(missing)
        if why is None:
            if lost_drives:
                reason = ('the newest key file of this array that opens with the password and holds a DEK for every drive '
                          'that lost its key (%s)' % capped(sorted(lost_drives)))
            else:
                reason = 'the newest key file of this array that opens with the password'
            return entry, reason
        refused.append('%s %s' % (entry['name'], why))
        if why.startswith('does not open with this backup password') and covers(entry, lost_drives):
            password_refused.append(entry['name'])
    for entry in files:  # authenticated, but dated in the future: used only when no file dated sanely fits
        if entry.get('_future') and covers(entry, lost_drives):
            return entry, ('the newest key file of this array that opens with the password and holds the lost keys, although '
                           'it is dated in the future (%s): no file dated before now holds them' % entry['created_utc'])
    if not files:
        raise VspApiError('no key file of this array (by its manifest) is there')
    listed = capped(refused, 8, '; ')
    if password_refused and not [f for f in files if f['counts'] and covers(f, lost_drives)]:
        raise PasswordRefused('the password does not open any key file that would hold the lost keys (%s): it is not the '
                              'password they were made with (after a rotation, older files need the older password); all '
                              'files: %s' % (capped(password_refused), listed))
    raise VspApiError('no key file there can restore the lost keys: %s' % listed)


# -- retention ----------------------------------------------------------------------------------------------------
def retention(files, keep, current_keys, deriver, now=None):
    """``(delete, kept)``: what retention deletes and keeps (``kept``: ``[{path, reason}]``); ``keep`` 0 keeps all.

    Only files that count (:func:`authenticate`) are deleted or make another one deletable; every other file is kept
    and named. Of the files that count it keeps the ``keep`` newest, every file that holds a key the array still has
    (``current_keys``: ``<keyType>:<keyId>`` tokens) that no newer kept file holds, and every file made in the last
    ``RETENTION_GRACE``. Keys the array no longer has protect nothing, so right after a backup (whose file holds every
    key the array has) at most ``keep`` files plus those of the last hour are kept.
    """
    now = now or mf.utc_now()
    authenticate(files, deriver, now)
    if not keep or keep <= 0:
        return [], [{'path': f['path'], 'reason': 'retention is off (keep 0)'} for f in files]
    current = set(current_keys or ())
    delete, kept = [], []
    held = set()
    newest = 0
    for entry in files:  # newest first
        if not entry['counts']:
            kept.append({'path': entry['path'], 'reason': 'not deleted: it %s' % entry['trust']})
            continue
        extra = sorted((entry['_keys'] & current) - held)
        if newest < keep:
            newest += 1
            reason = 'one of the %d newest' % keep
        elif extra:
            reason = 'the newest file that holds key(s) %s, which the array still has and no newer kept file holds' % capped(extra)
        elif entry['_time'] > now - RETENTION_GRACE:
            reason = 'made less than %d minutes ago: another run may still be using it' % (RETENTION_GRACE.total_seconds() // 60)
        else:
            delete.append(entry['path'])
            continue
        kept.append({'path': entry['path'], 'reason': reason})
        held |= entry['_keys']
    return delete, kept


def key_tokens(keys_by_type):
    """The ``<keyType>:<keyId>`` tokens of an array's keys (as ``api.list_keys_by_type`` returns them)."""
    return set('%s:%s' % (t, k.get('keyId')) for t in mf.KEY_TYPES for k in (keys_by_type.get(t) or []))


def delete_files(paths, directory):
    """Delete each key file of ``paths`` and its manifest; never follows a symlink, never leaves ``directory``.

    Returns ``(deleted, failed)``; ``failed`` is ``[{path, reason}]``."""
    deleted, failed = [], []
    real = os.path.realpath(directory)
    for path in paths:
        if os.path.dirname(os.path.realpath(path)) != real or os.path.islink(path):
            failed.append({'path': path, 'reason': 'not a file of %s' % directory})
            continue
        try:
            os.unlink(mf.manifest_path(path))  # the manifest first: a file without one is never chosen
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                failed.append({'path': path, 'reason': exc.strerror or type(exc).__name__})
                continue
        try:
            os.unlink(path)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                failed.append({'path': path, 'reason': exc.strerror or type(exc).__name__})
                continue
        deleted.append(path)
    return deleted, failed


# -- the nightly decision -----------------------------------------------------------------------------------------
def backup_decision(files, fingerprint, deriver, now=None):
    """``(needed, reason)`` for a scheduled file backup.

    No new file is needed only when the newest file that counts (authenticated with the password ``deriver``, intact,
    not dated in the future) holds the keys the array has now (``fingerprint``). A newer file of another password, an
    unauthenticated or damaged one never stands in for it.
    """
    authenticate(files, deriver, now)
    good = counted(files)
    bad = damaged(files)
    if not good and bad:  # the summary names them too: the file the site relied on is damaged
        return True, ('no key file of this array there opens with this backup password and matches its manifest (%s %s '
                      'DAMAGED: %s)' % (capped([f['name'] for f in bad], 3), 'is' if len(bad) == 1 else 'are',
                                        'its bytes no longer match its authenticated manifest' if len(bad) == 1 else
                                        'their bytes no longer match their authenticated manifest'))
    if not good:
        return True, 'no key file of this array there opens with this backup password and matches its manifest'
    newest = good[0]
    if newest['key_fingerprint'] != fingerprint:
        return True, 'the keys changed since the newest file %s' % newest['name']
    return False, ('the keys are unchanged and the newest file %s matches its manifest and opens with the password'
                   % newest['name'])


def fixed_file_decision(path, storage_device_id, fingerprint, deriver, now=None):
    """``(needed, reason, entry)`` for a backup to a fixed file ``path`` that exists, without ``force``.

    Idempotent as a directory is, and never a silent ``ok`` for a file that no longer holds the keys: no new backup
    while the file counts (:func:`authenticate`) and holds the keys the array has now; replaced (atomically) when it
    counts but the keys changed. A file the collection cannot vouch for (no manifest, another array's, damaged, another
    password's or unauthenticated) is never replaced without ``force``: refused (:class:`VspApiError`), naming why.
    """
    manifest = mf.read(path)
    keep_it = (' It is left alone: give path a directory (a new file whenever the keys change), another file name, or '
               'force=true to replace it. Nothing was written and no backup was requested.')
    if manifest is None:
        raise VspApiError('path: %s exists and has no manifest (%s), so whether it holds the keys the array has now cannot '
                          'be told.%s' % (path, mf.manifest_path(path), keep_it))
    if str(manifest.get('storage_device_id')) != str(storage_device_id):
        raise VspApiError('path: %s holds the keys of another array (%s), not of %s.%s'
                          % (path, manifest.get('storage_device_id'), storage_device_id, keep_it))
    sha256, size = sha256_file(path, cap=KEY_FILE_MAX, follow=False)
    found = authenticate([entry(path, manifest, sha256, size)], deriver, now)[0]
    if not found['counts']:
        raise VspApiError('path: %s %s.%s' % (path, found['trust'], keep_it))
    if found['key_fingerprint'] != fingerprint:
        return True, 'the keys changed since %s was made: it is replaced with a backup of the current keys' % path, found
    return False, 'the keys are unchanged and %s matches its manifest and opens with the password' % path, found


def reusable_salt(files, deriver):
    """``(salt, iterations)`` of the newest file that counts, so that files made with one password share a salt and a
    :class:`manifest.Deriver` derives once for them; ``(None, None)`` otherwise (a new salt)."""
    authenticate(files, deriver)
    good = counted(files)
    return mf.salt_of(good[0]['_manifest']) if good else (None, None)


# -- one run at a time --------------------------------------------------------------------------------------------
class DirectoryLock(object):
    """An exclusive lock on a backup directory (``fcntl.lockf`` on ``<dir>/.vsp-encryption.lock``, which NFS and SMB
    shares honour between hosts), held by a run while it picks a name, writes a key file and its manifest, and applies
    retention; a second run on the same directory waits for it (at most ``wait`` seconds, then fails naming the
    holder). Readers need no lock: files are renamed into place complete and deleted manifest first."""

    def __init__(self, directory, wait=LOCK_WAIT):
        self.path = os.path.join(directory, LOCK_NAME)
        self.wait = wait
        self._fd = None

    def __enter__(self):
        if fcntl is None:  # pragma: no cover
            return self
        try:  # never through a symlink someone put there
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_NONBLOCK', 0), 0o600)
            if not stat.S_ISREG(os.fstat(self._fd).st_mode):
                raise OSError(errno.EINVAL, 'not a regular file')
        except OSError as exc:
            self._close()
            why = 'it is a symbolic link' if os.path.islink(self.path) else (exc.strerror or type(exc).__name__)
            raise VspApiError('The lock %s of the backup directory cannot be taken: %s. Nothing was written or deleted; '
                              'remove it (a run recreates it) and run again.' % (self.path, why)) from None
        deadline = time.monotonic() + self.wait
        delay = 0.05
        while True:
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EAGAIN):
                    self._close()
                    raise VspApiError('The lock %s cannot be taken: %s' % (self.path, exc.strerror)) from None
                if time.monotonic() >= deadline:
                    holder = self._holder()
                    self._close()
                    raise VspApiError('Another run has held the backup directory\'s lock %s for more than %d s (%s). '
                                      'Nothing was written or deleted; run again when it has finished.'
                                      % (self.path, self.wait, holder)) from None
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        os.ftruncate(self._fd, 0)
        holder = 'pid %d on %s since %s\n' % (os.getpid(), socket.gethostname(), mf.utc_now().strftime(mf.TIME_FORMAT))
        os.write(self._fd, holder.encode('ascii', 'replace'))
        return self

    def _holder(self):
        try:
            text = os.pread(self._fd, 200, 0).decode('ascii', 'replace').strip()
        except OSError:
            text = ''
        return 'held by %s' % text if text else 'holder unknown'

    def _close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __exit__(self, *exc):
        self._close()  # closing the descriptor releases the lock
        return False
