"""Benchmark of the event source vsp.encryption.encryption_keys (issue #29), against the simulator:

* requests per poll when nothing changed, and the time of such a poll, at 64 and 4096 keys (the source's own
  read: plugin_utils/_key_watch.read_snapshot through the modules' client, counted in the simulator's request log);
* the exposure window: 48 keys created through the REST API -> a verified key file holds them, with the shipped
  rulebook protect_encryption_keys run by ansible-rulebook (poll interval --poll seconds), at 64 and 4096 keys.

    ANSIBLE_COLLECTIONS_PATH=<installed collection> python bench/eda.py [--poll 5] [--latency-ms 5] [--job-ms 200]

Prints a Markdown table. Needs Java 17+ (ansible-rulebook).
"""
import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "eda"))

from vsp_simulator.harness import SimulatorProcess  # noqa: E402

import eda_helpers as eh  # noqa: E402

NEW_KEYS = 48
MAX_KEYS = 4096  # the array's (and the simulator's) maximum number of keys


def collections_path():
    path = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)[0]
    if not path or not os.path.isdir(os.path.join(path, "ansible_collections", "vsp", "encryption")):
        sys.exit("ANSIBLE_COLLECTIONS_PATH must hold vsp.encryption (make collection copies it to .build)")
    if path not in sys.path:
        sys.path.append(path)
    return path


def fill(sim, total):
    have = len(sim.control.state()["keys"])
    if total > have:
        sim.array_job("encryption-keys", {"count": total - have})
    return len(sim.control.state()["keys"])


def idle_poll(sim):
    from ansible_collections.vsp.encryption.plugins.module_utils._api import VspApi  # noqa: PLC0415 - importable once collections_path() ran
    from ansible_collections.vsp.encryption.plugins.module_utils._client import VspClient  # noqa: PLC0415 - importable once collections_path() ran
    from ansible_collections.vsp.encryption.plugins.plugin_utils import _key_watch as kw  # noqa: PLC0415 - importable once collections_path() ran

    params = dict(sim.connection(), storage_device_id=None, timeout=30, retries=5, wait_timeout=900)
    with VspClient(params) as client:
        api = VspApi(client)
        first = kw.read_snapshot(api)
        sim.control.clear_requests()
        started = time.monotonic()
        kw.read_snapshot(api, first)
        seconds = time.monotonic() - started
        return len(sim.control.requests_log()), seconds


def exposure(workdir, sim, poll, collections):
    inventory, variables = eh.write_files(workdir, sim, poll_interval=poll)
    backups = os.path.join(str(workdir), "backups")
    rulebook = eh.Rulebook(workdir, "protect_encryption_keys", inventory, variables, collections)
    try:
        eh.wait_for(lambda: eh.manifests(backups) or not rulebook.running(), 120, "key file after the start event")
        before = {k["keyId"] for k in sim.control.state()["keys"]}
        created = time.monotonic()
        sim.array_job("encryption-keys", {"count": NEW_KEYS})
        new = {k["keyId"] for k in sim.control.state()["keys"]} - before
        eh.wait_for(lambda: [m for m in eh.manifests(backups) if new <= set(m["keys"]["FREE"])], poll + 300,
                    "key file holding the new keys")
        return time.monotonic() - created
    finally:
        rulebook.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--poll", type=float, default=5)
    parser.add_argument("--latency-ms", type=int, default=5)
    parser.add_argument("--job-ms", type=int, default=200)
    args = parser.parse_args()
    collections = collections_path()
    rows = []
    for total in (64, 4096):
        with tempfile.TemporaryDirectory(prefix="vsp-bench-eda-") as workdir:
            sim = SimulatorProcess(os.path.join(workdir, "sim"), scenario={"users": eh.users.scenario_users((eh.ADMIN,))},
                                   latency_ms=args.latency_ms, job_ms=args.job_ms, user=eh.ADMIN, state_file=True)
            with sim:
                if total + NEW_KEYS <= MAX_KEYS:  # the idle poll at `total` keys, then the keys created on top
                    fill(sim, total)
                    requests, seconds = idle_poll(sim)
                    window = exposure(workdir, sim, args.poll, collections)
                else:  # the array is full after the keys are created: the idle poll at `total` keys after them
                    fill(sim, total - NEW_KEYS)
                    window = exposure(workdir, sim, args.poll, collections)
                    requests, seconds = idle_poll(sim)
            rows.append((total, requests, seconds, window))
    print("Simulator: %d ms latency per request, jobs %d ms; rulebook: poll_interval %s s, settle_interval 0.5 s.\n"
          % (args.latency_ms, args.job_ms, args.poll))
    print("| keys | requests per poll, nothing changed | time of that poll | exposure window (%d keys created) |" % NEW_KEYS)
    print("|---:|---:|---:|---:|")
    for keys, requests, seconds, window in rows:
        print("| %d | %d | %.3f s | %.1f s |" % (keys, requests, seconds, window))


if __name__ == "__main__":
    main()
