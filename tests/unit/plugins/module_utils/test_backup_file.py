# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import datetime
import hashlib
import json
import os
import stat

import pytest

from ansible_collections.vsp.encryption.plugins.module_utils import backup_file as bf
from ansible_collections.vsp.encryption.plugins.module_utils.errors import VspApiError


@pytest.mark.parametrize('password, fragment', [
    ('abc12', 'too short'),
    ('a' * 256, 'too long'),
    ('abc def1', 'a space'),
    ('abcdef\u00e9', 'not allowed'),
    ('abc\tdef', 'a space'),
])
def test_password_rule(password, fragment):
    with pytest.raises(VspApiError) as info:
        bf.validate_backup_password(password)
    text = str(info.value)
    assert 'backup_password' in text
    assert fragment in text
    assert '6 to 255 characters' in text
    assert password not in text


@pytest.mark.parametrize('password', ['abcdef', 'A' * 255, 'Aa0' + bf.PASSWORD_SYMBOLS])
def test_password_rule_accepts(password):
    bf.validate_backup_password(password)


def test_backup_file_name():
    now = datetime.datetime(2026, 11, 29, 10, 15, 0, tzinfo=datetime.timezone.utc)
    assert bf.backup_file_name('900000061726', now) == '900000061726_20261129T101500Z.ekf'


def test_parse_mode():
    assert bf.parse_mode('0600') == 0o600
    assert bf.parse_mode('640') == 0o640
    assert bf.parse_mode(0o600) == 0o600
    with pytest.raises(VspApiError):
        bf.parse_mode('u=rw')


def test_write_atomically(tmp_path):
    dest = tmp_path / 'k.ekf'
    size, digest = bf.write_stream_atomically([b'abc', b'', b'def'], str(dest), mode=0o600, expected_size=6)
    assert (size, digest) == (6, hashlib.sha256(b'abcdef').hexdigest())
    assert dest.read_bytes() == b'abcdef'
    assert stat.S_IMODE(os.stat(str(dest)).st_mode) == 0o600
    assert os.listdir(str(tmp_path)) == ['k.ekf']


def test_temp_file_private_from_creation(tmp_path):
    seen = []

    def chunks():
        part = [p for p in os.listdir(str(tmp_path)) if p.endswith('.part')]
        seen.append(stat.S_IMODE(os.stat(str(tmp_path / part[0])).st_mode))
        yield b'data'

    bf.write_stream_atomically(chunks(), str(tmp_path / 'k.ekf'), mode=0o640)
    assert seen == [0o600]
    assert stat.S_IMODE(os.stat(str(tmp_path / 'k.ekf')).st_mode) == 0o640


def test_size_mismatch_leaves_nothing(tmp_path):
    with pytest.raises(VspApiError) as info:
        bf.write_stream_atomically([b'abc'], str(tmp_path / 'k.ekf'), expected_size=10)
    assert 'incomplete (3 of 10 bytes' in str(info.value)
    assert os.listdir(str(tmp_path)) == []


def test_stream_error_leaves_nothing_and_keeps_old_file(tmp_path):
    dest = tmp_path / 'k.ekf'
    dest.write_bytes(b'old')

    def chunks():
        yield b'new-part'
        raise OSError('connection reset')

    with pytest.raises(VspApiError) as info:
        bf.write_stream_atomically(chunks(), str(dest))
    assert 'no file was written' in str(info.value)
    assert os.listdir(str(tmp_path)) == ['k.ekf']
    assert dest.read_bytes() == b'old'


def test_empty_download_rejected(tmp_path):
    with pytest.raises(VspApiError):
        bf.write_stream_atomically([], str(tmp_path / 'k.ekf'))
    assert os.listdir(str(tmp_path)) == []


def test_manifest_roundtrip_and_mismatch(tmp_path):
    path = str(tmp_path / 'k.ekf')
    size, digest = bf.write_stream_atomically([b'key-data'], path)
    manifest = bf.build_manifest(path, size, digest, {'storage_device_id': '9', 'serial_number': 9, 'model': 'M'}, {'DEK': 1})
    bf.write_json_atomically(bf.manifest_path(path), manifest)
    assert stat.S_IMODE(os.stat(bf.manifest_path(path)).st_mode) == 0o600
    assert json.loads(open(bf.manifest_path(path)).read())['format_version'] == 1
    verified, sha, sz, dummy = bf.verify_against_manifest(path)
    assert (verified, sha, sz) == (True, digest, size)
    with open(path, 'ab') as handle:
        handle.write(b'x')
    with pytest.raises(VspApiError) as info:
        bf.verify_against_manifest(path)
    assert 'does not match its manifest' in str(info.value)


def test_no_manifest_is_not_verified(tmp_path):
    path = str(tmp_path / 'k.ekf')
    bf.write_stream_atomically([b'key-data'], path)
    assert bf.verify_against_manifest(path)[0] is False
