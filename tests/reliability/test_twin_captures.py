"""Captures and twins (issue #26), for real: module array_capture against the simulator, and
`vsp-simulator --capture FILE` serving each capture kept under tests/captures/.

* a capture sends only GET requests (the simulator's request log), is 0600, holds no secret of the
  run (passwords, every session token issued, the key material of the simulator's state file), and
  check mode writes nothing; a redacted capture holds none of the identifying values, replaced
  consistently, and a twin serves it (one test: the capture runs are the expensive part);
* each kept capture: a twin of it is captured again and gives the same answers (round trip), then
  the whole procedure runs on the twin: back up, lose the keys of an encrypted group, plan, restore,
  verify.
"""
import glob
import json
import os
import stat

import pytest
from rel_helpers import BACKUP_PASSWORD, ROOT, SECRET_VALUES, play, run_cases, run_playbook, uri_task, write_requests
from vsp_simulator.harness import SimulatorProcess

CAPTURES = sorted(glob.glob(os.path.join(ROOT, "tests", "captures", "*.capture.json")))
# what differs between two captures of the same array by design: when, and the jobs it ran meanwhile
VOLATILE = ("captured_at",)


def capture_task(path, register, **options):
    return {"name": "capture " + register, "vsp.encryption.array_capture": dict(path=path, **options), "register": register}


def answers(doc):
    """The answers of a capture, jobs aside (a twin runs its own jobs), keyed by request."""
    return dict(((a["path"], json.dumps(a["query"], sort_keys=True)), (a["status"], a["body"]))
                for a in doc["answers"] if not a["path"].endswith("/jobs"))


def read(path):
    with open(path) as handle:
        return json.load(handle)


def materials(sim):
    with open(os.path.join(str(sim.dir), "state.json")) as handle:
        return [k["material"] for k in json.load(handle)["data"]["keys"].values()]


@pytest.mark.reliability("secrets")
def test_capture_sends_only_gets_holds_no_secret_redacts_consistently_and_check_mode_writes_nothing(sim, tmp_path, leak_counter):
    sim.control.reset()
    plain, redacted, dry = (str(tmp_path / n) for n in ("plain.json", "redacted.json", "dry.json"))
    # jobs and backups first, so the capture reads a job list and backup counters
    results, proc = run_cases(tmp_path, "before", [
        {"name": "backup", "vsp.encryption.encryption_key_backup": {
            "path": str(tmp_path) + "/", "backup_password": BACKUP_PASSWORD}, "register": "backup"},
        {"name": "block", "vsp.encryption.pool_volume_state": {"ldev_ids": [0], "state": "blocked"}, "register": "blk"},
        {"name": "recover", "vsp.encryption.pool_volume_state": {"ldev_ids": [0], "state": "normal"}, "register": "nml"},
    ], sim=sim)
    assert not results["backup"].get("failed") and not results["nml"].get("failed"), proc.stdout[-3000:]
    state_before = sim.control.state()
    sim.control.clear_requests()
    results, proc = run_cases(tmp_path, "capture", [
        capture_task(plain, "plain"), capture_task(redacted, "redacted", redact=True),
        dict(capture_task(dry, "dry"), check_mode=True)], sim=sim)
    log = sim.control.requests_log()
    assert write_requests(log) == [], write_requests(log)
    assert {e["method"] for e in log} == {"GET", "POST", "DELETE"}  # GETs, and the sessions' log in and out
    assert results["plain"]["changed"] and results["plain"]["written"]
    assert results["dry"]["written"] is False and not os.path.exists(dry)
    assert results["dry"]["summary"] == results["plain"]["summary"]
    for path in (plain, redacted):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sim.control.state()["keys"] == state_before["keys"]  # nothing changed, not even a backup counter
    doc = read(plain)
    assert doc["format"] == "vsp.encryption.array_capture" and doc["format_version"] == 1
    assert doc["api_version"] == "1.31.0" and doc["collection_version"]
    assert any(a["path"].endswith("/jobs") and a["body"]["data"] for a in doc["answers"])
    secrets = list(SECRET_VALUES) + sim.control.issued_tokens() + materials(sim)
    texts = [open(plain).read(), open(redacted).read(), proc.stdout, proc.stderr]
    leaks = [s for s in secrets for t in texts if s in t]
    leak_counter(len(leaks))
    assert leaks == []
    # redaction: none of the identifying values, replaced consistently, and a twin serves it
    state = sim.control.state()
    text = open(redacted).read()
    identifying = [state["storage"]["storageDeviceId"], state["storage"]["ctl1Ip"], state["storage"]["ctl2Ip"]]
    identifying += [p["poolName"] for p in state["pools"]] + [d["serialNumber"] for d in state["drives"]]
    assert [v for v in identifying if v in text] == []
    assert '"serialNumber":%d' % state["storage"]["serialNumber"] not in text
    summary = results["redacted"]["summary"]
    assert summary["storage_device_id"][:6] == state["storage"]["storageDeviceId"][:6]
    assert summary["storage_device_id"][6:] == "%06d" % summary["serial_number"]
    assert summary["pool_volumes"] == results["plain"]["summary"]["pool_volumes"]
    # the same pool name is replaced by the same text wherever it appears
    doc = read(redacted)
    names = [p["poolName"] for a in doc["answers"] if a["path"].endswith("/pools") for p in a["body"]["data"]]
    assert len(set(names)) == len(state["pools"]) and all(n.startswith("name-") for n in names)
    with SimulatorProcess(tmp_path / "twin", args=["--capture", redacted], job_ms=1) as twin:
        info = twin.control.call("GET", "twin")
        assert info["twin"] is True and info["redacted"] is True
        assert twin.control.state()["storage"]["storageDeviceId"] == summary["storage_device_id"]


@pytest.mark.parametrize("capture", CAPTURES, ids=[os.path.basename(c) for c in CAPTURES])
def test_a_twin_of_each_kept_capture_round_trips_and_runs_the_whole_procedure(capture, tmp_path):
    kept = read(capture)
    backups = tmp_path / "backups"
    backups.mkdir()
    again = str(tmp_path / "again.json")
    # the fidelity report goes to tmp_path, not beside the kept capture in the checkout
    report = str(tmp_path / "fidelity")
    with SimulatorProcess(tmp_path / "twin", args=["--capture", capture, "--fidelity-report", report], job_ms=1,
                          job_parallelism=16) as twin:
        info = twin.control.call("GET", "twin")
        assert read(report + ".json")["fidelity"] == info["fidelity"]
        assert stat.S_IMODE(os.stat(report + ".md").st_mode) == 0o600
        group = info["encrypted_parity_groups"][0]
        if os.path.basename(capture).startswith("sim-"):  # captured from the simulator: its model agrees
            assert info["fidelity"]["differences"] == [] and info["fidelity"]["not_in_capture"] == []
        downtime = twin.control.call("GET", "twin/downtime?parity_groups=%s&job_ms=2000&parallelism=8" % group)
        assert downtime["pool_volumes"] > 0 and downtime["offline_seconds"] >= 2.0
        restore = {"encryption_key_restore_path": str(backups), "encryption_key_restore_backup_password": BACKUP_PASSWORD}
        results, proc = run_cases(tmp_path, "backup", [
            capture_task(again, "again"),
            {"name": "backup", "vsp.encryption.encryption_key_backup": {
                "path": str(backups) + "/", "backup_password": BACKUP_PASSWORD}, "register": "backup"},
            uri_task("lose the keys of " + group, twin, "POST", "lose-keys", {"parity_groups": [group]}),
        ], sim=twin)
        assert proc.returncode == 0, proc.stdout[-6000:]
        proc = run_playbook(tmp_path, "plan.yml", [play([
            {"name": "plan", "ansible.builtin.include_role": {"name": "vsp.encryption.encryption_key_restore"}, "vars": restore},
        ], twin)], args=["--check"])
        assert proc.returncode == 0 and "Check mode, nothing was changed. The plan:" in proc.stdout, proc.stdout[-6000:]
        assert twin.control.state()["lost_parity_groups"] == [group]  # the plan changed nothing
        results, proc = run_cases(tmp_path, "restore", [
            {"name": "restore", "ansible.builtin.include_role": {"name": "vsp.encryption.encryption_key_restore"},
             "vars": dict(restore, encryption_key_restore_confirm=True)},
            {"name": "verify", "vsp.encryption.encryption_key_info": {}, "register": "verify"},
        ], sim=twin, timeout=300)
        assert proc.returncode == 0, proc.stdout[-6000:]
        state = twin.control.state()
    # round trip: the twin answers every request of the capture as the array did
    assert answers(read(again)) == answers(kept)
    assert {k: v for k, v in read(again).items() if k not in VOLATILE + ("answers",)} == \
        {k: v for k, v in kept.items() if k not in VOLATILE + ("answers",)}
    assert state["lost_parity_groups"] == [] and results["verify"]["lost_parity_groups"] == []
    vols = [ld for ld in state["ldevs"] if group in (ld.get("parityGroupIds") or []) and "POOL" in ld.get("attributes", [])]
    assert vols and all(ld["status"] == "NML" for ld in vols)
