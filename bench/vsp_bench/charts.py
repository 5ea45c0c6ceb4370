"""The page's SVG charts, written next to it."""

from __future__ import annotations

import os

from . import svg
from .figures import fleet_rows
from .verdicts import TARGET_FLEET_FACTOR


def charts(rows, fleet, out):
    """Write the SVG charts next to the page; return their file names (relative to the page)."""
    base = os.path.splitext(out)[0]
    names = {}
    xs = [r["n"] for r in rows]
    measured_b = [(r["n"], r["baseline"]["wall"]) for r in rows if r.get("baseline") and not r["baseline"].get("extrapolated")]
    extrap_b = [(r["n"], r["baseline"]["wall"]) for r in rows if r.get("baseline")]
    series = [
        {"name": "role: wall", "points": [(r["n"], r["wall"]) for r in rows], "color": "#1f5fa8"},
        {"name": "bound + start-up", "points": [(r["n"], r["bound"] + r["startup"]) for r in rows], "color": "#6aa84f", "dash": "6 4"},
        {"name": "bound (array's jobs)", "points": [(r["n"], r["bound"]) for r in rows], "color": "#2d7a2d"},
        {"name": "baseline: wall", "points": measured_b, "color": "#c0392b"},
    ]
    if len(extrap_b) > len(measured_b):
        series.append({"name": "baseline (extrapolated)", "points": extrap_b, "color": "#c0392b", "dash": "3 4", "marker": False})
    path = svg.line_chart(base + "-restore.svg", "Key restore: wall time and bound against N", "N pool volumes",
                          "seconds", series, xticks=xs, xlog=len(xs) > 1, ylog=True)
    if path:
        names["restore"] = os.path.basename(path)
    piped = fleet_rows(fleet, "pipelining")
    fleet = fleet_rows(fleet)
    if fleet:
        ks = [f["k"] for f in fleet]
        one = next((f for f in fleet if f["k"] == 1), None)
        series = [{"name": "wall", "points": [(f["k"], f["wall"]) for f in fleet], "color": "#1f5fa8"},
                  {"name": "CPU s / cores", "points": [(f["k"], (f["cpu_tree"] + f["cpu_simulators"]) / f["cores"])
                                                       for f in fleet], "color": "#b36b00", "dash": "6 4"}]
        if piped:
            series.append({"name": "wall, pipelining on", "points": [(f["k"], f["wall"]) for f in piped], "color": "#7e57c2",
                           "dash": "6 3"})
        if one:
            series.append({"name": "target: %g × wall(K=1)" % TARGET_FLEET_FACTOR,
                           "points": [(min(ks), TARGET_FLEET_FACTOR * one["wall"]), (max(ks), TARGET_FLEET_FACTOR * one["wall"])],
                           "color": "#888", "dash": "2 3", "marker": False})
        path = svg.line_chart(base + "-fleet.svg", "Backup playbook over K arrays (forks = K)", "K arrays", "seconds",
                              series, xticks=ks)
        if path:
            names["fleet"] = os.path.basename(path)
    return names


