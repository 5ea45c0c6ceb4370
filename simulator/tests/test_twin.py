"""The twin (``vsp-simulator --capture FILE``): captured objects served as the array sent them, keys
lost on any captured encrypted group, the fidelity report, and hostile captures refused.

In process (Flask's test client): the twin is a state built from a capture; the CLI's refusals run
``cli.main`` directly."""

from __future__ import annotations

import base64
import copy
import json
import os

import pytest
from vsp_simulator import capture, cli, scenario
from vsp_simulator.app import create_app
from vsp_simulator.simulator import Simulator
from vsp_simulator.users import ADMIN

OBJ = "/ConfigurationManager/v1/objects"
SDID = "886000654321"
AUTH = {"Authorization": "Basic " + base64.b64encode(
    f"{ADMIN.name}:{ADMIN.password}".encode()).decode()}


def _answer(path, body, query=None, status=200):
    return {"method": "GET", "path": path, "query": query or {}, "status": status, "body": body}


def _pool_volume(ldev_id, pg, pool):
    return {"ldevId": ldev_id, "attributes": ["CVS", "POOL"], "status": "NML",
            "parityGroupIds": [pg], "composingPoolId": pool, "blockCapacity": 41943040,
            "label": f"site-label-{ldev_id}",
            "emulationType": "OPEN-V-CVS"}


def small_capture():
    """A capture as vsp.encryption.array_capture writes it, of a small array unlike the default
    scenario (other ids, fields the simulator's model does not send)."""
    drives = [{"driveLocationId": f"HDD01-{i:02d}", "parityGroupId": "3-1" if i < 4 else "4-1",
               "driveTypeName": "SSD", "serialNumber": f"REAL{i:04d}"} for i in range(8)]
    vols = [_pool_volume(100 + i, "3-1", 5) for i in range(3)]
    dp = [{"ldevId": 200, "attributes": ["CVS", "HDP"], "status": "NML", "poolId": 5,
           "blockCapacity": 8388608}]
    deks = [{"keyId": str(10 + i), "keyType": "DEK", "createdTime": "2025-03-01T10:00:00Z",
             "uuid": "-", "targetDeviceLocation": f"HDD01-{i:02d}", "keyGeneratedLocation": "DKC",
             "numOfBackups": 2} for i in range(4)]

    def key(kid, kind):
        return {"keyId": kid, "keyType": kind, "createdTime": "2025-03-01T10:00:00Z", "uuid": "-",
                "targetDeviceLocation": "-", "keyGeneratedLocation": "DKC", "numOfBackups": 1}

    answers = [
        _answer("/configuration/version", {"productName": "Configuration Manager REST API",
                                           "apiVersion": "1.20.0"}),
        _answer("/v1/objects/storages/instance", {"storageDeviceId": SDID, "serialNumber": 654321,
                                                  "model": "VSP G900", "svpIp": "10.1.2.3"}),
        _answer("/v1/objects/parity-groups", {"data": [
            {"parityGroupId": "3-1", "isEncryptionEnabled": True, "raidType": "7D+1P"},
            {"parityGroupId": "4-1", "isEncryptionEnabled": False, "raidType": "3D+1P"}]}),
        _answer("/v1/objects/drives", {"data": drives}),
        _answer("/v1/objects/drives", {"data": drives[:4]}, {"parityGroupId": "3-1"}),
        _answer("/v1/objects/ldevs", {"data": vols}, {"count": 16384, "parityGroupId": "3-1"}),
        _answer("/v1/objects/pools", {"data": [{"poolId": 5, "poolName": "site-pool",
                                                "poolStatus": "POLN", "siteField": 7}]}),
        _answer("/v1/objects/ldevs", {"data": vols}, {"count": 16384, "poolId": 5}),
        _answer("/v1/objects/ldevs", {"data": dp},
                {"count": 16384, "ldevOption": "dpVolume", "poolId": 5}),
        _answer("/v1/objects/encryption-keys", {"data": deks}, {"keyType": "DEK"}),
        _answer("/v1/objects/encryption-keys", {"data": [key("0", "CEK")]}, {"keyType": "CEK"}),
        _answer("/v1/objects/encryption-keys", {"data": [key("1", "KEK")]}, {"keyType": "KEK"}),
        _answer("/v1/objects/encryption-keys", {"data": [key("20", "FREE")]}, {"keyType": "FREE"}),
        _answer("/v1/objects/jobs", {"data": []}, {"count": 100}),
    ]
    return {"format": "vsp.encryption.array_capture", "format_version": 1,
            "captured_at": "2026-12-01T00:00:00Z", "collection_version": "1.1.0",
            "api_version": "1.20.0", "redacted": False, "encrypted_parity_groups": ["3-1"],
            "key_counts": {"DEK": 4, "CEK": 1, "KEK": 1, "FREE": 1}, "answers": answers}


def twin(doc=None):
    sim = Simulator(scenario.merge({"capture": doc or small_capture()}), job_ms=0)
    return sim, create_app(sim).test_client()


def session(client):
    r = client.post(OBJ + "/sessions", headers=AUTH)
    assert r.status_code == 200, r.get_json()
    return {"Authorization": "Session " + r.get_json()["token"]}


def test_twin_serves_the_captured_objects_as_the_array_sent_them():
    doc = small_capture()
    sim, client = twin(doc)
    h = session(client)
    by_path = {(a["path"], json.dumps(a["query"], sort_keys=True)): a["body"]
               for a in doc["answers"]}
    version = client.get("/ConfigurationManager/configuration/version").get_json()
    assert version["apiVersion"] == "1.20.0"
    assert client.get(OBJ + "/storages/instance", headers=h).get_json() == by_path[
        ("/v1/objects/storages/instance", "{}")]
    for path, query in (("/v1/objects/parity-groups", {}), ("/v1/objects/pools", {}),
                        ("/v1/objects/ldevs", {"count": 16384, "poolId": 5}),
                        ("/v1/objects/ldevs", {"count": 16384, "parityGroupId": "3-1"}),
                        ("/v1/objects/encryption-keys", {"keyType": "DEK"}),
                        ("/v1/objects/encryption-keys", {"keyType": "FREE"})):
        got = client.get("/ConfigurationManager" + path, query_string=query, headers=h).get_json()
        assert got == by_path[(path, json.dumps(query, sort_keys=True))], path
    # the long URL form with the captured storage device id
    assert client.get(f"{OBJ}/storages/{SDID}/pools", headers=h).status_code == 200


def test_lose_keys_of_a_captured_encrypted_group_then_recovery_is_refused():
    sim, client = twin()
    h = session(client)
    r = client.post("/simulator/v1/lose-keys", json={"parity_groups": ["3-1"]})
    assert r.get_json() == {"lost_key_ids": ["10", "11", "12", "13"]}
    deks = client.get(OBJ + "/encryption-keys", query_string={"keyType": "DEK"}, headers=h)
    assert deks.get_json() == {"data": []}
    assert client.get("/simulator/v1/state").get_json()["lost_parity_groups"] == ["3-1"]
    refused = client.post("/simulator/v1/lose-keys", json={"parity_groups": ["4-1"]})
    assert refused.status_code == 400 and "not encrypted" in refused.get_json()["message"]
    wait = dict(h, **{"Response-Job-Status": "Completed"})
    block = client.post(OBJ + "/ldevs/100/actions/change-status/invoke", headers=wait,
                        json={"parameters": {"status": "blk"}})
    assert block.get_json()["state"] == "Succeeded"
    pool = client.get(OBJ + "/pools/5", headers=h).get_json()
    assert pool["poolStatus"] == "POLE" and pool["siteField"] == 7
    recover = client.post(OBJ + "/ldevs/100/actions/change-status/invoke", headers=wait,
                          json={"parameters": {"status": "nml"}})
    assert recover.get_json()["state"] == "Failed"
    assert "3-1 are lost" in json.dumps(recover.get_json())


def test_reset_brings_the_twin_back_to_the_capture():
    sim, client = twin()
    client.post("/simulator/v1/lose-keys", json={"parity_groups": ["3-1"]})
    assert client.post("/simulator/v1/reset").status_code == 200
    assert client.get("/simulator/v1/state").get_json()["lost_parity_groups"] == []
    assert client.get("/simulator/v1/twin").get_json()["encrypted_parity_groups"] == ["3-1"]


def test_fidelity_names_what_the_model_answers_differently_and_what_the_capture_lacks():
    doc = small_capture()
    doc["answers"] = [a for a in doc["answers"] if a["query"].get("ldevOption") != "dpVolume"]
    report = capture.load_file_report(doc)
    found = {(d["kind"], d["field"], d["difference"]) for d in report["differences"]}
    assert ("pool", "siteField", "only the array sends it") in found
    assert ("ldev", "label", "only the array sends it") in found
    assert ("version", "apiVersion", "value differs") in found
    assert ("storage", "svpIp", "only the array sends it") in found
    assert "GET ldevs?ldevOption=dpVolume&poolId=<pool>" in report["not_in_capture"]
    assert any(c.startswith("GET jobs/<id>") for c in report["answered_by_model"])


def test_the_control_api_says_whether_the_simulator_is_a_twin():
    sim, client = twin()
    assert client.get("/simulator/v1/twin").get_json()["twin"] is True
    plain = Simulator(job_ms=0)
    assert create_app(plain).test_client().get("/simulator/v1/twin").get_json() == {"twin": False}


def _mutate(path, value):
    def apply(doc):
        target = doc
        for step in path[:-1]:
            target = target[step]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return doc
    return apply


DELETE = object()
HOSTILE = {
    "not an object": (lambda d: [d], "must be a JSON object"),
    "wrong format": (_mutate(["format"], "other"), "format"),
    "newer format": (_mutate(["format_version"], 2), "format_version"),
    "no answers": (_mutate(["answers"], []), "answers"),
    "a write": (_mutate(["answers", 0, "method"], "POST"), "method must be GET"),
    "status not HTTP": (_mutate(["answers", 0, "status"], "200"), "status"),
    "storage id not 12 digits": (_mutate(["answers", 1, "body", "storageDeviceId"], "../../etc"),
                                 "storageDeviceId"),
    "serial a boolean": (_mutate(["answers", 1, "body", "serialNumber"], True), "serialNumber"),
    "parity group id": (_mutate(["answers", 2, "body", "data", 0, "parityGroupId"], "1-1; rm"),
                        "parityGroupId"),
    "encryption not a boolean": (_mutate(["answers", 2, "body", "data", 0, "isEncryptionEnabled"],
                                          "yes"), "isEncryptionEnabled"),
    "drive location a path": (_mutate(["answers", 3, "body", "data", 0, "driveLocationId"],
                                      "../../../tmp/x"), "driveLocationId"),
    "ldev id out of range": (_mutate(["answers", 5, "body", "data", 0, "ldevId"], 65280), "ldevId"),
    "ldev id negative": (_mutate(["answers", 5, "body", "data", 0, "ldevId"], -1), "ldevId"),
    "ldev id a text": (_mutate(["answers", 5, "body", "data", 0, "ldevId"], "100"), "ldevId"),
    "pool volume without status": (_mutate(["answers", 5, "body", "data", 0, "status"], DELETE),
                                   "without a status"),
    "pool volume of an unknown pool": (_mutate(["answers", 5, "body", "data", 0, "composingPoolId"],
                                               9), "not a captured pool"),
    "pool id out of range": (_mutate(["answers", 6, "body", "data", 0, "poolId"], 128), "poolId"),
    "key id out of range": (_mutate(["answers", 9, "body", "data", 0, "keyId"], "4096"), "keyId"),
    "key id a path": (_mutate(["answers", 9, "body", "data", 0, "keyId"], "../1"), "keyId"),
    "key of another type": (_mutate(["answers", 9, "body", "data", 0, "keyType"], "FREE"),
                            "keyType"),
    "unknown key type": (_mutate(["answers", 9, "query", "keyType"], "XYZ"), "keyType"),
    "data not a list": (_mutate(["answers", 6, "body", "data"], {"poolId": 5}), '"data" list'),
    "text too long": (_mutate(["answers", 6, "body", "data", 0, "poolName"], "x" * 5000),
                      "longer than"),
    "nested too deep": (_mutate(["answers", 6, "body", "data", 0, "deep"],
                                json.loads("[" * 40 + "]" * 40)), "nested deeper"),
    "no storage": (lambda d: dict(d, answers=[
        a for a in d["answers"] if "storages" not in a["path"]]), "no storage system"),
    "encrypted group without drives": (lambda d: dict(d, answers=[
        a for a in d["answers"] if "drives" not in a["path"]]), "without a captured drive"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_capture_is_refused_naming_the_rule(case):
    mutate, words = HOSTILE[case]
    doc = mutate(copy.deepcopy(small_capture()))
    with pytest.raises(capture.CaptureError) as err:
        capture.validate(doc)
    assert words in str(err.value)


def test_a_key_listed_with_two_types_is_refused():
    doc = small_capture()
    doc["answers"][12]["body"]["data"][0]["keyId"] = "10"  # a DEK's id in the FREE list
    with pytest.raises(capture.CaptureError, match="key 10 listed with two types"):
        capture.validate(doc)


def test_an_unknown_endpoint_is_ignored_and_reported_never_followed():
    doc = small_capture()
    doc["answers"].append(_answer("/../../etc/passwd", {"data": []}))
    report = capture.load_file_report(doc)
    assert any("/../../etc/passwd" in c and "ignored" in c for c in report["not_in_capture"])


def test_cli_refuses_a_bad_capture_with_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert cli.main(["--no-tls", "--capture", str(bad)]) == 2
    assert "not a JSON capture" in capsys.readouterr().err
    assert cli.main(["--no-tls", "--capture", str(tmp_path)]) == 2
    assert "not a regular file" in capsys.readouterr().err
    assert cli.main(["--no-tls", "--capture", str(tmp_path / "missing.json")]) == 2
    assert "cannot be opened" in capsys.readouterr().err
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200000 + "]" * 200000)  # nested beyond Python's recursion limit
    assert cli.main(["--no-tls", "--capture", str(deep)]) == 2
    assert "not a JSON capture (RecursionError" in capsys.readouterr().err
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert cli.main(["--no-tls", "--capture", str(fifo)]) == 2  # refused, never waited on
    assert "not a regular file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.parse_args(["--capture", str(bad), "--scenario", str(bad)])
    assert "exclude each other" in capsys.readouterr().err


def test_cli_refuses_a_capture_larger_than_the_cap(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(capture, "MAX_BYTES", 1000)
    big = tmp_path / "big.json"
    big.write_text(json.dumps(small_capture()))
    assert cli.main(["--no-tls", "--capture", str(big)]) == 2
    assert "larger than 1000 bytes" in capsys.readouterr().err


def test_downtime_estimate_follows_the_benchmark_model():
    sim, client = twin()
    got = client.get("/simulator/v1/twin/downtime",
                     query_string={"job_ms": 2000, "parallelism": 2}).get_json()
    # 3 pool volumes of 3-1: ceil(3 / 2) = 2 rounds of 2 s to block, one 2 s restore, 2 to recover
    assert got["pool_volumes"] == 3 and got["parity_groups"] == ["3-1"]
    assert got["offline_seconds"] == 2 * 4.0 + 2.0
    default = client.get("/simulator/v1/twin/downtime").get_json()
    assert default["job_ms"] == 0 and default["parallelism"] == 4
    bad = client.get("/simulator/v1/twin/downtime", query_string={"parity_groups": "4-1"})
    assert bad.status_code == 400 and "not an encrypted parity group" in bad.get_json()["message"]
    bad = client.get("/simulator/v1/twin/downtime", query_string={"parallelism": "0"})
    assert bad.status_code == 400 and "parallelism" in bad.get_json()["message"]


def test_a_capture_made_with_storage_device_id_uses_the_long_url_form():
    doc = small_capture()
    for a in doc["answers"]:
        if a["path"].startswith("/v1/objects/") and "/storages" not in a["path"]:
            a["path"] = a["path"].replace("/v1/objects/", f"/v1/objects/storages/{SDID}/", 1)
    storage = doc["answers"][1]
    storage["path"], storage["body"] = "/v1/objects/storages", {"data": [storage["body"]]}
    report = capture.load_file_report(doc)
    assert report["not_in_capture"] == []
    sim, client = twin(doc)
    h = session(client)
    keys = client.get(f"{OBJ}/storages/{SDID}/encryption-keys", query_string={"keyType": "DEK"},
                      headers=h).get_json()
    assert [k["keyId"] for k in keys["data"]] == ["10", "11", "12", "13"]
