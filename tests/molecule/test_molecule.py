"""Run each molecule scenario of extensions/molecule/ (one pytest case each, for the JUnit report).

Needs the simulator's environment (VSP_SIMULATOR_URL, ...): run through `make molecule`, which starts
it with hack/with-simulator. The scenarios run one after another (they share the simulator).
"""
import subprocess
import sys
from pathlib import Path

import pytest
from vsp_simulator.harness import RunningSimulator

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (ROOT / "extensions" / "molecule").glob("*/molecule.yml"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario):
    if RunningSimulator.from_environment() is None:
        pytest.skip("no simulator: run through `make molecule`")
    molecule = Path(sys.executable).with_name("molecule")
    proc = subprocess.run(
        [str(molecule), "test", "-s", scenario],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
    )
    sys.stdout.write(proc.stdout)
    assert proc.returncode == 0, "molecule test -s %s failed (rc %d):\n%s" % (scenario, proc.returncode, proc.stdout[-6000:])
