# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Lists as a message shows them: capped ("and 37 more"), and LDEV ids as ranges ("0-3, 8, 10-12").

A message about 1,024 pool volumes or 50 arrays' files stays readable: no list in a message grows with the array.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

LIMIT = 8


def capped(values, limit=LIMIT, sep=', '):
    """At most ``limit`` values joined with ``sep``, and how many more there are."""
    values = list(values)
    more = ' and %d more' % (len(values) - limit) if len(values) > limit else ''
    return sep.join(str(v) for v in values[:limit]) + more


def bracketed(values, limit=LIMIT):
    """Values as a message lists them, in brackets and capped: ``[1-1, 1-2]``, ``[]``, ``[a, b, ... and 3 more]``."""
    return '[%s]' % capped(values or [], limit)


def id_ranges(values, limit=LIMIT):
    """Integer ids as sorted ranges, at most ``limit`` ranges: ``[0, 1, 2, 3, 8, 10, 11]`` → ``0-3, 8, 10-11``;
    ``none`` for no id. The count of ids left out is said ("and 37 more ids")."""
    ids = sorted(set(int(v) for v in values or []))
    if not ids:
        return 'none'
    spans = []
    for value in ids:
        if spans and value == spans[-1][1] + 1:
            spans[-1][1] = value
        else:
            spans.append([value, value])
    shown = spans[:limit]
    text = ', '.join(('%d' % a) if a == b else ('%d-%d' % (a, b)) for a, b in shown)
    left = sum(b - a + 1 for a, b in spans[limit:])
    return text + (' and %d more' % left if left else '')
