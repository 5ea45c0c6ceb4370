# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants of manifest.py that survived `make mutation` (docs/mutation.md).

The manifest is a file format other tools and later versions read: its bytes (indent, key order), the
MAC over the canonical JSON and the PBKDF2 split are pinned against values computed here independently."""

import datetime
import hashlib
import hmac
import json

import pytest
from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError

NOW = datetime.datetime(2026, 11, 29, 10, 15, 0, tzinfo=datetime.timezone.utc)
STORAGE = {'storage_device_id': '900000061726', 'serial_number': 61726, 'model': 'VSP 5600'}
KEYS = {'DEK': [{'keyId': '10', 'targetDeviceLocation': 'HDD01-00'}, {'keyId': '9', 'targetDeviceLocation': 'HDD01-01'}],
        'CEK': [{'keyId': 'b'}, {'keyId': '2'}, {'keyId': 'a'}]}


def made(password='Backup#Pa55', iterations=1000):
    return mf.build('k.ekf', 3, 'ab' * 32, storage=STORAGE, keys_by_type=KEYS, key_fingerprint='fp',
                    deriver=mf.Deriver(password), salt=b's' * 16, iterations=iterations, now=NOW)


def test_derive_is_one_pbkdf2_split_in_halves():
    material = hashlib.pbkdf2_hmac('sha256', 'pässword'.encode(), b'salt', 1000, dklen=64)
    assert mf.derive('pässword', b'salt', 1000) == (material[:32], material[32:])


def test_mac_is_over_the_compact_sorted_json_without_the_mac(fast_kdf):
    manifest = made()
    dummy_verifier, mac_key = mf.derive('Backup#Pa55', b's' * 16, 1000)
    body = dict((k, v) for k, v in manifest.items() if k != 'mac')
    canonical = json.dumps(body, sort_keys=True, separators=(',', ':')).encode('utf-8')
    assert manifest['mac'] == {'algorithm': 'hmac-sha256', 'value': hmac.new(mac_key, canonical, hashlib.sha256).hexdigest()}
    assert manifest['created_by'] == 'vsp.encryption.encryption_key_backup'
    assert manifest['password_verifier']['salt'] == 'c3Nzc3Nzc3Nzc3Nzc3Nzcw=='


def test_key_ids_sorted_numbers_first_then_text():
    assert mf.key_ids_by_type(KEYS)['DEK'] == ['9', '10']
    assert mf.key_ids_by_type(KEYS)['CEK'] == ['2', 'a', 'b']
    assert mf.key_ids_by_type({'CEK': [{'keyId': 'x'}, {'keyId': 1}, {'keyId': '02'}]})['CEK'] == ['1', '02', 'x']


def test_dumps_is_indented_sorted_and_ends_with_a_newline():
    assert mf.dumps({'b': 1, 'a': {'d': 2, 'c': [3]}}) == b'{\n  "a": {\n    "c": [\n      3\n    ],\n    "d": 2\n  },\n  "b": 1\n}\n'


SHAPED = '{"created_utc": "2026-12-01T02:00:00Z", "sha256": "%s", "storage_device_id": "1"%s}' % ('0' * 64, '%s')


def test_read_cap_is_exact(tmp_path, monkeypatch):
    text = SHAPED % ''
    monkeypatch.setattr(mf, 'MAX_MANIFEST_BYTES', len(text))
    path = str(tmp_path / 'k.ekf')
    with open(mf.manifest_path(path), 'w') as handle:
        handle.write(text)
    assert mf.read(path) == json.loads(text)
    with open(mf.manifest_path(path), 'w') as handle:
        handle.write(text + ' ')  # one byte more
    with pytest.raises(VspApiError) as info:
        mf.read(path)
    assert info.value.msg == 'The manifest %s cannot be read: larger than %d bytes' % (mf.manifest_path(path), len(text))


def test_read_messages_word_for_word(tmp_path):
    path = str(tmp_path / 'k.ekf')
    with open(mf.manifest_path(path), 'w') as handle:
        handle.write('[1]')
    with pytest.raises(VspApiError) as info:
        mf.read(path)
    assert info.value.msg == 'The manifest %s is not a manifest of vsp.encryption (no sha256)' % mf.manifest_path(path)
    with open(mf.manifest_path(path), 'wb') as handle:  # read as UTF-8
        handle.write((SHAPED % ', "model": "\u00fc-ü"').encode('utf-8'))
    assert mf.read(path)['model'] == 'ü-ü'
    with open(mf.manifest_path(path), 'wb') as handle:
        handle.write('{"sha256": "ü"}'.encode())
    with pytest.raises(VspApiError) as info:
        mf.read(path)
    assert info.value.msg == 'The manifest %s is malformed: sha256 must be 64 lower-case hex digits' % mf.manifest_path(path)


def test_version():
    assert mf.version({'format_version': 2}) == 2
    assert mf.version({'format_version': 3}) == 3
    assert mf.version({}) == 1
    assert mf.version({'format_version': '2'}) == 1


def test_utc_now_is_aware_utc():
    assert mf.utc_now().utcoffset() == datetime.timedelta(0)


def test_check_password_messages(fast_kdf):
    manifest = made()
    assert mf.check_password(manifest, mf.Deriver('Backup#Pa55')) is True
    assert mf.check_password(manifest, mf.Deriver('Other#Pa55')) is False
    bad = dict(manifest, password_verifier=dict(manifest['password_verifier'], kdf='scrypt'))
    with pytest.raises(VspApiError) as info:
        mf.check_password(bad, mf.Deriver('x'))
    assert info.value.msg == 'the manifest has a malformed password verifier (unknown kdf)'
    few = dict(manifest, password_verifier=dict(manifest['password_verifier'], iterations=999))
    with pytest.raises(VspApiError) as info:
        mf.check_password(few, mf.Deriver('x'), '/m.json')
    assert info.value.msg == '/m.json has a malformed password verifier (fewer than 1000 iterations)'
    loose = dict(manifest, password_verifier=dict(manifest['password_verifier'], salt='c3Nz!c3Nz'))
    with pytest.raises(VspApiError, match='malformed password verifier'):
        mf.check_password(loose, mf.Deriver('x'))
    edited = dict(manifest, file='other.ekf')
    with pytest.raises(VspApiError) as info:
        mf.check_password(edited, mf.Deriver('Backup#Pa55'), '/m.json')
    assert info.value.msg == '/m.json was changed after the backup (its MAC does not match); do not trust it'
    for mac in ('nope', {'value': 1}, None):
        with pytest.raises(VspApiError, match='was changed after the backup'):
            mf.check_password(dict(manifest, mac=mac), mf.Deriver('Backup#Pa55'))
