# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants of key_files.py that survived `make mutation` (docs/mutation.md)."""

from ansible_collections.vsp.encryption.plugins.module_utils.key_files import retention


def entry(path, keys, locations=()):
    return {'path': path, 'intact': True, '_keys': set(keys), '_locations': set(locations)}


def test_keys_held_by_every_newer_kept_file_count_not_only_the_last_one():
    files = [entry('/a', ['1', '2'], ['HDD00-01']), entry('/b', ['3'], ['HDD00-02']), entry('/c', ['1'], ['HDD00-01'])]
    delete, kept = retention(files, 1)
    assert delete == ['/c']
    assert [k['path'] for k in kept] == ['/a', '/b']
    assert kept[1]['reason'] == 'the newest file that holds a DEK for drive(s) HDD00-02, which no newer kept file holds'


def test_reason_lists_at_most_eight_keys_or_drives():
    keys = [str(i) for i in range(10, 19)]
    delete, kept = retention([entry('/a', ['1']), entry('/b', keys)], 1)
    assert delete == []
    assert kept[1]['reason'] == 'the newest file that holds key(s) %s, which no newer kept file holds' % ', '.join(keys[:8])
    drives = ['HDD00-%02d' % i for i in range(10, 19)]
    delete, kept = retention([entry('/a', ['1']), entry('/b', ['1'], drives)], 1)
    assert kept[1]['reason'].startswith('the newest file that holds a DEK for drive(s) %s,' % ', '.join(drives[:8]))
