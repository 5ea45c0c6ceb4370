"""Facts of the machine measured on (taken when measuring; ``--render`` uses the saved ones) and its load."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib.metadata import version as dist_version

import yaml

from .paths import ROOT


def load1():
    return os.getloadavg()[0]


SPEED_PROBES = {
    # name: the Python code timed in a new process of this Python (best of 3); the module processes and ansible-playbook
    # spend their time in such code, so runs on other machines compare through these figures
    "python_loop_s": "s = 0\nfor i in range(5000000):\n    s += i",
    "ansible_import_s": "import ansible.cli.playbook",
    "pbkdf2_s": "import hashlib\nhashlib.pbkdf2_hmac('sha256', b'password', b'0123456789abcdef', 600000)",
}


def speed_probes():
    """Seconds of each :data:`SPEED_PROBES` code on this machine (best of 3 runs, each in a new process)."""
    timer = "import time\nt = time.perf_counter()\nexec(compile(%r, 'probe', 'exec'))\nprint(time.perf_counter() - t)"
    found = {}
    for name, code in SPEED_PROBES.items():
        runs = [float(subprocess.run([sys.executable, "-c", timer % code], capture_output=True, text=True, check=True).stdout)
                for _ in range(3)]
        found[name] = round(min(runs), 3)
    return found


def machine_facts(build):
    def first(cmd):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT).stdout.strip()
        except OSError:
            return "?"
        return out.splitlines()[0] if out else "?"

    cpu_model = "?"
    try:
        with open("/proc/cpuinfo") as handle:
            cpu_model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "?")
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / float(1 << 30)
    try:
        simulator = dist_version("vsp-simulator")
    except Exception:  # noqa: BLE001 - a fact for the page, never a reason to fail
        simulator = "?"
    with open(os.path.join(build, "ansible_collections", "vsp", "encryption", "galaxy.yml")
              if os.path.exists(os.path.join(build, "ansible_collections", "vsp", "encryption", "galaxy.yml"))
              else os.path.join(ROOT, "galaxy.yml")) as handle:
        collection = (yaml.safe_load(handle) or {}).get("version", "?")
    commit = first(["git", "rev-parse", "--short", "HEAD"])
    dirty = first(["git", "status", "--porcelain", "--", "plugins", "roles", "playbooks", "simulator", "bench"])
    return {"cores": os.cpu_count(), "cpu_model": cpu_model, "memory_gib": round(mem_gib, 1),
            "kernel": "%s %s" % (platform.system(), platform.release()), "python": platform.python_version(),
            "ansible": first([os.path.join(os.path.dirname(sys.executable), "ansible"), "--version"]),
            "simulator": simulator, "collection": collection, "speed": speed_probes(),
            "commit": commit + (" (with uncommitted changes)" if dirty not in ("", "?") else "")}

