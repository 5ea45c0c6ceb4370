"""The scheduled runs of docs/awx.md ("5. Without a controller"), run as written, in the environment they get.

The unit files and the crontab are read out of the page (its ```ini and ```console blocks), so the docs cannot drift
from what is tested. Only the placeholders the page names are filled in: the service's venv is the venv of this test
run (ansible-core and requests, as the README's Install section installs them), the inventory is the simulator's, the
working directory and the home are temporary, and the collection is installed from its tarball into that empty home,
as the page's install block does for the service account. A crontab line runs with /bin/sh in cron's environment
(no PATH but /usr/bin:/bin); an ExecStart line runs without a shell in systemd's. `systemd-analyze verify` checks the
unit files where systemd is installed.
"""
import json
import os
import re
import shlex
import shutil
import subprocess

import pytest
from ecosystem_helpers import BIN, ROOT, ansible_playbook, clean_env, run
from test_install import simulator_inventory

VENV = os.path.dirname(BIN)
CRON_PATH = "/usr/bin:/bin"
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
VAULT_PASSWORD = "Vault-Test-2026"


def section():
    with open(os.path.join(ROOT, "docs", "awx.md")) as handle:
        text = handle.read()
    match = re.search(r"^## 5\. Without a controller[^\n]*\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, "docs/awx.md has no section '## 5. Without a controller'"
    return match.group(1)


def blocks(kind):
    return re.findall(r"^```%s\n(.*?)^```" % kind, section(), re.S | re.M)


def unit_files():
    """{file name: text} of the ```ini blocks, each headed by a comment with its path."""
    units = {}
    for block in blocks("ini"):
        first, rest = block.split("\n", 1)
        assert first.startswith("# /etc/systemd/system/"), first
        units[os.path.basename(first[2:])] = rest
    assert sorted(units) == ["vsp-key-backup.service", "vsp-key-backup.timer"], sorted(units)
    return units


def crontab_lines():
    lines = [line for block in blocks("console") for line in block.splitlines()
             if re.match(r"^[0-9*]\S* \S+ \S+ \S+ \S+\s", line)]
    assert len(lines) == 2, lines
    return [line.split(None, 5)[5] for line in lines]


def install_lines():
    lines = [line.strip() for block in blocks("console") for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#") and not re.match(r"^[0-9*]\S* ", line)]


@pytest.fixture(scope="module")
def site(tmp_path_factory, tarball, simulator):
    """The placeholders filled in: the venv, an installed collection in an empty home, an inventory, a vault file."""
    work = tmp_path_factory.mktemp("schedules")
    home, workdir, backups = work / "home", work / "var-lib-vsp-keys", work / "key-backups"
    for path in (home, workdir):
        path.mkdir()
    etc = work / "etc-vsp"
    etc.mkdir()
    inventory = simulator_inventory(etc, simulator, backups)
    vault = etc / ".vault-pass"
    vault.write_text(VAULT_PASSWORD + "\n")
    os.chmod(str(vault), 0o600)
    # the page's install block: the venv exists (this run's); the collection goes into the service account's home
    galaxy = [line for line in install_lines() if "ansible-galaxy collection install" in line]
    assert len(galaxy) == 1, install_lines()
    argv = shlex.split(galaxy[0])
    assert argv[:3] == ["sudo", "-u", "vspkeys"], argv
    argv = [a.replace("/opt/vsp-keys/venv", VENV) for a in argv[3:]]
    shutil.copy(str(tarball), str(work / argv[-1]))
    run(argv, env=clean_env(HOME=str(home)), cwd=str(work))
    places = {"/opt/vsp-keys/venv": VENV, "/etc/vsp/inventory": inventory, "/etc/vsp/.vault-pass": str(vault),
              "/var/lib/vsp-keys": str(workdir)}
    return {"home": str(home), "workdir": str(workdir), "backups": str(backups), "places": places}


def fill(text, places):
    for placeholder, value in places.items():
        text = text.replace(placeholder, value)
    return text


def key_files(backups):
    return sorted(f for f in os.listdir(backups) if f.endswith(".ekf")) if os.path.isdir(backups) else []


def test_the_page_installs_what_the_schedules_call():
    """The venv the units and the crontab call is made by the page's own install lines, with ansible-core and requests."""
    lines = install_lines()
    assert "python3 -m venv /opt/vsp-keys/venv" in lines
    assert "/opt/vsp-keys/venv/bin/python -m pip install ansible-core requests" in lines
    for line in crontab_lines() + [v for unit in unit_files().values() for v in re.findall(r"^ExecStart\S*=(.*)$", unit, re.M)]:
        assert line.count("/opt/vsp-keys/venv/bin/ansible-playbook") == 1, line  # by its full path, never from PATH


def test_crontab_lines_run_in_crons_environment(site):
    """cron runs each line with /bin/sh, PATH=/usr/bin:/bin and the account's HOME: the backup makes a key file and
    the audit writes its report where the mail line says."""
    env = {"HOME": site["home"], "LOGNAME": "vspkeys", "SHELL": "/bin/sh", "PATH": CRON_PATH}
    backup_line, audit_line = [fill(line, site["places"]) for line in crontab_lines()]
    before = key_files(site["backups"])
    proc = ansible_playbook(command=["/bin/sh", "-c", backup_line], env=env, timeout=300, check=False)
    log = open(os.path.join(site["workdir"], "backup.log")).read()
    assert proc.returncode == 0, log[-4000:]
    assert "failed=0" in log and len(key_files(site["backups"])) == len(before) + 1, log[-4000:]
    proc = ansible_playbook(command=["/bin/sh", "-c", audit_line], env=env, timeout=300, check=False)
    log = open(os.path.join(site["workdir"], "audit.log")).read()
    assert proc.returncode == 0 and "key backup audit failed" not in proc.stdout + proc.stderr, log[-4000:]
    with open(os.path.join(site["workdir"], "key-backup-audit.json")) as handle:
        report = json.load(handle)
    assert report, log[-2000:]
    assert os.path.isfile(os.path.join(site["workdir"], "key-backup-audit.md"))  # the file the mail line names


def test_systemd_exec_lines_run_without_a_shell_in_systemds_environment(site):
    service = unit_files()["vsp-key-backup.service"]
    commands = re.findall(r"^(ExecStart|ExecStartPost)=(.*)$", service, re.M)
    assert [name for name, _cmd in commands] == ["ExecStart", "ExecStartPost"]
    workdir = fill(re.search(r"^WorkingDirectory=(.*)$", service, re.M).group(1), site["places"])
    env = {"HOME": site["home"], "USER": "vspkeys", "LOGNAME": "vspkeys", "PATH": SYSTEMD_PATH}
    before = key_files(site["backups"])
    for name, command in commands:
        proc = ansible_playbook(command=shlex.split(fill(command, site["places"])), env=env, cwd=workdir, timeout=300, check=False)
        assert proc.returncode == 0, (name, proc.stdout[-4000:], proc.stderr[-2000:])
    # the backup ran (a new key file only when needed: the crontab test may have made one of the same keys)
    assert key_files(site["backups"]) and len(key_files(site["backups"])) >= len(before)
    assert os.path.isfile(os.path.join(site["workdir"], "audit.json")) and os.path.isfile(os.path.join(site["workdir"], "audit.md"))


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd is not installed here")
def test_unit_files_pass_systemd_analyze_verify(site, tmp_path):
    """The unit files as written (placeholders filled in, so that the programs they name exist here)."""
    paths = []
    for name, text in unit_files().items():
        path = tmp_path / name
        path.write_text(fill(text, site["places"]))
        paths.append(str(path))
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no"] + paths, capture_output=True, text=True, timeout=120,
                          check=False, env=clean_env(SYSTEMD_LOG_LEVEL="warning"))
    # the docs' old ExecStart=/usr/bin/ansible-playbook, which a pip install never makes, fails here: "is not executable"
    assert proc.returncode == 0 and "vsp-key-backup" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
