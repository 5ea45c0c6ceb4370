# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Lists in messages: capped, and LDEV ids as ranges (no message grows with the array)."""

import pytest

from ansible_collections.vsp.encryption.plugins.module_utils._lists import bracketed, capped, id_ranges


@pytest.mark.parametrize('ids, text', [
    ([], 'none'),
    (None, 'none'),
    ([7], '7'),
    ([3, 2, 1, 0], '0-3'),
    ([0, 1, 2, 3, 8, 10, 11], '0-3, 8, 10-11'),
    (['5', 5, 6], '5-6'),  # ids as the array gives them, duplicates once
])
def test_id_ranges_sorts_merges_and_joins(ids, text):
    assert id_ranges(ids) == text


def test_id_ranges_of_1024_contiguous_pool_volumes_is_one_range():
    assert id_ranges(range(1024)) == '0-1023'


def test_id_ranges_shows_at_most_limit_ranges_and_counts_the_ids_left_out():
    assert id_ranges([0, 2, 4, 6, 7, 8], limit=2) == '0, 2 and 4 more'
    assert id_ranges(range(0, 100, 2)) == '0, 2, 4, 6, 8, 10, 12, 14 and 42 more'


def test_capped_counts_what_it_leaves_out():
    assert capped([]) == ''
    assert capped(['a', 'b'], 2) == 'a, b'
    assert capped(['a', 'b', 'c'], 2, '; ') == 'a; b and 1 more'
    assert capped('f%d' % i for i in range(45)) == 'f0, f1, f2, f3, f4, f5, f6, f7 and 37 more'


def test_bracketed_lists_ids_in_brackets_and_caps_them():
    assert bracketed(['1-1', '1-2']) == '[1-1, 1-2]'
    assert bracketed([]) == '[]'
    assert bracketed(None) == '[]'
    assert bracketed(x for x in [1]) == '[1]'
    assert bracketed(['1-%d' % i for i in range(1, 11)]) == '[1-1, 1-2, 1-3, 1-4, 1-5, 1-6, 1-7, 1-8 and 2 more]'
