# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one exception type of the collection.

It carries what a person needs to act (HTTP status, the array's messageId, message, cause and
solution, the request method and path) and never a request body, a header or a secret.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import unicodedata

TEXT_MAX = 500  # characters of array text (message, cause, solution, messageId...) kept in a message


def _clean(text, limit, strip):
    if len(text) <= limit and text.isprintable():  # the common case, decided in C
        return text.strip() if strip else text
    if len(text) > limit * 4:  # bound the work on a huge value before looking at each character
        text = text[:limit * 4]
    text = ''.join(' ' if unicodedata.category(ch) in ('Cc', 'Cf', 'Zl', 'Zp') else ch for ch in text)
    if strip:
        text = text.strip()
    if len(text) > limit:
        text = text[:limit].rstrip() + '...'
    return text


def clean_text(value, limit=TEXT_MAX):
    """Text sent by the array, made safe to show: control characters become spaces, length capped.

    Every character of Unicode category ``Cc`` (C0 and C1 controls, DEL: ESC, CR, LF, TAB...), ``Cf``
    (format characters such as bidirectional overrides and zero-width characters), ``Zl`` and ``Zp``
    (line and paragraph separators) is replaced by a space, so no terminal escape sequence and no
    forged line reaches an operator's terminal or a log. Text longer than ``limit`` is cut and ends
    with ``...``; leading and trailing spaces are removed. ``None`` stays ``None``; anything else is
    converted with ``str``.
    """
    if value is None:
        return None
    return _clean(value if isinstance(value, str) else str(value), limit, True)


def clean_json(value, limit=TEXT_MAX):
    """A JSON answer of the array with every text (keys too) cleaned as by :func:`clean_text`, but not
    stripped (a value keeps its spaces); numbers, booleans and ``None`` stay as they are."""
    if isinstance(value, str):
        return _clean(value, limit, False)
    if isinstance(value, list):
        return [clean_json(item, limit) for item in value]
    if isinstance(value, dict):
        return dict((clean_json(k, limit) if isinstance(k, str) else k, clean_json(v, limit)) for k, v in value.items())
    return value


ERROR_FIELDS = ('status', 'message_id', 'message', 'cause', 'solution', 'method', 'path')
RESULT_NAMES = {
    'status': 'http_status',
    'message_id': 'message_id',
    'message': 'error_message',
    'cause': 'cause',
    'solution': 'solution',
    'method': 'request_method',
    'path': 'request_path',
}


class VspApiError(Exception):
    """An error talking to the array, or a precondition the collection checks itself.

    ``msg`` is a one-line summary; the remaining fields come from the array's error object
    (``messageId``, ``message``, ``cause``, ``solution``) or from the HTTP exchange.
    ``details`` is an optional dict of extra return values (for example the volumes that changed),
    it must never contain secrets.
    """

    def __init__(self, msg, *, status=None, message_id=None, message=None, cause=None, solution=None,
                 method=None, path=None, details=None, solution_type=None):
        super(VspApiError, self).__init__(msg)
        self.msg = msg
        self.status = status
        self.message_id = message_id
        self.message = message
        self.cause = cause
        self.solution = solution
        self.method = method
        self.path = path
        self.details = details or {}
        self.solution_type = solution_type  # the array's solutionType (RETRY: repeating the request may succeed)

    @classmethod
    def from_error_object(cls, summary, error, *, status=None, method=None, path=None, details=None):
        """Build from the array's error object (an HTTP error body or the ``error`` of a failed job).

        Every text of the array passes :func:`clean_text` (no control characters, capped).
        """
        error = error if isinstance(error, dict) else {}
        message_id = error.get('messageId') or error.get('messageID')
        if not message_id and isinstance(error.get('errorCode'), dict):
            code = error['errorCode']
            if code.get('SSB1') or code.get('SSB2'):
                message_id = 'SSB1=%s SSB2=%s' % (clean_text(code.get('SSB1', '-'), 16), clean_text(code.get('SSB2', '-'), 16))
        return cls(summary, status=status, message_id=clean_text(message_id, 64), message=clean_text(error.get('message')),
                   cause=clean_text(error.get('cause')), solution=clean_text(error.get('solution')), method=method, path=path,
                   details=details, solution_type=clean_text(error.get('solutionType'), 64))

    def describe(self):
        """A message a person can act on."""
        parts = [self.msg]
        if self.status is not None and 'HTTP %s' % self.status not in self.msg:
            parts.append('(HTTP %s)' % self.status)
        head = ' '.join(parts)
        extra = []
        if self.message_id or self.message:
            extra.append(' '.join(p for p in (self.message_id, self.message) if p))
        if self.cause:
            extra.append('Cause: %s' % self.cause)
        if self.solution:
            extra.append('Solution: %s' % self.solution)
        if extra:
            head = '%s%s %s' % (head, '' if head.endswith('.') else ':', ' '.join(e if e.endswith('.') else e + '.' for e in extra))
        return head

    def to_result(self):
        """The fields as return keys, named so they cannot clash with a module's own return keys."""
        result = {}
        for field in ERROR_FIELDS:
            value = getattr(self, field)
            if value is not None:
                result[RESULT_NAMES[field]] = value
        return result

    def __str__(self):
        return self.describe()


class VspUnreachable(VspApiError):
    """The array was not reached, or stopped answering: the connection could not be made (refused, timed out, host
    name unknown), TLS verification failed, or the connection broke or timed out before an answer came.

    A :class:`VspApiError` like any other (every caller that catches that one catches this one); raised by the client
    so that a caller that must tell "the array answered" from "the array was not reached" can (the first-contact
    check does). ``reason`` is the short, secret-free name of the cause (``connection refused``, ``TLS error (...)``);
    ``tls`` is true when TLS failed (certificate not trusted, host name mismatch, handshake); ``detail`` is then
    OpenSSL's reason when it gave one (``unable to get local issuer certificate``).
    """

    def __init__(self, msg, *, reason=None, tls=False, detail=None, **kwargs):
        super(VspUnreachable, self).__init__(msg, **kwargs)
        self.reason = reason
        self.tls = tls
        self.detail = detail
