# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one home of local validation: ids given by the user and ids sent by the array.

Every function raises :class:`VspApiError` naming the parameter (or the array's field) and the rule,
with the offending value escaped, and never changes anything. They run before any request is sent
(user input) or before a value sent by the array is used for anything (a path, a glob, a URL).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.vsp.encryption.plugins.module_utils.errors import VspApiError

STORAGE_DEVICE_ID_RE = re.compile(r'^[0-9]{12}\Z')  # \Z: $ would accept a trailing newline
PARITY_GROUP_ID_RE = re.compile(r'^[0-9]{1,3}-[0-9]{1,3}\Z')
# as the array may send it: an external parity group carries an E (E1-1)
ARRAY_PARITY_GROUP_ID_RE = re.compile(r'^E?[0-9]{1,3}-[0-9]{1,3}\Z')
KEY_ID_MAX = 4095
LDEV_ID_MAX = 65279
POOL_ID_MAX = 127
SHOWN_MAX = 80


def shown(value):
    """``value`` as it may appear in a message: repr-escaped (no control character reaches a terminal), capped."""
    text = repr(value)
    if len(text) > SHOWN_MAX:
        text = text[:SHOWN_MAX] + '...'
    return text


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
