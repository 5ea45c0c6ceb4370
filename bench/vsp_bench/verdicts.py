"""The targets of issues #7, #16 and #29 and their verdicts: True/False per target, None when not measured.

Counts (requests, module runs, sessions, memory, files verified) gate: a False fails the run. Wall times and
their ratios are reported beside their bound and never fail it (:func:`is_timed`): a busy machine makes them
slower without the collection doing more."""

from __future__ import annotations

from .figures import fleet_rows, progress_cost


# targets of issue #16 (and of issue #7: speed-up, one session per module run)
TARGET_RATIOS = ((256, 1.15), (1024, 1.10))  # (wall - start-up) / bound at N
TARGET_STARTUP_S = 4.0
TARGET_REQUESTS = 1.05
TARGET_REQUESTS_FROM_N = 256
TARGET_RSS_MIB = 64
TARGET_RSS_N = 1024
TARGET_PROGRESS = 0.05  # progress cost per phase / phase bound
TARGET_PROGRESS_N = 1024
TARGET_FLEET_K = 32
TARGET_FLEET_FACTOR = 8.0
TARGET_SPEEDUP = 10.0
TARGET_SPEEDUP_N = 256


# targets of issue #29 (the event source, bench/vsp_bench/eda.py)
EDA_SESSIONS_PER_HOUR = 1  # per array at the default poll interval: one session, kept while the source runs
EDA_NEW_KEYS = 48


# targets on wall time: reported against their bound, never a reason for the bench to fail
TIMED = ("N=256: (wall", "N=1024: (wall", "Ansible's fixed start-up", "N=1024: cost of the progress lines",
         "N=256: at least", "fleet: K=32 in at most", "EDA: exposure window")


def is_timed(name):
    """True for a target on wall time (reported, not gated)."""
    return name.startswith(TIMED)


MARK = {True: "PASS", False: "FAIL", None: "NOT MEASURED"}
TIMED_MARK = {True: "WITHIN", False: "OVER", None: "NOT MEASURED"}  # wall times: reported, not gated


def verdict_word(name, ok):
    """PASS / FAIL for a count, WITHIN / OVER for a wall time; NOT MEASURED for either when ``ok`` is None."""
    return (TIMED_MARK if is_timed(name) else MARK)[ok]


def verdict_markdown(verdicts):
    """The verdicts as the Markdown list of a page, a wall time's line saying it is not gated."""
    return "\n".join("- **%s** %s — %s%s" % (verdict_word(name, ok), name, detail,
                                             " (wall time: reported, not gated)" if is_timed(name) else "")
                     for name, ok, detail in verdicts)


def gating_failures(verdicts):
    """The names of the failed targets that fail the run: counts only."""
    return [name for name, ok, dummy in verdicts if ok is False and not is_timed(name)]


def targets(rows, fleet):
    """[(name, verdict, detail)]; verdict None when the size the target is set at was not measured."""
    out = []
    by_n = {r["n"]: r for r in rows}
    for n, limit in TARGET_RATIOS:
        r = by_n.get(n)
        name = "N=%d: (wall − start-up) / bound ≤ %.2f" % (n, limit)
        if r is None:
            out.append((name, None, "N=%d not measured" % n))
            continue
        ratio = (r["wall"] - r["startup"]) / r["bound"]
        out.append((name, ratio <= limit, "(%.1f s − %.1f s) / %.1f s = %.3f" % (r["wall"], r["startup"], r["bound"], ratio)))
    worst = max(rows, key=lambda r: r["startup"])
    out.append(("Ansible's fixed start-up of the procedure ≤ %.1f s (every N)" % TARGET_STARTUP_S,
                all(r["startup"] <= TARGET_STARTUP_S for r in rows),
                ", ".join("N=%d: %.2f s" % (r["n"], r["startup"]) for r in rows) + " (worst N=%d)" % worst["n"]))
    big = [r for r in rows if r["n"] >= TARGET_REQUESTS_FROM_N]
    name = "requests per volume per phase ≤ %.2f (N ≥ %d)" % (TARGET_REQUESTS, TARGET_REQUESTS_FROM_N)
    if big:
        out.append((name, all(max(r["per_phase"]) <= TARGET_REQUESTS for r in big),
                    "; ".join("N=%d: %s" % (r["n"], " / ".join("%.3f" % x for x in r["per_phase"])) for r in big)))
    else:
        out.append((name, None, "no N ≥ %d measured" % TARGET_REQUESTS_FROM_N))
    r = by_n.get(TARGET_RSS_N)
    name = "peak RSS of a module ≤ %d MiB at N=%d" % (TARGET_RSS_MIB, TARGET_RSS_N)
    if r is None:
        out.append((name, None, "N=%d not measured" % TARGET_RSS_N))
    else:
        out.append((name, r["rss_mib"] <= TARGET_RSS_MIB,
                    "%.1f MiB (the largest of every module of the procedure: %.1f MiB run alone, %s under Ansible)"
                    % (r["rss_mib"], r["rss_alone_mib"], "%.1f MiB" % r["rss_ansible_mib"] if r["rss_ansible_mib"] else "not measured")))
    r = by_n.get(TARGET_PROGRESS_N)
    name = "N=%d: cost of the progress lines ≤ %d %% of the phase bound" % (TARGET_PROGRESS_N, TARGET_PROGRESS * 100)
    cost = progress_cost(r) if r else None
    if cost is None:
        out.append((name, None, "N=%d not measured in batches and in one batch" % TARGET_PROGRESS_N))
    else:
        share = cost["per_phase"] / r["phase_bound"]
        out.append((name, share <= TARGET_PROGRESS,
                    "%.2f s per phase (block %.2f s, recover %.2f s; %d extra module runs per phase) = %.1f %% of %.1f s"
                    % (cost["per_phase"], cost["block"], cost["recover"], cost["extra_runs_per_phase"], 100 * share,
                       r["phase_bound"])))
    r = by_n.get(TARGET_SPEEDUP_N)
    if r and r.get("baseline"):
        speedup = r["baseline"]["wall"] / r["wall"]
        mark = " (baseline extrapolated from %s)" % r["baseline"]["from"] if r["baseline"].get("extrapolated") else ""
        out.append(("N=%d: at least %g × faster than the baseline" % (r["n"], TARGET_SPEEDUP), speedup >= TARGET_SPEEDUP,
                    "%.1f ×%s" % (speedup, mark)))
    out.append(("one session per module run (every N)",
                all(r["one_session"] and r["sessions"] == r["module_runs"] for r in rows)
                and all(m["sessions"] == 1 for r in rows for m in r["module"].values()),
                "; ".join("N=%d: %d sessions for %d module runs" % (r["n"], r["sessions"], r["module_runs"]) for r in rows)))
    fleet = fleet_rows(fleet)
    if fleet:
        by_k = {f["k"]: f for f in fleet}
        name = "fleet: K=%d in at most %g × the wall time of K=1" % (TARGET_FLEET_K, TARGET_FLEET_FACTOR)
        if TARGET_FLEET_K in by_k and 1 in by_k:
            big, one = by_k[TARGET_FLEET_K], by_k[1]
            factor = big["wall"] / one["wall"]
            out.append((name, factor <= TARGET_FLEET_FACTOR, "%.1f s / %.1f s = %.2f ×" % (big["wall"], one["wall"], factor)))
        else:
            out.append((name, None, "K=1 and K=%d not both measured" % TARGET_FLEET_K))
        out.append(("fleet: every key file written and verified (every K)", all(f["verified_all"] for f in fleet),
                    ", ".join("K=%d: %d/%d" % (f["k"], f["verified"], f["k"]) for f in fleet)))
    return out


def eda_targets(rows):
    """[(name, verdict, detail)] of the event source's benchmark (rows of :func:`vsp_bench.eda.bench_eda`); verdict
    None when no key count was measured. Counts gate; the exposure window is a wall time (reported)."""
    names = (
        "EDA: requests per poll when nothing changed = the source's design (the 4 key lists; DEK and FREE one GET "
        "per page of 1024), no write, at every key count",
        "EDA: sessions per hour per array ≤ %d at the default poll interval" % EDA_SESSIONS_PER_HOUR,
        "EDA: every session logged out when the source stops",
        "EDA: one backup run for a burst of %d new keys" % EDA_NEW_KEYS,
        "EDA: the new key file holds all %d new keys, authenticated and verified" % EDA_NEW_KEYS,
        "EDA: exposure window ≤ poll interval + settling + one backup run",
    )
    if not rows:
        return [(name, None, "not measured") for name in names]
    out = []
    polls = [(r["keys"], r["idle_poll"], r["sessions"]) for r in rows]
    out.append((names[0], all(p["requests"] == p["designed"] and p["writes"] == 0
                              and s["key_list_requests"] == s["polls"] * p["designed"] for dummy, p, s in polls),
                "; ".join("%d keys: %d (designed %d, %d writes); the source's %d polls: %d key-list GETs"
                          % (n, p["requests"], p["designed"], p["writes"], s["polls"], s["key_list_requests"])
                          for n, p, s in polls)))
    out.append((names[1], all(s["per_hour"] <= EDA_SESSIONS_PER_HOUR for dummy, p, s in polls),
                "; ".join("%d keys: %d log in(s) over %d polls at %g s → %.2f per hour at %d s (a session idle %d s "
                          "ends; the interval is shorter)" % (n, s["logins"], s["polls"], s["interval"], s["per_hour"],
                                                              s["default_interval"], s["alive_s"])
                          for n, p, s in polls)))
    out.append((names[2], all(r["sessions"]["left_open"] == 0 and r["sessions"]["logouts"] == r["sessions"]["logins"]
                              and r["exposure"]["left_open"] == 0 for r in rows),
                "; ".join("%d keys: the source %d log in(s) / %d log out(s), %d left; the rulebook %d left"
                          % (r["keys"], r["sessions"]["logins"], r["sessions"]["logouts"], r["sessions"]["left_open"],
                             r["exposure"]["left_open"]) for r in rows)))
    exposures = [(r["keys"], r["exposure"]) for r in rows]
    out.append((names[3], all(e["backup_runs"] == 1 and e["key_files"] == 1 for dummy, e in exposures),
                "; ".join("%d keys: %d backup run(s), %d key file(s)" % (n, e["backup_runs"], e["key_files"])
                          for n, e in exposures)))
    out.append((names[4], all(e["created"] == EDA_NEW_KEYS and e["new_keys_in_file"] == EDA_NEW_KEYS and not e["problems"]
                              for dummy, e in exposures),
                "; ".join("%d keys: %d of %d%s" % (n, e["new_keys_in_file"], e["created"],
                                                  " (%s)" % ", ".join(e["problems"]) if e["problems"] else ", verified")
                          for n, e in exposures)))
    out.append((names[5], all(e["window"] <= e["bound"] for dummy, e in exposures),
                "; ".join("%d keys: %.1f s (bound %g s + %g s + %.1f s = %.1f s)"
                          % (n, e["window"], e["poll_interval"], e["settle_interval"], e["backup_run"], e["bound"])
                          for n, e in exposures)))
    return out
