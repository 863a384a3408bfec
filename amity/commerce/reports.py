""""When are carts abandoned": the hour × weekday heat-map table and two bar charts (``core.charts``), built from
``selectors.abandonment_heatmap`` (already aggregated and cached)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from amity.core import charts

from .selectors import Heatmap

HOURS = range(24)
SHADES = 5  # heat-map cells are shaded in five steps (0 = none)


@dataclass(frozen=True)
class Cell:
    hour: int
    count: int
    shade: int
    label: str


@dataclass(frozen=True)
class Row:
    weekday: int  # 1 = Monday
    name: str
    abbr: str
    cells: list[Cell]
    total: int


def _shade(count: int, peak: int) -> int:
    if not count or not peak:
        return 0
    return max(1, min(SHADES, -(-count * SHADES // peak)))  # ceil(count / peak × 5)


def heatmap_rows(heatmap: Heatmap) -> list[Row]:
    peak = heatmap.peak
    rows = []
    for weekday in range(1, 8):
        name = str(WEEKDAYS[weekday - 1])
        cells = [Cell(hour=h, count=(n := heatmap.count(weekday, h)), shade=_shade(n, peak),
                      label=_("%(day)s %(hour)02d:00–%(hour)02d:59: %(count)s abandoned carts")
                      % {"day": name, "hour": h, "count": n}) for h in HOURS]
        rows.append(Row(weekday=weekday, name=name, abbr=str(WEEKDAYS_ABBR[weekday - 1]), cells=cells,
                        total=sum(c.count for c in cells)))
    return rows


def hour_chart(heatmap: Heatmap) -> SafeString:
    title = _("Abandoned carts by hour of day")
    return charts.bar_chart(
        [f"{h:02d}" for h in HOURS] if heatmap.total else [],
        [charts.Series(_("Abandoned carts"), heatmap.by_hour())] if heatmap.total else [],
        title=title, desc=_("Carts abandoned in each hour of the day over the last %(days)s days (%(zone)s).")
        % {"days": heatmap.days, "zone": heatmap.time_zone},
        category_label=_("Hour"), empty_text=_("No abandoned carts in this period."), height=220,
        chart_id="abandon-by-hour")


def weekday_chart(heatmap: Heatmap) -> SafeString:
    title = _("Abandoned carts by weekday")
    return charts.bar_chart(
        [str(WEEKDAYS_ABBR[d]) for d in range(7)] if heatmap.total else [],
        [charts.Series(_("Abandoned carts"), heatmap.by_weekday())] if heatmap.total else [],
        title=title, desc=_("Carts abandoned on each weekday over the last %(days)s days (%(zone)s).")
        % {"days": heatmap.days, "zone": heatmap.time_zone},
        category_label=_("Weekday"), empty_text=_("No abandoned carts in this period."), height=220,
        chart_id="abandon-by-weekday")
