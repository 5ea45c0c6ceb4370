"""The real timeline of a key loss (issue #11), as an operator lives it, run for real.

Each numbered situation of the issue is a sequence of `ansible-playbook` runs of the SHIPPED playbooks
(`vsp.encryption.backup_encryption_keys`, `vsp.encryption.restore_encryption_keys`, from the collection
copy on ANSIBLE_COLLECTIONS_PATH) with an inventory of one array (group `vsp_arrays`, `vsp_connection`)
against the suite's simulator; a few batches of refusals use `include_role` (as test_roles.py does),
one block/rescue per case with a marker request between them. Each step is judged by what the array and
the disk say, never by the role's words alone:

* the simulator's state (`GET /simulator/v1/state`: pool volume status, `lost` keys, lost parity groups);
* its request log (`GET /simulator/v1/requests`): no write request (other than log-in / log-out) before
  a refusal, no state-changing request on a rerun that must converge;
* the files on disk: directory listings before and after, the manifests (storage identity, DEK drive
  locations, the PBKDF2 password verifier checked here with hashlib).

The role's messages are checked in addition: they name the parameter or rule, the groups and the file.

1. backup → keys of 1-1 and 1-2 lost → the nightly backup (keep: 1) fails, writes and deletes nothing,
   names the groups, the file that holds the keys and a restore command; with
   encryption_key_backup_allow_lost_keys a file is written and nothing deleted; a restore from that
   short file with the manifest check off stops after the restore, before recovery, naming the file that
   holds the keys (and its resume command must not name the short file again); the restore from the
   directory (no groups named) picks the old file that holds the keys, ends green; a rerun converges;
   the next nightly run is green and retention keeps a full file.
2. keys of 1-1 lost, the operator names 1-3: refused before any write; groups omitted: 1-1 restored.
3. another array's key file; a wrong backup password (the verifier): refused before any write.
   Password rotation: a new file whose verifier takes the new password, and it restores.
4. parity groups as text (AWX survey); a missing manifest (refused; accepted with verify_manifest false);
   a path's case kept; a failure stated once; the resume hint (vault options, or the AWX job template).
5. a byte flipped in the only key file (issue #24): the audit fails that array's host and its Markdown names the file;
   with keys lost the refusal names the damaged file and the good copies, suggests no restore from it, writes nothing;
   the next backup warns naming it and writes a good file; the audit is then green and still lists it. With two
   arrays, one not covered, only that array's host fails.
"""
import base64
import hashlib
import json
import os
import re
import shutil

import pytest
from rel_helpers import (BACKUP_PASSWORD, BIN, LOCK_NAME, PYTHON, WRONG_BACKUP_PASSWORD, age_backups, ansible_vars, array_view, marker_task,
                         play, run_playbook, run_shipped, split_log_by_marker, with_results, write_requests)
from vsp_simulator import playbook as runner

BACKUP_PLAYBOOK = "vsp.encryption.backup_encryption_keys"
RESTORE_PLAYBOOK = "vsp.encryption.restore_encryption_keys"
HOST = "array01"
# the sequences of runs (module fixtures) whose tests stay together on one worker; the other tests stand alone
SEQUENCES = ("situation_1", "situations_2_3", "situation_4", "situation_5")
ROTATED_PASSWORD = "Rt4#n3wKey-Pw8sLq"  # the backup password after a rotation (a distinctive string)
OTHER_ARRAY = {"storage": {"model": "VSP E990", "serialNumber": 499999, "storageDeviceId": "936000499999"}}
RESULT_RE = re.compile(r"^(ok|changed|fatal|skipping|failed): \[([^\]]+)\](?:: FAILED!)? => ", re.M)
TASK_RE = re.compile(r"^TASK \[(.*)\] \**$", re.M)


# -- running the shipped playbooks -----------------------------------------------------------------
class Run:
    """One ansible-playbook run: rc, output, and the result of each task as the default callback printed it."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.results = parse_results(proc.stdout)

    def __repr__(self):  # what pytest prints for a failed assertion: the tail of the run
        return "<Run rc=%s>\n%s\n%s" % (self.rc, self.stdout[-5000:], self.stderr[-2000:])

    def task(self, suffix):
        """The results of the tasks whose name ends with `suffix`."""
        return [r for r in self.results if r["task"].endswith(suffix)]

    def statements(self, cause, by_task=False):
        """How many times the output states `cause`. Ansible 2.19+ prints each failure twice, as an "[ERROR]" line and
        as the task's result: per task that pair is one statement; a message repeating the cause counts again."""
        starts = [m.start() for m in TASK_RE.finditer(self.stdout)] + [len(self.stdout)]
        counts = {}
        for a, b in zip(starts, starts[1:]):
            lines = self.stdout[a:b].splitlines()
            in_errors = sum(line.count(cause) for line in lines if line.startswith("[ERROR]"))
            elsewhere = sum(line.count(cause) for line in lines if not line.startswith("[ERROR]"))
            if in_errors or elsewhere:
                counts[lines[0]] = max(in_errors, elsewhere)
        if self.stderr.count(cause):
            counts["stderr"] = self.stderr.count(cause)
        return counts if by_task else sum(counts.values())

    def failures(self):
        return [r for r in self.results if r["status"] in ("fatal", "failed")]

    def final_failure(self):
        """The message of the last failure (the role's closing message: the run's own statement of why it stopped)."""
        failures = self.failures()
        assert failures, self
        return failures[-1]["result"].get("msg", "")

    def plan(self):
        """The plan lines the restore role printed (preflight)."""
        shown = self.task("Preflight: show the plan")
        assert shown, self
        return shown[-1]["result"]["msg"]


def parse_results(text):
    """[{task, status, host, result}] from the default callback's output (ANSIBLE_CALLBACK_RESULT_FORMAT=json)."""
    decoder = json.JSONDecoder()
    tasks = [(m.start(), m.group(1)) for m in TASK_RE.finditer(text)]
    found = []
    for match in RESULT_RE.finditer(text):
        try:
            result, _end = decoder.raw_decode(text, match.end())
        except ValueError:
            continue
        task = [name for start, name in tasks if start < match.start()]
        found.append({"task": task[-1] if task else "", "status": match.group(1), "host": match.group(2), "result": result})
    return found


class Site:
    """An operator's control node for one array: an inventory (group vsp_arrays) and a work directory."""

    def __init__(self, work, sim):
        self.work = str(work)
        self.sim = sim
        os.makedirs(self.work, exist_ok=True)
        self.inventory = os.path.join(self.work, "hosts.json")
        host = {"ansible_connection": "local", "ansible_python_interpreter": PYTHON, "vsp_connection": sim.connection()}
        with open(self.inventory, "w") as handle:
            json.dump({"vsp_arrays": {"hosts": {HOST: host}}}, handle, indent=1)
        self.count = 0

    def run(self, playbook, variables, args=()):
        """ansible-playbook <shipped playbook> with `variables` as extra vars (a JSON file, as -e @file)."""
        self.count += 1
        proc = run_shipped(self.work, self.inventory, playbook, variables, vars_file=os.path.join(self.work, "extra-%02d.json" % self.count),
                           args=args, timeout=240,
                           record=os.path.join(self.work, "run-%02d.out" % self.count))  # for a person reading a failure
        return Run(proc)

    def backup(self, directory, password=BACKUP_PASSWORD, **variables):
        variables = dict({"encryption_key_backup_dir": directory, "encryption_key_backup_password": password}, **variables)
        return self.run(BACKUP_PLAYBOOK, variables)

    def restore(self, path, password=BACKUP_PASSWORD, args=(), **variables):
        variables = dict({"encryption_key_restore_path": path, "encryption_key_restore_backup_password": password,
                          "encryption_key_restore_confirm": True}, **variables)
        return self.run(RESTORE_PLAYBOOK, variables, args=args)

    def watched(self, step, *args, **kwargs):
        """Run `step` (self.backup / self.restore) with the request log cleared first; returns (run, log, state before, state after)."""
        before = self.sim.control.state()
        self.sim.control.clear_requests()
        run = step(*args, **kwargs)
        return run, self.sim.control.requests_log(), before, self.sim.control.state()


def role_task(name, role, variables, register):
    """include_role in a block whose rescue records the failure message (as in test_roles.py)."""
    run = {"name": name + ": run", "ansible.builtin.include_role": {"name": "vsp.encryption." + role}, "vars": variables}
    done = {"name": name + ": done", "ansible.builtin.debug": {"msg": "ok"}, "register": register}
    failed = {"name": name + ": failed", "ansible.builtin.debug": {"msg": "{{ ansible_failed_result.msg | default('?') }}"},
              "register": register + "_failed"}
    return {"name": name, "block": [run, done], "rescue": [failed]}


def refusal_batch(work, sim, name, cases):
    """Run `cases` [(name, role, vars)] in one playbook, a marker request after each; returns
    ([(message or None when not refused, request log of the case)], state before, state after)."""
    tasks = []
    for i, (case, role, variables) in enumerate(cases):
        tasks.append(role_task(case, role, variables, "case_%02d" % i))
        tasks.append(marker_task("marker %02d" % i, sim, "%02d" % i))
    results_path = os.path.join(str(work), name + ".results.json")
    before = sim.control.state()
    sim.control.clear_requests()
    proc = run_playbook(work, name + ".yml", [play(with_results(tasks, results_path), sim)])
    after = sim.control.state()
    assert os.path.exists(results_path), proc.stdout[-5000:]
    with open(results_path) as handle:
        results = json.load(handle)
    by_case = split_log_by_marker(sim.control.requests_log())[0]
    outcome = []
    for i in range(len(cases)):
        failed = results.get("case_%02d_failed" % i)
        refused = results.get("case_%02d" % i) is None and failed is not None
        outcome.append((failed["msg"] if refused else None, by_case.get(i)))
    return outcome, before, after, proc


# -- what the array and the disk say ------------------------------------------------------------------
def pool_volumes(state, groups=None):
    return [ld for ld in state["ldevs"] if "POOL" in ld.get("attributes", [])
            and (groups is None or set(ld.get("parityGroupIds", [])) & set(groups))]


def statuses(state, groups=None):
    return sorted((ld["ldevId"], ld["status"]) for ld in pool_volumes(state, groups))


def assert_green(state):
    """Every pool volume normal, no key lost, no parity group with lost keys, no session left."""
    assert state["lost_parity_groups"] == [], state["lost_parity_groups"]
    assert [k["keyId"] for k in state["keys"] if k["lost"]] == []
    assert [v for v in statuses(state) if v[1] != "NML"] == []
    assert state["sessions"] == 0


def lost_groups(state):
    return state["lost_parity_groups"]


def key_files(directory):
    return sorted(f for f in os.listdir(directory) if f.endswith(".ekf"))


def listing(directory):
    """Every file of the directory with its size, mtime and sha256: 'nothing written, nothing deleted'."""
    found = {}
    for name in sorted(os.listdir(directory)):
        if name == LOCK_NAME:  # the directory's lock: taken by every run that writes, not a backup
            continue
        path = os.path.join(directory, name)
        with open(path, "rb") as handle:
            found[name] = (os.stat(path).st_size, os.stat(path).st_mtime_ns, hashlib.sha256(handle.read()).hexdigest())
    return found


def manifest(path, seen=None):
    """The manifest of the key file `path` (from `seen`, {path: manifest}, when the file may be gone by now)."""
    if seen is not None and path in seen:
        return seen[path]
    with open(path + ".manifest.json") as handle:
        return json.load(handle)


def remember_manifests(seen, directory):
    for name in key_files(directory):
        seen.setdefault(os.path.join(directory, name), manifest(os.path.join(directory, name)))


def dek_drives(path, seen=None):
    return set(manifest(path, seen)["dek_locations"].values())


def verifier_takes(path, password, seen=None):
    """Whether the manifest's password verifier (PBKDF2-HMAC-SHA256) is that of `password`, checked here."""
    verifier = manifest(path, seen)["password_verifier"]
    assert verifier["kdf"] == "pbkdf2-hmac-sha256" and int(verifier["iterations"]) >= 600000, verifier
    derived = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(verifier["salt"]), int(verifier["iterations"]), 64)
    return derived[:32] == base64.b64decode(verifier["hash"])


def drives_of(state, groups):
    return {d["driveLocationId"] for d in state["drives"] if d.get("parityGroupId") in groups}


def no_writes(log):
    """No write request other than log-in / log-out reached the array."""
    return write_requests(log) == []


def state_changing(log):
    """Requests a rerun that must converge may not send: every accepted write but sessions and no-op status changes."""
    return [e for e in write_requests(log) if 200 <= e["status"] < 300 and "change-status" not in e["path"]]


# -- 1. the nightly backup after a loss cannot bury the good copy; the restore picks the file that holds the keys --
@pytest.fixture(scope="module")
def situation_1(sim, tmp_path_factory):
    """The whole sequence of situation 1, step by step (each test below judges one step)."""
    work = tmp_path_factory.mktemp("timeline-1")
    site = Site(work / "control-node", sim)
    backups = str(work / "key-backups")
    sim.control.reset()
    steps = {"site": site, "dir": backups}
    steps["first"] = site.backup(backups, encryption_key_backup_keep=1)
    steps["good"] = os.path.join(backups, key_files(backups)[0]) if os.path.isdir(backups) and key_files(backups) else None
    steps["manifests"] = {}  # every manifest seen, by key file (retention deletes files later in the sequence)
    remember_manifests(steps["manifests"], backups)
    steps["before_loss"] = sim.control.state()
    sim.control.lose_keys("1-1", "1-2")
    steps["listing_before_nightly"] = listing(backups)
    steps["nightly"] = site.watched(site.backup, backups, encryption_key_backup_keep=1)
    steps["listing_after_nightly"] = listing(backups)
    steps["override"] = site.watched(site.backup, backups, encryption_key_backup_keep=1, encryption_key_backup_allow_lost_keys=True)
    steps["listing_after_override"] = listing(backups)
    remember_manifests(steps["manifests"], backups)
    # the operator names the newest (short) file and turns the manifest check off: only the array can tell, after the block
    made = sorted(set(key_files(backups)) - set(steps["listing_after_nightly"]))
    steps["short"] = os.path.join(backups, made[-1]) if made else backups + "/none.ekf"
    steps["short_restore"] = site.watched(site.restore, steps["short"], encryption_key_restore_verify_manifest=False)
    steps["restore"] = site.watched(site.restore, backups)
    steps["rerun"] = site.watched(site.restore, backups)
    age_backups(backups, [BACKUP_PASSWORD])  # the night between: retention keeps every file of the last hour
    steps["listing_before_green_nightly"] = listing(backups)
    steps["green_nightly"] = site.watched(site.backup, backups, encryption_key_backup_keep=1)
    steps["listing_after_green_nightly"] = listing(backups)
    remember_manifests(steps["manifests"], backups)
    return steps


@pytest.mark.reliability("fault")
def test_1_nightly_backup_after_a_loss_fails_writes_nothing_deletes_nothing(situation_1):
    # before the loss: the first backup made a file of this array holding a DEK for every drive, with a verifier
    first = situation_1["first"]
    assert first.rc == 0, first
    good = situation_1["good"]
    assert good is not None, first
    state = situation_1["before_loss"]
    seen = situation_1["manifests"]
    assert manifest(good, seen)["storage_device_id"] == state["storage"]["storageDeviceId"]
    assert manifest(good, seen)["serial_number"] == state["storage"]["serialNumber"]
    assert dek_drives(good, seen) == drives_of(state, ["1-1", "1-2", "1-3", "1-4"])
    assert verifier_takes(good, BACKUP_PASSWORD, seen) and not verifier_takes(good, WRONG_BACKUP_PASSWORD, seen)
    # keys of 1-1 and 1-2 lost, then the nightly run
    run, log, before, after = situation_1["nightly"]
    assert run.rc != 0, run
    assert situation_1["listing_after_nightly"] == situation_1["listing_before_nightly"]
    assert no_writes(log), write_requests(log)
    assert array_view(after) == array_view(before)
    msg = run.final_failure()
    assert "1-1" in msg and "1-2" in msg, msg
    assert situation_1["good"] in msg, msg  # the file that holds the lost keys, path as on disk
    assert RESTORE_PLAYBOOK in msg and "ansible-playbook" in msg, msg  # the restore command
    assert "encryption_key_backup_allow_lost_keys" in msg, msg
    cause = "No backup was written and none was deleted"
    # said once: by the role's closing message (a failing debug, printed once); the refusal task only stops the run
    assert run.statements(cause) == 1, run.statements(cause, by_task=True)
    assert run.stdout.count(cause) == 1, run


@pytest.mark.reliability("fault")
def test_1_backup_with_allow_lost_keys_writes_a_file_and_deletes_nothing(situation_1):
    run, log, before, after = situation_1["override"]
    assert run.rc == 0, run
    old, new = situation_1["listing_after_nightly"], situation_1["listing_after_override"]
    assert set(old) < set(new), (sorted(old), sorted(new))
    assert {k: new[k] for k in old} == old  # nothing deleted, nothing rewritten (keep: 1 notwithstanding)
    made = [f for f in new if f.endswith(".ekf") and f not in old]
    assert len(made) == 1, sorted(new)
    short = os.path.join(situation_1["dir"], made[0])
    # the new file lacks the DEKs of the drives that lost theirs: the manifest says so
    seen = situation_1["manifests"]
    assert not dek_drives(short, seen) & drives_of(before, ["1-1", "1-2"])
    assert dek_drives(short, seen) == drives_of(before, ["1-3", "1-4"])
    assert [e["path"] for e in write_requests(log) if e["status"] < 300 and "backup" not in e["path"]] == []


@pytest.mark.reliability("fault")
def test_1_restore_from_a_file_without_the_lost_keys_stops_before_recovery(situation_1):
    """With the manifest check off the short file is uploaded; the coverage read after the restore shows the keys still
    lost: the run stops there (no recovery that must fail), names the file that holds them, and the resume command
    names a path that covers them."""
    run, log, before, after = situation_1["short_restore"]
    assert run.rc != 0, run
    assert lost_groups(after) == ["1-1", "1-2"]
    assert statuses(after, ["1-1", "1-2"]) == [(ld, "BLK") for ld, _s in statuses(before, ["1-1", "1-2"])]
    assert [e for e in write_requests(log) if "restore" in e["path"] and e["status"] < 300], write_requests(log)  # uploaded
    recovered = [e for e in write_requests(log) if "change-status" in e["path"]]
    assert len(recovered) == len(statuses(before, ["1-1", "1-2"])), recovered  # the block only: no recovery was tried
    msg = run.final_failure()
    assert "still lost" in msg and "1-1" in msg and "1-2" in msg, msg
    assert situation_1["good"] in msg, msg  # which file holds them
    resume = msg[msg.index("Resume with:"):] if "Resume with:" in msg else msg
    assert situation_1["short"] not in resume, resume  # the resume command does not name the same bad file again


@pytest.mark.reliability("fault")
def test_1_restore_from_the_directory_picks_the_old_file_and_ends_green(situation_1):
    run, log, before, after = situation_1["restore"]
    assert run.rc == 0, run
    assert lost_groups(before) == ["1-1", "1-2"]
    assert_green(after)
    assert sorted(k["keyId"] for k in after["keys"]) == sorted(k["keyId"] for k in situation_1["before_loss"]["keys"])
    # the file chosen is the old one that holds the keys, not the newest (short) one
    plan = " ".join(run.plan())
    assert situation_1["good"] in plan, plan
    newest = sorted(f for f in situation_1["listing_after_override"] if f.endswith(".ekf"))[-1]
    assert os.path.join(situation_1["dir"], newest) not in plan, plan
    assert "parity_groups was not given" in plan and "[1-1, 1-2]" in plan, plan
    # the volumes the stopped run left blocked stay blocked, the keys are restored, then every volume is recovered
    assert [e for e in write_requests(log) if "restore" in e["path"] and e["status"] < 300], write_requests(log)


@pytest.mark.reliability("rerun")
def test_1_restore_rerun_converges_without_a_state_change(situation_1):
    run, log, before, after = situation_1["rerun"]
    assert run.rc == 0, run
    assert state_changing(log) == [], write_requests(log)
    assert array_view(after) == array_view(before)
    assert_green(after)


@pytest.mark.reliability("rerun")
def test_1_nightly_backup_after_the_restore_is_green_and_retention_keeps_a_full_file(situation_1):
    """Keys back: the nightly run makes a file holding every key (the newest file lacked some), and retention
    (keep: 1) deletes only files whose every key a newer kept file holds."""
    run, log, before, after = situation_1["green_nightly"]
    assert run.rc == 0, run
    old, new = situation_1["listing_before_green_nightly"], situation_1["listing_after_green_nightly"]
    made = [f for f in new if f.endswith(".ekf") and f not in old]
    assert len(made) == 1, (sorted(old), sorted(new))
    full = os.path.join(situation_1["dir"], made[0])
    assert dek_drives(full) == drives_of(after, ["1-1", "1-2", "1-3", "1-4"])
    assert key_files(situation_1["dir"]) == made, sorted(new)  # keep: 1, and the one kept holds every key
    assert all(os.path.exists(os.path.join(situation_1["dir"], f + ".manifest.json")) for f in made)
    assert_green(after)


# -- 2 and 3. the wrong group, another array's file, a wrong password: refused before any write; a rotation --
@pytest.fixture(scope="module")
def situations_2_3(sim, tmp_path_factory):
    """Another array's backup; this array's backup with password A, the nightly run with password B (rotation);
    keys of 1-1 lost; the refusals (one playbook, include_role); the restore from the directory, no groups named."""
    work = tmp_path_factory.mktemp("timeline-2-3")
    site = Site(work / "control-node", sim)
    other_dir, mine = str(work / "other-array"), str(work / "key-backups")
    steps = {"site": site, "dir": mine}
    sim.control.reset(OTHER_ARRAY)
    steps["other_backup"] = site.backup(other_dir)
    steps["other_files"] = key_files(other_dir) if os.path.isdir(other_dir) else []
    sim.control.reset()
    steps["backup_a"] = site.backup(mine)
    steps["files_a"] = key_files(mine)
    steps["backup_b"] = site.watched(site.backup, mine, password=ROTATED_PASSWORD)
    steps["files_b"] = key_files(mine)
    sim.control.lose_keys("1-1")
    other = os.path.join(other_dir, steps["other_files"][0]) if steps["other_files"] else other_dir + "/missing.ekf"
    newest = os.path.join(mine, steps["files_b"][-1])
    cases = [
        ("names 1-3 while 1-1 lost keys", {"encryption_key_restore_parity_groups": ["1-3"], "encryption_key_restore_path": mine,
                                           "encryption_key_restore_backup_password": ROTATED_PASSWORD}),
        ("another array's key file", {"encryption_key_restore_path": other, "encryption_key_restore_backup_password": BACKUP_PASSWORD}),
        ("wrong backup password, directory", {"encryption_key_restore_path": mine,
                                              "encryption_key_restore_backup_password": WRONG_BACKUP_PASSWORD}),
        ("old password for the rotated file", {"encryption_key_restore_path": newest, "encryption_key_restore_backup_password": BACKUP_PASSWORD}),
    ]
    steps["case_names"] = [c[0] for c in cases]
    steps["refusals"] = refusal_batch(work, sim, "refusals", [(name, "encryption_key_restore", dict(v, encryption_key_restore_confirm=True))
                                                              for name, v in cases])
    steps["restore"] = site.watched(site.restore, mine, password=ROTATED_PASSWORD)
    return steps


def _refusal(steps, name):
    outcome, before, after, proc = steps["refusals"]
    msg, log = outcome[steps["case_names"].index(name)]
    assert log is not None, proc.stdout[-4000:]
    assert msg is not None, "%s was not refused:\n%s" % (name, proc.stdout[-4000:])
    assert any(e["method"] == "GET" and "encryption-keys" in e["path"] for e in log), log  # the case read the array
    return msg, log


@pytest.mark.reliability("bad_input")
def test_2_naming_the_wrong_group_is_refused_before_any_write(situations_2_3):
    msg, log = _refusal(situations_2_3, "names 1-3 while 1-1 lost keys")
    assert no_writes(log), write_requests(log)
    assert "encryption_key_restore_parity_groups" in msg or "parity_groups" in msg, msg
    assert "1-1" in msg and "1-3" in msg, msg


@pytest.mark.reliability("bad_input")
def test_3_another_arrays_key_file_is_refused_before_any_write(situations_2_3):
    assert situations_2_3["other_backup"].rc == 0, situations_2_3["other_backup"]
    msg, log = _refusal(situations_2_3, "another array's key file")
    assert no_writes(log), write_requests(log)
    assert "another array" in msg and "936000499999" in msg and "path" in msg, msg


@pytest.mark.reliability("bad_input")
def test_3_wrong_backup_password_is_refused_by_the_verifier_before_any_write(situations_2_3):
    msg, log = _refusal(situations_2_3, "wrong backup password, directory")
    assert no_writes(log), write_requests(log)
    assert "backup password" in msg and "verifier" in msg, msg
    msg, log = _refusal(situations_2_3, "old password for the rotated file")
    assert no_writes(log), write_requests(log)
    assert "backup_password" in msg and "verifier" in msg, msg


@pytest.mark.reliability("bad_input")
def test_2_3_refusals_changed_nothing_on_the_array(situations_2_3):
    _outcome, before, after, _proc = situations_2_3["refusals"]
    assert array_view(after) == array_view(before)
    assert lost_groups(after) == ["1-1"]
    assert [v for v in statuses(after) if v[1] != "NML"] == []  # no volume was blocked
    assert after["sessions"] == 0


@pytest.mark.reliability("rerun")
def test_3_password_rotation_makes_a_new_file_whose_verifier_takes_the_new_password(situations_2_3):
    assert situations_2_3["backup_a"].rc == 0, situations_2_3["backup_a"]
    run, log, before, after = situations_2_3["backup_b"]
    assert run.rc == 0, run
    files_a, files_b = situations_2_3["files_a"], situations_2_3["files_b"]
    assert len(files_a) == 1 and len(files_b) == 2 and files_b[0] == files_a[0], (files_a, files_b)
    rotated = os.path.join(situations_2_3["dir"], files_b[1])
    assert verifier_takes(rotated, ROTATED_PASSWORD) and not verifier_takes(rotated, BACKUP_PASSWORD)
    assert verifier_takes(os.path.join(situations_2_3["dir"], files_a[0]), BACKUP_PASSWORD)
    # the keys were unchanged: the new file holds the same keys as the old one
    assert manifest(rotated)["keys"] == manifest(os.path.join(situations_2_3["dir"], files_a[0]))["keys"]


@pytest.mark.reliability("fault")
def test_2_3_restore_without_groups_restores_1_1_from_the_rotated_file(situations_2_3):
    run, log, before, after = situations_2_3["restore"]
    assert run.rc == 0, run
    assert lost_groups(before) == ["1-1"]
    assert_green(after)
    plan = " ".join(run.plan())
    assert os.path.join(situations_2_3["dir"], situations_2_3["files_b"][1]) in plan, plan  # the file the new password opens
    assert "parity_groups was not given" in plan and "[1-1]" in plan, plan
    # only the pool volumes of 1-1 were blocked and recovered
    changed = {e["path"] for e in write_requests(log) if "change-status" in e["path"]}
    ids = {int(re.search(r"/ldevs/(\d+)/", p).group(1)) for p in changed}
    assert ids == {ld["ldevId"] for ld in pool_volumes(before, ["1-1"])}, changed


# -- 4. operator text: groups as text, a missing manifest, the path's case, one statement, the resume hint --
@pytest.fixture(scope="module")
def situation_4(sim, tmp_path_factory):
    work = tmp_path_factory.mktemp("timeline-4")
    site = Site(work / "control-node", sim)
    backups = str(work / "Site-A" / "Key-Backups")
    steps = {"site": site, "dir": backups}
    sim.control.reset()
    steps["backup"] = site.backup(backups)
    good = os.path.join(backups, key_files(backups)[0])
    no_manifest_dir = str(work / "Site-A" / "Copied-Without-Manifest")
    os.makedirs(no_manifest_dir, mode=0o700)
    bare = os.path.join(no_manifest_dir, "Keys-" + os.path.basename(good).upper())
    shutil.copy2(good, bare)
    steps["bare"] = bare
    sim.control.lose_keys("1-1", "1-2")
    steps["1-1, 1-2"] = site.watched(site.restore, backups, encryption_key_restore_parity_groups="1-1, 1-2")
    sim.control.lose_keys("1-1", "1-2")
    steps["no_manifest"] = site.watched(site.restore, bare)
    steps["no_manifest_awx"] = site.watched(site.restore, bare, awx_job_template_name="Restore")
    # the AWX survey's text without blanks, with the file whose manifest is lost, on purpose
    steps["no_manifest_off"] = steps["1-1,1-2"] = site.watched(site.restore, bare, encryption_key_restore_verify_manifest=False,
                                                               encryption_key_restore_parity_groups="1-1,1-2")
    return steps


@pytest.mark.parametrize("text", ["1-1, 1-2", "1-1,1-2"])
@pytest.mark.reliability("bad_input")
def test_4_parity_groups_as_text_restore_both(situation_4, text):
    run, log, before, after = situation_4[text]
    assert run.rc == 0, run
    assert lost_groups(before) == ["1-1", "1-2"]
    assert_green(after)
    plan = " ".join(run.plan())
    assert "[1-1, 1-2]" in plan and "as named" in plan, plan  # a list printed as a list, not "1, -, 1, ,, ..."
    changed = {int(re.search(r"/ldevs/(\d+)/", e["path"]).group(1)) for e in write_requests(log) if "change-status" in e["path"]}
    assert changed == {ld["ldevId"] for ld in pool_volumes(before, ["1-1", "1-2"])}


@pytest.mark.reliability("bad_input")
def test_4_missing_manifest_is_refused_before_any_write_path_case_kept_stated_once(situation_4):
    run, log, before, after = situation_4["no_manifest"]
    bare = situation_4["bare"]
    assert run.rc != 0, run
    assert no_writes(log), write_requests(log)
    assert array_view(after) == array_view(before) and lost_groups(after) == ["1-1", "1-2"]
    msg = run.final_failure()
    assert bare in msg, msg  # the path as given: upper-case letters kept
    assert bare.lower() not in run.stdout
    assert "no manifest" in msg and "verify_manifest" in msg, msg
    # the failed task (no_log: its "[ERROR]" line on ansible-core 2.19+, nothing before) and the closing message once
    assert run.statements("has no manifest") <= 2, run.statements("has no manifest", by_task=True)
    assert run.stdout.count("The key restore of %s stopped at" % HOST) == 1, run  # the closing message printed once
    assert "vault options" in msg and "ansible-playbook" in msg, msg
    assert "--limit %s" % HOST in msg


@pytest.mark.reliability("bad_input")
def test_4_inside_awx_the_hint_is_to_relaunch_the_job_template(situation_4):
    run, log, before, after = situation_4["no_manifest_awx"]
    assert run.rc != 0, run
    assert no_writes(log), write_requests(log)
    msg = run.final_failure()
    assert "Relaunch the job template" in msg and '"Restore"' in msg, msg
    assert "ansible-playbook" not in msg, msg
    assert "encryption_key_restore_confirm" in msg, msg  # the extra variables to relaunch with


@pytest.mark.reliability("rerun")
def test_4_missing_manifest_accepted_with_verify_manifest_false(situation_4):
    run, log, before, after = situation_4["no_manifest_off"]
    assert run.rc == 0, run
    assert lost_groups(before) == ["1-1", "1-2"]
    assert_green(after)
    assert any("verify_manifest is false" in line for line in run.plan()), run.plan()  # the plan says what is not checked


@pytest.mark.reliability("fault")
def test_4_resume_line_copied_from_the_default_output_and_pasted_into_a_shell_finishes_the_restore(sim, tmp_path):
    """The restore request fails after the pool volumes were blocked. The operator keeps the backup password in the
    inventory (in Ansible Vault at a real site), copies the resume line as the default callback printed it, and pastes
    it into a shell: that run restores the keys and recovers every pool volume."""
    site = Site(tmp_path / "control-node", sim)
    backups = str(tmp_path / "Key Backups")  # a space: the line must quote it
    sim.control.reset()
    assert site.backup(backups).rc == 0
    with open(site.inventory) as handle:
        inventory = json.load(handle)
    inventory["vsp_arrays"]["hosts"][HOST]["encryption_key_restore_backup_password"] = BACKUP_PASSWORD
    with open(site.inventory, "w") as handle:
        json.dump(inventory, handle)
    sim.control.lose_keys("1-1")
    sim.control.add_fault(method="POST", path="restore/invoke", status=500, times=1)
    first = site.run(RESTORE_PLAYBOOK, {"encryption_key_restore_path": backups, "encryption_key_restore_confirm": True})
    assert first.rc != 0, first
    blocked = statuses(sim.control.state(), ["1-1"])
    assert blocked and all(status == "BLK" for _ldev, status in blocked), blocked  # stopped with the volumes blocked
    printed = [line for line in first.stdout.splitlines() if "Resume with: ansible-playbook" in line]
    assert len(printed) == 1, first  # said once
    line = printed[0].split("Resume with: ", 1)[1].split("  (add the vault options", 1)[0]
    assert '"' not in line and "\\" not in line, line  # nothing the default callback's JSON escapes
    # the line as pasted, run by a shell that finds ansible-playbook on PATH (the venv's bin first)
    pasted = runner.run_playbook(command=["bash", "-c", line], cwd=site.work, timeout=240,
                                 env=ansible_vars(site.work, PATH=BIN + os.pathsep + os.environ["PATH"]),
                                 record=os.path.join(site.work, "pasted.out"))  # for a person reading a failure
    assert pasted.returncode == 0, (line, pasted.stdout[-4000:], pasted.stderr[-2000:])
    assert_green(sim.control.state())


@pytest.mark.reliability("secrets")
def test_1_runs_show_no_spurious_no_log_warning(situation_1):
    """An option named like a secret but not one (password_verifier: a bool) must not make Ansible warn on every run:
    an operator who learns to ignore a no_log warning misses the one that matters."""
    runs = [situation_1["first"], situation_1["nightly"][0], situation_1["override"][0], situation_1["restore"][0],
            situation_1["green_nightly"][0]]
    warned = sorted({line.strip() for run in runs for line in (run.stdout + run.stderr).splitlines() if "did not set no_log" in line})
    assert warned == [], warned


@pytest.mark.reliability("bad_input")
@pytest.mark.parametrize("playbook", [BACKUP_PLAYBOOK, RESTORE_PLAYBOOK, "vsp.encryption.audit_key_backups",
                                      "vsp.encryption.check_array_api"])
def test_a_run_that_matches_no_array_fails_naming_the_group_and_the_inventory(sim, tmp_path, playbook):
    """A mistyped group (vsp_arrays_group) or -i path: Ansible alone would end green having done nothing."""
    site = Site(tmp_path / "control-node", sim)
    sim.control.clear_requests()
    run = site.run(playbook, {"vsp_arrays_group": "vsp_arays", "encryption_key_backup_dir": str(tmp_path / "b"),
                              "encryption_key_backup_password": BACKUP_PASSWORD})
    assert run.rc != 0
    assert ("No array to act on: the group or pattern vsp_arays (vsp_arrays_group) matches no host of the inventory %s. "
            "Nothing was done." % site.inventory) in run.final_failure()
    assert sim.control.requests_log() == []
    assert not os.path.exists(str(tmp_path / "b"))


@pytest.mark.reliability("rerun")
def test_a_limited_run_acts_on_the_array_it_keeps_and_prints_no_skipped_play(sim, tmp_path):
    """`--limit vsp01`, as the disaster-recovery guide writes every restore: the first play finds the array among the
    hosts the limit keeps (a play on localhost, which a limit leaves out, printed "skipping: no hosts matched" before
    every limited run), and the run backs the keys up."""
    site = Site(tmp_path / "control-node", sim)
    backups = str(tmp_path / "b")
    sim.control.reset()
    run = site.run(BACKUP_PLAYBOOK, {"encryption_key_backup_dir": backups, "encryption_key_backup_password": BACKUP_PASSWORD},
                   args=("--limit", HOST))
    assert run.rc == 0, run
    assert "no hosts matched" not in run.stdout + run.stderr, run
    found = run.task("The group or pattern matches at least one array")
    assert [r["result"]["msg"] for r in found] == ["1 array of vsp_arrays to act on: %s." % HOST], found
    assert len(key_files(backups)) == 1
    assert [r for r in sim.control.requests_log() if r["method"] == "POST" and r["path"].endswith("/backup/invoke")]


@pytest.mark.reliability("bad_input")
@pytest.mark.parametrize("playbook", [BACKUP_PLAYBOOK, RESTORE_PLAYBOOK])
def test_a_limit_that_keeps_no_array_fails_naming_the_limit(sim, tmp_path, playbook):
    """`--limit` naming only a host of another group (a backup host): Ansible alone would skip every play and end green
    having done nothing."""
    site = Site(tmp_path / "control-node", sim)
    with open(site.inventory) as handle:
        inventory = json.load(handle)
    # as docs/backup.md writes a backup host: reached over SSH, which this run must never try
    inventory["backup_hosts"] = {"hosts": {"bk01": {"ansible_host": "backup01.example.com"}}}
    with open(site.inventory, "w") as handle:
        json.dump(inventory, handle)
    sim.control.clear_requests()
    run = site.run(playbook, {"encryption_key_backup_dir": str(tmp_path / "b"), "encryption_key_backup_password": BACKUP_PASSWORD,
                              "encryption_key_restore_path": str(tmp_path / "b")}, args=("--limit", "bk01"))
    assert run.rc != 0
    assert ("No array to act on: the limit bk01 (--limit) keeps no host of the group or pattern vsp_arrays "
            "(vsp_arrays_group) of the inventory %s. Nothing was done." % site.inventory) in run.final_failure()
    assert sim.control.requests_log() == []
    assert not os.path.exists(str(tmp_path / "b"))


# -- 5. a damaged key file (issue #24): the backup names it, the audit fails on its array, the refusal names it --------
AUDIT_PLAYBOOK = "vsp.encryption.audit_key_backups"
RECAP_RE = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def audit(site, directory, label, **variables):
    """The shipped audit playbook; returns (run, report JSON or None, Markdown text or None)."""
    report, markdown = os.path.join(site.work, label + ".json"), os.path.join(site.work, label + ".md")
    variables = dict({"encryption_key_backup_dir": directory, "encryption_key_backup_password": BACKUP_PASSWORD,
                      "vsp_audit_report_json": report, "vsp_audit_report_markdown": markdown}, **variables)
    run = site.run(AUDIT_PLAYBOOK, variables)
    doc = json.load(open(report)) if os.path.exists(report) else None
    text = open(markdown).read() if os.path.exists(markdown) else None
    return run, doc, text


def recap(run):
    """{host: failed count} of the PLAY RECAP (unreachable hosts count as failed too)."""
    return {m.group(1): int(m.group(2)) + int(m.group(3)) for m in RECAP_RE.finditer(run.stdout)}


def flip_a_byte(path, at=64):
    with open(path, "r+b") as handle:
        handle.seek(at)
        byte = handle.read(1)
        handle.seek(at)
        handle.write(bytes([byte[0] ^ 0xFF]))


@pytest.fixture(scope="module")
def situation_5(sim, tmp_path_factory):
    """Nightly backup → a byte flipped in the only key file → the audit → keys of 1-1 lost → the nightly backup
    (refused) → the keys back (the KMS, here a reset) → the next backup (warns, writes a good file) → the audit."""
    work = tmp_path_factory.mktemp("timeline-5")
    site = Site(work / "control-node", sim)
    backups = str(work / "key-backups")
    sim.control.reset()
    steps = {"site": site, "dir": backups}
    steps["first"] = site.backup(backups)
    only = os.path.join(backups, key_files(backups)[0])
    steps["only"] = only
    steps["before_flip"] = sim.control.state()
    flip_a_byte(only)
    steps["damaged_bytes"] = listing(backups)[os.path.basename(only)]
    steps["audit_only_damaged"] = audit(site, backups, "audit-1")
    sim.control.lose_keys("1-1")
    steps["listing_before_refusal"] = listing(backups)
    steps["refused"] = site.watched(site.backup, backups)
    steps["listing_after_refusal"] = listing(backups)
    sim.control.reset()  # the keys came back from a good copy elsewhere (the KMS)
    steps["next"] = site.watched(site.backup, backups)
    steps["listing_after_next"] = listing(backups)
    steps["audit_after_next"] = audit(site, backups, "audit-2")
    return steps


@pytest.mark.reliability("fault")
def test_5_the_audit_fails_on_the_array_whose_only_key_file_is_damaged_and_its_markdown_names_it(situation_5):
    run, doc, text = situation_5["audit_only_damaged"]
    only = situation_5["only"]
    assert situation_5["first"].rc == 0, situation_5["first"]
    assert run.rc == 2, run
    assert recap(run) == {"localhost": 0, HOST: 1}, run.stdout[-3000:]
    assert doc["ok"] is False and doc["arrays_not_covered"] == [HOST] and doc["arrays_with_damaged_files"] == [HOST]
    assert doc["damaged_key_files"] == [{"array": HOST, "path": only, "blocking": True}]
    [damaged] = doc["arrays"][0]["damaged_files"]
    # the report's bytes are the disk's: the file as it is now, against its manifest
    assert (damaged["size"], damaged["sha256"]) == situation_5["damaged_bytes"][::2]
    assert damaged["manifest_sha256"] == manifest(only)["sha256"] != damaged["sha256"]
    assert damaged["newest"] is True and len(damaged["only_holder_of"]) == len(situation_5["before_flip"]["keys"])
    assert "## Damaged key files" in text and "%s (made %s): **not covered**" % (only, manifest(only)["created_utc"]) in text
    assert "%s is damaged" % only in run.final_failure()


@pytest.mark.reliability("bad_input")
def test_5_with_keys_lost_and_the_only_holder_damaged_the_refusal_names_it_and_no_restore_from_it(situation_5):
    run, log, before, after = situation_5["refused"]
    only = situation_5["only"]
    assert run.rc != 0, run
    assert lost_groups(before) == ["1-1"] and lost_groups(after) == ["1-1"]
    assert no_writes(log), write_requests(log)
    assert situation_5["listing_after_refusal"] == situation_5["listing_before_refusal"]  # nothing written or deleted
    msg = run.final_failure()
    assert "are DAMAGED" in msg and only in msg, msg
    assert "backup hosts" in msg and "encryption_key_restore_source=kms" in msg, msg
    assert "ansible-playbook" not in msg and "encryption_key_restore_path" not in msg, msg  # no restore from the damaged file
    assert "no key file holds them" not in msg.lower(), msg


@pytest.mark.reliability("fault")
def test_5_the_next_backup_warns_naming_the_damaged_file_writes_a_good_one_and_leaves_it(situation_5):
    run, log, before, after = situation_5["next"]
    only = situation_5["only"]
    assert run.rc == 0, run
    warnings = [line for line in (run.stdout + run.stderr).splitlines() if "DAMAGED key file(s) of this array" in line]
    assert len(warnings) == 1 and only in warnings[0], run.stdout[-3000:] + run.stderr[-3000:]
    old, new = situation_5["listing_after_refusal"], situation_5["listing_after_next"]
    assert new[os.path.basename(only)] == old[os.path.basename(only)]  # the damaged file is left as it is
    made = [f for f in new if f.endswith(".ekf") and f not in old]
    assert len(made) == 1, (sorted(old), sorted(new))
    good = os.path.join(situation_5["dir"], made[0])
    assert manifest(good)["sha256"] == new[made[0]][2] and manifest(good)["size"] == new[made[0]][0]
    # the array counted the backup
    backups = {k["keyId"]: k["numOfBackups"] for k in before["keys"]}
    assert all(k["numOfBackups"] == backups[k["keyId"]] + 1 for k in after["keys"]), after["keys"]
    assert_green(after)


@pytest.mark.reliability("fault")
def test_5_after_a_good_backup_the_audit_is_green_and_its_markdown_still_names_the_damaged_file(situation_5):
    run, doc, text = situation_5["audit_after_next"]
    only = situation_5["only"]
    assert run.rc == 0, run
    assert recap(run) == {"localhost": 0, HOST: 0}
    assert doc["ok"] is True and doc["arrays_with_damaged_files"] == []
    assert doc["damaged_key_files"] == [{"array": HOST, "path": only, "blocking": False}]
    assert "## Damaged key files" in text and only in text and "**not covered**" not in text


@pytest.mark.reliability("fault")
def test_audit_with_two_arrays_one_uncovered_fails_only_the_uncovered_arrays_host(sim, tmp_path):
    """The covered array is first in the inventory (where run_once ran the old failing task): it stays ok."""
    site = Site(tmp_path / "control-node", sim)
    covered, empty = str(tmp_path / "covered"), str(tmp_path / "empty")
    sim.control.reset()
    assert site.backup(covered).rc == 0
    os.makedirs(empty, mode=0o700)
    with open(site.inventory) as handle:
        inventory = json.load(handle)
    first = inventory["vsp_arrays"]["hosts"][HOST]
    inventory["vsp_arrays"]["hosts"] = {"array01": dict(first, vsp_audit_backup_dir=covered),
                                        "array02": dict(first, vsp_audit_backup_dir=empty)}
    with open(site.inventory, "w") as handle:
        json.dump(inventory, handle, indent=1)
    sim.control.clear_requests()
    run, doc, text = audit(site, covered, "audit-two")
    assert run.rc == 2, run
    assert recap(run) == {"localhost": 0, "array01": 0, "array02": 1}, run.stdout[-3000:]
    assert [r["host"] for r in run.failures()] == ["array02"]
    assert "array02 is not covered" in run.final_failure() and "array01" not in run.final_failure()
    assert doc["arrays_not_covered"] == ["array02"] and doc["arrays_covered"] == 1
    assert no_writes(sim.control.requests_log())
