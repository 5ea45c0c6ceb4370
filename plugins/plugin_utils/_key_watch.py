# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The logic of the event source ``vsp.encryption.encryption_keys`` (private to this collection).

Plain functions and one state machine, tested with plain pytest; the source (``extensions/eda/plugins/
event_source/encryption_keys.py``) only runs them on an event loop:

* :func:`watch_settings` checks the source's arguments (each array's connection options with the modules'
  defaults and ``VSP_*`` environment fallbacks, the intervals) and names the argument and the rule of a bad one;
* :func:`read_snapshot` reads one array's keys (and, when the DEKs changed, which parity groups lost keys);
* :class:`ArrayWatch` turns the snapshots and failures of one array into events: the state found at the start,
  one event per burst of key changes, an event when watching has failed for longer than ``failing_after`` seconds
  and one when it resumes; it says how long to wait before the next poll (back-off while failing);
* :func:`is_transient` tells an outage (retried) from a refusal (the source stops).

An event names the array and the keys (ids, types, parity groups, drive locations), never a secret.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.vsp.encryption.plugins.module_utils import _validate as validate
from ansible_collections.vsp.encryption.plugins.module_utils._api import KEY_TYPES
from ansible_collections.vsp.encryption.plugins.module_utils._client import BUSY_MESSAGE_ID, SESSIONS_PATH
from ansible_collections.vsp.encryption.plugins.module_utils._coverage import parity_group_coverage
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError, VspUnreachable
from ansible_collections.vsp.encryption.plugins.module_utils._keys import storage_view
from ansible_collections.vsp.encryption.plugins.module_utils._runner import connection_argument_spec

EVENT_KEY = 'vsp_encryption_keys'
POLL_INTERVAL = 60        # seconds between two polls of an array when nothing changes
POLL_INTERVAL_MIN = 1
POLL_INTERVAL_MAX = 3600
SETTLE_INTERVAL = 5       # seconds between the polls of a burst of changes
BURST_MAX = 120           # a burst longer than this is reported without waiting for its end
FAILING_AFTER = 600       # seconds of failed polls before the watch_failing event
BACKOFF_CAP = 300         # the longest wait between two polls of an array that fails
TIMING_OPTIONS = ('poll_interval', 'settle_interval', 'burst_max', 'failing_after')
IGNORED_ARGS = ('eda_feedback_queue',)  # added by ansible-rulebook itself


class Target(object):
    """One array to watch: ``name`` (the inventory host the rulebooks act on) and the client's ``params``."""

    def __init__(self, name, params):
        self.name = name
        self.params = params

    def identity(self):
        """How an event names the array before it answered (no secret)."""
        return {'name': self.name, 'host': self.params['host'], 'storage_device_id': self.params['storage_device_id'],
                'serial_number': None, 'model': None}


class Settings(object):
    def __init__(self, targets, poll_interval, settle_interval, burst_max, failing_after):
        self.targets = targets
        self.poll_interval = poll_interval
        self.settle_interval = settle_interval
        self.burst_max = burst_max
        self.failing_after = failing_after


# -- the arguments ------------------------------------------------------------------------------------
def _number(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise VspApiError('%s: %s is not a number of seconds; the rule: a number from %s to %s'
                          % (name, validate.shown(value), low, high))
    if not low <= value <= high:
        raise VspApiError('%s: %s is out of range; the rule: a number of seconds from %s to %s' % (name, value, low, high))
    return value


def _typed(value, spec, name):
    kind = spec.get('type', 'str')
    try:
        if kind == 'int':
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise ValueError
            return int(value)
        if kind == 'bool':
            return boolean(value, strict=True)
    except (TypeError, ValueError):
        raise VspApiError('%s: %s is not %s' % (name, validate.shown(value), 'an integer' if kind == 'int' else 'a boolean')) from None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise VspApiError('%s: %s is not a text' % (name, validate.shown(value)))
    value = str(value)
    if 'choices' in spec and value not in spec['choices']:
        raise VspApiError('%s: %s is not one of %s' % (name, validate.shown(value), ', '.join(spec['choices'])))
    return value


def _connection(entry, defaults, environ, where):
    """The client's params for one array: the entry's option, else the source's, else ``VSP_*``, else the default."""
    params = {}
    for option, spec in connection_argument_spec().items():
        name = '%s%s' % (where, option)
        if entry.get(option) is not None:
            value = entry[option]
        elif defaults.get(option) is not None:
            value, name = defaults[option], option
        else:
            env_names = spec.get('fallback', (None, []))[1]
            value = next((environ[e] for e in env_names if environ.get(e) not in (None, '')), None)
            name = env_names[0] if value is not None else name
        params[option] = spec.get('default') if value is None else _typed(value, spec, name)
        if params[option] is None and spec.get('required'):
            env = spec.get('fallback', (None, ['']))[1][0]
            raise VspApiError('%s is required: give it in the source\'s arguments (for every array or in %s) or as the '
                              'environment variable %s of ansible-rulebook' % (name, where.rstrip('.') or 'arrays[]', env))
    try:
        validate.connection_params(params)
        if params['storage_device_id']:
            validate.storage_device_id(params['storage_device_id'], where + 'storage_device_id')
    except VspApiError as exc:
        raise VspApiError('%s%s' % (where, exc.msg) if where and not exc.msg.startswith(where) else exc.msg) from None
    return params


def watch_settings(args, environ):
    """The source's arguments, checked; a :class:`VspApiError` names the first bad one and its rule."""
    args = dict((k, v) for k, v in (args or {}).items() if k not in IGNORED_ARGS)
    known = set(connection_argument_spec()) | set(TIMING_OPTIONS) | {'arrays', 'name'}
    unknown = sorted(set(args) - known)
    if unknown:
        raise VspApiError('unknown argument %s of vsp.encryption.encryption_keys; the arguments: arrays, name, %s, and the '
                          'connection options %s' % (', '.join(unknown), ', '.join(TIMING_OPTIONS), ', '.join(connection_argument_spec())))
    poll = _number(args.get('poll_interval', POLL_INTERVAL), 'poll_interval', POLL_INTERVAL_MIN, POLL_INTERVAL_MAX)
    settle = _number(args.get('settle_interval', min(SETTLE_INTERVAL, poll)), 'settle_interval', 0.1, poll)
    burst_max = _number(args.get('burst_max', BURST_MAX), 'burst_max', settle, 86400)
    failing_after = _number(args.get('failing_after', FAILING_AFTER), 'failing_after', poll, 86400)
    arrays = args.get('arrays')
    defaults = dict((k, v) for k, v in args.items() if k in connection_argument_spec())
    if arrays is None:
        entries, prefix = [dict(defaults, name=args.get('name'))], ''
    elif isinstance(arrays, list) and arrays:
        if 'name' in args:
            raise VspApiError('name: give the name of each array in arrays[] (name names the one array watched without arrays)')
        entries, prefix = arrays, 'arrays[%d].'
    else:
        raise VspApiError('arrays: %s is not a list of arrays; the rule: a non-empty list of mappings, each with the '
                          'name of the inventory host and its connection options (host, ...)' % validate.shown(arrays))
    targets = []
    for index, entry in enumerate(entries):
        where = prefix % index if prefix else ''
        if not isinstance(entry, dict):
            raise VspApiError('%s is not a mapping; the rule: name and connection options, for example {name: vsp01, host: 192.0.2.10}'
                              % where.rstrip('.'))
        extra = sorted(set(entry) - set(connection_argument_spec()) - {'name'})
        if extra:
            raise VspApiError('%sunknown option %s; an array takes name and the connection options %s'
                              % (where, ', '.join(extra), ', '.join(connection_argument_spec())))
        params = _connection(entry, defaults if prefix else {}, environ, where)
        name = entry.get('name') or params['host']
        if not isinstance(name, str) or not name.strip():
            raise VspApiError('%sname: %s is not an inventory host name; the rule: a non-empty text' % (where, validate.shown(name)))
        if name in [t.name for t in targets]:
            raise VspApiError('%sname: %s names two arrays; the rule: each array its own inventory host name' % (where, validate.shown(name)))
        targets.append(Target(name, params))
    return Settings(targets, poll, settle, burst_max, failing_after)


# -- reading an array -----------------------------------------------------------------------------------
class Snapshot(object):
    """What one poll read: the key ids of each type, and the coverage when it was read (else None)."""

    def __init__(self, ids_by_type, coverage=None):
        self.ids_by_type = dict((t, frozenset(ids_by_type.get(t) or ())) for t in KEY_TYPES)
        self.coverage = coverage

    def same_keys(self, other):
        return other is not None and self.ids_by_type == other.ids_by_type

    def counts(self):
        return dict((t, len(ids)) for t, ids in self.ids_by_type.items())


def read_storage(api):
    """The array's identity (storage device id, serial number, model): one request, at the start."""
    return storage_view(api.storage())


def read_snapshot(api, previous=None):
    """One poll: the keys of every type (4 GETs when each list fits one page) and, at the first poll or when the DEKs
    changed, the coverage of the encrypted parity groups (2 GETs more: parity groups, drives)."""
    keys = api.list_keys_by_type()
    ids = dict((t, [str(k.get('keyId')) for k in keys.get(t) or []]) for t in KEY_TYPES)
    coverage = None
    if previous is None or frozenset(ids['DEK']) != previous.ids_by_type['DEK']:
        coverage = parity_group_coverage(api, keys['DEK'])
    return Snapshot(ids, coverage)


def _id_order(key_id):
    return (0, int(key_id)) if key_id.isdigit() else (1, key_id)


def key_changes(old, new):
    """``{'created': {type: [ids]}, 'deleted': {type: [ids]}}`` from one snapshot to another (types without a
    change left out, ids in numeric order); None when the keys are the same. A FREE key that became a DEK is
    deleted as FREE and created as DEK."""
    created, deleted = {}, {}
    for key_type in KEY_TYPES:
        before, after = old.ids_by_type[key_type], new.ids_by_type[key_type]
        if after - before:
            created[key_type] = sorted(after - before, key=_id_order)
        if before - after:
            deleted[key_type] = sorted(before - after, key=_id_order)
    if not created and not deleted:
        return None
    return {'created': created, 'deleted': deleted}


# -- failures ---------------------------------------------------------------------------------------------
def is_transient(exc):
    """An outage the watch waits out (array down or restarting, 5xx, REST server busy); False for a refusal that a
    retry would only repeat: a refused log in (repeating it may lock the account), TLS verification, a 4xx, an answer
    that is not what the API documents (the source stops and says so rather than watch an array it cannot read)."""
    if isinstance(exc, VspUnreachable):
        return not exc.tls
    if exc.message_id == BUSY_MESSAGE_ID:
        return True
    return exc.status is not None and exc.status >= 500


def stop_message(name, exc):
    """The one message of a refusal that stops the source."""
    text = exc.describe()
    if isinstance(exc, VspUnreachable) and exc.tls:
        advice = 'check ca_path (the CA of the array) or the host name; then restart the activation'
    elif exc.status == 401 or exc.path == SESSIONS_PATH:
        advice = ('no retry, so that repeated attempts do not lock the account; fix username or password (VSP_USERNAME, '
                  'VSP_PASSWORD) and restart the activation')
    else:
        advice = 'fix the cause and restart the activation'
    return 'array %s: watching the encryption keys stopped: %s The source stops (%s).' % (
        name, text if text.endswith('.') else text + '.', advice)


def backoff(attempt, poll_interval):
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...): the poll interval, doubled with each
    failure, at most :data:`BACKOFF_CAP` (or the poll interval when that is longer)."""
    return min(max(poll_interval, BACKOFF_CAP), poll_interval * (2 ** (attempt - 1)))


# -- events -----------------------------------------------------------------------------------------------
def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def make_event(kind, array, **fields):
    body = {'kind': kind, 'array': dict(array), 'time': utc_now()}
    body.update(fields)
    return {EVENT_KEY: body}


def _lost_fields(coverage):
    coverage = coverage or {}
    groups = list(coverage.get('lost_parity_groups') or [])
    return {'keys_lost': bool(groups), 'lost_parity_groups': groups, 'lost_drives': list(coverage.get('lost_drives') or [])}


class ArrayWatch(object):
    """The events of one array and when to poll it next. ``now`` is monotonic seconds, given by the caller.

    Each method returns ``(events, delay, log)``: the events to put on the queue, the seconds until the next poll,
    and a message for the log (or None): one warning when an outage starts, one note when it ends.
    """

    def __init__(self, target, settings):
        self.target = target
        self.settings = settings
        self.array = target.identity()
        self.reported = None       # the snapshot the last event described
        self.pending = None        # the newest snapshot of a burst not yet reported
        self.burst_since = None
        self.coverage = None       # the newest coverage read
        self.failing_since = None
        self.failures = 0
        self.failing_reported = False

    def identified(self, storage):
        self.array.update(storage_device_id=storage['storage_device_id'], serial_number=storage['serial_number'],
                          model=storage['model'])

    def observed(self, snapshot, now):
        events, log = self._recovered(now)
        if snapshot.coverage is not None:
            self.coverage = snapshot.coverage
        if self.reported is None:
            self.reported = snapshot
            events.append(make_event('started', self.array, key_counts=snapshot.counts(), **_lost_fields(self.coverage)))
            return events, self.settings.poll_interval, log
        latest = self.pending or self.reported
        if snapshot.same_keys(latest):
            if self.pending is not None:  # the burst is over
                events.extend(self._report(snapshot))
            return events, self.settings.poll_interval, log
        if self.pending is None:
            self.burst_since = now
        self.pending = snapshot
        if now - self.burst_since >= self.settings.burst_max:
            events.extend(self._report(snapshot))
            return events, self.settings.poll_interval, log
        return events, self.settings.settle_interval, log

    def _report(self, snapshot):
        changes = key_changes(self.reported, snapshot)
        self.reported, self.pending, self.burst_since = snapshot, None, None
        if changes is None:  # created and deleted again within the burst
            return []
        lost = _lost_fields(self.coverage)
        return [make_event('keys_lost' if lost['keys_lost'] else 'keys_changed', self.array, key_counts=snapshot.counts(),
                           created=changes['created'], deleted=changes['deleted'], **lost)]

    def failed(self, exc, now):
        """A transient failure (see :func:`is_transient`)."""
        self.failures += 1
        events, log = [], None
        delay = backoff(self.failures, self.settings.poll_interval)
        if self.failing_since is None:
            self.failing_since = now
            log = ('array %s: watching the encryption keys failed: %s Retrying with back-off (every %s s at first, at most '
                   'every %s s); an event follows when it has failed for %s s.'
                   % (self.target.name, _sentence(exc.describe()), _seconds(delay),
                      _seconds(max(self.settings.poll_interval, BACKOFF_CAP)), _seconds(self.settings.failing_after)))
        elapsed = now - self.failing_since
        if not self.failing_reported and elapsed >= self.settings.failing_after:
            self.failing_reported = True
            events.append(make_event('watch_failing', self.array, failing_seconds=round(elapsed), reason=_sentence(exc.describe()),
                                     key_counts=self.reported.counts() if self.reported else None))
        return events, delay, log

    def _recovered(self, now):
        if self.failing_since is None:
            return [], None
        elapsed = now - self.failing_since
        events = [make_event('watch_resumed', self.array, failed_seconds=round(elapsed))] if self.failing_reported else []
        log = 'array %s: watching the encryption keys resumed after %s s of failures.' % (self.target.name, _seconds(elapsed))
        self.failing_since, self.failures, self.failing_reported = None, 0, False
        return events, log


def _sentence(text):
    return text if text.endswith('.') else text + '.'


def _seconds(value):
    return ('%.1f' % value).rstrip('0').rstrip('.')
