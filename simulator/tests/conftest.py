"""Start vsp-simulator as a subprocess (real HTTPS) and give tests a small client."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

SDID = "936000412345"
OBJ = "/ConfigurationManager/v1/objects"
JOB_MS = 20


def _command():
    exe = shutil.which("vsp-simulator", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-m", "vsp_simulator"]


def start_server(tmp: Path, *extra, tls=True):
    port_file = tmp / "port"
    cert_dir = tmp / "certs"
    port_file.unlink(missing_ok=True)
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - closed by stop_server
    args = [*_command(), "--port", "0", "--port-file", str(port_file), "--cert-dir",
            str(cert_dir), *extra]
    if not tls:
        args.append("--no-tls")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError((tmp / "server.log").read_text())
        time.sleep(0.05)
    port = int(port_file.read_text())
    scheme = "https" if tls else "http"
    return proc, log, f"{scheme}://localhost:{port}", (str(cert_dir / "ca.pem") if tls else True)


def stop_server(proc, log):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


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

    def url(self, path):
        if path.startswith("/"):
            return self.base + path
        return self.base + OBJ + "/" + path

    def login(self, user="admin", password="vsp-admin", **body):
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
        return self.http.request(method, f"{self.base}/simulator/v1/{name}", timeout=30, **kw)

    def logout(self):
        if self.token:
            self.delete(f"sessions/{self.session_id}")
            self.token = None


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sim")
    proc, log, base, verify = start_server(tmp, "--job-ms", str(JOB_MS), "--job-parallelism", "4")
    yield {"base": base, "verify": verify, "log": tmp / "server.log", "tmp": tmp}
    stop_server(proc, log)


@pytest.fixture
def fresh(server):
    """A reset simulator (no faults, empty request log) and an anonymous client."""
    c = Client(server["base"], server["verify"])
    assert c.ctl("POST", "reset").status_code == 200
    c.ctl("DELETE", "faults")
    c.ctl("DELETE", "requests")
    yield c
    c.ctl("DELETE", "faults")


@pytest.fixture
def admin(fresh):
    fresh.login()
    return fresh


@pytest.fixture
def viewer(server, fresh):
    return Client(server["base"], server["verify"]).login("viewer", "vsp-viewer")


def assert_kart(resp, status):
    assert resp.status_code == status, resp.text
    body = resp.json()
    for k in ("errorSource", "messageId", "message", "cause", "solution", "solutionType",
              "detailCode"):
        assert k in body, (k, body)
    assert body["messageId"].startswith("KART") and body["messageId"].endswith("-E")
    return body
