"""The simulator's request log: each request's kind, the counts, the sessions (module runs), the phases."""

from __future__ import annotations

import re


STORAGE_PREFIX = re.compile(r"^/ConfigurationManager(/v1/objects/storages/[^/]+(?=/)|/v1/[0-9]+(?=/services/))?")

# -- request logs -------------------------------------------------------------------------------------
def request_kind(entry):
    method, path = entry["method"], STORAGE_PREFIX.sub("", entry["path"])
    path = path.replace("/ConfigurationManager", "", 1) if path.startswith("/ConfigurationManager") else path
    if path.endswith("/sessions") and method == "POST":
        return "log in"
    if "/sessions/" in path and method == "DELETE":
        return "log out"
    if path.endswith("/change-status/invoke"):
        return "change-status"
    if "/jobs/" in path:
        return "job poll"
    if "/restore/invoke" in path or "/kms-restore/invoke" in path:
        return "key restore"
    if "/backup/invoke" in path:
        return "key backup"
    if re.search(r"/ldevs/[0-9]+$", path):
        return "GET ldev"
    if path.endswith("/ldevs"):
        return "GET ldevs"
    if "/encryption-keys" in path:
        return "%s encryption-keys" % method
    match = re.search(r"/v1/objects/([^/]+)", path)
    return "%s %s" % (method, match.group(1) if match else path)


def count_kinds(entries):
    counts = {}
    for entry in entries:
        kind = request_kind(entry)
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def logins(entries):
    return sum(1 for e in entries if request_kind(e) == "log in")


def session_segments(entries):
    """Split a log into module runs: each from its log in to its log out. Also whether they alternate.

    A module run opens one session and deletes it at the end, and the tasks of one host run one after
    the other, so the log of a correct run is log in, ..., log out, log in, ..., log out.
    """
    segments, current, alternating = [], None, True
    for entry in entries:
        kind = request_kind(entry)
        if kind == "log in":
            if current is not None:
                alternating = False  # a second session inside one module run (or one never closed)
                segments.append(current)
            current = [entry]
        elif current is not None:
            current.append(entry)
            if kind == "log out":
                segments.append(current)
                current = None
        else:
            alternating = False  # a request outside any session
    if current is not None:
        alternating = False
        segments.append(current)
    return segments, alternating


def role_phases(entries):
    """The module runs of the block phase and of the recover phase of a role run (each phase: its batches).

    Block: the pool_volume_state runs (module runs with a change-status) before the key restore's run;
    recover: those after it.
    """
    segments, alternating = session_segments(entries)
    kinds = [set(request_kind(e) for e in seg) for seg in segments]
    restore_at = next((i for i, k in enumerate(kinds) if "key restore" in k), None)
    if restore_at is None:
        raise SystemExit("bench: no key restore in the role run's requests")
    block = [seg for i, seg in enumerate(segments) if i < restore_at and "change-status" in kinds[i]]
    recover = [seg for i, seg in enumerate(segments) if i > restore_at and "change-status" in kinds[i]]
    return block, recover, len(segments), alternating


def baseline_phases(entries):
    """The baseline has one session: block = before the restore, recover = after its job."""
    kinds = [request_kind(e) for e in entries]
    restore = kinds.index("key restore")
    first_recover = next(i for i in range(restore, len(kinds)) if kinds[i] == "change-status")
    block = [e for e, k in zip(entries[:restore], kinds[:restore]) if k in ("GET ldevs", "change-status", "job poll")]
    recover = [e for e, k in zip(entries[first_recover:], kinds[first_recover:]) if k in ("change-status", "job poll")]
    return [block, recover]

