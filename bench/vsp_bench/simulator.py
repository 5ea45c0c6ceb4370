"""The simulator process a benchmark runs against, and the check of its state after a run."""

from __future__ import annotations

from vsp_simulator.harness import SimulatorProcess

from .processes import CLK_TCK


# -- the simulator ------------------------------------------------------------------------------------
class Simulator(SimulatorProcess):
    """``vsp-simulator`` (vsp_simulator.harness) on a free loopback port, HTTPS with its own CA.

    The constructor starts it; with ``wait=False`` the caller waits (``wait_ready()``), so several
    start at once.
    """

    def __init__(self, workdir, scenario_file, latency_ms, job_ms, parallelism, *, wait=True):
        super().__init__(workdir, scenario=scenario_file, latency_ms=latency_ms, job_ms=job_ms,
                         job_parallelism=parallelism, start_timeout=120)
        self.start(wait=wait)

    def ctl(self, method, path, body=None):
        return self.control.call(method, path, body)

    def requests_log(self):
        return self.control.requests_log()

    def cpu_seconds(self):
        """User + system CPU seconds of the simulator process so far (all its threads)."""
        with open("/proc/%d/stat" % self.pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(CLK_TCK)


def check_state(sim, n, what):
    """Raise unless every pool volume is normal, no key is lost and no session is left."""
    state = sim.ctl("GET", "state")
    pool_volumes = [ld for ld in state["ldevs"] if "POOL" in (ld.get("attributes") or [])]
    not_normal = [ld["ldevId"] for ld in pool_volumes if ld.get("status") != "NML"]
    lost = [k["keyId"] for k in state["keys"] if k.get("lost")]
    problems = []
    if len(pool_volumes) != n:
        problems.append("%d pool volumes, expected %d" % (len(pool_volumes), n))
    if not_normal:
        problems.append("pool volumes not normal: %s" % not_normal[:10])
    if lost:
        problems.append("keys still lost: %s" % lost[:10])
    if state.get("sessions"):
        problems.append("%s session(s) left open" % state["sessions"])
    if problems:
        raise SystemExit("bench: after %s (N=%d): %s" % (what, n, "; ".join(problems)))

