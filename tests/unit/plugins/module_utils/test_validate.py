# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Local validation of ids (given by the user or sent by the array) and the cleaning of array text."""

import pytest

from ansible_collections.vsp.encryption.plugins.module_utils import _validate as validate
from ansible_collections.vsp.encryption.plugins.module_utils._errors import TEXT_MAX, VspApiError, clean_json, clean_text


def error(func, *args):
    with pytest.raises(VspApiError) as info:
        func(*args)
    return str(info.value)


# -- user ids ---------------------------------------------------------------------------------------
def test_parity_group_ids_as_list_or_comma_text():
    assert validate.parity_group_ids(['1-1', ' 1-2 ', '1-1']) == ['1-1', '1-2']
    assert validate.parity_group_ids('1-1, 12-101') == ['1-1', '12-101']
    assert validate.parity_group_ids(['1-1,1-2']) == ['1-1', '1-2']
    assert validate.parity_group_ids(None) == []


@pytest.mark.parametrize('value', ['.', '..', '1-1/..', '*', '1', '1-1-1', '1--1', '1234-1', '１-１', '1-1 2'])
def test_bad_parity_group_ids(value):
    text = error(validate.parity_group_ids, [value])
    assert text == 'parity_groups: %r is not a parity group id; the rule: <number>-<number>, for example 1-1' % value.strip()


def test_several_bad_parity_group_ids_are_named_together():
    assert error(validate.parity_group_ids, ['..', '1-1', '*']).startswith("parity_groups: '..', '*' are not ")


@pytest.mark.parametrize('func, value, rule', [
    (validate.ldev_ids, [65280], 'an LDEV id; the rule: an integer from 0 to 65279'),
    (validate.ldev_ids, [-1], 'an LDEV id'),
    (validate.ldev_ids, ['1.5'], 'an LDEV id'),
    (validate.pool_ids, [128], 'a pool id; the rule: an integer from 0 to 127'),
    (validate.pool_ids, ['0x1'], 'a pool id'),
    (validate.key_ids, ['4096'], 'a key id; the rule: an integer from 0 to 4095'),
    (validate.key_ids, ['1_0'], 'a key id'),
])
def test_bad_integer_ids(func, value, rule):
    assert rule in error(func, value)


def test_user_parity_groups_are_internal_ones():
    assert 'is not a parity group id' in error(validate.parity_group_ids, ['E1-1'])


def test_user_text_is_stripped():
    assert validate.parity_group_ids(['1-1\n', ' 1-2']) == ['1-1', '1-2']


def test_good_integer_ids():
    assert validate.ldev_ids([0, 65279, '7', 7]) == [0, 65279, 7]
    assert validate.pool_ids('0, 127') == [0, 127]
    assert validate.key_ids(['0', 4095, '010']) == ['0', '4095', '10']


@pytest.mark.parametrize('value', ['900000061726', 900000061726, '886000123456'])
def test_storage_device_id_good(value):
    assert validate.storage_device_id(value) == str(value)


@pytest.mark.parametrize('value', ['900000061726\n', '*', '../x', '90000006172', '9000000617261', True, None, 9.0e11, '９' * 12])
def test_storage_device_id_bad(value):
    assert error(validate.storage_device_id, value) == (
        'storage_device_id: %s is not a storage device id; the rule: 12 digits, for example 936000412345' % validate.shown(value))


# -- single values the array sends ------------------------------------------------------------------
@pytest.mark.parametrize('func, good, bad', [
    (validate.key_id, [('7', '7'), (0, '0'), ('4095', '4095')], ['07', '4096', '1,2', '', ' 1', '1\n', True, None, 1.0, '٧', '+1']),
    (validate.ldev_id, [('0', 0), (65279, 65279)], ['65280', -1, '1,2', '00', False, '1e3']),
    (validate.pool_id, [(0, 0), ('127', 127)], [128, '-0', 'x']),
    (validate.job_id, [(12, 12), ('3000', 3000)], ['../1', -1, None, 2 ** 63]),
    (validate.parity_group_id, [('1-1', '1-1'), ('12-34', '12-34'), ('E1-1', 'E1-1')], ['1-1,1-2', '..', 11, '1-1\n', None, 'e1-1', 'EE1-1']),
])
def test_single_values(func, good, bad):
    for value, expected in good:
        assert func(value) == expected
    for value in bad:
        text = error(func, value)
        assert validate.shown(value) in text
        assert 'the rule: ' in text


def test_from_array_names_the_field_and_says_what_follows():
    assert error(validate.from_array, validate.key_id, '../1', 'keyId') == (
        "The array sent an unexpected value, nothing was changed: keyId: '../1' is not a key id; the rule: an integer from 0 to 4095")
    with pytest.raises(VspApiError) as info:
        validate.from_array(validate.ldev_id, 'x', 'ldevId', note='it was not used')
    assert str(info.value).startswith('The array sent an unexpected value, it was not used: ldevId: ')


def test_shown_escapes_and_caps():
    assert validate.shown('a\x1b[2Jb') == "'a\\x1b[2Jb'"
    assert len(validate.shown('x' * 1000)) == validate.SHOWN_MAX + 3


# -- array text -------------------------------------------------------------------------------------
@pytest.mark.parametrize('raw, clean', [
    ('plain text.', 'plain text.'),
    ('a\x1b[31mred\x1b[0m', 'a [31mred [0m'),
    ('line1\r\nok: [vsp] => forged', 'line1  ok: [vsp] => forged'),
    ('tab\there', 'tab here'),
    ('bidi \u202eevil\u202c', 'bidi  evil'),
    ('zero\u200bwidth', 'zero width'),
    ('sep\u2028para\u2029', 'sep para'),
    ('c1 \x9b31m', 'c1  31m'),
    ('  padded\n', 'padded'),
    ('日本語のメッセージ', '日本語のメッセージ'),
    (None, None),
    (404, '404'),
])
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


def test_clean_text_caps_length():
    assert TEXT_MAX == 500
    long = clean_text('x' * 100000)
    assert long == 'x' * 500 + '...'
    assert clean_text('abcdef', 3) == 'abc...'


def test_clean_json_keeps_spaces_and_non_text():
    assert clean_json({' a ': [' b\n', 1, 2.5, None, False, {'c': 'd\x1b'}]}) == {' a ': [' b ', 1, 2.5, None, False, {'c': 'd '}]}
