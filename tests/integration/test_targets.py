# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run each integration target with `ansible-test integration` against the running simulator.

Every target under tests/integration/targets/ becomes one test, so the JUnit report counts targets.
The simulator is reset before each target, so targets do not depend on each other.

`make integration` runs this file with pytest-xdist (-n 2): each worker starts a simulator of its own
and runs its targets in a copy of the collection of its own (ansible-test reads the simulator's address
from tests/integration/integration_config.yml inside the collection), so two targets run at once.
Without xdist, a simulator started by hack/with-simulator (VSP_HOST, VSP_PORT, VSP_CA_PATH,
VSP_SIMULATOR_URL) is used in place, as the nox sessions of other ansible-core versions do.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest
from vsp_simulator.harness import ADMIN, VIEWER, RunningSimulator, SimulatorProcess

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION_DIR = os.environ.get("VSP_COLLECTION_DIR", os.path.dirname(os.path.dirname(HERE)))
TARGETS_DIR = os.path.join(COLLECTION_DIR, "tests", "integration", "targets")
TARGETS = sorted(
    name for name in os.listdir(TARGETS_DIR)
    if os.path.isdir(os.path.join(TARGETS_DIR, name)) and not name.startswith("setup_")
) if os.path.isdir(TARGETS_DIR) else []


@pytest.fixture(scope="session")
def workspace(tmp_path_factory):
    """``(collection directory, simulator)``: in place with hack/with-simulator's simulator, or, under pytest-xdist,
    a copy of the collection and a simulator of this worker's own."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        sim = RunningSimulator.from_environment()
        if sim is None:
            pytest.fail("run through `make integration` (pytest -n 2) or under hack/with-simulator")
        yield COLLECTION_DIR, sim
        return
    copy = tmp_path_factory.mktemp("collection") / "ansible_collections" / "vsp" / "encryption"
    shutil.copytree(COLLECTION_DIR, str(copy), symlinks=True, ignore=shutil.ignore_patterns("output"))
    with SimulatorProcess(tmp_path_factory.mktemp("simulator")) as sim:
        yield str(copy), sim


@pytest.fixture(scope="session")
def simulator(workspace):
    collection_dir, sim = workspace
    config = {
        "vsp_host": sim.host,
        "vsp_port": sim.port,
        "vsp_ca_path": sim.ca_path,
        "vsp_simulator_url": sim.url,
        "vsp_username": ADMIN.name,
        "vsp_password": ADMIN.password,
        "vsp_viewer_username": VIEWER.name,
        "vsp_viewer_password": VIEWER.password,
        "vsp_python": sys.executable,
    }
    with open(os.path.join(collection_dir, "tests", "integration", "integration_config.yml"), "w") as handle:
        json.dump(config, handle)
    return collection_dir, sim


@pytest.mark.parametrize("target", TARGETS)
def test_target(simulator, target):
    collection_dir, sim = simulator
    sim.control.reset()
    ansible_test = os.path.join(os.path.dirname(sys.executable), "ansible-test")
    proc = subprocess.run(
        [ansible_test, "integration", "--color", "no", "--python", "%d.%d" % sys.version_info[:2], target],
        cwd=collection_dir, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, "target %s failed:\n%s\n%s" % (target, proc.stdout[-12000:], proc.stderr[-4000:])
