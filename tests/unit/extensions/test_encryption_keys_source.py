# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The event source's async loop (extensions/eda/plugins/event_source/encryption_keys.py) with a fake array:
events on the queue, blocking calls in a worker thread, the session logged out at the end (also when cancelled),
a refusal stops the source at once, bad arguments fail at the start."""

import asyncio
import json
import logging
import threading

import pytest

from ansible_collections.vsp.encryption.extensions.eda.plugins.event_source import encryption_keys as source
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError, VspUnreachable
from ansible_collections.vsp.encryption.plugins.plugin_utils import _key_watch as kw

PASSWORD = 'Pw-0f-the-watcher'  # noqa: S105 - a test value
ARGS = {'host': 'vsp01', 'username': 'watcher', 'password': PASSWORD, 'poll_interval': 10, 'settle_interval': 1,
        'failing_after': 30}
STORAGE = {'storageDeviceId': '936000412345', 'serialNumber': 412345, 'model': 'VSP E990'}


class FakeClient(object):
    def __init__(self, array):
        self.array = array

    def first_contact(self):
        self.array.step('login')

    def close(self):
        self.array.threads.add(threading.current_thread().name)
        self.array.closed += 1


class FakeArray(object):
    """A scripted array: ``script`` is a list of key lists (a list of FREE ids) or exceptions, one per poll."""

    def __init__(self, script):
        self.script = list(script)
        self.client = FakeClient(self)
        self.closed = 0
        self.threads = set()
        self.free = []

    def step(self, what):
        self.threads.add(threading.current_thread().name)
        if what == 'keys' and self.script:
            item = self.script.pop(0)
            if isinstance(item, Exception):
                raise item
            self.free = item

    def storage(self):
        return dict(STORAGE)

    def list_keys_by_type(self):
        self.step('keys')
        return {'DEK': [{'keyId': '1', 'targetDeviceLocation': 'HDD-1'}], 'CEK': [], 'KEK': [],
                'FREE': [{'keyId': k} for k in self.free]}

    def list_parity_groups(self):
        return [{'parityGroupId': '1-1', 'isEncryptionEnabled': True}]

    def list_drives(self):
        return [{'parityGroupId': '1-1', 'driveLocationId': 'HDD-1'}]


class Clock(object):
    """Fake time: sleeping advances it; after ``polls`` sleeps the watch is cancelled."""

    def __init__(self, polls):
        self.now = 0.0
        self.polls = polls
        self.delays = []

    def __call__(self):
        return self.now

    async def sleep(self, delay):
        self.delays.append(delay)
        self.now += delay
        if len(self.delays) >= self.polls:
            raise asyncio.CancelledError


def run_watch(script, polls, args=None):
    array = FakeArray(script)
    clock = Clock(polls)
    queue = asyncio.Queue()
    settings = kw.watch_settings(dict(ARGS, **(args or {})), {})

    async def go():
        await source.watch_array(queue, settings.targets[0], settings, new_api=lambda target: array, clock=clock,
                                 sleep=clock.sleep)

    outcome = None
    try:
        asyncio.run(go())
    except asyncio.CancelledError:
        outcome = 'cancelled'
    except source.WatchStopped as exc:
        outcome = exc
    events = []
    while not queue.empty():
        events.append(queue.get_nowait()[kw.EVENT_KEY])
    return array, clock, events, outcome


def test_the_watch_puts_the_start_and_one_event_per_burst_and_logs_out_when_cancelled():
    array, clock, events, outcome = run_watch([[], [], ['7'], ['7', '8'], ['7', '8'], ['7', '8']], polls=6)
    assert outcome == 'cancelled' and array.closed == 1
    assert [e['kind'] for e in events] == ['started', 'keys_changed']
    assert events[1]['created'] == {'FREE': ['7', '8']}
    assert events[0]['array'] == {'name': 'vsp01', 'host': 'vsp01', 'storage_device_id': '936000412345',
                                  'serial_number': 412345, 'model': 'VSP E990'}
    assert clock.delays == [10, 10, 1, 1, 10, 10]


def test_blocking_calls_run_in_a_worker_thread_not_on_the_event_loop():
    array = run_watch([[]], polls=1)[0]
    assert array.threads and all(name.startswith('vsp-watch') for name in array.threads)


def test_an_outage_is_retried_with_back_off_and_warned_once(caplog):
    down = VspUnreachable('GET /v1/objects/encryption-keys: connection refused', reason='connection refused')
    with caplog.at_level(logging.INFO, logger='vsp.encryption.encryption_keys'):
        array, clock, events, outcome = run_watch([[], down, down, down, []], polls=5)
    assert clock.delays == [10, 10, 20, 40, 10]
    assert [e['kind'] for e in events] == ['started', 'watch_failing', 'watch_resumed']
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and 'connection refused' in warnings[0].getMessage()
    assert array.closed == 1


@pytest.mark.parametrize('refusal', [
    VspApiError('Log in as watcher failed (check username and password)', status=401, method='POST', path='/v1/objects/sessions'),
    VspUnreachable('POST /v1/objects/sessions: TLS error (certificate not trusted?)', reason='TLS error', tls=True),
])
def test_a_refused_login_or_tls_failure_stops_the_source_at_once_and_logs_out(refusal):
    array, clock, events, outcome = run_watch([[], refusal], polls=10)
    assert isinstance(outcome, source.WatchStopped) and 'stopped' in str(outcome)
    assert clock.delays == [10] and array.closed == 1 and [e['kind'] for e in events] == ['started']


def test_bad_arguments_fail_at_the_start_naming_the_argument():
    with pytest.raises(source.WatchStopped) as err:
        asyncio.run(source.main(asyncio.Queue(), dict(ARGS, poll_interval=0)))
    assert 'poll_interval' in str(err.value) and 'from 1 to 3600' in str(err.value)


def test_no_event_and_no_message_holds_the_password(caplog):
    down = VspApiError('GET /v1/objects/encryption-keys failed', status=503)
    with caplog.at_level(logging.DEBUG):
        dummy, dummy2, events, outcome = run_watch([[], down, down, down, down, ['1']], polls=7)
    assert len(events) >= 3
    assert PASSWORD not in json.dumps(events) and PASSWORD not in caplog.text


def test_the_source_outside_an_installed_collection_fails_saying_how_to_install_it(tmp_path):
    import runpy

    copy = tmp_path / 'encryption_keys.py'
    copy.write_text(open(source.__file__).read())
    with pytest.raises(ImportError) as err:
        runpy.run_path(str(copy))
    assert 'must run from an installed collection' in str(err.value) and 'ansible-galaxy collection install' in str(err.value)
