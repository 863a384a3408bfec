"""The demo's sales data: what the services would have written, so every page and report works on it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Q
from django.utils import timezone

from amity.accounts.models import User
from amity.core.models import Event, ExchangeRate
from amity.core.money import to_base
from amity.sales import selectors, services
from amity.sales.demo import Mix, default_deals
from amity.sales.models import Deal, Pipeline, Product, StageKind
from amity.timeline import selectors as timeline_selectors
from amity.timeline.models import Task


@pytest.fixture
def demo(db) -> str:
    out = StringIO()
    call_command("demo", "--contacts", "200", stdout=out)
    return out.getvalue()


def test_deal_count_follows_the_contacts():
    assert default_deals(2000) == 400
    assert default_deals(10_000_000) == 20_000
    assert default_deals(0) == 0


def test_a_mix_gives_exact_counts():
    import random

    mix = Mix({("default", "open"): 5, ("partners", "won"): 3})
    drawn = [mix.draw(random.Random(1)) for _ in range(8)]
    assert drawn.count(("default", "open")) == 5 and drawn.count(("partners", "won")) == 3


def test_catalogue_rates_and_pipelines(demo):
    assert Product.objects.count() == 40
    for product in Product.objects.prefetch_related("prices"):
        assert {p.currency for p in product.prices.all()} == {"USD", "EUR", "CNY"}
        assert all(p.unit_price > 0 for p in product.prices.all())
    assert {"EUR", "GBP", "CNY"} <= set(ExchangeRate.objects.values_list("currency", flat=True))
    assert ExchangeRate.objects.filter(currency="EUR").count() >= 13, "dated monthly over the last year"
    assert set(Pipeline.objects.values_list("name", flat=True)) == {"Sales", "Partners"}
    assert "deals: 40/40" in demo


def test_deals_cover_both_pipelines_open_won_and_lost(demo):
    assert Deal.objects.count() == 40
    kinds = {(row["pipeline__name"], row["stage__kind"]): row["n"]
             for row in Deal.objects.values("pipeline__name", "stage__kind").annotate(n=Count("id"))}
    assert {kind for _p, kind in kinds} == {"open", "won", "lost"}
    assert {p for p, _kind in kinds} == {"Sales", "Partners"}
    now = timezone.now()
    for deal in Deal.objects.select_related("stage", "lost_reason"):
        if deal.stage.kind == StageKind.OPEN:
            assert deal.closed_at is None and deal.lost_reason is None
            assert timezone.localdate() <= deal.expected_close_date <= timezone.localdate() + dt.timedelta(days=184)
        else:
            assert now - dt.timedelta(days=366) <= deal.closed_at <= now
            assert deal.expected_close_date == deal.closed_at.date()
        assert (deal.lost_reason is not None) == (deal.stage.kind == StageKind.LOST)
        assert deal.probability == deal.stage.probability or deal.stage.kind == StageKind.OPEN


def test_amounts_are_the_line_items_in_the_base_currency_at_the_dated_rate(demo):
    currencies = set()
    for deal in Deal.objects.prefetch_related("line_items"):
        items = list(deal.line_items.all())
        assert items and deal.amount == sum((li.amount for li in items), Decimal(0))
        on = deal.closed_at.date() if deal.closed_at else timezone.localdate()
        assert deal.amount_base == to_base(deal.amount, deal.currency, on), deal
        currencies.add(deal.currency)
    assert "USD" in currencies and len(currencies) >= 2


def test_stage_history_leads_to_the_current_stage(demo):
    for deal in Deal.objects.select_related("stage").prefetch_related("stage_history__stage"):
        stays = list(deal.stage_history.all())
        assert stays[-1].stage_id == deal.stage_id and stays[-1].left_at is None
        assert stays[-1].entered_at == deal.stage_entered_at
        assert all(s.stage.pipeline_id == deal.pipeline_id for s in stays)
        positions = [s.stage.position for s in stays]
        assert positions == sorted(positions) and len(set(positions)) == len(positions)
        for before, after in zip(stays, stays[1:], strict=False):
            assert before.left_at == after.entered_at >= before.entered_at
        assert stays[0].entered_at == deal.created_at


def test_some_open_deals_are_stuck(demo):
    month_ago = timezone.now() - dt.timedelta(days=30)
    stuck = Deal.objects.filter(stage__kind="open", last_activity_at__lt=month_ago)
    fresh = Deal.objects.filter(stage__kind="open", last_activity_at__gte=month_ago)
    assert stuck.exists() and fresh.count() > stuck.count()


def test_deal_timelines_and_contact_timelines_show_the_deal_events(demo):
    won = Deal.objects.filter(stage__kind="won").first()
    types = [e.type for e in timeline_selectors.timeline(deal=won, params={}).items]
    assert types[0] == "deal.won" and types[-1] == "deal.created" and "deal.stage_changed" in types
    assert Event.objects.filter(type="deal.created").count() == Deal.objects.count()
    assert not Event.objects.filter(type__startswith="deal.", deal_id__isnull=True).exists()
    assert not Event.objects.filter(status="pending").exists()
    lost = Event.objects.filter(type="deal.lost").first()
    assert lost.payload["lost_reason"]
    with_contact = Deal.objects.filter(contacts__isnull=False).first()
    contact = with_contact.contacts.first()
    contact_types = [e.type for e in timeline_selectors.timeline(contact=contact, params={"type": ["deals"]},
                                                                  limit=100).items]
    assert "deal.created" in contact_types


def test_the_admin_has_deal_tasks_with_reminders(demo):
    admin = User.objects.get(email="admin@example.com")
    tasks = Task.objects.filter(assignee=admin, deal__isnull=False, done_at__isnull=True)
    now = timezone.now()
    assert tasks.filter(due_at__lt=now).exists() and tasks.filter(due_at__gte=now + dt.timedelta(days=1)).exists()
    for task in tasks.exclude(remind_minutes_before=None):
        assert task.remind_at == task.due_at - dt.timedelta(minutes=task.remind_minutes_before)
        # Reminders already due count as delivered: starting the worker on the demo sends nothing old.
        if task.remind_at < now - dt.timedelta(minutes=5):
            assert task.reminder_sent_at is not None
        elif task.remind_at > now:
            assert task.reminder_sent_at is None
    assert tasks.filter(remind_at__gt=now, reminder_sent_at__isnull=True).exists()
    assert all(t.deal.stage.kind == "open" for t in tasks)


def test_the_board_and_services_work_on_the_demo_deals(demo):
    admin = User.objects.get(email="admin@example.com")
    pipeline = selectors.default_pipeline()
    columns = selectors.board(user=admin, pipeline=pipeline, params={})
    recent = timezone.now() - dt.timedelta(days=selectors.CLOSED_WINDOW_DAYS)
    on_board = Deal.objects.filter(pipeline=pipeline).filter(Q(stage__kind="open") | Q(closed_at__gte=recent))
    assert sum(c.count for c in columns) == on_board.count()
    deal = Deal.objects.filter(pipeline=pipeline, stage__kind="open").first()
    won = pipeline.stages.get(kind="won")
    services.move_deal(actor=admin, deal=deal, stage=won)
    deal.refresh_from_db()
    assert deal.stage == won and deal.stage_history.filter(left_at__isnull=True).count() == 1
    sam = User.objects.get(email="sam.sales@example.com")
    visible = selectors.deals_for(sam)
    assert 0 < visible.count() < Deal.objects.count()
