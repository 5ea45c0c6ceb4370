"""Bad input is refused with a clear error naming the parameter, before anything changes (issue #6).

All cases run in one playbook against a simulator over HTTPS (validate_certs: true, ca_path).
Between cases a marker request (`GET /ConfigurationManager/reliability-marker/<case>`, answered 404)
splits the simulator's request log, so each case is judged on its own requests:

* `local`: refused by the module's own checks: the case sent no request at all (not even a log in);
* `array`: refused by the array (wrong credentials, a viewer, an unknown object...): no write was
  carried out (every write request other than the session's own was answered 4xx) and the session
  count is back to 0;
* `tls`, `other`: refused in the TLS handshake: no request reached the simulator (`other`: the
  second simulator, whose CA is not the one in `ca_path`);

The simulator's state (volumes, pools, keys with their `numOfBackups`, KMS) must equal the state
before the playbook: no case wrote anything.
"""
import hashlib
import json
import os
import shutil
from typing import NamedTuple

import pytest
import requests
from rel_helpers import split_log_by_marker
from rel_helpers import (ADMIN, BACKUP_PASSWORD, VIEWER_PASSWORD, WRONG_BACKUP_PASSWORD, Simulator, accepted_writes,
                         array_view, logins, marker_task, module_task, run_cases)

OBJ = "/ConfigurationManager/v1/objects"


def backup_file(sim, dest):
    """A real key file of the simulator (and its manifest), made through the API."""
    http = requests.Session()
    http.verify = sim.ca_path
    http.trust_env = False
    base = sim.url + OBJ
    login = http.post(base + "/sessions", auth=ADMIN.auth, json={}, timeout=30).json()
    headers = {"Authorization": "Session " + login["token"]}
    try:
        resp = http.post(base + "/encryption-keys/file/actions/backup/invoke", headers=dict(headers, Accept="application/octet-stream"),
                         json={"parameters": {"password": BACKUP_PASSWORD}}, timeout=30)
        resp.raise_for_status()
        with open(dest, "wb") as handle:
            handle.write(resp.content)
        with open(dest + ".manifest.json", "w") as handle:
            # a format-1 manifest (still read): no key ids, no password verifier; it names the array (a file counts as
            # this array's only by its manifest). Not authenticated, so a restore uses it only when the file is named
            # with verify_manifest false (then only the array can refuse a wrong password)
            storage = sim.control.state()["storage"]
            json.dump({"format_version": 1, "sha256": hashlib.sha256(resp.content).hexdigest(), "size": len(resp.content),
                       "created_utc": "2026-11-30T02:00:00Z", "storage_device_id": storage["storageDeviceId"],
                       "serial_number": storage["serialNumber"]}, handle)
        for ldev in (0, 1):  # parity group 1-1: blocked, so that a restore reaches the password check
            job = http.post(base + "/ldevs/%d/actions/change-status/invoke" % ldev, headers=dict(headers, **{"Response-Job-Status": "Completed"}),
                            json={"parameters": {"status": "blk"}}, timeout=30).json()
            assert job["state"] == "Succeeded", job
    finally:
        http.delete(base + "/sessions/%s" % login["sessionId"], headers=headers, json={}, timeout=30)


class Bad(NamedTuple):
    """One bad input: ``kind`` says where it is refused (see the module's docstring), ``words`` what the
    message must contain (the parameter and the rule)."""
    name: str
    kind: str
    module: str
    args: dict
    words: list


def cases(files, sim, other):
    """The refusals, in the order they run (each is a test id: docs/reliability.md names them)."""
    short, long_, space, outside = "Ab1!x", "A1" * 128, "Bk9 kEyF1le-Rq5m", "Bk9\u00e9kEyF1le-Rq5m"
    backup = {"path": files["new"], "backup_password": BACKUP_PASSWORD}
    restore = {"path": files["good"], "backup_password": BACKUP_PASSWORD, "parity_groups": ["1-1"], "verify_manifest": False}
    unreadable = files["unreadable"]
    return [
        # -- encryption_key_backup
        Bad("backup password too short", "local", "encryption_key_backup", dict(backup, backup_password=short), ["backup_password", "too short"]),
        Bad("backup password too long", "local", "encryption_key_backup", dict(backup, backup_password=long_), ["backup_password", "too long"]),
        Bad("backup password with a space", "local", "encryption_key_backup", dict(backup, backup_password=space), ["backup_password", "a space"]),
        Bad("backup password with a character outside the set", "local", "encryption_key_backup", dict(backup, backup_password=outside),
            ["backup_password", "not allowed"]),
        Bad("backup password missing", "local", "encryption_key_backup", {"path": files["new"]}, ["backup_password"]),
        Bad("backup path missing", "local", "encryption_key_backup", {"backup_password": BACKUP_PASSWORD}, ["path"]),
        Bad("backup path in a missing directory", "local", "encryption_key_backup", dict(backup, path=files["nodir"]), ["path", "does not exist"]),
        Bad("backup mode not octal", "local", "encryption_key_backup", dict(backup, mode="0abc"), ["mode", "octal"]),
        Bad("backup destination unknown", "local", "encryption_key_backup", dict(backup, destination="tape"), ["destination"]),
        # a fixed file the collection cannot vouch for (no manifest) is refused after the reads, never replaced unseen
        # (allow_lost_keys: this array has lost keys, which would be refused first)
        Bad("backup path exists without a manifest, force false", "array", "encryption_key_backup",
            dict(backup, path=files["existing"], allow_lost_keys=True),
            ["path", files["existing"], "has no manifest", "force=true"]),
        # -- encryption_key_restore
        Bad("restore password too short", "local", "encryption_key_restore", dict(restore, backup_password=short), ["backup_password", "too short"]),
        Bad("restore password with a character outside the set", "local", "encryption_key_restore", dict(restore, backup_password="Bk9\tkEyF1le"),
            ["backup_password"]),
        Bad("restore password missing", "local", "encryption_key_restore", {"path": files["good"]}, ["backup_password"]),
        Bad("restore file missing", "local", "encryption_key_restore", dict(restore, path=files["missing"]), ["path", "does not exist"]),
        # as root every file is readable to the module's own check: a file whose read fails (EIO), named with the manifest
        # check off (it has none), is refused when it is read for the upload, before the restore request
        Bad("restore file unreadable", files.get("unreadable_kind", "local"), "encryption_key_restore",
            dict(restore, path=unreadable, **files.get("unreadable_args", {})), [unreadable, "read"]),
        # checked against the array's identity and lost keys too (issue 11): after reads, before any write
        Bad("restore file does not match its manifest", "array", "encryption_key_restore",
            dict(restore, path=files["tampered"], verify_manifest=True), ["does not match its manifest", files["tampered"]]),
        Bad("restore a named file whose manifest is not authenticated", "array", "encryption_key_restore",
            dict(restore, verify_manifest=True), ["is not authenticated", "verify_manifest: false", files["good"]]),
        Bad("restore source unknown", "local", "encryption_key_restore", dict(restore, source="tape"), ["source"]),
        Bad("restore wrong password", "array", "encryption_key_restore", dict(restore, backup_password=WRONG_BACKUP_PASSWORD),
            ["password is incorrect", "KART40060-E"]),
        Bad("restore unknown parity group", "array", "encryption_key_restore", dict(restore, parity_groups=["1-1", "9-9"]),
            ["parity_groups", "unknown parity group", "9-9"]),
        # the groups named must include every group with lost keys (1-1): 1-2 is named too, and is not blocked
        Bad("restore while pool volumes are not blocked", "array", "encryption_key_restore", dict(restore, parity_groups=["1-1", "1-2"]),
            ["1-2", "Not blocked: 2 (NML), 3 (NML)"]),
        Bad("restore names a group but not the one with lost keys", "array", "encryption_key_restore", dict(restore, parity_groups=["1-2"]),
            ["parity_groups", "1-1", "leaves out"]),
        # -- pool_volume_state
        Bad("pool_volume_state unknown parity group", "array", "pool_volume_state", {"parity_groups": ["9-9"], "state": "blocked"},
            ["parity_groups", "9-9"]),
        Bad("pool_volume_state unknown pool", "array", "pool_volume_state", {"pool_ids": [42], "state": "blocked"}, ["pool_ids", "42"]),
        Bad("pool_volume_state unknown LDEV", "array", "pool_volume_state", {"ldev_ids": [4000], "state": "blocked"}, ["ldev_ids", "4000"]),
        Bad("pool_volume_state basic LDEV (not a pool volume)", "array", "pool_volume_state", {"ldev_ids": [10], "state": "blocked"},
            ["ldev_ids", "10", "not pool volumes"]),
        Bad("pool_volume_state DP volume (not a pool volume)", "array", "pool_volume_state", {"ldev_ids": [3, 11], "state": "blocked"},
            ["ldev_ids", "11", "not pool volumes"]),
        Bad("pool_volume_state mutually exclusive selectors", "local", "pool_volume_state", {"parity_groups": ["1-2"], "pool_ids": [0], "state": "blocked"},
            ["mutually exclusive", "parity_groups", "pool_ids"]),
        Bad("pool_volume_state no selector", "local", "pool_volume_state", {"state": "blocked"}, ["parity_groups", "pool_ids", "ldev_ids"]),
        Bad("pool_volume_state empty selector", "local", "pool_volume_state", {"parity_groups": [], "state": "blocked"}, ["parity_groups", "empty"]),
        Bad("pool_volume_state unknown state", "local", "pool_volume_state", {"parity_groups": ["1-2"], "state": "offline"}, ["state", "offline"]),
        Bad("pool_volume_state concurrency 0", "local", "pool_volume_state", {"parity_groups": ["1-2"], "state": "blocked", "concurrency": 0},
            ["concurrency"]),
        Bad("pool_volume_state as viewer", "array", "pool_volume_state",
            {"parity_groups": ["1-2"], "state": "blocked", "username": "viewer", "password": VIEWER_PASSWORD}, ["permission", "role"]),
        # -- info modules
        Bad("encryption_key_info unknown key type", "local", "encryption_key_info", {"key_types": ["XYZ"]}, ["key_types", "XYZ"]),
        Bad("pool_volume_info mutually exclusive selectors", "local", "pool_volume_info", {"parity_groups": ["1-1"], "pool_ids": [0]},
            ["mutually exclusive", "parity_groups", "pool_ids"]),
        Bad("pool_volume_info unknown pool", "array", "pool_volume_info", {"pool_ids": [42]}, ["pool_ids", "42"]),
        # -- connection
        Bad("wrong password", "array", "pool_volume_state", {"parity_groups": ["1-2"], "state": "blocked", "password": "Not-the-Adm1n-pw"},
            ["username and password", "401"]),
        Bad("unknown user", "array", "encryption_key_backup", dict(backup, username="nobody"), ["username and password", "401"]),
        Bad("viewer backs up keys", "array", "encryption_key_backup",
            dict(backup, username="viewer", password=VIEWER_PASSWORD, allow_lost_keys=True), ["403", "role"]),
        Bad("timeout 0", "local", "pool_volume_info", {"timeout": 0}, ["timeout", "at least 1"]),
        Bad("retries negative", "local", "pool_volume_info", {"retries": -1}, ["retries", "at least 0"]),
        Bad("port out of range", "local", "pool_volume_info", {"port": 70000}, ["port", "65535"]),
        Bad("protocol unknown", "local", "pool_volume_info", {"protocol": "ftp"}, ["protocol", "ftp"]),
        Bad("wrong storage_device_id", "array", "encryption_key_backup", dict(backup, storage_device_id="900000000001"),
            ["storage_device_id", "900000000001"]),
        Bad("TLS: certificate of a CA that ca_path does not hold", "other", "encryption_key_backup", dict(backup, port=other.port),
            ["TLS", "ca_path"]),
        Bad("TLS: hostname mismatch (127.1 is not in the certificate)", "tls", "encryption_key_backup", dict(backup, host="127.1"),
            ["hostname mismatch", "host"]),
        Bad("TLS: validate_certs without ca_path (system CAs)", "tls", "encryption_key_info", {"ca_path": None}, ["TLS", "ca_path"]),
    ]


@pytest.fixture(scope="module")
def run(sim, tmp_path_factory):
    work = tmp_path_factory.mktemp("bad-input")
    other = Simulator(work, "other").start()  # its own CA (another --cert-dir)
    try:
        sim.control.reset()
        other.control.reset()
        files_dir = work / "files"
        files_dir.mkdir()
        names = (("good", "good.ekf"), ("tampered", "tampered.ekf"), ("existing", "existing.ekf"), ("new", "new.ekf"),
                 ("missing", "missing.ekf"), ("nodir", "no/such/dir/k.ekf"))
        files = {k: str(files_dir / v) for k, v in names}
        backup_file(sim, files["good"])
        sim.control.lose_keys("1-1")
        shutil.copy(files["good"], files["tampered"])
        shutil.copy(files["good"] + ".manifest.json", files["tampered"] + ".manifest.json")
        with open(files["tampered"], "r+b") as handle:
            handle.seek(100)
            byte = handle.read(1)
            handle.seek(100)
            handle.write(bytes([byte[0] ^ 0xFF]))
        with open(files["existing"], "wb") as handle:
            handle.write(b"an older backup")
        if os.geteuid() == 0:
            # root reads files of any mode: use a regular file whose read fails (EIO)
            files["unreadable"] = "/proc/self/mem"
            files["unreadable_kind"] = "array"
            files["unreadable_args"] = {"verify_manifest": False}
        else:
            shutil.copy(files["good"], str(files_dir / "unreadable.ekf"))
            os.chmod(str(files_dir / "unreadable.ekf"), 0)
            files["unreadable"] = str(files_dir / "unreadable.ekf")
        the_cases = cases(files, sim, other)
        tasks = []
        for i, case in enumerate(the_cases):
            tasks.append(module_task(case.name, case.module, case.args, register="case_%02d" % i))
            tasks.append(marker_task("marker %02d" % i, sim, "%02d" % i))
        before = sim.control.state()
        sim.control.clear_requests()
        other.control.clear_requests()
        results, proc = run_cases(work, "bad-input", tasks, sim)
        log = sim.control.requests_log()
        by_case = split_log_by_marker(log)[0]
        yield {"cases": the_cases, "results": results, "log": by_case, "before": before, "after": sim.control.state(), "files": files,
               "other_log": other.control.requests_log(), "proc": proc}
    finally:
        other.stop()


def case_ids():
    dummy = {"good": "g", "tampered": "t", "existing": "e", "new": "n", "missing": "m", "nodir": "d", "unreadable": "u"}

    class _Sim:
        port = 0
    return [case.name for case in cases(dummy, _Sim, _Sim)]


@pytest.mark.reliability("bad_input")
@pytest.mark.parametrize("index", range(len(case_ids())), ids=case_ids())
def test_refused(run, index):
    case = run["cases"][index]
    result = run["results"]["case_%02d" % index]
    log = run["log"].get(index)
    assert log is not None, "no marker after case %s: the playbook stopped early\n%s" % (case.name, run["proc"].stdout[-3000:])
    msg = result.get("msg", "")
    assert result.get("failed") is True, result
    assert "Traceback" not in msg and "MODULE FAILURE" not in msg, msg
    assert case.words, "case %s names no word its message must contain" % case.name
    for word in case.words:
        assert word in msg, "%r not in the message of %s: %s" % (word, case.name, msg)
    if case.kind in ("local", "other", "tls"):
        assert log == [], "case %s sent requests: %s" % (case.name, log)
    else:
        assert case.kind == "array", case.kind
        assert accepted_writes(log) == [], log
        assert len([e for e in log if e["method"] == "DELETE"]) == len([e for e in logins(log) if e["status"] == 200]), log
    if case.kind == "other":
        assert run["other_log"] == [], "the server with the untrusted certificate got requests: %s" % run["other_log"]


def test_nothing_changed(run):
    """The state after every refused case is the state before them; every session was deleted."""
    assert array_view(run["after"]) == array_view(run["before"])
    assert run["after"]["sessions"] == 0
    assert not os.path.exists(run["files"]["new"])
    with open(run["files"]["existing"], "rb") as handle:
        assert handle.read() == b"an older backup"
    leftovers = [f for f in os.listdir(os.path.dirname(run["files"]["new"])) if f.endswith(".part")]
    assert leftovers == []
