"""Routes: sessions, jobs, version and storage systems."""

from __future__ import annotations

import copy

from flask import Blueprint, request

from . import errors
from .web import BASE, OBJ, auth, json_body, obj_route, sim
from .query import int_arg
from .sessions import STO_VIEW

from .scenario import API_VERSION  # also importable from here, where it was defined


bp = Blueprint("sessions", __name__)


@bp.route(BASE + "/configuration/version", methods=["GET"])
def version():
    data = sim().state.data
    if "twin" in data:  # a twin answers the captured version, or 404 as the array did
        if data.get("api_version") is None:
            raise errors.not_found("URL")
        return errors.json_response(data["api_version"])
    return errors.json_response(API_VERSION)


def _storage_obj():
    s = sim()
    with s.state.lock:
        st = dict(s.state.storage)
    if "captured" in st:  # a twin: the storage system as the array sent it
        return copy.deepcopy(st["captured"])
    return {
        "storageDeviceId": st["storageDeviceId"], "model": st["model"],
        "serialNumber": st["serialNumber"], "ip": st.get("ctl1Ip"),
        "ctl1Ip": st.get("ctl1Ip"), "ctl2Ip": st.get("ctl2Ip"),
        "dkcMicroVersion": st["dkcMicroVersion"],
        "communicationModes": [{"communicationMode": "lanConnectionMode"}],
        "isSecure": True,
    }


@bp.route(OBJ + "/storages", methods=["GET"])
def storages():
    return errors.json_response({"data": [_storage_obj()]})


@bp.route(OBJ + "/storages/instance", methods=["GET"])
def storage_instance():
    auth(STO_VIEW)
    return errors.json_response(_storage_obj())


@bp.route(OBJ + "/storages/<storage_device_id>", methods=["GET"])
def storage_by_id(storage_device_id):
    auth(STO_VIEW)
    if storage_device_id != sim().state.sdid:
        raise errors.not_found(f"storageDeviceId = {storage_device_id}")
    return errors.json_response(_storage_obj())


@obj_route(bp, "/sessions", ["POST"])
def create_session(storage_device_id=None):
    body = json_body()
    sess = sim().sessions.login(request.headers.get("Authorization"), body, request.remote_addr)
    return errors.json_response({"token": sess.token, "sessionId": sess.session_id})


@obj_route(bp, "/sessions", ["GET"])
def list_sessions(storage_device_id=None):
    caller = auth()
    s = sim()
    with s.state.lock:
        data = [x.view() for x in s.sessions.sessions.values() if x.user == caller.user]
    return errors.json_response({"data": data})


def _session_id(raw):
    try:
        return int(raw)
    except ValueError:
        raise errors.not_found(f"sessionId = {raw}") from None


@obj_route(bp, "/sessions/<session_id>", ["GET"])
def get_session(session_id, storage_device_id=None):
    caller = auth()
    target = sim().sessions.get(_session_id(session_id))
    if target is None or target.user != caller.user:
        raise errors.not_found(f"sessionId = {session_id}")
    return errors.json_response(target.view())


@obj_route(bp, "/sessions/<session_id>", ["DELETE"])
def delete_session(session_id, storage_device_id=None):
    caller = auth()
    json_body(allowed={"force"})
    sim().sessions.logout(caller, _session_id(session_id))
    return errors.json_response({})


@obj_route(bp, "/jobs/<job_id>", ["GET"])
def get_job(job_id, storage_device_id=None):
    auth()
    s = sim()
    try:
        job = s.jobs.get(int(job_id))
    except ValueError:
        job = None
    if job is None:
        raise errors.not_found(f"jobId = {job_id}")
    return errors.json_response(s.jobs.view(job))


@obj_route(bp, "/jobs", ["GET"])
def list_jobs(storage_device_id=None):
    """[I] ``GET jobs``: the caller's jobs, newest first, at most ``count`` (1-100, default 100)."""
    caller = auth()
    count = int_arg("count", 1, 100, 100)
    s = sim()
    with s.state.lock:
        mine = [j for j in reversed(list(s.jobs.jobs.values())) if j.user == caller.user]
        data = [j.view() for j in mine[:count]]
    return errors.json_response({"data": data})
