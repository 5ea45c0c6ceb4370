"""Request helpers of the route modules (no route is registered here): the simulator of the
request, authentication, JSON bodies, jobs, and the two URL forms of each rule."""

from __future__ import annotations

import json

from flask import current_app, request

from . import errors
from .simulator import Simulator

BASE = "/ConfigurationManager"
OBJ = BASE + "/v1/objects"
CONTROL = "/simulator/v1"


def sim() -> Simulator:
    """The simulator of the app serving this request."""
    return current_app.config["SIM"]


def auth(role=None):
    """The session of this request (401 without, 403 without one of ``role``)."""
    return sim().sessions.authenticate(request.headers.get("Authorization"), role)


def json_body(allowed=None):
    """The JSON request body (a dict; ``{}`` when empty); 400 when not JSON."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise errors.ApiError(400, "KART40006-E", "The request body is not valid JSON.",
                              "The request body cannot be parsed.",
                              "Check the request body.") from None
    if not isinstance(body, dict):
        raise errors.invalid("request body", "Specify a JSON object.")
    if allowed is not None:
        for k in body:
            if k not in allowed:
                raise errors.unsupported(k)
    return body


def parameters(body, allowed):
    """``body["parameters"]`` (a dict); 400 for a key not in ``allowed``."""
    params = body.get("parameters", {})
    if not isinstance(params, dict):
        raise errors.invalid("parameters")
    for k in params:
        if k not in allowed:
            raise errors.unsupported(k)
    return params


def request_body_text():
    """The request body as a job records it (never a password)."""
    if request.mimetype == "multipart/form-data":
        return None
    raw = request.get_data(cache=True, as_text=True)
    if not raw:
        return None
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if _has_secret(body):
        return json.dumps(_masked(body))
    return raw


SECRET_KEYS = ("password", "token")


def _has_secret(obj):
    if isinstance(obj, dict):
        return any(k.lower() in SECRET_KEYS or _has_secret(v) for k, v in obj.items())
    if isinstance(obj, list):
        return any(_has_secret(v) for v in obj)
    return False


def _masked(obj):
    if isinstance(obj, dict):
        return {k: "********" if k.lower() in SECRET_KEYS else _masked(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_masked(v) for v in obj]
    return obj


def submit(session, effect, affected=None):
    """Run ``effect`` as a job of ``session``; the answer the job manager gives."""
    s = sim()
    job = s.jobs.submit(session.user, request.path, request.method, request_body_text(),
                        effect=effect, affected=affected)
    return s.jobs.respond(job, request.headers)


def obj_route(bp, rule, methods, view, endpoint):
    """Register ``rule`` under both URL forms of the objects domain."""
    bp.add_url_rule(OBJ + rule, endpoint, view, methods=methods)
    bp.add_url_rule(OBJ + "/storages/<storage_device_id>" + rule, endpoint + "__sd", view,
                    methods=methods)


def service_route(bp, rule, methods, view, endpoint):
    """Register ``rule`` under both URL forms of the services domain."""
    bp.add_url_rule(BASE + "/v1/services" + rule, endpoint, view, methods=methods)
    bp.add_url_rule(BASE + "/v1/<storage_device_id>/services" + rule, endpoint + "__sd", view,
                    methods=methods)
