"""Figures derived from a run's results (shared by the verdicts, the tables and the findings)."""

from __future__ import annotations


def progress_cost(row):
    """Seconds per phase that the batches cost: role task times in batches minus in one batch (best runs)."""
    one = row.get("one_batch")
    if not one:
        return None
    per = [row["tasks"].get(p, 0.0) - one["tasks"].get(p, 0.0) for p in ("block", "recover")]
    return {"block": per[0], "recover": per[1], "per_phase": sum(per) / 2.0,
            "extra_runs_per_phase": row["batches"] - 1}


def fleet_rows(fleet, variant="defaults"):
    return [f for f in fleet or [] if f.get("variant", "defaults") == variant]


def fleet_split(f):
    """CPU seconds of a fleet run: main process, forks (workers), module processes, simulators, other work."""
    workers = f["cpu_tree"] - f["cpu_controller"] - f["cpu_modules"]
    ours = f["cpu_tree"] + f["cpu_simulators"]
    return {"main": f["cpu_controller"], "workers": workers, "modules": f["cpu_modules"], "simulators": f["cpu_simulators"],
            "ours": ours, "other": max(0.0, f["machine_busy"] - ours)}

