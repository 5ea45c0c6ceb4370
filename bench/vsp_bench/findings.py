"""The page's findings: what the figures of a run say, in sentences."""

from __future__ import annotations

from .figures import fleet_rows, fleet_split
from .verdicts import TARGET_FLEET_FACTOR, TARGET_FLEET_K


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


