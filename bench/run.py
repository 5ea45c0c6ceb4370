#!/usr/bin/env python3
"""Performance benchmark of the key restore (issue #7): the role against the array's bound and a baseline.

    python bench/run.py [--build .build] [--sizes "16 64 256"] [--latency-ms 5] [--job-ms 200]
                        [--parallelism 8] [--baseline-sizes "16 64"] [--full] [--out docs/performance.md]

Run it through ``make bench`` (which first copies the collection to ``$(BUILD)``). For each N it starts
the simulator on a scenario with N pool volumes over several encrypted parity groups, then:

1. backs the keys up to a file (module ``encryption_key_backup`` run directly);
2. *start-up*: runs the restore playbook (``vsp.encryption.restore_encryption_keys``, i.e. the role
   ``encryption_key_restore``) with nothing to do: no key lost, every volume normal. Same play, same
   preflight and verification, no job. This is Ansible's fixed cost of the procedure;
3. *role*: loses the keys of every parity group and runs the same playbook: block → restore → recover;
4. *modules*: loses the keys again and runs ``pool_volume_state`` blocked, ``encryption_key_restore``
   and ``pool_volume_state`` normal as plain Python processes (no Ansible), for the exact requests of
   each phase, the module's own wall time and its peak RSS;
5. *baseline*: resets the array, backs up, loses the keys and runs ``bench/baseline.yml`` (uri tasks,
   one volume after the other).

Every run is checked against the simulator's state (all volumes normal, no key lost, no session left).
The table goes to stdout and to ``--out``; PASS/FAIL per target; exit status 1 when a target fails.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import requests
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import scenario as scenarios  # noqa: E402

USER, PASSWORD = "admin", "vsp-admin"
BACKUP_PASSWORD = "Bench-Backup-2026!"  # noqa: S105 - a throw-away password for the simulator
PLAYBOOK = "vsp.encryption.restore_encryption_keys"
MODULE_PKG = "ansible_collections.vsp.encryption.plugins.modules."
STORAGE_PREFIX = re.compile(r"^/ConfigurationManager(/v1/objects/storages/[^/]+(?=/)|/v1/[0-9]+(?=/services/))?")

TARGET_RATIO = 1.5
TARGET_SPEEDUP = 10.0
TARGET_REQUESTS = 3.0
TARGET_N = 256


def log(msg):
    print("bench: %s" % msg, flush=True)


# -- the simulator ------------------------------------------------------------------------------------
class Simulator:
    """``vsp-simulator`` as a child process on a free loopback port, HTTPS with its own CA."""

    def __init__(self, workdir, scenario_file, latency_ms, job_ms, parallelism):
        self.workdir = workdir
        port_file = os.path.join(workdir, "port")
        exe = os.path.join(os.path.dirname(sys.executable), "vsp-simulator")
        cmd = [exe if os.path.exists(exe) else "vsp-simulator", "--port", "0", "--port-file", port_file,
               "--cert-dir", workdir, "--scenario", scenario_file, "--latency-ms", str(latency_ms),
               "--job-ms", str(job_ms), "--job-parallelism", str(parallelism)]
        self.log = open(os.path.join(workdir, "simulator.log"), "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                with open(os.path.join(workdir, "simulator.log"), errors="replace") as handle:
                    sys.stderr.write(handle.read()[-3000:])
                raise SystemExit("bench: the simulator did not start")
            time.sleep(0.05)
        with open(port_file) as handle:
            self.port = int(handle.read().strip())
        self.ca = os.path.join(workdir, "ca.pem")
        self.http = requests.Session()
        self.http.verify = self.ca
        self.url = "https://127.0.0.1:%d/simulator/v1/" % self.port

    def ctl(self, method, path, body=None):
        response = self.http.request(method, self.url + path, json=body, timeout=60, verify=self.ca)
        response.raise_for_status()
        return response.json() if response.content else None

    def requests_log(self):
        return self.ctl("GET", "requests")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


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
    """Requests of the block and of the recover phase of a role run: its pool_volume_state runs."""
    segments, alternating = session_segments(entries)
    phases = [seg for seg in segments if any(request_kind(e) == "change-status" for e in seg)]
    return phases, len(segments), alternating


def baseline_phases(entries):
    """The baseline has one session: block = before the restore, recover = after its job."""
    kinds = [request_kind(e) for e in entries]
    restore = kinds.index("key restore")
    first_recover = next(i for i in range(restore, len(kinds)) if kinds[i] == "change-status")
    block = [e for e, k in zip(entries[:restore], kinds[:restore]) if k in ("GET ldevs", "change-status", "job poll")]
    recover = [e for e, k in zip(entries[first_recover:], kinds[first_recover:]) if k in ("change-status", "job poll")]
    return [block, recover]


# -- running things -----------------------------------------------------------------------------------
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
        )
        with open(os.path.join(workdir, "ansible.cfg"), "w") as handle:
            handle.write("[defaults]\n")  # Ansible's defaults, nothing from the caller's ansible.cfg

    def playbook(self, name, inventory, extra_vars, logname):
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
               "-e", json.dumps(extra_vars), name]
        out = os.path.join(self.workdir, logname)
        env = dict(self.env, BENCH_TIMER_FILE=out + ".tasks.jsonl")
        if os.path.exists(env["BENCH_TIMER_FILE"]):
            os.unlink(env["BENCH_TIMER_FILE"])
        start = time.monotonic()
        with open(out, "wb") as handle:
            rc = subprocess.call(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=self.workdir)
        wall = time.monotonic() - start
        if rc != 0:
            with open(out, errors="replace") as handle:
                sys.stderr.write(handle.read()[-6000:])
            raise SystemExit("bench: %s failed (rc %d), log: %s" % (name, rc, out))
        return wall

    def module(self, name, args, logname):
        """Run a module as a plain Python process; return (result, wall seconds, peak RSS in KiB)."""
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
        return result, wall, usage.ru_maxrss


def write_inventory(path, sim, parity_groups, key_file):
    python = sys.executable
    inventory = {"vsp_arrays": {"hosts": {"bench_array": {
        "ansible_connection": "local",
        "ansible_python_interpreter": python,
        # the role (through the playbook's module_defaults)
        "vsp_connection": {"host": "127.0.0.1", "port": sim.port, "protocol": "https", "username": USER,
                           "password": PASSWORD, "validate_certs": True, "ca_path": sim.ca},
        "encryption_key_restore_parity_groups": parity_groups,
        "encryption_key_restore_path": key_file,
        "encryption_key_restore_backup_password": BACKUP_PASSWORD,
        # the baseline
        "vsp_host": "127.0.0.1", "vsp_port": sim.port, "vsp_protocol": "https", "vsp_username": USER,
        "vsp_password": PASSWORD, "vsp_ca_path": sim.ca, "vsp_parity_groups": parity_groups,
        "vsp_key_file": key_file, "vsp_backup_password": BACKUP_PASSWORD,
    }}}}
    with open(path, "w") as handle:
        yaml.safe_dump(inventory, handle)
    os.chmod(path, 0o600)


def connection_args(sim):
    return {"host": "127.0.0.1", "port": sim.port, "protocol": "https", "username": USER, "password": PASSWORD,
            "validate_certs": True, "ca_path": sim.ca}


TASK_PHASES = (("block", ": Block every pool volume"), ("restore", ": Restore the keys"),
               ("recover", ": Recover every pool volume"))


def task_times(path):
    """Seconds of the block, restore and recover tasks of a role run (from the bench_timer callback)."""
    times = {}
    with open(path) as handle:
        for line in handle:
            task = json.loads(line)
            for phase, marker in TASK_PHASES:
                if task["task"].split(" : ", 1)[-1].startswith(marker[2:]):
                    times[phase] = times.get(phase, 0.0) + task["seconds"]
    return times


def baseline_task_times(path):
    """[count, total seconds] of the baseline's per-volume tasks (change the status, wait for the job)."""
    count, total = 0, 0.0
    with open(path) as handle:
        for line in handle:
            task = json.loads(line)
            if task["task"].endswith(("Change the status of the LDEV", "Wait for the job of the LDEV")):
                count += 1
                total += task["seconds"]
    return [count, total]


def bound_seconds(n, job_ms, parallelism):
    """The simulator's model: each phase's N jobs at K at once, then one restore job."""
    return (2 * math.ceil(n / parallelism) + 1) * job_ms / 1000.0


def bench_one(n, opts, runner_root, with_baseline):
    workdir = os.path.join(runner_root, "N%d" % n)
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(os.path.join(workdir, "keys"), mode=0o700)
    scenario_file = scenarios.write(n, os.path.join(workdir, "scenario.yml"))
    groups = scenarios.parity_group_ids(n)
    runner = Runner(opts.build, workdir)
    sim = Simulator(workdir, scenario_file, opts.latency_ms, opts.job_ms, opts.parallelism)
    row = {"n": n, "groups": len(groups), "bound": bound_seconds(n, opts.job_ms, opts.parallelism),
           "load_before": os.getloadavg()[0]}
    try:
        key_file = os.path.join(workdir, "keys", "bench.ekf")

        def backup():
            runner.module("encryption_key_backup", dict(connection_args(sim), destination="file", path=key_file,
                                                        backup_password=BACKUP_PASSWORD, force=True), "backup")

        backup()
        inventory = os.path.join(workdir, "inventory.yml")
        write_inventory(inventory, sim, groups, key_file)
        confirm = {"encryption_key_restore_confirm": True}

        # 2. and 3., interleaved and repeated (the machine is shared): the best of each is kept
        startups, walls = [], []
        for attempt in range(opts.repeat):
            # 2. fixed start-up: the same playbook with nothing to do
            sim.ctl("DELETE", "requests")
            startups.append(runner.playbook(PLAYBOOK, inventory, confirm, "startup-%d.log" % attempt))
            idle_log = sim.requests_log()
            if any(request_kind(e) in ("change-status", "key restore") for e in idle_log):
                raise SystemExit("bench: the idle run sent a change-status or a restore")
            check_state(sim, n, "the idle role run")

            # 3. the role: block -> restore -> recover
            sim.ctl("POST", "lose-keys", {"parity_groups": groups})
            sim.ctl("DELETE", "requests")
            walls.append(runner.playbook(PLAYBOOK, inventory, confirm, "role-%d.log" % attempt))
            entries = sim.requests_log()
            check_state(sim, n, "the role run")
        row.update(startup=min(startups), startup_runs=startups, wall=min(walls), wall_runs=walls,
                   startup_requests=len(idle_log),
                   tasks=task_times(os.path.join(workdir, "role-%d.log.tasks.jsonl" % walls.index(min(walls)))))
        phases, module_runs, alternating = role_phases(entries)
        if len(phases) != 2:
            raise SystemExit("bench: expected 2 pool_volume_state runs with change-status, found %d" % len(phases))
        row.update(requests=len(entries), kinds=count_kinds(entries), module_runs=module_runs,
                   sessions=sum(1 for e in entries if request_kind(e) == "log in"), one_session=alternating,
                   per_phase=[len(p) / float(n) for p in phases])

        # 4. the modules alone: exact requests per phase, module wall time, peak RSS; for the largest N
        #    also with twice the array's parallelism as concurrency (what more requests in flight give)
        row["module"] = {}
        concurrencies = [opts.parallelism]
        if n == max(opts.sizes) and 2 * opts.parallelism <= 64:
            concurrencies.append(2 * opts.parallelism)
        for concurrency in concurrencies:
            sim.ctl("POST", "lose-keys", {"parity_groups": groups})
            for phase, state in (("block", "blocked"), ("recover", "normal")):
                if phase == "recover":
                    runner.module("encryption_key_restore", dict(connection_args(sim), path=key_file,
                                                                 backup_password=BACKUP_PASSWORD, parity_groups=groups),
                                  "restore")
                sim.ctl("DELETE", "requests")
                result, wall, rss = runner.module("pool_volume_state", dict(connection_args(sim), parity_groups=groups,
                                                                            state=state, concurrency=concurrency),
                                                  "pvs-%s-%d" % (state, concurrency))
                log_entries = sim.requests_log()
                if len(result.get("changed_ldev_ids") or []) != n:
                    raise SystemExit("bench: pool_volume_state %s changed %d of %d volumes"
                                     % (state, len(result.get("changed_ldev_ids") or []), n))
                row["module"]["%s|%d" % (phase, concurrency)] = {
                    "phase": phase, "concurrency": concurrency, "wall": wall, "rss_kib": rss,
                    "requests": len(log_entries), "sessions": sum(1 for e in log_entries if request_kind(e) == "log in"),
                    "kinds": count_kinds(log_entries)}
            check_state(sim, n, "the module runs")
        row["rss_mib"] = max(m["rss_kib"] for m in row["module"].values() if m["concurrency"] == opts.parallelism) / 1024.0

        # 5. the baseline
        if with_baseline:
            sim.ctl("POST", "reset")
            backup()
            sim.ctl("POST", "lose-keys", {"parity_groups": groups})
            sim.ctl("DELETE", "requests")
            wall = runner.playbook(os.path.join(HERE, "baseline.yml"), inventory, {}, "baseline.log")
            entries = sim.requests_log()
            check_state(sim, n, "the baseline run")
            row["baseline"] = {"wall": wall, "requests": len(entries), "kinds": count_kinds(entries),
                               "sessions": sum(1 for e in entries if request_kind(e) == "log in"),
                               "per_phase": [len(p) / float(n) for p in baseline_phases(entries)],
                               "volume_tasks": baseline_task_times(os.path.join(workdir, "baseline.log.tasks.jsonl"))}
    finally:
        sim.stop()
    row["load_after"] = os.getloadavg()[0]
    return row


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


def targets(rows):
    """[(name, verdict, detail)] for the targets, checked at N=256 (requests and sessions at every N)."""
    out = []
    for row in rows:
        if row["n"] != TARGET_N:
            continue
        limit = TARGET_RATIO * row["bound"] + row["startup"]
        out.append(("N=%d: role wall <= 1.5 x bound + start-up" % row["n"], row["wall"] <= limit,
                    "%.1f s <= 1.5 x %.1f s + %.1f s = %.1f s" % (row["wall"], row["bound"], row["startup"], limit)))
        if row.get("baseline"):
            speedup = row["baseline"]["wall"] / row["wall"]
            mark = " (baseline extrapolated from %s)" % row["baseline"]["from"] if row["baseline"].get("extrapolated") else ""
            out.append(("N=%d: at least %g x faster than the baseline" % (row["n"], TARGET_SPEEDUP), speedup >= TARGET_SPEEDUP,
                        "%.1f x%s" % (speedup, mark)))
    worst = max(rows, key=lambda r: max(r["per_phase"]))
    out.append(("requests per volume per phase <= %g (every N)" % TARGET_REQUESTS,
                all(max(r["per_phase"]) <= TARGET_REQUESTS for r in rows),
                "worst %.2f at N=%d" % (max(worst["per_phase"]), worst["n"])))
    out.append(("one session per module run (every N)",
                all(r["one_session"] and r["sessions"] == r["module_runs"] for r in rows)
                and all(m["sessions"] == 1 for r in rows for m in r["module"].values()),
                "; ".join("N=%d: %d sessions for %d module runs" % (r["n"], r["sessions"], r["module_runs"]) for r in rows)))
    return out


def fmt_table(rows):
    head = ["N", "wall s", "bound s", "wall/bound", "start-up s", "overhead s", "(wall-start-up)/bound",
            "req/vol/phase", "sessions", "peak RSS MiB", "baseline s", "baseline req/vol/phase", "speed-up"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        b = r.get("baseline")
        bwall = "-" if not b else ("~%.0f (extrapolated)" % b["wall"] if b.get("extrapolated") else "%.1f" % b["wall"])
        bphase = "-" if not b else " / ".join("%.2f" % x for x in b["per_phase"])
        speed = "-" if not b else ("~%.0f x (extrapolated)" % (b["wall"] / r["wall"]) if b.get("extrapolated")
                                   else "%.1f x" % (b["wall"] / r["wall"]))
        lines.append("| " + " | ".join([
            str(r["n"]), "%.1f" % r["wall"], "%.1f" % r["bound"], "%.2f" % (r["wall"] / r["bound"]),
            "%.1f" % r["startup"], "%.1f" % (r["wall"] - r["startup"] - r["bound"]),
            "%.2f" % ((r["wall"] - r["startup"]) / r["bound"]),
            " / ".join("%.2f" % x for x in r["per_phase"]), "%d / %d runs" % (r["sessions"], r["module_runs"]),
            "%.0f" % r["rss_mib"], bwall, bphase, speed]) + " |")
    return "\n".join(lines)


def fmt_modules(rows, opts):
    head = ["N", "phase", "concurrency", "module wall s", "phase bound s", "ratio", "requests", "req/vol", "sessions",
            "peak RSS MiB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        phase_bound = math.ceil(r["n"] / opts.parallelism) * opts.job_ms / 1000.0
        for m in r["module"].values():
            lines.append("| %d | %s | %d | %.2f | %.1f | %.2f | %d | %.2f | %d | %.0f |" % (
                r["n"], m["phase"], m["concurrency"], m["wall"], phase_bound, m["wall"] / phase_bound, m["requests"], m["requests"] / float(r["n"]),
                m["sessions"], m["rss_kib"] / 1024.0))
    return "\n".join(lines)


def fmt_tasks(rows, opts):
    head = ["N", "block task s", "restore task s", "recover task s", "everything else s", "start-up s",
            "block + recover − 2 × phase bound s", "runs: start-up s", "runs: role s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        t = r["tasks"]
        phase_bound = math.ceil(r["n"] / opts.parallelism) * opts.job_ms / 1000.0
        rest = r["wall"] - sum(t.values())
        lines.append("| %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %s | %s |" % (
            r["n"], t.get("block", 0), t.get("restore", 0), t.get("recover", 0), rest, r["startup"],
            t.get("block", 0) + t.get("recover", 0) - 2 * phase_bound,
            ", ".join("%.1f" % x for x in r["startup_runs"]), ", ".join("%.1f" % x for x in r["wall_runs"])))
    return "\n".join(lines)


def findings(rows, opts):
    """What the largest N says, in words (numbers from this run)."""
    r = max(rows, key=lambda x: x["n"])
    t = r["tasks"]
    k = opts.parallelism
    phase_bound = math.ceil(r["n"] / k) * opts.job_ms / 1000.0
    mods = r["module"]
    polls = r["kinds"].get("job poll", 0)
    out = [
        "- At N=%d the role took %.1f s against a bound of %.1f s: %.1f s of start-up (the preflight reads the keys, "
        "the pool volumes and checks the key file; the verification reads them again), then the block and recover "
        "tasks (%.1f s and %.1f s against %.1f s of jobs each) and the restore task (%.1f s for one %d ms job)."
        % (r["n"], r["wall"], r["bound"], r["startup"], t.get("block", 0), t.get("recover", 0), phase_bound,
           t.get("restore", 0), opts.job_ms),
        "- What the block and recover tasks take above their jobs is, for each, one module process start (about "
        "the restore task's time minus its job) and, on each of the %d job slots, the round trip between the end "
        "of a job and the start of the next one (answer, next request, TLS handshake: the simulator closes every "
        "connection), ⌈N/%d⌉ = %d times per phase." % (k, k, math.ceil(r["n"] / k)),
        "- The requests are what the design promises: one `change-status` per volume and phase, answered when its "
        "job is done (`Response-Job-Status: Completed`), so %d job polls in the whole role run; the volumes are "
        "found with one `GET parity-groups/{id}` and one `GET ldevs?parityGroupId=` per parity group; one session "
        "per module run." % polls,
    ]
    expected = r["n"] + 2 * r["groups"] + 2  # change-status per volume, 2 lookups per parity group, log in/out
    if polls == 0 and r["one_session"] and all(round(p * r["n"]) == expected for p in r["per_phase"]):
        out.append("- So nothing in `plugins/module_utils` (polling cadence, concurrency, per-request work) stands "
                   "between the role and the bound at this size: the rest is Ansible's per-task process start.")
    else:
        out.append("- **Look at `plugins/module_utils`**: job polls, extra requests or extra sessions appeared above.")
    measured = [x for x in rows if x.get("baseline") and not x["baseline"].get("extrapolated") and x["baseline"].get("volume_tasks")]
    if measured:
        b = max(measured, key=lambda x: x["n"])
        count, total = b["baseline"]["volume_tasks"]
        jobs = 2 * b["n"] + 1
        out.append(
            "- The baseline at N=%d ran %d per-volume `uri` tasks (change the status, wait for the job; per volume "
            "and phase), %.2f s each on average: %.0f s of its %.0f s. That is the cost of one Ansible task, a module "
            "process, per request, one after the other. Its polling hardly mattered: %d polls for %d jobs (a module "
            "start takes longer than a %d ms job)."
            % (b["n"], count, total / max(count, 1), total, b["baseline"]["wall"], b["baseline"]["kinds"].get("job poll", 0),
               jobs, opts.job_ms))
    two = [m for m in mods.values() if m["concurrency"] == 2 * k]
    one = [m for m in mods.values() if m["concurrency"] == k]
    if two and one and sum(m["wall"] for m in two) < sum(m["wall"] for m in one) - 0.2 * len(two):
        out.append(
            "- With `concurrency: %d` (twice the array's %d parallel jobs) the module alone took %s s per phase "
            "instead of %s s (bound %.1f s): with more requests in flight than the array runs, the array queues them "
            "and no slot waits for a round trip. On an array that runs %d jobs at once, "
            "`encryption_key_restore_concurrency: %d` is worth trying; the default stays %d (the modules' default)."
            % (2 * k, k, " / ".join("%.2f" % m["wall"] for m in two), " / ".join("%.2f" % m["wall"] for m in one),
               phase_bound, k, 2 * k, k))
    elif two and one:
        out.append("- With `concurrency: %d` (twice the array's %d parallel jobs) the module alone took %s s per phase "
                   "instead of %s s: no clear gain at this size." % (2 * k, k, " / ".join("%.2f" % m["wall"] for m in two),
                                                                     " / ".join("%.2f" % m["wall"] for m in one)))
    return "\n".join(out)


def fmt_kinds(rows):
    lines = []
    for r in rows:
        lines.append("- N=%d, role (%d requests): %s" % (r["n"], r["requests"], ", ".join("%s %d" % kv for kv in r["kinds"].items())))
        b = r.get("baseline")
        if b and not b.get("extrapolated"):
            lines.append("- N=%d, baseline (%d requests): %s" % (r["n"], b["requests"], ", ".join("%s %d" % kv for kv in b["kinds"].items())))
    return "\n".join(lines)


def versions():
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible"), "--version"],
                         capture_output=True, text=True, check=False).stdout.splitlines()
    return out[0] if out else "ansible ?"


def report(rows, verdicts, opts, started, elapsed):
    loads = ", ".join("N=%d: %.2f → %.2f" % (r["n"], r["load_before"], r["load_after"]) for r in rows)
    verdict_lines = "\n".join("- **%s** %s — %s" % ("PASS" if ok else "FAIL", name, detail) for name, ok, detail in verdicts)
    extrapolated = [r["n"] for r in rows if r.get("baseline", {}).get("extrapolated")]
    note = ""
    if extrapolated:
        note = ("\n**The baseline at N=%s is extrapolated** (a straight line through the measured N), not measured: "
                "run `make bench BENCH_FULL=1` to measure it.\n" % ", ".join(str(n) for n in extrapolated))
    return TEMPLATE.format(
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)), elapsed=elapsed, latency=opts.latency_ms,
        job_ms=opts.job_ms, k=opts.parallelism, cores=os.cpu_count(), loads=loads,
        python=platform.python_version(), ansible=versions(), table=fmt_table(rows), verdicts=verdict_lines,
        modules=fmt_modules(rows, opts), tasks=fmt_tasks(rows, opts), findings=findings(rows, opts), repeat=opts.repeat, kinds=fmt_kinds(rows), note=note,
        sizes=" ".join(str(r["n"]) for r in rows))


TEMPLATE = """# Performance of the key restore

*Written by `make bench` (`bench/run.py`) on {date}; the run took {elapsed:.0f} s. Do not edit by hand.*

A key restore keeps applications offline from the first blocked pool volume to the last recovered
one, so the wall time of the procedure is downtime. This page compares the role
`vsp.encryption.encryption_key_restore` (through the playbook `vsp.encryption.restore_encryption_keys`)
with the lower bound that the array itself sets, and with the same procedure written the way it is
done today without this collection (`bench/baseline.yml`: `ansible.builtin.uri` tasks, one volume
after the other).

## Set-up

- Simulator: `--latency-ms {latency} --job-ms {job_ms} --job-parallelism {k}`, HTTPS with certificate
  verification (as on an array), N pool volumes spread evenly over four encrypted parity groups
  (`bench/scenario.py`), the keys of all four groups lost before each restore.
- Machine: {cores} cores, shared with other work; 1-minute load average before → after each N: {loads}.
  The figures are noisy accordingly.
- {ansible}, Python {python}; the role with its defaults (`encryption_key_restore_concurrency: 8`).

## Results
{note}
{table}

- **wall**: `ansible-playbook vsp.encryption.restore_encryption_keys` end to end (preflight → block →
  restore → recover → verify), measured around the process; the best of {repeat} runs, each run right
  after a start-up run (the machine is shared: the best run is the one least slowed by other work).
- **bound**: what the simulator's model allows at best: each phase's N jobs, {k} at a time, take
  ⌈N/{k}⌉ × {job_ms} ms; plus the restore job: (2·⌈N/{k}⌉ + 1) × {job_ms} ms. Request latency is not
  counted, so the bound is a little optimistic.
- **start-up**: Ansible's fixed cost of the procedure, measured honestly as the wall time of the same
  playbook when there is nothing to do (no key lost, every volume normal): the same play, the same
  preflight (key info, pool volume info, backup file check), the same recovery task (a no-op) and
  verification, but no job. The block and restore tasks are skipped in that run, so the start-up does
  not include the start of those two module processes (about a second each on this machine, see the
  restore task below): it is an under-estimate, which makes the target stricter. Also the best of
  {repeat} runs.
- **overhead** = wall − start-up − bound: the time neither the array's jobs nor Ansible's fixed
  start-up explains.
- **req/vol/phase**: requests of the block run / of the recover run of `pool_volume_state` (its log
  in and log out included), per volume, from the simulator's request log (`GET /simulator/v1/requests`),
  the log being split into module runs at each session's log in and log out. For the baseline: the
  LDEV listing, change-status and job polls before the restore / change-status and job polls after it.
- **sessions**: sessions opened (`POST /v1/objects/sessions`) for the module runs that talked to the
  array; each run's log in is followed by its log out before the next log in.
- **peak RSS**: `ru_maxrss` of `pool_volume_state` run alone as a Python process for the N volumes
  (`python -m ansible_collections.vsp.encryption.plugins.modules.pool_volume_state args.json`,
  read with `os.wait4`), the larger of the block and recover runs.
- **speed-up** = baseline wall / role wall.

## Targets (at N = 256)

{verdicts}

## Where the time goes

Task times of the best role run (callback `bench/callback_plugins/bench_timer.py`); "everything else"
is the rest of the wall time: Ansible's own start, the preflight, the verification, the summary.

{tasks}

## The modules alone (no Ansible)

`pool_volume_state` run as a plain Python process on the N volumes, per phase (the recover run after an
`encryption_key_restore` run), against that phase's share of the bound (⌈N/{k}⌉ × {job_ms} ms); the
wall time includes the Python process start. For the largest N also with `concurrency` = 2 × {k}.

{modules}

## Requests by kind

{kinds}

## Findings

{findings}

## Why the role is close to the bound, and the baseline is not

- `pool_volume_state` changes up to `concurrency` (default 8) volumes at once in one process and one
  session, over one keep-alive connection pool; each `change-status` is sent with
  `Response-Job-Status: Completed`, so the array answers when the job is done: one request per volume
  and no polling at all, unless the array's wait runs out (then `GET jobs/{{id}}` with back-off).
- The baseline pays a whole Ansible task (a module process) per request, one volume after the other,
  and its `until`/`delay` polling adds a second whenever the first poll finds the job still running
  (`delay: 1`, the shortest whole-second delay, is the most favourable setting for it).
- The baseline logs in once and out once (fewer sessions than the role, which opens one per module
  run), lists the LDEVs of each parity group, and sends the restore with `curl` from a `command` task:
  `ansible.builtin.uri` with `body_format: form-multipart` cannot send the binary key file unchanged
  (file parts are base64-encoded with a `Content-Transfer-Encoding` header that multipart/form-data
  does not use, and `multipart_encoding: 7or8bit` rewrites the line endings inside the binary).

## Reproduce

    make bench                       # N = 16 64 256, the baseline at 16 and 64 (about 5 minutes here)
    make bench BENCH_FULL=1          # the baseline at 256 too (about 13 minutes here)
    make bench BENCH_SIZES="16 64" BENCH_JOB_MS=500 BENCH_PARALLELISM=4 BENCH_LATENCY_MS=10

Variables: `BENCH_SIZES`, `BENCH_LATENCY_MS`, `BENCH_JOB_MS`, `BENCH_PARALLELISM`, `BENCH_REPEAT`,
`BENCH_BASELINE_SIZES`, `BENCH_FULL`, `BENCH_OUT`. Work files (logs of every run, `results.json`) are
kept under `$(BUILD)/bench/`; `bench/run.py --render $(BUILD)/bench/results.json` writes this page
again from them without measuring. This page was measured with N = {sizes}.
"""


def parse_sizes(text):
    return [int(x) for x in re.split(r"[,\s]+", text.strip()) if x]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=".build")
    parser.add_argument("--sizes", default="16 64 256")
    parser.add_argument("--latency-ms", type=int, default=5)
    parser.add_argument("--job-ms", type=int, default=200)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--baseline-sizes", default=None,
                        help="N to run the baseline at (default: every N below 256; every N with --full)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of the start-up and of the role per N (the best counts)")
    parser.add_argument("--full", action="store_true", default=os.environ.get("BENCH_FULL") == "1")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "performance.md"))
    parser.add_argument("--render", metavar="RESULTS_JSON", help="only write --out again from a run's results.json")
    opts = parser.parse_args()
    sizes = opts.sizes = parse_sizes(opts.sizes)
    if opts.baseline_sizes is not None:
        baseline_sizes = set(parse_sizes(opts.baseline_sizes))
    else:
        baseline_sizes = set(sizes) if opts.full else {n for n in sizes if n < TARGET_N}
    if not os.path.isdir(os.path.join(opts.build, "ansible_collections", "vsp", "encryption")):
        raise SystemExit("bench: no collection under %s; run it through `make bench`" % opts.build)
    work_root = os.path.join(os.path.abspath(opts.build), "bench")
    os.makedirs(work_root, exist_ok=True)
    tempfile.tempdir = work_root

    if opts.render:
        # write the page again from a run's results.json (after a change of the text), without measuring
        with open(opts.render) as handle:
            saved = json.load(handle)
        for key, value in saved["meta"]["opts"].items():
            if key not in ("out", "render"):
                setattr(opts, key, value)
        rows = saved["rows"]
        verdicts = targets(rows)
        text = report(rows, verdicts, opts, saved["meta"]["started"], saved["meta"]["elapsed"])
        with open(opts.out, "w") as handle:
            handle.write(text)
        print(fmt_table(rows))
        return 0 if all(ok for _, ok, _ in verdicts) else 1

    started = time.time()
    rows = []
    for n in sizes:
        log("N=%d: start-up, role, modules%s (load %.2f)" % (n, ", baseline" if n in baseline_sizes else "", os.getloadavg()[0]))
        row = bench_one(n, opts, work_root, n in baseline_sizes)
        log("N=%d: role %.1f s (bound %.1f s, start-up %.1f s)%s" % (
            n, row["wall"], row["bound"], row["startup"],
            ", baseline %.1f s" % row["baseline"]["wall"] if row.get("baseline") else ""))
        rows.append(row)
    extrapolate_baselines(rows)
    verdicts = targets(rows)
    text = report(rows, verdicts, opts, started, time.time() - started)
    if opts.out:
        with open(opts.out, "w") as handle:
            handle.write(text)
    with open(os.path.join(work_root, "results.json"), "w") as handle:
        json.dump({"rows": rows, "targets": [[name, ok, detail] for name, ok, detail in verdicts],
                   "meta": {"started": started, "elapsed": time.time() - started, "opts": vars(opts)}}, handle, indent=1)
    print()
    print(fmt_table(rows))
    print()
    for name, ok, detail in verdicts:
        print("%s  %s — %s" % ("PASS" if ok else "FAIL", name, detail))
    print("\nbench: %.0f s; written %s" % (time.time() - started, opts.out or "(no file)"))
    return 0 if all(ok for _, ok, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
