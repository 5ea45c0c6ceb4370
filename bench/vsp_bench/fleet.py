"""The fleet benchmark: the backup playbook over K simulated arrays at once (forks = K)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import yaml
from vsp_simulator import keyfile  # the simulator's own reader of its key files (to verify the fleet's files)

from . import scenario as scenarios
from .log import log
from .machine import load1
from .paths import PYTHON_TIMED
from .processes import Runner, module_summary
from .requests_log import count_kinds, logins
from .restore import BACKUP_PASSWORD, BACKUP_PLAYBOOK, connection_args
from .simulator import Simulator
from .task_timer import read_timer


def verify_backup_files(backup_dir, arrays):
    """Per array: its one new key file, whose manifest names the array and whose sha256, size and content fit."""
    names = sorted(os.listdir(backup_dir))
    verified, problems = 0, []
    for array in arrays:
        files = [f for f in names if f.startswith(array["storage_device_id"] + "_") and f.endswith(".ekf")]
        if len(files) != 1:
            problems.append("%s: %d key files" % (array["name"], len(files)))
            continue
        path = os.path.join(backup_dir, files[0])
        with open(path, "rb") as handle:
            blob = handle.read()
        with open(path + ".manifest.json") as handle:
            manifest = json.load(handle)
        payload = keyfile.open_file(blob, BACKUP_PASSWORD)
        checks = {
            "manifest names the array": manifest.get("storage_device_id") == array["storage_device_id"]
            and str(manifest.get("serial_number")) == str(array["serial"]),
            "sha256": hashlib.sha256(blob).hexdigest() == manifest.get("sha256"),
            "size": len(blob) == manifest.get("size"),
            "mode 0600": (os.stat(path).st_mode & 0o777) == 0o600,
            "file is the array's": payload.get("storageDeviceId") == array["storage_device_id"]
            and len(payload["keys"]) == sum((manifest.get("key_counts") or {}).values()),
        }
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            problems.append("%s: %s" % (array["name"], ", ".join(failed)))
        else:
            verified += 1
    return verified, problems


def bench_fleet(ks, opts, work_root):
    """The backup playbook over K arrays at once (forks = K), one simulator process per array."""
    workdir = os.path.join(work_root, "fleet")
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    runner = Runner(opts.build, workdir)
    sims, arrays = [], []
    log("fleet: starting %d simulators (load %.2f)" % (max(ks), load1()))
    try:
        for index in range(max(ks)):
            simdir = os.path.join(workdir, "array%02d" % (index + 1))
            os.makedirs(simdir)
            scenario_file = scenarios.write(0, os.path.join(simdir, "scenario.yml"), data=scenarios.fleet_scenario(index))
            sims.append(Simulator(simdir, scenario_file, opts.latency_ms, opts.job_ms, opts.parallelism, wait=False))
        for index, sim in enumerate(sims):
            sim.wait_ready()
            storage = sim.ctl("GET", "state")["storage"]
            arrays.append({"name": "array%02d" % (index + 1), "sim": sim, "storage_device_id": storage["storageDeviceId"],
                           "serial": storage["serialNumber"]})
        variants = [("defaults", {})]
        if opts.fleet_pipelining:
            variants.append(("pipelining", {"ANSIBLE_PIPELINING": "True"}))
        rows = []
        for variant, env_extra in variants:
            for k in ks:
                members = arrays[:k]
                runs = []
                for attempt in range(opts.fleet_repeat):
                    for array in members:
                        array["sim"].ctl("POST", "reset")
                        array["sim"].ctl("DELETE", "requests")
                    backup_dir = os.path.join(workdir, "%s-K%d-%d" % (variant, k, attempt), "keys")
                    os.makedirs(backup_dir, mode=0o700)  # exists already, as on every night but the first
                    inventory = os.path.join(workdir, "%s-K%d-%d" % (variant, k, attempt), "inventory.yml")
                    hosts = {}
                    for array in members:
                        hosts[array["name"]] = {
                            "ansible_connection": "local", "ansible_python_interpreter": PYTHON_TIMED,
                            "vsp_connection": connection_args(array["sim"]),
                            "vsp_expected_storage_device_id": array["storage_device_id"]}
                    with open(inventory, "w") as handle:
                        yaml.safe_dump({"vsp_arrays": {"hosts": hosts, "vars": {
                            "encryption_key_backup_dir": backup_dir,
                            "encryption_key_backup_password": BACKUP_PASSWORD}}}, handle)
                    os.chmod(inventory, 0o600)
                    load_before = load1()
                    sim_cpu = [a["sim"].cpu_seconds() for a in members]
                    run = runner.playbook(BACKUP_PLAYBOOK, inventory, {}, "backup-%s-K%d-%d.log" % (variant, k, attempt),
                                         forks=k, env_extra=env_extra)
                    sim_cpu = sum(a["sim"].cpu_seconds() - c for a, c in zip(members, sim_cpu))
                    _, _, controller_cpu = read_timer(run["timer"])
                    sessions, open_sessions, kinds = [], 0, {}
                    for array in members:
                        entries = array["sim"].requests_log()
                        sessions.append(logins(entries))
                        for kind, count in count_kinds(entries).items():
                            kinds[kind] = kinds.get(kind, 0) + count
                        open_sessions += array["sim"].ctl("GET", "state").get("sessions") or 0
                    verified, problems = verify_backup_files(backup_dir, members)
                    runs.append({"wall": run["wall"], "cpu_tree": run["cpu"], "cpu_controller": controller_cpu or 0.0,
                                 "cpu_modules": sum(m["cpu"] for m in run["modules"]), "module_runs": len(run["modules"]),
                                 "modules": module_summary(run["modules"]), "machine_busy": run["machine_busy"],
                                 "cpu_simulators": sim_cpu, "sessions": sum(sessions), "sessions_per_array": max(sessions),
                                 "open_sessions": open_sessions, "kinds": dict(sorted(kinds.items(), key=lambda kv: -kv[1])),
                                 "verified": verified, "problems": problems, "load_before": load_before,
                                 "load_after": load1()})
                    log("fleet (%s): K=%d: %.1f s, %d/%d files verified%s" % (
                        variant, k, run["wall"], verified, k, "; " + "; ".join(problems) if problems else ""))
                best = dict(min(runs, key=lambda r: r["wall"]))
                best.update(k=k, variant=variant, wall_runs=[r["wall"] for r in runs],
                            verified_all=all(r["verified"] == k and not r["problems"] and not r["open_sessions"] for r in runs))
                rows.append(best)
    finally:
        for sim in sims:
            sim.stop()
    return rows

