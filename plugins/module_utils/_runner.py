# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module runner: the connection argument spec (matches doc fragment ``vsp.encryption.connection``), the identity
guards' argument spec (matches doc fragment ``vsp.encryption.identity``), ``run_module`` (one session, logged out in
every case, one exception type turned into ``fail_json``), ``fail_on_error`` for local checks, and the connection
warnings."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.vsp.encryption.plugins.module_utils import _validate as validate
from ansible_collections.vsp.encryption.plugins.module_utils._api import VspApi
from ansible_collections.vsp.encryption.plugins.module_utils._client import HAS_REQUESTS, REQUESTS_IMPORT_ERROR, VspClient
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError


def connection_argument_spec():
    return dict(
        host=dict(type='str', required=True, fallback=(env_fallback, ['VSP_HOST'])),
        port=dict(type='int', default=443, fallback=(env_fallback, ['VSP_PORT'])),
        protocol=dict(type='str', default='https', choices=['https', 'http'], fallback=(env_fallback, ['VSP_PROTOCOL'])),
        username=dict(type='str', required=True, fallback=(env_fallback, ['VSP_USERNAME'])),
        password=dict(type='str', required=True, no_log=True, fallback=(env_fallback, ['VSP_PASSWORD'])),
        storage_device_id=dict(type='str', fallback=(env_fallback, ['VSP_STORAGE_DEVICE_ID'])),
        validate_certs=dict(type='bool', default=True, fallback=(env_fallback, ['VSP_VALIDATE_CERTS'])),
        ca_path=dict(type='path', fallback=(env_fallback, ['VSP_CA_PATH'])),
        timeout=dict(type='int', default=30),
        retries=dict(type='int', default=5),
        wait_timeout=dict(type='int', default=900),
    )


def identity_argument_spec():
    """The identity guards of a module that writes (doc fragment ``vsp.encryption.identity``): the module checks them
    with :func:`keys.check_identity` before anything is written or changed."""
    return dict(
        expected_storage_device_id=dict(type='str'),
        expected_serial_number=dict(type='str'),
    )


def argument_spec(**module_options):
    spec = connection_argument_spec()
    spec.update(module_options)
    return spec


RETRIES_RESULT_KEY = 'request_retries'  # not "retries": Ansible sets an int of that name in the result of an until loop
WARN_NO_CERT_CHECK = ('validate_certs is false: the certificate of the array is not checked, so a man in the middle '
                      'can read the password and the key file')
WARN_HTTP = 'protocol is http: the password, the session token and the key file are sent in clear text'


def _connection_warnings(module):
    if module.params['protocol'] == 'http':
        module.warn(WARN_HTTP)
    elif not module.params['validate_certs']:
        module.warn(WARN_NO_CERT_CHECK)


def run_module(module, run, pool_size=10, sleep=None):
    """Run ``run(module, api)`` inside one array session and exit the module.

    ``run`` may return a result dict (the module exits with it) or raise :class:`VspApiError`
    (the module fails with a readable message and the error fields as return keys). The session is
    logged out in every case. Nothing is sent (not even a log in) until ``run`` makes a request.
    Every retry of a request is listed in the result under ``request_retries`` (success and
    failure) when there was one. ``validate_certs: false`` and ``protocol: http`` each warn.
    """
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
    _connection_warnings(module)
    result = None
    failure = None
    client = None
    try:
        validate.connection_params(module.params)
        client = VspClient(module.params, pool_size=pool_size, sleep=sleep)
        with client:
            api = VspApi(client)
            try:
                result = run(module, api)
            except VspApiError as exc:
                raise unknown_storage_device_id(api, exc) from None
    except VspApiError as exc:
        failure = exc
    except Exception as exc:  # noqa: BLE001 - turn surprises into a failed task, not a traceback
        extra = {RETRIES_RESULT_KEY: client.retries_made} if client is not None and client.retries_made else {}
        module.fail_json(msg='Unexpected error: %s: %s' % (type(exc).__name__, exc), exception=traceback.format_exc(), **extra)
    retries = list(client.retries_made) if client is not None else []
    if failure is not None:
        fail_result = dict(failure.details)
        fail_result.update(failure.to_result())
        fail_result.setdefault('changed', False)
        if retries:
            fail_result[RETRIES_RESULT_KEY] = retries
        module.fail_json(msg=failure.describe(), **fail_result)
    result = dict(result)
    if retries:
        result[RETRIES_RESULT_KEY] = retries
    module.exit_json(**result)


def unknown_storage_device_id(api, error):
    """``error``, or the reason behind it when it is a 404 of an object of ``storage_device_id``: a REST server that
    does not manage that storage system answers every object of it with 404, which says nothing of the cause.
    Asks the server once for the storage systems it knows (:meth:`VspApi.storage`)."""
    sid = api.client.storage_device_id
    if error.status != 404 or not sid or not str(error.path or '').startswith('/v1/objects/storages/%s/' % sid):
        return error
    try:
        api.storage()
    except VspApiError as unknown:
        return unknown
    return error


def fail_on_error(module, func, *args, **kwargs):
    """Run a local check (no connection); turn :class:`VspApiError` into ``fail_json``."""
    try:
        return func(*args, **kwargs)
    except VspApiError as exc:
        module.fail_json(msg=exc.describe(), **exc.to_result())
