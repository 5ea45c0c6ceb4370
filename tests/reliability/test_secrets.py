"""Secrets never leak (issue #6).

One `ansible-playbook -vvvv` runs every module (successes and failures that carry a secret: a wrong
backup password, a wrong connection password, a password that breaks the rule) and both roles
(backup, then a disaster: keys lost, then the restore) against a simulator whose users have
distinctive passwords. Then each place a secret could end up is searched for the connection
passwords, the backup passwords (right and wrong), the Basic-auth header value and every session
token the simulator issued during the run (`GET /simulator/v1/issued-tokens`, a test-only control
request): the output, the registered results, the simulator's request log and its own log, and every
file the run wrote except the key files (which are the secret, encrypted). The key files and
manifests must be 0600 and the role's backup directory 0700.

Only the playbook and inventory this test writes hold secrets (they are its input); they live in
`inputs/`, which is not searched. Pipelining is off (Ansible's default), so module files go through
Ansible's temp directories, which are under `out/` and searched too (and must be gone).
"""
import base64
import json
import os
import stat

import pytest
from rel_helpers import (ADMIN_PASSWORD, BACKUP_PASSWORD, SECRET_VALUES, VIEWER_PASSWORD, WRONG_BACKUP_PASSWORD, ctl_task, files_under,
                         leaks, module_task, run_playbook, play, with_results)


@pytest.fixture(scope="module")
def run(sim, tmp_path_factory):
    work = tmp_path_factory.mktemp("secrets")
    inputs, out = work / "inputs", work / "out"
    inputs.mkdir()
    out.mkdir()
    backups = out / "module-backups"
    backups.mkdir(mode=0o700)
    role_dir = str(out / "role-backups")  # created by the role
    key_file = str(backups / "keys.ekf")
    sim.control.reset()
    sim.control.clear_requests()
    tasks = [
        module_task("info", "encryption_key_info", {"parity_groups": ["1-1"]}, register="info"),
        module_task("pool volume info", "pool_volume_info", {}, register="pv_info"),
        module_task("backup", "encryption_key_backup", {"path": key_file, "backup_password": BACKUP_PASSWORD}, register="backup"),
        module_task("backup (check mode)", "encryption_key_backup", {"path": str(backups), "backup_password": BACKUP_PASSWORD},
                    register="backup_check", check_mode=True),
        module_task("backup with a password that breaks the rule", "encryption_key_backup",
                    {"path": str(backups), "backup_password": BACKUP_PASSWORD + " x"}, register="backup_bad_rule"),
        module_task("wrong connection password", "pool_volume_info", {"password": ADMIN_PASSWORD[::-1]}, register="wrong_conn"),
        module_task("viewer writes", "pool_volume_state", {"ldev_ids": [6], "state": "blocked", "username": "viewer",
                                                           "password": VIEWER_PASSWORD}, register="viewer"),
        module_task("block", "pool_volume_state", {"parity_groups": ["1-1"], "state": "blocked"}, register="block_result", diff=True),
        ctl_task("lose the keys of 1-1", sim, [["POST", "lose-keys", {"parity_groups": ["1-1"]}]]),
        module_task("restore (check mode)", "encryption_key_restore",
                    {"path": key_file, "backup_password": BACKUP_PASSWORD, "parity_groups": ["1-1"]}, register="restore_check", check_mode=True),
        module_task("restore with the wrong backup password", "encryption_key_restore",
                    {"path": key_file, "backup_password": WRONG_BACKUP_PASSWORD, "parity_groups": ["1-1"]}, register="restore_wrong"),
        module_task("restore", "encryption_key_restore",
                    {"path": key_file, "backup_password": BACKUP_PASSWORD, "parity_groups": ["1-1"]}, register="restore"),
        module_task("recover", "pool_volume_state", {"parity_groups": ["1-1"], "state": "normal"}, register="recover"),
        {"name": "backup role", "ansible.builtin.include_role": {"name": "vsp.encryption.encryption_key_backup"},
         "vars": {"encryption_key_backup_dir": role_dir, "encryption_key_backup_password": BACKUP_PASSWORD}},
        ctl_task("lose the keys of 1-2", sim, [["POST", "lose-keys", {"parity_groups": ["1-2"]}]]),
        {"name": "restore role", "ansible.builtin.include_role": {"name": "vsp.encryption.encryption_key_restore"},
         "vars": {"encryption_key_restore_parity_groups": ["1-2"], "encryption_key_restore_path": role_dir,
                  "encryption_key_restore_backup_password": BACKUP_PASSWORD, "encryption_key_restore_confirm": True}},
        ctl_task("state", sim, [["GET", "state"]], register="final"),
    ]
    results_path = str(out / "results.json")
    env = {"ANSIBLE_PIPELINING": "0",  # Ansible's default: module files go through its temp directories
           "ANSIBLE_HOME": str(out / "ansible-home"), "ANSIBLE_LOCAL_TEMP": str(out / "ansible-tmp"),
           "ANSIBLE_REMOTE_TEMP": str(out / "ansible-remote-tmp")}
    proc = run_playbook(inputs, "secrets.yml", [play(with_results(tasks, results_path), sim)], args=["-vvvv"], env=env)
    with open(str(work / "playbook.stdout"), "w") as handle:  # for a person reading a failure; not searched (outside out/)
        handle.write(proc.stdout)
    with open(results_path) as handle:
        results_text = handle.read()
    results = json.loads(results_text)
    tokens = sim.control.issued_tokens()
    secrets = list(SECRET_VALUES) + tokens + [base64.b64encode(("admin:%s" % ADMIN_PASSWORD).encode()).decode(),
                                              base64.b64encode(("viewer:%s" % VIEWER_PASSWORD).encode()).decode()]
    written = [f for f in files_under(str(out)) if not f.endswith(".ekf")]
    return {"proc": proc, "results": results, "results_text": results_text, "tokens": tokens, "secrets": secrets, "sim": sim,
            "written": written, "out": str(out), "role_dir": role_dir, "key_file": key_file}


def test_the_run_did_everything(run):
    """The run is meaningful: every module ran, the failures failed, both roles finished, keys restored."""
    r = run["results"]
    assert run["proc"].returncode == 0, run["proc"].stdout[-5000:]
    for name in ("info", "pv_info", "backup", "backup_check", "block_result", "restore_check", "restore", "recover"):
        assert not r[name].get("failed"), (name, r[name])
    for name in ("backup_bad_rule", "wrong_conn", "viewer", "restore_wrong"):
        assert r[name].get("failed") is True, (name, r[name])
    final = r["final"]["msg"][0]
    assert final["lost_parity_groups"] == [] and final["sessions"] == 0
    assert final["ldevs"] and all(ld["status"] == "NML" for ld in final["ldevs"])
    assert len(run["tokens"]) >= 15
    assert os.listdir(run["role_dir"])


PLACES = ["ansible-playbook output (-vvvv)", "registered results", "simulator request log", "simulator log", "files written"]


@pytest.mark.reliability("secrets")
@pytest.mark.parametrize("place", PLACES)
def test_no_secret_in(run, place, leak_counter):
    if place == PLACES[0]:
        texts = {"stdout": run["proc"].stdout, "stderr": run["proc"].stderr}
        assert "ESTABLISH LOCAL CONNECTION" in run["proc"].stdout and '"changed_ldev_ids"' in run["proc"].stdout  # -vvvv output, results
    elif place == PLACES[1]:
        texts = {"results.json": run["results_text"]}
    elif place == PLACES[2]:
        texts = {"requests": json.dumps(run["sim"].control.requests_log())}
    elif place == PLACES[3]:
        texts = {"simulator.log": run["sim"].log()}
    else:
        texts = {}
        for path in run["written"]:
            with open(path, "rb") as handle:
                texts[path] = handle.read().decode("utf-8", "replace")
        assert any(p.endswith(".manifest.json") for p in texts)
    found = dict((name, leaks(text, run["secrets"])) for name, text in texts.items())
    found = dict((k, v) for k, v in found.items() if v)
    leak_counter(sum(len(v) for v in found.values()))
    assert found == {}, "secrets found: %s" % found


@pytest.mark.reliability("secrets")
def test_file_modes(run):
    """Key files and manifests 0600, the role's backup directory 0700; no temp file left."""
    key_files = [run["key_file"]] + [os.path.join(run["role_dir"], f) for f in os.listdir(run["role_dir"]) if f.endswith(".ekf")]
    assert len(key_files) >= 2
    for path in key_files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
        assert stat.S_IMODE(os.stat(path + ".manifest.json").st_mode) == 0o600, path
    assert stat.S_IMODE(os.stat(run["role_dir"]).st_mode) == 0o700
    leftovers = [f for f in files_under(run["out"]) if f.endswith(".part") or "/ansible-tmp-" in f or "AnsiballZ" in f]
    assert leftovers == []
