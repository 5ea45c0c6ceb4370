"""The roles under faults and bad input (issue #6).

* the backup role survives a 503 burst and a dropped connection;
* the restore role, with the simulator killed and restarted (same port, same --state-file) in the
  middle of its run, either finishes or stops naming the cause and the way to resume; a rerun
  converges to every pool volume normal and the keys restored;
* the restore role stopped by a failed restore request converges on a rerun;
* bad role inputs are refused before any write (one playbook, one block/rescue per case).
"""
import json
import os
import stat
from typing import NamedTuple

import pytest
from rel_helpers import split_log_by_marker
from rel_helpers import (BACKUP_PASSWORD, WRONG_BACKUP_PASSWORD, accepted_writes, array_view, check_backup_dir, finish, logins,
                         marker_task, play, run_playbook, with_results)


def role_task(name, role, variables, register=None):
    """include_role in a block whose rescue records the failure message (register: <register>)."""
    run = {"name": name + ": run", "ansible.builtin.include_role": {"name": "vsp.encryption." + role}, "vars": variables}
    done = {"name": name + ": done", "ansible.builtin.debug": {"msg": "ok"}, "register": register}
    failed = {"name": name + ": failed", "ansible.builtin.debug": {"msg": "{{ ansible_failed_result.msg | default('?') }}"},
              "register": register + "_failed"}
    task = {"name": name, "block": [run, done], "rescue": [failed]}
    return task


def run_roles(work, name, sim, tasks, popen=False):
    results_path = os.path.join(str(work), name + ".results.json")
    proc = run_playbook(work, name + ".yml", [play(with_results(tasks, results_path), sim)], popen=popen)
    return proc, results_path


def read_results(path):
    with open(path) as handle:
        return json.load(handle)


def restore_vars(path, groups=("1-1", "1-2")):
    return {"encryption_key_restore_parity_groups": list(groups), "encryption_key_restore_path": path,
            "encryption_key_restore_backup_password": BACKUP_PASSWORD, "encryption_key_restore_confirm": True}


def pool_volumes(state, groups):
    return [ld for ld in state["ldevs"] if "POOL" in ld.get("attributes", []) and set(ld.get("parityGroupIds", [])) & set(groups)]


@pytest.fixture(scope="module")
def backups(sim, tmp_path_factory):
    """Key files made by the backup role while the array answers 503 and drops a connection."""
    work = tmp_path_factory.mktemp("roles")
    directory = str(work / "backups")
    sim.control.reset()
    sim.control.clear_requests()
    sim.control.add_fault(method="POST", path="file/actions/backup", status=503, times=2)
    sim.control.add_fault(method="GET", path="encryption-keys$", action="drop", times=1)
    proc, results_path = run_roles(work, "backup", sim, [role_task("backup", "encryption_key_backup", {
        "encryption_key_backup_dir": directory, "encryption_key_backup_password": BACKUP_PASSWORD}, register="backup")])
    sim.control.clear_faults()
    return {"work": work, "dir": directory, "proc": proc, "results": read_results(results_path), "state": sim.control.state(),
            "log": sim.control.requests_log()}


@pytest.mark.reliability("fault")
def test_backup_role_survives_503_and_a_dropped_connection(backups):
    assert backups["results"]["backup"] is not None, backups["results"].get("backup_failed")
    assert [e["status"] for e in backups["log"] if "file/actions/backup" in e["path"]] == [503, 503, 200]
    assert any(e["status"] == 0 for e in backups["log"])  # the dropped one
    assert backups["state"]["sessions"] == 0
    assert len([e for e in logins(backups["log"]) if e["status"] == 200]) == len(
        [e for e in backups["log"] if e["method"] == "DELETE" and e["status"] == 200])
    assert stat.S_IMODE(os.stat(backups["dir"]).st_mode) == 0o700
    assert [f for f in os.listdir(backups["dir"]) if f.endswith(".ekf")]
    check_backup_dir(backups["dir"])


@pytest.mark.reliability("fault")
def test_restore_role_simulator_restarted_mid_run(sim, backups):
    """Kill -9 and restart the simulator when the role has begun to block volumes; rerun; converged."""
    sim.control.lose_keys("1-1", "1-2")
    sim.control.clear_requests()
    work = backups["work"]
    proc, results_path = run_roles(work, "restore-restart", sim, [role_task("restore", "encryption_key_restore", restore_vars(backups["dir"]),
                                                                            register="restore")], popen=True)
    # the first change-status answered: the role is blocking volumes (a bounded wait on the request log)
    blocking = sim.control.await_log(lambda log: any("change-status" in e["path"] for e in log), timeout=90, running=proc)
    if blocking is not None:
        sim.restart(kill=True)
    first = finish(proc)
    assert blocking is not None, "the role never blocked a volume (within 90 s):\n" + first.stdout[-4000:]
    results = read_results(results_path)
    if results["restore"] is None:  # stopped: it names the cause and how to resume
        msg = results["restore_failed"]["msg"]
        assert "The key restore stopped at" in msg, msg
        assert "Resume with:" in first.stdout and "encryption_key_restore_confirm=true" in first.stdout
    # a rerun converges
    rerun, results_path = run_roles(work, "restore-rerun", sim, [role_task("restore", "encryption_key_restore", restore_vars(backups["dir"]),
                                                                           register="restore")])
    results = read_results(results_path)
    assert results["restore"] is not None, (results.get("restore_failed"), rerun.stdout[-4000:])
    state = sim.control.state()
    assert state["lost_parity_groups"] == [] and not any(k["lost"] for k in state["keys"])
    restored = pool_volumes(state, ["1-1", "1-2"])
    assert [ld["status"] for ld in restored] == ["NML"] * 4, restored
    assert all(ld["status"] == "NML" for ld in state["ldevs"] if "POOL" in ld.get("attributes", []))
    assert len([k for k in state["keys"] if k["keyType"] == "DEK"]) == 16
    assert state["sessions"] == 0
    check_backup_dir(backups["dir"])


@pytest.mark.reliability("fault")
def test_restore_role_failed_restore_then_rerun(sim, backups):
    """The restore request fails (HTTP 500): the role stops naming it with the volumes blocked;
    the rerun restores and recovers."""
    sim.control.lose_keys("1-3")
    sim.control.clear_requests()
    sim.control.add_fault(method="POST", path="restore/invoke", status=500, times=1)
    work = backups["work"]
    first, results_path = run_roles(work, "restore-500", sim, [role_task("restore", "encryption_key_restore",
                                                                         restore_vars(backups["dir"], ["1-3"]), register="restore")])
    results = read_results(results_path)
    assert results["restore"] is None
    msg = results["restore_failed"]["msg"]
    assert "HTTP 500" in msg and "restore" in msg.lower(), msg
    assert "Resume with:" in first.stdout
    state = sim.control.state()
    assert [ld["status"] for ld in pool_volumes(state, ["1-3"])] == ["BLK", "BLK"]
    assert state["lost_parity_groups"] == ["1-3"] and state["sessions"] == 0
    second, results_path = run_roles(work, "restore-500-rerun", sim, [role_task("restore", "encryption_key_restore",
                                                                                restore_vars(backups["dir"], ["1-3"]), register="restore")])
    results = read_results(results_path)
    assert results["restore"] is not None, (results.get("restore_failed"), second.stdout[-3000:])
    state = sim.control.state()
    assert [ld["status"] for ld in pool_volumes(state, ["1-3"])] == ["NML", "NML"]
    assert state["lost_parity_groups"] == [] and state["sessions"] == 0


class BadRole(NamedTuple):
    """One bad role input: the role, its variables, the words its failure message must contain."""
    name: str
    role: str
    variables: dict
    words: list


def bad_role_cases(files):
    good = files["dir"]
    return [
        BadRole("restore role not confirmed", "encryption_key_restore", dict(restore_vars(good, ["1-4"]), encryption_key_restore_confirm=False),
                ["Not confirmed", "encryption_key_restore_confirm=true"]),
        BadRole("restore role password breaks the rule", "encryption_key_restore",
                dict(restore_vars(good, ["1-4"]), encryption_key_restore_backup_password="Ab1!x"), ["backup_password", "too short"]),
        BadRole("restore role key file does not match its manifest", "encryption_key_restore", restore_vars(files["tampered"], ["1-4"]),
                ["does not match its manifest"]),
        BadRole("restore role key file missing", "encryption_key_restore", restore_vars(files["missing"], ["1-4"]), ["path", "does not exist"]),
        # parity groups are optional (issue 11: the array says which groups lost keys); naming some must include them all
        BadRole("restore role leaves out the group with lost keys", "encryption_key_restore", restore_vars(good, ["1-3"]),
                ["parity_groups", "1-4", "leaves out"]),
        BadRole("restore role unknown parity group", "encryption_key_restore", restore_vars(good, ["1-4", "9-9"]),
                ["parity_groups", "unknown parity group", "9-9"]),
        BadRole("restore role unknown source", "encryption_key_restore", dict(restore_vars(good, ["1-4"]), encryption_key_restore_source="tape"),
                ["encryption_key_restore_source", "tape"]),
        # keys of 1-4 are lost in this run: the backup role refuses to write then, unless told to (issue 11)
        BadRole("backup role password with a space", "encryption_key_backup",
                {"encryption_key_backup_dir": files["newdir"], "encryption_key_backup_password": "Bk9 kEyF1le",
                 "encryption_key_backup_allow_lost_keys": True}, ["backup_password", "space"]),
        BadRole("backup role unknown destination", "encryption_key_backup",
                {"encryption_key_backup_dir": files["newdir"], "encryption_key_backup_password": BACKUP_PASSWORD,
                 "encryption_key_backup_destinations": ["tape"]}, ["encryption_key_backup_destinations", "tape"]),
        BadRole("backup role without a password", "encryption_key_backup", {"encryption_key_backup_dir": files["newdir"]},
                ["backup_password"]),
        BadRole("backup role with the variable renamed before 1.0", "encryption_key_backup",
                {"encryption_key_backup_dir": files["newdir"], "encryption_key_backup_password": BACKUP_PASSWORD,
                 "encryption_key_backup_skip_unchanged": False}, ["encryption_key_backup_skip_unchanged is now encryption_key_backup_force"]),
        # the array is checked in the backup module's own run, before its keys are read or anything is written
        BadRole("backup role on another array than the inventory names", "encryption_key_backup",
                {"encryption_key_backup_dir": files["newdir"], "encryption_key_backup_password": BACKUP_PASSWORD,
                 "encryption_key_backup_expected_storage_device_id": "900000099999"},
                ["expected_storage_device_id", "not 900000099999", "Nothing was changed"]),
        BadRole("backup role on an array of another serial number", "encryption_key_backup",
                {"encryption_key_backup_dir": files["newdir"], "encryption_key_backup_password": BACKUP_PASSWORD,
                 "encryption_key_backup_expected_serial_number": 61726, "encryption_key_backup_allow_lost_keys": True},
                ["expected_serial_number", "serial number 412345, not 61726"]),
    ]


def _bad_ids():
    return [case.name for case in bad_role_cases({"dir": "d", "tampered": "t", "missing": "m", "newdir": "n"})]


@pytest.fixture(scope="module")
def bad_roles(sim, backups):
    work = backups["work"]
    newest = sorted(f for f in os.listdir(backups["dir"]) if f.endswith(".ekf"))[-1]
    tampered_dir = str(work / "tampered")
    os.mkdir(tampered_dir, 0o700)
    tampered = os.path.join(tampered_dir, newest)
    with open(os.path.join(backups["dir"], newest), "rb") as src, open(tampered, "wb") as dst:
        data = bytearray(src.read())
        data[-1] ^= 0xFF
        dst.write(bytes(data))
    with open(os.path.join(backups["dir"], newest + ".manifest.json")) as src, open(tampered + ".manifest.json", "w") as dst:
        dst.write(src.read())
    files = {"dir": backups["dir"], "tampered": tampered, "missing": str(work / "missing.ekf"), "newdir": str(work / "not-created")}
    cases = bad_role_cases(files)
    tasks = []
    for i, case in enumerate(cases):
        tasks.append(role_task(case.name, case.role, case.variables, register="case_%02d" % i))
        tasks.append(marker_task("marker %02d" % i, sim, "%02d" % i))
    sim.control.reset()
    sim.control.lose_keys("1-4")  # the restore checks its file, password and groups only when keys are lost (issue 11)
    sim.control.clear_requests()
    before = sim.control.state()
    proc, results_path = run_roles(work, "bad-roles", sim, tasks)
    log = sim.control.requests_log()
    by_case = split_log_by_marker(log)[0]
    return {"cases": cases, "results": read_results(results_path), "log": by_case, "before": before, "after": sim.control.state(), "proc": proc,
            "files": files}


@pytest.mark.reliability("bad_input")
@pytest.mark.parametrize("index", range(len(_bad_ids())), ids=_bad_ids())
def test_bad_role_input_refused(bad_roles, index):
    case = bad_roles["cases"][index]
    results = bad_roles["results"]
    assert results["case_%02d" % index] is None, "%s was not refused" % case.name
    msg = results["case_%02d_failed" % index]["msg"]
    assert case.words, "case %s names no word its message must contain" % case.name
    for word in case.words:
        assert word in msg, "%r not in the message of %s: %s" % (word, case.name, msg)
    log = bad_roles["log"].get(index)
    assert log is not None, bad_roles["proc"].stdout[-3000:]
    assert accepted_writes(log) == [], log
    assert len([e for e in logins(log) if e["status"] == 200]) == len([e for e in log if e["method"] == "DELETE" and e["status"] == 200])


def test_bad_role_inputs_changed_nothing(bad_roles):
    assert array_view(bad_roles["after"]) == array_view(bad_roles["before"])
    assert bad_roles["after"]["sessions"] == 0
    # nothing written there (the backup role creates its directory before the module checks the password)
    assert not os.path.exists(bad_roles["files"]["newdir"]) or os.listdir(bad_roles["files"]["newdir"]) == []


@pytest.mark.reliability("bad_input")
def test_wrong_backup_password_is_refused_before_any_write_and_a_rerun_converges(sim, backups):
    """The manifest's password verifier refuses a wrong backup password before anything is sent (issue 11). With the
    manifest check turned off (verify_manifest: false) only the array can tell, after the role blocked the volumes
    (which cannot serve I/O anyway while their keys are lost): the role stops naming the cause; the rerun with the
    right password converges."""
    sim.control.reset()
    sim.control.lose_keys("1-4")
    work = backups["work"]
    key_file = os.path.join(backups["dir"], sorted(f for f in os.listdir(backups["dir"]) if f.endswith(".ekf"))[-1])
    before = sim.control.state()
    sim.control.clear_requests()
    _proc, results_path = run_roles(work, "wrong-pw", sim, [role_task("restore", "encryption_key_restore", dict(
        restore_vars(backups["dir"], ["1-4"]), encryption_key_restore_backup_password=WRONG_BACKUP_PASSWORD), register="restore")])
    results = read_results(results_path)
    assert results["restore"] is None
    msg = results["restore_failed"]["msg"]
    assert "password verifier" in msg and "Nothing was changed" in msg, msg
    assert accepted_writes(sim.control.requests_log()) == []
    assert array_view(sim.control.state()) == array_view(before)
    # without the manifest check the array refuses the password, after the volumes were blocked
    _proc, results_path = run_roles(work, "wrong-pw-array", sim, [role_task("restore", "encryption_key_restore", dict(
        restore_vars(key_file, ["1-4"]), encryption_key_restore_backup_password=WRONG_BACKUP_PASSWORD,
        encryption_key_restore_verify_manifest=False), register="restore")])
    results = read_results(results_path)
    assert results["restore"] is None and "password is incorrect" in results["restore_failed"]["msg"], results
    state = sim.control.state()
    assert state["lost_parity_groups"] == ["1-4"] and [ld["status"] for ld in pool_volumes(state, ["1-4"])] == ["BLK", "BLK"]
    _proc, results_path = run_roles(work, "wrong-pw-rerun", sim, [role_task("restore", "encryption_key_restore",
                                                                            restore_vars(backups["dir"], ["1-4"]), register="restore")])
    assert read_results(results_path)["restore"] is not None
    state = sim.control.state()
    assert state["lost_parity_groups"] == [] and [ld["status"] for ld in pool_volumes(state, ["1-4"])] == ["NML", "NML"]
