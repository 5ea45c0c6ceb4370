"""A small hand-written SVG line chart for the benchmark's page (no plotting library needed).

    line_chart(path, title, xlabel, ylabel, series, xticks=[...], xlog=False, ylog=False)

``series``: a list of ``{"name", "points": [(x, y), ...], "color", "dash": "" | "6 4", "marker": True}``.
Points with ``y`` of None are left out. Axes are linear or logarithmic (base 10 for the grid, any
ticks given for x). The file is deterministic for the same input.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 72, 230, 44, 56


def _fmt(value):
    if value >= 100 or value == int(value):
        return "%d" % round(value)
    if value >= 10:
        return "%.0f" % value
    if value >= 1:
        return "%.1f" % value
    return "%.2g" % value


def _nice_step(span, count=5):
    raw = span / float(count)
    power = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 2.5, 5, 10):
        if mult * power >= raw:
            return mult * power
    return 10 * power


def _y_ticks(lo, hi, log):
    if log:
        ticks = []
        for exp in range(int(math.floor(math.log10(lo))), int(math.ceil(math.log10(hi))) + 1):
            for mult in (1, 2, 5):
                value = mult * 10 ** exp
                if lo * 0.999 <= value <= hi * 1.001:
                    ticks.append(value)
        return ticks
    step = _nice_step(hi - lo)
    return [lo + i * step for i in range(int(round((hi - lo) / step)) + 1)]


def line_chart(path, title, xlabel, ylabel, series, *, xticks, xlog=False, ylog=False):
    points = [(x, y) for s in series for x, y in s["points"] if y is not None]
    if not points:
        return None
    ys = [y for _, y in points]
    if ylog:
        steps = [m * 10 ** e for e in range(-3, 7) for m in (1, 2, 5)]
        lo = max([v for v in steps if v <= max(min(ys), 1e-3)] or [steps[0]])
        hi = min([v for v in steps if v >= max(ys)] or [steps[-1]])
    else:
        lo = 0.0
        step = _nice_step(max(ys) * 1.05 or 1.0)
        hi = step * math.ceil(max(ys) * 1.05 / step)

    def tx(value):
        return math.log10(value) if xlog else float(value)

    def ty(value):
        return math.log10(value) if ylog else float(value)

    x0, x1 = tx(min(xticks)), tx(max(xticks))
    if xlog:
        pad = (x1 - x0) * 0.04 or 0.1
    else:
        x0, pad = min(0.0, x0), (x1 - min(0.0, x0)) * 0.02 or 0.5
    x0, x1 = x0 - pad, x1 + pad
    y0, y1 = ty(lo), ty(hi)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(value):
        return LEFT + (tx(value) - x0) / (x1 - x0) * plot_w

    def py(value):
        return TOP + plot_h - (ty(value) - y0) / (y1 - y0) * plot_h

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="sans-serif" font-size="12">' % (WIDTH, HEIGHT, WIDTH, HEIGHT),
           '<title>%s</title>' % escape(title),
           '<rect x="0" y="0" width="%d" height="%d" fill="white"/>' % (WIDTH, HEIGHT),
           '<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>' % (LEFT, escape(title))]
    for tick in _y_ticks(lo, hi, ylog):
        y = py(tick)
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e3e3e3"/>' % (LEFT, y, LEFT + plot_w, y))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (LEFT - 6, y + 4, _fmt(tick)))
    for tick in xticks:
        x = px(tick)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e3e3e3"/>' % (x, TOP, x, TOP + plot_h))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (x, TOP + plot_h + 18, _fmt(tick)))
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#555"/>' % (LEFT, TOP, plot_w, plot_h))
    out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
               % (LEFT + plot_w / 2.0, HEIGHT - 14, escape(xlabel + (" (log scale)" if xlog else ""))))
    out.append('<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">%s</text>'
               % (TOP + plot_h / 2.0, escape(ylabel + (" (log scale)" if ylog else ""))))
    for index, s in enumerate(series):
        pts = [(x, y) for x, y in s["points"] if y is not None]
        color, dash = s.get("color", "#333"), s.get("dash", "")
        dash_attr = ' stroke-dasharray="%s"' % dash if dash else ""
        if len(pts) > 1:
            out.append('<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>' % (
                color, dash_attr, " ".join("%.1f,%.1f" % (px(x), py(y)) for x, y in pts)))
        if s.get("marker", True):
            for x, y in pts:
                out.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s: %s at %s</title></circle>'
                           % (px(x), py(y), color, escape(s["name"]), _fmt(y), _fmt(x)))
        ly = TOP + 10 + index * 22
        lx = LEFT + plot_w + 16
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>'
                   % (lx, ly, lx + 26, ly, color, dash_attr))
        out.append('<text x="%d" y="%d">%s</text>' % (lx + 32, ly + 4, escape(s["name"])))
    out.append("</svg>")
    with open(path, "w") as handle:
        handle.write("\n".join(out) + "\n")
    return path
