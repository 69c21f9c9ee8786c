"""Small inline-SVG charts drawn in Python: no JavaScript, no network, no plotting library.

Every function returns an ``<svg>`` element as a string, sized by ``viewBox`` so it scales
with the page. All text placed in a chart goes through ``html.escape``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

ACCENT = "#3d6fb6"
MUTED = "#9aa5b1"
GOOD = "#2f8f5b"
BAD = "#c0473a"
WARN = "#c98a1b"
AXIS = "#6b7785"
GRID = "#e3e7ec"
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif"


def _n(x: float) -> str:
    """A coordinate, short."""
    return f"{x:.1f}".rstrip("0").rstrip(".") if math.isfinite(x) else "0"


def fmt(value: float, digits: int = 3) -> str:
    """A number for a label: few digits, no trailing noise."""
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def _open(width: float, height: float, label: str) -> str:
    return (f'<svg viewBox="0 0 {_n(width)} {_n(height)}" width="100%" role="img" '
            f'aria-label="{escape(label)}" style="{FONT};max-width:{_n(width)}px" '
            f'class="chart">')


def _text(x: float, y: float, text: str, *, size: int = 11, anchor: str = "middle",
          fill: str = AXIS, weight: str = "normal") -> str:
    return (f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{fill}" font-weight="{weight}">{escape(text)}</text>')


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str = AXIS,
          width: float = 1, dash: str | None = None) -> str:
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
            f'stroke="{stroke}" stroke-width="{width}"{extra}/>')


def nice_range(values: Sequence[float], default: tuple[float, float] = (0.0, 1.0),
               ) -> tuple[float, float]:
    """[0, 1] when the values fit in it (the usual reward scale), else their span."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return default
    lo, hi = min(finite), max(finite)
    if default[0] <= lo and hi <= default[1]:
        return default
    if lo == hi:
        return lo - 0.5, hi + 0.5
    return lo, hi


def bin_counts(values: Sequence[float], lo: float, hi: float, bins: int) -> list[int]:
    """How many finite ``values`` fall in each of ``bins`` equal bins over [lo, hi] (values
    outside are counted in the first or last bin; NaN and infinities are left out).
    Raises ``ZeroDivisionError`` if ``hi == lo`` and there is a value to bin."""
    counts = [0] * bins
    span = hi - lo
    for v in values:
        if math.isfinite(v):
            counts[min(bins - 1, max(0, int((v - lo) / span * bins)))] += 1
    return counts


def histogram(values: Sequence[float], *, lo: float, hi: float, bins: int = 20,
              width: float = 560, height: float = 200, color: str = ACCENT,
              mean: float | None = None, label: str = "distribution",
              compact: bool = False) -> str:
    """Bars of how many values fall in each of ``bins`` equal slices of [lo, hi]."""
    counts = bin_counts(values, lo, hi, bins)
    top = max(counts) or 1
    left, right = (8, 8) if compact else (40, 12)
    upper, bottom = (6, 20) if compact else (24, 34)
    plot_w, plot_h = width - left - right, height - upper - bottom
    bar_w = plot_w / bins
    parts = [_open(width, height, label)]
    if not compact:
        # Gridlines at whole counts: the top, and about half of it when that is distinct.
        for tick in sorted({top, max(1, round(top / 2))}):
            y = upper + plot_h * (1 - tick / top)
            parts.append(_line(left, y, left + plot_w, y, GRID))
            parts.append(_text(left - 6, y + 4, f"{tick:,}", anchor="end", size=10))
    for i, count in enumerate(counts):
        if not count:
            continue
        h = plot_h * count / top
        x0 = lo + (hi - lo) * i / bins
        x1 = lo + (hi - lo) * (i + 1) / bins
        tip = f"{fmt(x0)}\u2013{fmt(x1)}: {count}"
        parts.append(
            f'<rect x="{_n(left + i * bar_w + 0.5)}" y="{_n(upper + plot_h - h)}" '
            f'width="{_n(max(bar_w - 1, 0.5))}" height="{_n(h)}" fill="{color}" rx="1">'
            f"<title>{escape(tip)}</title></rect>")
    parts.append(_line(left, upper + plot_h, left + plot_w, upper + plot_h))
    tick_size = 10 if compact else 11
    for frac, anchor in ((0.0, "start"), (0.5, "middle"), (1.0, "end")):
        parts.append(_text(left + plot_w * frac, upper + plot_h + 14, fmt(lo + (hi - lo) * frac),
                           anchor=anchor, size=tick_size))
    if mean is not None and math.isfinite(mean) and hi > lo:
        x = left + plot_w * min(1.0, max(0.0, (mean - lo) / (hi - lo)))
        parts.append(_line(x, upper, x, upper + plot_h, BAD, 1.5, "4 3"))
        if not compact:
            parts.append(_text(x, upper - 8, f"mean {fmt(mean)}", size=11, fill=BAD))
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # in [0, 1] for rate bars
    text: str  # what is printed after the bar
    color: str = ACCENT


def rate_bars(bars: Sequence[Bar], *, width: float = 560, label: str = "rates") -> str:
    """Horizontal bars on a 0-100 % scale, one per row."""
    row_h, label_w, text_w = 24, 150, 120
    height = row_h * len(bars) + 8
    plot_w = width - label_w - text_w
    parts = [_open(width, height, label)]
    for i, bar in enumerate(bars):
        y = 4 + i * row_h
        parts.append(_text(label_w - 8, y + 16, _clip(bar.label, 22), anchor="end",
                           fill="#1f2933", size=12))
        parts.append(f'<rect x="{label_w}" y="{y + 5}" width="{_n(plot_w)}" height="14" '
                     f'fill="{GRID}" rx="3"/>')
        w = plot_w * min(1.0, max(0.0, bar.value))
        parts.append(f'<rect x="{label_w}" y="{y + 5}" width="{_n(w)}" height="14" '
                     f'fill="{bar.color}" rx="3"><title>{escape(bar.text)}</title></rect>')
        parts.append(_text(label_w + plot_w + 8, y + 16, bar.text, anchor="start", size=11))
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Interval:
    label: str
    value: float | None
    low: float | None
    high: float | None
    note: str = ""  # shown instead of a bar when value is None


def interval_bars(rows: Sequence[Interval], *, lo: float = -1.0, hi: float = 1.0,
                  width: float = 560, label: str = "correlations") -> str:
    """A bar from 0 to each value with a whisker for its confidence interval."""
    row_h, label_w, text_w = 28, 150, 150
    height = row_h * len(rows) + 30
    plot_w = width - label_w - text_w

    def x_of(v: float) -> float:
        return label_w + plot_w * (min(hi, max(lo, v)) - lo) / (hi - lo)

    parts = [_open(width, height, label)]
    for tick in (lo, (lo + hi) / 2, hi):
        parts.append(_line(x_of(tick), 4, x_of(tick), height - 22,
                           AXIS if tick == 0 else GRID, 1))
        parts.append(_text(x_of(tick), height - 8, fmt(tick), size=10))
    for i, row in enumerate(rows):
        y = 6 + i * row_h
        parts.append(_text(label_w - 8, y + 15, _clip(row.label, 22), anchor="end",
                           fill="#1f2933", size=12))
        if row.value is None:
            parts.append(_text(label_w + 4, y + 15, _clip(row.note or "undefined", 60),
                               anchor="start", size=11, fill=WARN))
            continue
        zero = x_of(0.0)
        x = x_of(row.value)
        color = GOOD if row.value >= 0 else BAD
        parts.append(f'<rect x="{_n(min(zero, x))}" y="{y + 5}" width="{_n(abs(x - zero))}" '
                     f'height="12" fill="{color}" opacity="0.75" rx="2"/>')
        text = f"{row.value:+.3f}"
        if row.low is not None and row.high is not None:
            x1, x2 = x_of(row.low), x_of(row.high)
            mid = y + 11
            parts.append(_line(x1, mid, x2, mid, "#1f2933", 1.5))
            parts.append(_line(x1, mid - 5, x1, mid + 5, "#1f2933", 1.5))
            parts.append(_line(x2, mid - 5, x2, mid + 5, "#1f2933", 1.5))
            text += f" [{row.low:+.2f}, {row.high:+.2f}]"
        elif row.note:
            text += " (no CI)"
        parts.append(_text(label_w + plot_w + 8, y + 15, text, anchor="start", size=11))
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    color: str = ACCENT
    title: str = ""


def scatter(points: Sequence[Point], *, x_label: str, y_label: str, width: float = 560,
            height: float = 360, label: str = "scatter") -> str:
    """Points with both axes scaled to the data, labelled at their ends and middle."""
    left, right, upper, bottom = 56, 14, 12, 44
    plot_w, plot_h = width - left - right, height - upper - bottom
    xs = [p.x for p in points] or [0.0, 1.0]
    ys = [p.y for p in points] or [0.0, 1.0]
    x_lo, x_hi = _padded(min(xs), max(xs))
    y_lo, y_hi = _padded(min(ys), max(ys))
    parts = [_open(width, height, label)]
    for frac in (0.0, 0.5, 1.0):
        gx = left + plot_w * frac
        gy = upper + plot_h * (1 - frac)
        parts.append(_line(gx, upper, gx, upper + plot_h, GRID))
        parts.append(_line(left, gy, left + plot_w, gy, GRID))
        parts.append(_text(gx, upper + plot_h + 15, fmt(x_lo + (x_hi - x_lo) * frac), size=10))
        parts.append(_text(left - 6, gy + 4, fmt(y_lo + (y_hi - y_lo) * frac), anchor="end",
                           size=10))
    radius = 2.2 if len(points) > 500 else 3.2
    for p in points:
        cx = left + plot_w * (p.x - x_lo) / (x_hi - x_lo)
        cy = upper + plot_h * (1 - (p.y - y_lo) / (y_hi - y_lo))
        title = f"<title>{escape(p.title)}</title>" if p.title else ""
        parts.append(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{radius}" fill="{p.color}" '
                     f'fill-opacity="0.45">{title}</circle>')
    parts.append(_line(left, upper + plot_h, left + plot_w, upper + plot_h))
    parts.append(_line(left, upper, left, upper + plot_h))
    parts.append(_text(left + plot_w / 2, height - 6, x_label, size=12, fill="#1f2933"))
    parts.append(f'<text transform="translate(14 {_n(upper + plot_h / 2)}) rotate(-90)" '
                 f'font-size="12" text-anchor="middle" fill="#1f2933">{escape(y_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def grouped_bars(labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[float]]],
                 *, width: float = 560, label: str = "weights") -> str:
    """Horizontal bar groups on a 0-max scale: ``series`` is (name, color, values)."""
    per = len(series)
    row_h = 10 + 14 * per
    label_w, text_w = 150, 60
    legend_h = 22
    height = legend_h + row_h * len(labels) + 4
    plot_w = width - label_w - text_w
    top = max((v for _, _, vals in series for v in vals), default=1.0) or 1.0
    parts = [_open(width, height, label)]
    x = label_w
    for name, color, _ in series:
        parts.append(f'<rect x="{x}" y="5" width="12" height="12" fill="{color}" rx="2"/>')
        parts.append(_text(x + 16, 15, name, anchor="start", size=11))
        x += 24 + 7 * len(name)
    for i, row_label in enumerate(labels):
        y = legend_h + i * row_h
        parts.append(_text(label_w - 8, y + row_h / 2 + 4, _clip(row_label, 22), anchor="end",
                           fill="#1f2933", size=12))
        for k, (_, color, values) in enumerate(series):
            v = values[i]
            w = plot_w * max(0.0, v) / top
            by = y + 4 + k * 14
            parts.append(f'<rect x="{label_w}" y="{by}" width="{_n(w)}" height="11" '
                         f'fill="{color}" rx="2"/>')
            parts.append(_text(label_w + w + 5, by + 9.5, f"{v:.3f}", anchor="start",
                               size=10))
    parts.append("</svg>")
    return "".join(parts)


def _padded(lo: float, hi: float) -> tuple[float, float]:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return 0.0, 1.0
    if lo == hi:
        return lo - 0.5, hi + 0.5
    pad = (hi - lo) * 0.04
    return lo - pad, hi + pad


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Series:
    """One line of a :func:`line_chart`: a value (or ``None``, a gap) per step."""

    name: str
    values: Sequence[float | None]
    color: str = ACCENT


def line_chart(series: Sequence[Series], *, marks: Sequence[int] = (), width: float = 500,
               height: float = 190, label: str = "over steps",
               y_range: tuple[float, float] | None = None) -> str:
    """Lines over steps 1..n (the x axis), with a dashed red rule at each 1-based step in
    ``marks`` (where an alarm fired) and a legend when there is more than one series.
    ``y_range`` fixes the y axis; by default it spans the values."""
    left, right, upper, bottom = 48, 12, 14 + (16 if len(series) > 1 else 0), 30
    plot_w, plot_h = width - left - right, height - upper - bottom
    n = max((len(s.values) for s in series), default=0)
    finite = [v for s in series for v in s.values if v is not None and math.isfinite(v)]
    lo, hi = y_range or (_padded(min(finite), max(finite)) if finite else (0.0, 1.0))

    def x_of(step: int) -> float:  # 1-based
        return left + (plot_w * (step - 1) / (n - 1) if n > 1 else plot_w / 2)

    def y_of(v: float) -> float:
        return upper + plot_h * (1 - (min(max(v, lo), hi) - lo) / (hi - lo))

    parts = [_open(width, height, label)]
    for frac in (0.0, 0.5, 1.0):
        gy = upper + plot_h * (1 - frac)
        parts.append(_line(left, gy, left + plot_w, gy, GRID))
        parts.append(_text(left - 6, gy + 4, fmt(lo + (hi - lo) * frac), anchor="end",
                           size=10))
    ticks = sorted({1, n, *range(1, n + 1, max(1, n // 6))}) if n else []
    for step in ticks:
        parts.append(_text(x_of(step), upper + plot_h + 14, str(step), size=10))
    parts.append(_text(left + plot_w / 2, height - 3, "step", size=10))
    for step in sorted(set(marks)):
        if 1 <= step <= n:
            parts.append(_line(x_of(step), upper, x_of(step), upper + plot_h, BAD, 1.2,
                               "4 3"))
    for k, s in enumerate(series):
        if len(series) > 1:
            lx = left + k * (plot_w / len(series))
            parts.append(f'<rect x="{_n(lx)}" y="3" width="10" height="10" '
                         f'fill="{s.color}" rx="2"/>')
            parts.append(_text(lx + 14, 12, _clip(s.name, 28), anchor="start", size=10))
        run: list[str] = []
        for i, v in enumerate(s.values):
            if v is None or not math.isfinite(v):
                if len(run) > 1:
                    parts.append(f'<polyline points="{" ".join(run)}" fill="none" '
                                 f'stroke="{s.color}" stroke-width="1.8"/>')
                run = []
                continue
            x, y = x_of(i + 1), y_of(v)
            run.append(f"{_n(x)},{_n(y)}")
            parts.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="2.4" fill="{s.color}">'
                         f"<title>{escape(s.name)} step {i + 1}: {fmt(v)}</title></circle>")
        if len(run) > 1:
            parts.append(f'<polyline points="{" ".join(run)}" fill="none" '
                         f'stroke="{s.color}" stroke-width="1.8"/>')
    parts.append(_line(left, upper + plot_h, left + plot_w, upper + plot_h))
    parts.append(_line(left, upper, left, upper + plot_h))
    parts.append("</svg>")
    return "".join(parts)
