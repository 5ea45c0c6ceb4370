# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import pytest
from conftest import BACKUP_PASSWORD, assert_no_secret, connection_args, job, kart_error

from ansible_collections.vsp.encryption.plugins.module_utils import jobs
from ansible_collections.vsp.encryption.plugins.module_utils.api import VspApi
from ansible_collections.vsp.encryption.plugins.module_utils.client import VspClient
from ansible_collections.vsp.encryption.plugins.module_utils.errors import VspApiError

CHANGE = '/v1/objects/ldevs/5/actions/change-status/invoke'


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
