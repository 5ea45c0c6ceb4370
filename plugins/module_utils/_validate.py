# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one home of local validation: the rules for what the user gives (connection options, ids, the
backup password, the key file mode, paths, counts) and the checks of ids sent by the array (``from_array``
and the single-value functions).

Every function raises :class:`VspApiError` naming the parameter (or the array's field) and the rule,
with the offending value escaped, and never changes anything. They run before any request is sent
(user input) or before a value sent by the array is used for anything (a path, a glob, a URL).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import string

from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError

STORAGE_DEVICE_ID_RE = re.compile(r'^[0-9]{12}\Z')  # \Z: $ would accept a trailing newline
PARITY_GROUP_ID_RE = re.compile(r'^[0-9]{1,3}-[0-9]{1,3}\Z')
# as the array may send it: an external parity group carries an E (E1-1)
ARRAY_PARITY_GROUP_ID_RE = re.compile(r'^E?[0-9]{1,3}-[0-9]{1,3}\Z')
KEY_ID_MAX = 4095
LDEV_ID_MAX = 65279
POOL_ID_MAX = 127
SHOWN_MAX = 80
PORT_MAX = 65535
PASSWORD_MIN = 6
PASSWORD_MAX = 255
PASSWORD_SYMBOLS = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'  # noqa: S105 - the allowed symbols, not a password
PASSWORD_CHARS = frozenset(string.ascii_letters + string.digits + PASSWORD_SYMBOLS)
# The connection's user name and password (HTTP Basic auth of the log in). [I] The array's user accounts accept only
# printable ASCII 0x21-0x7E in a password (the REST reference confirms the set only for the backup password, the same
# 94 characters: PASSWORD_CHARS); a user name likewise, without ':' (Basic auth cannot carry ':' in a user name).
# requests encodes the credentials as latin-1, so a euro sign failed as a UnicodeEncodeError; now the rule refuses it.
CONNECTION_PASSWORD_CHARS = PASSWORD_CHARS
CONNECTION_USERNAME_CHARS = PASSWORD_CHARS - frozenset(':')
SHOWN_POSITIONS = 5
NOTHING_SENT = 'nothing was sent to the array'


def shown(value):
    """``value`` as it may appear in a message: repr-escaped (no control character reaches a terminal), capped."""
    text = repr(value)
    if len(text) > SHOWN_MAX:
        text = text[:SHOWN_MAX] + '...'
    return text


def cut_list_message(name, value):
    """Why a comma-separated text with an empty element is refused, and the forms that work."""
    one, two = ('1-1', '1-2') if 'parity_group' in name else ('a', 'b')
    return ('%s: %s has an empty element (a separator at the start, at the end or twice). That is often what Ansible '
            'leaves of a list typed with spaces: -e %s="%s, %s" is split at the spaces (the key=value form), and only '
            '"%s," arrives. Give the whole list as JSON, for example -e \'{"%s": ["%s", "%s"]}\', or as text without '
            'spaces, for example -e %s=%s,%s.' % (name, shown(value), name, one, two, one, name, one, two, name, one, two))


def text_list(value, name):
    """A list given as a list or as comma-separated text (``"1-1, 1-2"``, as an AWX survey gives it).

    Returns a list of stripped, non-empty strings with duplicates removed (first occurrence kept).
    """
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = []
        for item in value:
            if isinstance(item, (list, tuple, dict)):
                raise VspApiError('%s: each element must be a text or a number, not %s' % (name, shown(item)))
            items.extend(str(item).split(','))
    elif isinstance(value, (str, int)):
        items = str(value).split(',')
        if len(items) > 1 and not all(item.strip() for item in items):
            raise VspApiError(cut_list_message(name, value))
    else:
        raise VspApiError('%s must be a list or comma-separated text, not %s' % (name, shown(value)))
    result = []
    for item in items:
        item = item.strip()
        if item and item not in result:
            result.append(item)
    return result


def parity_group_ids(value, name='parity_groups'):
    """Parity group ids such as ``1-1`` (list or comma-separated text) → normalised list."""
    groups = text_list(value, name)
    bad = [g for g in groups if not PARITY_GROUP_ID_RE.match(g)]
    if bad:
        raise VspApiError('%s: %s %s not a parity group id; the rule: <number>-<number>, for example 1-1'
                          % (name, ', '.join(shown(b) for b in bad), 'is' if len(bad) == 1 else 'are'))
    return groups


def _int_ids(value, name, what, high):
    ids = []
    for item in text_list(value, name):
        try:
            number = int(item, 10)
        except ValueError:
            number = None
        if number is None or number < 0 or number > high or str(number) != item.lstrip('0').rjust(1, '0'):
            raise VspApiError('%s: %s is not %s; the rule: an integer from 0 to %d' % (name, shown(item), what, high))
        if number not in ids:
            ids.append(number)
    return ids


def ldev_ids(value, name='ldev_ids'):
    return _int_ids(value, name, 'an LDEV id', LDEV_ID_MAX)


def pool_ids(value, name='pool_ids'):
    return _int_ids(value, name, 'a pool id', POOL_ID_MAX)


def key_ids(value, name='key_ids'):
    """Key ids (the array lists them as strings of digits) → list of strings without leading zeros."""
    return [str(k) for k in _int_ids(value, name, 'a key id', KEY_ID_MAX)]


def storage_device_id(value, name='storage_device_id'):
    """A storage device id: 12 digits (model prefix of 6 digits + serial number of 6 digits)."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not STORAGE_DEVICE_ID_RE.match(text):
        raise VspApiError('%s: %s is not a storage device id; the rule: 12 digits, for example 936000412345'
                          % (name, shown(value)))
    return text


def from_array(check, value, field, note='nothing was changed'):
    """Validate a value the array sent; the error names the array's field (``storageDeviceId``...).

    ``note`` says what follows from the refusal (default ``nothing was changed``; a check that may
    run after a write passes ``it was not used``).
    """
    try:
        return check(value, field)
    except VspApiError as exc:
        raise VspApiError('The array sent an unexpected value, %s: %s' % (note, exc.msg)) from None


# -- single values (the fields of an array's answer) -----------------------------------------------
def _int_id(value, name, what, high):
    """One id that is an integer from 0 to ``high``: an int, or a text of decimal digits (no sign, no
    leading zeros, no comma, no space). Returns the int."""
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isdigit() and value.isascii() and (value == '0' or not value.startswith('0')):
        number = int(value, 10)
    else:
        number = None
    if number is None or number < 0 or number > high:
        raise VspApiError('%s: %s is not %s; the rule: an integer from 0 to %d' % (name, shown(value), what, high))
    return number


def key_id(value, name='keyId'):
    """One key id (the array sends a text of digits, for example ``"7"``) → the id as text."""
    return str(_int_id(value, name, 'a key id', KEY_ID_MAX))


def ldev_id(value, name='ldevId'):
    return _int_id(value, name, 'an LDEV id', LDEV_ID_MAX)


def pool_id(value, name='poolId'):
    return _int_id(value, name, 'a pool id', POOL_ID_MAX)


def job_id(value, name='jobId'):
    """A job id (a long): a non-negative integer."""
    return _int_id(value, name, 'a job id', 2 ** 63 - 1)


def parity_group_id(value, name='parityGroupId'):
    """One parity group id as the array sends it: ``1-1``, or ``E1-1`` for an external parity group
    (no list, no comma, nothing else)."""
    if not isinstance(value, str) or not ARRAY_PARITY_GROUP_ID_RE.match(value):
        raise VspApiError('%s: %s is not a parity group id; the rule: <number>-<number>, for example 1-1 '
                          '(E<number>-<number> for an external one)' % (name, shown(value)))
    return value


# -- the user's input (module options) -------------------------------------------------------------
def connection_params(params):
    """The connection options after the argument spec applied their defaults: host given and not blank,
    timeouts and retries in range, port a TCP port, storage_device_id (when given) 12 digits, username and
    password given and printable ASCII (:func:`connection_username`, :func:`connection_password`)."""
    # An AWX credential without a host injects VSP_HOST as an empty string (AWX sets every env injector):
    # empty counts as not given, so a fleet inventory that names no host for an array fails here, before any request.
    if not (params['host'] or '').strip():
        raise VspApiError('host is required: give the array\'s address as the option host (module_defaults, or '
                          'vsp_connection.host / vsp_host in the shipped playbooks\' inventory) or the environment '
                          'variable VSP_HOST (an AWX credential with an empty host injects it empty); nothing was sent')
    for name, low in (('timeout', 1), ('wait_timeout', 1), ('retries', 0)):
        if params[name] < low:
            raise VspApiError('%s must be at least %d' % (name, low))
    if not 1 <= params['port'] <= PORT_MAX:
        raise VspApiError('port must be between 1 and %d' % PORT_MAX)
    if params['storage_device_id']:
        storage_device_id(params['storage_device_id'])
    connection_username(params['username'])
    connection_password(params['password'])


def _character_kind(char):
    if char == ' ':
        return 'a space'
    if char == ':':
        return 'a colon'
    if ord(char) < 0x20 or ord(char) == 0x7f:
        return 'a control character'
    return 'a character outside ASCII'  # the rest: CONNECTION_*_CHARS hold every other ASCII character


def _printable_ascii(value, name, allowed, rule, how_to_give):
    """Refuse ``value`` naming ``name``, the kinds and 1-based positions of its bad characters (at most
    ``SHOWN_POSITIONS``) and ``rule``; the message never holds the value nor any character of it."""
    if not isinstance(value, str) or not value.strip():
        raise VspApiError('%s is empty (or only white space): %s; nothing was sent' % (name, how_to_give))
    bad = [i + 1 for i, c in enumerate(value) if c not in allowed]
    if bad:
        kinds = []
        for i in bad:
            kind = _character_kind(value[i - 1])
            if kind not in kinds:
                kinds.append(kind)
        where = ', '.join(str(i) for i in bad[:SHOWN_POSITIONS])
        if len(bad) > SHOWN_POSITIONS:
            where += ' and %d more' % (len(bad) - SHOWN_POSITIONS)
        what = kinds[0] if len(kinds) == 1 else '%s and %s' % (', '.join(kinds[:-1]), kinds[-1])
        raise VspApiError('%s contains %s (at position%s %s); the rule: %s; nothing was sent'
                          % (name, what, 's' if len(bad) > 1 else '', where, rule))


def connection_username(value, name='username'):
    """The user name of the connection: printable ASCII without a space or ':' ([I], see CONNECTION_USERNAME_CHARS)."""
    rule = ('a user name of the array uses only printable ASCII: letters A-Z a-z, digits 0-9 and the symbols %s '
            '(no colon, no spaces, no control characters, nothing outside ASCII)' % PASSWORD_SYMBOLS.replace(':', ''))
    _printable_ascii(value, name, CONNECTION_USERNAME_CHARS, rule,
                     'give the array user as the option %s or the environment variable VSP_USERNAME' % name)


def connection_password(value, name='password'):
    """The password of the connection: printable ASCII without a space ([I], see CONNECTION_PASSWORD_CHARS)."""
    rule = ('a password of an array user uses only printable ASCII: letters A-Z a-z, digits 0-9 and the symbols %s '
            '(no spaces, no control characters, nothing outside ASCII)' % PASSWORD_SYMBOLS)
    _printable_ascii(value, name, CONNECTION_PASSWORD_CHARS, rule,
                     'give the password of the array user as the option %s or the environment variable VSP_PASSWORD' % name)


def backup_password(password, name='backup_password'):
    """Raise :class:`VspApiError` naming the parameter and the rule, never the value."""
    rule = ('%s must be %d to %d characters long and use only letters A-Z a-z, digits 0-9 and the symbols %s '
            '(no spaces)' % (name, PASSWORD_MIN, PASSWORD_MAX, PASSWORD_SYMBOLS))
    if password is None or not isinstance(password, str):
        raise VspApiError('%s is required. Rule: %s' % (name, rule))
    if len(password) < PASSWORD_MIN:
        raise VspApiError('%s is too short (%d characters). Rule: %s' % (name, len(password), rule))
    if len(password) > PASSWORD_MAX:
        raise VspApiError('%s is too long (%d characters). Rule: %s' % (name, len(password), rule))
    bad = [i + 1 for i, c in enumerate(password) if c not in PASSWORD_CHARS]
    if bad:
        what = 'a space' if any(password[i - 1].isspace() for i in bad) else 'a character that is not allowed'
        raise VspApiError('%s contains %s (at position %s). Rule: %s'
                          % (name, what, ', '.join(str(i) for i in bad[:5]), rule))


def _octal_mode(mode, name, rule):
    """The int of an octal mode text (``'0600'``, ``'600'``, ``'0o600'``; at most four digits), or refused naming ``name``."""
    text = mode.strip()
    digits = text[2:] if text[:2].lower() == '0o' else text
    if not digits or len(digits) > 4 or any(c not in '01234567' for c in digits):
        raise VspApiError('%s: %s is not an octal mode; %s' % (name, shown(mode), rule))
    return int(digits, 8)


def key_file_mode(mode, name='mode'):
    """The permissions of a key file from a quoted octal text (``'0600'``, ``'600'``, ``'0o600'``) → int.

    Refused, naming ``name`` and the rule: anything but a text (an unquoted YAML ``644`` arrives as the
    integer 644, which would mean mode 1204), a text that is not octal, and a mode that is not
    owner-only: setuid / setgid / sticky, group write, any permission for others, or no owner read.
    Group read (``'0640'``) is allowed.
    """
    rule = ("the rule: a quoted octal text of the owner's permissions, for example '0600' (or '0640' for "
            "group read); no setuid/setgid/sticky bit, no group write, nothing for others")
    if isinstance(mode, int) and not isinstance(mode, bool):
        raise VspApiError("%s must be quoted, for example %s: '0600'. It is the integer %d, which as a mode is octal %04o "
                          "(YAML makes an integer of an unquoted 644: mode 1204, not 0644); %s"
                          % (name, name, mode, max(mode, 0) & 0o7777, rule))
    if not isinstance(mode, str):
        raise VspApiError('%s must be a quoted octal text, not %s; %s' % (name, shown(mode), rule))
    value = _octal_mode(mode, name, rule)
    bad = []
    if value & 0o7000:
        bad.append('setuid/setgid/sticky')
    if value & 0o020:
        bad.append('group write')
    if value & 0o007:
        bad.append('permissions for others')
    if not value & 0o400:
        bad.append('no owner read')
    if bad:
        raise VspApiError('%s: %s (%04o) is not allowed for a key file (%s); %s' % (name, shown(mode), value, ', '.join(bad), rule))
    return value


def directory_mode(mode, name='directory_mode'):
    """The permissions of a backup directory from a quoted octal text (``'0700'``, ``'750'``, ``'0o700'``) → int.

    Refused, naming ``name``: anything but a text (an unquoted YAML ``755`` arrives as the integer 755) and a text
    that is not an octal mode of at most four digits. The owner needs write and search permission to put key files
    into it (``'0700'`` keeps it private).
    """
    rule = "the rule: a quoted octal text, for example '0700'"
    if isinstance(mode, bool) or not isinstance(mode, str):
        raise VspApiError('%s must be a quoted octal text, not %s (YAML makes an integer of an unquoted 700); %s'
                          % (name, shown(mode), rule))
    value = _octal_mode(mode, name, rule)
    if value & 0o300 != 0o300:
        raise VspApiError('%s: %s (%04o) gives the owner no write or search permission, so no key file can be put into '
                          'the directory; %s' % (name, shown(mode), value, rule))
    return value


def writable_parent(path, name='path'):
    """The directory a new file ``path`` goes to exists and is writable."""
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise VspApiError('The directory %s of %s does not exist; create it first (%s)' % (parent, name, NOTHING_SENT))
    if not os.access(parent, os.W_OK):
        raise VspApiError('The directory %s of %s is not writable (%s)' % (parent, name, NOTHING_SENT))


def readable_path(path, name='path'):
    """``path`` is a readable file or directory."""
    if not os.path.exists(path):
        raise VspApiError('%s: %s does not exist (%s)' % (name, path, NOTHING_SENT))
    if not os.path.isdir(path) and not os.path.isfile(path):
        raise VspApiError('%s: %s is neither a file nor a directory (%s)' % (name, path, NOTHING_SENT))
    if not os.access(path, os.R_OK):
        raise VspApiError('%s: %s is not readable (%s)' % (name, path, NOTHING_SENT))


def named_file_without_manifest(path, verify_manifest, name='path'):
    """``verify_manifest: false`` needs the key file named: picking one from a directory reads the manifests."""
    if not verify_manifest and os.path.isdir(path):
        raise VspApiError('%s: %s is a directory; picking a file from it reads the manifests, so verify_manifest: false '
                          'needs the key file named. Nothing was changed on the array.' % (name, path))


def concurrency(value, high, name='concurrency'):
    if not 1 <= value <= high:
        raise VspApiError('%s must be between 1 and %d, got %d' % (name, high, value))
    return value


def keep(value, name='keep'):
    """How many key files retention keeps: 0 (keep all) or more."""
    if value < 0:
        raise VspApiError('%s must be 0 (keep all) or more, not %d' % (name, value))
    return value


def max_age_hours(value, name='max_age_hours'):
    """The oldest the newest verified key file may be, in hours: more than 0."""
    if value is None or value <= 0:
        raise VspApiError('%s must be more than 0 (the oldest the newest verified key file may be), not %r' % (name, value))
    return value


def job_id_option(value, name='job_id'):
    """A job id the user gives (None: not given): a non-negative integer."""
    if value is not None and value < 0:
        raise VspApiError('%s must be a non-negative integer' % name)
    return value


def not_empty(value, name):
    """A list option that is given (not None) must hold at least one item."""
    if value is not None and not value:
        raise VspApiError('%s must not be empty' % name)
    return value


def audit_inputs(storage, encryption_keys, key_types):
    """The results of encryption_key_info an audit is given: ``storage`` with its id, every key type listed.

    Returns the storage device id (12 digits)."""
    if not (storage or {}).get('storage_device_id'):
        raise VspApiError('storage must hold storage_device_id (pass the storage result of vsp.encryption.encryption_key_info)')
    sid = storage_device_id(str(storage['storage_device_id']))
    keys = encryption_keys or {}
    missing = [t for t in key_types if not isinstance(keys.get(t), list)]
    if missing:
        raise VspApiError('encryption_keys must list every key type (the encryption_keys result of '
                          'vsp.encryption.encryption_key_info with all four types); missing: %s' % ', '.join(missing))
    return sid
