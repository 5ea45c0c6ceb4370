# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""manifest.py: build, read and check the manifest beside a key file, its password verifier and MAC, the shape and cost
limits of what is read, and the password derived in a thread. The manifest is a file format other tools and later
versions read: its bytes (indent, key order), the MAC over the canonical JSON and the PBKDF2 split are pinned against
values computed here independently."""

import base64
import datetime
import hashlib
import hmac
import json
import os
import threading

import pytest
from conftest import BACKUP_PASSWORD
from key_file_helpers import FAST_ITERATIONS, STORAGE, keys_by_type, when, without_hanging, write_key_file

from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError

CONTENT = b'\x00opaque key file\xff' * 64
SHA = hashlib.sha256(CONTENT).hexdigest()
KEYS = keys_by_type({'10': 'HDD00-10', '2': 'HDD00-02', '1': 'HDD00-01'}, cek=('100',), kek=('200',), free=('301', '300'))


def build(deriver=None, **extra):
    return mf.build('k.ekf', len(CONTENT), SHA, storage=STORAGE, keys_by_type=KEYS, key_fingerprint='fp', deriver=deriver,
                    iterations=extra.pop('iterations', FAST_ITERATIONS), now=when(3, 4), **extra)


# -- build, read, the verifier and the MAC --------------------------------------------------------------
def test_build_records_keys_locations_and_identity(fast_kdf):
    data = build()
    assert data['format_version'] == 2
    assert data['sha256'] == SHA and data['size'] == len(CONTENT)
    assert data['created_utc'] == '2026-11-03T04:00:00Z'
    assert (data['storage_device_id'], data['serial_number'], data['model']) == ('900000061726', 61726, 'VSP 5600')
    # ids sorted numerically, not as text ('10' after '2')
    assert data['keys'] == {'DEK': ['1', '2', '10'], 'CEK': ['100'], 'KEK': ['200'], 'FREE': ['300', '301']}
    assert data['key_counts'] == {'DEK': 3, 'CEK': 1, 'KEK': 1, 'FREE': 2}
    assert data['dek_locations'] == {'1': 'HDD00-01', '2': 'HDD00-02', '10': 'HDD00-10'}
    assert data['password_verifier'] is None
    assert 'mac' not in data


def test_round_trip_through_a_file(tmp_path, fast_kdf):
    path = str(tmp_path / 'k.ekf')
    (tmp_path / 'k.ekf').write_bytes(CONTENT)
    written = build(mf.Deriver(BACKUP_PASSWORD))
    with open(mf.manifest_path(path), 'wb') as handle:
        handle.write(mf.dumps(written))
    read = mf.read(path)
    assert read == written
    assert mf.version(read) == 2
    tokens, locations = mf.holds(read)
    assert tokens == {'DEK:1', 'DEK:2', 'DEK:10', 'CEK:100', 'KEK:200', 'FREE:300', 'FREE:301'}
    assert locations == {'HDD00-01', 'HDD00-02', 'HDD00-10'}
    assert mf.check_password(read, mf.Deriver(BACKUP_PASSWORD)) is True


def test_read_without_manifest_is_none(tmp_path):
    (tmp_path / 'k.ekf').write_bytes(CONTENT)
    assert mf.read(str(tmp_path / 'k.ekf')) is None


@pytest.mark.parametrize('text', ['{not json', '[1, 2]', '{"size": 3}', '\xff'])
def test_read_refuses_what_is_not_a_manifest(tmp_path, text):
    path = str(tmp_path / 'k.ekf')
    with open(mf.manifest_path(path), 'wb') as handle:
        handle.write(text.encode('latin-1'))
    with pytest.raises(VspApiError) as info:
        mf.read(path)
    assert mf.manifest_path(path) in info.value.msg


def test_read_refuses_an_oversized_manifest(tmp_path, monkeypatch):
    monkeypatch.setattr(mf, 'MAX_MANIFEST_BYTES', 100)
    path = str(tmp_path / 'k.ekf')
    with open(mf.manifest_path(path), 'w') as handle:
        json.dump({'sha256': 'x', 'pad': 'y' * 200}, handle)
    with pytest.raises(VspApiError, match='larger than 100 bytes'):
        mf.read(path)


def test_format_1_manifest_is_read_but_holds_nothing_known(tmp_path):
    path = write_key_file(tmp_path, 'old.ekf', version=1)
    data = mf.read(path)
    assert mf.version(data) == 1
    assert mf.holds(data) == (None, None)
    assert mf.check_password(data, mf.Deriver(BACKUP_PASSWORD)) is None
    assert mf.salt_of(data) == (None, None)


def test_format_2_without_keys_dict_holds_nothing_known():
    assert mf.holds({'format_version': 2, 'sha256': 'x', 'keys': ['DEK:1']}) == (None, None)


def test_verifier_true_false_none(fast_kdf):
    data = build(mf.Deriver(BACKUP_PASSWORD))
    assert mf.check_password(data, mf.Deriver(BACKUP_PASSWORD)) is True
    assert mf.check_password(data, mf.Deriver(BACKUP_PASSWORD + 'x')) is False
    assert mf.check_password(build(), mf.Deriver(BACKUP_PASSWORD)) is None


def test_verifier_record(fast_kdf):
    salt = b's' * 16
    data = build(mf.Deriver(BACKUP_PASSWORD), salt=salt)
    verifier = data['password_verifier']
    assert verifier['kdf'] == 'pbkdf2-hmac-sha256'
    assert verifier['iterations'] == FAST_ITERATIONS
    assert base64.b64decode(verifier['salt']) == salt
    expected = hashlib.pbkdf2_hmac('sha256', BACKUP_PASSWORD.encode(), salt, FAST_ITERATIONS, dklen=64)[:32]
    assert base64.b64decode(verifier['hash']) == expected
    assert data['mac']['algorithm'] == 'hmac-sha256'
    assert mf.salt_of(data) == (salt, FAST_ITERATIONS)


def test_fresh_salt_each_build_without_a_given_salt(fast_kdf):
    deriver = mf.Deriver(BACKUP_PASSWORD)
    assert build(deriver)['password_verifier']['salt'] != build(deriver)['password_verifier']['salt']


@pytest.mark.parametrize('field, value', [
    ('storage_device_id', '900000099999'),
    ('sha256', '0' * 64),
    ('size', 1),
    ('keys', {'DEK': ['1', '2', '10', '11'], 'CEK': ['100'], 'KEK': ['200'], 'FREE': ['300', '301']}),
    ('dek_locations', {'1': 'HDD00-01', '2': 'HDD00-02', '10': 'HDD00-10', '11': 'HDD00-11'}),
    ('created_utc', '2027-01-01T00:00:00Z'),
])
def test_mac_detects_an_edited_field(fast_kdf, field, value):
    data = build(mf.Deriver(BACKUP_PASSWORD))
    data[field] = value
    with pytest.raises(VspApiError, match='changed after the backup'):
        mf.check_password(data, mf.Deriver(BACKUP_PASSWORD))


def test_mac_removed_is_detected(fast_kdf):
    data = build(mf.Deriver(BACKUP_PASSWORD))
    del data['mac']
    with pytest.raises(VspApiError, match='MAC does not match'):
        mf.check_password(data, mf.Deriver(BACKUP_PASSWORD))


def test_mac_survives_a_json_round_trip_with_other_key_order(fast_kdf):
    data = build(mf.Deriver(BACKUP_PASSWORD))
    reordered = json.loads(json.dumps(dict(reversed(list(data.items())))))
    assert mf.check_password(reordered, mf.Deriver(BACKUP_PASSWORD)) is True


def test_iterations_below_the_minimum_refused(fast_kdf, monkeypatch):
    data = build(mf.Deriver(BACKUP_PASSWORD), iterations=999)
    with pytest.raises(VspApiError, match='fewer than 1000 iterations'):
        mf.check_password(data, mf.Deriver(BACKUP_PASSWORD))


@pytest.mark.parametrize('verifier', [
    {'kdf': 'md5', 'iterations': 1000, 'salt': 'AAAA', 'hash': 'AAAA'},
    {'kdf': 'pbkdf2-hmac-sha256', 'iterations': 'many', 'salt': 'AAAA', 'hash': 'AAAA'},
    {'kdf': 'pbkdf2-hmac-sha256', 'iterations': 1000, 'salt': 'not base64!', 'hash': 'AAAA'},
    {'kdf': 'pbkdf2-hmac-sha256', 'iterations': 1000, 'hash': 'AAAA'},
    'a text',
])
def test_malformed_verifier_refused(fast_kdf, verifier):
    data = build()
    data['password_verifier'] = verifier
    with pytest.raises(VspApiError, match='malformed password verifier'):
        mf.check_password(data, mf.Deriver(BACKUP_PASSWORD), 'm.json')


def test_deriver_caches_by_salt_and_iterations(fast_kdf, derivations):
    calls = derivations
    deriver = mf.Deriver(BACKUP_PASSWORD)
    salt = b'1' * 16
    first = build(deriver, salt=salt)
    second = build(deriver, salt=salt)
    assert mf.check_password(first, deriver) is True
    assert mf.check_password(second, deriver) is True
    assert len(calls) == 1
    build(deriver, salt=b'2' * 16)
    build(deriver, salt=salt, iterations=FAST_ITERATIONS + 1)
    assert len(calls) == 3
    assert deriver(salt, FAST_ITERATIONS) == mf.derive(BACKUP_PASSWORD, salt, FAST_ITERATIONS)  # the derivation itself


def test_nothing_secret_in_the_manifest(fast_kdf):
    salt = b'z' * 16
    text = mf.dumps(build(mf.Deriver(BACKUP_PASSWORD), salt=salt))
    password = BACKUP_PASSWORD.encode()
    assert password not in text
    for encoded in (base64.b64encode(password), password.hex().encode(), hashlib.sha256(password).hexdigest().encode()):
        assert encoded not in text
    # the MAC key (second half of the derivation) is not in it either
    mac_key = mf.derive(BACKUP_PASSWORD, salt, FAST_ITERATIONS)[1]
    assert base64.b64encode(mac_key) not in text and mac_key.hex().encode() not in text
    assert set(json.loads(text)) == {'format_version', 'file', 'sha256', 'size', 'created_utc', 'storage_device_id',
                                     'serial_number', 'model', 'key_counts', 'key_fingerprint', 'keys', 'dek_locations',
                                     'created_by', 'password_verifier', 'mac'}


def test_real_iterations_default_and_minimum():
    """One test at the real cost (600,000 iterations, ~0.35 s): the defaults are what the docs promise."""
    assert mf.KDF_ITERATIONS >= 600000 and mf.MIN_ITERATIONS >= 600000
    data = mf.build('k.ekf', len(CONTENT), SHA, storage=STORAGE, keys_by_type=KEYS, key_fingerprint='fp',
                    deriver=mf.Deriver(BACKUP_PASSWORD), now=when(3))
    assert data['password_verifier']['iterations'] == mf.KDF_ITERATIONS
    assert mf.check_password(data, mf.Deriver(BACKUP_PASSWORD)) is True


def test_real_minimum_refuses_a_cheap_verifier():
    """Without the fast_kdf fixture a verifier of 1,000 iterations (cheap to attack) is refused."""
    data = mf.build('k.ekf', len(CONTENT), SHA, storage=STORAGE, keys_by_type=KEYS, key_fingerprint='fp',
                    deriver=mf.Deriver(BACKUP_PASSWORD), iterations=1000, now=when(3))
    with pytest.raises(VspApiError, match='fewer than 600000 iterations'):
        mf.check_password(data, mf.Deriver(BACKUP_PASSWORD))


def test_manifest_path():
    assert mf.manifest_path(os.path.join('/B', 'K.ekf')) == '/B/K.ekf.manifest.json'


# -- everything read is untrusted input: shape, file type, cost ---------------------------------------
def shaped(**edit):
    data = build(mf.Deriver(BACKUP_PASSWORD))
    data.update(edit)
    return data


@pytest.mark.parametrize('edit, problem', [
    ({'sha256': 'A' * 64}, 'sha256 must be 64 lower-case hex digits'),
    ({'sha256': SHA[:63]}, 'sha256 must be 64 lower-case hex digits'),
    ({'sha256': SHA + '\n'}, 'sha256 must be 64 lower-case hex digits'),
    ({'size': -1}, 'size must be a whole number of bytes'),
    ({'size': '1024'}, 'size must be a whole number of bytes'),
    ({'size': True}, 'size must be a whole number of bytes'),
    ({'size': 1.5}, 'size must be a whole number of bytes'),
    ({'format_version': 3}, 'format_version must be 1 or 2'),
    ({'format_version': True}, 'format_version must be 1 or 2'),
    ({'format_version': '2'}, 'format_version must be 1 or 2'),
    ({'created_utc': 'garbage'}, 'created_utc must be a UTC time such as 2026-12-01T02:00:00Z'),
    ({'created_utc': '2026-12-01 02:00:00'}, 'created_utc must be a UTC time such as 2026-12-01T02:00:00Z'),
    ({'created_utc': 20261201}, 'created_utc must be a UTC time such as 2026-12-01T02:00:00Z'),
    ({'created_utc': None}, 'created_utc must be a UTC time such as 2026-12-01T02:00:00Z'),
    ({'storage_device_id': None}, 'storage_device_id is missing'),
    ({'storage_device_id': ['900000061726']}, 'storage_device_id is missing'),
    ({'key_fingerprint': 7}, 'key_fingerprint must be text'),
    ({'file': ['k.ekf']}, 'file must be text'),
    ({'key_counts': [3]}, 'key_counts must be an object'),
    ({'password_verifier': 'a text'}, 'password_verifier must be an object'),
    ({'mac': 'deadbeef'}, 'mac must be an object'),
    ({'dek_locations': ['HDD00-01']}, 'dek_locations must be an object'),
    ({'keys': ['DEK:1']}, 'keys must be an object of key type to key ids'),
    ({'keys': None}, 'keys must be an object of key type to key ids'),
    ({'keys': {'XYZ': ['1']}}, "keys names an unknown key type 'XYZ'"),
    ({'keys': {'DEK': '1'}}, 'keys.DEK must be a list of key ids'),
    ({'keys': {'DEK': [['1']]}}, 'keys.DEK must be a list of key ids'),
    ({'keys': {'DEK': [True]}}, 'keys.DEK must be a list of key ids'),
    ({'dek_locations': {'1': 7}}, 'dek_locations must map key ids to drive locations'),
])
def test_check_shape_says_what_is_wrong(fast_kdf, edit, problem):
    assert mf.check_shape(shaped(**edit)) == problem


def test_check_shape_takes_what_build_writes_and_a_format_1_manifest(fast_kdf):
    assert mf.check_shape(build()) is None
    assert mf.check_shape(shaped(storage_device_id=900000061726, keys={'DEK': [1, '2']})) is None
    assert mf.check_shape({'sha256': SHA, 'created_utc': '2026-12-01T02:00:00Z', 'storage_device_id': '1'}) is None
    assert mf.check_shape({'sha256': SHA, 'created_utc': '2026-12-01T02:00:00Z', 'storage_device_id': '1',
                           'format_version': 1, 'keys': ['not read in format 1']}) is None


@pytest.mark.parametrize('edit, problem', [
    ({'keys': ['DEK:1']}, 'keys must be an object of key type to key ids'),
    ({'sha256': 'not hex'}, 'sha256 must be 64 lower-case hex digits'),
    ({'created_utc': 'garbage'}, 'created_utc must be a UTC time such as 2026-12-01T02:00:00Z'),
    ({'size': -1}, 'size must be a whole number of bytes'),
    ({'format_version': 3}, 'format_version must be 1 or 2'),
])
def test_read_refuses_a_malformed_manifest_naming_it(tmp_path, fast_kdf, edit, problem):
    path = write_key_file(tmp_path, 'k.ekf', password=BACKUP_PASSWORD)
    data = json.loads(open(mf.manifest_path(path)).read())
    data.update(edit)
    with open(mf.manifest_path(path), 'wb') as handle:
        handle.write(mf.dumps(data))
    with pytest.raises(VspApiError) as info:
        mf.read(path)
    assert info.value.msg == 'The manifest %s is malformed: %s' % (mf.manifest_path(path), problem)


def test_read_refuses_a_manifest_that_is_a_symlink_even_to_a_good_one(tmp_path, fast_kdf):
    good = write_key_file(tmp_path, 'good.ekf', password=BACKUP_PASSWORD)
    path = str(tmp_path / 'k.ekf')
    os.symlink(mf.manifest_path(good), mf.manifest_path(path))
    with pytest.raises(VspApiError) as info:
        mf.read(path)
    assert info.value.msg == 'The manifest %s cannot be read: it is a symbolic link' % mf.manifest_path(path)
    os.unlink(mf.manifest_path(path))
    os.symlink(str(tmp_path / 'nowhere.json'), mf.manifest_path(path))  # a dangling one is there too, and refused
    with pytest.raises(VspApiError, match='it is a symbolic link'):
        mf.read(path)


def test_read_refuses_a_manifest_that_is_a_pipe_or_a_directory_without_hanging(tmp_path):
    path = str(tmp_path / 'k.ekf')
    os.mkfifo(mf.manifest_path(path))
    with pytest.raises(VspApiError) as info:
        without_hanging(mf.read, path, fifos=[mf.manifest_path(path)])
    assert info.value.msg == 'The manifest %s cannot be read: not a regular file' % mf.manifest_path(path)
    os.unlink(mf.manifest_path(path))
    os.mkdir(mf.manifest_path(path))
    with pytest.raises(VspApiError, match='cannot be read: not a regular file$'):
        mf.read(path)


def test_the_cost_limits_are_what_the_docs_say():
    assert mf.MAX_ITERATIONS == 2400000 == 4 * mf.KDF_ITERATIONS
    assert mf.MAX_DERIVATIONS == 16


def test_iterations_above_the_maximum_refused_as_malformed_without_deriving(fast_kdf, derivations):
    data = build(mf.Deriver(BACKUP_PASSWORD))
    data['password_verifier']['iterations'] = mf.MAX_ITERATIONS + 1
    del derivations[:]
    with pytest.raises(VspApiError) as info:
        mf.check_password(data, mf.Deriver(BACKUP_PASSWORD), 'm.json')
    assert info.value.msg == 'm.json has a malformed password verifier (more than 2400000 iterations)'
    assert derivations == []


def test_iterations_at_the_maximum_are_taken(fast_kdf, monkeypatch):
    monkeypatch.setattr(mf, 'MAX_ITERATIONS', FAST_ITERATIONS + 1)  # the boundary, at a cost a unit test can pay
    assert mf.check_password(build(mf.Deriver(BACKUP_PASSWORD), iterations=FAST_ITERATIONS + 1), mf.Deriver(BACKUP_PASSWORD)) is True
    with pytest.raises(VspApiError, match=r'more than %d iterations' % (FAST_ITERATIONS + 1)):
        mf.check_password(build(mf.Deriver(BACKUP_PASSWORD), iterations=FAST_ITERATIONS + 2), mf.Deriver(BACKUP_PASSWORD))


def test_deriver_derives_for_at_most_sixteen_verifiers_a_run(fast_kdf, derivations):
    deriver = mf.Deriver(BACKUP_PASSWORD)
    salts = [bytes([i]) * 16 for i in range(17)]
    for salt in salts[:16]:
        deriver(salt, FAST_ITERATIONS)
    with pytest.raises(mf.TooManyVerifiers) as info:
        deriver(salts[16], FAST_ITERATIONS)
    assert isinstance(info.value, VspApiError)
    assert info.value.msg == 'more than 16 different password verifiers were met in one run; the others are not checked'
    with pytest.raises(mf.TooManyVerifiers):  # other iterations are another verifier
        deriver(salts[0], FAST_ITERATIONS + 1)
    deriver.start(salts[16], FAST_ITERATIONS)  # no background derivation past the limit either
    material = hashlib.pbkdf2_hmac('sha256', BACKUP_PASSWORD.encode(), salts[3], FAST_ITERATIONS, dklen=64)
    assert deriver(salts[3], FAST_ITERATIONS) == (material[:32], material[32:])  # known ones still answer, from the cache
    assert len(derivations) == 16
    # check_password lets the caller know (key_files says the file "was not checked")
    with pytest.raises(mf.TooManyVerifiers):
        mf.check_password(build(mf.Deriver(BACKUP_PASSWORD), salt=salts[16]), deriver)


def test_deriver_limit_can_be_set(fast_kdf):
    deriver = mf.Deriver(BACKUP_PASSWORD, limit=1)
    deriver(b'1' * 16, FAST_ITERATIONS)
    with pytest.raises(mf.TooManyVerifiers, match='more than 1 different'):
        deriver(b'2' * 16, FAST_ITERATIONS)


# -- the format pinned: PBKDF2 split, MAC over the canonical JSON, bytes, read cap, texts ---------------
NOW = datetime.datetime(2026, 11, 29, 10, 15, 0, tzinfo=datetime.timezone.utc)
# key ids of both kinds: numbers (sorted as numbers) and text
MIXED_KEYS = {'DEK': [{'keyId': '10', 'targetDeviceLocation': 'HDD01-00'}, {'keyId': '9', 'targetDeviceLocation': 'HDD01-01'}],
              'CEK': [{'keyId': 'b'}, {'keyId': '2'}, {'keyId': 'a'}]}


def made(password='Backup#Pa55', iterations=1000):
    """A manifest with a fixed salt and time, so its MAC and salt can be computed here independently."""
    return mf.build('k.ekf', 3, 'ab' * 32, storage=STORAGE, keys_by_type=MIXED_KEYS, key_fingerprint='fp',
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
    assert mf.key_ids_by_type(MIXED_KEYS)['DEK'] == ['9', '10']
    assert mf.key_ids_by_type(MIXED_KEYS)['CEK'] == ['2', 'a', 'b']
    assert mf.key_ids_by_type({'CEK': [{'keyId': 'x'}, {'keyId': 1}, {'keyId': '02'}]})['CEK'] == ['1', '02', 'x']


def test_dumps_is_indented_sorted_and_ends_with_a_newline():
    assert mf.dumps({'b': 1, 'a': {'d': 2, 'c': [3]}}) == b'{\n  "a": {\n    "c": [\n      3\n    ],\n    "d": 2\n  },\n  "b": 1\n}\n'


SHAPED_TEXT = '{"created_utc": "2026-12-01T02:00:00Z", "sha256": "%s", "storage_device_id": "1"%s}' % ('0' * 64, '%s')


def test_read_cap_is_exact(tmp_path, monkeypatch):
    text = SHAPED_TEXT % ''
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
        handle.write((SHAPED_TEXT % ', "model": "\u00fc-ü"').encode('utf-8'))
    assert mf.read(path)['model'] == 'ü-ü'
    with open(mf.manifest_path(path), 'wb') as handle:
        handle.write('{"sha256": "ü"}'.encode())
    with pytest.raises(VspApiError) as info:
        mf.read(path)
    assert info.value.msg == 'The manifest %s is malformed: sha256 must be 64 lower-case hex digits' % mf.manifest_path(path)


def test_version_is_the_integer_format_version_else_1():
    assert mf.version({'format_version': 2}) == 2
    assert mf.version({'format_version': 3}) == 3
    assert mf.version({}) == 1
    assert mf.version({'format_version': '2'}) == 1


def test_utc_now_is_aware_utc():
    assert mf.utc_now().utcoffset() == datetime.timedelta(0)


def test_check_password_texts_word_for_word(fast_kdf):
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


# -- the derivation in a thread (Deriver.start) ---------------------------------------------------------
SALT = b'S' * 16


def test_a_started_derivation_is_the_one_the_call_gets(derivations):
    deriver = mf.Deriver(BACKUP_PASSWORD)
    deriver.start(SALT, 1000)
    deriver.start(SALT, 1000)  # under way: not started again
    assert deriver(SALT, 1000) == mf.derive(BACKUP_PASSWORD, SALT, 1000)
    deriver.start(SALT, 1000)  # known: not started again
    assert deriver(SALT, 1000) == mf.derive(BACKUP_PASSWORD, SALT, 1000)
    assert derivations == [(SALT, 1000)] * 3  # the thread's, and the two of this test


def test_a_derivation_that_failed_in_its_thread_is_made_by_the_call(monkeypatch):
    calls = []
    real = mf.derive

    def fails_first(password, salt, iterations):
        calls.append(salt)
        if len(calls) == 1:
            raise MemoryError('in the thread')
        return real(password, salt, iterations)

    monkeypatch.setattr(mf, 'derive', fails_first)
    deriver = mf.Deriver(BACKUP_PASSWORD)
    deriver.start(SALT, 1000)
    assert deriver(SALT, 1000) == real(BACKUP_PASSWORD, SALT, 1000)
    assert calls == [SALT, SALT]


def test_the_derivation_thread_is_a_named_daemon(monkeypatch):
    """A daemon: a module that ends before the derivation is needed does not wait for it."""
    release = threading.Event()
    real = mf.derive

    def held(password, salt, iterations):
        release.wait(30)
        return real(password, salt, iterations)

    monkeypatch.setattr(mf, 'derive', held)
    deriver = mf.Deriver(BACKUP_PASSWORD)
    deriver.start(SALT, 1000)
    try:
        threads = [t for t in threading.enumerate() if t.name == 'vsp-kdf']
        assert len(threads) == 1 and threads[0].daemon is True
    finally:
        release.set()
    assert deriver(SALT, 1000) == real(BACKUP_PASSWORD, SALT, 1000)
