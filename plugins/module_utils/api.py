# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every endpoint path and request body the collection uses, in one place.

Request formats that no public source confirms are marked ``# [I] unconfirmed`` here and nowhere
else, so one edit adapts the collection when a real array disagrees.
Both URL forms: ``/v1/objects/...`` and, with ``storage_device_id``, ``/v1/objects/storages/<id>/...``
(services: ``/v1/services/...`` or ``/v1/<id>/services/...``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from urllib.parse import quote

from ansible_collections.vsp.encryption.plugins.module_utils.errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils.jobs import run_job

KEY_TYPES = ('DEK', 'CEK', 'KEK', 'FREE')
KEY_PAGE = 1024      # the array's maximum (and default) count for DEK / FREE lists
LDEV_PAGE = 16384    # the array's maximum count for LDEV lists


def _quote(value):
    return quote(str(value), safe='')


class VspApi(object):
    """Typed calls on top of :class:`VspClient`."""

    def __init__(self, client):
        self.client = client
        sid = client.storage_device_id
        self.objects = '/v1/objects/storages/%s' % _quote(sid) if sid else '/v1/objects'
        self.services = '/v1/%s/services' % _quote(sid) if sid else '/v1/services'

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

    def _job(self, method, path, what, json=None, files=None):
        return run_job(self.client, self.job_path, method, path, what=what, json=json, files=files)

    # -- storage ------------------------------------------------------------------------------------
    def storage(self):
        """Identity of the storage system: ``storageDeviceId``, ``model``, ``serialNumber``..."""
        sid = self.client.storage_device_id
        if not sid:
            return self.client.get_json('/v1/objects/storages/instance')
        storages = self._list('/v1/objects/storages')
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

    def list_keys(self, key_type):
        """All keys of one type (DEK / FREE lists are paged by the array, 1024 at a time)."""
        path = self.obj('encryption-keys')
        keys = self._list(path, params={'keyType': key_type})
        if key_type in ('DEK', 'FREE', 'DEKANDFREE'):
            page = keys
            while len(page) >= KEY_PAGE:
                start = max(int(k['keyId']) for k in page) + 1
                if start > 4095:
                    break
                page = self._list(path, params={'keyType': key_type, 'startKeyId': start, 'count': KEY_PAGE})
                keys = keys + page
        return keys

    def backup_keys_to_file(self, password):
        """POST the file backup; returns the streaming response (binary key file). Synchronous [C]."""
        return self.client.request('POST', self.obj('encryption-keys', 'file', 'actions', 'backup', 'invoke'),
                                   json={'parameters': {'password': password}},
                                   headers={'Accept': 'application/octet-stream', 'Content-Type': 'application/json'},
                                   stream=True, expected=(200,))

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
        params = {'parityGroupId': parity_group_id} if parity_group_id else None
        return self._list(self.obj('drives'), params=params)

    def get_parity_group(self, parity_group_id):
        """The parity group, or None when the array does not know it."""
        return self._get_or_none(self.obj('parity-groups', parity_group_id))

    def list_parity_groups(self):
        return self._list(self.obj('parity-groups'))

    # -- ldevs --------------------------------------------------------------------------------------
    def list_ldevs(self, parity_group_id=None, pool_id=None):
        """LDEVs of a parity group or pool, paged with ``headLdevId``."""
        params = {'count': LDEV_PAGE}
        if parity_group_id is not None:
            params['parityGroupId'] = parity_group_id
        if pool_id is not None:
            params['poolId'] = pool_id
        path = self.obj('ldevs')
        ldevs = self._list(path, params=params)
        page = ldevs
        while len(page) >= LDEV_PAGE:
            params = dict(params, headLdevId=max(int(ld['ldevId']) for ld in page) + 1)
            page = self._list(path, params=params)
            ldevs = ldevs + page
        return ldevs

    def get_ldev(self, ldev_id):
        """The LDEV, or None when the array does not know it."""
        return self._get_or_none(self.obj('ldevs', ldev_id))

    def change_ldev_status(self, ldev_id, status):
        """``status``: ``blk`` (block) or ``nml`` (recover). Waits for the job."""
        path = self.obj('ldevs', ldev_id, 'actions', 'change-status', 'invoke')
        return self._job('POST', path, 'Change of the status of LDEV %s to %s' % (ldev_id, status),
                         json={'parameters': {'status': status}})

    # -- pools --------------------------------------------------------------------------------------
    def list_pools(self):
        return self._list(self.obj('pools'))

    def get_pool(self, pool_id):
        """The pool, or None when the array does not know it."""
        return self._get_or_none(self.obj('pools', pool_id))
