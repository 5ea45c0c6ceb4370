"""The Flask application factory: the hooks and the blueprints of the route modules."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException

from . import control, errors, hooks, keys, locks, sessions_api, storage
from .simulator import Simulator

BLUEPRINTS = (sessions_api.bp, storage.bp, keys.bp, locks.bp, control.bp)


def create_app(simulator: Simulator) -> Flask:
    """A Flask app serving ``simulator`` (array API and control API)."""
    app = Flask("vsp_simulator")
    app.config["SIM"] = simulator
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024
    app.before_request(hooks.before)
    app.after_request(hooks.after)
    app.register_error_handler(errors.ApiError, lambda e: e.response())
    app.register_error_handler(HTTPException, hooks.http_error)
    app.register_error_handler(Exception, hooks.internal_error)
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    app.wsgi_app = hooks.Outer(app.wsgi_app, simulator)
    return app
