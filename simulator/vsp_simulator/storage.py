"""Routes: LDEVs (pool volumes), change-status, pools, pool recover, parity groups, drives."""

from __future__ import annotations

from flask import Blueprint, request

from . import errors
from .web import OBJ, auth, json_body, obj_route, parameters, sim, submit
from .query import int_arg
from .sessions import STO_PROV, STO_VIEW

LDEV_OPTIONS = ("defined", "undefined", "dpVolume", "luMapped", "luUnmapped", "externalVolume")
LDEV_QUERY = {"poolId", "parityGroupId", "ldevOption", "count", "headLdevId", "resourceGroupId",
              "journalId", "detailInfoType"}


bp = Blueprint("storage", __name__)


@obj_route(bp, "/ldevs", ["GET"])
def list_ldevs(storage_device_id=None):
    auth(STO_VIEW)
    for k in request.args:
        if k not in LDEV_QUERY:
            raise errors.unsupported(k)
    count = int_arg("count", 1, 16384, 100)
    head = int_arg("headLdevId", 0, 65279, 0)
    pool_id = int_arg("poolId", 0, 127)
    rg = int_arg("resourceGroupId", 0, 1023)
    pg_id = request.args.get("parityGroupId")
    option = request.args.get("ldevOption")
    if option is not None and option not in LDEV_OPTIONS:
        raise errors.invalid("ldevOption", "Specify one of " + ", ".join(LDEV_OPTIONS) + ".")
    s = sim()
    with s.state.lock:
        out = []
        for ldev in sorted(s.state.data["ldevs"].values(), key=lambda v: v["ldevId"]):
            if ldev["ldevId"] < head:
                continue
            is_dp = "HDP" in (ldev.get("attributes") or [])
            if option in ("undefined", "luMapped", "externalVolume"):
                continue
            if option == "dpVolume" and not is_dp:
                continue
            if pool_id is not None:
                # [I] ?poolId=N alone lists the pool's pool volumes; with dpVolume, its DP volumes
                key = "poolId" if option == "dpVolume" else "composingPoolId"
                if ldev.get(key) != pool_id:
                    continue
            if pg_id is not None and pg_id not in ldev.get("parityGroupIds", []):
                continue
            if rg is not None and ldev.get("resourceGroupId") != rg:
                continue
            out.append(s.state.ldev_view(ldev))
            if len(out) >= count:
                break
    return errors.json_response({"data": out})


def _ldev(ldev_id):
    try:
        key = str(int(ldev_id))
    except ValueError:
        raise errors.not_found(f"ldevId = {ldev_id}") from None
    ldev = sim().state.data["ldevs"].get(key)
    if ldev is None:
        raise errors.not_found(f"ldevId = {ldev_id}")
    return ldev


@obj_route(bp, "/ldevs/<ldev_id>", ["GET"])
def get_ldev(ldev_id, storage_device_id=None):
    auth(STO_VIEW)
    s = sim()
    with s.state.lock:
        return errors.json_response(s.state.ldev_view(_ldev(ldev_id)))


@obj_route(bp, "/ldevs/<ldev_id>/actions/change-status/invoke", ["POST", "PUT"])
def change_status(ldev_id, storage_device_id=None):
    session = auth(STO_PROV)
    body = json_body(allowed={"parameters"})
    params = parameters(body, {"status"})
    if "status" not in params:
        raise errors.required("status")
    status = params["status"]
    if status not in ("blk", "nml"):
        raise errors.invalid("status", "Specify blk or nml.")
    s = sim()
    with s.state.lock:
        ldev = _ldev(ldev_id)
    url = f"/ConfigurationManager/v1/objects/ldevs/{ldev['ldevId']}"
    key = str(ldev["ldevId"])

    def effect():
        state = s.state
        target = state.data["ldevs"].get(key)
        if target is None:
            raise errors.not_found(f"ldevId = {key}")
        if status == "nml":
            lost = set(state.lost_parity_groups()) & set(target.get("parityGroupIds", []))
            if lost:
                raise errors.storage_error(
                    "The volume cannot be recovered because the encryption keys of parity group "
                    f"{', '.join(sorted(lost))} are lost. Restore the encryption keys first.",
                    ssb1="B9E1", ssb2="9D14")
        target["status"] = "NML" if status == "nml" else "BLK"
        if status == "blk" and state.option("pools_stay_blocked") and "composingPoolId" in target:
            # scenario option: the pool stays blocked after its volumes recover, until
            # POST pools/{id}/actions/recover/invoke
            pool = state.data["pools"].get(str(target["composingPoolId"]))
            if pool is not None:
                pool["blocked"] = True
        state.save()
        return [url]

    return submit(session, effect)


def _pool(pool_id):
    try:
        key = str(int(pool_id))
    except ValueError:
        raise errors.not_found(f"poolId = {pool_id}") from None
    pool = sim().state.data["pools"].get(key)
    if pool is None:
        raise errors.not_found(f"poolId = {pool_id}")
    return pool


@obj_route(bp, "/pools", ["GET"])
def list_pools(storage_device_id=None):
    auth(STO_VIEW)
    s = sim()
    with s.state.lock:
        data = [s.state.pool_view(p)
                for p in sorted(s.state.data["pools"].values(), key=lambda p: p["poolId"])]
    return errors.json_response({"data": data})


@obj_route(bp, "/pools/<pool_id>", ["GET"])
def get_pool(pool_id, storage_device_id=None):
    auth(STO_VIEW)
    s = sim()
    with s.state.lock:
        return errors.json_response(s.state.pool_view(_pool(pool_id)))


@obj_route(bp, "/pools/<pool_id>/actions/recover/invoke", ["POST", "PUT"])
def recover_pool(pool_id, storage_device_id=None):
    session = auth(STO_PROV)
    json_body(allowed=set())
    s = sim()
    with s.state.lock:
        pool = _pool(pool_id)
        if s.state.pool_view(pool)["poolStatus"] != "POLE":
            raise errors.precondition("The pool is not in the blocked status.")
    pid = pool["poolId"]
    url = f"/ConfigurationManager/v1/objects/pools/{pid}"

    def effect():
        state = s.state
        vols = state.pool_volumes(pool_id=pid)
        lost = set(state.lost_parity_groups())
        bad = sorted({pg for v in vols for pg in v.get("parityGroupIds", []) if pg in lost})
        if bad:
            raise errors.storage_error(
                "The pool cannot be recovered because the encryption keys of parity group "
                f"{', '.join(bad)} are lost. Restore the encryption keys first.",
                ssb1="B9E1", ssb2="9D14")
        for v in vols:
            v["status"] = "NML"
        target = state.data["pools"].get(str(pid))
        if target is not None:
            target.pop("blocked", None)
        state.save()
        return [url]

    return submit(session, effect)


@obj_route(bp, "/parity-groups", ["GET"])
def list_pgs(storage_device_id=None):
    auth(STO_VIEW)
    s = sim()
    with s.state.lock:
        data = [s.state.pg_view(p) for p in s.state.data["parity_groups"].values()]
    return errors.json_response({"data": data})


@obj_route(bp, "/parity-groups/<pg_id>", ["GET"])
def get_pg(pg_id, storage_device_id=None):
    auth(STO_VIEW)
    s = sim()
    with s.state.lock:
        pg = s.state.data["parity_groups"].get(pg_id)
        if pg is None:
            raise errors.not_found(f"parityGroupId = {pg_id}")
        return errors.json_response(s.state.pg_view(pg))


@obj_route(bp, "/external-parity-groups", ["GET"])
def list_external_pgs(storage_device_id=None):
    """External parity groups: the simulator has none, so an empty list (as an array without
    external storage answers; Hitachi's collection reads this whenever it lists parity groups)."""
    auth(STO_VIEW)
    return errors.json_response({"data": []})


@obj_route(bp, "/external-parity-groups/<pg_id>", ["GET"])
def get_external_pg(pg_id, storage_device_id=None):
    auth(STO_VIEW)
    raise errors.not_found(f"externalParityGroupId = {pg_id}")


@obj_route(bp, "/drives", ["GET"])
def list_drives(storage_device_id=None):
    auth(STO_VIEW)
    pg_id = request.args.get("parityGroupId")
    s = sim()
    with s.state.lock:
        data = [s.state.drive_view(d) for d in s.state.data["drives"].values()
                if pg_id is None or d.get("parityGroupId") == pg_id]
    return errors.json_response({"data": data})


@obj_route(bp, "/drives/<location>", ["GET"])
def get_drive(location, storage_device_id=None):
    auth(STO_VIEW)
    s = sim()
    with s.state.lock:
        d = s.state.data["drives"].get(location)
        if d is None:
            raise errors.not_found(f"driveLocationId = {location}")
        return errors.json_response(s.state.drive_view(d))


__all__ = ["bp", "OBJ"]
