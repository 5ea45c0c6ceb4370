"""The backup directory is not trusted (issue #22): the shipped playbooks against files that someone with write
access to the share and no password, or a host with a wrong clock, put there.

Each case runs `vsp.encryption.backup_encryption_keys` / `vsp.encryption.restore_encryption_keys` as an operator
does (one inventory host per array, `ansible_connection: local` as the README's example inventory has it) and is
judged by the simulator's state (`GET /simulator/v1/state`), its request log and the files left on disk, never by
the role's words alone.

Nights pass between the nightly runs of one case: `age_backups` signs the older files' manifests again with an
earlier time (with the site's password, as the collection would have), since retention keeps every file made in the
last hour.
"""
import concurrent.futures
import hashlib
import json
import os

import pytest
from rel_helpers import BACKUP_PASSWORD, LOCK_NAME, age_backups, check_backup_dir
from test_timeline import Site, assert_green, key_files

SEQUENCES = ()  # every test starts from a reset array (fixture `site`): each may run on either worker
OTHER_PASSWORD = "0th3r#Site-Pw4Kq"  # a password of another host or a vault typo
SID = "936000412345"  # the suite's simulated array
FORGED = SID + "_20991231T235959Z.ekf"


@pytest.fixture
def site(sim, tmp_path):
    sim.control.reset()
    sim.control.clear_faults()
    site = Site(tmp_path / "control-node", sim)
    site.dir = str(tmp_path / "key-backups")
    return site


def manifest_of(path):
    with open(path + ".manifest.json") as handle:
        return json.load(handle)


def forge(directory, copied_from, name=FORGED, junk=b"\x00junk, not a key file" * 64):
    """What someone with write access and no password can make: junk bytes and a manifest copied from a real one,
    with the junk's sha256 and size, dated 2099, without a password verifier and MAC."""
    data = manifest_of(copied_from)
    data.update(file=name, sha256=hashlib.sha256(junk).hexdigest(), size=len(junk), created_utc="2099-12-31T23:59:59Z",
                password_verifier=None)
    data.pop("mac", None)
    path = os.path.join(directory, name)
    with open(path, "wb") as handle:
        handle.write(junk)
    with open(path + ".manifest.json", "w") as handle:
        json.dump(data, handle)
    return path


def only_backup(directory):
    files = key_files(directory)
    assert len(files) == 1, files
    return os.path.join(directory, files[0])


def new_key(sim):
    """A FREE key created on the array (the keys change): its id."""
    before = {k["keyId"] for k in sim.control.state()["keys"]}
    sim.array_job("encryption-keys", {"count": 1})
    return ({k["keyId"] for k in sim.control.state()["keys"]} - before).pop()


def restore_requests(log):
    return [e for e in log if "file/actions/restore" in e["path"] and e["method"] in ("POST", "PUT")]


@pytest.mark.reliability("bad_input")
def test_a_forged_newer_file_is_never_restored_and_the_real_file_brings_the_keys_back(site, sim):
    assert site.backup(site.dir).rc == 0
    real = only_backup(site.dir)
    forged = forge(site.dir, real)
    sim.control.lose_keys("1-1")
    run, log, _before, after = site.watched(site.restore, site.dir)
    assert run.rc == 0, run
    assert_green(after)  # the array says the keys are back and every pool volume is normal
    assert len(restore_requests(log)) == 1  # one upload: the real file (the junk would have been refused by the array)
    assert os.path.exists(forged) and os.path.exists(real)  # nothing deleted
    assert FORGED in run.stdout and "not authenticated" in run.stdout  # named in a warning


@pytest.mark.reliability("bad_input")
def test_a_forged_file_alone_is_refused_before_any_volume_is_blocked(site, sim):
    assert site.backup(site.dir).rc == 0
    real = only_backup(site.dir)
    forge(site.dir, real)
    os.unlink(real + ".manifest.json")  # the real file's manifest lost: only the junk claims to hold the keys
    sim.control.lose_keys("1-1")
    run, log, before, after = site.watched(site.restore, site.dir)
    assert run.rc != 0
    assert [e for e in log if e["method"] in ("POST", "PUT", "PATCH") and "sessions" not in e["path"]] == []
    assert [ld["status"] for ld in after["ldevs"]] == [ld["status"] for ld in before["ldevs"]]
    assert after["lost_parity_groups"] == ["1-1"]
    assert FORGED in run.final_failure() and "not authenticated" in run.final_failure()


@pytest.mark.reliability("bad_input")
def test_a_forged_file_never_makes_retention_delete_the_real_copies(site, sim):
    assert site.backup(site.dir).rc == 0
    forged = forge(site.dir, only_backup(site.dir))
    for _night in range(3):
        age_backups(site.dir, [BACKUP_PASSWORD])
        new_key(sim)  # the keys change: each night makes a file
        run = site.backup(site.dir, encryption_key_backup_keep=2)
        assert run.rc == 0, run
    real = [f for f in key_files(site.dir) if f != FORGED]
    # keep 2: the two newest real files; the junk (dated 2099) took no place among them and is still there
    assert len(real) == 2, key_files(site.dir)
    keys_now = {k["keyId"] for k in sim.control.state()["keys"] if not k["lost"]}
    newest = manifest_of(os.path.join(site.dir, max(real)))
    assert {str(i) for ids in newest["keys"].values() for i in ids} == keys_now
    assert os.path.exists(forged)
    check_backup_dir_but(site.dir, FORGED)


def check_backup_dir_but(directory, *foreign):
    """check_backup_dir on the files the collection made (the foreign ones are checked by the test itself)."""
    aside = os.path.join(os.path.dirname(directory), "aside")
    os.makedirs(aside, exist_ok=True)
    for name in foreign:
        for suffix in ("", ".manifest.json"):
            if os.path.lexists(os.path.join(directory, name + suffix)):
                os.rename(os.path.join(directory, name + suffix), os.path.join(aside, name + suffix))
    try:
        check_backup_dir(directory)
    finally:
        for name in os.listdir(aside):
            os.rename(os.path.join(aside, name), os.path.join(directory, name))


@pytest.mark.reliability("bad_input")
def test_a_newer_file_of_another_password_never_makes_retention_delete_ours(site, sim):
    assert site.backup(site.dir).rc == 0
    ours = only_backup(site.dir)
    age_backups(site.dir, [BACKUP_PASSWORD])
    other = site.backup(site.dir, password=OTHER_PASSWORD, encryption_key_backup_force=True)
    assert other.rc == 0, other
    theirs = [os.path.join(site.dir, f) for f in key_files(site.dir) if os.path.join(site.dir, f) != ours]
    assert len(theirs) == 1
    age_backups(site.dir, [OTHER_PASSWORD])
    nightly = site.backup(site.dir, encryption_key_backup_keep=1)
    assert nightly.rc == 0, nightly
    assert os.path.exists(ours) and os.path.exists(theirs[0])  # neither deleted: ours counts, theirs is not ours to judge
    assert len(key_files(site.dir)) == 2  # and no new file: ours still holds the keys and opens with our password
    warned = nightly.stderr  # Ansible prints a module's warnings there
    assert os.path.basename(theirs[0]) in warned and "does not open with this backup password" in warned
    sim.control.lose_keys("1-2")
    run, _log, _before, after = site.watched(site.restore, site.dir)
    assert run.rc == 0, run
    assert_green(after)


@pytest.mark.reliability("rerun")
def test_retention_is_bounded_once_keys_leave_the_array(site, sim):
    """keep 1 over four key changes, each new FREE key deleted again the next day: one file is left, not four (a key
    the array no longer has protects no file)."""
    previous = None
    for _night in range(4):
        key = new_key(sim)
        if previous is not None:
            delete_key(sim, previous)  # yesterday's new key has left the array
            age_backups(site.dir, [BACKUP_PASSWORD])
        previous = key
        run = site.backup(site.dir, encryption_key_backup_keep=1)
        assert run.rc == 0, run
    assert len(key_files(site.dir)) == 1, key_files(site.dir)
    newest = manifest_of(only_backup(site.dir))
    assert previous in newest["keys"]["FREE"]
    check_backup_dir(site.dir)


def delete_key(sim, key_id):
    sim.array_job("encryption-keys/%s" % key_id, method="DELETE")


@pytest.mark.reliability("bad_input")
def test_a_file_dated_in_the_future_is_named_and_does_not_outrank_todays(site, sim):
    assert site.backup(site.dir).rc == 0
    today = only_backup(site.dir)
    # a host with a wrong clock, with the password: the same keys, dated a year ahead
    future = os.path.join(site.dir, SID + "_20271206T020000Z.ekf")
    with open(today, "rb") as src, open(future, "wb") as dst:
        dst.write(src.read())
    with open(today + ".manifest.json") as src, open(future + ".manifest.json", "w") as dst:
        dst.write(src.read())
    os.chmod(future, 0o600)
    os.chmod(future + ".manifest.json", 0o600)
    age_backups_one(site.dir, os.path.basename(future), hours=-24 * 365)
    new_key(sim)
    run = site.backup(site.dir, encryption_key_backup_keep=1)
    assert run.rc == 0, run
    files = key_files(site.dir)
    # the keys changed, so a new file; the future file did not count as the newest, is named, and is not deleted
    assert len(files) == 3 and os.path.basename(future) in files and os.path.basename(today) in files, files
    assert os.path.basename(future) in run.stderr and "dated in the future" in run.stderr  # the warning
    made = [f for f in files if f not in (os.path.basename(future), os.path.basename(today))][0]
    age_backups(site.dir, [BACKUP_PASSWORD])
    second = site.backup(site.dir, encryption_key_backup_keep=1)
    assert second.rc == 0, second
    assert key_files(site.dir) == sorted([made, os.path.basename(future)])  # today's older file went, the future one stays


def age_backups_one(directory, name, hours):
    """age_backups for one file only (the others are moved aside meanwhile)."""
    aside = os.path.join(os.path.dirname(directory), "aside-age")
    os.makedirs(aside, exist_ok=True)
    moved = [f for f in os.listdir(directory) if f.endswith(".manifest.json") and f != name + ".manifest.json"]
    for f in moved:
        os.rename(os.path.join(directory, f), os.path.join(aside, f))
    try:
        assert age_backups(directory, [BACKUP_PASSWORD], hours=hours) == [name + ".manifest.json"]
    finally:
        for f in moved:
            os.rename(os.path.join(aside, f), os.path.join(directory, f))


@pytest.mark.reliability("bad_input")
def test_malformed_and_hostile_files_are_set_aside_and_no_run_crashes_or_hangs(site, sim):
    assert site.backup(site.dir).rc == 0
    real = only_backup(site.dir)
    good = manifest_of(real)

    def drop(name, content=None, manifest=None):
        path = os.path.join(site.dir, name)
        if content is not None:
            with open(path, "wb") as handle:
                handle.write(content)
        if manifest is not None:
            with open(path + ".manifest.json", "w") as handle:
                handle.write(manifest if isinstance(manifest, str) else json.dumps(manifest))
        return path

    drop(SID + "_20301201T000000Z.ekf", b"x" * 100, dict(good, keys=["1", "2"]))  # keys as a list
    drop(SID + "_20301202T000000Z.ekf", b"x" * 100, "{not json")
    drop(SID + "_20301203T000000Z.ekf", b"x" * 100, dict(good, created_utc="tomorrow"))
    drop(SID + "_20301204T000000Z.ekf", b"x" * 100, [good])
    pipe = os.path.join(site.dir, SID + "_20301205T000000Z.ekf")
    os.mkfifo(pipe)
    drop(SID + "_20301205T000000Z.ekf", None, good)
    link = drop(SID + "_20301206T000000Z.ekf", b"x" * 100)
    os.symlink("/dev/zero", link + ".manifest.json")
    os.symlink("/dev/zero", os.path.join(site.dir, SID + "_20301207T000000Z.ekf"))
    drop(SID + "_20301207T000000Z.ekf", None, dict(good, password_verifier=dict(good["password_verifier"], iterations=10 ** 12)))
    new_key(sim)
    age_backups(site.dir, [BACKUP_PASSWORD])
    nightly = site.backup(site.dir, encryption_key_backup_keep=1)
    assert nightly.rc == 0, nightly
    assert "Unexpected error" not in nightly.stdout + nightly.stderr and "Traceback" not in nightly.stdout + nightly.stderr
    made = [f for f in key_files(site.dir) if f != os.path.basename(real) and f.startswith(SID + "_2026")]
    assert len(made) == 1 and not os.path.exists(real)  # the night's file made; the old real one retired by keep 1
    assert os.path.exists(pipe) and os.path.islink(os.path.join(site.dir, SID + "_20301207T000000Z.ekf"))  # none touched
    sim.control.lose_keys("1-1")
    run, _log, _before, after = site.watched(site.restore, site.dir)
    assert run.rc == 0, run
    assert_green(after)
    assert "Unexpected error" not in run.stdout


@pytest.mark.reliability("fault")
def test_two_backups_at_once_serialise_and_keep_each_others_files(site, sim, tmp_path):
    """Two schedules (or two control nodes on one share) back up at the same moment into one directory: the second
    waits for the first's lock, and neither run's retention deletes the other's new file."""
    assert site.backup(site.dir).rc == 0
    age_backups(site.dir, [BACKUP_PASSWORD])
    first_file = only_backup(site.dir)
    other = Site(tmp_path / "second-control-node", sim)
    sim.control.clear_requests()
    sim.control.add_fault(method="POST", path="file/actions/backup", delay_ms=4000, times=1)
    extra = {"encryption_key_backup_keep": 1, "encryption_key_backup_force": True}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(s.backup, site.dir, **extra) for s in (site, other)]
        results = [r.result() for r in runs]
    assert [r.rc for r in results] == [0, 0], results
    backups = [e for e in sim.control.requests_log() if "file/actions/backup" in e["path"] and e["method"] == "POST"]
    assert len(backups) == 2 and backups[0]["ms"] >= 4000  # the delayed one finished before the other was sent
    files = key_files(site.dir)
    assert len(files) == 2 and os.path.basename(first_file) not in files, files  # both new files; the aged one retired
    assert os.path.exists(os.path.join(site.dir, LOCK_NAME))
    check_backup_dir(site.dir)


@pytest.mark.reliability("bad_input")
def test_a_connection_password_outside_ascii_is_refused_before_any_request(site, sim):
    sim.control.clear_requests()
    conn = sim.connection(password="Zq7-adm1n-\u20ac-Lk4w9Xv")
    with open(site.inventory) as handle:
        inventory = json.load(handle)
    for host in inventory["vsp_arrays"]["hosts"].values():
        host["vsp_connection"] = conn
    with open(site.inventory, "w") as handle:
        json.dump(inventory, handle)
    run = site.backup(site.dir)
    assert run.rc != 0
    assert "password contains a character outside ASCII" in run.stdout and "UnicodeEncodeError" not in run.stdout
    assert "\u20ac" not in run.stdout + run.stderr
    assert sim.control.requests_log() == []


@pytest.mark.reliability("fault")
def test_a_backup_during_a_restore_writes_and_deletes_nothing_and_the_restore_ends_green(site, sim, tmp_path):
    """The nightly schedule fires while an operator restores from the same directory: the backup sees the lost keys,
    writes nothing and deletes nothing (not even with keep 1), and the restore goes on to the end."""
    assert site.backup(site.dir).rc == 0
    age_backups(site.dir, [BACKUP_PASSWORD])
    sim.control.lose_keys("1-1")
    before = sorted(os.listdir(site.dir))
    nightly_site = Site(tmp_path / "scheduler", sim)
    sim.control.clear_requests()
    sim.control.hold_jobs()  # the block's jobs wait: the restore is under way when the nightly backup runs
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            restore = pool.submit(site.restore, site.dir)
            blocking = sim.control.await_log(lambda log: any("change-status" in e["path"] for e in log), timeout=180)
            assert blocking is not None, "the restore never reached the block"
            nightly = nightly_site.backup(site.dir, encryption_key_backup_keep=1)
            sim.control.release_jobs()
            restored = restore.result()
    finally:
        sim.control.release_jobs()
    assert nightly.rc != 0 and "lost" in nightly.final_failure()
    assert restored.rc == 0, restored
    assert sorted(os.listdir(site.dir)) == before  # nothing written or deleted by either run
    assert_green(sim.control.state())
