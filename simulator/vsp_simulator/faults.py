"""Injected faults (array API only) and the request log (no secrets: method, path, status, ms).

A fault rule is validated here (:meth:`FaultStore.validate`), found for a request by
:meth:`FaultStore.match` (the first rule that applies; ``times`` used up by one) and applied by the
application's hooks: :func:`early_response` before the view (errors, redirects, replaced bodies),
:func:`ignore_page_start` before the view (pages that do not advance) and :func:`late_response`
after it (a reported identity, a dripping answer). Every generated stream is bounded
(:data:`STREAM_MAX_BYTES`, :data:`STREAM_MAX_SECONDS`) and stops when the client goes away.
"""

from __future__ import annotations

import html
import ipaddress
import json
import os
import re
import threading
import time
from urllib.parse import urlsplit

from flask import Response

from . import errors

REQUEST_LOG_MAX = 100_000

REDIRECT_STATUSES = (301, 302, 307, 308)
BODIES = ("html", "json", "endless", "drip", "oversize")
STREAM_MAX_BYTES = 1 << 30          # an endless or oversize body never exceeds 1 GiB
STREAM_MAX_SECONDS = 600            # nor runs longer than 10 minutes
DRIP_MS_MAX = 60_000
MESSAGE_MAX = 4096
JSON_MAX = 64 * 1024
CHUNK = 64 * 1024
IDENTITY_FIELDS = ("storageDeviceId", "serialNumber", "model", "dkcMicroVersion", "ctl1Ip",
                   "ctl2Ip", "ip")
LOOPBACK_NAMES = ("localhost",)
MESSAGE_ID_RE = re.compile(r"^KART[0-9]{5}-[EWI]$")
# the storage identity reports: GET storages, storages/instance, storages/<id>
STORAGE_REPORT_RE = re.compile(r"/v1/objects/storages(/[^/]+)?$")
# the paged lists: encryption keys (startKeyId) and LDEVs (headLdevId), both URL forms
PAGED_RE = re.compile(r"/v1/objects/(storages/[^/]+/)?(encryption-keys|ldevs)$")
PAGE_START_ARGS = ("startKeyId", "headLdevId")
# the key-file download: the one answer that is application/octet-stream
KEY_FILE_RE = re.compile(r"/encryption-keys/file/actions/backup/invoke$")
KEY_FILE_MAGIC = b"VSPEKF\x00\x01"
FIELDS = {"method", "path", "status", "times", "action", "delay_ms", "redirect", "body", "drip_ms",
          "size", "message", "message_id", "identity", "pages", "json"}


def _int(spec, name, lo, hi):
    value = spec[name]
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer from {lo} to {hi}")
    return value


def _loopback_url(url):
    if not isinstance(url, str) or not url:
        raise ValueError("redirect must be an http:// or https:// URL")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("redirect must be an http:// or https:// URL")
    host = parts.hostname
    if host.lower() not in LOOPBACK_NAMES:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError("redirect must point to a loopback address (127.0.0.0/8, ::1 or "
                             "localhost): faults never send a client elsewhere")
    return url


class FaultStore:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self._streams = 0
        self._streams_cond = threading.Condition()

    @staticmethod
    def validate(spec):
        if not isinstance(spec, dict):
            raise ValueError("a fault is a JSON object")
        unknown = set(spec) - FIELDS
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        spec = {k: v for k, v in spec.items() if v is not None}
        try:
            pattern = re.compile(str(spec.get("path") or ""))
        except re.error as exc:
            raise ValueError(f"path is not a valid regular expression: {exc}") from None
        rule = {"method": (str(spec.get("method") or "")).upper() or None, "path": pattern,
                "times": spec.get("times"), "status": None, "action": None, "delay_ms": 0,
                "redirect": None, "body": None, "drip_ms": None, "size": None, "message": None,
                "message_id": None, "identity": None, "pages": None, "json": None}
        if rule["times"] is not None and (not isinstance(rule["times"], int)
                                          or isinstance(rule["times"], bool)
                                          or rule["times"] < 1):
            raise ValueError("times must be a positive integer")
        if "action" in spec:
            if spec["action"] != "drop":
                raise ValueError("action must be 'drop'")
            rule["action"] = "drop"
        if "delay_ms" in spec:
            if not isinstance(spec["delay_ms"], int) or spec["delay_ms"] < 0:
                raise ValueError("delay_ms must be a non-negative integer")
            rule["delay_ms"] = min(spec["delay_ms"], STREAM_MAX_SECONDS * 1000)
        body = spec.get("body")
        if body is not None and body not in BODIES:
            raise ValueError(f"body must be one of {', '.join(BODIES)}")
        rule["body"] = body
        if "redirect" in spec:
            rule["redirect"] = _loopback_url(spec["redirect"])
            status = spec.get("status", 307)
            if status not in REDIRECT_STATUSES:
                raise ValueError("a redirect's status must be one of "
                                 + ", ".join(str(s) for s in REDIRECT_STATUSES))
            rule["status"] = status
        elif "status" in spec:
            if body not in (None, "html"):
                raise ValueError(f"body {body} answers 200 (or the route's own status for drip): "
                                 "give no status")
            if not isinstance(spec["status"], int) or not 400 <= spec["status"] <= 599:
                raise ValueError("status must be an HTTP error status (400-599)")
            rule["status"] = spec["status"]
        elif body == "html":
            rule["status"] = 500
        if "message" in spec:
            if not isinstance(spec["message"], str) or len(spec["message"]) > MESSAGE_MAX:
                raise ValueError(f"message must be a text of at most {MESSAGE_MAX} characters")
            rule["message"] = spec["message"]
        if "message_id" in spec:
            if not isinstance(spec["message_id"], str) or not MESSAGE_ID_RE.match(
                    spec["message_id"]):
                raise ValueError("message_id must look like KART00003-E")
            rule["message_id"] = spec["message_id"]
        if (rule["message"] is not None or rule["message_id"]) and (
                rule["status"] is None or rule["redirect"]):
            raise ValueError("message and message_id need an error status (400-599)")
        if "drip_ms" in spec:
            if body != "drip":
                raise ValueError('drip_ms needs "body": "drip"')
            rule["drip_ms"] = _int(spec, "drip_ms", 1, DRIP_MS_MAX)
        elif body == "drip":
            rule["drip_ms"] = 1000
        if "size" in spec:
            if body != "oversize":
                raise ValueError('size needs "body": "oversize"')
            rule["size"] = _int(spec, "size", 64, STREAM_MAX_BYTES)
        elif body == "oversize":
            raise ValueError('"body": "oversize" needs size (bytes, 64 to 1 GiB)')
        if "json" in spec:
            if body != "json":
                raise ValueError('json needs "body": "json"')
            if (not isinstance(spec["json"], (dict, list))
                    or len(json.dumps(spec["json"])) > JSON_MAX):
                raise ValueError(f"json must be a JSON object or list of at most {JSON_MAX} bytes")
            rule["json"] = spec["json"]
        if "identity" in spec:
            ident = spec["identity"]
            if not isinstance(ident, dict) or not ident:
                raise ValueError("identity must be an object of storage fields: "
                                 + ", ".join(IDENTITY_FIELDS))
            bad = sorted(set(ident) - set(IDENTITY_FIELDS))
            if bad:
                raise ValueError(f"identity: unknown fields {bad}; known: "
                                 + ", ".join(IDENTITY_FIELDS))
            for k, v in ident.items():
                if not isinstance(v, (str, int)) or isinstance(v, bool) or len(str(v)) > 256:
                    raise ValueError(f"identity.{k} must be a text or an integer (at most 256)")
            rule["identity"] = dict(ident)
        if "pages" in spec:
            if spec["pages"] != "stuck":
                raise ValueError("pages must be 'stuck'")
            rule["pages"] = "stuck"
        kinds = [k for k in ("action", "redirect", "identity", "pages") if rule[k]]
        if body:
            kinds.append("body")
        elif rule["status"] and not rule["redirect"]:
            kinds.append("status")
        if len(kinds) > 1:
            raise ValueError(f"a fault has one kind, this one has {', '.join(kinds)}")
        if not (kinds or rule["delay_ms"]):
            raise ValueError("a fault needs status, action, delay_ms, redirect, body, identity "
                             "or pages")
        return rule

    @staticmethod
    def applies(rule, method, path):
        """Whether ``rule`` is about this request (identity and pages only touch their routes)."""
        if rule["method"] and rule["method"] != method.upper():
            return False
        if not rule["path"].search(path):
            return False
        if rule["identity"] is not None:
            return method.upper() == "GET" and bool(STORAGE_REPORT_RE.search(path))
        if rule["pages"] is not None:
            return method.upper() == "GET" and bool(PAGED_RE.search(path))
        return True

    def add(self, spec):
        rule = self.validate(spec)
        with self.lock:
            self.rules.append(rule)

    def clear(self):
        with self.lock:
            self.rules.clear()

    def match(self, method, path):
        """The first rule that applies to the request (its ``times`` used up by one), or None."""
        with self.lock:
            for rule in self.rules:
                if not self.applies(rule, method, path):
                    continue
                if rule["times"] is not None:
                    rule["times"] -= 1
                    if rule["times"] <= 0:
                        self.rules.remove(rule)
                return dict(rule)
        return None

    # -- streams: counted, so a test can see that none outlives its client -----------------------
    def tracked(self, chunks):
        """Iterate ``chunks`` while counted as an active stream (ends when the client goes away)."""
        with self._streams_cond:
            self._streams += 1
            self._streams_cond.notify_all()
        try:
            yield from chunks
        finally:
            with self._streams_cond:
                self._streams -= 1
                self._streams_cond.notify_all()

    def active_streams(self):
        with self._streams_cond:
            return self._streams

    def wait_streams_idle(self, timeout):
        """True once no generated stream is running (within ``timeout`` seconds)."""
        with self._streams_cond:
            return self._streams_cond.wait_for(lambda: self._streams == 0, timeout)


def fault_error(status, message=None, message_id=None):
    if status == 503 and message is None and message_id is None:
        return errors.busy()
    if status == 503:
        err = errors.busy(message if message is not None else
                          "The server is busy. Wait a while and then run the request again.")
        if message_id:
            err.message_id = message_id
        return err
    return errors.ApiError(status, message_id or "KART00000-E",
                           message if message is not None else f"Injected fault (HTTP {status}).",
                           "The simulator was told to fail this request.",
                           "Remove the fault with DELETE /simulator/v1/faults.",
                           solution_type="RETRY")


HTML_PAGE = ("<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>\n"
             "<body><h1>{reason}</h1><p>{text}</p><hr><address>Web Server</address>"
             "</body></html>\n")


def html_response(status, message=None):
    from http import HTTPStatus  # noqa: PLC0415

    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    text = message if message is not None else (
        "The server encountered an internal error and was unable to complete your request.")
    page = HTML_PAGE.format(status=status, reason=html.escape(reason), text=html.escape(text))
    resp = Response(page, status=status, mimetype="text/html")
    resp.headers["Content-Type"] = "text/html; charset=iso-8859-1"
    if status == 503:
        resp.headers["Retry-After"] = errors.RETRY_AFTER
    return resp


def _deadline():
    return time.monotonic() + STREAM_MAX_SECONDS


KEY_ITEM = (b'{"keyId": "0", "createdTime": "2026-01-05T09:00:00Z", "keyType": "FREE", '
            b'"uuid": "-", "targetDeviceLocation": "-", "keyGeneratedLocation": "DKC", '
            b'"numOfBackups": 0}')


def _endless_octets():
    block = KEY_FILE_MAGIC + os.urandom(CHUNK - len(KEY_FILE_MAGIC))
    sent, end = 0, _deadline()
    while sent < STREAM_MAX_BYTES and time.monotonic() < end:
        yield block
        sent += len(block)
        block = os.urandom(CHUNK)


def _endless_json():
    items = b",".join([KEY_ITEM] * 500) + b","
    yield b'{"data": ['
    sent, end = 0, _deadline()
    while sent < STREAM_MAX_BYTES and time.monotonic() < end:
        yield items
        sent += len(items)


def _oversize_octets(size):
    block = KEY_FILE_MAGIC + os.urandom(CHUNK - len(KEY_FILE_MAGIC))
    left, end = size, _deadline()
    while left > 0 and time.monotonic() < end:
        part = block[:left]
        yield part
        left -= len(part)
        block = os.urandom(CHUNK)


def _oversize_json(size):
    """Valid JSON of exactly ``size`` bytes: ``{"data": [key, ...], "padding": "x..."}``."""
    head, tail0 = b'{"data": [', b'], "padding": ""}'
    n = max(0, (size - len(head) - len(tail0) + 1) // (len(KEY_ITEM) + 1))
    used = len(head) + n * len(KEY_ITEM) + max(n - 1, 0) + len(tail0)
    pad = max(0, size - used)
    yield head
    end = _deadline()
    batch = 500
    done = 0
    while done < n and time.monotonic() < end:
        k = min(batch, n - done)
        chunk = b",".join([KEY_ITEM] * k)
        yield (b"," + chunk) if done else chunk
        done += k
    yield b'], "padding": "' + b"x" * pad + b'"}'


def _drip(data, drip_ms):
    end = _deadline()
    for i in range(len(data)):
        if time.monotonic() >= end:
            return
        time.sleep(drip_ms / 1000.0)
        yield data[i:i + 1]


def early_response(store, rule, path):
    """The answer that replaces the route's (error, redirect, replaced body), or None."""
    if rule["redirect"]:
        resp = Response(b"", status=rule["status"])
        resp.headers["Location"] = rule["redirect"]
        return resp
    body = rule["body"]
    if body == "html":
        return html_response(rule["status"], rule["message"])
    if rule["status"]:
        return fault_error(rule["status"], rule["message"], rule["message_id"]).response()
    octets = bool(KEY_FILE_RE.search(path))
    if body == "json":
        obj = rule["json"] if rule["json"] is not None else {
            "message": "This is a JSON answer, not a key file."}
        return errors.json_response(obj, 200)
    if body == "endless":
        gen = _endless_octets() if octets else _endless_json()
        return _stream(store, gen, octets, None)
    if body == "oversize":
        gen = _oversize_octets(rule["size"]) if octets else _oversize_json(rule["size"])
        return _stream(store, gen, octets, rule["size"])
    return None


def _stream(store, gen, octets, length):
    mimetype = "application/octet-stream" if octets else "application/json"
    resp = Response(store.tracked(gen), status=200, mimetype=mimetype, direct_passthrough=True)
    if length is not None:
        resp.headers["Content-Length"] = str(length)
    if octets:
        resp.headers["Content-Disposition"] = 'attachment; filename="keys.ekf"'
    return resp


def ignore_page_start(request):
    """``pages: stuck``: the route sees no startKeyId / headLdevId, so it answers the first page."""
    args = request.args.copy()
    for name in PAGE_START_ARGS:
        args.poplist(name)
    from werkzeug.datastructures import ImmutableMultiDict  # noqa: PLC0415

    request.args = ImmutableMultiDict(args)


def late_response(store, rule, resp):
    """Apply an after-the-route fault (identity, drip) to the route's answer."""
    if rule["identity"] is not None and resp.status_code == 200 and resp.is_json:
        try:
            obj = json.loads(resp.get_data())
        except ValueError:
            return resp
        targets = obj.get("data") if isinstance(obj, dict) and "data" in obj else [obj]
        for item in targets if isinstance(targets, list) else []:
            if isinstance(item, dict) and "storageDeviceId" in item:
                item.update(rule["identity"])
        resp.set_data(json.dumps(obj))
        return resp
    if rule["body"] == "drip":
        data = resp.get_data()
        headers = [(k, v) for k, v in resp.headers.items() if k.lower() != "content-length"]
        new = Response(store.tracked(_drip(data, rule["drip_ms"])), status=resp.status_code,
                       headers=headers, direct_passthrough=True)
        new.headers["Content-Length"] = str(len(data))
        return new
    return resp


class RequestLog:
    def __init__(self):
        self.lock = threading.Lock()
        self.entries = []

    def add(self, method, path, status, ms):
        with self.lock:
            self.entries.append({"method": method, "path": path, "status": status,
                                 "ms": round(ms, 1)})
            if len(self.entries) > REQUEST_LOG_MAX:
                del self.entries[: len(self.entries) - REQUEST_LOG_MAX]

    def list(self):
        with self.lock:
            return list(self.entries)

    def clear(self):
        with self.lock:
            self.entries.clear()
