"""The shipped rulebook protect_encryption_keys, run by ansible-rulebook against the simulator (issue #29), judged by
the simulator's state and request log and by the files on disk."""
import hashlib
import os
import re
import time

import pytest
import yaml
from vsp_simulator.rulebook import ARRAY, SECRETS, BACKUP_PASSWORD, Rulebook, manifests, simulator, wait_for, write_files

from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf

START_TIMEOUT = 60      # ansible-rulebook (Java) started, first poll, the start's backup written
EXPOSURE_BOUND = 30     # poll interval (1 s) + settling (0.5 s per poll) + one backup run, with room for a slow CI
SESSIONS_RE = re.compile(r"/sessions(/\d+)?$")


@pytest.fixture
def watched(tmp_path, collections_path):
    """A simulator, and the rulebook watching it (stopped at the end); yields (sim, rulebook, backup dir, plan dir)."""
    with simulator(tmp_path) as sim:
        inventory, variables = write_files(tmp_path, sim)
        rulebook = Rulebook(tmp_path, "protect_encryption_keys", inventory, variables, collections_path)
        try:
            yield sim, rulebook, str(tmp_path / "backups"), str(tmp_path / "plans")
        finally:
            rulebook.stop()
            output = rulebook.output()
            for secret in SECRETS:
                assert secret not in output, "a secret appeared in ansible-rulebook's output"
            assert wait_for(lambda: sim.control.state()["sessions"] == 0, 10, "logout of every session"), output[-3000:]


def wait_for_start_backup(rulebook, backup_dir):
    """The backup run for the start event has written its key file and ended (its PLAY RECAP printed)."""
    wait_for(lambda: (manifests(backup_dir) and "PLAY RECAP" in rulebook.output()) or not rulebook.running(), START_TIMEOUT,
             "backup run for the start event")
    assert rulebook.running(), rulebook.output()[-3000:]


def authenticated(backup_dir, manifest):
    """The key file matches its manifest (sha256) and the manifest's MAC opens with the backup password."""
    with open(os.path.join(backup_dir, manifest["file"]), "rb") as handle:
        intact = hashlib.sha256(handle.read()).hexdigest() == manifest["sha256"]
    return intact and mf.check_password(manifest, mf.Deriver(BACKUP_PASSWORD)) is True


def test_keys_created_through_the_rest_api_are_in_a_new_authenticated_key_file_within_the_bound(watched):
    sim, rulebook, backup_dir, dummy = watched
    wait_for_start_backup(rulebook, backup_dir)
    before = {k["keyId"] for k in sim.control.state()["keys"]}
    created_at = time.monotonic()
    sim.array_job("encryption-keys", {"count": 24})  # a new drive tray's keys, in two requests: one burst
    sim.array_job("encryption-keys", {"count": 24})
    new = {k["keyId"] for k in sim.control.state()["keys"]} - before
    assert len(new) == 48

    def holding():
        return [m for m in manifests(backup_dir) if new <= set(m["keys"]["FREE"])]

    (manifest,) = wait_for(holding, EXPOSURE_BOUND, "key file holding the 48 new keys")
    exposure = time.monotonic() - created_at
    assert authenticated(backup_dir, manifest)
    print("exposure window: %.1f s" % exposure)
    assert len(manifests(backup_dir)) == 2, "one backup at the start and one for the burst"
    assert "'kind': 'keys_changed'" in rulebook.output() or '"kind": "keys_changed"' in rulebook.output()


def test_lost_keys_make_a_restore_plan_and_no_write_request(watched):
    sim, rulebook, backup_dir, plan_dir = watched
    wait_for_start_backup(rulebook, backup_dir)
    sim.control.clear_requests()
    sim.control.lose_keys("1-1")
    plans = wait_for(lambda: os.listdir(plan_dir), 60, "restore plan")
    assert plans[0].startswith(ARRAY + "-restore-plan-")
    with open(os.path.join(plan_dir, plans[0])) as handle:
        plan = handle.read()
    assert "parity group(s) [1-1] have lost keys" in plan and "Nothing was changed on the array" in plan
    assert "vsp.encryption.restore_encryption_keys --limit sim01 --check" in plan
    assert not [secret for secret in SECRETS if secret in plan]
    writes = [r for r in sim.control.requests_log()
              if r["method"] in ("POST", "PUT", "PATCH", "DELETE") and not SESSIONS_RE.search(r["path"])]
    assert writes == []
    lost = [k for k in sim.control.state()["keys"] if k["lost"]]
    assert lost, "the keys are still lost: the plan applied nothing"


def test_a_refused_login_stops_the_rulebook_once_with_a_clear_error_and_no_retry(tmp_path, collections_path):
    wrong = "Wr0ng-w4tch-Pw9"
    with simulator(tmp_path) as sim:
        inventory, variables = write_files(tmp_path, sim)
        rulebook = Rulebook(tmp_path, "protect_encryption_keys", inventory, variables, collections_path, password=wrong)
        try:
            wait_for(lambda: not rulebook.running(), 60, "end of ansible-rulebook")
        finally:
            rulebook.stop()
        output = rulebook.output()
        logins = [r for r in sim.control.requests_log() if r["method"] == "POST" and r["path"].endswith("/sessions")]
    assert [r["status"] for r in logins] == [401], "one log in, not retried (accounts lock)"
    # the source raises once; ansible-rulebook 1.3.2 itself logs a source's error twice (engine and app)
    assert "array sim01: watching the encryption keys stopped: Log in as admin failed" in output
    assert "no retry" in output
    assert wrong not in output and not os.path.exists(tmp_path / "backups")


def test_a_certificate_not_trusted_stops_the_rulebook_with_a_clear_error(tmp_path, collections_path):
    with simulator(tmp_path) as sim:
        inventory, variables = write_files(tmp_path, sim)
        with open(variables) as handle:
            watch = yaml.safe_load(handle)
        del watch["vsp_watch_arrays"][0]["ca_path"]  # TLS verified against the system's CAs: the simulator's is not one
        with open(variables, "w") as handle:
            yaml.safe_dump(watch, handle)
        rulebook = Rulebook(tmp_path, "protect_encryption_keys", inventory, variables, collections_path)
        try:
            wait_for(lambda: not rulebook.running(), 60, "end of ansible-rulebook")
        finally:
            rulebook.stop()
        output = rulebook.output()
        assert sim.control.requests_log() == [], "nothing reached the array API"
    assert "array sim01: watching the encryption keys stopped" in output and "TLS error" in output
    assert "check ca_path" in output and not os.path.exists(tmp_path / "backups")


def test_an_array_down_and_back_is_one_warning_a_failing_event_and_a_resumed_event(watched):
    sim, rulebook, backup_dir, dummy = watched
    wait_for_start_backup(rulebook, backup_dir)
    sim.kill()  # as a crashed REST server
    wait_for(lambda: "watch_failing" in rulebook.output(), 60, "watch_failing event (failing_after 5 s)")
    sim.restart()
    wait_for(lambda: "watch_resumed" in rulebook.output(), 60, "watch_resumed event")
    output = rulebook.output()
    assert output.count("array sim01: watching the encryption keys failed") == 1, "one warning per outage"
    assert rulebook.running(), "an outage does not stop the source"
    assert len(manifests(backup_dir)) == 1, "no backup for an outage: the keys did not change"


def test_keys_created_while_the_rulebook_was_stopped_are_backed_up_at_its_next_start(tmp_path, collections_path):
    with simulator(tmp_path) as sim:
        inventory, variables = write_files(tmp_path, sim)
        backup_dir = str(tmp_path / "backups")
        first = Rulebook(tmp_path, "protect_encryption_keys", inventory, variables, collections_path)
        try:
            wait_for_start_backup(first, backup_dir)
        finally:
            first.stop()
        before = {k["keyId"] for k in sim.control.state()["keys"]}
        sim.array_job("encryption-keys", {"count": 8})
        new = {k["keyId"] for k in sim.control.state()["keys"]} - before
        second = Rulebook(tmp_path / "restart", "protect_encryption_keys", inventory, variables, collections_path)
        try:
            wait_for(lambda: [m for m in manifests(backup_dir) if new <= set(m["keys"]["FREE"])] or not second.running(),
                     START_TIMEOUT, "key file holding the keys created while stopped")
        finally:
            second.stop()
        assert second.returncode == 0, second.output()[-3000:]
        assert len(manifests(backup_dir)) == 2
        assert wait_for(lambda: sim.control.state()["sessions"] == 0, 10, "logout of every session")
