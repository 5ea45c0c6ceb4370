"""The harness: start ``vsp-simulator`` as a child process and drive its control API.

Every launcher of the project uses this module: ``hack/with-simulator`` (the demo and the suites it
wraps), the simulator's own tests, the reliability, ecosystem, integration, official and molecule
suites and the benchmark. ::

    from vsp_simulator.harness import SimulatorProcess

    with SimulatorProcess(tmp_path, job_ms=50) as sim:      # started; stopped on exit
        sim.control.reset()
        client_options = sim.connection()                    # host, port, username, ... ca_path
        sim.control.add_fault(path="ldevs", status=503, times=1)
        sim.kill()                                           # as a crash would
        sim.restart()                                        # same port, same state file

A suite run under ``hack/with-simulator`` finds its simulator with
:meth:`RunningSimulator.from_environment` (the ``VSP_*`` variables the wrapper exports).

Nothing here sleeps to synchronise: each wait polls for its condition (the port file, a request in
the log) and is bounded by a timeout that only a run gone wrong reaches.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from .users import ADMIN, DEFAULT_USERS, VIEWER, User

__all__ = [
    "ADMIN", "DEFAULT_USERS", "VIEWER", "ControlClient", "ControlError", "RunningSimulator",
    "SimulatorProcess", "SimulatorStartError", "User", "clean_env", "simulator_command",
]

CONTROL_PATH = "/simulator/v1/"
ARRAY_PATH = "/ConfigurationManager/v1/objects/"
POLL_S = 0.02  # the interval of the bounded polls (port file, request log)
ENV_PREFIXES = ("VSP_", "ANSIBLE_")
ANSIBLE_QUIET = {  # for the clean environment of an Ansible child: no colours, no noise
    "ANSIBLE_NOCOLOR": "1", "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
    "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
}


class ControlError(RuntimeError):
    """A control request the simulator did not answer with 200."""


class SimulatorStartError(RuntimeError):
    """The simulator exited, or did not listen within the timeout; the message ends with its log."""


def _session(verify):
    import requests  # noqa: PLC0415 - only the clients need it, not the simulator

    http = requests.Session()
    http.trust_env = False  # no proxies, no REQUESTS_CA_BUNDLE overriding verify
    http.verify = verify
    return http


def bin_dir():
    """The directory of the running Python's scripts (the venv's ``bin``)."""
    return os.path.dirname(os.path.abspath(sys.executable))


def simulator_command():
    """The command that starts the simulator: the venv's ``vsp-simulator``, else ``python -m``."""
    exe = shutil.which("vsp-simulator", path=bin_dir())
    return [exe] if exe else [sys.executable, "-m", "vsp_simulator"]


def clean_env(environ=None, **extra):
    """``environ`` (default ``os.environ``) less every ``VSP_*`` and ``ANSIBLE_*`` variable, with
    the venv's ``bin`` first on ``PATH``, plus ``extra``: the environment of a child that must see
    nothing of the caller's connection or Ansible settings (the simulator, ansible-playbook...)."""
    env = {k: v for k, v in (os.environ if environ is None else environ).items()
           if not k.startswith(ENV_PREFIXES)}
    env["PATH"] = bin_dir() + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


class ControlClient:
    """A client of the control API (``<url>/simulator/v1/``): state, reset, faults, jobs, log."""

    def __init__(self, url, verify=True, timeout=30):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.http = _session(verify)

    def send(self, method, what, body=None, **kw):
        """Send one control request; the ``requests`` response, whatever its status."""
        if body is not None:
            kw["json"] = body
        return self.http.request(method, self.url + CONTROL_PATH + what,
                                 timeout=kw.pop("timeout", self.timeout), **kw)

    def call(self, method, what, body=None):
        """Send one control request; its JSON answer (:class:`ControlError` unless 200)."""
        resp = self.send(method, what, body)
        if resp.status_code != 200:
            raise ControlError(f"{method} {CONTROL_PATH}{what}: HTTP {resp.status_code} "
                               f"{resp.text[:300]}")
        return json.loads(resp.text)

    def state(self):
        """The whole array state (``GET state``)."""
        return self.call("GET", "state")

    def reset(self, scenario=None):
        """Back to the start scenario, with ``scenario``'s top-level keys replacing its own."""
        return self.call("POST", "reset", {"scenario": scenario} if scenario else None)

    def lose_keys(self, *parity_groups):
        """Mark the DEKs of ``parity_groups`` lost; the key ids."""
        return self.call("POST", "lose-keys", {"parity_groups": list(parity_groups)})

    def add_fault(self, **rule):
        """Add a fault rule (``path``, ``method``, ``status``, ``times``, ``action``, ...)."""
        return self.call("POST", "faults", rule)

    def clear_faults(self):
        return self.call("DELETE", "faults")

    def requests_log(self):
        """The array requests seen so far (method, path, status, ms), oldest first."""
        return self.call("GET", "requests")

    def clear_requests(self):
        return self.call("DELETE", "requests")

    def expire_sessions(self, after_refused_logins=None):
        """End every session now (how many), or once ``after_refused_logins`` logins were
        refused at the session cap (0)."""
        if after_refused_logins is None:
            return self.call("POST", "expire-sessions")["expired"]
        body = {"after_refused_logins": after_refused_logins}
        return self.call("POST", "expire-sessions", body)["expired"]

    def issued_tokens(self):
        """Every session token issued since the simulator started (for leak checks)."""
        return self.call("GET", "issued-tokens")["tokens"]

    def hold_jobs(self):
        """Keep jobs from completing until :meth:`release_jobs`."""
        return self.call("POST", "jobs", {"hold": True})

    def release_jobs(self):
        return self.call("POST", "jobs", {"hold": False})

    def await_log(self, condition, timeout=60, running=None):
        """Poll the request log until ``condition(log)`` holds; the log, or None when ``timeout``
        seconds pass first or the process ``running`` (a ``Popen``) ends first. The condition, not
        the time, ends the wait: the timeout only bounds a run that went wrong."""
        deadline = time.monotonic() + timeout
        while True:
            ended = time.monotonic() > deadline
            ended = ended or (running is not None and running.poll() is not None)
            log = self.requests_log()
            if condition(log):
                return log
            if ended:
                return None
            time.sleep(POLL_S)


class RunningSimulator:
    """Where a simulator answers: its address, CA, control client and client connection options."""

    def __init__(self, host, port, ca_path=None, tls=True, user=ADMIN):
        self.host = host
        self.port = port
        self.tls = tls
        self.ca_path = ca_path if tls else None
        self.user = user
        self._control = None

    @classmethod
    def from_environment(cls, environ=None, user=ADMIN):
        """The simulator ``hack/with-simulator`` started (``VSP_HOST``, ``VSP_PORT``,
        ``VSP_PROTOCOL``, ``VSP_CA_PATH``); None outside it."""
        env = os.environ if environ is None else environ
        if not env.get("VSP_SIMULATOR_URL"):
            return None
        tls = env.get("VSP_PROTOCOL", "https") == "https"
        return cls(env["VSP_HOST"], int(env["VSP_PORT"]), env.get("VSP_CA_PATH"), tls, user)

    @property
    def protocol(self):
        return "https" if self.tls else "http"

    @property
    def url(self):
        """``<protocol>://<host>:<port>`` (the array API is under /ConfigurationManager)."""
        return f"{self.protocol}://{self.host}:{self.port}"

    @property
    def verify(self):
        """What ``requests`` takes as ``verify``: the CA file, or True without TLS."""
        return self.ca_path if self.tls else True

    @property
    def control(self):
        """The :class:`ControlClient` of this simulator."""
        if self._control is None or self._control.url != self.url:
            self._control = ControlClient(self.url, self.verify)
        return self._control

    def connection(self, user=None, **extra):
        """The connection options of the collection's modules for this simulator, as ``user``
        (default: this simulator's user, the default admin unless told otherwise)."""
        user = user or self.user
        conn = {"host": self.host, "port": self.port, "protocol": self.protocol,
                "username": user.name, "password": user.password}
        if self.tls:
            conn.update(validate_certs=True, ca_path=self.ca_path)
        conn.update(extra)
        return conn

    def array_job(self, path, body=None, method="POST", user=None):
        """Log in to the array API as ``user``, send one request that starts a job (``path``
        relative to /ConfigurationManager/v1/objects/), wait for the job with
        ``Response-Job-Status: Completed``, log out; the finished job (a dict)."""
        http = _session(self.verify)
        url = self.url + ARRAY_PATH
        login = http.post(url + "sessions", auth=(user or self.user).auth, json={}, timeout=30)
        login.raise_for_status()
        session = login.json()
        headers = {"Authorization": "Session " + session["token"],
                   "Response-Job-Status": "Completed"}
        try:
            resp = http.request(method, url + path, json=body or {}, headers=headers, timeout=60)
            if resp.status_code != 202:
                raise ControlError(f"{method} {path}: HTTP {resp.status_code} {resp.text[:300]}")
            return resp.json()
        finally:
            http.delete(url + f"sessions/{session['sessionId']}", headers=headers, json={},
                        timeout=30)

    def environment(self, workdir=None):
        """The ``VSP_*`` variables ``hack/with-simulator`` exports (no credentials)."""
        env = {"VSP_HOST": self.host, "VSP_PORT": self.port, "VSP_PROTOCOL": self.protocol,
               "VSP_SIMULATOR_URL": self.url, "VSP_CA_PATH": self.ca_path,
               "VSP_SIMULATOR_DIR": workdir}
        return {k: str(v) for k, v in env.items() if v is not None}


class SimulatorProcess(RunningSimulator):
    """One ``vsp-simulator`` child process with its own directory (port file, CA, log, state).

    ``scenario`` is a scenario file or a mapping (written to ``<workdir>/scenario.yml``);
    ``state_file`` True keeps the state in ``<workdir>/state.json`` (so :meth:`restart` keeps it),
    a path puts it there. ``latency_ms``, ``job_ms``, ``job_parallelism``: the CLI options of the
    same name (None: the CLI's default). ``args``: more CLI arguments. The child's environment is
    :func:`clean_env`'s; its stdout and stderr go to ``<workdir>/simulator.log``.
    """

    def __init__(self, workdir, *, host="127.0.0.1", tls=True, scenario=None, state_file=None,
                 latency_ms=None, job_ms=None, job_parallelism=None, args=(), user=ADMIN,
                 start_timeout=30):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        super().__init__(host, 0, str(self.dir / "ca.pem"), tls, user)
        self.port_file = self.dir / "port"
        self.log_path = self.dir / "simulator.log"
        if state_file is True:
            state_file = self.dir / "state.json"
        self.state_file = str(state_file) if state_file else None
        if isinstance(scenario, dict):
            import yaml  # noqa: PLC0415

            path = self.dir / "scenario.yml"
            path.write_text(yaml.safe_dump(scenario))
            scenario = path
        self.options = {"--scenario": scenario, "--state-file": self.state_file,
                        "--latency-ms": latency_ms, "--job-ms": job_ms,
                        "--job-parallelism": job_parallelism}
        self.args = list(args)
        self.start_timeout = start_timeout
        self.proc = None

    # -- the process -------------------------------------------------------------------------------
    def command(self):
        """The command line of the child (port 0 at the first start, the same port after)."""
        cmd = [*simulator_command(), "--host", self.host, "--port", str(self.port),
               "--port-file", str(self.port_file), "--cert-dir", str(self.dir)]
        for flag, value in self.options.items():
            if value is not None:
                cmd += [flag, str(value)]
        if not self.tls:
            cmd.append("--no-tls")
        return cmd + self.args

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, wait=True):
        """Start the child; with ``wait``, return once it listens (see :meth:`wait_ready`)."""
        if self.running():
            raise RuntimeError("the simulator is running already")
        self.port_file.unlink(missing_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - our own command line
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=clean_env(),
                start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=None):
        """Poll for the port file (the child writes it atomically once it listens) and the child;
        :class:`SimulatorStartError` with the child's log if it exits or ``timeout`` passes."""
        deadline = time.monotonic() + (self.start_timeout if timeout is None else timeout)
        while not self.port_file.exists():
            if self.proc.poll() is not None:
                raise SimulatorStartError(f"vsp-simulator exited ({self.proc.returncode}):\n"
                                          + self.log()[-4000:])
            if time.monotonic() > deadline:
                self.kill()
                raise SimulatorStartError("vsp-simulator did not listen in time:\n"
                                          + self.log()[-4000:])
            time.sleep(POLL_S)
        self.port = int(self.port_file.read_text().strip())
        return self

    def _signal(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL if the child has not exited within ``timeout`` seconds."""
        if self.running():
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self

    def kill(self):
        """SIGKILL at once, as a crashed or power-cycled REST server would stop."""
        if self.running():
            self._signal(signal.SIGKILL)
            self.proc.wait()
        return self

    def restart(self, kill=False, timeout=None):
        """Stop (or kill) and start again on the same port with the same state file and CA dir.
        A start that fails (the port not free yet) is retried until ``timeout`` passes."""
        (self.kill if kill else self.stop)()
        deadline = time.monotonic() + (self.start_timeout if timeout is None else timeout)
        while True:
            try:
                return self.start()
            except SimulatorStartError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(POLL_S)

    def log(self):
        """The child's stdout and stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self):
        if not self.running():
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
