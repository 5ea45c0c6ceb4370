# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Decisions about the key files on a backup host, made on the control node (private to this collection).

:mod:`vsp.encryption.encryption_key_file_info`, run on the backup host, reads the files there (sha256 and size of
each, computed there) and returns their manifests; the backup password never leaves the control node. Here the same
rules as for a local directory (:mod:`key_files`) decide from those manifests: which file to fetch for a restore, and
what retention deletes on the host. A manifest from the host is checked again (:func:`manifest.check_shape`) before it
is believed, and a file counts only when its manifest opens with the password.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible_collections.vsp.encryption.plugins.module_utils import _key_files as key_files
from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError


def entries(info):
    """The entries of :func:`key_files.scan` rebuilt from a result of ``encryption_key_file_info`` (newest first), and
    ``[{path, reason}]`` of the files whose manifest did not come back whole."""
    files, aside = [], []
    for item in (info or {}).get('files') or []:
        manifest = item.get('manifest')
        path = item.get('path')
        if not isinstance(manifest, dict) or not isinstance(manifest.get('sha256'), str) or mf.check_shape(manifest):
            aside.append({'path': path, 'reason': 'its manifest did not come back from the host whole'})
            continue
        if not isinstance(item.get('sha256'), str) or not isinstance(item.get('size'), int):
            aside.append({'path': path, 'reason': 'the host did not say its sha256 and size'})
            continue
        files.append(key_files.entry(path, manifest, item['sha256'], item['size']))
    return key_files.newest_first(files), aside


def choose(info, password, lost_drives):
    """``(path, reason)``: the file on the host to fetch for a restore - the one :func:`key_files.choose_for_restore`
    picks from the host's manifests with the password. Raises :class:`VspApiError` saying why none fits."""
    files, dummy = entries(info)
    entry, reason = key_files.choose_for_restore(files, list(lost_drives or []), mf.Deriver(password))
    return entry['path'], reason


def retention(info, password, keep, keys_by_type):
    """``(delete, kept)`` on the host, by :func:`key_files.retention` with the keys the array has now."""
    files, aside = entries(info)
    delete, kept = key_files.retention(files, keep, key_files.key_tokens(keys_by_type or {}), mf.Deriver(password))
    return delete, kept + [{'path': a['path'], 'reason': 'not deleted: %s' % a['reason']} for a in aside]


def deletions(results, password, keep, keys_by_type, directory):
    """``[host, path]`` pairs to delete on the backup hosts (the manifest, then its key file), from the looped results
    of ``encryption_key_file_info`` delegated to them (``item`` is the host) on ``directory``. A path outside that
    directory is never deleted."""
    pairs = []
    directory = posixpath.normpath(directory or '')
    for result in results or []:
        if not isinstance(result, dict) or result.get('failed') or 'files' not in result:
            continue
        delete, dummy = retention(result, password, keep, keys_by_type)
        for path in delete:
            if not directory or posixpath.dirname(posixpath.normpath(path)) != directory:
                continue
            pairs.append([result.get('item'), mf.manifest_path(path)])  # the manifest first: a file without one is never chosen
            pairs.append([result.get('item'), path])
    return pairs


def choice_or_refusal(info, password, lost_drives, host, directory):
    """The path to fetch, or :class:`VspApiError` naming the host and the rule (for the role's refusal)."""
    try:
        return choose(info, password, lost_drives)[0]
    except VspApiError as exc:
        raise VspApiError('encryption_key_restore_path: in %s on %s, %s. Nothing was changed on the array.'
                          % (directory, host, exc.msg)) from None


# -- the copies on the backup hosts -------------------------------------------------------------------------------
def _why(result):
    """Why a looped result of a task on a backup host failed, or None."""
    if not isinstance(result, dict):
        return 'no result'
    if result.get('unreachable'):
        return 'not reached (%s)' % (str(result.get('msg') or 'unreachable').strip().splitlines()[0][:200])
    if result.get('failed'):
        return 'failed (%s)' % (str(result.get('msg') or 'error').strip().splitlines()[0][:200])
    return None


def _host_of(result):
    item = result.get('item') if isinstance(result, dict) else None
    return item[0] if isinstance(item, (list, tuple)) else item


def reached(hosts, *registered):
    """The hosts of ``hosts`` for which no looped result in ``registered`` failed or was unreachable."""
    bad = set()
    for results in registered:
        for result in (results or {}).get('results') or []:
            if _why(result) and not result.get('skipped'):
                bad.add(_host_of(result))
    return [h for h in hosts if h not in bad]


def copy_status(hosts, sha256, *registered):
    """``{host: {'verified': bool, 'why': text or None}}`` for the copies on the backup hosts. ``registered`` are the
    registered looped tasks on them, in order (the directory, the copy, the stat of the copy): a host is verified only
    when every task ran there and the stat found the copy with ``sha256`` and mode 0600."""
    status = dict((h, {'verified': False, 'why': 'not copied'}) for h in hosts)
    for results in registered:
        for result in (results or {}).get('results') or []:
            host = _host_of(result)
            if host not in status or status[host]['why'] != 'not copied':
                continue
            why = _why(result)
            if why:
                status[host]['why'] = why
    stats = registered[-1] if registered else {}
    for result in (stats or {}).get('results') or []:
        host = _host_of(result)
        if host not in status or status[host]['why'] != 'not copied' or 'stat' not in result:
            continue
        stat = result['stat']
        if not stat.get('exists'):
            status[host]['why'] = 'the copy is not there'
        elif stat.get('checksum') != sha256 or stat.get('mode') != '0600':
            status[host]['why'] = ('the copy does not match the verified key file (sha256 %s, mode %s; expected sha256 %s, '
                                   'mode 0600)' % (stat.get('checksum'), stat.get('mode'), sha256))
        else:
            status[host] = {'verified': True, 'why': None}
    return status


def with_deletions(status, deleted):
    """``status`` (:func:`copy_status`) with, for each host, ``deleted``: the key files retention deleted there (from
    the registered looped deletion, whose items are ``[host, path]``)."""
    merged = dict((h, dict(s, deleted=[])) for h, s in (status or {}).items())
    for result in (deleted or {}).get('results') or []:
        item = result.get('item') if isinstance(result, dict) else None
        if not isinstance(item, (list, tuple)) or _why(result) or item[0] not in merged:
            continue
        if not str(item[1]).endswith(mf.MANIFEST_SUFFIX):
            merged[item[0]]['deleted'].append(item[1])
    return merged
