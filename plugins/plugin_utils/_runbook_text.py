# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The words the roles say at 3 a.m.: summaries, refusals, failures and how to resume.

Plain functions over the modules' results, used by the filter plugins of ``plugins/filter/runbook.py``
(so the roles hold no text-building Jinja) and tested with plain pytest. Lists print as lists,
paths keep their case, and each failure is stated once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import shlex

from ansible_collections.vsp.encryption.plugins.module_utils._lists import bracketed, capped, id_ranges
from ansible_collections.vsp.encryption.plugins.module_utils._validate import text_list as _text_list

AWX_TEMPLATE_VARS = ('awx_job_template_name', 'tower_job_template_name')


def text_list(value, name='value'):
    """A list or comma-separated text → list of stripped, non-empty strings."""
    return _text_list(value, name)


def _shell_value(value):
    """An extra variable's value as ``-e key=value`` takes it: lists as comma text, booleans as true/false."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (list, tuple)):
        return ','.join(str(v) for v in value)
    return str(value)


_YAML_PLAIN_UNSAFE = re.compile(r"""^[-?:,\[\]{}#&*!|>'"%@`\s]|[,\[\]{}'"\\]|: | #|\s$""")


def _extra_var(name, value):
    """One ``-e`` argument for a shell, pasteable from the default callback's output (no double quote, no backslash).

    ``name=value`` where the value has no blank (``-e`` splits ``key=value`` text at blanks, even inside one shell
    word); else a YAML flow mapping ``'{name: value}'``, whose plain scalar keeps the blanks; else (a value YAML would
    not keep as it is) JSON, whose double quotes the default callback escapes: rare enough (a path with a quote or a
    comma) to accept.
    """
    text = _shell_value(value)
    if not re.search(r"""[\s'"\\]""", text):
        return shlex.quote('%s=%s' % (name, text))
    if not _YAML_PLAIN_UNSAFE.search(text):
        return "'{%s: %s}'" % (name, text)
    return shlex.quote(json.dumps({name: value}))


def resume_hint(playbook, resume_vars, host, inventories=None, awx_template=None, *, check_mode=False):
    """How to run the same job again: an AWX relaunch, or an ``ansible-playbook`` line with the vault hint.

    ``check_mode``: the run was a rehearsal, and so is the rerun (``--check``; the job template in check mode).
    The shell line passes each variable as ``-e key=value``, quoted with single quotes where a shell needs it: the
    default callback prints a message as JSON, where a double quote would come out as ``\"`` and could not be pasted.
    """
    resume_vars = dict((k, v) for k, v in (resume_vars or {}).items() if v not in (None, '', [], ()))
    if awx_template:
        return ('Relaunch the job template %s (limit %s%s) with these extra variables: %s'
                % (json.dumps(awx_template), host, ', job type check' if check_mode else '',
                   json.dumps(resume_vars, sort_keys=True)))
    inventory = ' '.join('-i %s' % shlex.quote(i) for i in (inventories or [])) or '-i <inventory>'
    check = ' --check' if check_mode else ''
    extra = ''.join(' -e %s' % _extra_var(k, v) for k, v in sorted(resume_vars.items()))
    return ('ansible-playbook %s %s --limit %s%s%s  (add the vault options this run used, for example --ask-vault-pass '
            'or --vault-password-file <file>)' % (inventory, shlex.quote(playbook), shlex.quote(host), check, extra))


def failed_input(result, resume_vars, prefix):
    """The role variable (``prefix`` + option) whose value the failed module run refused, when the resume line would
    repeat it; '' otherwise. A module's refusal of a value starts with the option's name (``parity_groups: ...``)."""
    match = re.match(r'([a-z_]+)[: ]', str((result or {}).get('msg') or ''))
    name = (prefix + match.group(1)) if match else ''
    return name if name in (resume_vars or {}) else ''


def volume_states(volumes):
    """Each pool volume's state, LDEV ids as ranges per status: ``BLK: LDEV 0-3; NML: LDEV 4-7``."""
    if volumes is None:
        return 'unknown (they could not be read)'
    if not volumes:
        return 'none'
    by_status = {}
    for volume in volumes:
        by_status.setdefault(str(volume.get('status')), []).append(volume.get('ldev_id'))
    return '; '.join('%s: LDEV %s' % (status, id_ranges(ldevs)) for status, ldevs in sorted(by_status.items()))


def _sentence(text):
    text = text.rstrip()
    return text if text.endswith(('.', '!', '?')) else text + '.'


def failure_text(what, task_name, result, volumes=None, resume=None, *, fix=''):
    """One message for a failed role run: where it stopped, why (once), the volumes, how to resume.

    The message is complete (what a rescue around the role, a notification or AWX reads as the failure): the cause
    (never a secret: the modules never put one in a message), the volumes, what to do. ``fix``: the role variable
    whose value caused the failure (:func:`failed_input`), left out of the resume line, which says so.
    """
    result = result or {}
    parts = ['The %s stopped at "%s": %s' % (what, task_name or '?', _sentence(result.get('msg') or 'no message'))]
    if volumes is not False:
        parts.append('Pool volumes now: %s.' % volume_states(volumes))
    if resume and fix:
        parts.append('Fix %s, then run again: the resume command leaves it out; add it with a value that works, or '
                     'leave it out for its default. A rerun converges. Resume with: %s' % (fix, resume))
    elif resume:
        parts.append('Fix the cause, then run again: a rerun converges (blocked volumes stay blocked, the restore runs '
                     'only while keys are lost, every pool volume is recovered at the end). Resume with: %s' % resume)
    return ' '.join(parts)


def restore_summary(plan, *, block=None, restore=None, recover=None, after=None, check_mode=False):
    """The closing lines of a restore run."""
    block = block or {}
    restore = restore or {}
    recover = recover or {}
    lines = []
    if check_mode:
        lines.append('Check mode, nothing was changed. The plan: %s' % ' '.join(plan.get('lines', [])[2:]))
        lines.append('To do it, run without --check and with -e encryption_key_restore_confirm=true.')
        return lines
    blocked = block.get('changed_ldev_ids') or []
    recovered = recover.get('changed_ldev_ids') or []
    if plan.get('restore_needed'):
        source = ('the key file %s' % plan.get('path')) if plan.get('source') == 'file' else 'the key management server'
        lines.append('Blocked %s, restored %s key(s) from %s, recovered %s.'
                     % (pool_volumes(blocked), restore.get('keys_restored', 0), source, pool_volumes(recovered)))
    elif recovered:
        lines.append('No key was lost: nothing restored, nothing blocked; recovered %s.' % pool_volumes(recovered))
    else:
        lines.append('No key was lost: nothing restored, blocked or recovered.')
    if after is not None:
        lines.append('Verified on the array: no encrypted parity group has lost keys; all %d pool volume(s) of parity '
                     'groups %s are normal (NML). Keys now: %s.'
                     % (len(after.get('volumes') or []), bracketed(plan.get('parity_groups')), counts(after.get('key_counts'))))
    return lines


def pool_volumes(ldev_ids):
    """``3 pool volume(s) (LDEV 0-2)``; ``0 pool volume(s)``."""
    ldev_ids = list(ldev_ids or [])
    return '%d pool volume(s)%s' % (len(ldev_ids), ' (LDEV %s)' % id_ranges(ldev_ids) if ldev_ids else '')


def counts(key_counts):
    return ', '.join('%s %s' % (k, v) for k, v in (key_counts or {}).items()) or 'none'


def verify_problems(lost_groups, volumes, pools=None):
    """The verification failure text, or '' when all is well."""
    bad = [v for v in volumes or [] if v.get('status') != 'NML']
    bad_pools = [p for p in pools or [] if p.get('pool_status') not in (None, 'POLN')]
    problems = []
    if bad_pools:
        problems.append('pools not normal: %s' % ', '.join('pool %s %s' % (p.get('pool_id'), p.get('pool_status')) for p in bad_pools))
    if lost_groups:
        problems.append('parity groups with lost keys: %s' % bracketed(lost_groups))
    if bad:
        problems.append('pool volumes not normal: %s' % volume_states(bad))
    problems.sort(key=lambda p: not p.startswith('parity'))
    return ('Verification failed: %s.' % '; '.join(problems)) if problems else ''


def backup_refusal(info, files, restore_command, copy_hosts=None, kms_command=None):
    """Why the nightly backup writes nothing while keys are lost, which file holds them, what to do.

    ``files``: the result of ``encryption_key_file_info`` on the backup directory (``holders``, and ``files`` with
    ``counts``, ``trust``, ``damaged`` and ``manifest``); ``restore_command``: a restore from that directory, suggested
    only when a file there that counts holds the lost keys; ``copy_hosts``: the backup hosts, where a good copy may be;
    ``kms_command``: a restore from the key management server, when the site backs up there."""
    holders = files.get('holders') or []
    lost = set(info.get('lost_drives') or [])
    # files whose manifest claims the lost keys but that do not count (damaged, another password, not authenticated)
    claimed = [f for f in files.get('files') or [] if not f.get('counts') and lost
               and lost <= set(((f.get('manifest') or {}).get('dek_locations') or {}).values())]
    damaged = [f for f in claimed if f.get('damaged')]
    hosts = _text_list(copy_hosts or [], 'copy_hosts')
    elsewhere = ('A good copy may be on the backup hosts%s (restore with encryption_key_restore_from_host=<host>) or on '
                 'the KMS (encryption_key_restore_source=kms).' % (' %s' % bracketed(hosts) if hosts else ''))
    if holders:
        holder = 'The newest key file that holds them: %s.' % holders[0]
    elif damaged:
        shown = '; '.join('%s (made %s)' % (f.get('path'), f.get('created_utc') or '?') for f in damaged[:3])
        more = ' (and %d more)' % (len(damaged) - 3) if len(damaged) > 3 else ''
        others = len(claimed) - len(damaged)
        holder = ('The only key file(s) in the backup directory that claim to hold them are DAMAGED - their bytes no longer '
                  'match their authenticated manifest, so a restore from them would fail: %s%s.%s %s'
                  % (shown, more, (' %d other file(s) claiming them do not count either (another password, or a manifest '
                                   'that is not authenticated).' % others) if others else '', elsewhere))
    elif claimed:
        shown = '; '.join('%s %s' % (f.get('path'), f.get('trust')) for f in claimed[:3])
        more = ' (and %d more)' % (len(claimed) - 3) if len(claimed) > 3 else ''
        holder = 'Only key files that do not count claim to hold them: %s%s. %s' % (shown, more, elsewhere)
    elif 'files' not in files and kms_command:
        holder = ''  # no backup directory: the keys are backed up to the key management server only
    else:
        holder = 'No key file in the backup directory holds them all (by the manifests). %s' % elsewhere
    # a restore from the directory works only from a file there that counts and holds the keys
    if holders:
        restore = 'Restore the keys: %s.' % restore_command
    elif kms_command:
        restore = 'Restore the keys from the key management server, where this site backs them up: %s.' % kms_command
    else:
        restore = 'Restore the keys from that good copy: a restore from the backup directory would find no file to use.'
    return ('Keys of parity group(s) %s of array %s are lost (drives without a DEK: %s). No backup was written and none '
            'was deleted: a backup now would lack those keys, and retention could delete the only file that holds them. '
            '%s%s To write a file anyway (retention then deletes nothing), set '
            'encryption_key_backup_allow_lost_keys=true.'
            % (bracketed(info.get('lost_parity_groups')), (info.get('storage') or {}).get('storage_device_id'),
               '[%s]' % capped(info.get('lost_drives') or []), holder + ' ' if holder else '', restore))


def backup_summary(info, *, files=None, backup=None, kms=None, retention=None, check_mode=False, lost_keys_override=False,
                   copies=None, copy_hosts=None):
    """The closing lines of a backup run. ``copies``: ``{host: sha256}`` of the verified copies on backup hosts;
    ``copy_hosts``: ``{host: {verified, why, deleted}}`` of every backup host (the others are named, with why)."""
    storage = info.get('storage') or {}
    files = files or {}
    backup = backup or {}
    head = 'Check mode, nothing is written. ' if check_mode else ''
    lines = ['%sArray %s %s: keys %s.' % (head, storage.get('model'), storage.get('storage_device_id'), counts(info.get('key_counts')))]
    if backup.get('changed'):
        if check_mode:
            lines.append('File: would write %s (%s).' % (backup.get('path'), files.get('backup_reason', 'requested')))
        else:
            lines.append('File: wrote and verified %s (%s bytes, sha256 %s) because %s.'
                         % (backup.get('path'), backup.get('size'), backup.get('sha256'), files.get('backup_reason', 'requested')))
    elif 'backup_needed' in files:
        lines.append('File: no new backup: %s.' % files.get('backup_reason'))
    else:
        lines.append('File: not requested.')
    damaged = backup.get('damaged_files') or []
    if damaged:
        lines.append('Damaged: %d key file(s) of this array no longer match their manifest (%s): neither used nor deleted; '
                     'replace them from a good copy or delete them (the warning says more).'
                     % (len(damaged), capped([d.get('path') for d in damaged], 3)))
    if lost_keys_override:
        lines.append('Warning: keys of parity groups %s are lost and encryption_key_backup_allow_lost_keys is set: the new '
                     'file lacks them, and retention deleted nothing.' % bracketed(info.get('lost_parity_groups')))
    if copies:
        lines.append('Copies: verified (sha256 %s) on %s.' % (', '.join(sorted(set(copies.values()))), bracketed(sorted(copies))))
    for host, status in sorted((copy_hosts or {}).items()):
        if not status.get('verified'):
            lines.append('Copy on %s: none verified, %s.' % (host, status.get('why')))
        if status.get('deleted'):
            lines.append('Retention on %s: deleted %s.' % (host, bracketed(status['deleted'])))
    if kms is not None:
        lines.append('KMS: %s.' % (('would back up' if check_mode else 'backed up') + ' the keys to the key management server'
                                   if kms.get('changed') else 'not requested'))
    if retention:
        deleted = retention.get('delete') or []
        verb = 'would delete' if check_mode else 'deleted'
        lines.append('Retention: %s %s.' % (verb, bracketed(deleted)) if deleted else 'Retention: nothing to delete.')
        # the newest are expected, and the files that do not count a warning of the backup run has named already
        kept = [k for k in retention.get('kept') or [] if not k.get('reason', '').startswith(('one of the', 'not deleted: it '))]
        for item in kept:
            lines.append('Retention kept %s: %s.' % (item.get('path'), item.get('reason')))
    return lines


def progress_batches(ldev_ids, size=256, verb='changed', volumes=None, pools=None):
    """The LDEV ids in batches of ``size``, each with the progress line shown when the batch is done.

    ``[{'ldev_ids': [...], 'label': 'blocked 256 / 1024 pool volumes (LDEV 0-255)'}, ...]``. With ``volumes`` (the
    plan's pool volumes, ``{ldev_id, pool_id}``) or ``pools`` (the pools to recover after the phase), each batch also
    has ``pool_ids`` (the pools of its volumes) and ``recover_pools``: true for the last batch when its volumes
    belong to every pool of ``pools``, so the pools are recovered in the same module run as the last volumes.
    """
    ids = sorted(int(i) for i in ldev_ids or [])
    size = max(1, int(size))
    pool_of = dict((int(v['ldev_id']), v.get('pool_id')) for v in volumes or [])
    wanted = set(int(p) for p in pools or [])
    batches = []
    for start in range(0, len(ids), size):
        part = ids[start:start + size]
        done = start + len(part)
        # the batch's ids as ranges: a batch of LDEV 0-255 and 512-767 never reads as 0-767
        batch = {'ldev_ids': part, 'label': '%s %d / %d pool volumes (LDEV %s)' % (verb, done, len(ids), id_ranges(part))}
        if volumes is not None or pools is not None:
            pool_ids = sorted(set(int(pool_of[i]) for i in part if pool_of.get(i) is not None))
            batch.update(pool_ids=pool_ids, recover_pools=bool(wanted) and done == len(ids) and wanted <= set(pool_ids))
        batches.append(batch)
    return batches


def merge_batches(results):
    """One result from the looped batch results of pool_volume_state: changed and failed LDEV ids, and the pools
    a batch checked (and recovered when needed) with ``recover_pools``."""
    changed, failed, pools = [], [], set()
    for result in results or []:
        changed.extend(result.get('changed_ldev_ids') or [])
        failed.extend(f.get('ldev_id') for f in result.get('failed_volumes') or [])
        pools.update(int(p['pool_id']) for p in result.get('pools') or [] if p.get('pool_id') is not None)
    return {'changed_ldev_ids': sorted(changed), 'failed_ldev_ids': sorted(failed), 'changed': bool(changed),
            'pools_checked': sorted(pools)}
