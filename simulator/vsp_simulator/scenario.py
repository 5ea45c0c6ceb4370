"""Scenarios: load, merge with the default, and build the initial array state from one."""

from __future__ import annotations

import copy
import secrets
from importlib import resources

import yaml

from .users import scenario_users

FIXED_VALUES = {
    "VSP E990": "936000", "VSP E1090": "938000", "VSP E590": "934000", "VSP E790": "934000",
    "VSP G900": "886000", "VSP F900": "886000", "VSP G700": "886000", "VSP G370": "886000",
    "VSP G350": "882000", "VSP F350": "882000", "VSP G130": "880000", "VSP 5600": "900000",
}

DRIVE_TYPE = "SNB5B-R1R9NC"
DRIVE_TYPE_NAME = "SSD"
MAX_KEYS = 4096
# scenario switches (``options:``), all false by default
OPTIONS = ("pools_stay_blocked",)


API_VERSION = {"productName": "Configuration Manager REST API", "apiVersion": "1.31.0"}
# the builder of a twin's state from a capture: capture.build_state, set when capture.py is imported
# (simulator.py imports it), so that this module does not import capture.py (which imports it)
TWIN_BUILDER = [None]


class ScenarioError(ValueError):
    pass


def default_scenario():
    """The built-in scenario; its users are the default users of users.py."""
    text = resources.files("vsp_simulator").joinpath("data/default_scenario.yaml").read_text()
    scn = yaml.safe_load(text)
    scn["users"] = scenario_users()
    return scn


def load_file(path):
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping")
    return merge(data)


def merge(override, base=None):
    """Top-level keys given replace the base's (the default); missing ones keep the base's."""
    base = copy.deepcopy(base) if base is not None else default_scenario()
    if not override:
        return base
    if not isinstance(override, dict):
        raise ScenarioError("a scenario is a mapping")
    base.update(copy.deepcopy(override))
    return base


def _drive_location(n):
    return f"HDD{n // 24:02d}-{n % 24:02d}"


def _ldev(ldev_id, kind, pg=None, pool=None, blocks=41943040):
    obj = {
        "ldevId": ldev_id, "clprId": 0, "emulationType": "OPEN-V-CVS",
        "byteFormatCapacity": f"{blocks * 512 / 2**30:.2f} G", "blockCapacity": blocks,
        "status": "NML", "mpBladeId": ldev_id % 4, "ssid": "0004", "resourceGroupId": 0,
        "isAluaEnabled": False,
    }
    if kind == "dp":
        obj.update({"attributes": ["CVS", "HDP"], "poolId": pool, "numOfUsedBlock": 0,
                    "dataReductionStatus": "DISABLED", "dataReductionMode": "disabled"})
    else:
        obj.update({"attributes": ["CVS", "POOL"] if kind == "pool" else ["CVS"],
                    "raidLevel": "RAID5", "raidType": "3D+1P", "numOfParityGroups": 1,
                    "parityGroupIds": [pg], "driveType": DRIVE_TYPE,
                    "driveByteFormatCapacity": "1.74 T", "driveBlockCapacity": 3750000128})
        if kind == "pool":
            obj["composingPoolId"] = pool
    return obj


def build_state(scn):
    """Build the array's state (a JSON-able dict) from a merged scenario."""
    if scn.get("capture") is not None:
        users = {str(u["name"]): {"password": str(u["password"]),
                                  "roles": list(u.get("roles") or [])}
                 for u in scn.get("users") or []}
        return TWIN_BUILDER[0](scn["capture"], users)
    try:
        return _build(scn)
    except (KeyError, TypeError, ValueError) as exc:
        raise ScenarioError(f"invalid scenario: {exc!r}") from exc


def _build(scn):
    st = dict(scn.get("storage") or {})
    st.setdefault("model", "VSP E990")
    st["serialNumber"] = int(st.get("serialNumber", 412345))
    if "storageDeviceId" not in st:
        fixed = FIXED_VALUES.get(st["model"], "936000")
        st["storageDeviceId"] = fixed + f"{st['serialNumber']:06d}"
    st["storageDeviceId"] = str(st["storageDeviceId"])
    st.setdefault("dkcMicroVersion", "93-07-01-80/00")
    st.setdefault("ctl1Ip", "192.0.2.11")
    st.setdefault("ctl2Ip", "192.0.2.12")

    users = {}
    for u in scn.get("users") or []:
        users[str(u["name"])] = {"password": str(u["password"]),
                                 "roles": list(u.get("roles") or [])}

    key_cfg = scn.get("keys") or {}
    ktime = str(key_cfg.get("created_time", "2026-01-05T09:00:00Z"))
    pools = {}
    for p in scn.get("pools") or []:
        pid = int(p["id"])
        pools[str(pid)] = {"poolId": pid, "poolName": str(p.get("name", f"pool{pid}"))}

    drives, pgs, ldevs, keys = {}, {}, {}, {}
    next_ldev = int(scn.get("first_ldev_id", 0))
    n_drive = 0

    def add_key(key_type, location="-"):
        kid = str(len(keys))
        keys[kid] = {"keyId": kid, "createdTime": ktime, "keyType": key_type, "uuid": "-",
                     "targetDeviceLocation": location, "keyGeneratedLocation": "DKC",
                     "numOfBackups": 0, "lost": False, "material": secrets.token_hex(32)}

    for pg in scn.get("parity_groups") or []:
        pgid = str(pg["id"])
        if pgid in pgs:
            raise ScenarioError(f"duplicate parity group {pgid}")
        enc = bool(pg.get("encrypted", False))
        locs = []
        for _ in range(int(pg.get("drives", 4))):
            loc = _drive_location(n_drive)
            n_drive += 1
            locs.append(loc)
            drives[loc] = {"driveLocationId": loc, "driveTypeName": DRIVE_TYPE_NAME,
                           "driveSpeed": 0, "totalCapacity": 1920, "driveType": DRIVE_TYPE,
                           "usageType": "DATA", "status": "NML", "parityGroupId": pgid,
                           "serialNumber": f"SIM{n_drive:08d}"}
            if enc:
                add_key("DEK", loc)
        pgs[pgid] = {"parityGroupId": pgid, "encrypted": enc, "driveLocationIds": locs}
        specs = pg.get("pool_volumes") or []
        if isinstance(specs, dict):
            specs = [specs]
        for spec in specs:
            pool = int(spec["pool"])
            if str(pool) not in pools:
                pools[str(pool)] = {"poolId": pool, "poolName": f"pool{pool}"}
            for _ in range(int(spec.get("count", 1))):
                ldevs[str(next_ldev)] = _ldev(next_ldev, "pool", pg=pgid, pool=pool)
                next_ldev += 1
        for _ in range(int(pg.get("basic_ldevs", 0))):
            ldevs[str(next_ldev)] = _ldev(next_ldev, "basic", pg=pgid, blocks=4194304)
            next_ldev += 1

    for spec in scn.get("dp_volumes") or []:
        pool = int(spec["pool"])
        if str(pool) not in pools:
            raise ScenarioError(f"dp_volumes: unknown pool {pool}")
        for _ in range(int(spec.get("count", 1))):
            ldevs[str(next_ldev)] = _ldev(next_ldev, "dp", pool=pool, blocks=8388608)
            next_ldev += 1

    for _ in range(int(key_cfg.get("cek", 1))):
        add_key("CEK")
    for _ in range(int(key_cfg.get("kek", 1))):
        add_key("KEK")
    for _ in range(int(key_cfg.get("free", 8))):
        add_key("FREE")
    if len(keys) > MAX_KEYS:
        raise ScenarioError(f"more than {MAX_KEYS} keys")

    kms_cfg = dict(scn.get("kms") or {})
    kms = {"configured": bool(kms_cfg.get("configured", False)),
           "auto_backup": bool(kms_cfg.get("auto_backup", True)), "key_ids": [], "backups": 0}
    if kms["configured"] and kms["auto_backup"]:
        kms["key_ids"] = sorted(keys, key=int)
    options = dict(scn.get("options") or {})
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ScenarioError(f"options: unknown option(s) {', '.join(unknown)} "
                            f"(known: {', '.join(OPTIONS)})")
    for name, value in options.items():
        if not isinstance(value, bool):
            raise ScenarioError(f"options: {name} must be true or false")
    return {"storage": st, "users": users, "options": options, "drives": drives,
            "parity_groups": pgs, "pools": pools, "ldevs": ldevs, "keys": keys, "kms": kms}
