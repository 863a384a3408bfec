"""The ingest API and the behaviour-event hot path: per-item results, replays, partial batches, bad input."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.test import Client

from amity import testing
from amity.api.tests.helpers import ApiClient, is_problem
from amity.commerce import services
from amity.commerce.models import BehaviourEvent, Order, ProductViewSummary, Visitor
from amity.contacts.models import Contact
from amity.core.models import Event
from amity.sales.models import Product
from amity.timeline import selectors as timeline_selectors

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


@pytest.fixture
def api(admin_user):
    return ApiClient(testing.make_token(admin_user))


def event(n, **over):
    data = {"external_id": f"e-{n}", "kind": "product_view", "email": "ada@example.com",
            "occurred_at": "2026-05-06T11:00:00Z", "product": {"sku": "BOOT-1", "name": "Hiking boots"}}
    data.update(over)
    return data


def order(n, **over):
    data = {"external_id": f"o-{n}", "number": str(1000 + n), "email": "ada@example.com", "currency": "USD",
            "placed_at": "2026-05-06T10:00:00Z", "total": "20.00",
            "lines": [{"sku": "SOCK-1", "name": "Socks", "quantity": 2, "unit_price": "10.00"}]}
    data.update(over)
    return data


# --- HTTP ---------------------------------------------------------------------------------------------------

def test_events_batch_all_landed(api):
    response = api.post("/api/ingest/events", {"items": [event(1), event(2, kind="page_view", product=None)]})
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"], body["failed"]) == (2, 0, 0, 0)
    assert body["results"][0] == {"index": 0, "status": "created", "id": "e-1", "errors": [],
                                  "notes": ["Unknown SKU BOOT-1: a placeholder product was created."]}
    assert BehaviourEvent.objects.count() == 2


def test_replayed_batch_changes_nothing(api):
    items = [event(1), event(2), event(3, kind="search", name="boots", product=None)]
    api.post("/api/ingest/events", {"items": items})
    counts = (BehaviourEvent.objects.count(), Event.objects.count(), ProductViewSummary.objects.get().views)
    activity = Contact.objects.get().last_activity_at
    response = api.post("/api/ingest/events", {"items": items})
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["unchanged"] * 3
    assert (BehaviourEvent.objects.count(), Event.objects.count(), ProductViewSummary.objects.get().views) == counts
    assert Contact.objects.get().last_activity_at == activity


def test_a_batch_mixing_replays_and_new_events_counts_each_view_once(api):
    api.post("/api/ingest/events", {"items": [event(1), event(2)]})
    response = api.post("/api/ingest/events", {"items": [event(3, email="grace@example.com"), event(2), event(4),
                                                         event(4)]})
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["created", "unchanged", "created", "unchanged"]
    assert BehaviourEvent.objects.count() == 4
    views = dict(ProductViewSummary.objects.values_list("contact__emails__email", "views"))
    assert views == {"ada@example.com": 3, "grace@example.com": 1}  # e-1, e-2, e-4 for Ada; the replays not again
    assert Contact.objects.filter(emails__email="grace@example.com").count() == 1  # created once, not per attempt


def test_partial_batch_lands_good_items_with_207(api):
    items = [event(1), event(2, occurred_at="2026-05-07T12:00:00Z"), {"kind": "nope"}, "text", event(3)]
    response = api.post("/api/ingest/events", {"items": items})
    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "error", "error", "created"]
    assert results[1]["errors"] == [{"field": "occurred_at", "message": "2026-05-07T12:00:00+00:00 is in the future; "
                                     "send the time it happened (clocks may differ by 5 minutes at most)."}]
    assert {e["field"] for e in results[2]["errors"]} == {"external_id", "kind", "email"}
    assert results[3]["errors"] == [{"field": "", "message": "Each item must be a JSON object."}]
    assert set(BehaviourEvent.objects.values_list("external_id", flat=True)) == {"e-1", "e-3"}


def test_nul_characters_fail_their_item_not_the_batch(api):
    # PostgreSQL cannot store NUL in text or jsonb: such an item used to fail the whole batch with a 500.
    nul = "Contains a NUL character (\\u0000), which cannot be stored."
    items = [event(1, external_id="e-\u0000"), event(2, visitor_id="v-\u0000", email=""),
             event(3, properties={"colour": "red\u0000"}), event(4, properties={"size\u0000": 42}), event(5)]
    response = api.post("/api/ingest/events", {"items": items})
    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["error", "error", "error", "error", "created"]
    assert {"field": "external_id", "message": nul} in results[0]["errors"]
    assert {"field": "visitor_id", "message": nul} in results[1]["errors"]
    assert results[2]["errors"] == results[3]["errors"] == [{"field": "properties", "message": nul}]
    assert list(BehaviourEvent.objects.values_list("external_id", flat=True)) == ["e-5"]


def test_all_bad_is_422(api):
    response = api.post("/api/ingest/orders", {"items": [order(1, total="-1")]})
    assert response.status_code == 422
    assert response.json()["results"][0]["errors"] == [
        {"field": "total", "message": "An amount cannot be negative (got -1)."}]
    assert Order.objects.count() == 0


def test_orders_batch_good_items_land_and_replay_is_unchanged(api):
    items = [order(1), order(2, lines=[{"sku": "SOCK-1", "quantity": 1, "unit_price": "10", "currency": "EUR"}]),
             order(3, total="30.00", lines=[{"sku": "HAT-1", "name": "Hat", "quantity": 1, "unit_price": "30"}])]
    response = api.post("/api/ingest/orders", {"items": items})
    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "created"]
    assert results[1]["errors"] == [{"field": "lines.0.currency", "message": "This line is in EUR but the order is "
                                     "in USD; send every line in the same currency."}]
    assert results[0]["id"] == str(Order.objects.get(external_id="o-1").uuid)
    contact = Contact.objects.get()
    assert (contact.order_count, contact.lifetime_value) == (2, Decimal("50.00"))
    again = api.post("/api/ingest/orders", {"items": [order(1), order(3, total="30.00", lines=items[2]["lines"])]})
    assert again.status_code == 200
    assert [r["status"] for r in again.json()["results"]] == ["unchanged", "unchanged"]
    contact.refresh_from_db()
    assert (contact.order_count, contact.lifetime_value) == (2, Decimal("50.00"))


def test_carts_batch(api):
    cart = {"external_id": "c-1", "visitor_id": "v-1", "currency": "USD", "cart_url": "https://shop.example.com/c/1",
            "items": [{"sku": "BOOT-1", "name": "Boots", "quantity": 1, "unit_price": "70"}],
            "updated_at": "2026-05-06T11:00:00Z"}
    response = api.post("/api/ingest/carts", {"items": [cart, {**cart, "external_id": "c-2", "status": "abandoned"}]})
    assert response.status_code == 207
    assert response.json()["results"][1]["errors"][0]["field"] == "status"
    assert api.post("/api/ingest/carts", {"items": [cart]}).json()["results"][0]["status"] == "unchanged"
    moved = {**cart, "updated_at": "2026-05-06T11:30:00Z"}
    assert api.post("/api/ingest/carts", {"items": [moved]}).json()["results"][0]["status"] == "updated"


def test_malformed_json_is_400(api):
    response = api.client.post("/api/ingest/events", "{not json", content_type="application/json",
                               **api.headers)
    assert is_problem(response, 400)
    assert response.json()["detail"].startswith("The body is not valid JSON")
    response = api.post("/api/ingest/events", [1, 2])
    assert is_problem(response, 400)


def test_empty_and_too_many_items(api):
    response = api.post("/api/ingest/events", {"items": []})
    assert is_problem(response, 422)
    assert response.json()["errors"] == [{"field": "items", "message": "Send at least one item."}]
    response = api.post("/api/ingest/events", {"items": [event(i) for i in range(1001)]})
    assert is_problem(response, 413)
    assert "At most 1,000 items per request; this one has 1,001." in response.json()["detail"]
    assert BehaviourEvent.objects.count() == 0


def test_auth_401_readonly_token_403_role_403(team, admin_user):
    assert is_problem(ApiClient(None).post("/api/ingest/events", {"items": [event(1)]}), 401)
    read_token = ApiClient(testing.make_token(admin_user, scope="read"))
    assert is_problem(read_token.post("/api/ingest/events", {"items": [event(1)]}), 403)
    readonly = ApiClient(testing.make_token(testing.make_user("readonly", team=team)))
    assert is_problem(readonly.post("/api/ingest/orders", {"items": [order(1)]}), 403)
    assert BehaviourEvent.objects.count() == 0 and Order.objects.count() == 0


def test_session_post_needs_csrf(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post("/api/ingest/events", json.dumps({"items": [event(1)]}), content_type="application/json")
    assert response.status_code in (401, 403)
    assert BehaviourEvent.objects.count() == 0


# --- facts endpoint -----------------------------------------------------------------------------------------

def test_facts_endpoint(api, team, other_team):
    services.record_order(order(1, total="70.00", lines=[
        {"sku": "BOOT-1", "name": "Hiking boots", "category": "Shoes", "quantity": 1, "unit_price": "70"}]),
        source="api")
    services.record_order(order(2, placed_at="2026-05-01T10:00:00Z"), source="api")
    contact = Contact.objects.get()
    body = api.get(f"/api/contacts/{contact.uuid}/facts").json()
    assert body["order_count"] == 2 and body["total_spent"] == "90.00" and body["average_order_value"] == "45.00"
    assert body["first_order_at"].startswith("2026-05-01T10:00:00") and body["days_since_last_order"] == 0
    assert body["currency"] == "USD"
    assert [p["sku"] for p in body["favourite_products"]] == ["SOCK-1", "BOOT-1"]
    assert [c["category"] for c in body["favourite_categories"]] == ["Shoes"]
    owner = testing.make_user("sales", team=other_team)
    Contact.objects.filter(pk=contact.pk).update(owner=owner)
    outsider = ApiClient(testing.make_token(testing.make_user("sales", team=team)))
    assert is_problem(outsider.get(f"/api/contacts/{contact.uuid}/facts"), 404)


# --- events: summaries, visitors, activity, query counts ----------------------------------------------------

def test_product_views_are_one_summary_per_week_updated_in_place():
    services.record_events([event(1), event(2)], source="api")
    services.record_events([event(3, occurred_at="2026-05-06T11:30:00Z")], source="api")
    summary = ProductViewSummary.objects.get()
    assert summary.views == 3 and str(summary.week_start) == "2026-05-04"
    timeline = Event.objects.filter(type="product.viewed")
    assert timeline.count() == 1
    entry = timeline.get()
    assert entry.pk == summary.event_id and entry.payload["product"] == "Hiking boots"
    # A view within the hour leaves the entry where it is on the timeline, its stored payload as first written
    # (views 2); the timeline shows the summary's count and last view…
    assert entry.occurred_at == dt.datetime(2026, 5, 6, 11, 0, tzinfo=dt.UTC) and entry.payload["views"] == 2
    shown = [e for e in timeline_selectors.timeline(contact=summary.contact, params={}).items
             if e.type == "product.viewed"]
    assert [e.pk for e in shown] == [entry.pk]
    assert shown[0].payload["views"] == 3 and shown[0].payload["last_viewed_at"].startswith("2026-05-06T11:30")
    # …one an hour or more later moves it up to the latest view and rewrites its payload.
    services.record_events([event(5, occurred_at="2026-05-06T12:03:00Z")], source="api")
    entry.refresh_from_db()
    assert entry.occurred_at == dt.datetime(2026, 5, 6, 12, 3, tzinfo=dt.UTC) and entry.payload["views"] == 4
    assert entry.payload["last_viewed_at"].startswith("2026-05-06T12:03")
    services.record_events([event(4, occurred_at="2026-04-28T09:00:00Z")], source="api")  # the week before
    assert Event.objects.filter(type="product.viewed").count() == 2


def test_a_mixed_batch_creates_what_it_needs_and_answers_in_order():
    """Known and new customers, known and unknown SKUs and anonymous visitors in one batch: the new customer and
    the placeholder product are created inside the batch's transaction, each result stays at its index."""
    testing.make_contact(first_name="Ada", emails=["ada@example.com"])
    services.record_events([event(0)], source="api")  # BOOT-1 exists from here on
    results = services.record_events([
        event(1),  # known customer, known SKU
        event(2, email="new@example.com", product={"sku": "HAT-9", "name": "Sun hat"}),  # both new
        event(3, email="", visitor_id="v-1", kind="page_view", product=None),  # anonymous
        event(4, product={"sku": "HAT-9"}),  # known customer, the SKU created in this batch
    ], source="api")
    assert [(r.index, r.status) for r in results] == [(0, "created"), (1, "created"), (2, "created"), (3, "created")]
    assert results[1].notes == ["Unknown SKU HAT-9: a placeholder product was created."]
    assert results[3].notes == ["Unknown SKU HAT-9: a placeholder product was created."]
    assert Product.objects.get(sku="HAT-9").is_placeholder
    new = Contact.objects.get(emails__email="new@example.com")
    assert BehaviourEvent.objects.get(external_id="e-2").contact_id == new.pk
    assert BehaviourEvent.objects.get(external_id="e-3").contact_id is None
    views = {(s.contact.first_name or s.contact_id, s.product.sku): s.views
             for s in ProductViewSummary.objects.select_related("contact", "product")}
    assert views[("Ada", "BOOT-1")] == 2 and views[("Ada", "HAT-9")] == 1
    assert ProductViewSummary.objects.get(contact=new).views == 1


def test_a_batch_that_lost_a_deadlock_runs_again(monkeypatch):
    """PostgreSQL rolls back one of two batches that wait on each other's rows; that batch is written again
    (once) instead of failing with a 500."""
    from django.db import OperationalError

    class Deadlock(Exception):
        sqlstate = "40P01"

    real, calls = services._insert_events, []

    def once_deadlocked(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from Deadlock()
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "_insert_events", once_deadlocked)
    results = services.record_events([event(1), event(2)], source="api")
    assert [r.status for r in results] == ["created", "created"] and len(calls) == 2
    assert BehaviourEvent.objects.count() == 2 and ProductViewSummary.objects.get().views == 2


def test_other_database_errors_are_not_retried(monkeypatch):
    from django.db import OperationalError

    def broken(*args, **kwargs):
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(services, "_insert_events", broken)
    with pytest.raises(OperationalError):
        services.record_events([event(1)], source="api")
    assert not BehaviourEvent.objects.exists()


def test_events_find_a_product_by_sku_whatever_its_case():
    product = Product.objects.create(sku="Boot-XL", name="Hiking boots XL")
    results = services.record_events([event(1, product={"sku": "boot-xl"}), event(2, product="BOOT-XL")],
                                     source="api")
    assert [r.notes for r in results] == [[], []]  # found, no placeholder made
    assert set(BehaviourEvent.objects.values_list("product_id", flat=True)) == {product.pk}
    assert Product.objects.count() == 1
    summary = ProductViewSummary.objects.get()
    assert (summary.product_id, summary.views) == (product.pk, 2)
    entry = Event.objects.get(type="product.viewed")
    assert entry.payload["product_id"] == str(product.uuid) and entry.payload["product"] == "Hiking boots XL"


def test_a_visitor_s_last_seen_moves_forward_to_the_minute():
    """A visitor row is created on first sight and its last-seen time moves with later batches — not for a batch
    within the same minute, and never back."""
    anon = {"kind": "page_view", "visitor_id": "v-77", "email": "", "product": None}
    services.record_events([{**anon, "external_id": "a1", "occurred_at": "2026-05-06T11:00:00Z"}], source="api")
    visitor = Visitor.objects.get(visitor_id="v-77")
    assert visitor.first_seen_at == visitor.last_seen_at == dt.datetime(2026, 5, 6, 11, 0, tzinfo=dt.UTC)
    services.record_events([{**anon, "external_id": "a2", "occurred_at": "2026-05-06T11:00:40Z"}], source="api")
    visitor.refresh_from_db()
    assert visitor.last_seen_at == dt.datetime(2026, 5, 6, 11, 0, tzinfo=dt.UTC)  # within the minute
    services.record_events([{**anon, "external_id": "a3", "occurred_at": "2026-05-06T11:05:00Z"}], source="api")
    services.record_events([{**anon, "external_id": "a4", "occurred_at": "2026-05-06T10:00:00Z"}], source="api")
    visitor.refresh_from_db()
    assert visitor.last_seen_at == dt.datetime(2026, 5, 6, 11, 5, tzinfo=dt.UTC)  # forward, never back
    assert visitor.first_seen_at == dt.datetime(2026, 5, 6, 11, 0, tzinfo=dt.UTC)


def test_anonymous_events_move_to_contact_on_identify():
    anon = [event(i, email="", visitor_id="v-9") for i in range(3)]
    services.record_events(anon, source="snippet")
    assert BehaviourEvent.objects.filter(contact__isnull=True).count() == 3
    assert Visitor.objects.get().contact_id is None
    assert ProductViewSummary.objects.count() == 0
    contact = services.identify(visitor_id="v-9", email="grace@example.com", name="Grace Hopper", source="snippet")
    assert contact.display_name == "Grace Hopper"
    assert BehaviourEvent.objects.filter(contact=contact).count() == 3
    assert ProductViewSummary.objects.get(contact=contact).views == 3
    assert Visitor.objects.get().contact_id == contact.pk
    contact.refresh_from_db()
    assert contact.last_activity_at == dt.datetime(2026, 5, 6, 11, 0, tzinfo=dt.UTC)
    services.record_events([event(10, email="", visitor_id="v-9")], source="snippet")  # known visitor now
    assert BehaviourEvent.objects.get(external_id="e-10").contact_id == contact.pk
    assert ProductViewSummary.objects.get(contact=contact).views == 4


def test_identify_validation():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        services.identify(visitor_id="", email="not an email", source="snippet")
    assert set(exc.value.message_dict) == {"visitor_id", "email"}


def test_event_times_are_stored_to_the_microsecond_whatever_their_offset():
    results = services.record_events([event(1, occurred_at="2026-05-06T13:00:00.123456+02:00"),
                                      event(2, occurred_at="2026-05-06T05:30:00-05:30")], source="api")
    assert [r.status for r in results] == ["created", "created"]
    stored = dict(BehaviourEvent.objects.values_list("external_id", "occurred_at"))
    assert stored == {"e-1": dt.datetime(2026, 5, 6, 11, 0, 0, 123456, tzinfo=dt.UTC),
                      "e-2": dt.datetime(2026, 5, 6, 11, 0, tzinfo=dt.UTC)}
    assert all(e.received_at is not None for e in BehaviourEvent.objects.all())


def test_unknown_contact_id_is_an_item_error():
    results = services.record_events([event(1, email="", contact="00000000-0000-4000-8000-000000000000")],
                                     source="api")
    assert results[0].status == "error" and results[0].errors[0]["field"] == "contact"
    assert BehaviourEvent.objects.count() == 0


def test_activity_bumped_at_most_once_a_minute():
    services.record_events([event(1, kind="page_view", product=None)], source="api")
    contact = Contact.objects.get()
    first = contact.last_activity_at
    services.record_events([event(2, kind="page_view", product=None, occurred_at="2026-05-06T11:00:30Z")],
                           source="api")
    contact.refresh_from_db()
    assert contact.last_activity_at == first
    services.record_events([event(3, kind="page_view", product=None, occurred_at="2026-05-06T11:02:00Z")],
                           source="api")
    contact.refresh_from_db()
    assert contact.last_activity_at == dt.datetime(2026, 5, 6, 11, 2, tzinfo=dt.UTC)


def test_events_for_a_merged_contact_land_on_the_kept_one(admin_user):
    from amity.contacts.merge import merge_contacts

    kept, merged = testing.make_contact(first_name="Kept"), testing.make_contact(first_name="Merged")
    merge_contacts(user=admin_user, winner=kept, loser=merged)
    results = services.record_events([event(1, email="", kind="page_view", product=None, contact=str(merged.uuid))],
                                     source="api")
    assert results[0].status == "created"
    assert BehaviourEvent.objects.get().contact_id == kept.pk
    kept.refresh_from_db()
    assert kept.last_activity_at == dt.datetime(2026, 5, 6, 11, 0, tzinfo=dt.UTC)  # the kept contact's facts move


def test_a_contact_removed_while_its_batch_is_written_is_not_pointed_at(monkeypatch):
    """Behaviour events have no foreign key to their contact: a contact removed between the batch's lookups and its
    write fails the write, and the batch is resolved again against what is stored then."""
    from amity.contacts.services import delete_contact

    gone = testing.make_contact(emails=["gone@example.com"])
    real, calls = services._event_lookups, []

    def lookups_then_removal(fresh):
        found = real(fresh)
        if not calls:
            delete_contact(actor=None, contact=Contact.objects.get(pk=gone.pk))
        calls.append(1)
        return found

    monkeypatch.setattr(services, "_event_lookups", lookups_then_removal)
    results = services.record_events([
        event(1, email="", kind="page_view", product=None, contact=str(gone.uuid)),
        event(2, email="gone@example.com", kind="page_view", product=None),
    ], source="api")
    assert len(calls) >= 2  # the first write failed and the batch was resolved again
    assert results[0].status == "error" and results[0].errors[0]["field"] == "contact"
    assert results[1].status == "created"
    stored = BehaviourEvent.objects.get()
    assert stored.contact_id != gone.pk and Contact.objects.filter(pk=stored.contact_id).exists()
    assert Contact.objects.get(pk=stored.contact_id).email == "gone@example.com"  # a new contact from the email


def test_removing_a_contact_waits_for_the_batches_being_written():
    """On PostgreSQL a batch holds the contact-removal lock shared until it commits; a removal takes it first."""
    from django.db import OperationalError, connection, transaction

    from amity.contacts.services import delete_contact

    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writing transaction at a time: a removal cannot overlap a batch there")
    contact = testing.make_contact()
    with testing.contact_removals_blocked():
        with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
            delete_contact(actor=None, contact=contact)
        assert Contact.objects.filter(pk=contact.pk).exists()
    delete_contact(actor=None, contact=contact)  # the batch ended
    assert not Contact.objects.filter(pk=contact.pk).exists()


def _batch(n, start):
    return [event(start + i, email=f"p{i % 3}@example.com", product={"sku": f"SKU-{i % 4}"},
                  kind="product_view" if i % 2 else "page_view", visitor_id=f"v-{i % 3}")
            for i in range(n)]


def test_record_events_query_count_does_not_grow_with_batch(django_assert_max_num_queries):
    for i in range(3):
        testing.make_contact(emails=[f"p{i}@example.com"])
    for i in range(4):
        Product.objects.create(sku=f"SKU-{i}", name=f"Product {i}")
    services.record_events(_batch(24, 1000), source="api")  # warm: summaries and visitors exist
    with django_assert_max_num_queries(20) as small:
        services.record_events(_batch(10, 0), source="api")
    with django_assert_max_num_queries(20) as bigger:
        services.record_events(_batch(80, 100), source="api")
    assert len(bigger.captured_queries) == len(small.captured_queries)
    # SQLite takes at most 999 parameters per statement, so Django splits a 500-row insert into a few chunks.
    with django_assert_max_num_queries(len(small.captured_queries) + 8):
        services.record_events(_batch(500, 200), source="api")
