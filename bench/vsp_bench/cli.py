"""Performance benchmark (issues #7, #16): the key restore role against the array's bound and a baseline,
and the backup playbook over a fleet of arrays; with ``--eda``, the event source instead (issue #29).

    PYTHONPATH=bench python -m vsp_bench [--build .build] [--sizes "16 64 256 1024"] [--latency-ms 5]
                        [--job-ms 200] [--parallelism 8] [--baseline-sizes "16 64"] [--fleet "1 8 32"] [--full]
                        [--out .build/reports/bench/performance.md] [--render RESULTS_JSON]
    PYTHONPATH=bench python -m vsp_bench --eda [--eda-keys "64 4096"] [--eda-poll 5] [--eda-polls 10]
                        [--out .build/reports/bench/eda.md]

Run it through ``make bench`` (which first copies the collection to ``$(BUILD)``); ``make bench-doc`` copies
a run's page and charts into docs/, the reference run the docs show. For each N it starts
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
The page (``--out``, by default ``$(BUILD)/reports/bench/performance.md``) and its SVG charts are written
from the run's ``results.json`` (written next to the page), which also holds the machine facts and the git
commit taken when measuring (``--render`` writes the page again from it, without measuring).
PASS/FAIL per count target (requests, module runs, sessions, memory, files), exit status 1 when one fails;
wall times are reported beside their bound (WITHIN/OVER) and never fail the run.

``--eda`` (``make bench-eda``; ansible-rulebook needs Java 17) measures the event source
``vsp.encryption.encryption_keys`` at each ``--eda-keys`` (:mod:`vsp_bench.eda`): the requests of a poll that finds
nothing changed, the sessions it opens over ``--eda-polls`` polls (per hour at the default interval), and the
exposure window with the shipped rulebook (``--eda-poll`` seconds between polls). It writes ``eda.md`` and
``eda.json`` (by default in ``BUILD/reports/bench/``); the same PASS/FAIL and WITHIN/OVER rules.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time

from .eda import bench_eda
from .eda_page import print_eda_summary, write_eda_page
from .fleet import bench_fleet
from .log import log
from .machine import load1, machine_facts
from .render import print_summary, write_page
from .restore import bench_one, extrapolate_baselines, role_defaults
from .verdicts import TARGET_SPEEDUP_N, gating_failures


EDA_OPTS = ("eda_keys", "eda_poll", "eda_polls", "latency_ms", "job_ms")


def parse_sizes(text):
    return [int(x) for x in re.split(r"[,\s]+", (text or "").strip()) if x]


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
    parser.add_argument("--out", default=None,
                        help="the page; its charts and results.json go next to it (default: BUILD/reports/bench/performance.md)")
    parser.add_argument("--render", metavar="RESULTS_JSON", help="only write --out (and the charts) again from a run's results.json")
    parser.add_argument("--eda", action="store_true",
                        help="the event source's benchmark (issue #29) instead of the restore and the fleet")
    parser.add_argument("--eda-keys", default="64 4096", help="key counts of the EDA benchmark")
    parser.add_argument("--eda-poll", type=float, default=5, help="the rulebook's poll_interval in the exposure run (s)")
    parser.add_argument("--eda-polls", type=int, default=10, help="polls of the source counted for its sessions")
    opts = parser.parse_args()
    sizes = opts.sizes = parse_sizes(opts.sizes)
    fleet_ks = opts.fleet = parse_sizes(opts.fleet)
    opts.eda_keys = parse_sizes(opts.eda_keys)
    if opts.render:
        with open(opts.render) as handle:
            opts.eda = opts.eda or "eda" in json.load(handle)
    if opts.out is None:
        opts.out = os.path.join(opts.build, "reports", "bench", "eda.md" if opts.eda else "performance.md")
    if opts.out:
        os.makedirs(os.path.dirname(os.path.abspath(opts.out)), exist_ok=True)
    if opts.eda:
        return eda_main(opts)
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
        return 1 if gating_failures(verdicts) else 0

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
            "command": " ".join(["python -m vsp_bench"] + sys.argv[1:]), "load_start": load1()}
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
    results_dir = os.path.dirname(os.path.abspath(opts.out)) if opts.out else work_root
    with open(os.path.join(results_dir, "results.json"), "w") as handle:
        json.dump({"rows": rows, "fleet": fleet, "targets": [[name, ok, detail] for name, ok, detail in verdicts],
                   "meta": meta}, handle, indent=1)
    print_summary(rows, fleet, verdicts)
    print("\nbench: %.0f s; load %.2f → %.2f; written %s" % (meta["elapsed"], meta["load_start"], meta["load_end"],
                                                             opts.out or "(no file)"))
    return 1 if gating_failures(verdicts) else 0


def eda_main(opts):
    """``--eda``: the event source's benchmark; eda.md and eda.json (or, with ``--render``, eda.md again)."""
    if opts.render:
        with open(opts.render) as handle:
            saved = json.load(handle)
        for key in EDA_OPTS:
            setattr(opts, key, saved["meta"]["opts"][key])
        verdicts = write_eda_page(saved["eda"], opts, saved["meta"])
        print_eda_summary(saved["eda"], verdicts)
        return 1 if gating_failures(verdicts) else 0
    if not os.path.isdir(os.path.join(opts.build, "ansible_collections", "vsp", "encryption")):
        raise SystemExit("bench: no collection under %s; run it through `make bench-eda`" % opts.build)
    work_root = os.path.join(os.path.abspath(opts.build), "bench")
    os.makedirs(work_root, exist_ok=True)
    tempfile.tempdir = work_root
    meta = {"started": time.time(), "machine": machine_facts(opts.build),
            "command": " ".join(["python -m vsp_bench"] + sys.argv[1:]), "load_start": load1()}
    log("machine: %d cores, load %.2f" % (meta["machine"]["cores"], meta["load_start"]))
    rows = bench_eda(opts.eda_keys, opts, work_root)
    meta.update(elapsed=time.time() - meta["started"], load_end=load1(),
                opts={key: getattr(opts, key) for key in EDA_OPTS})
    verdicts = write_eda_page(rows, opts, meta)
    results_dir = os.path.dirname(os.path.abspath(opts.out)) if opts.out else work_root
    with open(os.path.join(results_dir, "eda.json"), "w") as handle:
        json.dump({"eda": rows, "targets": [[name, ok, detail] for name, ok, detail in verdicts], "meta": meta}, handle,
                  indent=1)
    print_eda_summary(rows, verdicts)
    print("\nbench: %.0f s; load %.2f → %.2f; written %s" % (meta["elapsed"], meta["load_start"], meta["load_end"],
                                                             opts.out or "(no file)"))
    return 1 if gating_failures(verdicts) else 0
