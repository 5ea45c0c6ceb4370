"""Every gate make runs in an environment of its own (issue 25): make is the one entry point, nox sets up and runs.

Each session installs only what its gate needs, pinned as in the requirements files, into a virtual environment
nox keeps under .build/nox (reused while its pins are unchanged):

    nox -s lint                 ruff, yamllint, ansible-lint (production profile, offline)       make lint
    nox -s changelog            antsibull-changelog lint of the fragments and changelog.yaml       make changelog-lint
    nox -s docs -- lint         antsibull-docs lint-collection-docs --plugin-docs                 make docs-lint
    nox -s docs -- site         the HTML docs site, offline, in docs/_build/html                  make docs
    nox -s sanity               ansible-test sanity (Python 3.12, every test, no ignore entries)   make sanity
    nox -s unit                 tests/unit (ansible-core, requests, pytest, responses: no more)    make unit
    nox -s build -- DIR         ansible-galaxy collection build into DIR (ansible-core alone)     make galaxy-build
    nox -s sanity-pythons       ansible-test sanity (compile, import) for each other module-host   make versions
                                Python found here
    nox -s core216 ... core220  each ansible-core the collection claims other than the pinned one: make cores
                                unit tests, integration targets, backup and restore through the playbooks

make passes what the sessions need in the environment:

    VSP_REPORTS         where each session writes its JUnit report
    VSP_COLLECTION_DIR  a copy of the collection at .../ansible_collections/vsp/encryption (`make collection-copy`)

Pins come from the requirements files (requirements-dev.txt, requirements-lint.txt, requirements-docs.txt: the same
versions every gate uses; tests/ecosystem/test_install.py checks that they agree), except the other ansible-cores.
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
# pytest as every session runs it (a JUnit report each, no cache in the checkout)
PYTEST = ["pytest", "-q", "-p", "no:cacheprovider", "-o", "junit_family=xunit2"]

nox.options.default_venv_backend = "venv"
nox.options.error_on_missing_interpreters = True  # no Python 3.12: core216 fails, it is not skipped
nox.options.reuse_existing_virtualenvs = True


REQUIREMENTS = ("requirements.txt", "requirements-dev.txt", "requirements-lint.txt", "requirements-docs.txt")
# what each gate's environment holds (the versions: the requirements files)
UNIT_PACKAGES = ["ansible-core", "requests", "pytest", "pytest-xdist", "responses"]
LINT_PACKAGES = ["ansible-core", "ruff", "yamllint", "ansible-lint"]
CHANGELOG_PACKAGES = ["antsibull-changelog"]
DOCS_PACKAGES = ["ansible-core", "antsibull-docs", "sphinx", "sphinx-ansible-theme", "sphinx-rtd-theme", "myst-parser",
                 "ansible-pygments"]


def _pins(names=TEST_PACKAGES):
    """`name==version` for each name, as the requirements files pin it (a name pinned nowhere is an error)."""
    pins = {}
    for name in REQUIREMENTS:
        with open(os.path.join(ROOT, name)) as handle:
            for line in handle:
                match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
                if match:
                    pins[match.group(1).lower()] = match.group(2)
    missing = [p for p in names if p not in pins]
    if missing:
        raise SystemExit("not pinned in %s: %s" % (", ".join(REQUIREMENTS), ", ".join(missing)))
    return ["%s==%s" % (p, pins[p]) for p in names]


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
    wanted = repr(installs)
    if any("-e" in args for args in installs):  # the simulator, installed from its folder
        with open(os.path.join(ROOT, "simulator", "pyproject.toml")) as handle:
            wanted += handle.read()
    if os.path.exists(stamp):
        with open(stamp) as handle:
            if handle.read() == wanted:
                session.log("packages already installed (%s)" % stamp)
                return
    for args in installs:
        session.install("--disable-pip-version-check", "-q", *args)
    with open(stamp, "w") as handle:
        handle.write(wanted)


def _run_all(session, steps, what):
    """Run every (name, command, env) step, as `make -k` runs every gate; fail naming the steps that failed."""
    failed = []
    for step, cmd, env in steps:
        try:
            session.run(*cmd, env=env)
        except CommandFailed:
            failed.append(step)
    if failed:
        session.error("%s: %s failed" % (what, ", ".join(failed)))


def _collections_env():
    """ANSIBLE_COLLECTIONS_PATH for the collection copy (ansible-lint's syntax check, the docs site): the folder that
    holds its ansible_collections/."""
    copy = _env("VSP_COLLECTION_DIR")
    return {"ANSIBLE_COLLECTIONS_PATH": os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(copy))))}


def _pip_standin(session):
    """ansible-test's fresh virtual environments fetch a pip bootstrap script from a host this project's machines
    cannot reach; hack/get_pip_standin.py stands in for it, in ansible-test's cache (see its docstring)."""
    where = session.run("python", "-c", "import ansible_test, os; print(os.path.dirname(ansible_test.__file__))",
                        silent=True).strip()
    with open(os.path.join(where, "_internal", "python_requirements.py")) as handle:
        pip_version = re.search(r"pip='([0-9.]+)'", handle.read()).group(1)
    cache = os.path.join(os.path.expanduser("~"), ".ansible", "test", "cache")
    os.makedirs(cache, exist_ok=True)
    shutil.copy(os.path.join(ROOT, "hack", "get_pip_standin.py"),
                os.path.join(cache, "get_pip_%s.py" % pip_version.replace(".", "_")))


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
    junit = "--junitxml=%s/versions-%s-%%s.xml" % (reports, label)
    steps = [
        ("unit tests", [*PYTEST, "-n", "2", junit % "unit", os.path.join(ROOT, "tests", "unit")]),
        ("integration targets", [python, os.path.join(ROOT, "hack", "with-simulator"), "--", *PYTEST,
                                 junit % "integration", os.path.join(coll, "tests", "integration", "test_targets.py")]),
        # backup, key loss and restore through the shipped playbooks, vaulted inventory (the roles end to end)
        ("roles through the playbooks", [*PYTEST, junit % "roles",
                                         os.path.join(ROOT, "tests", "reliability", "test_unsafe_secrets.py")]),
    ]
    try:
        _run_all(session, [(step, cmd, env) for step, cmd in steps], "ansible-core %s" % core)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


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


@nox.session(name="sanity-pythons")
def sanity_pythons(session):
    """ansible-test sanity (compile, import) of the modules and module_utils for each module-host Python here.

    One JUnit report (versions-sanity.xml), one case per Python; a Python not installed here is a skipped case.
    """
    reports = _env("VSP_REPORTS")
    _install_once(session, _pins(["ansible-core"]))
    _pip_standin(session)
    ansible_test = os.path.join(session.bin, "ansible-test")
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


# -- the gates of make test, each in an environment of its own ----------------------------------------------------


@nox.session(name="lint")
def lint(session):
    """ruff, yamllint and ansible-lint (production profile, offline; its syntax check finds the FQCN roles and modules
    in the collection copy)."""
    _install_once(session, _pins(LINT_PACKAGES))
    _run_all(session, [("ruff", ["ruff", "check", "."], None), ("yamllint", ["yamllint", "-s", "."], None),
                       ("ansible-lint", ["ansible-lint", "--offline", "-q"], _collections_env())], "lint")


@nox.session(name="changelog")
def changelog(session):
    """antsibull-changelog lint: the fragments, and the released changelog.yaml."""
    _install_once(session, _pins(CHANGELOG_PACKAGES))
    _run_all(session, [("fragments", ["antsibull-changelog", "lint"], None),
                       ("changelog.yaml", ["antsibull-changelog", "lint-changelog-yaml", "changelogs/changelog.yaml"],
                        None)], "changelog")


@nox.session(name="unit")
def unit(session):
    """tests/unit, two workers: it needs ansible-core, requests, pytest and responses, not the collection copy
    (tests/unit/conftest.py makes the checkout importable as ansible_collections.vsp.encryption)."""
    _install_once(session, _pins(UNIT_PACKAGES))
    reports = _env("VSP_REPORTS")
    os.makedirs(reports, exist_ok=True)
    session.run(*PYTEST, "-n", "2", "--junitxml=%s" % os.path.join(reports, "unit.xml"), os.path.join(ROOT, "tests", "unit"))


@nox.session(name="sanity")
def sanity(session):
    """ansible-test sanity, every test, on Python 3.12, on the collection copy (ansible-core alone: ansible-test
    installs each test's own requirements)."""
    _install_once(session, _pins(["ansible-core"]))
    _pip_standin(session)
    session.chdir(_env("VSP_COLLECTION_DIR"))
    session.run("ansible-test", "sanity", "--color", "no", "--python", "3.12", "--requirements")


@nox.session(name="build")
def build(session):
    """The release tarball: ansible-galaxy collection build from the checkout (galaxy.yml's build_ignore keeps it
    clean) into the folder given after --."""
    if len(session.posargs) != 1:
        session.error("usage: nox -s build -- OUTPUT_DIR")
    _install_once(session, _pins(["ansible-core"]))
    session.run("ansible-galaxy", "collection", "build", "--force", "--output-path", session.posargs[0], ROOT)


DOCS_BUILD = os.path.join(ROOT, "docs", "_build")
# appended to the Sphinx configuration antsibull-docs writes: offline (no intersphinx), the Markdown user guide
SPHINX_CONF = """
# vsp.encryption: offline build, Markdown user guide
extensions = [e for e in extensions if e != 'sphinx.ext.intersphinx'] + ['myst_parser']
intersphinx_mapping = {}
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
myst_heading_anchors = 3
nitpicky = False
"""


@nox.session(name="docs")
def docs(session):
    """`-- lint`: antsibull-docs lint-collection-docs --plugin-docs on the collection copy. `-- site`: the HTML site
    (module pages, the roles' argument specs, the guide in docs/*.md through myst-parser), offline, in
    docs/_build/html. Both when nothing follows --."""
    parts = session.posargs or ["lint", "site"]
    unknown = sorted(set(parts) - {"lint", "site"})
    if unknown:
        session.error("unknown part %s: nox -s docs -- [lint] [site]" % ", ".join(unknown))
    _install_once(session, _pins(DOCS_PACKAGES))
    if "lint" in parts:
        session.chdir(_env("VSP_COLLECTION_DIR"))
        session.run("antsibull-docs", "lint-collection-docs", "--plugin-docs", ".")
        session.chdir(ROOT)
    if "site" in parts:
        _docs_site(session, _collections_env())


def _docs_site(session, env):
    site, rst, html = (os.path.join(DOCS_BUILD, d) for d in ("site", "rst", "html"))
    shutil.rmtree(DOCS_BUILD, ignore_errors=True)
    for folder in (DOCS_BUILD, site, rst):
        os.mkdir(folder, 0o700)
        os.chmod(folder, 0o700)
    session.run("antsibull-docs", "sphinx-init", "--use-current", "--dest-dir", site, "--no-add-antsibull-docs-version",
                "--index-rst-source", os.path.join(ROOT, "docs", "index.rst"), "--project", "vsp.encryption",
                "--copyright", "vsp.encryption contributors", "--title", "vsp.encryption", "vsp.encryption",
                silent=True, env=env)
    with open(os.path.join(site, "conf.py"), "a") as handle:
        handle.write(SPHINX_CONF)
    session.run("antsibull-docs", "--config-file", os.path.join(site, "antsibull-docs.cfg"), "collection",
                "--use-current", "--fail-on-error", "--cleanup", "everything", "--dest-dir", rst, "vsp.encryption",
                env=env)
    shutil.copy(os.path.join(site, "rst", "index.rst"), os.path.join(rst, "index.rst"))
    guide = os.path.join(rst, "guide")
    os.makedirs(guide, exist_ok=True)
    for name in sorted(os.listdir(os.path.join(ROOT, "docs"))):
        if name.endswith((".md", ".svg")):
            shutil.copy(os.path.join(ROOT, "docs", name), guide)
    shutil.copy(os.path.join(ROOT, "docs", "ansible-references.rst"), rst)
    session.run("sphinx-build", "-q", "-b", "html", "-W", "--keep-going", "-c", site, rst, html)
    session.log("docs site: %s" % os.path.join(html, "index.html"))
