# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants of validate.py that survived `make mutation` (docs/mutation.md)."""

import pytest

from ansible_collections.vsp.encryption.plugins.module_utils import validate
from ansible_collections.vsp.encryption.plugins.module_utils.errors import VspApiError


def test_shown_keeps_a_repr_of_exactly_the_cap():
    text = 'a' * (validate.SHOWN_MAX - 2)  # repr adds two quotes
    assert validate.shown(text) == repr(text)
    assert validate.shown(text + 'b') == repr(text + 'b')[:validate.SHOWN_MAX] + '...'


@pytest.mark.parametrize('fn, name', [(validate.ldev_ids, 'ldev_ids'), (validate.key_ids, 'key_ids')])
def test_id_lists_name_the_parameter_when_the_value_is_no_list(fn, name):
    with pytest.raises(VspApiError) as info:
        fn({'a': 1})
    assert info.value.msg == "%s must be a list or comma-separated text, not {'a': 1}" % name
    with pytest.raises(VspApiError) as info:
        fn([[1]])
    assert info.value.msg == '%s: each element must be a text or a number, not [1]' % name


def test_key_ids_name_the_parameter_and_the_rule():
    with pytest.raises(VspApiError) as info:
        validate.key_ids(['7', 'x'])
    assert info.value.msg == "key_ids: 'x' is not a key id; the rule: an integer from 0 to %d" % validate.KEY_ID_MAX
    assert validate.key_ids(['007', '0', 7]) == ['7', '0']
