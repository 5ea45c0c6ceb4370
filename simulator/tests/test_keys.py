"""Encryption keys: list/get/create/delete, backups to file and KMS, the lock rule."""

import re

import pytest
from conftest import SDID, assert_kart

from vsp_simulator import keyfile

LOCK = "/ConfigurationManager/v1/services/resource-group-service/actions/lock/invoke"
UNLOCK = "/ConfigurationManager/v1/services/resource-group-service/actions/unlock/invoke"
BACKUP = "encryption-keys/file/actions/backup/invoke"
KMS_BACKUP = "encryption-keys/kms/actions/backup/invoke"
KEY_FIELDS = {"keyId", "createdTime", "keyType", "uuid", "targetDeviceLocation",
              "keyGeneratedLocation", "numOfBackups"}


def test_default_key_inventory(admin):
    deks = admin.keys("DEK")
    assert len(deks) == 16
    assert all(set(k) == KEY_FIELDS and isinstance(k["keyId"], str) for k in deks)
    assert all(re.fullmatch(r"HDD\d\d-\d\d", k["targetDeviceLocation"]) for k in deks)
    assert all(k["uuid"] == "-" and k["keyGeneratedLocation"] == "DKC" for k in deks)
    free = admin.keys("FREE")
    assert len(free) == 8 and all(k["targetDeviceLocation"] == "-" for k in free)
    assert len(admin.keys("CEK")) == 1 and len(admin.keys("KEK")) == 1
    assert len(admin.keys("DEKANDFREE")) == 24


def test_dek_locations_are_drive_locations(admin):
    drives = admin.get("drives", params={"parityGroupId": "1-1"}).json()["data"]
    locs = {d["driveLocationId"] for d in drives}
    assert len(locs) == 4
    assert locs <= {k["targetDeviceLocation"] for k in admin.keys("DEK")}


@pytest.mark.parametrize("params", [
    {}, {"keyType": "dek"}, {"keyType": "ALL"},
    {"keyType": "DEK", "startKeyId": "-1"}, {"keyType": "DEK", "startKeyId": "4096"},
    {"keyType": "DEK", "startKeyId": "x"},
    {"keyType": "DEK", "count": "0"}, {"keyType": "DEK", "count": "1025"},
    {"keyType": "CEK", "startKeyId": "0"}, {"keyType": "KEK", "count": "1"},
    {"keyType": "CEK", "startCreatedTime": "2020-01-01T00:00:00Z"},
    {"keyType": "DEK", "startCreatedTime": "2020-01-01"},
    {"keyType": "DEK", "endCreatedTime": "2020-13-01T00:00:00Z"},
    {"keyType": "DEK", "startCreatedTime": "2030-01-01T00:00:00Z",
     "endCreatedTime": "2020-01-01T00:00:00Z"},
    {"keyType": "DEK", "bogus": "1"},
])
def test_list_validation(admin, params):
    assert_kart(admin.get("encryption-keys", params=params), 400)


def test_list_paging_and_time_filters(admin):
    page = admin.get("encryption-keys", params={"keyType": "DEK", "startKeyId": "3",
                                                "count": "2"}).json()["data"]
    assert [k["keyId"] for k in page] == ["3", "4"]
    none = admin.get("encryption-keys", params={"keyType": "DEKANDFREE",
                                                "endCreatedTime": "2025-01-01T00:00:00Z"})
    assert none.json()["data"] == []
    some = admin.get("encryption-keys", params={"keyType": "DEK",
                                                "startCreatedTime": "2025-01-01T00:00:00Z",
                                                "endCreatedTime": "2027-01-01T00:00:00Z"})
    assert len(some.json()["data"]) == 16


def test_get_one_key(admin):
    dek = admin.keys("DEK")[0]
    assert admin.get(f"encryption-keys/{dek['keyId']}").json() == dek
    free = admin.keys("FREE")[0]
    assert admin.get(f"encryption-keys/{free['keyId']}").json() == free
    cek = admin.keys("CEK")[0]
    assert_kart(admin.get(f"encryption-keys/{cek['keyId']}"), 404)
    assert_kart(admin.get("encryption-keys/4000"), 404)
    assert_kart(admin.get("encryption-keys/abc"), 404)


def test_key_reads_need_a_session(fresh):
    assert_kart(fresh.get("encryption-keys", params={"keyType": "DEK"}), 401)


def test_create_keys(admin):
    job = admin.wait("encryption-keys", json={"count": 3})
    assert job["state"] == "Succeeded"
    assert job["affectedResources"] == []
    assert len(admin.keys("FREE")) == 11
    assert_kart(admin.post("encryption-keys", json={}), 400)
    assert_kart(admin.post("encryption-keys", json={"count": 0}), 400)
    assert_kart(admin.post("encryption-keys", json={"count": "2"}), 400)
    too_many = admin.wait("encryption-keys", json={"count": 5000})
    assert too_many["state"] == "Failed" and too_many["error"]["messageId"].startswith("KART")
    assert len(admin.keys("FREE")) == 11


def test_delete_free_key_only(admin):
    free = admin.keys("FREE")[0]["keyId"]
    job = admin.wait(f"encryption-keys/{free}", method="DELETE")
    assert job["state"] == "Succeeded"
    assert job["affectedResources"] == [f"/ConfigurationManager/v1/objects/encryption-keys/{free}"]
    assert_kart(admin.get(f"encryption-keys/{free}"), 404)
    assert len(admin.keys("FREE")) == 7
    assert_kart(admin.delete(f"encryption-keys/{admin.keys('DEK')[0]['keyId']}"), 412)
    assert_kart(admin.delete(f"encryption-keys/{admin.keys('CEK')[0]['keyId']}"), 412)
    assert_kart(admin.delete("encryption-keys/4000"), 404)


def test_backup_to_file(admin):
    r = admin.post(BACKUP, json={"parameters": {"password": "Secr3t!pass"}},
                   headers={"Accept": "application/octet-stream"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/octet-stream"
    m = re.fullmatch(r'attachment; filename="(\d{12})_(\d{14})\.ekf"',
                     r.headers["Content-Disposition"])
    assert m and m.group(1) == SDID
    assert int(r.headers["Content-Length"]) == len(r.content)
    assert r.content.startswith(keyfile.MAGIC)
    # plaintext markers long enough (7+ bytes) that random ciphertext cannot hold them by chance
    for marker in (b'"keyId"', b'"keyType"', b'"material"', b"HDD00-0"):
        assert marker not in r.content
    payload = keyfile.open_file(r.content, "Secr3t!pass")
    assert len(payload["keys"]) == 26
    with pytest.raises(keyfile.WrongPassword):
        keyfile.open_file(r.content, "other-password")


def test_backup_with_put_and_long_url(admin):
    r = admin.put(f"storages/{SDID}/{BACKUP}", json={"parameters": {"password": "abcdef"}})
    assert r.status_code == 200 and r.content.startswith(keyfile.MAGIC)


def test_num_of_backups_grows_per_backup(admin):
    before = {k["keyId"]: k["numOfBackups"] for k in admin.keys("DEKANDFREE")}
    for _ in range(2):
        assert admin.post(BACKUP, json={"parameters": {"password": "abcdef"}}).ok
    after = {k["keyId"]: k["numOfBackups"] for k in admin.keys("DEKANDFREE")}
    assert all(after[k] == before[k] + 2 for k in before)
    assert admin.keys("CEK")[0]["numOfBackups"] == 2


@pytest.mark.parametrize("password", ["abcde", "a" * 256, "has space", "pässwort", "tab\tpass",
                                      123456, None])
def test_backup_password_rules(admin, password):
    assert_kart(admin.post(BACKUP, json={"parameters": {"password": password}}), 400)


@pytest.mark.parametrize("password", ["abcdef", "a" * 255, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"])
def test_backup_password_accepted(admin, password):
    assert admin.post(BACKUP, json={"parameters": {"password": password}}).status_code == 200


def test_backup_requires_password_and_known_params(admin):
    assert_kart(admin.post(BACKUP, json={}), 400)
    assert_kart(admin.post(BACKUP, json={"parameters": {"password": "abcdef", "x": 1}}), 400)
    assert_kart(admin.post(BACKUP, data=b"{not json", headers={"Content-Type":
                                                                 "application/json"}), 400)


def test_lock_blocks_backup_create_delete(admin):
    assert admin.wait(LOCK, json={"parameters": {"waitTime": 30}})["state"] == "Succeeded"
    body = assert_kart(admin.post(BACKUP, json={"parameters": {"password": "abcdef"}}), 412)
    assert "unlock" in body["solution"].lower()
    assert_kart(admin.post("encryption-keys", json={"count": 1}), 412)
    assert_kart(admin.delete(f"encryption-keys/{admin.keys('FREE')[0]['keyId']}"), 412)
    assert_kart(admin.post(KMS_BACKUP, json={}), 412)
    assert admin.wait(UNLOCK, method="PUT", json={})["state"] == "Succeeded"
    assert admin.post(BACKUP, json={"parameters": {"password": "abcdef"}}).status_code == 200


def test_lock_service_long_form(admin):
    lock = f"/ConfigurationManager/v1/{SDID}/services/resource-group-service/actions/lock/invoke"
    assert admin.wait(lock, method="PUT", json={"parameters": {"waitTime": 5}})["state"] == \
        "Succeeded"
    assert_kart(admin.post(BACKUP, json={"parameters": {"password": "abcdef"}}), 412)
    assert_kart(admin.post(lock.replace(SDID, "936000000009"), json={}), 404)
    assert_kart(admin.post(LOCK, json={"parameters": {"waitTime": -1}}), 400)


def test_lock_of_other_session_does_not_block_backup(admin, fresh):
    from conftest import Client
    other = Client(fresh.base, fresh.verify).login()
    assert other.wait(LOCK, json={})["state"] == "Succeeded"
    assert admin.post(BACKUP, json={"parameters": {"password": "abcdef"}}).status_code == 200


def test_kms_refused_without_kms(admin):
    body = assert_kart(admin.post(KMS_BACKUP, json={}), 412)
    assert "key management server" in body["message"].lower()
    assert_kart(admin.post("encryption-keys/all/actions/kms-restore/invoke", json={}), 412)


def test_kms_backup(admin):
    assert admin.ctl("POST", "reset", json={"scenario": {"kms": {"configured": True}}}).ok
    admin.login()
    job = admin.wait(KMS_BACKUP, json={})
    assert job["state"] == "Succeeded"
    assert all(k["numOfBackups"] == 1 for k in admin.keys("DEKANDFREE"))
    job = admin.wait(KMS_BACKUP, json={"parameters": {"keyIds": ["0", "1"]}})
    assert job["state"] == "Succeeded"
    counts = {k["keyId"]: k["numOfBackups"] for k in admin.keys("DEK")}
    assert counts["0"] == 2 and counts["1"] == 2 and counts["2"] == 1
    assert_kart(admin.post(KMS_BACKUP, json={"parameters": {"keyIds": ["4000"]}}), 404)
    assert_kart(admin.post(KMS_BACKUP, json={"parameters": {"keyIds": []}}), 400)
    state = admin.ctl("GET", "state").json()
    assert state["kms"]["configured"] is True and state["kms"]["backups"] == 2
    # the rest of the default scenario is kept
    assert len(state["parity_groups"]) == 5
