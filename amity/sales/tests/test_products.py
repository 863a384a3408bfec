"""The product catalogue: SKU uniqueness, prices per currency, deactivation, the list page and the picker."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from amity.core.models import AuditEntry
from amity.sales import product_services
from amity.sales.models import Product
from amity.testing import make_user

pytestmark = pytest.mark.django_db


def product(sku="SEAT-1", name="Seat licence", prices=None, **data):
    return product_services.create_product(actor=None, data={"sku": sku, "name": name,
                                                             "prices": prices or {"USD": "10"}, **data})


def test_create_product_trims_the_sku_and_stores_prices_and_audits(admin_user):
    p = product_services.create_product(actor=admin_user, data={
        "sku": "  SEAT-1 ", "name": "Seat licence", "prices": [{"currency": "usd", "unit_price": "12.5"},
                                                               {"currency": "CNY", "unit_price": "90"}]})
    assert p.sku == "SEAT-1"
    assert {x.currency: x.unit_price for x in p.prices.all()} == {"USD": Decimal("12.50"), "CNY": Decimal("90.00")}
    entry = AuditEntry.objects.get(object_type="product", object_id=p.pk, action="create")
    assert entry.changes["prices"] == {"USD": "12.50", "CNY": "90.00"}


@pytest.mark.parametrize("taken", ["seat-1", " SEAT-1", "Seat-1 "])
def test_sku_is_unique_whatever_its_case_or_spaces(taken):
    product("SEAT-1")
    with pytest.raises(ValidationError) as exc:
        product(taken, name="Another")
    assert "already has the SKU" in exc.value.message_dict["sku"][0]
    assert Product.objects.count() == 1


def test_a_product_keeps_its_own_sku_when_edited():
    p = product("SEAT-1")
    product_services.update_product(actor=None, product=p, data={"sku": "seat-1", "name": "Seat"})
    p.refresh_from_db()
    assert (p.sku, p.name) == ("seat-1", "Seat")


@pytest.mark.parametrize(("prices", "field", "reason"), [
    ({"USD": "-1"}, "prices.0.unit_price", "negative"),
    ([{"currency": "USD", "unit_price": "abc"}], "prices.0.unit_price", "not an amount"),
    ([{"currency": "USD", "unit_price": "1"}, {"currency": "XYZ", "unit_price": "1"}], "prices.1.currency",
     "not a currency"),
    ([{"currency": "USD", "unit_price": "1"}, {"currency": "usd", "unit_price": "2"}], "prices.1.currency", "twice"),
    ([{"currency": "EUR", "unit_price": ""}], "prices.0.unit_price", "Enter a price"),
])
def test_set_prices_refuses_bad_input_with_field_and_reason_and_changes_nothing(prices, field, reason):
    p = product(prices={"USD": "10"})
    with pytest.raises(ValidationError) as exc:
        product_services.set_prices(actor=None, product=p, prices=prices)
    assert reason in exc.value.message_dict[field][0]
    assert {x.currency: x.unit_price for x in p.prices.all()} == {"USD": Decimal("10.00")}


def test_set_prices_replaces_the_list_and_skips_blank_rows(admin_user):
    p = product(prices={"USD": "10", "EUR": "9"})
    product_services.set_prices(actor=admin_user, product=p, prices=[
        {"currency": "USD", "unit_price": "11"}, {"currency": "", "unit_price": ""}, {"currency": "GBP", "unit_price": "0"}])
    assert {x.currency: x.unit_price for x in p.prices.all()} == {"USD": Decimal("11.00"), "GBP": Decimal("0.00")}
    change = AuditEntry.objects.filter(object_type="product", action="update").latest("id")
    assert change.changes["prices"][1] == {"USD": "11.00", "GBP": "0.00"}


def test_deactivate_needs_the_edit_right_and_is_audited(admin_user):
    p = product()
    with pytest.raises(PermissionDenied):
        product_services.deactivate(actor=make_user("readonly"), product=p)
    product_services.deactivate(actor=admin_user, product=p)
    p.refresh_from_db()
    assert p.active is False
    assert AuditEntry.objects.filter(object_type="product", action="update", changes__active=[True, False]).exists()


# --- pages --------------------------------------------------------------------------------------------------------

def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_everyone_sees_the_list_searches_by_name_or_sku_and_filters_active(sales_client):
    product("SEAT-1", "Seat licence")
    product("SUP-9", "Support plan")
    old = product("OLD-1", "Legacy <b>thing</b>")
    product_services.deactivate(actor=None, product=old)
    url = reverse("quotes:products")
    page = sales_client.get(url).content.decode()
    assert "Seat licence" in page and "Support plan" in page and "Legacy" not in page
    page = sales_client.get(url, {"q": "sup-"}).content.decode()
    assert "Support plan" in page and "Seat licence" not in page
    page = sales_client.get(url, {"active": "inactive"}).content.decode()
    assert "Legacy &lt;b&gt;thing&lt;/b&gt;" in page and "Seat licence" not in page
    assert sales_client.get(url, {"active": "maybe"}).status_code == 400


def test_the_list_pages_with_a_cursor_and_its_queries_do_not_grow(admin_client, django_assert_max_num_queries):
    for n in range(30):
        product(f"SKU-{n:02d}", f"Product {n:02d}", prices={"USD": "1", "EUR": "2"})
    url = reverse("quotes:products")
    with django_assert_max_num_queries(8):
        first = admin_client.get(url)
    assert "Product 00" in first.content.decode() and "Product 25" not in first.content.decode()
    cursor = first.context["page"].next_cursor
    second = admin_client.get(url, {"cursor": cursor}).content.decode()
    assert "Product 25" in second and "Product 00" not in second


def test_create_and_edit_through_the_form(admin_client):
    response = admin_client.post(reverse("quotes:product_create"), {
        "sku": "SEAT-1", "name": "Seat licence", "category": "Licences", "description": "Per user", "active": "on",
        "price_currency": ["USD", "CNY", ""], "price_amount": ["10", "70", ""]})
    assert response.status_code == 302
    p = Product.objects.get(sku="SEAT-1")
    assert {x.currency for x in p.prices.all()} == {"USD", "CNY"}
    response = admin_client.post(reverse("quotes:product_edit", args=[p.uuid]), {
        "sku": "SEAT-1", "name": "Seat", "price_currency": ["USD", "CNY"], "price_amount": ["12", ""]})
    assert response.status_code == 400
    assert "Enter a price" in response.content.decode()
    response = admin_client.post(reverse("quotes:product_edit", args=[p.uuid]), {
        "sku": "SEAT-1", "name": "Seat", "price_currency": ["USD"], "price_amount": ["12"]})
    assert response.status_code == 302
    p.refresh_from_db()
    assert p.name == "Seat" and p.active is False and [x.currency for x in p.prices.all()] == ["USD"]


def test_the_form_shows_a_taken_sku_and_a_negative_price_by_field(admin_client):
    product("SEAT-1")
    response = admin_client.post(reverse("quotes:product_create"), {
        "sku": "seat-1", "name": "Dup", "price_currency": ["USD"], "price_amount": ["-3"]})
    assert response.status_code == 400
    page = response.content.decode()
    assert "already has the SKU" in page and "An amount cannot be negative." in page
    assert Product.objects.count() == 1


def test_readonly_cannot_create_edit_or_deactivate():
    client = client_for(make_user("readonly"))
    p = product()
    assert client.get(reverse("quotes:product_create")).status_code == 403
    assert client.post(reverse("quotes:product_create"), {"sku": "X", "name": "X"}).status_code == 403
    assert client.post(reverse("quotes:product_edit", args=[p.uuid]), {"sku": "X", "name": "X"}).status_code == 403
    assert client.post(reverse("quotes:product_active", args=[p.uuid]), {"active": "0"}).status_code == 403
    p.refresh_from_db()
    assert p.active and p.sku == "SEAT-1"
    assert client.get(reverse("quotes:products")).status_code == 200


def test_toggle_deactivates_and_activates(admin_client):
    p = product()
    admin_client.post(reverse("quotes:product_active", args=[p.uuid]), {"active": "0"})
    p.refresh_from_db()
    assert p.active is False
    admin_client.post(reverse("quotes:product_active", args=[p.uuid]), {"active": "1"})
    p.refresh_from_db()
    assert p.active is True


def test_an_unknown_product_is_404(admin_client):
    assert admin_client.get(reverse("quotes:product_edit", args=["00000000-0000-0000-0000-000000000000"])
                            ).status_code == 404


def test_suggest_returns_active_products_with_the_price_in_the_currency(sales_client):
    seat = product("SEAT-1", "Seat licence", prices={"USD": "10", "CNY": "70"})
    product("SUP-1", "Support", prices={"USD": "5"})
    old = product("SEAT-OLD", "Seat licence (old)")
    product_services.deactivate(actor=None, product=old)
    response = sales_client.get(reverse("quotes:product_suggest"), {"q": "seat", "currency": "cny"})
    assert response.status_code == 200
    assert response.json()["results"] == [
        {"uuid": str(seat.uuid), "name": "Seat licence", "sku": "SEAT-1", "currency": "CNY", "unit_price": "70.00"}]
    support = sales_client.get(reverse("quotes:product_suggest"), {"q": "sup", "currency": "EUR"}).json()["results"]
    assert support[0]["unit_price"] is None
    bad = sales_client.get(reverse("quotes:product_suggest"), {"q": "seat", "currency": "XXX1"})
    assert bad.status_code == 400 and "currency" in bad.json()["errors"]


def test_pages_need_a_login():
    response = Client().get(reverse("quotes:products"))
    assert response.status_code == 302
