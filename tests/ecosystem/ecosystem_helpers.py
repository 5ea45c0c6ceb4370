"""Helpers shared by the ecosystem checks (issue #8)."""
import json
import os
import subprocess
import sys

import pytest
from vsp_simulator.playbook import environment, run_playbook
from vsp_simulator.users import ADMIN, VIEWER

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(os.path.abspath(sys.executable))
PYTHON = sys.executable
USERS = (ADMIN, VIEWER)  # the suite's users (its tests import them from here): the simulator's default users


def run(cmd, env=None, cwd=None, timeout=300, check=True):
    """Run a command, return the CompletedProcess; on failure show its output in the assertion."""
    proc = subprocess.run(cmd, env=env, cwd=cwd, timeout=timeout, capture_output=True, text=True, check=False)
    return checked(proc, check)


def checked(proc, check=True):
    if check and proc.returncode != 0:
        pytest.fail("%s exited %d\n--- stdout\n%s\n--- stderr\n%s" % (
            " ".join(proc.args), proc.returncode, proc.stdout[-6000:], proc.stderr[-6000:]))
    return proc


def ansible_playbook(name=None, inventory=None, *args, command=None, env=None, cwd=None, timeout=300, check=True):
    """ansible-playbook through the one runner (vsp_simulator.playbook): `name` (a path or an FQCN) on `inventory` with
    `args`, or `command`, a command line taken verbatim from the docs (a README line, a crontab line, a systemd
    ExecStart line); in `env`, the test's whole environment (default clean_env(); cron's or systemd's as the test
    gives it). The CompletedProcess; on failure (with `check`) its output in the assertion."""
    proc = run_playbook(name, inventory, args=args, command=command, environ=env, cwd=cwd, timeout=timeout)
    return checked(proc, check)


def clean_env(**extra):
    """The environment of the test run less every VSP_* variable and every ANSIBLE_* setting, plus `extra`: the one
    runner's (vsp_simulator.playbook.environment)."""
    return environment(**extra)


def parse_adhoc(stdout):
    """The JSON result of `ansible localhost -m ...` (default callback: `host | STATUS => {...}`)."""
    start = stdout.index("=>") + 2
    return json.loads(stdout[start:])


# the collection as `make collection` copies it: the Makefile exports ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/$(BUILD)
DEV_COLLECTIONS = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)[0] or os.path.join(ROOT, ".build")


def awx_inject(credential_type_dir, prefix, values, private_data_dir):
    """Render a custom credential type the way AWX / Automation Controller does when it starts a job.

    Mirrors AWX's CredentialType.inject_credential: only inputs with a value enter the template
    namespace (an empty string is left undefined), a boolean field never set becomes false, each `file`
    template is written to a 0600 file in the job's private data dir and its path is offered as
    `tower.filename` (or `tower.filename.<name>` for `template.<name>`), then `env` and `extra_vars`
    are rendered in a Jinja2 immutable sandbox. Returns (env, extra_vars).
    """
    import stat
    import tempfile
    from types import SimpleNamespace

    import yaml
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    with open(os.path.join(credential_type_dir, prefix + "_inputs.yml")) as handle:
        inputs = yaml.safe_load(handle)
    with open(os.path.join(credential_type_dir, prefix + "_injectors.yml")) as handle:
        injectors = yaml.safe_load(handle)
    namespace = {}
    for key, value in values.items():
        if isinstance(value, bool) or value:
            namespace[key] = value
    for field in inputs.get("fields", []):
        if field["type"] == "boolean" and field["id"] not in values:
            namespace[field["id"]] = False
    sandbox = ImmutableSandboxedEnvironment()
    env_dir = os.path.join(str(private_data_dir), "env")
    os.makedirs(env_dir, exist_ok=True)
    single, files = None, {}
    for label, template in injectors.get("file", {}).items():
        fd, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(fd, "w") as handle:
            handle.write(sandbox.from_string(template).render(**namespace))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        if "." in label:
            files[label.split(".", 1)[1]] = path
        else:
            single = path
    namespace["tower"] = SimpleNamespace(filename=single or SimpleNamespace(**files))
    env = {name: sandbox.from_string(template).render(**namespace) for name, template in injectors.get("env", {}).items()}
    extra_vars = {name: sandbox.from_string(template).render(**namespace)
                  for name, template in injectors.get("extra_vars", {}).items()}
    return env, extra_vars
