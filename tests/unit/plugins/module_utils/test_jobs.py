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


def test_wait_timeout(vsp):
    class Clock(object):
        now = 0.0

        def __call__(self):
            self.now += 1.0
            return self.now

    vsp.login()
    vsp.get('/v1/objects/jobs/13', job(13, status='Running', state='Started'))
    vsp.get('/v1/objects/jobs/13', job(13, status='Running', state='Started'))
    vsp.logout()
    with pytest.raises(VspApiError) as info:
        with VspClient(connection_args(wait_timeout=3)) as client:
            api = VspApi(client)
            jobs.wait_for_job(client, api.job_path, job(13, status='Running', state='Started'), 'Test', clock=Clock())
    assert 'did not complete within 3 s (wait_timeout)' in str(info.value)


def test_summarize_job_drops_request_body():
    summary = jobs.summarize_job(job(14))
    assert 'request' not in summary
    assert BACKUP_PASSWORD not in str(summary)


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


def test_job_text_is_cleaned():
    dirty = job(61, state='Fai\x1b[0mled', error=dict(kart_error(), message='x\r\nok: forged', solutionType='RE\nTRY'))
    summary = jobs.summarize_job(dirty)
    assert summary['state'] == 'Fai [0mled'
    assert summary['error']['message'] == 'x  ok: forged'
    assert summary['error']['solutionType'] == 'RE TRY'
    assert 'request' not in summary
