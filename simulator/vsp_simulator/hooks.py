"""The app's hooks: latency, faults, URL forms, security headers, errors as KART bodies, and the
WSGI wrapper that keeps the request log and drops connections."""

from __future__ import annotations

import socket
import time

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException

from . import errors, faults
from .web import CONTROL, sim

DROP_KEY = "vsp_simulator.drop"


def _is_array(path):
    return not path.startswith(CONTROL)


def before():
    """Latency, faults and the storage device id of the long URL form, before a route runs."""
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
            g.sim_fault = rule  # applied to the route's answer by after
    sdid = (request.view_args or {}).get("storage_device_id")
    if sdid is not None and sdid != s.state.sdid:
        return errors.not_found(f"storageDeviceId = {sdid}").response()
    return None


def after(resp):
    """A fault on the answer, and the security headers."""
    rule = g.pop("sim_fault", None)
    if rule is not None:
        resp = faults.late_response(sim().faults, rule, resp)
    resp.headers.setdefault("Cache-Control", "no-store")
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    return resp


def http_error(exc: HTTPException):
    if exc.code == 404:
        return errors.not_found("URL").response()
    if exc.code == 405:
        return errors.ApiError(405, "KART40005-E", "The specified HTTP method is not supported.",
                               "The method is not supported for this URL.",
                               "Check the HTTP method.").response()
    return errors.ApiError(exc.code or 500, "KART40000-E", exc.description or exc.name,
                           exc.name, "Check the request.").response()


def internal_error(exc: Exception):
    # only the exception's type: a message could quote a request
    current_app.logger.error("internal error: %s", type(exc).__name__)
    return errors.ApiError(500, "KART00001-E", "An internal error occurred in the REST server.",
                           type(exc).__name__, "Contact the simulator's maintainers.").response()


class Outer:
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
