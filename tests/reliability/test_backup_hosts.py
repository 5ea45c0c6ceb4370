"""Backups that outlive the job (issue #14): key files copied to a backup host over a real SSH connection.

A real OpenSSH server (Debian's openssh-server, installed by hack/ensure-sshd) is started on 127.0.0.1 with
its own host key and a user key made for this test; the backup host of the inventory is reached through
Ansible's ssh connection, not a local one. Judged by the files on disk of the backup host's directory, the
sha256 of the copies and the simulator's state:

* the backup role copies the verified key file and its manifest there (0600 files, 0700 directory) and checks
  the sha256 there; a second backup after a password rotation leaves, with keep 1, the newer file on both
  stores (retention runs on the backup host too, with the same rules);
* keys lost, the local directory gone: the restore role takes the file from the backup host, fetches it into a
  private temporary directory, verifies it, restores, and deletes the temporary copy at the end.
"""
import getpass
import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess

import pytest
import rel_helpers
from rel_helpers import BACKUP_PASSWORD, PYTHON, age_backups

SSHD = "/usr/sbin/sshd"
ROTATED_PASSWORD = "Rt8#n3w-Bk-Pw2026"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """A real sshd on 127.0.0.1 that accepts only this test's key, for the current user."""
    assert os.access(SSHD, os.X_OK), "sshd is missing: run hack/ensure-sshd (make reliability does)"
    work = tmp_path_factory.mktemp("sshd")
    keys = work / "keys"
    keys.mkdir(mode=0o700)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "host_key")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "user_key")], check=True)
    shutil.copy(keys / "user_key.pub", keys / "authorized_keys")
    os.chmod(keys / "authorized_keys", 0o600)
    port = free_port()
    host_pub = (keys / "host_key.pub").read_text().split()
    (keys / "known_hosts").write_text("[127.0.0.1]:%d %s %s\n" % (port, host_pub[0], host_pub[1]))
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation directory
    config = work / "sshd_config"
    config.write_text("\n".join([
        "Port %d" % port, "ListenAddress 127.0.0.1", "HostKey %s" % (keys / "host_key"),
        "AuthorizedKeysFile %s" % (keys / "authorized_keys"), "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password", "UsePAM no", "StrictModes no",
        "PidFile %s" % (work / "sshd.pid"), "Subsystem sftp internal-sftp", "LogLevel INFO", ""]))
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE, text=True)
    try:
        # readiness from sshd itself: it logs "Server listening on 127.0.0.1 port N." once it accepts
        for line in proc.stderr:
            if "Server listening" in line:
                break
        else:
            raise AssertionError("sshd ended before listening (rc %s)" % proc.wait())
        yield {"port": port, "key": str(keys / "user_key"), "known_hosts": str(keys / "known_hosts"), "user": getpass.getuser()}
    finally:
        proc.terminate()
        proc.wait(30)


def write_inventory(work, sim, sshd):
    conn = sim.connection()
    inventory = {
        "all": {"children": {
            "vsp_arrays": {"hosts": {"array1": {
                "ansible_connection": "local", "ansible_python_interpreter": PYTHON, "vsp_connection": conn}}},
            # as users write a backup host: its address, port, user and key; no ansible_connection (ssh is the default)
            "backup_hosts": {"hosts": {"backup1": {
                "ansible_host": "127.0.0.1", "ansible_port": sshd["port"],
                "ansible_user": sshd["user"], "ansible_ssh_private_key_file": sshd["key"],
                "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
                                           % sshd["known_hosts"],
                "ansible_python_interpreter": PYTHON},
                # a backup host that is down: nothing listens at its port
                "backup_down": {"ansible_host": "127.0.0.1", "ansible_port": free_port(), "ansible_user": sshd["user"],
                                "ansible_ssh_private_key_file": sshd["key"], "ansible_python_interpreter": PYTHON}}},
        }}}
    path = os.path.join(str(work), "inventory.json")
    with open(path, "w") as handle:
        json.dump(inventory, handle)
    return path


def run_shipped(work, inventory, playbook, extra, env=None, args=()):
    """One shipped playbook of the collection (by FQCN), extra variables from a 0600 file."""
    short = playbook.rsplit(".", 1)[-1]
    return rel_helpers.run_shipped(work, inventory, playbook, extra, vars_file=os.path.join(str(work), "extra-%s.json" % short),
                                   env=dict({"ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml"}, **(env or {})), args=args, timeout=300,
                                   record=os.path.join(str(work), "run-%s.out" % short))  # for a person reading a failure


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


# the tests of `stores` judge one sequence of runs; the others (fixture `fresh`) reset the array and stand alone
SEQUENCES = ("stores",)


def key_files(directory):
    return sorted(f for f in os.listdir(directory) if f.endswith(".ekf")) if os.path.isdir(directory) else []


@pytest.fixture(scope="module")
def stores(sim, sshd, tmp_path_factory):
    work = tmp_path_factory.mktemp("backup-hosts")
    sim.control.reset()
    local, remote = str(work / "local-backups"), str(work / "remote" / "vsp-key-backups")
    os.makedirs(os.path.dirname(remote), mode=0o755)
    inventory = write_inventory(work, sim, sshd)
    base = {"encryption_key_backup_dir": local, "encryption_key_backup_copy_hosts": "backup1",
            "encryption_key_backup_copy_dir": remote, "encryption_key_backup_keep": 1}
    summary_file = str(work / "reports" / "array1.backup.json")
    os.makedirs(os.path.dirname(summary_file))
    first = run_shipped(work, inventory, "vsp.encryption.backup_encryption_keys",
                        dict(base, encryption_key_backup_password=BACKUP_PASSWORD, encryption_key_backup_summary_file=summary_file))
    summary = {"mode": stat.S_IMODE(os.stat(summary_file).st_mode), "data": json.load(open(summary_file)),
               "text": open(summary_file).read()} if os.path.exists(summary_file) else None
    after_first = {"local": key_files(local), "remote": key_files(remote),
                   "dir_mode": stat.S_IMODE(os.stat(remote).st_mode) if os.path.isdir(remote) else None,
                   "modes": dict((f, stat.S_IMODE(os.stat(os.path.join(remote, f)).st_mode))
                                 for f in (os.listdir(remote) if os.path.isdir(remote) else [])),
                   "same": [f for f in key_files(local) if os.path.exists(os.path.join(remote, f))
                            and sha256(os.path.join(local, f)) == sha256(os.path.join(remote, f))]}
    second = run_shipped(work, inventory, "vsp.encryption.backup_encryption_keys",
                         dict(base, encryption_key_backup_password=ROTATED_PASSWORD))
    after_second = {"local": key_files(local), "remote": key_files(remote),
                    "same": [f for f in key_files(local) if os.path.exists(os.path.join(remote, f))
                             and sha256(os.path.join(local, f)) == sha256(os.path.join(remote, f))]}
    # a night later (the files aged past retention's hour), a backup made although the keys did not change
    aged = {"local": age_backups(local, [BACKUP_PASSWORD, ROTATED_PASSWORD]),
            "remote": age_backups(remote, [BACKUP_PASSWORD, ROTATED_PASSWORD])}
    third = run_shipped(work, inventory, "vsp.encryption.backup_encryption_keys",
                        dict(base, encryption_key_backup_password=ROTATED_PASSWORD, encryption_key_backup_force=True))
    return {"work": work, "inventory": inventory, "local": local, "remote": remote, "first": first,
            "second": second, "after_first": after_first, "after_second": after_second, "aged": aged, "third": third,
            "summary": summary}


@pytest.mark.reliability("fault")
def test_backup_is_copied_to_the_backup_host_and_checked_there(stores):
    first = stores["first"]
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert "backup1" in first.stdout  # the copy tasks ran against the backup host
    local, remote = stores["after_first"]["local"], stores["after_first"]["remote"]
    assert len(local) == 1 and local == remote
    assert stores["after_first"]["same"] == local  # byte for byte the verified file
    assert stores["after_first"]["dir_mode"] == 0o700
    name = local[0]
    assert stores["after_first"]["modes"] == {name: 0o600, name + ".manifest.json": 0o600}
    # the JSON summary for a pipeline: 0600, this array's, the file made and its verified copy, no secret
    summary = stores["summary"]
    assert summary is not None and summary["mode"] == 0o600
    data = summary["data"]
    assert data["kind"] == "vsp.encryption.backup_encryption_keys" and data["name"] == "array1"
    assert data["file_made"] is True and os.path.basename(data["path"]) == name
    assert data["copies"] == {"backup1": data["sha256"]}
    assert BACKUP_PASSWORD not in summary["text"]


@pytest.mark.reliability("rerun")
def test_rotation_makes_a_new_file_and_keeps_the_old_passwords_file_on_both_stores(stores):
    second = stores["second"]
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-2000:]
    local, remote = stores["after_second"]["local"], stores["after_second"]["remote"]
    # the password changed: a new file although the keys did not; the older file does not open with the new password,
    # so retention (keep 1) neither counts it as newer nor deletes it, and a warning names it
    assert len(local) == 2 and local == remote
    assert stores["after_first"]["local"][0] in local
    assert stores["after_second"]["same"] == local  # byte for byte on the backup host
    warnings = second.stderr  # Ansible prints warnings there
    assert "do not count and were neither used nor deleted" in warnings
    assert stores["after_first"]["local"][0] in warnings


@pytest.mark.reliability("rerun")
def test_retention_deletes_on_both_stores_only_files_the_password_opens(stores):
    third = stores["third"]
    assert third.returncode == 0, third.stdout[-4000:] + third.stderr[-2000:]
    assert len(stores["aged"]["local"]) == 2 and len(stores["aged"]["remote"]) == 2
    first_file = stores["after_first"]["local"][0]
    rotated_file = [f for f in stores["after_second"]["local"] if f != first_file][0]
    local, remote = key_files(stores["local"]), key_files(stores["remote"])
    # keep 1: the new file stays, the aged file of the same password goes, the old password's file stays (not counted)
    assert local == remote and len(local) == 2, (local, remote)
    assert first_file in local and rotated_file not in local
    made = [f for f in local if f != first_file][0]
    assert sha256(os.path.join(stores["local"], made)) == sha256(os.path.join(stores["remote"], made))
    assert not [f for f in os.listdir(stores["remote"]) if f.endswith(".manifest.json") and f[:-len(".manifest.json")] not in remote]
    assert not [f for f in os.listdir(stores["local"]) if f.endswith(".manifest.json") and f[:-len(".manifest.json")] not in local]
    assert ROTATED_PASSWORD not in third.stdout and BACKUP_PASSWORD not in third.stdout


@pytest.mark.reliability("rerun")
def test_restore_takes_the_file_from_the_backup_host(stores, sim):
    work = stores["work"]
    shutil.rmtree(stores["local"])  # the control node lost its copy too
    sim.control.lose_keys("1-1")
    assert sim.control.state()["lost_parity_groups"] == ["1-1"]
    tmpdir = work / "runner-tmp"
    tmpdir.mkdir()
    proc = run_shipped(work, stores["inventory"], "vsp.encryption.restore_encryption_keys", {
        "encryption_key_restore_from_host": "backup1", "encryption_key_restore_path": stores["remote"],
        "encryption_key_restore_backup_password": ROTATED_PASSWORD, "encryption_key_restore_confirm": True},
        env={"TMPDIR": str(tmpdir)})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    state = sim.control.state()
    assert state["lost_parity_groups"] == []
    assert not [k for k in state["keys"] if k.get("lost")]
    pool_volumes = [ld for ld in state["ldevs"] if "POOL" in ld.get("attributes", [])]
    assert pool_volumes and all(ld["status"] == "NML" for ld in pool_volumes), state["ldevs"]
    assert os.listdir(str(tmpdir)) == []  # the fetched copy was deleted
    assert key_files(stores["remote"])  # the backup host keeps its file


@pytest.mark.reliability("bad_input")
def test_backup_dir_inside_the_jobs_private_data_dir_is_refused(sim, sshd, tmp_path_factory):
    """ansible-runner / AWX delete the job's private data directory: a backup there would be gone after the job."""
    work = tmp_path_factory.mktemp("job-dir")
    sim.control.reset()
    private = work / "private_data_dir"
    (private / "artifacts" / "42").mkdir(parents=True)
    backups = str(private / "key-backups")
    inventory = write_inventory(work, sim, sshd)
    env = {"AWX_ISOLATED_DATA_DIR": str(private / "artifacts" / "42")}  # as ansible-runner sets it
    extra = {"encryption_key_backup_dir": backups, "encryption_key_backup_password": BACKUP_PASSWORD}
    before = len(sim.control.requests_log())
    refused = run_shipped(work, inventory, "vsp.encryption.backup_encryption_keys", extra, env=env)
    assert refused.returncode != 0
    assert "private data directory" in refused.stdout and "encryption_key_backup_allow_job_dir" in refused.stdout
    assert key_files(backups) == []
    assert not [e for e in sim.control.requests_log()[before:] if "file/actions/backup" in e["path"]]
    allowed = run_shipped(work, inventory, "vsp.encryption.backup_encryption_keys",
                          dict(extra, encryption_key_backup_allow_job_dir=True), env=env)
    assert allowed.returncode == 0, allowed.stdout[-3000:]
    assert "Warning: encryption_key_backup_dir" in allowed.stdout
    assert len(key_files(backups)) == 1


def assert_nothing_changed(sim, before):
    """No write request reached the array (log in / log out aside) and its pool volumes are as they were."""
    assert [e for e in sim.control.requests_log() if e["method"] != "GET" and "sessions" not in e["path"]] == []
    assert sim.control.state()["ldevs"] == before["ldevs"]


def assert_restored(sim):
    """The array says it: no key lost, every pool volume normal."""
    state = sim.control.state()
    assert state["lost_parity_groups"] == [] and not [k for k in state["keys"] if k["lost"]]
    assert all(ld["status"] == "NML" for ld in state["ldevs"] if "POOL" in ld.get("attributes", []))


@pytest.fixture
def fresh(sim, sshd, tmp_path):
    """A reset array, an inventory as users write it, and empty stores on the control node and on backup1."""
    sim.control.reset()
    local, remote = str(tmp_path / "local-backups"), str(tmp_path / "remote" / "vsp-key-backups")
    os.makedirs(os.path.dirname(remote), mode=0o755)
    return {"work": tmp_path, "inventory": write_inventory(tmp_path, sim, sshd), "local": local, "remote": remote,
            "base": {"encryption_key_backup_dir": local, "encryption_key_backup_copy_dir": remote,
                     "encryption_key_backup_password": BACKUP_PASSWORD, "encryption_key_backup_keep": 1}}


@pytest.mark.reliability("fault")
def test_an_unreachable_backup_host_costs_the_others_their_copy_nothing_and_fails_the_run_naming_it(fresh, sim):
    summary_file = str(fresh["work"] / "summary.json")
    run = run_shipped(fresh["work"], fresh["inventory"], "vsp.encryption.backup_encryption_keys",
                      dict(fresh["base"], encryption_key_backup_copy_hosts="backup_down, backup1",
                           encryption_key_backup_summary_file=summary_file))
    assert run.returncode != 0, run.stdout[-4000:]
    local = key_files(fresh["local"])
    assert len(local) == 1 and key_files(fresh["remote"]) == local  # the local file, and the copy on the host that works
    assert sha256(os.path.join(fresh["local"], local[0])) == sha256(os.path.join(fresh["remote"], local[0]))
    data = json.load(open(summary_file))
    assert data["copies"] == {"backup1": data["sha256"]}
    assert data["copy_hosts"]["backup_down"]["verified"] is False and "not reached" in data["copy_hosts"]["backup_down"]["why"]
    said = " ".join(run.stdout.split())  # the YAML callback wraps long lines
    assert said.count("No verified copy of %s on backup_down: not reached" % local[0]) == 2  # the [ERROR] line and the result
    assert "Copies: verified (sha256 %s) on [backup1]." % data["sha256"] in said


@pytest.mark.reliability("bad_input")
def test_a_backup_host_name_not_in_the_inventory_is_refused_before_anything_is_written(fresh, sim):
    sim.control.clear_requests()
    run = run_shipped(fresh["work"], fresh["inventory"], "vsp.encryption.backup_encryption_keys",
                      dict(fresh["base"], encryption_key_backup_copy_hosts="bakup1"))
    assert run.returncode != 0
    assert "encryption_key_backup_copy_hosts: bakup1 is not a host of the inventory" in run.stdout
    assert key_files(fresh["local"]) == [] and key_files(fresh["remote"]) == []
    assert [e for e in sim.control.requests_log() if e["method"] != "GET" and "sessions" not in e["path"]] == []
    sim.control.lose_keys("1-1")
    before = sim.control.state()
    sim.control.clear_requests()
    restore = run_shipped(fresh["work"], fresh["inventory"], "vsp.encryption.restore_encryption_keys", {
        "encryption_key_restore_from_host": "bakup1", "encryption_key_restore_path": fresh["remote"],
        "encryption_key_restore_backup_password": BACKUP_PASSWORD, "encryption_key_restore_confirm": True})
    assert restore.returncode != 0
    assert "encryption_key_restore_from_host: bakup1 is not a host of the inventory" in restore.stdout
    assert_nothing_changed(sim, before)


@pytest.mark.reliability("bad_input")
def test_hostile_files_on_the_backup_host_are_not_fetched_and_the_real_copy_restores(fresh, sim):
    run = run_shipped(fresh["work"], fresh["inventory"], "vsp.encryption.backup_encryption_keys",
                      dict(fresh["base"], encryption_key_backup_copy_hosts="backup1"))
    assert run.returncode == 0, run.stdout[-4000:]
    real = os.path.join(fresh["remote"], key_files(fresh["remote"])[0])
    manifest = json.load(open(real + ".manifest.json"))
    sid = manifest["storage_device_id"]
    junk = b"junk, not a key file" * 50
    forged = os.path.join(fresh["remote"], sid + "_20991231T235959Z.ekf")  # written there without the password
    with open(forged, "wb") as handle:
        handle.write(junk)
    with open(forged + ".manifest.json", "w") as handle:
        json.dump(dict(manifest, sha256=hashlib.sha256(junk).hexdigest(), size=len(junk), created_utc="2099-12-31T23:59:59Z",
                       password_verifier=None, mac=None), handle)
    os.mkfifo(os.path.join(fresh["remote"], sid + "_20991230T000000Z.ekf"))
    with open(os.path.join(fresh["remote"], sid + "_20991230T000000Z.ekf.manifest.json"), "w") as handle:
        json.dump(manifest, handle)
    shutil.rmtree(fresh["local"])
    sim.control.lose_keys("1-1")
    rehearsal = run_shipped(fresh["work"], fresh["inventory"], "vsp.encryption.restore_encryption_keys", {
        "encryption_key_restore_from_host": "backup1", "encryption_key_restore_path": fresh["remote"],
        "encryption_key_restore_backup_password": BACKUP_PASSWORD}, args=["--check"])
    assert "Preflight: show the plan" in rehearsal.stdout, rehearsal.stdout[-4000:]
    assert os.path.basename(real) in rehearsal.stdout and os.path.basename(forged) not in rehearsal.stdout.split("show the plan")[1]
    sim.control.clear_requests()
    restore = run_shipped(fresh["work"], fresh["inventory"], "vsp.encryption.restore_encryption_keys", {
        "encryption_key_restore_from_host": "backup1", "encryption_key_restore_path": fresh["remote"],
        "encryption_key_restore_backup_password": BACKUP_PASSWORD, "encryption_key_restore_confirm": True})
    assert restore.returncode == 0, restore.stdout[-6000:]
    assert_restored(sim)
    assert os.path.exists(forged) and os.path.exists(real)  # nothing deleted on the host
    assert BACKUP_PASSWORD not in restore.stdout + restore.stderr


@pytest.mark.reliability("bad_input")
@pytest.mark.parametrize("make, why", [
    (lambda path: os.symlink("/dev/zero", path), "is not a regular file"),
    (os.mkfifo, "is not a regular file"),
    (lambda path: open(path, "wb").truncate(17 * 1024 * 1024), "is larger (17825792 bytes) than the cap of 16 MiB"),
], ids=["symlink to /dev/zero", "named pipe", "17 MiB file"])
def test_a_named_file_on_the_backup_host_that_is_no_key_file_is_refused_before_the_fetch(fresh, sim, make, why):
    os.makedirs(fresh["remote"])
    path = os.path.join(fresh["remote"], "named.ekf")
    make(path)
    sim.control.lose_keys("1-1")
    before = sim.control.state()
    sim.control.clear_requests()
    run = run_shipped(fresh["work"], fresh["inventory"], "vsp.encryption.restore_encryption_keys", {
        "encryption_key_restore_from_host": "backup1", "encryption_key_restore_path": path,
        "encryption_key_restore_backup_password": BACKUP_PASSWORD, "encryption_key_restore_confirm": True})
    assert run.returncode != 0
    said = " ".join(run.stdout.split())
    assert "encryption_key_restore_path: %s on backup1 %s" % (path, why) in said, said[-3000:]
    assert_nothing_changed(sim, before)


@pytest.mark.reliability("rerun")
def test_a_symlinked_directory_on_the_backup_host_works_as_it_does_locally(fresh, sim):
    run = run_shipped(fresh["work"], fresh["inventory"], "vsp.encryption.backup_encryption_keys",
                      dict(fresh["base"], encryption_key_backup_copy_hosts="backup1"))
    assert run.returncode == 0, run.stdout[-4000:]
    link = fresh["remote"] + "-current"
    os.symlink(fresh["remote"], link)  # a site's "current" link to its backup directory
    shutil.rmtree(fresh["local"])
    sim.control.lose_keys("1-1")
    restore = run_shipped(fresh["work"], fresh["inventory"], "vsp.encryption.restore_encryption_keys", {
        "encryption_key_restore_from_host": "backup1", "encryption_key_restore_path": link,
        "encryption_key_restore_backup_password": BACKUP_PASSWORD, "encryption_key_restore_confirm": True})
    assert restore.returncode == 0, restore.stdout[-6000:]
    assert_restored(sim)
