"""The tracking snippet's endpoints: ``/t/amity.js`` and ``/t/collect`` (public key, CORS, limits, per-item results)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
import time_machine
from django.test import Client

from amity.commerce import stores, views_stores
from amity.commerce.models import BehaviourEvent, Cart, Visitor
from amity.contacts.models import Contact, ContactEmail
from amity.core.money import add_exchange_rate

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.UTC)
NOW_MS = int(NOW.timestamp() * 1000)
VISITOR = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def store(admin_user):
    add_exchange_rate(actor=admin_user, currency="EUR", rate="1.10", valid_from=dt.date(2026, 1, 1))
    return stores.create_store(actor=admin_user, data={"name": "Web shop", "kind": "snippet",
                                                       "require_consent": True})


def event(kind, props=None, ts=NOW_MS - 2000, **extra):
    return {"type": kind, "id": str(uuid.uuid4()), "ts": ts, "url": "https://shop.example.com/p/1",
            "props": props or {}, **extra}


def send(store, events, client=None, origin=None, **body):
    payload = {"key": store.public_key, "visitor_id": VISITOR, "consent": True, "sent_at": NOW_MS, "events": events,
               **body}
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return (client or Client()).post("/t/collect", json.dumps(payload), content_type="text/plain", **headers)


BOOTS = {"sku": "BOOT-1", "name": "Hiking boots", "price": 89, "currency": "EUR", "category": "Footwear"}


def test_good_batch_lands_with_one_result_per_event(store):
    events = [event("page", {"title": "Home"}), event("product", BOOTS), event("track", {"name": "newsletter",
                                                                                         "list": "weekly"})]
    response = send(store, events)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["created", "created", "created"]
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    assert body["created"] == 3 and body["errors"] == 0
    rows = {e.kind: e for e in BehaviourEvent.objects.all()}
    assert set(rows) == {"page_view", "product_view", "custom"}
    assert all(e.source == f"store:{store.public_key}" and e.visitor_id == VISITOR for e in rows.values())
    assert rows["product_view"].product.sku == "BOOT-1"
    assert rows["custom"].name == "newsletter" and rows["custom"].properties == {"list": "weekly"}
    assert rows["page_view"].occurred_at == NOW - dt.timedelta(seconds=2)
    assert Visitor.objects.filter(visitor_id=VISITOR).exists()


def test_replay_changes_nothing(store):
    events = [event("page"), event("product", BOOTS)]
    assert send(store, events).status_code == 200
    again = send(store, events)
    assert again.status_code == 200
    assert [r["status"] for r in again.json()["results"]] == ["unchanged", "unchanged"]
    assert BehaviourEvent.objects.count() == 2


def test_bad_items_get_their_field_and_the_good_ones_still_land(store):
    events = [
        event("page"),
        event("teleport"),
        event("product", {"name": "no sku"}),
        event("page", ts=NOW_MS + 10 * 60 * 1000),  # ten minutes after the browser's own clock
        {"type": "page", "id": "not-a-uuid"},
        "nonsense",
        event("product", BOOTS),
    ]
    response = send(store, events)
    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "error", "error", "error", "error", "created"]
    fields = [[e["field"] for e in r["errors"]] for r in results]
    assert fields[1] == ["type"]
    assert fields[2] == ["product.sku"]
    assert fields[3] == ["occurred_at"] and "in the future" in results[3]["errors"][0]["message"]
    assert fields[4] == ["id"]
    assert fields[5] == [""]
    assert BehaviourEvent.objects.count() == 2


def test_browser_clock_skew_is_corrected(store):
    browser_now = NOW_MS + 3 * 3600 * 1000  # the visitor's clock is three hours fast
    response = send(store, [event("page", ts=browser_now - 5000)], sent_at=browser_now)
    assert response.status_code == 200
    assert BehaviourEvent.objects.get().occurred_at == NOW - dt.timedelta(seconds=5)


def test_add_to_cart_upserts_the_cart_with_the_event(store):
    cart = {"id": "c-42", "url": "https://shop.example.com/cart", "currency": "EUR",
            "items": [{"sku": "BOOT-1", "name": "Hiking boots", "quantity": 2, "price": 89}]}
    response = send(store, [event("addToCart", {**BOOTS, "quantity": 2, "cart": cart})])
    assert response.status_code == 200, response.content
    stored = Cart.objects.get()
    assert stored.external_id == "snippet:c-42" and stored.visitor_id == VISITOR
    assert stored.currency == "EUR" and stored.value == 178 and stored.cart_url == "https://shop.example.com/cart"
    assert BehaviourEvent.objects.get().kind == "add_to_cart"


def test_add_to_cart_with_a_bad_cart_is_all_or_nothing(store):
    cart = {"id": "c-43", "items": [{"sku": "BOOT-1", "quantity": 1, "price": -5, "currency": "EUR"}],
            "currency": "EUR"}
    response = send(store, [event("addToCart", {**BOOTS, "cart": cart}), event("page")])
    assert response.status_code == 207
    first = response.json()["results"][0]
    assert first["status"] == "error"
    assert first["errors"][0]["field"] == "props.cart.items.0.unit_price"
    assert not Cart.objects.exists()
    assert list(BehaviourEvent.objects.values_list("kind", flat=True)) == ["page_view"]


def test_identify_links_the_visitor_and_moves_earlier_events(store):
    assert send(store, [event("product", BOOTS)]).status_code == 200
    response = send(store, [event("identify", {"email": "Ana@Example.com", "name": "Ana Silva"}),
                            event("page")])
    assert response.status_code == 200, response.content
    assert response.json()["results"][0] == {"index": 0, "status": "updated", "id": None, "errors": [], "notes": []}
    contact = ContactEmail.objects.get(email="ana@example.com").contact
    assert (contact.first_name, contact.last_name) == ("Ana", "Silva")
    assert set(BehaviourEvent.objects.values_list("contact_id", flat=True)) == {contact.pk}
    bad = send(store, [event("identify", {"email": "not an email"})])
    assert bad.status_code == 422
    assert bad.json()["results"][0]["errors"][0]["field"] == "email"
    assert Contact.objects.count() == 1


def test_unknown_key_is_404_and_inactive_store_403(store, admin_user):
    response = send(store, [event("page")], key="pk_nope")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    webhook_store = stores.create_store(actor=admin_user, data={"name": "Woo", "kind": "woocommerce"})
    assert send(store, [event("page")], key=webhook_store.public_key).status_code == 404
    stores.set_store_active(actor=admin_user, store=store, active=False)
    response = send(store, [event("page")])
    assert response.status_code == 403 and response.json()["detail"] == "This store is deactivated."
    assert not BehaviourEvent.objects.exists()


def test_consent_is_required_when_the_store_says_so(store, admin_user):
    response = send(store, [event("page")], consent=False)
    assert response.status_code == 403 and "consent" in response.json()["detail"]
    stores.update_store(actor=admin_user, store=store, data={"require_consent": False})
    assert send(store, [event("page")], consent=False).status_code == 200


def test_cors_for_allowed_and_denied_origins(store, admin_user):
    # Any origin while the list is empty.
    response = send(store, [event("page")], origin="https://anyone.example")
    assert response["Access-Control-Allow-Origin"] == "*" and "Origin" in response["Vary"]
    stores.update_store(actor=admin_user, store=store, data={"allowed_origins": "https://shop.example.com"})
    ok = send(store, [event("page")], origin="https://shop.example.com")
    assert ok.status_code == 200 and ok["Access-Control-Allow-Origin"] == "https://shop.example.com"
    denied = send(store, [event("page")], origin="https://evil.example.com")
    assert denied.status_code == 403 and "Access-Control-Allow-Origin" not in denied
    assert BehaviourEvent.objects.count() == 2
    preflight = Client().options(f"/t/collect?key={store.public_key}", HTTP_ORIGIN="https://shop.example.com",
                                 HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert preflight["Access-Control-Allow-Headers"] == "Content-Type"
    refused = Client().options(f"/t/collect?key={store.public_key}", HTTP_ORIGIN="https://evil.example.com")
    assert "Access-Control-Allow-Origin" not in refused


def test_limits_and_malformed_bodies(store):
    big = send(store, [event("page", {"title": "x" * 300_000})])
    assert big.status_code == 413 and big["Content-Type"] == "application/problem+json"
    many = send(store, [event("page") for _ in range(101)])
    assert many.status_code == 413 and "100 events" in many.json()["detail"]
    malformed = Client().post("/t/collect", "{not json", content_type="text/plain")
    assert malformed.status_code == 400 and malformed.json()["title"] == "Bad Request"
    not_object = Client().post("/t/collect", "[1, 2]", content_type="application/json")
    assert not_object.status_code == 400
    no_visitor = send(store, [event("page")], visitor_id="")
    assert no_visitor.status_code == 422 and no_visitor.json()["errors"][0]["field"] == "visitor_id"
    no_events = send(store, [])
    assert no_events.status_code == 422 and no_events.json()["errors"][0]["field"] == "events"
    assert Client().get("/t/collect").status_code == 405
    assert not BehaviourEvent.objects.exists()


def test_rate_limit_per_key_and_address(store, monkeypatch):
    monkeypatch.setattr(views_stores, "COLLECT_RATE_PER_MINUTE", 2)
    assert send(store, [event("page")]).status_code == 200
    assert send(store, [event("page")]).status_code == 200
    limited = send(store, [event("page")])
    assert limited.status_code == 429 and limited["Retry-After"] == "60"
    assert BehaviourEvent.objects.count() == 2


def test_collect_query_count_does_not_grow_with_the_batch(store, django_assert_max_num_queries):
    send(store, [event("page")])  # the visitor exists now
    with django_assert_max_num_queries(20) as small:
        send(store, [event("product", BOOTS) for _ in range(2)])
    with django_assert_max_num_queries(len(small.captured_queries)):
        send(store, [event("product", BOOTS) for _ in range(50)])


def test_the_script_is_served_with_cache_headers():
    response = Client().get("/t/amity.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"].startswith("public, max-age=3600")
    body = response.content.decode()
    assert "globalPrivacyControl" in body and "doNotTrack" in body and "sendBeacon" in body
    again = Client().get("/t/amity.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
