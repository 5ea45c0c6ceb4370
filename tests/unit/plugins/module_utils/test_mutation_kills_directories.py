# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backup directory (``backup_file.ensure_directory``) and the check of a written file (``backup_file.verify_written``).
Texts are checked word for word: they are what the operator reads. (The tests of ``validate.directory_mode``, the progress
batches, the pool volume report and the storage view now live in the test files of their modules.)"""

import errno
import os
import stat

import pytest
from ansible_collections.vsp.encryption.plugins.module_utils import _backup_file as bf
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError


def msg(call, *args, **kwargs):
    with pytest.raises(VspApiError) as info:
        call(*args, **kwargs)
    return info.value.msg


# -- backup_file.ensure_directory -----------------------------------------------------------------------------
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
