"""Reading the files of the ``bench_timer`` callback (bench/callback_plugins): task and loop item times."""

from __future__ import annotations

import json


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
