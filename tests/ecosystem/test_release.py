"""Release hygiene: the tarball `ansible-galaxy collection build` makes holds the collection and nothing
else, installs offline without dependencies, and its modules run from the installed copy."""
import json
import os
import re
import tarfile

import pytest
from ecosystem_helpers import BIN, PYTHON, ROOT, VIEWER, clean_env, parse_adhoc, run

# What a user installs. Everything else (tests, simulator, bench, hack, .ci, the venv, the Makefile and
# its mk/ parts, linters' configuration, the EE definition, playbook-adjacent collections/) stays out.
ALLOWED_TOP_LEVEL = {
    "MANIFEST.json", "FILES.json", "README.md", "LICENSE", "COPYING", "CHANGELOG.rst", "CHANGELOG.md",
    "requirements.txt", "meta", "plugins", "roles", "playbooks", "docs", "changelogs", "extensions",
}
NEVER_ANYWHERE = re.compile(r"(^|/)(__pycache__|\.pytest_cache|\.ruff_cache|\.git|\.venv|_build|\.molecule)(/|$)|\.pyc$|\.tar\.gz$")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def test_tarball_holds_only_the_collection(tarball, tarball_members, request):
    names = sorted(m.name for m in tarball_members)
    listing = "\n".join(
        "%s %s%s" % ("d" if m.isdir() else "l" if m.issym() else "-", m.name, " -> " + m.linkname if m.issym() else "")
        for m in sorted(tarball_members, key=lambda m: m.name))
    print("%s holds:\n%s" % (tarball.name, listing))
    xmlpath = request.config.getoption("xmlpath", None)
    if xmlpath:  # next to the JUnit report: .build/reports/galaxy-tarball-contents.txt under `make test`
        os.makedirs(os.path.dirname(os.path.abspath(xmlpath)), exist_ok=True)
        with open(os.path.join(os.path.dirname(os.path.abspath(xmlpath)), "galaxy-tarball-contents.txt"), "w") as handle:
            handle.write("%s\n%s\n" % (tarball.name, listing))

    top = sorted({n.split("/", 1)[0] for n in names})
    leaked = [t for t in top if t not in ALLOWED_TOP_LEVEL]
    assert not leaked, (
        "the release tarball holds %s: add them to build_ignore in galaxy.yml\n%s" % (", ".join(leaked), listing))
    junk = [n for n in names if NEVER_ANYWHERE.search(n)]
    assert not junk, "the release tarball holds build or cache files: %s" % junk
    demo = [n for n in names if n.startswith(("playbooks/demo_", "playbooks/inventory/demo"))]
    assert not demo, "the demo's playbooks run from a checkout against the simulator (not shipped): %s" % demo
    links = [m.name for m in tarball_members if m.issym() or m.islnk()]
    assert not links, "the release tarball holds links (they break installation): %s" % links
    for required in ("meta/runtime.yml", "README.md", "requirements.txt", "changelogs/changelog.yaml"):
        assert required in names, "%s is missing from the tarball" % required
    modules = sorted(f for f in os.listdir(os.path.join(ROOT, "plugins", "modules")) if f.endswith(".py"))
    assert modules, "no modules in plugins/modules"
    for module in modules:
        assert "plugins/modules/" + module in names


def test_manifest_matches_galaxy_yml(tarball, galaxy_meta):
    with tarfile.open(str(tarball)) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == (
        galaxy_meta["namespace"], galaxy_meta["name"], galaxy_meta["version"])
    assert SEMVER.match(info["version"]), "galaxy.yml version %r is not semantic versioning" % info["version"]
    assert info["dependencies"] == {}, "the collection must install without dependencies (no Galaxy here)"


def test_installed_tarball_runs_a_module(installed_collections, simulator, tmp_path):
    """`ansible localhost -m vsp.encryption.pool_volume_info` from the installed copy alone."""
    env = clean_env(ANSIBLE_COLLECTIONS_PATH=str(installed_collections), VSP_USERNAME=VIEWER[0], VSP_PASSWORD=VIEWER[1],
                    **simulator)
    doc = run([os.path.join(BIN, "ansible-doc"), "--json", "vsp.encryption.pool_volume_info"], env=env, cwd=str(tmp_path))
    assert json.loads(doc.stdout)["vsp.encryption.pool_volume_info"]["doc"]["filename"].startswith(str(installed_collections))

    proc = run([os.path.join(BIN, "ansible"), "localhost", "-m", "vsp.encryption.pool_volume_info",
                "-e", "ansible_python_interpreter=%s" % PYTHON], env=env, cwd=str(tmp_path))
    result = parse_adhoc(proc.stdout)
    assert result["changed"] is False
    assert result["pool_volumes"], "no pool volumes listed"
    assert {v["status"] for v in result["pool_volumes"]} <= {"NML", "BLK"}
    assert VIEWER[1] not in proc.stdout + proc.stderr


def test_versioning_is_stated():
    with open(os.path.join(ROOT, "docs", "release.md")) as handle:
        text = handle.read()
    assert re.search(r"^## Versioning$", text, re.M), "docs/release.md needs a 'Versioning' section"
    assert "semver.org" in text


FRAGMENTS = os.path.join(ROOT, "changelogs", "fragments")


@pytest.mark.parametrize("fragment", sorted(f for f in os.listdir(FRAGMENTS) if f.endswith((".yml", ".yaml"))))
def test_changelog_fragment_is_yaml_with_known_sections(fragment):
    import yaml
    with open(os.path.join(ROOT, "changelogs", "fragments", fragment)) as handle:
        data = yaml.safe_load(handle)
    with open(os.path.join(ROOT, "changelogs", "config.yaml")) as handle:
        config = yaml.safe_load(handle)
    sections = {s[0] for s in config["sections"]} | {"release_summary", "trivial"}
    assert isinstance(data, dict) and data, "%s is empty" % fragment
    # antsibull-changelog's "add object.role|playbook" / "add plugin.<type>": new objects the tool cannot find itself
    added = {k for k in data if re.match(r"^add (object\.(role|playbook)|plugin\.[a-z_]+)$", k)}
    assert set(data) - added <= sections, "%s: unknown sections %s" % (fragment, set(data) - added - sections)
    for key in added:
        assert isinstance(data[key], list) and all(isinstance(e, dict) and e.get("name") and e.get("description") for e in data[key]), \
            "%s: %s must list {name, description}" % (fragment, key)
