"""Running ansible-playbook and module processes, with their wall time, CPU seconds and peak RSS."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time

from vsp_simulator.harness import clean_env
from vsp_simulator.playbook import run_playbook

from .paths import CALLBACK_PLUGINS


MODULE_PKG = "ansible_collections.vsp.encryption.plugins.modules."

CLK_TCK = os.sysconf("SC_CLK_TCK")

# -- running things -----------------------------------------------------------------------------------


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
        # no ANSIBLE_* / VSP_* from the caller, the venv's bin first on PATH (vsp_simulator.harness.clean_env)
        self.env = clean_env(
            ANSIBLE_COLLECTIONS_PATH=self.build,
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_DEPRECATION_WARNINGS="0",
            ANSIBLE_LOCAL_TEMP=os.path.join(workdir, "ansible-tmp"),
            ANSIBLE_HOME=os.path.join(workdir, "ansible-home"),
            ANSIBLE_CONFIG=os.path.join(workdir, "ansible.cfg"),
            ANSIBLE_CALLBACK_PLUGINS=CALLBACK_PLUGINS,
            ANSIBLE_CALLBACKS_ENABLED="bench_timer",
            BENCH_PYTHON=sys.executable,
        )
        with open(os.path.join(workdir, "ansible.cfg"), "w") as handle:
            handle.write("[defaults]\n")  # Ansible's defaults, nothing from the caller's ansible.cfg

    def playbook(self, name, inventory, extra_vars, logname, *, forks=None, env_extra=None):
        """Run ansible-playbook; return {wall, cpu (its whole process tree), machine_busy (CPU s of every process of
        the machine meanwhile), timer (the callback's file), modules (its module processes)}."""
        out = os.path.join(self.workdir, logname)
        env = dict(BENCH_TIMER_FILE=out + ".tasks.jsonl", BENCH_MODULE_LOG=out + ".modules.log", **(env_extra or {}))
        for path in (env["BENCH_TIMER_FILE"], env["BENCH_MODULE_LOG"]):
            if os.path.exists(path):
                os.unlink(path)
        # the command line and the launch: the one runner (vsp_simulator.playbook), in this environment as it is
        # (no quieting options added: the measured runs stay Ansible's defaults); the extra vars as JSON on the command line
        cpu, busy = children_cpu(), machine_busy_seconds()
        start = time.monotonic()
        running = run_playbook(name, inventory, extra_vars=extra_vars, args=["--forks", str(forks)] if forks else (),
                               environ=self.env, env=env, cwd=self.workdir, popen=True, stdout_path=out)
        rc = running.wait()
        wall = time.monotonic() - start
        cpu, busy = children_cpu() - cpu, machine_busy_seconds() - busy
        done = running.finish()
        if rc != 0:
            sys.stderr.write(done.stdout[-6000:])
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
