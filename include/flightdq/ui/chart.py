"""The daily row count and its normal band, drawn as inline SVG (no chart library, no CDN).

Each day gets its own band, because normal depends on the weekday: a shaded bar from the drift
alarm threshold up to the highest comparable day, a dash at the median, and the observed count as
a dot coloured like the calendar (its drift verdict). A dot below the band is a drop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from flightdq.ui.counts import CountPoint
from flightdq.ui.data import STATE_LABELS, format_value

# One palette for the calendar (static/flightdq.css repeats these; a test keeps them equal).
STATE_COLORS = {
    "P0": "#7f1d1d",
    "P1": "#dc2626",
    "P2": "#f97316",
    "P3": "#facc15",
    "warn": "#93c5fd",
    "pass": "#15803d",
    "nodata": "#e5e7eb",
}
BAND_COLOR = "#bfdbfe"
MEDIAN_COLOR = "#1d4ed8"
LINE_COLOR = "#334155"


def nice_step(span: float, ticks: int = 4) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about `ticks` ticks over `span`."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return float(factor * power)
    return float(10 * power)


LABEL_WIDTH = 34  # an x-axis label, "MM-DD" at font-size 11, in the chart's own units
LABEL_GAP = 10


def label_indices(n: int, step: float) -> list[int]:
    """Which days get an x-axis label: the last day always, then every k-th day before it, k the
    fewest days whose width holds a label and a gap (labels never overlap, whatever the span)."""
    if n <= 0:
        return []
    every = max(1, math.ceil((LABEL_WIDTH + LABEL_GAP) / step)) if step > 0 else n
    return sorted(range(n - 1, -1, -every))


def y_range(points: Sequence[CountPoint]) -> tuple[float, float]:
    """(0, top): the top tick above every observed count and band."""
    values = [v for p in points for v in (p.observed, p.high, p.expected) if v is not None]
    top = max(values, default=0)
    if top <= 0:
        return 0.0, 1.0
    step = nice_step(top)
    return 0.0, step * math.ceil(top * 1.05 / step)


def row_count_svg(
    points: Sequence[CountPoint],
    *,
    width: int = 960,
    height: int = 280,
    highlight: str | None = None,
    day_href: str | None = None,
) -> str:
    """The chart as an `<svg>` element. `day_href`: a URL prefix; each dot links to it + the day."""
    label = "Daily flights in flightdata_processed against their normal band"
    if not any(p.observed is not None for p in points):
        return (
            f'<svg class="chart empty" role="img" aria-label="{escape(label)}" width="{width}" height="60" '
            f'viewBox="0 0 {width} 60" xmlns="http://www.w3.org/2000/svg">'
            f'<text x="{width / 2:.0f}" y="34" text-anchor="middle">'
            "No record_count_drift verdicts recorded for these days.</text></svg>"
        )
    left, right, top, bottom = 64, 16, 14, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(points)
    step = plot_w / n
    y0, y1 = y_range(points)

    def x(i: int) -> float:
        return left + step * (i + 0.5)

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - y0) / (y1 - y0))

    out = [
        f'<svg class="chart" role="img" aria-label="{escape(label)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" font-size="11">',
        f"<title>{escape(label)}</title>",
    ]
    tick = nice_step(y1 - y0)
    value = y0
    while value <= y1 + 1e-9:
        yy = y(value)
        out.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{yy:.1f}" y2="{yy:.1f}" '
            'stroke="#e2e8f0" stroke-width="1"/>'
            f'<text class="ylabel" x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="#475569">'
            f"{value:,.0f}</text>"
        )
        value += tick
    for i in label_indices(n, step):
        out.append(
            f'<text class="xlabel" x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'fill="#475569">{escape(points[i].dt[5:])}</text>'
        )
    if highlight is not None:
        for i, p in enumerate(points):
            if p.dt == highlight:
                out.append(
                    f'<rect class="highlight" x="{x(i) - step / 2:.1f}" y="{top}" width="{step:.1f}" '
                    f'height="{plot_h}" fill="#fef9c3"/>'
                )
    half = max(1.0, step * 0.38)
    for i, p in enumerate(points):
        if p.low is None or p.high is None:
            continue
        out.append(
            f'<rect class="band" data-dt="{p.dt}" data-low="{p.low:.1f}" data-high="{p.high:.1f}" '
            f'x="{x(i) - half:.1f}" y="{y(p.high):.1f}" width="{2 * half:.1f}" '
            f'height="{max(0.5, y(p.low) - y(p.high)):.1f}" fill="{BAND_COLOR}" opacity="0.8"/>'
        )
        if p.expected is not None:
            out.append(
                f'<line class="median" x1="{x(i) - half:.1f}" x2="{x(i) + half:.1f}" '
                f'y1="{y(p.expected):.1f}" y2="{y(p.expected):.1f}" stroke="{MEDIAN_COLOR}" '
                'stroke-width="1.5" stroke-dasharray="3 2"/>'
            )
    segment: list[str] = []
    for i, p in enumerate(points):
        if p.observed is None:
            if len(segment) > 1:
                out.append(_polyline(segment))
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(p.observed):.1f}")
    if len(segment) > 1:
        out.append(_polyline(segment))
    radius = max(2.5, min(5.0, step / 3))
    for i, p in enumerate(points):
        if p.observed is None:
            continue
        tip = f"{p.dt}: {format_value(p.observed)} flights"
        if p.partial:
            tip += f" in the first {p.hours_judged} h"
        if p.expected is not None:
            tip += f"; normal {format_value(p.expected)} (band {p.low:,.0f} to {p.high:,.0f})"
        tip += f"; {STATE_LABELS.get(p.state, p.state)}"
        if p.message:
            tip += f"\n{p.message}"
        dash = ' stroke-dasharray="2 1"' if p.partial else ""
        dot = (
            f'<circle class="point s-{p.state}" data-dt="{p.dt}" data-observed="{p.observed}" '
            f'cx="{x(i):.1f}" cy="{y(p.observed):.1f}" r="{radius:.1f}" fill="{STATE_COLORS[p.state]}" '
            f'stroke="#0f172a" stroke-width="0.8"{dash}>'
            f"<title>{escape(tip)}</title></circle>"
        )
        if day_href is not None:
            dot = f'<a href="{escape(day_href + p.dt)}" target="_self">{dot}</a>'
        out.append(dot)
    out.append(
        f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#94a3b8"/>'
        f'<line class="axis" x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
        'stroke="#94a3b8"/>'
        "</svg>"
    )
    return "".join(out)


def _polyline(coords: list[str]) -> str:
    return (
        f'<polyline class="observed" points="{" ".join(coords)}" fill="none" '
        f'stroke="{LINE_COLOR}" stroke-width="1.5"/>'
    )
