# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants of jobs.py that survived `make mutation` (docs/mutation.md)."""

import pytest
from conftest import connection_args, job, kart_error

from ansible_collections.vsp.encryption.plugins.module_utils import jobs
from ansible_collections.vsp.encryption.plugins.module_utils.api import VspApi
from ansible_collections.vsp.encryption.plugins.module_utils.client import VspClient
from ansible_collections.vsp.encryption.plugins.module_utils.errors import VspApiError


def test_summary_caps_texts_at_64_and_resources_at_200_characters():
    body = job(1, status='S' * 65, state='T' * 64)
    body['affectedResources'] = ['R' * 201, 'r' * 200]
    summary = jobs.summarize_job(body)
    assert summary['status'] == 'S' * 64 + '...'
    assert summary['state'] == 'T' * 64
    assert summary['affectedResources'] == ['R' * 200 + '...', 'r' * 200]


def test_summary_keeps_at_most_affected_max_resources():
    body = job(1)
    body['affectedResources'] = ['/r/%d' % i for i in range(jobs.AFFECTED_MAX + 5)]
    assert jobs.summarize_job(body)['affectedResources'] == ['/r/%d' % i for i in range(jobs.AFFECTED_MAX)]


def test_summary_error_code_keeps_only_the_ssb_fields_capped_at_16():
    body = job(1, state='Failed', error=dict(kart_error(), errorCode={'SSB1': 'A' * 17, 'SSB2': 'B' * 16, 'errorCode': 7,
                                                                      'secretish': 'drop me'}))
    summary = jobs.summarize_job(body)
    assert summary['error']['errorCode'] == {'SSB1': 'A' * 16 + '...', 'SSB2': 'B' * 16, 'errorCode': '7'}


def test_failed_job_error_names_the_request_and_the_job(vsp):
    path = '/v1/objects/ldevs/5/actions/change-status/invoke'
    vsp.login()
    vsp.add('POST', path, status=202, json=job(12, state='F' * 40, error=kart_error('KART30000-E')))
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with VspClient(connection_args()) as client:
            VspApi(client).change_ldev_status(5, 'blk')
    exc = info.value
    assert exc.method == 'POST'
    assert exc.path == path
    assert '(job 12 state %s...)' % ('F' * 32) in exc.msg
    assert exc.message_id == 'KART30000-E'


class _Clock(object):
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0
        return self.now


class _Client(object):
    wait_timeout = 100

    def __init__(self, answers):
        self.answers = list(answers)
        self.slept = []

    def sleep(self, delay):
        self.slept.append(delay)

    def get_json(self, path):
        return self.answers.pop(0)


def test_wait_for_job_returns_a_succeeded_job_and_raises_for_a_failed_one():
    client = _Client([job(3)])
    assert jobs.wait_for_job(client, lambda i: '/jobs/%s' % i, job(3, status='Running', state='Started'), 'Test',
                             clock=_Clock())['state'] == 'Succeeded'
    client = _Client([job(4, state='Failed', error=kart_error('KART9-E'))])
    with pytest.raises(VspApiError) as info:
        jobs.wait_for_job(client, lambda i: '/jobs/%s' % i, job(4, status='Running', state='Started'), 'Test step',
                          method='PUT', path='/p', clock=_Clock())
    assert info.value.msg.startswith('Test step failed (job 4 state Failed)')
    assert (info.value.method, info.value.path, info.value.message_id) == ('PUT', '/p', 'KART9-E')


def test_wait_for_job_timeout_names_what_method_and_path():
    client = _Client([job(5, status='Running', state='Started')] * 200)
    with pytest.raises(VspApiError) as info:
        jobs.wait_for_job(client, lambda i: '/jobs/%s' % i, job(5, status='Running', state='Started'), 'Slow step',
                          method='POST', path='/q', clock=_Clock())
    assert info.value.msg.startswith('Slow step: job 5 did not complete within 100 s')
    assert (info.value.method, info.value.path) == ('POST', '/q')
