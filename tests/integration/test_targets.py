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
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION_DIR = os.environ.get("VSP_COLLECTION_DIR", os.path.dirname(os.path.dirname(HERE)))
TARGETS_DIR = os.path.join(COLLECTION_DIR, "tests", "integration", "targets")
TARGETS = sorted(
    name for name in os.listdir(TARGETS_DIR)
    if os.path.isdir(os.path.join(TARGETS_DIR, name)) and not name.startswith("setup_")
) if os.path.isdir(TARGETS_DIR) else []


@pytest.fixture(scope="session")
def simulator():
    if "VSP_SIMULATOR_URL" not in os.environ:
        pytest.fail("run through `make integration` (hack/with-simulator starts the simulator)")
    config = {
        "vsp_host": os.environ["VSP_HOST"],
        "vsp_port": int(os.environ["VSP_PORT"]),
        "vsp_ca_path": os.environ["VSP_CA_PATH"],
        "vsp_simulator_url": os.environ["VSP_SIMULATOR_URL"],
        "vsp_username": "admin",
        "vsp_password": "vsp-admin",
        "vsp_viewer_username": "viewer",
        "vsp_viewer_password": "vsp-viewer",
        "vsp_python": sys.executable,
    }
    with open(os.path.join(COLLECTION_DIR, "tests", "integration", "integration_config.yml"), "w") as handle:
        json.dump(config, handle)
    return config


@pytest.mark.parametrize("target", TARGETS)
def test_target(simulator, target):
    reset = requests.post(simulator["vsp_simulator_url"] + "/simulator/v1/reset", json={}, verify=simulator["vsp_ca_path"], timeout=30)
    reset.raise_for_status()
    ansible_test = os.path.join(os.path.dirname(sys.executable), "ansible-test")
    proc = subprocess.run(
        [ansible_test, "integration", "--color", "no", "--python", "%d.%d" % sys.version_info[:2], target],
        cwd=COLLECTION_DIR, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, "target %s failed:\n%s\n%s" % (target, proc.stdout[-12000:], proc.stderr[-4000:])
