"""Routes: encryption keys — list, get, create, delete, backup and restore (file and KMS)."""

from __future__ import annotations

import re
import secrets
import time
from datetime import datetime, timezone

from flask import Blueprint, Response, request

from . import errors, keyfile
from .web import OBJ, auth, json_body, obj_route, parameters, sim, submit
from .scenario import MAX_KEYS
from .query import int_arg
from .sessions import SEC_MODIFY, SEC_VIEW

KEY_TYPES = ("DEK", "CEK", "KEK", "FREE", "DEKANDFREE")
PAGED_TYPES = ("DEK", "FREE", "DEKANDFREE")
LIST_QUERY = {"keyType", "startKeyId", "count", "startCreatedTime", "endCreatedTime"}
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
KEYS_URL = "/ConfigurationManager/v1/objects/encryption-keys"


bp = Blueprint("keys", __name__)


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _parse_time(name):
    raw = request.args.get(name)
    if raw is None:
        return None
    if not TIME_RE.match(raw):
        raise errors.invalid(name, "Specify the time as YYYY-MM-DDThh:mm:ssZ.")
    try:
        datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise errors.invalid(name, "Specify the time as YYYY-MM-DDThh:mm:ssZ.") from None
    return raw


@obj_route(bp, "/encryption-keys", ["GET"])
def list_keys(storage_device_id=None):
    auth(SEC_VIEW)
    for k in request.args:
        if k not in LIST_QUERY:
            raise errors.unsupported(k)
    key_type = request.args.get("keyType")
    if key_type is None:
        raise errors.required("keyType")
    if key_type not in KEY_TYPES:
        raise errors.invalid("keyType", "Specify DEK, CEK, KEK, FREE or DEKANDFREE.")
    if key_type not in PAGED_TYPES:
        for k in ("startKeyId", "count", "startCreatedTime", "endCreatedTime"):
            if k in request.args:
                raise errors.invalid(k, "This parameter can be specified only when keyType is "
                                        "DEK, FREE or DEKANDFREE.")
    start = int_arg("startKeyId", 0, 4095, 0)
    count = int_arg("count", 1, 1024, 1024)
    t_from, t_to = _parse_time("startCreatedTime"), _parse_time("endCreatedTime")
    if t_from and t_to and not t_from < t_to:
        raise errors.invalid("startCreatedTime", "Specify a time earlier than endCreatedTime.")
    types = ("DEK", "FREE") if key_type == "DEKANDFREE" else (key_type,)
    s = sim()
    with s.state.lock:
        out = []
        for key in sorted(s.state.data["keys"].values(), key=lambda k: int(k["keyId"])):
            if key["lost"] or key["keyType"] not in types or int(key["keyId"]) < start:
                continue
            if t_from and key["createdTime"] < t_from or t_to and key["createdTime"] > t_to:
                continue
            out.append(s.state.key_view(key))
            if len(out) >= count:
                break
    return errors.json_response({"data": out})


def _key(key_id):
    key = sim().state.data["keys"].get(key_id)
    if key is None or key["lost"] or not key_id.isdigit():
        raise errors.not_found(f"keyId = {key_id}")
    return key


@obj_route(bp, "/encryption-keys/<key_id>", ["GET"])
def get_key(key_id, storage_device_id=None):
    auth(SEC_VIEW)
    s = sim()
    with s.state.lock:
        key = _key(key_id)
        if key["keyType"] not in ("DEK", "FREE"):
            # [I] CEK/KEK are only reachable through the list
            raise errors.not_found(f"keyId = {key_id}")
        return errors.json_response(s.state.key_view(key))


def _no_lock(session):
    s = sim()
    with s.state.lock:
        if session.session_id in s.sessions.locks:
            raise errors.locked_by_session()


@obj_route(bp, "/encryption-keys", ["POST"])
def create_keys(storage_device_id=None):
    session = auth(SEC_MODIFY)
    body = json_body(allowed={"count"})
    if "count" not in body:
        raise errors.required("count")
    count = body["count"]
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise errors.invalid("count", "Specify an integer of 1 or more.")
    _no_lock(session)
    s = sim()

    def effect():
        keys = s.state.data["keys"]
        if len(keys) + count > MAX_KEYS:
            raise errors.ApiError(
                400, "KART40039-E",
                f"The number of keys would exceed the maximum ({MAX_KEYS}). No key was created.",
                "Too many keys were requested.", "Delete unneeded FREE keys or request fewer.")
        free_ids = (str(i) for i in range(MAX_KEYS) if str(i) not in keys)
        now = _now()
        for _ in range(count):
            kid = next(free_ids)
            keys[kid] = {"keyId": kid, "createdTime": now, "keyType": "FREE", "uuid": "-",
                         "targetDeviceLocation": "-", "keyGeneratedLocation": "DKC",
                         "numOfBackups": 0, "lost": False, "material": secrets.token_hex(32)}
            kms = s.state.data["kms"]
            if kms["configured"] and kms["auto_backup"]:
                kms["key_ids"] = sorted(set(kms["key_ids"]) | {kid}, key=int)
        s.state.save()
        return []

    return submit(session, effect)


@obj_route(bp, "/encryption-keys/<key_id>", ["DELETE"])
def delete_key(key_id, storage_device_id=None):
    session = auth(SEC_MODIFY)
    s = sim()
    with s.state.lock:
        key = _key(key_id)
        if key["keyType"] != "FREE":
            raise errors.precondition(f"Only FREE keys can be deleted. (keyId = {key_id}, "
                                      f"keyType = {key['keyType']})")
    _no_lock(session)
    url = f"{KEYS_URL}/{key_id}"

    def effect():
        current = s.state.data["keys"].get(key_id)
        if current is None or current["lost"]:
            raise errors.not_found(f"keyId = {key_id}")
        if current["keyType"] != "FREE":
            raise errors.precondition("Only FREE keys can be deleted.")
        del s.state.data["keys"][key_id]
        kms = s.state.data["kms"]
        kms["key_ids"] = [k for k in kms["key_ids"] if k != key_id]
        s.state.save()
        return [url]

    return submit(session, effect)


@obj_route(bp, "/encryption-keys/file/actions/backup/invoke", ["POST", "PUT"])
def backup_file(storage_device_id=None):
    session = auth(SEC_MODIFY)
    accept = request.headers.get("Accept")
    if accept and not request.accept_mimetypes.accept_json and not (
            request.accept_mimetypes["application/octet-stream"]):
        raise errors.ApiError(406, "KART40007-E", "The Accept header is not supported.",
                              "The response cannot be produced in the requested format.",
                              "Specify application/octet-stream in the Accept header.")
    body = json_body(allowed={"parameters"})
    params = parameters(body, {"password"})
    if "password" not in params:
        raise errors.required("password")
    password = params["password"]
    if not keyfile.password_ok(password):
        raise errors.invalid("password", "Specify 6 to 255 characters: alphanumerics and "
                                         "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ (no space).")
    _no_lock(session)
    s = sim()
    with s.state.lock:
        sdid = s.state.sdid
        included = [k for k in s.state.data["keys"].values() if not k["lost"]]
        payload = {
            "format": 1, "storageDeviceId": sdid,
            "serialNumber": s.state.storage["serialNumber"], "createdTime": _now(),
            "keys": [{"keyId": k["keyId"], "keyType": k["keyType"],
                      "createdTime": k["createdTime"],
                      "targetDeviceLocation": k["targetDeviceLocation"],
                      "keyGeneratedLocation": k.get("keyGeneratedLocation", "DKC"),
                      "material": k["material"]} for k in included],
        }
        for k in included:
            k["numOfBackups"] += 1
        s.state.save()
    blob = keyfile.seal(payload, password)
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    resp = Response(blob, status=200, mimetype="application/octet-stream")
    resp.headers["Content-Disposition"] = f'attachment; filename="{sdid}_{stamp}.ekf"'
    resp.headers["Content-Length"] = str(len(blob))
    return resp


def _require_kms(state):
    if not state.data["kms"]["configured"]:
        raise errors.precondition("No key management server is configured.",
                                  solution="Configure the key management server and run the "
                                           "request again.")


def _restore_allowed(state):
    """412 while any pool volume of a parity group with lost keys is not blocked."""
    lost = state.lost_parity_groups()
    not_blocked = sorted(v["ldevId"] for pg in lost for v in state.pool_volumes(pg_id=pg)
                         if v["status"] != "BLK")
    if not_blocked:
        raise errors.precondition(
            "The encryption keys cannot be restored because a pool volume of a parity group "
            f"whose keys were lost is not blocked. (parity groups = {', '.join(lost)}; "
            f"ldevIds not blocked = {', '.join(str(x) for x in not_blocked[:32])})",
            cause="All pool volumes that belong to the parity group for which the key is "
                  "configured must be blocked before the encryption keys are restored.",
            solution="Block every pool volume of those parity groups, then run the request again.")


def _restore(state, key_ids, materials=None):
    """Make the lost keys among ``key_ids`` available again; the count restored."""
    keys = state.data["keys"]
    n = 0
    for kid in key_ids:
        key = keys.get(kid)
        if key is not None and key["lost"]:
            key["lost"] = False
            if materials and kid in materials:
                key["material"] = materials[kid]
            n += 1
    return n


@obj_route(bp, "/encryption-keys/kms/actions/backup/invoke", ["POST", "PUT"])
def backup_kms(storage_device_id=None):
    session = auth(SEC_MODIFY)
    body = json_body(allowed={"parameters"})
    params = parameters(body, {"keyIds"})
    key_ids = params.get("keyIds")
    s = sim()
    with s.state.lock:
        _require_kms(s.state)
        if key_ids is not None:
            if not isinstance(key_ids, list) or not key_ids:
                raise errors.invalid("keyIds", "Specify a list of key IDs.")
            for kid in key_ids:
                _key(str(kid))
    _no_lock(session)

    def effect():
        keys = s.state.data["keys"]
        ids = [str(k) for k in key_ids] if key_ids is not None else list(keys)
        ids = [k for k in ids if k in keys and not keys[k]["lost"]]
        for kid in ids:
            keys[kid]["numOfBackups"] += 1
        kms = s.state.data["kms"]
        kms["key_ids"] = sorted(set(kms["key_ids"]) | set(ids), key=int)
        kms["backups"] += 1
        s.state.save()
        return []

    return submit(session, effect)


@obj_route(bp, "/encryption-keys/file/actions/restore/invoke", ["POST", "PUT"])
def restore_file(storage_device_id=None):
    session = auth(SEC_MODIFY)
    if request.mimetype != "multipart/form-data":
        raise errors.ApiError(415, "KART40008-E", "The Content-Type is not supported.",
                              "The request must be multipart/form-data.",
                              "Send the parts file and password as multipart/form-data.")
    upload = request.files.get("file")
    if upload is None:
        raise errors.required("file")
    password = request.form.get("password")
    if password is None and "password" in request.files:
        password = request.files["password"].read().decode("utf-8", "replace").strip()
    if password is None:
        raise errors.required("password")
    blob = upload.read()
    s = sim()
    with s.state.lock:
        _restore_allowed(s.state)
        sdid = s.state.sdid
    try:
        payload = keyfile.open_file(blob, password)
    except keyfile.WrongPassword:
        raise errors.ApiError(400, "KART40060-E",
                              "The encryption keys cannot be restored: the password is incorrect.",
                              "The password does not match the one set when the backup file "
                              "was created.", "Specify the correct password.") from None
    except keyfile.DamagedFile:
        raise errors.ApiError(400, "KART40061-E",
                              "The encryption keys cannot be restored: the backup file is "
                              "damaged or is not an encryption key backup file.",
                              "The file cannot be read.",
                              "Specify an undamaged encryption key backup file.") from None
    if str(payload.get("storageDeviceId")) != sdid:
        raise errors.ApiError(400, "KART40062-E",
                              "The encryption keys cannot be restored: the backup file was "
                              "created on another storage system.",
                              "The storage system of the file does not match.",
                              "Specify a backup file of this storage system.")
    materials = {str(k["keyId"]): k.get("material") for k in payload["keys"]}

    def effect():
        _restore_allowed(s.state)
        _restore(s.state, list(materials), materials)
        s.state.save()
        return []

    return submit(session, effect)


@obj_route(bp, "/encryption-keys/all/actions/kms-restore/invoke", ["POST", "PUT"])
def restore_kms(storage_device_id=None):
    session = auth(SEC_MODIFY)
    json_body()  # [I] body {} — lenient: anything JSON is accepted
    s = sim()
    with s.state.lock:
        _require_kms(s.state)
        _restore_allowed(s.state)

    def effect():
        _require_kms(s.state)
        _restore_allowed(s.state)
        _restore(s.state, list(s.state.data["kms"]["key_ids"]))
        s.state.save()
        return []

    return submit(session, effect)


__all__ = ["bp", "OBJ"]
