"""A second server: plain HTTP, --scenario, --state-file across a restart, job queueing."""

import json
import time

import pytest
import yaml
from conftest import Client
from vsp_simulator.harness import SimulatorProcess, SimulatorStartError

SCENARIO = {
    "storage": {"model": "VSP E1090", "serialNumber": 7},
    "pools": [{"id": 5, "name": "p5"}],
    "parity_groups": [{"id": "3-1", "encrypted": True, "drives": 2,
                       "pool_volumes": {"pool": 5, "count": 3}}],
    "dp_volumes": [],
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("restart")
    (tmp / "scn.yaml").write_text(yaml.safe_dump(SCENARIO))
    return tmp


def test_state_survives_restart_and_jobs_queue(files):
    sim = SimulatorProcess(files, scenario=str(files / "scn.yaml"), state_file=True, job_ms=300,
                           job_parallelism=1, latency_ms=60, tls=False).start()
    try:
        assert sim.url.startswith("http://")
        c = Client(sim.url, sim.verify).login()
        t0 = time.monotonic()
        st = c.get("storages/instance").json()
        assert time.monotonic() - t0 >= 0.06  # --latency-ms
        t0 = time.monotonic()
        assert c.ctl("GET", "state").ok
        assert time.monotonic() - t0 < 0.06  # the control API has no latency
        assert st["storageDeviceId"] == "938000000007" and st["model"] == "VSP E1090"
        assert [v["ldevId"] for v in c.get("ldevs", params={"poolId": "5"}).json()["data"]] == \
            [0, 1, 2]
        # one job at a time: the second waits Queued
        body = {"parameters": {"status": "blk"}}
        j1 = c.post("ldevs/0/actions/change-status/invoke", json=body).json()
        j2 = c.post("ldevs/1/actions/change-status/invoke", json=body).json()
        assert j2["state"] == "Queued" and j2["status"] == "Initializing"
        assert c.get(f"jobs/{j2['jobId']}").json()["state"] == "Queued"
        assert c.poll(j1)["state"] == "Succeeded"
        assert c.poll(j2)["state"] == "Succeeded"
        c.ctl("POST", "lose-keys", json={"parity_groups": ["3-1"]})
        c.post("encryption-keys/file/actions/backup/invoke",
               json={"parameters": {"password": "abcdef"}})
    finally:
        sim.stop()
    saved = json.loads((files / "state.json").read_text())
    assert saved["data"]["ldevs"]["0"]["status"] == "BLK"

    sim.start()
    try:
        c = Client(sim.url, sim.verify).login()
        state = c.ctl("GET", "state").json()
        assert [v["status"] for v in state["ldevs"]] == ["BLK", "BLK", "NML"]
        assert state["lost_parity_groups"] == ["3-1"]
        assert all(k["lost"] for k in state["keys"] if k["keyType"] == "DEK")
        assert all(k["numOfBackups"] == 1 for k in state["keys"] if k["keyType"] == "FREE")
        assert state["sessions"] == 1
    finally:
        sim.stop()


def test_bad_scenario_file_exits_2(tmp_path):
    (tmp_path / "bad.yaml").write_text("parity_groups: [{drives: 2}]\n")
    sim = SimulatorProcess(tmp_path, scenario=str(tmp_path / "bad.yaml"))
    with pytest.raises(SimulatorStartError, match=r"exited \(2\)"):
        sim.start()
