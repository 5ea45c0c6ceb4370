# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The key files of one array in a directory, and the decisions made from their manifests.

* :func:`scan` lists the ``*.ekf`` files whose manifest names this array (other files are reported,
  never touched);
* :func:`choose_for_restore` picks the newest file that holds a DEK for every drive that lost its key;
* :func:`retention` keeps the newest files and every file that holds a key no newer kept file holds;
* :func:`backup_decision` tells whether a scheduled backup should write a new file.

Nothing here talks to the array or changes a file: the modules and roles act on the answers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.vsp.encryption.plugins.module_utils import manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils.backup_file import sha256_file
from ansible_collections.vsp.encryption.plugins.module_utils.errors import VspApiError

KEY_FILE_SUFFIX = '.ekf'


class PasswordRefused(VspApiError):
    """Every file that would hold the lost keys was made with another backup password."""


def _entry(path, manifest, sha256, size):
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
        'sha256': sha256,
        'size': size,
        # not returned: used by the decisions
        '_manifest': manifest,
        '_keys': tokens,
        '_locations': locations,
    }


def public(entry):
    """The entry without its internal fields (for module results)."""
    return dict((k, v) for k, v in entry.items() if not k.startswith('_'))


def scan(directory, storage_device_id):
    """``(files, ignored)``: the key files of this array (newest first) and the others with the reason.

    A file belongs to the array only if its manifest says so (``storage_device_id``); names are not
    trusted. Files without a manifest are listed as ignored.
    """
    if not os.path.isdir(directory):
        raise VspApiError('%s is not a directory' % directory)
    files, ignored = [], []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not name.endswith(KEY_FILE_SUFFIX) or name.startswith('.') or not os.path.isfile(path) or os.path.islink(path):
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
            ignored.append({'path': path, 'reason': 'the manifest names another array (%s)' % manifest.get('storage_device_id')})
            continue
        try:
            sha256, size = sha256_file(path)
        except OSError as exc:
            ignored.append({'path': path, 'reason': 'cannot be read (%s)' % (exc.strerror or type(exc).__name__)})
            continue
        files.append(_entry(path, manifest, sha256, size))
    files.sort(key=lambda e: (e['created_utc'] or '', e['name']), reverse=True)
    return files, ignored


def covers(entry, lost_drives):
    """True when the file holds a DEK for every drive in ``lost_drives`` (format 2 only)."""
    if entry['_locations'] is None:
        return False
    return set(lost_drives).issubset(entry['_locations'])


def holders(files, lost_drives):
    """The intact files that hold a DEK for every lost drive, newest first."""
    return [f for f in files if f['intact'] and covers(f, lost_drives)]


def choose_for_restore(files, lost_drives, deriver=None):
    """``(entry, reason)``: the newest intact file of this array holding a DEK for every lost drive.

    With ``deriver`` (the backup password), files whose verifier rejects the password are passed
    over. Raises :class:`VspApiError` explaining why each file was refused when none fits.
    """
    refused, password_refused = [], []
    for entry in files:
        why = None
        if not entry['intact']:
            why = 'does not match its manifest (sha256 or size)'
        elif entry['_locations'] is None:
            why = 'has a format-1 manifest that does not say which keys it holds'
        elif not covers(entry, lost_drives):
            missing = sorted(set(lost_drives) - entry['_locations'])
            why = 'holds no DEK for drive(s) %s' % ', '.join(missing)
        elif deriver is not None:
            try:
                if mf.check_password(entry['_manifest'], deriver, mf.manifest_path(entry['path'])) is False:
                    why = 'was made with another backup password (its password verifier does not match)'
            except VspApiError as exc:
                why = 'cannot be trusted: %s' % exc.msg
        if why is None:
            if lost_drives:
                reason = 'the newest key file of this array that holds a DEK for every drive that lost its key (%s)' % ', '.join(sorted(lost_drives))
            else:
                reason = 'the newest key file of this array'
            return entry, reason
        refused.append('%s %s' % (entry['name'], why))
        if why.startswith('was made with another backup password'):
            password_refused.append(entry['name'])
    if not files:
        raise VspApiError('no key file of this array (by its manifest) is there')
    if password_refused and not [r for r in refused if 'another backup password' not in r and 'holds no DEK' not in r
                                 and 'format-1' not in r]:
        raise PasswordRefused('the password does not match the password verifier of any key file that holds the lost keys '
                              '(%s): it is not the password they were made with (after a rotation, older files need the '
                              'older password); all files: %s' % (', '.join(password_refused), '; '.join(refused)))
    raise VspApiError('no key file there can restore the lost keys: %s' % '; '.join(refused))


def retention(files, keep):
    """``(delete, kept)``. Keeps the ``keep`` newest intact files, every file that is not intact
    (left for a person to look at), and every file holding a key or a drive's DEK that no newer kept
    file holds. ``kept`` is a list of ``{path, reason}``; ``keep`` 0 keeps all.
    """
    if not keep or keep <= 0:
        return [], [{'path': f['path'], 'reason': 'retention is off (keep 0)'} for f in files]
    delete, kept = [], []
    held_keys, held_locations = set(), set()
    newest = 0
    for entry in files:  # newest first
        if not entry['intact']:
            kept.append({'path': entry['path'], 'reason': 'does not match its manifest: left for you to look at'})
            continue
        if newest < keep:
            newest += 1
            reason = 'one of the %d newest' % keep
        else:
            reason = None
            if entry['_keys'] is None:
                reason = None  # a format-1 file cannot say what it holds; newer files decide
            else:
                extra_keys = sorted(entry['_keys'] - held_keys)
                extra_locations = sorted(entry['_locations'] - held_locations)
                if extra_keys or extra_locations:
                    what = extra_locations and ('a DEK for drive(s) %s' % ', '.join(extra_locations[:8])) or \
                        ('key(s) %s' % ', '.join(extra_keys[:8]))
                    reason = 'the newest file that holds %s, which no newer kept file holds' % what
        if reason is None:
            delete.append(entry['path'])
            continue
        kept.append({'path': entry['path'], 'reason': reason})
        if entry['_keys'] is not None:
            held_keys |= entry['_keys']
            held_locations |= entry['_locations']
    return delete, kept


def backup_decision(files, fingerprint, deriver=None):
    """``(needed, reason)`` for a scheduled file backup, given the newest intact file of this array.

    ``deriver`` (the backup password; None when the site turned password verifiers off): a newest
    file whose verifier rejects the password, or that has none, calls for a new file.
    """
    intact = [f for f in files if f['intact']]
    if not intact:
        return True, 'no intact key file of this array yet'
    newest = intact[0]
    if newest['_keys'] is None:
        return True, 'the newest file %s has a format-1 manifest, which does not say which keys it holds' % newest['name']
    if newest['key_fingerprint'] != fingerprint:
        return True, 'the keys changed since the newest file %s' % newest['name']
    if deriver is not None:
        ok = mf.check_password(newest['_manifest'], deriver, mf.manifest_path(newest['path']))
        if ok is False:
            return True, 'the backup password changed since the newest file %s' % newest['name']
        if ok is None:
            return True, 'the newest file %s has no password verifier, so it is not known to open with this password' % newest['name']
    return False, 'the keys are unchanged and the newest file %s matches its manifest and the password' % newest['name']


def reusable_salt(files, deriver):
    """``(salt, iterations)`` of the newest intact manifest with a password verifier, when that verifier takes the
    password, so that files made with one password share a salt and a :class:`manifest.Deriver` derives once for
    them; ``(None, None)`` otherwise (a new salt)."""
    for entry in files:
        if entry['has_password_verifier'] and entry['intact']:
            try:
                if mf.check_password(entry['_manifest'], deriver) is True:
                    return mf.salt_of(entry['_manifest'])
            except VspApiError:
                pass
            return None, None
    return None, None
