"""The README's "Install" section, followed command by command (issue 14).

The commands are read out of the section itself (its ```console blocks), so the README cannot drift from
what is tested. Each way of installing runs in an empty home directory with no ANSIBLE_* setting and no
collection path: the default (~/.ansible/collections) is all the section promises. The tarball is the one
`ansible-galaxy collection build` makes from this checkout (what `make galaxy-build` runs); the git form
installs from a clone of this repository (file://) in place of the placeholder URL.
"""
import os
import re
import shlex
import shutil

import pytest
import yaml
from ecosystem_helpers import ADMIN, BIN, PYTHON, ROOT, ansible_playbook, clean_env, run

PLACEHOLDER_GIT = "https://example.invalid/vsp/encryption.git"
PLAYBOOK = "vsp.encryption.backup_encryption_keys"


def readme_section(title):
    with open(os.path.join(ROOT, "README.md")) as handle:
        text = handle.read()
    match = re.search(r"^## %s\n(.*?)(?=^## )" % re.escape(title), text, re.S | re.M)
    assert match, "README.md has no '## %s' section" % title
    return match.group(1)


def install_commands():
    """Every command line of the section's console blocks, in order."""
    blocks = re.findall(r"^```console\n(.*?)^```", readme_section("Install"), re.S | re.M)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def one(commands, predicate, what):
    found = [c for c in commands if predicate(c)]
    assert len(found) == 1, "the README's Install section must show exactly one %s command: %s" % (what, found)
    return found[0]


@pytest.fixture(scope="module")
def commands():
    return install_commands()


def galaxy(cmd, home, cwd):
    """An `ansible-galaxy ...` line of the README, run as written, in a home of its own."""
    argv = shlex.split(cmd)
    assert argv[0] == "ansible-galaxy"
    return run([os.path.join(BIN, argv[0])] + argv[1:], env=clean_env(HOME=str(home)), cwd=str(cwd))


def installed_version(home):
    import json
    path = os.path.join(str(home), ".ansible", "collections", "ansible_collections", "vsp", "encryption", "MANIFEST.json")
    assert os.path.isfile(path), "not installed into %s/.ansible/collections" % home
    with open(path) as handle:
        return json.load(handle)["collection_info"]["version"]


def simulator_inventory(directory, simulator, backups):
    """An inventory for the simulator, shaped as README's "On a real array" (secrets in clear: a test)."""
    inv = os.path.join(str(directory), "inventory")
    os.makedirs(os.path.join(inv, "group_vars"))
    with open(os.path.join(inv, "hosts.yml"), "w") as handle:
        yaml.safe_dump({"vsp_arrays": {"hosts": {"vsp01": {"ansible_connection": "local"}}}}, handle)
    with open(os.path.join(inv, "group_vars", "vsp_arrays.yml"), "w") as handle:
        yaml.safe_dump({
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "vsp_connection": {"host": simulator["VSP_HOST"], "port": int(simulator["VSP_PORT"]), "username": ADMIN[0],
                               "password": ADMIN[1], "validate_certs": True, "ca_path": simulator["VSP_CA_PATH"]},
            "encryption_key_backup_dir": str(backups),
            "encryption_key_backup_password": "Inst4ll-Test-pw!",
        }, handle)
    return inv


def playbook_argv(cmd, inv):
    """The README's ansible-playbook line with the test's inventory (not vaulted: no vault option)."""
    argv = shlex.split(cmd)
    assert argv[:3] == ["ansible-playbook", "-i", "inventory"] and PLAYBOOK in argv, cmd
    argv = [a for a in argv if a != "--ask-vault-pass"]
    argv[2] = inv
    return [os.path.join(BIN, argv[0])] + argv[1:]


def test_the_section_shows_every_way(commands, galaxy_meta):
    pip = one(commands, lambda c: c.startswith("python3 -m pip install"), "pip")
    assert "requests" in pip.split() and "ansible-core" in pip.split()
    tar = one(commands, lambda c: c.startswith("ansible-galaxy collection install") and c.endswith(".tar.gz"), "tarball")
    assert tar.split()[-1] == "%s-%s-%s.tar.gz" % (galaxy_meta["namespace"], galaxy_meta["name"], galaxy_meta["version"]), \
        "the README names another tarball than galaxy.yml builds"
    one(commands, lambda c: c.startswith("ansible-galaxy collection install git+%s" % PLACEHOLDER_GIT), "git")
    one(commands, lambda c: c == "ansible-galaxy collection install -r requirements.yml", "requirements")
    one(commands, lambda c: c.startswith("ansible-playbook") and PLAYBOOK in c, "playbook")
    # the Python that runs the modules (ansible_playbook_python) has what the pip line installs
    run([PYTHON, "-c", "import requests, ansible"])


def test_tarball_install_then_the_fqcn_playbook(commands, tarball, galaxy_meta, simulator, tmp_path):
    home, cwd, backups = tmp_path / "home", tmp_path / "project", tmp_path / "key-backups"
    home.mkdir()
    cwd.mkdir()
    inv = simulator_inventory(cwd, simulator, backups)
    play = playbook_argv(one(commands, lambda c: c.startswith("ansible-playbook"), "playbook"), inv)
    env = clean_env(HOME=str(home))

    before = ansible_playbook(command=play, env=env, cwd=str(cwd), check=False)
    assert before.returncode != 0 and "could not be found" in before.stdout + before.stderr, \
        "the playbook ran before the collection was installed: the test proves nothing\n" + before.stdout[-2000:]

    tar = one(commands, lambda c: c.startswith("ansible-galaxy collection install") and c.endswith(".tar.gz"), "tarball")
    shutil.copy(str(tarball), str(cwd / tar.split()[-1]))
    galaxy(tar, home, cwd)
    assert installed_version(home) == galaxy_meta["version"]

    proc = ansible_playbook(command=play, env=env, cwd=str(cwd))
    assert "failed=0" in proc.stdout, proc.stdout[-4000:]
    assert ADMIN[1] not in proc.stdout + proc.stderr
    key_files = [f for f in os.listdir(str(backups)) if f.endswith(".ekf")]
    assert len(key_files) == 1 and os.path.isfile(str(backups / (key_files[0] + ".manifest.json"))), os.listdir(str(backups))
    # and it was the installed copy that ran
    listing = run([os.path.join(BIN, "ansible-galaxy"), "collection", "list", "vsp.encryption"], env=env, cwd=str(cwd))
    assert str(home / ".ansible" / "collections") in listing.stdout, listing.stdout


def test_git_install(commands, galaxy_meta, tmp_path):
    """The git form, from a clone of this repository: galaxy.yml's build_ignore applies, the playbooks resolve."""
    home, cwd = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    cwd.mkdir()
    clone = tmp_path / "encryption.git"
    run(["git", "clone", "-q", "--bare", ROOT, str(clone)])
    cmd = one(commands, lambda c: c.startswith("ansible-galaxy collection install git+"), "git")
    galaxy(cmd.replace(PLACEHOLDER_GIT, "file://%s" % clone), home, cwd)
    assert installed_version(home) == galaxy_meta["version"]
    installed = home / ".ansible" / "collections" / "ansible_collections" / "vsp" / "encryption"
    assert not (installed / "simulator").exists() and not (installed / "tests").exists(), "build_ignore did not apply"
    syntax = ansible_playbook(PLAYBOOK, "localhost,", "--syntax-check", env=clean_env(HOME=str(home)), cwd=str(cwd))
    assert "could not be found" not in syntax.stdout + syntax.stderr


def test_requirements_file_example(commands, tarball, galaxy_meta, tmp_path):
    """playbooks/requirements.yml.example: its tarball entry installs as written; its git entry names the README's URL."""
    with open(os.path.join(ROOT, "playbooks", "requirements.yml.example")) as handle:
        example = yaml.safe_load(handle)
    entries = {e["type"]: e for e in example["collections"]}
    assert set(entries) == {"file", "git"}, example
    assert entries["git"]["name"] == PLACEHOLDER_GIT and entries["git"].get("version")
    home, cwd = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    cwd.mkdir()
    shutil.copy(str(tarball), str(cwd / os.path.basename(entries["file"]["name"])))
    with open(str(cwd / "requirements.yml"), "w") as handle:  # "keep one of the two entries"
        yaml.safe_dump({"collections": [entries["file"]]}, handle)
    galaxy(one(commands, lambda c: c.endswith("-r requirements.yml"), "requirements"), home, cwd)
    assert installed_version(home) == galaxy_meta["version"]


def pins(name):
    found = {}
    with open(os.path.join(ROOT, name)) as handle:
        for line in handle:
            match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
            if match:
                found[match.group(1).lower()] = match.group(2)
    return found


def test_demo_requirements_are_the_dev_pins():
    """make demo installs requirements-demo.txt: a subset of the test toolchain, with the same versions."""
    demo, dev = pins("requirements-demo.txt"), dict(pins("requirements-dev.txt"), **pins("requirements.txt"))
    assert demo and "ansible-core" in demo
    assert {k: v for k, v in demo.items() if dev.get(k) != v} == {}, "requirements-demo.txt pins differ from requirements-dev.txt"
    assert not {"pytest", "molecule", "ansible-lint"} & set(demo), "the demo needs no test tool"


REQUIREMENTS = ["requirements.txt", "requirements-dev.txt", "requirements-demo.txt", "requirements-lint.txt",
                "requirements-docs.txt"]


def test_every_requirements_file_pins_a_package_at_one_version():
    """The gates' environments (the venvs of make, nox's sessions) run the same versions: a package pinned in two
    requirements files is pinned alike, ansible-core above all."""
    seen, differ = {}, []
    for name in REQUIREMENTS:
        for package, version in pins(name).items():
            if seen.setdefault(package, (name, version))[1] != version:
                differ.append("%s: %s in %s, %s in %s" % (package, seen[package][1], seen[package][0], version, name))
    assert "ansible-core" in pins("requirements-lint.txt") and "ansible-core" in pins("requirements-docs.txt")
    assert not differ, differ


def test_nox_sessions_install_only_pinned_packages():
    """Each nox session installs its packages at the versions the requirements files pin (noxfile._pins): every
    name it installs is pinned, and the unit tests' environment holds no tool of the other gates."""
    import runpy  # noqa: PLC0415 - the noxfile, read as nox reads it
    noxfile = runpy.run_path(os.path.join(ROOT, "noxfile.py"))
    pinned = dict(kv for name in REQUIREMENTS for kv in pins(name).items())
    for packages in ("UNIT_PACKAGES", "LINT_PACKAGES", "DOCS_PACKAGES", "CHANGELOG_PACKAGES", "TEST_PACKAGES"):
        wanted = noxfile[packages]
        assert noxfile["_pins"](wanted) == ["%s==%s" % (p, pinned[p]) for p in wanted], packages
    with pytest.raises(SystemExit, match="not pinned in .*: no-such-tool"):
        noxfile["_pins"](["no-such-tool"])
    assert not {"molecule", "ansible-lint", "sphinx", "flask", "ansible-rulebook"} & set(noxfile["UNIT_PACKAGES"])


def test_requires_ansible_is_the_oldest_tested():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        claimed = yaml.safe_load(handle)["requires_ansible"]
    with open(os.path.join(ROOT, "noxfile.py")) as handle:
        oldest = re.search(r'^CORE_OLDEST = "([0-9.]+)"', handle.read(), re.M).group(1)
    assert claimed == ">=%s.0" % ".".join(oldest.split(".")[:2]), (claimed, oldest)
    assert "| %s (pinned %s) |" % (".".join(oldest.split(".")[:2]), oldest) in readme_section("Install")
