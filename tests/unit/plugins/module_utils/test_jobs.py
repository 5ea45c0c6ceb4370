# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest
from conftest import BACKUP_PASSWORD, EdgeRng, assert_no_secret, connection_args, job, kart_error

from ansible_collections.vsp.encryption.plugins.module_utils import _jobs as jobs
from ansible_collections.vsp.encryption.plugins.module_utils._api import VspApi
from ansible_collections.vsp.encryption.plugins.module_utils._client import VspClient
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError

CHANGE = '/v1/objects/ldevs/5/actions/change-status/invoke'
KMS_RESTORE = '/v1/objects/encryption-keys/all/actions/kms-restore/invoke'
KMS_BACKUP = '/v1/objects/encryption-keys/kms/actions/backup/invoke'


def retry_error(message_id='KART40070-E'):
    return dict(kart_error(message_id, 'The storage system is temporarily unable to run the request.'), solutionType='RETRY')


class Clock(object):
    """A clock that moves one second each time it is read."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0
        return self.now


class PollClient(object):
    """The client calls of wait_for_job: the GET answers in order, the sleeps recorded."""

    wait_timeout = 100

    def __init__(self, answers):
        self.answers = list(answers)
        self.slept = []

    def sleep(self, delay):
        self.slept.append(delay)

    def get_json(self, path):
        return self.answers.pop(0)


class Answer(object):
    def __init__(self, status_code, body):
        self.status_code = status_code
        self.body = body

    def json(self):
        if isinstance(self.body, Exception):
            raise self.body
        return self.body


class RunClient(PollClient):
    """The client calls of run_job: the POST answers in order, the requests and the retries recorded."""

    timeout = 30
    retries = 2

    def __init__(self, posts, answers=()):
        super(RunClient, self).__init__(answers)
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


def run_act(client, **kwargs):
    return jobs.run_job(client, lambda i: '/jobs/%s' % i, 'POST', '/act', what='Act', clock=Clock(), **kwargs)


# -- headers, completion and polling -----------------------------------------------------------------
def test_completed_answer_needs_no_polling(vsp, no_sleep):
    vsp.login()
    vsp.add('POST', CHANGE, status=202, json=job(11))
    vsp.logout()
    with VspClient(connection_args()) as client:
        done = VspApi(client).change_ldev_status(5, 'blk')
    assert done['state'] == 'Succeeded'
    request = vsp.rsps.calls[1].request
    assert request.headers['Response-Job-Status'] == 'Completed'
    assert int(request.headers['Response-Max-Wait']) <= 30
    assert request.body == b'{"parameters": {"status": "blk"}}'
    assert no_sleep == []


def test_polling_with_backoff(vsp, no_sleep):
    vsp.login()
    vsp.add('POST', CHANGE, status=202, json=job(11, status='Running', state='Started'))
    for _dummy in range(3):
        vsp.get('/v1/objects/jobs/11', job(11, status='Running', state='Started'))
    vsp.get('/v1/objects/jobs/11', job(11))
    vsp.logout()
    with VspClient(connection_args()) as client:
        VspApi(client).change_ldev_status(5, 'blk')
    assert no_sleep == pytest.approx([0.25, 0.375, 0.5625, 0.84375])


def test_backoff_is_capped():
    delays, delay = [], jobs.POLL_START
    for _dummy in range(20):
        delays.append(delay)
        delay = min(jobs.POLL_CAP, delay * jobs.POLL_FACTOR)
    assert max(delays) == jobs.POLL_CAP


@pytest.mark.parametrize('timeout, wait_timeout, expected', [(30, 900, '15'), (900, 20, '10'), (2, 900, '1'), (3, 900, '1')])
def test_response_max_wait_is_half_the_shorter_bound_at_least_one_second(timeout, wait_timeout, expected):
    client = RunClient([])
    client.timeout, client.wait_timeout = timeout, wait_timeout
    assert jobs.job_headers(client) == {'Response-Job-Status': 'Completed', 'Response-Max-Wait': expected}


def test_wait_for_job_returns_a_succeeded_job_and_raises_for_a_failed_one():
    client = PollClient([job(3)])
    assert jobs.wait_for_job(client, lambda i: '/jobs/%s' % i, job(3, status='Running', state='Started'), 'Test',
                             clock=Clock())['state'] == 'Succeeded'
    client = PollClient([job(4, state='Failed', error=kart_error('KART9-E'))])
    with pytest.raises(VspApiError) as info:
        jobs.wait_for_job(client, lambda i: '/jobs/%s' % i, job(4, status='Running', state='Started'), 'Test step',
                          method='PUT', path='/p', clock=Clock())
    assert info.value.msg.startswith('Test step failed (job 4 state Failed)')
    assert (info.value.method, info.value.path, info.value.message_id) == ('PUT', '/p', 'KART9-E')


# -- failed jobs, poll errors and timeouts -----------------------------------------------------------
def test_failed_job_raises_with_error_object(vsp):
    vsp.login()
    vsp.add('POST', CHANGE, status=202, json=job(12, state='Failed', error=kart_error('KART30000-E', 'The pool is blocked.')))
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with VspClient(connection_args()) as client:
            VspApi(client).change_ldev_status(5, 'nml')
    exc = info.value
    assert exc.message_id == 'KART30000-E'
    assert 'job 12 state Failed' in str(exc)
    assert exc.path == CHANGE
    assert_no_secret(str(exc), exc.to_result())


def test_failed_job_error_names_the_request_and_the_job(vsp):
    vsp.login()
    vsp.add('POST', CHANGE, status=202, json=job(12, state='F' * 40, error=kart_error('KART30000-E')))
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with VspClient(connection_args()) as client:
            VspApi(client).change_ldev_status(5, 'blk')
    exc = info.value
    assert exc.method == 'POST'
    assert exc.path == CHANGE
    assert '(job 12 state %s...)' % ('F' * 32) in exc.msg
    assert exc.message_id == 'KART30000-E'


def test_poll_errors_name_the_job_and_the_request():
    client = RunClient([Answer(202, job(8, status='Running', state='Started'))], answers=['not a job'])
    with pytest.raises(VspApiError) as info:
        run_act(client)
    assert info.value.msg == 'Act: GET of job 8 answered no job object'
    assert (info.value.method, info.value.path) == ('POST', '/act')
    with pytest.raises(VspApiError) as info:
        jobs.wait_for_job(PollClient([]), lambda i: i, {'status': 'Running'}, 'Wait', method='PUT', path='/w', clock=Clock())
    assert info.value.msg == 'Wait: the array answered without a job object'
    assert (info.value.method, info.value.path) == ('PUT', '/w')


def test_wait_timeout(vsp):
    vsp.login()
    vsp.get('/v1/objects/jobs/13', job(13, status='Running', state='Started'))
    vsp.get('/v1/objects/jobs/13', job(13, status='Running', state='Started'))
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with VspClient(connection_args(wait_timeout=3)) as client:
            api = VspApi(client)
            jobs.wait_for_job(client, api.job_path, job(13, status='Running', state='Started'), 'Test', clock=Clock())
    assert 'did not complete within 3 s (wait_timeout)' in str(info.value)


def test_wait_for_job_timeout_names_what_method_and_path():
    client = PollClient([job(5, status='Running', state='Started')] * 200)
    with pytest.raises(VspApiError) as info:
        jobs.wait_for_job(client, lambda i: '/jobs/%s' % i, job(5, status='Running', state='Started'), 'Slow step',
                          method='POST', path='/q', clock=Clock())
    assert info.value.msg.startswith('Slow step: job 5 did not complete within 100 s')
    assert (info.value.method, info.value.path) == ('POST', '/q')


def test_poll_timeout_message_is_exact():
    client = PollClient([job(5, status='S' * 40, state='Started')] * 200)
    with pytest.raises(VspApiError) as info:
        jobs.wait_for_job(client, lambda i: i, job(5, status='Running', state='T' * 40), 'Slow', clock=Clock())
    assert info.value.msg == ('Slow: job 5 did not complete within 100 s (wait_timeout); last status %s..., state Started. '
                              'The array may still complete it; check before repeating.' % ('S' * 32))


def test_poll_timeout_caps_the_state_at_32_characters():
    client = PollClient([job(5, status='Running', state='T' * 40)] * 200)
    with pytest.raises(VspApiError) as info:
        jobs.wait_for_job(client, lambda i: i, job(5, status='Running', state='Started'), 'Slow', clock=Clock())
    assert 'last status Running, state %s.... ' % ('T' * 32) in info.value.msg
    client = PollClient([job(5, status='Running', state='T' * 32)] * 200)
    with pytest.raises(VspApiError) as info:
        jobs.wait_for_job(client, lambda i: i, job(5, status='Running', state='Started'), 'Slow', clock=Clock())
    assert 'state %s. The array' % ('T' * 32) in info.value.msg


# -- the job summary ---------------------------------------------------------------------------------
def test_summarize_job_drops_request_body():
    summary = jobs.summarize_job(job(14))
    assert 'request' not in summary
    assert BACKUP_PASSWORD not in str(summary)


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


def test_summary_error_code_keeps_only_its_known_fields_ssb_capped_at_16():
    body = job(1, state='Failed', error=dict(kart_error(), errorCode={'SSB1': 'A' * 17, 'SSB2': 'B' * 16, 'errorCode': 7,
                                                                      'secretish': 'drop me'}))
    summary = jobs.summarize_job(body)
    assert summary['error']['errorCode'] == {'SSB1': 'A' * 16 + '...', 'SSB2': 'B' * 16, 'errorCode': '7'}


def test_job_text_is_cleaned():
    dirty = job(61, state='Fai\x1b[0mled', error=dict(kart_error(), message='x\r\nok: forged', solutionType='RE\nTRY'))
    summary = jobs.summarize_job(dirty)
    assert summary['state'] == 'Fai [0mled'
    assert summary['error']['message'] == 'x  ok: forged'
    assert summary['error']['solutionType'] == 'RE TRY'
    assert 'request' not in summary


# -- no invented success ---------------------------------------------------------------------------
@pytest.mark.parametrize('status, body', [(200, {}), (200, {'status': 'Completed'}), (202, {}), (202, [])])
def test_answer_without_job_object_is_an_error(vsp, status, body):
    """Before: any 200 without jobId counted as a finished job. Now the array must show a job."""
    vsp.login()
    vsp.add('POST', KMS_RESTORE, status=status, json=body)
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with VspClient(connection_args()) as client:
            VspApi(client).restore_keys_from_kms()
    text = str(info.value)
    assert 'Restore of the encryption keys from the KMS: the array answered HTTP %d without a job object' % status in text
    assert 'check the state of the array before repeating' in text


def test_answer_that_is_not_json_is_an_error(vsp):
    vsp.login()
    vsp.add('POST', KMS_BACKUP, status=200, body='<html>ok</html>', content_type='text/html')
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with VspClient(connection_args()) as client:
            VspApi(client).backup_keys_to_kms()
    assert 'without a job object' in str(info.value)


@pytest.mark.parametrize('body', [ValueError('no json'), {'no': 'job'}, ['x']])
def test_an_answer_without_a_job_is_an_error_naming_the_request(body):
    with pytest.raises(VspApiError) as info:
        run_act(RunClient([Answer(202, body)]))
    exc = info.value
    assert exc.msg == ('Act: the array answered HTTP 202 without a job object, so whether it was carried out is unknown; '
                       'check the state of the array before repeating')
    assert (exc.status, exc.method, exc.path) == (202, 'POST', '/act')


def test_documented_synchronous_answer_returns_none(vsp):
    vsp.login()
    vsp.add('POST', '/v1/objects/x/actions/y/invoke', status=200, json={})
    vsp.add('POST', '/v1/objects/x/actions/y/invoke', status=202, json={})
    vsp.logout()
    with VspClient(connection_args()) as client:
        api = VspApi(client)
        assert jobs.run_job(client, api.job_path, 'POST', '/v1/objects/x/actions/y/invoke', what='Y', json={},
                            synchronous_ok=True) is None
        with pytest.raises(VspApiError):  # 202 promises a job: still an error
            jobs.run_job(client, api.job_path, 'POST', '/v1/objects/x/actions/y/invoke', what='Y', json={}, synchronous_ok=True)
    assert jobs.summarize_job(None) is None


def test_synchronous_ok_needs_http_200():
    assert run_act(RunClient([Answer(200, {})]), synchronous_ok=True) is None
    with pytest.raises(VspApiError):
        run_act(RunClient([Answer(202, {})]), synchronous_ok=True)


@pytest.mark.parametrize('job_id', ['../sessions/3', '1/2', -1, True, '1e3'])
def test_job_id_is_checked_before_it_becomes_a_path(vsp, job_id):
    vsp.login()
    vsp.add('POST', CHANGE, status=202, json=dict(job(1, status='Running', state='Started'), jobId=job_id))
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with VspClient(connection_args()) as client:
            VspApi(client).change_ldev_status(5, 'blk')
    assert 'The array sent an unexpected value, it was not used: jobId: %r is not a job id' % (job_id,) in str(info.value)
    assert [c[0] for c in vsp.calls] == ['POST', 'POST', 'DELETE']  # no poll


# -- solutionType RETRY ------------------------------------------------------------------------------
def test_retry_job_error_is_sent_again_when_idempotent(vsp, no_sleep):
    vsp.login()
    vsp.add('POST', CHANGE, status=202, json=job(21, state='Failed', error=retry_error()))
    vsp.add('POST', CHANGE, status=202, json=job(22))
    vsp.logout()
    with VspClient(connection_args(), rng=EdgeRng()) as client:
        done = VspApi(client).change_ldev_status(5, 'blk')
        assert done['jobId'] == 22
        assert client.retries_made == [{'method': 'POST', 'path': CHANGE, 'wait_seconds': 0.5,
                                        'reason': 'job 21 failed with solutionType RETRY (KART40070-E)'}]
    assert no_sleep == [0.5]


def test_retry_job_error_bound(vsp, no_sleep):
    vsp.login()
    for job_id in (31, 32, 33):  # 1 try + retries=2
        vsp.add('POST', CHANGE, status=202, json=job(job_id, state='Failed', error=retry_error()))
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with VspClient(connection_args(retries=2), rng=EdgeRng()) as client:
            VspApi(client).change_ldev_status(5, 'blk')
    assert 'job 33 state Failed' in str(info.value)
    assert info.value.solution_type == 'RETRY'
    assert no_sleep == [0.5, 1.0]


def test_retry_job_error_of_a_restore_is_not_repeated(vsp, no_sleep):
    """A key restore is not known to be harmless to repeat: its RETRY failure is reported, not re-sent."""
    vsp.login()
    vsp.add('POST', KMS_RESTORE, status=202, json=job(41, state='Failed', error=retry_error()))
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with VspClient(connection_args()) as client:
            VspApi(client).restore_keys_from_kms()
    assert info.value.message_id == 'KART40070-E'
    assert [c for c in vsp.calls if c[1] == KMS_RESTORE] == [('POST', KMS_RESTORE)]
    assert no_sleep == []


def test_other_job_errors_are_not_retried(vsp, no_sleep):
    vsp.login()
    vsp.add('POST', CHANGE, status=202, json=job(51, state='Failed', error=kart_error()))
    vsp.logout()
    with pytest.raises(VspApiError):
        with VspClient(connection_args()) as client:
            VspApi(client).change_ldev_status(5, 'blk')
    assert no_sleep == []


def test_a_retry_job_failure_is_sent_again_and_recorded():
    failed = job(9, state='Failed', error=dict(kart_error('KART40070-E'), solutionType='RETRY'))
    failed_upper = job(10, state='Failed', error={'messageID': 'KART2-E', 'solutionType': 'RETRY'})
    client = RunClient([Answer(202, failed), Answer(202, failed_upper), Answer(202, job(11))])
    assert run_act(client, idempotent=True)['jobId'] == 11
    assert client.retried == [('POST', '/act', 'job 9 failed with solutionType RETRY (KART40070-E)', 10.0),
                              ('POST', '/act', 'job 10 failed with solutionType RETRY (KART2-E)', 11.0)]
    assert client.slept == [10.0, 11.0]
    client = RunClient([Answer(202, job(12, state='Failed', error={'solutionType': 'RETRY'})), Answer(202, job(13))])
    run_act(client, idempotent=True)
    assert client.retried[0][2] == 'job 12 failed with solutionType RETRY (no messageId)'


def test_a_retry_record_caps_the_message_id_at_64_characters():
    failed = job(9, state='Failed', error={'messageId': 'M' * 70, 'solutionType': 'RETRY'})
    client = RunClient([Answer(202, failed), Answer(202, job(11))])
    run_act(client, idempotent=True)
    assert client.retried[0][2] == 'job 9 failed with solutionType RETRY (%s...)' % ('M' * 64)
    failed = job(9, state='Failed', error={'messageId': 'M' * 64, 'solutionType': 'RETRY'})
    client = RunClient([Answer(202, failed), Answer(202, job(11))])
    run_act(client, idempotent=True)
    assert client.retried[0][2] == 'job 9 failed with solutionType RETRY (%s)' % ('M' * 64)


def test_a_failed_job_without_error_object_is_not_retried():
    client = RunClient([Answer(202, job(14, state='Failed', error=None)), Answer(202, job(15))])
    client.posts[0].body['error'] = 'RETRY'
    with pytest.raises(VspApiError) as info:
        run_act(client, idempotent=True)
    assert info.value.msg == 'Act failed (job 14 state Failed)'
    assert (info.value.method, info.value.path) == ('POST', '/act')
    assert client.retried == []


def test_a_request_is_not_idempotent_unless_said():
    failed = job(9, state='Failed', error={'messageId': 'KART1-E', 'solutionType': 'RETRY'})
    client = RunClient([Answer(202, failed), Answer(202, job(11))])
    with pytest.raises(VspApiError):
        run_act(client)
    assert client.retried == []
