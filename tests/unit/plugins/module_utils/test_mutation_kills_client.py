# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants of client.py that survived `make mutation` (docs/mutation.md)."""

import errno
import json

import pytest
import requests
import urllib3

from ansible_collections.vsp.encryption.plugins.module_utils import client
from ansible_collections.vsp.encryption.plugins.module_utils.client import VspClient


def response(status, body=b'', content_type=None, headers=None):
    answer = requests.Response()
    answer.status_code = status
    answer._content = body
    if content_type:
        answer.headers['Content-Type'] = content_type
    answer.headers.update(headers or {})
    return answer


@pytest.mark.parametrize('status, hint', [
    (401, ' (user name or password rejected, or the session expired)'),
    (403, ' (the user lacks the role this operation needs)'),
    (404, ''),
    (402, ''),
])
def test_http_error_summary_names_401_and_403_only(status, hint):
    exc = VspClient._http_error('GET', '/v1/x', response(status, b'{}', 'application/json'))
    assert exc.msg == 'GET /v1/x failed with HTTP %d%s' % (status, hint)
    assert (exc.status, exc.method, exc.path) == (status, 'GET', '/v1/x')


def test_http_error_names_a_non_json_answer_type_capped():
    exc = VspClient._http_error('POST', '/v1/y', response(500, b'<html>', 'text/' + 'h' * 100))
    assert exc.msg == 'POST /v1/y failed with HTTP 500 (answer of type %s...)' % ('text/' + 'h' * 75)
    exc = VspClient._http_error('POST', '/v1/y', response(401, b'<html>', 'text/html'))
    assert exc.msg.endswith('(user name or password rejected, or the session expired) (answer of type text/html)')


def test_http_error_reads_json_without_content_type_and_ignores_json_of_another_type():
    body = json.dumps({'messageId': 'KART1-E', 'message': 'm'}).encode()
    exc = VspClient._http_error('GET', '/v1/z', response(400, body))
    assert exc.message_id == 'KART1-E'
    assert exc.msg == 'GET /v1/z failed with HTTP 400'
    exc = VspClient._http_error('GET', '/v1/z', response(400, body, 'text/plain'))
    assert exc.message_id is None
    assert exc.msg.endswith('(answer of type text/plain)')


def test_http_error_keeps_a_given_summary():
    exc = VspClient._http_error('GET', '/v1/z', response(401, b'x', 'text/plain'), 'login failed')
    assert exc.msg == 'login failed'


@pytest.mark.parametrize('value, expected', [('0', 0.0), ('0.5', 0.5), ('-3', 0.0), ('500', client.RETRY_AFTER_CAP), ('soon', None)])
def test_retry_after_is_clamped(value, expected):
    assert VspClient._retry_after(response(503, headers={'Retry-After': value})) == expected


def test_retry_after_absent():
    assert VspClient._retry_after(response(503)) is None


@pytest.mark.parametrize('text, expected', [
    ('[Errno %d] whatever' % errno.ECONNREFUSED, 'connection refused'),
    ('Connection refused', 'connection refused'),
    ('nodename nor servname provided', 'host name could not be resolved'),
    ('Temporary failure in name resolution', 'host name could not be resolved'),
    ('getaddrinfo failed', 'host name could not be resolved'),
    ('Name or service not known', 'host name could not be resolved'),
    ('Connection reset by peer', 'connection reset by peer'),
    ('RemoteDisconnected(...)', 'connection closed by the server'),
    ('Connection aborted.', 'connection closed by the server'),
    ('Server closed connection', 'connection closed by the server'),
    ('something else', 'connection error (ConnectionError)'),
])
def test_connection_error_names(text, expected):
    assert client._describe_connection_error(requests.exceptions.ConnectionError(text)) == expected


def test_connect_timeout_and_unknown_errors():
    assert client._describe_connection_error(requests.exceptions.ConnectTimeout('x')) == 'connection timed out'
    assert client._describe_connection_error(requests.exceptions.ReadTimeout('x')) == 'connection error (ReadTimeout)'


def test_not_sent_only_when_the_request_cannot_have_reached_the_array():
    assert client._not_sent(requests.exceptions.ConnectTimeout('x'), 'connection timed out')
    wrapped = urllib3.exceptions.MaxRetryError(None, '/x', urllib3.exceptions.NewConnectionError(None, 'refused'))
    assert client._not_sent(requests.exceptions.ConnectionError(wrapped), 'connection error (ConnectionError)')
    assert client._not_sent(requests.exceptions.ConnectionError(urllib3.exceptions.ConnectTimeoutError('t')), 'other')
    assert not client._not_sent(requests.exceptions.ConnectionError('x'), 'connection closed by the server')
    assert not client._not_sent(requests.exceptions.ConnectionError(), 'connection reset by peer')
    assert client._not_sent(requests.exceptions.ConnectionError(), 'connection refused')
