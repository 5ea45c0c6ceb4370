# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""plugins/module_utils/_backup_file.py: key file names, atomic writes, caps, downloads, manifests, reads.

The error texts are checked word for word: they are what the operator reads (they name the parameter,
the file and the rule), so a changed word is a changed contract."""

import datetime
import errno
import hashlib
import json
import os
import re
import stat

import pytest
from key_file_helpers import without_hanging

from ansible_collections.vsp.encryption.plugins.module_utils import _backup_file as bf
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError


SID = '900000061726'
NOW = datetime.datetime(2026, 11, 29, 10, 15, 0, 123456, tzinfo=datetime.timezone.utc)
PART_FILE = r'\.%s\.[a-z0-9_]{8}\.part'  # the temp file of tempfile.mkstemp: hidden, named after the file it becomes


def msg(call, *args, **kwargs):
    """The message of the VspApiError that ``call(*args, **kwargs)`` raises."""
    with pytest.raises(VspApiError) as info:
        call(*args, **kwargs)
    return info.value.msg


class FakeResponse(object):
    """A streamed answer: its chunks, a Content-Length when given; records the chunk size asked for and the close."""

    def __init__(self, chunks, length=None):
        self.chunks = chunks
        self.headers = {} if length is None else {'Content-Length': str(length)}
        self.chunk_size = 'unset'
        self.closed = False

    def iter_content(self, chunk_size):
        self.chunk_size = chunk_size
        return iter(self.chunks)

    def close(self):
        self.closed = True


# -- names --------------------------------------------------------------------------------------------------------------
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


def test_a_bad_storage_id_refusal_names_storage_device_id():
    assert 'storageDeviceId' in msg(bf.backup_file_name, '12x')


def test_utc_now_is_aware_utc():
    assert bf.utc_now().utcoffset() == datetime.timedelta(0)


# -- writing a stream atomically ----------------------------------------------------------------------------------------
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


def test_stream_is_written_as_a_hidden_part_file_named_after_the_destination(tmp_path):
    seen = []

    def chunks():
        seen.extend(os.listdir(str(tmp_path)))
        yield b'abc'

    bf.write_stream_atomically(chunks(), str(tmp_path / 'k.ekf'))
    assert len(seen) == 1 and re.fullmatch(PART_FILE % re.escape('k.ekf'), seen[0]), seen


def test_stream_default_mode_is_0600(tmp_path):
    dest = str(tmp_path / 'k.ekf')
    bf.write_stream_atomically([b'abc'], dest)
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600


def test_empty_chunks_are_skipped_and_sizes_add_up(tmp_path):
    dest = str(tmp_path / 'k.ekf')
    assert bf.write_stream_atomically([b'ab', b'', b'cd', b'e'], dest, expected_size=5, cap=5)[0] == 5
    assert open(dest, 'rb').read() == b'abcde'


def test_write_all_writes_the_rest_after_a_short_write(monkeypatch):
    calls = []

    def short_write(fd, data):
        calls.append(bytes(data))
        if len(calls) > 10:
            raise AssertionError('os.write called again and again')
        return min(3, len(data))
    monkeypatch.setattr(os, 'write', short_write)
    bf._write_all(7, b'abcdefgh')
    assert calls == [b'abcdefgh', b'defgh', b'gh']


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


def test_incomplete_and_empty_downloads_refused_word_for_word(tmp_path):
    dest = str(tmp_path / 'k.ekf')
    assert msg(bf.write_stream_atomically, [b'abc'], dest, expected_size=5) == (
        'The download of %s was incomplete (3 of 5 bytes, Content-Length); no file was written' % dest)
    assert msg(bf.write_stream_atomically, [b''], dest) == 'The array sent an empty key file; no file was written to %s' % dest
    assert os.listdir(tmp_path) == []


def test_broken_stream_refused_word_for_word(tmp_path):
    dest = str(tmp_path / 'k.ekf')

    def chunks():
        yield b'abc'
        raise ConnectionError('reset by peer')
    assert msg(bf.write_stream_atomically, chunks(), dest) == (
        'Writing %s failed, no file was written: ConnectionError: reset by peer' % dest)


def test_replace_failure_refused_word_for_word(tmp_path, monkeypatch):
    dest = str(tmp_path / 'k.ekf')

    def fail(src, dst):
        raise OSError(13, 'Permission denied')
    monkeypatch.setattr(os, 'replace', fail)
    assert msg(bf.write_stream_atomically, [b'abc'], dest) == 'Writing %s failed, no file was written: Permission denied' % dest

    def fail_bare(src, dst):
        raise OSError()
    monkeypatch.setattr(os, 'replace', fail_bare)
    assert msg(bf.write_stream_atomically, [b'abc'], dest) == 'Writing %s failed, no file was written: OSError' % dest
    assert os.listdir(tmp_path) == []


def test_exclusive_write_never_replaces(tmp_path):
    dest = tmp_path / 'k.ekf'
    assert bf.write_stream_atomically([b'new'], str(dest), exclusive=True)[0] == 3
    with pytest.raises(VspApiError) as info:
        bf.write_stream_atomically([b'other'], str(dest), exclusive=True)
    assert 'left alone' in str(info.value)
    assert dest.read_bytes() == b'new' and os.listdir(str(tmp_path)) == ['k.ekf']


def test_exclusive_write_refusal_word_for_word(tmp_path):
    dest = tmp_path / 'k.ekf'
    dest.write_bytes(b'old')
    assert msg(bf.write_stream_atomically, [b'abc'], str(dest), exclusive=True) == (
        '%s appeared while the key file was downloaded; it was left alone and no file was written' % dest)


# -- caps ---------------------------------------------------------------------------------------------------------------
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


def test_stream_past_the_cap_refused_word_for_word(tmp_path):
    dest = str(tmp_path / 'k.ekf')
    text = msg(bf.write_stream_atomically, [b'x' * 6, b'', b'x' * 5], dest, cap=10)
    assert text == ('The array sent more than the cap of 10 bytes for the key file (a real one is a few KiB): '
                    'the download was stopped and nothing was written to %s' % dest)
    assert os.listdir(tmp_path) == []


def test_cap_message_names_key_file_max(tmp_path):
    with pytest.raises(VspApiError) as info:
        bf.write_new_backup_file(iter([b'x'] * 3), str(tmp_path), SID, cap=2 * 1024 * 1024, expected_size=5 * 1024 * 1024)
    assert '2 MiB (2097152 bytes, KEY_FILE_MAX)' in str(info.value)
    assert os.listdir(str(tmp_path)) == []


def test_size_text_names_key_file_max_for_whole_mib():
    assert bf._size_text(3 * 1024 * 1024) == '3 MiB (3145728 bytes, KEY_FILE_MAX)'
    assert bf._size_text(1000) == '1000 bytes'


def test_cap_exact_size_is_accepted(tmp_path):
    size, _sha = bf.write_stream_atomically([b'a' * 600, b'b' * 400], str(tmp_path / 'k.ekf'), cap=1000)
    assert size == 1000


def test_announced_size_at_the_cap_accepted_past_it_refused_word_for_word(tmp_path):
    dest = str(tmp_path / 'k.ekf')
    assert bf.write_stream_atomically([b'x' * 10], dest, expected_size=10, cap=10) == (10, bf.hashlib.sha256(b'x' * 10).hexdigest())
    text = msg(bf.write_stream_atomically, [b'x' * 11], dest, expected_size=11, cap=10)
    assert text == ('The array announced a key file of 11 bytes, more than the cap of 10 bytes (a real one is a few KiB); '
                    'nothing was written to %s' % dest)


# -- downloads ----------------------------------------------------------------------------------------------------------
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


def test_download_response_passes_chunk_size_length_cap_and_mode(tmp_path):
    dest = str(tmp_path / 'k.ekf')
    response = FakeResponse([b'abc'], length=3)
    assert bf.download_response(response, dest, mode=0o640)[0] == 3
    assert response.chunk_size == bf.CHUNK_SIZE and response.closed
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o640
    response = FakeResponse([b'abc'], length=5)
    assert 'was incomplete (3 of 5 bytes' in msg(bf.download_response, response, dest)
    response = FakeResponse([b'abcdef'])
    assert 'the cap of 4 bytes' in msg(bf.download_response, response, str(tmp_path / 'j.ekf'), cap=4)
    bf.download_response(FakeResponse([b'abc']), str(tmp_path / 'd.ekf'))
    assert stat.S_IMODE(os.stat(str(tmp_path / 'd.ekf')).st_mode) == 0o600


def test_download_response_exclusive(tmp_path):
    dest = tmp_path / 'k.ekf'
    dest.write_bytes(b'old')
    resp = FakeResponse([b'abc'], length=3)
    with pytest.raises(VspApiError):
        bf.download_response(resp, str(dest), exclusive=True)
    assert resp.closed and dest.read_bytes() == b'old' and os.listdir(str(tmp_path)) == ['k.ekf']


def test_download_response_exclusive_names_the_file_that_appeared(tmp_path):
    dest = tmp_path / 'k.ekf'
    dest.write_bytes(b'old')
    assert 'appeared while' in msg(bf.download_response, FakeResponse([b'abc']), str(dest), exclusive=True)
    assert dest.read_bytes() == b'old'


def test_download_new_backup_file_passes_chunk_size_length_cap_mode_and_time(tmp_path):
    response = FakeResponse([b'abc'], length=3)
    path, size, dummy_sha = bf.download_new_backup_file(response, str(tmp_path), SID, mode=0o640, now=NOW)
    assert os.path.basename(path) == '%s_20261129T101500Z.ekf' % SID
    assert size == 3 and response.chunk_size == bf.CHUNK_SIZE and response.closed
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert 'incomplete (3 of 4 bytes' in msg(bf.download_new_backup_file, FakeResponse([b'abc'], length=4), str(tmp_path), SID, now=NOW)
    assert 'the cap of 2 bytes' in msg(bf.download_new_backup_file, FakeResponse([b'abc']), str(tmp_path), SID, now=NOW, cap=2)
    path, dummy_size, dummy_sha = bf.download_new_backup_file(FakeResponse([b'abc']), str(tmp_path), SID, now=NOW)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_content_length_is_an_int_or_none():
    assert bf._content_length(FakeResponse([], length=12)) == 12
    assert bf._content_length(FakeResponse([])) is None
    response = FakeResponse([])
    response.headers = {'Content-Length': 'many'}
    assert bf._content_length(response) is None


# -- unique names -------------------------------------------------------------------------------------------------------
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


def test_new_backup_file_named_by_the_time_given_and_mode(tmp_path):
    path, size, dummy_sha = bf.write_new_backup_file([b'key'], str(tmp_path), SID, now=NOW, mode=0o640)
    assert path == str(tmp_path / ('%s_20261129T101500Z.ekf' % SID))
    assert size == 3
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert os.listdir(tmp_path) == [os.path.basename(path)]


def test_new_backup_file_default_mode_is_0600(tmp_path):
    path, dummy_size, dummy_sha = bf.write_new_backup_file([b'key'], str(tmp_path), SID, now=NOW)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_new_backup_file_is_written_as_a_hidden_part_file_in_the_target_directory(tmp_path):
    seen = []

    def chunks():
        seen.extend(os.listdir(str(tmp_path)))
        yield b'key'

    bf.write_new_backup_file(chunks(), str(tmp_path), SID, now=NOW)
    assert len(seen) == 1 and re.fullmatch(PART_FILE % re.escape('%s_20261129T101500Z.ekf' % SID), seen[0]), seen


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


def test_new_backup_file_without_hard_links_keeps_the_mode(tmp_path, monkeypatch):
    def no_link(src, dst):
        raise OSError(1, 'Operation not permitted')
    monkeypatch.setattr(os, 'link', no_link)
    seen = []
    real_open = os.open

    def spy_open(path, flags, *args):
        seen.append(args)
        return real_open(path, flags, *args)
    monkeypatch.setattr(os, 'open', spy_open)
    path, dummy_size, dummy_sha = bf.write_new_backup_file([b'key'], str(tmp_path), SID, now=NOW)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert (0o600,) in seen


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


def test_no_free_name_refusal_word_for_word_leaves_the_files(tmp_path, monkeypatch):
    monkeypatch.setattr(bf, 'NAME_COUNTER_MAX', 2)
    for counter in (1, 2):
        (tmp_path / bf.backup_file_name(SID, NOW, counter)).write_bytes(b'x')
    text = msg(bf.write_new_backup_file, [b'key'], str(tmp_path), SID, now=NOW)
    assert text == 'No free file name for a new key file in %s: 2 files of %s_20261129T101500Z.ekf already exist' % (tmp_path, SID)
    assert sorted(os.listdir(tmp_path)) == sorted(bf.backup_file_name(SID, NOW, c) for c in (1, 2))


def test_new_backup_file_os_error_says_no_file_was_written(tmp_path, monkeypatch):
    def fail(*args):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(bf, '_place_new', fail)
    text = msg(bf.write_new_backup_file, [b'key'], str(tmp_path), SID, now=NOW)
    assert text == 'Writing the key file in %s failed, no file was written: No space left on device' % tmp_path
    assert os.listdir(tmp_path) == []

    def fail_bare(*args):
        raise OSError()
    monkeypatch.setattr(bf, '_place_new', fail_bare)
    assert msg(bf.write_new_backup_file, [b'key'], str(tmp_path), SID, now=NOW).endswith('no file was written: OSError')


def test_new_backup_file_errors_name_the_file_it_would_write(tmp_path):
    dest = str(tmp_path / ('%s_20261129T101500Z.ekf' % SID))
    assert msg(bf.write_new_backup_file, [b''], str(tmp_path), SID, now=NOW) == (
        'The array sent an empty key file; no file was written to %s' % dest)


# -- full disk, and the manifest next to the key file -------------------------------------------------------------------
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


def test_manifest_written_with_mode(tmp_path):
    key = tmp_path / 'k.ekf'
    key.write_bytes(b'key')
    bf.write_manifest_or_remove(str(key), {'a': 1}, mode=0o640)
    assert stat.S_IMODE(os.stat(bf.manifest_path(str(key))).st_mode) == 0o640
    assert json.loads(open(bf.manifest_path(str(key))).read()) == {'a': 1}


def test_json_written_pretty_sorted_with_mode(tmp_path):
    path = str(tmp_path / 'm.json')
    bf.write_json_atomically(path, {'b': 1, 'a': [1]})
    assert open(path).read() == '{\n  "a": [\n    1\n  ],\n  "b": 1\n}\n'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    bf.write_json_atomically(path, {'a': 1}, mode=0o640)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    bf.write_json_atomically(path, b'raw')
    assert open(path, 'rb').read() == b'raw'


def test_full_disk_while_writing_the_manifest_removes_the_key_file(tmp_path, monkeypatch):
    key = bf.write_new_backup_file([b'key'], str(tmp_path), SID, now=NOW)[0]
    _full_disk_after(monkeypatch, 0)
    with pytest.raises(VspApiError) as info:
        bf.write_manifest_or_remove(key, {'sha256': 'x'})
    text = str(info.value)
    assert bf.manifest_path(key) in text and key + ' was removed' in text and 'No space left on device' in text
    assert info.value.details == {'changed': True}
    assert os.listdir(str(tmp_path)) == []  # no key file without manifest, no temp file


def test_manifest_failure_removes_the_key_file_word_for_word(tmp_path, monkeypatch):
    key = tmp_path / 'k.ekf'
    key.write_bytes(b'key')
    mpath = bf.manifest_path(str(key))

    def full(*args, **kwargs):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(bf, 'write_json_atomically', full)
    with pytest.raises(VspApiError) as info:
        bf.write_manifest_or_remove(str(key), {'a': 1})
    assert info.value.msg == ('Writing the manifest %s failed (No space left on device); the key file %s was removed '
                              '(a key file without its manifest cannot be checked). The array made the backup; run the '
                              'backup again.' % (mpath, key))
    assert info.value.details == {'changed': True}
    assert not key.exists()
    with pytest.raises(VspApiError) as info:
        bf.write_manifest_or_remove(str(key), {'a': 1})
    assert info.value.msg == ('Writing the manifest %s failed (No space left on device); the key file %s does not exist. '
                              'The array made the backup; run the backup again.' % (mpath, key))

    def bare(*args, **kwargs):
        raise OSError()
    monkeypatch.setattr(bf, 'write_json_atomically', bare)
    assert msg(bf.write_manifest_or_remove, str(key), {'a': 1}).startswith('Writing the manifest %s failed (OSError);' % mpath)

    def api(*args, **kwargs):
        raise VspApiError('disk said no')
    monkeypatch.setattr(bf, 'write_json_atomically', api)
    assert msg(bf.write_manifest_or_remove, str(key), {'a': 1}).startswith('Writing the manifest %s failed (disk said no);' % mpath)


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


def test_manifest_failure_key_file_not_removable_word_for_word(tmp_path, monkeypatch):
    key = tmp_path / 'k.ekf'
    key.write_bytes(b'key')

    def full(*args, **kwargs):
        raise OSError(28, 'No space left on device')

    def no_unlink(path):
        raise OSError(13, 'Permission denied')
    monkeypatch.setattr(bf, 'write_json_atomically', full)
    monkeypatch.setattr(os, 'unlink', no_unlink)
    assert msg(bf.write_manifest_or_remove, str(key), {'a': 1}) == (
        'Writing the manifest %s failed (No space left on device); the key file %s could not be removed (Permission denied) '
        'and has no manifest: delete it. The array made the backup; run the backup again.' % (bf.manifest_path(str(key)), key))

    def no_unlink_bare(path):
        raise OSError()
    monkeypatch.setattr(os, 'unlink', no_unlink_bare)
    assert 'could not be removed (OSError)' in msg(bf.write_manifest_or_remove, str(key), {'a': 1})


# -- read once ----------------------------------------------------------------------------------------------------------
def test_read_key_file_once(tmp_path):
    path = tmp_path / 'k.ekf'
    data = os.urandom(200_000)
    path.write_bytes(data)
    got, sha, size = bf.read_key_file_once(str(path))
    assert got == data and sha == hashlib.sha256(data).hexdigest() and size == len(data)


def test_read_key_file_once_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(bf, 'CHUNK_SIZE', 4)
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'0123456789')
    data, sha256, size = bf.read_key_file_once(str(path), cap=10)
    assert (data, size) == (b'0123456789', 10)
    assert sha256 == bf.hashlib.sha256(b'0123456789').hexdigest()


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


def test_read_key_file_once_refusals_word_for_word_cap_exact(tmp_path):
    missing = str(tmp_path / 'missing.ekf')
    assert msg(bf.read_key_file_once, missing) == 'The key file %s cannot be read: No such file or directory' % missing
    assert msg(bf.read_key_file_once, str(tmp_path)) == 'The key file %s is not a regular file' % tmp_path
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'x' * 11)
    assert msg(bf.read_key_file_once, str(path), cap=10) == (
        'The key file %s is larger (11 bytes) than the cap of 10 bytes (a real one is a few KiB); nothing was sent' % path)
    path.write_bytes(b'x' * 10)
    assert bf.read_key_file_once(str(path), cap=10)[2] == 10


def test_read_key_file_once_refuses_a_file_that_grew_past_the_cap_while_read(tmp_path, monkeypatch):
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'0123456789')
    monkeypatch.setattr(bf, 'CHUNK_SIZE', 4)
    real_read = os.read
    grew = []

    def grown(fd, n):
        if len(grew) < 3:  # the file grows by 4 bytes at each of the first three reads: 22 bytes in all
            grew.append(n)
            with open(str(path), 'ab') as handle:
                handle.write(b'more')
        return real_read(fd, n)
    monkeypatch.setattr(os, 'read', grown)
    assert msg(bf.read_key_file_once, str(path), cap=10) == (
        'The key file %s grew past the cap of 10 bytes while it was read; nothing was sent' % path)


@pytest.mark.parametrize('what', ['missing', 'directory'])
def test_read_key_file_once_refuses(tmp_path, what):
    path = tmp_path / 'k.ekf'
    if what == 'directory':
        path.mkdir()
    with pytest.raises(VspApiError) as info:
        bf.read_key_file_once(str(path))
    assert str(path) in str(info.value)


def test_read_key_file_once_refuses_a_pipe_without_hanging(tmp_path):
    pipe = str(tmp_path / 'k.ekf')
    os.mkfifo(pipe)
    with pytest.raises(VspApiError) as info:
        without_hanging(bf.read_key_file_once, pipe, fifos=[pipe])
    assert pipe in info.value.msg


def test_read_key_file_once_read_error_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'abc')

    def fail(fd, n):
        raise OSError(5, 'Input/output error')
    monkeypatch.setattr(os, 'read', fail)
    assert msg(bf.read_key_file_once, str(path)) == 'The key file %s cannot be read: Input/output error' % path

    def fail_bare(fd, n):
        raise OSError()
    monkeypatch.setattr(os, 'read', fail_bare)
    assert msg(bf.read_key_file_once, str(path)) == 'The key file %s cannot be read: OSError' % path


def test_read_key_file_once_open_error_without_strerror(tmp_path, monkeypatch):
    def fail(path, flags):
        raise OSError()
    monkeypatch.setattr(os, 'open', fail)
    assert msg(bf.read_key_file_once, str(tmp_path / 'k')) == 'The key file %s cannot be read: OSError' % (tmp_path / 'k')


# -- sha256_file: regular files only, never past a cap ------------------------------------------------------------------
def test_sha256_file_of_a_regular_file(tmp_path):
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'key bytes')
    assert bf.sha256_file(str(path)) == (hashlib.sha256(b'key bytes').hexdigest(), 9)
    assert bf.sha256_file(str(path), cap=9, follow=False) == (hashlib.sha256(b'key bytes').hexdigest(), 9)


def test_sha256_file_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(bf, 'CHUNK_SIZE', 3)
    path = tmp_path / 'k.ekf'
    path.write_bytes(b'0123456789')
    assert bf.sha256_file(str(path)) == (bf.hashlib.sha256(b'0123456789').hexdigest(), 10)


class _Handle(object):
    """A file handle that fails a test reading on and on past the end (instead of hanging it)."""

    def __init__(self, data):
        self.data = data
        self.reads_at_end = 0

    def read(self, size):
        part, self.data = self.data[:size], self.data[size:]
        if not part:
            self.reads_at_end += 1
            if self.reads_at_end > 3:
                raise AssertionError('read on past the end of the file')
        return part

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _Os(object):
    """backup_file's view of ``os`` with ``fdopen`` giving ``handle``: the rest is the real module."""

    def __init__(self, handle):
        self.handle = handle

    def fdopen(self, fd, mode):
        return self.handle

    def __getattr__(self, name):
        return getattr(os, name)


def test_sha256_file_stops_at_the_end(monkeypatch):
    monkeypatch.setattr(bf, 'CHUNK_SIZE', 4)
    handle = _Handle(b'0123456789')
    opened = []
    monkeypatch.setattr(bf, 'mf_open_regular', lambda path, follow=True: opened.append((path, follow)) or -1)
    monkeypatch.setattr(bf, 'os', _Os(handle))
    assert bf.sha256_file('/k.ekf') == (bf.hashlib.sha256(b'0123456789').hexdigest(), 10)
    assert handle.reads_at_end == 1
    assert opened == [('/k.ekf', True)]


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


# -- the backup directory: ensure_directory; the check of a written file -----------------------------------------------------------------------------
def test_ensure_directory_creates_by_default(tmp_path):
    path = str(tmp_path / 'a' / 'b')
    assert bf.ensure_directory(path, 0o700) == {'path': path, 'created': True, 'mode_changed': False}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700


def test_ensure_directory_is_never_more_open_than_its_mode(tmp_path, monkeypatch):
    """makedirs gets the mode, so the directory is private from creation, not only after the chmod."""
    seen = []
    real_chmod = os.chmod

    def chmod(path, mode, *args, **kwargs):
        seen.append(stat.S_IMODE(os.stat(path).st_mode))
        return real_chmod(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, 'chmod', chmod)
    old = os.umask(0o022)
    try:
        bf.ensure_directory(str(tmp_path / 'new'), 0o700)
    finally:
        os.umask(old)
    assert seen and all(mode & 0o077 == 0 for mode in seen)


@pytest.mark.parametrize('error, said', [(OSError(errno.EACCES, 'Permission denied'), 'Permission denied'),
                                         (OSError(), 'OSError')])
def test_ensure_directory_creation_failure_word_for_word(tmp_path, monkeypatch, error, said):
    def makedirs(*args, **kwargs):
        raise error

    monkeypatch.setattr(os, 'makedirs', makedirs)
    path = str(tmp_path / 'new')
    assert msg(bf.ensure_directory, path, 0o700) == (
        'The directory %s could not be created: %s (nothing was sent to the array)' % (path, said))


@pytest.mark.parametrize('error, said', [(OSError(errno.EPERM, 'Operation not permitted'), 'Operation not permitted'),
                                         (OSError(), 'OSError')])
def test_ensure_directory_mode_failure_word_for_word(tmp_path, monkeypatch, error, said):
    path = str(tmp_path)
    os.chmod(path, 0o755)

    def chmod(*args, **kwargs):
        raise error

    monkeypatch.setattr(os, 'chmod', chmod)
    assert msg(bf.ensure_directory, path, 0o700) == (
        'The mode of the directory %s could not be set to 0700: %s (nothing was sent to the array)' % (path, said))


def test_verify_written_names_the_error_type_without_a_text(tmp_path, monkeypatch):
    path = str(tmp_path / 'k.ekf')

    def stat_fails(*args, **kwargs):
        raise OSError()

    monkeypatch.setattr(os, 'stat', stat_fails)
    assert msg(bf.verify_written, path, 3, 'ab', 0o600).startswith(
        'The key file %s does not match what was downloaded (on disk (OSError): size -, sha256 -, mode -;' % path)
