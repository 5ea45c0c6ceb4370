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
                 method=None, path=None, details=None):
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

    @classmethod
    def from_error_object(cls, summary, error, *, status=None, method=None, path=None, details=None):
        """Build from the array's error object (an HTTP error body or the ``error`` of a failed job)."""
        error = error if isinstance(error, dict) else {}
        message_id = error.get('messageId') or error.get('messageID')
        if not message_id and isinstance(error.get('errorCode'), dict):
            code = error['errorCode']
            if code.get('SSB1') or code.get('SSB2'):
                message_id = 'SSB1=%s SSB2=%s' % (code.get('SSB1', '-'), code.get('SSB2', '-'))
        return cls(summary, status=status, message_id=message_id, message=error.get('message'),
                   cause=error.get('cause'), solution=error.get('solution'), method=method, path=path,
                   details=details)

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
