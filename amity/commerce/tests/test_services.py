"""Orders, refunds, carts and the in-store purchase: behaviour, idempotency, bad input, facts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from amity import testing
from amity.commerce import services
from amity.commerce.models import Cart, CartStatus, CustomerProductStat, Order, OrderLine, OrderStatus
from amity.contacts.models import Contact
from amity.core.models import AuditEntry, Event, ExchangeRate
from amity.sales.models import Product, ProductPrice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def order_data(**over):
    data = {
        "external_id": "o-1", "number": "1001", "email": "ada@example.com", "name": "Ada Lovelace",
        "currency": "USD", "placed_at": "2026-05-06T10:00:00Z", "subtotal": "90.00", "discount_total": "10.00",
        "tax_total": "8.00", "shipping_total": "5.00", "total": "93.00",
        "lines": [
            {"sku": "BOOT-1", "name": "Hiking boots", "category": "Shoes", "quantity": 1, "unit_price": "70.00",
             "image_url": "https://shop.example.com/boot.png"},
            {"sku": "SOCK-1", "name": "Socks", "category": "Accessories", "quantity": 2, "unit_price": "10.00"},
        ],
    }
    data.update(over)
    return data


def facts_of(contact):
    contact.refresh_from_db()
    return (contact.order_count, contact.lifetime_value, contact.average_order_value, contact.first_order_at,
            contact.last_order_at)


def test_order_creates_contact_lines_facts_and_timeline_event():
    order, status = services.record_order(order_data(), source="api")
    assert status == "created"
    contact = order.contact
    assert contact.email == "ada@example.com" and contact.display_name == "Ada Lovelace" and contact.source == "api"
    assert [(ln.sku, ln.quantity, ln.total) for ln in order.lines.all()] == [
        ("BOOT-1", Decimal("1.00"), Decimal("70.00")), ("SOCK-1", Decimal("2.00"), Decimal("20.00"))]
    assert order.total_base == Decimal("93.00") and order.exchange_rate == 1
    placed = dt.datetime(2026, 5, 6, 10, 0, tzinfo=dt.UTC)
    assert facts_of(contact) == (1, Decimal("93.00"), Decimal("93.00"), placed, placed)
    assert contact.last_activity_at == placed
    event = Event.objects.get(type="order.placed")
    assert event.contact_id == contact.pk and event.occurred_at == placed
    assert event.payload["number"] == "1001" and event.payload["total"] == "93.00"
    assert event.payload["items"][0] == {"name": "Hiking boots", "quantity": "1",
                                         "image_url": "https://shop.example.com/boot.png"}
    assert Product.objects.get(sku="BOOT-1").is_placeholder is True
    assert AuditEntry.objects.filter(object_type="order", action="create").count() == 1


def test_replay_changes_nothing():
    order, _ = services.record_order(order_data(), source="api")
    counts = (Order.objects.count(), OrderLine.objects.count(), Event.objects.count(), AuditEntry.objects.count())
    before = facts_of(order.contact)
    again, status = services.record_order(order_data(), source="api")
    assert status == "unchanged" and again.pk == order.pk
    assert (Order.objects.count(), OrderLine.objects.count(), Event.objects.count(),
            AuditEntry.objects.count()) == counts
    assert facts_of(order.contact) == before


def test_same_external_id_from_another_source_is_another_order():
    services.record_order(order_data(), source="api")
    _order, status = services.record_order(order_data(), source="store:pk_x")
    assert status == "created" and Order.objects.count() == 2


def test_later_status_updates_and_never_goes_back():
    order, _ = services.record_order(order_data(), source="api")
    _o, status = services.record_order(order_data(status="paid", paid_at="2026-05-06T10:05:00Z"), source="api")
    assert status == "updated"
    order.refresh_from_db()
    assert order.status == "paid" and order.paid_at is not None
    _o, status = services.record_order(order_data(), source="api")  # the "placed" webhook arriving late
    order.refresh_from_db()
    assert status == "unchanged" and order.status == "paid"
    assert Event.objects.filter(type="order.updated").count() == 1
    assert facts_of(order.contact)[0:2] == (1, Decimal("93.00"))


def test_refund_via_status_adjusts_facts_by_the_difference():
    order, _ = services.record_order(order_data(), source="api")
    services.record_order(order_data(refunded_amount="13.00"), source="api")
    assert facts_of(order.contact)[:3] == (1, Decimal("80.00"), Decimal("80.00"))
    event = Event.objects.get(type="order.refunded")
    assert event.payload["amount"] == "13.00" and event.payload["full"] is False
    services.record_order(order_data(status="refunded"), source="api")
    order.refresh_from_db()
    assert order.status == "refunded" and order.refunded_amount == Decimal("93.00")
    assert facts_of(order.contact)[:3] == (1, Decimal("0.00"), Decimal("0.00"))
    assert Event.objects.filter(type="order.refunded").count() == 2


def test_refund_order_partial_then_full_and_too_much():
    admin = testing.make_user("admin")
    order, _ = services.record_order(order_data(), source="api")
    services.refund_order(order=order, amount=Decimal("20"), actor=admin)
    assert facts_of(order.contact)[1] == Decimal("73.00")
    with pytest.raises(ValidationError) as exc:
        services.refund_order(order=order, amount="80", actor=admin)
    assert exc.value.message_dict == {"amount": ["At most 73.00 USD is left to refund."]}
    services.refund_order(order=order, amount=None, actor=admin)
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and order.refunded_amount == Decimal("93.00")
    assert facts_of(order.contact)[1] == Decimal("0.00")
    with pytest.raises(ValidationError) as exc:
        services.refund_order(order=order, amount="1", actor=admin)
    assert exc.value.message_dict == {"amount": ["This order is already refunded in full."]}


def test_refund_needs_edit_right(team):
    order, _ = services.record_order(order_data(), source="api")
    with pytest.raises(PermissionDenied):
        services.refund_order(order=order, amount=None, actor=testing.make_user("readonly", team=team))
    order.refresh_from_db()
    assert order.refunded_amount == 0


@pytest.mark.parametrize(("over", "field", "message"), [
    ({"total": "-5"}, "total", "An amount cannot be negative (got -5)."),
    ({"total": "94.00"}, "total", "The total 94.00 does not add up: subtotal 90.00 − discount 10.00 + tax 8.00 + "
                                  "shipping 5.00 = 93.00."),
    ({"subtotal": "95.00", "total": "98.00"}, "subtotal",
     "The subtotal 95.00 does not match the lines, which add up to 90.00."),
    ({"currency": "XXX"}, "currency", "“XXX” is not a currency code (ISO 4217, e.g. USD, EUR, CNY)."),
    ({"placed_at": "2026-05-06T13:00:00Z"}, "placed_at",
     "2026-05-06T13:00:00+00:00 is in the future; send the time it happened (clocks may differ by 5 minutes at most)."),
    ({"placed_at": "yesterday"}, "placed_at",
     "“yesterday” is not a date and time (ISO 8601, e.g. 2026-05-01T14:30:00Z)."),
    ({"external_id": ""}, "external_id", "This field is required."),
    ({"email": "", "name": ""}, "email", "Say who this is: send email, contact (a contact id) or visitor_id."),
    ({"status": "lost"}, "status", "“lost” is not one of: placed, paid, fulfilled, refunded, cancelled."),
    ({"lines": [{"sku": "A", "quantity": 0, "unit_price": "1"}], "subtotal": "0", "total": "3"},
     "lines.0.quantity", "Must be more than 0."),
    ({"lines": [{"sku": "A", "quantity": 1, "unit_price": "90", "currency": "EUR"}]}, "lines.0.currency",
     "This line is in EUR but the order is in USD; send every line in the same currency."),
    ({"lines": [{"name": "", "quantity": 1, "unit_price": "90"}]}, "lines.0.sku", "Give the line a SKU or a name."),
    ({"refunded_amount": "100"}, "refunded_amount", "The refunded amount 100.00 is more than the order total 93.00."),
])
def test_bad_orders_name_the_field_and_write_nothing(over, field, message):
    with pytest.raises(ValidationError) as exc:
        services.record_order(order_data(**over), source="api")
    assert exc.value.message_dict[field] == [message]
    assert Order.objects.count() == 0 and Contact.objects.count() == 0 and Product.objects.count() == 0


def test_currency_without_rate_is_refused_and_with_rate_converted():
    with pytest.raises(ValidationError) as exc:
        services.record_order(order_data(currency="EUR"), source="api")
    assert exc.value.message_dict["currency"] == [
        "There is no exchange rate from EUR to USD for 2026-05-06 yet; add one under Settings → Currencies."]
    assert Order.objects.count() == 0 and Contact.objects.count() == 0
    ExchangeRate.objects.create(currency="EUR", rate=Decimal("1.10"), valid_from=dt.date(2026, 1, 1))
    order, _ = services.record_order(order_data(currency="EUR"), source="api")
    assert order.total_base == Decimal("102.30")
    assert facts_of(order.contact)[1] == Decimal("102.30")
    stat = CustomerProductStat.objects.get(contact=order.contact, product__sku="BOOT-1")
    assert stat.spent_base == Decimal("77.00")


def test_existing_contact_by_email_and_known_product():
    contact = testing.make_contact(emails=["ada@example.com"])
    product = Product.objects.create(sku="boot-1", name="Boots")
    order, _ = services.record_order(order_data(), source="api")
    assert order.contact_id == contact.pk
    assert order.lines.first().product_id == product.pk
    assert order.placeholder_skus == ["SOCK-1"]  # type: ignore[attr-defined]
    assert Product.objects.filter(is_placeholder=True).count() == 1


def test_cancelled_order_leaves_facts():
    order, _ = services.record_order(order_data(), source="api")
    services.record_order(order_data(status="cancelled"), source="api")
    assert facts_of(order.contact) == (0, Decimal("0.00"), Decimal("0.00"), None, None)
    assert CustomerProductStat.objects.filter(contact=order.contact).count() == 0


def test_in_store_purchase_uses_product_prices():
    admin = testing.make_user("admin")
    contact = testing.make_contact()
    boots = Product.objects.create(sku="BOOT-1", name="Hiking boots", category="Shoes")
    ProductPrice.objects.create(product=boots, currency="USD", unit_price=Decimal("70.00"))
    order = services.record_in_store_purchase(contact=contact, actor=admin, data={
        "lines": [{"product": str(boots.uuid), "quantity": "2"}, {"product": "boot-1", "unit_price": "65"}],
        "channel": "in_store", "note": "paid cash"})
    assert order.source == "in_store" and order.status == "paid" and order.total == Decimal("205.00")
    assert order.recorded_by == admin and order.note == "paid cash"
    assert facts_of(contact)[:2] == (1, Decimal("205.00"))


def test_in_store_purchase_bad_lines():
    admin = testing.make_user("admin")
    contact = testing.make_contact()
    Product.objects.create(sku="BOOT-1", name="Hiking boots")
    with pytest.raises(ValidationError) as exc:
        services.record_in_store_purchase(contact=contact, actor=admin, data={
            "lines": [{"product": "BOOT-1", "quantity": "1"}, {"product": "NOPE", "quantity": "0",
                                                               "unit_price": "1"}], "channel": "web"})
    assert exc.value.message_dict == {
        "channel": ["Choose in store or phone."],
        "lines.0.unit_price": ["Hiking boots has no price in USD; enter the price."],
        "lines.1.product": ["There is no product “NOPE”."],
        "lines.1.quantity": ["Must be more than 0."],
    }
    assert Order.objects.count() == 0


def test_in_store_purchase_needs_edit_right(team):
    contact = testing.make_contact()
    with pytest.raises(PermissionDenied):
        services.record_in_store_purchase(contact=contact, actor=testing.make_user("readonly", team=team),
                                          data={"lines": []})


def test_anonymous_order_keeps_visitor_and_gets_attached_on_identify():
    order, _ = services.record_order(order_data(email="", name="", visitor_id="v-1"), source="api")
    assert order.contact is None and order.visitor_id == "v-1"
    contact = services.identify(visitor_id="v-1", email="grace@example.com", name="Grace Hopper", source="snippet")
    order.refresh_from_db()
    assert order.contact_id == contact.pk
    assert Event.objects.get(type="order.placed").contact_id == contact.pk
    assert facts_of(contact)[:2] == (1, Decimal("93.00"))


def test_settings_validation_and_admin_only(team):
    admin = testing.make_user("admin")
    assert services.commerce_settings().abandon_after_minutes == 60
    with pytest.raises(ValidationError) as exc:
        services.update_commerce_settings(user=admin, data={"abandon_after_minutes": "2"})
    assert exc.value.message_dict == {"abandon_after_minutes": ["Choose between 5 minutes and 7 days (10,080 minutes)."]}
    with pytest.raises(PermissionDenied):
        services.update_commerce_settings(user=testing.make_user("sales", team=team), data={"abandon_after_minutes": 30})
    services.update_commerce_settings(user=admin, data={"abandon_after_minutes": "30"})
    assert services.commerce_settings().abandon_after_minutes == 30


def test_order_converts_open_cart():
    cart, _ = services.upsert_cart({"external_id": "c-1", "email": "ada@example.com", "currency": "USD",
                                    "items": [{"sku": "BOOT-1", "name": "Boots", "quantity": 1, "unit_price": "70"}],
                                    "updated_at": "2026-05-06T09:50:00Z"}, source="api")
    order, _ = services.record_order(order_data(), source="api")
    cart.refresh_from_db()
    assert cart.status == CartStatus.CONVERTED and cart.converted_order_id == order.pk
    assert Cart.objects.count() == 1
