"""vsp_simulator.harness: start, stop, kill, restart, a failed start, the control client, the
connection options and the environment of a suite run under hack/with-simulator."""

import os

import pytest
import requests
from vsp_simulator import harness
from vsp_simulator.harness import (ControlClient, ControlError, RunningSimulator, SimulatorProcess,
                                   SimulatorStartError)
from vsp_simulator.users import ADMIN, VIEWER, User

OBJ = harness.ARRAY_PATH


def login(sim, user=ADMIN):
    resp = requests.post(sim.url + OBJ + "sessions", auth=user.auth, verify=sim.verify, timeout=30)
    return resp


def test_start_stop_and_context_manager(tmp_path):
    with SimulatorProcess(tmp_path, job_ms=20) as sim:
        assert sim.running() and sim.port > 0
        assert sim.url == f"https://127.0.0.1:{sim.port}"
        assert sim.ca_path == str(tmp_path / "ca.pem") and os.path.exists(sim.ca_path)
        assert login(sim).status_code == 200
        proc = sim.proc
    assert proc.returncode == 0  # SIGTERM: a clean stop
    assert not sim.running()
    with pytest.raises(requests.ConnectionError):
        login(sim)


def test_kill_then_restart_keeps_port_and_state(tmp_path):
    sim = SimulatorProcess(tmp_path, state_file=True, job_ms=20).start()
    try:
        port = sim.port
        lost = sim.control.lose_keys("1-1")["lost_key_ids"]
        assert lost
        sim.kill()
        assert sim.proc.returncode == -9
        sim.restart()
        assert sim.port == port
        keys = {str(k["keyId"]): k for k in sim.control.state()["keys"]}
        assert all(keys[str(k)]["lost"] for k in lost)
        sim.restart(kill=True)
        assert sim.port == port and sim.running()
    finally:
        sim.stop()


def test_a_failed_start_reports_the_simulators_error(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("- not a mapping\n")
    sim = SimulatorProcess(tmp_path, scenario=str(bad))
    with pytest.raises(SimulatorStartError) as info:
        sim.start()
    assert "a scenario is a mapping" in str(info.value)
    assert not sim.running()


def test_scenario_mapping_and_cli_options(tmp_path):
    user = User("svc", "Svc-Pw-1", ADMIN.roles)
    sim = SimulatorProcess(tmp_path, scenario={"users": [user.scenario_entry()]}, latency_ms=1,
                           job_ms=20, job_parallelism=2, user=user, tls=False)
    cmd = sim.command()
    for flag, value in (("--latency-ms", "1"), ("--job-ms", "20"), ("--job-parallelism", "2")):
        assert cmd[cmd.index(flag) + 1] == value
    assert "--no-tls" in cmd and "--state-file" not in cmd
    with sim:
        assert sim.url.startswith("http://") and sim.verify is True
        assert login(sim, user).status_code == 200
        assert login(sim, ADMIN).status_code == 401
        assert sim.connection() == {"host": "127.0.0.1", "port": sim.port, "protocol": "http",
                                    "username": "svc", "password": "Svc-Pw-1"}


def test_connection_and_environment(tmp_path):
    sim = RunningSimulator("127.0.0.1", 4443, str(tmp_path / "ca.pem"))
    conn = sim.connection(timeout=5)
    assert conn == {"host": "127.0.0.1", "port": 4443, "protocol": "https",
                    "username": ADMIN.name, "password": ADMIN.password, "validate_certs": True,
                    "ca_path": str(tmp_path / "ca.pem"), "timeout": 5}
    assert sim.connection(VIEWER)["username"] == "viewer"
    env = sim.environment(tmp_path)
    assert "VSP_PASSWORD" not in env and env["VSP_SIMULATOR_DIR"] == str(tmp_path)
    again = RunningSimulator.from_environment(env)
    assert (again.url, again.ca_path, again.port) == (sim.url, sim.ca_path, 4443)
    assert RunningSimulator.from_environment({}) is None


def test_clean_env_drops_connection_and_ansible_settings():
    outside = {"VSP_PASSWORD": "x", "ANSIBLE_CONFIG": "y", "HOME": "/h", "PATH": "/p"}
    env = harness.clean_env(outside, EXTRA="1")
    assert env == {"HOME": "/h", "PATH": harness.bin_dir() + os.pathsep + "/p", "EXTRA": "1"}


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    with SimulatorProcess(tmp_path_factory.mktemp("harness"), job_ms=20) as sim:
        yield sim


def test_control_client(running):
    ctl = running.control
    ctl.reset()
    ctl.clear_requests()
    assert login(running).status_code == 200
    log = ctl.requests_log()
    assert [(e["method"], e["status"]) for e in log] == [("POST", 200)]
    assert len(ctl.issued_tokens()) >= 1
    assert ctl.expire_sessions() == 1
    ctl.add_fault(path="sessions$", status=503, times=1)
    assert login(running).status_code == 503
    assert login(running).status_code == 200
    ctl.add_fault(path="sessions$", status=503)
    ctl.clear_faults()
    assert login(running).status_code == 200
    assert ctl.hold_jobs() == {"hold": True} and ctl.release_jobs() == {"hold": False}
    ctl.reset({"kms": {"configured": True}})
    assert ctl.state()["kms"]["configured"] is True
    ctl.reset()
    assert ctl.state()["kms"]["configured"] is False
    with pytest.raises(ControlError, match="HTTP 400"):
        ctl.lose_keys("2-1")  # not encrypted
    assert ctl.send("POST", "lose-keys", {}).status_code == 400


def test_await_log(running):
    ctl = ControlClient(running.url, running.ca_path)
    ctl.clear_requests()
    assert ctl.await_log(lambda log: len(log) >= 1, timeout=0) is None
    assert login(running).status_code == 200
    log = ctl.await_log(lambda log: any(e["method"] == "POST" for e in log), timeout=30)
    assert log is not None and log[-1]["status"] == 200
