"""Abandoned carts: marked once after the configured delay, with everything a reminder needs; recovered by a later
order of the same customer."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from amity import testing
from amity.commerce import services
from amity.commerce.models import Cart, CartStatus
from amity.core import periodic
from amity.core.models import Event

T0 = dt.datetime(2026, 5, 6, 9, 0, tzinfo=dt.UTC)


def cart_data(**over):
    data = {"external_id": "c-1", "email": "ada@example.com", "name": "Ada Lovelace", "currency": "USD",
            "cart_url": "https://shop.example.com/cart/c-1", "updated_at": "2026-05-06T09:00:00Z",
            "items": [{"sku": "BOOT-1", "name": "Hiking boots", "quantity": 1, "unit_price": "70.00",
                       "image_url": "https://shop.example.com/boot.png",
                       "product_url": "https://shop.example.com/p/boot"},
                      {"sku": "SOCK-1", "name": "Socks", "quantity": 2, "unit_price": "5.00"}]}
    data.update(over)
    return data


def sweep(minutes_after):
    return services.mark_abandoned_carts(now=T0 + dt.timedelta(minutes=minutes_after))


@pytest.mark.django_db
def test_abandoned_once_after_the_delay_with_reminder_payload():
    with time_machine.travel(T0, tick=False):
        cart, _ = services.upsert_cart(cart_data(), source="api")
    assert (cart.value, cart.item_count) == (Decimal("80.00"), 3)
    assert sweep(59) == 0
    assert sweep(60) == 1
    assert sweep(61) == 0 and sweep(600) == 0
    cart.refresh_from_db()
    assert cart.status == CartStatus.ABANDONED and cart.abandoned_at == T0 + dt.timedelta(minutes=60)
    event = Event.objects.get(type="cart.abandoned")
    assert event.contact_id == cart.contact_id
    assert event.payload == {
        "cart": str(cart.uuid), "value": "80.00", "currency": "USD", "value_base": "80.00", "base_currency": "USD",
        "item_count": 3, "cart_url": "https://shop.example.com/cart/c-1",
        "last_activity_at": "2026-05-06T09:00:00+00:00", "visitor_id": "", "email": "ada@example.com",
        "name": "Ada Lovelace", "first_name": "Ada",
        "items": [{"sku": "BOOT-1", "name": "Hiking boots", "quantity": "1.00", "unit_price": "70.00",
                   "image_url": "https://shop.example.com/boot.png", "product_url": "https://shop.example.com/p/boot"},
                  {"sku": "SOCK-1", "name": "Socks", "quantity": "2.00", "unit_price": "5.00", "image_url": "",
                   "product_url": ""}],
    }


@pytest.mark.django_db
def test_configurable_delay_empty_carts_and_checkouts_are_not_abandoned():
    services.update_commerce_settings(user=testing.make_user("admin"), data={"abandon_after_minutes": 15})
    with time_machine.travel(T0, tick=False):
        services.upsert_cart(cart_data(), source="api")
        services.upsert_cart(cart_data(external_id="empty", items=[]), source="api")
        services.upsert_cart(cart_data(external_id="checkout", checkout_started_at="2026-05-06T09:00:00Z"),
                             source="api")
    assert sweep(15) == 1
    assert Cart.objects.get(external_id="c-1").status == CartStatus.ABANDONED
    assert set(Cart.objects.filter(status=CartStatus.OPEN).values_list("external_id", flat=True)) == {"empty",
                                                                                                       "checkout"}


@pytest.mark.django_db
def test_activity_resets_the_clock_and_a_reopened_cart_is_never_abandoned_twice():
    with time_machine.travel(T0, tick=False):
        services.upsert_cart(cart_data(), source="api")
    with time_machine.travel(T0 + dt.timedelta(minutes=30), tick=False):
        services.upsert_cart(cart_data(updated_at="2026-05-06T09:30:00Z"), source="api")
    assert sweep(60) == 0 and sweep(90) == 1
    with time_machine.travel(T0 + dt.timedelta(hours=3), tick=False):
        cart, status = services.upsert_cart(cart_data(updated_at="2026-05-06T12:00:00Z", items=[
            {"sku": "HAT", "name": "Hat", "quantity": 1, "unit_price": "20"}]), source="api")
    assert status == "updated" and cart.status == CartStatus.OPEN and cart.abandoned_at is not None
    assert sweep(600) == 0
    assert Event.objects.filter(type="cart.abandoned").count() == 1


@pytest.mark.django_db
def test_later_order_recovers_with_value_and_timeline_event():
    with time_machine.travel(T0, tick=False):
        cart, _ = services.upsert_cart(cart_data(), source="api")
    sweep(60)
    with time_machine.travel(T0 + dt.timedelta(hours=5), tick=False):
        order, _ = services.record_order({
            "external_id": "o-1", "number": "1001", "email": "ada@example.com", "currency": "USD", "total": "75.00",
            "placed_at": "2026-05-06T14:00:00Z",
            "lines": [{"sku": "BOOT-1", "name": "Hiking boots", "quantity": 1, "unit_price": "75"}]}, source="api")
    cart.refresh_from_db()
    assert cart.status == CartStatus.RECOVERED and cart.recovered_order_id == order.pk
    assert cart.recovered_value == Decimal("75.00") and cart.recovered_at == order.placed_at
    event = Event.objects.get(type="cart.recovered")
    assert event.contact_id == order.contact_id and event.payload["recovered_value"] == "75.00"
    assert event.payload["number"] == "1001"


@pytest.mark.django_db
def test_anonymous_cart_recovered_through_visitor_id():
    with time_machine.travel(T0, tick=False):
        cart, _ = services.upsert_cart(cart_data(email="", name="", visitor_id="v-1"), source="snippet")
    sweep(60)
    assert Event.objects.get(type="cart.abandoned").contact_id is None
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        order, _ = services.record_order({
            "external_id": "o-1", "email": "bob@example.com", "visitor_id": "v-1", "currency": "USD",
            "total": "80.00", "placed_at": "2026-05-06T10:59:00Z"}, source="api")
    cart.refresh_from_db()
    assert cart.status == CartStatus.RECOVERED and cart.contact_id == order.contact_id
    # identifying through the order moved the abandoned event onto the customer's timeline too
    assert Event.objects.get(type="cart.abandoned").contact_id == order.contact_id


@pytest.mark.django_db
def test_periodic_job_is_registered_every_minute():
    job = periodic.registered()["commerce.abandon_carts"]
    assert job.interval == dt.timedelta(seconds=60)
    with time_machine.travel(T0, tick=False):
        services.upsert_cart(cart_data(), source="api")
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        assert job.fn() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_sweeps_abandon_each_cart_once():
    if connection.vendor == "sqlite":
        pytest.skip("needs two real concurrent connections: runs in the PostgreSQL suite (the in-memory SQLite test "
                    "database is one connection)")
    with time_machine.travel(T0, tick=False):
        for n in range(40):
            services.upsert_cart(cart_data(external_id=f"c-{n}", email=f"p{n}@example.com"), source="api")
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait()
            counts.append(sweep(60))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 40
    assert Event.objects.filter(type="cart.abandoned").count() == 40
    assert Cart.objects.filter(status=CartStatus.ABANDONED).count() == 40
