# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every endpoint path and request body the collection uses, in one place.

Request formats that no public source confirms are marked ``# [I] unconfirmed`` here and nowhere
else, so one edit adapts the collection when a real array disagrees.
Both URL forms: ``/v1/objects/...`` and, with ``storage_device_id``, ``/v1/objects/storages/<id>/...``.

Every id the array sends is checked against its documented form (:mod:`validate`) before it is
used for anything: ``storageDeviceId``, ``keyId``, ``ldevId``, ``poolId`` / ``composingPoolId``,
``parityGroupId`` / ``parityGroupIds``. Paging must advance and ends at the documented number of
pages.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from urllib.parse import quote

from ansible_collections.vsp.encryption.plugins.module_utils import _validate as validate
from ansible_collections.vsp.encryption.plugins.module_utils._client import media_type
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError, clean_text
from ansible_collections.vsp.encryption.plugins.module_utils._jobs import run_job
from ansible_collections.vsp.encryption.plugins.module_utils._limits import KEY_FILE_MAX

KEY_TYPES = ('DEK', 'CEK', 'KEK', 'FREE')
PAGED_KEY_TYPES = ('DEK', 'FREE')
KEY_PAGE = 1024      # the array's maximum (and default) count for DEK / FREE lists
LDEV_PAGE = 16384    # the array's maximum count for LDEV lists
# documented maximum pages (4,096 keys / 1,024; 65,280 LDEVs / 16,384), + 1 for safety: more is an error
KEY_MAX_PAGES = (validate.KEY_ID_MAX + 1 + KEY_PAGE - 1) // KEY_PAGE + 1
LDEV_MAX_PAGES = (validate.LDEV_ID_MAX + 1 + LDEV_PAGE - 1) // LDEV_PAGE + 1
KEY_FILE_TYPE = 'application/octet-stream'
NOT_USED = 'it was not used'


def _quote(value):
    return quote(str(value), safe='')


def _sent(check, value, field):
    """A value the array sent, checked (the error names the field and the escaped value)."""
    return validate.from_array(check, value, field, note=NOT_USED)


def _check_ldev(ldev):
    if not isinstance(ldev, dict):
        raise VspApiError('The array sent an unexpected value, %s: an LDEV that is not an object: %s' % (NOT_USED, validate.shown(ldev)))
    ldev_id = _sent(validate.ldev_id, ldev.get('ldevId'), 'ldevId')
    for field in ('composingPoolId', 'poolId'):
        if ldev.get(field) is not None:
            _sent(validate.pool_id, ldev[field], '%s of LDEV %d' % (field, ldev_id))
    groups = ldev.get('parityGroupIds')
    if groups is not None:
        if not isinstance(groups, list):
            raise VspApiError('The array sent an unexpected value, %s: parityGroupIds of LDEV %d: %s is not a list'
                              % (NOT_USED, ldev_id, validate.shown(groups)))
        for group in groups:
            _sent(validate.parity_group_id, group, 'parityGroupIds of LDEV %d' % ldev_id)
    return ldev


def _check_field(obj, field, check, what):
    """``obj[field]`` checked; an object without the field is refused too."""
    if not isinstance(obj, dict):
        raise VspApiError('The array sent an unexpected value, %s: %s that is not an object: %s' % (NOT_USED, what, validate.shown(obj)))
    _sent(check, obj.get(field), field)
    return obj


class VspApi(object):
    """Typed calls on top of :class:`VspClient`."""

    def __init__(self, client):
        self.client = client
        sid = client.storage_device_id
        if sid:
            sid = validate.storage_device_id(sid)
        self.objects = '/v1/objects/storages/%s' % _quote(sid) if sid else '/v1/objects'

    # -- helpers ------------------------------------------------------------------------------------
    def obj(self, *parts):
        return '/'.join([self.objects] + [_quote(p) for p in parts])

    def job_path(self, job_id):
        return self.obj('jobs', job_id)

    def _list(self, path, params=None):
        body = self.client.get_json(path, params=params)
        data = body.get('data') if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise VspApiError('GET %s: the answer has no data list' % path, method='GET', path=path)
        return data

    def _get_or_none(self, path):
        try:
            return self.client.get_json(path)
        except VspApiError as exc:
            if exc.status == 404:
                return None
            raise

    def _job(self, method, path, what, *, json=None, files=None, idempotent=False):
        return run_job(self.client, self.job_path, method, path, what=what, json=json, files=files, idempotent=idempotent)

    # -- storage ------------------------------------------------------------------------------------
    def storage(self):
        """Identity of the storage system: ``storageDeviceId`` (checked: 12 digits), ``model``, ``serialNumber``..."""
        sid = self.client.storage_device_id
        if not sid:
            storage = self.client.get_json('/v1/objects/storages/instance')
            return _check_field(storage, 'storageDeviceId', validate.storage_device_id, 'a storage system')
        storages = self._list('/v1/objects/storages')
        for storage in storages:
            _check_field(storage, 'storageDeviceId', validate.storage_device_id, 'a storage system')
        for storage in storages:
            if str(storage.get('storageDeviceId')) == str(sid):
                return storage
        raise VspApiError('storage_device_id %s is not a storage system of this REST server (it knows: %s)'
                          % (sid, ', '.join(str(s.get('storageDeviceId')) for s in storages) or 'none'),
                          method='GET', path='/v1/objects/storages')

    # -- keys ---------------------------------------------------------------------------------------
    def list_keys_by_type(self, key_types=KEY_TYPES):
        """``{keyType: [keys]}`` for each of ``key_types``."""
        return dict((key_type, self.list_keys(key_type)) for key_type in key_types)

    def _key_page(self, path, params, start):
        page = self._list(path, params=params)
        for key in page:
            key_id = int(_check_field(key, 'keyId', validate.key_id, 'a key')['keyId'])
            if key_id < start:
                raise VspApiError('GET %s: the array ignored the page start (startKeyId=%d answered keyId %d)' % (path, start, key_id),
                                  method='GET', path=path)
        return page

    def list_keys(self, key_type):
        """All keys of one type (DEK / FREE lists are paged by the array, 1024 at a time, at most 4 pages)."""
        path = self.obj('encryption-keys')
        keys = page = self._key_page(path, {'keyType': key_type}, 0)
        start, pages = 0, 1
        while key_type in PAGED_KEY_TYPES and len(page) >= KEY_PAGE:
            next_start = max(int(k['keyId']) for k in page) + 1
            if next_start > validate.KEY_ID_MAX:
                break
            if next_start <= start:
                raise VspApiError('GET %s: the array ignored the page start (startKeyId=%d)' % (path, start), method='GET', path=path)
            if pages >= KEY_MAX_PAGES:
                raise VspApiError('GET %s: the array sent more than %d pages of %s keys; it holds at most %d keys'
                                  % (path, KEY_MAX_PAGES, key_type, validate.KEY_ID_MAX + 1), method='GET', path=path)
            start, pages = next_start, pages + 1
            page = self._key_page(path, {'keyType': key_type, 'startKeyId': start, 'count': KEY_PAGE}, start)
            keys = keys + page
        return keys

    def backup_keys_to_file(self, password):
        """POST the file backup; returns the streaming response (binary key file). Synchronous [C].

        The answer must have ``Content-Type: application/octet-stream`` (otherwise it is closed and
        refused); its ``iter_content`` stops at :data:`KEY_FILE_MAX` bytes and at the request deadline.
        """
        path = self.obj('encryption-keys', 'file', 'actions', 'backup', 'invoke')
        # Repeating a file backup is harmless (the array only makes another copy of its keys; numOfBackups grows):
        # it is retried after a connection that broke once the request was sent.
        response = self.client.request('POST', path, json={'parameters': {'password': password}},
                                       headers={'Accept': KEY_FILE_TYPE, 'Content-Type': 'application/json'},
                                       stream=True, expected=(200,), limit=KEY_FILE_MAX, idempotent=True)
        if media_type(response) != KEY_FILE_TYPE:
            received = clean_text(response.headers.get('Content-Type'), 80)
            response.close()
            raise VspApiError('POST %s: the array answered Content-Type %s, not %s; this is not a key file and nothing was saved'
                              % (path, repr(received) if received else 'none', KEY_FILE_TYPE),
                              status=response.status_code, method='POST', path=path)
        return response

    def backup_keys_to_kms(self, key_ids=None):
        path = self.obj('encryption-keys', 'kms', 'actions', 'backup', 'invoke')
        # [I] unconfirmed: body shape and that the answer is an asynchronous job
        body = {'parameters': {'keyIds': [str(k) for k in key_ids]}} if key_ids else {}
        return self._job('POST', path, 'Back up of the encryption keys to the KMS', json=body)

    def restore_keys_from_file(self, filename, content, password):
        path = self.obj('encryption-keys', 'file', 'actions', 'restore', 'invoke')
        # [I] unconfirmed: multipart/form-data with the parts "file" (the key file) and "password",
        # answered with an asynchronous job
        files = {
            'file': (filename, content, 'application/octet-stream'),
            'password': (None, password),
        }
        return self._job('POST', path, 'Restore of the encryption keys from the file', files=files)

    def restore_keys_from_kms(self):
        path = self.obj('encryption-keys', 'all', 'actions', 'kms-restore', 'invoke')
        # [I] unconfirmed: empty body, answered with an asynchronous job
        return self._job('POST', path, 'Restore of the encryption keys from the KMS', json={})

    # -- drives, parity groups ----------------------------------------------------------------------
    def list_drives(self, parity_group_id=None):
        params = None
        if parity_group_id:
            params = {'parityGroupId': validate.parity_group_id(parity_group_id, 'parity_group_id')}
        drives = self._list(self.obj('drives'), params=params)
        for drive in drives:
            if isinstance(drive, dict) and drive.get('parityGroupId') not in (None, ''):
                _sent(validate.parity_group_id, drive['parityGroupId'], 'parityGroupId of a drive')
        return drives

    def get_parity_group(self, parity_group_id):
        """The parity group, or None when the array does not know it."""
        group = self._get_or_none(self.obj('parity-groups', validate.parity_group_id(parity_group_id, 'parity_group_id')))
        return group if group is None else _check_field(group, 'parityGroupId', validate.parity_group_id, 'a parity group')

    def list_parity_groups(self):
        return [_check_field(g, 'parityGroupId', validate.parity_group_id, 'a parity group') for g in self._list(self.obj('parity-groups'))]

    # -- ldevs --------------------------------------------------------------------------------------
    def _ldev_page(self, path, params, head):
        page = self._list(path, params=params)
        for ldev in page:
            ldev_id = int(_check_ldev(ldev)['ldevId'])
            if ldev_id < head:
                raise VspApiError('GET %s: the array ignored the page start (headLdevId=%d answered ldevId %d)' % (path, head, ldev_id),
                                  method='GET', path=path)
        return page

    def list_ldevs(self, parity_group_id=None, pool_id=None):
        """LDEVs of a parity group or pool, paged with ``headLdevId`` (at most 4 pages of 16,384)."""
        params = {'count': LDEV_PAGE}
        if parity_group_id is not None:
            params['parityGroupId'] = validate.parity_group_id(parity_group_id, 'parity_group_id')
        if pool_id is not None:
            params['poolId'] = validate.pool_id(pool_id, 'pool_id')
        return self._ldev_pages(params)

    def _ldev_pages(self, params):
        """Every page of ``GET ldevs`` with ``params``: each page must start after the last (``headLdevId``),
        the list ends at the last LDEV id, and more pages than the documented maximum are an error."""
        path = self.obj('ldevs')
        ldevs = page = self._ldev_page(path, params, 0)
        head, pages = 0, 1
        while len(page) >= LDEV_PAGE:
            next_head = max(int(ld['ldevId']) for ld in page) + 1
            if next_head > validate.LDEV_ID_MAX:
                break
            if next_head <= head:
                raise VspApiError('GET %s: the array ignored the page start (headLdevId=%d)' % (path, head), method='GET', path=path)
            if pages >= LDEV_MAX_PAGES:
                raise VspApiError('GET %s: the array sent more than %d pages of LDEVs; it holds at most %d'
                                  % (path, LDEV_MAX_PAGES, validate.LDEV_ID_MAX + 1), method='GET', path=path)
            head, pages = next_head, pages + 1
            page = self._ldev_page(path, dict(params, headLdevId=head), head)
            ldevs = ldevs + page
        return ldevs

    def get_ldev(self, ldev_id):
        """The LDEV, or None when the array does not know it."""
        ldev = self._get_or_none(self.obj('ldevs', validate.ldev_id(ldev_id, 'ldev_id')))
        return ldev if ldev is None else _check_ldev(ldev)

    def change_ldev_status(self, ldev_id, status):
        """``status``: ``blk`` (block) or ``nml`` (recover). Waits for the job.

        Idempotent (a status change to a given state): retried after a broken connection and when the
        job fails with ``solutionType: RETRY``.
        """
        path = self.obj('ldevs', validate.ldev_id(ldev_id, 'ldev_id'), 'actions', 'change-status', 'invoke')
        return self._job('POST', path, 'Change of the status of LDEV %s to %s' % (ldev_id, status),
                         json={'parameters': {'status': status}}, idempotent=True)

    # -- pools --------------------------------------------------------------------------------------
    def list_pools(self):
        return [_check_field(p, 'poolId', validate.pool_id, 'a pool') for p in self._list(self.obj('pools'))]

    def get_pool(self, pool_id):
        """The pool, or None when the array does not know it."""
        pool = self._get_or_none(self.obj('pools', validate.pool_id(pool_id, 'pool_id')))
        return pool if pool is None else _check_field(pool, 'poolId', validate.pool_id, 'a pool')

    # -- pool recovery, DP volumes, external parity groups, jobs (issue 13) -------------------------
    def recover_pool(self, pool_id):
        """Recover (unblock) a pool [C RG17 restoring-a-pool]: ``POST pools/{id}/actions/recover/invoke``
        with no body, answered with a job. The array answers 412 when the pool is not blocked
        (:func:`pools.recover_pools` counts that as done). Repeating it is harmless."""
        path = self.obj('pools', validate.pool_id(pool_id, 'pool_id'), 'actions', 'recover', 'invoke')
        return self._job('POST', path, 'Recovery of pool %s' % pool_id, idempotent=True)

    def list_dp_volumes(self, pool_id):
        """The DP volumes (virtual volumes) carved from a pool: ``ldevs?ldevOption=dpVolume&poolId=N``
        [C HCS-JA HCSR0181 filters; Hitachi's collection lists a pool's DP volumes exactly so]; paged as
        :meth:`list_ldevs`."""
        return self._ldev_pages({'ldevOption': 'dpVolume', 'poolId': validate.pool_id(pool_id, 'pool_id'), 'count': LDEV_PAGE})

    def list_external_parity_groups(self):
        """``GET external-parity-groups`` (a list, empty without external storage) [C code: Hitachi's collection]."""
        return self._list(self.obj('external-parity-groups'))

    def list_jobs(self, count=None):
        """[I] ``GET jobs``: recent jobs of the caller (the object of each as ``GET jobs/{id}``)."""
        return self._list(self.obj('jobs'), params={'count': int(count)} if count else None)
