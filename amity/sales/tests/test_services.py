"""Deals: creation, moves within a pipeline, won/lost, line items, multi-currency, stage history, timelines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from amity.core.models import AuditEntry, Event, ExchangeRate
from amity.sales import selectors, services
from amity.sales.models import Deal, LostReason, Pipeline, StageKind
from amity.testing import make_company, make_contact, make_user
from amity.timeline.selectors import timeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipeline():
    return Pipeline.objects.get(is_default=True)


def stage(pipeline, name):
    return pipeline.stages.get(name=name)


@pytest.fixture
def deal(admin_user, pipeline):
    company = make_company(name="Acme")
    contact = make_contact(first_name="Buyer", company=company)
    return services.create_deal(actor=admin_user, data={
        "name": "Acme renewal", "pipeline": pipeline, "amount": "1200", "currency": "USD",
        "company": company, "contacts": [contact], "expected_close_date": "2026-12-15",
    })


def test_a_new_deal_starts_in_the_first_open_stage_with_its_probability(deal, pipeline):
    assert deal.stage == stage(pipeline, "Qualified")
    assert deal.probability == 10
    assert deal.amount_base == Decimal("1200.00")
    assert deal.stage_history.count() == 1
    assert Event.objects.filter(type="deal.created", deal_id=deal.pk, company_id=deal.company_id).exists()


def test_moving_records_history_probability_and_events(deal, pipeline, admin_user):
    services.move_deal(actor=admin_user, deal=deal, stage=stage(pipeline, "Proposal"))
    services.move_deal(actor=admin_user, deal=deal, stage=stage(pipeline, "Won"))
    deal.refresh_from_db()
    assert deal.probability == 100 and deal.closed_at is not None
    history = list(deal.stage_history.values_list("stage__name", flat=True))
    assert history == ["Qualified", "Proposal", "Won"]
    assert all(h.left_at for h in deal.stage_history.all()[:2])
    types = list(Event.objects.filter(deal_id=deal.pk).values_list("type", flat=True))
    assert types.count("deal.stage_changed") == 2 and "deal.won" in types


def test_a_lost_deal_keeps_its_reason(deal, pipeline, admin_user):
    reason = LostReason.objects.get(name="Price")
    services.move_deal(actor=admin_user, deal=deal, stage=stage(pipeline, "Lost"), lost_reason=reason)
    deal.refresh_from_db()
    assert deal.lost_reason == reason
    lost = Event.objects.get(type="deal.lost", deal_id=deal.pk)
    assert lost.payload["lost_reason"] == "Price"


def test_a_stage_of_another_pipeline_is_refused_and_nothing_changes(deal, admin_user):
    other = services.create_pipeline(actor=admin_user, name="Partners", stages=[
        {"name": "Talking", "probability": 20}, {"name": "Signed", "probability": 100, "kind": "won"},
        {"name": "Dropped", "probability": 0, "kind": "lost"}])
    with pytest.raises(ValidationError) as exc:
        services.move_deal(actor=admin_user, deal=deal, stage=other.stages.first())
    assert "another pipeline" in exc.value.message_dict["stage"][0]
    deal.refresh_from_db()
    assert deal.stage.name == "Qualified" and deal.stage_history.count() == 1


@pytest.mark.parametrize(("items", "field", "reason"), [
    pytest.param([{"name": "Seats", "quantity": "-2", "unit_price": "10"}], "line_items.0.quantity", "negative",
                 id="negative-quantity"),
    pytest.param([{"name": "Seats", "quantity": "2", "unit_price": "abc"}], "line_items.0.unit_price", "amount",
                 id="bad-price"),
    pytest.param([{"name": "Seats", "quantity": "1", "unit_price": "5", "discount_percent": "120"}],
                 "line_items.0.discount_percent", "100", id="discount-over-100"),
])
def test_bad_line_items_are_refused_with_the_field(deal, admin_user, items, field, reason):
    with pytest.raises(ValidationError) as exc:
        services.set_line_items(actor=admin_user, deal=deal, items=items)
    assert reason in exc.value.message_dict[field][0]
    assert deal.line_items.count() == 0


def test_line_items_set_the_amount(deal, admin_user):
    services.set_line_items(actor=admin_user, deal=deal, items=[
        {"name": "Seats", "quantity": "10", "unit_price": "50", "discount_percent": "10"},
        {"name": "Onboarding", "quantity": "1", "unit_price": "300"},
    ])
    deal.refresh_from_db()
    assert deal.amount == Decimal("750.00")
    assert AuditEntry.objects.filter(object_type="deal", object_id=deal.pk, action="update").exists()


def test_amounts_convert_to_the_base_currency_with_dated_rates(admin_user, pipeline):
    with pytest.raises(ValidationError) as exc:
        services.create_deal(actor=admin_user, data={"name": "Euro deal", "pipeline": pipeline, "amount": "100",
                                                     "currency": "EUR"})
    assert "exchange rate" in exc.value.message_dict["currency"][0]
    ExchangeRate.objects.create(currency="EUR", rate=Decimal("1.10"), valid_from=dt.date(2020, 1, 1))
    deal = services.create_deal(actor=admin_user, data={"name": "Euro deal", "pipeline": pipeline, "amount": "100",
                                                        "currency": "eur"})
    assert deal.currency == "EUR" and deal.amount_base == Decimal("110.00")


@pytest.mark.parametrize(("data", "field"), [
    pytest.param({"currency": "XXQ"}, "currency", id="unknown-currency"),
    pytest.param({"expected_close_date": "31/31/2026"}, "expected_close_date", id="impossible-date"),
    pytest.param({"probability": "140"}, "probability", id="probability-over-100"),
    pytest.param({"name": " "}, "name", id="no-name"),
])
def test_bad_deal_input_names_the_field(admin_user, pipeline, data, field):
    with pytest.raises(ValidationError) as exc:
        services.create_deal(actor=admin_user, data={"name": "X", "pipeline": pipeline, "currency": "USD", **data})
    assert field in exc.value.message_dict
    assert not Deal.objects.exists()


def test_deal_events_show_on_the_contact_and_company_timelines(deal, admin_user, pipeline):
    services.move_deal(actor=admin_user, deal=deal, stage=stage(pipeline, "Won"))
    contact = deal.contacts.get()
    contact_types = [e.type for e in timeline(contact=contact, params={}).items]
    company_types = [e.type for e in timeline(company=deal.company, params={}).items]
    assert "deal.won" in contact_types and "deal.won" in company_types
    assert [e.type for e in timeline(contact=contact, params={"type": ["deals"]}).items][0] == "deal.won"


def test_readonly_cannot_move_deals(deal, pipeline):
    viewer = make_user("readonly")
    with pytest.raises(PermissionDenied):
        services.move_deal(actor=viewer, deal=deal, stage=stage(pipeline, "Won"))


def test_board_totals_and_weighted_totals(admin_user, pipeline):
    for amount in ("100", "300"):
        services.create_deal(actor=admin_user, data={"name": f"D{amount}", "pipeline": pipeline, "amount": amount,
                                                     "currency": "USD"})
    columns = {c.stage.name: c for c in selectors.board(user=admin_user, pipeline=pipeline, params={})}
    assert columns["Qualified"].count == 2
    assert columns["Qualified"].total == Decimal("400.00")
    assert columns["Qualified"].weighted == Decimal("40.00")
    assert [d.name for d in columns["Qualified"].deals] == ["D300", "D100"]
    assert columns["Won"].count == 0 and columns["Won"].deals == []
    assert columns["Won"].stage.kind == StageKind.WON


def test_the_board_shows_deals_closed_in_the_last_30_days_only(admin_user, pipeline):
    import datetime as dt

    from django.utils import timezone

    recent = services.create_deal(actor=admin_user, data={"name": "Recent win", "pipeline": pipeline,
                                                          "amount": "10", "currency": "USD"})
    old = services.create_deal(actor=admin_user, data={"name": "Old win", "pipeline": pipeline, "amount": "20",
                                                       "currency": "USD"})
    for deal in (recent, old):
        services.move_deal(actor=admin_user, deal=deal, stage=stage(pipeline, "Won"))
    Deal.objects.filter(pk=old.pk).update(closed_at=timezone.now() - dt.timedelta(days=45))
    won = next(c for c in selectors.board(user=admin_user, pipeline=pipeline, params={}) if c.stage.name == "Won")
    assert [d.name for d in won.deals] == ["Recent win"]
    assert won.count == 1 and won.closed_since is not None


def test_board_cards_escape_what_people_typed(admin_user, admin_client, pipeline):
    services.create_deal(actor=admin_user, data={"name": '<script>alert("x")</script> & Co', "pipeline": pipeline,
                                                 "amount": "5", "currency": "USD"})
    html = admin_client.get(f"/deals/board/{pipeline.uuid}/").content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in html
    assert '<script>alert("x")' not in html
