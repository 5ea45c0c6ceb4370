"""Hostile and broken answers of the array are refused (issue 12): nothing the array says reaches
outside its own room.

Real ansible-playbook runs of the modules against a simulator over HTTPS whose fault API plays the
hostile array (see simulator/README.md, "Faults"): a storage identity that is a path or a glob, a
redirect to another listener, a JSON answer instead of the key file, endless, oversize and dripping
bodies, pages that do not advance, HTML error pages, and error texts with terminal escapes and forged
``ok:`` lines. Most cases run in one playbook; each case: set the faults (control API, from the
controller), run the module, clear the faults, read the state, then mark the request log, so each
case is judged on its own requests, on the files on disk and on the simulator's state. A redirect's
target is a loopback listener that counts every connection: it must see none.
"""
import json
import os
import re

import pytest
from rel_helpers import (BACKUP_PASSWORD, Listener, Simulator, check_backup_dir, ctl_task, files_under, marker_task,
                         module_task, run_cases, split_log_by_marker)

KEY_FILE_MAX = 16 * 1024 * 1024  # plugins/module_utils/_limits.py
CAP_WORDS = (str(KEY_FILE_MAX), "16 MiB", "16,777,216")
OVERSIZE = 20 * 1024 * 1024
SDID = "936000412345"
BACKUP_POST = "file/actions/backup/invoke$"
RESTORE_POST = "file/actions/restore/invoke$"
KEYS_GET = "/encryption-keys$"
FORGED = "\x1b[2J\x1b[31mALL KEYS DELETED\x1b[0m\r\nok: [localhost] => {\"changed\": false}\n\u202eevil\x07\x9b2J"
FORBIDDEN_CHARS = ("\x1b", "\r", "\n", "\u202e", "\x07", "\x9b")
LISTENERS = ("backup", "read", "restore")
TASK_TIMEOUT = 150  # the task keyword: a module that hangs fails its case instead of stopping the playbook


def cases(backups, listeners):
    """Each case: a dict (name, category, faults, setup, pre, module, args, expect, words, any_words, checks)."""
    def f(name):
        return os.path.join(backups, name)

    backup = {"backup_password": BACKUP_PASSWORD}
    restore = {"path": f("good.ekf"), "backup_password": BACKUP_PASSWORD, "parity_groups": ["1-1"]}

    def case(name, category, module, args, expect, faults=(), setup=(), pre=(), words=(), any_words=(), **checks):
        return {"name": name, "category": category, "faults": list(faults), "setup": list(setup), "pre": list(pre), "module": module,
                "args": args, "expect": expect, "words": list(words), "any_words": list(any_words), "checks": checks}

    def identity(**ident):
        return [{"method": "GET", "identity": ident}]

    return [
        case("storageDeviceId '../../escape' names no file", "fault", "encryption_key_backup", dict(backup, path=backups), "fail",
             identity(storageDeviceId="../../escape"), words=["storageDeviceId", "escape"], no_post=BACKUP_POST, no_stray=True),
        case("storageDeviceId '*' is refused", "fault", "encryption_key_backup", dict(backup, path=backups), "fail",
             identity(storageDeviceId="*"), words=["storageDeviceId"], no_post=BACKUP_POST, no_stray=True),
        case("storageDeviceId 'a,b' is refused", "fault", "encryption_key_backup", dict(backup, path=backups), "fail",
             identity(storageDeviceId="a,b"), words=["storageDeviceId"], no_post=BACKUP_POST, no_stray=True),
        case("storageDeviceId of another array, storage_device_id given", "fault", "encryption_key_info",
             {"storage_device_id": SDID}, "fail", identity(storageDeviceId="886000999999", serialNumber=999999), words=[SDID]),
        case("redirect of the backup POST (307) reaches nobody", "secrets", "encryption_key_backup", dict(backup, path=f("redir.ekf")),
             "fail", [{"method": "POST", "path": BACKUP_POST, "redirect": listeners["backup"].url(), "status": 307}],
             any_words=["redirect"], listener="backup", no_file=f("redir.ekf"), unchanged=True),
        case("redirect of a read (302) reaches nobody", "secrets", "encryption_key_info", {}, "fail",
             [{"method": "GET", "path": "storages/instance$", "redirect": listeners["read"].url(), "status": 302}],
             any_words=["redirect"], listener="read", unchanged=True),
        case("JSON answer to the key file download", "fault", "encryption_key_backup", dict(backup, path=f("json.ekf")), "fail",
             [{"method": "POST", "path": BACKUP_POST, "body": "json", "json": {"jobId": 1, "status": "Completed"}}],
             any_words=["application/octet-stream"], no_file=f("json.ekf")),
        case("endless key file download stops at the cap", "fault", "encryption_key_backup", dict(backup, path=f("endless.ekf")),
             "fail", [{"method": "POST", "path": BACKUP_POST, "body": "endless", "times": 1}], any_words=CAP_WORDS,
             no_file=f("endless.ekf")),
        case("oversize key file download (Content-Length 20 MiB)", "fault", "encryption_key_backup",
             dict(backup, path=f("big.ekf")), "fail", [{"method": "POST", "path": BACKUP_POST, "body": "oversize", "size": OVERSIZE,
                                                        "times": 1}], any_words=CAP_WORDS, no_file=f("big.ekf")),
        case("oversize JSON answer (20 MiB key list)", "fault", "encryption_key_info", {}, "fail",
             [{"method": "GET", "path": KEYS_GET, "body": "oversize", "size": OVERSIZE}], any_words=CAP_WORDS),
        case("endless JSON answer", "fault", "encryption_key_info", {}, "fail",
             [{"method": "GET", "path": KEYS_GET, "body": "endless"}], any_words=CAP_WORDS),
        case("HTML 500 pages retried until they stop", "fault", "encryption_key_info", {"retries": 3}, "ok",
             [{"method": "GET", "path": KEYS_GET, "body": "html", "status": 500, "times": 2}], retried=(KEYS_GET, 500, 2)),
        case("KART00003-E (REST server busy) on HTTP 500 retried", "fault", "encryption_key_info", {"retries": 3}, "ok",
             [{"method": "GET", "path": KEYS_GET, "status": 500, "message_id": "KART00003-E", "message": "busy", "times": 2}],
             retried=(KEYS_GET, 500, 2)),
        case("HTML 500 pages without end: bounded retries", "fault", "encryption_key_info", {"retries": 1}, "fail",
             [{"method": "GET", "path": KEYS_GET, "body": "html", "status": 500}], words=["500"], no_html=True,
             retried=(KEYS_GET, 500, 2)),
        case("terminal escapes and forged lines in an error text", "fault", "encryption_key_info", {}, "fail",
             [{"method": "GET", "path": KEYS_GET, "status": 400, "message": FORGED}], words=["ALL KEYS DELETED"], clean=True),
        case("redirect of the restore POST (307) reaches nobody", "secrets", "encryption_key_restore", restore, "fail",
             [{"method": "POST", "path": RESTORE_POST, "redirect": listeners["restore"].url(), "status": 307}],
             setup=[["POST", "lose-keys", {"parity_groups": ["1-1"]}]],
             pre=[("encryption_key_backup", dict(backup, path=f("good.ekf"))),
                  ("pool_volume_state", {"parity_groups": ["1-1"], "state": "blocked"})],
             any_words=["redirect"], listener="restore", lost=["1-1"], unchanged=True),
        case("serial number of another array: restore refused", "fault", "encryption_key_restore",
             dict(restore, expected_serial_number="412345"), "fail", identity(serialNumber=999999), words=["999999"],
             lost=["1-1"], no_post=RESTORE_POST),
        case("rerun: restore after the refusals", "rerun", "encryption_key_restore", restore, "ok", restored=True),
        case("rerun: recover the volumes", "rerun", "pool_volume_state", {"parity_groups": ["1-1"], "state": "normal"}, "ok"),
        case("parity group id '..' refused", "bad_input", "pool_volume_info", {"parity_groups": [".."]}, "fail",
             words=["parity_groups"], no_requests=True),
        case("parity group id '.' refused", "bad_input", "pool_volume_state", {"parity_groups": ["."], "state": "blocked"}, "fail",
             words=["parity_groups"], no_requests=True),
        case("mode 644 unquoted (an integer) refused", "bad_input", "encryption_key_backup", dict(backup, path=f("m1.ekf"), mode=644),
             "fail", words=["mode", "quote"], no_requests=True, no_file=f("m1.ekf")),
        case("mode '7777' refused", "bad_input", "encryption_key_backup", dict(backup, path=f("m2.ekf"), mode="7777"), "fail",
             words=["mode"], no_requests=True, no_file=f("m2.ekf")),
        case("mode '0644' (world readable) refused", "bad_input", "encryption_key_backup", dict(backup, path=f("m3.ekf"), mode="0644"),
             "fail", words=["mode"], no_requests=True, no_file=f("m3.ekf")),
        case("validate_certs false warns", "secrets", "encryption_key_info", {"validate_certs": False}, "ok", warn="validate_certs"),
        # force: a new file each time although the keys did not change (without it the second run makes none)
        case("three backups in a row overwrite nothing", "fault", "encryption_key_backup", dict(backup, path=backups, force=True),
             "ok", loop=3),
    ]


@pytest.fixture(scope="module")
def listeners():
    made = dict((name, Listener()) for name in LISTENERS)
    yield made
    for listener in made.values():
        listener.close()


@pytest.fixture(scope="module")
def run(sim, listeners, tmp_path_factory):
    work = tmp_path_factory.mktemp("hostile")
    backups = str(work / "one" / "two" / "backups")
    os.makedirs(backups, 0o700)
    sim.control.reset()
    sim.control.clear_requests()
    the_cases = cases(backups, listeners)
    tasks = []
    for i, c in enumerate(the_cases):
        for j, (module, args) in enumerate(c["pre"]):
            tasks.append(module_task("%02d pre %d" % (i, j), module, args, register="pre_%02d_%d" % (i, j)))
        calls = [["POST", "faults", fault] for fault in c["faults"]] + c["setup"] + [["GET", "state"]]
        tasks.append(ctl_task("%02d set up" % i, sim, calls, register="before_%02d" % i))
        extra = {"loop": list(range(c["checks"]["loop"]))} if c["checks"].get("loop") else {}
        extra["timeout"] = TASK_TIMEOUT
        tasks.append(module_task("%02d %s" % (i, c["name"]), c["module"], c["args"], register="case_%02d" % i, **extra))
        tasks.append(ctl_task("%02d clean up" % i, sim, [["DELETE", "faults"], ["GET", "state"]], register="after_%02d" % i))
        tasks.append(marker_task("%02d marker" % i, sim, "%02d" % i))
    results, proc = run_cases(work, "hostile", tasks, sim, timeout=900)
    by_case, _late = split_log_by_marker(sim.control.requests_log())
    return {"cases": the_cases, "results": results, "log": by_case, "backups": backups, "work": str(work), "proc": proc,
            "seen": dict((name, listener.seen()) for name, listener in listeners.items())}


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _params():
    return [pytest.param(i, id=c["name"], marks=pytest.mark.reliability(c["category"])) for i, c in enumerate(cases("/x", _NO_LISTENERS))]


class _NoListener:
    def url(self):
        return "https://127.0.0.1:9/steal"


_NO_LISTENERS = dict((name, _NoListener()) for name in LISTENERS)


@pytest.mark.parametrize("index", _params())
def test_hostile(run, index):
    c = run["cases"][index]
    name, checks = c["name"], c["checks"]
    result = run["results"]["case_%02d" % index]
    after = run["results"]["after_%02d" % index]["msg"][1]
    log = run["log"].get(index)
    assert log is not None, "no marker after case %s: the playbook stopped early\n%s" % (name, run["proc"].stdout[-3000:])
    for j in range(len(c["pre"])):
        pre = run["results"]["pre_%02d_%d" % (index, j)]
        assert not pre.get("failed"), pre
    msg = result.get("msg", "")
    if c["expect"] == "ok":
        assert not result.get("failed"), result
    else:
        assert result.get("failed") is True, result
        assert "Traceback" not in msg and "MODULE FAILURE" not in msg, msg
        assert c["words"] or c["any_words"], "failure case %s names no word its message must contain" % name
        for word in c["words"]:
            assert word in msg, "%r not in the message of %s: %s" % (word, name, msg)
        if c["any_words"]:
            assert any(w in msg for w in c["any_words"]), "none of %r in the message of %s: %s" % (c["any_words"], name, msg)
    if checks.get("unchanged"):
        assert result.get("changed") is False, result
    # the fault did happen (the array was asked)
    for fault in c["faults"]:
        if fault.get("identity"):
            assert any("storages" in e["path"] for e in log), log
        else:
            assert any(re.search(fault["path"], e["path"]) for e in log), (fault, log)
    if checks.get("no_post"):
        assert not [e for e in log if e["method"] in ("POST", "PUT") and re.search(checks["no_post"], e["path"])], log
    if checks.get("no_requests"):
        assert log == [], log
    if checks.get("listener"):
        assert run["seen"][checks["listener"]] == (0, 0), "the redirect target was reached: %s" % (run["seen"],)
        redirects = [e for e in log if 300 <= e["status"] < 400]
        assert len(redirects) == 1, log  # asked once, not followed, not retried
    if checks.get("no_file"):
        assert not os.path.exists(checks["no_file"]) and not os.path.exists(checks["no_file"] + ".manifest.json")
    if checks.get("no_stray"):
        stray = [p for p in files_under(run["work"]) if p.endswith((".ekf", ".part", ".manifest.json")) and
                 os.path.dirname(p) != run["backups"]]
        assert stray == [] and not [p for p in files_under(run["work"]) if "escape" in p], stray
    if checks.get("lost"):
        assert after["lost_parity_groups"] == checks["lost"], after["lost_parity_groups"]
        assert not [e for e in log if re.search(RESTORE_POST, e["path"]) and 200 <= e["status"] < 300], log
    if checks.get("restored"):
        assert result.get("keys_restored"), result
        assert after["lost_parity_groups"] == []
    if checks.get("retried"):
        path, status, n = checks["retried"]
        hits = [e["status"] for e in log if re.search(path, e["path"]) and e["method"] == "GET"]
        assert hits[:n] == [status] * n, log
        if c["expect"] == "ok":
            assert 200 in hits[n:], log
    if checks.get("no_html"):
        assert "<html" not in msg.lower() and "<!doctype" not in msg.lower(), msg
    if checks.get("clean"):
        for text in _strings(result):
            for ch in FORBIDDEN_CHARS:
                assert ch not in text, "%r in the result of %s: %r" % (ch, name, text)
    if checks.get("warn"):
        assert any(checks["warn"] in w for w in result.get("warnings", [])), result.get("warnings")
    if checks.get("loop"):
        runs = result["results"]
        assert len(runs) == checks["loop"] and not any(r.get("failed") for r in runs), runs
        paths = [r["path"] for r in runs]
        assert len(set(paths)) == len(paths), paths
        for r in runs:
            with open(r["path"] + ".manifest.json") as handle:
                assert json.load(handle)["sha256"] == r["sha256"]
    check_backup_dir(run["backups"])


# -- cases that need their own run -------------------------------------------------------------------------------------
def run_with_stuck_pages(sim, tmp_path, name, scenario, path, module, args):
    """Run ``module`` once while the array answers the first page of ``path`` again whatever page is asked:
    its result, and the request log of the run."""
    sim.control.reset(scenario)
    sim.control.clear_requests()
    sim.control.add_fault(method="GET", path=path, pages="stuck")
    try:
        results, _proc = run_cases(tmp_path, name, [module_task("info", module, args, register="info", timeout=TASK_TIMEOUT)],
                                   sim, timeout=300)
    finally:
        sim.control.clear_faults()
        log = sim.control.requests_log()
        sim.control.reset()
    return results["info"], log


@pytest.mark.reliability("fault")
def test_stuck_key_pages(sim, tmp_path):
    """The array ignores startKeyId and answers the first full page again: the module fails naming the
    page start, after a bounded number of requests."""
    result, log = run_with_stuck_pages(sim, tmp_path, "stuck", {"keys": {"free": 1100}}, KEYS_GET, "encryption_key_info", {})
    assert result.get("failed") is True, result
    assert "startKeyId" in result["msg"] and "Traceback" not in result["msg"], result["msg"]
    pages = [e for e in log if re.search(KEYS_GET, e["path"])]
    assert 2 <= len(pages) <= 12, len(pages)


@pytest.mark.reliability("fault")
def test_stuck_ldev_pages(sim, tmp_path):
    """The array ignores headLdevId (16,400 pool volumes: the first page of 16,384 is full): the module
    fails naming the page start, after a bounded number of requests."""
    scenario = {"parity_groups": [{"id": "1-1", "encrypted": True, "drives": 4, "pool_volumes": {"pool": 0, "count": 16400}}],
                "dp_volumes": []}
    result, log = run_with_stuck_pages(sim, tmp_path, "stuck-ldevs", scenario, "/ldevs$", "pool_volume_info",
                                       {"parity_groups": ["1-1"]})
    assert result.get("failed") is True, result
    assert "headLdevId" in result["msg"] and "Traceback" not in result["msg"], result["msg"]
    pages = [e for e in log if e["path"].endswith("/ldevs")]
    assert 2 <= len(pages) <= 12, len(pages)


@pytest.mark.reliability("fault")
def test_drip_ends_at_timeout(sim, tmp_path):
    """One byte every 400 ms: each socket read is quick, but the request ends at `timeout` (2 s), for a
    read (retried once, within `retries`) and for the key file download (no file left)."""
    backups = tmp_path / "backups"
    backups.mkdir(mode=0o700)
    sim.control.reset()
    tasks = [
        ctl_task("drip the identity", sim, [["POST", "faults", {"method": "GET", "path": "storages/instance$", "body": "drip",
                                                                "drip_ms": 400}]]),
        module_task("info", "encryption_key_info", {"timeout": 2, "retries": 1}, register="info", timeout=TASK_TIMEOUT),
        ctl_task("drip the key file", sim, [["DELETE", "faults"],
                                            ["POST", "faults", {"method": "POST", "path": BACKUP_POST, "body": "drip", "drip_ms": 400}]]),
        module_task("backup", "encryption_key_backup", {"path": str(backups / "drip.ekf"), "backup_password": BACKUP_PASSWORD,
                                                        "timeout": 2, "retries": 1}, register="backup", timeout=TASK_TIMEOUT),
    ]
    try:
        results, _proc = run_cases(tmp_path, "drip", tasks, sim, timeout=2 * TASK_TIMEOUT + 60)
    finally:
        sim.control.clear_faults()
    for name in ("info", "backup"):
        result = results[name]
        assert result.get("failed") is True, result
        assert "timed out" in result["msg"] or "timeout" in result["msg"], result["msg"]
        assert "Traceback" not in result["msg"]
    assert os.listdir(str(backups)) == []
    assert sim.control.state()["sessions"] == 0


@pytest.mark.reliability("secrets")
def test_plain_http_warns(tmp_path):
    """`protocol: http` works (a lab array) but warns that the password and the key file travel in clear text."""
    plain = Simulator(tmp_path, "plain", tls=False).start()
    try:
        conn = plain.connection(retries=1)  # protocol http, no CA
        results, _proc = run_cases(tmp_path, "http", [module_task("info", "encryption_key_info", {}, register="info")], conn=conn)
    finally:
        plain.stop()
    result = results["info"]
    assert not result.get("failed"), result
    assert any("protocol" in w and "http" in w for w in result.get("warnings", [])), result.get("warnings")
