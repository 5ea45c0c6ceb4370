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


def json_object(not_json, not_object):
    """The JSON request body, a dict (``{}`` when empty); raises ``not_json()`` when it is not JSON
    and ``not_object()`` when it is JSON but not an object."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise not_json() from None
    if not isinstance(body, dict):
        raise not_object()
    return body


def json_body(allowed=None):
    """The JSON request body (a dict; ``{}`` when empty); 400 when not JSON."""
    body = json_object(
        lambda: errors.ApiError(400, "KART40006-E", "The request body is not valid JSON.",
                                "The request body cannot be parsed.", "Check the request body."),
        lambda: errors.invalid("request body", "Specify a JSON object."))
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


def _two_forms(bp, short, long, methods, endpoint):
    def register(view):
        name = endpoint or view.__name__
        bp.add_url_rule(short, name, view, methods=methods)
        bp.add_url_rule(long, name + "__sd", view, methods=methods)
        return view

    return register


def obj_route(bp, rule, methods, endpoint=None):
    """Decorator: register the view on ``bp`` under both URL forms of the objects domain."""
    return _two_forms(bp, OBJ + rule, OBJ + "/storages/<storage_device_id>" + rule, methods,
                      endpoint)


def service_route(bp, rule, methods, endpoint=None):
    """Decorator: register the view on ``bp`` under both URL forms of the services domain."""
    return _two_forms(bp, BASE + "/v1/services" + rule,
                      BASE + "/v1/<storage_device_id>/services" + rule, methods, endpoint)
