"""Injected faults (array API only) and the request log (no secrets: method, path, status, ms)."""

from __future__ import annotations

import re
import threading

from . import errors

REQUEST_LOG_MAX = 100_000


class FaultStore:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    @staticmethod
    def validate(spec):
        if not isinstance(spec, dict):
            raise ValueError("a fault is a JSON object")
        unknown = set(spec) - {"method", "path", "status", "times", "action", "delay_ms"}
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        try:
            pattern = re.compile(str(spec.get("path") or ""))
        except re.error as exc:
            raise ValueError(f"path is not a valid regular expression: {exc}") from None
        rule = {"method": (str(spec.get("method") or "")).upper() or None, "path": pattern,
                "times": spec.get("times"), "status": None, "action": None, "delay_ms": 0}
        if rule["times"] is not None and (not isinstance(rule["times"], int)
                                          or rule["times"] < 1):
            raise ValueError("times must be a positive integer")
        if spec.get("action") is not None:
            if spec["action"] != "drop":
                raise ValueError("action must be 'drop'")
            rule["action"] = "drop"
        if spec.get("delay_ms") is not None:
            if not isinstance(spec["delay_ms"], int) or spec["delay_ms"] < 0:
                raise ValueError("delay_ms must be a non-negative integer")
            rule["delay_ms"] = spec["delay_ms"]
        if spec.get("status") is not None:
            if not isinstance(spec["status"], int) or not 400 <= spec["status"] <= 599:
                raise ValueError("status must be an HTTP error status (400-599)")
            rule["status"] = spec["status"]
        if not (rule["action"] or rule["status"] or rule["delay_ms"]):
            raise ValueError("a fault needs status, action or delay_ms")
        return rule

    def add(self, spec):
        rule = self.validate(spec)
        with self.lock:
            self.rules.append(rule)

    def clear(self):
        with self.lock:
            self.rules.clear()

    def match(self, method, path):
        """The first rule matching the request (its ``times`` used up by one), or None."""
        with self.lock:
            for rule in self.rules:
                if rule["method"] and rule["method"] != method.upper():
                    continue
                if not rule["path"].search(path):
                    continue
                if rule["times"] is not None:
                    rule["times"] -= 1
                    if rule["times"] <= 0:
                        self.rules.remove(rule)
                return dict(rule)
        return None


def fault_error(status):
    if status == 503:
        return errors.busy()
    return errors.ApiError(status, "KART00000-E", f"Injected fault (HTTP {status}).",
                           "The simulator was told to fail this request.",
                           "Remove the fault with DELETE /simulator/v1/faults.",
                           solution_type="RETRY")


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
