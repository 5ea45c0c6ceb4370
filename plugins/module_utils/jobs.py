# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Asynchronous jobs: ask the array to answer when done, poll with back-off if it did not."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.vsp.encryption.plugins.module_utils.errors import VspApiError

POLL_START = 0.25  # a short job (about 200 ms) needs one poll; the cap is reached after 5 polls
POLL_FACTOR = 1.5
POLL_CAP = 2.0


def job_headers(client):
    """Headers for an asynchronous request: answer only when the job completed (bounded wait)."""
    max_wait = max(1, int(min(client.timeout, client.wait_timeout) / 2))
    return {'Response-Job-Status': 'Completed', 'Response-Max-Wait': str(max_wait)}


def summarize_job(job):
    """The parts of a job object worth returning (never the request body, which may hold a secret)."""
    if not isinstance(job, dict):
        return None
    summary = {}
    for key in ('jobId', 'status', 'state', 'createdTime', 'updatedTime', 'completedTime', 'affectedResources'):
        if key in job:
            summary[key] = job[key]
    if job.get('error'):
        error = job['error']
        summary['error'] = dict((k, error[k]) for k in ('messageId', 'messageID', 'message', 'cause', 'solution', 'errorCode')
                                if k in error)
    return summary


def _job_failed(job, what, method, path):
    return VspApiError.from_error_object('%s failed (job %s state %s)' % (what, job.get('jobId'), job.get('state')),
                                         job.get('error'), method=method, path=path)


def wait_for_job(client, job_path_fn, job, what, *, method=None, path=None, clock=None):
    """Return the finished job; poll ``GET jobs/{id}`` with back-off until ``client.wait_timeout``.

    ``job_path_fn(job_id)`` builds the job path (both URL forms). Raises :class:`VspApiError` when
    the job failed (with the array's error object) or did not complete in time.
    """
    clock = clock or time.monotonic
    if not isinstance(job, dict) or 'jobId' not in job:
        raise VspApiError('%s: the array answered without a job object' % what, method=method, path=path)
    deadline = clock() + client.wait_timeout
    delay = POLL_START
    while job.get('status') != 'Completed':
        if clock() >= deadline:
            raise VspApiError('%s: job %s did not complete within %s s (wait_timeout); last status %s, state %s. '
                              'The array may still complete it; check before repeating.'
                              % (what, job['jobId'], client.wait_timeout, job.get('status'), job.get('state')),
                              method=method, path=path)
        client.sleep(delay)
        delay = min(POLL_CAP, delay * POLL_FACTOR)
        job = client.get_json(job_path_fn(job['jobId']))
    if job.get('state') != 'Succeeded':
        raise _job_failed(job, what, method, path)
    return job


def run_job(client, job_path_fn, method, path, *, what, json=None, files=None):
    """Send an asynchronous request and wait for its job. Returns the finished job object."""
    response = client.request(method, path, json=json, files=files, headers=job_headers(client))
    try:
        job = response.json()
    except ValueError:
        job = None
    if response.status_code == 200 and not (isinstance(job, dict) and 'jobId' in job):
        return {'status': 'Completed', 'state': 'Succeeded'}  # answered synchronously
    return wait_for_job(client, job_path_fn, job, what, method=method, path=path)
