"""Fixtures of the ecosystem checks (issue #8): the release tarball, its installed copy, the simulator.

Run through `make ecosystem`, which starts a simulator with hack/with-simulator: the simulator's
address arrives as VSP_HOST / VSP_PORT / VSP_CA_PATH / VSP_PROTOCOL / VSP_SIMULATOR_URL. Credentials
are not in that environment; each test passes them the way its user would.
"""
import os
import tarfile

import pytest
from vsp_simulator.harness import RunningSimulator
from ecosystem_helpers import BIN, ROOT, clean_env, run


def pytest_configure(config):
    config.addinivalue_line("markers", "extended: runs in make test-extended (make docs-examples), not in make test")


@pytest.fixture(scope="session")
def simulator():
    """Where the simulator started by hack/with-simulator answers (no credentials)."""
    sim = RunningSimulator.from_environment()
    if sim is None:
        pytest.fail("no simulator: run these checks with `make ecosystem` (hack/with-simulator -- pytest tests/ecosystem)")
    return sim.environment()


@pytest.fixture(scope="session")
def galaxy_meta():
    import yaml
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="session")
def tarball(tmp_path_factory, galaxy_meta):
    """`ansible-galaxy collection build` from the repository root, as a maintainer releases it."""
    out = tmp_path_factory.mktemp("dist")
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(out), ROOT],
        env=clean_env(), cwd=str(out))
    path = out / ("%s-%s-%s.tar.gz" % (galaxy_meta["namespace"], galaxy_meta["name"], galaxy_meta["version"]))
    assert path.is_file(), "ansible-galaxy collection build wrote no %s" % path.name
    return path


@pytest.fixture(scope="session")
def tarball_members(tarball):
    with tarfile.open(str(tarball)) as tar:
        return tar.getmembers()


@pytest.fixture(scope="session")
def installed_collections(tmp_path_factory, tarball):
    """The tarball installed offline, without dependencies, into a fresh collections path."""
    dest = tmp_path_factory.mktemp("installed")
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "-p", str(dest),
         str(tarball)], env=clean_env(ANSIBLE_COLLECTIONS_PATH=str(dest)), cwd=str(dest))
    assert (dest / "ansible_collections" / "vsp" / "encryption" / "MANIFEST.json").is_file()
    return dest
