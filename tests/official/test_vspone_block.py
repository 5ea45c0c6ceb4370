"""Hitachi's own collection (hitachivantara.vspone_block) as a test of the simulator.

A client nobody here wrote finds what the simulator gets wrong: each test runs one of its modules
against the simulator over HTTPS and judges by the module's result, the simulator's request log
and ``GET /simulator/v1/state``. Run by ``make official`` (mk/official.mk), which extracts the
collection from the ``ansible`` wheel and starts the simulator with hack/with-simulator: once on the
built-in scenario, once as a twin of ``tests/captures/hitachi-docs.capture.json`` (assembled from
Hitachi's documented response examples). So the tests take their ids and expectations from the
array's state, as a client would, not from the scenario.

Note: Hitachi's collection never verifies TLS certificates for VSP (it hard-codes
``validate_certs=False``), so the simulator's CA is used only by this file's own requests.
"""

import json
import os
import subprocess
import sys

import pytest
from vsp_simulator.harness import ADMIN, RunningSimulator

SIM = RunningSimulator.from_environment()
pytestmark = pytest.mark.skipif(SIM is None or not os.environ.get("VSP_OFFICIAL_COLLECTIONS"),
                                reason="run by make official (needs the simulator and the collection)")

FQ = "hitachivantara.vspone_block.vsp."
OBJ = "/ConfigurationManager/v1/objects/"


@pytest.fixture(autouse=True)
def fresh():
    SIM.control.reset()
    SIM.control.clear_faults()
    SIM.control.clear_requests()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("official")


def run(workdir, module, **args):
    """Run one module of Hitachi's collection ad hoc; its result dict."""
    args.setdefault("connection_info", {
        "address": "%s:%s" % (SIM.host, SIM.port),
        "username": ADMIN.name, "password": ADMIN.password})
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=os.environ["VSP_OFFICIAL_COLLECTIONS"],
        ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_DEPRECATION_WARNINGS="0",
        # keep its logs, usage counters and consent files out of $HOME; no audit log
        HV_ANSIBLE_LOG_PATH=str(workdir / "logs"), HV_TELEMETRY_FILE_PATH=str(workdir / "usages"),
        HV_REGISTRATION_FILE_PATH=str(workdir / "registration"), HV_ENABLE_AUDIT_LOG="false",
        HV_ENABLE_TELEMETRY="false",
    )
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    proc = subprocess.run(
        [ansible, "localhost", "-i", "localhost,", "-c", "local", "-o",
         "-e", "ansible_python_interpreter=%s" % sys.executable,
         "-m", FQ + module, "-a", json.dumps(args)],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    # one line per host: "localhost | SUCCESS => {...}" or "localhost | FAILED! => {...}"
    for line in proc.stdout.splitlines():
        if line.startswith("localhost | ") and " => " in line:
            try:
                res = json.loads(line.split(" => ", 1)[1])
            except ValueError:
                break
            res["failed"] = proc.returncode != 0
            return res
    pytest.fail("no result from %s:\n%s\n%s" % (module, proc.stdout[-3000:], proc.stderr[-3000:]))


def pool_volumes(state, **where):
    """LDEV ids of the pool volumes of the array's state (``pool=``, ``parity_group=``): what any array answers, so
    the tests hold on the built-in scenario and on a twin of a capture (`make official` runs both)."""
    return sorted(ld["ldevId"] for ld in state["ldevs"] if "POOL" in (ld.get("attributes") or [])
                  and ("pool" not in where or ld.get("composingPoolId") == where["pool"])
                  and ("parity_group" not in where or where["parity_group"] in (ld.get("parityGroupIds") or [])))


def twin():
    """True when the simulator serves a capture (GET /simulator/v1/twin)."""
    return SIM.control.call("GET", "twin")["twin"] is True


def encrypted_group_with_volumes(state):
    """The first encrypted parity group that holds pool volumes, and its pool volumes."""
    for group in sorted(state["parity_groups"], key=lambda g: g["parityGroupId"]):
        volumes = pool_volumes(state, parity_group=group["parityGroupId"])
        if group.get("isEncryptionEnabled") and volumes:
            return group, volumes
    pytest.fail("the array has no encrypted parity group with pool volumes")


def log():
    return [(r["method"], r["path"].replace(OBJ, ""), r["status"]) for r in SIM.control.requests_log()]


def writes():
    """Requests other than GET and the module's own session log in / log out."""
    return [r for r in log() if r[0] != "GET" and not r[1].startswith("sessions")]


def test_session_create_and_delete(workdir):
    made = run(workdir, "hv_session")
    assert made.get("failed") is not True, made
    session = made["session"]
    assert isinstance(session["session_id"], int) and len(session["token"]) == 32
    assert SIM.control.state()["sessions"] == 1
    gone = run(workdir, "hv_session", state="absent",
               spec={"id": session["session_id"], "token": session["token"]})
    assert gone.get("failed") is not True and gone["changed"] is True, gone
    assert SIM.control.state()["sessions"] == 0
    assert ("DELETE", "sessions/%d" % session["session_id"], 200) in log()


def test_ldev_facts_pool_volume(workdir):
    group, volumes = encrypted_group_with_volumes(SIM.control.state())
    res = run(workdir, "hv_ldev_facts", spec={"ldev_id": volumes[0]})
    assert res.get("failed") is not True, res
    (vol,) = res["ansible_facts"]["volumes"]
    assert vol["ldev_id"] == volumes[0] and vol["status"] == "NML" and vol["parity_group_id"] == group["parityGroupId"]
    assert vol["provision_type"] == "CVS,POOL" and vol["emulation_type"] == "OPEN-V-CVS"
    assert ("GET", "ldevs/%d" % volumes[0], 200) in log() and writes() == []
    assert SIM.control.state()["sessions"] == 0


def test_storagepool_facts_all_and_one(workdir):
    res = run(workdir, "hv_storagepool_facts")
    assert res.get("failed") is not True, res
    pools = res["ansible_facts"]["storage_pool"]
    state = SIM.control.state()
    assert [p["pool_id"] for p in pools] == sorted(p["poolId"] for p in state["pools"])
    assert all(p["pool_status"] == "NORMAL" and p["pool_type"] == "HDP" for p in pools)
    first = state["pools"][0]
    one = run(workdir, "hv_storagepool_facts", spec={"pool_id": first["poolId"]})
    assert one.get("failed") is not True, one
    (pool,) = one["ansible_facts"]["storage_pool"] if isinstance(
        one["ansible_facts"]["storage_pool"], list) else [one["ansible_facts"]["storage_pool"]]
    assert pool["pool_id"] == first["poolId"] and pool["num_of_ldevs"] == first["numOfLdevs"]
    # it lists the pool volumes with GET ldevs?poolId=N (the simulator's [I] reading of that filter)
    assert pool["pool_volumes"] == pool_volumes(state, pool=first["poolId"])
    assert writes() == []


def test_storagepool_facts_unknown_pool(workdir):
    res = run(workdir, "hv_storagepool_facts", spec={"pool_id": 77})
    # it looks the id up in the pool list, so this is its own message, not the array's 404
    assert res["failed"] is True, res
    assert res["msg"] == "Could not find Storage pool specified in the spec.", res
    assert writes() == []


def test_paritygroup_facts_one(workdir):
    expected, volumes = encrypted_group_with_volumes(SIM.control.state())
    res = run(workdir, "hv_paritygroup_facts", spec={"parity_group_id": expected["parityGroupId"]})
    assert res.get("failed") is not True, res
    group = res["ansible_facts"]["parity_groups"]
    assert group["parity_group_id"] == expected["parityGroupId"] and group["is_encryption_enabled"] is True
    assert group["ldev_ids"] == volumes and group["raid_level"] == expected["raidLevel"]
    assert writes() == []


def test_paritygroup_facts_all(workdir):
    res = run(workdir, "hv_paritygroup_facts")
    assert res.get("failed") is not True, res
    groups = res["ansible_facts"]["parity_groups"]
    state = SIM.control.state()
    assert {g["parity_group_id"]: g["is_encryption_enabled"] for g in groups} == {
        pg["parityGroupId"]: pg["isEncryptionEnabled"] for pg in state["parity_groups"]}
    assert ("GET", "external-parity-groups", 200) in log() and writes() == []


def test_paritygroup_facts_unknown(workdir):
    res = run(workdir, "hv_paritygroup_facts", spec={"parity_group_id": "9-9"})
    assert res.get("failed") is True
    # Hitachi's own words: its code recognised the simulator's 404 as "not found"
    assert res["msg"] == "Could not find the parity group associated with parity_group_id 9-9.", res
    assert ("GET", "parity-groups/9-9", 404) in log()


def test_storagepool_restore_on_a_healthy_pool(workdir):
    first = SIM.control.state()["pools"][0]["poolId"]
    res = run(workdir, "hv_storagepool", state="restore", spec={"id": first})
    # [I] the array refuses to recover a pool that is not blocked (RG17 restoring-a-pool: 412)
    assert res.get("failed") is True and "not in the blocked status" in res["msg"], res
    assert ("POST", "pools/%d/actions/recover/invoke" % first, 412) in log()
    state = SIM.control.state()
    assert state["pools"] and all(p["poolStatus"] == "POLN" for p in state["pools"])
    assert all(v["status"] == "NML" for v in state["ldevs"])


def test_storagepool_restore_of_a_pool_that_stays_blocked(workdir):
    if twin():
        pytest.skip("pools_stay_blocked is an option of the simulator's scenarios; a twin serves a capture")
    SIM.control.reset({"options": {"pools_stay_blocked": True}})
    for status in ("blk", "nml"):
        job = SIM.array_job("ldevs/0/actions/change-status/invoke", {"parameters": {"status": status}})
        assert job["state"] == "Succeeded", job
    assert SIM.control.state()["pools"][0]["poolStatus"] == "POLE"
    SIM.control.clear_requests()
    res = run(workdir, "hv_storagepool", state="restore", spec={"id": 0})
    assert res.get("failed") is not True and res["changed"] is True, res
    assert ("POST", "pools/0/actions/recover/invoke", 202) in log()
    assert SIM.control.state()["pools"][0]["poolStatus"] == "POLN"
