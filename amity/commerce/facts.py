"""Customer facts, kept current incrementally in the same transaction as the order that changes them.

On ``Contact``: ``order_count`` (orders not cancelled, refunded ones included), ``first_order_at`` /
``last_order_at``, ``lifetime_value`` (total spent net of refunds, base currency), ``average_order_value``
(lifetime value / order count) and ``last_activity_at`` (the latest order, behaviour event or cart change). Per
product in ``CustomerProductStat``: quantity bought, spend in the base currency, number of orders — favourite
products are the top 3 by quantity, favourite categories the top 3 by spend.

Every change is a conditional ``UPDATE … SET x = x + delta`` (``F()`` expressions), so concurrent writers never
overwrite each other's counts; ``recompute`` rebuilds one contact from its orders (after a merge, a visitor
identification, a cancelled order, or ``manage.py commerce_facts --rebuild``) and gives the same figures.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import DecimalField, F, Value
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from amity.contacts.models import Contact
from amity.core.money import CENT

from .models import CustomerProductStat, Order, OrderLine, OrderStatus

ACTIVITY_GRANULARITY = dt.timedelta(minutes=1)
MONEY = DecimalField(max_digits=14, decimal_places=2)


def to_base(amount: Decimal, rate: Decimal) -> Decimal:
    return (Decimal(amount) * Decimal(rate)).quantize(CENT, rounding=ROUND_HALF_UP)


def counts(order: Order) -> bool:
    """Whether an order counts towards the facts (every order but a cancelled one)."""
    return order.status != OrderStatus.CANCELLED and order.contact_id is not None


def net_base(order: Order) -> Decimal:
    """What the order contributes to the total spent: its base total less the refunds (at the order's rate)."""
    return Decimal(order.total_base) - to_base(order.refunded_amount, order.exchange_rate)


def apply_order(contact_id: int, *, count: int, value: Decimal, placed_at: dt.datetime | None) -> None:
    """Add one order's contribution (``count`` is +1 for a new order, 0 for a refund or a status change)."""
    updates: dict[str, Any] = {
        "order_count": F("order_count") + count,
        "lifetime_value": F("lifetime_value") + Value(value, output_field=MONEY),
    }
    if placed_at is not None:
        stamp = Value(placed_at)
        updates["first_order_at"] = Least(Coalesce(F("first_order_at"), stamp), stamp)
        updates["last_order_at"] = Greatest(Coalesce(F("last_order_at"), stamp), stamp)
        updates["last_activity_at"] = Greatest(Coalesce(F("last_activity_at"), stamp), stamp)
    contacts = Contact.objects.filter(pk=contact_id)
    contacts.update(**updates)
    # The average from the values just written (the row stays locked by this transaction's UPDATE until commit),
    # rounded like ``recompute`` does — SQLite would divide its NUMERIC columns as integers or floats.
    row = contacts.values_list("order_count", "lifetime_value").first()
    if row is not None:
        contacts.update(average_order_value=_average(Decimal(row[1]), row[0]))


def _average(value: Decimal, count: int) -> Decimal:
    return (value / count).quantize(CENT, rounding=ROUND_HALF_UP) if count else Decimal(0)


def apply_lines(contact_id: int, order: Order, lines: list[OrderLine], sign: int = 1) -> None:
    """Add (or with ``sign=-1`` take back) an order's lines in the contact's product statistics."""
    per_product: dict[int, dict[str, Any]] = {}
    for line in lines:
        if line.product_id is None:
            continue
        row = per_product.setdefault(line.product_id, {"quantity": Decimal(0), "spent": Decimal(0),
                                                       "category": line.category})
        row["quantity"] += Decimal(line.quantity)
        row["spent"] += to_base(line.total, order.exchange_rate)
        row["category"] = row["category"] or line.category
    if not per_product:
        return
    existing = set(CustomerProductStat.objects.filter(contact_id=contact_id, product_id__in=list(per_product))
                   .values_list("product_id", flat=True))
    for product_id, row in per_product.items():
        if product_id in existing or sign < 0:
            _add_stat(contact_id, product_id, row, order.placed_at, sign)
            continue
        try:
            with transaction.atomic():
                CustomerProductStat.objects.create(
                    contact_id=contact_id, product_id=product_id, category=row["category"],
                    quantity=row["quantity"], spent_base=row["spent"], orders=1, last_bought_at=order.placed_at)
        except IntegrityError:  # a concurrent order of the same customer created it first
            _add_stat(contact_id, product_id, row, order.placed_at, sign)


def _add_stat(contact_id: int, product_id: int, row: dict[str, Any], placed_at: dt.datetime, sign: int) -> None:
    updates: dict[str, Any] = {
        "quantity": F("quantity") + Value(sign * row["quantity"], output_field=MONEY),
        "spent_base": F("spent_base") + Value(sign * row["spent"], output_field=MONEY),
        "orders": F("orders") + sign,
    }
    if sign > 0:
        updates["last_bought_at"] = Greatest(F("last_bought_at"), Value(placed_at))
        if row["category"]:
            updates["category"] = Value(row["category"])
    CustomerProductStat.objects.filter(contact_id=contact_id, product_id=product_id).update(**updates)
    if sign < 0:
        CustomerProductStat.objects.filter(contact_id=contact_id, product_id=product_id, orders__lte=0).delete()


def bump_activity(moments: dict[int, dt.datetime]) -> None:
    """Move ``last_activity_at`` forward for several contacts in one UPDATE, to the minute: a contact whose stored
    value is already within ``ACTIVITY_GRANULARITY`` of the new one is not written (the database compares, so the
    caller need not load the stored values: ingest sees most of its customers again within a minute)."""
    from .services import _raw_update  # the raw writes' per-database adapting (services imports this module)

    _raw_update(Contact, ["last_activity_at"], [(when, cid) for cid, when in moments.items()],
                forward_only="last_activity_at", forward_by=ACTIVITY_GRANULARITY)  # one statement, no per-row CASE


def recompute(contact: Contact | int) -> dict[str, Any]:
    """Rebuild one contact's facts and product statistics from its orders (the figures the incremental updates
    keep). ``last_activity_at`` only moves forward: interactions also set it."""
    from .models import BehaviourEvent

    contact_id = contact if isinstance(contact, int) else contact.pk
    orders = list(Order.objects.filter(contact_id=contact_id).exclude(status=OrderStatus.CANCELLED)
                  .only("id", "total_base", "refunded_amount", "exchange_rate", "placed_at", "status", "contact_id"))
    value = sum((net_base(o) for o in orders), Decimal(0))
    count = len(orders)
    placed = [o.placed_at for o in orders]
    last_event = (BehaviourEvent.objects.filter(contact_id=contact_id).order_by("-occurred_at")
                  .values_list("occurred_at", flat=True).first())
    current = Contact.objects.filter(pk=contact_id).values_list("last_activity_at", flat=True).first()
    candidates = [current, last_event, max(placed) if placed else None]
    activity = max([m for m in candidates if m is not None], default=None)
    facts = {
        "order_count": count,
        "lifetime_value": value,
        "average_order_value": _average(value, count),
        "first_order_at": min(placed) if placed else None,
        "last_order_at": max(placed) if placed else None,
        "last_activity_at": activity,
    }
    Contact.objects.filter(pk=contact_id).update(**facts)
    rates = {o.pk: o for o in orders}
    stats: dict[int, dict[str, Any]] = defaultdict(lambda: {"quantity": Decimal(0), "spent": Decimal(0),
                                                            "orders": set(), "category": "", "last": None})
    for line in OrderLine.objects.filter(order_id__in=list(rates), product_id__isnull=False).order_by("id"):
        order = rates[line.order_id]
        row = stats[line.product_id]  # type: ignore[index]
        row["quantity"] += Decimal(line.quantity)
        row["spent"] += to_base(line.total, order.exchange_rate)
        row["orders"].add(order.pk)
        row["category"] = line.category or row["category"]
        row["last"] = max(row["last"] or order.placed_at, order.placed_at)
    CustomerProductStat.objects.filter(contact_id=contact_id).delete()
    CustomerProductStat.objects.bulk_create([
        CustomerProductStat(contact_id=contact_id, product_id=pid, category=row["category"], quantity=row["quantity"],
                            spent_base=row["spent"], orders=len(row["orders"]), last_bought_at=row["last"])
        for pid, row in stats.items()
    ])
    return facts


def favourites(contact: Contact, limit: int = 3) -> dict[str, list[dict[str, Any]]]:
    """Top products by quantity and top categories by spend (two indexed queries over one contact's rows)."""
    from django.db.models import Sum

    products = [
        {"id": str(s.product.uuid), "sku": s.product.sku, "name": s.product.name, "category": s.category,
         "quantity": s.quantity, "spent": s.spent_base, "orders": s.orders, "image_url": s.product.image_url}
        for s in CustomerProductStat.objects.filter(contact=contact).select_related("product")
        .order_by("-quantity", "-spent_base", "id")[:limit]
    ]
    categories = [
        {"category": row["category"], "spent": row["spent"], "quantity": row["quantity"]}
        for row in CustomerProductStat.objects.filter(contact=contact).exclude(category="")
        .values("category").annotate(spent=Sum("spent_base"), quantity=Sum("quantity"))
        .order_by("-spent", "category")[:limit]
    ]
    return {"products": products, "categories": categories}


def days_since(moment: dt.datetime | None, now: dt.datetime | None = None) -> int | None:
    if moment is None:
        return None
    return max(0, ((now or timezone.now()) - moment).days)


def facts_of(contact: Contact, now: dt.datetime | None = None) -> dict[str, Any]:
    """The facts as the API and the 360 page show them."""
    return {
        "order_count": contact.order_count,
        "first_order_at": contact.first_order_at,
        "last_order_at": contact.last_order_at,
        "total_spent": Decimal(contact.lifetime_value).quantize(CENT),
        "average_order_value": Decimal(contact.average_order_value).quantize(CENT),
        "last_activity_at": contact.last_activity_at,
        "days_since_last_order": days_since(contact.last_order_at, now),
        "days_since_last_activity": days_since(contact.last_activity_at, now),
    }
