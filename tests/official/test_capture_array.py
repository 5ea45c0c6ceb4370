"""The playbook vsp.encryption.capture_array against the simulator: it writes the capture 0600 and,
by the simulator's request log, sends nothing but GET requests and its own session."""

import json
import os
import stat

import official_helpers
import pytest
from vsp_simulator.harness import RunningSimulator

SIM = RunningSimulator.from_environment()
COLLECTION = os.environ.get("VSP_COLLECTION_DIR")
pytestmark = pytest.mark.skipif(SIM is None or not COLLECTION,
                                reason="run by make official (needs the simulator and the built collection)")

SDID = "936000412345"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def run_playbook(tmp_path, *extra):
    return official_helpers.run_playbook(tmp_path, "vsp.encryption.capture_array", *extra)


def test_capture_array_playbook_writes_a_private_capture_with_get_requests_only(tmp_path):
    SIM.control.reset()
    SIM.control.clear_requests()
    proc = run_playbook(tmp_path, "-e", "capture_array_redact=true")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    path = tmp_path / "vsp-capture-simulated_array.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert doc["redacted"] is True and SDID not in path.read_text()
    assert "vsp-simulator --capture %s" % path in proc.stdout
    writes = [e for e in SIM.control.requests_log() if e["method"] in WRITES and "/sessions" not in e["path"]]
    assert writes == []


def test_capture_array_in_check_mode_says_what_it_would_write_and_writes_nothing(tmp_path):
    SIM.control.reset()
    proc = run_playbook(tmp_path, "--check")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    path = tmp_path / "vsp-capture-simulated_array.json"
    assert not path.exists()
    assert "Check mode, nothing written: a run without --check would write %s" % path in proc.stdout
    assert "Once written, rehearse on a twin: vsp-simulator --capture %s" % path in proc.stdout


def test_capture_array_refused_log_in_is_said_once_and_writes_nothing(tmp_path):
    SIM.control.reset()
    proc = run_playbook(tmp_path, "-e", '{"vsp_connection": {"username": "admin", "password": "Wr0ng-Pass-x", "validate_certs": true, '
                        '"ca_path": "%s"}}' % SIM.ca_path)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert out.count("Log in as admin failed") == 1, out[-4000:]
    assert not (tmp_path / "vsp-capture-simulated_array.json").exists()
