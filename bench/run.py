#!/usr/bin/env python3
"""Performance benchmark (issues #7, #16): the key restore role against the array's bound and a baseline,
and the backup playbook over a fleet of arrays.

    python bench/run.py [--build .build] [--sizes "16 64 256 1024"] [--latency-ms 5] [--job-ms 200]
                        [--parallelism 8] [--baseline-sizes "16 64"] [--fleet "1 8 32"] [--full]
                        [--out docs/performance.md] [--render RESULTS_JSON]

Run it through ``make bench`` (which first copies the collection to ``$(BUILD)``). For each N it starts
the simulator on a scenario with N pool volumes in one pool over several encrypted parity groups, then:

1. backs the keys up to a file (module ``encryption_key_backup`` run directly);
2. *start-up*: runs the restore playbook (``vsp.encryption.restore_encryption_keys``, i.e. the role
   ``encryption_key_restore``) with nothing to do: no key lost, every volume normal. Same play, same
   preflight and verification, no job. This is Ansible's fixed cost of the procedure;
3. *role*: loses the keys of every parity group and runs the same playbook: block → restore → recover,
   the block and recover phases in batches of the role's default ``encryption_key_restore_batch_size``;
   at the largest N also with one batch of all volumes, which is what the progress lines cost;
4. *modules*: runs every module of the procedure as a plain Python process (no Ansible), for the exact
   requests of each phase, the module's own wall time and its peak RSS;
5. *baseline*: resets the array, backs up, loses the keys and runs ``bench/baseline.yml`` (uri tasks,
   one volume after the other).

Then the *fleet*: K simulated arrays (one simulator process each, distinct storage ids) backed up by the
shipped playbook ``vsp.encryption.backup_encryption_keys`` in one run with ``--forks K``: wall time, CPU
seconds of ansible-playbook and its children and of the simulators, sessions, every file verified.

Every run is checked against the simulator's state (all volumes normal, no key lost, no session left).
The page (``--out``) and its SVG charts are written from the run's ``results.json``, which also holds the
machine facts taken when measuring (``--render`` writes the page again from it, without measuring).
PASS/FAIL per target; exit status 1 when a target fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version as dist_version

import yaml
from vsp_simulator.harness import ADMIN, SimulatorProcess
from vsp_simulator import jobs as jobs_model
from vsp_simulator import keyfile  # the simulator's own reader of its key files (to verify the fleet's files)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import scenario as scenarios  # noqa: E402
import svg  # noqa: E402

USER, PASSWORD = ADMIN.name, ADMIN.password
BACKUP_PASSWORD = "Bench-Backup-2026!"  # noqa: S105 - a throw-away password for the simulator
PLAYBOOK = "vsp.encryption.restore_encryption_keys"
BACKUP_PLAYBOOK = "vsp.encryption.backup_encryption_keys"
MODULE_PKG = "ansible_collections.vsp.encryption.plugins.modules."
STORAGE_PREFIX = re.compile(r"^/ConfigurationManager(/v1/objects/storages/[^/]+(?=/)|/v1/[0-9]+(?=/services/))?")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# targets of issue #16 (and of issue #7: speed-up, one session per module run)
TARGET_RATIOS = ((256, 1.15), (1024, 1.10))  # (wall - start-up) / bound at N
TARGET_STARTUP_S = 4.0
TARGET_REQUESTS = 1.05
TARGET_REQUESTS_FROM_N = 256
TARGET_RSS_MIB = 64
TARGET_RSS_N = 1024
TARGET_PROGRESS = 0.05  # progress cost per phase / phase bound
TARGET_PROGRESS_N = 1024
TARGET_FLEET_K = 32
TARGET_FLEET_FACTOR = 8.0
TARGET_SPEEDUP = 10.0
TARGET_SPEEDUP_N = 256


def log(msg):
    print("bench: %s" % msg, flush=True)


def load1():
    return os.getloadavg()[0]


# -- the simulator ------------------------------------------------------------------------------------
class Simulator(SimulatorProcess):
    """``vsp-simulator`` (vsp_simulator.harness) on a free loopback port, HTTPS with its own CA.

    The constructor starts it; with ``wait=False`` the caller waits (``wait_ready()``), so several
    start at once.
    """

    def __init__(self, workdir, scenario_file, latency_ms, job_ms, parallelism, *, wait=True):
        super().__init__(workdir, scenario=scenario_file, latency_ms=latency_ms, job_ms=job_ms,
                         job_parallelism=parallelism, start_timeout=120)
        self.start(wait=wait)

    def ctl(self, method, path, body=None):
        return self.control.call(method, path, body)

    def requests_log(self):
        return self.control.requests_log()

    def cpu_seconds(self):
        """User + system CPU seconds of the simulator process so far (all its threads)."""
        with open("/proc/%d/stat" % self.pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(CLK_TCK)


def check_state(sim, n, what):
    """Raise unless every pool volume is normal, no key is lost and no session is left."""
    state = sim.ctl("GET", "state")
    pool_volumes = [ld for ld in state["ldevs"] if "POOL" in (ld.get("attributes") or [])]
    not_normal = [ld["ldevId"] for ld in pool_volumes if ld.get("status") != "NML"]
    lost = [k["keyId"] for k in state["keys"] if k.get("lost")]
    problems = []
    if len(pool_volumes) != n:
        problems.append("%d pool volumes, expected %d" % (len(pool_volumes), n))
    if not_normal:
        problems.append("pool volumes not normal: %s" % not_normal[:10])
    if lost:
        problems.append("keys still lost: %s" % lost[:10])
    if state.get("sessions"):
        problems.append("%s session(s) left open" % state["sessions"])
    if problems:
        raise SystemExit("bench: after %s (N=%d): %s" % (what, n, "; ".join(problems)))


# -- request logs -------------------------------------------------------------------------------------
def request_kind(entry):
    method, path = entry["method"], STORAGE_PREFIX.sub("", entry["path"])
    path = path.replace("/ConfigurationManager", "", 1) if path.startswith("/ConfigurationManager") else path
    if path.endswith("/sessions") and method == "POST":
        return "log in"
    if "/sessions/" in path and method == "DELETE":
        return "log out"
    if path.endswith("/change-status/invoke"):
        return "change-status"
    if "/jobs/" in path:
        return "job poll"
    if "/restore/invoke" in path or "/kms-restore/invoke" in path:
        return "key restore"
    if "/backup/invoke" in path:
        return "key backup"
    if re.search(r"/ldevs/[0-9]+$", path):
        return "GET ldev"
    if path.endswith("/ldevs"):
        return "GET ldevs"
    if "/encryption-keys" in path:
        return "%s encryption-keys" % method
    match = re.search(r"/v1/objects/([^/]+)", path)
    return "%s %s" % (method, match.group(1) if match else path)


def count_kinds(entries):
    counts = {}
    for entry in entries:
        kind = request_kind(entry)
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def logins(entries):
    return sum(1 for e in entries if request_kind(e) == "log in")


def session_segments(entries):
    """Split a log into module runs: each from its log in to its log out. Also whether they alternate.

    A module run opens one session and deletes it at the end, and the tasks of one host run one after
    the other, so the log of a correct run is log in, ..., log out, log in, ..., log out.
    """
    segments, current, alternating = [], None, True
    for entry in entries:
        kind = request_kind(entry)
        if kind == "log in":
            if current is not None:
                alternating = False  # a second session inside one module run (or one never closed)
                segments.append(current)
            current = [entry]
        elif current is not None:
            current.append(entry)
            if kind == "log out":
                segments.append(current)
                current = None
        else:
            alternating = False  # a request outside any session
    if current is not None:
        alternating = False
        segments.append(current)
    return segments, alternating


def role_phases(entries):
    """The module runs of the block phase and of the recover phase of a role run (each phase: its batches).

    Block: the pool_volume_state runs (module runs with a change-status) before the key restore's run;
    recover: those after it.
    """
    segments, alternating = session_segments(entries)
    kinds = [set(request_kind(e) for e in seg) for seg in segments]
    restore_at = next((i for i, k in enumerate(kinds) if "key restore" in k), None)
    if restore_at is None:
        raise SystemExit("bench: no key restore in the role run's requests")
    block = [seg for i, seg in enumerate(segments) if i < restore_at and "change-status" in kinds[i]]
    recover = [seg for i, seg in enumerate(segments) if i > restore_at and "change-status" in kinds[i]]
    return block, recover, len(segments), alternating


def baseline_phases(entries):
    """The baseline has one session: block = before the restore, recover = after its job."""
    kinds = [request_kind(e) for e in entries]
    restore = kinds.index("key restore")
    first_recover = next(i for i in range(restore, len(kinds)) if kinds[i] == "change-status")
    block = [e for e, k in zip(entries[:restore], kinds[:restore]) if k in ("GET ldevs", "change-status", "job poll")]
    recover = [e for e, k in zip(entries[first_recover:], kinds[first_recover:]) if k in ("change-status", "job poll")]
    return [block, recover]


# -- running things -----------------------------------------------------------------------------------
PYTHON_TIMED = os.path.join(HERE, "python-timed")  # the inventories' Python: logs each module process's CPU and RSS


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds():
    """CPU seconds all processes of the machine have used so far (every core; /proc/stat)."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / float(CLK_TCK)


def read_module_log(path):
    """The module processes of an ansible-playbook run, from bench/python-timed: [{module, cpu, rss_kib, wall}]."""
    runs = []
    if not os.path.exists(path):
        return runs
    with open(path) as handle:
        for line in handle:
            parts = line.split(None, 4)
            if len(parts) < 5 or not re.match(r"^[0-9.]+$", parts[0]):
                continue  # "Command exited with non-zero status" and the like
            match = re.search(r"AnsiballZ_([A-Za-z0-9_]+)\.py", parts[4])
            runs.append({"module": match.group(1) if match else parts[4].strip()[-40:],
                         "cpu": float(parts[0]) + float(parts[1]), "rss_kib": int(parts[2]), "wall": float(parts[3])})
    return runs


def module_summary(runs):
    """{module: [count, CPU s, max RSS KiB]} of a run's module processes."""
    out = {}
    for run in runs:
        entry = out.setdefault(run["module"], [0, 0.0, 0])
        entry[0] += 1
        entry[1] += run["cpu"]
        entry[2] = max(entry[2], run["rss_kib"])
    return dict(sorted(out.items(), key=lambda kv: -kv[1][1]))


class Runner:
    def __init__(self, build, workdir):
        self.build = os.path.abspath(build)
        self.workdir = workdir
        venv_bin = os.path.dirname(sys.executable)
        self.env = dict(os.environ)
        for name in list(self.env):
            if name.startswith(("ANSIBLE_", "VSP_")):
                del self.env[name]
        self.env.update(
            ANSIBLE_COLLECTIONS_PATH=self.build,
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_DEPRECATION_WARNINGS="0",
            ANSIBLE_LOCAL_TEMP=os.path.join(workdir, "ansible-tmp"),
            ANSIBLE_HOME=os.path.join(workdir, "ansible-home"),
            ANSIBLE_CONFIG=os.path.join(workdir, "ansible.cfg"),
            ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
            ANSIBLE_CALLBACKS_ENABLED="bench_timer",
            PATH=venv_bin + os.pathsep + self.env.get("PATH", ""),
            BENCH_PYTHON=sys.executable,
        )
        with open(os.path.join(workdir, "ansible.cfg"), "w") as handle:
            handle.write("[defaults]\n")  # Ansible's defaults, nothing from the caller's ansible.cfg

    def playbook(self, name, inventory, extra_vars, logname, *, forks=None, env_extra=None):
        """Run ansible-playbook; return {wall, cpu (its whole process tree), machine_busy (CPU s of every process of
        the machine meanwhile), timer (the callback's file), modules (its module processes)}."""
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
               "-e", json.dumps(extra_vars), name]
        if forks:
            cmd[1:1] = ["--forks", str(forks)]
        out = os.path.join(self.workdir, logname)
        env = dict(self.env, BENCH_TIMER_FILE=out + ".tasks.jsonl", BENCH_MODULE_LOG=out + ".modules.log", **(env_extra or {}))
        for path in (env["BENCH_TIMER_FILE"], env["BENCH_MODULE_LOG"]):
            if os.path.exists(path):
                os.unlink(path)
        cpu, busy = children_cpu(), machine_busy_seconds()
        start = time.monotonic()
        with open(out, "wb") as handle:
            rc = subprocess.call(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=self.workdir)
        wall = time.monotonic() - start
        cpu, busy = children_cpu() - cpu, machine_busy_seconds() - busy
        if rc != 0:
            with open(out, errors="replace") as handle:
                sys.stderr.write(handle.read()[-6000:])
            raise SystemExit("bench: %s failed (rc %d), log: %s" % (name, rc, out))
        return {"wall": wall, "cpu": cpu, "machine_busy": busy, "timer": env["BENCH_TIMER_FILE"], "log": out,
                "modules": read_module_log(env["BENCH_MODULE_LOG"])}

    def module(self, name, args, logname):
        """Run a module as a plain Python process; return (result, wall seconds, peak RSS in KiB, CPU seconds)."""
        args_file = os.path.join(self.workdir, logname + ".args.json")
        with open(args_file, "w") as handle:
            json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
        os.chmod(args_file, 0o600)
        env = dict(self.env, PYTHONPATH=self.build)
        out_path = os.path.join(self.workdir, logname + ".out")
        start = time.monotonic()
        with open(out_path, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", MODULE_PKG + name, args_file], stdout=out,
                                    stderr=subprocess.STDOUT, env=env, cwd=self.workdir)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - start
        with open(out_path, errors="replace") as handle:
            text = handle.read()
        try:
            result = json.loads(text[text.index("{"):])
        except ValueError:
            result = {"failed": True, "msg": text[-2000:]}
        if proc.returncode != 0 or result.get("failed"):
            raise SystemExit("bench: module %s failed: %s" % (name, result.get("msg")))
        return result, wall, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


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


TASK_PHASES = (("block", "Block every pool volume"), ("restore", "Restore the keys"),
               ("recover", "Recover every pool volume"))


def _phase_of(task_name):
    short = task_name.split(" : ", 1)[-1]
    for phase, marker in TASK_PHASES:
        if short.startswith(marker):
            return phase
    return None


def read_timer(path):
    """Task seconds of the block, restore and recover tasks, their loop items, the controller's CPU seconds."""
    times, items, controller_cpu = {}, {}, None
    with open(path) as handle:
        for line in handle:
            record = json.loads(line)
            if "controller_cpu_s" in record:
                controller_cpu = record["controller_cpu_s"]
                continue
            phase = _phase_of(record["task"])
            if phase is None:
                continue
            if "item" in record:
                items.setdefault(phase, []).append([record["item"], record["at"]])
            else:
                times[phase] = times.get(phase, 0.0) + record["seconds"]
    return times, items, controller_cpu


def baseline_task_times(path):
    """[count, total seconds] of the baseline's per-volume tasks (change the status, wait for the job)."""
    count, total = 0, 0.0
    with open(path) as handle:
        for line in handle:
            task = json.loads(line)
            if "seconds" in task and task["task"].endswith(("Change the status of the LDEV", "Wait for the job of the LDEV")):
                count += 1
                total += task["seconds"]
    return [count, total]


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
            run = runner.playbook(os.path.join(HERE, "baseline.yml"), inventory, {}, "baseline.log")
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


# -- the fleet ------------------------------------------------------------------------------------------
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


# -- report ---------------------------------------------------------------------------------------------
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


# -- machine facts (taken when measuring; --render uses the saved ones) ---------------------------------
SPEED_PROBES = {
    # name: the Python code timed in a new process of this Python (best of 3); the module processes and ansible-playbook
    # spend their time in such code, so runs on other machines compare through these figures
    "python_loop_s": "s = 0\nfor i in range(5000000):\n    s += i",
    "ansible_import_s": "import ansible.cli.playbook",
    "pbkdf2_s": "import hashlib\nhashlib.pbkdf2_hmac('sha256', b'password', b'0123456789abcdef', 600000)",
}


def speed_probes():
    """Seconds of each :data:`SPEED_PROBES` code on this machine (best of 3 runs, each in a new process)."""
    timer = "import time\nt = time.perf_counter()\nexec(compile(%r, 'probe', 'exec'))\nprint(time.perf_counter() - t)"
    found = {}
    for name, code in SPEED_PROBES.items():
        runs = [float(subprocess.run([sys.executable, "-c", timer % code], capture_output=True, text=True, check=True).stdout)
                for _ in range(3)]
        found[name] = round(min(runs), 3)
    return found


def machine_facts(build):
    def first(cmd):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT).stdout.strip()
        except OSError:
            return "?"
        return out.splitlines()[0] if out else "?"

    cpu_model = "?"
    try:
        with open("/proc/cpuinfo") as handle:
            cpu_model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "?")
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / float(1 << 30)
    try:
        simulator = dist_version("vsp-simulator")
    except Exception:  # noqa: BLE001 - a fact for the page, never a reason to fail
        simulator = "?"
    with open(os.path.join(build, "ansible_collections", "vsp", "encryption", "galaxy.yml")
              if os.path.exists(os.path.join(build, "ansible_collections", "vsp", "encryption", "galaxy.yml"))
              else os.path.join(ROOT, "galaxy.yml")) as handle:
        collection = (yaml.safe_load(handle) or {}).get("version", "?")
    commit = first(["git", "rev-parse", "--short", "HEAD"])
    dirty = first(["git", "status", "--porcelain", "--", "plugins", "roles", "playbooks", "simulator", "bench"])
    return {"cores": os.cpu_count(), "cpu_model": cpu_model, "memory_gib": round(mem_gib, 1),
            "kernel": "%s %s" % (platform.system(), platform.release()), "python": platform.python_version(),
            "ansible": first([os.path.join(os.path.dirname(sys.executable), "ansible"), "--version"]),
            "simulator": simulator, "collection": collection, "speed": speed_probes(),
            "commit": commit + (" (with uncommitted changes)" if dirty not in ("", "?") else "")}


# -- targets --------------------------------------------------------------------------------------------
def progress_cost(row):
    """Seconds per phase that the batches cost: role task times in batches minus in one batch (best runs)."""
    one = row.get("one_batch")
    if not one:
        return None
    per = [row["tasks"].get(p, 0.0) - one["tasks"].get(p, 0.0) for p in ("block", "recover")]
    return {"block": per[0], "recover": per[1], "per_phase": sum(per) / 2.0,
            "extra_runs_per_phase": row["batches"] - 1}


def targets(rows, fleet):
    """[(name, verdict, detail)]; verdict None when the size the target is set at was not measured."""
    out = []
    by_n = {r["n"]: r for r in rows}
    for n, limit in TARGET_RATIOS:
        r = by_n.get(n)
        name = "N=%d: (wall − start-up) / bound ≤ %.2f" % (n, limit)
        if r is None:
            out.append((name, None, "N=%d not measured" % n))
            continue
        ratio = (r["wall"] - r["startup"]) / r["bound"]
        out.append((name, ratio <= limit, "(%.1f s − %.1f s) / %.1f s = %.3f" % (r["wall"], r["startup"], r["bound"], ratio)))
    worst = max(rows, key=lambda r: r["startup"])
    out.append(("Ansible's fixed start-up of the procedure ≤ %.1f s (every N)" % TARGET_STARTUP_S,
                all(r["startup"] <= TARGET_STARTUP_S for r in rows),
                ", ".join("N=%d: %.2f s" % (r["n"], r["startup"]) for r in rows) + " (worst N=%d)" % worst["n"]))
    big = [r for r in rows if r["n"] >= TARGET_REQUESTS_FROM_N]
    name = "requests per volume per phase ≤ %.2f (N ≥ %d)" % (TARGET_REQUESTS, TARGET_REQUESTS_FROM_N)
    if big:
        out.append((name, all(max(r["per_phase"]) <= TARGET_REQUESTS for r in big),
                    "; ".join("N=%d: %s" % (r["n"], " / ".join("%.3f" % x for x in r["per_phase"])) for r in big)))
    else:
        out.append((name, None, "no N ≥ %d measured" % TARGET_REQUESTS_FROM_N))
    r = by_n.get(TARGET_RSS_N)
    name = "peak RSS of a module ≤ %d MiB at N=%d" % (TARGET_RSS_MIB, TARGET_RSS_N)
    if r is None:
        out.append((name, None, "N=%d not measured" % TARGET_RSS_N))
    else:
        out.append((name, r["rss_mib"] <= TARGET_RSS_MIB,
                    "%.1f MiB (the largest of every module of the procedure: %.1f MiB run alone, %s under Ansible)"
                    % (r["rss_mib"], r["rss_alone_mib"], "%.1f MiB" % r["rss_ansible_mib"] if r["rss_ansible_mib"] else "not measured")))
    r = by_n.get(TARGET_PROGRESS_N)
    name = "N=%d: cost of the progress lines ≤ %d %% of the phase bound" % (TARGET_PROGRESS_N, TARGET_PROGRESS * 100)
    cost = progress_cost(r) if r else None
    if cost is None:
        out.append((name, None, "N=%d not measured in batches and in one batch" % TARGET_PROGRESS_N))
    else:
        share = cost["per_phase"] / r["phase_bound"]
        out.append((name, share <= TARGET_PROGRESS,
                    "%.2f s per phase (block %.2f s, recover %.2f s; %d extra module runs per phase) = %.1f %% of %.1f s"
                    % (cost["per_phase"], cost["block"], cost["recover"], cost["extra_runs_per_phase"], 100 * share,
                       r["phase_bound"])))
    r = by_n.get(TARGET_SPEEDUP_N)
    if r and r.get("baseline"):
        speedup = r["baseline"]["wall"] / r["wall"]
        mark = " (baseline extrapolated from %s)" % r["baseline"]["from"] if r["baseline"].get("extrapolated") else ""
        out.append(("N=%d: at least %g × faster than the baseline" % (r["n"], TARGET_SPEEDUP), speedup >= TARGET_SPEEDUP,
                    "%.1f ×%s" % (speedup, mark)))
    out.append(("one session per module run (every N)",
                all(r["one_session"] and r["sessions"] == r["module_runs"] for r in rows)
                and all(m["sessions"] == 1 for r in rows for m in r["module"].values()),
                "; ".join("N=%d: %d sessions for %d module runs" % (r["n"], r["sessions"], r["module_runs"]) for r in rows)))
    fleet = fleet_rows(fleet)
    if fleet:
        by_k = {f["k"]: f for f in fleet}
        name = "fleet: K=%d in at most %g × the wall time of K=1, every file verified" % (TARGET_FLEET_K, TARGET_FLEET_FACTOR)
        if TARGET_FLEET_K in by_k and 1 in by_k:
            big, one = by_k[TARGET_FLEET_K], by_k[1]
            factor = big["wall"] / one["wall"]
            out.append((name, factor <= TARGET_FLEET_FACTOR and all(f["verified_all"] for f in fleet),
                        "%.1f s / %.1f s = %.2f ×; files verified: %s" % (
                            big["wall"], one["wall"], factor,
                            ", ".join("K=%d: %d/%d" % (f["k"], f["verified"], f["k"]) for f in fleet))))
        else:
            out.append((name, None, "K=1 and K=%d not both measured" % TARGET_FLEET_K))
    return out


# -- the page -------------------------------------------------------------------------------------------
def table(head, lines):
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] +
                     ["| " + " | ".join(str(c) for c in line) + " |" for line in lines])


def fmt_table(rows):
    head = ["N", "wall s", "bound s", "start-up s", "(wall − start-up) / bound", "overhead s", "batches / phase",
            "req/vol/phase", "sessions", "peak RSS MiB", "baseline s", "baseline req/vol/phase", "speed-up"]
    lines = []
    for r in rows:
        b = r.get("baseline")
        bwall = "-" if not b else ("~%.0f (extrapolated)" % b["wall"] if b.get("extrapolated") else "%.1f" % b["wall"])
        bphase = "-" if not b else " / ".join("%.2f" % x for x in b["per_phase"])
        speed = "-" if not b else ("~%.0f × (extrapolated)" % (b["wall"] / r["wall"]) if b.get("extrapolated")
                                   else "%.1f ×" % (b["wall"] / r["wall"]))
        lines.append([r["n"], "%.1f" % r["wall"], "%.1f" % r["bound"], "%.2f" % r["startup"],
                      "%.3f" % ((r["wall"] - r["startup"]) / r["bound"]), "%.1f" % (r["wall"] - r["startup"] - r["bound"]),
                      r["batches"], " / ".join("%.3f" % x for x in r["per_phase"]),
                      "%d / %d runs" % (r["sessions"], r["module_runs"]), "%.1f" % r["rss_mib"], bwall, bphase, speed])
    return table(head, lines)


def fmt_tasks(rows):
    head = ["N", "block task s", "restore task s", "recover task s", "everything else s", "start-up s",
            "block + recover − 2 × phase bound s", "runs: start-up s", "runs: role s"]
    lines = []
    for r in rows:
        t = r["tasks"]
        lines.append([r["n"], "%.1f" % t.get("block", 0), "%.1f" % t.get("restore", 0), "%.1f" % t.get("recover", 0),
                      "%.1f" % (r["wall"] - sum(t.values())), "%.2f" % r["startup"],
                      "%.1f" % (t.get("block", 0) + t.get("recover", 0) - 2 * r["phase_bound"]),
                      ", ".join("%.2f" % x for x in r["startup_runs"]), ", ".join("%.1f" % x for x in r["wall_runs"])])
    return table(head, lines)


def plural(count, one, many):
    return "%d %s" % (count, one if count == 1 else many)


def fmt_progress(rows, opts):
    """The progress lines of the largest N: each batch's time, and the one-batch comparison."""
    r = max(rows, key=lambda x: x["n"])
    out = []
    lines = []
    for phase in ("block", "recover"):
        previous = 0.0
        for label, at in r["items"].get(phase, []):
            match = re.search(r"LDEV (\d+)-(\d+)", label)
            count = int(match.group(2)) - int(match.group(1)) + 1 if match else 1
            jobs = math.ceil(count / float(opts.parallelism)) * opts.job_ms / 1000.0
            lines.append([phase, "`%s`" % label, "%.1f" % at, "%.2f" % (at - previous), "%.1f" % jobs,
                          "%.2f" % (at - previous - jobs)])
            previous = at
    out.append("At N=%d the role ran each phase in %s of at most %d pool volumes "
               "(`encryption_key_restore_batch_size`); Ansible printed one line per batch, the label of the loop item, "
               "as soon as the batch was done. From the best role run (callback `bench_timer`, seconds since the task "
               "started):" % (r["n"], plural(r["batches"], "batch", "batches"), r["batch_size"]))
    out.append("")
    out.append(table(["phase", "progress line", "printed at s", "batch s", "its jobs s (⌈size/%d⌉ × %d ms)" % (opts.parallelism, opts.job_ms),
                      "batch − jobs s"], lines))
    gaps = [at - prev for phase in ("block", "recover")
            for (_, at), prev in zip(r["items"].get(phase, []), [0.0] + [a for _, a in r["items"].get(phase, [])][:-1])]
    if gaps:
        out.append("")
        out.append("The longest wait for a progress line was %.1f s (on this simulator's %d ms jobs, %d at once)."
                   % (max(gaps), opts.job_ms, opts.parallelism))
    cost = progress_cost(r)
    if cost:
        one = r["one_batch"]
        out.append("")
        out.append(table(["N = %d" % r["n"], "block task s", "recover task s", "role wall s", "req/vol/phase", "runs: role wall s"], [
            ["%d batches of %d" % (r["batches"], r["batch_size"]), "%.2f" % r["tasks"].get("block", 0),
             "%.2f" % r["tasks"].get("recover", 0), "%.1f" % r["wall"], " / ".join("%.3f" % x for x in r["per_phase"]),
             ", ".join("%.1f" % x for x in r["wall_runs"])],
            ["one batch of %d" % r["n"], "%.2f" % one["tasks"].get("block", 0), "%.2f" % one["tasks"].get("recover", 0),
             "%.1f" % one["wall"], " / ".join("%.3f" % x for x in one["per_phase"]), ", ".join("%.1f" % x for x in one["wall_runs"])]]))
        out.append("")
        out.append("The batches cost %.2f s in the block task and %.2f s in the recover task (best run of each kind), "
                   "%.2f s per phase on average: %.1f %% of the phase bound (%.1f s), for %s per phase "
                   "(%.2f s each). Each extra run starts a module process, logs in, looks the parity groups and their "
                   "pool volumes up again and logs out; between two batches no job runs."
                   % (cost["block"], cost["recover"], cost["per_phase"], 100 * cost["per_phase"] / r["phase_bound"],
                      r["phase_bound"], plural(cost["extra_runs_per_phase"], "extra module run", "extra module runs"),
                      cost["per_phase"] / max(cost["extra_runs_per_phase"], 1)))
        sizes = [min(r["batch_size"], r["n"] - i * r["batch_size"]) for i in range(r["batches"])]
        out.append("")
        out.append("Requests of each batch besides its %s change-status requests: block %s; recover %s (log in, "
                   "the look-ups, log out)." % (
                       " / ".join(str(x) for x in sizes),
                       ", ".join(str(n - m) for n, m in zip(r["batch_requests"][0], sizes)),
                       ", ".join(str(n - m) for n, m in zip(r["batch_requests"][1], sizes))))
    else:
        out.append("")
        out.append("The largest N ran in one batch per phase: nothing to compare (the cost of the progress lines is "
                   "measured at the largest N when it has more than one batch).")
    return "\n".join(out)


def fmt_modules(rows, opts):
    head = ["N", "module", "concurrency", "module wall s", "phase bound s", "ratio", "requests", "req/vol", "sessions",
            "CPU s", "peak RSS MiB"]
    lines = []
    for r in rows:
        for m in r["module"].values():
            lines.append([r["n"], "pool_volume_state (%s)" % m["phase"], m["concurrency"], "%.2f" % m["wall"],
                          "%.1f" % r["phase_bound"], "%.2f" % (m["wall"] / r["phase_bound"]), m["requests"],
                          "%.3f" % (m["requests"] / float(r["n"])), m["sessions"], "%.2f" % m["cpu"], "%.1f" % (m["rss_kib"] / 1024.0)])
        for label, m in r.get("readers", {}).items():
            lines.append([r["n"], label, "-", "%.2f" % m["wall"], "-", "-", "-", "-", "-", "%.2f" % m["cpu"],
                          "%.1f" % (m["rss_kib"] / 1024.0)])
    return table(head, lines)


def fmt_ansible_modules(rows):
    lines = []
    for r in rows:
        for run, summary in (("R", r.get("ansible_modules") or {}), ("S", r.get("startup_modules") or {})):
            for name, (count, cpu, rss) in summary.items():
                lines.append([r["n"], run, "`%s`" % name, count, "%.2f" % cpu, "%.1f" % (rss / 1024.0)])
    if not lines:
        return "Not measured (no `/usr/bin/time` on this machine)."
    return table(["N", "run", "module", "runs", "CPU s", "peak RSS MiB"], lines)


def fmt_kinds(rows):
    lines = []
    for r in rows:
        lines.append("- N=%d, role (%d requests): %s" % (r["n"], r["requests"], ", ".join("%s %d" % kv for kv in r["kinds"].items())))
        b = r.get("baseline")
        if b and not b.get("extrapolated"):
            lines.append("- N=%d, baseline (%d requests): %s" % (r["n"], b["requests"], ", ".join("%s %d" % kv for kv in b["kinds"].items())))
    return "\n".join(lines)


def findings(rows, opts):
    """What the largest N says, in words (numbers from this run only)."""
    r = max(rows, key=lambda x: x["n"])
    t = r["tasks"]
    k = opts.parallelism
    polls = r["kinds"].get("job poll", 0)
    out = [
        "- At N=%d the role took %.1f s against a bound of %.1f s and a start-up of %.2f s: the block and recover "
        "tasks took %.1f s and %.1f s against %.1f s of jobs each, the restore task %.1f s for one %d ms job, "
        "everything else %.1f s." % (r["n"], r["wall"], r["bound"], r["startup"], t.get("block", 0), t.get("recover", 0),
                                     r["phase_bound"], t.get("restore", 0), opts.job_ms, r["wall"] - sum(t.values())),
        "- The idle run (the start-up) made %d module runs that talked to the array (%d requests); the role run "
        "made %d. The start of the other %d module processes is in the overhead, not in the start-up."
        % (r["startup_module_runs"], r["startup_requests"], r["module_runs"], r["module_runs"] - r["startup_module_runs"]),
        "- Job polls in the whole role run: %d; change-status requests: %d for %d volume changes."
        % (polls, r["kinds"].get("change-status", 0), 2 * r["n"]),
    ]
    mods = r["module"]
    two = [m for m in mods.values() if m["concurrency"] == 2 * k]
    one = [m for m in mods.values() if m["concurrency"] == k]
    if two and one:
        gain = sum(m["wall"] for m in one) - sum(m["wall"] for m in two)
        out.append("- `pool_volume_state` alone with `concurrency: %d` (twice the array's %d parallel jobs) took %s s per "
                   "phase, with `concurrency: %d` %s s (phase bound %.1f s): %.2f s %s per phase."
                   % (2 * k, k, " / ".join("%.2f" % m["wall"] for m in two), k, " / ".join("%.2f" % m["wall"] for m in one),
                      r["phase_bound"], abs(gain) / len(two), "less" if gain >= 0 else "more"))
    measured = [x for x in rows if x.get("baseline") and not x["baseline"].get("extrapolated") and x["baseline"].get("volume_tasks")]
    if measured:
        b = max(measured, key=lambda x: x["n"])
        count, total = b["baseline"]["volume_tasks"]
        out.append("- The baseline at N=%d ran %d per-volume `uri` tasks, %.2f s each on average: %.0f s of its %.0f s; "
                   "%d job polls for %d jobs." % (b["n"], count, total / max(count, 1), total, b["baseline"]["wall"],
                                                  b["baseline"]["kinds"].get("job poll", 0), 2 * b["n"] + 1))
    return "\n".join(out)


def fleet_rows(fleet, variant="defaults"):
    return [f for f in fleet or [] if f.get("variant", "defaults") == variant]


def fleet_split(f):
    """CPU seconds of a fleet run: main process, forks (workers), module processes, simulators, other work."""
    workers = f["cpu_tree"] - f["cpu_controller"] - f["cpu_modules"]
    ours = f["cpu_tree"] + f["cpu_simulators"]
    return {"main": f["cpu_controller"], "workers": workers, "modules": f["cpu_modules"], "simulators": f["cpu_simulators"],
            "ours": ours, "other": max(0.0, f["machine_busy"] - ours)}


def fleet_findings(fleet, facts):
    """What limits the fleet run, from the measured CPU seconds (controller, forks, modules, simulators, other work)."""
    piped = {f["k"]: f for f in fleet_rows(fleet, "pipelining")}
    fleet = fleet_rows(fleet)
    if not fleet:
        return "Not measured in this run (`--fleet` empty)."
    cores = facts["cores"]
    big = max(fleet, key=lambda f: f["k"])
    small = min(fleet, key=lambda f: f["k"])
    c = fleet_split(big)
    out = ["- At K=%d the run took %.1f s and used %.1f CPU seconds: %.1f s in ansible-playbook's main process, %.1f s in "
           "its forks (one per host and task), %.1f s in the %d module processes they started (%.1f runs per array), %.1f s in "
           "the %d simulators. Other work on the machine used %.1f CPU s meanwhile (all processes: %.2f of %d cores busy "
           "on average; this run alone: %.2f)."
           % (big["k"], big["wall"], c["ours"], c["main"], c["workers"], c["modules"], big["module_runs"],
              big["module_runs"] / float(big["k"]), c["simulators"], big["k"], c["other"], big["machine_busy"] / big["wall"],
              cores, c["ours"] / big["wall"])]
    machine = big["machine_busy"] / big["wall"]
    if machine >= 0.85 * cores and c["ours"] / big["wall"] >= 0.7 * cores:
        out.append("- So at K=%d the limit is CPU: the cores were busy, mostly with this run's own processes; it cannot "
                   "take less than %.1f s here (its CPU seconds / %d cores) unless each array costs less CPU."
                   % (big["k"], c["ours"] / cores, cores))
    elif machine >= 0.85 * cores:
        out.append("- The cores were busy, largely with other work: the wall times are longer than this run alone needs. "
                   "On %d free cores it needs at least %.1f s at K=%d (its CPU seconds / cores)." % (cores, c["ours"] / cores, big["k"]))
    elif c["main"] / big["wall"] >= 0.8:
        out.append("- So at K=%d the limit is ansible-playbook's main process: one core, busy %.0f %% of the run (strategy, "
                   "templating and results of every host)." % (big["k"], 100 * c["main"] / big["wall"]))
    else:
        out.append("- At K=%d neither the cores (%.2f of %d busy) nor the main process (%.0f %% of one core) were saturated: "
                   "the rest of the wall time is waiting (request latency, the array's work)."
                   % (big["k"], machine, cores, 100 * c["main"] / big["wall"]))
    if big["k"] > small["k"]:
        dk = float(big["k"] - small["k"])
        s = fleet_split(small)
        out.append("- Each array more cost %.2f CPU s in the main process, %.2f in forks, %.2f in module processes and %.2f "
                   "in its simulator (K=%d against K=%d): %.2f CPU s per array, %.2f s of wall time per array on %d cores."
                   % ((c["main"] - s["main"]) / dk, (c["workers"] - s["workers"]) / dk, (c["modules"] - s["modules"]) / dk,
                      (c["simulators"] - s["simulators"]) / dk, big["k"], small["k"], (c["ours"] - s["ours"]) / dk,
                      (c["ours"] - s["ours"]) / dk / cores, cores))
        if big["k"] == TARGET_FLEET_K and small["k"] == 1:
            # all K arrays' CPU seconds on the cores within the target: K=1's CPU + (K - 1) arrays more <= factor x K=1's wall x cores
            budget = (TARGET_FLEET_FACTOR * small["wall"] * cores - s["ours"]) / dk
            out.append("- For K=%d in at most %g × the wall time of K=1 on %d cores, with K=1 as measured (%.1f s, %.1f CPU s), "
                       "an array may cost at most %.2f CPU s; it cost %.2f. Each CPU second less per array also shortens K=1 "
                       "(which ran on one core), so the budget shrinks with it."
                       % (big["k"], TARGET_FLEET_FACTOR, cores, small["wall"], s["ours"], budget, (c["ours"] - s["ours"]) / dk))
    top = list(big["modules"].items())[:4]
    if top:
        out.append("- The module processes at K=%d by CPU: %s; each module run also logs in and out: %d session(s) per array."
                   % (big["k"], "; ".join("`%s` %d runs, %.1f CPU s (%.2f s each), peak RSS %.0f MiB"
                                            % (name, v[0], v[1], v[1] / v[0], v[2] / 1024.0) for name, v in top),
                      big["sessions_per_array"]))
    if big["k"] in piped:
        p = piped[big["k"]]
        cp = fleet_split(p)
        out.append("- With Ansible's pipelining on (`ANSIBLE_PIPELINING=True`: the module goes to the Python on stdin, no "
                   "temporary files and fewer shell commands per task), K=%d took %.1f s and %.1f CPU s (forks %.1f, "
                   "modules %.1f) instead of %.1f s and %.1f CPU s."
                   % (p["k"], p["wall"], cp["ours"], cp["workers"], cp["modules"], big["wall"], c["ours"]))
    return "\n".join(out)


def fmt_fleet(fleet):
    if not fleet:
        return ""
    ones = {f.get("variant", "defaults"): f for f in fleet if f["k"] == 1}
    head = ["Ansible", "K arrays (forks)", "wall s", "× K=1", "CPU s: main process", "forks", "modules (runs)", "simulators",
            "CPU s per array", "cores busy: run / machine", "sessions", "files verified", "runs: wall s", "load before → after"]
    lines = []
    for f in fleet:
        c = fleet_split(f)
        one = ones.get(f.get("variant", "defaults"))
        lines.append([f.get("variant", "defaults"), f["k"], "%.1f" % f["wall"], "%.2f" % (f["wall"] / one["wall"]) if one else "-",
                      "%.1f" % c["main"], "%.1f" % c["workers"], "%.1f (%d)" % (c["modules"], f["module_runs"]),
                      "%.1f" % c["simulators"], "%.2f" % (c["ours"] / f["k"]),
                      "%.2f / %.2f" % (c["ours"] / f["wall"], f["machine_busy"] / f["wall"]),
                      "%d (%d per array, %d left open)" % (f["sessions"], f["sessions_per_array"], f["open_sessions"]),
                      "%d / %d%s" % (f["verified"], f["k"], "" if not f["problems"] else " (" + "; ".join(f["problems"][:3]) + ")"),
                      ", ".join("%.1f" % x for x in f["wall_runs"]), "%.2f → %.2f" % (f["load_before"], f["load_after"])])
    return table(head, lines)


def charts(rows, fleet, out):
    """Write the SVG charts next to the page; return their file names (relative to the page)."""
    base = os.path.splitext(out)[0]
    names = {}
    xs = [r["n"] for r in rows]
    measured_b = [(r["n"], r["baseline"]["wall"]) for r in rows if r.get("baseline") and not r["baseline"].get("extrapolated")]
    extrap_b = [(r["n"], r["baseline"]["wall"]) for r in rows if r.get("baseline")]
    series = [
        {"name": "role: wall", "points": [(r["n"], r["wall"]) for r in rows], "color": "#1f5fa8"},
        {"name": "bound + start-up", "points": [(r["n"], r["bound"] + r["startup"]) for r in rows], "color": "#6aa84f", "dash": "6 4"},
        {"name": "bound (array's jobs)", "points": [(r["n"], r["bound"]) for r in rows], "color": "#2d7a2d"},
        {"name": "baseline: wall", "points": measured_b, "color": "#c0392b"},
    ]
    if len(extrap_b) > len(measured_b):
        series.append({"name": "baseline (extrapolated)", "points": extrap_b, "color": "#c0392b", "dash": "3 4", "marker": False})
    path = svg.line_chart(base + "-restore.svg", "Key restore: wall time and bound against N", "N pool volumes",
                          "seconds", series, xticks=xs, xlog=len(xs) > 1, ylog=True)
    if path:
        names["restore"] = os.path.basename(path)
    piped = fleet_rows(fleet, "pipelining")
    fleet = fleet_rows(fleet)
    if fleet:
        ks = [f["k"] for f in fleet]
        one = next((f for f in fleet if f["k"] == 1), None)
        series = [{"name": "wall", "points": [(f["k"], f["wall"]) for f in fleet], "color": "#1f5fa8"},
                  {"name": "CPU s / cores", "points": [(f["k"], (f["cpu_tree"] + f["cpu_simulators"]) / f["cores"])
                                                       for f in fleet], "color": "#b36b00", "dash": "6 4"}]
        if piped:
            series.append({"name": "wall, pipelining on", "points": [(f["k"], f["wall"]) for f in piped], "color": "#7e57c2",
                           "dash": "6 3"})
        if one:
            series.append({"name": "target: %g × wall(K=1)" % TARGET_FLEET_FACTOR,
                           "points": [(min(ks), TARGET_FLEET_FACTOR * one["wall"]), (max(ks), TARGET_FLEET_FACTOR * one["wall"])],
                           "color": "#888", "dash": "2 3", "marker": False})
        path = svg.line_chart(base + "-fleet.svg", "Backup playbook over K arrays (forks = K)", "K arrays", "seconds",
                              series, xticks=ks)
        if path:
            names["fleet"] = os.path.basename(path)
    return names


def role_settings(defaults):
    text = "its defaults: `encryption_key_restore_concurrency: %d`" % defaults["concurrency"]
    if defaults.get("batch_size_default", True):
        return text + ", `encryption_key_restore_batch_size: %d`" % defaults["batch_size"]
    return text + "; `encryption_key_restore_batch_size: %d` set by `--batch-size` (the role's default is %d)" % (
        defaults["batch_size"], defaults["role_batch_size"])


def speed_text(speed):
    """The speed probes of the page (a run saved before they existed has none)."""
    if not speed:
        return "not measured by this run"
    return ("a pure-Python loop of 5,000,000 additions %.2f s, `import ansible.cli.playbook` %.2f s, one PBKDF2-HMAC-SHA256 "
            "of 600,000 iterations %.2f s" % (speed["python_loop_s"], speed["ansible_import_s"], speed["pbkdf2_s"]))


def report(rows, fleet, verdicts, opts, meta, *, pictures):
    facts = meta["machine"]
    loads = ", ".join("N=%d: %.2f → %.2f" % (r["n"], r["load_before"], r["load_after"]) for r in rows)
    if fleet:
        loads += "; fleet " + ", ".join("K=%d%s: %.2f → %.2f" % (f["k"], "" if f.get("variant", "defaults") == "defaults" else " (%s)" % f["variant"],
                                                               f["load_before"], f["load_after"]) for f in fleet)
    mark = {True: "PASS", False: "FAIL", None: "NOT MEASURED"}
    verdict_lines = "\n".join("- **%s** %s — %s" % (mark[ok], name, detail) for name, ok, detail in verdicts)
    extrapolated = [r["n"] for r in rows if r.get("baseline", {}).get("extrapolated")]
    note = ""
    if extrapolated:
        note = ("\n**The baseline at N=%s is extrapolated** (a straight line through the measured N), not measured: "
                "run `make bench BENCH_FULL=1` to measure it.\n" % ", ".join(str(n) for n in extrapolated))
    groups = sorted({r["groups"] for r in rows})
    restore_chart = "![Wall time and bound against N](%s)\n" % pictures["restore"] if "restore" in pictures else ""
    fleet_chart = "![Wall time against K](%s)\n" % pictures["fleet"] if "fleet" in pictures else ""
    return TEMPLATE.format(
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(meta["started"])), elapsed=meta["elapsed"],
        load_start=meta.get("load_start", float("nan")), load_end=meta.get("load_end", float("nan")),
        latency=opts.latency_ms, job_ms=opts.job_ms, k=opts.parallelism, loads=loads, facts=facts,
        speed=speed_text(facts.get("speed")),
        groups=" or ".join(str(g) for g in groups), sizes=", ".join(str(r["n"]) for r in rows),
        role_settings=role_settings(meta["defaults"]),
        table=fmt_table(rows), verdicts=verdict_lines, modules=fmt_modules(rows, opts), tasks=fmt_tasks(rows),
        progress=fmt_progress(rows, opts), findings=findings(rows, opts), repeat=opts.repeat, kinds=fmt_kinds(rows),
        ansible_modules=fmt_ansible_modules(rows), note=note, restore_chart=restore_chart, fleet_chart=fleet_chart,
        fleet_table=fmt_fleet(fleet) or "Not measured.",
        fleet_findings=fleet_findings(fleet, facts), fleet_sizes=", ".join(str(f["k"]) for f in fleet_rows(fleet)) or "-",
        fleet_runs="one run" if opts.fleet_repeat == 1 else "the best of %d runs" % opts.fleet_repeat,
        fleet_variants=" and again with pipelining on (`ANSIBLE_PIPELINING=True`), for comparison"
        if fleet_rows(fleet, "pipelining") else "", command=meta.get("command", "make bench"))


TEMPLATE = """# Performance

*Written by `bench/run.py` (`make bench`) on {date} from the figures of that run, which took
{elapsed:.0f} s. Do not edit by hand.*

A key restore keeps applications offline from the first blocked pool volume to the last recovered
one, so the wall time of the procedure is downtime. This page compares the role
`vsp.encryption.encryption_key_restore` (through the playbook `vsp.encryption.restore_encryption_keys`)
with the lower bound that the array itself sets, and with the same procedure written with
`ansible.builtin.uri` tasks, one volume after the other (`bench/baseline.yml`). Then it runs the
backup playbook `vsp.encryption.backup_encryption_keys` over fleets of simulated arrays.

## Set-up (recorded when measuring)

- Machine: {facts[cores]} cores ({facts[cpu_model]}), {facts[memory_gib]} GiB memory, {facts[kernel]};
  shared with other work. 1-minute load average at the start {load_start:.2f}, at the end {load_end:.2f};
  before → after each part: {loads}.
- Speed of this machine, to compare with a run on another one (best of 3, each in a new Python process,
  at the start): {speed}.
- {facts[ansible]}, Python {facts[python]}, vsp-simulator {facts[simulator]}, collection
  {facts[collection]} at commit {facts[commit]}.
- Simulator: `--latency-ms {latency} --job-ms {job_ms} --job-parallelism {k}`, HTTPS with certificate
  verification (as on an array). Restore: N pool volumes in one pool, spread evenly over {groups}
  encrypted parity groups (`bench/scenario.py`); the keys of every one of those groups are lost before
  each restore. Measured at N = {sizes}.
- The role with {role_settings}.

## Targets

{verdicts}

## Key restore
{note}
{table}

{restore_chart}
- **wall**: `ansible-playbook vsp.encryption.restore_encryption_keys` end to end (preflight → block →
  restore → recover → verify), measured around the process; the best of {repeat} runs, each run right
  after a start-up run (the machine is shared: the best run is the one least slowed by other work).
- **bound**: what the simulator's model allows at best: each phase's N jobs, {k} at a time, take
  ⌈N/{k}⌉ × {job_ms} ms; plus the restore job: (2·⌈N/{k}⌉ + 1) × {job_ms} ms. Request latency is not
  counted, so the bound is a little optimistic.
- **start-up**: Ansible's fixed cost of the procedure, measured as the wall time of the same playbook
  when there is nothing to do (no key lost, every volume normal): the same play, the same preflight
  and verification, no job; the best of {repeat} runs. The module runs it skips (block, restore,
  recover) are counted in the overhead, not in the start-up (see Findings), which makes the target
  stricter.
- **overhead** = wall − start-up − bound: the time neither the array's jobs nor Ansible's fixed
  start-up explains.
- **batches / phase**: `pool_volume_state` runs per phase (⌈N / batch size⌉); each prints a progress line.
- **req/vol/phase**: requests of the block runs / of the recover runs of `pool_volume_state` (log in and
  log out included), per volume, from the simulator's request log (`GET /simulator/v1/requests`), the log
  split into module runs at each session's log in and log out; block = the runs before the key
  restore's run, recover = after. For the baseline: the LDEV listing, change-status and job polls
  before the restore / change-status and job polls after it.
- **sessions**: sessions opened (`POST /v1/objects/sessions`) for the module runs of the role run that
  talked to the array; each run's log in is followed by its log out before the next log in.
- **peak RSS**: the largest maximum resident set size of every module process of the procedure, both run
  alone as a Python process on the N volumes (`python -m ansible_collections.vsp.encryption.plugins.modules.<module>
  args.json`, `ru_maxrss` read with `os.wait4`) and as Ansible ran them in the best role run and start-up
  run (the inventory's `ansible_python_interpreter` is `bench/python-timed`, which runs each module
  process under `/usr/bin/time`): see "The modules alone" and "The modules under Ansible".
- **speed-up** = baseline wall / role wall.

## Progress during the long phases

{progress}

## Where the time goes

Task times of the best role run (callback `bench/callback_plugins/bench_timer.py`); "everything else"
is the rest of the wall time: Ansible's own start, the preflight, the verification, the summary.

{tasks}

## The modules alone (no Ansible)

Every module of the procedure run as a plain Python process on the N volumes: `pool_volume_state` per
phase (the recover run after an `encryption_key_restore` run), against that phase's share of the bound
(⌈N/{k}⌉ × {job_ms} ms), at the largest N also with `concurrency` = 2 × {k}; the read-only modules of the
preflight and the verification, and the restore. The wall time includes the Python process start.

{modules}

## The modules under Ansible

The module processes of the best role run (R) and of the best start-up run (S), as `bench/python-timed`
logged them: runs, CPU seconds (user + system), peak RSS.

{ansible_modules}

## Requests by kind

{kinds}

## Findings

{findings}

## Fleet: the backup playbook over K arrays

`ansible-playbook --forks K vsp.encryption.backup_encryption_keys` over K simulated arrays, one
`vsp-simulator` process each (same timing flags), each with its own serial number and storage id, one
inventory host per array (its `vsp_connection` and `vsp_expected_storage_device_id`), all writing into
one backup directory (created before the run, as on every night but the first). Measured at
K = {fleet_sizes}, {fleet_runs} each, with Ansible's defaults{fleet_variants}.

- **CPU s**: user + system seconds. Main process: ansible-playbook's own (`RUSAGE_SELF`, taken by the
  callback at the end of the play); modules: the module processes the forks started, each logged by
  `bench/python-timed` (the inventory's `ansible_python_interpreter`, which runs the module under
  `/usr/bin/time`); forks: the rest of ansible-playbook's process tree (`RUSAGE_CHILDREN` of
  `bench/run.py` around the run, minus the main process and the modules); simulators: from
  `/proc/<pid>/stat` before and after the run. **cores busy**: this run's CPU seconds / wall, and every
  process of the machine's (`/proc/stat`) / wall.
- **files verified**: each array has exactly one new key file in the directory whose manifest names that
  array (storage id and serial), whose sha256 and size match the manifest, with mode 0600, and which the
  simulator's own reader opens with the password and finds that array's keys in it.

{fleet_table}

{fleet_chart}
{fleet_findings}

## How the baseline is written

- It logs in once and out once, lists the LDEVs of each parity group, and changes each volume's status
  with one `uri` task and waits for its job with `until`/`retries`/`delay: 1` (the shortest
  whole-second delay), one volume after the other.
- It sends the restore with `curl` from a `command` task: `ansible.builtin.uri` with `body_format:
  form-multipart` cannot send the binary key file unchanged (file parts are base64-encoded with a
  `Content-Transfer-Encoding` header that multipart/form-data does not use, and `multipart_encoding:
  7or8bit` rewrites the line endings inside the binary).

## Reproduce

    make bench                       # N = 16 64 256 1024, the baseline at 16 and 64, the fleet at K = 1 8 32
    make bench BENCH_FULL=1          # the baseline at every N too
    make bench BENCH_SIZES="16 64" BENCH_FLEET="1 4" BENCH_JOB_MS=500 BENCH_PARALLELISM=4

Variables: `BENCH_SIZES`, `BENCH_LATENCY_MS`, `BENCH_JOB_MS`, `BENCH_PARALLELISM`, `BENCH_REPEAT`,
`BENCH_BASELINE_SIZES`, `BENCH_FLEET`, `BENCH_FLEET_REPEAT`, `BENCH_FULL`, `BENCH_OUT`. Work files (logs
of every run, `results.json` with the machine facts above) are kept under `$(BUILD)/bench/`;
`bench/run.py --render $(BUILD)/bench/results.json` writes this page and its charts again from them,
without measuring. This page was made by: `{command}`.
"""


def parse_sizes(text):
    return [int(x) for x in re.split(r"[,\s]+", (text or "").strip()) if x]


def write_page(rows, fleet, opts, meta):
    verdicts = targets(rows, fleet)
    pictures = charts(rows, fleet, opts.out) if opts.out else {}
    if opts.out:
        with open(opts.out, "w") as handle:
            handle.write(report(rows, fleet, verdicts, opts, meta, pictures=pictures))
    return verdicts


def print_summary(rows, fleet, verdicts):
    print()
    print(fmt_table(rows))
    if fleet:
        print()
        print(fmt_fleet(fleet))
    print()
    mark = {True: "PASS", False: "FAIL", None: "n/a "}
    for name, ok, detail in verdicts:
        print("%s  %s — %s" % (mark[ok], name, detail))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=".build")
    parser.add_argument("--sizes", default="16 64 256 1024")
    parser.add_argument("--latency-ms", type=int, default=5)
    parser.add_argument("--job-ms", type=int, default=200)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--baseline-sizes", default=None,
                        help="N to run the baseline at (default: every N below 256; every N with --full)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of the start-up and of the role per N (the best counts)")
    parser.add_argument("--fleet", default="1 8 32", help="K arrays for the fleet benchmark (empty: none)")
    parser.add_argument("--fleet-pipelining", action="store_true",
                        help="also run each K with Ansible's pipelining on (ANSIBLE_PIPELINING=True), for comparison")
    parser.add_argument("--fleet-repeat", type=int, default=1, help="runs per K (the best counts)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="encryption_key_restore_batch_size of the role runs (default: the role's default)")
    parser.add_argument("--full", action="store_true", default=os.environ.get("BENCH_FULL") == "1")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "performance.md"))
    parser.add_argument("--render", metavar="RESULTS_JSON", help="only write --out (and the charts) again from a run's results.json")
    opts = parser.parse_args()
    sizes = opts.sizes = parse_sizes(opts.sizes)
    fleet_ks = opts.fleet = parse_sizes(opts.fleet)
    if opts.render:
        # the page again from a run's results.json (after a change of the text), without measuring: every
        # figure and machine fact is the saved one
        with open(opts.render) as handle:
            saved = json.load(handle)
        for key, value in saved["meta"]["opts"].items():
            if key not in ("out", "render", "build"):
                setattr(opts, key, value)
        verdicts = write_page(saved["rows"], saved["fleet"], opts, saved["meta"])
        print_summary(saved["rows"], saved["fleet"], verdicts)
        return 0 if all(ok is not False for _, ok, _ in verdicts) else 1

    if opts.baseline_sizes is not None:
        baseline_sizes = set(parse_sizes(opts.baseline_sizes))
    else:
        baseline_sizes = set(sizes) if opts.full else {n for n in sizes if n < TARGET_SPEEDUP_N}
    if not os.path.isdir(os.path.join(opts.build, "ansible_collections", "vsp", "encryption")):
        raise SystemExit("bench: no collection under %s; run it through `make bench`" % opts.build)
    work_root = os.path.join(os.path.abspath(opts.build), "bench")
    os.makedirs(work_root, exist_ok=True)
    tempfile.tempdir = work_root
    defaults = role_defaults(opts.build)
    if opts.batch_size:
        defaults.update(role_batch_size=defaults["batch_size"], batch_size=opts.batch_size,
                        batch_size_default=opts.batch_size == defaults["batch_size"])
    meta = {"started": time.time(), "machine": machine_facts(opts.build), "defaults": defaults,
            "command": " ".join(["bench/run.py"] + sys.argv[1:]), "load_start": load1()}
    log("machine: %d cores, load %.2f; role defaults: %s" % (meta["machine"]["cores"], meta["load_start"], defaults))
    rows = []
    for n in sizes:
        log("N=%d: start-up, role, modules%s (load %.2f)" % (n, ", baseline" if n in baseline_sizes else "", load1()))
        row = bench_one(n, opts, work_root, n in baseline_sizes, defaults)
        log("N=%d: role %.1f s (bound %.1f s, start-up %.2f s)%s" % (
            n, row["wall"], row["bound"], row["startup"],
            ", baseline %.1f s" % row["baseline"]["wall"] if row.get("baseline") else ""))
        rows.append(row)
    extrapolate_baselines(rows)
    fleet = bench_fleet(fleet_ks, opts, work_root) if fleet_ks else []
    for f in fleet:
        f["cores"] = meta["machine"]["cores"]
    meta.update(elapsed=time.time() - meta["started"], load_end=load1(), opts=vars(opts))
    verdicts = write_page(rows, fleet, opts, meta)
    with open(os.path.join(work_root, "results.json"), "w") as handle:
        json.dump({"rows": rows, "fleet": fleet, "targets": [[name, ok, detail] for name, ok, detail in verdicts],
                   "meta": meta}, handle, indent=1)
    print_summary(rows, fleet, verdicts)
    print("\nbench: %.0f s; load %.2f → %.2f; written %s" % (meta["elapsed"], meta["load_start"], meta["load_end"],
                                                             opts.out or "(no file)"))
    return 0 if all(ok is not False for _, ok, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
