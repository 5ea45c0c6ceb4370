"""module_defaults with the action group group/vsp.encryption.vsp: playbooks/module_defaults_example.yml
sets the connection once and every module of the collection uses it."""
import os

import yaml
from ecosystem_helpers import DEV_COLLECTIONS, PYTHON, ROOT, VIEWER, ansible_playbook, clean_env


def test_module_defaults_example_playbook(simulator, tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": PYTHON}}}}))
    connection = tmp_path / "vsp_connection.yml"  # what the user keeps in a vaulted vars file
    connection.write_text(yaml.safe_dump({
        "vsp_host": simulator["VSP_HOST"], "vsp_port": int(simulator["VSP_PORT"]),
        "vsp_username": VIEWER[0], "vsp_password": VIEWER[1], "vsp_ca_path": simulator["VSP_CA_PATH"]}))
    # no VSP_* variable at all: the connection can only come from module_defaults
    env = clean_env(ANSIBLE_COLLECTIONS_PATH=DEV_COLLECTIONS)
    assert not [k for k in env if k.startswith("VSP_")]
    proc = ansible_playbook(os.path.join(ROOT, "playbooks", "module_defaults_example.yml"), str(inventory), "-e", "@%s" % connection,
                            env=env, cwd=str(tmp_path))
    out = proc.stdout
    assert "failed=0" in out and "ok=3" in out, out
    assert "keys {" in out and "pool volumes by status" in out, out
    assert VIEWER[1] not in out + proc.stderr

    # and without the connection variables the same play fails: nothing else supplied them
    bare = ansible_playbook(os.path.join(ROOT, "playbooks", "module_defaults_example.yml"), str(inventory), env=env, cwd=str(tmp_path),
                            check=False)
    assert bare.returncode != 0 and "vsp_host" in bare.stdout + bare.stderr
