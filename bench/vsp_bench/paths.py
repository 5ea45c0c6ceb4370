"""Where the bench's files are: the package lives in bench/, next to the files the runs use."""

from __future__ import annotations

import os

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # bench/
ROOT = os.path.dirname(BENCH_DIR)  # the checkout (machine facts: its git commit)
PYTHON_TIMED = os.path.join(BENCH_DIR, "python-timed")  # the inventories' Python: logs each module process's CPU and RSS
CALLBACK_PLUGINS = os.path.join(BENCH_DIR, "callback_plugins")  # bench_timer: task and loop item times
BASELINE_PLAYBOOK = os.path.join(BENCH_DIR, "baseline.yml")  # the key restore with uri tasks
