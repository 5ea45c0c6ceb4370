"""Sessions: login, token, expiry, cap, delete, roles."""

import time

from conftest import Client, assert_kart
from vsp_simulator.users import ADMIN


def test_login_returns_token_and_session_id(fresh):
    r = fresh.http.post(fresh.url("sessions"), auth=ADMIN.auth)
    assert r.status_code == 200
    body = r.json()
    assert isinstance(body["sessionId"], int)
    assert len(body["token"]) == 32 and int(body["token"], 16) >= 0


def test_bad_password_is_401_basic(fresh):
    r = fresh.http.post(fresh.url("sessions"), auth=("admin", "wrong"))
    assert_kart(r, 401)
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Block storage"'
    assert_kart(fresh.http.post(fresh.url("sessions"), auth=("nobody", "x")), 401)
    assert_kart(fresh.http.post(fresh.url("sessions")), 401)


def test_basic_auth_only_on_sessions(fresh):
    r = fresh.http.get(fresh.url("ldevs"), auth=ADMIN.auth)
    assert_kart(r, 401)
    assert r.headers["WWW-Authenticate"].startswith("Session")


def test_bad_token_is_401(fresh):
    fresh.token = "0" * 32
    r = fresh.get("ldevs")
    assert_kart(r, 401)
    assert r.headers["WWW-Authenticate"] == 'Session realm="Block storage"'


def test_alive_time_validated(fresh):
    for bad in (0, 301, "5", True):
        r = fresh.http.post(fresh.url("sessions"), auth=ADMIN.auth,
                            json={"aliveTime": bad})
        assert_kart(r, 400)
    assert_kart(fresh.http.post(fresh.url("sessions"), auth=ADMIN.auth,
                                json={"nope": 1}), 400)


def _sessions(client):
    return client.ctl("GET", "state").json()["sessions"]


def test_alive_time_idle_expiry(fresh):
    """A session idle longer than its aliveTime (1 s) is gone. The wait is on the simulator's
    own count (the control API's state, which does not touch the session), with a deadline of
    30 s: with aliveTime ignored (300 s by default) the session outlives it and the test fails."""
    fresh.login(aliveTime=1)
    assert fresh.get("ldevs/0").ok
    assert _sessions(fresh) == 1
    deadline = time.monotonic() + 30
    while _sessions(fresh) and time.monotonic() < deadline:
        time.sleep(0.05)  # a bounded poll of the simulator (another process): its count decides
    assert _sessions(fresh) == 0, "the session with aliveTime 1 was still alive after 30 s idle"
    assert_kart(fresh.get("ldevs/0"), 401)


def test_expire_sessions_control(admin):
    assert admin.ctl("GET", "state").json()["sessions"] == 1
    r = admin.ctl("POST", "expire-sessions")
    assert r.json() == {"expired": 1}
    assert_kart(admin.get("ldevs/0"), 401)
    assert admin.ctl("GET", "state").json()["sessions"] == 0


def test_delete_session(admin):
    sid = admin.session_id
    assert admin.get(f"sessions/{sid}").json()["userId"] == "admin"
    assert any(s["sessionId"] == sid for s in admin.get("sessions").json()["data"])
    r = admin.delete(f"sessions/{sid}")
    assert r.status_code == 200
    assert_kart(admin.get("ldevs/0"), 401)


def test_delete_unknown_or_foreign_session(admin, viewer):
    assert_kart(admin.delete("sessions/99999"), 404)
    assert_kart(viewer.delete(f"sessions/{admin.session_id}"), 403)
    assert admin.get("ldevs/0").ok


def test_session_cap_is_64(fresh):
    clients = [Client(fresh.base, fresh.verify).login() for _ in range(64)]
    r = fresh.http.post(fresh.url("sessions"), auth=ADMIN.auth)
    body = assert_kart(r, 503)
    assert r.headers["Retry-After"] == "1"
    assert body["solutionType"] == "RETRY"
    clients[0].logout()
    assert fresh.http.post(fresh.url("sessions"), auth=ADMIN.auth).status_code == 200


def test_sessions_expire_after_refused_logins(fresh):
    """Armed with after_refused_logins 2: the cap stays until the second login refused at it, then
    every session ends and the next login finds room (an event, no timer)."""
    for bad in (0, True, "1", None):
        r = fresh.ctl("POST", "expire-sessions", json={"after_refused_logins": bad})
        assert r.status_code == 400 and "after_refused_logins" in r.text, r.text
    r = fresh.ctl("POST", "expire-sessions", json={"nope": 1})
    assert r.status_code == 400 and "nope" in r.text, r.text
    clients = [Client(fresh.base, fresh.verify).login() for _ in range(64)]
    r = fresh.ctl("POST", "expire-sessions", json={"after_refused_logins": 2})
    assert r.json() == {"expired": 0, "after_refused_logins": 2}
    assert _sessions(fresh) == 64
    assert_kart(fresh.http.post(fresh.url("sessions"), auth=ADMIN.auth), 503)
    assert _sessions(fresh) == 64
    assert_kart(fresh.http.post(fresh.url("sessions"), auth=ADMIN.auth), 503)
    assert _sessions(fresh) == 0
    assert_kart(clients[0].get("ldevs/0"), 401)
    assert fresh.http.post(fresh.url("sessions"), auth=ADMIN.auth).status_code == 200
    # disarmed once it fired
    more = [Client(fresh.base, fresh.verify).login() for _ in range(63)]
    assert_kart(fresh.http.post(fresh.url("sessions"), auth=ADMIN.auth), 503)
    assert _sessions(fresh) == 64 and len(more) == 63


def test_viewer_may_create_and_delete_session(viewer):
    assert viewer.get("ldevs/0").ok
    assert viewer.keys("DEK")
    assert viewer.delete(f"sessions/{viewer.session_id}").status_code == 200


def test_viewer_gets_403_on_every_write(viewer):
    writes = [
        ("POST", "ldevs/0/actions/change-status/invoke", {"parameters": {"status": "blk"}}),
        ("PUT", "ldevs/0/actions/change-status/invoke", {"parameters": {"status": "blk"}}),
        ("POST", "encryption-keys", {"count": 1}),
        ("DELETE", "encryption-keys/20", None),
        ("POST", "encryption-keys/file/actions/backup/invoke",
         {"parameters": {"password": "abcdef"}}),
        ("POST", "encryption-keys/kms/actions/backup/invoke", {}),
        ("POST", "encryption-keys/all/actions/kms-restore/invoke", {}),
        ("POST", "encryption-keys/file/actions/restore/invoke", None),
        ("POST", "pools/0/actions/recover/invoke", None),
        ("POST", "/ConfigurationManager/v1/services/resource-group-service/actions/lock/invoke",
         {}),
        ("POST", "/ConfigurationManager/v1/services/resource-group-service/actions/unlock/invoke",
         {}),
    ]
    for method, path, body in writes:
        assert_kart(viewer.request(method, path, json=body), 403)
    assert viewer.ctl("GET", "requests").json()[-1]["status"] == 403


def test_lock_released_when_session_deleted(admin, fresh):
    lock = "/ConfigurationManager/v1/services/resource-group-service/actions/lock/invoke"
    assert admin.wait(lock, json={"parameters": {"waitTime": 0}})["state"] == "Succeeded"
    other = Client(fresh.base, fresh.verify).login()
    assert other.wait(lock, json={})["state"] == "Failed"
    admin.logout()
    assert other.wait(lock, json={})["state"] == "Succeeded"


def test_issued_tokens_control(fresh):
    """Test-only control request: every token issued since start, also after reset and logout."""
    fresh.login()
    first = fresh.token
    fresh.logout()
    fresh.ctl("POST", "reset")
    fresh.login()
    tokens = fresh.ctl("GET", "issued-tokens").json()["tokens"]
    assert tokens[-2:] == [first, fresh.token]
    assert all(len(t) == 32 and int(t, 16) >= 0 for t in tokens)
    log = fresh.ctl("GET", "requests").json()
    assert all(e["path"] != "/simulator/v1/issued-tokens" for e in log)
