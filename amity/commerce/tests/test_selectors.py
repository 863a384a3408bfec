"""Commerce reads: permission scoping, order and cart filters, the recoverable list and the 360 card's data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from amity.commerce import selectors
from amity.commerce.models import CartStatus, Channel, CustomerProductStat, OrderStatus
from amity.testing import make_contact, make_user

from .ui_factories import fresh_cache, make_cart, make_order, make_product  # noqa: F401  (autouse)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(team, other_team):
    """A sales user of ``team``, a customer of theirs and one of another team, and a guest (no contact)."""
    seller = make_user("sales", team=team)
    colleague = make_user("sales", team=team)
    stranger = make_user("sales", team=other_team)
    mine = make_contact(owner=colleague, first_name="Mia")
    theirs = make_contact(owner=stranger, first_name="Theo")
    return {"seller": seller, "admin": make_user("admin"), "mine": mine, "theirs": theirs,
            "readonly": make_user("readonly")}


def test_orders_and_carts_are_visible_when_their_customer_is(world):
    mine, theirs, guest = make_order(world["mine"]), make_order(world["theirs"]), make_order(None)
    cmine, ctheirs, cguest = make_cart(world["mine"]), make_cart(world["theirs"]), make_cart(None)

    assert set(selectors.orders_for(world["seller"])) == {mine}
    assert set(selectors.carts_for(world["seller"])) == {cmine}
    # Roles that see everything also see guests' orders and anonymous carts.
    assert set(selectors.orders_for(world["admin"])) == {mine, theirs, guest}
    assert set(selectors.carts_for(world["readonly"])) == {cmine, ctheirs, cguest}
    with pytest.raises(Http404):
        selectors.get_order(user=world["seller"], uuid=theirs.uuid)
    with pytest.raises(Http404):
        selectors.get_order(user=world["seller"], uuid=guest.uuid)
    with pytest.raises(Http404):
        selectors.get_cart(user=world["seller"], uuid=ctheirs.uuid)
    with pytest.raises(Http404):
        selectors.get_cart(user=world["seller"], uuid="not-a-uuid")
    assert selectors.get_order(user=world["seller"], uuid=mine.uuid) == mine


def test_order_filters(world, settings):
    settings.TIME_ZONE = "Asia/Shanghai"  # UTC+8: a day starts at 16:00 UTC the day before
    c = world["mine"]
    utc = dt.UTC
    late = make_order(c, placed_at=dt.datetime(2026, 3, 1, 17, 0, tzinfo=utc), channel=Channel.IN_STORE)  # 2 Mar local
    early = make_order(c, placed_at=dt.datetime(2026, 3, 1, 15, 0, tzinfo=utc), status=OrderStatus.REFUNDED)  # 1 Mar
    other = make_order(make_contact(first_name="Olga"), placed_at=dt.datetime(2026, 2, 1, tzinfo=utc))

    def numbers(**params):
        return [o.number for o in selectors.order_list(user=world["admin"], params=params).items]

    assert numbers() == [late.number, early.number, other.number]
    assert numbers(sort="placed") == [other.number, early.number, late.number]
    assert numbers(placed_from="2026-03-02") == [late.number]
    assert numbers(placed_to="2026-03-01") == [early.number, other.number]
    assert numbers(status="refunded") == [early.number]
    assert numbers(channel="in_store") == [late.number]
    assert numbers(customer=str(c.uuid)) == [late.number, early.number]
    with pytest.raises(ValidationError) as exc:
        selectors.order_list(user=world["admin"], params={"status": "lost", "placed_from": "yesterday",
                                                          "customer": "x"})
    assert set(exc.value.message_dict) == {"customer"}
    with pytest.raises(ValidationError) as exc:
        selectors.order_list(user=world["admin"], params={"status": "lost", "placed_from": "yesterday"})
    assert exc.value.message_dict == {"status": ["“lost” is not one of the choices."],
                                      "placed_from": ["“yesterday” is not a date (use YYYY-MM-DD)."]}
    with pytest.raises(ValidationError) as exc:
        selectors.order_list(user=world["admin"], params={"sort": "-total"})
    assert list(exc.value.message_dict) == ["sort"]


def test_order_list_keyset_pages(world):
    start = timezone.now() - dt.timedelta(days=1)
    orders = [make_order(world["mine"], placed_at=start + dt.timedelta(minutes=i)) for i in range(5)]
    first = selectors.order_list(user=world["seller"], params={"limit": 2})
    assert [o.pk for o in first.items] == [orders[4].pk, orders[3].pk]
    assert first.total == 5
    second = selectors.order_list(user=world["seller"], params={"limit": 2, "cursor": first.next_cursor})
    assert [o.pk for o in second.items] == [orders[2].pk, orders[1].pk]
    third = selectors.order_list(user=world["seller"], params={"limit": 2, "cursor": second.next_cursor})
    assert [o.pk for o in third.items] == [orders[0].pk]
    assert third.next_cursor is None


def test_recoverable_lists_abandoned_carts_by_value_or_age_with_filters(world):
    now = timezone.now()
    big_old = make_cart(world["mine"], value="300.00", abandoned_at=now - dt.timedelta(hours=50))
    small_new = make_cart(world["mine"], value="20.00", abandoned_at=now - dt.timedelta(hours=1))
    mid = make_cart(world["mine"], value="120.00", abandoned_at=now - dt.timedelta(hours=5))
    make_cart(world["mine"], value="999.00", status=CartStatus.RECOVERED)  # already bought
    make_cart(world["mine"], value="999.00", status=CartStatus.OPEN)
    make_cart(world["theirs"], value="500.00")  # another team's customer

    def ids(**params):
        return [c.pk for c in selectors.recoverable_carts(user=world["seller"], params=params).items]

    assert ids() == [big_old.pk, mid.pk, small_new.pk]
    assert ids(sort="-abandoned") == [small_new.pk, mid.pk, big_old.pk]
    assert ids(sort="abandoned") == [big_old.pk, mid.pk, small_new.pk]
    assert ids(min_value="100") == [big_old.pk, mid.pk]
    assert ids(min_age="4") == [big_old.pk, mid.pk]
    assert ids(max_age="24") == [mid.pk, small_new.pk]
    assert ids(min_age="2", max_age="24") == [mid.pk]
    # A status in the parameters cannot widen the list beyond abandoned carts.
    assert ids(status="open") == [big_old.pk, mid.pk, small_new.pk]
    page = selectors.recoverable_carts(user=world["seller"], params={"limit": 2})
    assert page.total is None  # no COUNT on the big table
    rest = selectors.recoverable_carts(user=world["seller"], params={"limit": 2, "cursor": page.next_cursor})
    assert [c.pk for c in rest.items] == [small_new.pk]
    with pytest.raises(ValidationError) as exc:
        selectors.recoverable_carts(user=world["seller"], params={"min_value": "-5", "max_age": "soon"})
    assert exc.value.message_dict == {"min_value": ["Enter a number of 0 or more."],
                                      "max_age": ["“soon” is not a number."]}


def test_recovery_summary_over_the_window(world):
    now = timezone.now()
    c = world["mine"]
    make_cart(c, value="100.00", abandoned_at=now - dt.timedelta(days=3))
    make_cart(c, value="50.00", status=CartStatus.RECOVERED, abandoned_at=now - dt.timedelta(days=10))
    make_cart(c, value="200.00", abandoned_at=now - dt.timedelta(days=60))
    make_cart(c, value="999.00", abandoned_at=now - dt.timedelta(days=120))  # outside the 90-day window
    make_cart(world["theirs"], value="700.00", abandoned_at=now - dt.timedelta(days=1))

    summary = selectors.recovery_summary(user=world["seller"], now=now)
    assert (summary.abandoned_30, summary.abandoned_30_count) == (Decimal("150.00"), 2)
    assert (summary.abandoned_90, summary.abandoned_90_count) == (Decimal("350.00"), 3)
    assert (summary.recovered_30, summary.recovered_30_count) == (Decimal("50.00"), 1)
    assert summary.recovery_rate == pytest.approx(1 / 3)
    everyone = selectors.recovery_summary(user=world["admin"], now=now)
    assert everyone.abandoned_30 == Decimal("850.00")


def test_customer_commerce_for_the_360_card(world):
    c = world["mine"]
    now = timezone.now()
    orders = [make_order(c, placed_at=now - dt.timedelta(days=d)) for d in (9, 1, 5, 3)]
    make_cart(c, status=CartStatus.RECOVERED)
    cart = make_cart(c, value="75.00", status=CartStatus.ABANDONED, abandoned_at=now - dt.timedelta(hours=3))
    boots = make_product("BOOT", "Hiking boots", category="Shoes")
    socks = make_product("SOCK", "Wool socks", category="Clothing")
    hat = make_product("HAT", "Sun hat", category="Clothing")
    for product, qty, spent in ((boots, 1, "150"), (socks, 6, "60"), (hat, 2, "50")):
        CustomerProductStat.objects.create(contact=c, product=product, category=product.category, quantity=qty,
                                           spent_base=Decimal(spent), orders=1, last_bought_at=now)

    data = selectors.customer_commerce(user=world["seller"], contact=c)
    assert data.recent_orders == [orders[1], orders[3], orders[2]]
    assert data.cart == cart
    assert [s.product.name for s in data.favourite_products] == ["Wool socks", "Sun hat", "Hiking boots"]
    assert data.favourite_categories == ["Shoes", "Clothing"]


def test_product_suggestions_by_name_or_sku_with_the_currency_price(db):
    make_product("BOOT-42", "Hiking boots", price="150.00")
    make_product("BOOT-OLD", "Old boots", active=False)
    make_product("SOCK", "Wool socks", price="12.00")
    make_product("SOCK-EUR", "Socks", price="11.00", currency="EUR")
    assert [(p["sku"], p["unit_price"]) for p in selectors.product_suggestions(query="boot", currency="usd")] == [
        ("BOOT-42", "150.00")]
    assert [(p["sku"], p["unit_price"]) for p in selectors.product_suggestions(query="sock", currency="EUR")] == [
        ("SOCK-EUR", "11.00"), ("SOCK", None)]
