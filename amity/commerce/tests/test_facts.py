"""Customer facts kept incrementally equal a from-scratch recompute, whatever happens in between."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amity import testing
from amity.commerce import facts, services
from amity.commerce.models import CustomerProductStat, Order
from amity.contacts.models import Contact
from amity.core.models import ExchangeRate

NOW = dt.datetime(2026, 5, 6, 12, 0, tzinfo=dt.UTC)
_run = itertools.count()

line = st.fixed_dictionaries({
    "sku": st.sampled_from(["BOOT-1", "SOCK-1", "HAT-1"]),
    "quantity": st.integers(1, 4),
    "unit_price": st.decimals("0.01", "200", places=2),
})
new_order = st.tuples(st.just("order"), st.lists(line, min_size=0, max_size=3), st.sampled_from(["USD", "EUR"]),
                      st.integers(0, 60), st.sampled_from(["placed", "paid", "cancelled"]))
change = st.tuples(st.just("change"), st.integers(0, 20), st.sampled_from(["paid", "fulfilled", "cancelled",
                                                                          "refunded"]))
refund = st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 100))
steps = st.lists(st.one_of(new_order, change, refund), min_size=1, max_size=12)


def snapshot(contact_id):
    c = Contact.objects.get(pk=contact_id)
    stats = sorted(CustomerProductStat.objects.filter(contact_id=contact_id)
                   .values_list("product__sku", "quantity", "spent_base", "orders", "category", "last_bought_at"))
    return ((c.order_count, c.lifetime_value, c.average_order_value, c.first_order_at, c.last_order_at,
             c.last_activity_at), stats)


@pytest.mark.django_db
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(ops=steps)
def test_incremental_facts_equal_recompute(ops):
    run = next(_run)
    ExchangeRate.objects.get_or_create(currency="EUR", valid_from=dt.date(2026, 1, 1),
                                       defaults={"rate": Decimal("1.0837")})
    admin = testing.make_user("admin")
    email = f"buyer{run}@example.com"
    source = f"test-{run}"
    orders: list[Order] = []
    with time_machine.travel(NOW, tick=False):
        for op in ops:
            if op[0] == "order":
                _kind, lines, currency, days_ago, status = op
                total = sum((Decimal(ln["unit_price"]) * ln["quantity"] for ln in lines), Decimal(0)) or Decimal("9.99")
                order, _ = services.record_order({
                    "external_id": f"o{len(orders)}", "email": email, "currency": currency, "status": status,
                    "total": str(total), "placed_at": (NOW - dt.timedelta(days=days_ago)).isoformat(),
                    "lines": [{**ln, "name": ln["sku"].title(), "category": ln["sku"][:3],
                               "unit_price": str(ln["unit_price"])} for ln in lines]}, source=source)
                orders.append(order)
            elif orders and op[0] == "change":
                order = orders[op[1] % len(orders)]
                order.refresh_from_db()
                data = {"external_id": order.external_id, "email": email, "currency": order.currency,
                        "status": op[2], "total": str(order.total), "placed_at": order.placed_at.isoformat(),
                        "lines": [{"sku": ln.sku, "name": ln.name, "category": ln.category, "quantity": str(ln.quantity),
                                   "unit_price": str(ln.unit_price)} for ln in order.lines.all()]}
                services.record_order(data, source=source)
            elif orders and op[0] == "refund":
                order = orders[op[1] % len(orders)]
                order.refresh_from_db()
                left = order.total - order.refunded_amount
                if order.status != "cancelled" and left > 0:
                    amount = max(Decimal("0.01"), (left * op[2] / 100).quantize(Decimal("0.01")))
                    services.refund_order(order=order, amount=min(amount, left), actor=admin)
    if not orders:
        return
    contact_id = Contact.objects.get(email=email).pk
    incremental = snapshot(contact_id)
    facts.recompute(contact_id)
    assert snapshot(contact_id) == incremental


@pytest.mark.django_db
def test_recompute_command_rebuilds_facts(capsys):
    from django.core.management import call_command

    with time_machine.travel(NOW, tick=False):
        order, _ = services.record_order({"external_id": "o1", "email": "ada@example.com", "currency": "USD",
                                          "total": "40.00", "placed_at": "2026-05-01T10:00:00Z"}, source="api")
    Contact.objects.filter(pk=order.contact_id).update(order_count=7, lifetime_value=1)
    call_command("commerce_facts", "--rebuild")
    contact = Contact.objects.get(pk=order.contact_id)
    assert (contact.order_count, contact.lifetime_value, contact.average_order_value) == (1, Decimal("40.00"),
                                                                                         Decimal("40.00"))
    assert "Rebuilt the facts of 1 customer" in capsys.readouterr().out


@pytest.mark.django_db
def test_average_is_a_decimal_division_on_every_database():
    for n, total in enumerate(["50.00", "50.00", "50.00", "25.00", "0.15"]):
        services.record_order({"external_id": f"x{n}", "email": "avg@example.com", "currency": "USD",
                               "total": total, "placed_at": "2026-01-01T00:00:00Z"}, source="api")
        if n == 3:
            assert Contact.objects.get(email="avg@example.com").average_order_value == Decimal("43.75")
    contact = Contact.objects.get(email="avg@example.com")
    assert (contact.lifetime_value, contact.average_order_value) == (Decimal("175.15"), Decimal("35.03"))
