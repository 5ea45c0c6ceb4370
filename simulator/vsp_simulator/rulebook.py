"""The rulebook harness: ``ansible-rulebook`` as a child process against a simulator.

The rulebook tests (``tests/eda``) and the benchmark of the event source
(``bench/vsp_bench/eda.py``) use it: a simulator with a distinctive password, the inventory and
variables a user writes (as docs/events.md shows), ansible-rulebook with the venv's bin first on
``PATH``, the manifests of the key files written, and bounded waits (nothing syncs by sleeping). ::

    with simulator(workdir) as sim:
        inventory, variables = write_files(workdir, sim, poll_interval=1)
        rulebook = Rulebook(workdir, "protect_encryption_keys", inventory, variables, collections)
        try:
            wait_for(lambda: manifests(os.path.join(workdir, "backups")), 60, "the first key file")
        finally:
            rulebook.stop()
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import yaml

from . import users
from .harness import ANSIBLE_QUIET, SimulatorProcess, User, bin_dir, clean_env

ADMIN_PASSWORD = "Ed4-w4tch3r-Qp7zK"  # noqa: S105 - distinctive: a grep for it in any output is meaningful
BACKUP_PASSWORD = "Bk7#eDa-F1le-Wn3x"  # noqa: S105 - a throw-away password for the simulator's key files
SECRETS = (ADMIN_PASSWORD, BACKUP_PASSWORD)
ADMIN = User(users.ADMIN.name, ADMIN_PASSWORD, users.ADMIN.roles)
ARRAY = "sim01"
POLL = 0.05  # seconds between two checks of a condition


def simulator(workdir, **options):
    """A simulator with its state in a file, so that a restart keeps the keys (and the CA).
    ``options``: more :class:`SimulatorProcess` options (``job_ms`` 50 unless given)."""
    options.setdefault("job_ms", 50)
    return SimulatorProcess(os.path.join(str(workdir), "sim"),
                            scenario={"users": users.scenario_users((ADMIN,))}, user=ADMIN,
                            state_file=True, **options)


def wait_for(condition, timeout, what):
    """Poll ``condition`` until it returns something true; fail naming ``what`` after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("no %s within %s s" % (what, timeout))
        time.sleep(POLL)


def write_files(workdir, sim, poll_interval=1, settle_interval=0.5):
    """The inventory (the array, its connection and backup settings, as docs/events.md shows) and
    the rulebook's variables; the password is not in them (VSP_PASSWORD)."""
    workdir = str(workdir)
    inventory = {"vsp_arrays": {
        "hosts": {ARRAY: {"ansible_connection": "local",
                          "ansible_python_interpreter": sys.executable}},
        "vars": {
            "vsp_connection": {"host": sim.host, "port": sim.port, "username": ADMIN.name,
                               "password": "{{ lookup('ansible.builtin.env', 'VSP_PASSWORD') }}",
                               "validate_certs": True, "ca_path": sim.ca_path},
            "encryption_key_backup_dir": os.path.join(workdir, "backups"),
            "encryption_key_backup_password": BACKUP_PASSWORD,
            "encryption_key_restore_path": os.path.join(workdir, "backups"),
            "encryption_key_restore_backup_password": BACKUP_PASSWORD,
            "vsp_restore_plan_dir": os.path.join(workdir, "plans"),
        }}}
    # retries 1: a poll of an array that is down fails after one retry (the default 5 take ~15 s)
    variables = {"vsp_watch_arrays": [{"name": ARRAY, "host": sim.host, "port": sim.port,
                                       "ca_path": sim.ca_path, "retries": 1}],
                 "vsp_watch_poll_interval": poll_interval,
                 "vsp_watch_settle_interval": settle_interval, "vsp_watch_failing_after": 5}
    os.makedirs(os.path.join(workdir, "plans"), exist_ok=True)
    paths = (os.path.join(workdir, "inventory.yml"), os.path.join(workdir, "watch.yml"))
    for path, data in zip(paths, (inventory, variables), strict=True):
        with open(path, "w") as handle:
            yaml.safe_dump(data, handle)
    return paths


class Rulebook:
    """``ansible-rulebook -r vsp.encryption.<name>`` from the installed collection, with the venv's
    bin first on PATH (ansible-rulebook finds collections with ansible-galaxy), output in
    ``<workdir>/rulebook.out``."""

    def __init__(self, workdir, name, inventory, variables, collections_path, *,
                 password=ADMIN_PASSWORD):
        os.makedirs(str(workdir), exist_ok=True)
        self.out_path = os.path.join(str(workdir), "rulebook.out")
        env = clean_env(**ANSIBLE_QUIET)
        env.update(ANSIBLE_COLLECTIONS_PATH=collections_path, VSP_USERNAME=ADMIN.name,
                   VSP_PASSWORD=password, ANSIBLE_HOME=os.path.join(str(workdir), "ansible-home"),
                   ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_PIPELINING="1",
                   ANSIBLE_FORCE_COLOR="0",
                   # the rules engine's JVM runs in ansible-rulebook's process: without -Xrs it
                   # takes SIGINT / SIGTERM and ends the process at once, so the source is never
                   # cancelled and cannot log out (docs/events.md)
                   JAVA_TOOL_OPTIONS="-Xrs")
        cmd = [os.path.join(bin_dir(), "ansible-rulebook"), "-r", "vsp.encryption." + name,
               "-i", inventory, "--vars", variables, "--print-events", "--shutdown-delay", "1"]
        with open(self.out_path, "w") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own command line
                cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=str(workdir),
                start_new_session=True)

    def output(self):
        with open(self.out_path, errors="replace") as handle:
            return handle.read()

    @property
    def returncode(self):
        return self.proc.returncode

    def running(self):
        return self.proc.poll() is None

    def stop(self, timeout=10, attempts=3):
        """SIGINT (as Ctrl-C or a stopped activation), then wait; again when it keeps running:
        ansible-rulebook 1.3.2 raises KeyboardInterrupt from its signal handler, and a signal that
        lands while a rule's action is being dispatched is caught there (logged "Signal SIGINT
        received") and the process goes on. SIGKILL and fail when ``attempts`` signals did not
        stop it."""
        for _attempt in range(attempts):
            if not self.running():
                break
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                continue
        if self.running():
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError("ansible-rulebook did not stop after %d SIGINTs; its output "
                                 "ends:\n%s" % (attempts, self.output()[-3000:]))
        return self.proc.returncode


def manifests(backup_dir):
    """The manifests of the key files in ``backup_dir``, oldest first."""
    if not os.path.isdir(backup_dir):
        return []
    found = []
    for name in sorted(os.listdir(backup_dir)):
        if name.endswith(".ekf.manifest.json"):
            with open(os.path.join(backup_dir, name)) as handle:
                found.append(json.load(handle))
    return found
