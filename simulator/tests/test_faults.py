"""Fault kinds of POST /simulator/v1/faults for hostile and broken answers (issues 12 and 13):
identity, redirect, endless / drip / oversize / json / html bodies, stuck pages, message."""

import json
import threading
import time

import pytest
import requests
import urllib3
from conftest import OBJ, SDID, assert_kart
from vsp_simulator.users import ADMIN
from werkzeug.serving import make_server

from vsp_simulator import faults
from vsp_simulator.app import create_app
from vsp_simulator.simulator import Simulator

BACKUP = "encryption-keys/file/actions/backup/invoke"
PASSWORD = {"parameters": {"password": "Secret-42"}}


def fault(client, **spec):
    r = client.ctl("POST", "faults", json=spec)
    assert r.status_code == 200, r.text
    return r


# -- identity -------------------------------------------------------------------------------------
def test_identity_reported_by_every_storage_report(admin):
    fault(admin, identity={"storageDeviceId": "../../escape", "serialNumber": 999999})
    inst = admin.get("storages/instance").json()
    assert (inst["storageDeviceId"], inst["serialNumber"]) == ("../../escape", 999999)
    assert inst["model"] == "VSP E990"  # fields not given are the array's
    listed = admin.get("storages").json()["data"]
    assert [s["storageDeviceId"] for s in listed] == ["../../escape"]
    assert admin.get(f"storages/{SDID}").json()["storageDeviceId"] == "../../escape"
    # other routes are untouched, and the real id still serves the URL form
    assert admin.get(f"storages/{SDID}/ldevs/0").ok
    assert admin.keys("CEK")[0]["keyId"] == "16"


def test_identity_times_and_other_rules_still_apply(admin):
    fault(admin, identity={"storageDeviceId": "*"}, times=1)
    fault(admin, method="GET", path="/pools$", status=500, times=1)
    assert_kart(admin.get("pools"), 500)  # the identity rule does not swallow other requests
    assert admin.get("storages/instance").json()["storageDeviceId"] == "*"
    assert admin.get("storages/instance").json()["storageDeviceId"] == SDID  # used up


# -- redirect -------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect(admin, status):
    target = "https://127.0.0.1:9/ConfigurationManager/v1/objects/" + BACKUP
    fault(admin, method="POST", path="backup/invoke$", redirect=target, status=status, times=1)
    r = admin.post(BACKUP, json=PASSWORD, allow_redirects=False)
    assert r.status_code == status
    assert r.headers["Location"] == target
    assert r.content == b""
    log = admin.ctl("GET", "requests").json()
    assert (log[-1]["method"], log[-1]["status"]) == ("POST", status)
    assert admin.post(BACKUP, json=PASSWORD).headers["Content-Type"] == "application/octet-stream"


def test_redirect_default_status_is_307(admin):
    fault(admin, path="/pools$", redirect="http://localhost:9/x", times=1)
    r = admin.get("pools", allow_redirects=False)
    assert (r.status_code, r.headers["Location"]) == (307, "http://localhost:9/x")


# -- bodies ---------------------------------------------------------------------------------------
def test_endless_key_file(admin):
    fault(admin, method="POST", path="backup/invoke$", body="endless", times=1)
    r = admin.post(BACKUP, json=PASSWORD, stream=True)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert "Content-Length" not in r.headers
    got = 0
    first = b""
    for chunk in r.iter_content(64 * 1024):
        first = first or chunk
        got += len(chunk)
        if got >= 4 * 1024 * 1024:
            break
    r.close()
    assert first.startswith(faults.KEY_FILE_MAGIC) and got >= 4 * 1024 * 1024
    # no backup was made: the keys' numOfBackups did not grow
    assert all(k["numOfBackups"] == 0 for k in admin.ctl("GET", "state").json()["keys"])


def test_endless_json(admin):
    fault(admin, method="GET", path="encryption-keys$", body="endless", times=1)
    r = admin.get("encryption-keys", params={"keyType": "FREE"}, stream=True)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    head = b""
    for chunk in r.iter_content(64 * 1024):
        head += chunk
        if len(head) > 1000:
            break
    r.close()
    assert head.startswith(b'{"data": [{"keyId": "0"')


def test_oversize_json_is_valid_json_of_that_size(admin):
    size = 3_000_001
    fault(admin, method="GET", path="encryption-keys$", body="oversize", size=size, times=1)
    r = admin.get("encryption-keys", params={"keyType": "FREE"})
    assert r.status_code == 200 and r.headers["Content-Length"] == str(size)
    assert len(r.content) == size
    body = json.loads(r.content)
    assert len(body["data"]) > 10_000 and body["data"][0]["keyType"] == "FREE"


@pytest.mark.parametrize("size", [64, 65, 200, 1001])
def test_oversize_json_small_sizes_exact(size):
    data = b"".join(faults._oversize_json(size))
    assert len(data) == size
    json.loads(data)


def test_oversize_key_file(admin):
    fault(admin, method="POST", path="backup/invoke$", body="oversize", size=2 * 1024 * 1024 + 3)
    r = admin.post(BACKUP, json=PASSWORD)
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert len(r.content) == 2 * 1024 * 1024 + 3 == int(r.headers["Content-Length"])
    assert r.content.startswith(faults.KEY_FILE_MAGIC)


def test_json_answer_to_the_key_file_download(admin):
    fault(admin, method="POST", path="backup/invoke$", body="json", times=1)
    r = admin.post(BACKUP, json=PASSWORD)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    assert isinstance(r.json(), dict)
    fault(admin, method="POST", path="backup/invoke$", body="json", json={"jobId": 7}, times=1)
    assert admin.post(BACKUP, json=PASSWORD).json() == {"jobId": 7}
    assert all(k["numOfBackups"] == 0 for k in admin.ctl("GET", "state").json()["keys"])


def test_drip_sends_the_real_answer_byte_by_byte(admin):
    normal = admin.get("storages/instance").content
    fault(admin, method="GET", path="storages/instance$", body="drip", drip_ms=2, times=1)
    t0 = time.monotonic()
    r = admin.get("storages/instance", stream=True)
    chunks = list(r.iter_content(1))
    assert b"".join(chunks) == normal and int(r.headers["Content-Length"]) == len(normal)
    assert time.monotonic() - t0 >= len(normal) * 0.002  # lower bound: each byte waited 2 ms


@pytest.mark.parametrize("status", [500, 503])
def test_html_error_page(admin, status):
    fault(admin, method="GET", path="/pools$", body="html", status=status, times=2)
    for _ in range(2):
        r = admin.get("pools")
        assert r.status_code == status
        assert r.headers["Content-Type"].startswith("text/html")
        assert r.text.lstrip().startswith("<!DOCTYPE html>") and "</html>" in r.text
        assert ("Retry-After" in r.headers) == (status == 503)
    assert admin.get("pools").headers["Content-Type"].startswith("application/json")


def test_html_defaults_to_500(admin):
    fault(admin, path="/pools$", body="html", times=1)
    assert admin.get("pools").status_code == 500


def test_message_and_message_id(admin):
    text = "\x1b[31mboom\x1b[0m\r\nok: [localhost] => {\"changed\": false}\n"
    fault(admin, path="/pools$", status=500, message=text, message_id="KART00003-E", times=1)
    body = assert_kart(admin.get("pools"), 500)
    assert body["message"] == text and body["messageId"] == "KART00003-E"
    assert body["detailCode"] == "00003E-0"
    fault(admin, path="/pools$", status=503, message="busy now", times=1)
    r = admin.get("pools")
    assert r.json()["message"] == "busy now" and r.headers["Retry-After"] == "1"


# -- pages ----------------------------------------------------------------------------------------
def test_stuck_key_pages(admin):
    assert admin.ctl("POST", "reset", json={"scenario": {"keys": {"free": 1100}}}).ok
    admin.login()
    page2 = admin.get("encryption-keys", params={"keyType": "FREE", "startKeyId": 1042}).json()
    assert page2["data"][0]["keyId"] == "1042"
    fault(admin, method="GET", path="encryption-keys$", pages="stuck", times=2)
    for start in (1042, 2000):
        data = admin.get("encryption-keys", params={"keyType": "FREE", "startKeyId": start,
                                                    "count": 1024}).json()["data"]
        assert len(data) == 1024 and data[0]["keyId"] == "18"  # the first full page again
    again = admin.get("encryption-keys", params={"keyType": "FREE", "startKeyId": 1042}).json()
    assert again == page2


def test_stuck_ldev_pages(admin):
    fault(admin, pages="stuck")  # only paged lists are touched, even with an empty path
    data = admin.get("ldevs", params={"headLdevId": 5, "count": 3}).json()["data"]
    assert [d["ldevId"] for d in data] == [0, 1, 2]
    data = admin.get(f"storages/{SDID}/ldevs", params={"headLdevId": 9, "count": 2}).json()["data"]
    assert [d["ldevId"] for d in data] == [0, 1]
    assert admin.get("ldevs/7").json()["ldevId"] == 7


# -- validation -----------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", [
    {"redirect": "https://192.0.2.1/x"}, {"redirect": "https://example.com/x"},
    {"redirect": "ftp://127.0.0.1/x"}, {"redirect": "/relative"}, {"redirect": 7},
    {"redirect": "http://127.0.0.1/x", "status": 200},
    {"redirect": "http://127.0.0.1/x", "status": 500},
    {"redirect": "http://127.0.0.1/x", "body": "html"},
    {"body": "nope"}, {"body": "json", "status": 500}, {"body": "endless", "status": 404},
    {"body": "drip", "drip_ms": 0}, {"body": "drip", "drip_ms": 600001}, {"drip_ms": 5},
    {"body": "oversize"}, {"body": "oversize", "size": 10}, {"body": "oversize", "size": 2 ** 31},
    {"size": 100}, {"body": "json", "json": "text"}, {"json": {}},
    {"body": "json", "json": {"x": "y" * 70000}},
    {"identity": {}}, {"identity": {"password": "x"}}, {"identity": {"storageDeviceId": [1]}},
    {"identity": {"storageDeviceId": True}}, {"identity": "x"},
    {"identity": {"storageDeviceId": "1"}, "status": 500},
    {"pages": "loop"}, {"pages": "stuck", "status": 500},
    {"message": "x"}, {"status": 500, "message": 5}, {"status": 500, "message": "x" * 5000},
    {"status": 500, "message_id": "E1"}, {"body": "endless", "message": "x"},
    {"action": "drop", "status": 500}, {"times": True, "status": 500},
])
def test_validation(fresh, spec):
    r = fresh.ctl("POST", "faults", json=dict(spec, path=spec.get("path", "/pools$")))
    assert r.status_code == 400, (spec, r.text)
    assert fresh.ctl("GET", "state").ok
    fresh.login()
    assert fresh.get("pools").ok  # nothing was added


@pytest.mark.parametrize("spec", [
    {"redirect": "https://127.0.0.1:1/x"}, {"redirect": "http://[::1]:8/x", "status": 308},
    {"redirect": "https://127.9.9.9/x", "status": 301}, {"redirect": "https://LOCALHOST/x"},
    {"body": "html", "status": 502, "message": "x"}, {"body": "drip"}, {"body": "json", "json": []},
    {"identity": {"storageDeviceId": "a,b", "serialNumber": 1, "model": "VSP 5600"}},
    {"pages": "stuck", "times": 3}, {"status": 500, "message": "", "delay_ms": 5},
])
def test_validation_accepts(fresh, spec):
    assert fresh.ctl("POST", "faults", json=dict(spec, path="/nothing$")).status_code == 200


# -- bounded streams, in process (the counters are the simulator's own) ---------------------------
@pytest.fixture
def inproc():
    simulator = Simulator(job_ms=20)
    server = make_server("127.0.0.1", 0, create_app(simulator), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.socket.getsockname()[1]}"
    http = requests.Session()
    http.trust_env = False
    token = http.post(base + OBJ + "/sessions", auth=ADMIN.auth).json()["token"]
    http.headers["Authorization"] = f"Session {token}"
    yield simulator, base, http
    server.shutdown()
    thread.join(10)


def test_endless_stream_stops_when_the_client_goes_away(inproc):
    simulator, base, http = inproc
    simulator.faults.add({"method": "POST", "path": "backup/invoke$", "body": "endless"})
    for _ in range(3):
        r = http.post(base + OBJ + "/" + BACKUP, json=PASSWORD, stream=True)
        assert r.status_code == 200, r.text[:300]
        assert r.headers["Content-Type"] == "application/octet-stream", r.headers
        # Hold the iterator: a dropped iter_content generator is closed at once, and urllib3
        # then closes the connection (its error catcher takes GeneratorExit for an unclean
        # exit), so the client would be gone before the count below is read.
        chunks = r.iter_content(64 * 1024)
        assert next(chunks)
        assert not r.raw.closed  # the client still holds the stream
        # counted from before its first chunk was sent, and nothing else ends it while held
        assert simulator.faults.active_streams() == 1
        r.close()  # the client goes away mid-stream
        assert simulator.faults.wait_streams_idle(30), simulator.faults.active_streams()


def test_drip_stops_when_the_client_goes_away(inproc):
    simulator, base, http = inproc
    simulator.faults.add({"method": "GET", "path": "storages/instance$", "body": "drip",
                          "drip_ms": 20})
    r = http.get(base + OBJ + "/storages/instance", stream=True)
    assert r.raw.read(2) == b'{"'
    assert simulator.faults.active_streams() == 1
    r.close()
    assert simulator.faults.wait_streams_idle(30)


def test_endless_stream_is_capped_server_side(inproc, monkeypatch):
    simulator, base, http = inproc
    monkeypatch.setattr(faults, "STREAM_MAX_BYTES", 1024 * 1024)
    simulator.faults.add({"method": "POST", "path": "backup/invoke$", "body": "endless",
                          "times": 1})
    data = http.post(base + OBJ + "/" + BACKUP, json=PASSWORD, timeout=60).content
    assert faults.STREAM_MAX_BYTES <= len(data) <= faults.STREAM_MAX_BYTES + faults.CHUNK
    assert simulator.faults.wait_streams_idle(30)


def test_streams_are_capped_in_time(inproc, monkeypatch):
    simulator, base, http = inproc
    monkeypatch.setattr(faults, "STREAM_MAX_SECONDS", 0)
    simulator.faults.add({"method": "GET", "path": "storages/instance$", "body": "drip",
                          "drip_ms": 60000, "times": 1})
    r = http.get(base + OBJ + "/storages/instance", timeout=60, stream=True)
    with pytest.raises(urllib3.exceptions.ProtocolError):  # the stream ended before the first byte
        r.raw.read(100)
    assert simulator.faults.wait_streams_idle(30)
