"""vsp_bench.requests_log: the kind of each request, the counts, the module runs and the phases of a log."""

import pytest
from vsp_bench import requests_log

OBJECTS = "/ConfigurationManager/v1/objects"


def req(method, path):
    return {"method": method, "path": OBJECTS + path}


LOG_IN = req("POST", "/sessions")
LOG_OUT = req("DELETE", "/sessions/1")
LIST = req("GET", "/ldevs")
CHANGE = req("POST", "/ldevs/5/actions/change-status/invoke")
POLL = req("GET", "/jobs/7")
RESTORE = req("POST", "/encryption-keys/file/actions/restore/invoke")


@pytest.mark.parametrize(("method", "path", "kind"), [
    ("POST", OBJECTS + "/sessions", "log in"),
    ("DELETE", OBJECTS + "/sessions/3", "log out"),
    ("POST", OBJECTS + "/ldevs/5/actions/change-status/invoke", "change-status"),
    ("GET", OBJECTS + "/jobs/12", "job poll"),
    ("POST", OBJECTS + "/encryption-keys/file/actions/restore/invoke", "key restore"),
    ("POST", OBJECTS + "/encryption-keys/file/actions/backup/invoke", "key backup"),
    ("GET", OBJECTS + "/ldevs/5", "GET ldev"),
    ("GET", OBJECTS + "/ldevs", "GET ldevs"),
    ("GET", OBJECTS + "/storages/836000123456/ldevs", "GET ldevs"),  # the storage prefix does not count
    ("GET", OBJECTS + "/encryption-keys", "GET encryption-keys"),
    ("GET", OBJECTS + "/parity-groups", "GET parity-groups"),
])
def test_request_kind_names_each_request_of_the_procedure(method, path, kind):
    assert requests_log.request_kind({"method": method, "path": path}) == kind


def test_count_kinds_orders_by_count_then_by_name():
    counts = requests_log.count_kinds([LOG_IN, CHANGE, POLL, CHANGE, POLL, LOG_OUT])
    assert list(counts.items()) == [("change-status", 2), ("job poll", 2), ("log in", 1), ("log out", 1)]


def test_logins_counts_the_sessions_opened():
    assert requests_log.logins([LOG_IN, LIST, LOG_OUT, LOG_IN, LOG_OUT]) == 2


def test_session_segments_split_a_log_into_module_runs_that_alternate():
    segments, alternating = requests_log.session_segments([LOG_IN, LIST, LOG_OUT, LOG_IN, CHANGE, POLL, LOG_OUT])
    assert [len(s) for s in segments] == [3, 4]
    assert alternating


@pytest.mark.parametrize("entries", [
    [LOG_IN, LIST, LOG_IN, LOG_OUT],  # a second session inside one module run
    [LIST, LOG_IN, LOG_OUT],  # a request outside any session
    [LOG_IN, LIST],  # a session never closed
], ids=["second-session", "request-outside", "never-closed"])
def test_session_segments_do_not_alternate_when_a_run_is_not_one_session(entries):
    assert requests_log.session_segments(entries)[1] is False


def run(*middle):
    return [LOG_IN, *middle, LOG_OUT]


def test_role_phases_are_the_change_status_runs_before_and_after_the_restore():
    entries = (run(LIST) + run(CHANGE, POLL) + run(CHANGE, POLL, CHANGE, POLL)  # preflight, 2 block batches
               + run(RESTORE, POLL) + run(CHANGE, POLL) + run(LIST))  # restore, 1 recover batch, verification
    block, recover, module_runs, alternating = requests_log.role_phases(entries)
    assert [len(s) for s in block] == [4, 6]
    assert [len(s) for s in recover] == [4]
    assert module_runs == 6
    assert alternating


def test_role_phases_without_a_key_restore_stop_the_bench():
    with pytest.raises(SystemExit, match="no key restore"):
        requests_log.role_phases(run(CHANGE, POLL))


def test_baseline_phases_are_the_volume_requests_before_the_restore_and_after_its_job():
    entries = [LOG_IN, LIST, CHANGE, POLL, CHANGE, POLL, RESTORE, POLL, CHANGE, POLL, LOG_OUT]
    block, recover = requests_log.baseline_phases(entries)
    assert block == [LIST, CHANGE, POLL, CHANGE, POLL]
    assert recover == [CHANGE, POLL]
