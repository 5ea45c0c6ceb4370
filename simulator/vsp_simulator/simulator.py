"""The state one running simulator holds: the array, its sessions, jobs, faults and request log."""

from __future__ import annotations

from . import capture as _capture  # noqa: F401 - registers the twin builder (--capture)
from . import faults
from . import scenario as scenario_mod
from .jobs import JobManager
from .sessions import SessionStore
from .state import ArrayState


class Simulator:
    """Everything one running simulator holds."""

    def __init__(self, scenario=None, state_file=None, latency_ms=0, job_ms=1000,
                 job_parallelism=4):
        self.base_scenario = scenario or scenario_mod.default_scenario()
        self.state = ArrayState(self.base_scenario, state_file)
        self.sessions = SessionStore(self.state)
        self.jobs = JobManager(self.state, job_ms, job_parallelism)
        self.faults = faults.FaultStore()
        self.log = faults.RequestLog()
        self.latency_ms = latency_ms

    def reset(self, scn):
        self.state.reset(scn)
        self.sessions.clear()
        self.jobs.clear()
        self.faults.clear()
