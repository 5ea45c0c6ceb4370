"""Files the simulator writes (vsp_simulator.files): each appears whole or not at all, with the
mode asked for whatever the umask, a symbolic link at the target is replaced and never followed,
and no temporary file is left when writing fails. Then the writers that use it: the port file, the
state file and ca.pem are private, and the server's private key is never readable by others."""

from __future__ import annotations

import errno
import os
import ssl
import stat

import pytest
from vsp_simulator import cli, files, tls
from vsp_simulator.state import ArrayState


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def loose_umask():
    """The usual umask (022), under which a file written plainly would be readable by others."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_file_is_written_whole_and_private_by_default(tmp_path, loose_umask):
    target = tmp_path / "out.txt"
    files.write_atomic(target, "ünïcode text\n")
    assert target.read_bytes() == "ünïcode text\n".encode()
    assert mode(target) == 0o600
    files.write_atomic(target, b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_the_mode_is_the_one_asked_for_whatever_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        files.write_atomic(tmp_path / "public", "x", mode=0o644)
    finally:
        os.umask(old)
    assert mode(tmp_path / "public") == 0o644


def test_an_empty_file_is_written(tmp_path):
    files.write_atomic(tmp_path / "empty", b"")
    assert (tmp_path / "empty").read_bytes() == b""


class OsFailing:
    """The os module as vsp_simulator.files sees it, with one call replaced (the real os module,
    and so every other thread, is left alone)."""

    def __init__(self, **calls):
        self.__dict__.update(calls)

    def __getattr__(self, name):
        return getattr(os, name)


def fail_replace(src, dst):
    raise OSError(errno.EXDEV, "Invalid cross-device link")


def fail_fsync(fd):
    raise KeyboardInterrupt  # an interrupt, not an OSError: the clean-up still runs


def write_part_then_fail(fd, data):
    """os.write that writes a part of what it is given, then finds the disk full."""
    if len(data) > 8:
        return os.write(fd, data[:8])
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("call, failure, error", [
    ("replace", fail_replace, OSError),
    ("fsync", fail_fsync, KeyboardInterrupt),
    ("write", write_part_then_fail, OSError),
])
def test_a_failed_write_leaves_the_old_file_untouched_and_no_temporary_file(
        tmp_path, monkeypatch, call, failure, error):
    target = tmp_path / "state.json"
    target.write_text("the old content")
    monkeypatch.setattr(files, "os", OsFailing(**{call: failure}))
    with pytest.raises(error):
        files.write_atomic(target, "the new content, longer than the old one")
    assert target.read_text() == "the old content"
    assert os.listdir(tmp_path) == ["state.json"]


def test_a_new_file_that_fails_is_not_there_at_all(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "os", OsFailing(replace=fail_replace))
    with pytest.raises(OSError, match="cross-device"):
        files.write_atomic(tmp_path / "port", "8443\n")
    assert os.listdir(tmp_path) == []


def test_text_that_cannot_be_encoded_fails_before_any_file_exists(tmp_path):
    with pytest.raises(UnicodeEncodeError):
        files.write_atomic(tmp_path / "report.md", "a lone surrogate \ud800")
    assert os.listdir(tmp_path) == []


def test_a_symlink_at_the_target_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "elsewhere"
    victim.write_text("not to be overwritten")
    victim.chmod(0o644)
    target = tmp_path / "ca.pem"
    target.symlink_to(victim)
    files.write_atomic(target, "new")
    assert not target.is_symlink() and target.read_text() == "new"
    assert victim.read_text() == "not to be overwritten" and mode(victim) == 0o644


def test_a_temporary_file_is_complete_private_and_beside_its_target(tmp_path, loose_umask):
    name = files.write_temp(tmp_path, "both halves of a report", prefix=".report-")
    assert os.path.dirname(name) == str(tmp_path)
    assert os.path.basename(name).startswith(".report-")
    assert mode(name) == 0o600
    with open(name, encoding="utf-8") as fh:
        assert fh.read() == "both halves of a report"


def test_a_directory_that_is_not_there_raises_and_writes_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        files.write_atomic(tmp_path / "missing" / "port", "1\n")
    assert os.listdir(tmp_path) == []


def test_the_port_file_and_the_state_file_are_private(tmp_path, loose_umask):
    cli._write_port(str(tmp_path / "port"), 8443)
    assert (tmp_path / "port").read_text() == "8443\n"
    ArrayState(state_file=str(tmp_path / "state.json"))  # a new state is saved at once
    assert mode(tmp_path / "port") == mode(tmp_path / "state.json") == 0o600
    assert sorted(os.listdir(tmp_path)) == ["port", "state.json"]


def test_the_tls_private_key_is_private_and_never_left_on_disk(tmp_path, monkeypatch, loose_umask):
    loaded = []
    real_load = ssl.SSLContext.load_cert_chain

    def spy(self, certfile, *args, **kwargs):
        with open(certfile, encoding="ascii") as fh:
            loaded.append((certfile, mode(certfile), fh.read()))
        return real_load(self, certfile, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)
    cert_dir = tmp_path / "certs"
    tls.make_ssl_context(str(cert_dir))
    [(key_file, key_mode, key_text)] = loaded
    assert "PRIVATE KEY" in key_text
    assert key_mode == 0o600  # not the umask's 0644: no other user reads the server's key
    assert not os.path.exists(key_file)  # gone once loaded
    # cert_dir holds the CA certificate alone, for the clients of the same user
    assert os.listdir(cert_dir) == ["ca.pem"]
    ca_text = (cert_dir / "ca.pem").read_text()
    assert "BEGIN CERTIFICATE" in ca_text and "PRIVATE KEY" not in ca_text
    assert mode(cert_dir / "ca.pem") == 0o600
