"""Orders and carts over the API: lists with filters and cursors (pinned query counts), one order/cart, refunds and
the in-store purchase endpoint; 404 for another team's customer, 403 for a read-only role or token."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from amity.commerce.models import CartStatus, Order, OrderStatus
from amity.testing import make_contact, make_token, make_user

from .ui_factories import fresh_cache, make_cart, make_order, make_product  # noqa: F401  (autouse)

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, user, scope="write"):
        self.client = Client()
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {make_token(user, scope=scope)}"}

    def get(self, path, data=None):
        return self.client.get(path, data or {}, **self.auth)

    def post(self, path, body=None):
        return self.client.post(path, json.dumps(body or {}), content_type="application/json", **self.auth)


def errors_of(response) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


@pytest.fixture
def world(team, other_team, sales_user):
    return {
        "seller": sales_user,
        "mine": make_contact(owner=sales_user, first_name="Mia", last_name="Moreau"),
        "theirs": make_contact(owner=make_user("sales", team=other_team), first_name="Theo"),
    }


def test_list_orders_with_filters_and_cursor(world):
    api = Api(world["seller"])
    now = timezone.now()
    a = make_order(world["mine"], number="A", placed_at=now - dt.timedelta(days=2), status=OrderStatus.PAID)
    b = make_order(world["mine"], number="B", placed_at=now - dt.timedelta(days=1))
    make_order(world["theirs"], number="T")
    make_order(None, number="G")
    first = api.get("/api/orders", {"limit": 1}).json()
    assert [o["number"] for o in first["items"]] == ["B"]
    assert first["total"] == 2
    assert first["items"][0]["customer"] == {"id": str(world["mine"].uuid), "name": "Mia Moreau"}
    assert first["items"][0]["base_currency"] == "USD"
    second = api.get("/api/orders", {"limit": 1, "cursor": first["next_cursor"]}).json()
    assert [o["id"] for o in second["items"]] == [str(a.uuid)]
    assert [o["id"] for o in api.get("/api/orders", {"status": "paid"}).json()["items"]] == [str(a.uuid)]
    assert [o["id"] for o in api.get("/api/orders", {"customer": str(world["mine"].uuid),
                                                     "sort": "placed"}).json()["items"]] == [str(a.uuid), str(b.uuid)]
    bad = api.get("/api/orders", {"status": "lost", "placed_to": "31/12/2026"})
    assert bad.status_code == 422 and bad["Content-Type"] == "application/problem+json"
    assert errors_of(bad) == {"status": "“lost” is not one of the choices.",
                              "placed_to": "“31/12/2026” is not a date (use YYYY-MM-DD)."}


def test_list_orders_query_count_is_pinned(world, admin_user, django_assert_num_queries):
    api = Api(admin_user)
    for _i in range(2):
        make_order(world["mine"])
    api.get("/api/orders")
    with CaptureQueriesContext(connection) as few:
        assert api.get("/api/orders").status_code == 200
    for _i in range(15):
        make_order(make_contact(), lines=3)
    with django_assert_num_queries(len(few)):
        response = api.get("/api/orders", {"limit": 50})
    assert len(response.json()["items"]) == 17


def test_get_order_and_404s(world):
    api = Api(world["seller"])
    order = make_order(world["mine"], number="A-1", total="30.00", lines=2)
    body = api.get(f"/api/orders/{order.uuid}").json()
    assert body["number"] == "A-1" and body["total"] == "30.00"
    assert [line["name"] for line in body["lines"]] == ["Item 1", "Item 2"]
    assert api.get(f"/api/orders/{make_order(world['theirs']).uuid}").status_code == 404
    assert api.get(f"/api/orders/{make_order(None).uuid}").status_code == 404
    assert api.get("/api/orders/not-a-uuid").status_code == 422


def test_refund_via_the_api(world):
    api = Api(world["seller"])
    order = make_order(world["mine"], total="80.00", status=OrderStatus.PAID)
    too_much = api.post(f"/api/orders/{order.uuid}/refund", {"amount": "100"})
    assert too_much.status_code == 422
    assert errors_of(too_much) == {"amount": "At most 80.00 USD is left to refund."}
    unknown = api.post(f"/api/orders/{order.uuid}/refund", {"amount": "1", "reason": "x"})
    assert unknown.status_code == 422
    response = api.post(f"/api/orders/{order.uuid}/refund", {"amount": "20"})
    assert response.status_code == 200 and response.json()["refunded_amount"] == "20.00"
    rest = api.post(f"/api/orders/{order.uuid}/refund", {})
    assert rest.json()["refunded_amount"] == "80.00" and rest.json()["status"] == "refunded"
    theirs = make_order(world["theirs"], total="10.00")
    assert api.post(f"/api/orders/{theirs.uuid}/refund", {"amount": "1"}).status_code == 404
    assert Order.objects.get(pk=theirs.pk).refunded_amount == 0


def test_readonly_role_and_token_cannot_write(world):
    order = make_order(world["mine"], total="50.00")
    make_product("BOOT", "Boots", price="10.00")
    readonly = Api(make_user("readonly"))
    assert readonly.get(f"/api/orders/{order.uuid}").status_code == 200
    assert readonly.post(f"/api/orders/{order.uuid}/refund", {"amount": "5"}).status_code == 403
    assert readonly.post(f"/api/contacts/{world['mine'].uuid}/purchases",
                         {"lines": [{"product": "BOOT"}]}).status_code == 403
    read_token = Api(world["seller"], scope="read")
    assert read_token.post(f"/api/orders/{order.uuid}/refund", {"amount": "5"}).status_code == 403
    assert Order.objects.get(pk=order.pk).refunded_amount == 0
    assert Order.objects.count() == 1


def test_list_and_get_carts(world, django_assert_num_queries):
    api = Api(world["seller"])
    now = timezone.now()
    big = make_cart(world["mine"], value="300.00", abandoned_at=now - dt.timedelta(hours=40))
    small = make_cart(world["mine"], value="30.00", abandoned_at=now - dt.timedelta(hours=1))
    make_cart(world["mine"], value="999.00", status=CartStatus.OPEN)
    make_cart(world["theirs"], value="500.00")
    by_value = api.get("/api/carts", {"status": "abandoned", "sort": "-value"}).json()
    assert [c["id"] for c in by_value["items"]] == [str(big.uuid), str(small.uuid)]
    by_age = api.get("/api/carts", {"status": "abandoned", "sort": "abandoned"}).json()
    assert [c["id"] for c in by_age["items"]] == [str(big.uuid), str(small.uuid)]
    assert len(api.get("/api/carts").json()["items"]) == 3
    with CaptureQueriesContext(connection) as few:
        api.get("/api/carts")
    for _i in range(10):
        make_cart(world["mine"], status=CartStatus.RECOVERED)
    with django_assert_num_queries(len(few)):
        api.get("/api/carts")
    detail = api.get(f"/api/carts/{big.uuid}").json()
    assert detail["value_base"] == "300.00" and detail["items"][0]["image_url"].startswith("https://shop.example/")
    assert api.get(f"/api/carts/{make_cart(world['theirs']).uuid}").status_code == 404
    assert errors_of(api.get("/api/carts", {"sort": "price"})) == {
        "sort": "“price” is not a sort; use one of: -value, -abandoned, abandoned, -activity."}


def test_record_a_purchase_via_the_api(world):
    api = Api(world["seller"])
    make_product("BOOT", "Boots", price="100.00")
    make_product("SOCK", "Socks", price="5.00")
    url = f"/api/contacts/{world['mine'].uuid}/purchases"
    assert errors_of(api.post(url, {})) == {"lines": "Add at least one product."}
    bad = api.post(url, {"lines": [{"product": "BOOT"}, {"product": "SOCK", "quantity": "0"}, {"product": "NOPE"}]})
    assert bad.status_code == 422
    assert errors_of(bad) == {"lines.1.quantity": "Must be more than 0.",
                              "lines.2.product": "There is no product “NOPE”."}
    assert not Order.objects.exists()
    response = api.post(url, {"lines": [{"product": "BOOT"}, {"product": "sock", "quantity": "3",
                                                               "unit_price": "4.50"}],
                              "channel": "phone", "note": "Called in"})
    assert response.status_code == 201
    body = response.json()
    assert body["channel"] == "phone" and body["total"] == "113.50" and body["customer"]["id"] == str(
        world["mine"].uuid)
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [("BOOT", "1.00"), ("SOCK", "3.00")]
    assert api.post(f"/api/contacts/{world['theirs'].uuid}/purchases",
                    {"lines": [{"product": "BOOT"}]}).status_code == 404
    assert Order.objects.count() == 1
    assert Order.objects.get().total_base == Decimal("113.50")
