"""Differences found by running a client nobody here wrote (Hitachi's collection) and the
pools-stay-blocked scenario switch."""

from conftest import assert_kart

BLK = {"parameters": {"status": "blk"}}
NML = {"parameters": {"status": "nml"}}


def reset(client, **options):
    r = client.ctl("POST", "reset", json={"scenario": {"options": options}})
    assert r.status_code == 200, r.text


def test_external_parity_groups_is_an_empty_list(admin):
    for path in ("external-parity-groups", "storages/936000412345/external-parity-groups"):
        r = admin.get(path)
        assert r.status_code == 200, r.text
        assert r.json() == {"data": []}
    assert_kart(admin.get("external-parity-groups/1-1"), 404)


def test_external_parity_groups_needs_a_session(fresh):
    assert_kart(fresh.get("external-parity-groups"), 401)


def test_not_found_words_as_hitachis_code_matches(admin):
    for path in ("parity-groups/9-9", "ldevs/65000", "pools/77", "drives/HDD99-99",
                 "jobs/123456", "no-such-collection"):
        body = assert_kart(admin.get(path), 404)
        assert body["messageId"] == "KART30013-E"
        text = " ".join((body["message"], body["cause"], body["solution"]))
        assert "Specified object does not exist" in text, body


def test_jobs_list_newest_first_own_only(admin, viewer):
    first = admin.wait("ldevs/0/actions/change-status/invoke", json=BLK)
    second = admin.wait("ldevs/0/actions/change-status/invoke", json=NML)
    r = admin.get("jobs")
    assert r.status_code == 200, r.text
    ids = [j["jobId"] for j in r.json()["data"]]
    assert ids[:2] == [second["jobId"], first["jobId"]]
    assert [j["jobId"] for j in admin.get("jobs", params={"count": "1"}).json()["data"]] == [
        second["jobId"]]
    assert viewer.get("jobs").json()["data"] == []
    assert_kart(admin.get("jobs", params={"count": "0"}), 400)


def test_default_pool_follows_its_volumes(admin):
    assert admin.ctl("GET", "state").json()["options"] == {}
    admin.wait("ldevs/0/actions/change-status/invoke", json=BLK)
    assert admin.get("pools/0").json()["poolStatus"] == "POLE"
    admin.wait("ldevs/0/actions/change-status/invoke", json=NML)
    assert admin.get("pools/0").json()["poolStatus"] == "POLN"


def test_pools_stay_blocked_until_recovered(admin):
    reset(admin, pools_stay_blocked=True)
    admin.login()
    for body in (BLK, NML):
        for ldev in (0, 1):
            job = admin.wait(f"ldevs/{ldev}/actions/change-status/invoke", json=body)
            assert job["state"] == "Succeeded", job
    pool = admin.get("pools/0").json()
    assert pool["poolStatus"] == "POLE" and pool["hasBlockedPoolVolume"] is False
    assert admin.get("pools/1").json()["poolStatus"] == "POLN"
    state = admin.ctl("GET", "state").json()
    assert [p["poolStatus"] for p in state["pools"]] == ["POLE", "POLN", "POLN"]
    assert state["options"] == {"pools_stay_blocked": True}
    job = admin.wait("pools/0/actions/recover/invoke")
    assert job["state"] == "Succeeded", job
    assert admin.get("pools/0").json()["poolStatus"] == "POLN"
    # recovered: a second recover is refused as the array words it (callers treat it as done)
    body = assert_kart(admin.post("pools/0/actions/recover/invoke"), 412)
    assert "not in the blocked status" in body["message"]


def test_pools_stay_blocked_recover_fails_while_keys_lost(admin):
    reset(admin, pools_stay_blocked=True)
    admin.login()
    admin.wait("ldevs/0/actions/change-status/invoke", json=BLK)
    admin.ctl("POST", "lose-keys", json={"parity_groups": ["1-1"]})
    job = admin.wait("pools/0/actions/recover/invoke")
    assert job["state"] == "Failed" and "1-1" in job["error"]["message"]
    assert admin.get("pools/0").json()["poolStatus"] == "POLE"


def test_unknown_option_refused(fresh):
    r = fresh.ctl("POST", "reset", json={"scenario": {"options": {"pools_stay_blokced": True}}})
    assert r.status_code == 400 and "pools_stay_blokced" in r.text
    r = fresh.ctl("POST", "reset", json={"scenario": {"options": {"pools_stay_blocked": "yes"}}})
    assert r.status_code == 400 and "true or false" in r.text
