"""The playbook vsp.encryption.check_array_api against the simulator: it passes fully, writes its
reports 0600, and by the simulator's request log sends nothing but GET requests and its own session
(the opt-in backup adds exactly one backup POST, whose key file is never written)."""

import json
import os
import re
import socket
import stat
import time

import official_helpers
import pytest
import trustme
from vsp_simulator.harness import ADMIN, RunningSimulator

SIM = RunningSimulator.from_environment()
COLLECTION = os.environ.get("VSP_COLLECTION_DIR")
pytestmark = pytest.mark.skipif(SIM is None or not COLLECTION,
                                reason="run by make official (needs the simulator and the built collection)")

OBJ = "/ConfigurationManager/v1/objects/"
SDID = "936000412345"
BACKUP_PASSWORD = "Check-Backup-2026!"


def make_a_job():
    """One finished job of the admin user, so that GET jobs has something to show."""
    job = SIM.array_job("ldevs/9/actions/change-status/invoke", {"parameters": {"status": "nml"}})
    assert job["state"] == "Succeeded", job


@pytest.fixture
def fresh():
    SIM.control.reset()
    SIM.control.clear_faults()
    make_a_job()
    SIM.control.clear_requests()


def run_playbook(tmp_path, *extra):
    return official_helpers.run_playbook(tmp_path, "vsp.encryption.check_array_api", *extra)


def playbook(tmp_path, *extra):
    proc = run_playbook(tmp_path, *extra)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


def test_default_run_confirms_everything_and_sends_no_write(fresh, tmp_path):
    proc = playbook(tmp_path)
    base = tmp_path / ("vsp-api-check-%s" % SDID)
    report = json.loads((tmp_path / (base.name + ".json")).read_text())
    checks = report["checks"]
    assert report["summary"] == {"confirmed": len(checks), "differs": 0, "not_checked": 0}, checks
    assert report["storage"] == {"storage_device_id": SDID, "serial_number": 412345, "model": "VSP E990"}
    for suffix in (".json", ".md"):
        mode = stat.S_IMODE(os.stat(str(base) + suffix).st_mode)
        assert mode == 0o600, (suffix, oct(mode))
    markdown = (tmp_path / (base.name + ".md")).read_text()
    assert "| error_object_404 | confirmed |" in markdown
    assert "%d confirmed, 0 differs, 0 not checked" % len(checks) in proc.stdout
    log = SIM.control.requests_log()
    assert log, "the simulator saw no request"
    not_get = [(r["method"], r["path"]) for r in log if r["method"] != "GET"]
    # one session, logged out: its number depends on the sessions other tests opened on this simulator before
    assert [entry[0] for entry in not_get] == ["POST", "DELETE"] and not_get[0][1] == OBJ + "sessions", not_get
    assert re.fullmatch(re.escape(OBJ) + r"sessions/\d+", not_get[1][1]), not_get
    assert SIM.control.state()["sessions"] == 0
    # no key material and no secret in the reports: the simulator's key material never leaves it,
    # so check the connection password and the session tokens the simulator issued
    tokens = SIM.control.issued_tokens()
    for text in (markdown, json.dumps(report)):
        assert ADMIN.password not in text and not any(t in text for t in tokens)


def test_opt_in_backup_sends_one_backup_and_checks_its_headers(fresh, tmp_path):
    playbook(tmp_path, "-e", json.dumps({"check_array_api_backup": True,
                                         "check_array_api_backup_password": BACKUP_PASSWORD}))
    report = json.loads((tmp_path / ("vsp-api-check-%s.json" % SDID)).read_text())
    checks = dict((c["name"], c) for c in report["checks"])
    assert checks["file_backup_headers"]["status"] == "confirmed", checks["file_backup_headers"]
    assert report["summary"]["differs"] == 0 and report["summary"]["not_checked"] == 0
    headers = report["backup"]
    assert headers["status"] == 200 and headers["content_type"] == "application/octet-stream"
    assert headers["content_disposition"].startswith("attachment") and headers["bytes_received"] > 0
    assert headers["content_length"] == str(headers["bytes_received"])
    writes = [(r["method"], r["path"]) for r in SIM.control.requests_log()
              if r["method"] != "GET" and "/sessions" not in r["path"]]
    assert writes == [("POST", OBJ + "encryption-keys/file/actions/backup/invoke")], writes
    # the key file was never written: only the two reports are in the directory, the temp dir is empty
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["tmp", "vsp-api-check-%s.json" % SDID, "vsp-api-check-%s.md" % SDID])
    assert list((tmp_path / "tmp").iterdir()) == []
    assert BACKUP_PASSWORD not in json.dumps(report)
    assert BACKUP_PASSWORD not in (tmp_path / ("vsp-api-check-%s.md" % SDID)).read_text()


def test_opt_in_backup_without_password_is_refused_before_the_backup(fresh, tmp_path):
    proc = official_helpers.run_playbook(tmp_path, "vsp.encryption.check_array_api", "-e", '{"check_array_api_backup": true}',
                                         private_tmp=False)
    assert proc.returncode != 0 and "check_array_api_backup_password" in proc.stdout
    assert not [r for r in SIM.control.requests_log() if "backup" in r["path"]]


# -- first contact: an array not reached fails once, fast, naming the cause ---------------------------------------

def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def connection(**overrides):
    """The demo inventory's vsp_connection with ``overrides`` (an extra var replaces the whole dict)."""
    conn = {"username": ADMIN.name, "password": ADMIN.password, "validate_certs": True,
            "ca_path": os.environ["VSP_CA_PATH"]}
    conn.update(overrides)
    return json.dumps({"vsp_connection": conn})


def statements(stdout, cause):
    """How often stdout states ``cause``: Ansible 2.19+ prints a failed task as an "[ERROR]" line and as its result;
    that pair counts once (as in tests/reliability)."""
    lines = stdout.splitlines()
    in_errors = sum(line.count(cause) for line in lines if line.startswith("[ERROR]"))
    elsewhere = sum(line.count(cause) for line in lines if not line.startswith("[ERROR]"))
    return elsewhere, in_errors


def assert_not_reached_run(proc, seconds, cause, tmp_path):
    assert proc.returncode != 0, proc.stdout[-4000:]
    elsewhere, in_errors = statements(proc.stdout, cause)
    assert elsewhere == 1 and in_errors == 0, proc.stdout[-4000:]  # once: the closing message is a debug that fails
    assert "differs" not in proc.stdout and "unknown model" not in proc.stdout
    # a generous sanity bound (the target, stated in the docs, is within seconds; at most about 10 s connecting)
    assert seconds < 60, seconds
    report = json.loads((tmp_path / "vsp-api-check-simulated_array.json").read_text())
    assert report["reached"] is False and cause in report["not_reached"]
    assert report["summary"] == {"confirmed": 0, "differs": 0, "not_checked": len(report["checks"])}
    markdown = (tmp_path / "vsp-api-check-simulated_array.md").read_text()
    assert ": not reached" in markdown.splitlines()[0] and cause in markdown and "unknown model" not in markdown
    for text in (proc.stdout, proc.stderr, markdown, json.dumps(report)):
        assert ADMIN.password not in text and "Wrong-Pass-2026" not in text


def test_wrong_port_fails_at_once_saying_connection_refused(fresh, tmp_path):
    start = time.monotonic()
    proc = run_playbook(tmp_path, "-e", connection(port=closed_port()))
    assert_not_reached_run(proc, time.monotonic() - start, "was not reached: connection refused", tmp_path)
    assert "check host, port and protocol" in proc.stdout
    assert SIM.control.requests_log() == []


def test_wrong_password_fails_at_once_saying_the_log_in_was_refused(fresh, tmp_path):
    start = time.monotonic()
    proc = run_playbook(tmp_path, "-e", connection(password="Wrong-Pass-2026"))
    assert_not_reached_run(proc, time.monotonic() - start, "refused the log in as %s (HTTP 401, KART40003-E" % ADMIN.name,
                           tmp_path)
    assert "Check username and password" in proc.stdout
    # one log in tried (an account lock counts failed log ins), nothing else sent
    assert [(r["method"], r["path"], r["status"]) for r in SIM.control.requests_log()] == [("POST", OBJ + "sessions", 401)]


def test_ca_of_another_array_fails_at_once_naming_ca_path(fresh, tmp_path):
    other_ca = tmp_path / "other-array-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))  # a CA, but not the one that signed this array's certificate
    start = time.monotonic()
    proc = run_playbook(tmp_path, "-e", connection(ca_path=str(other_ca)))
    assert_not_reached_run(proc, time.monotonic() - start, "was not reached: TLS verification failed", tmp_path)
    assert "Check ca_path" in proc.stdout and "validate_certs" in proc.stdout
    assert SIM.control.requests_log() == []
