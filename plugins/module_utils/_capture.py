# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The capture of module array_capture: every answer the key-loss procedure reads, as the array sent it.

Read only: the capture goes through :class:`Recorder`, which refuses any method but ``GET`` before it reaches the
client, so nothing but the session's log in and log out and ``GET`` requests is ever sent.

A capture holds no secret: the session's password and token never pass through the recorder (the client sends them
in headers), key material is never read (the key list holds metadata only), and any field whose name says it may
hold a secret (:data:`SECRET_FIELD_WORDS`, e.g. a job's ``requestBody``) is replaced by :data:`NOT_CAPTURED`.

With ``redact`` the serial numbers, names, WWNs and IP addresses are replaced consistently (the same input gives
the same replacement within a capture), keeping each value's type and form (a storage device id stays 12 digits
whose last 6 are the replaced serial number), so the twin and the collection accept a redacted capture.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import time

from ansible_collections.vsp.encryption.plugins.module_utils._api import KEY_TYPES, VspApi
from ansible_collections.vsp.encryption.plugins.module_utils._backup_file import write_stream_atomically
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError

FORMAT = 'vsp.encryption.array_capture'
FORMAT_VERSION = 1
COLLECTION_VERSION = '1.1.0'
# A capture of the largest array the procedure handles (65,280 LDEVs, 4,096 keys) stays far below this;
# a larger one is refused, not written.
CAPTURE_MAX = 64 * 1024 * 1024
NOT_CAPTURED = '[not captured]'
SECRET_FIELD_WORDS = ('password', 'passwd', 'token', 'secret', 'material', 'requestbody', 'credential', 'privatekey')
JOB_COUNT = 100
# A capture must not run for hours on an array that answers slowly: it stops, and writes nothing, once the longer of
# CAPTURE_MIN_SECONDS and CAPTURE_TIMEOUTS times ``timeout`` (one request's limit) has passed. The bound is checked
# before each request; the request then under way keeps its own (``timeout``, ``retries``). Paging is bounded apart
# (at most 4 pages a list, see _api.py).
CAPTURE_MIN_SECONDS = 1800
CAPTURE_TIMEOUTS = 60

SERIAL_FIELDS = ('serialNumber', 'virtualSerialNumber', 'remoteSerialNumber')
STORAGE_ID_FIELDS = ('storageDeviceId', 'virtualStorageDeviceId', 'remoteStorageDeviceId')
NAME_FIELDS = ('poolName', 'label', 'ldevName', 'nickname', 'nickName', 'hostName', 'hostGroupName', 'dkcName',
               'storageName', 'userName', 'userId', 'name')
WWN_FIELDS = ('wwn', 'naaId', 'portWwn', 'hostWwn', 'wwnId', 'externalWwn')
ADDRESS_FIELDS = ('ip', 'ctl1Ip', 'ctl2Ip', 'svpIp', 'ipAddress', 'ipv4Address', 'ipv6Address', 'address',
                  'gatewayAddress', 'hostIp')
IPV4_RE = re.compile(r'\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b')
WWN_RE = re.compile(r'\b[0-9a-fA-F]{16}\b')
STORAGE_ID_RE = re.compile(r'^[0-9]{12}\Z')


def _secret_field(name):
    low = str(name).lower().replace('_', '')
    return any(word in low for word in SECRET_FIELD_WORDS)


def scrub(value):
    """``value`` with every field whose name may hold a secret replaced by :data:`NOT_CAPTURED`."""
    if isinstance(value, dict):
        return dict((k, NOT_CAPTURED if _secret_field(k) else scrub(v)) for k, v in value.items())
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def capture_seconds(timeout):
    """How long a capture may run: the longer of :data:`CAPTURE_MIN_SECONDS` and :data:`CAPTURE_TIMEOUTS` times
    ``timeout`` (a site that raised ``timeout`` for a slow array gets a longer bound)."""
    return max(CAPTURE_MIN_SECONDS, CAPTURE_TIMEOUTS * int(timeout or 0))


def _answer_kind(path):
    """``ldevs``, ``storages/instance``, ``configuration/version``...: what an answer is, for a message."""
    match = re.match(r'^/v1/objects/(?:storages/[0-9]+/)?(.+)$', path)
    return match.group(1) if match else path.lstrip('/')


class Recorder(object):
    """A client that records every JSON answer and refuses every method but GET (before anything is sent).

    With ``seconds``, a request that would start once ``seconds`` have passed since the recorder was made (by
    ``clock``, monotonic seconds) is refused before it is sent, naming what was captured so far."""

    def __init__(self, client, seconds=None, clock=None):
        self._client = client
        self.answers = []
        self.storage_device_id = client.storage_device_id
        # private names: the client's own (its clock, for example) stay reachable through __getattr__
        self._seconds = seconds
        self._clock = clock or time.monotonic
        self._started = self._clock()

    def __getattr__(self, name):
        return getattr(self._client, name)

    def _record(self, path, params, status, body):
        self.answers.append({'method': 'GET', 'path': path, 'query': dict(params or {}), 'status': status, 'body': scrub(body)})

    def captured_so_far(self):
        """``6 answers (configuration/version 1, storages/instance 1, ...)``: the answers recorded, by kind."""
        counts = {}
        for answer in self.answers:
            kind = _answer_kind(answer['path'])
            counts[kind] = counts.get(kind, 0) + 1
        if not counts:
            return 'no answer'
        return '%d answer%s (%s)' % (len(self.answers), '' if len(self.answers) == 1 else 's',
                                     ', '.join('%s %d' % item for item in counts.items()))

    def _within_bound(self, path, params=None):
        if self._seconds is None:
            return
        elapsed = self._clock() - self._started
        if elapsed > self._seconds:
            query = '&'.join('%s=%s' % item for item in sorted((params or {}).items()))
            raise VspApiError(
                'The capture stopped after %d s, over its bound of %d s (the longer of %d minutes and %d times timeout): '
                'the array answered too slowly. Captured so far: %s; not captured: GET %s and what follows. No file was '
                'written: a capture is written only once complete. Run it again when the array is less busy, or with a '
                'larger timeout for an array this slow.'
                % (elapsed, self._seconds, CAPTURE_MIN_SECONDS // 60, CAPTURE_TIMEOUTS, self.captured_so_far(),
                   path + ('?' + query if query else '')), method='GET', path=path)

    def request(self, method, path, **kwargs):
        if method != 'GET':
            raise VspApiError('array_capture sends only GET requests; %s %s was refused before it was sent' % (method, path))
        self._within_bound(path, kwargs.get('params'))
        return self._client.request(method, path, **kwargs)

    def get_json(self, path, params=None):
        self._within_bound(path, params)
        body = self._client.get_json(path, params=params)
        self._record(path, params, 200, body)
        return body

    def get_optional(self, path, params=None, expected=(200, 400, 404, 405)):
        """A GET the array may not answer (an [I] endpoint): its status and body, both recorded."""
        response = self.request('GET', path, params=params, expected=expected)
        try:
            body = response.json()
        except ValueError:
            body = None
        self._record(path, params, response.status_code, body)
        return response.status_code, body


def _pool_ids_of(ldevs):
    return sorted(set(ld['composingPoolId'] for ld in ldevs
                      if 'POOL' in (ld.get('attributes') or []) and isinstance(ld.get('composingPoolId'), int)))


def capture(api, redact=False, now=None, clock=None):
    """The capture document (a dict) of the array behind ``api``; ``redact`` replaces identifying values.

    It stops, raising :class:`VspApiError` before the next request, once :func:`capture_seconds` have passed
    (``clock``: monotonic seconds, by default ``time.monotonic``)."""
    started = time.time()
    recorder = Recorder(api.client, seconds=capture_seconds(getattr(api.client, 'timeout', None)), clock=clock)
    rapi = VspApi(recorder)
    dummy, version = recorder.get_optional('/configuration/version', expected=(200, 404))
    rapi.storage()
    groups = rapi.list_parity_groups()
    encrypted = [g['parityGroupId'] for g in groups if g.get('isEncryptionEnabled') is True]
    rapi.list_drives()
    pool_ids = set()
    for group in encrypted:
        rapi.list_drives(group)
        pool_ids.update(_pool_ids_of(rapi.list_ldevs(parity_group_id=group)))
    rapi.list_pools()
    for pool_id in sorted(pool_ids):
        rapi.list_ldevs(pool_id=pool_id)
        rapi.list_dp_volumes(pool_id)
    keys = rapi.list_keys_by_type()
    recorder.get_optional(rapi.obj('jobs'), {'count': JOB_COUNT})
    doc = {
        'format': FORMAT,
        'format_version': FORMAT_VERSION,
        'captured_at': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now if now is not None else started)),
        'collection_version': COLLECTION_VERSION,
        'api_version': version.get('apiVersion') if isinstance(version, dict) else None,
        'redacted': bool(redact),
        'encrypted_parity_groups': encrypted,
        'key_counts': dict((t, len(keys.get(t) or [])) for t in KEY_TYPES),
        'answers': recorder.answers,
    }
    if redact:
        doc = Redactor().redact(doc)
    return doc


def summary(doc):
    """What the module returns about a capture (no secret; redacted values when the capture is redacted)."""
    storage = {}
    pool_volumes, dp_volumes = set(), set()
    for answer in doc['answers']:
        body = answer['body']
        path = answer['path']
        if path.endswith('/storages/instance') and isinstance(body, dict):
            storage = body
        elif path.endswith('/storages') and isinstance(body, dict):
            storage = next((s for s in body.get('data') or [] if isinstance(s, dict)), storage)
        elif path.endswith('/ldevs') and isinstance(body, dict):
            for ld in body.get('data') or []:
                if 'POOL' in (ld.get('attributes') or []):
                    pool_volumes.add(ld.get('ldevId'))
                elif answer['query'].get('ldevOption') == 'dpVolume':
                    dp_volumes.add(ld.get('ldevId'))
    return {
        'storage_device_id': storage.get('storageDeviceId'),
        'serial_number': storage.get('serialNumber'),
        'model': storage.get('model'),
        'api_version': doc.get('api_version'),
        'encrypted_parity_groups': list(doc['encrypted_parity_groups']),
        'pool_volumes': len(pool_volumes),
        'dp_volumes': len(dp_volumes),
        'key_counts': dict(doc['key_counts']),
        'requests': len(doc['answers']),
    }


class Redactor(object):
    """Consistent replacements: the n-th distinct value of a kind gets the n-th replacement of that kind."""

    def __init__(self):
        self.maps = {}
        self.texts = {}  # original text -> replacement, for texts quoted inside other texts (paths, URLs)
        self.made = set()  # every replacement made (never replaced again)
        self._ordered = []

    def _next(self, kind, original, make):
        table = self.maps.setdefault(kind, {})
        key = (type(original).__name__, original)
        if key not in table:
            table[key] = make(len(table) + 1)
            self.made.add(str(table[key]))
        return table[key]

    def serial(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            return value
        digits = str(value)
        if not digits.isdigit():
            new = self._next('serial-text', value, lambda n: 'SERIAL%06d' % n)
            self.texts[value] = new
            return new
        new = self._next('serial', int(digits), lambda n: 100000 + n)
        return new if isinstance(value, int) else '%06d' % new

    def storage_id(self, value):
        if not (isinstance(value, str) and STORAGE_ID_RE.match(value)):
            return value
        new = value[:6] + '%06d' % self.serial(int(value[6:]))
        self.texts[value] = new
        return new

    def name(self, value):
        if not isinstance(value, str) or value in ('', '-'):
            return value
        new = self._next('name', value, lambda n: 'name-%d' % n)
        if len(value) >= 4:
            self.texts[value] = new
        return new

    def wwn(self, value):
        if not isinstance(value, str) or not value:
            return value
        new = self._next('wwn', value.lower(), lambda n: '5000000000%06x' % n)
        self.texts[value] = new
        return new

    def address(self, value):
        if not isinstance(value, str) or not value:
            return value
        new = self._next('address', value, lambda n: '192.0.2.%d' % n if n < 255 else '198.51.100.%d' % (n - 254))
        self.texts[value] = new
        return new

    def _field(self, name, value):
        if isinstance(value, (dict, list)):
            return self._walk(value)
        if name in SERIAL_FIELDS:
            return self.serial(value)
        if name in STORAGE_ID_FIELDS:
            return self.storage_id(value)
        if name in NAME_FIELDS:
            return self.name(value)
        if name in WWN_FIELDS:
            return self.wwn(value)
        if name in ADDRESS_FIELDS:
            return self.address(value)
        return value

    def _walk(self, value):
        if isinstance(value, dict):
            return dict((k, self._field(k, v)) for k, v in value.items())
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        return value

    def _texts(self, value):
        """Second pass: replaced texts quoted in other texts (a storage device id in a path), IPv4 addresses and
        WWNs anywhere."""
        if isinstance(value, dict):
            return dict((self._texts(k), self._texts(v)) for k, v in value.items())
        if isinstance(value, list):
            return [self._texts(v) for v in value]
        if not isinstance(value, str) or value in self.made:
            return value
        for original in self._ordered:
            if original in value:
                value = value.replace(original, self.texts[original])
        value = IPV4_RE.sub(self._address_in_text, value)
        return WWN_RE.sub(lambda m: m.group(0) if m.group(0) in self.made else self.wwn(m.group(0)), value)

    def _address_in_text(self, match):
        text = match.group(0)
        if text in self.made or not all(int(p) < 256 for p in text.split('.')):
            return text
        return self.address(text)

    def redact(self, doc):
        answers = self._walk(doc['answers'])
        self._ordered = sorted(self.texts, key=len, reverse=True)
        answers = self._texts(answers)
        out = dict(doc)
        out['answers'] = answers
        out['redacted'] = True
        return out


def check_path(path):
    """Refuse, before anything is sent, a ``path`` whose directory does not exist or that is a directory."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise VspApiError('path: %s is a directory; give the file to write the capture to' % path)
    if not os.path.isdir(directory):
        raise VspApiError('path: the directory %s does not exist; create it first (the capture is written into it)' % directory)
    return path


def serialize(doc):
    return (json.dumps(doc, sort_keys=True, separators=(',', ':')) + '\n').encode('utf-8')


def write_capture(doc, path, check_mode=False):
    """Write ``doc`` to ``path`` (0600, atomically); ``(size, sha256, written)``. In check mode nothing is written."""
    payload = serialize(doc)
    if len(payload) > CAPTURE_MAX:
        raise VspApiError('path: the capture would be %d bytes, more than the cap of %d bytes (64 MiB); nothing was written'
                          % (len(payload), CAPTURE_MAX))
    if check_mode:
        return len(payload), hashlib.sha256(payload).hexdigest(), False
    size, sha256 = write_stream_atomically([payload], path, mode=0o600)
    return size, sha256, True
