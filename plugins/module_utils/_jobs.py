# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Asynchronous jobs: ask the array to answer when done, poll with back-off if it did not.

An asynchronous request must be answered with a job object; an answer without one is an error
unless the caller says the API documents a synchronous answer (``synchronous_ok``). A job that
failed with ``solutionType: RETRY`` is sent again (within the client's ``retries``) only when the
caller marks the request idempotent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.vsp.encryption.plugins.module_utils import _validate as validate
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError, clean_text

POLL_START = 0.25  # a short job (about 200 ms) needs one poll; the cap is reached after 5 polls
POLL_FACTOR = 1.5
POLL_CAP = 2.0
RETRY_SOLUTION_TYPE = 'RETRY'
JOB_TEXT_FIELDS = ('status', 'state', 'createdTime', 'updatedTime', 'completedTime')
JOB_ERROR_FIELDS = ('messageId', 'messageID', 'message', 'cause', 'solution', 'solutionType')
AFFECTED_MAX = 100


def job_headers(client):
    """Headers for an asynchronous request: answer only when the job completed (bounded wait)."""
    max_wait = max(1, int(min(client.timeout, client.wait_timeout) / 2))
    return {'Response-Job-Status': 'Completed', 'Response-Max-Wait': str(max_wait)}


def summarize_job(job):
    """The parts of a job object worth returning (never the request body, which may hold a secret).

    Every text passes :func:`clean_text`. ``None`` (a documented synchronous answer) gives ``None``.
    """
    if not isinstance(job, dict):
        return None
    summary = {}
    if 'jobId' in job:
        summary['jobId'] = job['jobId']
    for key in JOB_TEXT_FIELDS:
        if key in job:
            summary[key] = clean_text(job[key], 64)
    if isinstance(job.get('affectedResources'), list):
        summary['affectedResources'] = [clean_text(r, 200) for r in job['affectedResources'][:AFFECTED_MAX]]
    if isinstance(job.get('error'), dict) and job['error']:
        error = job['error']
        summary['error'] = dict((k, clean_text(error[k])) for k in JOB_ERROR_FIELDS if k in error and not isinstance(error[k], (dict, list)))
        if isinstance(error.get('errorCode'), dict):
            summary['error']['errorCode'] = dict((k, clean_text(v, 16)) for k, v in error['errorCode'].items()
                                                 if k in ('SSB1', 'SSB2', 'errorCode'))
    return summary


def _job_failed(job, what, method, path):
    return VspApiError.from_error_object('%s failed (job %s state %s)' % (what, job.get('jobId'), clean_text(job.get('state'), 32)),
                                         job.get('error'), method=method, path=path)


def _poll(client, job_path_fn, job, what, *, method, path, clock):
    """Poll until the job completed (``status`` ``Completed``); return it, failed or not."""
    if not isinstance(job, dict) or 'jobId' not in job:
        raise VspApiError('%s: the array answered without a job object' % what, method=method, path=path)
    job_id = validate.from_array(validate.job_id, job['jobId'], 'jobId', note='it was not used')
    deadline = clock() + client.wait_timeout
    delay = POLL_START
    while job.get('status') != 'Completed':
        if clock() >= deadline:
            raise VspApiError('%s: job %s did not complete within %s s (wait_timeout); last status %s, state %s. '
                              'The array may still complete it; check before repeating.'
                              % (what, job_id, client.wait_timeout, clean_text(job.get('status'), 32), clean_text(job.get('state'), 32)),
                              method=method, path=path)
        client.sleep(delay)
        delay = min(POLL_CAP, delay * POLL_FACTOR)
        job = client.get_json(job_path_fn(job_id))
        if not isinstance(job, dict):
            raise VspApiError('%s: GET of job %s answered no job object' % (what, job_id), method=method, path=path)
    return job


def wait_for_job(client, job_path_fn, job, what, *, method=None, path=None, clock=None):
    """Return the finished job; poll ``GET jobs/{id}`` with back-off until ``client.wait_timeout``.

    ``job_path_fn(job_id)`` builds the job path (both URL forms). Raises :class:`VspApiError` when
    the job failed (with the array's error object) or did not complete in time.
    """
    job = _poll(client, job_path_fn, job, what, method=method, path=path, clock=clock or time.monotonic)
    if job.get('state') != 'Succeeded':
        raise _job_failed(job, what, method, path)
    return job


def run_job(client, job_path_fn, method, path, *, what, json=None, files=None, synchronous_ok=False, idempotent=False,
            clock=None):
    """Send an asynchronous request and wait for its job. Returns the finished job object.

    ``synchronous_ok``: the API documents that the request may be answered synchronously (HTTP 200
    without a job object); then such an answer returns ``None``. Otherwise an answer without a job
    object is an error (the array may have carried out the request: the message says so).
    ``idempotent``: repeating the request is harmless (for example changing a status to a given
    state); only then is it retried after a read timeout or a broken connection, and sent again when
    its job failed with ``solutionType: RETRY`` (at most ``client.retries`` times, with back-off).
    """
    clock = clock or time.monotonic
    attempt = 0
    while True:
        response = client.request(method, path, json=json, files=files, headers=job_headers(client), idempotent=idempotent)
        try:
            job = response.json()
        except ValueError:
            job = None
        if not (isinstance(job, dict) and 'jobId' in job):
            if synchronous_ok and response.status_code == 200:
                return None
            raise VspApiError('%s: the array answered HTTP %s without a job object, so whether it was carried out is unknown; '
                              'check the state of the array before repeating' % (what, response.status_code),
                              status=response.status_code, method=method, path=path)
        job = _poll(client, job_path_fn, job, what, method=method, path=path, clock=clock)
        if job.get('state') == 'Succeeded':
            return job
        error = job.get('error') if isinstance(job.get('error'), dict) else {}
        retry = idempotent and error.get('solutionType') == RETRY_SOLUTION_TYPE and attempt < client.retries
        if not retry:
            raise _job_failed(job, what, method, path)
        wait = client.backoff(attempt)
        client.record_retry(method, path, 'job %s failed with solutionType RETRY (%s)'
                            % (job.get('jobId'), clean_text(error.get('messageId') or error.get('messageID') or 'no messageId', 64)), wait)
        client.sleep(wait)
        attempt += 1
