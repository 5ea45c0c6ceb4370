# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants that survived the full `make mutation` run on 368eadc (docs/mutation.md): the backup
directory (``directory_mode``, ``backup_file.ensure_directory``), the check of a written file, the progress batches,
the pool volume report and the storage view. Texts are checked word for word: they are what the operator reads."""

import errno
import os
import stat

import pytest
from ansible_collections.vsp.encryption.plugins.module_utils import _backup_file as bf
from ansible_collections.vsp.encryption.plugins.module_utils import _validate as validate
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from ansible_collections.vsp.encryption.plugins.module_utils._keys import storage_view
from ansible_collections.vsp.encryption.plugins.module_utils._pool_volumes import pool_volume_report
from ansible_collections.vsp.encryption.plugins.plugin_utils._runbook_text import progress_batches

DIR_RULE = "the rule: a quoted octal text, for example '0700'"


def msg(call, *args, **kwargs):
    with pytest.raises(VspApiError) as info:
        call(*args, **kwargs)
    return info.value.msg


# -- validate.directory_mode --------------------------------------------------------------------------------
def test_directory_mode_texts_word_for_word():
    assert msg(validate.directory_mode, 700) == (
        'directory_mode must be a quoted octal text, not 700 (YAML makes an integer of an unquoted 700); ' + DIR_RULE)
    assert msg(validate.directory_mode, '07x0') == "directory_mode: '07x0' is not an octal mode; " + DIR_RULE
    assert msg(validate.directory_mode, '0600') == (
        "directory_mode: '0600' (0600) gives the owner no write or search permission, so no key file can be put into the "
        "directory; " + DIR_RULE)


@pytest.mark.parametrize('mode, value', [('0700', 0o700), ('0701', 0o701), ('0o750', 0o750), ('2755', 0o2755)])
def test_directory_mode_needs_only_owner_write_and_search(mode, value):
    assert validate.directory_mode(mode) == value


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


# -- runbook_text.progress_batches ----------------------------------------------------------------------------
def test_progress_batches_with_volumes_but_no_pools_give_the_pools_of_each_batch():
    volumes = [{'ldev_id': 1, 'pool_id': 5}, {'ldev_id': 2, 'pool_id': 6}]
    batches = progress_batches([1, 2], 1, 'blocked', volumes=volumes)
    assert [b['pool_ids'] for b in batches] == [[5], [6]]
    assert [b['recover_pools'] for b in batches] == [False, False]


# -- pool_volumes.pool_volume_report --------------------------------------------------------------------------
class PoolsOnly(object):
    """Two pools; pool 7 has no pool volume."""

    def list_pools(self):
        return [{'poolId': 5, 'poolName': 'p5', 'poolStatus': 'POLN'}, {'poolId': 7, 'poolName': 'p7', 'poolStatus': 'POLF'}]

    def list_ldevs(self, parity_group_id=None, pool_id=None):
        return []


def test_pool_volume_report_lists_a_named_pool_without_volumes():
    volumes, counts, pools = pool_volume_report(PoolsOnly(), pool_ids=[7])
    assert volumes == [] and counts == {}
    assert pools == [{'pool_id': 7, 'pool_name': 'p7', 'pool_status': 'POLF'}]


# -- keys.storage_view ----------------------------------------------------------------------------------------
def test_storage_view_without_an_id_gives_none_not_a_text():
    assert storage_view({}) == {'storage_device_id': None, 'serial_number': None, 'model': None}
    assert storage_view({'storageDeviceId': 900000061726})['storage_device_id'] == '900000061726'
