"""The guide's rules: lose keys -> block -> restore -> recover."""

from conftest import SDID, assert_kart

BACKUP = "encryption-keys/file/actions/backup/invoke"
RESTORE = "encryption-keys/file/actions/restore/invoke"
KMS_RESTORE = "encryption-keys/all/actions/kms-restore/invoke"
PASSWORD = "Backup-Pass1"


def backup(client, password=PASSWORD):
    r = client.post(BACKUP, json={"parameters": {"password": password}})
    assert r.status_code == 200, r.text
    return r.content


def restore(client, blob, password=PASSWORD, wait=True):
    headers = {"Response-Job-Status": "Completed"} if wait else None
    return client.post(RESTORE, files={"file": ("keys.ekf", blob, "application/octet-stream")},
                       data={"password": password}, headers=headers)


def pool_volumes(client, pg):
    data = client.get("ldevs", params={"parityGroupId": pg, "count": "16384"}).json()["data"]
    return [v for v in data if "POOL" in v["attributes"]]


def set_status(client, pg, status):
    jobs = [client.wait(f"ldevs/{v['ldevId']}/actions/change-status/invoke",
                        json={"parameters": {"status": status}}) for v in pool_volumes(client, pg)]
    return jobs


def lose(client, *pgs):
    r = client.ctl("POST", "lose-keys", json={"parity_groups": list(pgs)})
    assert r.status_code == 200, r.text
    return r.json()["lost_key_ids"]


def test_lost_keys_absent_and_404(admin):
    lost = lose(admin, "1-1")
    assert len(lost) == 4
    listed = {k["keyId"] for k in admin.keys("DEK")}
    assert not set(lost) & listed and len(listed) == 12
    for kid in lost:
        assert_kart(admin.get(f"encryption-keys/{kid}"), 404)
    state = admin.ctl("GET", "state").json()
    assert {k["keyId"] for k in state["keys"] if k["lost"]} == set(lost)
    assert state["lost_parity_groups"] == ["1-1"]


def test_full_restore_procedure(admin):
    blob = backup(admin)
    lost = lose(admin, "1-1", "1-3")

    # refused while a pool volume of an affected group is not blocked
    body = assert_kart(restore(admin, blob), 412)
    assert "blocked" in body["message"]
    set_status(admin, "1-1", "blk")
    assert_kart(restore(admin, blob), 412)  # 1-3 still normal
    assert admin.get("pools/0").json()["poolStatus"] == "POLE"
    set_status(admin, "1-3", "blk")

    # recovering before the restore fails the job
    (job, _) = set_status(admin, "1-1", "nml")
    assert job["state"] == "Failed" and job["status"] == "Completed"
    assert job["error"]["messageId"] == "KART30000-E"
    assert "1-1" in job["error"]["message"]
    assert all(v["status"] == "BLK" for v in pool_volumes(admin, "1-1"))

    # wrong password / damaged file are refused with a KART error
    assert_kart(restore(admin, blob, password="Wrong-Pass1"), 400)
    damaged = bytearray(blob)
    damaged[-40] ^= 0xFF
    body = assert_kart(restore(admin, bytes(damaged)), 400)
    assert "damaged" in body["message"]
    assert_kart(restore(admin, b"not a key file at all" * 10), 400)
    assert_kart(restore(admin, blob[:20]), 400)

    # the restore
    r = restore(admin, blob)
    assert r.status_code == 202
    job = r.json()
    assert job["state"] == "Succeeded", job
    listed = {k["keyId"] for k in admin.keys("DEK")}
    assert set(lost) <= listed and len(listed) == 16
    assert admin.ctl("GET", "state").json()["lost_parity_groups"] == []

    # recovery now succeeds
    assert all(j["state"] == "Succeeded" for j in set_status(admin, "1-1", "nml"))
    assert all(j["state"] == "Succeeded" for j in set_status(admin, "1-3", "nml"))
    assert all(v["status"] == "NML" for v in pool_volumes(admin, "1-1"))
    assert admin.get("pools/0").json()["poolStatus"] == "POLN"


def test_restore_with_nothing_lost_changes_nothing(admin):
    blob = backup(admin)
    before = admin.ctl("GET", "state").json()["keys"]
    r = restore(admin, blob)
    assert r.status_code == 202 and r.json()["state"] == "Succeeded"
    assert admin.ctl("GET", "state").json()["keys"] == before


def test_restore_only_restores_keys_in_the_backup(admin):
    lose(admin, "1-2")
    blob = backup(admin)  # taken while 1-2's keys were lost: they are not in it
    set_status(admin, "1-2", "blk")
    assert restore(admin, blob).json()["state"] == "Succeeded"
    assert admin.ctl("GET", "state").json()["lost_parity_groups"] == ["1-2"]


def test_restore_request_validation(admin):
    blob = backup(admin)
    assert_kart(admin.post(RESTORE, files={"file": ("k.ekf", blob)}), 400)  # no password
    assert_kart(admin.post(RESTORE, data={"password": PASSWORD},
                           files={"other": ("x", b"x")}), 400)  # no file
    assert_kart(admin.post(RESTORE, json={"password": PASSWORD}), 415)
    # password given as a file part is accepted too (lenient)
    r = admin.post(RESTORE, files={"file": ("k.ekf", blob), "password": (None, PASSWORD)},
                   headers={"Response-Job-Status": "Completed"})
    assert r.status_code == 202 and r.json()["state"] == "Succeeded"


def test_restore_long_url_form(admin):
    blob = backup(admin)
    r = admin.post(f"storages/{SDID}/{RESTORE}", files={"file": ("k.ekf", blob)},
                   data={"password": PASSWORD}, headers={"Response-Job-Status": "Completed"})
    assert r.status_code == 202


def test_restore_file_of_another_array_refused(admin):
    scn = {"storage": {"model": "VSP E990", "serialNumber": 400001}}
    assert admin.ctl("POST", "reset", json={"scenario": scn}).ok
    admin.login()
    blob = backup(admin)
    assert admin.ctl("POST", "reset").ok
    admin.login()
    body = assert_kart(restore(admin, blob), 400)
    assert "another storage system" in body["message"]


def test_job_request_body_never_holds_the_password(admin):
    blob = backup(admin)
    job = restore(admin, blob).json()
    assert PASSWORD not in str(job)


def test_job_request_body_masks_secrets(admin):
    assert admin.ctl("POST", "reset", json={"scenario": {"kms": {"configured": True}}}).ok
    admin.login()
    job = admin.wait(KMS_RESTORE, json={"parameters": {"password": "Zz-secret-9", "n": 1}})
    assert "Zz-secret-9" not in str(job)
    assert '"n": 1' in job["request"]["requestBody"]


def test_kms_restore(admin):
    assert admin.ctl("POST", "reset", json={"scenario": {"kms": {"configured": True}}}).ok
    admin.login()
    lose(admin, "1-4")
    assert_kart(admin.post(KMS_RESTORE, json={}), 412)
    set_status(admin, "1-4", "blk")
    (job, _) = set_status(admin, "1-4", "nml")
    assert job["state"] == "Failed"
    job = admin.wait(KMS_RESTORE, json={})
    assert job["state"] == "Succeeded"
    assert len(admin.keys("DEK")) == 16
    assert all(j["state"] == "Succeeded" for j in set_status(admin, "1-4", "nml"))


def test_kms_restore_without_auto_backup_needs_a_kms_backup(admin):
    scn = {"kms": {"configured": True, "auto_backup": False}}
    assert admin.ctl("POST", "reset", json={"scenario": scn}).ok
    admin.login()
    assert admin.wait("encryption-keys/kms/actions/backup/invoke",
                      json={"parameters": {"keyIds": ["0", "1"]}})["state"] == "Succeeded"
    lose(admin, "1-1")
    set_status(admin, "1-1", "blk")
    assert admin.wait(KMS_RESTORE, json={})["state"] == "Succeeded"
    lost = {k["keyId"] for k in admin.ctl("GET", "state").json()["keys"] if k["lost"]}
    assert lost == {"2", "3"}


def test_lose_keys_validation(admin):
    assert admin.ctl("POST", "lose-keys", json={"parity_groups": ["9-9"]}).status_code == 400
    assert admin.ctl("POST", "lose-keys", json={"parity_groups": ["2-1"]}).status_code == 400
    assert admin.ctl("POST", "lose-keys", json={}).status_code == 400
