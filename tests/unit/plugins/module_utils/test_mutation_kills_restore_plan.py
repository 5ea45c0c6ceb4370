# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants of restore_plan.py that survived `make mutation` (docs/mutation.md)."""

from conftest import BACKUP_PASSWORD
from key_file_helpers import write_key_file
from test_restore_plan import ALL, LOST_1_1, Api, refused


def test_a_key_file_changed_in_place_with_its_size_kept_is_refused(tmp_path, fast_kdf):
    path = write_key_file(tmp_path, 'k.ekf', locations=ALL, password=BACKUP_PASSWORD)
    with open(path, 'r+b') as handle:
        first = handle.read(1)
        handle.seek(0)
        handle.write(bytes([first[0] ^ 0xFF]))
    assert 'does not match its manifest' in refused(Api(LOST_1_1), path)
