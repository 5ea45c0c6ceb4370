# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rules for the user's input in validate.py: connection options, backup password, key file mode, paths, counts."""

import os
import string

import pytest

from conftest import connection_args

from ansible_collections.vsp.encryption.plugins.module_utils import _validate as validate
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError


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


@pytest.mark.parametrize('mode, value', [('0600', 0o600), ('600', 0o600), ('0o600', 0o600), ('0O640', 0o640),
                                         ('640', 0o640), ('0400', 0o400), (' 0600 ', 0o600), ('0700', 0o700),
                                         ('0750', 0o750)])
def test_key_file_mode(mode, value):
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


@pytest.mark.parametrize('value, ok', [(0, False), (1, True), (64, True), (65, False)])
def test_concurrency(value, ok):
    if ok:
        assert validate.concurrency(value, 64) == value
    else:
        with pytest.raises(VspApiError) as info:
            validate.concurrency(value, 64)
        assert info.value.msg == 'concurrency must be between 1 and 64, got %d' % value


def test_keep():
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


def test_job_id_option():
    assert validate.job_id_option(None) is None
    assert validate.job_id_option(0) == 0
    with pytest.raises(VspApiError) as info:
        validate.job_id_option(-1)
    assert info.value.msg == 'job_id must be a non-negative integer'


def test_not_empty():
    assert validate.not_empty(None, 'ldev_ids') is None
    assert validate.not_empty([1], 'ldev_ids') == [1]
    with pytest.raises(VspApiError) as info:
        validate.not_empty([], 'ldev_ids')
    assert info.value.msg == 'ldev_ids must not be empty'


KEY_TYPES = ('DEK', 'CEK', 'KEK', 'FREE')


def test_audit_inputs():
    keys = dict((t, []) for t in KEY_TYPES)
    assert validate.audit_inputs({'storage_device_id': 936000412345}, keys, KEY_TYPES) == '936000412345'
    with pytest.raises(VspApiError, match='^storage must hold storage_device_id'):
        validate.audit_inputs({}, keys, KEY_TYPES)
    with pytest.raises(VspApiError) as info:
        validate.audit_inputs({'storage_device_id': '936000412345'}, dict(keys, KEK=None), KEY_TYPES)
    assert info.value.msg.endswith('missing: KEK')


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
