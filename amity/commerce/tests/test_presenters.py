"""How commerce events read on the timeline, and that they show on the 360 page."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from amity import testing
from amity.api.tests.helpers import ApiClient
from amity.commerce import services
from amity.commerce.tests.clock import NOW
from amity.contacts.models import Contact
from amity.core.models import Event
from amity.timeline.presenters import describe

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def order(**over):
    data = {"external_id": "o-1", "number": "1001", "email": "ada@example.com", "currency": "USD", "total": "90.00",
            "placed_at": "2026-05-06T10:00:00Z",
            "lines": [{"sku": "BOOT-1", "name": "Hiking boots", "quantity": 1, "unit_price": "70"},
                      {"sku": "SOCK-1", "name": "Socks", "quantity": 2, "unit_price": "5"},
                      {"sku": "HAT-1", "name": "Hat", "quantity": 1, "unit_price": "5"},
                      {"sku": "CAP-1", "name": "Cap", "quantity": 1, "unit_price": "5"}]}
    data.update(over)
    return data


def entry(event_type):
    user = testing.make_user("admin")
    return describe(Event.objects.filter(type=event_type).latest("id"), user)


def test_order_placed_refunded_and_paid():
    services.record_order(order(), source="api")
    placed = entry("order.placed")
    assert (placed.icon, placed.tone, placed.title) == ("store", "created", "Order 1001 placed")
    assert placed.detail == "USD 90.00 · Hiking boots, 2 × Socks, Hat, 1 more"
    services.record_order(order(status="paid", paid_at="2026-05-06T10:01:00Z"), source="api")
    assert entry("order.updated").title == "Order 1001: Paid"
    services.record_order(order(refunded_amount="15"), source="api")
    refunded = entry("order.refunded")
    assert (refunded.title, refunded.detail, refunded.tone) == ("Order 1001 partly refunded", "USD 15.00 · of USD 90.00",
                                                                "danger")
    services.record_order(order(status="refunded"), source="api")
    assert entry("order.refunded").title == "Order 1001 refunded"


def test_in_store_channel_is_named():
    services.record_order(order(channel="in_store", number=""), source="api")
    assert entry("order.placed").detail.endswith("· In store")
    assert entry("order.placed").title == "Order o-1 placed"


def test_cart_abandoned_and_recovered():
    with time_machine.travel(NOW - dt.timedelta(hours=3), tick=False):
        services.upsert_cart({"external_id": "c-1", "email": "ada@example.com", "currency": "USD",
                              "items": [{"sku": "BOOT-1", "name": "Hiking boots", "quantity": 1,
                                         "unit_price": "70"}]}, source="api")
    services.mark_abandoned_carts()
    abandoned = entry("cart.abandoned")
    assert (abandoned.icon, abandoned.title, abandoned.detail) == ("clock", "Cart abandoned", "USD 70.00 · Hiking boots")
    services.record_order(order(), source="api")
    recovered = entry("cart.recovered")
    assert (recovered.tone, recovered.title, recovered.detail) == ("success", "Cart recovered",
                                                                   "USD 90.00 · by order 1001")


def test_product_views_summarised():
    services.record_events([{"external_id": f"e{i}", "kind": "product_view", "email": "ada@example.com",
                             "product": {"sku": "BOOT-1", "name": "Hiking boots"},
                             "occurred_at": "2026-05-05T10:00:00Z"} for i in range(6)], source="api")
    assert entry("product.viewed").title == "Viewed Hiking boots 6 times this week"
    services.record_events([{"external_id": "old", "kind": "product_view", "email": "ada@example.com",
                             "product": "BOOT-1", "occurred_at": "2026-04-28T10:00:00Z"}], source="api")
    assert entry("product.viewed").title == "Viewed Hiking boots 1 time last week"


def test_360_page_and_api_show_a_summary_s_current_count(admin_client, admin_user):
    """Views added by later batches within the hour leave the stored entry as it is; the 360 page and the
    timeline API show the summary's count."""
    view = {"kind": "product_view", "email": "ada@example.com", "product": {"sku": "BOOT-1", "name": "Hiking boots"},
            "occurred_at": "2026-05-05T10:00:00Z"}
    services.record_events([{**view, "external_id": "e0"}], source="api")
    for n in range(1, 4):
        services.record_events([{**view, "external_id": f"e{n}", "occurred_at": f"2026-05-05T10:0{n}:00Z"}],
                               source="api")
    stored = Event.objects.get(type="product.viewed")
    assert stored.payload["views"] == 1
    contact = Contact.objects.get(pk=stored.contact_id)
    page = admin_client.get(f"/contacts/{contact.uuid}/").content.decode()
    assert "Viewed Hiking boots 4 times this week" in page
    api = ApiClient(testing.make_token(admin_user))
    items = api.get(f"/api/contacts/{contact.uuid}/timeline").json()["items"]
    shown = next(i for i in items if i["type"] == "product.viewed")
    assert shown["payload"]["views"] == 4 and shown["payload"]["last_viewed_at"].startswith("2026-05-05T10:03")


def test_360_page_shows_commerce_entries(admin_client):
    order_obj, _ = services.record_order(order(), source="api")
    services.record_events([{"external_id": "e1", "kind": "product_view", "email": "ada@example.com",
                             "product": "BOOT-1", "occurred_at": "2026-05-06T11:00:00Z"}], source="api")
    page = admin_client.get(f"/contacts/{order_obj.contact.uuid}/").content.decode()
    assert "Order 1001 placed" in page
    assert "Viewed Hiking boots 1 time this week" in page
