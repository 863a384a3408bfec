"""Commerce pages: orders list/page/refund/export, cart page, recoverable revenue, the 360 card with the in-store
form, product suggestions and the settings; permission checks and pinned query counts."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from amity.commerce.models import CartStatus, CommerceSettings, Order, OrderStatus
from amity.contacts.models import Contact
from amity.core.models import AuditEntry
from amity.testing import make_contact, make_user
from amity.timeline.models import Interaction

from .ui_factories import clear_cache, fresh_cache, make_cart, make_order, make_product  # noqa: F401  (autouse)

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(team, other_team, sales_user):
    stranger = make_user("sales", team=other_team)
    return {
        "seller": sales_user,
        "mine": make_contact(owner=sales_user, first_name="Mia", last_name="Moreau"),
        "theirs": make_contact(owner=stranger, first_name="Theo", last_name="Other"),
        "readonly": make_user("readonly"),
    }


def body(response) -> str:
    return response.content.decode()


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


# --- orders -----------------------------------------------------------------------------------------------------------

def test_orders_list_shows_the_visible_customers_orders_with_filters(world, sales_client):
    mine = make_order(world["mine"], number="A-1", total="80.00")
    make_order(world["mine"], number="A-2", status=OrderStatus.REFUNDED)
    make_order(world["theirs"], number="B-1")
    make_order(None, number="G-1")
    page = body(sales_client.get(reverse("commerce:orders")))
    assert "#A-1" in page and "#A-2" in page and "#B-1" not in page and "#G-1" not in page
    assert reverse("commerce:order", args=[mine.uuid]) in page
    assert "2 orders" in page
    filtered = body(sales_client.get(reverse("commerce:orders"), {"status": "refunded"}))
    assert "#A-2" in filtered and "#A-1" not in filtered
    bad = sales_client.get(reverse("commerce:orders"), {"placed_from": "soon"})
    assert bad.status_code == 200
    assert "“soon” is not a date (use YYYY-MM-DD)." in body(bad)
    # The export is only for roles that may export.
    assert "Export CSV" not in page
    assert sales_client.get(reverse("commerce:orders_export")).status_code == 403


def test_orders_list_query_count_does_not_grow_with_rows(world, admin_client, django_assert_num_queries):
    for _i in range(3):
        make_order(world["mine"])
    url = reverse("commerce:orders")
    admin_client.get(url)  # warm per-process caches (roles, settings)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    for _i in range(20):
        make_order(make_contact())
    with django_assert_num_queries(len(few)):
        assert admin_client.get(url).status_code == 200
    assert len(few) <= 6


def test_order_page_shows_lines_totals_and_history(world, sales_client):
    order = make_order(world["mine"], number="A-7", total="90.00", lines=2, tax_total=Decimal("15.00"),
                       discount_total=Decimal("5.00"), paid_at=timezone.now(), note="Gift wrap <b>please</b>")
    page = body(sales_client.get(reverse("commerce:order", args=[order.uuid])))
    assert "Order #A-7" in page and "Item 1" in page and "Item 2" in page
    assert "Tax" in page and "15.00" in page and "−5.00" in page
    assert "Paid" in page and "Placed" in page
    assert "Gift wrap &lt;b&gt;please&lt;/b&gt;" in page
    assert 'action="' + reverse("commerce:order_refund", args=[order.uuid]) + '"' in page


def test_order_and_cart_of_another_team_are_404(world, sales_client):
    order, cart = make_order(world["theirs"]), make_cart(world["theirs"])
    guest_order = make_order(None)
    assert sales_client.get(reverse("commerce:order", args=[order.uuid])).status_code == 404
    assert sales_client.get(reverse("commerce:order", args=[guest_order.uuid])).status_code == 404
    assert sales_client.get(reverse("commerce:cart", args=[cart.uuid])).status_code == 404
    response = sales_client.post(reverse("commerce:order_refund", args=[order.uuid]), {"amount": "1"})
    assert response.status_code == 404
    assert Order.objects.get(pk=order.pk).refunded_amount == 0


def test_refund_from_the_order_page(world, sales_client):
    order = make_order(world["mine"], total="100.00", status=OrderStatus.PAID)
    url = reverse("commerce:order_refund", args=[order.uuid])
    too_much = sales_client.post(url, {"amount": "150"})
    assert too_much.status_code == 400
    assert "At most 100.00 USD is left to refund." in body(too_much)
    assert Order.objects.get(pk=order.pk).refunded_amount == 0
    zero = sales_client.post(url, {"amount": "0"})
    assert zero.status_code == 400
    response = sales_client.post(url, {"amount": "30"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("30.00") and order.status == OrderStatus.PAID


def test_readonly_role_cannot_refund(world):
    order = make_order(world["mine"], total="100.00")
    client = client_for(world["readonly"])
    assert client.get(reverse("commerce:order", args=[order.uuid])).status_code == 200
    assert "Refund" not in body(client.get(reverse("commerce:order", args=[order.uuid])))
    assert client.post(reverse("commerce:order_refund", args=[order.uuid]), {"amount": "10"}).status_code == 403
    assert Order.objects.get(pk=order.pk).refunded_amount == 0


def test_order_export_is_formula_safe_filtered_and_audited(world, admin_client):
    evil = make_contact(first_name="=HYPERLINK(\"http://x\")", last_name="Eve")
    make_order(evil, number="E-1", note="+cmd|' /C calc'!A0", status=OrderStatus.PAID)
    make_order(world["mine"], number="M-1", status=OrderStatus.REFUNDED)
    response = admin_client.get(reverse("commerce:orders_export"), {"status": "paid"})
    assert response.status_code == 200
    rows = csv_rows(response)
    assert rows[0][:3] == ["uuid", "number", "external_id"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["number"] == "E-1"
    assert row["customer"] == "'=HYPERLINK(\"http://x\") Eve"
    assert row["note"] == "'+cmd|' /C calc'!A0"
    entry = AuditEntry.objects.get(action="export", object_type="order")
    assert entry.changes == {"filters": {"status": "paid"}, "rows": 1}


# --- carts and recoverable revenue ------------------------------------------------------------------------------------

def test_cart_page_shows_items_with_images_and_the_link(world, sales_client):
    cart = make_cart(world["mine"], value="60.00", items=2, cart_url="https://shop.example/cart/abc")
    page = body(sales_client.get(reverse("commerce:cart", args=[cart.uuid])))
    assert "Thing 1" in page and "Thing 2" in page
    assert 'src="https://shop.example/img/' in page
    assert "https://shop.example/cart/abc" in page
    assert "Abandoned" in page and "USD 60.00" in page


def test_recoverable_page_lists_abandoned_carts_by_value_with_totals_and_chart(world, sales_client):
    now = timezone.now()
    small = make_cart(world["mine"], value="20.00", abandoned_at=now - dt.timedelta(hours=1))
    big = make_cart(world["mine"], value="300.00", abandoned_at=now - dt.timedelta(hours=30))
    make_cart(world["mine"], value="40.00", status=CartStatus.RECOVERED, abandoned_at=now - dt.timedelta(days=2))
    make_cart(world["theirs"], value="900.00")
    page = body(sales_client.get(reverse("commerce:recoverable")))
    assert page.index(str(big.uuid)) < page.index(str(small.uuid))
    assert "Theo" not in page
    assert "USD 360" in page  # abandoned in 30 days: 20 + 300 + 40 (recovered since)
    assert "USD 40" in page
    assert "11%" in page  # 40 / 360
    assert "When carts are abandoned" in page and 'class="cm-heat"' in page
    assert "abandoned carts" in page and "aria-label=" in page
    by_age = body(sales_client.get(reverse("commerce:recoverable"), {"sort": "-abandoned"}))
    assert by_age.index(str(small.uuid)) < by_age.index(str(big.uuid))
    filtered = body(sales_client.get(reverse("commerce:recoverable"), {"min_value": "100"}))
    assert str(big.uuid) in filtered and str(small.uuid) not in filtered
    bad = body(sales_client.get(reverse("commerce:recoverable"), {"min_age": "-1"}))
    assert "Enter a number of 0 or more." in bad


def test_recoverable_page_query_count_is_pinned(world, admin_client, django_assert_num_queries):
    for i in range(3):
        make_cart(world["mine"], value=f"{10 + i}.00")
    url = reverse("commerce:recoverable")
    admin_client.get(url)
    clear_cache()
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    for i in range(20):
        make_cart(make_contact(), value=f"{50 + i}.00")
    clear_cache()
    with django_assert_num_queries(len(few)):
        assert admin_client.get(url).status_code == 200
    # Within the cache period the totals and the chart are not recomputed.
    with django_assert_num_queries(len(few) - 2):
        assert admin_client.get(url).status_code == 200


def test_recoverable_export_is_formula_safe_and_needs_export_right(world, admin_client, sales_client):
    evil = make_contact(first_name="@SUM(A1)", last_name="X")
    make_cart(evil, value="75.00", cart_url="https://shop.example/c/1")
    make_cart(world["mine"], value="5.00", status=CartStatus.OPEN)
    assert sales_client.get(reverse("commerce:recoverable_export")).status_code == 403
    rows = csv_rows(admin_client.get(reverse("commerce:recoverable_export")))
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["customer"] == "'@SUM(A1) X" and row["value_base"] == "75.00"
    assert AuditEntry.objects.get(action="export", object_type="cart").changes["rows"] == 1


# --- the 360 card and the in-store form -------------------------------------------------------------------------------

def _with_facts(contact: Contact, **facts) -> Contact:
    Contact.objects.filter(pk=contact.pk).update(**facts)
    contact.refresh_from_db()
    return contact


def test_360_card_shows_facts_recent_orders_and_the_open_cart(world, sales_client):
    now = timezone.now()
    c = _with_facts(world["mine"], order_count=4, lifetime_value=Decimal("400.00"),
                    average_order_value=Decimal("100.00"), first_order_at=now - dt.timedelta(days=40),
                    last_order_at=now - dt.timedelta(days=3), last_activity_at=now - dt.timedelta(days=2))
    for days in (30, 20, 10, 3):
        make_order(c, number=f"N{days}", placed_at=now - dt.timedelta(days=days))
    cart = make_cart(c, value="45.00", items=3)
    page = body(sales_client.get(reverse("contacts:detail", args=[c.uuid])))
    assert 'id="commerce-card"' in page
    assert "USD 400.00" in page and "USD 100.00" in page
    assert "3\xa0days ago" in page  # last order
    assert "2 days ago" in page  # days since the last activity
    assert "#N3" in page and "#N10" in page and "#N20" in page and "#N30" not in page
    assert "All 4 orders" in page
    assert reverse("commerce:cart", args=[cart.uuid]) in page and "3 items" in page and "Abandoned cart" in page
    assert "Record a purchase" in page


def test_360_page_query_count_does_not_grow_with_orders(world, admin_client):
    c = world["mine"]
    make_order(c)
    url = reverse("contacts:detail", args=[c.uuid])
    admin_client.get(url)
    with CaptureQueriesContext(connection) as one:
        admin_client.get(url)
    for _i in range(15):
        make_order(c)
        make_cart(c)
    with CaptureQueriesContext(connection) as many:
        admin_client.get(url)
    assert len(many) == len(one)
    commerce = [q["sql"] for q in many.captured_queries if "commerce_" in q["sql"]]
    assert len(commerce) == 3
    assert not [q for q in many.captured_queries if "exchangerate" in q["sql"]]  # only when the form is open


def test_readonly_sees_the_card_without_the_form(world):
    client = client_for(world["readonly"])
    page = body(client.get(reverse("contacts:detail", args=[world["mine"].uuid])))
    assert 'id="commerce-card"' in page and "Record a purchase" not in page
    url = reverse("commerce:record_purchase", args=[world["mine"].uuid])
    assert client.get(url).status_code == 403
    assert client.post(url, {"lines-0-product": "X"}).status_code == 403


@pytest.fixture
def catalogue(db):
    return {"boots": make_product("BOOT-42", "Hiking boots", price="150.00", category="Shoes"),
            "socks": make_product("SOCK", "Wool socks", price="12.50", category="Clothing")}


def test_the_form_opens_in_the_card(world, sales_client, catalogue):
    url = reverse("commerce:record_purchase", args=[world["mine"].uuid])
    response = sales_client.get(url, HTTP_HX_REQUEST="true")
    page = body(response)
    assert page.lstrip().startswith("<section") and 'id="commerce-card"' in page
    assert 'name="lines-0-product"' in page and "Record visit only" in page
    assert '<option value="BOOT-42" data-price="150.00">Hiking boots</option>' in page
    full = sales_client.get(url)
    assert full.status_code == 200 and "<html" in body(full)
    cancelled = body(sales_client.get(url, {"cancel": "1"}, HTTP_HX_REQUEST="true"))
    assert 'name="lines-0-product"' not in cancelled


def test_recording_a_purchase_refreshes_the_card_stats_and_timeline(world, sales_client, catalogue):
    c = world["mine"]
    url = reverse("commerce:record_purchase", args=[c.uuid])
    response = sales_client.post(url, {
        "channel": "in_store", "currency": "USD", "note": "At the counter",
        "lines-0-product": "BOOT-42", "lines-0-quantity": "1",
        "lines-1-product": "sock", "lines-1-quantity": "2", "lines-1-unit_price": "10",
    }, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    order = Order.objects.get(contact=c)
    assert order.total == Decimal("170.00") and order.channel == "in_store" and order.note == "At the counter"
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines.all()] == [
        ("BOOT-42", Decimal("1.00"), Decimal("150.00")), ("SOCK", Decimal("2.00"), Decimal("10.00"))]
    page = body(response)
    assert "recorded: USD 170.00" in page
    assert 'id="stats" hx-swap-oob="true"' in page and 'id="timeline" hx-swap-oob="true"' in page
    assert "USD 170.00" in page  # the card's total spent, from the refreshed facts


@pytest.mark.parametrize(("lines", "messages"), [
    ({"lines-0-product": "BOOT-42", "lines-0-quantity": "1", "lines-1-product": "SOCK", "lines-1-quantity": "0"},
     ["Line 2: quantity must be more than 0."]),
    ({"lines-0-product": "BOOT-42", "lines-0-quantity": "two"}, ["Line 1: quantity must be a number."]),
    ({"lines-0-product": "BOOT-42", "lines-0-unit_price": "-3"}, ["Line 1: price cannot be negative."]),
    ({"lines-0-quantity": "1"}, ["Line 1: choose a product (name or SKU)."]),
    ({"lines-0-product": "BOOT-42", "lines-1-product": "NOPE"}, ["Line 2: There is no product “NOPE”."]),
], ids=["zero-quantity", "bad-quantity", "negative-price", "no-product", "unknown-product"])
def test_bad_lines_are_named_and_nothing_is_saved(world, sales_client, catalogue, lines, messages):
    url = reverse("commerce:record_purchase", args=[world["mine"].uuid])
    response = sales_client.post(url, {"channel": "in_store", "currency": "USD", **lines}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx swaps only successful answers: the card with the errors
    page = body(response)
    for message in messages:
        assert message.replace("“", "&ldquo;").replace("”", "&rdquo;") in page or message in page
    assert 'aria-invalid="true"' in page
    assert not Order.objects.exists()
    plain = sales_client.post(url, {"channel": "in_store", "currency": "USD", **lines})
    assert plain.status_code == 400
    assert not Order.objects.exists()


def test_add_a_line_keeps_what_was_typed(world, sales_client, catalogue):
    url = reverse("commerce:record_purchase", args=[world["mine"].uuid])
    page = body(sales_client.post(url, {"lines-0-product": "BOOT-42", "lines-0-quantity": "3", "add_line": "1"},
                                  HTTP_HX_REQUEST="true"))
    assert 'value="BOOT-42"' in page and 'name="lines-1-product"' in page and 'value="3"' in page
    assert "alert-error" not in page
    assert not Order.objects.exists()


def test_record_a_visit_only(world, sales_client):
    url = reverse("commerce:record_purchase", args=[world["mine"].uuid])
    response = sales_client.post(url, {"visit": "1", "note": "Looked at boots"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Visit recorded." in body(response)
    visit = Interaction.objects.get(contact=world["mine"])
    assert (visit.kind, visit.body) == ("in_store", "Looked at boots")
    assert not Order.objects.exists()
    plain = sales_client.post(url, {"visit": "1"})
    assert plain.status_code == 302 and plain["Location"] == reverse("contacts:detail", args=[world["mine"].uuid])


def test_another_teams_customer_is_404_for_the_form(world, sales_client, catalogue):
    url = reverse("commerce:record_purchase", args=[world["theirs"].uuid])
    assert sales_client.get(url).status_code == 404
    assert sales_client.post(url, {"lines-0-product": "BOOT-42"}).status_code == 404
    assert not Order.objects.exists()


def test_product_search(sales_client, catalogue):
    response = sales_client.get(reverse("commerce:product_search"), {"q": "wool", "currency": "USD"})
    assert response.json() == {"items": [{"id": str(catalogue["socks"].uuid), "sku": "SOCK", "name": "Wool socks",
                                          "category": "Clothing", "unit_price": "12.50"}]}


# --- settings ---------------------------------------------------------------------------------------------------------

def test_settings_for_admins_only(admin_client, sales_client):
    url = reverse("commerce:settings")
    assert sales_client.get(url).status_code == 403
    assert sales_client.post(url, {"abandon_after_minutes": "30"}).status_code == 403
    assert admin_client.get(url).status_code == 200
    bad = admin_client.post(url, {"abandon_after_minutes": "2"})
    assert bad.status_code == 400 and "Choose between 5 minutes and 7 days" in body(bad)
    assert admin_client.post(url, {"abandon_after_minutes": "45"}).status_code == 302
    assert CommerceSettings.objects.get(pk=1).abandon_after_minutes == 45


def test_store_links_are_only_followed_when_http(world, sales_client):
    cart = make_cart(world["mine"], cart_url="javascript:alert(1)")
    cart.items.update(image_url="data:image/svg+xml,<svg onload=alert(1)>", product_url="javascript:alert(2)",
                      name="<script>alert(3)</script>")
    page = body(sales_client.get(reverse("commerce:cart", args=[cart.uuid])))
    assert "javascript:" not in page and "data:image" not in page
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page and "<script>alert(3)" not in page
    assert "javascript:" not in body(sales_client.get(reverse("commerce:recoverable")))
