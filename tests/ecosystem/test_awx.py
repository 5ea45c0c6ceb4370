"""AWX / Automation Controller: the custom credential types, and the backup playbook run through
ansible-runner (the engine AWX uses) with the credentials injected as AWX injects them."""
import glob
import json
import os
import re
import shutil
import stat
import subprocess
import uuid

import pytest
import yaml
from ecosystem_helpers import ADMIN, BIN, DEV_COLLECTIONS, PYTHON, ROOT, VIEWER, ansible_playbook, awx_inject, clean_env, parse_adhoc, run

AWX_DIR = os.path.join(ROOT, "extensions", "awx")
VSP = "credential_type"
KEY_FILE = "key_file_password_credential_type"
BRIEF_ENV = {"VSP_HOST", "VSP_PORT", "VSP_USERNAME", "VSP_PASSWORD", "VSP_VALIDATE_CERTS", "VSP_CA_PATH", "VSP_STORAGE_DEVICE_ID"}


def load(name):
    with open(os.path.join(AWX_DIR, name)) as handle:
        return yaml.safe_load(handle)


def module_env_fallbacks():
    """The VSP_* variables the modules read (plugins/module_utils/_runner.py)."""
    with open(os.path.join(ROOT, "plugins", "module_utils", "_runner.py")) as handle:
        return set(re.findall(r"env_fallback, \['(VSP_[A-Z_]+)'\]", handle.read()))


def role_options(role):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")) as handle:
        return set(yaml.safe_load(handle)["argument_specs"]["main"]["options"])


def test_credential_type_files_are_consistent():
    inputs, injectors = load(VSP + "_inputs.yml"), load(VSP + "_injectors.yml")
    fields = {f["id"]: f for f in inputs["fields"]}
    assert set(inputs["required"]) == {"username", "password"}  # host optional: a fleet takes it from the inventory
    assert fields["password"].get("secret") is True
    assert all(f["type"] in ("string", "boolean") for f in fields.values())
    assert set(injectors["env"]) == BRIEF_ENV
    assert set(injectors["env"]) <= module_env_fallbacks(), "an injected variable no module reads"
    assert list(injectors["file"]) == ["template.ca_cert"]
    used = set(re.findall(r"\b([a-z_]+)\b", " ".join(injectors["env"].values()) + " ".join(injectors["file"].values())))
    assert set(fields) <= used, "inputs that are never injected: %s" % (set(fields) - used)

    pw_inputs, pw_injectors = load(KEY_FILE + "_inputs.yml"), load(KEY_FILE + "_injectors.yml")
    assert pw_inputs["fields"][0]["secret"] is True
    assert "encryption_key_backup_password" in role_options("encryption_key_backup")
    for var in pw_injectors["extra_vars"]:
        role = "encryption_key_backup" if var.startswith("encryption_key_backup_") else "encryption_key_restore"
        assert var in role_options(role), "%s is not a variable of the role %s" % (var, role)


def cred_inputs(simulator, user=ADMIN, **extra):
    values = {"host": simulator["VSP_HOST"], "port": simulator["VSP_PORT"], "username": user[0], "password": user[1]}
    values.update(extra)
    return values


def ca_contents(simulator):
    with open(simulator["VSP_CA_PATH"]) as handle:
        return handle.read()


@pytest.mark.parametrize("variant", ["ca_contents", "ca_path", "minimal_no_tls_check"])
def test_injected_environment_drives_the_modules(variant, simulator, tmp_path):
    """Each way of filling the credential yields an environment the modules accept."""
    if variant == "ca_contents":
        values = cred_inputs(simulator, VIEWER, ca_cert=ca_contents(simulator), validate_certs="true", storage_device_id="")
    elif variant == "ca_path":
        values = cred_inputs(simulator, VIEWER, ca_path=simulator["VSP_CA_PATH"])
    else:  # port, CA, storage device id left empty: the env carries empty strings and the defaults
        values = cred_inputs(simulator, VIEWER, validate_certs="false")
    env, extra_vars = awx_inject(AWX_DIR, VSP, values, tmp_path)
    assert not extra_vars
    assert env["VSP_VALIDATE_CERTS"] in ("true", "false")
    if variant == "ca_contents":
        assert stat.S_IMODE(os.stat(env["VSP_CA_PATH"]).st_mode) == 0o600
        assert open(env["VSP_CA_PATH"]).read() == values["ca_cert"]
    if variant == "ca_path":
        assert env["VSP_CA_PATH"] == simulator["VSP_CA_PATH"]
        assert env["VSP_VALIDATE_CERTS"] == "true", "an unset validate_certs must verify"
    if variant == "minimal_no_tls_check":
        assert env["VSP_CA_PATH"] == "" and env["VSP_STORAGE_DEVICE_ID"] == ""

    proc = run([os.path.join(BIN, "ansible"), "localhost", "-m", "vsp.encryption.encryption_key_info",
                "-e", "ansible_python_interpreter=%s" % PYTHON],
               env=clean_env(ANSIBLE_COLLECTIONS_PATH=DEV_COLLECTIONS, VSP_PROTOCOL=simulator["VSP_PROTOCOL"], **env),
               cwd=str(tmp_path))
    result = parse_adhoc(proc.stdout)
    assert result["key_counts"]["DEK"] > 0
    assert VIEWER[1] not in proc.stdout + proc.stderr


RUN_JOB = """
import json, sys
import ansible_runner
result = ansible_runner.run(**json.load(sys.stdin))
print(json.dumps({"status": result.status, "rc": result.rc}))
"""


def test_backup_playbook_through_ansible_runner(simulator, tmp_path):
    """The job AWX would run: project = this repository, credentials injected into the environment,
    the key file password from the key-file credential (an extra-vars file), nothing secret in the
    job's events or stdout."""
    playbook = os.path.join(ROOT, "playbooks", "backup_encryption_keys.yml")
    assert os.path.isfile(playbook), "playbooks/backup_encryption_keys.yml is missing"
    key_file_password = "Kf-%s!" % uuid.uuid4().hex[:20]
    pdd = tmp_path / "job"
    (pdd / "inventory").mkdir(parents=True)
    backups = tmp_path / "backups"
    (pdd / "inventory" / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"vsp_arrays": {"hosts": {
        "vsp-simulator": {"ansible_connection": "local", "ansible_python_interpreter": PYTHON}}}}}}))

    env, extra_vars = awx_inject(AWX_DIR, VSP, cred_inputs(simulator, ca_cert=ca_contents(simulator)), pdd)
    no_env, secret_vars = awx_inject(AWX_DIR, KEY_FILE, {"key_file_password": key_file_password}, pdd)
    assert not extra_vars and not no_env and set(secret_vars) >= {"encryption_key_backup_password"}
    secret_file = pdd / "env" / "credential_extra_vars.yml"
    secret_file.write_text(yaml.safe_dump(secret_vars))
    secret_file.chmod(0o600)
    env.update(ANSIBLE_COLLECTIONS_PATH=DEV_COLLECTIONS, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               VSP_PROTOCOL=simulator["VSP_PROTOCOL"], ANSIBLE_NOCOLOR="1")

    # ansible_runner.run() in a fresh single-threaded process (pexpect forks a pty; the test process has
    # threads), whose environment holds nothing AWX would not give: no VSP_* and no ANSIBLE_* of ours
    kwargs = dict(
        private_data_dir=str(pdd), project_dir=ROOT, playbook="playbooks/backup_encryption_keys.yml",
        inventory=str(pdd / "inventory" / "hosts.yml"), envvars=env, ident="job",
        extravars={"encryption_key_backup_dir": str(backups)}, cmdline="-e @%s" % secret_file,
        verbosity=2, quiet=True, timeout=240,
        suppress_env_files=True)  # as AWX runs it: no env/envvars file holding the injected secrets
    proc = subprocess.run([PYTHON, "-c", RUN_JOB], input=json.dumps(kwargs), env=clean_env(), capture_output=True,
                          text=True, timeout=300, check=False)
    artifacts = pdd / "artifacts" / "job"
    stdout = (artifacts / "stdout").read_text() if (artifacts / "stdout").exists() else ""
    assert proc.returncode == 0, proc.stderr[-4000:] + stdout[-4000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"status": "successful", "rc": 0}, stdout[-6000:]

    key_files = glob.glob(str(backups / "*.ekf"))
    assert len(key_files) == 1, "expected one key file in %s: %s" % (backups, os.listdir(str(backups)))
    assert os.path.getsize(key_files[0]) > 0
    assert stat.S_IMODE(os.stat(key_files[0]).st_mode) == 0o600
    assert os.path.exists(key_files[0] + ".manifest.json")

    events = []
    for name in sorted(os.listdir(str(artifacts / "job_events"))):
        with open(str(artifacts / "job_events" / name)) as handle:
            events.append(json.load(handle))
    assert any(e.get("event") == "playbook_on_stats" for e in events)
    assert not any(e.get("event") == "runner_on_failed" for e in events)
    secrets = [ADMIN[1], key_file_password]
    assert not (pdd / "env" / "envvars").exists()
    scanned = 0
    for dirpath, _dirs, filenames in os.walk(str(pdd / "artifacts")):
        for filename in filenames:
            path = os.path.join(dirpath, filename)
            if filename == "command" and os.path.dirname(dirpath).endswith("artifacts"):
                # ansible-runner records the job's whole environment here, by design; AWX deletes the
                # private data dir after the job and never shows this file (docs/awx.md says so)
                assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
                continue
            with open(path, "rb") as handle:
                data = handle.read()
            scanned += 1
            for secret in secrets:
                assert secret.encode() not in data, "a password is in %s" % os.path.relpath(path, str(pdd))
    assert scanned >= len(events), "the runner wrote fewer files than job events"
    for secret in secrets:
        assert secret not in stdout


def test_credential_type_task_keeps_the_injector_templates(tmp_path):
    """docs/awx.md creates the credential types with lookup('ansible.builtin.file', ...) | from_yaml:
    the `{{ ... }}` templates of the injectors must reach the module untouched, not be rendered by Ansible."""
    out = tmp_path / "injectors.json"
    play = [{"name": "Render the credential type arguments as docs/awx.md passes them", "hosts": "localhost",
             "gather_facts": False, "tasks": [{
                 "name": "Write the injectors argument",
                 "ansible.builtin.copy": {
                     "dest": str(out),
                     "content": "{{ lookup('ansible.builtin.file', 'extensions/awx/credential_type_injectors.yml') | from_yaml | to_json }}",
                     "mode": "0600"}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": PYTHON}}}}))
    shutil.copytree(os.path.join(ROOT, "extensions"), str(tmp_path / "extensions"))
    ansible_playbook(str(tmp_path / "play.yml"), str(inventory), env=clean_env(), cwd=str(tmp_path))
    assert json.loads(out.read_text()) == load(VSP + "_injectors.yml")
