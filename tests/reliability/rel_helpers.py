"""Helpers of the reliability and security suite (issue #6): simulators, Ansible runs, checks.

Everything runs for real: `vsp-simulator` subprocesses over HTTPS (their own trustme CA), and
`ansible-playbook` with the collection from ANSIBLE_COLLECTIONS_PATH (`make collection`), the venv
Python as interpreter, and many cases batched into one playbook (each task `ignore_errors: true`),
whose results come back through the `ansible.builtin.json` stdout callback.
"""
import hashlib
import hmac
import json
import os
import re
import socket
import sys
import threading

from vsp_simulator import playbook, users
from vsp_simulator.harness import SimulatorProcess, User

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(os.path.abspath(sys.executable))
PYTHON = sys.executable
FQ = "vsp.encryption."

# Distinctive secrets: a grep for them in any output is meaningful (nothing else can contain them).
ADMIN_PASSWORD = "Zq7-adm1n-Lk4w9Xv"
VIEWER_PASSWORD = "Vw3-v1ewer-Hj8t2Pn"
BACKUP_PASSWORD = "Bk9#kEyF1le-Rq5mZ"
WRONG_BACKUP_PASSWORD = "Wr0ng#Pw-Ut6yJc"
SECRET_VALUES = (ADMIN_PASSWORD, VIEWER_PASSWORD, BACKUP_PASSWORD, WRONG_BACKUP_PASSWORD)

# the simulator's default users with the distinctive passwords
ADMIN = User(users.ADMIN.name, ADMIN_PASSWORD, users.ADMIN.roles)
VIEWER = User(users.VIEWER.name, VIEWER_PASSWORD, users.VIEWER.roles)
SCENARIO = {"users": users.scenario_users((ADMIN, VIEWER))}

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
SESSIONS_RE = re.compile(r"/v1/objects/(storages/[^/]+/)?sessions(/\d+)?$")


class Simulator(SimulatorProcess):
    """A simulator of the suite (vsp_simulator.harness): its own directory, CA, log and state file,
    the suite's scenario (distinctive passwords), 50 ms jobs; the module options of the suite's admin."""

    def __init__(self, workdir, name="sim", job_ms=50, tls=True):
        super().__init__(os.path.join(str(workdir), name), scenario=SCENARIO, state_file=True, job_ms=job_ms, tls=tls, user=ADMIN)

    def connection(self, user=None, **extra):
        return super().connection(user, **dict({"timeout": 10, "retries": 3}, **extra))


# -- reading the simulator's answers ----------------------------------------------------------------
def write_requests(log):
    """Write requests of the array API other than creating / deleting a session (architecture.md)."""
    return [e for e in log if e["method"] in WRITE_METHODS and not SESSIONS_RE.search(e["path"])]


def accepted_writes(log):
    """Write requests the simulator carried out (2xx)."""
    return [e for e in write_requests(log) if 200 <= e["status"] < 300]


def logins(log):
    return [e for e in log if e["method"] == "POST" and SESSIONS_RE.search(e["path"]) and e["path"].endswith("sessions")]


def array_view(state):
    """The parts of the state a write would change (volumes, pools, keys with their backups, KMS)."""
    return {
        "ldevs": sorted((ld["ldevId"], ld.get("status")) for ld in state["ldevs"]),
        "pools": sorted((p["poolId"], p.get("poolStatus")) for p in state["pools"]),
        "keys": sorted((k["keyId"], k.get("keyType"), k.get("lost"), k.get("numOfBackups")) for k in state["keys"]),
        "kms": state.get("kms"),
        "lost": state.get("lost_parity_groups"),
    }


# -- Ansible ------------------------------------------------------------------------------------------
def collections_path():
    """Where `make collection` copied the collection (the Makefile exports ANSIBLE_COLLECTIONS_PATH)."""
    path = os.environ.get("ANSIBLE_COLLECTIONS_PATH")
    if not path or not os.path.isdir(os.path.join(path.split(os.pathsep)[0], "ansible_collections", "vsp", "encryption")):
        raise RuntimeError("ANSIBLE_COLLECTIONS_PATH does not hold vsp.encryption: run through `make reliability`")
    return path


def ansible_vars(workdir, **extra):
    """The suite's Ansible settings (on top of vsp_simulator.playbook.environment's clean one): the collection path,
    the work directory's Ansible home and temp directories, JSON results, one fork, the suite's lookups."""
    return dict({
        "ANSIBLE_COLLECTIONS_PATH": collections_path(),
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
        "ANSIBLE_HOME": os.path.join(str(workdir), "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": os.path.join(str(workdir), "ansible-tmp"),
        "ANSIBLE_REMOTE_TEMP": os.path.join(str(workdir), "ansible-remote-tmp"),
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_FORKS": "1",
        "ANSIBLE_LOOKUP_PLUGINS": os.path.join(ROOT, "tests", "reliability", "lookup_plugins"),
        "ANSIBLE_PIPELINING": "1",  # one process per module run (the local connection's default costs several)
    }, **extra)


def ansible_env(workdir, **extra):
    """A clean environment: no VSP_* / ANSIBLE_* settings from outside but the suite's (for ansible-vault and the
    like; ansible-playbook runs through run_shipped / run_playbook)."""
    return playbook.environment(**ansible_vars(workdir, **extra))


def run_shipped(workdir, inventory_path, name, extra_vars=None, vars_file=None, env=None, args=(), timeout=240, record=None):
    """Run a playbook (a shipped one by FQCN, or a path) on `inventory_path` with the suite's environment (plus `env`):
    the CompletedProcess. `extra_vars` go to `vars_file` (0600) when given, else on the command line."""
    return playbook.run_playbook(name, inventory_path, extra_vars=extra_vars, vars_file=vars_file, args=args,
                                 env=ansible_vars(workdir, **(env or {})), timeout=timeout, record=record)


def inventory(workdir):
    path = os.path.join(str(workdir), "inventory.ini")
    with open(path, "w") as handle:
        handle.write("localhost ansible_connection=local ansible_python_interpreter=%s\n" % PYTHON)
    return path


def write_playbook(workdir, name, plays):
    path = os.path.join(str(workdir), name)
    with open(path, "w") as handle:
        json.dump(plays, handle, indent=1)  # JSON is YAML
    return path


def run_playbook(workdir, name, plays, env=None, args=(), timeout=240, popen=False):
    """Run ansible-playbook on `plays` (a list of plays) on localhost; returns the CompletedProcess (or, with `popen`, the
    running vsp_simulator.playbook.PlaybookProcess: its output in <name>.out and <name>.err, see finish())."""
    os.makedirs(str(workdir), exist_ok=True)
    path = write_playbook(workdir, name, plays)
    files = {}
    if popen:
        files = {"stdout_path": os.path.join(str(workdir), name + ".out"), "stderr_path": os.path.join(str(workdir), name + ".err")}
    return playbook.run_playbook(path, inventory(workdir), args=args, env=ansible_vars(workdir, **(env or {})),
                                 timeout=timeout, popen=popen, **files)


def finish(proc, timeout=240):
    """Wait for a run_playbook(popen=True); returns its CompletedProcess."""
    return proc.finish(timeout)


def registered(tasks):
    names = []
    for task in tasks:
        if task.get("register"):
            names.append(task["register"])
        for key in ("block", "rescue", "always"):
            names += registered(task.get(key) or [])
    return names


def with_results(tasks, results_path):
    """`tasks` in a block whose `always` writes every registered result to `results_path` (JSON)."""
    names = registered(tasks)
    content = "{{ {%s} | to_json }}" % ", ".join("'%s': %s | default(None)" % (n, n) for n in names)
    return [{"name": "cases", "block": tasks, "always": [
        {"name": "write the results", "ansible.builtin.copy": {"content": content, "dest": results_path, "mode": "0600"}}]}]


def run_cases(workdir, name, tasks, sim=None, conn=None, env=None, args=(), timeout=240):
    """Run `tasks` in one play (the connection of `sim` in module_defaults) and return
    (results by register name, CompletedProcess)."""
    results_path = os.path.join(str(workdir), name + ".results.json")
    if os.path.exists(results_path):
        os.unlink(results_path)
    proc = run_playbook(workdir, name + ".yml", [play(with_results(tasks, results_path), sim, conn)], env=env, args=args, timeout=timeout)
    if not os.path.exists(results_path):
        raise AssertionError("ansible-playbook wrote no results (rc %s):\n%s\n%s" % (proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]))
    with open(results_path) as handle:
        return json.loads(handle.read()), proc


def play(tasks, sim=None, conn=None, name="reliability", gather=False):
    """One play on localhost; module_defaults give every vsp.encryption module the connection."""
    body = {"name": name, "hosts": "localhost", "gather_facts": gather, "tasks": tasks}
    if sim is not None or conn is not None:
        body["module_defaults"] = {"group/vsp.encryption.vsp": conn if conn is not None else sim.connection()}
    return body


def uri_task(name, sim, method, what, body=None, register=None, loop=None):
    task = {"name": name, "ansible.builtin.uri": {
        "url": sim.url + "/simulator/v1/" + what, "method": method, "ca_path": sim.ca_path,
        "validate_certs": True, "status_code": [200], "return_content": False}}
    if body is not None:
        task["ansible.builtin.uri"].update(body_format="json", body=body)
    if register:
        task["register"] = register
    if loop is not None:
        task["loop"] = loop
    return task


MARKER_PREFIX = "/ConfigurationManager/reliability-marker/"


def split_log_by_marker(log):
    """Split a request log at the marker requests of marker_task: ``({case index: entries}, entries after the last marker)``."""
    by_case, current = {}, []
    for entry in log:
        if entry["path"].startswith(MARKER_PREFIX):
            by_case[int(entry["path"].rsplit("/", 1)[1])] = current
            current = []
        else:
            current.append(entry)
    return by_case, current


def marker_task(name, sim, label):
    """Mark the request log: `GET /ConfigurationManager/reliability-marker/<label>` (404), sent by a
    lookup on the controller (no module run: cheap)."""
    url = sim.url + MARKER_PREFIX + label
    return {"name": name, "ansible.builtin.debug": {
        "msg": "{{ lookup('ansible.builtin.url', '%s', ca_path='%s', errors='ignore') }}" % (url, sim.ca_path)}}


def ctl_task(name, sim, calls, register=None):
    """Control requests to `sim` from the controller (lookup `simctl`); `calls` is a list of
    (method, what[, body]); the task's `msg` is the list of answers."""
    exprs = []
    for call in calls:
        args = ", ".join(json.dumps(a) for a in call)
        exprs.append("lookup('simctl', %s, base='%s', ca_path='%s')" % (args, sim.url, sim.ca_path))
    task = {"name": name, "ansible.builtin.debug": {"msg": "{{ [%s] }}" % ", ".join(exprs)}}
    if register:
        task["register"] = register
    return task


def module_task(name, module, args, register=None, **extra):
    task = {"name": name, FQ + module: args, "ignore_errors": True}
    if register:
        task["register"] = register
    task.update(extra)
    return task


def files_under(directory):
    found = []
    for base, _dirs, files in os.walk(directory):
        for name in files:
            found.append(os.path.join(base, name))
    return sorted(found)


def leaks(text, secrets):
    """The secrets (each shortened for the report) found in `text`."""
    return [s[:4] + "..." for s in secrets if s and s in text]


def check_backup_dir(backups):
    """Every file is a complete key file whose manifest matches, or its manifest; nothing partial."""
    for path in files_under(backups):
        if os.path.basename(path) == LOCK_NAME:
            continue
        assert not path.endswith(".part") and "/." not in path, "partial file left: %s" % path
        assert os.stat(path).st_mode & 0o777 == 0o600, path
        if path.endswith(".ekf"):
            with open(path + ".manifest.json") as handle:
                manifest = json.load(handle)
            with open(path, "rb") as handle:
                data = handle.read()
            assert data[:8] == b"VSPEKF\x00\x01", path
            assert manifest["sha256"] == hashlib.sha256(data).hexdigest() and manifest["size"] == len(data), path


class Listener:
    """A loopback TCP listener that only counts who connects: the target of a redirect, which must see nothing.

    Every connection is counted (and its first bytes, whatever they are: a TLS hello or an HTTP request), then closed.
    """

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.received = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, path="/steal"):
        return "https://127.0.0.1:%d%s" % (self.port, path)

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            try:
                conn.settimeout(2)
                data = conn.recv(65536)
                with self.lock:
                    self.received += len(data)
            except OSError:
                pass
            finally:
                conn.close()

    def seen(self):
        with self.lock:
            return self.connections, self.received

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the thread
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


LOCK_NAME = ".vsp-encryption.lock"  # the backup directory's lock file (key_files.DirectoryLock): not a backup


def age_backups(directory, passwords, hours=25):
    """Make the key files of `directory` look `hours` older, as if the nights between had passed: each manifest whose
    verifier takes one of `passwords` gets an earlier created_utc and is signed again with that password (a manifest
    that takes none is left as it is). Retention keeps every file made in the last hour, so a test that runs several
    nightly backups within a minute ages the older files first. Returns the names of the manifests changed."""
    import datetime  # noqa: PLC0415 - only this helper needs the collection's code
    path = collections_path().split(os.pathsep)[0]
    if path not in sys.path:
        sys.path.insert(0, path)
    from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf  # noqa: PLC0415
    changed = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(mf.MANIFEST_SUFFIX):
            continue
        mpath = os.path.join(directory, name)
        try:
            data = mf.read(mpath[:-len(mf.MANIFEST_SUFFIX)])
        except mf.VspApiError:
            continue  # a hostile or malformed manifest a test put there: left as it is
        for password in passwords:
            deriver = mf.Deriver(password)
            try:
                opens = mf.check_password(data, deriver) is True
            except mf.VspApiError:
                opens = False
            if opens:
                then = mf.parse_time(data["created_utc"]) - datetime.timedelta(hours=hours)
                data["created_utc"] = then.strftime(mf.TIME_FORMAT)
                salt, iterations = mf.salt_of(data)
                dummy, mac_key = deriver(salt, iterations)
                data["mac"] = {"algorithm": "hmac-sha256",
                               "value": hmac.new(mac_key, mf._canonical(data), hashlib.sha256).hexdigest()}
                with open(mpath, "wb") as handle:
                    handle.write(mf.dumps(data))
                changed.append(name)
                break
    return changed
