"""Secrets with any allowed character (issue 14): the shipped example inventory, vaulted, with `!unsafe`.

The key-file password uses every symbol the array allows (`{{`, `{%`, `{#`, quotes, backslash, `#`, `%`
included). The vault file is written the way vault.yml.example shows and encrypted with ansible-vault;
backup and restore run through the shipped playbooks (by FQCN) with --vault-password-file. The key file
must open, with the simulator's own code, with exactly that password, and the restore must bring the keys
back. The same file without `!unsafe` is refused by Ansible's templating before anything is written,
which is why the example marks every secret.
"""
import os
import re
import shutil
import subprocess

import pytest
import yaml
from rel_helpers import ADMIN, ADMIN_PASSWORD, BIN, ROOT, ansible_env, leaks, run_shipped
from vsp_simulator import keyfile

EXAMPLE = os.path.join(ROOT, "playbooks", "inventory", "example")
SYMBOLS = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
# every allowed symbol, and the sequences Jinja would read as a template, a statement, a comment
PASSWORD = "Aa0" + SYMBOLS + "{{pw}}{%raw%}{#c#}'\\\"#%"
VAULT_PASS = "vault-Pw-7rQ"  # noqa: S105 - the test's vault password


def test_password_is_an_allowed_one():
    assert keyfile.password_ok(PASSWORD)
    assert set(SYMBOLS) <= set(PASSWORD)
    assert all(s in PASSWORD for s in ("{{", "{%", "{#", "'", '"', "\\", "#", "%"))
    assert 6 <= len(PASSWORD) <= 255 and " " not in PASSWORD


def single_quoted(value):
    return "'" + value.replace("'", "''") + "'"


def vault_text(unsafe=True):
    """vault.yml.example with this test's values, written as the example shows (`!unsafe '...'`)."""
    with open(os.path.join(EXAMPLE, "group_vars", "vsp_arrays", "vault.yml.example")) as handle:
        text = handle.read()
    values = {"vault_vsp_username": ADMIN.name, "vault_vsp_password": ADMIN.password, "vault_vsp_backup_password": PASSWORD}
    for name, value in values.items():
        pattern = re.compile(r"^%s: !unsafe '[^'\n]*'$" % name, re.M)
        assert pattern.search(text), "vault.yml.example must mark %s !unsafe" % name
        text = pattern.sub(lambda _m, n=name, v=value: "%s: %s%s" % (n, "!unsafe " if unsafe else "", single_quoted(v)), text)
    return text


def unsafe_loader():
    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
    return Loader


def make_inventory(work, ca_path, unsafe=True):
    """The example inventory, copied; one array (the simulator), its CA, a backup directory; vault.yml vaulted."""
    inv = os.path.join(str(work), "inventory")
    shutil.copytree(EXAMPLE, inv)
    with open(os.path.join(inv, "hosts.yml"), "w") as handle:
        yaml.safe_dump({"vsp_arrays": {"hosts": {"vsp01": {"ansible_connection": "local", "vsp_host": "127.0.0.1"}}}}, handle)
    main = os.path.join(inv, "group_vars", "vsp_arrays", "main.yml")
    with open(main) as handle:
        text = handle.read()
    for old, new in (("/etc/pki/vsp/ca.pem", ca_path),
                     ("/srv/vsp-key-backups", os.path.join(str(work), "key-backups"))):
        assert old in text, "the example main.yml changed: %s not found" % old
        text = text.replace(old, new)
    with open(main, "w") as handle:
        handle.write(text)
    vault = os.path.join(inv, "group_vars", "vsp_arrays", "vault.yml")
    text = vault_text(unsafe)
    assert yaml.load(text, Loader=unsafe_loader())["vault_vsp_backup_password"] == PASSWORD  # noqa: S506 - SafeLoader
    with open(vault, "w") as handle:
        handle.write(text)
    vault_pass = os.path.join(str(work), "vault-pass")
    with open(vault_pass, "w") as handle:
        handle.write(VAULT_PASS + "\n")
    os.chmod(vault_pass, 0o600)
    env = ansible_env(work)
    subprocess.run([os.path.join(BIN, "ansible-vault"), "encrypt", "--vault-password-file", vault_pass, vault],
                   env=env, check=True, capture_output=True, text=True)
    with open(vault) as handle:
        vaulted = handle.read()
    assert vaulted.startswith("$ANSIBLE_VAULT;") and PASSWORD not in vaulted and ADMIN_PASSWORD not in vaulted
    return inv, vault_pass, os.path.join(str(work), "key-backups")


def playbook(work, sim, inv, vault_pass, name, *args):
    return run_shipped(work, inv, "vsp.encryption." + name, args=["--limit", "vsp01", "--vault-password-file", vault_pass, *args],
                       env={"VSP_PORT": str(sim.port)}, timeout=300)  # the example's vsp_connection names no port


@pytest.fixture(scope="module")
def vaulted(sim, tmp_path_factory):
    work = tmp_path_factory.mktemp("unsafe")
    inv, vault_pass, backups = make_inventory(work, sim.ca_path)
    return {"work": work, "inv": inv, "vault_pass": vault_pass, "backups": backups}


@pytest.mark.reliability("secrets")
def test_backup_and_restore_with_every_allowed_symbol(sim, vaulted, leak_counter):
    work, inv, vault_pass, backups = vaulted["work"], vaulted["inv"], vaulted["vault_pass"], vaulted["backups"]
    sim.control.reset()
    sim.control.clear_requests()
    backup = playbook(work, sim, inv, vault_pass, "backup_encryption_keys")
    assert backup.returncode == 0, backup.stdout[-6000:] + backup.stderr[-3000:]
    files = sorted(f for f in os.listdir(backups) if f.endswith(".ekf"))
    assert len(files) == 1, os.listdir(backups)
    with open(os.path.join(backups, files[0]), "rb") as handle:
        blob = handle.read()
    payload = keyfile.open_file(blob, PASSWORD)  # exactly the vaulted password, not a templated one
    assert payload["keys"]
    for mangled in (PASSWORD.replace("{{pw}}", ""), PASSWORD.replace("{%raw%}", ""), PASSWORD[:-1]):
        with pytest.raises(keyfile.WrongPassword):
            keyfile.open_file(blob, mangled)

    sim.control.lose_keys("1-1", "1-2")
    assert [k for k in sim.control.state()["keys"] if k["lost"]]
    restore = playbook(work, sim, inv, vault_pass, "restore_encryption_keys",
                       "-e", "encryption_key_restore_path=%s" % backups, "-e", "encryption_key_restore_confirm=true")
    assert restore.returncode == 0, restore.stdout[-6000:] + restore.stderr[-3000:]
    state = sim.control.state()
    assert not [k["keyId"] for k in state["keys"] if k["lost"]], "keys still lost after the restore"
    volumes = [ld for ld in state["ldevs"] if "POOL" in ld.get("attributes", [])
               and set(ld.get("parityGroupIds", [])) & {"1-1", "1-2"}]
    assert volumes and {ld["status"] for ld in volumes} == {"NML"}, volumes
    assert any("file/actions/restore" in e["path"] and 200 <= e["status"] < 300 for e in sim.control.requests_log()), sim.control.requests_log()

    found = leaks(backup.stdout + backup.stderr + restore.stdout + restore.stderr + repr(sim.control.requests_log()) + sim.log(),
                  (PASSWORD, ADMIN_PASSWORD, VAULT_PASS))
    leak_counter(len(found))
    assert not found, found


@pytest.mark.reliability("secrets")
def test_without_unsafe_the_password_is_refused_before_any_write(sim, tmp_path):
    """Why the example marks secrets !unsafe: the same vaulted file without it breaks the template."""
    inv, vault_pass, backups = make_inventory(tmp_path, sim.ca_path, unsafe=False)
    sim.control.reset()
    sim.control.clear_requests()
    proc = playbook(tmp_path, sim, inv, vault_pass, "backup_encryption_keys")
    assert proc.returncode != 0
    assert "template" in (proc.stdout + proc.stderr).lower(), proc.stdout[-4000:] + proc.stderr[-2000:]
    assert not os.path.isdir(backups) or not [f for f in os.listdir(backups) if f.endswith(".ekf")]
    assert not [e for e in sim.control.requests_log() if e["method"] in ("POST", "PUT", "PATCH") and "sessions" not in e["path"]]
