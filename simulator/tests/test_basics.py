"""Version, storages, URL forms, unknown URLs."""

from conftest import OBJ, SDID, assert_kart


def test_version_needs_no_auth(fresh):
    r = fresh.get("/ConfigurationManager/configuration/version")
    assert r.status_code == 200
    assert r.json() == {"productName": "Configuration Manager REST API", "apiVersion": "1.31.0"}


def test_storages_needs_no_auth(fresh):
    r = fresh.get("storages")
    assert r.status_code == 200
    (st,) = r.json()["data"]
    assert st["storageDeviceId"] == SDID
    assert st["serialNumber"] == 412345
    assert st["model"] == "VSP E990"


def test_storage_instance(admin):
    r = admin.get("storages/instance")
    assert r.status_code == 200
    body = r.json()
    assert body["storageDeviceId"] == SDID and "dkcMicroVersion" in body
    assert admin.get(f"storages/{SDID}").json()["serialNumber"] == 412345
    assert_kart(admin.get("storages/936000999999"), 404)


def test_storage_instance_needs_session(fresh):
    r = fresh.get("storages/instance")
    assert_kart(r, 401)
    assert r.headers["WWW-Authenticate"] == 'Session realm="Block storage"'


def test_both_url_forms(admin):
    short = admin.get("ldevs/0").json()
    long = admin.get(f"storages/{SDID}/ldevs/0").json()
    assert short == long
    assert admin.get(f"storages/{SDID}/encryption-keys", params={"keyType": "KEK"}).ok


def test_wrong_storage_device_id_is_404(admin):
    body = assert_kart(admin.get("storages/936000000001/ldevs/0"), 404)
    assert "936000000001" in body["message"]
    assert_kart(admin.post("storages/936000000001/ldevs/0/actions/change-status/invoke",
                           json={"parameters": {"status": "blk"}}), 404)


def test_unknown_url_and_method(admin):
    assert_kart(admin.get("no-such-objects"), 404)
    assert_kart(admin.request("PATCH", "ldevs/0"), 405)


def test_error_object_source_is_the_path(admin):
    body = assert_kart(admin.get("encryption-keys"), 400)
    assert body["errorSource"] == OBJ + "/encryption-keys"
    assert body["messageId"] == "KART20008-E"
