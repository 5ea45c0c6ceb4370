"""The benchmark of the event source ``vsp.encryption.encryption_keys`` (issue #29), against the simulator, at each
key count (by default 64 and 4096, the array's maximum):

* *idle poll*: the requests of one poll that finds nothing changed: the source's own read
  (``plugin_utils/_key_watch.read_snapshot``) through the modules' client, counted in the simulator's request log,
  beside the count the source's design gives (:func:`designed_poll_requests`), and that poll's wall time;
* *sessions*: the source itself (``watch_array`` of the event source, imported from the installed collection, its
  real client and loop) for ``--eda-polls`` polls at its shortest interval (1 s): its log ins (``POST .../sessions``),
  its key-list GETs, the sessions left once it stopped; the sessions per hour at the default interval
  (:func:`sessions_per_hour`);
* *exposure*: the shipped rulebook ``protect_encryption_keys`` run by ansible-rulebook (poll interval
  ``--eda-poll`` s): 48 keys created through the REST API (two requests of 24, one burst) → a key file holding
  them, authenticated (its manifest's MAC opens with the backup password, its sha256 matches) and verified (the
  simulator's own reader opens it and finds the 48 keys). The window is reported beside its bound: the poll interval
  + the settling of the burst + one backup run (the rulebook's own run for its start event, from the event to its
  key file); the backup runs started for the burst and the key files written for it are counted.

The rows go to ``eda.json`` beside the page ``eda.md`` (:mod:`.eda_page`); the targets are in :mod:`.verdicts`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sys
import time

from vsp_simulator import keyfile
from vsp_simulator import rulebook as rb
from vsp_simulator.scenario import MAX_KEYS  # the array's (and the simulator's) maximum number of keys

from .log import log
from .machine import load1
from .requests_log import count_kinds, logins, request_kind

NEW_KEYS = 48           # keys created for the exposure window: a new drive tray's keys
KEY_ID_MAX = MAX_KEYS - 1
KEY_TYPES = ("DEK", "CEK", "KEK", "FREE")
PAGED_KEY_TYPES = ("DEK", "FREE")  # the array pages these lists ...
KEY_PAGE = 1024                    # ... by 1024 keys (the REST API's maximum count)
SHORT_INTERVAL = 1      # the source's shortest poll interval (poll_interval's minimum): the sessions run
DEFAULT_INTERVAL = 60   # the source's default poll_interval
SESSION_ALIVE_S = 300   # the array ends a session idle this long (aliveTime: the client does not set it, 300 is the default)
SETTLE_INTERVAL = 0.5   # the rulebook's settle_interval in the exposure run
# ansible-rulebook's output (--print-events): one line per backup run started, and the events as it received them
BACKUP_PLAY = "PLAY [Back up the encryption keys"
STARTED = "'kind': 'started'"
KEYS_CHANGED = "'kind': 'keys_changed'"


# -- the source's design ---------------------------------------------------------------------------------
def list_requests(key_ids, paged):
    """The GETs that list one key type holding ``key_ids``: one, or for DEK / FREE one per page of 1024 (the next
    page starts after the largest id of the last one, while the last one was full and ids remain)."""
    if not paged:
        return 1
    ids = sorted(int(k) for k in key_ids)
    requests, start = 1, 0
    page = ids[:KEY_PAGE]
    while len(page) >= KEY_PAGE:
        start = max(page) + 1
        if start > KEY_ID_MAX:
            break
        requests += 1
        page = [k for k in ids if k >= start][:KEY_PAGE]
    return requests


def designed_poll_requests(ids_by_type):
    """What a poll that finds nothing changed costs by the source's design (``_key_watch.read_snapshot``): the key
    list of each type, DEK and FREE paged by 1024; no coverage read (the DEKs did not change), no log in."""
    return sum(list_requests(ids_by_type.get(t) or (), t in PAGED_KEY_TYPES) for t in KEY_TYPES)


def ids_by_type(state):
    out = {t: [] for t in KEY_TYPES}
    for key in state["keys"]:
        if not key.get("lost"):
            out.setdefault(key["keyType"], []).append(key["keyId"])
    return out


def sessions_per_hour(logins_seen, polls, interval=DEFAULT_INTERVAL):
    """Sessions one array sees per hour of watching at ``interval``: the source's one log in at its start, plus its
    log ins again (after a 401) per poll, at 3600 / ``interval`` polls an hour."""
    relogins = max(logins_seen - 1, 0)
    return 1 + relogins / float(polls) * (3600.0 / interval)


# -- measuring -------------------------------------------------------------------------------------------
def fill(sim, total):
    have = len(sim.control.state()["keys"])
    if total > have:
        sim.array_job("encryption-keys", {"count": total - have})
    return len(sim.control.state()["keys"])


def idle_poll(sim):
    """One poll that finds nothing changed, by the source's own read: {requests, designed, writes, kinds, seconds}."""
    from ansible_collections.vsp.encryption.plugins.module_utils._api import VspApi  # noqa: PLC0415 - the installed collection
    from ansible_collections.vsp.encryption.plugins.module_utils._client import VspClient  # noqa: PLC0415
    from ansible_collections.vsp.encryption.plugins.plugin_utils import _key_watch as kw  # noqa: PLC0415

    params = dict(sim.connection(), storage_device_id=None, timeout=30, retries=5, wait_timeout=900)
    with VspClient(params) as client:
        api = VspApi(client)
        first = kw.read_snapshot(api)
        sim.control.clear_requests()
        started = time.monotonic()
        kw.read_snapshot(api, first)
        seconds = time.monotonic() - started
        entries = sim.control.requests_log()
    return {"requests": len(entries), "designed": designed_poll_requests(ids_by_type(sim.control.state())),
            "writes": sum(1 for e in entries if e["method"] != "GET"), "kinds": count_kinds(entries), "seconds": seconds}


def source_sessions(sim, polls):
    """The event source's ``watch_array`` on this array for ``polls`` polls at :data:`SHORT_INTERVAL`, then cancelled
    (as ansible-rulebook cancels it when it stops): its log ins, log outs, requests, events, the sessions left."""
    from ansible_collections.vsp.encryption.extensions.eda.plugins.event_source import encryption_keys as source  # noqa: PLC0415
    from ansible_collections.vsp.encryption.plugins.plugin_utils import _key_watch as kw  # noqa: PLC0415

    settings = kw.watch_settings({"arrays": [dict(sim.connection(), name=rb.ARRAY)], "poll_interval": SHORT_INTERVAL}, {})
    delays = []

    async def run():
        done = asyncio.Event()

        async def sleep(delay):  # the source's wait between two polls: counted, then waited for real
            delays.append(delay)
            if len(delays) >= polls:
                done.set()
            await asyncio.sleep(delay)

        queue = asyncio.Queue()
        task = asyncio.ensure_future(source.watch_array(queue, settings.targets[0], settings, sleep=sleep))
        waiter = asyncio.ensure_future(done.wait())
        await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        task.cancel()
        (outcome,) = await asyncio.gather(task, return_exceptions=True)
        if not isinstance(outcome, asyncio.CancelledError):
            raise SystemExit("bench: the event source ended by itself: %r" % (outcome,))
        events = []
        while not queue.empty():
            events.append(queue.get_nowait()[kw.EVENT_KEY]["kind"])
        return events

    sim.control.clear_requests()
    started = time.monotonic()
    events = asyncio.run(run())
    seconds = time.monotonic() - started
    entries = sim.control.requests_log()
    kinds = count_kinds(entries)
    seen = logins(entries)
    return {"polls": len(delays), "interval": SHORT_INTERVAL, "seconds": seconds, "logins": seen,
            "logouts": sum(1 for e in entries if request_kind(e) == "log out"),
            "key_list_requests": kinds.get("GET encryption-keys", 0), "kinds": kinds, "events": events,
            "left_open": sim.control.state().get("sessions") or 0,
            "per_hour": sessions_per_hour(seen, len(delays)), "default_interval": DEFAULT_INTERVAL,
            "alive_s": SESSION_ALIVE_S}


def verify_key_file(backup_dir, manifest, new_ids):
    """The problems of one key file (empty: authenticated and verified): sha256 and size as in its manifest, the
    manifest's MAC opens with the backup password, mode 0600, the simulator's reader opens it and finds ``new_ids``."""
    from ansible_collections.vsp.encryption.plugins.module_utils import _manifest as mf  # noqa: PLC0415

    path = os.path.join(backup_dir, manifest["file"])
    with open(path, "rb") as handle:
        blob = handle.read()
    problems = []
    if hashlib.sha256(blob).hexdigest() != manifest.get("sha256") or len(blob) != manifest.get("size"):
        problems.append("sha256 or size differ from the manifest")
    if mf.check_password(manifest, mf.Deriver(rb.BACKUP_PASSWORD)) is not True:
        problems.append("the manifest's MAC does not open with the backup password")
    if os.stat(path).st_mode & 0o777 != 0o600:
        problems.append("mode %o, not 0600" % (os.stat(path).st_mode & 0o777))
    try:
        payload = keyfile.open_file(blob, rb.BACKUP_PASSWORD)
    except keyfile.KeyFileError as exc:
        return problems + ["the simulator's reader: %s" % exc]
    missing = {str(k) for k in new_ids} - {str(k.get("keyId")) for k in payload.get("keys") or []}
    if missing:
        problems.append("%d new keys not in the file" % len(missing))
    return problems


def first_seen(conditions, timeout, what, every=rb.POLL):
    """{name: the monotonic time ``conditions[name]()`` was first seen true}, once every one was; fails naming ``what``
    after ``timeout`` seconds."""
    seen, deadline = {}, time.monotonic() + timeout
    while len(seen) < len(conditions):
        now = time.monotonic()
        for name, condition in conditions.items():
            if name not in seen and condition():
                seen[name] = now
        if len(seen) < len(conditions):
            if now > deadline:
                raise SystemExit("bench: no %s within %s s (seen: %s)" % (what, timeout, ", ".join(sorted(seen)) or "none"))
            time.sleep(every)
    return seen


def exposure(workdir, sim, opts, collections):
    """The shipped rulebook by ansible-rulebook: 48 keys created → a verified key file that holds them.

    The bound's last term, one backup run, is the start event's run of the same rulebook: from the ``started`` event
    in ansible-rulebook's output to its key file on disk (the burst's run writes 48 keys more)."""
    poll = opts.eda_poll
    inventory, variables = rb.write_files(workdir, sim, poll_interval=poll, settle_interval=SETTLE_INTERVAL)
    backups = os.path.join(str(workdir), "backups")
    rulebook = rb.Rulebook(os.path.join(str(workdir), "rulebook"), "protect_encryption_keys", inventory, variables,
                           collections)

    def printed(text, count=1):
        return lambda: rulebook.output().count(text) >= count or not rulebook.running()

    try:
        start = first_seen({"event": printed(STARTED), "file": lambda: rb.manifests(backups) or not rulebook.running(),
                            "recap": printed("PLAY RECAP")}, 180, "key file for the start event")
        if not rulebook.running():
            raise SystemExit("bench: ansible-rulebook ended: %s" % rulebook.output()[-3000:])
        backup_run = start["file"] - start["event"]
        runs_before, files_before = rulebook.output().count(BACKUP_PLAY), len(rb.manifests(backups))
        before = {k["keyId"] for k in sim.control.state()["keys"]}
        created = time.monotonic()
        for count in (NEW_KEYS // 2, NEW_KEYS - NEW_KEYS // 2):  # two create requests of 24 keys: one burst
            sim.array_job("encryption-keys", {"count": count})
        new = {k["keyId"] for k in sim.control.state()["keys"]} - before

        def holding():
            return [m for m in rb.manifests(backups) if new <= set(m["keys"]["FREE"])]

        burst = first_seen({"event": lambda: KEYS_CHANGED in rulebook.output(), "file": holding}, poll + 300,
                           "key file holding the new keys")
        rb.wait_for(lambda: rulebook.output().count("PLAY RECAP") >= 2, 120, "end of the burst's backup run")
        # quiet: one more poll and its settling, in which a burst split in two would start a second backup run
        time.sleep(poll + SETTLE_INTERVAL + 2)
        output = rulebook.output()
        manifest = holding()[0]
        result = {"window": burst["file"] - created, "detected": burst["event"] - created,
                  "burst_run": burst["file"] - burst["event"], "poll_interval": poll, "settle_interval": SETTLE_INTERVAL,
                  "backup_run": backup_run, "bound": poll + SETTLE_INTERVAL + backup_run, "created": len(new),
                  "backup_runs": output.count(BACKUP_PLAY) - runs_before,
                  "key_files": len(rb.manifests(backups)) - files_before,
                  "keys_changed_events": output.count(KEYS_CHANGED),
                  "new_keys_in_file": len(new & set(manifest["keys"]["FREE"])),
                  "problems": verify_key_file(backups, manifest, new)}
    finally:
        rulebook.stop()
    result["left_open"] = 0
    try:
        rb.wait_for(lambda: sim.control.state()["sessions"] == 0, 15, "logout of every session")
    except AssertionError:
        result["left_open"] = sim.control.state()["sessions"]
    return result


def bench_keys(total, opts, work_root, collections):
    """One row: the idle poll, the sessions and the exposure window at ``total`` keys."""
    workdir = os.path.join(work_root, "eda-%d" % total)
    shutil.rmtree(workdir, ignore_errors=True)  # no key file nor simulator state of an earlier run
    os.makedirs(workdir)
    load_before = load1()
    with rb.simulator(workdir, latency_ms=opts.latency_ms, job_ms=opts.job_ms) as sim:
        if total + NEW_KEYS <= MAX_KEYS:  # the idle poll at `total` keys, then the keys created on top
            fill(sim, total)
            poll = idle_poll(sim)
            sessions = source_sessions(sim, opts.eda_polls)
            window = exposure(workdir, sim, opts, collections)
        else:  # the array is full once the keys are created: the idle poll at `total` keys after them
            fill(sim, total - NEW_KEYS)
            window = exposure(workdir, sim, opts, collections)
            poll = idle_poll(sim)
            sessions = source_sessions(sim, opts.eda_polls)
        keys = len(sim.control.state()["keys"])
    return {"keys": total, "keys_at_poll": keys if total + NEW_KEYS > MAX_KEYS else total, "idle_poll": poll,
            "sessions": sessions, "exposure": window, "load_before": load_before, "load_after": load1()}


def bench_eda(sizes, opts, work_root):
    collections = os.path.abspath(opts.build)
    if collections not in sys.path:
        sys.path.append(collections)  # the collection's Python, as ansible-rulebook's event source imports it
    rows = []
    for total in sizes:
        log("EDA: %d keys: idle poll, %d polls of the source, exposure window (load %.2f)" % (total, opts.eda_polls, load1()))
        row = bench_keys(total, opts, work_root, collections)
        log("EDA: %d keys: %d requests per idle poll (designed %d), %d log in(s) over %d polls, window %.1f s (bound %.1f s)"
            % (total, row["idle_poll"]["requests"], row["idle_poll"]["designed"], row["sessions"]["logins"],
               row["sessions"]["polls"], row["exposure"]["window"], row["exposure"]["bound"]))
        rows.append(row)
    return rows
