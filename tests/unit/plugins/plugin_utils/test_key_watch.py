# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The event source's logic (plugin_utils/_key_watch.py): arguments, diffs, bursts, outages, back-off."""

import json

import pytest

from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError, VspUnreachable
from ansible_collections.vsp.encryption.plugins.plugin_utils import _key_watch as kw

PASSWORD = 'Pw-n0t-in-any-event'  # noqa: S105 - a test value
ENV = {'VSP_HOST': 'vsp01.example.com', 'VSP_USERNAME': 'watcher', 'VSP_PASSWORD': PASSWORD}


def settings(**args):
    return kw.watch_settings(dict({'poll_interval': 10, 'settle_interval': 2, 'burst_max': 30, 'failing_after': 60}, **args), ENV)


def snap(dek=(), free=(), coverage=None):
    return kw.Snapshot({'DEK': [str(i) for i in dek], 'CEK': ['1000'], 'KEK': ['1001'], 'FREE': [str(i) for i in free]}, coverage)


LOST = {'lost_parity_groups': ['1-1'], 'lost_drives': ['HDD00-00', 'HDD00-01']}
COVERED = {'lost_parity_groups': [], 'lost_drives': []}


def body(events):
    return [e[kw.EVENT_KEY] for e in events]


# -- arguments ----------------------------------------------------------------------------------------
def test_defaults_come_from_the_modules_connection_options_and_the_vsp_environment():
    result = kw.watch_settings({}, dict(ENV, VSP_PORT='8443', VSP_VALIDATE_CERTS='false'))
    assert result.poll_interval == kw.POLL_INTERVAL == 60
    (target,) = result.targets
    assert target.name == 'vsp01.example.com'
    assert target.params['port'] == 8443 and target.params['validate_certs'] is False
    assert target.params['retries'] == 5 and target.params['protocol'] == 'https'


def test_tls_is_verified_by_default():
    (target,) = kw.watch_settings({'arrays': [{'name': 'vsp01', 'host': '192.0.2.1'}]}, ENV).targets
    assert target.params['validate_certs'] is True


def test_each_array_takes_its_own_options_over_the_sources_and_the_environment():
    result = kw.watch_settings({'username': 'all', 'arrays': [{'name': 'a', 'host': 'h1'}, {'name': 'b', 'host': 'h2', 'username': 'b-user'}]}, ENV)
    assert [(t.name, t.params['host'], t.params['username']) for t in result.targets] == [('a', 'h1', 'all'), ('b', 'h2', 'b-user')]


@pytest.mark.parametrize('args, words', [
    ({'poll_interval': 0}, ['poll_interval', 'from 1 to 3600']),
    ({'poll_interval': 'often'}, ['poll_interval', 'not a number']),
    ({'failing_after': 5}, ['failing_after', 'from 10']),
    ({'pol_interval': 5}, ['unknown argument pol_interval', 'poll_interval']),
    ({'arrays': []}, ['arrays', 'non-empty list']),
    ({'arrays': [{'name': 'a', 'port': 'x'}]}, ['arrays[0].port', 'not an integer']),
    ({'arrays': [{'name': 'a', 'hots': 'x'}]}, ['arrays[0].', 'unknown option hots']),
    ({'arrays': [{'name': 'a'}, {'name': 'a'}]}, ['arrays[1].name', 'names two arrays']),
    ({'arrays': [{'name': 'a', 'storage_device_id': '12'}]}, ['storage_device_id', '12 digits']),
    ({'arrays': [{'name': 'a', 'validate_certs': 'maybe'}]}, ['arrays[0].validate_certs', 'not a boolean']),
])
def test_a_bad_argument_is_refused_naming_it_and_the_rule(args, words):
    with pytest.raises(VspApiError) as err:
        settings(**args)
    for word in words:
        assert word in err.value.msg
    assert PASSWORD not in err.value.msg


def test_a_missing_password_names_the_environment_variable():
    with pytest.raises(VspApiError) as err:
        kw.watch_settings({'host': 'h'}, {'VSP_USERNAME': 'u'})
    assert 'password is required' in err.value.msg and 'VSP_PASSWORD' in err.value.msg


def test_the_arguments_rulebook_adds_itself_are_ignored():
    assert kw.watch_settings({'eda_feedback_queue': object()}, ENV).targets


# -- diffs --------------------------------------------------------------------------------------------
def test_key_changes_name_the_ids_created_and_deleted_by_type_in_numeric_order():
    changes = kw.key_changes(snap(dek=[1, 2], free=[9, 10]), snap(dek=[1, 2, 10], free=[9, 100, 11]))
    assert changes == {'created': {'DEK': ['10'], 'FREE': ['11', '100']}, 'deleted': {'FREE': ['10']}}
    assert kw.key_changes(snap(dek=[1]), snap(dek=[1])) is None


# -- bursts -------------------------------------------------------------------------------------------
def test_the_first_poll_is_the_started_event_with_the_state_found():
    watch = kw.ArrayWatch(settings().targets[0], settings())
    events, delay, note = watch.observed(snap(dek=[1, 2], coverage=COVERED), 0)
    (event,) = body(events)
    assert event['kind'] == 'started' and event['keys_lost'] is False and delay == 10 and note is None
    assert event['key_counts'] == {'DEK': 2, 'CEK': 1, 'KEK': 1, 'FREE': 0}
    assert event['array']['name'] == 'vsp01.example.com'


def test_a_burst_of_changes_over_several_polls_is_one_event():
    cfg = settings()
    watch = kw.ArrayWatch(cfg.targets[0], cfg)
    watch.observed(snap(dek=[1]), 0)
    assert watch.observed(snap(dek=[1]), 10) == ([], 10, None)
    assert watch.observed(snap(dek=[1], free=range(100, 116)), 20)[:2] == ([], 2)  # settle: poll again soon
    assert watch.observed(snap(dek=[1], free=range(100, 148)), 22)[:2] == ([], 2)
    events, delay, dummy = watch.observed(snap(dek=[1], free=range(100, 148)), 24)
    (event,) = body(events)
    assert event['kind'] == 'keys_changed' and delay == 10
    assert event['created'] == {'FREE': [str(i) for i in range(100, 148)]} and event['deleted'] == {}
    assert watch.observed(snap(dek=[1], free=range(100, 148)), 34)[0] == []


def test_a_burst_longer_than_burst_max_is_reported_without_waiting_for_its_end():
    cfg = settings(burst_max=4)
    watch = kw.ArrayWatch(cfg.targets[0], cfg)
    watch.observed(snap(), 0)
    watch.observed(snap(free=[1]), 10)
    watch.observed(snap(free=[1, 2]), 12)
    (event,) = body(watch.observed(snap(free=[1, 2, 3]), 14)[0])
    assert event['created'] == {'FREE': ['1', '2', '3']}


def test_keys_created_and_deleted_within_one_burst_make_no_event():
    cfg = settings()
    watch = kw.ArrayWatch(cfg.targets[0], cfg)
    watch.observed(snap(), 0)
    watch.observed(snap(free=[5]), 10)
    assert watch.observed(snap(), 12)[0] == []
    assert watch.observed(snap(), 14)[0] == []


def test_lost_keys_make_a_keys_lost_event_naming_groups_and_drives():
    cfg = settings()
    watch = kw.ArrayWatch(cfg.targets[0], cfg)
    watch.observed(snap(dek=[1, 2, 3], coverage=COVERED), 0)
    watch.observed(snap(dek=[3], coverage=LOST), 10)
    (event,) = body(watch.observed(snap(dek=[3]), 12)[0])
    assert event['kind'] == 'keys_lost' and event['keys_lost'] is True
    assert event['lost_parity_groups'] == ['1-1'] and event['lost_drives'] == ['HDD00-00', 'HDD00-01']
    assert event['deleted'] == {'DEK': ['1', '2']}


def test_a_start_with_lost_keys_says_so():
    watch = kw.ArrayWatch(settings().targets[0], settings())
    (event,) = body(watch.observed(snap(dek=[3], coverage=LOST), 0)[0])
    assert event['kind'] == 'started' and event['keys_lost'] is True


# -- outages ------------------------------------------------------------------------------------------
def test_an_outage_warns_once_backs_off_reports_after_failing_after_and_reports_the_resume():
    cfg = settings()
    watch = kw.ArrayWatch(cfg.targets[0], cfg)
    watch.observed(snap(), 0)
    down = VspUnreachable('POST /v1/objects/sessions: connection refused', reason='connection refused')
    steps = [watch.failed(down, t) for t in (10, 20, 40, 80)]
    notes = [note for dummy, dummy2, note in steps if note]
    assert len(notes) == 1 and 'connection refused' in notes[0] and 'every 10 s' in notes[0]
    assert [delay for dummy, delay, dummy2 in steps] == [10, 20, 40, 80]
    failing = [e for events, dummy, dummy2 in steps for e in body(events)]
    assert [(e['kind'], e['failing_seconds']) for e in failing] == [('watch_failing', 70)]
    events, delay, note = watch.observed(snap(), 100)
    assert [(e['kind'], e['failed_seconds']) for e in body(events)] == [('watch_resumed', 90)]
    assert 'resumed after 90 s' in note and delay == 10


def test_a_short_outage_makes_no_event_only_the_warning_and_the_note():
    cfg = settings()
    watch = kw.ArrayWatch(cfg.targets[0], cfg)
    watch.observed(snap(), 0)
    events, dummy, note = watch.failed(VspApiError('GET x failed', status=503), 10)
    assert events == [] and note
    events, dummy, note = watch.observed(snap(), 20)
    assert events == [] and 'resumed' in note


def test_back_off_doubles_from_the_poll_interval_up_to_the_cap():
    assert [kw.backoff(n, 10) for n in (1, 2, 3, 6, 10)] == [10, 20, 40, 300, 300]
    assert kw.backoff(3, 600) == 600


@pytest.mark.parametrize('exc, transient', [
    (VspUnreachable('x', reason='connection refused'), True),
    (VspUnreachable('x', reason='TLS error', tls=True), False),
    (VspApiError('x', status=503), True),
    (VspApiError('x', status=500), True),
    (VspApiError('x', status=400, message_id='KART00003-E'), True),
    (VspApiError('Log in as u failed (check username and password)', status=401, path='/v1/objects/sessions'), False),
    (VspApiError('x', status=403), False),
])
def test_outages_are_retried_and_refusals_are_not(exc, transient):
    assert kw.is_transient(exc) is transient


def test_a_refused_login_stops_with_a_message_saying_why_there_is_no_retry():
    refused = VspApiError('Log in as u failed (check username and password)', status=401, method='POST', path='/v1/objects/sessions')
    text = kw.stop_message('vsp01', refused)
    assert text.startswith('array vsp01: watching the encryption keys stopped: Log in as u failed')
    assert 'no retry' in text and 'lock' in text and 'VSP_PASSWORD' in text


# -- reading ------------------------------------------------------------------------------------------
class FakeApi(object):
    def __init__(self, deks):
        self.deks = deks
        self.calls = []

    def list_keys_by_type(self):
        self.calls.append('keys')
        return {'DEK': [{'keyId': k, 'targetDeviceLocation': 'HDD-%s' % k} for k in self.deks], 'CEK': [], 'KEK': [], 'FREE': []}

    def list_parity_groups(self):
        self.calls.append('parity-groups')
        return [{'parityGroupId': '1-1', 'isEncryptionEnabled': True}]

    def list_drives(self):
        self.calls.append('drives')
        return [{'parityGroupId': '1-1', 'driveLocationId': 'HDD-%s' % k} for k in ('1', '2')]


def test_coverage_is_read_at_the_first_poll_and_when_the_deks_change_only():
    api = FakeApi(['1', '2'])
    first = kw.read_snapshot(api)
    assert first.coverage['lost_parity_groups'] == []
    second = kw.read_snapshot(api, first)
    assert second.coverage is None and api.calls == ['keys', 'parity-groups', 'drives', 'keys']
    api.deks = ['2']
    third = kw.read_snapshot(api, second)
    assert third.coverage['lost_parity_groups'] == ['1-1'] and third.coverage['lost_drives'] == ['HDD-1']


def test_no_event_holds_the_password():
    cfg = settings(password=PASSWORD)
    watch = kw.ArrayWatch(cfg.targets[0], cfg)
    events = watch.observed(snap(dek=[1], coverage=COVERED), 0)[0]
    events += watch.failed(VspApiError('x', status=503), 10)[0] + watch.failed(VspApiError('x', status=503), 100)[0]
    events += watch.observed(snap(), 110)[0] + watch.observed(snap(), 112)[0]
    assert len(events) == 4
    assert PASSWORD not in json.dumps(events)
