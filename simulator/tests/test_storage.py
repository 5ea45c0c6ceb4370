"""LDEVs, change-status, pools, pool recover, parity groups, drives."""

import pytest
from conftest import assert_kart


def ldevs(client, **params):
    r = client.get("ldevs", params=params)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_default_ldevs(admin):
    data = ldevs(admin)
    pool_vols = [v for v in data if "POOL" in v["attributes"]]
    dp_vols = [v for v in data if "HDP" in v["attributes"]]
    basic = [v for v in data if v["attributes"] == ["CVS"]]
    assert len(pool_vols) == 10 and len(dp_vols) == 4 and len(basic) == 1
    assert all(v["status"] == "NML" for v in data)
    assert basic[0]["parityGroupIds"] == ["2-1"] and "composingPoolId" not in basic[0]
    assert all(v["attributes"] == ["CVS", "HDP"] and v["poolId"] in (0, 1) for v in dp_vols)


def test_pool_id_lists_pool_volumes(admin):
    vols = ldevs(admin, poolId="0")
    assert len(vols) == 4
    assert all(v["composingPoolId"] == 0 and "POOL" in v["attributes"] for v in vols)
    assert {pg for v in vols for pg in v["parityGroupIds"]} == {"1-1", "1-2"}
    assert {v["parityGroupIds"][0] for v in ldevs(admin, poolId="1")} == {"1-3", "1-4"}
    assert len(ldevs(admin, poolId="2")) == 2
    dps = ldevs(admin, poolId="0", ldevOption="dpVolume", count="16384")
    assert len(dps) == 2 and all(v["poolId"] == 0 for v in dps)


def test_parity_group_filter_and_paging(admin):
    assert len(ldevs(admin, parityGroupId="2-1")) == 3
    assert ldevs(admin, parityGroupId="9-9") == []
    first = ldevs(admin, count="3")
    assert [v["ldevId"] for v in first] == [0, 1, 2]
    nxt = ldevs(admin, count="3", headLdevId="3")
    assert [v["ldevId"] for v in nxt] == [3, 4, 5]
    assert len(ldevs(admin, ldevOption="defined")) == 15
    assert ldevs(admin, ldevOption="undefined") == []


@pytest.mark.parametrize("params", [{"count": "0"}, {"count": "16385"}, {"count": "x"},
                                    {"headLdevId": "-1"}, {"ldevOption": "bogus"},
                                    {"poolId": "x"}, {"nope": "1"}])
def test_ldev_list_validation(admin, params):
    assert_kart(admin.get("ldevs", params=params), 400)


def test_get_ldev(admin):
    v = admin.get("ldevs/0").json()
    assert v["ldevId"] == 0 and v["composingPoolId"] == 0 and v["status"] == "NML"
    assert_kart(admin.get("ldevs/99999"), 404)
    assert_kart(admin.get("ldevs/x"), 404)


def test_change_status_post_and_put(admin):
    job = admin.wait("ldevs/5/actions/change-status/invoke", method="PUT",
                     json={"parameters": {"status": "blk"}})
    assert job["state"] == "Succeeded"
    assert admin.get("ldevs/5").json()["status"] == "BLK"
    job = admin.wait("ldevs/5/actions/change-status/invoke",
                     json={"parameters": {"status": "nml"}})
    assert job["state"] == "Succeeded"
    assert admin.get("ldevs/5").json()["status"] == "NML"


@pytest.mark.parametrize("body", [{}, {"parameters": {}}, {"parameters": {"status": "BLK"}},
                                  {"parameters": {"status": "blk", "x": 1}},
                                  {"status": "blk"}])
def test_change_status_validation(admin, body):
    assert_kart(admin.post("ldevs/0/actions/change-status/invoke", json=body), 400)


def test_change_status_unknown_ldev(admin):
    assert_kart(admin.post("ldevs/9999/actions/change-status/invoke",
                           json={"parameters": {"status": "blk"}}), 404)


def test_pools(admin):
    pools = admin.get("pools").json()["data"]
    assert [p["poolId"] for p in pools] == [0, 1, 2]
    assert all(p["poolStatus"] == "POLN" for p in pools)
    p0 = admin.get("pools/0").json()
    assert p0["numOfLdevs"] == 4 and p0["poolType"] == "HDP" and p0["firstLdevId"] == 0
    assert_kart(admin.get("pools/77"), 404)


def test_pool_recover(admin):
    body = assert_kart(admin.post("pools/0/actions/recover/invoke"), 412)
    assert "not in the blocked status" in body["message"]
    admin.wait("ldevs/0/actions/change-status/invoke", json={"parameters": {"status": "blk"}})
    assert admin.get("pools/0").json()["poolStatus"] == "POLE"
    job = admin.wait("pools/0/actions/recover/invoke")
    assert job["state"] == "Succeeded"
    assert job["affectedResources"] == ["/ConfigurationManager/v1/objects/pools/0"]
    assert admin.get("pools/0").json()["poolStatus"] == "POLN"
    assert admin.get("ldevs/0").json()["status"] == "NML"
    assert_kart(admin.post("pools/55/actions/recover/invoke"), 404)


def test_pool_recover_fails_while_keys_lost(admin):
    admin.wait("ldevs/0/actions/change-status/invoke", json={"parameters": {"status": "blk"}})
    admin.ctl("POST", "lose-keys", json={"parity_groups": ["1-1"]})
    job = admin.wait("pools/0/actions/recover/invoke")
    assert job["state"] == "Failed" and "1-1" in job["error"]["message"]


def test_parity_groups(admin):
    pgs = {p["parityGroupId"]: p for p in admin.get("parity-groups").json()["data"]}
    assert set(pgs) == {"1-1", "1-2", "1-3", "1-4", "2-1"}
    assert all(pgs[x]["isEncryptionEnabled"] for x in ("1-1", "1-2", "1-3", "1-4"))
    assert pgs["2-1"]["isEncryptionEnabled"] is False
    one = admin.get("parity-groups/1-2").json()
    assert one["parityGroupId"] == "1-2" and one["numOfLdevs"] == 2
    assert_kart(admin.get("parity-groups/7-7"), 404)


def test_drives(admin):
    drives = admin.get("drives").json()["data"]
    assert len(drives) == 20
    d = drives[0]
    assert {"driveLocationId", "parityGroupId", "driveTypeName", "usageType", "status"} <= set(d)
    only = admin.get("drives", params={"parityGroupId": "1-3"}).json()["data"]
    assert len(only) == 4 and all(x["parityGroupId"] == "1-3" for x in only)
    assert admin.get(f"drives/{d['driveLocationId']}").json() == d
    assert_kart(admin.get("drives/HDD99-99"), 404)
