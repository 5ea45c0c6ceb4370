"""Asynchronous jobs: 202 + job object, a semaphore of --job-parallelism, --job-ms each."""

from __future__ import annotations

import collections
import math
import sys
import threading
import time
import traceback

from . import errors

HISTORY = 3000
MAX_WAIT_DEFAULT = 30.0


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())



def phase_seconds(n, job_ms, parallelism):
    """How long ``n`` jobs of ``job_ms`` each take, ``parallelism`` at a time (this model)."""
    return math.ceil(n / parallelism) * job_ms / 1000.0


def restore_offline_seconds(n, job_ms, parallelism):
    """The offline time of a restore of ``n`` pool volumes by this model: block them, one restore
    job, recover them. A lower bound for an array: its own job times and the steps' gaps decide."""
    return 2 * phase_seconds(n, job_ms, parallelism) + job_ms / 1000.0

class Job:
    def __init__(self, job_id, user, url, method, body, *, affected=None):
        self.job_id = job_id
        self.user = user
        self.status = "Initializing"
        self.state = "Queued"
        self.created = self.updated = _now()
        self.completed = None
        self.request = {"requestUrl": url, "requestMethod": method}
        if body is not None:
            self.request["requestBody"] = body
        self.affected = list(affected or [])
        self.error = None
        self.done = threading.Event()

    def view(self):
        obj = {
            "jobId": self.job_id,
            "self": f"/ConfigurationManager/v1/objects/jobs/{self.job_id}",
            "userId": self.user,
            "status": self.status,
            "state": self.state,
            "createdTime": self.created,
            "updatedTime": self.updated,
            "request": dict(self.request),
            "affectedResources": list(self.affected),
        }
        if self.completed:
            obj["completedTime"] = self.completed
        if self.error is not None:
            obj["error"] = self.error
        return obj


class JobManager:
    def __init__(self, state, job_ms=1000, parallelism=4, history=HISTORY, on_change=None):
        self.state = state
        self.job_ms = job_ms
        self.parallelism = max(1, parallelism)
        self.sem = threading.BoundedSemaphore(self.parallelism)
        self.history = history
        self.jobs = collections.OrderedDict()
        self.next_id = 1
        self.on_change = on_change
        # Open unless a test holds the jobs (POST /simulator/v1/jobs {"hold": true}): a held job
        # is Started but does not complete until released, so a test sees the state "before
        # completion" without a race.
        self.gate = threading.Event()
        self.gate.set()
        self.changed = threading.Condition(threading.Lock())

    def clear(self):
        with self.state.lock:
            self.jobs.clear()
        self.release()

    def hold(self):
        self.gate.clear()

    def release(self):
        self.gate.set()

    def _notify(self):
        with self.changed:
            self.changed.notify_all()

    def wait_for(self, predicate, timeout=30.0):
        """Wait (on a condition, no polling) until ``predicate()`` holds; its last value."""
        with self.changed:
            return self.changed.wait_for(predicate, timeout)

    def submit(self, user, url, method, body, *, effect, affected=None):
        """Queue ``effect`` (called under the state lock when the job completes).

        ``effect`` returns the affected resource URLs (or None to keep ``affected``) and raises
        ``errors.ApiError`` to fail the job.
        """
        with self.state.lock:
            job = Job(self.next_id, user, url, method, body, affected=affected)
            self.next_id += 1
            self.jobs[job.job_id] = job
            while len(self.jobs) > self.history:
                self.jobs.popitem(last=False)
        threading.Thread(target=self._run, args=(job, effect), daemon=True,
                         name=f"job-{job.job_id}").start()
        return job

    def _run(self, job, effect):
        with self.sem:
            with self.state.lock:
                job.status, job.state, job.updated = "Running", "Started", _now()
            self._notify()
            self.gate.wait()
            time.sleep(self.job_ms / 1000.0)
            with self.state.lock:
                try:
                    result = effect()
                    if result is not None:
                        job.affected = list(result)
                    job.state = "Succeeded"
                except errors.ApiError as exc:
                    job.state = "Failed"
                    job.error = exc.body(source=job.request["requestUrl"])
                except Exception as exc:  # noqa: BLE001 - a job never kills the server
                    # frames only (file, line, code): never the exception's message or values
                    sys.stderr.write("vsp-simulator: job %d failed internally: %s\n%s" % (
                        job.job_id, type(exc).__name__,
                        "".join(traceback.format_tb(exc.__traceback__))))
                    job.state = "Failed"
                    job.error = errors.storage_error(f"internal error: {type(exc).__name__}").body(
                        source=job.request["requestUrl"])
                job.status = "Completed"
                job.updated = job.completed = _now()
                if self.on_change:
                    self.on_change()
        job.done.set()
        self._notify()

    def get(self, job_id):
        with self.state.lock:
            return self.jobs.get(job_id)

    def view(self, job):
        with self.state.lock:
            return job.view()

    def respond(self, job, headers):
        """202 with the job; waits for completion when asked with Response-Job-Status."""
        wanted = (headers.get("Response-Job-Status") or "").strip().rstrip(";").strip()
        if wanted.lower() == "completed":
            try:
                max_wait = float(headers.get("Response-Max-Wait") or MAX_WAIT_DEFAULT)
            except ValueError:
                max_wait = MAX_WAIT_DEFAULT
            job.done.wait(max(0.0, max_wait))
        return errors.json_response(self.view(job), 202)
