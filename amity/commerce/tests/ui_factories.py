"""Orders and carts written straight to the tables, for the read-side tests of the commerce pages, selectors and
API (the write side, ``commerce.services``, has its own tests)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from amity.commerce.models import Cart, CartItem, CartStatus, Order, OrderLine
from amity.sales.models import Product, ProductPrice

_seq = itertools.count(1)


def make_order(contact: Any = None, *, total: str = "100.00", placed_at: dt.datetime | None = None,
               lines: int = 1, **fields: Any) -> Order:
    n = next(_seq)
    fields.setdefault("number", f"{1000 + n}")
    fields.setdefault("currency", "USD")
    amount = Decimal(total)
    order = Order.objects.create(
        contact=contact, total=amount, subtotal=amount, total_base=fields.pop("total_base", amount),
        placed_at=placed_at or timezone.now(), external_id=f"ui-order-{n}", **fields)
    for i in range(lines):
        OrderLine.objects.create(order=order, name=f"Item {i + 1}", sku=f"SKU-{n}-{i}", quantity=1,
                                 unit_price=amount / lines, total=amount / lines)
    return order


def make_cart(contact: Any = None, *, value: str = "50.00", status: str = CartStatus.ABANDONED,
              abandoned_at: dt.datetime | None = None, items: int = 1, **fields: Any) -> Cart:
    n = next(_seq)
    now = timezone.now()
    amount = Decimal(value)
    if status in (CartStatus.ABANDONED, CartStatus.RECOVERED) and abandoned_at is None:
        abandoned_at = now - dt.timedelta(hours=2)
    cart = Cart.objects.create(
        contact=contact, status=status, currency=fields.pop("currency", "USD"), value=amount,
        value_base=fields.pop("value_base", amount), item_count=items,
        last_activity_at=fields.pop("last_activity_at", abandoned_at or now), abandoned_at=abandoned_at,
        external_id=f"ui-cart-{n}", **fields)
    for i in range(items):
        CartItem.objects.create(cart=cart, name=f"Thing {i + 1}", sku=f"C-{n}-{i}", quantity=1,
                                unit_price=amount / items, image_url=f"https://shop.example/img/{n}-{i}.jpg")
    return cart


def make_product(sku: str, name: str, price: str | None = "10.00", currency: str = "USD", **fields: Any) -> Product:
    product = Product.objects.create(sku=sku, name=name, **fields)
    if price is not None:
        ProductPrice.objects.create(product=product, currency=currency, unit_price=Decimal(price))
    return product


def clear_cache() -> None:
    cache.clear()


@pytest.fixture(autouse=True)
def fresh_cache():
    """The recoverable totals and chart are cached for minutes; each test starts and ends with an empty cache.
    Import it into a test module to use it there."""
    clear_cache()
    yield
    clear_cache()
