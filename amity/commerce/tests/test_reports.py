"""When are carts abandoned: the hour × weekday aggregation in the workspace time zone, the heat-map rows and the
bar charts."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from amity.commerce import reports, selectors
from amity.commerce.models import CartStatus
from amity.testing import make_contact, make_user

from .ui_factories import fresh_cache, make_cart  # noqa: F401  (autouse)

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def test_hours_and_weekdays_are_counted_in_the_workspace_time_zone(settings, team, other_team):
    settings.TIME_ZONE = "America/New_York"  # UTC-5 in winter, UTC-4 in summer
    seller = make_user("sales", team=team)
    customer = make_contact(owner=seller)
    stranger = make_contact(owner=make_user("sales", team=other_team))
    with time_machine.travel(dt.datetime(2026, 1, 20, 12, 0, tzinfo=UTC), tick=False):
        # Wednesday 14 January 2026, 02:30 UTC = Tuesday 13 January, 21:30 in New York ("why at 9 PM").
        for minute in (30, 40):
            make_cart(customer, abandoned_at=dt.datetime(2026, 1, 14, 2, minute, tzinfo=UTC))
        make_cart(customer, status=CartStatus.RECOVERED, abandoned_at=dt.datetime(2026, 1, 14, 2, 5, tzinfo=UTC))
        # Saturday 17 January 15:00 UTC = 10:00 in New York.
        make_cart(customer, abandoned_at=dt.datetime(2026, 1, 17, 15, 0, tzinfo=UTC))
        make_cart(customer, status=CartStatus.OPEN, abandoned_at=None)  # not abandoned
        make_cart(customer, abandoned_at=dt.datetime(2025, 9, 1, 2, 30, tzinfo=UTC))  # before the 90-day window
        make_cart(stranger, abandoned_at=dt.datetime(2026, 1, 14, 2, 30, tzinfo=UTC))  # another team's customer

        heatmap = selectors.abandonment_heatmap(user=seller)

    assert heatmap.counts == {(2, 21): 3, (6, 10): 1}
    assert heatmap.total == 4
    assert heatmap.by_hour()[21] == 3 and heatmap.by_hour()[10] == 1 and sum(heatmap.by_hour()) == 4
    assert heatmap.by_weekday() == [0, 3, 0, 0, 0, 1, 0]
    assert heatmap.time_zone == "America/New_York"

    rows = reports.heatmap_rows(heatmap)
    assert [r.abbr for r in rows] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    tuesday_9pm = rows[1].cells[21]
    assert (tuesday_9pm.count, tuesday_9pm.shade) == (3, 5)
    assert tuesday_9pm.label == "Tuesday 21:00–21:59: 3 abandoned carts"
    assert rows[5].cells[10].shade == 2  # 1 of a peak of 3 → ceil(5/3)
    assert rows[0].cells[0].shade == 0
    assert [r.total for r in rows] == [0, 3, 0, 0, 0, 1, 0]


def test_the_same_moment_in_summer_time(settings, admin_user):
    settings.TIME_ZONE = "America/New_York"
    with time_machine.travel(dt.datetime(2026, 7, 20, 12, 0, tzinfo=UTC), tick=False):
        make_cart(make_contact(), abandoned_at=dt.datetime(2026, 7, 15, 1, 30, tzinfo=UTC))  # Tue 21:30 EDT
        heatmap = selectors.abandonment_heatmap(user=admin_user)
    assert heatmap.counts == {(2, 21): 1}


def test_charts_are_accessible_svg_with_a_data_table(settings, admin_user):
    settings.TIME_ZONE = "Europe/Paris"
    with time_machine.travel(dt.datetime(2026, 1, 20, 12, 0, tzinfo=UTC), tick=False):
        make_cart(make_contact(), abandoned_at=dt.datetime(2026, 1, 19, 19, 15, tzinfo=UTC))  # Monday 20:15 Paris
        heatmap = selectors.abandonment_heatmap(user=admin_user)
    by_hour = str(reports.hour_chart(heatmap))
    assert 'role="img"' in by_hour and "Abandoned carts by hour of day" in by_hour
    assert "<table" in by_hour and "Europe/Paris" in by_hour
    by_weekday = str(reports.weekday_chart(heatmap))
    assert "Abandoned carts by weekday" in by_weekday and "<table" in by_weekday
    assert heatmap.by_hour()[20] == 1 and heatmap.by_weekday()[0] == 1


def test_an_empty_window_renders_an_empty_chart(admin_user):
    heatmap = selectors.abandonment_heatmap(user=admin_user)
    assert heatmap.total == 0
    assert all(c.shade == 0 for r in reports.heatmap_rows(heatmap) for c in r.cells)
    assert "No abandoned carts in this period." in str(reports.hour_chart(heatmap))


def test_half_hour_zones_and_exact_hour_boundaries(settings, admin_user):
    settings.TIME_ZONE = "Asia/Kolkata"  # UTC+5:30
    with time_machine.travel(dt.datetime(2026, 1, 20, 12, 0, tzinfo=UTC), tick=False):
        make_cart(make_contact(), abandoned_at=dt.datetime(2026, 1, 19, 15, 29, 59, tzinfo=UTC))  # Mon 20:59:59
        make_cart(make_contact(), abandoned_at=dt.datetime(2026, 1, 19, 15, 30, 0, tzinfo=UTC))  # Mon 21:00:00
        make_cart(make_contact(), abandoned_at=dt.datetime(2026, 1, 19, 18, 29, 0, tzinfo=UTC))  # Mon 23:59
        make_cart(make_contact(), abandoned_at=dt.datetime(2026, 1, 19, 18, 30, 0, tzinfo=UTC))  # Tue 00:00
        heatmap = selectors.abandonment_heatmap(user=admin_user)
    assert heatmap.counts == {(1, 20): 1, (1, 21): 1, (1, 23): 1, (2, 0): 1}


def test_the_day_daylight_saving_starts(settings, admin_user):
    settings.TIME_ZONE = "America/New_York"  # Sunday 8 March 2026, 02:00 EST → 03:00 EDT (07:00 UTC)
    with time_machine.travel(dt.datetime(2026, 3, 20, 12, 0, tzinfo=UTC), tick=False):
        make_cart(make_contact(), abandoned_at=dt.datetime(2026, 3, 8, 6, 45, tzinfo=UTC))  # 01:45 EST
        make_cart(make_contact(), abandoned_at=dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC))  # 03:00 EDT
        make_cart(make_contact(), abandoned_at=dt.datetime(2026, 3, 8, 23, 30, tzinfo=UTC))  # 19:30 EDT
        heatmap = selectors.abandonment_heatmap(user=admin_user)
    assert heatmap.counts == {(7, 1): 1, (7, 3): 1, (7, 19): 1}
