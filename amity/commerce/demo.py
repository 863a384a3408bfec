"""Commerce for the demo workspace: orders of the demo catalogue's products, carts (some abandoned, some
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

SOURCE = "demo-shop"
CUSTOMER_STAGES = ("customer", "advocate", "churned")
SITE = "https://shop.example.com"


def _catalogue() -> tuple[list[Product], dict[str, str]]:
    """The demo's catalogue (``sales.demo``): products with a USD price, and those prices."""
    prices = {sku: str(price) for sku, price in ProductPrice.objects.filter(currency="USD", product__active=True)
              .values_list("product__sku", "unit_price")}
    products = list(Product.objects.filter(sku__in=list(prices)).order_by("id"))
    return products, prices


def _line(product: Product, price: str, quantity: int) -> dict[str, Any]:
    return {"sku": product.sku, "name": product.name, "category": product.category, "quantity": quantity,
            "unit_price": price, "product_url": product.product_url or f"{SITE}/p/{product.sku.lower()}"}


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
    products, prices = _catalogue()
    if not products:
        return {}
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
                              "url": f"{SITE}/p/{product.sku.lower()}", "product": {"sku": product.sku}})
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
