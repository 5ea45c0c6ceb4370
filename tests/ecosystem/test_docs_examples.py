"""The docs, tested as written (issue 31): every example of README.md and docs/*.md is marked with what it is
(see doc_examples.py), and each page's commands are typed, as shown, into a shell in a project directory outside
the checkout, with the collection installed from its release tarball into an empty home, against a simulator of
its own. Only the placeholders the README names are filled in; vault prompts are answered at the terminal (a pty),
so `--ask-vault-pass` and `read -rs` run as written. A page's run is judged by the simulator's state, never by what
the playbooks print.
"""
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys

import pexpect
import pytest
import yaml
from doc_examples import KINDS, commands, examples, pages, read_page
from ecosystem_helpers import ADMIN, BIN, ROOT, clean_env
from vsp_simulator.harness import SimulatorProcess

VAULT_PASSWORD = "Docs-Vault-2026"
PROMPT = "<<rc=$?>> "
PROMPT_RE = r"<<rc=(\d+)>> "
# what a terminal asks for, and what the user types
PASSWORD_PROMPTS = [r"(New |Confirm New )?[Vv]ault password[^:\n]*: "]
PAGES = pages()


def placeholders(sim, backups):
    """The README's placeholders (its "Placeholders" paragraph) and what this run puts in their place."""
    return {
        "vsp01.example.com": sim.host,
        "/etc/pki/vsp/ca.pem": sim.ca_path,
        "/srv/vsp-key-backups": str(backups),
        "ansible-keys": ADMIN[0],
        "'change-me'": "'%s'" % ADMIN[1],
    }


def fill(text, values):
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def test_the_readme_names_the_placeholders_the_tests_fill(tmp_path):
    class Sim:
        host, ca_path = "127.0.0.1", "ca.pem"
    names = set(re.findall(r"`([^`]+)`", re.search(r"^Placeholders: (.*?)\n\n", read_page("README.md"), re.S | re.M).group(1)))
    assert set(placeholders(Sim, tmp_path)) <= names


# -- every block is marked, and what is not run is at least well-formed ---------------------------------------------
@pytest.mark.parametrize("page", PAGES)
def test_every_example_is_marked(page):
    unmarked = [e.where for e in examples(page) if e.kind is None]
    assert not unmarked, "blocks without a '<!-- example: KIND -->' line before them (KIND: %s): %s" % (
        ", ".join(KINDS), unmarked)


@pytest.mark.parametrize("page", PAGES)
def test_examples_are_well_formed(page, tmp_path):
    for example in examples(page):
        if example.lang == "yaml":
            yaml.safe_load(example.text)
        elif example.lang == "json":
            json.loads(example.text)
        elif example.lang in ("console", "sh") and example.kind != "output":
            script = tmp_path / "block.sh"
            script.write_text(example.text)
            proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
            assert proc.returncode == 0, "%s is not valid shell: %s" % (example.where, proc.stderr)
        if example.kind == "tested by":
            test = os.path.join(ROOT, example.args)
            assert os.path.isfile(test), "%s names %s, which does not exist" % (example.where, example.args)
            with open(test) as handle:
                assert os.path.basename(page) in handle.read(), "%s does not read %s" % (example.args, page)
        if example.kind == "not run":
            assert example.args, "%s: say why it is not run" % example.where


def test_shipped_examples_are_what_the_collection_ships(installed_collections):
    collection = os.path.join(str(installed_collections), "ansible_collections", "vsp", "encryption")
    shipped = [e for page in PAGES for e in examples(page) if e.kind == "shipped"]
    assert shipped
    for example in shipped:
        path = os.path.join(collection, example.args)
        assert os.path.isfile(path), "%s shows %s, which the release does not ship" % (example.where, example.args)
        with open(path) as handle:
            assert_subset(yaml.safe_load(example.text), yaml.safe_load(handle), example.where)


def assert_subset(shown, actual, where, at="top"):
    if isinstance(shown, dict):
        assert isinstance(actual, dict), "%s: %s is not a mapping in the shipped file" % (where, at)
        for key, value in shown.items():
            assert key in actual, "%s: %s.%s is not in the shipped file" % (where, at, key)
            assert_subset(value, actual[key], where, "%s.%s" % (at, key))
    else:
        assert shown == actual, "%s: %s is %r in the docs and %r in the shipped file" % (where, at, shown, actual)


# -- the pages, run ---------------------------------------------------------------------------------------------------
class Terminal:
    """An interactive bash in a pty: a user typing the docs' lines and answering the prompts."""

    def __init__(self, cwd, env, log):
        self.log = log
        self.child = pexpect.spawn("/bin/bash", ["--norc", "--noprofile"], cwd=str(cwd), env=env, encoding="utf-8",
                                   codec_errors="replace", timeout=300, dimensions=(60, 400))
        self.child.logfile_read = log
        self.child.sendline("PS1='%s'; PS2=''" % PROMPT)
        self.child.expect(PROMPT_RE)

    def type(self, command, secret_lines=()):
        """Type one command (continuation lines too); answer vault prompts; the command's exit status."""
        self.log.write("\n$ %s\n" % command)
        for line in command.split("\n"):
            self.child.sendline(line)
        for secret in secret_lines:
            self.child.waitnoecho(timeout=60)  # typed once `read -s` has switched the echo off, as a user would
            self.child.sendline(secret)
        while True:
            found = self.child.expect([PROMPT_RE] + PASSWORD_PROMPTS)
            if found == 0:
                return int(self.child.match.group(1))
            self.child.sendline(VAULT_PASSWORD)

    def close(self):
        self.child.sendline("exit")
        self.child.expect(pexpect.EOF)


EDITOR = """\
import json, os, sys
edits = json.load(open(os.environ["DOC_EXAMPLE_EDITS"]))
path = os.path.relpath(os.path.abspath(sys.argv[1]))
text = edits["files"].get(path)
if text is None:
    text = open(path).read()
    for placeholder, value in edits["placeholders"].items():
        text = text.replace(placeholder, value)
open(path, "w").write(text)
"""


def page_env(page, sim):
    """What a page's shell has that no command of it sets: the simulator page's shell is hack/with-simulator's,
    a pipeline's job has the vault password in a masked CI variable."""
    if page == "docs/simulator.md":
        return {"VSP_SIMULATOR_URL": sim.url, "VSP_CA_PATH": sim.ca_path}
    if page == "docs/pipelines.md":
        return {"ANSIBLE_VAULT_PASSWORD": VAULT_PASSWORD}
    return {}


# The state a page's example starts from ("given=..."), made as it happens at a site.
GIVEN_GROUPS = ("1-1", "1-2")


class Project:
    """A user's project for one page: an empty home with the collection installed from the tarball, a project
    directory outside the checkout, a simulator of its own, and a terminal."""

    def __init__(self, tmp, tarball, log, page):
        self.home, self.dir, self.backups = tmp / "home", tmp / "project", tmp / "srv" / "vsp-key-backups"
        self.home.mkdir()
        self.dir.mkdir()
        # given=kms-configured: the array has had a key management server all along
        kms = any(e.options.get("given") == "kms-configured" for e in examples(page) if e.kind == "run")
        self.sim = SimulatorProcess(tmp / "simulator", job_ms=20, scenario={"kms": {"configured": True}} if kms else None)
        self.sim.start()
        self.values = placeholders(self.sim, self.backups)
        self.files = {}
        self.edits = tmp / "edits.json"
        editor = tmp / "editor.py"
        editor.write_text(EDITOR)
        editor.chmod(stat.S_IRWXU)
        env = clean_env(HOME=str(self.home), VSP_PORT=str(self.sim.port), TERM="dumb", PAGER="cat", ANSIBLE_NOCOLOR="1",
                        EDITOR="%s %s" % (sys.executable, editor), DOC_EXAMPLE_EDITS=str(self.edits),
                        PATH=BIN + os.pathsep + "/usr/bin:/bin", **page_env(page, self.sim))
        shutil.copy(str(tarball), str(self.dir / os.path.basename(str(tarball))))
        self.terminal = Terminal(self.dir, env, log)
        self.typed = []

    def close(self):
        self.terminal.close()
        self.sim.stop()

    def write_edits(self):
        self.edits.write_text(json.dumps({"files": self.files, "placeholders": self.values}))

    def show_file(self, example):
        path = example.args
        self.files[path] = fill(example.text, self.values)
        self.write_edits()

    def type(self, command, where):
        command = fill(command, self.values)
        argv = shlex.split(command.replace("\\\n", " "), comments=True) if command.strip() else []
        secrets = [ADMIN[1]] if argv[:2] == ["read", "-rs"] else []
        rc = self.terminal.type(command, secrets)
        self.typed.append((where, command, rc))
        return rc

    def state(self):
        return self.sim.control.state()

    def given(self, what, nightly):
        """`backed-up`: the nightly backup has run; `keys-lost`: it has, and then the array lost keys."""
        assert what in ("backed-up", "keys-lost", "kms-configured"), "unknown given=%s" % what
        if what == "kms-configured":
            return
        if not list(self.backups.glob("*.ekf")):
            assert self.type(nightly, "the nightly backup of README.md") == 0, "the nightly backup failed"
        if what == "keys-lost" and not self.state().get("lost_parity_groups"):
            self.sim.control.lose_keys(*GIVEN_GROUPS)

    def write_files(self, steps):
        """The files a page shows, written as shown: those an `$EDITOR PATH` line edits when it runs, the others
        before the page's first command (a page may run a script it shows further down)."""
        edited = {m for e in steps if e.kind == "run" for m in re.findall(r"\$EDITOR (\S+)", e.text)}
        for example in steps:
            if example.kind != "file":
                continue
            self.show_file(example)
            if example.args not in edited:
                path = self.dir / example.args
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(self.files[example.args])


def readme_setup():
    return [e for e in examples("README.md") if e.kind == "run" and "setup" in e.options]


def nightly_backup():
    found = [c for e in examples("README.md") if e.kind == "run" for c in commands(e.text)
             if "vsp.encryption.backup_encryption_keys" in c]
    return found[0]


def install_line():
    section = read_page("README.md").split("## Install", 1)[1]
    return re.search(r"^ansible-galaxy collection install \S+\.tar\.gz$", section, re.M).group(0)


RUN_PAGES = [p for p in PAGES if any(e.kind == "run" for e in examples(p))]
# make test types the README (a new user's first page); make test-extended types every page (marker `extended`)
QUICK_PAGES = ("README.md",)


@pytest.mark.parametrize("page", [p if p in QUICK_PAGES else pytest.param(p, marks=pytest.mark.extended) for p in RUN_PAGES])
def test_page_runs_as_written(page, tarball, tmp_path):
    with open(str(tmp_path / "terminal.log"), "w") as log:
        project = Project(tmp_path, tarball, log, page)
        try:
            run_page(project, page)
            state = project.state()
        finally:
            project.close()
    transcript = (tmp_path / "terminal.log").read_text()
    assert ADMIN[1] not in strip_typed(transcript, project), "the simulator's password was printed"
    judge(page, project, state)


def strip_typed(transcript, project):
    """The transcript less the lines the user typed (a command may hold a placeholder's value)."""
    typed = {line for step in project.typed for line in step[1].split("\n")}
    return "\n".join(line for line in transcript.split("\n") if line.strip() not in typed)


def run_page(project, page):
    assert project.type(install_line(), "README.md Install") == 0, "the README's install line failed"
    steps = [e for e in examples(page) if e.kind in ("run", "file")]
    if page != "README.md":
        steps = [e for e in examples("README.md") if e.kind == "file"] + readme_setup() + steps
    project.write_files(steps)
    for example in steps:
        if example.kind == "file":
            continue
        if "given" in example.options:
            project.given(example.options["given"], fill(nightly_backup(), project.values))
        expected = int(example.options.get("rc", 0))
        for command in commands(example.text):
            rc = project.type(command, example.where)
            assert rc == expected, "%s: `%s` exited %d (expected %d); see terminal.log" % (
                example.where, command.splitlines()[0], rc, expected)


def judge(page, project, state):
    """What the page promises, read from the simulator's state and the files on disk."""
    typed = [step[1] for step in project.typed]
    assert len(typed) > 1, "%s ran nothing but the install" % page
    files = sorted(p.name for p in project.backups.glob("*.ekf"))
    ran = " ".join(typed)
    if "backup_encryption_keys" in ran:
        assert files, "%s backed up and no key file is in %s" % (page, project.backups)
        assert all(k.get("numOfBackups", 0) > 0 for k in state["keys"]), "a key was never backed up"
    if any("given" in e.options for e in examples(page) if e.kind == "run"):
        assert not state.get("lost_parity_groups"), "%s: keys still lost after the page: %s" % (
            page, state.get("lost_parity_groups"))
        blocked = [ld["ldevId"] for ld in state["ldevs"] if ld.get("status") not in (None, "NML")]
        assert not blocked, "%s: pool volumes left %s" % (page, blocked)
    if "capture_array" in ran:
        assert list(project.dir.glob("vsp-capture-*.json")), "%s captured and no capture was written" % page
    if "audit_key_backups" in ran:
        assert (project.dir / "key-backup-audit.json").is_file() or "vsp_audit_report_json" in ran, \
            "%s audited and no report was written" % page
