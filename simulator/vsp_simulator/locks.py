"""Routes: the resource-group lock service (locks are held per session)."""

from __future__ import annotations

from flask import Blueprint

from . import errors
from .web import auth, json_body, parameters, service_route, sim, submit
from .sessions import SEC_MODIFY, STO_PROV

WRITERS = (STO_PROV, SEC_MODIFY)


bp = Blueprint("locks", __name__)


@service_route(bp, "/resource-group-service/actions/lock/invoke", ["POST", "PUT"])
def lock(storage_device_id=None):
    session = auth(WRITERS)
    body = json_body(allowed={"parameters"})
    params = parameters(body, {"waitTime"})
    wait = params.get("waitTime", 0)
    if not isinstance(wait, int) or isinstance(wait, bool) or not 0 <= wait <= 7200:
        raise errors.invalid("waitTime", "Specify an integer from 0 to 7200.")
    s = sim()
    sid = session.session_id

    def effect():
        if sid not in s.sessions.sessions:
            raise errors.unauthorized()
        others = s.sessions.locks - {sid}
        if others:
            raise errors.ApiError(
                409, "KART40050-E", "The resource group is locked by another session.",
                "Another session holds the lock.", "Wait a while and then run the request again.",
                solution_type="RETRY", error_code={"SSB1": "2E11", "SSB2": "2205"})
        s.sessions.locks.add(sid)
        return []

    return submit(session, effect)


@service_route(bp, "/resource-group-service/actions/unlock/invoke", ["POST", "PUT"])
def unlock(storage_device_id=None):
    session = auth(WRITERS)
    json_body(allowed={"parameters"})
    s = sim()
    sid = session.session_id

    def effect():
        s.sessions.locks.discard(sid)
        return []

    return submit(session, effect)
