# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import datetime
import errno
import hashlib
import json
import os
import stat

import pytest
from key_file_helpers import without_hanging

from ansible_collections.vsp.encryption.plugins.module_utils import _backup_file as bf
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError


SID = '900000061726'
NOW = datetime.datetime(2026, 11, 29, 10, 15, 0, 123456, tzinfo=datetime.timezone.utc)


def test_backup_file_name():
    assert bf.backup_file_name(SID, NOW) == '900000061726_20261129T101500Z.ekf'
    assert bf.backup_file_name(SID, NOW, 2) == '900000061726_20261129T101500Z_002.ekf'
    assert bf.parse_backup_file_name('/x/' + bf.backup_file_name(SID, NOW, 12)) == (SID, '20261129T101500Z', 12)
    assert bf.parse_backup_file_name(bf.backup_file_name(SID, NOW)) == (SID, '20261129T101500Z', 1)
    assert bf.parse_backup_file_name('other.ekf') is None


def test_backup_file_names_sort_by_time():
    later = NOW + datetime.timedelta(seconds=1)
    names = [bf.backup_file_name(SID, later), bf.backup_file_name(SID, NOW, 10), bf.backup_file_name(SID, NOW, 2),
             bf.backup_file_name(SID, NOW), bf.backup_file_name(SID, NOW, 999)]
    assert sorted(names) == [names[3], names[2], names[1], names[4], names[0]]


@pytest.mark.parametrize('sid', ['../../escape', '*', 'a,b', '', None, '93600041234', '9360004123456', '936000/12345',
                                 '936000412345\n', 'vsp'])
def test_backup_file_name_refuses_a_bad_storage_id(sid):
    with pytest.raises(VspApiError) as info:
        bf.backup_file_name(sid, NOW)
    text = str(info.value)
    assert 'storageDeviceId' in text and '12 digits' in text
    assert '\n' not in text


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


def test_default_cap_is_the_clients():
    from ansible_collections.vsp.encryption.plugins.module_utils import _limits as limits

    assert bf.KEY_FILE_MAX == limits.KEY_FILE_MAX == 16 * 1024 * 1024


def test_cap_stops_the_download_and_removes_the_partial_file(tmp_path):
    dest = tmp_path / 'k.ekf'
    pulled = []

    def endless():
        while True:
            pulled.append(1)
            yield b'x' * 1000

    with pytest.raises(VspApiError) as info:
        bf.write_stream_atomically(endless(), str(dest), cap=10_000)
    assert 'more than the cap of 10000 bytes' in str(info.value) and str(dest) in str(info.value)
    assert len(pulled) == 11  # stopped at the chunk that went past the cap
    assert os.listdir(str(tmp_path)) == []


def test_cap_message_names_key_file_max(tmp_path):
    with pytest.raises(VspApiError) as info:
        bf.write_new_backup_file(iter([b'x'] * 3), str(tmp_path), SID, cap=2 * 1024 * 1024, expected_size=5 * 1024 * 1024)
    assert '2 MiB (2097152 bytes, KEY_FILE_MAX)' in str(info.value)
    assert os.listdir(str(tmp_path)) == []


def test_cap_exact_size_is_accepted(tmp_path):
    size, _sha = bf.write_stream_atomically([b'a' * 600, b'b' * 400], str(tmp_path / 'k.ekf'), cap=1000)
    assert size == 1000


class FakeResponse(object):
    def __init__(self, chunks, length=None):
        self.chunks = chunks
        self.headers = {} if length is None else {'Content-Length': str(length)}
        self.closed = False

    def iter_content(self, chunk_size=1):
        return iter(self.chunks)

    def close(self):
        self.closed = True


def test_download_response_is_capped(tmp_path):
    resp = FakeResponse(b'y' * 1024 for dummy in range(100))
    with pytest.raises(VspApiError):
        bf.download_response(resp, str(tmp_path / 'k.ekf'), cap=50 * 1024)
    assert resp.closed and os.listdir(str(tmp_path)) == []


def test_announced_size_over_the_cap_refused_before_reading(tmp_path):
    resp = FakeResponse(iter(()), length=bf.KEY_FILE_MAX + 1)
    with pytest.raises(VspApiError) as info:
        bf.download_new_backup_file(resp, str(tmp_path), SID)
    assert 'announced a key file of %d bytes' % (bf.KEY_FILE_MAX + 1) in str(info.value)
    assert resp.closed and os.listdir(str(tmp_path)) == []


# -- unique names -----------------------------------------------------------------------------------------------------
def test_new_backup_files_in_the_same_second_never_overwrite(tmp_path):
    made = [bf.write_new_backup_file([b'key-%d' % i], str(tmp_path), SID, now=NOW) for i in range(4)]
    names = [os.path.basename(p) for p, _s, _h in made]
    assert names == ['900000061726_20261129T101500Z.ekf', '900000061726_20261129T101500Z_002.ekf',
                     '900000061726_20261129T101500Z_003.ekf', '900000061726_20261129T101500Z_004.ekf']
    for i, (path, size, sha) in enumerate(made):
        data = open(path, 'rb').read()
        assert data == b'key-%d' % i and size == len(data) and sha == hashlib.sha256(data).hexdigest()
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(os.listdir(str(tmp_path))) == sorted(names)  # no temp file left


def test_new_backup_file_skips_a_name_whose_manifest_exists(tmp_path):
    orphan = tmp_path / (bf.backup_file_name(SID, NOW) + '.manifest.json')
    orphan.write_text('{}')
    path, _size, _sha = bf.write_new_backup_file([b'k'], str(tmp_path), SID, now=NOW, mode=0o640)
    assert os.path.basename(path) == bf.backup_file_name(SID, NOW, 2)
    assert orphan.read_text() == '{}'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_new_backup_file_without_hard_links(tmp_path, monkeypatch):
    def no_link(src, dst):
        raise PermissionError(1, 'Operation not permitted')

    monkeypatch.setattr(bf.os, 'link', no_link)
    first = bf.write_new_backup_file([b'one'], str(tmp_path), SID, now=NOW)[0]
    second = bf.write_new_backup_file([b'two'], str(tmp_path), SID, now=NOW)[0]
    assert (open(first, 'rb').read(), open(second, 'rb').read()) == (b'one', b'two')
    assert len(os.listdir(str(tmp_path))) == 2


def test_new_backup_file_refuses_a_bad_id_before_writing(tmp_path):
    pulled = []

    def chunks():
        pulled.append(1)
        yield b'k'

    backups = tmp_path / 'a' / 'b'
    backups.mkdir(parents=True)
    with pytest.raises(VspApiError) as info:
        bf.write_new_backup_file(chunks(), str(backups), '../../escape', now=NOW)
    assert 'storageDeviceId' in str(info.value)
    assert pulled == []
    assert [(os.path.relpath(base, str(tmp_path)), files) for base, _dirs, files in os.walk(str(tmp_path))] == [
        ('.', []), ('a', []), ('a/b', [])]  # nothing written anywhere


def test_new_backup_file_no_free_name(tmp_path, monkeypatch):
    monkeypatch.setattr(bf, 'NAME_COUNTER_MAX', 2)
    bf.write_new_backup_file([b'1'], str(tmp_path), SID, now=NOW)
    bf.write_new_backup_file([b'2'], str(tmp_path), SID, now=NOW)
    with pytest.raises(VspApiError) as info:
        bf.write_new_backup_file([b'3'], str(tmp_path), SID, now=NOW)
    assert 'No free file name' in str(info.value)
    assert len(os.listdir(str(tmp_path))) == 2


# -- full disk --------------------------------------------------------------------------------------------------------
def _full_disk_after(monkeypatch, n_bytes):
    real_write = os.write
    state = {'left': n_bytes}

    def write(fd, data):
        if state['left'] <= 0:
            raise OSError(28, 'No space left on device')
        data = bytes(data)[:state['left']]
        state['left'] -= len(data)
        return real_write(fd, data)

    monkeypatch.setattr(bf.os, 'write', write)


def test_full_disk_while_writing_the_key_file(tmp_path, monkeypatch):
    _full_disk_after(monkeypatch, 5)
    with pytest.raises(VspApiError) as info:
        bf.write_new_backup_file([b'0123456789'], str(tmp_path), SID, now=NOW)
    assert 'No space left on device' in str(info.value) and 'no file was written' in str(info.value)
    assert os.listdir(str(tmp_path)) == []


def test_manifest_written(tmp_path):
    key = bf.write_new_backup_file([b'key'], str(tmp_path), SID, now=NOW)[0]
    bf.write_manifest_or_remove(key, {'sha256': 'x'})
    assert json.loads(open(bf.manifest_path(key)).read()) == {'sha256': 'x'}
    bf.write_manifest_or_remove(key, b'{"sha256": "y"}\n')
    assert json.loads(open(bf.manifest_path(key)).read()) == {'sha256': 'y'}
    assert stat.S_IMODE(os.stat(bf.manifest_path(key)).st_mode) == 0o600


def test_full_disk_while_writing_the_manifest_removes_the_key_file(tmp_path, monkeypatch):
    key = bf.write_new_backup_file([b'key'], str(tmp_path), SID, now=NOW)[0]
    _full_disk_after(monkeypatch, 0)
    with pytest.raises(VspApiError) as info:
        bf.write_manifest_or_remove(key, {'sha256': 'x'})
    text = str(info.value)
    assert bf.manifest_path(key) in text and key + ' was removed' in text and 'No space left on device' in text
    assert info.value.details == {'changed': True}
    assert os.listdir(str(tmp_path)) == []  # no key file without manifest, no temp file


def test_manifest_failure_and_key_file_cannot_be_removed(tmp_path, monkeypatch):
    key = bf.write_new_backup_file([b'key'], str(tmp_path), SID, now=NOW)[0]
    _full_disk_after(monkeypatch, 0)
    real_unlink = os.unlink

    def unlink(path):
        if path == key:
            raise PermissionError(13, 'Permission denied')
        return real_unlink(path)

    monkeypatch.setattr(bf.os, 'unlink', unlink)
    with pytest.raises(VspApiError) as info:
        bf.write_manifest_or_remove(key, {'sha256': 'x'})
    assert 'could not be removed (Permission denied) and has no manifest: delete it' in str(info.value)
    assert info.value.details == {'changed': True}
    assert os.listdir(str(tmp_path)) == [os.path.basename(key)]


# -- read once --------------------------------------------------------------------------------------------------------
def test_read_key_file_once(tmp_path):
    path = tmp_path / 'k.ekf'
    data = os.urandom(200_000)
    path.write_bytes(data)
    got, sha, size = bf.read_key_file_once(str(path))
    assert got == data and sha == hashlib.sha256(data).hexdigest() and size == len(data)


def test_read_key_file_once_hashes_what_it_returns(tmp_path, monkeypatch):
    """The file is swapped after the read: the bytes returned (to upload) are still the ones hashed."""
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'original')
    got, sha, _size = bf.read_key_file_once(str(path))
    path.write_bytes(b'swapped!')
    assert got == b'original' and sha == hashlib.sha256(b'original').hexdigest()


def test_read_key_file_once_cap(tmp_path):
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'x' * 1001)
    with pytest.raises(VspApiError) as info:
        bf.read_key_file_once(str(path), cap=1000)
    assert 'larger (1001 bytes) than the cap of 1000 bytes' in str(info.value)


@pytest.mark.parametrize('what', ['missing', 'directory'])
def test_read_key_file_once_refuses(tmp_path, what):
    path = tmp_path / 'k.ekf'
    if what == 'directory':
        path.mkdir()
    with pytest.raises(VspApiError) as info:
        bf.read_key_file_once(str(path))
    assert str(path) in str(info.value)


def test_exclusive_write_never_replaces(tmp_path):
    dest = tmp_path / 'k.ekf'
    assert bf.write_stream_atomically([b'new'], str(dest), exclusive=True)[0] == 3
    with pytest.raises(VspApiError) as info:
        bf.write_stream_atomically([b'other'], str(dest), exclusive=True)
    assert 'left alone' in str(info.value)
    assert dest.read_bytes() == b'new' and os.listdir(str(tmp_path)) == ['k.ekf']


def test_download_response_exclusive(tmp_path):
    dest = tmp_path / 'k.ekf'
    dest.write_bytes(b'old')
    resp = FakeResponse([b'abc'], length=3)
    with pytest.raises(VspApiError):
        bf.download_response(resp, str(dest), exclusive=True)
    assert resp.closed and dest.read_bytes() == b'old' and os.listdir(str(tmp_path)) == ['k.ekf']


# -- sha256_file: regular files only, never past a cap ------------------------------------------------------------------
def test_sha256_file_of_a_regular_file(tmp_path):
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'key bytes')
    assert bf.sha256_file(str(path)) == (hashlib.sha256(b'key bytes').hexdigest(), 9)
    assert bf.sha256_file(str(path), cap=9, follow=False) == (hashlib.sha256(b'key bytes').hexdigest(), 9)


def test_sha256_file_past_the_cap_raises_efbig(tmp_path, monkeypatch):
    monkeypatch.setattr(bf, 'CHUNK_SIZE', 4)
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'0123456789')
    with pytest.raises(OSError) as info:
        bf.sha256_file(str(path), cap=9)
    assert info.value.errno == errno.EFBIG and info.value.strerror == 'larger than the cap of 9 bytes'
    assert bf.sha256_file(str(path), cap=10)[1] == 10
    assert bf._size_text(16 * 1024 * 1024) == '16 MiB (16777216 bytes, KEY_FILE_MAX)'


def test_sha256_file_refuses_a_pipe_without_hanging_and_a_directory(tmp_path):
    pipe = str(tmp_path / 'pipe.ekf')
    os.mkfifo(pipe)
    with pytest.raises(OSError) as info:
        without_hanging(bf.sha256_file, pipe, fifos=[pipe])
    assert info.value.strerror == 'not a regular file'
    with pytest.raises(OSError, match='not a regular file'):
        bf.sha256_file(str(tmp_path))


def test_sha256_file_follows_a_symlink_only_when_asked(tmp_path):
    target = tmp_path / 'k.ekf'
    target.write_bytes(b'key bytes')
    link = str(tmp_path / 'link.ekf')
    os.symlink(str(target), link)
    assert bf.sha256_file(link) == bf.sha256_file(str(target))
    with pytest.raises(OSError) as info:
        bf.sha256_file(link, follow=False)
    assert info.value.errno == errno.ELOOP


def test_read_key_file_once_refuses_a_pipe_without_hanging(tmp_path):
    pipe = str(tmp_path / 'k.ekf')
    os.mkfifo(pipe)
    with pytest.raises(VspApiError) as info:
        without_hanging(bf.read_key_file_once, pipe, fifos=[pipe])
    assert pipe in info.value.msg
