"""The Markdown page of a run (``performance.md``) and the summary printed after a run."""

from __future__ import annotations

import time

from .charts import charts
from .figures import fleet_rows
from .findings import fleet_findings, findings
from .tables import fmt_ansible_modules, fmt_fleet, fmt_kinds, fmt_modules, fmt_progress, fmt_table, fmt_tasks
from .verdicts import is_timed, targets, verdict_markdown


def role_settings(defaults):
    text = "its defaults: `encryption_key_restore_concurrency: %d`" % defaults["concurrency"]
    if defaults.get("batch_size_default", True):
        return text + ", `encryption_key_restore_batch_size: %d`" % defaults["batch_size"]
    return text + "; `encryption_key_restore_batch_size: %d` set by `--batch-size` (the role's default is %d)" % (
        defaults["batch_size"], defaults["role_batch_size"])


def speed_text(speed):
    """The speed probes of the page (a run saved before they existed has none)."""
    if not speed:
        return "not measured by this run"
    return ("a pure-Python loop of 5,000,000 additions %.2f s, `import ansible.cli.playbook` %.2f s, one PBKDF2-HMAC-SHA256 "
            "of 600,000 iterations %.2f s" % (speed["python_loop_s"], speed["ansible_import_s"], speed["pbkdf2_s"]))


def report(rows, fleet, verdicts, opts, meta, *, pictures):
    facts = meta["machine"]
    loads = ", ".join("N=%d: %.2f → %.2f" % (r["n"], r["load_before"], r["load_after"]) for r in rows)
    if fleet:
        loads += "; fleet " + ", ".join("K=%d%s: %.2f → %.2f" % (f["k"], "" if f.get("variant", "defaults") == "defaults" else " (%s)" % f["variant"],
                                                               f["load_before"], f["load_after"]) for f in fleet)
    verdict_lines = verdict_markdown(verdicts)
    extrapolated = [r["n"] for r in rows if r.get("baseline", {}).get("extrapolated")]
    note = ""
    if extrapolated:
        note = ("\n**The baseline at N=%s is extrapolated** (a straight line through the measured N), not measured: "
                "run `make bench BENCH_FULL=1` to measure it.\n" % ", ".join(str(n) for n in extrapolated))
    groups = sorted({r["groups"] for r in rows})
    restore_chart = "![Wall time and bound against N](%s)\n" % pictures["restore"] if "restore" in pictures else ""
    fleet_chart = "![Wall time against K](%s)\n" % pictures["fleet"] if "fleet" in pictures else ""
    return TEMPLATE.format(
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(meta["started"])), elapsed=meta["elapsed"],
        load_start=meta.get("load_start", float("nan")), load_end=meta.get("load_end", float("nan")),
        latency=opts.latency_ms, job_ms=opts.job_ms, k=opts.parallelism, loads=loads, facts=facts,
        speed=speed_text(facts.get("speed")),
        groups=" or ".join(str(g) for g in groups), sizes=", ".join(str(r["n"]) for r in rows),
        role_settings=role_settings(meta["defaults"]),
        table=fmt_table(rows), verdicts=verdict_lines, modules=fmt_modules(rows, opts), tasks=fmt_tasks(rows),
        progress=fmt_progress(rows, opts), findings=findings(rows, opts), repeat=opts.repeat, kinds=fmt_kinds(rows),
        ansible_modules=fmt_ansible_modules(rows), note=note, restore_chart=restore_chart, fleet_chart=fleet_chart,
        fleet_table=fmt_fleet(fleet) or "Not measured.",
        fleet_findings=fleet_findings(fleet, facts), fleet_sizes=", ".join(str(f["k"]) for f in fleet_rows(fleet)) or "-",
        fleet_runs="one run" if opts.fleet_repeat == 1 else "the best of %d runs" % opts.fleet_repeat,
        fleet_variants=" and again with pipelining on (`ANSIBLE_PIPELINING=True`), for comparison"
        if fleet_rows(fleet, "pipelining") else "", command=meta.get("command", "make bench"))


TEMPLATE = """# Performance

*Written by `python -m vsp_bench` (`make bench`) on {date}, at commit {facts[commit]}, from the figures of that
run, which took {elapsed:.0f} s. Do not edit by hand.*

A key restore keeps applications offline from the first blocked pool volume to the last recovered
one, so the wall time of the procedure is downtime. This page compares the role
`vsp.encryption.encryption_key_restore` (through the playbook `vsp.encryption.restore_encryption_keys`)
with the lower bound that the array itself sets, and with the same procedure written with
`ansible.builtin.uri` tasks, one volume after the other (`bench/baseline.yml`). Then it runs the
backup playbook `vsp.encryption.backup_encryption_keys` over fleets of simulated arrays.

## Set-up (recorded when measuring)

- Machine: {facts[cores]} cores ({facts[cpu_model]}), {facts[memory_gib]} GiB memory, {facts[kernel]};
  shared with other work. 1-minute load average at the start {load_start:.2f}, at the end {load_end:.2f};
  before → after each part: {loads}.
- Speed of this machine, to compare with a run on another one (best of 3, each in a new Python process,
  at the start): {speed}.
- {facts[ansible]}, Python {facts[python]}, vsp-simulator {facts[simulator]}, collection
  {facts[collection]} at commit {facts[commit]}.
- Simulator: `--latency-ms {latency} --job-ms {job_ms} --job-parallelism {k}`, HTTPS with certificate
  verification (as on an array). Restore: N pool volumes in one pool, spread evenly over {groups}
  encrypted parity groups (`bench/vsp_bench/scenario.py`); the keys of every one of those groups are lost before
  each restore. Measured at N = {sizes}.
- The role with {role_settings}.

## Targets

{verdicts}

## Key restore
{note}
{table}

{restore_chart}
- **wall**: `ansible-playbook vsp.encryption.restore_encryption_keys` end to end (preflight → block →
  restore → recover → verify), measured around the process; the best of {repeat} runs, each run right
  after a start-up run (the machine is shared: the best run is the one least slowed by other work).
- **bound**: what the simulator's model allows at best: each phase's N jobs, {k} at a time, take
  ⌈N/{k}⌉ × {job_ms} ms; plus the restore job: (2·⌈N/{k}⌉ + 1) × {job_ms} ms. Request latency is not
  counted, so the bound is a little optimistic.
- **start-up**: Ansible's fixed cost of the procedure, measured as the wall time of the same playbook
  when there is nothing to do (no key lost, every volume normal): the same play, the same preflight
  and verification, no job; the best of {repeat} runs. The module runs it skips (block, restore,
  recover) are counted in the overhead, not in the start-up (see Findings), which makes the target
  stricter.
- **overhead** = wall − start-up − bound: the time neither the array's jobs nor Ansible's fixed
  start-up explains.
- **batches / phase**: `pool_volume_state` runs per phase (⌈N / batch size⌉); each prints a progress line.
- **req/vol/phase**: requests of the block runs / of the recover runs of `pool_volume_state` (log in and
  log out included), per volume, from the simulator's request log (`GET /simulator/v1/requests`), the log
  split into module runs at each session's log in and log out; block = the runs before the key
  restore's run, recover = after. For the baseline: the LDEV listing, change-status and job polls
  before the restore / change-status and job polls after it.
- **sessions**: sessions opened (`POST /v1/objects/sessions`) for the module runs of the role run that
  talked to the array; each run's log in is followed by its log out before the next log in.
- **peak RSS**: the largest maximum resident set size of every module process of the procedure, both run
  alone as a Python process on the N volumes (`python -m ansible_collections.vsp.encryption.plugins.modules.<module>
  args.json`, `ru_maxrss` read with `os.wait4`) and as Ansible ran them in the best role run and start-up
  run (the inventory's `ansible_python_interpreter` is `bench/python-timed`, which runs each module
  process under `/usr/bin/time`): see "The modules alone" and "The modules under Ansible".
- **speed-up** = baseline wall / role wall.

## Progress during the long phases

{progress}

## Where the time goes

Task times of the best role run (callback `bench/callback_plugins/bench_timer.py`); "everything else"
is the rest of the wall time: Ansible's own start, the preflight, the verification, the summary.

{tasks}

## The modules alone (no Ansible)

Every module of the procedure run as a plain Python process on the N volumes: `pool_volume_state` per
phase (the recover run after an `encryption_key_restore` run), against that phase's share of the bound
(⌈N/{k}⌉ × {job_ms} ms), at the largest N also with `concurrency` = 2 × {k}; the read-only modules of the
preflight and the verification, and the restore. The wall time includes the Python process start.

{modules}

## The modules under Ansible

The module processes of the best role run (R) and of the best start-up run (S), as `bench/python-timed`
logged them: runs, CPU seconds (user + system), peak RSS.

{ansible_modules}

## Requests by kind

{kinds}

## Findings

{findings}

## Fleet: the backup playbook over K arrays

`ansible-playbook --forks K vsp.encryption.backup_encryption_keys` over K simulated arrays, one
`vsp-simulator` process each (same timing flags), each with its own serial number and storage id, one
inventory host per array (its `vsp_connection` and `vsp_expected_storage_device_id`), all writing into
one backup directory (created before the run, as on every night but the first). Measured at
K = {fleet_sizes}, {fleet_runs} each, with Ansible's defaults{fleet_variants}.

- **CPU s**: user + system seconds. Main process: ansible-playbook's own (`RUSAGE_SELF`, taken by the
  callback at the end of the play); modules: the module processes the forks started, each logged by
  `bench/python-timed` (the inventory's `ansible_python_interpreter`, which runs the module under
  `/usr/bin/time`); forks: the rest of ansible-playbook's process tree (`RUSAGE_CHILDREN` of
  the bench's process around the run, minus the main process and the modules); simulators: from
  `/proc/<pid>/stat` before and after the run. **cores busy**: this run's CPU seconds / wall, and every
  process of the machine's (`/proc/stat`) / wall.
- **files verified**: each array has exactly one new key file in the directory whose manifest names that
  array (storage id and serial), whose sha256 and size match the manifest, with mode 0600, and which the
  simulator's own reader opens with the password and finds that array's keys in it.

{fleet_table}

{fleet_chart}
{fleet_findings}

## How the baseline is written

- It logs in once and out once, lists the LDEVs of each parity group, and changes each volume's status
  with one `uri` task and waits for its job with `until`/`retries`/`delay: 1` (the shortest
  whole-second delay), one volume after the other.
- It sends the restore with `curl` from a `command` task: `ansible.builtin.uri` with `body_format:
  form-multipart` cannot send the binary key file unchanged (file parts are base64-encoded with a
  `Content-Transfer-Encoding` header that multipart/form-data does not use, and `multipart_encoding:
  7or8bit` rewrites the line endings inside the binary).

## Reproduce

    make bench                       # N = 16 64 256 1024, the baseline at 16 and 64, the fleet at K = 1 8 32
    make bench BENCH_FULL=1          # the baseline at every N too
    make bench BENCH_SIZES="16 64" BENCH_FLEET="1 4" BENCH_JOB_MS=500 BENCH_PARALLELISM=4

Variables: `BENCH_SIZES`, `BENCH_LATENCY_MS`, `BENCH_JOB_MS`, `BENCH_PARALLELISM`, `BENCH_REPEAT`,
`BENCH_BASELINE_SIZES`, `BENCH_FLEET`, `BENCH_FLEET_REPEAT`, `BENCH_FULL`, `BENCH_OUT`. Work files (logs
of every run) are kept under `$(BUILD)/bench/`; the page, its charts and `results.json` (the figures, with
the machine facts and the commit above) go to `$(BUILD)/reports/bench/`. `make bench-doc` copies the page
and its charts into `docs/` (the reference run the docs show);
`PYTHONPATH=bench python -m vsp_bench --render $(BUILD)/reports/bench/results.json` writes the page and its
charts again from them, without measuring. This page was made by: `{command}`.
"""


def write_page(rows, fleet, opts, meta):
    verdicts = targets(rows, fleet)
    pictures = charts(rows, fleet, opts.out) if opts.out else {}
    if opts.out:
        with open(opts.out, "w") as handle:
            handle.write(report(rows, fleet, verdicts, opts, meta, pictures=pictures))
    return verdicts


def print_summary(rows, fleet, verdicts):
    print()
    print(fmt_table(rows))
    if fleet:
        print()
        print(fmt_fleet(fleet))
    print()
    mark = {True: "PASS  ", False: "FAIL  ", None: "n/a   "}
    timed = {True: "WITHIN", False: "OVER  ", None: "n/a   "}  # wall times: reported, not gated
    for name, ok, detail in verdicts:
        print("%s  %s — %s" % ((timed if is_timed(name) else mark)[ok], name, detail))

