# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants of validate.py that survived `make mutation` (docs/mutation.md)."""

import pytest
from ansible_collections.vsp.encryption.plugins.module_utils import _validate as validate
from ansible_collections.vsp.encryption.plugins.module_utils import _validate as v
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError


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


# --- the names the single-value checks use by default (the array's field names) and their rules -----


def refusal(check, *args):
    with pytest.raises(VspApiError) as info:
        check(*args)
    return info.value.msg


def test_default_names_and_rules_word_for_word():
    assert refusal(v.key_id, 'x') == "keyId: 'x' is not a key id; the rule: an integer from 0 to %d" % v.KEY_ID_MAX
    assert refusal(v.ldev_id, -1) == 'ldevId: -1 is not an LDEV id; the rule: an integer from 0 to %d' % v.LDEV_ID_MAX
    assert refusal(v.pool_id, True) == 'poolId: True is not a pool id; the rule: an integer from 0 to %d' % v.POOL_ID_MAX
    assert refusal(v.job_id, '01') == "jobId: '01' is not a job id; the rule: an integer from 0 to %d" % (2 ** 63 - 1)
    assert refusal(v.parity_group_id, '1-1,1-2') == (
        "parityGroupId: '1-1,1-2' is not a parity group id; the rule: <number>-<number>, for example 1-1 "
        "(E<number>-<number> for an external one)")
    assert refusal(v.pool_ids, 'x') == "pool_ids: 'x' is not a pool id; the rule: an integer from 0 to %d" % v.POOL_ID_MAX
    assert refusal(v.ldev_ids, '1, x').startswith("ldev_ids: 'x' is not an LDEV id;")


def test_job_id_upper_bound_is_the_largest_long():
    assert v.job_id(2 ** 63 - 1) == 2 ** 63 - 1
    assert 'is not a job id' in refusal(v.job_id, 2 ** 63)


def test_parity_group_ids_names_the_parameter():
    assert refusal(v.parity_group_ids, 1.5) == 'parity_groups must be a list or comma-separated text, not 1.5'
    assert refusal(v.parity_group_ids, 'x, y') == (
        "parity_groups: 'x', 'y' are not a parity group id; the rule: <number>-<number>, for example 1-1")


def test_storage_device_id_from_an_int_and_not_a_bool():
    assert v.storage_device_id(936000412345) == '936000412345'
    assert 'is not a storage device id' in refusal(v.storage_device_id, True)
    assert v.storage_device_id('936000412345') == '936000412345'


def test_storage_device_id_refuses_other_types_even_when_they_print_as_digits():
    import decimal
    assert 'is not a storage device id' in refusal(v.storage_device_id, decimal.Decimal('936000412345'))
