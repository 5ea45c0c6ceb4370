"""Faults are survived (issue #6): each module either succeeds by retrying within its bounds or
fails with a message naming the cause; its session is deleted; no partial or corrupt key file
exists; a rerun converges.

The module-level faults run in one playbook against one simulator over HTTPS. Each case: set the
faults (control API, from the controller through the test lookup `simctl`), read the session count,
run the module, clear the faults, read the state, then mark the request log
(`GET /ConfigurationManager/reliability-marker/<n>`), so each case's own requests are judged.
A session expiring in the middle of a run needs a second actor; it has its own test below.
"""
import json
import os
import re
import threading
import time

import pytest
from rel_helpers import split_log_by_marker
from rel_helpers import (ADMIN_PASSWORD, BACKUP_PASSWORD, SESSIONS_RE, accepted_writes, check_backup_dir, ctl_task, logins, marker_task,
                         module_task, run_cases)

FILL = {"user": "admin", "password": ADMIN_PASSWORD}


def cases(backups):
    """(name, faults, setup calls, module, args, expect, words in msg, checks)."""
    def f(path):
        return os.path.join(backups, path)
    return [
        ("503 burst on log in", [{"method": "POST", "path": "/sessions$", "status": 503, "times": 2}], [],
         "pool_volume_info", {}, "ok", [], {}),
        ("503 burst on reads", [{"method": "GET", "path": "/ldevs$", "status": 503, "times": 2}], [],
         "pool_volume_info", {"parity_groups": ["1-1"]}, "ok", [], {}),
        ("503 burst on change-status", [{"method": "POST", "path": "change-status", "status": 503, "times": 2}], [],
         "pool_volume_state", {"parity_groups": ["1-3"], "state": "blocked"}, "ok", [], {"blocked": [4, 5]}),
        ("503 burst on the key file download", [{"method": "POST", "path": "file/actions/backup", "status": 503, "times": 2}], [],
         "encryption_key_backup", {"path": f("b503.ekf"), "backup_password": BACKUP_PASSWORD}, "ok", [], {"file": f("b503.ekf")}),
        ("503 burst on log out", [{"method": "DELETE", "path": "/sessions/", "status": 503, "times": 2}], [],
         "pool_volume_info", {}, "ok", [], {}),
        ("503 without end: bounded retries", [{"method": "GET", "path": "encryption-keys", "status": 503}], [],
         "encryption_key_info", {"retries": 1}, "fail", ["HTTP 503 after 1 retries", "encryption-keys"], {}),
        ("64-session cap, freed while retrying", [], [["FILL", 64, dict(FILL, alive=4)]],
         "pool_volume_info", {"retries": 6}, "ok", [], {"filled": True}),
        ("64-session cap that stays", [], [["FILL", 64, dict(FILL, alive=300)]],
         "pool_volume_info", {"retries": 1}, "fail", ["maximum number of sessions", "503"], {"filled": True, "expire": True}),
        ("dropped connections on reads", [{"method": "GET", "path": "/ldevs$", "action": "drop", "times": 2}], [],
         "pool_volume_info", {"parity_groups": ["1-4"]}, "ok", [], {}),
        ("dropped connection on the key file download", [{"method": "POST", "path": "file/actions/backup", "action": "drop", "times": 1}], [],
         "encryption_key_backup", {"path": f("bdrop.ekf"), "backup_password": BACKUP_PASSWORD}, "ok", [], {"file": f("bdrop.ekf")}),
        ("dropped connections without end: bounded retries", [{"method": "GET", "path": "/parity-groups/", "action": "drop"}], [],
         "pool_volume_state", {"parity_groups": ["1-4"], "state": "blocked", "retries": 1}, "fail",
         ["connection closed by the server after 1 retries", "parity-groups"], {}),
        ("slow read past timeout", [{"method": "GET", "path": "/pools$", "delay_ms": 1600, "times": 1}], [],
         "pool_volume_info", {"timeout": 1}, "ok", [], {}),
        ("job fails: recover while the keys are lost", [], [["POST", "lose-keys", {"parity_groups": ["1-1"]}]],
         "pool_volume_state", {"parity_groups": ["1-1"], "state": "normal"}, "fail", ["KART30000-E", "normal", "0, 1"],
         {"pre": ("pool_volume_state", {"parity_groups": ["1-1"], "state": "blocked"}), "blocked": [0, 1]}),
        ("restore answered HTTP 500", [{"method": "POST", "path": "restore/invoke", "status": 500, "times": 1}], [],
         "encryption_key_restore", {"path": f("b503.ekf"), "backup_password": BACKUP_PASSWORD, "parity_groups": ["1-1"]}, "fail",
         ["HTTP 500", "restore"], {"lost": ["1-1"]}),
        ("rerun after the failures: restore", [], [],
         "encryption_key_restore", {"path": f("b503.ekf"), "backup_password": BACKUP_PASSWORD, "parity_groups": ["1-1"]}, "ok", [],
         {"restored": 4}),
        ("rerun after the failures: recover", [], [],
         "pool_volume_state", {"pool_ids": [0, 1], "state": "normal"}, "ok", [], {"normal": [0, 1, 2, 3, 4, 5, 6, 7]}),
        # a file backup is harmless to repeat (another copy of the same keys): retried after a timeout or a broken connection
        ("slow key file download past timeout: retried", [{"method": "POST", "path": "file/actions/backup", "delay_ms": 1600, "times": 1}],
         [], "encryption_key_backup", {"path": f("bslow.ekf"), "backup_password": BACKUP_PASSWORD, "timeout": 1}, "ok", [],
         {"file": f("bslow.ekf")}),
    ]


@pytest.fixture(scope="module")
def run(sim, tmp_path_factory):
    work = tmp_path_factory.mktemp("faults")
    backups = str(work / "backups")
    os.mkdir(backups, 0o700)
    sim.reset()
    sim.clear_requests()
    the_cases = cases(backups)
    tasks = []
    for i, (name, faults, setup, module, args, _expect, _words, checks) in enumerate(the_cases):
        if checks.get("pre"):
            tasks.append(module_task("%02d pre" % i, checks["pre"][0], checks["pre"][1], register="pre_%02d" % i))
        calls = [["POST", "faults", fault] for fault in faults] + list(setup) + [["GET", "state"]]
        tasks.append(ctl_task("%02d set up" % i, sim, calls, register="before_%02d" % i))
        tasks.append(module_task("%02d %s" % (i, name), module, args, register="case_%02d" % i))
        after = [["DELETE", "faults"], ["GET", "state"]]
        if checks.get("expire"):
            after.append(["POST", "expire-sessions"])
        tasks.append(ctl_task("%02d clean up" % i, sim, after, register="after_%02d" % i))
        tasks.append(marker_task("%02d marker" % i, sim, "%02d" % i))
    results, proc = run_cases(work, "faults", tasks, sim)
    deadline = time.monotonic() + 3  # the slow download the module gave up on reaches the simulator (refused: session gone)
    while time.monotonic() < deadline and not any("backup" in e["path"] for e in sim.requests_log()[-3:]):
        time.sleep(0.1)
    log = sim.requests_log()
    by_case, current = split_log_by_marker(log)
    return {"cases": the_cases, "results": results, "log": by_case, "late": current, "backups": backups, "final": sim.state(),
            "proc": proc}


def _case_ids():
    return [c[0] for c in cases("/x")]


def _ldevs(state, ids):
    return dict((ld["ldevId"], ld["status"]) for ld in state["ldevs"] if ld["ldevId"] in ids)


def _params():
    """Fault cases count as faults survived; the rerun steps after them as reruns converged."""
    return [pytest.param(i, id=name, marks=pytest.mark.reliability("rerun" if name.startswith("rerun") else "fault"))
            for i, name in enumerate(_case_ids())]


@pytest.mark.parametrize("index", _params())
def test_fault(run, index):
    name, faults, _setup, _module, _args, expect, words, checks = run["cases"][index]
    result = run["results"]["case_%02d" % index]
    before = run["results"]["before_%02d" % index]["msg"][-1]
    after = run["results"]["after_%02d" % index]["msg"][1]
    log = run["log"].get(index)
    assert log is not None, "no marker after case %s: the playbook stopped early\n%s" % (name, run["proc"].stdout[-3000:])
    if checks.get("pre"):
        assert not run["results"]["pre_%02d" % index].get("failed"), run["results"]["pre_%02d" % index]
    msg = result.get("msg", "")
    if expect == "ok":
        assert not result.get("failed"), result
    else:
        assert result.get("failed") is True, result
        assert "Traceback" not in msg and "MODULE FAILURE" not in msg, msg
        for word in words:
            assert word in msg, "%r not in the message of %s: %s" % (word, name, msg)
    # the fault did happen
    for fault in faults:
        hits = [e for e in log if re.search(fault["path"], e["path"]) and e["method"] == fault.get("method", e["method"])]
        if fault.get("status"):
            assert any(e["status"] == fault["status"] for e in hits), (fault, log)
        elif fault.get("action"):
            assert any(e["status"] == 0 for e in hits), (fault, log)
        elif expect == "ok":
            assert any(e["ms"] >= fault["delay_ms"] * 0.9 for e in hits) and len(hits) >= 2, (fault, log)  # slow, then retried
    if checks.get("filled"):
        assert any(e["status"] == 503 for e in logins(log)), log  # the cap was reached
    # the module's session is deleted: each successful log in of the case has its log out
    module_logins = [e for e in logins(log) if e["status"] == 200]
    logouts = [e for e in log if e["method"] == "DELETE" and SESSIONS_RE.search(e["path"]) and e["status"] == 200]
    if checks.get("filled"):
        module_logins = module_logins[64:]  # the 64 sessions of the set-up are not the module's
    assert len(logouts) == len(module_logins), log
    if checks.get("filled") and checks.get("expire"):
        assert after["sessions"] == before["sessions"] == 64
    elif checks.get("filled"):
        assert after["sessions"] < 64  # the set-up's sessions expire (idle); the module's own was deleted (above)
    else:
        assert after["sessions"] == before["sessions"] == 0
    for ldev_id, status in _ldevs(after, checks.get("blocked", [])).items():
        assert status == "BLK", (ldev_id, after)
    for ldev_id, status in _ldevs(after, checks.get("normal", [])).items():
        assert status == "NML", (ldev_id, after)
    if checks.get("file"):
        assert os.path.isfile(checks["file"]) and os.path.isfile(checks["file"] + ".manifest.json")
        assert result["sha256"] == json.load(open(checks["file"] + ".manifest.json"))["sha256"]
    if checks.get("no_file"):
        assert not os.path.exists(checks["no_file"]) and not os.path.exists(checks["no_file"] + ".manifest.json")
    if checks.get("lost"):
        assert after["lost_parity_groups"] == checks["lost"]
        assert accepted_writes(log) == []
    if checks.get("restored"):
        assert result["keys_restored"] == checks["restored"] and after["lost_parity_groups"] == []
    check_backup_dir(run["backups"])


@pytest.mark.reliability("rerun")
def test_converged_after_the_faults(run):
    """After the failures and the reruns: every pool volume normal, no key lost, no session left,
    only complete key files, and the request the module gave up on was refused (its session was gone)."""
    final = run["final"]
    assert all(ld["status"] == "NML" for ld in final["ldevs"] if "POOL" in ld.get("attributes", [])), final["ldevs"]
    assert final["lost_parity_groups"] == [] and not any(k["lost"] for k in final["keys"])
    assert final["sessions"] == 0
    assert [(e["method"], e["status"]) for e in run["late"] if "backup" in e["path"]] in ([], [("POST", 401)])
    check_backup_dir(run["backups"])


@pytest.mark.reliability("fault")
def test_session_expires_mid_run(sim, tmp_path):
    """The array expires the module's session while it works: the module logs in again once and
    finishes; both sessions end deleted or expired."""
    sim.reset()
    sim.clear_requests()
    sim.fault(method="POST", path="change-status", delay_ms=2500, times=1)
    expired = {}

    def expire_when_working():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(e["path"].endswith("/ldevs") for e in sim.requests_log()):
                time.sleep(0.3)  # the change-status request is now waiting in the simulator
                expired["n"] = sim.expire_sessions()["expired"]
                return
            time.sleep(0.02)

    thread = threading.Thread(target=expire_when_working)
    thread.start()
    results, _proc = run_cases(tmp_path, "expire", [module_task("block", "pool_volume_state", {"parity_groups": ["2-1"], "state": "blocked"},
                                                                register="block")], sim)
    thread.join()
    result = results["block"]
    assert expired.get("n") == 1
    assert not result.get("failed"), result
    assert result["changed_ldev_ids"] == [8, 9]
    log = sim.requests_log()
    assert [e["status"] for e in logins(log)] == [200, 200], log  # logged in again once
    assert any(e["status"] == 401 for e in log), log
    state = sim.state()
    assert state["sessions"] == 0
    assert _ldevs(state, [8, 9]) == {8: "BLK", 9: "BLK"}
