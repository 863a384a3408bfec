"""Commerce for the demo workspace: a small outdoor-shop catalogue, orders, carts (some abandoned, some
recovered) and product views for a few hundred customers — all written through ``commerce.services``, so the
demo shows exactly what real ingest produces (facts, timeline entries, summaries)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from amity.contacts.models import ContactEmail
from amity.sales.models import Product, ProductPrice

from . import services

SHOP: list[tuple[str, str, str, str]] = [
    ("HIKE-BOOT", "Hiking boots", "Shoes", "129.00"),
    ("TRAIL-RUN", "Trail running shoes", "Shoes", "99.00"),
    ("WOOL-SOCK", "Merino socks", "Accessories", "14.00"),
    ("RAIN-JKT", "Rain jacket", "Clothing", "149.00"),
    ("FLEECE", "Fleece pullover", "Clothing", "69.00"),
    ("DAYPACK", "Daypack 24 l", "Bags", "79.00"),
    ("BOTTLE", "Steel bottle", "Accessories", "24.00"),
    ("HEADLAMP", "Headlamp", "Gear", "39.00"),
]
SOURCE = "demo-shop"
CUSTOMER_STAGES = ("customer", "advocate", "churned")
SITE = "https://shop.example.com"


def _catalogue() -> list[Product]:
    have = {p.sku: p for p in Product.objects.filter(sku__in=[s[0] for s in SHOP])}
    for sku, name, category, price in SHOP:
        if sku in have:
            continue
        slug = sku.lower()
        product = Product.objects.create(sku=sku, name=name, category=category,
                                         product_url=f"{SITE}/p/{slug}", description=name)
        ProductPrice.objects.create(product=product, currency="USD", unit_price=Decimal(price))
        have[sku] = product
    return [have[s[0]] for s in SHOP]


def _line(product: Product, price: str, quantity: int) -> dict[str, Any]:
    return {"sku": product.sku, "name": product.name, "category": product.category, "quantity": quantity,
            "unit_price": price, "product_url": product.product_url}


def build_commerce_demo(*, contacts: int, seed: int = 42, progress: Callable[[str], None] = print) -> dict[str, int]:
    """Orders, carts and events for up to 300 of the workspace's contacts (at most a few seconds of work)."""
    from amity.core.models import Event, EventStatus

    from .models import Order

    rng = random.Random(seed)
    # Customers only: the demo's other contacts keep a value of 0 (leads have not bought anything yet).
    emails = list(ContactEmail.objects.filter(is_primary=True, contact__lifecycle_stage__in=CUSTOMER_STAGES)
                  .order_by("id").values_list("email", flat=True)[:max(0, min(contacts, 300))])
    if not emails or Order.objects.filter(source=SOURCE).exists():
        return {}
    first_event = (Event.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    products = _catalogue()
    prices = {sku: price for sku, _n, _c, price in SHOP}
    now = timezone.now().replace(microsecond=0)
    counts = {"commerce.orders": 0, "commerce.carts": 0, "commerce.events": 0}
    with transaction.atomic():
        for n, email in enumerate(emails):
            for k in range(rng.choice([0, 1, 1, 2, 3, 5])):
                picked = rng.sample(products, rng.randint(1, 3))
                lines = [_line(p, prices[p.sku], rng.choice([1, 1, 2])) for p in picked]
                total = sum((Decimal(ln["unit_price"]) * ln["quantity"] for ln in lines), Decimal(0))
                placed = now - dt.timedelta(days=rng.randint(1, 360), minutes=rng.randint(0, 1440))
                status = rng.choice(["fulfilled", "fulfilled", "paid", "refunded"] if k else ["fulfilled"])
                services.record_order({
                    "external_id": f"demo-{n}-{k}", "number": f"{10000 + n * 10 + k}", "email": email,
                    "currency": "USD", "status": status, "channel": rng.choice(["online", "online", "in_store"]),
                    "placed_at": placed.isoformat(), "total": str(total), "lines": lines,
                }, source=SOURCE)
                counts["commerce.orders"] += 1
            views = []
            for v in range(rng.choice([0, 0, 2, 4, 7])):
                product = rng.choice(products[:4])
                views.append({"external_id": f"demo-view-{n}-{v}", "kind": "product_view", "email": email,
                              "occurred_at": (now - dt.timedelta(hours=rng.randint(1, 120))).isoformat(),
                              "url": product.product_url, "product": {"sku": product.sku}})
            if views:
                services.record_events(views, source=SOURCE)
                counts["commerce.events"] += len(views)
        # Carts: most left behind (abandoned after the one-hour delay), some later recovered by an order.
        for n, email in enumerate(emails[:60]):
            touched = now - dt.timedelta(hours=rng.randint(2, 24 * 20), minutes=rng.randint(0, 59))
            picked = rng.sample(products, rng.randint(1, 3))
            items = [_line(p, prices[p.sku], 1) for p in picked]
            services.upsert_cart({"external_id": f"demo-cart-{n}", "email": email, "currency": "USD",
                                  "items": items, "cart_url": f"{SITE}/cart/demo-{n}",
                                  "updated_at": touched.isoformat()}, source=SOURCE)
            counts["commerce.carts"] += 1
            services.mark_abandoned_carts(now=touched + dt.timedelta(minutes=61))
            if n % 4 == 0 and touched + dt.timedelta(days=1) < now:
                total = sum((Decimal(i["unit_price"]) for i in items), Decimal(0))
                services.record_order({
                    "external_id": f"demo-recovery-{n}", "number": f"{20000 + n}", "email": email,
                    "currency": "USD", "status": "paid", "total": str(total), "lines": items,
                    "placed_at": (touched + dt.timedelta(days=1)).isoformat(),
                }, source=SOURCE)
                counts["commerce.orders"] += 1
        # History, not work for the worker (as the rest of the demo).
        Event.objects.filter(id__gte=first_event, status=EventStatus.PENDING).update(
            status=EventStatus.DONE, processed_at=now)
    progress(f"commerce: {counts['commerce.orders']} orders, {counts['commerce.carts']} carts, "
             f"{counts['commerce.events']} product views")
    return counts
