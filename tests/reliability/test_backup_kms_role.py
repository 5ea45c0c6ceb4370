"""The backup role with the key management server as a destination (issue #16 moved the role's preflight into
the first backup module run: the file's, else the KMS's). Judged by the simulator's state: its KMS backup
counter, its keys, its request log; the role's own words only for the refusal text."""
import os

import pytest
from rel_helpers import BACKUP_PASSWORD, accepted_writes, check_backup_dir, logins, marker_task, split_log_by_marker
from test_roles import read_results, role_task, run_roles

KMS_BACKUP = "/encryption-keys/kms/actions/backup/invoke"
FILE_BACKUP = "/encryption-keys/file/actions/backup/invoke"


def cases(directory):
    file_vars = {"encryption_key_backup_dir": directory, "encryption_key_backup_password": BACKUP_PASSWORD}
    return [
        ("kms only", {"encryption_key_backup_destinations": ["kms"]}),
        ("file and kms", dict(file_vars, encryption_key_backup_destinations=["file", "kms"])),
        ("kms only while keys are lost", {"encryption_key_backup_destinations": ["kms"]}),
    ]


@pytest.fixture(scope="module")
def kms_runs(sim, tmp_path_factory):
    """The three cases in one playbook, a marker request after each; the state after each case from the marker's
    position in the request log, and the KMS backup counter read between the cases."""
    work = tmp_path_factory.mktemp("kms-role")
    directory = str(work / "backups")
    sim.control.reset({"kms": {"configured": True}})
    sim.control.clear_requests()
    states = [sim.control.state()]
    results, logs = {}, {}
    for i, (name, variables) in enumerate(cases(directory)):
        if name.endswith("while keys are lost"):
            sim.control.lose_keys("1-1")
            states[-1] = sim.control.state()
        sim.control.clear_requests()
        tasks = [role_task(name, "encryption_key_backup", variables, register="case_%02d" % i), marker_task("marker %02d" % i, sim, "%02d" % i)]
        proc, results_path = run_roles(work, "kms-%02d" % i, sim, tasks)
        results.update(read_results(results_path))
        logs[i] = split_log_by_marker(sim.control.requests_log())[0].get(i)
        assert logs[i] is not None, proc.stdout[-3000:]
        states.append(sim.control.state())
    return {"results": results, "logs": logs, "states": states, "dir": directory}


def posts(log, path):
    return [e for e in log if e["method"] in ("POST", "PUT") and e["path"].endswith(path) and 200 <= e["status"] < 300]


@pytest.mark.reliability("fault")
def test_kms_only_backs_up_to_the_kms_in_one_module_run(kms_runs):
    before, after = kms_runs["states"][0], kms_runs["states"][1]
    assert kms_runs["results"]["case_00"] is not None, kms_runs["results"].get("case_00_failed")
    assert after["kms"]["backups"] == before["kms"]["backups"] + 1
    log = kms_runs["logs"][0]
    assert len(posts(log, KMS_BACKUP)) == 1 and posts(log, FILE_BACKUP) == []
    assert len([e for e in logins(log) if e["status"] == 200]) == 1  # the preflight and the backup in one session
    assert after["sessions"] == 0


@pytest.mark.reliability("fault")
def test_file_and_kms_back_up_to_both(kms_runs):
    before, after = kms_runs["states"][1], kms_runs["states"][2]
    assert kms_runs["results"]["case_01"] is not None, kms_runs["results"].get("case_01_failed")
    assert after["kms"]["backups"] == before["kms"]["backups"] + 1
    log = kms_runs["logs"][1]
    assert len(posts(log, KMS_BACKUP)) == 1 and len(posts(log, FILE_BACKUP)) == 1
    files = [f for f in os.listdir(kms_runs["dir"]) if f.endswith(".ekf")]
    assert len(files) == 1
    check_backup_dir(kms_runs["dir"])
    assert after["sessions"] == 0


@pytest.mark.reliability("bad_input")
def test_kms_only_refused_while_keys_are_lost(kms_runs):
    before, after = kms_runs["states"][2], kms_runs["states"][3]
    assert before["lost_parity_groups"] == ["1-1"]
    assert kms_runs["results"]["case_02"] is None, "the KMS backup was not refused while keys are lost"
    msg = kms_runs["results"]["case_02_failed"]["msg"]
    for words in ("Keys of parity group(s) [1-1]", "No backup was written and none was deleted", "restore_encryption_keys"):
        assert words in msg, msg
    assert after["kms"] == before["kms"]
    assert accepted_writes(kms_runs["logs"][2]) == []
    assert after["sessions"] == 0
