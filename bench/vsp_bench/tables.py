"""The Markdown tables of a run's results (the page's and the printed summary's)."""

from __future__ import annotations

import math
import re

from .figures import fleet_split, progress_cost


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

