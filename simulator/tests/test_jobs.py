"""Jobs: 202 + job object, Response-Job-Status, polling, queueing, history."""

import threading

from conftest import assert_kart

from vsp_simulator import errors
from vsp_simulator.jobs import JobManager

BLK = {"parameters": {"status": "blk"}}
JOB_FIELDS = {"jobId", "self", "userId", "status", "state", "createdTime", "updatedTime",
              "request", "affectedResources"}


def test_async_request_answers_202_job(admin):
    r = admin.post("ldevs/1/actions/change-status/invoke", json=BLK)
    assert r.status_code == 202
    job = r.json()
    assert JOB_FIELDS <= set(job)
    assert job["self"] == f"/ConfigurationManager/v1/objects/jobs/{job['jobId']}"
    assert job["userId"] == "admin"
    assert job["status"] in ("Initializing", "Running")
    assert job["state"] in ("Queued", "Started")
    assert job["request"]["requestMethod"] == "POST"
    assert job["request"]["requestUrl"].endswith("/ldevs/1/actions/change-status/invoke")
    done = admin.poll(job)
    assert done["status"] == "Completed" and done["state"] == "Succeeded"
    assert done["affectedResources"] == ["/ConfigurationManager/v1/objects/ldevs/1"]
    assert "completedTime" in done and "error" not in done


def test_response_job_status_completed_with_semicolon(admin):
    r = admin.post("ldevs/2/actions/change-status/invoke", json=BLK,
                   headers={"Response-Job-Status": "Completed;"})
    assert r.status_code == 202
    assert r.json()["status"] == "Completed"
    assert admin.get("ldevs/2").json()["status"] == "BLK"


def test_response_max_wait_returns_running_job(admin):
    r = admin.post("ldevs/3/actions/change-status/invoke", json=BLK,
                   headers={"Response-Job-Status": "Completed", "Response-Max-Wait": "0"})
    assert r.status_code == 202
    assert r.json()["status"] != "Completed"
    assert admin.poll(r.json())["state"] == "Succeeded"


def test_effect_applied_only_on_completion(admin):
    # the job cannot complete while held: no race with the GET below
    assert admin.ctl("POST", "jobs", json={"hold": True}).status_code == 200
    try:
        r = admin.post("ldevs/4/actions/change-status/invoke", json=BLK,
                       headers={"Response-Job-Status": "Completed", "Response-Max-Wait": "0"})
        assert r.json()["status"] != "Completed"
        assert admin.get("ldevs/4").json()["status"] == "NML"
    finally:
        admin.ctl("POST", "jobs", json={"hold": False})
    admin.poll(r.json())
    assert admin.get("ldevs/4").json()["status"] == "BLK"


def test_unknown_job_is_404(admin):
    assert_kart(admin.get("jobs/987654"), 404)
    assert_kart(admin.get("jobs/abc"), 404)


def test_job_needs_session(fresh):
    assert_kart(fresh.get("jobs/1"), 401)


class _State:
    def __init__(self):
        self.lock = threading.RLock()


def test_parallelism_bound_and_queue():
    jm = JobManager(_State(), job_ms=0, parallelism=2)
    jm.hold()  # started jobs wait at the gate: the queue is seen without a race
    jobs = [jm.submit("u", "/x", "POST", None, effect=lambda: None) for _ in range(4)]
    started = lambda: [jm.view(j)["state"] for j in jobs].count("Started") == 2  # noqa: E731
    assert jm.wait_for(started, timeout=30)
    states = [jm.view(j)["state"] for j in jobs]
    assert states.count("Started") == 2 and states.count("Queued") == 2
    jm.release()
    for j in jobs:
        assert j.done.wait(5)
    assert all(jm.view(j)["state"] == "Succeeded" for j in jobs)


def test_failed_job_carries_error_object():
    jm = JobManager(_State(), job_ms=0, parallelism=1)

    def boom():
        raise errors.storage_error("nope")

    job = jm.submit("u", "/x", "POST", "{}", effect=boom)
    assert job.done.wait(5)
    view = jm.view(job)
    assert view["state"] == "Failed" and view["status"] == "Completed"
    assert view["error"]["messageId"] == "KART30000-E"
    assert view["error"]["errorCode"] == {"SSB1": "B958", "SSB2": "015A"}


def test_job_history_is_bounded():
    jm = JobManager(_State(), job_ms=0, parallelism=4, history=5)
    jobs = [jm.submit("u", "/x", "POST", None, effect=lambda: None) for _ in range(8)]
    for j in jobs:
        j.done.wait(5)
    assert sorted(jm.jobs) == [4, 5, 6, 7, 8]
    assert jm.get(1) is None


def test_job_history_default_is_3000():
    assert JobManager(_State()).history == 3000
