"""The key restore benchmark at one N: start-up, role, modules alone, baseline (steps 1-5 of the CLI's doc)."""

from __future__ import annotations

import math
import os
import shutil

import yaml
from vsp_simulator import jobs as jobs_model
from vsp_simulator.harness import ADMIN

from . import scenario as scenarios
from .machine import load1
from .paths import BASELINE_PLAYBOOK, PYTHON_TIMED
from .processes import Runner, module_summary
from .requests_log import baseline_phases, count_kinds, logins, request_kind, role_phases
from .simulator import Simulator, check_state
from .task_timer import baseline_task_times, read_timer


USER, PASSWORD = ADMIN.name, ADMIN.password
BACKUP_PASSWORD = "Bench-Backup-2026!"  # noqa: S105 - a throw-away password for the simulator
PLAYBOOK = "vsp.encryption.restore_encryption_keys"
BACKUP_PLAYBOOK = "vsp.encryption.backup_encryption_keys"

def connection_args(sim):
    return sim.connection()


def write_inventory(path, sim, parity_groups, key_file):
    inventory = {"vsp_arrays": {"hosts": {"bench_array": {
        "ansible_connection": "local",
        "ansible_python_interpreter": PYTHON_TIMED,
        # the role (through the playbook's module_defaults)
        "vsp_connection": connection_args(sim),
        "encryption_key_restore_parity_groups": parity_groups,
        "encryption_key_restore_path": key_file,
        "encryption_key_restore_backup_password": BACKUP_PASSWORD,
        # the baseline
        "vsp_host": "127.0.0.1", "vsp_port": sim.port, "vsp_protocol": "https", "vsp_username": USER,
        "vsp_password": PASSWORD, "vsp_ca_path": sim.ca_path, "vsp_parity_groups": parity_groups,
        "vsp_key_file": key_file, "vsp_backup_password": BACKUP_PASSWORD,
    }}}}
    with open(path, "w") as handle:
        yaml.safe_dump(inventory, handle)
    os.chmod(path, 0o600)

phase_bound_seconds = jobs_model.phase_seconds  # the simulator's model: each phase's N jobs at K at once
bound_seconds = jobs_model.restore_offline_seconds  # ... and one restore job between the phases


def role_defaults(build):
    path = os.path.join(build, "ansible_collections", "vsp", "encryption", "roles", "encryption_key_restore",
                        "defaults", "main.yml")
    with open(path) as handle:
        data = yaml.safe_load(handle)
    return {"concurrency": int(data["encryption_key_restore_concurrency"]),
            "batch_size": int(data["encryption_key_restore_batch_size"])}


def bench_one(n, opts, runner_root, with_baseline, defaults):
    workdir = os.path.join(runner_root, "N%d" % n)
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(os.path.join(workdir, "keys"), mode=0o700)
    scenario_file = scenarios.write(n, os.path.join(workdir, "scenario.yml"))
    groups = scenarios.parity_group_ids(n)
    runner = Runner(opts.build, workdir)
    sim = Simulator(workdir, scenario_file, opts.latency_ms, opts.job_ms, opts.parallelism)
    k = opts.parallelism
    batches = math.ceil(n / defaults["batch_size"])
    measure_progress = n == max(opts.sizes) and batches > 1
    row = {"n": n, "groups": len(groups), "pools": 1, "bound": bound_seconds(n, opts.job_ms, k),
           "phase_bound": phase_bound_seconds(n, opts.job_ms, k), "batch_size": defaults["batch_size"],
           "batches": batches, "load_before": load1()}
    try:
        key_file = os.path.join(workdir, "keys", "bench.ekf")

        def backup():
            runner.module("encryption_key_backup", dict(connection_args(sim), destination="file", path=key_file,
                                                        backup_password=BACKUP_PASSWORD, force=True), "backup")

        backup()
        inventory = os.path.join(workdir, "inventory.yml")
        write_inventory(inventory, sim, groups, key_file)
        confirm = {"encryption_key_restore_confirm": True}
        # the role's default batch size, unless --batch-size sets another one
        batch_var = {} if defaults.get("batch_size_default", True) else {"encryption_key_restore_batch_size": defaults["batch_size"]}

        def role_run(logname, extra):
            sim.ctl("POST", "lose-keys", {"parity_groups": groups})
            sim.ctl("DELETE", "requests")
            run = runner.playbook(PLAYBOOK, inventory, dict(confirm, **extra), logname)
            run["entries"] = sim.requests_log()
            check_state(sim, n, logname)
            run["tasks"], run["items"], _ = read_timer(run["timer"])
            return run

        # 2. and 3., interleaved and repeated (the machine is shared): the best of each is kept
        startups, roles, singles = [], [], []
        for attempt in range(opts.repeat):
            # 2. fixed start-up: the same playbook with nothing to do
            sim.ctl("DELETE", "requests")
            idle = runner.playbook(PLAYBOOK, inventory, confirm, "startup-%d.log" % attempt)
            idle_log = sim.requests_log()
            if any(request_kind(e) in ("change-status", "key restore") for e in idle_log):
                raise SystemExit("bench: the idle run sent a change-status or a restore")
            check_state(sim, n, "the idle role run")
            idle.update(requests=len(idle_log), module_runs=logins(idle_log))
            startups.append(idle)
            # 3. the role: block -> restore -> recover, in batches (the role's default)
            roles.append(role_run("role-%d.log" % attempt, batch_var))
            # ... and in one batch of all volumes: the difference is what the progress lines cost
            if measure_progress:
                singles.append(role_run("role-one-batch-%d.log" % attempt, {"encryption_key_restore_batch_size": n}))
        best_idle = min(startups, key=lambda r: r["wall"])
        best = min(roles, key=lambda r: r["wall"])
        entries = best["entries"]
        row.update(startup=best_idle["wall"], startup_runs=[r["wall"] for r in startups],
                   startup_requests=best_idle["requests"], startup_module_runs=best_idle["module_runs"],
                   wall=best["wall"], wall_runs=[r["wall"] for r in roles], tasks=best["tasks"], items=best["items"],
                   task_runs=[r["tasks"] for r in roles], ansible_modules=module_summary(best["modules"]),
                   startup_modules=module_summary(best_idle["modules"]))
        under_ansible = [m["rss_kib"] for m in best["modules"] + best_idle["modules"]]
        row["rss_ansible_mib"] = max(under_ansible) / 1024.0 if under_ansible else None
        block, recover, module_runs, alternating = role_phases(entries)
        if len(block) != batches or len(recover) != batches:
            raise SystemExit("bench: expected %d pool_volume_state runs per phase, found %d / %d"
                             % (batches, len(block), len(recover)))
        row.update(requests=len(entries), kinds=count_kinds(entries), module_runs=module_runs,
                   sessions=logins(entries), one_session=alternating,
                   per_phase=[sum(len(s) for s in block) / float(n), sum(len(s) for s in recover) / float(n)],
                   batch_requests=[[len(s) for s in block], [len(s) for s in recover]])
        if singles:
            one = min(singles, key=lambda r: r["wall"])
            row["one_batch"] = {"wall": one["wall"], "wall_runs": [r["wall"] for r in singles], "tasks": one["tasks"],
                                "task_runs": [r["tasks"] for r in singles],
                                "per_phase": [sum(len(s) for s in p) / float(n) for p in role_phases(one["entries"])[:2]]}

        # 4. the modules alone: exact requests per phase, module wall time, peak RSS; for the largest N
        #    also with twice the array's parallelism as concurrency (what more requests in flight give)
        row["module"], row["readers"] = {}, {}
        concurrencies = [defaults["concurrency"]]
        if n == max(opts.sizes) and 2 * defaults["concurrency"] <= 64:
            concurrencies.append(2 * defaults["concurrency"])
        restore_args = dict(connection_args(sim), path=key_file, backup_password=BACKUP_PASSWORD, parity_groups=groups)
        for concurrency in concurrencies:
            sim.ctl("POST", "lose-keys", {"parity_groups": groups})
            if concurrency == defaults["concurrency"]:
                # the read-only modules of the preflight and the verification, for their peak RSS
                for label, name, args in (
                        ("encryption_key_restore (check mode)", "encryption_key_restore",
                         dict(restore_args, _ansible_check_mode=True)),
                        ("encryption_key_info", "encryption_key_info",  # as the role's verification runs it
                         dict(connection_args(sim), key_types=["DEK", "CEK", "KEK", "FREE"])),
                        ("pool_volume_info", "pool_volume_info", dict(connection_args(sim), parity_groups=groups))):
                    _, wall, rss, cpu = runner.module(name, args, "reader-%s" % name)
                    row["readers"][label] = {"wall": wall, "rss_kib": rss, "cpu": cpu}
            for phase, state in (("block", "blocked"), ("recover", "normal")):
                if phase == "recover":
                    _, wall, rss, cpu = runner.module("encryption_key_restore", restore_args, "restore")
                    if concurrency == defaults["concurrency"]:
                        row["readers"]["encryption_key_restore"] = {"wall": wall, "rss_kib": rss, "cpu": cpu}
                sim.ctl("DELETE", "requests")
                result, wall, rss, cpu = runner.module(
                    "pool_volume_state", dict(connection_args(sim), parity_groups=groups, state=state,
                                              concurrency=concurrency), "pvs-%s-%d" % (state, concurrency))
                log_entries = sim.requests_log()
                if len(result.get("changed_ldev_ids") or []) != n:
                    raise SystemExit("bench: pool_volume_state %s changed %d of %d volumes"
                                     % (state, len(result.get("changed_ldev_ids") or []), n))
                row["module"]["%s|%d" % (phase, concurrency)] = {
                    "phase": phase, "concurrency": concurrency, "wall": wall, "rss_kib": rss, "cpu": cpu,
                    "requests": len(log_entries), "sessions": logins(log_entries), "kinds": count_kinds(log_entries)}
            check_state(sim, n, "the module runs")
        rss = [m["rss_kib"] for m in row["module"].values() if m["concurrency"] == defaults["concurrency"]]
        rss += [m["rss_kib"] for m in row["readers"].values()]
        row["rss_alone_mib"] = max(rss) / 1024.0
        row["rss_mib"] = max(row["rss_alone_mib"], row["rss_ansible_mib"] or 0.0)

        # 5. the baseline
        if with_baseline:
            sim.ctl("POST", "reset")
            backup()
            sim.ctl("POST", "lose-keys", {"parity_groups": groups})
            sim.ctl("DELETE", "requests")
            run = runner.playbook(BASELINE_PLAYBOOK, inventory, {}, "baseline.log")
            entries = sim.requests_log()
            check_state(sim, n, "the baseline run")
            row["baseline"] = {"wall": run["wall"], "requests": len(entries), "kinds": count_kinds(entries),
                               "sessions": logins(entries),
                               "per_phase": [len(p) / float(n) for p in baseline_phases(entries)],
                               "volume_tasks": baseline_task_times(run["timer"])}
    finally:
        sim.stop()
    row["load_after"] = load1()
    return row


def extrapolate_baselines(rows):
    """Fill in a baseline not measured: a least-squares line through the measured (N, wall) points."""
    points = [(r["n"], r["baseline"]["wall"]) for r in rows if r.get("baseline") and not r["baseline"].get("extrapolated")]
    for row in rows:
        if row.get("baseline") or len(points) < 2:
            continue
        mean_n = sum(p[0] for p in points) / len(points)
        mean_w = sum(p[1] for p in points) / len(points)
        slope = sum((p[0] - mean_n) * (p[1] - mean_w) for p in points) / sum((p[0] - mean_n) ** 2 for p in points)
        largest = max((r for r in rows if r.get("baseline") and not r["baseline"].get("extrapolated")),
                      key=lambda r: r["n"])["baseline"]
        row["baseline"] = {"wall": mean_w + slope * (row["n"] - mean_n), "extrapolated": True,
                           "per_phase": largest["per_phase"], "sessions": largest["sessions"],
                           "from": ", ".join("N=%d" % p[0] for p in points)}

