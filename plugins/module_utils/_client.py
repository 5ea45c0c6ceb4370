# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HTTP to the array: one keep-alive session per module run, log in / log out, retries, errors.

Rules (see docs/architecture.md):

* one ``requests.Session`` per module run, with a connection pool at least as large as the
  module's concurrency;
* log in once with Basic auth (``POST /v1/objects/sessions``), then ``Authorization: Session <token>``;
  on 401 log in again once and repeat the request; always ``DELETE`` the session at the end;
* redirects are never followed: a 3xx is an error naming the location, nothing is sent there;
* every answer is read as a stream, bounded in size (:data:`JSON_MAX`, :data:`KEY_FILE_MAX`) and by
  a wall-clock deadline of ``timeout`` seconds per request (``requests``' own timeout bounds each
  socket read only, so a server dripping one byte at a time would never end);
* retried with exponential back-off and jitter, honouring ``Retry-After``, at most ``retries``
  times: HTTP 503, HTTP 500 with an HTML page (VSP E series and G/F 350-900 answer so for minutes
  after long REST use; a GET also on an empty HTTP 200, which may precede them), the
  error ``KART00003-E`` (REST server busy), connection errors before the
  request was sent, and, only for requests marked idempotent (GET, LDEV status changes), error
  objects with ``solutionType: RETRY``, read timeouts and connections broken after the request was sent. Every retry is recorded in
  :attr:`VspClient.retries_made` (method, path, reason, wait; never a secret);
* the first contact (:meth:`VspClient.first_contact`, used by the read-only API check) is bounded: the log in is
  tried once, with a short connect timeout, and an array that cannot be reached fails at once instead of
  after the retries; every other request keeps the rules above;
* every failure becomes a :class:`VspApiError` naming the cause (:class:`VspUnreachable` when the array was not
  reached or stopped answering, a subclass, so callers may tell them apart). Nothing here ever logs, returns
  or raises a request body, a header, a password or a token; text the array sends passes
  :func:`clean_text`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import random
import re
import threading
import time
import traceback

try:
    import requests
    import urllib3
    from requests.adapters import HTTPAdapter
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    requests = None
    urllib3 = None
    HTTPAdapter = object
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.vsp.encryption.plugins.module_utils._errors import TEXT_MAX, VspApiError, VspUnreachable, clean_json, clean_text
from ansible_collections.vsp.encryption.plugins.module_utils._limits import JSON_MAX, KEY_FILE_MAX

BASE_PATH = '/ConfigurationManager'
SESSIONS_PATH = '/v1/objects/sessions'
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
RETRY_AFTER_CAP = 120.0
READ_CHUNK = 16 * 1024
LOCATION_MAX = 200
BUSY_MESSAGE_ID = 'KART00003-E'
FIRST_CONTACT_CONNECT_TIMEOUT = 10  # seconds to set up the first connection (TCP and TLS) in first_contact()
IDEMPOTENT_METHODS = ('GET', 'HEAD')
# a JSON body of printable ASCII without escapes (whitespace between tokens allowed: raw control
# characters are not valid inside JSON strings) and without a long text holds nothing to clean
_PLAIN_BYTES = bytes(c for c in range(0x20, 0x7f) if c != 0x5c) + b'\t\n\r'
_LONG_TEXT = re.compile(br'"[^"]{%d,}"' % (TEXT_MAX + 1))

__all__ = ['VspClient', 'HAS_REQUESTS', 'REQUESTS_IMPORT_ERROR', 'JSON_MAX', 'KEY_FILE_MAX', 'media_type']


class _BodyError(Exception):
    """Reading an answer failed; ``retryable``: the answer may simply be asked for again."""

    def __init__(self, reason, retryable):
        super(_BodyError, self).__init__(reason)
        self.reason = reason
        self.retryable = retryable


class _BoundedRaw(object):
    """Stands in for a streamed answer's urllib3 response: ``requests``' ``iter_content`` reads it
    through :meth:`stream`, which stops at the size limit and at the request's deadline."""

    def __init__(self, client, raw, *, method, path, limit, deadline, status):
        self._client = client
        self._raw = raw
        self._what = (method, path, limit, deadline, status)

    def stream(self, amt=None, decode_content=None):
        method, path, limit, deadline, status = self._what
        total = 0
        try:
            for chunk in self._client._chunks(self._raw, deadline):
                total += len(chunk)
                if total > limit:
                    raise _BodyError('the answer is larger than the limit of %d bytes' % limit, retryable=False)
                yield chunk
        except _BodyError as exc:
            self._raw.close()
            raise VspApiError('%s %s: %s' % (method, path, exc.reason), status=status, method=method, path=path) from None

    def read(self, amt=None, decode_content=None, cache_content=False):
        return b''.join(self.stream())

    def __getattr__(self, name):
        return getattr(self._raw, name)


def media_type(response):
    """The media type of an answer (``application/json``), lower case, without parameters; '' when absent."""
    value = response.headers.get('Content-Type') or ''
    return value.split(';', 1)[0].strip().lower()


def _json_or_none(response):
    try:
        return response.json()
    except ValueError:
        return None


def _describe_connection_error(exc):
    """A short, secret-free name for why a connection failed."""
    text = str(exc)
    lowered = text.lower()
    if requests is not None and isinstance(exc, requests.exceptions.SSLError):
        if 'hostname mismatch' in lowered or "doesn't match" in lowered or 'ip address mismatch' in lowered:
            return ('TLS error (hostname mismatch: the certificate of the array does not name the host connected to; '
                    'set host to a name or IP address the certificate lists)')
        if 'wrong version number' in lowered:
            return 'TLS error (the server did not answer with TLS: check port and protocol)'
        return 'TLS error (certificate not trusted? set ca_path to the CA of the array, or validate_certs: false for a test system)'
    if 'refused' in lowered or 'errno %d' % errno.ECONNREFUSED in lowered:
        return 'connection refused'
    if 'name or service not known' in lowered or 'nodename nor servname' in lowered or 'name resolution' in lowered \
            or 'getaddrinfo' in lowered:
        return 'host name could not be resolved'
    if 'reset by peer' in lowered:
        return 'connection reset by peer'
    if 'remotedisconnected' in lowered or 'aborted' in lowered or 'closed connection' in lowered:
        return 'connection closed by the server'
    if requests is not None and isinstance(exc, requests.exceptions.ConnectTimeout):
        return 'connection timed out'
    return 'connection error (%s)' % type(exc).__name__


_VERIFY_FAILED = re.compile(r'certificate verify failed: ([^()\[\]\'"]{1,120})')


def _tls_detail(exc):
    """OpenSSL's reason why verification failed (``unable to get local issuer certificate``), or None."""
    match = _VERIFY_FAILED.search(str(exc))
    return clean_text(match.group(1).strip(), 120) if match else None


def _not_sent(exc, description):
    """True when the connection failed before the request could reach the array (safe to send again)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, 'reason', reason)  # urllib3's MaxRetryError wraps the cause
    if urllib3 is not None and isinstance(reason, urllib3.exceptions.ConnectTimeoutError):
        return True  # NewConnectionError and NameResolutionError are ConnectTimeoutErrors too
    return description in ('connection refused', 'host name could not be resolved', 'connection timed out')


class VspClient(object):
    """One module run's connection to the array.

    Use as a context manager: the session is deleted on exit, also when the body raised.
    ``params`` is the module's ``params``: every connection option of the doc fragment, with the
    defaults the argument spec applied (``runner.connection_argument_spec``) and checked by
    ``validate.connection_params``.
    ``sleep``, ``rng`` (an object with ``uniform(a, b)``, for example ``random.Random(1)``) and
    ``clock`` (monotonic seconds) are injectable so that back-off and deadlines are testable exactly.
    """

    def __init__(self, params, sleep=None, pool_size=10, rng=None, clock=None):
        self.host = params['host']
        self.port = params['port']
        self.protocol = params['protocol']
        self._username = params['username']
        self._password = params['password']
        self.storage_device_id = params['storage_device_id'] or None
        self.timeout = params['timeout']
        self.retries = params['retries']
        self.wait_timeout = params['wait_timeout']
        self.sleep = sleep or time.sleep
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.clock = clock or time.monotonic
        self.base_url = '%s://%s:%s%s' % (self.protocol, self.host, self.port, BASE_PATH)
        self.http = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(10, pool_size))
        self.http.mount('https://', adapter)
        self.http.mount('http://', adapter)
        if params['validate_certs']:
            self.verify = params['ca_path'] or True
        else:
            self.verify = False
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        # passed with every request too: a session-level verify loses against REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE
        self.http.verify = self.verify
        # identity: no compressed answers, so the size limits bound what is held in memory
        self.http.headers.update({'Accept': 'application/json', 'User-Agent': 'vsp.encryption', 'Accept-Encoding': 'identity'})
        self._token = None
        self._session_id = None
        self._lock = threading.Lock()
        self._retry_lock = threading.Lock()
        # set only inside first_contact(): connect timeout (None: timeout) and whether connection failures are retried
        self._connect_timeout = None
        self._retry_unreachable = True
        self.retries_made = []  # one dict per retry: method, path, reason, wait_seconds (never a secret)

    @property
    def username(self):
        """The user the client logs in as (not a secret; the password has no such accessor)."""
        return self._username

    # -- context manager --------------------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def close(self):
        try:
            self.logout()
        finally:
            self.http.close()

    # -- session ------------------------------------------------------------------------------------
    def login(self):
        # repeating a log in is harmless (at worst one more session, which times out on the array)
        response = self._send('POST', SESSIONS_PATH, auth_mode='basic', json={}, idempotent=True)
        if response.status_code != 200:
            summary = 'Log in as %s failed' % self._username
            if response.status_code == 401:
                summary += ' (check username and password)'
            raise self._http_error('POST', SESSIONS_PATH, response, summary)
        body = _json_or_none(response) or {}
        if not isinstance(body, dict) or not body.get('token') or body.get('sessionId') is None:
            raise VspApiError('Log in failed: the answer has no token and sessionId', status=response.status_code,
                              method='POST', path=SESSIONS_PATH)
        self._token = body['token']
        self._session_id = body['sessionId']

    def first_contact(self, connect_timeout=FIRST_CONTACT_CONNECT_TIMEOUT):
        """Log in now, bounded, to learn fast whether the array can be reached at all.

        The log in is sent once: a connection that is refused, not set up (TCP and TLS) within
        ``connect_timeout`` seconds (at most ``timeout``), fails TLS verification or breaks raises
        :class:`VspUnreachable` at once, without the retries and back-off (which, on a wrong port, add up to
        minutes over the many requests of a module). Answers of the array keep the usual rules: a 503 (busy,
        session cap) is retried, a 401 raises the array's error at once. Every later request keeps the
        options as given. Does nothing when already logged in.
        """
        with self._lock:
            if self._token is not None:
                return
            saved = self._connect_timeout, self._retry_unreachable
            self._connect_timeout, self._retry_unreachable = min(connect_timeout, self.timeout), False
            try:
                self.login()
            finally:
                self._connect_timeout, self._retry_unreachable = saved

    def logout(self):
        """Delete the session; never raises (the module's own result or error matters more)."""
        if self._session_id is None:
            return
        session_id, self._session_id = self._session_id, None
        try:
            # the same bounded retries as every request: a session left behind counts against the
            # array's 64-session cap until its idle timeout
            self._send('DELETE', '%s/%s' % (SESSIONS_PATH, session_id), auth_mode='session', json={}, idempotent=True)
        except Exception:  # noqa: BLE001, S110 - logging out is best effort
            pass
        finally:
            self._token = None

    # -- requests -----------------------------------------------------------------------------------
    def request(self, method, path, *, params=None, json=None, files=None, headers=None, stream=False, expected=(200, 202),
                idempotent=None, limit=None):
        """Send one authenticated request and return the ``requests.Response``.

        ``path`` is relative to ``/ConfigurationManager`` (for example ``/v1/objects/ldevs``).
        Logs in on first use; on 401 logs in again once and repeats. Raises :class:`VspApiError`
        for any status not in ``expected``.

        ``idempotent``: repeating the request is harmless (default: true for GET only); only then
        are read timeouts and connections broken after sending retried.
        ``stream``: a successful answer is returned unread; its ``iter_content`` yields the body
        bounded by ``limit`` bytes (default :data:`KEY_FILE_MAX`) and the request's deadline.
        Otherwise the body is read here, at most :data:`JSON_MAX` bytes, within the deadline.
        """
        with self._lock:
            if self._token is None:
                self.login()
            token = self._token
        response = self._send(method, path, params=params, json=json, files=files, headers=headers, stream=stream,
                              auth_mode='session', token=token, idempotent=idempotent, limit=limit)
        if response.status_code == 401:
            response.close()
            with self._lock:
                if self._token == token:  # no other thread logged in again meanwhile
                    self._token = None
                    self._session_id = None
                    self.login()
                token = self._token
            response = self._send(method, path, params=params, json=json, files=files, headers=headers, stream=stream,
                                  auth_mode='session', token=token, idempotent=idempotent, limit=limit)
        if response.status_code not in expected:
            raise self._http_error(method, path, response)
        return response

    def get_json(self, path, params=None):
        """The JSON answer of a GET, every text in it cleaned (:func:`clean_json`: no control characters, capped)."""
        response = self.request('GET', path, params=params)
        body = _json_or_none(response)
        if body is None:
            raise VspApiError('GET %s answered something that is not JSON' % path, status=response.status_code,
                              method='GET', path=path)
        content = response.content
        if not content.translate(None, _PLAIN_BYTES) and _LONG_TEXT.search(content) is None:
            return body
        return clean_json(body)

    # -- retries ------------------------------------------------------------------------------------
    def backoff(self, attempt, retry_after=None):
        """Seconds to wait before retry number ``attempt + 1``: ``Retry-After`` if the array sent one,
        else exponential (0.5, 1, 2, ... capped at 30 s) with jitter over its upper half."""
        if retry_after is not None:
            return retry_after
        delay = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** attempt))
        return delay / 2.0 + self.rng.uniform(0, delay / 2.0)

    def record_retry(self, method, path, reason, wait):
        """Note one retry (shown in the module's result); ``path`` carries no query and no secret."""
        with self._retry_lock:
            self.retries_made.append({'method': method, 'path': path, 'reason': reason, 'wait_seconds': round(wait, 3)})

    @staticmethod
    def _retry_after(response):
        value = response.headers.get('Retry-After')
        if value is None:
            return None
        try:
            return max(0.0, min(float(value), RETRY_AFTER_CAP))
        except ValueError:
            return None

    @staticmethod
    def _retry_reason(response, method, idempotent):
        """Why an answer (body already read) is worth asking for again, or None."""
        status = response.status_code
        if status == 200 and method == 'GET' and not response.content:
            return 'HTTP 200 with an empty body'  # Hitachi: may come before the 500 HTML answers
        if status == 503:
            return 'HTTP 503'
        if status == 500 and media_type(response) == 'text/html':
            return 'HTTP 500 with an HTML page'
        if status >= 400 and status != 401:
            body = _json_or_none(response)
            body = body if isinstance(body, dict) else {}
            message_id = body.get('messageId') or body.get('messageID')
            if message_id == BUSY_MESSAGE_ID:
                return 'HTTP %d %s (the REST server is busy)' % (status, BUSY_MESSAGE_ID)
            if idempotent and body.get('solutionType') == 'RETRY':
                return 'HTTP %d %s with solutionType RETRY' % (status, clean_text(message_id or 'no messageId', 64))
        return None

    # -- sending and reading ------------------------------------------------------------------------
    def _send(self, method, path, *, params=None, json=None, files=None, headers=None, stream=False, auth_mode='session',
              token=None, idempotent=None, limit=None):
        """Send with bounded retries; return the response, its body read unless it is a successful stream."""
        url = self.base_url + path
        all_headers = dict(headers or {})
        auth = None
        if auth_mode == 'basic':
            auth = (self._username, self._password)
        elif auth_mode == 'session':
            all_headers['Authorization'] = 'Session %s' % (token or self._token)
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        maybe_done = '; the array may have carried out the request, check its state before repeating it'
        timeout = self.timeout if self._connect_timeout is None else (self._connect_timeout, self.timeout)
        attempt = 0
        while True:
            retry_after = None
            unreachable = True  # until the array answered: a failure is the connection's, not the array's
            deadline = self.clock() + self.timeout
            try:
                response = self.http.request(method, url, params=params, json=json if files is None else None,
                                             data=None, files=files, headers=all_headers, auth=auth,
                                             timeout=timeout, stream=True, verify=self.verify, allow_redirects=False)
            except requests.exceptions.ReadTimeout:
                reason = 'timed out after %s s (timeout)' % self.timeout
                if not idempotent:
                    raise VspApiError('%s %s %s%s' % (method, path, reason, maybe_done), method=method, path=path) from None
            except requests.exceptions.SSLError as exc:
                reason = _describe_connection_error(exc)
                raise VspUnreachable('%s %s failed: %s' % (method, path, reason), reason=reason, tls=True,
                                     detail=_tls_detail(exc), method=method, path=path) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                reason = _describe_connection_error(exc)
                if reason == 'connection timed out' and self._connect_timeout is not None:
                    reason = 'connection timed out (not set up within %s s)' % self._connect_timeout
                if not idempotent and not _not_sent(exc, reason):
                    raise VspApiError('%s %s failed: %s after the request was sent%s' % (method, path, reason, maybe_done),
                                      method=method, path=path) from None
            except requests.exceptions.RequestException as exc:
                raise VspApiError('%s %s failed: %s' % (method, path, type(exc).__name__), method=method, path=path) from None
            else:
                status = response.status_code
                if 300 <= status < 400:
                    location = clean_text(response.headers.get('Location'), LOCATION_MAX)
                    response.close()
                    raise VspApiError('%s %s: the array answered HTTP %d, a redirect to %s. Redirects are not followed and '
                                      'nothing was sent there; check host, port and protocol'
                                      % (method, path, status, repr(location) if location else 'no location'),
                                      status=status, method=method, path=path)
                try:
                    if stream and 200 <= status < 300:
                        self._bound_stream(response, method, path, KEY_FILE_MAX if limit is None else limit, deadline)
                        return response
                    self._read_body(response, method, path, JSON_MAX, deadline)
                except _BodyError as exc:
                    response.close()
                    if not (exc.retryable and idempotent):
                        raise VspApiError('%s %s: %s%s' % (method, path, exc.reason, '' if idempotent else maybe_done),
                                          status=status, method=method, path=path) from None
                    reason = exc.reason
                else:
                    unreachable = False
                    reason = self._retry_reason(response, method, idempotent)
                    if reason is None:
                        return response
                    retry_after = self._retry_after(response)
                    if attempt >= self.retries:
                        raise self._http_error(method, path, response, '%s %s: %s after %d retries'
                                               % (method, path, reason, self.retries))
                    response.close()
            if unreachable and not self._retry_unreachable:
                raise VspUnreachable('Cannot reach %s://%s:%s (%s %s): %s' % (self.protocol, self.host, self.port, method, path, reason),
                                     reason=reason, method=method, path=path)
            if attempt >= self.retries:
                raise VspUnreachable('Cannot reach %s://%s:%s (%s %s): %s after %d retries'
                                     % (self.protocol, self.host, self.port, method, path, reason, self.retries),
                                     reason=reason, method=method, path=path)
            wait = self.backoff(attempt, retry_after)
            self.record_retry(method, path, reason, wait)
            self.sleep(wait)
            attempt += 1

    def _chunks(self, raw, deadline):
        """The body of a urllib3 response ``raw`` piece by piece, ending by ``deadline`` (raises :class:`_BodyError`).

        ``read1`` returns what one socket read brings, so a server dripping bytes cannot hold a
        read open past the deadline (urllib3 1.x lacks it: there a read waits for a whole chunk).
        """
        read1 = getattr(raw, 'read1', None)
        while True:
            if self.clock() > deadline:
                raise _BodyError('the answer did not arrive within %s s (timeout)' % self.timeout, retryable=False)
            try:
                if read1 is not None:
                    data = read1(READ_CHUNK, decode_content=True)
                else:
                    data = raw.read(READ_CHUNK, decode_content=True)
            except Exception as exc:  # noqa: BLE001 - urllib3 and socket errors differ by version
                raise _BodyError('the answer is incomplete: the connection broke while it was read (%s)' % type(exc).__name__,
                                 retryable=True) from None
            if not data:
                return
            yield data

    @staticmethod
    def _check_length(response, limit):
        length = response.headers.get('Content-Length')
        if length is not None and length.strip().isdigit() and int(length) > limit:
            raise _BodyError('the answer of %d bytes is larger than the limit of %d bytes' % (int(length), limit), retryable=False)

    def _read_body(self, response, method, path, limit, deadline):
        """Read the whole body (at most ``limit`` bytes) so that ``response.json()`` works."""
        self._check_length(response, limit)
        chunks, total = [], 0
        for chunk in self._chunks(response.raw, deadline):
            total += len(chunk)
            if total > limit:
                raise _BodyError('the answer is larger than the limit of %d bytes' % limit, retryable=False)
            chunks.append(chunk)
        response._content = b''.join(chunks)  # what requests itself does when it reads a body
        response._content_consumed = True
        response.close()  # body consumed: returns the connection to the pool

    def _bound_stream(self, response, method, path, limit, deadline):
        """Make ``response.iter_content`` (and ``.content``) yield the body within ``limit`` bytes and ``deadline``."""
        self._check_length(response, limit)
        response.raw = _BoundedRaw(self, response.raw, method=method, path=path, limit=limit, deadline=deadline,
                                   status=response.status_code)

    @staticmethod
    def _http_error(method, path, response, summary=None):
        content_type = media_type(response)
        body = _json_or_none(response) if 'json' in content_type or not content_type else None
        try:
            response.close()
        except Exception:  # noqa: BLE001, S110 - the error object is what matters
            pass
        if summary is None:
            summary = '%s %s failed with HTTP %s' % (method, path, response.status_code)
            if response.status_code == 401:
                summary += ' (user name or password rejected, or the session expired)'
            elif response.status_code == 403:
                summary += ' (the user lacks the role this operation needs)'
            if body is None and content_type:
                summary += ' (answer of type %s)' % clean_text(content_type, 80)
        return VspApiError.from_error_object(summary, body, status=response.status_code, method=method, path=path)
