"""Control API: reset, state, faults, request log; secrets never logged."""

import time

import pytest
import requests
from conftest import OBJ, assert_kart
from vsp_simulator.users import ADMIN


def test_state_shape(admin):
    state = admin.ctl("GET", "state").json()
    for k in ("ldevs", "pools", "parity_groups", "keys", "sessions", "kms"):
        assert k in state
    assert state["sessions"] == 1
    assert state["kms"]["configured"] is False
    assert state["ldevs"][0] == admin.get("ldevs/0").json()
    assert state["pools"][0] == admin.get("pools/0").json()
    assert state["parity_groups"][0] == admin.get("parity-groups/1-1").json()
    key = state["keys"][0]
    assert key["lost"] is False and "material" not in key
    assert {k: v for k, v in key.items() if k != "lost"} == admin.get("encryption-keys/0").json()


def test_reset_restores_state_and_drops_sessions(admin):
    admin.wait("ldevs/0/actions/change-status/invoke", json={"parameters": {"status": "blk"}})
    admin.ctl("POST", "reset")
    assert admin.ctl("GET", "state").json()["ldevs"][0]["status"] == "NML"
    assert_kart(admin.get("ldevs/0"), 401)


def test_reset_bad_scenario(fresh):
    r = fresh.ctl("POST", "reset", json={"scenario": {"parity_groups": [{"drives": 4}]}})
    assert r.status_code == 400
    assert fresh.ctl("GET", "state").json()["parity_groups"]  # old state kept
    assert fresh.ctl("POST", "reset", data=b"[1]").status_code == 400


def test_large_generated_scenario(admin):
    scn = {"pools": [{"id": 0}], "dp_volumes": [],
           "parity_groups": [{"id": f"1-{i}", "encrypted": True, "drives": 4,
                              "pool_volumes": {"pool": 0, "count": 64}} for i in range(1, 5)]}
    assert admin.ctl("POST", "reset", json={"scenario": scn}).ok
    admin.login()
    vols = admin.get("ldevs", params={"poolId": "0", "count": "16384"}).json()["data"]
    assert len(vols) == 256
    assert len(admin.get("ldevs").json()["data"]) == 100
    assert len(admin.keys("DEK")) == 16


def test_fault_status_times_and_retry_after(admin):
    assert admin.ctl("POST", "faults", json={"method": "GET", "path": r"/ldevs/\d+$",
                                             "status": 503, "times": 2}).ok
    for _ in range(2):
        r = admin.get("ldevs/0")
        assert_kart(r, 503)
        assert r.headers["Retry-After"] == "1"
    assert admin.get("ldevs/0").ok
    assert admin.post("ldevs/0/actions/change-status/invoke",
                      json={"parameters": {"status": "blk"}}).status_code == 202


def test_fault_other_status_until_deleted(admin):
    admin.ctl("POST", "faults", json={"path": "/pools", "status": 500})
    for _ in range(3):
        assert_kart(admin.get("pools"), 500)
    assert admin.ctl("GET", "state").ok  # the control API is never faulted
    admin.ctl("DELETE", "faults")
    assert admin.get("pools").ok


def test_fault_drop(admin):
    admin.ctl("POST", "faults", json={"path": "/ldevs$", "action": "drop", "times": 1})
    with pytest.raises(requests.ConnectionError):
        admin.get("ldevs")
    assert admin.get("ldevs").ok
    log = admin.ctl("GET", "requests").json()
    assert [e["status"] for e in log if e["path"] == OBJ + "/ldevs"] == [0, 200]


def test_fault_delay(admin):
    admin.ctl("POST", "faults", json={"path": "/ldevs/0$", "delay_ms": 300, "times": 1})
    t0 = time.monotonic()
    assert admin.get("ldevs/0").ok
    assert time.monotonic() - t0 >= 0.3
    t0 = time.monotonic()
    assert admin.get("ldevs/0").ok
    assert time.monotonic() - t0 < 0.3
    assert admin.ctl("GET", "requests").json()[-2]["ms"] >= 300


@pytest.mark.parametrize("spec", [{}, {"path": "x"}, {"path": "(", "status": 503},
                                  {"path": "x", "status": 200}, {"path": "x", "action": "boom"},
                                  {"path": "x", "status": 503, "times": 0},
                                  {"path": "x", "delay_ms": -1}, {"path": "x", "foo": 1}])
def test_fault_validation(fresh, spec):
    assert fresh.ctl("POST", "faults", json=spec).status_code == 400


def test_request_log(admin):
    admin.ctl("DELETE", "requests")
    admin.get("encryption-keys", params={"keyType": "DEK"})
    admin.get("ldevs/99999")
    admin.ctl("GET", "state")
    log = admin.ctl("GET", "requests").json()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", OBJ + "/encryption-keys", 200), ("GET", OBJ + "/ldevs/99999", 404)]
    assert all(isinstance(e["ms"], (int, float)) and set(e) == {"method", "path", "status", "ms"}
               for e in log)
    admin.ctl("DELETE", "requests")
    assert admin.ctl("GET", "requests").json() == []


def test_no_secrets_in_request_log_or_server_log(admin, server):
    password = "Very$ecret-42"
    blob = admin.post("encryption-keys/file/actions/backup/invoke",
                      json={"parameters": {"password": password}}).content
    admin.post("encryption-keys/file/actions/restore/invoke", files={"file": ("k.ekf", blob)},
               data={"password": password})
    admin.get("ldevs", params={"password": password})
    log_text = admin.ctl("GET", "requests").text
    server_log = server.log()
    for text in (log_text, server_log):
        assert password not in text
        assert admin.token not in text
        assert ADMIN.password not in text
        assert "Basic" not in text and "Session " not in text
        assert "material" not in text
    assert "?" not in log_text
