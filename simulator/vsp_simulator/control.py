"""The control API under /simulator/v1 (not part of the array's API; no auth, no faults)."""

from __future__ import annotations

import json

from flask import Blueprint, request

from . import errors, scenario
from .web import CONTROL, sim


def _body():
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise _bad("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    return body


def _bad(msg):
    return errors.ApiError(400, "SIM00400-E", msg, "Bad control request.", "Fix the request.")


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


def state():
    s = sim()
    n = s.sessions.count()
    with s.state.lock:
        return errors.json_response(s.state.snapshot(n))


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


def add_fault():
    try:
        sim().faults.add(_body())
    except ValueError as exc:  # also re.error
        raise _bad(str(exc)) from None
    return errors.json_response({"added": True})


def clear_faults():
    sim().faults.clear()
    return errors.json_response({"cleared": True})


def requests_log():
    return errors.json_response(sim().log.list())


def clear_requests():
    sim().log.clear()
    return errors.json_response({"cleared": True})


def expire_sessions():
    n = sim().sessions.expire_all()
    return errors.json_response({"expired": n})


def issued_tokens():
    """Test-only: every session token issued since the simulator started (for leak tests)."""
    return errors.json_response({"tokens": sim().sessions.issued_tokens()})


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


bp = Blueprint("control", __name__)
bp.add_url_rule(CONTROL + "/reset", "ctl_reset", reset, methods=["POST"])
bp.add_url_rule(CONTROL + "/state", "ctl_state", state, methods=["GET"])
bp.add_url_rule(CONTROL + "/lose-keys", "ctl_lose_keys", lose_keys, methods=["POST"])
bp.add_url_rule(CONTROL + "/faults", "ctl_add_fault", add_fault, methods=["POST"])
bp.add_url_rule(CONTROL + "/faults", "ctl_clear_faults", clear_faults, methods=["DELETE"])
bp.add_url_rule(CONTROL + "/requests", "ctl_requests", requests_log, methods=["GET"])
bp.add_url_rule(CONTROL + "/requests", "ctl_clear_requests", clear_requests,
                methods=["DELETE"])
bp.add_url_rule(CONTROL + "/expire-sessions", "ctl_expire", expire_sessions,
                methods=["POST"])
bp.add_url_rule(CONTROL + "/issued-tokens", "ctl_issued_tokens", issued_tokens,
                methods=["GET"])
bp.add_url_rule(CONTROL + "/jobs", "ctl_hold_jobs", hold_jobs, methods=["POST"])
