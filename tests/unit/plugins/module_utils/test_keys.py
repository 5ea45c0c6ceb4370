# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import hashlib

from ansible_collections.vsp.encryption.plugins.module_utils._keys import key_counts, key_fingerprint, storage_view

KEYS = {
    'DEK': [{'keyId': '1'}, {'keyId': '0'}],
    'CEK': [{'keyId': '100'}],
    'KEK': [{'keyId': '101'}],
    'FREE': [{'keyId': '7'}],
}


def test_fingerprint_is_sha256_of_sorted_type_and_id_lines():
    expected = hashlib.sha256(b'CEK:100\nDEK:0\nDEK:1\nFREE:7\nKEK:101').hexdigest()
    assert key_fingerprint(KEYS) == expected


def test_fingerprint_ignores_listing_order_and_other_fields():
    shuffled = dict(KEYS, DEK=[{'keyId': '0', 'numOfBackups': 9}, {'keyId': '1'}])
    assert key_fingerprint(shuffled) == key_fingerprint(KEYS)


def test_fingerprint_changes_when_a_key_is_lost_or_created():
    lost = dict(KEYS, DEK=[{'keyId': '0'}])
    created = dict(KEYS, FREE=[{'keyId': '7'}, {'keyId': '8'}])
    assert len({key_fingerprint(KEYS), key_fingerprint(lost), key_fingerprint(created)}) == 3


def test_key_counts_counts_every_type_even_when_absent():
    assert key_counts({'DEK': KEYS['DEK']}) == {'DEK': 2, 'CEK': 0, 'KEK': 0, 'FREE': 0}


def test_storage_view_without_an_id_gives_none_not_a_text():
    assert storage_view({}) == {'storage_device_id': None, 'serial_number': None, 'model': None}
    assert storage_view({'storageDeviceId': 900000061726})['storage_device_id'] == '900000061726'
