"""Store webhooks with real signed payloads: Shopify, WooCommerce and the generic JSON mapping.

Signatures are computed exactly as the platforms document them:
Shopify ``X-Shopify-Hmac-Sha256`` = base64(HMAC-SHA256(secret, raw body));
WooCommerce ``X-WC-Webhook-Signature`` = base64(HMAC-SHA256(secret, raw body)) with ``X-WC-Webhook-Topic``;
generic ``X-Amity-Signature`` = ``sha256=`` + hex(HMAC-SHA256(secret, raw body)).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from amity.commerce import stores
from amity.commerce.models import Cart, Order, OrderStatus
from amity.contacts.models import ContactEmail
from amity.core.models import Event
from amity.core.money import add_exchange_rate
from amity.sales.models import Product

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def b64_hmac(secret: str, raw: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


def hex_hmac(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def post(url, payload, headers, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    return Client().post(url, body, content_type="application/json",
                         **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})


# --- Shopify ---------------------------------------------------------------------------------------------------

@pytest.fixture
def shopify(admin_user):
    Product.objects.create(sku="BOOT-42", name="Trail boots", category="Footwear")
    return stores.create_store(actor=admin_user, data={"name": "Shopify shop", "kind": "shopify"})


def shopify_order(**changes):
    """An orders/create body as Shopify sends it (trimmed of fields Amity does not read)."""
    order = {
        "id": 820982911946154508, "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
        "app_id": None, "browser_ip": None, "buyer_accepts_marketing": True, "cancel_reason": None,
        "cancelled_at": None, "cart_token": "68778783ad298f1c80c3bafcddeea02f",
        "checkout_token": "bd5a8aa1ecd019dd3520ff791ee3a24c", "closed_at": None, "confirmed": True,
        "contact_email": "jon@example.com", "created_at": "2026-05-04T07:53:00-04:00", "currency": "USD",
        "current_subtotal_price": "199.00", "current_total_discounts": "10.00", "current_total_price": "208.92",
        "current_total_tax": "9.92", "customer_locale": "en", "email": "jon@example.com", "estimated_taxes": False,
        "financial_status": "pending", "fulfillment_status": None, "landing_site": None, "name": "#9999",
        "note": None, "number": 234, "order_number": 1234, "presentment_currency": "USD",
        "processed_at": "2026-05-04T07:53:00-04:00", "source_name": "web",
        "subtotal_price": "199.00", "tags": "", "taxes_included": False, "test": True,
        "total_discounts": "10.00", "total_line_items_price": "209.00",
        "total_price": "208.92", "total_tax": "9.92", "total_weight": 0,
        "total_shipping_price_set": {"shop_money": {"amount": "0.00", "currency_code": "USD"},
                                     "presentment_money": {"amount": "0.00", "currency_code": "USD"}},
        "updated_at": "2026-05-04T07:53:00-04:00",
        "billing_address": {"first_name": "Jon", "last_name": "Snow", "address1": "123 Amoebobacterieae St",
                            "city": "Ottawa", "zip": "K2P0V6", "country_code": "CA"},
        "customer": {"id": 115310627314723954, "email": "jon@example.com", "first_name": "Jon",
                     "last_name": "Snow", "state": "disabled", "currency": "USD"},
        "discount_applications": [{"target_type": "line_item", "type": "manual", "value": "10.0",
                                   "value_type": "fixed_amount", "allocation_method": "one",
                                   "target_selection": "explicit", "title": "Loyal"}],
        "line_items": [
            {"id": 866550311766439020, "admin_graphql_api_id": "gid://shopify/LineItem/866550311766439020",
             "fulfillable_quantity": 1, "fulfillment_service": "manual", "gift_card": False, "grams": 567,
             "name": "Trail boots - 42", "price": "199.00",
             "price_set": {"shop_money": {"amount": "199.00", "currency_code": "USD"},
                           "presentment_money": {"amount": "199.00", "currency_code": "USD"}},
             "product_exists": True, "product_id": 632910392, "quantity": 1, "requires_shipping": True,
             "sku": "BOOT-42", "taxable": True, "title": "Trail boots", "total_discount": "0.00",
             "variant_id": 808950810, "variant_title": "42", "vendor": None,
             "tax_lines": [{"price": "9.92", "rate": 0.05, "title": "GST"}],
             "discount_allocations": [{"amount": "10.00", "discount_application_index": 0,
                                       "amount_set": {"shop_money": {"amount": "10.00", "currency_code": "USD"}}}]},
            {"id": 141249953214522974, "name": "Wool socks", "price": "5.00", "product_id": 788032119674292922,
             "quantity": 2, "sku": "SOCK-NEW", "title": "Wool socks", "total_discount": "0.00",
             "variant_id": 642667041472713922, "variant_title": None, "discount_allocations": [],
             "price_set": {"shop_money": {"amount": "5.00", "currency_code": "USD"}}},
        ],
        "shipping_lines": [{"id": 271878346596884015, "code": "Standard", "price": "0.00",
                            "discounted_price": "0.00", "source": "shopify", "title": "Standard",
                            "discount_allocations": []}],
        "refunds": [], "fulfillments": [],
    }
    order["line_items"][1]["price"] = "5.00"
    # Totals consistent with the lines: 199 - 10 + 2 × 5 = 199 subtotal, + 9.92 tax.
    order.update({"subtotal_price": "199.00", "total_line_items_price": "209.00", "total_price": "208.92"})
    order.update(changes)
    return order


def send_shopify(store, topic, payload, secret=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    return post(f"/hooks/{store.uuid}/shopify", None, {
        "X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": b64_hmac(secret or store.secret, body),
        "X-Shopify-Shop-Domain": "amity-demo.myshopify.com", "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37",
        "X-Shopify-API-Version": "2025-07"}, raw=body)


def test_shopify_order_create_then_paid(shopify):
    response = send_shopify(shopify, "orders/create", shopify_order())
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "created" and body["kind"] == "order"
    assert body["notes"] == ["Unknown SKU SOCK-NEW: a placeholder product was created."]
    order = Order.objects.get()
    assert order.id and str(order.uuid) == body["id"]
    assert (order.source, order.external_id, order.number) == (f"store:{shopify.public_key}",
                                                               "820982911946154508", "#9999")
    assert order.status == OrderStatus.PLACED and order.currency == "USD"
    assert (order.subtotal, order.tax_total, order.total) == (Decimal("199.00"), Decimal("9.92"), Decimal("208.92"))
    assert order.placed_at == dt.datetime(2026, 5, 4, 11, 53, tzinfo=dt.UTC)
    lines = list(order.lines.order_by("id").values_list("sku", "quantity", "unit_price", "discount", "total"))
    assert lines == [("BOOT-42", 1, Decimal("199.00"), Decimal("10.00"), Decimal("189.00")),
                     ("SOCK-NEW", 2, Decimal("5.00"), Decimal("0.00"), Decimal("10.00"))]
    assert Product.objects.get(sku="SOCK-NEW").is_placeholder
    contact = ContactEmail.objects.get(email="jon@example.com").contact
    assert order.contact_id == contact.pk and (contact.first_name, contact.last_name) == ("Jon", "Snow")
    assert Event.objects.filter(type="order.placed", contact_id=contact.pk).count() == 1

    paid = send_shopify(shopify, "orders/paid", shopify_order(financial_status="paid",
                                                              updated_at="2026-05-04T07:55:00-04:00"))
    assert paid.status_code == 200 and paid.json()["status"] == "updated"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.paid_at is not None


def test_shopify_replay_changes_nothing(shopify):
    payload = shopify_order()
    assert send_shopify(shopify, "orders/create", payload).json()["status"] == "created"
    events = Event.objects.count()
    again = send_shopify(shopify, "orders/create", payload)
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    assert Order.objects.count() == 1 and Event.objects.count() == events


@pytest.mark.parametrize("case", ["wrong-secret", "tampered", "missing", "not-base64"])
def test_shopify_bad_signature_is_401_and_nothing_is_stored(shopify, case):
    payload = shopify_order()
    raw = json.dumps(payload).encode()
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": b64_hmac(shopify.secret, raw)}
    if case == "wrong-secret":
        headers["X-Shopify-Hmac-Sha256"] = b64_hmac("whsec_someone_else_entirely", raw)
    elif case == "tampered":
        raw = raw.replace(b'"208.92"', b'"1.00"')
    elif case == "missing":
        del headers["X-Shopify-Hmac-Sha256"]
    else:
        headers["X-Shopify-Hmac-Sha256"] = "%%%"
    response = post(f"/hooks/{shopify.uuid}/shopify", None, headers, raw=raw)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert not Order.objects.exists() and not ContactEmail.objects.filter(email="jon@example.com").exists()


def test_shopify_refund_applies_once(shopify):
    send_shopify(shopify, "orders/create", shopify_order(financial_status="paid"))
    refund = {
        "id": 509562969, "order_id": 820982911946154508, "created_at": "2026-05-04T07:58:00-04:00",
        "note": "wrong size", "user_id": None, "processed_at": "2026-05-04T07:58:00-04:00", "restock": True,
        "duties": [], "additional_fees": [], "order_adjustments": [],
        "refund_line_items": [{"id": 104689539, "line_item_id": 141249953214522974, "quantity": 2,
                               "restock_type": "return", "subtotal": 10.0, "total_tax": 0.0}],
        "transactions": [{"id": 179259969, "order_id": 820982911946154508, "kind": "refund", "gateway": "bogus",
                          "status": "success", "amount": "10.00", "currency": "USD"}],
    }
    response = send_shopify(shopify, "refunds/create", refund)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "updated"
    order = Order.objects.get()
    assert order.refunded_amount == Decimal("10.00") and order.status == OrderStatus.PAID
    assert send_shopify(shopify, "refunds/create", refund).json()["status"] == "unchanged"
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("10.00")
    assert Event.objects.filter(type="order.refunded").count() == 1
    # A refund for an order Amity has not seen yet: 422 naming it (Shopify retries later).
    unknown = send_shopify(shopify, "refunds/create", {**refund, "id": 1, "order_id": 1})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "order_id"
    # More than is left: refused with the field, nothing changes.
    too_much = copy.deepcopy(refund)
    too_much["id"] = 509562970
    too_much["transactions"][0]["amount"] = "500.00"
    over = send_shopify(shopify, "refunds/create", too_much)
    assert over.status_code == 422 and over.json()["errors"][0]["field"] == "amount"
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("10.00")


def test_shopify_refund_listed_by_orders_updated_first_is_not_counted_twice(shopify):
    send_shopify(shopify, "orders/create", shopify_order(financial_status="paid"))
    refund = {"id": 509562969, "order_id": 820982911946154508, "created_at": "2026-05-04T07:58:00-04:00",
              "transactions": [{"id": 179259969, "kind": "refund", "status": "success", "amount": "10.00",
                                "currency": "USD"}], "refund_line_items": []}
    updated = send_shopify(shopify, "orders/updated", shopify_order(
        financial_status="partially_refunded", updated_at="2026-05-04T07:58:30-04:00", refunds=[refund]))
    assert updated.status_code == 200 and updated.json()["status"] == "updated", updated.content
    assert Order.objects.get().refunded_amount == Decimal("10.00")
    late = send_shopify(shopify, "refunds/create", refund)
    assert late.status_code == 200 and late.json()["status"] == "unchanged"
    assert Order.objects.get().refunded_amount == Decimal("10.00")
    assert Event.objects.filter(type="order.refunded").count() == 1


def test_shopify_checkout_is_a_cart(shopify):
    checkout = {
        "id": 901414060, "token": "exuw7apwoycchjuwtiqg8nytfhphr62a", "cart_token": "",
        "email": "jon@example.com", "gateway": None, "buyer_accepts_marketing": False,
        "created_at": "2026-05-04T07:40:00-04:00", "updated_at": "2026-05-04T07:41:00-04:00",
        "landing_site": None, "note": None, "referring_site": None, "taxes_included": False,
        "total_weight": 0, "currency": "USD", "presentment_currency": "USD", "completed_at": None,
        "abandoned_checkout_url": "https://amity-demo.myshopify.com/1/checkouts/exuw7apwoycchjuwtiqg8nytfhphr62a"
                                  "/recover?key=abc",
        "line_items": [{"applied_discounts": [], "key": "808950810", "destination_location_id": None,
                        "fulfillment_service": "manual", "gift_card": False, "grams": 567, "origin_location_id": None,
                        "presentment_title": "Trail boots", "presentment_variant_title": "42",
                        "product_id": 632910392, "quantity": 1, "requires_shipping": True, "sku": "BOOT-42",
                        "tax_lines": [], "taxable": True, "title": "Trail boots", "variant_id": 808950810,
                        "variant_title": "42", "variant_price": "199.00", "vendor": "Amity", "user_id": None,
                        "unit_price_measurement": None, "rank": None, "compare_at_price": None,
                        "line_price": "199.00", "price": "199.00"}],
        "subtotal_price": "199.00", "total_price": "199.00", "total_tax": "0.00",
        "customer": {"id": 207119551, "email": "jon@example.com", "first_name": "Jon", "last_name": "Snow"},
    }
    created = send_shopify(shopify, "checkouts/create", checkout)
    assert created.status_code == 200 and created.json()["status"] == "created", created.content
    cart = Cart.objects.get()
    assert cart.external_id == "checkout:exuw7apwoycchjuwtiqg8nytfhphr62a"
    assert cart.value == Decimal("199.00") and cart.item_count == 1 and cart.checkout_started_at is not None
    assert cart.cart_url.startswith("https://amity-demo.myshopify.com/1/checkouts/")
    assert cart.contact.emails.get().email == "jon@example.com"
    assert send_shopify(shopify, "checkouts/create", checkout).json()["status"] == "unchanged"
    checkout["line_items"][0]["quantity"] = 2
    checkout["updated_at"] = "2026-05-04T07:45:00-04:00"
    assert send_shopify(shopify, "checkouts/update", checkout).json()["status"] == "updated"
    cart.refresh_from_db()
    assert cart.value == Decimal("398.00")


@pytest.mark.parametrize(("changes", "field"), [
    ({"total_price": "-5.00"}, "total"),
    ({"currency": "XYZ"}, "currency"),
    ({"currency": "EUR"}, "lines.0.currency"),  # the order says EUR, its lines are priced in USD
    ({"currency": "GBP", "line_items": [], "total_discounts": "0.00", "total_price": "9.92"}, "currency"),  # a currency without an exchange rate
    ({"created_at": "2026-05-05T12:00:00Z"}, "placed_at"),
    ({"total_price": "300.00"}, "total"),
    ({"email": "", "contact_email": "", "customer": None}, "email"),
    ({"id": None}, "external_id"),
], ids=["negative-total", "unknown-currency", "currency-mismatch", "no-rate", "future", "total-off", "nobody",
        "no-id"])
def test_shopify_bad_orders_are_422_with_the_field_and_nothing_written(shopify, changes, field):
    response = send_shopify(shopify, "orders/create", shopify_order(**changes))
    assert response.status_code == 422, response.content
    assert field in [e["field"] for e in response.json()["errors"]]
    assert not Order.objects.exists()
    assert not Product.objects.filter(sku="SOCK-NEW").exists()


def test_shopify_oddities(shopify, admin_user):
    malformed = send_shopify(shopify, "orders/create", None, raw=b"{not json")
    assert malformed.status_code == 400
    ignored = send_shopify(shopify, "products/update", {"id": 1})
    assert ignored.status_code == 200 and ignored.json()["status"] == "ignored"
    not_object = send_shopify(shopify, "orders/create", [1, 2])
    assert not_object.status_code == 422
    assert Client().get(f"/hooks/{shopify.uuid}/shopify").status_code == 405
    wrong_platform = post(f"/hooks/{shopify.uuid}/woocommerce", {}, {})
    assert wrong_platform.status_code == 404
    unknown = post("/hooks/00000000-0000-4000-8000-000000000000/shopify", {}, {})
    assert unknown.status_code == 404
    stores.set_store_active(actor=admin_user, store=shopify, active=False)
    assert send_shopify(shopify, "orders/create", shopify_order()).status_code == 403
    assert not Order.objects.exists()


def test_shopify_order_in_another_currency_uses_the_rate(shopify, admin_user):
    add_exchange_rate(actor=admin_user, currency="EUR", rate="1.10", valid_from=dt.date(2026, 1, 1))
    payload = shopify_order(currency="EUR")
    for line in payload["line_items"]:
        line["price_set"]["shop_money"]["currency_code"] = "EUR"
    assert send_shopify(shopify, "orders/create", payload).status_code == 200
    assert Order.objects.get().total_base == Decimal("229.81")


def test_shopify_taxes_included_and_cancelled(shopify):
    payload = shopify_order(taxes_included=True, total_price="199.00", total_tax="33.17",
                            cancelled_at="2026-05-04T08:00:00-04:00")
    response = send_shopify(shopify, "orders/create", payload)
    assert response.status_code == 200, response.content
    order = Order.objects.get()
    assert order.status == OrderStatus.CANCELLED and order.tax_total == 0
    assert "33.17" in order.note


# --- WooCommerce -----------------------------------------------------------------------------------------------

@pytest.fixture
def woo(admin_user):
    Product.objects.create(sku="woo-album", name="Album", category="Music")
    return stores.create_store(actor=admin_user, data={"name": "Woo shop", "kind": "woocommerce"})


def woo_order(**changes):
    """An order.created body as WooCommerce (REST API v3 shape) sends it."""
    order = {
        "id": 727, "parent_id": 0, "number": "727", "order_key": "wc_order_58d2d042d1d", "created_via": "checkout",
        "version": "9.1.0", "status": "processing", "currency": "USD", "date_created": "2026-05-04T09:30:00",
        "date_created_gmt": "2026-05-04T11:30:00", "date_modified": "2026-05-04T09:31:00",
        "date_modified_gmt": "2026-05-04T11:31:00", "discount_total": "4.00", "discount_tax": "0.00",
        "shipping_total": "10.00", "shipping_tax": "0.00", "cart_tax": "1.35", "total": "37.35",
        "total_tax": "1.35", "prices_include_tax": False, "customer_id": 0, "customer_ip_address": "",
        "customer_user_agent": "", "customer_note": "",
        "billing": {"first_name": "John", "last_name": "Doe", "company": "", "address_1": "969 Market",
                    "address_2": "", "city": "San Francisco", "state": "CA", "postcode": "94103", "country": "US",
                    "email": "john.doe@example.com", "phone": "(555) 555-5555"},
        "shipping": {"first_name": "John", "last_name": "Doe", "address_1": "969 Market", "city": "San Francisco",
                     "state": "CA", "postcode": "94103", "country": "US"},
        "payment_method": "bacs", "payment_method_title": "Direct Bank Transfer", "transaction_id": "",
        "date_paid": "2026-05-04T09:30:30", "date_paid_gmt": "2026-05-04T11:30:30",
        "date_completed": None, "date_completed_gmt": None, "cart_hash": "",
        "meta_data": [], "tax_lines": [{"id": 318, "rate_code": "US-CA-STATE TAX", "rate_id": 75,
                                        "label": "State Tax", "compound": False, "tax_total": "1.35",
                                        "shipping_tax_total": "0.00"}],
        "line_items": [
            {"id": 315, "name": "Woo Single #1", "product_id": 93, "variation_id": 0, "quantity": 2,
             "tax_class": "", "subtotal": "6.00", "subtotal_tax": "0.45", "total": "6.00", "total_tax": "0.45",
             "taxes": [{"id": 75, "total": "0.45", "subtotal": "0.45"}], "meta_data": [], "sku": "woo-single",
             "price": 3},
            {"id": 316, "name": "Ship Your Idea &ndash; Color: Black, Size: M Test", "product_id": 22,
             "variation_id": 23, "quantity": 1, "tax_class": "", "subtotal": "24.00", "subtotal_tax": "0.90",
             "total": "20.00", "total_tax": "0.90", "taxes": [{"id": 75, "total": "0.9", "subtotal": "0.9"}],
             "meta_data": [{"id": 2095, "key": "pa_color", "value": "black"}], "sku": "woo-album", "price": 20},
        ],
        "shipping_lines": [{"id": 317, "method_title": "Flat Rate", "method_id": "flat_rate", "total": "10.00",
                            "total_tax": "0.00", "taxes": []}],
        "fee_lines": [], "coupon_lines": [{"id": 319, "code": "save4", "discount": "4.00", "discount_tax": "0.00"}],
        "refunds": [],
    }
    order.update(changes)
    return order


def send_woo(store, topic, payload, secret=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    return post(f"/hooks/{store.uuid}/woocommerce", None, {
        "X-WC-Webhook-Source": "https://shop.example.com/", "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": topic.split(".")[0], "X-WC-Webhook-Event": topic.split(".")[-1],
        "X-WC-Webhook-Signature": b64_hmac(secret or store.secret, body), "X-WC-Webhook-ID": "12",
        "X-WC-Webhook-Delivery-ID": "8a9e0c1b"}, raw=body)


def test_woocommerce_order_created_then_completed_and_refunded(woo):
    response = send_woo(woo, "order.created", woo_order())
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "created"
    assert response.json()["notes"] == ["Unknown SKU woo-single: a placeholder product was created."]
    order = Order.objects.get()
    assert (order.external_id, order.number, order.status) == ("727", "727", OrderStatus.PAID)
    assert order.placed_at == dt.datetime(2026, 5, 4, 11, 30, tzinfo=dt.UTC)
    assert order.paid_at == dt.datetime(2026, 5, 4, 11, 30, 30, tzinfo=dt.UTC)
    assert (order.subtotal, order.discount_total, order.tax_total, order.shipping_total, order.total) == (
        Decimal("26.00"), Decimal("0.00"), Decimal("1.35"), Decimal("10.00"), Decimal("37.35"))
    lines = list(order.lines.order_by("id").values_list("sku", "unit_price", "discount", "total"))
    assert lines == [("woo-single", Decimal("3.00"), Decimal("0.00"), Decimal("6.00")),
                     ("woo-album", Decimal("24.00"), Decimal("4.00"), Decimal("20.00"))]
    assert order.contact.emails.get().email == "john.doe@example.com"

    assert send_woo(woo, "order.created", woo_order()).json()["status"] == "unchanged"
    done = woo_order(status="completed", date_completed_gmt="2026-05-04T11:45:00",
                     refunds=[{"id": 730, "reason": "broken", "total": "-6.00"}])
    updated = send_woo(woo, "order.updated", done)
    assert updated.status_code == 200 and updated.json()["status"] == "updated"
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED and order.refunded_amount == Decimal("6.00")
    assert order.fulfilled_at == dt.datetime(2026, 5, 4, 11, 45, tzinfo=dt.UTC)
    assert send_woo(woo, "order.updated", done).json()["status"] == "unchanged"


@pytest.mark.parametrize(("changes", "field"), [
    ({"total": "-37.35"}, "total"),
    ({"currency": "JPY"}, "currency"),
    ({"date_created_gmt": "2027-01-01T00:00:00"}, "placed_at"),
    ({"billing": {"email": "not-an-email"}}, "email"),
    ({"line_items": [{"id": 1, "name": "Thing", "quantity": -1, "subtotal": "5.00", "total": "5.00",
                      "sku": "x"}], "total": "16.35"}, "lines.0.quantity"),
], ids=["negative-total", "no-rate", "future", "bad-email", "negative-quantity"])
def test_woocommerce_bad_orders(woo, changes, field):
    response = send_woo(woo, "order.created", woo_order(**changes))
    assert response.status_code == 422, response.content
    assert field in [e["field"] for e in response.json()["errors"]]
    assert not Order.objects.exists()


def test_woocommerce_ping_signature_and_topics(woo):
    ping = Client().post(f"/hooks/{woo.uuid}/woocommerce", "webhook_id=12",
                         content_type="application/x-www-form-urlencoded")
    assert ping.status_code == 200
    unsigned = post(f"/hooks/{woo.uuid}/woocommerce", woo_order(), {"X-WC-Webhook-Topic": "order.created"})
    assert unsigned.status_code == 401
    wrong = send_woo(woo, "order.created", woo_order(), secret="whsec_not_the_right_secret")
    assert wrong.status_code == 401
    ignored = send_woo(woo, "product.updated", {"id": 93})
    assert ignored.status_code == 200 and ignored.json()["status"] == "ignored"
    assert not Order.objects.exists()


# --- generic ---------------------------------------------------------------------------------------------------

MAPPING = {
    "kind": "order",
    "items": "data.orders[*]",
    "fields": {"external_id": "ref", "email": "buyer.email", "currency": "cur", "placed_at": "at",
               "total": "amount", "lines": "rows[*]", "lines.sku": "code", "lines.name": "label",
               "lines.quantity": "n", "lines.unit_price": "each"},
    "defaults": {"status": "paid", "channel": "online"},
}


@pytest.fixture
def generic(admin_user):
    store = stores.create_store(actor=admin_user, data={"name": "ERP", "kind": "generic"})
    return stores.update_store(actor=admin_user, store=store, data={"mapping": MAPPING})


def send_generic(store, payload, secret=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    return post(f"/hooks/{store.uuid}/generic", None,
                {"X-Amity-Signature": hex_hmac(secret or store.secret, body)}, raw=body)


def erp_order(ref, amount="20.00", **changes):
    return {"ref": ref, "buyer": {"email": "kim@example.com"}, "cur": "USD", "at": "2026-05-04T10:00:00Z",
            "amount": amount, "rows": [{"code": "BOOT-42", "label": "Trail boots", "n": 2, "each": "10.00"}],
            **changes}


def test_generic_batch_lands_the_good_items(generic):
    Product.objects.create(sku="BOOT-42", name="Trail boots")
    payload = {"data": {"orders": [erp_order("A-1"), erp_order("A-2", amount="-3"), erp_order("A-3"),
                                   erp_order("A-4", rows="oops")]}}
    response = send_generic(generic, payload)
    assert response.status_code == 207, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "created", "error"]
    assert [e["field"] for e in results[1]["errors"]] == ["total"]
    assert [e["field"] for e in results[3]["errors"]] == ["lines"]
    assert set(Order.objects.values_list("external_id", flat=True)) == {"A-1", "A-3"}
    assert Order.objects.get(external_id="A-1").status == OrderStatus.PAID
    again = send_generic(generic, payload)
    assert [r["status"] for r in again.json()["results"]] == ["unchanged", "error", "unchanged", "error"]
    assert Order.objects.count() == 2


def test_generic_signature_and_mapping_required(generic, admin_user):
    payload = {"data": {"orders": [erp_order("B-1")]}}
    raw = json.dumps(payload).encode()
    wrong = post(f"/hooks/{generic.uuid}/generic", None, {"X-Amity-Signature": hex_hmac("nope" * 5, raw)}, raw=raw)
    assert wrong.status_code == 401
    bare = post(f"/hooks/{generic.uuid}/generic", None,
                {"X-Amity-Signature": hex_hmac(generic.secret, raw)[7:]}, raw=raw)  # no "sha256=" prefix
    assert bare.status_code == 401
    assert not Order.objects.exists()
    empty = stores.create_store(actor=admin_user, data={"name": "New", "kind": "generic"})
    no_mapping = send_generic(empty, payload)
    assert no_mapping.status_code == 422 and no_mapping.json()["errors"][0]["field"] == "mapping"
    not_list = send_generic(generic, {"data": {"orders": {"ref": "x"}}})
    assert not_list.status_code == 422 and not_list.json()["errors"][0]["field"] == "data.orders[*]"


def test_generic_single_event_mapping(admin_user):
    store = stores.create_store(actor=admin_user, data={"name": "App", "kind": "generic", "mapping": {
        "kind": "event", "fields": {"external_id": "event_id", "kind": "what", "email": "user.email",
                                    "occurred_at": "when", "product.sku": "item.sku", "product.name": "item.title"}}})
    payload = {"event_id": "e-1", "what": "product_view", "user": {"email": "lee@example.com"},
               "when": "2026-05-04T11:00:00Z", "item": {"sku": "MUG-1", "title": "Camp mug"}}
    response = send_generic(store, payload)
    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["status"] == "created"
    assert Product.objects.get(sku="MUG-1").is_placeholder
