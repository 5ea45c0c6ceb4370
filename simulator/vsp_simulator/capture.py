"""A twin of a real array: the simulator state built from a capture (vsp.encryption.array_capture).

A capture is untrusted input. :func:`load_file` reads at most :data:`MAX_BYTES` of one regular
file and :func:`validate` checks its shape, sizes, types and id ranges before anything is built;
every refusal is a :class:`CaptureError` naming the answer and the field. Nothing in a capture is
used as a path, a URL or code: the answers' ``path`` texts are only compared with the known
endpoints, and an answer of another endpoint is ignored (and reported).

:func:`fidelity` compares each captured object with what the simulator's own model would answer
for it, and lists the calls of the procedure that the capture has no answer for (the twin answers
them from its model). :func:`write_report` writes that report as files a person reads and attaches
to an issue (Markdown and JSON, mode 0600, atomically, never through a symbolic link).
"""

from __future__ import annotations

import copy
import json
import os
import re
import secrets
import stat

from . import files
from . import scenario as scenario_mod
from .scenario import API_VERSION, DRIVE_TYPE, DRIVE_TYPE_NAME, MAX_KEYS, ScenarioError, _ldev
from .state import KEY_FIELDS, ArrayState

FORMAT = "vsp.encryption.array_capture"
FORMAT_VERSIONS = (1,)
MAX_BYTES = 64 * 1024 * 1024
MAX_ANSWERS = 4096
MAX_DEPTH = 12
MAX_TEXT = 4096
MAX_LDEVS = 65280
MAX_POOLS = 128
MAX_GROUPS = 4096
MAX_DRIVES = 8192
MAX_JOBS = 1000
KEY_TYPES = ("DEK", "CEK", "KEK", "FREE")
STORAGE_ID_RE = re.compile(r"^[0-9]{12}\Z")
PG_RE = re.compile(r"^E?[0-9]{1,3}-[0-9]{1,3}\Z")
LOCATION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
KEY_ID_RE = re.compile(r"^[0-9]{1,4}\Z")
TIME_RE = re.compile(r"^[0-9T:.Z+-]{1,40}\Z")
LONG_FORM_RE = re.compile(r"^/v1/objects/storages/[0-9]{12}(/.*)\Z")
KNOWN = (
    "/configuration/version",
    "/v1/objects/storages/instance",
    "/v1/objects/storages",
    "/v1/objects/parity-groups",
    "/v1/objects/drives",
    "/v1/objects/ldevs",
    "/v1/objects/pools",
    "/v1/objects/encryption-keys",
    "/v1/objects/jobs",
)


class CaptureError(ScenarioError):
    """A capture that is refused: the message names the answer and the rule."""


def load_file(path):
    """The validated capture in ``path`` (a regular file of at most MAX_BYTES, JSON)."""
    return validate(read_raw(path))


def read_raw(path):
    """The JSON document in ``path``: a regular file of at most MAX_BYTES (nothing else is read)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise CaptureError(f"--capture {path}: cannot be opened: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise CaptureError(f"--capture {path}: not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        raise CaptureError(
            f"--capture {path}: larger than {MAX_BYTES} bytes (64 MiB); a capture of the "
            "largest array is far smaller"
        )
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CaptureError(
            f"--capture {path}: not a JSON capture ({type(exc).__name__}: {str(exc)[:120]})"
        ) from None
    if not isinstance(doc, dict):
        raise CaptureError(f"--capture {path}: a capture is a JSON object")
    return doc


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _fail(where, rule):
    raise CaptureError(f"capture: {where}: {rule}")


def _check_depth(value, where, depth=0):
    if depth > MAX_DEPTH:
        _fail(where, f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for k, v in value.items():
            if len(k) > 128:
                _fail(where, "a field name longer than 128 characters")
            _check_depth(v, where, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _check_depth(v, where, depth + 1)
    elif isinstance(value, str) and len(value) > MAX_TEXT:
        _fail(where, f"a text longer than {MAX_TEXT} characters")


def _int(obj, field, lo, hi, where):
    value = obj.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        _fail(where, f"{field} must be an integer from {lo} to {hi}, not {_shown(value)}")
    return value


def _text(obj, field, regex, where, rule):
    value = obj.get(field)
    if not isinstance(value, str) or not regex.match(value):
        _fail(where, f"{field} must be {rule}, not {_shown(value)}")
    return value


def _shown(value):
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _data(body, where, cap):
    items = body.get("data") if isinstance(body, dict) else None
    if not isinstance(items, list):
        _fail(where, 'the body must be an object with a "data" list')
    if len(items) > cap:
        _fail(where, f"more than {cap} objects")
    for item in items:
        if not isinstance(item, dict):
            _fail(where, "an entry of data is not an object")
    return items


def _check_ldev(ld, where):
    where = f"{where}: LDEV {_shown(ld.get('ldevId'))}"
    _int(ld, "ldevId", 0, 65279, where)
    attrs = ld.get("attributes", [])
    if not isinstance(attrs, list) or not all(isinstance(a, str) for a in attrs):
        _fail(where, "attributes must be a list of texts")
    if not isinstance(ld.get("status", "NML"), str):
        _fail(where, "status must be a text")
    for field in ("composingPoolId", "poolId"):
        if field in ld:
            _int(ld, field, 0, 127, where)
    if "parityGroupIds" in ld:
        groups = ld["parityGroupIds"]
        if not isinstance(groups, list) or not all(
            isinstance(g, str) and PG_RE.match(g) for g in groups
        ):
            _fail(where, "parityGroupIds must be a list of parity group ids such as 1-1")
    if "POOL" in attrs and "composingPoolId" not in ld:
        _fail(where, "a pool volume (attribute POOL) without composingPoolId")
    if "POOL" in attrs and not isinstance(ld.get("status"), str):
        _fail(where, "a pool volume (attribute POOL) without a status text (NML, BLK...)")


def validate(doc):
    """The capture ``doc`` checked and sorted into objects: a dict for :func:`build_state`."""
    if not isinstance(doc, dict):
        _fail("the document", "must be a JSON object")
    if doc.get("format") != FORMAT:
        _fail("format", f"must be {FORMAT!r} (a file written by vsp.encryption.array_capture)")
    if doc.get("format_version") not in FORMAT_VERSIONS:
        _fail(
            "format_version",
            f"must be one of {', '.join(map(str, FORMAT_VERSIONS))}, not "
            f"{_shown(doc.get('format_version'))} (a newer capture needs a newer simulator)",
        )
    answers = doc.get("answers")
    if not isinstance(answers, list) or not answers:
        _fail("answers", "must be a non-empty list")
    if len(answers) > MAX_ANSWERS:
        _fail("answers", f"more than {MAX_ANSWERS} answers")
    out = {
        "version": None,
        "storage": None,
        "parity_groups": {},
        "drives": {},
        "ldevs": {},
        "pools": {},
        "keys": {},
        "ignored": [],
        "answered": set(),
        "redacted": doc.get("redacted") is True,
    }
    for i, ans in enumerate(answers):
        where = f"answers[{i}]"
        if not isinstance(ans, dict):
            _fail(where, "must be an object")
        path, query, status = ans.get("path"), ans.get("query", {}), ans.get("status")
        if ans.get("method") != "GET":
            _fail(
                where, "method must be GET (a capture holds only what the array answered to reads)"
            )
        if not isinstance(path, str) or len(path) > 256:
            _fail(where, "path must be a text of at most 256 characters")
        if (
            not isinstance(query, dict)
            or len(query) > 8
            or not all(
                isinstance(v, (str, int)) and not isinstance(v, bool) for v in query.values()
            )
        ):
            _fail(where, "query must be an object of at most 8 texts or integers")
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            _fail(where, "status must be an HTTP status")
        where = f"{where} (GET {path[:80]})"
        _check_depth(ans.get("body"), where)
        m = LONG_FORM_RE.match(path)
        short = "/v1/objects" + m.group(1) if m else path
        if short not in KNOWN:
            out["ignored"].append(path[:80])
            continue
        if status != 200:
            out["answered"].add(short + "#" + str(status))
            continue
        _take(out, short, query, ans.get("body"), where)
    _cross_check(out)
    return out


def _take(out, short, query, body, where):
    out["answered"].add(short + "?" + "&".join(sorted(query)))
    if short == "/configuration/version":
        if not isinstance(body, dict) or not isinstance(body.get("apiVersion"), str):
            _fail(where, "the version must be an object with an apiVersion text")
        out["version"] = body
    elif short in ("/v1/objects/storages/instance", "/v1/objects/storages"):
        objs = [body] if short.endswith("instance") else _data(body, where, 16)
        out["answered"].add("/v1/objects/storages/instance?")  # either answers the identity
        for st in objs:
            if not isinstance(st, dict):
                _fail(where, "the storage system must be an object")
            _text(st, "storageDeviceId", STORAGE_ID_RE, where, "a text of 12 digits")
            _int(st, "serialNumber", 0, 999999999, where)
            if not isinstance(st.get("model"), str) or not st["model"]:
                _fail(where, "model must be a text")
            if out["storage"] and out["storage"]["storageDeviceId"] != st["storageDeviceId"]:
                continue  # another storage system of the same REST server: not this twin's
            out["storage"] = st
    elif short == "/v1/objects/parity-groups":
        for pg in _data(body, where, MAX_GROUPS):
            _text(pg, "parityGroupId", PG_RE, where, "a parity group id such as 1-1")
            if not isinstance(pg.get("isEncryptionEnabled"), bool):
                _fail(
                    where,
                    f"isEncryptionEnabled of parity group {pg['parityGroupId']} "
                    "must be true or false",
                )
            out["parity_groups"][pg["parityGroupId"]] = pg
    elif short == "/v1/objects/drives":
        for d in _data(body, where, MAX_DRIVES):
            _text(d, "driveLocationId", LOCATION_RE, where, "a drive location such as HDD00-00")
            if d.get("parityGroupId") not in (None, "") and not (
                isinstance(d["parityGroupId"], str) and PG_RE.match(d["parityGroupId"])
            ):
                _fail(
                    where,
                    f"parityGroupId of drive {d['driveLocationId']} must be a parity group id",
                )
            out["drives"][d["driveLocationId"]] = d
        if len(out["drives"]) > MAX_DRIVES:
            _fail(where, f"more than {MAX_DRIVES} drives")
    elif short == "/v1/objects/ldevs":
        for ld in _data(body, where, 16384):
            _check_ldev(ld, where)
            prev = out["ldevs"].get(ld["ldevId"])
            if prev is not None and prev != ld:
                _fail(
                    where,
                    f"LDEV {ld['ldevId']} answered differently by two requests of the capture",
                )
            out["ldevs"][ld["ldevId"]] = ld
        if len(out["ldevs"]) > MAX_LDEVS:
            _fail(where, f"more than {MAX_LDEVS} LDEVs")
    elif short == "/v1/objects/pools":
        for p in _data(body, where, MAX_POOLS):
            _int(p, "poolId", 0, 127, where)
            if not isinstance(p.get("poolName", ""), str):
                _fail(where, f"poolName of pool {p['poolId']} must be a text")
            out["pools"][p["poolId"]] = p
    elif short == "/v1/objects/encryption-keys":
        key_type = query.get("keyType")
        if key_type not in KEY_TYPES:
            _fail(where, f"the query's keyType must be one of {', '.join(KEY_TYPES)}")
        for k in _data(body, where, 1024):
            kid = _text(k, "keyId", KEY_ID_RE, where, "a text of digits from 0 to 4095")
            if int(kid) > 4095:
                _fail(where, f"keyId must be from 0 to 4095, not {kid}")
            if k.get("keyType") != key_type:
                _fail(where, f"key {kid}: keyType {_shown(k.get('keyType'))} in a {key_type} list")
            _int(k, "numOfBackups", 0, 2**31 - 1, where + f": key {kid}")
            for field in ("createdTime", "targetDeviceLocation"):
                if not isinstance(k.get(field), str):
                    _fail(where, f"key {kid}: {field} must be a text")
            if kid in out["keys"] and out["keys"][kid]["keyType"] != key_type:
                _fail(where, f"key {kid} listed with two types")
            out["keys"][kid] = k
        if len(out["keys"]) > MAX_KEYS:
            _fail(where, f"more than {MAX_KEYS} keys")
    elif short == "/v1/objects/jobs":
        _data(
            body, where, MAX_JOBS
        )  # the twin runs its own jobs; the captured ones are shape-checked only


def _cross_check(out):
    if out["storage"] is None:
        _fail("answers", "no storage system (GET storages/instance or storages) was captured")
    for name in ("parity_groups", "pools"):
        if not out[name]:
            _fail("answers", f"no {name.replace('_', ' ')} were captured")
    for ld in out["ldevs"].values():
        if "composingPoolId" in ld and ld["composingPoolId"] not in out["pools"]:
            _fail(
                f"LDEV {ld['ldevId']}",
                f"composingPoolId {ld['composingPoolId']} is not a captured pool",
            )
        if "poolId" in ld and ld["poolId"] not in out["pools"]:
            _fail(f"LDEV {ld['ldevId']}", f"poolId {ld['poolId']} is not a captured pool")
    for pg in out["parity_groups"].values():
        if pg["isEncryptionEnabled"] and not any(
            d.get("parityGroupId") == pg["parityGroupId"] for d in out["drives"].values()
        ):
            _fail(
                f"parity group {pg['parityGroupId']}",
                "an encrypted parity group without a captured drive",
            )


def build_state(doc, users):
    """The simulator's state (as scenario.build_state returns it) of the capture ``doc``
    (validated here)."""
    cap = validate(doc)
    st = copy.deepcopy(cap["storage"])
    storage = {
        "model": st["model"],
        "serialNumber": st["serialNumber"],
        "storageDeviceId": st["storageDeviceId"],
        "captured": st,
    }
    drives = {loc: copy.deepcopy(d) for loc, d in cap["drives"].items()}
    pgs = {}
    for pgid, pg in cap["parity_groups"].items():
        pgs[pgid] = {
            "parityGroupId": pgid,
            "encrypted": pg["isEncryptionEnabled"],
            "driveLocationIds": [
                loc for loc, d in drives.items() if d.get("parityGroupId") == pgid
            ],
            "captured": copy.deepcopy(pg),
        }
    pools = {
        str(pid): {
            "poolId": pid,
            "poolName": p.get("poolName", f"pool{pid}"),
            "captured": copy.deepcopy(p),
        }
        for pid, p in cap["pools"].items()
    }
    ldevs = {str(lid): copy.deepcopy(ld) for lid, ld in sorted(cap["ldevs"].items())}
    keys = {}
    for kid, k in sorted(cap["keys"].items(), key=lambda kv: int(kv[0])):
        key = copy.deepcopy(k)
        key.update({"lost": False, "material": secrets.token_hex(32)})
        keys[kid] = key
    return {
        "storage": storage,
        "users": users,
        "options": {},
        "drives": drives,
        "parity_groups": pgs,
        "pools": pools,
        "ldevs": ldevs,
        "keys": keys,
        "kms": {"configured": False, "auto_backup": True, "key_ids": [], "backups": 0},
        "api_version": copy.deepcopy(cap["version"]),
        "twin": {"fidelity": fidelity(cap), "redacted": cap["redacted"],
                 "capture": capture_meta(doc, cap)},
    }


def _short(value, limit=64):
    """A text of the capture fit for a title: printable, at most ``limit`` characters; else None."""
    if not isinstance(value, str) or not value or not value.isprintable():
        return None
    return value if len(value) <= limit else value[: limit - 3] + "..."


def capture_meta(doc, cap):
    """What titles a twin's fidelity report: the storage system, the REST API version and when the
    capture was made (each checked; a value that fails its check is None)."""
    version = cap["version"]["apiVersion"] if cap["version"] else doc.get("api_version")
    captured_at = doc.get("captured_at")
    if not (isinstance(captured_at, str) and TIME_RE.match(captured_at)):
        captured_at = None
    return {
        "storage_device_id": cap["storage"]["storageDeviceId"],
        "model": _short(cap["storage"]["model"]),
        "api_version": _short(version, 40),
        "captured_at": captured_at,
        "redacted": cap["redacted"],
    }


# --- fidelity -------------------------------------------------------------------------------------
PROCEDURE_CALLS = (
    ("GET /configuration/version", "/configuration/version?"),
    ("GET storages/instance", "/v1/objects/storages/instance?"),
    ("GET parity-groups", "/v1/objects/parity-groups?"),
    ("GET drives", "/v1/objects/drives?"),
    ("GET drives?parityGroupId=<encrypted group>", "/v1/objects/drives?parityGroupId"),
    ("GET ldevs?parityGroupId=<encrypted group>", "/v1/objects/ldevs?count&parityGroupId"),
    ("GET pools", "/v1/objects/pools?"),
    ("GET ldevs?poolId=<pool>", "/v1/objects/ldevs?count&poolId"),
    ("GET ldevs?ldevOption=dpVolume&poolId=<pool>", "/v1/objects/ldevs?count&ldevOption&poolId"),
    ("GET encryption-keys?keyType=<type>", "/v1/objects/encryption-keys?keyType"),
)
# calls the procedure makes that a capture (reads of lists) never answers: the model answers them
MODEL_CALLS = (
    "GET ldevs/<id>, pools/<id>, parity-groups/<id>: the captured object of the list",
    "GET jobs/<id>: the twin's own jobs (their timing is --job-ms and --job-parallelism, "
    "not the array's)",
    "POST ldevs/<id>/actions/change-status/invoke (block / recover): the simulator's model",
    "POST pools/<id>/actions/recover/invoke: the simulator's model",
    "POST encryption-keys/file/actions/backup/invoke: the simulator's key file "
    "(its format is the simulator's)",
    "POST encryption-keys/file/actions/restore/invoke: the simulator's model [I]",
    "KMS backup and restore: the twin has no key management server configured",
)


def _kind(value):
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "text",
        list: "list",
        dict: "object",
        type(None): "null",
    }[type(value)]


def _diff(kind, captured, model, table):
    for field in sorted(set(captured) | set(model)):
        if field not in model:
            what, c, m = "only the array sends it", captured[field], None
        elif field not in captured:
            what, c, m = "only the simulator sends it", None, model[field]
        elif _kind(captured[field]) != _kind(model[field]):
            what, c, m = "type differs", captured[field], model[field]
        elif captured[field] != model[field]:
            what, c, m = "value differs", captured[field], model[field]
        else:
            continue
        entry = table.setdefault(
            (kind, field, what),
            {
                "kind": kind,
                "field": field,
                "difference": what,
                "objects": 0,
                "captured": _shown(c),
                "simulator": _shown(m),
            },
        )
        entry["objects"] += 1


def _model_storage(st):
    return {
        "storageDeviceId": st["storageDeviceId"],
        "model": st["model"],
        "serialNumber": st["serialNumber"],
        "ip": "192.0.2.11",
        "ctl1Ip": "192.0.2.11",
        "ctl2Ip": "192.0.2.12",
        "dkcMicroVersion": "93-07-01-80/00",
        "communicationModes": [{"communicationMode": "lanConnectionMode"}],
        "isSecure": True,
    }


def _model_ldev(ld):
    attrs = ld.get("attributes") or []
    blocks = ld.get("blockCapacity") if isinstance(ld.get("blockCapacity"), int) else 41943040
    pgs = ld.get("parityGroupIds") or ["1-1"]
    if "HDP" in attrs:
        model = _ldev(ld["ldevId"], "dp", pool=ld.get("poolId"), blocks=blocks)
    elif "POOL" in attrs:
        model = _ldev(
            ld["ldevId"], "pool", pg=pgs[0], pool=ld.get("composingPoolId"), blocks=blocks
        )
    else:
        model = _ldev(ld["ldevId"], "basic", pg=pgs[0], blocks=blocks)
    model["status"] = ld.get("status", "NML")
    if "parityGroupIds" in ld and "parityGroupIds" in model:
        model["parityGroupIds"] = list(ld["parityGroupIds"])
    return model


def _model_drive(d):
    return {
        "driveLocationId": d["driveLocationId"],
        "driveTypeName": DRIVE_TYPE_NAME,
        "driveSpeed": 0,
        "totalCapacity": 1920,
        "driveType": DRIVE_TYPE,
        "usageType": "DATA",
        "status": "NML",
        "parityGroupId": d.get("parityGroupId"),
        "serialNumber": d.get("serialNumber"),
    }


def fidelity(cap):
    """What the simulator's own model would answer differently, and the calls the capture has
    no answer for."""
    table = {}
    if cap["version"] is not None:
        _diff("version", cap["version"], API_VERSION, table)
    _diff("storage", cap["storage"], _model_storage(cap["storage"]), table)
    for d in cap["drives"].values():
        _diff("drive", d, _model_drive(d), table)
    for ld in cap["ldevs"].values():
        _diff("ldev", ld, _model_ldev(ld), table)
    for k in cap["keys"].values():
        model = {f: k.get(f) for f in KEY_FIELDS}
        model.setdefault("uuid", "-")
        _diff("key", k, {f: (v if v is not None else "-") for f, v in model.items()}, table)
    # pools and parity groups: the model's views computed from the captured LDEVs and drives
    model = ArrayState.__new__(ArrayState)
    drives = cap["drives"]
    model.data = {
        "ldevs": {str(i): ld for i, ld in cap["ldevs"].items()},
        "parity_groups": {
            g: {
                "parityGroupId": g,
                "encrypted": pg["isEncryptionEnabled"],
                "driveLocationIds": [x for x, d in drives.items() if d.get("parityGroupId") == g],
            }
            for g, pg in cap["parity_groups"].items()
        },
        "pools": {
            str(p): {"poolId": p, "poolName": pool.get("poolName", "")}
            for p, pool in cap["pools"].items()
        },
    }
    # only where the capture holds the LDEVs the model computes them from: the encrypted groups
    # and their pools
    encrypted = [g for g, pg in cap["parity_groups"].items() if pg["isEncryptionEnabled"]]
    their_pools = {
        ld["composingPoolId"]
        for ld in cap["ldevs"].values()
        if "composingPoolId" in ld and set(ld.get("parityGroupIds") or []) & set(encrypted)
    }
    for pid, pool in cap["pools"].items():
        if pid in their_pools:
            _diff("pool", pool, model.pool_view(model.data["pools"][str(pid)]), table)
    for gid in encrypted:
        _diff(
            "parity group",
            cap["parity_groups"][gid],
            model.pg_view(model.data["parity_groups"][gid]),
            table,
        )
    missing = [name for name, key in PROCEDURE_CALLS if key not in cap["answered"]]
    missing += [
        f"GET {p}: ignored (not an endpoint the procedure reads)" for p in cap["ignored"][:20]
    ]
    return {
        "differences": sorted(
            table.values(), key=lambda e: (e["kind"], e["field"], e["difference"])
        ),
        "not_in_capture": missing,
        "answered_by_model": list(MODEL_CALLS),
    }


def load_file_report(doc):
    """The fidelity report of the capture ``doc`` (validated first)."""
    return fidelity(validate(doc))


def report_text(report, limit=40):
    """The fidelity report as lines for the console."""
    lines = [
        "vsp-simulator: twin fidelity: %d field difference(s) between the capture and the "
        "simulator's model"
        % len(report["differences"])
    ]
    for e in report["differences"][:limit]:
        lines.append(
            "  %(kind)s.%(field)s: %(difference)s in %(objects)d object(s) "
            "(array %(captured)s, simulator %(simulator)s)" % e
        )
    if len(report["differences"]) > limit:
        lines.append(
            "  ... and %d more (in the report file, and GET /simulator/v1/twin)"
            % (len(report["differences"]) - limit)
        )
    for name in report["not_in_capture"]:
        lines.append("  not in the capture (answered by the model): " + name)
    return "\n".join(lines)


# --- the fidelity report as files -----------------------------------------------------------------
REPORT_SUFFIX = ".fidelity"
ISSUES_URL = "https://github.com/vsp-encryption/vsp.encryption/issues"
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def report_base(capture_path, explicit=None):
    """Where the fidelity report of the twin of ``capture_path`` goes, without its suffix.

    By default beside the capture: ``captures/vsp01.json`` gives ``captures/vsp01.fidelity`` (the
    report is ``.md`` and ``.json`` of that). ``explicit`` (``--fidelity-report``) names the file
    instead (a trailing ``.md`` or ``.json`` is dropped), or a directory to write the default name
    into. Only the paths the user gave are used, never a text of the capture."""
    name = os.path.basename(capture_path)
    if name.lower().endswith(".json") and len(name) > 5:
        name = name[:-5]
    name += REPORT_SUFFIX
    if not explicit:
        return os.path.join(os.path.dirname(capture_path), name)
    if explicit.endswith(os.sep) or os.path.isdir(explicit):
        return os.path.join(explicit, name)
    for suffix in (".md", ".json"):
        if explicit.lower().endswith(suffix) and len(os.path.basename(explicit)) > len(suffix):
            return explicit[: -len(suffix)]
    return explicit


def _code(text, cell=False):
    """``text`` as a Markdown code span: control characters shown escaped, fenced by more
    backticks than it holds, so nothing in it is read as Markdown or HTML; in a table ``cell``,
    ``|`` is escaped too."""
    text = _CONTROL_CHARS.sub(lambda m: f"\\x{ord(m.group(0)):02x}", str(text))
    if cell:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def report_markdown(info, capture_name=None):
    """The fidelity report of a twin (``state["twin"]``) as Markdown, to read and attach to an
    issue; titled with the storage device id, the REST API version and when it was captured."""
    meta = info.get("capture") or {}
    report = info["fidelity"]
    sid = meta.get("storage_device_id") or "unknown"
    version = _code(meta["api_version"]) if meta.get("api_version") else "not captured"
    when = meta.get("captured_at") or "at an unknown time"
    about = [f"Storage system {_code(sid)}"]
    if meta.get("model"):
        about.append(f"model {_code(meta['model'])}")
    if capture_name:
        about.append(f"capture file {_code(capture_name)}")
    about.append(
        "redacted (serial numbers, names, WWNs and addresses replaced)"
        if info.get("redacted") else "not redacted"
    )
    lines = [
        f"# vsp.encryption: twin fidelity of {sid}, REST API {version}, captured {when}",
        "",
        ", ".join(about) + ".",
        "",
        f"**{len(report['differences'])} field difference(s)** between what the array sent and "
        "what the simulator's model would answer; "
        f"**{len(report['not_in_capture'])} read(s) of the procedure not in the capture** "
        "(inferred: the twin answers them from its model).",
        "",
        "## What to do with this report",
        "",
        "The twin serves every captured object as your array sent it. A difference says where the "
        "simulator's model, which answers the writes of the procedure (block, recover, restore), "
        "may not behave as your array would; a read not in the capture is answered by that model "
        "alone. If a difference matters to your rehearsal (a status, an attribute, a parity group "
        "or pool id, a key's type or count the procedure decides on), or a read is missing, attach "
        f"this file (and the `.json` beside it) to an issue: {ISSUES_URL}.",
        "",
    ]
    if not info.get("redacted"):
        lines += [
            "The capture is not redacted: the values below are your array's as captured (serial "
            "numbers, names and addresses may appear). Read them before you share this file, or "
            "capture with `redact: true` and start the twin from that capture for a report to "
            "share.",
            "",
        ]
    lines += ["## Differences", ""]
    if report["differences"]:
        lines += [
            "| object | field | difference | objects | the array sent (one example) "
            "| the simulator's model |",
            "|---|---|---|---:|---|---|",
        ]
        for e in report["differences"]:
            captured, model = _code(e["captured"], True), _code(e["simulator"], True)
            if e["difference"] == "only the simulator sends it":
                captured = "not sent"
            elif e["difference"] == "only the array sends it":
                model = "not sent"
            lines.append(
                f"| {e['kind']} | {_code(e['field'], True)} | {e['difference']} "
                f"| {e['objects']} | {captured} | {model} |"
            )
    else:
        lines.append("None: the simulator's model answers every captured field as the array did.")
    lines += ["", "## Reads not in the capture (inferred: answered by the model)", ""]
    if report["not_in_capture"]:
        lines += [f"- {_code(name)}" for name in report["not_in_capture"]]
    else:
        lines.append("None: the capture answers every read of the procedure.")
    lines += ["", "## Calls no capture answers (the model answers them on every twin)", ""]
    lines += [f"- {_code(name)}" for name in report["answered_by_model"]]
    return "\n".join(lines) + "\n"


def report_json(info, capture_name=None):
    """The fidelity report as a JSON document: what ``GET /simulator/v1/twin`` answers, with the
    capture's title fields and file name."""
    doc = {
        "report": "vsp-simulator twin fidelity",
        "capture": dict(info.get("capture") or {}, file=capture_name),
        "redacted": info.get("redacted"),
        "fidelity": info["fidelity"],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _report_error(path, why, nothing_written=True):
    return CaptureError(
        f"fidelity report {path}: {why}; "
        + ("nothing was written and " if nothing_written else "")
        + "the twin did not start (name another place with --fidelity-report PATH)"
    )


def _check_target(path, capture_path):
    """Refuse a symbolic link, anything but a regular file, or the capture itself at ``path``."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _report_error(path, f"cannot be checked: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise _report_error(path, "is a symbolic link, which is not followed")
    if not stat.S_ISREG(st.st_mode):
        raise _report_error(path, "exists and is not a regular file")
    if capture_path is not None and os.path.exists(capture_path) and os.path.samefile(
        path, capture_path
    ):
        raise _report_error(path, "is the capture itself")


def _write_private(directory, path, text):
    """``text`` in a new 0600 temporary file of ``directory``, synced; its name."""
    try:
        return files.write_temp(directory, text, mode=0o600, prefix=".vsp-fidelity-")
    except OSError as exc:
        raise _report_error(path, f"cannot be written: {exc.strerror}") from None


def write_report(info, base, capture_path=None):
    """Write the fidelity report of a twin (``state["twin"]``) to ``base``.md and ``base``.json:
    mode 0600, each a private temporary file in the same directory, moved into place once both
    are complete. A symbolic link, a directory or the capture itself at either path is refused
    before anything is written; every failure is a :class:`CaptureError` naming the path. Returns
    the paths written (Markdown, JSON)."""
    directory = os.path.dirname(base) or "."
    paths = [base + ".md", base + ".json"]
    if not os.path.basename(base):
        raise _report_error(base, "names no file")
    if not os.path.isdir(directory):
        raise _report_error(paths[0], f"the directory {directory} does not exist")
    for path in paths:
        _check_target(path, capture_path)
    capture_name = os.path.basename(capture_path) if capture_path else None
    texts = [report_markdown(info, capture_name), report_json(info, capture_name)]
    temps = []
    try:
        for path, text in zip(paths, texts, strict=True):
            temps.append(_write_private(directory, path, text))
        for i, (path, tmp) in enumerate(zip(paths, temps, strict=True)):
            _check_target(path, capture_path)
            try:
                os.replace(tmp, path)  # replaces a link itself, never what it points to
            except OSError as exc:
                raise _report_error(
                    path, f"cannot be put in place: {exc.strerror}", nothing_written=i == 0
                ) from None
    finally:
        for tmp in temps:
            files.discard(tmp)
    return paths


scenario_mod.TWIN_BUILDER[0] = build_state
