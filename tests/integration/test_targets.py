# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run each integration target with `ansible-test integration` against the running simulator.

`make integration` starts the simulator (hack/with-simulator exports VSP_HOST, VSP_PORT,
VSP_CA_PATH, VSP_SIMULATOR_URL) and runs this file; every target under
tests/integration/targets/ becomes one test, so the JUnit report counts targets.
The simulator is reset before each target, so targets do not depend on each other.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest
from vsp_simulator.harness import ADMIN, VIEWER, RunningSimulator

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION_DIR = os.environ.get("VSP_COLLECTION_DIR", os.path.dirname(os.path.dirname(HERE)))
TARGETS_DIR = os.path.join(COLLECTION_DIR, "tests", "integration", "targets")
TARGETS = sorted(
    name for name in os.listdir(TARGETS_DIR)
    if os.path.isdir(os.path.join(TARGETS_DIR, name)) and not name.startswith("setup_")
) if os.path.isdir(TARGETS_DIR) else []


@pytest.fixture(scope="session")
def simulator():
    sim = RunningSimulator.from_environment()
    if sim is None:
        pytest.fail("run through `make integration` (hack/with-simulator starts the simulator)")
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
    with open(os.path.join(COLLECTION_DIR, "tests", "integration", "integration_config.yml"), "w") as handle:
        json.dump(config, handle)
    return sim


@pytest.mark.parametrize("target", TARGETS)
def test_target(simulator, target):
    simulator.control.reset()
    ansible_test = os.path.join(os.path.dirname(sys.executable), "ansible-test")
    proc = subprocess.run(
        [ansible_test, "integration", "--color", "no", "--python", "%d.%d" % sys.version_info[:2], target],
        cwd=COLLECTION_DIR, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, "target %s failed:\n%s\n%s" % (target, proc.stdout[-12000:], proc.stderr[-4000:])
