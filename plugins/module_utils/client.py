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
* 503 and connection errors (and read timeouts of GET requests) are retried with exponential
  back-off and jitter, honouring ``Retry-After``, at most ``retries`` times;
* every failure becomes a :class:`VspApiError` naming the cause. Nothing here ever logs, returns
  or raises a request body, a header, a password or a token.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import random
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

from ansible_collections.vsp.encryption.plugins.module_utils.errors import VspApiError

BASE_PATH = '/ConfigurationManager'
SESSIONS_PATH = '/v1/objects/sessions'
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
RETRY_AFTER_CAP = 120.0


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


class VspClient(object):
    """One module run's connection to the array.

    Use as a context manager: the session is deleted on exit, also when the body raised.
    ``params`` is the module's ``params`` (the connection options of the doc fragment).
    """

    def __init__(self, params, sleep=None, pool_size=10):
        if not HAS_REQUESTS:
            raise VspApiError('The Python library requests is required on the host that runs the module')
        self.host = params['host']
        self.port = params.get('port') or 443
        self.protocol = params.get('protocol') or 'https'
        self._username = params['username']
        self._password = params['password']
        self.storage_device_id = params.get('storage_device_id') or None
        self.timeout = params.get('timeout') or 30
        self.retries = params.get('retries')
        if self.retries is None:
            self.retries = 5
        self.wait_timeout = params.get('wait_timeout') or 900
        self.sleep = sleep or time.sleep
        self.base_url = '%s://%s:%s%s' % (self.protocol, self.host, self.port, BASE_PATH)
        self.http = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(10, pool_size))
        self.http.mount('https://', adapter)
        self.http.mount('http://', adapter)
        if params.get('validate_certs', True):
            self.verify = params.get('ca_path') or True
        else:
            self.verify = False
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        # passed with every request too: a session-level verify loses against REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE
        self.http.verify = self.verify
        self.http.headers.update({'Accept': 'application/json', 'User-Agent': 'vsp.encryption'})
        self._token = None
        self._session_id = None
        self._lock = threading.Lock()
        self.request_log = []  # (method, path, status) of every request sent, for tests and summaries

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
    @property
    def logged_in(self):
        return self._token is not None

    def login(self):
        response = self._send('POST', SESSIONS_PATH, auth_mode='basic', json={})
        if response.status_code != 200:
            summary = 'Log in as %s failed' % self._username
            if response.status_code == 401:
                summary += ' (check username and password)'
            raise self._http_error('POST', SESSIONS_PATH, response, summary)
        body = _json_or_none(response) or {}
        if not body.get('token') or body.get('sessionId') is None:
            raise VspApiError('Log in failed: the answer has no token and sessionId', status=response.status_code,
                              method='POST', path=SESSIONS_PATH)
        self._token = body['token']
        self._session_id = body['sessionId']

    def logout(self):
        """Delete the session; never raises (the module's own result or error matters more)."""
        if self._session_id is None:
            return
        session_id, self._session_id = self._session_id, None
        try:
            # the same bounded retries as every request: a session left behind counts against the
            # array's 64-session cap until its idle timeout
            self._send('DELETE', '%s/%s' % (SESSIONS_PATH, session_id), auth_mode='session', json={})
        except Exception:  # noqa: BLE001, S110 - logging out is best effort
            pass
        finally:
            self._token = None

    # -- requests -----------------------------------------------------------------------------------
    def request(self, method, path, *, params=None, json=None, files=None, headers=None, stream=False, expected=(200, 202)):
        """Send one authenticated request and return the ``requests.Response``.

        ``path`` is relative to ``/ConfigurationManager`` (for example ``/v1/objects/ldevs``).
        Logs in on first use; on 401 logs in again once and repeats. Raises :class:`VspApiError`
        for any status not in ``expected``.
        """
        with self._lock:
            if self._token is None:
                self.login()
            token = self._token
        response = self._send(method, path, params=params, json=json, files=files, headers=headers, stream=stream,
                              auth_mode='session', token=token)
        if response.status_code == 401:
            response.close()
            with self._lock:
                if self._token == token:  # no other thread logged in again meanwhile
                    self._token = None
                    self._session_id = None
                    self.login()
                token = self._token
            response = self._send(method, path, params=params, json=json, files=files, headers=headers, stream=stream,
                                  auth_mode='session', token=token)
        if response.status_code not in expected:
            raise self._http_error(method, path, response)
        return response

    def get_json(self, path, params=None):
        response = self.request('GET', path, params=params)
        body = _json_or_none(response)
        if body is None:
            raise VspApiError('GET %s answered something that is not JSON' % path, status=response.status_code,
                              method='GET', path=path)
        return body

    def _send(self, method, path, *, params=None, json=None, files=None, headers=None, stream=False, auth_mode='session',
              token=None, max_retries=None):
        """Send with retries on 503 / connection errors (and read timeouts of GETs)."""
        url = self.base_url + path
        all_headers = dict(headers or {})
        auth = None
        if auth_mode == 'basic':
            auth = (self._username, self._password)
        elif auth_mode == 'session':
            all_headers['Authorization'] = 'Session %s' % (token or self._token)
        retries = self.retries if max_retries is None else max_retries
        attempt = 0
        while True:
            retry_after = None
            try:
                response = self.http.request(method, url, params=params, json=json if files is None else None,
                                             data=None, files=files, headers=all_headers, auth=auth,
                                             timeout=self.timeout, stream=stream, verify=self.verify)
            except requests.exceptions.ReadTimeout:
                cause = 'timed out after %s s (timeout)' % self.timeout
                if method != 'GET':
                    raise VspApiError('%s %s %s; the array may still carry out the request, check its state before repeating'
                                      % (method, path, cause), method=method, path=path) from None
                error = cause
            except requests.exceptions.SSLError as exc:
                raise VspApiError('%s %s failed: %s' % (method, path, _describe_connection_error(exc)), method=method, path=path) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                error = _describe_connection_error(exc)
            except requests.exceptions.RequestException as exc:
                raise VspApiError('%s %s failed: %s' % (method, path, type(exc).__name__), method=method, path=path) from None
            else:
                self.request_log.append((method, path, response.status_code))
                if response.status_code != 503:
                    return response
                retry_after = self._retry_after(response)
                if attempt >= retries:
                    raise self._http_error(method, path, response, '%s %s: HTTP 503 after %d retries' % (method, path, retries))
                response.close()
                error = None
            if error is not None and attempt >= retries:
                raise VspApiError('Cannot reach %s://%s:%s (%s %s): %s after %d retries'
                                  % (self.protocol, self.host, self.port, method, path, error, retries), method=method, path=path)
            self.sleep(self._backoff(attempt, retry_after))
            attempt += 1

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
    def _backoff(attempt, retry_after=None):
        if retry_after is not None:
            return retry_after
        delay = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** attempt))
        return delay / 2.0 + random.uniform(0, delay / 2.0)  # noqa: S311 - jitter, not cryptography

    @staticmethod
    def _http_error(method, path, response, summary=None):
        body = _json_or_none(response) if 'json' in response.headers.get('Content-Type', '') or not response.headers.get('Content-Type') else None
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
        return VspApiError.from_error_object(summary, body, status=response.status_code, method=method, path=path)
