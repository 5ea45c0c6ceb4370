"""The Markdown page of an EDA run (``eda.md``, issue #29) and the summary printed after it."""

from __future__ import annotations

import time

from .verdicts import eda_targets, verdict_markdown, verdict_word


def fmt_eda(rows):
    lines = ["| keys | requests per poll, nothing changed (designed) | time of that poll | log ins over the source's polls "
             "| sessions per hour (default interval) | exposure window (bound) | to the event + its backup run "
             "| backup runs / key files for the burst |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        p, s, e = r["idle_poll"], r["sessions"], r["exposure"]
        lines.append("| %d | %d (%d) | %.3f s | %d over %d polls at %g s | %.2f (%d s) | %.1f s (%.1f s) | %.1f s + %.1f s "
                     "| %d / %d |" % (
                         r["keys"], p["requests"], p["designed"], p["seconds"], s["logins"], s["polls"], s["interval"],
                         s["per_hour"], s["default_interval"], e["window"], e["bound"], e["detected"], e["burst_run"],
                         e["backup_runs"], e["key_files"]))
    return "\n".join(lines)


def report(rows, verdicts, opts, meta):
    facts = meta["machine"]
    verdict_lines = verdict_markdown(verdicts)
    loads = ", ".join("%d keys: %.2f → %.2f" % (r["keys"], r["load_before"], r["load_after"]) for r in rows)
    backup_runs = ", ".join("%.1f s at %d keys" % (r["exposure"]["backup_run"], r["keys"]) for r in rows)
    return TEMPLATE.format(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(meta["started"])), elapsed=meta["elapsed"],
                           facts=facts, loads=loads, latency=opts.latency_ms, job_ms=opts.job_ms, poll=opts.eda_poll,
                           polls=opts.eda_polls, table=fmt_eda(rows), verdicts=verdict_lines, backup_runs=backup_runs or "-",
                           command=meta.get("command", "make bench-eda"))


TEMPLATE = """# The event source: requests, sessions, exposure window

*Written by `python -m vsp_bench --eda` (`make bench-eda`) on {date}, at commit {facts[commit]}, from the figures of
that run, which took {elapsed:.0f} s. Do not edit by hand.*

## Set-up (recorded when measuring)

- Machine: {facts[cores]} cores ({facts[cpu_model]}), {facts[memory_gib]} GiB memory, {facts[kernel]}; shared with other
  work. 1-minute load average before → after each key count: {loads}.
- {facts[ansible]}, Python {facts[python]}, vsp-simulator {facts[simulator]}, collection {facts[collection]}.
- Simulator: `--latency-ms {latency} --job-ms {job_ms}`, HTTPS with certificate verification.
- Exposure: the shipped rulebook `vsp.encryption.protect_encryption_keys` run by ansible-rulebook with
  `poll_interval: {poll}`, `settle_interval: 0.5`; 48 keys created through the REST API (two requests of 24).
- Sessions: the event source's own loop (`watch_array`, its real client) for {polls} polls at 1 s, then cancelled
  as ansible-rulebook cancels it.

## Targets

{verdicts}

## Figures

{table}

- **requests per poll, nothing changed**: one poll by the source's own read (`_key_watch.read_snapshot`) after a
  first one, from the simulator's request log; *designed*: the key lists of DEK, CEK, KEK and FREE keys, the DEK and
  FREE lists one GET per page of 1024 keys.
- **sessions per hour**: 1 (the log in at the start) + the log ins again per poll × the polls of an hour at the
  default interval. The array ends a session idle for 300 s (the client does not set `aliveTime`); the default
  interval is shorter, so the one session lasts as long as the source.
- **exposure window**: from the first create request to a key file on disk whose manifest lists the 48 new keys
  (then authenticated and verified), split into the time to the `keys_changed` event (the wait for the next poll and
  the settling of the burst) and the backup run it started (from the event to the file). **bound**: the poll interval
  + the settle interval + one backup run: the same rulebook's run for its `started` event, from the event to its key
  file ({backup_runs}).
- **backup runs / key files for the burst**: backup playbook runs ansible-rulebook started and key files written after
  the keys were created, counted one poll interval after the file appeared.

This page was made by: `{command}`.
"""


def write_eda_page(rows, opts, meta):
    verdicts = eda_targets(rows)
    if opts.out:
        with open(opts.out, "w") as handle:
            handle.write(report(rows, verdicts, opts, meta))
    return verdicts


def print_eda_summary(rows, verdicts):
    print()
    print(fmt_eda(rows))
    print()
    for name, ok, detail in verdicts:
        print("%-6s  %s — %s" % (verdict_word(name, ok), name, detail))
