"""Callback of the benchmark: task and loop-item times, and the controller's CPU, as JSON lines in $BENCH_TIMER_FILE."""

from __future__ import annotations

import json
import os
import resource
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: bench_timer
    type: aggregate
    short_description: wall time of each task and loop item, for the bench (bench/vsp_bench)
    description:
      - Appends one JSON line per finished task (name, status, seconds) to $BENCH_TIMER_FILE.
      - One line per finished loop item (task, label, seconds since the task started).
      - At the end of the play, the CPU seconds of the controller's main process (user + system).
"""


def _cpu(usage):
    return round(usage.ru_utime + usage.ru_stime, 3)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._path = os.environ.get("BENCH_TIMER_FILE")
        self._start = None
        self._name = None

    def _append(self, record):
        if self._path:
            with open(self._path, "a") as handle:
                handle.write(json.dumps(record) + "\n")

    def _write(self, status):
        if self._start is not None:
            self._append({"task": self._name, "status": status, "seconds": round(time.monotonic() - self._start, 3)})
        self._start = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start = time.monotonic()
        self._name = task.get_name()

    def v2_runner_on_ok(self, result):
        self._write("ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write("failed")

    def v2_runner_on_skipped(self, result):
        self._write("skipped")

    def v2_runner_item_on_ok(self, result):
        if self._start is not None:
            label = result._result.get("_ansible_item_label", result._result.get("item"))
            if isinstance(label, dict):
                label = label.get("label")
            self._append({"task": self._name, "item": str(label), "at": round(time.monotonic() - self._start, 3)})

    def v2_playbook_on_stats(self, stats):
        # the main process alone; the bench (vsp_bench.processes) takes the whole tree (forks and modules) from RUSAGE_CHILDREN
        self._append({"controller_cpu_s": _cpu(resource.getrusage(resource.RUSAGE_SELF))})
