"""Callback of the benchmark: the wall time of each task, written as JSON lines to $BENCH_TIMER_FILE."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: bench_timer
    type: aggregate
    short_description: wall time of each task, for bench/run.py
    description: Appends one JSON line per finished task (name, status, seconds) to $BENCH_TIMER_FILE.
"""


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

    def _write(self, status):
        if self._path and self._start is not None:
            with open(self._path, "a") as handle:
                handle.write(json.dumps({"task": self._name, "status": status,
                                         "seconds": round(time.monotonic() - self._start, 3)}) + "\n")
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
