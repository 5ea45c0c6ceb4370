# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The read-only first-contact check of module array_api_check: every API fact the collection relies on.

Each check sends GET requests only (in the module's own session) and records ``confirmed``, ``differs``
(with what was seen, cleaned and capped; never key material) or ``not_checked``.

First contact comes first: the log in is tried once, bounded (:meth:`VspClient.first_contact`). When the array
cannot be reached (connection refused or timed out, TLS verification failed) or refuses the log in, no check
runs: every check is ``not_checked`` ("not run"), :attr:`Checker.not_reached` holds the one error that names the
cause and what to do, and the report is titled "not reached". An array that answers but differs is a
different finding from an array that was never reached, and is never reported as one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.vsp.encryption.plugins.module_utils import _validate as validate
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError, VspUnreachable, clean_text

CONFIRMED = 'confirmed'
DIFFERS = 'differs'
NOT_CHECKED = 'not_checked'
KEY_TYPES = ('DEK', 'CEK', 'KEK', 'FREE')
KEY_FIELDS = ('keyId', 'createdTime', 'keyType', 'uuid', 'targetDeviceLocation', 'keyGeneratedLocation', 'numOfBackups')
ERROR_FIELDS = ('errorSource', 'messageId', 'message', 'cause', 'solution', 'solutionType', 'detailCode')
JOB_FIELDS = ('jobId', 'status', 'state', 'createdTime', 'updatedTime', 'affectedResources')
POOL_STATUSES = ('POLN', 'POLF', 'POLS', 'POLE')
LDEV_STATUSES = ('NML', 'BLK', 'BSY')
SEEN_MAX = 400
LIST_MAX = 12
NOT_RUN = 'not run: the array was not reached (the log in failed; the report says why)'


def _short(values):
    values = list(values)
    text = ', '.join(str(v) for v in values[:LIST_MAX])
    return text + (' and %d more' % (len(values) - LIST_MAX) if len(values) > LIST_MAX else '')


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


class Checker(object):
    """Runs the checks in order; each adds one entry. Only GET requests."""

    def __init__(self, api):
        self.api = api
        self.client = api.client
        self.checks = []
        self.storage = {}
        self.api_version = None
        self.keys = {}
        self.drives = None
        self.groups = None
        self.pools = None
        self.job_id = None
        self.group_ldevs = None
        self.backup_password = None
        self.check_mode = False
        self.backup_headers = None
        self.not_reached = None  # the VspApiError to fail with when the first contact failed
        self.lost_at = None  # the check at which a reached array stopped answering

    # -- plumbing -----------------------------------------------------------------------------------
    def add(self, name, fact, status, seen, source):
        self.checks.append({'name': name, 'fact': fact, 'status': status,
                            'seen': clean_text(seen, SEEN_MAX) or '', 'source': source})

    def get(self, path, params=None, expected=(200,)):
        """``(status, body)``; body is None when not JSON."""
        response = self.client.request('GET', path, params=params, expected=expected)
        try:
            body = response.json()
        except ValueError:
            body = None
        return response.status_code, body

    def data(self, path, params=None):
        """The ``data`` list of a list answer, or raise VspApiError saying what came instead."""
        status, body = self.get(path, params)
        items = body.get('data') if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise VspApiError('GET %s answered HTTP %s without a "data" list (%s)'
                              % (path, status, 'keys: %s' % _short(sorted(body)) if isinstance(body, dict) else type(body).__name__))
        return items

    def step(self, name, fact, source, func):
        """Run ``func()`` returning ``(status, seen)``; an error of the array becomes ``differs``; an array that
        stops answering makes this check and every later one ``not_checked`` (nothing was seen to differ)."""
        if self.lost_at is not None:
            self.add(name, fact, NOT_CHECKED, 'not run: the array stopped answering at check %s' % self.lost_at, source)
            return
        try:
            status, seen = func()
        except VspUnreachable as exc:
            self.lost_at = name
            status, seen = NOT_CHECKED, 'not reached: %s' % exc.describe()
        except VspApiError as exc:
            status, seen = DIFFERS, exc.describe()
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            status, seen = DIFFERS, 'unexpected answer: %s: %s' % (type(exc).__name__, exc)
        self.add(name, fact, status, seen, source)

    def run(self):
        """The first contact (one bounded log in), then every check in order; see the module docstring."""
        steps = list(self.steps())
        try:
            self.client.first_contact()
        except VspApiError as exc:
            self.not_reached = not_reached_error(self.client, exc)
            for name, fact, source, _func in steps:
                self.add(name, fact, NOT_CHECKED, NOT_RUN, source)
            return
        for name, fact, source, func in steps:
            self.step(name, fact, source, func)

    def steps(self):
        """``(name, fact, source, func)`` of every check, in order; ``func()`` returns ``(status, seen)``."""
        yield ('api_version', 'GET /ConfigurationManager/configuration/version answers productName and apiVersion',
               'RG17 (version of the REST API)', self.check_version)
        yield ('storage_identity', 'storageDeviceId is 12 digits, serialNumber an integer, model a text',
               'RG17 / HCS-JA HCSR0086', self.check_identity)
        yield ('url_forms', 'the same objects answer under /v1/objects/... and /v1/objects/storages/<storageDeviceId>/...',
               'RG17 (base URL) / HCS-JA HCSR0065', self.check_url_forms)
        for key_type in KEY_TYPES:
            yield ('key_list_%s' % key_type.lower(),
                   'GET encryption-keys?keyType=%s answers {"data": [...]} of key objects with the fields %s'
                   % (key_type, ', '.join(KEY_FIELDS)),
                   'RG17 getting-information-about-a-list-of-encryption-keys (query); list body [I]',
                   lambda key_type=key_type: self.check_key_list(key_type))
        yield ('key_id_string', 'keyId is a string of digits from 0 to 4095', 'RG17 getting-a-specific-encryption-key',
               self.check_key_ids)
        yield ('key_list_paging', 'DEK / FREE lists page with count (at most 1,024) and startKeyId',
               'RG17 getting-information-about-a-list-of-encryption-keys', self.check_paging)
        yield ('dek_locations', "each DEK's targetDeviceLocation is the driveLocationId of a drive of GET drives",
               'RG17 getting-a-specific-encryption-key; GET drives [I]', self.check_dek_locations)
        yield ('parity_groups', 'GET parity-groups: parityGroupId a text, isEncryptionEnabled a boolean',
               'RG17 parity-group-management; field from Hitachi code (TF, ANS)', self.check_parity_groups)
        yield ('parity_group_drives', 'GET drives?parityGroupId=<id> lists that group\'s drives (driveLocationId, parityGroupId)',
               '[I] (the query filter; Hitachi code uses it)', self.check_group_drives)
        yield ('parity_group_ldevs', 'GET ldevs?parityGroupId=<id> lists LDEVs whose parityGroupIds hold the group',
               'RG17 formatting-a-parity-group', self.check_group_ldevs)
        yield ('ldev_fields', 'LDEVs have ldevId (integer), status (NML/BLK/...), attributes (list); pool volumes carry POOL',
               'HCS-JA HCSR0152 / HCSR0181; POOL attribute from real output in Hitachi code (TF)', self.check_ldev_fields)
        yield ('pools', 'GET pools: poolId an integer, poolStatus one of POLN/POLF/POLS/POLE',
               'RG17 getting-pool-information', self.check_pools)
        yield ('pool_volumes_by_pool', 'GET ldevs?poolId=<id> lists the pool volumes: POOL attribute and composingPoolId = <id>',
               '[I] (consistent with Hitachi code; not stated in a document)', self.check_pool_volumes)
        yield ('dp_volumes_by_pool', 'GET ldevs?ldevOption=dpVolume&poolId=<id> lists DP volumes with poolId = <id>',
               'HCS-JA HCSR0181 (filters); Hitachi code (ANS)', self.check_dp_volumes)
        yield ('job_object', 'a job object has jobId (integer), status, state, createdTime, updatedTime, affectedResources',
               'RG17 overview-of-the-rest-api/job-object', self.check_job)
        yield ('error_object_404', 'an unknown parity group answers 404 with the error object (%s)' % ', '.join(ERROR_FIELDS),
               'HCS-JA HCSR0079 (error object)', self.check_error_object)
        yield ('undefined_ldev', 'an LDEV id that is not defined answers 404 or emulationType "NOT DEFINED"',
               'HCS-JA HCSR0152', self.check_undefined_ldev)
        if self.backup_password is not None:
            yield ('file_backup_headers', 'the file backup answers 200, Content-Type application/octet-stream, '
                   'Content-Disposition attachment and a Content-Length equal to the bytes sent',
                   'RG17 backing-up-encryption-keys (status 200 [I])', self.check_backup)

    # -- the checks ---------------------------------------------------------------------------------
    def check_version(self):
        status, body = self.get('/configuration/version', expected=(200, 404))
        if status != 200 or not isinstance(body, dict):
            return NOT_CHECKED, 'HTTP %s' % status
        self.api_version = clean_text(body.get('apiVersion'), 32)
        ok = isinstance(body.get('productName'), str) and isinstance(body.get('apiVersion'), str)
        return (CONFIRMED if ok else DIFFERS), 'productName %r, apiVersion %r' % (body.get('productName'), body.get('apiVersion'))

    def check_identity(self):
        sid = self.client.storage_device_id
        path = '/v1/objects/storages/%s' % sid if sid else '/v1/objects/storages/instance'
        status, body = self.get(path)
        if not isinstance(body, dict):
            return DIFFERS, 'GET %s answered HTTP %s without an object' % (path, status)
        self.storage = body
        did, serial, model = body.get('storageDeviceId'), body.get('serialNumber'), body.get('model')
        problems = []
        if not (isinstance(did, str) and validate.STORAGE_DEVICE_ID_RE.match(did)):
            problems.append('storageDeviceId is not a text of 12 digits')
        if not _is_int(serial):
            problems.append('serialNumber is not an integer')
        if not (isinstance(model, str) and model):
            problems.append('model is not a text')
        seen = 'storageDeviceId %r, serialNumber %r, model %r' % (did, serial, model)
        return (DIFFERS, '; '.join(problems) + ' (' + seen + ')') if problems else (CONFIRMED, seen)

    def check_url_forms(self):
        did = self.storage.get('storageDeviceId')
        if not did:
            return NOT_CHECKED, 'the storage identity could not be read'
        listed = self.data('/v1/objects/storages')
        listed_ids = [str(s.get('storageDeviceId')) for s in listed if isinstance(s, dict)]
        short = sorted(p.get('poolId') for p in self.data('/v1/objects/pools'))
        long_form = sorted(p.get('poolId') for p in self.data('/v1/objects/storages/%s/pools' % did))
        problems = []
        if str(did) not in listed_ids:
            problems.append('GET storages does not list %s (it lists: %s)' % (did, _short(listed_ids) or 'none'))
        if short != long_form:
            problems.append('pool ids differ: short form %s, long form %s' % (_short(short), _short(long_form)))
        seen = 'GET storages lists %s; pools %s under both forms' % (_short(listed_ids), _short(short) or 'none')
        return (DIFFERS, '; '.join(problems)) if problems else (CONFIRMED, seen)

    def _keys_path(self):
        return self.api.obj('encryption-keys')

    def check_key_list(self, key_type):
        keys = self.data(self._keys_path(), {'keyType': key_type})
        self.keys[key_type] = keys
        if not keys:
            return NOT_CHECKED, 'the list is empty (shape {"data": []} confirmed, no key object to check)'
        problems = set()
        extra = set()
        for key in keys:
            if not isinstance(key, dict):
                problems.add('an entry is not an object')
                continue
            missing = [f for f in KEY_FIELDS if f not in key]
            if missing:
                problems.add('missing fields: %s' % ', '.join(missing))
            extra.update(k for k in key if k not in KEY_FIELDS)
            if key.get('keyType') != key_type:
                problems.add('keyType %r in a %s list' % (key.get('keyType'), key_type))
            if 'numOfBackups' in key and not _is_int(key['numOfBackups']):
                problems.add('numOfBackups is not an integer')
            if key_type in ('FREE', 'CEK', 'KEK') and key.get('targetDeviceLocation') not in (None, '-'):
                problems.add('targetDeviceLocation of a %s key is not "-"' % key_type)
        seen = '%d keys' % len(keys) + ('; other fields: %s' % _short(sorted(extra)) if extra else '')
        return (DIFFERS, '; '.join(sorted(problems)) + ' (' + seen + ')') if problems else (CONFIRMED, seen)

    def check_key_ids(self):
        ids = [k.get('keyId') for keys in self.keys.values() for k in keys if isinstance(k, dict)]
        if not ids:
            return NOT_CHECKED, 'no key listed'
        bad = [i for i in ids if not (isinstance(i, str) and i.isdigit() and 0 <= int(i) <= validate.KEY_ID_MAX)]
        if bad:
            return DIFFERS, 'keyId values that are not a text of digits 0-%d: %s' % (validate.KEY_ID_MAX, _short(repr(b) for b in bad))
        return CONFIRMED, '%d key ids, all texts of digits' % len(ids)

    def check_paging(self):
        key_type = max(('DEK', 'FREE'), key=lambda t: len(self.keys.get(t) or []))
        full = self.keys.get(key_type) or []
        if len(full) < 2:
            return NOT_CHECKED, 'fewer than 2 DEK or FREE keys: paging cannot be observed'
        first = self.data(self._keys_path(), {'keyType': key_type, 'count': 1})
        if len(first) != 1:
            return DIFFERS, 'count=1 answered %d keys' % len(first)
        start = int(first[0]['keyId']) + 1
        nxt = self.data(self._keys_path(), {'keyType': key_type, 'count': 1, 'startKeyId': start})
        if len(nxt) != 1 or int(nxt[0]['keyId']) < start:
            return DIFFERS, 'startKeyId=%d&count=1 answered key ids %s' % (start, _short(k.get('keyId') for k in nxt))
        note = '' if len(full) < 1024 else '; a full page of 1,024 was answered without count'
        return CONFIRMED, '%s: count=1 gave key %s, startKeyId=%d gave key %s%s' % (
            key_type, first[0]['keyId'], start, nxt[0]['keyId'], note)

    def _drives(self):
        if self.drives is None:
            self.drives = self.data(self.api.obj('drives'))
        return self.drives

    def check_dek_locations(self):
        deks = self.keys.get('DEK') or []
        if not deks:
            return NOT_CHECKED, 'no DEK listed'
        locations = set(d.get('driveLocationId') for d in self._drives() if isinstance(d, dict))
        unknown = sorted(set(str(k.get('targetDeviceLocation')) for k in deks) - set(str(x) for x in locations))
        if unknown:
            return DIFFERS, 'DEK locations not in GET drives: %s (drives listed: %d)' % (_short(unknown), len(locations))
        return CONFIRMED, '%d DEKs, each on one of %d listed drives' % (len(deks), len(locations))

    def _groups(self):
        if self.groups is None:
            self.groups = self.data(self.api.obj('parity-groups'))
        return self.groups

    def _group(self):
        """An encrypted parity group if any, else the first."""
        groups = [g for g in self._groups() if isinstance(g, dict) and g.get('parityGroupId')]
        encrypted = [g for g in groups if g.get('isEncryptionEnabled') is True]
        return (encrypted or groups or [None])[0]

    def check_parity_groups(self):
        groups = self._groups()
        if not groups:
            return NOT_CHECKED, 'no parity group listed'
        bad_id = [g.get('parityGroupId') for g in groups
                  if not (isinstance(g.get('parityGroupId'), str) and validate.ARRAY_PARITY_GROUP_ID_RE.match(g['parityGroupId']))]
        bad_enc = [g.get('parityGroupId') for g in groups if not isinstance(g.get('isEncryptionEnabled'), bool)]
        problems = []
        if bad_id:
            problems.append('parityGroupId not of the form <n>-<n>: %s' % _short(repr(b) for b in bad_id))
        if bad_enc:
            problems.append('isEncryptionEnabled missing or not a boolean for %s' % _short(bad_enc))
        enc = [g['parityGroupId'] for g in groups if g.get('isEncryptionEnabled') is True]
        seen = '%d parity groups, encrypted: %s' % (len(groups), _short(enc) or 'none')
        return (DIFFERS, '; '.join(problems)) if problems else (CONFIRMED, seen)

    def check_group_drives(self):
        group = self._group()
        if group is None:
            return NOT_CHECKED, 'no parity group listed'
        pg = group['parityGroupId']
        drives = self.data(self.api.obj('drives'), {'parityGroupId': pg})
        if not drives:
            return DIFFERS, 'GET drives?parityGroupId=%s answered no drive' % pg
        others = sorted(set(str(d.get('parityGroupId')) for d in drives if d.get('parityGroupId') != pg))
        no_loc = [d for d in drives if not isinstance(d.get('driveLocationId'), str)]
        if others or no_loc:
            return DIFFERS, 'drives of other groups: %s; drives without driveLocationId: %d' % (_short(others) or 'none', len(no_loc))
        return CONFIRMED, 'group %s: %d drives (%s)' % (pg, len(drives), _short(d['driveLocationId'] for d in drives))

    def _group_ldevs(self, pg):
        if self.group_ldevs is None:
            self.group_ldevs = self.data(self.api.obj('ldevs'), {'parityGroupId': pg, 'count': 16384})
        return self.group_ldevs

    def check_group_ldevs(self):
        group = self._group()
        if group is None:
            return NOT_CHECKED, 'no parity group listed'
        pg = group['parityGroupId']
        ldevs = self._group_ldevs(pg)
        if not ldevs:
            return NOT_CHECKED, 'group %s has no LDEV' % pg
        outside = [ld.get('ldevId') for ld in ldevs if pg not in (ld.get('parityGroupIds') or [])]
        if outside:
            return DIFFERS, 'LDEVs whose parityGroupIds do not hold %s: %s' % (pg, _short(outside))
        return CONFIRMED, 'group %s: %d LDEVs, each listing it in parityGroupIds' % (pg, len(ldevs))

    def check_ldev_fields(self):
        group = self._group()
        if group is None:
            ldevs = self.data(self.api.obj('ldevs'), {'count': 16384})
        else:
            ldevs = self._group_ldevs(group['parityGroupId'])
        if not ldevs:
            return NOT_CHECKED, 'no LDEV listed'
        problems = set()
        pool_vols = 0
        for ld in ldevs:
            if not _is_int(ld.get('ldevId')):
                problems.add('ldevId not an integer')
            if not isinstance(ld.get('attributes', []), list):
                problems.add('attributes not a list')
            if ld.get('emulationType') == 'NOT DEFINED':
                continue
            if ld.get('status') not in LDEV_STATUSES:
                problems.add('status %r' % ld.get('status'))
            if 'POOL' in (ld.get('attributes') or []):
                pool_vols += 1
                if not _is_int(ld.get('composingPoolId')):
                    problems.add('a pool volume without an integer composingPoolId')
                if not isinstance(ld.get('parityGroupIds'), list):
                    problems.add('a pool volume without a parityGroupIds list')
        seen = '%d LDEVs, %d with the POOL attribute' % (len(ldevs), pool_vols)
        if problems:
            return DIFFERS, '; '.join(sorted(problems)) + ' (' + seen + ')'
        if not pool_vols:
            return NOT_CHECKED, seen + ': the POOL attribute could not be observed'
        return CONFIRMED, seen

    def _pools(self):
        if self.pools is None:
            self.pools = self.data(self.api.obj('pools'))
        return self.pools

    def check_pools(self):
        pools = self._pools()
        if not pools:
            return NOT_CHECKED, 'no pool listed'
        bad = [p.get('poolId') for p in pools if not _is_int(p.get('poolId')) or p.get('poolStatus') not in POOL_STATUSES]
        seen = ', '.join('%s %s' % (p.get('poolId'), p.get('poolStatus')) for p in pools[:LIST_MAX])
        return (DIFFERS, 'unexpected poolId or poolStatus: ' + seen) if bad else (CONFIRMED, '%d pools: %s' % (len(pools), seen))

    def _first_pool_id(self):
        ids = [p.get('poolId') for p in self._pools() if _is_int(p.get('poolId'))]
        return ids[0] if ids else None

    def check_pool_volumes(self):
        pool_id = self._first_pool_id()
        if pool_id is None:
            return NOT_CHECKED, 'no pool listed'
        ldevs = self.data(self.api.obj('ldevs'), {'poolId': pool_id, 'count': 16384})
        if not ldevs:
            return DIFFERS, 'GET ldevs?poolId=%d answered no LDEV' % pool_id
        wrong = [ld.get('ldevId') for ld in ldevs
                 if 'POOL' not in (ld.get('attributes') or []) or ld.get('composingPoolId') != pool_id]
        if wrong:
            return DIFFERS, 'pool %d: LDEVs without POOL or with another composingPoolId: %s' % (pool_id, _short(wrong))
        return CONFIRMED, 'pool %d: %d pool volumes (%s)' % (pool_id, len(ldevs), _short(ld['ldevId'] for ld in ldevs))

    def check_dp_volumes(self):
        pool_id = self._first_pool_id()
        if pool_id is None:
            return NOT_CHECKED, 'no pool listed'
        ldevs = self.data(self.api.obj('ldevs'), {'ldevOption': 'dpVolume', 'poolId': pool_id, 'count': 16384})
        if not ldevs:
            return NOT_CHECKED, 'pool %d has no DP volume' % pool_id
        wrong = [ld.get('ldevId') for ld in ldevs if ld.get('poolId') != pool_id or 'HDP' not in (ld.get('attributes') or [])]
        if wrong:
            return DIFFERS, 'pool %d: DP volumes without HDP or with another poolId: %s' % (pool_id, _short(wrong))
        return CONFIRMED, 'pool %d: %d DP volumes with HDP and poolId %d' % (pool_id, len(ldevs), pool_id)

    def check_job(self):
        job_id = self.job_id
        if job_id is not None:
            status, job = self.get(self.api.obj('jobs', job_id), expected=(200, 404))
            if status == 404:
                return NOT_CHECKED, 'job %d is not known to the array (404)' % job_id
        else:
            status, body = self.get(self.api.obj('jobs'), {'count': 1}, expected=(200, 400, 404, 405))
            items = body.get('data') if isinstance(body, dict) else None
            if status != 200 or not isinstance(items, list):
                return NOT_CHECKED, 'GET jobs answered HTTP %s; give job_id to check a known job' % status
            if not items:
                return NOT_CHECKED, 'GET jobs answered an empty list; give job_id to check a known job'
            job = items[0]
        if not isinstance(job, dict):
            return DIFFERS, 'the job is not an object'
        missing = [f for f in JOB_FIELDS if f not in job]
        problems = []
        if missing:
            problems.append('missing fields: %s' % ', '.join(missing))
        if not _is_int(job.get('jobId')):
            problems.append('jobId is not an integer')
        if job.get('status') not in ('Initializing', 'Running', 'Completed'):
            problems.append('status %r' % job.get('status'))
        seen = 'job %s: status %r, state %r' % (job.get('jobId'), job.get('status'), job.get('state'))
        return (DIFFERS, '; '.join(problems) + ' (' + seen + ')') if problems else (CONFIRMED, seen)

    def check_error_object(self):
        known = set(str(g.get('parityGroupId')) for g in self._groups() if isinstance(g, dict))
        missing = next('%d-%d' % (a, b) for a in range(63, 0, -1) for b in range(63, 0, -1) if '%d-%d' % (a, b) not in known)
        status, body = self.get(self.api.obj('parity-groups', missing), expected=(200, 400, 404))
        if status != 404:
            return DIFFERS, 'GET parity-groups/%s answered HTTP %s' % (missing, status)
        if not isinstance(body, dict):
            return DIFFERS, 'the 404 answer is not a JSON object'
        absent = [f for f in ERROR_FIELDS if f not in body]
        words = 'Specified object does not exist' in ' '.join(str(body.get(f) or '') for f in ('message', 'cause', 'solution'))
        seen = 'parity group %s: messageId %r%s; message %r' % (
            missing, body.get('messageId'), '' if words else ' (without the words "Specified object does not exist")',
            body.get('message'))
        if absent:
            return DIFFERS, 'missing fields: %s (%s)' % (', '.join(absent), seen)
        return CONFIRMED, seen

    def check_undefined_ldev(self):
        status, body = self.get(self.api.obj('ldevs', 65279), expected=(200, 404))
        if status == 404:
            return CONFIRMED, 'LDEV 65279: 404, messageId %r' % (body or {}).get('messageId')
        emulation = (body or {}).get('emulationType')
        if emulation == 'NOT DEFINED':
            return CONFIRMED, 'LDEV 65279: 200 with emulationType "NOT DEFINED"'
        return NOT_CHECKED, 'LDEV 65279 is defined on this array (emulationType %r)' % emulation

    def check_backup(self):
        if self.check_mode:
            return NOT_CHECKED, 'check mode: the backup (a write) was not sent'
        response = self.api.backup_keys_to_file(self.backup_password)
        try:
            received = sum(len(chunk) for chunk in response.iter_content(65536))  # read and thrown away
        finally:
            response.close()
        headers = response.headers
        self.backup_headers = {
            'status': response.status_code,
            'content_type': clean_text(headers.get('Content-Type'), 120),
            'content_disposition': clean_text(headers.get('Content-Disposition'), 200),
            'content_length': clean_text(headers.get('Content-Length'), 20),
            'bytes_received': received,
        }
        problems = []
        if not (self.backup_headers['content_disposition'] or '').lower().startswith('attachment'):
            problems.append('Content-Disposition is not "attachment..."')
        if self.backup_headers['content_length'] is None:
            problems.append('no Content-Length')
        elif self.backup_headers['content_length'] != str(received):
            problems.append('Content-Length %s but %d bytes received' % (self.backup_headers['content_length'], received))
        if not received:
            problems.append('an empty key file')
        seen = ('HTTP %(status)s, Content-Type %(content_type)r, Content-Disposition %(content_disposition)r, '
                'Content-Length %(content_length)r, %(bytes_received)d bytes' % self.backup_headers)
        return (DIFFERS, '; '.join(problems) + ' (' + seen + ')') if problems else (CONFIRMED, seen)


class NotReached(VspApiError):
    """The first contact failed: the array was not reached, or refused the log in. ``msg`` is the whole message
    (the cause and what to do, said once); the array's error fields, if any, are kept for the result."""

    def describe(self):
        return self.msg


def address(client):
    return '%s://%s:%s' % (client.protocol, client.host, client.port)


def not_reached_error(client, exc):
    """The :class:`NotReached` for a failed first contact ``exc``: which of connection, TLS or log in failed, and
    the option to check. Never holds a secret (the user name is not one; the password and token never reach here)."""
    where = address(client)
    fields = dict(status=exc.status, message_id=exc.message_id, message=exc.message, cause=exc.cause, solution=exc.solution,
                  method=exc.method, path=exc.path)
    if isinstance(exc, VspUnreachable) and exc.tls:
        reason = exc.reason or ''
        if 'certificate not trusted' in reason:
            trusted = ('ca_path %s' % client.verify if isinstance(client.verify, str)
                       else "this host's default CAs (ca_path is not set)")
            what = ('TLS verification failed%s: the certificate of the array is not trusted with %s. Check ca_path: '
                    "it must name the CA (PEM) that signed this array's certificate (validate_certs: false only for a "
                    'test system)' % (' (%s)' % exc.detail if exc.detail else '', trusted))
        else:
            what = reason
        msg = 'The array at %s was not reached: %s. Nothing was checked.' % (where, what)
    elif isinstance(exc, VspUnreachable):
        reason = exc.reason or 'the connection failed'
        if reason.startswith('connection timed out'):
            hint = 'check host and port, and that no firewall drops the traffic between this host and the array'
        elif reason == 'host name could not be resolved':
            hint = 'check host (and DNS on the host that runs the module)'
        else:
            hint = ('check host, port and protocol, and that the REST API server of the array runs and may be reached '
                    'from this host')
        msg = 'The array at %s was not reached: %s, tried once (no retries at first contact): %s. Nothing was checked.' % (
            where, reason, hint)
    elif exc.status == 401:
        said = ' '.join(p for p in (exc.message_id, exc.message) if p)
        msg = ('The array at %s refused the log in as %s (HTTP 401%s): wrong user name or password, or the account is '
               'locked on the array. Check username and password (VSP_USERNAME / VSP_PASSWORD, the vault). Nothing was '
               'checked.' % (where, client.username, ', %s' % said if said else ''))
    else:
        msg = 'The log in at %s failed, so nothing was checked: %s' % (where, exc.describe())
    return NotReached(msg, **fields)


def summarize(checks):
    counts = dict((s, 0) for s in (CONFIRMED, DIFFERS, NOT_CHECKED))
    for check in checks:
        counts[check['status']] += 1
    return counts


def _cell(text):
    return str(text).replace('|', '\\|').replace('\n', ' ')


def markdown(storage, api_version, checks, summary, *, not_reached=None, where=None):
    """The report; ``not_reached`` (the cause, when the first contact failed) titles it "not reached" and says why."""
    if not_reached is not None:
        lines = [
            '# vsp.encryption: REST API check of %s: not reached' % _cell(where or 'the array'),
            '',
            '**Not reached**: %s' % _cell(not_reached),
            '',
            'No check ran, so this report says nothing about the REST API of the array: fix the connection or the '
            'log in and run the check again.',
            '',
        ]
    else:
        lines = [
            '# vsp.encryption: REST API check of %s %s' % (
                _cell(storage.get('model') or 'unknown model'), _cell(storage.get('storage_device_id') or '')),
            '',
            'Serial number: %s. REST API version: %s. Read only: GET requests and one session.' % (
                _cell(storage.get('serial_number')), _cell(api_version or 'not answered')),
            '',
        ]
    lines += [
        '%d confirmed, %d differs, %d not checked.' % (summary[CONFIRMED], summary[DIFFERS], summary[NOT_CHECKED]),
        '',
        '| check | status | fact | seen | source |',
        '|---|---|---|---|---|',
    ]
    for c in checks:
        lines.append('| %s | %s | %s | %s | %s |' % tuple(_cell(c[k]) for k in ('name', 'status', 'fact', 'seen', 'source')))
    return '\n'.join(lines) + '\n'
