"""What the official-gate tests of the collection's own playbooks share (run by make official)."""
import os

from vsp_simulator.harness import RunningSimulator
from vsp_simulator.playbook import run_playbook as run_ansible_playbook

COLLECTION = os.environ.get("VSP_COLLECTION_DIR")


def run_playbook(tmp_path, playbook, *extra, private_tmp=True):
    """One shipped playbook, by FQCN, run on the demo inventory from ``tmp_path``: its CompletedProcess, whatever its
    outcome. The environment is a clean one (vsp_simulator.playbook) with the simulator's VSP_* variables (the demo
    inventory reads them) and the built collection; with ``private_tmp``, TMPDIR is ``tmp_path/tmp``."""
    env = dict(RunningSimulator.from_environment().environment(os.environ.get("VSP_SIMULATOR_DIR")),
               ANSIBLE_COLLECTIONS_PATH=os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION))))
    if private_tmp:
        (tmp_path / "tmp").mkdir(exist_ok=True)
        env["TMPDIR"] = str(tmp_path / "tmp")
    inventory = os.path.join(COLLECTION, "playbooks", "inventory", "demo")
    return run_ansible_playbook(playbook, inventory, args=extra, env=env, cwd=tmp_path, timeout=300)
