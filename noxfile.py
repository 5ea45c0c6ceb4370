"""The version matrix of `make versions` and `make cores` (issues 14, 25): every version meta/runtime.yml claims is tested.

    nox -f noxfile.py -s core216            unit tests, integration targets and a backup + restore role run
                                            on the oldest supported ansible-core (2.16) with Python 3.12
    nox -f noxfile.py -s core217 core218 core219 core220
                                            the same for each version between it and the current one
    nox -f noxfile.py -s "sanity-3.9" ...   ansible-test sanity (compile, import) of the module code for each
                                            module-host Python found here (3.12 runs in full in `make sanity`)

`make versions` (sanity) and `make cores` (the core sessions) call it (mk/versions.mk) with the environment it needs:

    VSP_REPORTS         where each session writes its JUnit report
    VSP_COLLECTION_DIR  a copy of the collection at .../ansible_collections/vsp/encryption (`make collection`)

Pins come from requirements-dev.txt (the same versions `make test` uses), except ansible-core itself.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
from xml.sax.saxutils import escape, quoteattr

import nox
from nox.command import CommandFailed

ROOT = os.path.dirname(os.path.abspath(__file__))
# ansible-core 2.16: the oldest meta/runtime.yml claims (Automation Platform 2.5); controller Python 3.10-3.12
CORE_OLDEST = "2.16.19"
CORE_OLDEST_PYTHON = "3.12"
# the versions between the oldest and the current (requirements-dev.txt), each on a control-node Python it supports:
# 2.17 runs on 3.10-3.12, 2.18 and 2.19 on 3.11-3.13 (2.19 is what `pip install ansible-core` gives on 3.11), 2.20 on
# 3.12-3.14 (`make cores` runs these and core216)
CORES_BETWEEN = {"core217": ("2.17.14", "3.10"), "core218": ("2.18.19", "3.11"), "core219": ("2.19.14", "3.11"),
                 "core220": ("2.20.10", "3.13")}
# module-host Pythons of the current ansible-core (ansible-test sanity --python): 3.9-3.14; those found here run
MODULE_PYTHONS = ["3.9", "3.10", "3.11", "3.13", "3.14"]
# what the tests of the oldest core need, pinned as in requirements-dev.txt
TEST_PACKAGES = ["requests", "pytest", "pytest-xdist", "responses", "flask", "trustme"]

nox.options.default_venv_backend = "venv"
nox.options.error_on_missing_interpreters = True  # no Python 3.12: core216 fails, it is not skipped
nox.options.reuse_existing_virtualenvs = True


def _pins():
    pins = {}
    for name in ("requirements.txt", "requirements-dev.txt"):
        with open(os.path.join(ROOT, name)) as handle:
            for line in handle:
                match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
                if match:
                    pins[match.group(1).lower()] = match.group(2)
    return ["%s==%s" % (p, pins[p]) for p in TEST_PACKAGES]


def _env(name):
    value = os.environ.get(name)
    if not value:
        raise SystemExit("%s is not set: run through `make versions`" % name)
    return value


def _junit(path, suite, cases):
    """A JUnit file of (name, seconds, failure output or None, skip reason or None) cases."""
    failures = sum(1 for c in cases if c[2] is not None)
    skipped = sum(1 for c in cases if c[3] is not None)
    lines = ['<?xml version="1.0" encoding="utf-8"?>',
             '<testsuites><testsuite name=%s tests="%d" failures="%d" errors="0" skipped="%d">'
             % (quoteattr(suite), len(cases), failures, skipped)]
    for name, seconds, failure, skip in cases:
        lines.append('<testcase classname=%s name=%s time="%.3f">' % (quoteattr(suite), quoteattr(name), seconds))
        if failure is not None:
            lines.append('<failure message="failed">%s</failure>' % escape(failure[-20000:]))
        if skip is not None:
            lines.append("<skipped message=%s/>" % quoteattr(skip))
        lines.append("</testcase>")
    lines.append("</testsuite></testsuites>")
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def _copy_collection(session, dest_root):
    """A private copy of the collection (its integration config and outputs stay out of the main gates' copy)."""
    source = _env("VSP_COLLECTION_DIR")
    dest = os.path.join(dest_root, "ansible_collections", "vsp", "encryption")
    shutil.rmtree(dest_root, ignore_errors=True)
    shutil.copytree(source, dest, symlinks=True, ignore=shutil.ignore_patterns("output", "__pycache__"))
    return dest_root, dest


def _install_once(session, *installs):
    """pip install, skipped when the reused environment already holds exactly these pins (a stamp file)."""
    stamp = os.path.join(session.virtualenv.location, ".vsp-installed")
    with open(os.path.join(ROOT, "simulator", "pyproject.toml")) as handle:
        wanted = repr(installs) + handle.read()
    if os.path.exists(stamp):
        with open(stamp) as handle:
            if handle.read() == wanted:
                session.log("packages already installed (%s)" % stamp)
                return
    for args in installs:
        session.install(*args)
    with open(stamp, "w") as handle:
        handle.write(wanted)


def _core_run(session, core, label):
    """ansible-core `core`: unit tests, integration targets, backup and restore through the playbooks."""
    reports = _env("VSP_REPORTS")
    _install_once(session, ["ansible-core==%s" % core, *_pins()], ["-e", os.path.join(ROOT, "simulator")])
    version = session.run("python", "-c", "from ansible.release import __version__; print(__version__)", silent=True).strip()
    if version != core:
        session.error("not ansible-core %s: %s" % (core, version))
    # not session.create_tmp(): it points TMPDIR into nox's directory under .build*/, a hidden path that
    # the backup-directory checks of the tests would take for a partial file
    tmpdir = tempfile.mkdtemp(prefix="vsp-%s-" % label)
    base, coll = _copy_collection(session, os.path.join(tmpdir, "collection"))
    bindir = os.path.join(session.virtualenv.location, "bin")
    python = os.path.join(bindir, "python")
    env = {"ANSIBLE_COLLECTIONS_PATH": base, "VSP_COLLECTION_DIR": coll, "ANSIBLE_NOCOLOR": "1", "PY_COLORS": "0",
           "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    pytest = ["pytest", "-q", "-p", "no:cacheprovider", "-o", "junit_family=xunit2"]
    junit = "--junitxml=%s/versions-%s-%%s.xml" % (reports, label)
    steps = [
        ("unit tests", [*pytest, "-n", "2", junit % "unit", os.path.join(ROOT, "tests", "unit")]),
        ("integration targets", [python, os.path.join(ROOT, "hack", "with-simulator"), "--", *pytest,
                                 junit % "integration", os.path.join(coll, "tests", "integration", "test_targets.py")]),
        # backup, key loss and restore through the shipped playbooks, vaulted inventory (the roles end to end)
        ("roles through the playbooks", [*pytest, junit % "roles",
                                         os.path.join(ROOT, "tests", "reliability", "test_unsafe_secrets.py")]),
    ]
    failed = []
    for step, cmd in steps:  # every step runs, as `make -k test` runs every gate
        try:
            session.run(*cmd, env=env)
        except CommandFailed:
            failed.append(step)
    shutil.rmtree(tmpdir, ignore_errors=True)
    if failed:
        session.error("ansible-core %s: %s failed" % (core, ", ".join(failed)))


@nox.session(name="core216", python=CORE_OLDEST_PYTHON)
def core216(session):
    """ansible-core 2.16 on Python 3.12: unit tests, integration targets, backup and restore through the playbooks."""
    _core_run(session, CORE_OLDEST, "core216")


def _between(label, core, python):
    @nox.session(name=label, python=python)
    def between(session):
        _core_run(session, core, label)
    between.__doc__ = "ansible-core %s on Python %s: as core216" % (core, python)
    return between


for _label, (_core, _python) in CORES_BETWEEN.items():
    globals()[_label] = _between(_label, _core, _python)


def _found(version):
    return shutil.which("python" + version) is not None and subprocess.run(  # noqa: S603 - a fixed command
        ["python" + version, "-c", "import sys"], capture_output=True, check=False).returncode == 0


@nox.session(name="sanity", python=False)
def sanity(session):
    """ansible-test sanity (compile, import) of the modules and module_utils for each module-host Python here.

    One JUnit report (versions-sanity.xml), one case per Python; a Python not installed here is a skipped case.
    """
    reports = _env("VSP_REPORTS")
    ansible_test = shutil.which("ansible-test")
    if not ansible_test:
        session.error("ansible-test is not on PATH")
    cases, failed = [], []
    for python in MODULE_PYTHONS:
        name = "ansible-test sanity --test compile --test import --python %s" % python
        if not _found(python):
            session.log("python%s is not installed here: skipped" % python)
            cases.append((name, 0.0, None, "python%s is not installed here" % python))
            continue
        work = tempfile.mkdtemp(prefix="vsp-sanity-%s-" % python)
        try:
            dummy, coll = _copy_collection(session, os.path.join(work, "collection"))
            start = time.monotonic()
            proc = subprocess.run(  # noqa: S603 - ansible-test, fixed arguments
                [ansible_test, "sanity", "--color", "no", "--test", "compile", "--test", "import", "--python", python,
                 "--requirements"], cwd=coll, capture_output=True, text=True, check=False)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        output = proc.stdout + proc.stderr
        session.log("%s: exit %d (%.0f s)\n%s" % (name, proc.returncode, time.monotonic() - start, output[-3000:]))
        cases.append((name, time.monotonic() - start, None if proc.returncode == 0 else output, None))
        if proc.returncode != 0:
            failed.append(python)
    _junit(os.path.join(reports, "versions-sanity.xml"), "sanity", cases)
    if failed:
        session.error("ansible-test sanity failed for Python %s" % ", ".join(failed))
