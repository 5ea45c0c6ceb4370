# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests added for mutants of jobs.py that survived `make mutation` (docs/mutation.md)."""

import pytest
from ansible_collections.vsp.encryption.plugins.module_utils import _jobs as jobs
from ansible_collections.vsp.encryption.plugins.module_utils._api import VspApi
from ansible_collections.vsp.encryption.plugins.module_utils._client import VspClient
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError
from conftest import connection_args, job, kart_error


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


class _Answer(object):
    def __init__(self, status_code, body):
        self.status_code = status_code
        self.body = body

    def json(self):
        if isinstance(self.body, Exception):
            raise self.body
        return self.body


class _RunClient(_Client):
    timeout = 30
    retries = 2

    def __init__(self, posts, answers=()):
        super(_RunClient, self).__init__(answers)
        self.posts = list(posts)
        self.sent = []
        self.retried = []

    def request(self, method, path, json=None, files=None, headers=None, idempotent=False):
        self.sent.append((method, path, headers))
        return self.posts.pop(0)

    def backoff(self, attempt):
        return 10.0 + attempt

    def record_retry(self, method, path, reason, wait):
        self.retried.append((method, path, reason, wait))


def _run(client, **kwargs):
    return jobs.run_job(client, lambda i: '/jobs/%s' % i, 'POST', '/act', what='Act', clock=_Clock(), **kwargs)


@pytest.mark.parametrize('timeout, wait_timeout, expected', [(30, 900, '15'), (900, 20, '10'), (2, 900, '1'), (3, 900, '1')])
def test_job_headers_half_the_shorter_bound_at_least_one(timeout, wait_timeout, expected):
    client = _RunClient([])
    client.timeout, client.wait_timeout = timeout, wait_timeout
    assert jobs.job_headers(client) == {'Response-Job-Status': 'Completed', 'Response-Max-Wait': expected}


@pytest.mark.parametrize('body', [ValueError('no json'), {'no': 'job'}, ['x']])
def test_an_answer_without_a_job_is_an_error_naming_the_request(body):
    with pytest.raises(VspApiError) as info:
        _run(_RunClient([_Answer(202, body)]))
    exc = info.value
    assert exc.msg == ('Act: the array answered HTTP 202 without a job object, so whether it was carried out is unknown; '
                       'check the state of the array before repeating')
    assert (exc.status, exc.method, exc.path) == (202, 'POST', '/act')


def test_synchronous_ok_needs_http_200():
    assert _run(_RunClient([_Answer(200, {})]), synchronous_ok=True) is None
    with pytest.raises(VspApiError):
        _run(_RunClient([_Answer(202, {})]), synchronous_ok=True)


def test_poll_errors_name_the_job_and_the_request():
    client = _RunClient([_Answer(202, job(8, status='Running', state='Started'))], answers=['not a job'])
    with pytest.raises(VspApiError) as info:
        _run(client)
    assert info.value.msg == 'Act: GET of job 8 answered no job object'
    assert (info.value.method, info.value.path) == ('POST', '/act')
    with pytest.raises(VspApiError) as info:
        jobs.wait_for_job(_Client([]), lambda i: i, {'status': 'Running'}, 'Wait', method='PUT', path='/w', clock=_Clock())
    assert info.value.msg == 'Wait: the array answered without a job object'
    assert (info.value.method, info.value.path) == ('PUT', '/w')


def test_poll_timeout_message_is_exact():
    client = _Client([job(5, status='S' * 40, state='Started')] * 200)
    with pytest.raises(VspApiError) as info:
        jobs.wait_for_job(client, lambda i: i, job(5, status='Running', state='T' * 40), 'Slow', clock=_Clock())
    assert info.value.msg == ('Slow: job 5 did not complete within 100 s (wait_timeout); last status %s..., state Started. '
                              'The array may still complete it; check before repeating.' % ('S' * 32))


def test_a_retry_job_failure_is_sent_again_and_recorded():
    failed = job(9, state='Failed', error=dict(kart_error('KART40070-E'), solutionType='RETRY'))
    failed_upper = job(10, state='Failed', error={'messageID': 'KART2-E', 'solutionType': 'RETRY'})
    client = _RunClient([_Answer(202, failed), _Answer(202, failed_upper), _Answer(202, job(11))])
    assert _run(client, idempotent=True)['jobId'] == 11
    assert client.retried == [('POST', '/act', 'job 9 failed with solutionType RETRY (KART40070-E)', 10.0),
                              ('POST', '/act', 'job 10 failed with solutionType RETRY (KART2-E)', 11.0)]
    assert client.slept == [10.0, 11.0]
    client = _RunClient([_Answer(202, job(12, state='Failed', error={'solutionType': 'RETRY'})), _Answer(202, job(13))])
    _run(client, idempotent=True)
    assert client.retried[0][2] == 'job 12 failed with solutionType RETRY (no messageId)'


def test_a_failed_job_without_error_object_is_not_retried():
    client = _RunClient([_Answer(202, job(14, state='Failed', error=None)), _Answer(202, job(15))])
    client.posts[0].body['error'] = 'RETRY'
    with pytest.raises(VspApiError) as info:
        _run(client, idempotent=True)
    assert info.value.msg == 'Act failed (job 14 state Failed)'
    assert (info.value.method, info.value.path) == ('POST', '/act')
    assert client.retried == []


def test_poll_timeout_caps_the_state_at_32_characters():
    client = _Client([job(5, status='Running', state='T' * 40)] * 200)
    with pytest.raises(VspApiError) as info:
        jobs.wait_for_job(client, lambda i: i, job(5, status='Running', state='Started'), 'Slow', clock=_Clock())
    assert 'last status Running, state %s.... ' % ('T' * 32) in info.value.msg
    client = _Client([job(5, status='Running', state='T' * 32)] * 200)
    with pytest.raises(VspApiError) as info:
        jobs.wait_for_job(client, lambda i: i, job(5, status='Running', state='Started'), 'Slow', clock=_Clock())
    assert 'state %s. The array' % ('T' * 32) in info.value.msg


def test_a_retry_record_caps_the_message_id_at_64_characters():
    failed = job(9, state='Failed', error={'messageId': 'M' * 70, 'solutionType': 'RETRY'})
    client = _RunClient([_Answer(202, failed), _Answer(202, job(11))])
    _run(client, idempotent=True)
    assert client.retried[0][2] == 'job 9 failed with solutionType RETRY (%s...)' % ('M' * 64)
    failed = job(9, state='Failed', error={'messageId': 'M' * 64, 'solutionType': 'RETRY'})
    client = _RunClient([_Answer(202, failed), _Answer(202, job(11))])
    _run(client, idempotent=True)
    assert client.retried[0][2] == 'job 9 failed with solutionType RETRY (%s)' % ('M' * 64)


def test_a_request_is_not_idempotent_unless_said():
    failed = job(9, state='Failed', error={'messageId': 'KART1-E', 'solutionType': 'RETRY'})
    client = _RunClient([_Answer(202, failed), _Answer(202, job(11))])
    with pytest.raises(VspApiError):
        _run(client)
    assert client.retried == []
