"""Start vsp-simulator as a subprocess (real HTTPS, through vsp_simulator.harness) and give tests a
small client of the array API."""

from __future__ import annotations

import time

import pytest
import requests
from vsp_simulator.harness import ControlClient, SimulatorProcess
from vsp_simulator.users import ADMIN, VIEWER

SDID = "936000412345"
OBJ = "/ConfigurationManager/v1/objects"
JOB_MS = 20


class Client:
    """A thin requests wrapper: paths relative to /ConfigurationManager/v1/objects."""

    def __init__(self, base, verify):
        self.base = base
        self.verify = verify
        self.http = requests.Session()
        self.http.verify = verify
        self.http.trust_env = False  # no proxies, no REQUESTS_CA_BUNDLE overriding verify
        self.token = None
        self.session_id = None
        self.control = ControlClient(base, verify)

    def url(self, path):
        if path.startswith("/"):
            return self.base + path
        return self.base + OBJ + "/" + path

    def login(self, user=ADMIN.name, password=ADMIN.password, **body):
        r = self.http.post(self.url("sessions"), auth=(user, password), json=body or None)
        assert r.status_code == 200, r.text
        self.token = r.json()["token"]
        self.session_id = r.json()["sessionId"]
        return self

    def headers(self, extra=None):
        h = {"Authorization": f"Session {self.token}"} if self.token else {}
        h.update(extra or {})
        return h

    def request(self, method, path, headers=None, **kw):
        return self.http.request(method, self.url(path), headers=self.headers(headers),
                                 timeout=30, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def wait(self, path, method="POST", **kw):
        """Send an async request with Response-Job-Status: Completed; the finished job."""
        headers = {"Response-Job-Status": "Completed"}
        r = self.request(method, path, headers=headers, **kw)
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["status"] == "Completed", job
        return job

    def poll(self, job, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            got = self.get(f"jobs/{job['jobId']}").json()
            if got["status"] == "Completed" or time.monotonic() > deadline:
                return got
            time.sleep(0.01)

    def keys(self, key_type):
        r = self.get("encryption-keys", params={"keyType": key_type})
        assert r.status_code == 200, r.text
        return r.json()["data"]

    def ctl(self, method, name, **kw):
        """A control request; the response whatever its status (tests check it)."""
        return self.control.send(method, name, **kw)

    def logout(self):
        if self.token:
            self.delete(f"sessions/{self.session_id}")
            self.token = None


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The session's simulator (a SimulatorProcess)."""
    with SimulatorProcess(tmp_path_factory.mktemp("sim"), job_ms=JOB_MS, job_parallelism=4) as sim:
        yield sim


@pytest.fixture
def fresh(server):
    """A reset simulator (no faults, empty request log) and an anonymous client."""
    c = Client(server.url, server.verify)
    c.control.reset()
    c.control.clear_faults()
    c.control.clear_requests()
    yield c
    c.control.clear_faults()


@pytest.fixture
def admin(fresh):
    fresh.login()
    return fresh


@pytest.fixture
def viewer(server, fresh):
    return Client(server.url, server.verify).login(*VIEWER.auth)


def assert_kart(resp, status):
    assert resp.status_code == status, resp.text
    body = resp.json()
    for k in ("errorSource", "messageId", "message", "cause", "solution", "solutionType",
              "detailCode"):
        assert k in body, (k, body)
    assert body["messageId"].startswith("KART") and body["messageId"].endswith("-E")
    return body
