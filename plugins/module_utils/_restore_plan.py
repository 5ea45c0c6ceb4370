# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The decisions of a key restore, made before a single write: which groups, which file, which volumes.

:func:`make_plan` reads the array (identity, keys, coverage of every encrypted parity group, pool
volumes) and the backup source, and either returns the plan or raises :class:`VspApiError` naming
the parameter and the rule. Every refusal the collection can decide happens here, before the role
blocks anything. :func:`plan_lines` words the plan for the operator.

Plan -> review -> apply: a check-mode run returns the plan; the run that restores is given it back
(:func:`options_of` reads the options it was made with), makes it again with every check, and
refuses it as stale, before any write, when anything it decided differs (:func:`refuse_stale`).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.vsp.encryption.plugins.module_utils import _key_files as key_files
from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils import _validate as validate
from ansible_collections.vsp.encryption.plugins.module_utils._coverage import EVIDENCE, parity_group_coverage
from ansible_collections.vsp.encryption.plugins.module_utils._backup_file import read_key_file_once
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils._keys import check_identity  # noqa: F401 - restore_plan.check_identity
from ansible_collections.vsp.encryption.plugins.module_utils._limits import KEY_FILE_MAX
from ansible_collections.vsp.encryption.plugins.module_utils._lists import bracketed, capped, id_ranges
from ansible_collections.vsp.encryption.plugins.module_utils._parity_groups import ParityGroups
from ansible_collections.vsp.encryption.plugins.module_utils._pool_volumes import PoolVolumeFinder
from ansible_collections.vsp.encryption.plugins.module_utils._pools import NORMAL, offline_impact

NOTHING_SENT = ' Nothing was changed on the array.'


def choose_groups(named, lost, force):
    """The parity groups to block, restore and recover (named, or those with lost keys)."""
    if named:
        left_out = [g for g in lost if g not in named]
        if left_out:
            raise VspApiError('parity_groups: the array reports lost keys in parity group(s) %s, which parity_groups %s '
                              'leaves out. A restore needs every pool volume of every group with lost keys blocked: '
                              'name them all, or leave parity_groups out to take the groups the array reports.%s'
                              % (bracketed(left_out), bracketed(named), NOTHING_SENT))
        return list(named)
    if force and not lost:
        raise VspApiError('parity_groups: with force and no parity group showing lost keys, name the parity groups whose '
                          'keys are to be restored (the array shows no loss to take them from).%s' % NOTHING_SENT)
    return list(lost)


def _file_from_manifest(path, manifest_data, storage, lost_drives, deriver):
    """Checks of an explicitly named key file against its manifest, the password verifier included (derived every
    time: no run skips it). Returns (manifest_verified, password_checked, warnings, sha256)."""
    mpath = mf.manifest_path(path)
    warnings = []
    sid = storage.get('storage_device_id')
    if str(manifest_data.get('storage_device_id')) != str(sid) or (
            manifest_data.get('serial_number') is not None and storage.get('serial_number') is not None
            and str(manifest_data.get('serial_number')) != str(storage.get('serial_number'))):
        raise VspApiError('path: %s is a key file of another array (its manifest names storage device id %s, serial %s; '
                          'this array is %s, serial %s). The rule: a key file is restored only to the array it was made on.%s'
                          % (path, manifest_data.get('storage_device_id'), manifest_data.get('serial_number'), sid,
                             storage.get('serial_number'), NOTHING_SENT))
    try:
        sha256, size = key_files.sha256_file(path)
    except OSError as exc:
        raise VspApiError('path: %s cannot be read: %s.%s' % (path, exc.strerror or type(exc).__name__, NOTHING_SENT)) from None
    if manifest_data.get('sha256') != sha256 or manifest_data.get('size', size) != size:
        raise VspApiError('path: %s does not match its manifest %s (sha256 %s, size %d; the manifest says sha256 %s, size %s). '
                          'The file is damaged or not the one that was backed up.%s'
                          % (path, mpath, sha256, size, manifest_data.get('sha256'), manifest_data.get('size'), NOTHING_SENT))
    tokens, locations = mf.holds(manifest_data)
    if locations is not None and not set(lost_drives).issubset(locations):
        missing = sorted(set(lost_drives) - locations)
        raise VspApiError('path: %s holds no DEK for drive(s) %s, whose keys are lost (the file was made after the loss, or '
                          'before those drives were encrypted). The rule: the file must hold a DEK for every drive that lost '
                          'its key. Name an older file, or the directory to let the collection pick one.%s'
                          % (path, capped(missing), NOTHING_SENT))
    if locations is None or not manifest_data.get('password_verifier') or not manifest_data.get('mac'):
        raise VspApiError('path: the manifest %s is not authenticated (format %d, without a password verifier and MAC): anyone '
                          'who can write the directory could have written it, and nothing in it can be believed. The rule: a '
                          'file is restored from its manifest only when the manifest opens with backup_password. If you know '
                          'this file is right, restore it without its manifest (verify_manifest: false); the array then '
                          'decides whether it is this array\'s and holds the lost keys, after the volumes are blocked.%s'
                          % (mpath, mf.version(manifest_data), NOTHING_SENT))
    if deriver is None:
        raise VspApiError('backup_password: needed to check the manifest %s (its password verifier and MAC).%s' % (mpath, NOTHING_SENT))
    else:
        checked = mf.check_password(manifest_data, deriver, mpath)
    if checked is not True:
        raise VspApiError('backup_password does not match the password verifier in %s: it is not the password this file was '
                          'made with (after a password rotation, older files need the older password).%s' % (mpath, NOTHING_SENT))
    if key_files.in_the_future(mf.parse_time(manifest_data.get('created_utc'))):
        warnings.append('%s is dated in the future (%s): the clock of the host that made it is wrong.'
                        % (mpath, manifest_data.get('created_utc')))
    return True, checked, warnings, sha256


def _ignored_text(ignored):
    """The files left out of a directory, for a refusal: other arrays' files counted, the rest named (capped)."""
    foreign = key_files.of_other_arrays(ignored)
    others = len(foreign)
    own = [i for i in ignored if i not in foreign]
    parts = []
    if own:
        parts.append('Set aside there: %s.' % capped(
            ('%s: %s' % (os.path.basename(i['path']), i['reason']) for i in own), 5, '; '))
    if others:
        parts.append('%d file(s) there belong to other arrays.' % others)
    return (' ' + ' '.join(parts)) if parts else ''


def start_derivation(path, deriver):
    """Start deriving the password (:meth:`manifest.Deriver.start`) for the verifier the plan will most likely check,
    so that the PBKDF2 runs while the array is read: that of the named file's manifest, or of the newest manifest
    with a verifier in the directory (files made with one password share a salt). Only reads local manifests; a
    guess that turns out wrong costs one derivation in a thread, and nothing else."""
    if os.path.isdir(path):
        newest = None
        for name in sorted(os.listdir(path)):
            if not name.endswith(mf.MANIFEST_SUFFIX):
                continue
            try:
                data = mf.read(os.path.join(path, name[:-len(mf.MANIFEST_SUFFIX)]))
            except VspApiError:
                continue
            if data and data.get('password_verifier') and (newest is None or str(data.get('created_utc')) > str(newest.get('created_utc'))):
                newest = data
    else:
        try:
            newest = mf.read(path)
        except VspApiError:
            return
    salt, iterations = mf.salt_of(newest or {})
    if salt is not None:
        deriver.start(salt, iterations)


def choose_file(params, storage, lost_drives, deriver):
    """``(path, reason, manifest_verified, password_checked, warnings, sha256)`` for ``source: file``: ``sha256`` is
    that of the bytes checked (None without a manifest check), the only bytes the restore may upload."""
    path = params['path']
    verify = params.get('verify_manifest', True)
    if path.endswith(mf.MANIFEST_SUFFIX) and not os.path.isdir(path):
        raise VspApiError('path: %s is a manifest, not a key file. Give the key file it describes: %s (or the directory '
                          'of the key files).%s' % (path, path[:-len(mf.MANIFEST_SUFFIX)], NOTHING_SENT))
    validate.named_file_without_manifest(path, verify)
    if os.path.isdir(path):
        files, ignored = key_files.scan(path, storage.get('storage_device_id'))
        try:
            entry, reason = key_files.choose_for_restore(files, lost_drives, deriver)
        except VspApiError as exc:
            name = 'backup_password' if isinstance(exc, key_files.PasswordRefused) else 'path'
            raise VspApiError('%s: in %s, %s.%s%s' % (name, path, exc.msg, _ignored_text(ignored), NOTHING_SENT)) from None
        newer = [f for f in files if not f['counts'] and f['created_utc'] > entry['created_utc']]
        warning = key_files.set_aside_warning(newer, restore=True)
        return entry['path'], reason, True, True, [warning] if warning else [], entry['sha256']
    if not verify:
        return path, 'named by path (manifest check turned off with verify_manifest: false)', False, None, [
            'verify_manifest is false: the file is not checked against a manifest; whether it is this array\'s, whether it '
            'holds the lost keys and whether the password opens it are known only after the volumes are blocked.'], None
    manifest_data = mf.read(path)
    if manifest_data is None:
        raise VspApiError('path: %s has no manifest (%s). The rule: a restore needs the manifest made with the file, to '
                          'check that the file is this array\'s, is intact, holds the lost keys and opens with the password. '
                          'Set verify_manifest: false only if you know the file is right.%s'
                          % (path, mf.manifest_path(path), NOTHING_SENT))
    verified, checked, warnings, sha256 = _file_from_manifest(path, manifest_data, storage, lost_drives, deriver)
    return path, 'named by path', verified, checked, warnings, sha256


def make_plan(api, params, storage, deriver=None, offline=True, *, against=None):
    """Read the array and the backup source; return the plan (no write is sent).

    ``offline``: also read which pools and DP volumes go offline (for the operator; the restore
    itself, after the block, does not need it).

    ``against``: a plan made before (given back as the option ``plan``; ``params`` then hold the options it was made
    with, :func:`options_of`). The plan is made again, every check included, and any difference from ``against``
    (:func:`array_differences`, :func:`decision_differences`) is refused before any write.
    """
    keys = api.list_keys_by_type()
    check_identity(storage, params.get('expected_storage_device_id'), params.get('expected_serial_number'))
    parity_groups = ParityGroups(api)  # the coverage's list of every group serves the pool volume lookups
    cov = parity_group_coverage(api, keys.get('DEK') or [], parity_groups=parity_groups)
    if against is not None:  # the array's facts first: on another array, or with other keys lost, nothing else holds
        refuse_stale(against, array_differences(against, storage, cov))
    named = validate.parity_group_ids(params.get('parity_groups'), 'parity_groups')
    force = bool(params.get('force'))
    groups = choose_groups(named, cov['lost_parity_groups'], force)
    needed = bool(cov['lost_parity_groups']) or force
    plan = {
        'format_version': PLAN_FORMAT,
        'created_utc': mf.utc_now().strftime(mf.TIME_FORMAT),
        'made_with': {'source': params['source'], 'path': params.get('path') if params['source'] == 'file' else None,
                      'parity_groups': named or None, 'force': force},
        'storage': storage,
        'parity_groups': groups,
        'parity_groups_named': bool(named),
        'lost_parity_groups': cov['lost_parity_groups'],
        'lost_drives': cov['lost_drives'],
        'coverage': cov['parity_groups'],
        'evidence': EVIDENCE,
        'restore_needed': needed,
        'forced': force and not cov['lost_parity_groups'],
        'source': params['source'],
        'path': None,
        'path_reason': None,
        'manifest_verified': False,
        'password_checked': None,
        'sha256': None,
        'warnings': [],
        'key_counts': dict((t, len(v)) for t, v in keys.items()),
    }
    if needed and params['source'] == 'file':
        path, reason, verified, checked, warnings, sha256 = choose_file(params, storage, cov['lost_drives'], deriver)
        plan.update(path=path, path_reason=reason, manifest_verified=verified, password_checked=checked, sha256=sha256)
        plan['warnings'].extend(warnings)
    elif params['source'] == 'file':
        plan.update(path=params['path'], path_reason='not used: no key is lost')
    if against is not None:
        refuse_stale(against, decision_differences(against, plan))
    volumes = PoolVolumeFinder(api, parity_groups).by_parity_groups(groups) if groups else []
    plan['volumes'] = [{'ldev_id': int(v['ldevId']), 'status': v.get('status'),
                        'pool_id': v.get('composingPoolId', v.get('poolId'))} for v in volumes]
    plan['volumes_to_block'] = [v['ldev_id'] for v in plan['volumes'] if v['status'] != 'BLK'] if needed else []
    plan['volumes_to_recover'] = ([v['ldev_id'] for v in plan['volumes']] if needed
                                  else [v['ldev_id'] for v in plan['volumes'] if v['status'] != 'NML'])
    plan['pools'] = sorted(set(v['pool_id'] for v in plan['volumes'] if v['pool_id'] is not None))
    plan['pools_to_recover'] = pools_to_recover(api, plan['pools'], needed)
    plan['offline'] = offline_impact(api, groups, volumes) if offline and needed and volumes else None
    plan['lines'] = plan_lines(plan)
    return plan


# -- plan -> review -> apply: a plan given back is one of this module, and it still holds -------------------------
PLAN_FORMAT = 1
PLAN_RULE = ('The rule: plan takes the plan (RV plan) that a check-mode run of vsp.encryption.encryption_key_restore '
             'returned, unchanged (format_version %d).' % PLAN_FORMAT)
NOTHING_SENT_TO_ARRAY = ' Nothing was sent to the array; nothing was changed on it.'


def _is_text_list(value, pattern=None):
    return isinstance(value, list) and all(isinstance(v, str) and (pattern is None or pattern.match(v)) for v in value)


def _is_bool(value):
    return isinstance(value, bool)


# (field, check, what it must be): the fields an apply reads from a plan
_PLAN_FIELDS = (
    ('created_utc', lambda v: mf.parse_time(v) is not None, 'a UTC time such as 2026-12-01T02:00:00Z'),
    ('storage', lambda v: isinstance(v, dict) and isinstance(v.get('storage_device_id'), str)
     and isinstance(v.get('serial_number'), (int, str, type(None))) and not isinstance(v.get('serial_number'), bool),
     'a dict with storage_device_id and serial_number'),
    ('parity_groups', lambda v: _is_text_list(v, validate.ARRAY_PARITY_GROUP_ID_RE), 'a list of parity group ids'),
    ('lost_parity_groups', lambda v: _is_text_list(v, validate.ARRAY_PARITY_GROUP_ID_RE), 'a list of parity group ids'),
    ('lost_drives', _is_text_list, 'a list of drive locations'),
    ('restore_needed', _is_bool, 'true or false'),
    ('source', lambda v: v in ('file', 'kms'), 'file or kms'),
    ('path', lambda v: v is None or isinstance(v, str), 'text or null'),
    ('sha256', lambda v: v is None or (isinstance(v, str) and mf.SHA256_RE.fullmatch(v)), 'null or 64 lower-case hex digits'),
    ('manifest_verified', _is_bool, 'true or false'),
)
_MADE_WITH_FIELDS = (
    ('source', lambda v: v in ('file', 'kms'), 'file or kms'),
    ('path', lambda v: v is None or (isinstance(v, str) and v != ''), 'text (with source file) or null'),
    ('parity_groups', lambda v: v is None or (_is_text_list(v, validate.PARITY_GROUP_ID_RE) and v != []),
     'null or a list of parity group ids'),
    ('force', _is_bool, 'true or false'),
)


def _field_problems(data, fields, prefix=''):
    problems = []
    for name, check, what in fields:
        if name not in data:
            problems.append('%s%s is missing' % (prefix, name))
        elif not check(data[name]):
            problems.append('%s%s must be %s, not %s' % (prefix, name, what, validate.shown(data[name])))
    return problems


def options_of(plan):
    """The options the plan was made with (``source``, ``path``, ``parity_groups``, ``force``), for the apply that
    makes it again. Refuses, naming each problem and the rule, what is not a plan of this module: before any request."""
    if not isinstance(plan, dict):
        problems = ['it is %s, not a dict' % validate.shown(plan)]
    elif 'format_version' not in plan:
        problems = ['format_version is missing']
    elif plan['format_version'] != PLAN_FORMAT or isinstance(plan['format_version'], bool):
        problems = ['format_version is %s; this version of the collection reads plans of format_version %d'
                    % (validate.shown(plan['format_version']), PLAN_FORMAT)]
    else:
        problems = _field_problems(plan, _PLAN_FIELDS)
        made = plan.get('made_with')
        if 'made_with' not in plan:
            problems.append('made_with is missing')
        elif not isinstance(made, dict):
            problems.append('made_with must be a dict of source, path, parity_groups and force, not %s' % validate.shown(made))
        else:
            problems.extend(_field_problems(made, _MADE_WITH_FIELDS, 'made_with.'))
            if not problems and made['source'] == 'file' and made['path'] is None:
                problems.append('made_with.path is missing (null) with made_with.source file')
    if problems:
        raise VspApiError('plan: not a plan of this module - %s. %s%s'
                          % ('; '.join(problems), PLAN_RULE, NOTHING_SENT_TO_ARRAY))
    made = plan['made_with']
    return {'source': made['source'], 'path': made['path'], 'parity_groups': made['parity_groups'], 'force': made['force']}


def array_differences(plan, storage, cov):
    """What the array says now that the plan did not: its identity, the groups with lost keys, the drives without a DEK."""
    differences = []
    then = plan.get('storage') or {}
    if (str(then.get('storage_device_id')), str(then.get('serial_number'))) != (
            str(storage.get('storage_device_id')), str(storage.get('serial_number'))):
        differences.append('the array at this address is now storage device id %s (serial %s), the plan has %s (serial %s)'
                           % (storage.get('storage_device_id'), storage.get('serial_number'), then.get('storage_device_id'),
                              then.get('serial_number')))
    if list(cov['lost_parity_groups']) != list(plan.get('lost_parity_groups') or []):
        differences.append('the parity groups with lost keys are now %s, the plan has %s'
                           % (bracketed(cov['lost_parity_groups']), bracketed(plan.get('lost_parity_groups') or [])))
    if list(cov['lost_drives']) != list(plan.get('lost_drives') or []):
        differences.append('the drives without a DEK are now %s, the plan has %s'
                           % (bracketed(cov['lost_drives']), bracketed(plan.get('lost_drives') or [])))
    return differences


def decision_differences(plan, now):
    """What the plan made again decides that the plan did not: the groups, whether to restore, the source, the file."""
    differences = []
    if now['parity_groups'] != plan.get('parity_groups'):
        differences.append('the parity groups to act on are now %s, the plan has %s'
                           % (bracketed(now['parity_groups']), bracketed(plan.get('parity_groups') or [])))
    if now['restore_needed'] != plan.get('restore_needed'):
        differences.append('a restore is now needed, the plan has none' if now['restore_needed']
                           else 'no restore is needed now, the plan has one')
    if now['source'] != plan.get('source'):
        differences.append('the source is now %s, the plan has %s' % (now['source'], plan.get('source')))
    if now['path'] != plan.get('path'):
        differences.append('the key file is now %s, the plan has %s' % (now['path'], plan.get('path')))
    if now['sha256'] != plan.get('sha256'):
        differences.append("the file's sha256 is now %s, the plan has %s" % (now['sha256'], plan.get('sha256')))
    if now['manifest_verified'] != plan.get('manifest_verified'):
        differences.append('the file is now checked against its manifest, the plan\'s was not' if now['manifest_verified']
                           else 'the file is not checked against its manifest now (verify_manifest: false), the plan\'s was')
    return differences


def refuse_stale(plan, differences):
    """Refuse a plan that no longer holds, naming each difference."""
    if differences:
        raise VspApiError('plan: stale - %s. Make a new plan (check mode) and review it (this one was made at %s).%s'
                          % ('; '.join(differences), plan.get('created_utc'), NOTHING_SENT_TO_ARRAY))


def pools_to_recover(api, pool_ids, needed):
    """The pools of the groups' pool volumes that the recovery must bring back to normal (``POLN``).

    With a restore, every one of them (the block takes each pool offline). Without one, those an earlier run left
    not normal (one read per pool), so that a rerun converges, and a run that finds every pool normal needs no
    module run for the pools.
    """
    if needed:
        return list(pool_ids)
    return [p for p in pool_ids if (api.get_pool(p) or {}).get('poolStatus') != NORMAL]


def plan_lines(plan):
    """The plan in words, for the operator (lists print as lists, paths as given)."""
    lines = []
    sid = plan['storage'].get('storage_device_id')
    if plan['lost_parity_groups']:
        lines.append('Array %s: parity group(s) %s have lost keys (drives without a DEK: %s).'
                     % (sid, bracketed(plan['lost_parity_groups']), bracketed(plan['lost_drives'])))
    else:
        lines.append('Array %s: no encrypted parity group shows lost keys.' % sid)
    lines.append('Evidence: %s. If you know keys are lost but the array shows none (an array that keeps lost keys listed), '
                 'name the parity groups and set force.' % plan['evidence'])
    how = 'as named' if plan['parity_groups_named'] else 'taken from the array, as parity_groups was not given'
    if plan['restore_needed']:
        source = ('the key file %s (%s)' % (plan['path'], plan['path_reason'])) if plan['source'] == 'file' \
            else 'the key management server'
        lines.append('Parity groups to act on (%s): %s.' % (how, bracketed(plan['parity_groups'])))
        lines.append('Block %d pool volume(s) not blocked yet: LDEV %s (pools %s); restore the keys%s from %s; then recover '
                     'all %d pool volume(s): LDEV %s.'
                     % (len(plan['volumes_to_block']), id_ranges(plan['volumes_to_block']), bracketed(plan['pools']),
                        ' (forced: no group shows lost keys)' if plan['forced'] else '', source,
                        len(plan['volumes_to_recover']), id_ranges(plan['volumes_to_recover'])))
        offline = plan.get('offline')
        if offline:
            pools_text = ', '.join('%s%s' % (p['pool_id'], ' (%s)' % p['pool_name'] if p.get('pool_name') else '')
                                   for p in offline['pools'])
            dp_text = ('%d DP volume(s) (LDEV %s)' % (offline['dp_volume_count'], id_ranges(offline['dp_volume_ids']))
                       if offline['dp_volume_count'] else 'no DP volume')
            lines.append('Offline from the block until the recovery: pool(s) %s, so %s carved from them, and the %d pool '
                         'volume(s) of these parity groups. Stop or quiesce the hosts that use them.'
                         % (pools_text, dp_text, offline['pool_volume_count']))
        if plan['source'] == 'file':
            checks = ['manifest verified' if plan['manifest_verified'] else 'no manifest check']
            checks.append({True: 'password matches the verifier', False: 'password does not match',
                           None: 'password not checkable before the restore'}[plan['password_checked']])
            lines.append('Checks before any write: this array\'s file, %s.' % ', '.join(checks))
    elif plan['volumes_to_recover']:
        lines.append('Nothing to restore, nothing to block. Recover the %d pool volume(s) of parity groups %s that are not '
                     'normal: LDEV %s.' % (len(plan['volumes_to_recover']), bracketed(plan['parity_groups']),
                                           id_ranges(plan['volumes_to_recover'])))
    else:
        lines.append('Nothing to restore, block or recover: no parity group needs it.' if not plan['parity_groups'] else
                     'Nothing to restore, block or recover: every pool volume of parity groups %s is normal.'
                     % bracketed(plan['parity_groups']))
    for warning in plan['warnings']:
        lines.append('Warning: %s' % warning)
    return lines


def read_upload(path, expected_sha256=None, cap=KEY_FILE_MAX):
    """The key file's bytes, read once: the bytes checked here are the bytes uploaded."""
    content, sha256, size = read_key_file_once(path, cap)
    if not size:
        raise VspApiError('path %s is empty.%s' % (path, NOTHING_SENT))
    if expected_sha256 is not None and sha256 != expected_sha256:
        raise VspApiError('path %s changed after it was checked against its manifest (sha256 now %s).%s' % (path, sha256, NOTHING_SENT))
    return content, sha256


def holder_path(plan, cov, deriver=None):
    """The file next to the one used that holds the keys still lost (not the one just used), or None."""
    if plan.get('source') != 'file' or not plan.get('path'):
        return None
    directory = os.path.dirname(os.path.abspath(plan['path']))
    try:
        files, dummy = key_files.scan(directory, plan['storage'].get('storage_device_id'))
    except (VspApiError, OSError):
        return None
    used = os.path.abspath(plan['path'])
    key_files.authenticate(files, deriver)
    for entry in key_files.holders(files, cov['lost_drives']):
        if os.path.abspath(entry['path']) != used:  # the file just used did not bring them back, whatever its manifest says
            return entry['path']
    return None


def holder_hint(plan, cov, deriver=None):
    """Which file next to the one used would hold the keys that are still lost (or None)."""
    if plan.get('source') != 'file' or not plan.get('path'):
        return None
    directory = os.path.dirname(os.path.abspath(plan['path']))
    path = holder_path(plan, cov, deriver)
    if path:
        return 'The key file %s holds them: rerun with it (or with the directory %s).' % (path, directory)
    return 'No key file in %s holds them (by the manifests); look for an older copy, or restore from the KMS.' % directory


def still_lost_message(source_text, cov, path_dir_hint=None):
    return ('The restore from %s finished, but keys of parity group(s) %s are still lost (drives without a DEK: %s). '
            'The pool volumes stay blocked and recovery was not tried, as it must fail while keys are lost. %s'
            % (source_text, bracketed(cov['lost_parity_groups']), bracketed(cov['lost_drives']),
               path_dir_hint or 'Use a key file that holds those keys (name the backup directory to let the collection pick one).'))
