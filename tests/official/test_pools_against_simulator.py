"""module_utils/_pools.py against the simulator (the real HTTP client, HTTPS with the simulator's CA):
a pool that stays blocked after its volumes recover is recovered with the documented call, a pool
that is not blocked is left alone, and the plan's offline impact matches the simulator's state."""

import os
import sys

import pytest
from vsp_simulator.harness import RunningSimulator

SIM = RunningSimulator.from_environment()
COLLECTION = os.environ.get("VSP_COLLECTION_DIR")
pytestmark = pytest.mark.skipif(SIM is None or not COLLECTION,
                                reason="run by make official (needs the simulator and the built collection)")

if COLLECTION:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION))))
    from ansible_collections.vsp.encryption.plugins.module_utils._api import VspApi  # noqa: E402
    from ansible_collections.vsp.encryption.plugins.module_utils._client import VspClient  # noqa: E402
    from ansible_collections.vsp.encryption.plugins.module_utils._pool_volumes import change_state  # noqa: E402
    from ansible_collections.vsp.encryption.plugins.module_utils._pools import offline_impact, recover_pools  # noqa: E402

OBJ = "/ConfigurationManager/v1/objects/"


def client():
    return VspClient(SIM.connection(retries=2, timeout=30, wait_timeout=60, storage_device_id=None))


@pytest.fixture(autouse=True)
def stay_blocked():
    SIM.control.reset({"options": {"pools_stay_blocked": True}})
    SIM.control.clear_requests()
    yield
    SIM.control.reset()


def pool_status():
    return dict((p["poolId"], p["poolStatus"]) for p in SIM.control.state()["pools"])


def test_offline_impact_of_two_groups():
    with client() as c:
        impact = offline_impact(VspApi(c), ["1-1", "1-3"])
    state = SIM.control.state()
    dp = sorted(v["ldevId"] for v in state["ldevs"] if "HDP" in v["attributes"] and v["poolId"] in (0, 1))
    assert impact["pool_ids"] == [0, 1]
    assert [p["pool_volume_ids"] for p in impact["pools"]] == [[0, 1], [4, 5]]
    assert impact["dp_volume_ids"] == dp and impact["dp_volume_count"] == len(dp) == 4
    assert all(r["method"] == "GET" or "/sessions" in r["path"] for r in SIM.control.requests_log())


def test_blocked_pool_recovered_healthy_pool_left_alone():
    with client() as c:
        api = VspApi(c)
        volumes = [api.get_ldev(0), api.get_ldev(1)]
        for state in ("blocked", "normal"):
            changed, failures = change_state(api, volumes, state, 2)
            assert failures == [] and changed == [0, 1]
            volumes = [api.get_ldev(0), api.get_ldev(1)]
        assert pool_status() == {0: "POLE", 1: "POLN", 2: "POLN"}
        SIM.control.clear_requests()
        result = recover_pools(api, [0, 1])
        assert result["recovered"] == [0] and result["not_normal"] == [] and result["failures"] == []
        assert pool_status() == {0: "POLN", 1: "POLN", 2: "POLN"}
        writes = [(r["method"], r["path"], r["status"]) for r in SIM.control.requests_log()
                  if r["method"] != "GET" and "/sessions" not in r["path"]]
        assert writes == [("POST", OBJ + "pools/0/actions/recover/invoke", 202)]
        # a rerun changes nothing: every pool is normal, nothing is sent
        SIM.control.clear_requests()
        again = recover_pools(api, [0, 1])
        assert again["recovered"] == [] and [p["action"] for p in again["pools"]] == ["none", "none"]
        assert all(r["method"] == "GET" for r in SIM.control.requests_log())
