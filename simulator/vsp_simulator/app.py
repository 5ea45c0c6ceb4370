"""The Flask application: hooks (latency, faults, URL forms, request log) and route helpers."""

from __future__ import annotations

import json
import socket
import time

from flask import Flask, current_app, g, request
from werkzeug.exceptions import HTTPException

from . import errors, faults
from . import scenario as scenario_mod
from .jobs import JobManager
from .sessions import SessionStore
from .state import ArrayState

BASE = "/ConfigurationManager"
OBJ = BASE + "/v1/objects"
CONTROL = "/simulator/v1"
DROP_KEY = "vsp_simulator.drop"


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


def sim() -> Simulator:
    return current_app.config["SIM"]


def auth(role=None):
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
    s = sim()
    job = s.jobs.submit(session.user, request.path, request.method, request_body_text(),
                        effect=effect, affected=affected)
    return s.jobs.respond(job, request.headers)


def obj_route(app, rule, methods, view, endpoint):
    """Register ``rule`` under both URL forms of the objects domain."""
    app.add_url_rule(OBJ + rule, endpoint, view, methods=methods)
    app.add_url_rule(OBJ + "/storages/<storage_device_id>" + rule, endpoint + "__sd", view,
                     methods=methods)


def service_route(app, rule, methods, view, endpoint):
    app.add_url_rule(BASE + "/v1/services" + rule, endpoint, view, methods=methods)
    app.add_url_rule(BASE + "/v1/<storage_device_id>/services" + rule, endpoint + "__sd", view,
                     methods=methods)


def _is_array(path):
    return not path.startswith(CONTROL)


def _before():
    if not _is_array(request.path):
        return None
    s = sim()
    if s.latency_ms:
        time.sleep(s.latency_ms / 1000.0)
    rule = s.faults.match(request.method, request.path)
    if rule:
        if rule["delay_ms"]:
            time.sleep(rule["delay_ms"] / 1000.0)
        if rule["action"] == "drop":
            request.environ[DROP_KEY] = True
            return errors.json_response({}, 500)
        early = faults.early_response(s.faults, rule, request.path)
        if early is not None:
            return early
        if rule["pages"]:
            faults.ignore_page_start(request)
        if rule["identity"] is not None or rule["body"] == "drip":
            g.sim_fault = rule  # applied to the route's answer by _after
    sdid = (request.view_args or {}).get("storage_device_id")
    if sdid is not None and sdid != s.state.sdid:
        return errors.not_found(f"storageDeviceId = {sdid}").response()
    g.sim_checked = True
    return None


def _after(resp):
    rule = g.pop("sim_fault", None)
    if rule is not None:
        resp = faults.late_response(sim().faults, rule, resp)
    resp.headers.setdefault("Cache-Control", "no-store")
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    return resp


def _http_error(exc: HTTPException):
    if exc.code == 404:
        return errors.not_found("URL").response()
    if exc.code == 405:
        return errors.ApiError(405, "KART40005-E", "The specified HTTP method is not supported.",
                               "The method is not supported for this URL.",
                               "Check the HTTP method.").response()
    return errors.ApiError(exc.code or 500, "KART40000-E", exc.description or exc.name,
                           exc.name, "Check the request.").response()


def _internal_error(exc: Exception):
    # only the exception's type: a message could quote a request
    current_app.logger.error("internal error: %s", type(exc).__name__)
    return errors.ApiError(500, "KART00001-E", "An internal error occurred in the REST server.",
                           type(exc).__name__, "Contact the simulator's maintainers.").response()


class _Outer:
    """WSGI wrapper: the request log (array API only) and dropped connections."""

    def __init__(self, app, simulator):
        self.app = app
        self.sim = simulator

    def __call__(self, environ, start_response):
        t0 = time.monotonic()
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        seen = {}

        def _start(status, headers, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            if environ.get(DROP_KEY):
                return lambda data: None
            return start_response(status, headers, exc_info)

        body = self.app(environ, _start)
        if environ.get(DROP_KEY):
            if hasattr(body, "close"):
                body.close()
            self.sim.log.add(method, path, 0, (time.monotonic() - t0) * 1000)
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            raise ConnectionResetError("fault: connection dropped")
        if _is_array(path):
            self.sim.log.add(method, path, seen.get("status", 0), (time.monotonic() - t0) * 1000)
        return body


def create_app(simulator: Simulator) -> Flask:
    from . import control, keys, locks, sessions_api, storage  # noqa: PLC0415 (they import us)

    app = Flask("vsp_simulator")
    app.config["SIM"] = simulator
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024
    app.before_request(_before)
    app.after_request(_after)
    app.register_error_handler(errors.ApiError, lambda e: e.response())
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal_error)
    for module in (sessions_api, storage, keys, locks, control):
        module.register(app)
    app.wsgi_app = _Outer(app.wsgi_app, simulator)
    return app
