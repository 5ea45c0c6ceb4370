"""vsp_simulator.playbook, the one runner of ansible-playbook: its command line, its environment,
extra variables on the command line or in a private file, a verbatim command, the output captured
or in files, the running process and the record of a run. No ansible-playbook is started here: the
verbatim commands are small Python programs (the suites run the real thing)."""

import json
import os
import stat
import subprocess
import sys

import pytest
from vsp_simulator import harness, playbook

SHOW = [sys.executable, "-c",
        "import json, os, sys; print(json.dumps({'cwd': os.getcwd(), 'env': dict(os.environ)})); "
        "print('to stderr', file=sys.stderr)"]


def test_command_line_of_a_playbook():
    cmd = playbook.playbook_command("vsp.encryption.backup_encryption_keys", "inv",
                                    args=["--limit", "a", 3])
    assert cmd == [os.path.join(harness.bin_dir(), "ansible-playbook"), "-i", "inv",
                   "vsp.encryption.backup_encryption_keys", "--limit", "a", "3"]
    assert playbook.playbook_command("play.yml")[1:] == ["play.yml"]  # no inventory: Ansible's own


def test_extra_vars_inline_as_json_or_as_a_string():
    cmd = playbook.playbook_command("p.yml", "inv", extra_vars={"a": 1, "b": "x y"})
    assert cmd[-2] == "-e" and json.loads(cmd[-1]) == {"a": 1, "b": "x y"}
    assert playbook.playbook_command("p.yml", extra_vars="a=1")[-2:] == ["-e", "a=1"]


def test_extra_vars_in_a_file_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "extra.json"
    path.write_text("old")
    path.chmod(0o644)
    cmd = playbook.playbook_command("p.yml", "inv", extra_vars={"password": "Pw-1"}, vars_file=path)
    assert cmd[-2:] == ["-e", "@%s" % path] and "Pw-1" not in " ".join(cmd)
    assert json.loads(path.read_text()) == {"password": "Pw-1"}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(ValueError, match="vars_file"):
        playbook.playbook_command("p.yml", vars_file=path)


def test_environment_is_clean_and_quiet_plus_the_suites_own(monkeypatch):
    monkeypatch.setenv("VSP_PASSWORD", "from-outside")
    monkeypatch.setenv("ANSIBLE_CONFIG", "/elsewhere.cfg")
    env = playbook.environment(ANSIBLE_COLLECTIONS_PATH="/c", ANSIBLE_NOCOLOR="0")
    assert "VSP_PASSWORD" not in env and "ANSIBLE_CONFIG" not in env
    assert env["PATH"].split(os.pathsep)[0] == harness.bin_dir()
    assert env["ANSIBLE_COLLECTIONS_PATH"] == "/c"
    assert env["ANSIBLE_NOCOLOR"] == "0"  # the suite's word wins
    assert env["ANSIBLE_LOCALHOST_WARNING"] == "false"


def test_verbatim_command_in_the_clean_environment_captured(tmp_path, monkeypatch):
    monkeypatch.setenv("VSP_PASSWORD", "from-outside")
    proc = playbook.run_playbook(command=SHOW, env={"SUITE": "1"}, cwd=tmp_path)
    assert proc.returncode == 0 and proc.args == SHOW and proc.stderr == "to stderr\n"
    seen = json.loads(proc.stdout)
    assert seen["cwd"] == str(tmp_path) and seen["env"]["SUITE"] == "1"
    assert "VSP_PASSWORD" not in seen["env"]
    with pytest.raises(ValueError, match="verbatim"):
        playbook.run_playbook("p.yml", command=SHOW)
    with pytest.raises(ValueError, match="a playbook or a command"):
        playbook.run_playbook()


def test_a_foreign_environment_is_used_as_it_is(tmp_path):
    cron = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "SHELL": "/bin/sh"}
    proc = playbook.run_playbook(command=SHOW, environ=cron)
    seen = json.loads(proc.stdout)["env"]
    assert {k: v for k, v in seen.items() if k in cron} == cron
    assert not [k for k in seen if k.startswith("ANSIBLE_")]


def test_output_to_files_and_the_record(tmp_path):
    out, record = tmp_path / "run.out", tmp_path / "run.record"
    proc = playbook.run_playbook(command=SHOW, stdout_path=out, record=record)
    assert out.read_text() == proc.stdout and "to stderr" in proc.stdout  # one file: both
    assert proc.stderr == ""
    assert record.read_text() == " ".join(SHOW) + "\n" + proc.stdout


def test_popen_gives_the_running_process_and_finish_the_result(tmp_path):
    out, err = tmp_path / "run.out", tmp_path / "run.err"
    with pytest.raises(ValueError, match="stdout_path"):
        playbook.run_playbook(command=SHOW, popen=True)
    waits = [sys.executable, "-c", "import time; time.sleep(30); print('done')"]
    running = playbook.run_playbook(command=waits, popen=True, stdout_path=out, stderr_path=err)
    try:
        assert running.poll() is None and running.pid > 0  # still running
    finally:
        running.kill()
    done = running.finish(30)
    assert done.returncode != 0 and done.stdout == "" and done.stderr == ""
    finished = playbook.run_playbook(command=SHOW, popen=True, stdout_path=out,
                                     stderr_path=err).finish(30)
    assert finished.returncode == 0 and finished.stderr == "to stderr\n"
    assert json.loads(finished.stdout)["cwd"]


def test_timeout_kills_the_run(tmp_path):
    sleeps = [sys.executable, "-c", "import time; time.sleep(30)"]
    with pytest.raises(subprocess.TimeoutExpired):
        playbook.run_playbook(command=sleeps, timeout=0.5)
    with pytest.raises(subprocess.TimeoutExpired):
        playbook.run_playbook(command=sleeps, timeout=0.5, stdout_path=tmp_path / "out")
