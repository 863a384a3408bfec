"""Server-rendered SVG charts: bar (grouped or stacked), funnel and line. No JavaScript, no dependency.

Each builder returns safe HTML: a ``<figure>`` holding an accessible ``<svg role="img">`` (``<title>``/``<desc>``,
a ``<title>`` tooltip on every bar and point), an HTML legend, and the numbers as a table under a ``<details>``
for screen readers and for copying. Every label is escaped here, so callers may pass user data (deal or owner
names) as is. Colours are CSS variables of the theme, so the charts follow light and dark mode; the SVG scales
to its container (``viewBox``, width 100%) and scrolls sideways on a phone rather than shrinking its text away.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

Number = int | float | Decimal
Formatter = Callable[[Number], str]

# Series colours: an optional --chart-N variable (a stylesheet may define them), else a theme colour.
PALETTE = (
    "var(--chart-1, var(--accent, #4f55d9))",
    "var(--chart-2, var(--success, #1f8a4c))",
    "var(--chart-3, var(--warning, #a86200))",
    "var(--chart-4, var(--info, #2563b8))",
    "var(--chart-5, var(--danger, #d03a3a))",
    "var(--chart-6, var(--muted, #6b7080))",
)
TEXT = "var(--muted, #6b7080)"
GRID = "var(--border, #e4e5e9)"
AXIS = "var(--border-strong, #cfd2d9)"
FONT_SIZE = 13
CHAR_WIDTH = 7.1  # average glyph width at FONT_SIZE in the UI font, for fitting labels
WIDTH = 720
FUNNEL_WIDTH = 520

_ids = itertools.count(1)

# One small stylesheet per chart keeps a chart self-contained (CSP allows inline styles; no script is involved).
_STYLE = (
    "<style>"
    ".amity-chart text{font-family:var(--font,system-ui,sans-serif);font-size:13px}"
    ".amity-chart .chart-mark{transition:opacity .12s}"
    ".amity-chart .chart-mark:hover{opacity:.75}"
    "</style>"
)


@dataclass(frozen=True)
class Series:
    """One named run of values, one per category. ``color`` is a palette index or a CSS colour."""

    name: str
    values: Sequence[Number | None]
    color: int | str | None = None


@dataclass(frozen=True)
class FunnelStep:
    label: str
    value: Number


def e(value: object) -> str:
    return str(conditional_escape(value))  # type: ignore[arg-type]


def format_number(value: Number | None) -> str:
    """1,234 for whole numbers, 1,234.50 otherwise; an em dash for no value."""
    if value is None:
        return "—"
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number:,.2f}"


def format_compact(value: Number) -> str:
    """Axis labels: 950, 12k, 1.5M."""
    number = float(value)
    size = abs(number)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            scaled = number / limit
            text = f"{scaled:.1f}".rstrip("0").rstrip(".") if abs(scaled) < 10 else f"{scaled:.0f}"
            return f"{text}{suffix}"
    return f"{number:.0f}" if number == int(number) else f"{number:.1f}"


def format_percent(value: Number | None) -> str:
    return "—" if value is None else f"{float(value):.1f}%"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 × 10ⁿ apart), always including 0."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        high = low + 1
    raw_step = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value < high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _color(series: Series, index: int) -> str:
    if isinstance(series.color, str):
        return series.color
    position = series.color if isinstance(series.color, int) else index
    return PALETTE[position % len(PALETTE)]


def _fit(label: str, width: float) -> str:
    """Shorten a label to fit ``width`` px; the full text stays in the tooltip and the table."""
    room = max(int(width / CHAR_WIDTH + 1e-6), 2)
    return label if len(label) <= room else label[: room - 1].rstrip() + "…"


def _f(number: float) -> str:
    return f"{number:.1f}".rstrip("0").rstrip(".")


def _svg_open(chart_id: str, height: float, min_width: int, title: str, desc: str, width: int = WIDTH,
              max_width: int | None = None) -> str:
    limit = f"max-width:{max_width}px;" if max_width else ""
    return (
        f'<svg class="amity-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {_f(height)}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'style="display:block;width:100%;min-width:{min_width}px;{limit}height:auto">'
        f'<title id="{chart_id}-title">{e(title)}</title><desc id="{chart_id}-desc">{e(desc)}</desc>{_STYLE}'
    )


def _legend(series: Sequence[Series]) -> str:
    if len(series) < 2:
        return ""
    items = "".join(
        f'<li style="display:inline-flex;align-items:center;gap:6px">'
        f'<span aria-hidden="true" style="display:inline-block;width:10px;height:10px;border-radius:2px;'
        f'background:{_color(s, i)}"></span>{e(s.name)}</li>'
        for i, s in enumerate(series)
    )
    return (f'<ul class="chart-legend" style="list-style:none;margin:0 0 8px;padding:0;display:flex;flex-wrap:wrap;'
            f'gap:4px 16px;font-size:var(--fs-sm,13px);color:var(--text-2,inherit)">{items}</ul>')


def _table(title: str, head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    header = "".join(f'<th scope="col">{e(h)}</th>' for h in head)
    body = "".join(
        "<tr>" + f'<th scope="row">{e(row[0])}</th>'
        + "".join(f'<td class="num">{e(cell)}</td>' for cell in row[1:]) + "</tr>"
        for row in rows
    )
    show_numbers = _("Show the numbers")  # outside the f-string, where makemessages can see it
    return (
        f'<details class="chart-data"><summary>{e(show_numbers)}</summary>'
        f'<div class="table-wrap"><table class="table"><caption class="sr-only">{e(title)}</caption>'
        f"<thead><tr>{header}</tr></thead><tbody>{body}</tbody></table></div></details>"
    )


def _figure(svg: str, legend: str, table: str, empty: bool, empty_text: str) -> SafeString:
    if empty:
        text = empty_text or _("Nothing to chart yet.")
        body = f'<p class="empty chart-empty">{e(text)}</p>'
        return mark_safe(f'<figure class="chart" style="margin:0">{body}</figure>')
    return mark_safe(
        f'<figure class="chart" style="margin:0">{legend}'
        f'<div class="chart-scroll" style="overflow-x:auto;-webkit-overflow-scrolling:touch">{svg}</div>'
        f"{table}</figure>"
    )


@dataclass
class _Axis:
    """Vertical value axis shared by the bar and the line chart."""

    ticks: list[float]
    top: float
    bottom: float

    def y(self, value: float) -> float:
        low, high = self.ticks[0], self.ticks[-1]
        return self.bottom - (value - low) / (high - low) * (self.bottom - self.top)


def _value_axis(values: list[float], top: float, bottom: float) -> _Axis:
    return _Axis(nice_ticks(min(values, default=0.0), max(values, default=0.0)), top, bottom)


def _grid(axis: _Axis, left: float, right: float, axis_format: Formatter) -> str:
    parts = []
    for tick in axis.ticks:
        y = axis.y(tick)
        stroke = AXIS if tick == 0 else GRID
        parts.append(f'<line x1="{_f(left)}" x2="{_f(right)}" y1="{_f(y)}" y2="{_f(y)}" stroke="{stroke}" '
                     f'stroke-width="1" shape-rendering="crispEdges"/>')
        parts.append(f'<text x="{_f(left - 8)}" y="{_f(y + 4)}" text-anchor="end" fill="{TEXT}">'
                     f"{e(axis_format(tick))}</text>")
    return "".join(parts)


def _category_labels(categories: Sequence[str], left: float, band: float, y: float) -> str:
    # Long labels are cut to ~20 characters; if they still collide, only every n-th one is shown.
    longest = min(max((len(c) for c in categories), default=1), 20) * CHAR_WIDTH + 8
    every = max(1, math.ceil(longest / band))
    parts = []
    for i, category in enumerate(categories):
        if i % every:
            continue
        x = left + band * (i + 0.5)
        parts.append(f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="middle" fill="{TEXT}">'
                     f"{e(_fit(category, min(band * every, longest) - 8))}</text>")
    return "".join(parts)


def _left_margin(axis: _Axis, axis_format: Formatter) -> float:
    return max(40.0, max(len(axis_format(t)) for t in axis.ticks) * CHAR_WIDTH + 16)


def _as_float(value: Number | None) -> float:
    return 0.0 if value is None else float(value)


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    desc: str = "",
    value_format: Formatter = format_number,
    axis_format: Formatter = format_compact,
    stacked: bool = False,
    height: int = 280,
    category_label: str = "",
    empty_text: str = "",
    chart_id: str | None = None,
) -> SafeString:
    """Vertical bars, one group per category: side by side (grouped) or on top of each other (``stacked``)."""
    chart_id = chart_id or f"chart-{next(_ids)}"
    categories = [str(c) for c in categories]
    if stacked:
        totals = [sum(_as_float(s.values[i]) for s in series) for i in range(len(categories))]
        extent = totals + [0.0]
        lows = [sum(min(_as_float(s.values[i]), 0) for s in series) for i in range(len(categories))]
        extent += lows
    else:
        extent = [_as_float(v) for s in series for v in s.values]
    top, bottom = 12.0, height - 30.0
    axis = _value_axis(extent, top, bottom)
    left = _left_margin(axis, axis_format)
    right = WIDTH - 8.0
    band = (right - left) / max(len(categories), 1)
    parts = [_svg_open(chart_id, height, 600, title, desc), _grid(axis, left, right, axis_format)]
    bars_per_group = 1 if stacked else max(len(series), 1)
    group_width = min(band * 0.72, 56.0 * bars_per_group)  # thin bars: wide slabs look crude with few months
    bar_width = group_width / bars_per_group
    zero = axis.y(0)
    for ci, category in enumerate(categories):
        x0 = left + band * ci + (band - group_width) / 2
        up, down = 0.0, 0.0  # running stack heights above and below zero
        for si, s in enumerate(series):
            raw = s.values[ci] if ci < len(s.values) else None
            value = _as_float(raw)
            if stacked:
                base = up if value >= 0 else down
                y_a, y_b = axis.y(base), axis.y(base + value)
                if value >= 0:
                    up += value
                else:
                    down += value
                x = x0
            else:
                y_a, y_b = zero, axis.y(value)
                x = x0 + bar_width * si
            y, h = min(y_a, y_b), abs(y_a - y_b)
            if h < 0.5 and raw in (None, 0):
                continue
            gap = 0 if stacked or len(series) == 1 else min(3.0, bar_width * 0.12)
            tip = f"{category} · {s.name}: {value_format(raw if raw is not None else 0)}"
            parts.append(
                f'<rect class="chart-mark" x="{_f(x + gap / 2)}" y="{_f(y)}" width="{_f(max(bar_width - gap, 1))}" '
                f'height="{_f(max(h, 1))}" rx="2" fill="{_color(s, si)}"><title>{e(tip)}</title></rect>'
            )
    parts.append(_category_labels(categories, left, band, height - 10))
    parts.append("</svg>")
    rows = [[c, *[value_format(s.values[i]) if i < len(s.values) and s.values[i] is not None else "—"  # type: ignore[arg-type]
                  for s in series]] for i, c in enumerate(categories)]
    table = _table(title, [category_label or _("Category"), *[s.name for s in series]], rows)
    empty = not categories or not series
    return _figure("".join(parts), _legend(series), table, empty, empty_text)


def line_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    desc: str = "",
    value_format: Formatter = format_number,
    axis_format: Formatter = format_compact,
    height: int = 260,
    category_label: str = "",
    empty_text: str = "",
    chart_id: str | None = None,
) -> SafeString:
    """One line per series over the categories; a missing value (None) breaks the line."""
    chart_id = chart_id or f"chart-{next(_ids)}"
    categories = [str(c) for c in categories]
    top, bottom = 12.0, height - 30.0
    axis = _value_axis([_as_float(v) for s in series for v in s.values if v is not None], top, bottom)
    left = _left_margin(axis, axis_format)
    right = WIDTH - 8.0
    band = (right - left) / max(len(categories), 1)
    parts = [_svg_open(chart_id, height, 600, title, desc), _grid(axis, left, right, axis_format)]
    for si, s in enumerate(series):
        color = _color(s, si)
        runs: list[list[tuple[float, float]]] = [[]]
        points = []
        for ci, category in enumerate(categories):
            raw = s.values[ci] if ci < len(s.values) else None
            if raw is None:
                runs.append([])
                continue
            x, y = left + band * (ci + 0.5), axis.y(float(raw))
            runs[-1].append((x, y))
            tip = f"{category} · {s.name}: {value_format(raw)}"
            points.append(f'<circle class="chart-mark" cx="{_f(x)}" cy="{_f(y)}" r="4" fill="{color}" '
                          f'stroke="var(--surface, #fff)" stroke-width="2"><title>{e(tip)}</title></circle>')
        for run in runs:
            if len(run) > 1:
                coords = " ".join(f"{_f(x)},{_f(y)}" for x, y in run)
                parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2.5" '
                             f'stroke-linejoin="round" stroke-linecap="round"/>')
        parts.extend(points)
    parts.append(_category_labels(categories, left, band, height - 10))
    parts.append("</svg>")
    rows = [[c, *[value_format(s.values[i]) if i < len(s.values) and s.values[i] is not None else "—"  # type: ignore[arg-type]
                  for s in series]] for i, c in enumerate(categories)]
    table = _table(title, [category_label or _("Category"), *[s.name for s in series]], rows)
    return _figure("".join(parts), _legend(series), table, not categories or not series, empty_text)


def conversion_rates(values: Sequence[Number]) -> list[float | None]:
    """The share (in %) of each step that reached the next one; None for the last step or from zero."""
    rates: list[float | None] = []
    for i, value in enumerate(values):
        nxt = values[i + 1] if i + 1 < len(values) else None
        rates.append(None if nxt is None or not value else float(nxt) / float(value) * 100)
    return rates


def funnel_chart(
    steps: Sequence[FunnelStep | tuple[str, Number]],
    *,
    title: str,
    desc: str = "",
    value_format: Formatter = format_number,
    step_label: str = "",
    value_label: str = "",
    empty_text: str = "",
    chart_id: str | None = None,
) -> SafeString:
    """Horizontal, centred bars from the first step to the last, with the conversion to the next step between."""
    chart_id = chart_id or f"chart-{next(_ids)}"
    items = [s if isinstance(s, FunnelStep) else FunnelStep(str(s[0]), s[1]) for s in steps]
    values = [float(s.value) for s in items]
    rates = conversion_rates(values)
    first = values[0] if values else 0.0
    row, gap = 34.0, 22.0
    height = 8 + len(items) * row + max(len(items) - 1, 0) * gap + 8
    width = FUNNEL_WIDTH
    label_w = min(150.0, max((len(s.label) for s in items), default=4) * CHAR_WIDTH + 20)
    value_w = max(70.0, max((len(value_format(s.value)) for s in items), default=4) * CHAR_WIDTH + 16)
    area_left, area_right = label_w, width - value_w
    area_w = area_right - area_left
    centre = area_left + area_w / 2
    peak = max(values, default=0.0) or 1.0
    parts = [_svg_open(chart_id, height, 300, title, desc, width=FUNNEL_WIDTH, max_width=600)]
    y = 8.0
    for i, step in enumerate(items):
        bar_w = max(values[i] / peak * area_w, 2.0)
        share = values[i] / first * 100 if first else None
        tip = f"{step.label}: {value_format(step.value)}"
        if share is not None and i:
            tip += " · " + _("%(share)s of the first step") % {"share": format_percent(share)}
        parts.append(f'<text x="{_f(label_w - 12)}" y="{_f(y + row / 2 + 4)}" text-anchor="end" '
                     f'fill="var(--text-2, #4b4f58)">{e(_fit(step.label, label_w - 16))}</text>')
        parts.append(f'<rect class="chart-mark" x="{_f(centre - bar_w / 2)}" y="{_f(y)}" width="{_f(bar_w)}" '
                     f'height="{_f(row)}" rx="4" fill="{PALETTE[0]}" '
                     f'fill-opacity="{_f(1 - i * 0.35 / max(len(items), 1))}"><title>{e(tip)}</title></rect>')
        parts.append(f'<text x="{_f(width - 8)}" y="{_f(y + row / 2 + 4)}" text-anchor="end" '
                     f'fill="var(--text, #1c1d21)" font-weight="600">{e(value_format(step.value))}</text>')
        y += row
        if i < len(items) - 1:
            rate = rates[i]
            text = "↓ " + format_percent(rate) if rate is not None else "↓"
            parts.append(f'<text x="{_f(centre)}" y="{_f(y + gap / 2 + 4)}" text-anchor="middle" '
                         f'fill="{TEXT}">{e(text)}</text>')
            y += gap
    parts.append("</svg>")
    rows = [[s.label, value_format(s.value), format_percent(rates[i]),
             format_percent(values[i] / first * 100 if first else None)] for i, s in enumerate(items)]
    table = _table(title, [step_label or _("Step"), value_label or _("Count"), _("Conversion to next"),
                           _("Share of first")], rows)
    return _figure("".join(parts), "", table, not items or not any(values), empty_text)
