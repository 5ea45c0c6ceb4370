# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The array's identity and key list as the modules return them: storage view, the identity check, key counts, key
fingerprint."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.vsp.encryption.plugins.module_utils._api import KEY_TYPES
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError


def storage_view(storage):
    return {
        'storage_device_id': str(storage.get('storageDeviceId')) if storage.get('storageDeviceId') is not None else None,
        'serial_number': storage.get('serialNumber'),
        'model': storage.get('model'),
    }


def check_identity(storage, expected_id=None, expected_serial=None):
    """Fail when the array (a :func:`storage_view`) is not the one the inventory names."""
    problems = []
    if expected_id and str(storage.get('storage_device_id')) != str(expected_id):
        problems.append('storage device id %s, not %s' % (storage.get('storage_device_id'), expected_id))
    if expected_serial not in (None, '') and str(storage.get('serial_number')) != str(expected_serial):
        problems.append('serial number %s, not %s' % (storage.get('serial_number'), expected_serial))
    if problems:
        raise VspApiError('expected_storage_device_id / expected_serial_number: the array at this address reports %s. '
                          'It is not the array the inventory names; check host and storage_device_id. Nothing was changed '
                          'on the array.' % ' and '.join(problems))


def key_counts(keys_by_type):
    return dict((key_type, len(keys_by_type.get(key_type) or [])) for key_type in KEY_TYPES)


def key_fingerprint(keys_by_type):
    """sha256 (hex) of the sorted lines ``<keyType>:<keyId>`` of every listed key, joined by newlines.

    It changes when a key is created, deleted or lost, so a backup whose manifest holds the same
    fingerprint holds the same set of keys.
    """
    lines = sorted('%s:%s' % (key_type, key.get('keyId')) for key_type in KEY_TYPES for key in (keys_by_type.get(key_type) or []))
    return hashlib.sha256('\n'.join(lines).encode('utf-8')).hexdigest()
