"""SVG charts: escaping, accessibility, geometry, data table, formats."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.utils.safestring import SafeString

from amity.core import charts
from amity.core.charts import FunnelStep, Series

SVG = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert("x")</script>'


def svg_of(html: str) -> ET.Element:
    """The chart's <svg> parsed as XML: also proves the markup is well formed."""
    match = re.search(r"<svg.*?</svg>", html, re.S)
    assert match, html
    return ET.fromstring(match.group(0))  # noqa: S314 (our own markup, in a test)


def bars(svg: ET.Element) -> list[ET.Element]:
    return [r for r in svg.iter(f"{SVG}rect") if r.get("class") == "chart-mark"]


def test_bar_chart_is_accessible_and_scales():
    html = charts.bar_chart(["Jan", "Feb"], [Series("Won", [1, 2])], title="Won by month", desc="Two months",
                            chart_id="c1")
    assert isinstance(html, SafeString)
    svg = svg_of(html)
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "c1-title c1-desc"
    assert svg.find(f"{SVG}title").text == "Won by month" and svg.find(f"{SVG}desc").text == "Two months"
    assert svg.get("viewBox").startswith("0 0 720 ") and svg.get("width") == "100%"
    assert "<details" in html and "<table" in html


def test_every_bar_has_a_tooltip_with_its_value():
    svg = svg_of(charts.bar_chart(["Jan", "Feb"], [Series("Open", [Decimal("1500.5"), 20]), Series("Won", [3, 0])],
                                  title="t"))
    tips = [r.find(f"{SVG}title").text for r in bars(svg)]
    assert tips == ["Jan · Open: 1,500.50", "Jan · Won: 3", "Feb · Open: 20"]  # a zero draws no bar


def test_grouped_bars_sit_side_by_side_and_stacked_bars_on_top_of_each_other():
    grouped = bars(svg_of(charts.bar_chart(["A"], [Series("x", [10]), Series("y", [10])], title="t")))
    assert float(grouped[0].get("x")) < float(grouped[1].get("x"))
    assert grouped[0].get("y") == grouped[1].get("y")
    stacked = bars(svg_of(charts.bar_chart(["A"], [Series("x", [10]), Series("y", [10])], title="t", stacked=True)))
    assert stacked[0].get("x") == stacked[1].get("x")
    bottom, top = stacked
    assert float(top.get("y")) + float(top.get("height")) == pytest.approx(float(bottom.get("y")), abs=0.2)


def test_bar_heights_are_proportional():
    low, high = bars(svg_of(charts.bar_chart(["A", "B"], [Series("x", [25, 100])], title="t")))
    assert float(high.get("height")) == pytest.approx(4 * float(low.get("height")), rel=0.02)


def test_colours_are_theme_variables():
    html = charts.bar_chart(["A"], [Series("x", [1]), Series("y", [2])], title="t")
    fills = {r.get("fill") for r in bars(svg_of(html))}
    assert fills == {charts.PALETTE[0], charts.PALETTE[1]} and all("var(--" in f for f in fills)
    assert "#" not in "".join(re.findall(r'fill="([^"]*)"', html)).replace("var(", "").split(",")[0]


def test_every_label_is_escaped():
    html = charts.bar_chart([EVIL], [Series(EVIL, [1])], title=EVIL, desc=EVIL, category_label=EVIL)
    html += charts.funnel_chart([(EVIL, 3), FunnelStep("<b>two</b>", 1)], title=EVIL, step_label=EVIL)
    html += charts.line_chart([EVIL, "b"], [Series(EVIL, [1, 2])], title=EVIL, desc=EVIL)
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_the_data_table_lists_every_value():
    html = charts.bar_chart(["Jan", "Feb"], [Series("Open", [1000, None]), Series("Won", [5, 6])], title="t",
                            category_label="Month")
    table = html[html.index("<table"):]
    assert re.findall(r"<th scope=\"col\">(.*?)</th>", table) == ["Month", "Open", "Won"]
    cells = re.findall(r'<td class="num">(.*?)</td>', table)
    assert cells == ["1,000", "5", "—", "6"]


def test_value_format_is_used_for_tooltips_and_table():
    html = charts.bar_chart(["A"], [Series("x", [Decimal("12.5")])], title="t", value_format=lambda v: f"${v}")
    assert "A · x: $12.5" in html and '<td class="num">$12.5</td>' in html


def test_funnel_shows_counts_and_conversion_between_steps():
    html = charts.funnel_chart([("Lead", 200), ("Proposal", 50), ("Won", 10)], title="Funnel")
    svg = svg_of(html)
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert texts == ["Lead", "200", "↓ 25.0%", "Proposal", "50", "↓ 20.0%", "Won", "10"]
    widths = [float(r.get("width")) for r in bars(svg)]
    assert widths[0] == pytest.approx(4 * widths[1], rel=0.01)
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", html)
    assert rows[0][0] == "Lead" and "25.0%" in rows[0][1] and "100.0%" in rows[0][1]
    assert rows[2][0] == "Won" and "5.0%" in rows[2][1]


def test_funnel_of_zeros_is_an_empty_state_not_a_division_error():
    html = charts.funnel_chart([("Lead", 0), ("Won", 0)], title="Funnel", empty_text="Nothing yet")
    assert "Nothing yet" in html and "<svg" not in html


def test_empty_bar_chart_says_so():
    assert "Nothing to chart yet." in charts.bar_chart([], [], title="t")


def test_line_chart_draws_a_line_and_breaks_at_gaps():
    svg = svg_of(charts.line_chart(["a", "b", "c", "d", "e"], [Series("s", [1, 2, None, 3, 4])], title="t"))
    lines = list(svg.iter(f"{SVG}polyline"))
    assert len(lines) == 2 and len([c for c in svg.iter(f"{SVG}circle")]) == 4
    assert svg.find(f"{SVG}circle/{SVG}title").text == "a · s: 1"


def test_long_labels_are_shortened_in_the_chart_but_whole_in_tooltip_and_table():
    name = "A very long owner name that cannot fit under one bar " * 2
    html = charts.bar_chart([name] * 12, [Series("x", [1] * 12)], title="t")
    svg = svg_of(html)
    assert all(len(t.text) < len(name) for t in svg.iter(f"{SVG}text") if t.text and t.text.startswith("A very"))
    assert html.count(charts.e(name.strip())) >= 12


@pytest.mark.parametrize(("low", "high", "expected"), [
    (0, 95, [0, 25, 50, 75, 100]),
    (0, 2500.5, [0, 1000, 2000, 3000]),
    (-3, 17, [-5, 0, 5, 10, 15, 20]),
    (0, 0, [0, 0.25, 0.5, 0.75, 1]),
])
def test_nice_ticks(low, high, expected):
    assert charts.nice_ticks(low, high) == expected


@pytest.mark.parametrize(("value", "text"), [(950, "950"), (12000, "12k"), (1500000, "1.5M"), (2.5, "2.5"),
                                             (-4000, "-4k"), (25_000_000, "25M")])
def test_compact_axis_labels(value, text):
    assert charts.format_compact(value) == text


def test_number_format():
    assert charts.format_number(Decimal("1234.5")) == "1,234.50"
    assert charts.format_number(Decimal("1234.00")) == "1,234"
    assert charts.format_number(None) == "—"
    assert charts.conversion_rates([10, 5, 0]) == [50.0, 0.0, None]
