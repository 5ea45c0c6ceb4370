# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Local validation in validate.py: ids (given by the user or sent by the array), the cleaning of array text, and the
rules for the user's input (connection options, backup password, key file and directory modes, paths, counts, list texts).
Refusals are checked word for word where the operator reads them."""

import decimal
import os
import string

import pytest

from conftest import connection_args

from ansible_collections.vsp.encryption.plugins.module_utils import _validate as validate
from ansible_collections.vsp.encryption.plugins.module_utils._errors import TEXT_MAX, VspApiError, clean_json, clean_text


def error(func, *args):
    """The refusal as str() gives it (describe())."""
    with pytest.raises(VspApiError) as info:
        func(*args)
    return str(info.value)


def refusal(check, *args, **kwargs):
    """The refusal's own text (``msg``)."""
    with pytest.raises(VspApiError) as info:
        check(*args, **kwargs)
    return info.value.msg


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


def test_parity_group_ids_names_the_parameter():
    assert refusal(validate.parity_group_ids, 1.5) == 'parity_groups must be a list or comma-separated text, not 1.5'
    assert refusal(validate.parity_group_ids, 'x, y') == (
        "parity_groups: 'x', 'y' are not a parity group id; the rule: <number>-<number>, for example 1-1")


def test_storage_device_id_from_an_int_and_not_a_bool():
    assert validate.storage_device_id(936000412345) == '936000412345'
    assert 'is not a storage device id' in refusal(validate.storage_device_id, True)
    assert validate.storage_device_id('936000412345') == '936000412345'


def test_storage_device_id_refuses_other_types_even_when_they_print_as_digits():
    assert 'is not a storage device id' in refusal(validate.storage_device_id, decimal.Decimal('936000412345'))


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


def test_default_names_and_rules_word_for_word():
    assert refusal(validate.key_id, 'x') == "keyId: 'x' is not a key id; the rule: an integer from 0 to %d" % validate.KEY_ID_MAX
    assert refusal(validate.ldev_id, -1) == 'ldevId: -1 is not an LDEV id; the rule: an integer from 0 to %d' % validate.LDEV_ID_MAX
    assert refusal(validate.pool_id, True) == 'poolId: True is not a pool id; the rule: an integer from 0 to %d' % validate.POOL_ID_MAX
    assert refusal(validate.job_id, '01') == "jobId: '01' is not a job id; the rule: an integer from 0 to %d" % (2 ** 63 - 1)
    assert refusal(validate.parity_group_id, '1-1,1-2') == (
        "parityGroupId: '1-1,1-2' is not a parity group id; the rule: <number>-<number>, for example 1-1 "
        "(E<number>-<number> for an external one)")
    assert refusal(validate.pool_ids, 'x') == "pool_ids: 'x' is not a pool id; the rule: an integer from 0 to %d" % validate.POOL_ID_MAX
    assert refusal(validate.ldev_ids, '1, x').startswith("ldev_ids: 'x' is not an LDEV id;")


def test_job_id_upper_bound_is_the_largest_long():
    assert validate.job_id(2 ** 63 - 1) == 2 ** 63 - 1
    assert 'is not a job id' in refusal(validate.job_id, 2 ** 63)


def test_shown_keeps_a_repr_of_exactly_the_cap():
    text = 'a' * (validate.SHOWN_MAX - 2)  # repr adds two quotes
    assert validate.shown(text) == repr(text)
    assert validate.shown(text + 'b') == repr(text + 'b')[:validate.SHOWN_MAX] + '...'


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


# -- the backup password ----------------------------------------------------------------------------------
@pytest.mark.parametrize('password, fragment', [
    ('abc12', 'too short'),
    ('a' * 256, 'too long'),
    ('abc def1', 'a space'),
    ('abcdef\u00e9', 'not allowed'),
    ('abc\tdef', 'a space'),
])
def test_password_rule(password, fragment):
    with pytest.raises(VspApiError) as info:
        validate.backup_password(password)
    text = str(info.value)
    assert 'backup_password' in text
    assert fragment in text
    assert '6 to 255 characters' in text
    assert password not in text


@pytest.mark.parametrize('password', ['abcdef', 'A' * 255, 'Aa0' + validate.PASSWORD_SYMBOLS])
def test_password_rule_accepts(password):
    validate.backup_password(password)


# -- key_file_mode and directory_mode ---------------------------------------------------------------------
@pytest.mark.parametrize('mode, value', [('0600', 0o600), ('600', 0o600), ('0o600', 0o600), ('0O640', 0o640),
                                         ('640', 0o640), ('0400', 0o400), (' 0600 ', 0o600), ('0700', 0o700),
                                         ('0750', 0o750)])
def test_key_file_mode_accepts_quoted_owner_only_octal(mode, value):
    assert validate.key_file_mode(mode) == value


@pytest.mark.parametrize('mode', [420, 644, 0o600, 384, 600])
def test_key_file_mode_refuses_an_integer_and_says_to_quote_it(mode):
    with pytest.raises(VspApiError) as info:
        validate.key_file_mode(mode)
    text = str(info.value)
    assert 'mode must be quoted' in text and "'0600'" in text
    assert 'integer %d' % mode in text


def test_key_file_mode_unquoted_644_explained():
    with pytest.raises(VspApiError) as info:
        validate.key_file_mode(644)
    assert 'octal 1204' in str(info.value)


@pytest.mark.parametrize('mode, why', [
    ('7777', 'setuid/setgid/sticky'), ('1204', 'setuid/setgid/sticky'), ('4600', 'setuid/setgid/sticky'),
    ('2600', 'setuid/setgid/sticky'), ('1600', 'setuid/setgid/sticky'),
    ('0644', 'permissions for others'), ('0604', 'permissions for others'), ('0602', 'permissions for others'),
    ('0601', 'permissions for others'), ('0666', 'group write'), ('0620', 'group write'),
    ('0200', 'no owner read'), ('0000', 'no owner read'),
])
def test_key_file_mode_owner_only(mode, why):
    with pytest.raises(VspApiError) as info:
        validate.key_file_mode(mode)
    text = str(info.value)
    assert text.startswith('mode:') and why in text and 'nothing for others' in text


@pytest.mark.parametrize('mode', ['u=rw', '', '0o', '0800', '9', '06000', '0x180', '6.0', None, True, ['0600'], 6.0])
def test_key_file_mode_refuses_non_octal(mode):
    with pytest.raises(VspApiError) as info:
        validate.key_file_mode(mode)
    assert 'mode' in str(info.value)


DIR_RULE = "the rule: a quoted octal text, for example '0700'"


def test_directory_mode_texts_word_for_word():
    assert refusal(validate.directory_mode, 700) == (
        'directory_mode must be a quoted octal text, not 700 (YAML makes an integer of an unquoted 700); ' + DIR_RULE)
    assert refusal(validate.directory_mode, '07x0') == "directory_mode: '07x0' is not an octal mode; " + DIR_RULE
    assert refusal(validate.directory_mode, '0600') == (
        "directory_mode: '0600' (0600) gives the owner no write or search permission, so no key file can be put into the "
        "directory; " + DIR_RULE)


@pytest.mark.parametrize('mode, value', [('0700', 0o700), ('0701', 0o701), ('0o750', 0o750), ('2755', 0o2755)])
def test_directory_mode_needs_only_owner_write_and_search(mode, value):
    assert validate.directory_mode(mode) == value


# -- connection options -----------------------------------------------------------------------------------
# An AWX credential with no host injects VSP_HOST="": the modules take that as no host (issue 14, fleets).
@pytest.mark.parametrize('host', ['', '   ', None])
def test_an_empty_host_is_refused_before_anything_is_sent(host):
    with pytest.raises(VspApiError) as info:
        validate.connection_params(connection_args(host=host))
    assert info.value.msg == ("host is required: give the array's address as the option host (module_defaults, or "
                              "vsp_connection.host / vsp_host in the shipped playbooks' inventory) or the environment "
                              "variable VSP_HOST (an AWX credential with an empty host injects it empty); nothing was sent")


def test_a_host_passes():
    validate.connection_params(connection_args(host='vsp01.example.com'))


@pytest.mark.parametrize('option, value, msg', [
    ('timeout', 0, 'timeout must be at least 1'),
    ('wait_timeout', 0, 'wait_timeout must be at least 1'),
    ('retries', -1, 'retries must be at least 0'),
    ('port', 0, 'port must be between 1 and 65535'),
    ('port', 65536, 'port must be between 1 and 65535'),
])
def test_connection_option_out_of_range(option, value, msg):
    with pytest.raises(VspApiError) as info:
        validate.connection_params(connection_args(**{option: value}))
    assert info.value.msg == msg


@pytest.mark.parametrize('option, value', [('timeout', 1), ('wait_timeout', 1), ('retries', 0), ('port', 1), ('port', 65535)])
def test_connection_option_at_its_bound_passes(option, value):
    validate.connection_params(connection_args(**{option: value}))


def test_connection_storage_device_id_is_checked():
    with pytest.raises(VspApiError, match='storage_device_id'):
        validate.connection_params(connection_args(storage_device_id='../x'))
    validate.connection_params(connection_args(storage_device_id='936000412345'))


# -- paths ------------------------------------------------------------------------------------------------
def test_writable_parent(tmp_path):
    validate.writable_parent(str(tmp_path / 'k.ekf'))
    with pytest.raises(VspApiError) as info:
        validate.writable_parent(str(tmp_path / 'missing' / 'k.ekf'))
    assert info.value.msg == ('The directory %s of path does not exist; create it first (nothing was sent to the array)'
                              % (tmp_path / 'missing'))


def test_writable_parent_refuses_a_read_only_directory(tmp_path, monkeypatch):
    # os.access stands in for the file system: the tests may run as root, who may write everywhere
    monkeypatch.setattr(validate.os, 'access', lambda path, mode: not (path == str(tmp_path) and mode == os.W_OK))
    with pytest.raises(VspApiError) as info:
        validate.writable_parent(str(tmp_path / 'k.ekf'))
    assert info.value.msg == 'The directory %s of path is not writable (nothing was sent to the array)' % tmp_path


def test_readable_path_refuses_an_unreadable_path(tmp_path, monkeypatch):
    monkeypatch.setattr(validate.os, 'access', lambda path, mode: not (path == str(tmp_path) and mode == os.R_OK))
    with pytest.raises(VspApiError) as info:
        validate.readable_path(str(tmp_path))
    assert info.value.msg == 'path: %s is not readable (nothing was sent to the array)' % tmp_path


def test_readable_path(tmp_path):
    validate.readable_path(str(tmp_path))
    (tmp_path / 'k.ekf').write_bytes(b'x')
    validate.readable_path(str(tmp_path / 'k.ekf'))
    with pytest.raises(VspApiError) as info:
        validate.readable_path(str(tmp_path / 'nope'))
    assert info.value.msg == 'path: %s does not exist (nothing was sent to the array)' % (tmp_path / 'nope')


def test_readable_path_refuses_what_is_neither_file_nor_directory(tmp_path):
    fifo = tmp_path / 'fifo'
    os.mkfifo(str(fifo))
    with pytest.raises(VspApiError, match='is neither a file nor a directory'):
        validate.readable_path(str(fifo))


def test_a_directory_needs_the_manifest_check(tmp_path):
    validate.named_file_without_manifest(str(tmp_path), True)
    (tmp_path / 'k.ekf').write_bytes(b'x')
    validate.named_file_without_manifest(str(tmp_path / 'k.ekf'), False)
    with pytest.raises(VspApiError) as info:
        validate.named_file_without_manifest(str(tmp_path), False)
    assert info.value.msg.startswith('path: %s is a directory' % tmp_path) and 'verify_manifest: false' in info.value.msg


# -- counts, job id, audit inputs -------------------------------------------------------------------------
@pytest.mark.parametrize('value, ok', [(0, False), (1, True), (64, True), (65, False)])
def test_concurrency_between_1_and_its_cap(value, ok):
    if ok:
        assert validate.concurrency(value, 64) == value
    else:
        with pytest.raises(VspApiError) as info:
            validate.concurrency(value, 64)
        assert info.value.msg == 'concurrency must be between 1 and 64, got %d' % value


def test_keep_is_0_or_more():
    assert validate.keep(0) == 0
    with pytest.raises(VspApiError) as info:
        validate.keep(-1)
    assert info.value.msg == 'keep must be 0 (keep all) or more, not -1'


@pytest.mark.parametrize('value', [0, -1, None])
def test_max_age_hours_refused(value):
    with pytest.raises(VspApiError, match='^max_age_hours must be more than 0'):
        validate.max_age_hours(value)


def test_max_age_hours_passes():
    assert validate.max_age_hours(0.5) == 0.5


def test_job_id_option_is_none_or_not_negative():
    assert validate.job_id_option(None) is None
    assert validate.job_id_option(0) == 0
    with pytest.raises(VspApiError) as info:
        validate.job_id_option(-1)
    assert info.value.msg == 'job_id must be a non-negative integer'


def test_not_empty_refuses_only_an_empty_list():
    assert validate.not_empty(None, 'ldev_ids') is None
    assert validate.not_empty([1], 'ldev_ids') == [1]
    with pytest.raises(VspApiError) as info:
        validate.not_empty([], 'ldev_ids')
    assert info.value.msg == 'ldev_ids must not be empty'


KEY_TYPES = ('DEK', 'CEK', 'KEK', 'FREE')


def test_audit_inputs_need_the_storage_id_and_every_key_type():
    keys = dict((t, []) for t in KEY_TYPES)
    assert validate.audit_inputs({'storage_device_id': 936000412345}, keys, KEY_TYPES) == '936000412345'
    with pytest.raises(VspApiError, match='^storage must hold storage_device_id'):
        validate.audit_inputs({}, keys, KEY_TYPES)
    with pytest.raises(VspApiError) as info:
        validate.audit_inputs({'storage_device_id': '936000412345'}, dict(keys, KEK=None), KEY_TYPES)
    assert info.value.msg.endswith('missing: KEK')


# -- the connection password and user name ----------------------------------------------------------------
# Issue 22: requests encodes Basic auth as latin-1, so a euro sign in the password failed every module with a
# UnicodeEncodeError. The connection's password and user name are printable ASCII ([I]), checked before anything is sent.
PASSWORD_RULE = ('the rule: a password of an array user uses only printable ASCII: letters A-Z a-z, digits 0-9 and the symbols '
                 '%s (no spaces, no control characters, nothing outside ASCII); nothing was sent' % validate.PASSWORD_SYMBOLS)
USERNAME_RULE = ('the rule: a user name of the array uses only printable ASCII: letters A-Z a-z, digits 0-9 and the symbols '
                 '%s (no colon, no spaces, no control characters, nothing outside ASCII); nothing was sent'
                 % validate.PASSWORD_SYMBOLS.replace(':', ''))


def connection_refused(**extra):
    with pytest.raises(VspApiError) as info:
        validate.connection_params(connection_args(**extra))
    return info.value.msg


def test_a_euro_sign_in_the_password_is_refused_naming_password_and_the_position_not_the_character():
    msg = connection_refused(password='Secr\u20ac7pw')
    assert msg == 'password contains a character outside ASCII (at position 5); ' + PASSWORD_RULE
    assert '\u20ac' not in msg and 'Secr' not in msg


def test_a_space_in_the_password_is_refused():
    assert connection_refused(password='two words') == 'password contains a space (at position 4); ' + PASSWORD_RULE


@pytest.mark.parametrize('char', ['\t', '\n', '\x00', '\x7f', '\x1b'])
def test_a_control_character_in_the_password_is_refused(char):
    msg = connection_refused(password='abc%sdef' % char)
    assert msg == 'password contains a control character (at position 4); ' + PASSWORD_RULE
    assert char not in msg


def test_every_kind_and_at_most_five_positions_are_named():
    msg = connection_refused(password='a \u00e9\tb\u20ac\u00a0c d\u4e2d')
    assert msg == ('password contains a space, a character outside ASCII and a control character '
                   '(at positions 2, 3, 4, 6, 7 and 2 more); ' + PASSWORD_RULE)


def test_a_non_ascii_user_name_is_refused_naming_username():
    msg = connection_refused(username='j\u00fcrgen')
    assert msg == 'username contains a character outside ASCII (at position 2); ' + USERNAME_RULE
    assert '\u00fc' not in msg and 'rgen' not in msg


def test_a_colon_in_the_user_name_is_refused():
    assert connection_refused(username='dom:admin') == 'username contains a colon (at position 4); ' + USERNAME_RULE


def test_a_space_in_the_user_name_is_refused():
    assert connection_refused(username='sec admin') == 'username contains a space (at position 4); ' + USERNAME_RULE


def test_two_bad_characters_of_one_kind_name_both_positions():
    assert connection_refused(password='€uro€') == ('password contains a character outside ASCII (at positions 1, 5); '
                                                    + PASSWORD_RULE)


@pytest.mark.parametrize('value', ['', '   ', '\t\n', None])
def test_an_empty_password_is_refused_naming_password(value):
    assert connection_refused(password=value) == ('password is empty (or only white space): give the password of the array '
                                                  'user as the option password or the environment variable VSP_PASSWORD; '
                                                  'nothing was sent')


@pytest.mark.parametrize('value', ['', '   ', None])
def test_an_empty_user_name_is_refused_naming_username(value):
    assert connection_refused(username=value) == ('username is empty (or only white space): give the array user as the '
                                                  'option username or the environment variable VSP_USERNAME; nothing was sent')


def test_a_password_with_every_allowed_character_passes():
    validate.connection_params(connection_args(password=string.ascii_letters + string.digits + validate.PASSWORD_SYMBOLS))
    validate.connection_password(''.join(chr(c) for c in range(0x21, 0x7f)))


def test_a_user_name_with_every_allowed_character_but_the_colon_passes():
    validate.connection_username(''.join(chr(c) for c in range(0x21, 0x7f) if chr(c) != ':'))


@pytest.mark.parametrize('password', ['S\u00e9cret-pw', 'pass word!', 'ab\tc\u20ac', 'only\u00a0nbsp', '\u20ac' * 9])
def test_the_password_refused_is_never_in_the_message(password):
    msg = connection_refused(password=password)
    assert msg.startswith('password contains ')
    assert password not in msg
    assert not set(password) - set(string.printable) & set(msg)


# -- list texts -------------------------------------------------------------------------------------------
@pytest.mark.parametrize('text', ['1-1,', ',1-1', '1-1,,1-2', '1-1, ,1-2', ' , '])
def test_a_list_text_that_ansible_cut_is_refused_with_the_forms_that_work(text):
    with pytest.raises(VspApiError) as info:
        validate.text_list(text, 'encryption_key_restore_parity_groups')
    msg = info.value.msg
    assert msg.startswith('encryption_key_restore_parity_groups: %r has an empty element' % text)
    assert '-e \'{"encryption_key_restore_parity_groups": ["1-1", "1-2"]}\'' in msg
    assert 'for example -e encryption_key_restore_parity_groups=1-1,1-2.' in msg


@pytest.mark.parametrize('value, expected', [('1-1, 1-2', ['1-1', '1-2']), ('1-1', ['1-1']), ('', []), ('  ', []),
                                             (['1-1', ''], ['1-1']), ('1-1,1-1', ['1-1'])])
def test_a_list_text_without_an_empty_element_is_taken(value, expected):
    assert validate.text_list(value, 'parity_groups') == expected


def test_the_cut_list_example_of_a_list_of_hosts_is_not_a_parity_group():
    with pytest.raises(VspApiError) as info:
        validate.text_list('backup01,', 'encryption_key_backup_copy_hosts')
    assert '-e \'{"encryption_key_backup_copy_hosts": ["a", "b"]}\'' in info.value.msg


# -- the password and mode rules of a key file (_validate.backup_password, _validate.key_file_mode) ---------------------
PW_RULE = ('backup_password must be 6 to 255 characters long and use only letters A-Z a-z, digits 0-9 and the '
           'symbols %s (no spaces)' % validate.PASSWORD_SYMBOLS)
MODE_RULE = ("the rule: a quoted octal text of the owner's permissions, for example '0600' (or '0640' for "
             "group read); no setuid/setgid/sticky bit, no group write, nothing for others")


def test_password_refusals_word_for_word():
    assert refusal(validate.backup_password, None) == 'backup_password is required. Rule: %s' % PW_RULE
    assert refusal(validate.backup_password, 12345678) == 'backup_password is required. Rule: %s' % PW_RULE
    assert refusal(validate.backup_password, 'abc') == 'backup_password is too short (3 characters). Rule: %s' % PW_RULE
    assert refusal(validate.backup_password, 'a' * 256) == 'backup_password is too long (256 characters). Rule: %s' % PW_RULE
    assert (refusal(validate.backup_password, 'abc def')
            == 'backup_password contains a space (at position 4). Rule: %s' % PW_RULE)
    assert (refusal(validate.backup_password, 'abcdéfgh')
            == 'backup_password contains a character that is not allowed (at position 5). Rule: %s' % PW_RULE)


def test_password_positions_listed_are_the_first_five():
    text = refusal(validate.backup_password, 'a\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9b')
    assert '(at position 2, 3, 4, 5, 6)' in text


def test_password_rule_names_the_parameter_given():
    assert refusal(validate.backup_password, None, name='new_password').startswith('new_password is required. Rule: new_password must be')


def test_mode_refusals_word_for_word():
    assert refusal(validate.key_file_mode, 644) == ("mode must be quoted, for example mode: '0600'. It is the integer 644, which as a mode is "
                                                    "octal 1204 (YAML makes an integer of an unquoted 644: mode 1204, not 0644); %s" % MODE_RULE)
    assert refusal(validate.key_file_mode, -1).startswith("mode must be quoted, for example mode: '0600'. It is the integer -1, which as a mode is octal 0000 ")
    assert refusal(validate.key_file_mode, 0).startswith("mode must be quoted, for example mode: '0600'. It is the integer 0, which as a mode is octal 0000 ")
    assert refusal(validate.key_file_mode, 1).startswith("mode must be quoted, for example mode: '0600'. It is the integer 1, which as a mode is octal 0001 ")
    assert refusal(validate.key_file_mode, [1]) == 'mode must be a quoted octal text, not [1]; %s' % MODE_RULE
    assert refusal(validate.key_file_mode, '0x600') == "mode: '0x600' is not an octal mode; %s" % MODE_RULE
    assert refusal(validate.key_file_mode, '0606') == ("mode: '0606' (0606) is not allowed for a key file (permissions for others); %s"
                                                       % MODE_RULE)


def test_mode_has_at_most_four_digits():
    assert validate.key_file_mode('0600') == 0o600
    assert refusal(validate.key_file_mode, '00600').startswith("mode: '00600' is not an octal mode;")


def test_mode_with_a_letter_is_not_octal():
    assert refusal(validate.key_file_mode, '06X0') == "mode: '06X0' is not an octal mode; %s" % MODE_RULE


@pytest.mark.parametrize('mode, why', [
    ('1600', 'setuid/setgid/sticky'),
    ('2600', 'setuid/setgid/sticky'),
    ('4600', 'setuid/setgid/sticky'),
    ('0620', 'group write'),
    ('0601', 'permissions for others'),
    ('0602', 'permissions for others'),
    ('0604', 'permissions for others'),
    ('0200', 'no owner read'),
    ('7777', 'setuid/setgid/sticky, group write, permissions for others'),
    ('0022', 'group write, permissions for others, no owner read'),
])
def test_each_mode_bit_is_named(mode, why):
    assert refusal(validate.key_file_mode, mode) == "mode: '%s' (%s) is not allowed for a key file (%s); %s" % (mode, mode, why, MODE_RULE)


@pytest.mark.parametrize('mode, why', [('0201', 'permissions for others, no owner read'), ('0001', 'permissions for others, no owner read')])
def test_no_owner_read_is_named_whatever_others_have(mode, why):
    assert refusal(validate.key_file_mode, mode) == "mode: '%s' (%s) is not allowed for a key file (%s); %s" % (mode, mode, why, MODE_RULE)


@pytest.mark.parametrize('mode', ['0400', '0440', '0640', '0700', '0500', '0o600'])
def test_owner_and_group_read_modes_are_allowed(mode):
    assert validate.key_file_mode(mode) == int(mode[-4:].replace('o', '0'), 8)
