"""The control API under /simulator/v1 (not part of the array's API; no auth, no faults)."""

from __future__ import annotations

from flask import Blueprint, request

from . import errors, scenario
from . import jobs as jobs_model
from .web import CONTROL, json_object, sim


bp = Blueprint("control", __name__)


def _body():
    return json_object(lambda: _bad("the body is not valid JSON"),
                       lambda: _bad("the body must be a JSON object"))


def _bad(msg):
    return errors.ApiError(400, "SIM00400-E", msg, "Bad control request.", "Fix the request.")


@bp.route(CONTROL + "/reset", methods=["POST"], endpoint="ctl_reset")
def reset():
    body = _body()
    scn_override = body.get("scenario")
    try:
        scn = scenario.merge(scn_override, sim().base_scenario)
        scenario.build_state(scn)  # validate before touching the running state
        sim().reset(scn)
    except scenario.ScenarioError as exc:
        raise _bad(str(exc)) from None
    return errors.json_response({"reset": True})


@bp.route(CONTROL + "/state", methods=["GET"], endpoint="ctl_state")
def state():
    s = sim()
    n = s.sessions.count()
    with s.state.lock:
        return errors.json_response(s.state.snapshot(n))


@bp.route(CONTROL + "/twin", methods=["GET"], endpoint="ctl_twin")
def twin():
    """A twin's fidelity report (``{"twin": false}`` when the simulator serves a scenario);
    ``capture``: its storage device id, model, REST API version, time and redaction (the title of
    the report files ``vsp-simulator --capture`` writes)."""
    s = sim()
    with s.state.lock:
        info = s.state.data.get("twin")
        if info is None:
            return errors.json_response({"twin": False})
        groups = s.state.data["parity_groups"]
        encrypted = sorted(g for g, pg in groups.items() if pg["encrypted"])
        return errors.json_response({"twin": True, "redacted": info["redacted"],
                                     "encrypted_parity_groups": encrypted,
                                     "capture": info.get("capture"),
                                     "fidelity": info["fidelity"]})


@bp.route(CONTROL + "/twin/downtime", methods=["GET"], endpoint="ctl_twin_downtime")
def twin_downtime():
    """The offline time of a restore by the simulator's job model (jobs.restore_offline_seconds,
    the benchmark's bound): the pool volumes of the groups are blocked ``parallelism`` at a time,
    the keys restored (one job), the volumes recovered ``parallelism`` at a time; each job takes
    ``job_ms``."""
    args = request.args
    for key in args:
        if key not in ("parity_groups", "job_ms", "parallelism"):
            raise _bad(f"unknown parameter {key!r} (known: parity_groups, job_ms, parallelism)")
    job_ms = _positive(args, "job_ms", sim().jobs.job_ms)
    parallelism = _positive(args, "parallelism", sim().jobs.parallelism)
    if parallelism < 1:
        raise _bad("parallelism must be an integer of at least 1")
    s = sim()
    with s.state.lock:
        groups = s.state.data["parity_groups"]
        encrypted = sorted(g for g, pg in groups.items() if pg["encrypted"])
        named = [g.strip() for g in args["parity_groups"].split(",")] if args.get(
            "parity_groups") else encrypted
        for g in named:
            if g not in encrypted:
                raise _bad(f"parity_groups: {g} is not an encrypted parity group of this array "
                           f"(encrypted: {', '.join(encrypted) or 'none'})")
        vols = {v["ldevId"] for g in named for v in s.state.pool_volumes(pg_id=g)}
    n = len(vols)
    phase = jobs_model.phase_seconds(n, job_ms, parallelism)
    return errors.json_response({
        "parity_groups": named, "pool_volumes": n, "job_ms": job_ms, "parallelism": parallelism,
        "block_seconds": phase, "restore_seconds": job_ms / 1000.0, "recover_seconds": phase,
        "offline_seconds": jobs_model.restore_offline_seconds(n, job_ms, parallelism),
        "model": "the simulator's job model (the benchmark's bound): a lower bound; "
                 "the array's own job times decide"})


def _positive(args, name, default):
    raw = args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad(f"{name} must be an integer of at least 0") from None
    if value < 0:
        raise _bad(f"{name} must be an integer of at least 0")
    return value


@bp.route(CONTROL + "/lose-keys", methods=["POST"], endpoint="ctl_lose_keys")
def lose_keys():
    body = _body()
    pgs = body.get("parity_groups")
    if not isinstance(pgs, list) or not pgs or not all(isinstance(p, str) for p in pgs):
        raise _bad('give {"parity_groups": ["1-1", ...]}')
    s = sim()
    with s.state.lock:
        data = s.state.data
        lost = []
        for pg in pgs:
            group = data["parity_groups"].get(pg)
            if group is None:
                raise _bad(f"unknown parity group {pg}")
            if not group["encrypted"]:
                raise _bad(f"parity group {pg} is not encrypted")
        for pg in pgs:
            locs = set(data["parity_groups"][pg]["driveLocationIds"])
            for key in data["keys"].values():
                if key["keyType"] == "DEK" and key["targetDeviceLocation"] in locs:
                    key["lost"] = True
                    lost.append(key["keyId"])
        s.state.save()
    return errors.json_response({"lost_key_ids": sorted(lost, key=int)})


@bp.route(CONTROL + "/faults", methods=["POST"], endpoint="ctl_add_fault")
def add_fault():
    try:
        sim().faults.add(_body())
    except ValueError as exc:  # also re.error
        raise _bad(str(exc)) from None
    return errors.json_response({"added": True})


@bp.route(CONTROL + "/faults", methods=["DELETE"], endpoint="ctl_clear_faults")
def clear_faults():
    sim().faults.clear()
    return errors.json_response({"cleared": True})


@bp.route(CONTROL + "/requests", methods=["GET"], endpoint="ctl_requests")
def requests_log():
    return errors.json_response(sim().log.list())


@bp.route(CONTROL + "/requests", methods=["DELETE"], endpoint="ctl_clear_requests")
def clear_requests():
    sim().log.clear()
    return errors.json_response({"cleared": True})


@bp.route(CONTROL + "/expire-sessions", methods=["POST"], endpoint="ctl_expire")
def expire_sessions():
    body = _body()
    for key in body:
        if key != "after_refused_logins":
            raise _bad(f"unknown field {key!r} (known: after_refused_logins)")
    if "after_refused_logins" in body:
        count = body["after_refused_logins"]
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise _bad("after_refused_logins must be an integer of at least 1")
        sim().sessions.expire_after(count)
        return errors.json_response({"expired": 0, "after_refused_logins": count})
    n = sim().sessions.expire_all()
    return errors.json_response({"expired": n})


@bp.route(CONTROL + "/issued-tokens", methods=["GET"], endpoint="ctl_issued_tokens")
def issued_tokens():
    """Test-only: every session token issued since the simulator started (for leak tests)."""
    return errors.json_response({"tokens": sim().sessions.issued_tokens()})


@bp.route(CONTROL + "/jobs", methods=["POST"], endpoint="ctl_hold_jobs")
def hold_jobs():
    """Test-only: {"hold": true} keeps jobs from completing until {"hold": false}."""
    body = _body()
    if not isinstance(body.get("hold"), bool):
        raise _bad('give {"hold": true} or {"hold": false}')
    jobs = sim().jobs
    if body["hold"]:
        jobs.hold()
    else:
        jobs.release()
    return errors.json_response({"hold": body["hold"]})
