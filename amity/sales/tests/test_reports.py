"""Sales reports: forecast, win rate / size / cycle, funnel, stuck deals; filters, permissions, pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from amity.sales import reports, services
from amity.sales.models import Deal, Pipeline
from amity.testing import make_team, make_user

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 5, 15)


def at(day: str, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour)), dt.UTC)


@pytest.fixture
def pipeline():
    return Pipeline.objects.get(is_default=True)


def make_deal(pipeline, stage_name, amount, *, owner=None, name=None, close=None, closed_at=None, created_at=None,
              probability=None, last_activity_at=None):
    stage = pipeline.stages.get(name=stage_name)
    data = {"name": name or f"{stage_name} {amount}", "pipeline": pipeline, "stage": stage, "amount": str(amount),
            "currency": "USD", "owner": owner}
    if close:
        data["expected_close_date"] = close
    if probability is not None:
        data["probability"] = probability
    deal = services.create_deal(actor=None, data=data)
    changes = {k: v for k, v in {"closed_at": closed_at, "created_at": created_at,
                                 "last_activity_at": last_activity_at}.items() if v is not None}
    if changes:
        Deal.objects.filter(pk=deal.pk).update(**changes)
        deal.refresh_from_db()
    return deal


@pytest.fixture
def people(team):
    return {"alice": make_user("sales", team=team, full_name="Alice"),
            "bob": make_user("sales", team=team, full_name="Bob")}


@pytest.fixture
def book(pipeline, people):
    alice, bob = people["alice"], people["bob"]
    return [
        make_deal(pipeline, "Proposal", 1000, owner=alice, close="2026-05-20"),           # May: 500 weighted
        make_deal(pipeline, "Qualified", 2000, owner=alice, close="2026-07-01"),          # Jul: 200
        make_deal(pipeline, "Negotiation", 400, owner=bob, close="2026-05-31"),           # May: 300
        make_deal(pipeline, "Qualified", 300, owner=bob, close="2026-02-01", probability=33),  # Feb (overdue): 99
        make_deal(pipeline, "Won", 700, owner=bob, closed_at=at("2026-04-10")),           # Apr: won 700
        make_deal(pipeline, "Won", 300, owner=alice, closed_at=at("2026-05-02")),         # May: won 300
        make_deal(pipeline, "Proposal", 5000, owner=alice, close="2027-01-01"),           # after the window
        make_deal(pipeline, "Proposal", 5000, owner=alice, close="2026-01-31"),           # before the window
        make_deal(pipeline, "Lost", 999, owner=alice, closed_at=at("2026-05-03")),        # lost: never counted
        make_deal(pipeline, "Won", 888, owner=alice, closed_at=at("2026-01-31")),         # before the window
        make_deal(pipeline, "Proposal", 100, owner=None, close="2026-06-10"),             # Jun: 50, unassigned
    ]


def run_forecast(user, **params):
    return reports.forecast(user=user, filters=reports.parse_filters(user, params), today=TODAY)


# --- forecast ---------------------------------------------------------------------------------------------------

def test_forecast_weighs_open_deals_by_close_month_against_won_by_close_month(admin_user, book):
    result = run_forecast(admin_user)
    assert [m.isoformat() for m in result.months] == [
        "2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01", "2026-06-01", "2026-07-01", "2026-08-01",
        "2026-09-01", "2026-10-01"]
    d = Decimal
    assert result.weighted == [d("99.00"), 0, 0, d("800.00"), d("50.00"), d("200.00"), 0, 0, 0]
    assert result.won == [0, 0, d("700.00"), d("300.00"), 0, 0, 0, 0, 0]
    assert result.weighted_total == d("1149.00") and result.won_total == d("1000.00")
    assert result.current_month == dt.date(2026, 5, 1)


def test_forecast_breaks_down_by_owner(admin_user, book, people):
    result = run_forecast(admin_user)
    rows = {row.name: row for row in result.owners}
    assert set(rows) == {"Alice", "Bob", "Unassigned"}
    assert rows["Alice"].weighted == [0, 0, 0, Decimal("500.00"), 0, Decimal("200.00"), 0, 0, 0]
    assert rows["Alice"].won_total == Decimal("300.00")
    assert rows["Bob"].weighted[0] == Decimal("99.00") and rows["Bob"].weighted[3] == Decimal("300.00")
    assert rows["Bob"].won[2] == Decimal("700.00")
    assert rows["Unassigned"].owner is None and rows["Unassigned"].weighted[4] == Decimal("50.00")
    # Largest book first.
    assert [r.name for r in result.owners] == ["Bob", "Alice", "Unassigned"]


def test_forecast_filters_by_owner_pipeline_and_horizon(admin_user, book, people, pipeline):
    bob = run_forecast(admin_user, owner=str(people["bob"].uuid))
    assert [r.name for r in bob.owners] == ["Bob"] and bob.won_total == Decimal("700.00")
    nobody = run_forecast(admin_user, owner="none")
    assert nobody.weighted_total == Decimal("50.00")
    other = services.create_pipeline(actor=admin_user, name="Renewals", stages=[
        {"name": "Open", "probability": 40}, {"name": "Won", "kind": "won", "probability": 100},
        {"name": "Lost", "kind": "lost", "probability": 0}])
    make_deal(other, "Open", 1000, owner=people["alice"], close="2026-05-05")
    assert run_forecast(admin_user, pipeline=str(other.uuid)).weighted_total == Decimal("400.00")
    assert run_forecast(admin_user, pipeline=str(pipeline.uuid)).weighted_total == Decimal("1149.00")
    longer = run_forecast(admin_user, months="9", pipeline=str(pipeline.uuid))
    assert len(longer.months) == 12 and longer.weighted[-1] == Decimal("2500.00")  # the January 2027 deal


def test_forecast_counts_months_in_the_users_time_zone(admin_user, pipeline):
    # 23:30 UTC on 30 April is already May in Tokyo.
    make_deal(pipeline, "Won", 100, owner=admin_user, closed_at=at("2026-04-30", 23) + dt.timedelta(minutes=30))
    with timezone.override("Asia/Tokyo"):
        tokyo = run_forecast(admin_user)
    utc = run_forecast(admin_user)
    assert tokyo.won[3] == Decimal("100.00") and tokyo.won[2] == 0
    assert utc.won[2] == Decimal("100.00")


def test_a_sales_users_forecast_leaves_out_other_teams_deals(sales_user, pipeline, other_team):
    stranger = make_user("sales", team=other_team, full_name="Stranger")
    make_deal(pipeline, "Proposal", 1000, owner=sales_user, close="2026-05-20")
    make_deal(pipeline, "Proposal", 9000, owner=stranger, close="2026-05-20")
    make_deal(pipeline, "Won", 9000, owner=stranger, closed_at=at("2026-05-02"))
    result = run_forecast(sales_user)
    assert result.weighted_total == Decimal("500.00") and result.won_total == 0
    assert [r.name for r in result.owners] == ["Sam Sales"]


def test_forecast_query_count_does_not_grow_with_deals(admin_user, pipeline, people, django_assert_max_num_queries):
    filters = reports.parse_filters(admin_user, {})
    for _i in range(3):
        make_deal(pipeline, "Proposal", 100, owner=people["alice"], close="2026-06-01")
    with django_assert_max_num_queries(5) as small:
        reports.forecast(user=admin_user, filters=filters, today=TODAY)
    for i in range(20):
        owner = make_user("sales", full_name=f"Owner {i}")
        make_deal(pipeline, "Proposal", 100, owner=owner, close="2026-07-01")
        make_deal(pipeline, "Won", 100, owner=owner, closed_at=at("2026-04-01"))
    with django_assert_max_num_queries(len(small.captured_queries)):
        reports.forecast(user=admin_user, filters=filters, today=TODAY)


# --- win rate, size, cycle --------------------------------------------------------------------------------------

@pytest.fixture
def closed_book(pipeline, people):
    alice, bob = people["alice"], people["bob"]
    created = at("2026-04-01", 9)
    # Alice: won 1000 after 10 days, won 500 after 20 days, lost one -> 2/3, avg 750, cycle 15 days.
    make_deal(pipeline, "Won", 1000, owner=alice, created_at=created, closed_at=created + dt.timedelta(days=10))
    make_deal(pipeline, "Won", 500, owner=alice, created_at=created, closed_at=created + dt.timedelta(days=20))
    make_deal(pipeline, "Lost", 50, owner=alice, created_at=created, closed_at=created + dt.timedelta(days=3))
    # Bob: one won 300 after 6 days, three lost -> 25%.
    make_deal(pipeline, "Won", 300, owner=bob, created_at=created, closed_at=created + dt.timedelta(days=6))
    for _ in range(3):
        make_deal(pipeline, "Lost", 10, owner=bob, created_at=created, closed_at=created + dt.timedelta(days=1))
    # Closed in the previous quarter: outside "this quarter".
    make_deal(pipeline, "Won", 99999, owner=bob, created_at=at("2026-01-01"), closed_at=at("2026-03-31", 20))


def performance(user, **params):
    filters = reports.parse_filters(user, params, period=True, today=TODAY)
    return reports.sales_report(user=user, filters=filters)


def test_win_rate_average_size_and_cycle_by_owner(admin_user, closed_book):
    report = performance(admin_user, period="this_quarter")
    rows = {r.label: r for r in report.by_owner}
    alice, bob = rows["Alice"], rows["Bob"]
    assert (alice.won, alice.lost, alice.win_rate) == (2, 1, Decimal("66.7"))
    assert alice.average_size == Decimal("750.00") and alice.cycle_days == Decimal("15.0")
    assert (bob.won, bob.lost, bob.win_rate, bob.average_size, bob.cycle_days) == (
        1, 3, Decimal("25.0"), Decimal("300.00"), Decimal("6.0"))
    assert [r.label for r in report.by_owner] == ["Alice", "Bob"]  # biggest won total first


def test_win_rate_by_pipeline_and_overall(admin_user, closed_book, pipeline):
    report = performance(admin_user, period="this_quarter")
    assert [r.label for r in report.by_pipeline] == [pipeline.name]
    overall = report.overall
    assert (overall.won, overall.lost, overall.win_rate) == (3, 4, Decimal("42.9"))
    assert overall.average_size == Decimal("600.00")  # 1800 / 3
    assert overall.cycle_days == Decimal("12.0")  # (10 + 20 + 6) / 3
    last = performance(admin_user, period="last_quarter").overall
    assert (last.won, last.lost, last.won_total) == (1, 0, Decimal("99999.00"))


def test_custom_period_counts_deals_closed_on_both_end_days(admin_user, closed_book):
    report = performance(admin_user, period="custom", **{"from": "2026-04-07", "to": "2026-04-11"})
    assert (report.overall.won, report.overall.lost) == (2, 0)  # closed on 11 April (10 days) and 7 April (6)


def test_no_closed_deals_gives_empty_rates_not_errors(admin_user):
    report = performance(admin_user, period="this_year")
    assert report.by_owner == [] and report.overall.win_rate is None and report.overall.average_size is None
    assert report.overall.cycle_days is None


@pytest.mark.parametrize(("params", "field", "words"), [
    ({"period": "fortnight"}, "period", "is not a period"),
    ({"period": "custom"}, "from", "Enter a date"),
    ({"period": "custom", "from": "2026-02-30", "to": "2026-03-01"}, "from", "is not a date"),
    ({"period": "custom", "from": "2026-05-01", "to": "2026-04-01"}, "to", "before the start"),
    ({"period": "custom", "from": "2000-01-01", "to": "2026-04-01"}, "to", "at most ten years"),
    ({"months": "0"}, "months", "from 1 to 24"),
    ({"months": "many"}, "months", "from 1 to 24"),
    ({"days": "-3"}, "days", "from 1 to 3650"),
    ({"pipeline": "not-a-uuid"}, "pipeline", "no such pipeline"),
    ({"pipeline": "00000000-0000-0000-0000-000000000000"}, "pipeline", "no such pipeline"),
    ({"owner": "00000000-0000-0000-0000-000000000000"}, "owner", "no such user"),
], ids=["unknown period", "custom without dates", "impossible date", "reversed", "too long", "months zero",
        "months text", "negative days", "malformed pipeline", "unknown pipeline", "unknown owner"])
def test_bad_filters_name_the_field_and_the_reason(admin_user, params, field, words):
    with pytest.raises(ValidationError) as exc:
        reports.parse_filters(admin_user, params, period=True, today=TODAY)
    assert words in " ".join(exc.value.message_dict[field])


@pytest.mark.parametrize(("key", "start", "end"), [
    ("this_quarter", "2026-04-01", "2026-06-30"),
    ("last_quarter", "2026-01-01", "2026-03-31"),
    ("this_year", "2026-01-01", "2026-12-31"),
    ("last_12_months", "2025-06-01", "2026-05-15"),
])
def test_periods(admin_user, key, start, end):
    period = reports.parse_filters(admin_user, {"period": key}, period=True, today=TODAY).period
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)


def test_last_quarter_in_january_is_last_years_fourth(admin_user):
    period = reports.parse_filters(admin_user, {"period": "last_quarter"}, period=True,
                                   today=dt.date(2026, 1, 5)).period
    assert (period.start, period.end) == (dt.date(2025, 10, 1), dt.date(2025, 12, 31))


# --- funnel -----------------------------------------------------------------------------------------------------

def test_funnel_counts_deals_that_reached_each_stage_or_a_later_one(admin_user, pipeline):
    def walk(*names):
        deal = make_deal(pipeline, names[0], 100, owner=admin_user)
        for name in names[1:]:
            services.move_deal(actor=None, deal=deal, stage=pipeline.stages.get(name=name))
        return deal

    walk("Qualified")
    walk("Qualified")
    walk("Qualified", "Needs analysis")
    walk("Qualified", "Proposal", "Lost")           # skipped Needs analysis: still passed it
    walk("Qualified", "Needs analysis", "Proposal", "Negotiation", "Won")
    walk("Qualified", "Negotiation", "Qualified")    # went back: the furthest stage counts
    report = reports.sales_report(user=admin_user, filters=reports.parse_filters(
        admin_user, {"period": "this_year"}, period=True))
    steps = [(s.stage.name, s.reached, s.conversion, s.of_first) for s in report.funnel]
    assert steps == [
        ("Qualified", 6, Decimal("66.7"), Decimal("100.0")),
        ("Needs analysis", 4, Decimal("75.0"), Decimal("66.7")),
        ("Proposal", 3, Decimal("66.7"), Decimal("50.0")),
        ("Negotiation", 2, Decimal("50.0"), Decimal("33.3")),
        ("Won", 1, None, Decimal("16.7")),
    ]


def test_funnel_only_counts_deals_created_in_the_period(admin_user, pipeline):
    make_deal(pipeline, "Qualified", 100, owner=admin_user, created_at=at("2020-01-01"))
    report = reports.sales_report(user=admin_user, filters=reports.parse_filters(
        admin_user, {"period": "this_quarter"}, period=True))
    assert report.funnel[0].reached == 0


# --- stuck deals ------------------------------------------------------------------------------------------------

def test_stuck_deals_are_open_deals_silent_for_n_days_oldest_first(admin_user, pipeline):
    now = timezone.now()
    make_deal(pipeline, "Proposal", 1, name="fresh", owner=admin_user, last_activity_at=now - dt.timedelta(days=13))
    make_deal(pipeline, "Proposal", 1, name="just", owner=admin_user, last_activity_at=now - dt.timedelta(days=15))
    make_deal(pipeline, "Qualified", 1, name="old", owner=admin_user, last_activity_at=now - dt.timedelta(days=40))
    make_deal(pipeline, "Won", 1, name="won", owner=admin_user, last_activity_at=now - dt.timedelta(days=90))
    result = reports.stuck_deals(user=admin_user, filters=reports.parse_filters(admin_user, {}), now=now)
    assert [(d.name, d.days_stuck) for d in result.page.items] == [("old", 40), ("just", 15)]
    result = reports.stuck_deals(user=admin_user, filters=reports.parse_filters(admin_user, {"days": "30"}), now=now)
    assert [d.name for d in result.page.items] == ["old"]


def test_stuck_deals_page_with_a_cursor(admin_user, pipeline):
    now = timezone.now()
    for i in range(5):
        make_deal(pipeline, "Proposal", 1, name=f"d{i}", owner=admin_user,
                  last_activity_at=now - dt.timedelta(days=100 - i))
    filters = reports.parse_filters(admin_user, {})
    first = reports.stuck_deals(user=admin_user, filters=filters, limit=2, now=now)
    second = reports.stuck_deals(user=admin_user, filters=filters, cursor=first.page.next_cursor, limit=2, now=now)
    third = reports.stuck_deals(user=admin_user, filters=filters, cursor=second.page.next_cursor, limit=2, now=now)
    names = [d.name for page in (first, second, third) for d in page.page.items]
    assert names == ["d0", "d1", "d2", "d3", "d4"] and third.page.next_cursor is None


def test_stuck_deals_are_scoped_to_what_the_user_may_see(sales_user, pipeline, other_team):
    stranger = make_user("sales", team=other_team)
    old = timezone.now() - dt.timedelta(days=60)
    make_deal(pipeline, "Proposal", 1, name="mine", owner=sales_user, last_activity_at=old)
    make_deal(pipeline, "Proposal", 1, name="theirs", owner=stranger, last_activity_at=old)
    result = reports.stuck_deals(user=sales_user, filters=reports.parse_filters(sales_user, {}))
    assert [d.name for d in result.page.items] == ["mine"]


# --- pages ------------------------------------------------------------------------------------------------------

REPORT_URLS = ["reports:forecast", "reports:performance", "reports:stuck"]


@pytest.mark.parametrize("name", REPORT_URLS)
def test_report_pages_need_a_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("role", ["admin", "manager", "sales", "marketing", "support", "readonly"])
@pytest.mark.parametrize("name", REPORT_URLS)
def test_every_role_may_open_the_reports(client, role, name):
    client.force_login(make_user(role, team=make_team()))
    assert client.get(reverse(name)).status_code == 200


def test_the_forecast_page_shows_the_chart_and_owner_table(admin_client, book):
    page = admin_client.get(reverse("reports:forecast")).content.decode()
    assert "<svg" in page and 'role="img"' in page and "Alice" in page and "Bob" in page
    assert "Weighted open pipeline" in page and "Closed won" in page


def test_the_sales_user_sees_only_their_teams_numbers_on_the_page(sales_client, sales_user, pipeline, other_team):
    stranger = make_user("sales", team=other_team, full_name="Stranger Danger")
    make_deal(pipeline, "Proposal", 4242, owner=stranger, close=timezone.localdate().isoformat())
    make_deal(pipeline, "Proposal", 1000, owner=sales_user, close=timezone.localdate().isoformat())
    page = sales_client.get(reverse("reports:forecast")).content.decode()
    report = page.split('class="filters report-filters"', 1)[1].split("</form>", 1)[1]  # past the owner picker
    assert "Stranger Danger" not in report and "2,121" not in report and "500" in report


@pytest.mark.parametrize(("name", "query", "field", "words"), [
    ("reports:performance", "period=custom&from=2026-13-01&to=2026-01-01", "from", "is not a date"),
    ("reports:performance", "period=custom&from=2026-05-01&to=2026-01-01", "to", "before the start"),
    ("reports:forecast", "months=99", "months", "from 1 to 24"),
    ("reports:stuck", "days=abc", "days", "from 1 to 3650"),
])
def test_bad_filters_on_a_page_show_field_and_reason(admin_client, name, query, field, words):
    response = admin_client.get(reverse(name) + "?" + query)
    assert response.status_code == 400
    page = response.content.decode()
    assert words in page and f'id="error-{field}"' in page


def test_names_with_markup_are_shown_as_text_in_charts_and_tables(admin_client, admin_user, pipeline):
    evil = make_user("sales", full_name="<script>alert(1)</script>")
    make_deal(pipeline, "Proposal", 100, owner=evil, close=timezone.localdate().isoformat(),
              name="<script>alert(2)</script>", last_activity_at=timezone.now() - dt.timedelta(days=30))
    evil_pipeline = services.create_pipeline(actor=admin_user, name="<img src=x onerror=alert(3)>", stages=[
        {"name": "<b>Stage</b>", "probability": 40}, {"name": "Won", "kind": "won", "probability": 100},
        {"name": "Lost", "kind": "lost", "probability": 0}])
    make_deal(evil_pipeline, "<b>Stage</b>", 5, owner=evil)
    for name, query in [("reports:forecast", ""), ("reports:performance", f"pipeline={evil_pipeline.uuid}"),
                        ("reports:stuck", "")]:
        page = admin_client.get(reverse(name) + "?" + query).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>Stage" not in page
    page = admin_client.get(reverse("reports:stuck")).content.decode()
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page


@pytest.mark.parametrize("name", REPORT_URLS)
def test_page_query_counts_stay_flat(admin_client, admin_user, pipeline, name, django_assert_max_num_queries):
    old = timezone.now() - dt.timedelta(days=60)
    today = timezone.localdate().isoformat()
    make_deal(pipeline, "Proposal", 1, owner=admin_user, close=today, last_activity_at=old)
    make_deal(pipeline, "Won", 1, owner=admin_user)
    make_deal(pipeline, "Lost", 1, owner=admin_user)
    admin_client.get(reverse(name))
    with django_assert_max_num_queries(30) as few:
        admin_client.get(reverse(name))
    for i in range(15):
        owner = make_user("sales", full_name=f"Owner {i}")
        make_deal(pipeline, "Proposal", 1, owner=owner, close=today, last_activity_at=old)
        make_deal(pipeline, "Won", 1, owner=owner)
        make_deal(pipeline, "Lost", 1, owner=owner)
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(reverse(name))
