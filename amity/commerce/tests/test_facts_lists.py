"""Customer facts as contact-list filters, sorts and columns, and in the contacts API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from amity import testing
from amity.api.tests.helpers import ApiClient
from amity.commerce import services
from amity.commerce.tests.clock import NOW
from amity.contacts.models import Contact

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


@pytest.fixture
def shoppers():
    """Ada: 3 orders, last 2 days ago. Bob: 1 order 40 days ago, active 10 days ago. Cy: never bought."""
    def buy(email, n, days_ago, total):
        services.record_order({"external_id": f"{email}-{n}", "email": email, "currency": "USD", "total": total,
                               "placed_at": (NOW - dt.timedelta(days=days_ago)).isoformat()}, source="api")

    for n, days in enumerate([30, 10, 2]):
        buy("ada@example.com", n, days, "50.00")
    buy("bob@example.com", 0, 40, "500.00")
    services.record_events([{"external_id": "b1", "kind": "page_view", "email": "bob@example.com",
                             "occurred_at": (NOW - dt.timedelta(days=10)).isoformat()}], source="api")
    testing.make_contact(first_name="Cy", emails=["cy@example.com"])
    return {c.email.split("@")[0]: c for c in Contact.objects.all()}


def names(response):
    body = response.content.decode()
    return [n for n in ("ada@example.com", "bob@example.com", "cy@example.com") if n in body]


@pytest.mark.parametrize(("query", "expected"), [
    ("orders_min=2", ["ada@example.com"]),
    ("orders_max=1", ["bob@example.com", "cy@example.com"]),
    ("value_min=200", ["bob@example.com"]),
    ("last_order_from=2026-05-01", ["ada@example.com"]),
    ("last_order_to=2026-04-01", ["bob@example.com"]),
    ("days_since_order_min=30", ["bob@example.com"]),
    ("days_since_activity_min=5", ["bob@example.com"]),
    ("days_since_activity_min=1", ["ada@example.com", "bob@example.com"]),
])
def test_fact_filters(admin_client, shoppers, query, expected):
    response = admin_client.get(f"/contacts/?{query}")
    assert response.status_code == 200
    assert names(response) == expected


def test_bad_fact_filter_names_the_field(admin_client, shoppers):
    api = ApiClient(testing.make_token(testing.make_user("admin")))
    response = api.get("/api/contacts", {"days_since_order_min": "-3"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "days_since_order_min",
                                          "message": "Enter a whole number from 0 to 100,000."}]


@pytest.mark.parametrize(("sort", "first"), [("-orders", "ada"), ("-last_order", "ada"), ("-last_activity", "ada"),
                                             ("-value", "bob")])
def test_fact_sorts(shoppers, sort, first):
    api = ApiClient(testing.make_token(testing.make_user("admin")))
    items = api.get("/api/contacts", {"sort": sort}).json()["items"]
    assert items[0]["emails"][0]["email"] == f"{first}@example.com"
    if sort in {"-last_order", "-last_activity"}:
        assert items[-1]["emails"][0]["email"] == "cy@example.com"  # never bought: last


def test_list_columns_and_constant_queries(admin_client, shoppers):
    admin_client.get("/contacts/")
    with CaptureQueriesContext(connection) as few:
        body = admin_client.get("/contacts/?sort=-orders").content.decode()
    assert "<th class=\"num\">Orders</th>" in body and "Total spent" in body and "Last order" in body
    assert ">500.00<" in body and ">150.00<" in body
    for n in range(8):
        services.record_order({"external_id": f"x{n}", "email": f"x{n}@example.com", "currency": "USD",
                               "total": "5.00", "placed_at": NOW.isoformat()}, source="api")
    with CaptureQueriesContext(connection) as more:
        admin_client.get("/contacts/?sort=-orders")
    assert len(more.captured_queries) == len(few.captured_queries)


def test_api_contact_has_facts(shoppers):
    api = ApiClient(testing.make_token(testing.make_user("admin")))
    body = api.get(f"/api/contacts/{shoppers['ada'].uuid}").json()
    assert {k: body[k] for k in ("order_count", "total_spent", "average_order_value", "days_since_last_order",
                                 "days_since_last_activity")} == {
        "order_count": 3, "total_spent": "150.00", "average_order_value": "50.00", "days_since_last_order": 2,
        "days_since_last_activity": 2}
    assert body["first_order_at"].startswith("2026-04-06T12:00:00")
    cy = api.get(f"/api/contacts/{shoppers['cy'].uuid}").json()
    assert (cy["order_count"], cy["total_spent"], cy["days_since_last_order"], cy["last_activity_at"]) == (
        0, "0.00", None, None)
    assert Contact.objects.get(pk=shoppers["bob"].pk).lifetime_value == Decimal("500.00")
