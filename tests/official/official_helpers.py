"""What the official-gate tests of the collection's own playbooks share (run by make official)."""
import os
import subprocess
import sys

COLLECTION = os.environ.get("VSP_COLLECTION_DIR")


def run_playbook(tmp_path, playbook, *extra):
    """One shipped playbook, by FQCN, run on the demo inventory from ``tmp_path``: its CompletedProcess, whatever its
    outcome."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION))),
               TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir(exist_ok=True)
    inventory = os.path.join(COLLECTION, "playbooks", "inventory", "demo")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, playbook, *extra]
    return subprocess.run(cmd, env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=300, check=False)
