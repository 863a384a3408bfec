"""Every commerce write: orders, refunds, carts, behaviour events, visitor identification, abandoned carts.

Stores (the ingest API, the tracking snippet, platform webhooks) and the 360 page's counter form call these
functions, so they all accept and refuse the same input. What a store sends carries its own ``external_id``;
(``source``, ``external_id``) is unique, so a replay changes nothing (answered "unchanged"). Each order or cart
is all-or-nothing; a batch of behaviour events is validated item by item and the good ones are inserted together.
Customer facts (``commerce.facts``) are updated in the same transaction, so they are current the moment a write
commits.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest, Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from amity.contacts.models import Contact, ContactEmail
from amity.core import audit
from amity.core.db import (
    CONTACT_REMOVAL_LOCK,
    insert_rows,
    is_deadlock,
    json_text,
    lock_for_transaction,
    mapped_reads,
    pg_array,
    rows_by_keys,
    update_rows,
)
from amity.core.events import emit
from amity.core.models import AuditAction, Event
from amity.core.money import CENT, base_currency, rate_on
from amity.core.permissions import can_edit, is_admin, require
from amity.sales.models import Product, ProductPrice

from . import facts, ingest
from .ingest import Problems, error_list
from .models import (
    BehaviourEvent,
    BehaviourKind,
    Cart,
    CartItem,
    CartStatus,
    Channel,
    CommerceSettings,
    Order,
    OrderLine,
    OrderStatus,
    ProductViewSummary,
    Store,
    Visitor,
)

# Orders only move forward through these; an older webhook arriving late never moves an order back.
STATUS_RANK = {OrderStatus.PLACED: 0, OrderStatus.PAID: 1, OrderStatus.FULFILLED: 2, OrderStatus.REFUNDED: 3,
               OrderStatus.CANCELLED: 4}
# An order recovers the customer's carts abandoned at most this long before it.
RECOVERY_WINDOW = dt.timedelta(days=30)
MAX_PAYLOAD_ITEMS = 20
KINDS = ("events", "orders", "carts")


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ cost ~2 µs, once per ingested event
class ItemResult:
    """What happened to one item of a batch: ``created`` / ``updated`` / ``unchanged`` / ``error``."""

    index: int
    status: str
    id: str | None = None
    http_status: int = 200
    errors: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "error"


def _error(index: int, exc: ValidationError, http_status: int = 422) -> ItemResult:
    return ItemResult(index, "error", None, http_status, error_list(exc))


# --- customers and products ---------------------------------------------------------------------------------

def _follow_merge(contact: Contact) -> Contact:
    for _hop in range(5):
        if not contact.merged_into_id:
            break
        contact = Contact.objects.get(pk=contact.merged_into_id)
    return contact


def _source_label(source: str, store: Store | None) -> str:
    return (store.name if store is not None else source)[:64]


def _find_contact(info: dict[str, Any], *, source: str, store: Store | None = None, actor: Any = None,
                  create: bool = True) -> Contact | None:
    """The contact an item is about: by contact id, else by email (created when new), else the contact a known
    visitor id was identified as; None for an anonymous visitor."""
    if info.get("contact"):
        contact = Contact.objects.filter(uuid=info["contact"]).first()
        if contact is None:
            raise ValidationError({"contact": [_("There is no contact with the id %(id)s.") % {"id": info["contact"]}]})
        return _follow_merge(contact)
    if info.get("email"):
        row = ContactEmail.objects.filter(email=info["email"]).select_related("contact").first()
        if row is not None:
            return _follow_merge(row.contact)
        if create:
            from amity.contacts.services import create_contact

            return create_contact(actor=actor if getattr(actor, "is_authenticated", False) else None, data={
                "emails": [info["email"]], "first_name": info.get("first_name", ""),
                "last_name": info.get("last_name", ""), "source": _source_label(source, store),
            })
    if info.get("visitor_id"):
        contact_id = Visitor.objects.filter(visitor_id=info["visitor_id"]).values_list("contact_id", flat=True).first()
        if contact_id:
            return _follow_merge(Contact.objects.get(pk=contact_id))
    return None


def _products(rows: Iterable[dict[str, Any]]) -> tuple[dict[str, Product], list[str]]:
    """Products by lower-cased SKU for lines/events that name one (one query); an unknown SKU becomes a placeholder
    product (``is_placeholder``) so nothing is lost. Returns the map and the placeholder SKUs."""
    wanted: dict[str, dict[str, Any]] = {}
    for row in rows:
        sku = (row.get("sku") or "").strip()
        if sku:
            wanted.setdefault(sku.lower(), row)
    if not wanted:
        return {}, []
    found = _products_by_sku(list(wanted))
    missing = [key for key in wanted if key not in found]
    if missing:
        Product.objects.bulk_create([
            Product(sku=wanted[key]["sku"].strip(), name=(wanted[key].get("name") or wanted[key]["sku"])[:200],
                    category=wanted[key].get("category", "") or "", image_url=wanted[key].get("image_url", "") or "",
                    product_url=wanted[key].get("product_url", "") or "", is_placeholder=True)
            for key in missing
        ], ignore_conflicts=True)
        found.update({p.lsku: p for p in Product.objects.annotate(lsku=Lower("sku"))  # type: ignore[attr-defined]
                      .filter(lsku__in=missing)})
    return found, [wanted[key]["sku"].strip() for key in missing]


def _products_by_sku(lower_skus: list[str]) -> dict[str, Product]:
    return {p.lsku: p for p in Product.objects.annotate(lsku=Lower("sku")).filter(lsku__in=lower_skus)}  # type: ignore[attr-defined]


class ProductRef(NamedTuple):
    """What an event needs of its product (its id, and what a view summary's timeline entry shows): read as plain
    values — building 60 Product instances per batch, each with two datetimes to convert, cost ingest ~5 µs per
    event. A Product has the same attributes, so the placeholders a batch creates stand in for these."""

    pk: int
    uuid: Any
    sku: str
    name: str
    image_url: str
    product_url: str


def _product_refs(lower_skus: list[str]) -> dict[str, Product | ProductRef]:
    rows = rows_by_keys(Product, "sku", lower_skus, ("id", "uuid", "sku", "name", "image_url", "product_url"),
                        lower=True)
    return {sku.lower(): ProductRef(pk, public_id if isinstance(public_id, uuid.UUID) else uuid.UUID(public_id),
                                    sku, name, image_url, product_url)  # SQLite gives the UUID's stored hex
            for pk, public_id, sku, name, image_url, product_url in rows}


# --- orders ---------------------------------------------------------------------------------------------------

def _order_payload(order: Order, lines: list[OrderLine] | None = None) -> dict[str, Any]:
    lines = lines if lines is not None else list(order.lines.all())
    return {
        "order": str(order.uuid), "number": order.number or order.external_id, "status": order.status,
        "total": str(order.total), "currency": order.currency, "total_base": str(order.total_base),
        "base_currency": base_currency(), "channel": order.channel,
        "items": [{"name": line.name, "quantity": str(line.quantity.normalize()) if line.quantity == line.quantity
                   .to_integral_value() else str(line.quantity), "image_url": _line_image(line)}
                  for line in lines[:MAX_PAYLOAD_ITEMS]],
        "item_count": len(lines),
    }


def _line_image(line: OrderLine) -> str:
    return getattr(line, "image_url", "") or (line.product.image_url if line.product_id and line.product else "")


def _order_state(order: Order) -> dict[str, Any]:
    return audit.snapshot(order, ["number", "status", "channel", "currency", "total", "refunded_amount", "placed_at",
                                  "paid_at", "fulfilled_at", "contact"])


def _build_lines(order: Order, lines: list[dict[str, Any]], products: dict[str, Product]) -> list[OrderLine]:
    built = []
    for line in lines:
        product = products.get(line["sku"].lower()) if line.get("sku") else None
        row = OrderLine(order=order, product=product, sku=line.get("sku", ""), name=line["name"] or line["sku"],
                        category=line.get("category") or (product.category if product else ""),
                        quantity=line["quantity"], unit_price=line["unit_price"],
                        discount=line.get("discount") or Decimal(0), total=line["total"])
        row.image_url = line.get("image_url") or (product.image_url if product else "")  # type: ignore[attr-defined]
        built.append(row)
    return OrderLine.objects.bulk_create(built)


def _create_order(c: dict[str, Any], *, source: str, actor: Any, store: Store | None,
                  contact: Contact | None = None) -> Order:
    if contact is None:
        contact = _find_contact(c, source=source, store=store, actor=actor)
    rate = rate_on(c["currency"], timezone.localdate(c["placed_at"]))
    products, placeholders = _products(c["lines"])
    now = timezone.now()
    order = Order.objects.create(
        source=source, external_id=c["external_id"], number=c.get("number", ""), contact=contact,
        visitor_id=c.get("visitor_id", ""), store=store, status=c["status"], channel=c["channel"],
        currency=c["currency"], subtotal=c["subtotal"], discount_total=c["discount_total"], tax_total=c["tax_total"],
        shipping_total=c["shipping_total"], total=c["total"], total_base=facts.to_base(c["total"], rate),
        exchange_rate=rate, refunded_amount=c["refunded_amount"], placed_at=c["placed_at"], paid_at=c.get("paid_at"),
        fulfilled_at=c.get("fulfilled_at"), refunded_at=now if c["refunded_amount"] else None,
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None, note=c.get("note", ""),
    )
    order.placeholder_skus = placeholders  # type: ignore[attr-defined]
    lines = _build_lines(order, c["lines"], products)
    if contact is not None and facts.counts(order):
        facts.apply_order(contact.pk, count=1, value=facts.net_base(order), placed_at=order.placed_at)
        facts.apply_lines(contact.pk, order, lines)
    audit.record(AuditAction.CREATE, actor=actor, obj=order, changes=_order_state(order))
    contact_id = contact.pk if contact is not None else None
    emit("order.placed", subject=order, actor=actor, contact_id=contact_id, payload=_order_payload(order, lines),
         occurred_at=order.placed_at)
    if order.refunded_amount:
        emit("order.refunded", subject=order, actor=actor, contact_id=contact_id,
             payload={**_order_payload(order, lines), "amount": str(order.refunded_amount),
                      "refunded_amount": str(order.refunded_amount), "full": order.refunded_amount >= order.total})
    if contact is not None and order.visitor_id:
        _attach_visitor(order.visitor_id, contact, store=store, when=order.placed_at)
    if order.status != OrderStatus.CANCELLED:
        _close_carts(order, cart_external_id=c.get("cart", ""))
    return order


def _fingerprint(order: Order, lines: list[OrderLine]) -> tuple[Any, ...]:
    return (order.currency, order.total, order.subtotal, order.discount_total, order.tax_total, order.shipping_total,
            order.placed_at, tuple((ln.sku, ln.name, ln.quantity, ln.unit_price, ln.discount) for ln in lines))


def _clean_fingerprint(c: dict[str, Any]) -> tuple[Any, ...]:
    return (c["currency"], c["total"], c["subtotal"], c["discount_total"], c["tax_total"], c["shipping_total"],
            c["placed_at"], tuple((ln["sku"], ln["name"], ln["quantity"], ln["unit_price"], ln.get("discount")
                                   or Decimal(0)) for ln in c["lines"]))


def _update_order(order: Order, c: dict[str, Any], *, actor: Any) -> tuple[Order, str]:
    """Apply a later version of an order: status, dates and refunds move forward only; changed amounts or lines
    replace the old ones and rebuild the customer's facts."""
    before = _order_state(order)
    old_net, old_counts, old_refunded = facts.net_base(order), facts.counts(order), order.refunded_amount
    lines = list(order.lines.select_related("product"))
    rebuilt = False
    placeholders: list[str] = []
    if _fingerprint(order, lines) != _clean_fingerprint(c):
        rate = rate_on(c["currency"], timezone.localdate(c["placed_at"]))
        for name in ("currency", "subtotal", "discount_total", "tax_total", "shipping_total", "total", "placed_at"):
            setattr(order, name, c[name])
        order.exchange_rate, order.total_base = rate, facts.to_base(c["total"], rate)
        products, placeholders = _products(c["lines"])
        order.lines.all().delete()
        lines = _build_lines(order, c["lines"], products)
        rebuilt = True
    if STATUS_RANK[c["status"]] > STATUS_RANK[order.status]:  # type: ignore[index]
        order.status = c["status"]
    for name in ("paid_at", "fulfilled_at"):
        if c.get(name) and getattr(order, name) is None:
            setattr(order, name, c[name])
    if c.get("number") and not order.number:
        order.number = c["number"]
    if c["refunded_amount"] > order.refunded_amount and order.status != OrderStatus.CANCELLED:
        order.refunded_amount = min(c["refunded_amount"], order.total)
        order.refunded_at = timezone.now()
    if order.refunded_amount >= order.total and order.refunded_amount > 0 and order.status != OrderStatus.CANCELLED:
        order.status = OrderStatus.REFUNDED
    order.placeholder_skus = placeholders  # type: ignore[attr-defined]
    changes = audit.diff(before, _order_state(order))
    if not changes and not rebuilt:
        return order, "unchanged"
    order.save()
    if order.contact_id is not None:
        if rebuilt or old_counts != facts.counts(order):
            facts.recompute(order.contact_id)
        elif facts.counts(order) and facts.net_base(order) != old_net:
            facts.apply_order(order.contact_id, count=0, value=facts.net_base(order) - old_net, placed_at=None)
    audit.record(AuditAction.UPDATE, actor=actor, obj=order, changes=changes)
    payload = _order_payload(order, lines)
    if order.refunded_amount > old_refunded:
        emit("order.refunded", subject=order, actor=actor, contact_id=order.contact_id,
             payload={**payload, "amount": str(order.refunded_amount - old_refunded),
                      "refunded_amount": str(order.refunded_amount), "full": order.refunded_amount >= order.total})
    other = {k: v for k, v in changes.items() if k not in {"refunded_amount"}}
    if other:
        emit("order.updated", subject=order, actor=actor, contact_id=order.contact_id,
             payload={**payload, "changes": other})
    return order, "updated"


def record_order(data: dict[str, Any], *, source: str, actor: Any = None, store: Store | None = None) -> tuple[Order, str]:
    """Record an order a store sent, or apply a later version of it (same ``source`` + ``external_id``).

    Returns the order and ``created`` / ``updated`` / ``unchanged``. Raises ``ValidationError({field: [msg]})``
    with nothing written. ``order.placeholder_skus`` lists SKUs that were unknown and became placeholder
    products."""
    cleaned = ingest.clean_order(data)
    with transaction.atomic():
        existing = Order.objects.select_for_update().filter(source=source, external_id=cleaned["external_id"]).exclude(
            external_id="").first()
        if existing is not None:
            return _update_order(existing, cleaned, actor=actor)
        try:
            with transaction.atomic():
                return _create_order(cleaned, source=source, actor=actor, store=store), "created"
        except IntegrityError:  # the same order arriving twice at once: the other copy won
            existing = Order.objects.select_for_update().exclude(external_id="").get(
                source=source, external_id=cleaned["external_id"])
            return _update_order(existing, cleaned, actor=actor)


def record_in_store_purchase(*, contact: Contact, data: dict[str, Any], actor: Any) -> Order:
    """A purchase at the counter or by phone, from catalogue products (``lines``: ``[{product: uuid | sku,
    quantity, unit_price?, discount?}]``; the price defaults to the product's price in the currency)."""
    require(can_edit(actor))
    now = timezone.now()
    p = Problems()
    currency = ingest.currency(p, data, default=base_currency())
    channel = str(data.get("channel") or Channel.IN_STORE)
    if channel not in {Channel.IN_STORE, Channel.PHONE}:
        p.add("channel", _("Choose in store or phone."))
    placed_at = ingest.moment(p, data, "placed_at", now=now, default=now)
    raw_lines = data.get("lines") or []
    if not isinstance(raw_lines, list) or not raw_lines:
        p.add("lines", _("Add at least one product."))
        raw_lines = []
    refs = [str((r or {}).get("product") or "").strip() if isinstance(r, dict) else "" for r in raw_lines]
    uuids = []
    for ref in refs:
        with contextlib.suppress(ValueError):
            uuids.append(uuid.UUID(ref))
    by_uuid = {p_.uuid: p_ for p_ in Product.objects.filter(uuid__in=uuids)} if uuids else {}
    by_sku = {p_.lsku: p_ for p_ in Product.objects.annotate(lsku=Lower("sku"))  # type: ignore[attr-defined]
              .filter(lsku__in=[r.lower() for r in refs if r])}
    prices = {(pp.product_id, pp.currency): pp.unit_price for pp in
              ProductPrice.objects.filter(product__in=[*by_uuid.values(), *by_sku.values()], currency=currency)}
    lines: list[dict[str, Any]] = []
    for n, (raw, ref) in enumerate(zip(raw_lines, refs, strict=True)):
        path = f"lines.{n}"
        if not isinstance(raw, dict):
            p.add(path, _("Send an object here."))
            continue
        product = None
        with contextlib.suppress(ValueError):
            product = by_uuid.get(uuid.UUID(ref))
        product = product or by_sku.get(ref.lower())
        if not ref:
            p.add(f"{path}.product", _("Choose a product."))
        elif product is None:
            p.add(f"{path}.product", _("There is no product “%(ref)s”.") % {"ref": ref[:64]})
        quantity = ingest.amount(p, raw, "quantity", default=Decimal(1), path=f"{path}.quantity", positive=True)
        unit_price = ingest.amount(p, raw, "unit_price", default=None, path=f"{path}.unit_price")
        if unit_price is None and product is not None and f"{path}.unit_price" not in p.errors:
            unit_price = prices.get((product.pk, currency))
            if unit_price is None:
                p.add(f"{path}.unit_price", _("%(product)s has no price in %(currency)s; enter the price.")
                      % {"product": product.name, "currency": currency})
        discount = ingest.amount(p, raw, "discount", path=f"{path}.discount") or Decimal(0)
        if product is None or quantity is None or unit_price is None:
            continue
        gross = (quantity * unit_price).quantize(CENT)
        if discount > gross:
            p.add(f"{path}.discount", _("The discount %(discount)s is more than the line's %(gross)s.")
                  % {"discount": discount, "gross": gross})
            continue
        lines.append({"sku": product.sku, "name": product.name, "category": product.category,
                      "quantity": quantity, "unit_price": unit_price, "discount": discount, "total": gross - discount,
                      "image_url": product.image_url, "product_url": product.product_url})
    p.raise_if_any()
    total: Decimal = sum((line["total"] for line in lines), Decimal(0))
    cleaned = {
        "external_id": f"instore-{uuid.uuid4().hex}", "number": "", "status": OrderStatus.PAID, "channel": channel,
        "currency": currency, "note": str(data.get("note") or "").strip()[:2000], "cart": "",
        "contact": contact.uuid, "email": "", "visitor_id": "", "first_name": "", "last_name": "",
        "placed_at": placed_at, "paid_at": placed_at, "fulfilled_at": placed_at, "discount_total": Decimal(0),
        "tax_total": Decimal(0), "shipping_total": Decimal(0), "refunded_amount": Decimal(0), "total": total,
        "subtotal": total, "lines": lines,
    }
    with transaction.atomic():
        return _create_order(cleaned, source="in_store", actor=actor, store=None, contact=contact)


def refund_order(*, order: Order, amount: Decimal | str | None, actor: Any) -> Order:
    """Refund ``amount`` (None: whatever is left) of an order; the customer's total spent drops by its value in
    the base currency (at the order's rate) and ``order.refunded`` appears on the timeline."""
    require(actor is None or can_edit(actor))
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        remaining = order.total - order.refunded_amount
        p = Problems()
        if order.status == OrderStatus.CANCELLED:
            p.add("amount", _("This order was cancelled; there is nothing to refund."))
        elif remaining <= 0:
            p.add("amount", _("This order is already refunded in full."))
        value = remaining if amount in (None, "") else ingest.amount(p, {"amount": amount}, "amount", positive=True)
        if value is not None and not p.errors and value > remaining:
            p.add("amount", _("At most %(remaining)s %(currency)s is left to refund.")
                  % {"remaining": remaining, "currency": order.currency})
        p.raise_if_any()
        assert value is not None
        data = {"status": order.status, "refunded_amount": order.refunded_amount + value}
        before = _order_state(order)
        old_net = facts.net_base(order)
        order.refunded_amount += value
        order.refunded_at = timezone.now()
        if order.refunded_amount >= order.total:
            order.status = OrderStatus.REFUNDED
        order.save(update_fields=["refunded_amount", "refunded_at", "status", "updated_at"])
        if order.contact_id is not None:
            facts.apply_order(order.contact_id, count=0, value=facts.net_base(order) - old_net, placed_at=None)
        audit.record(AuditAction.UPDATE, actor=actor, obj=order, changes=audit.diff(before, _order_state(order)))
        emit("order.refunded", subject=order, actor=actor, contact_id=order.contact_id,
             payload={**_order_payload(order), "amount": str(value), "refunded_amount": str(data["refunded_amount"]),
                      "full": order.refunded_amount >= order.total})
    return order


# --- carts ----------------------------------------------------------------------------------------------------

def _cart_items_payload(cart: Cart) -> list[dict[str, Any]]:
    return [{"sku": i.sku, "name": i.name, "quantity": str(i.quantity), "unit_price": str(i.unit_price),
             "image_url": i.image_url or (i.product.image_url if i.product else ""),
             "product_url": i.product_url or (i.product.product_url if i.product else "")}
            for i in cart.items.select_related("product")[:MAX_PAYLOAD_ITEMS]]


def _close_carts(order: Order, cart_external_id: str = "") -> None:
    """An order converts the customer's open carts and recovers those abandoned before it (cart.recovered)."""
    if order.contact_id is None and not order.visitor_id and not cart_external_id:
        return
    who = Q(contact_id=order.contact_id) if order.contact_id else Q(pk__in=[])
    if order.visitor_id:
        who |= Q(visitor_id=order.visitor_id) & ~Q(visitor_id="")  # the partial index's condition, as below
    if cart_external_id:
        who |= Q(source=order.source, external_id=cart_external_id) & ~Q(external_id="")
    carts = list(Cart.objects.select_for_update().filter(who).filter(
        status__in=[CartStatus.OPEN, CartStatus.ABANDONED],
        last_activity_at__lte=order.placed_at + ingest.FUTURE_TOLERANCE))
    for cart in carts:
        if cart.abandoned_at is not None:
            if cart.abandoned_at < order.placed_at - RECOVERY_WINDOW:
                continue
            claimed = Cart.objects.filter(pk=cart.pk, status__in=[CartStatus.OPEN, CartStatus.ABANDONED]).update(
                status=CartStatus.RECOVERED, recovered_at=order.placed_at, recovered_order=order,
                recovered_value=order.total_base, contact_id=cart.contact_id or order.contact_id)
            if claimed:
                emit("cart.recovered", subject=cart, contact_id=cart.contact_id or order.contact_id, payload={
                    "cart": str(cart.uuid), "value": str(cart.value), "currency": cart.currency,
                    "recovered_value": str(order.total_base), "base_currency": base_currency(),
                    "order": str(order.uuid), "number": order.number or order.external_id,
                    "total": str(order.total), "order_currency": order.currency,
                    "abandoned_at": cart.abandoned_at.isoformat(),
                }, occurred_at=order.placed_at)
        else:
            Cart.objects.filter(pk=cart.pk, status=CartStatus.OPEN).update(
                status=CartStatus.CONVERTED, converted_order=order, contact_id=cart.contact_id or order.contact_id)


def _cart_fingerprint(cart: Cart, items: list[CartItem]) -> tuple[Any, ...]:
    return (cart.currency, cart.cart_url, cart.checkout_started_at,
            tuple((i.sku, i.name, i.quantity, i.unit_price, i.image_url, i.product_url) for i in items))


def _clean_cart_fingerprint(c: dict[str, Any]) -> tuple[Any, ...]:
    return (c["currency"], c["cart_url"], c["checkout_started_at"],
            tuple((i["sku"], i["name"], i["quantity"], i["unit_price"], i["image_url"], i["product_url"])
                  for i in c["items"]))


def _apply_cart_items(cart: Cart, c: dict[str, Any]) -> list[str]:
    products, placeholders = _products(c["items"])
    rate = rate_on(c["currency"], timezone.localdate(c["updated_at"]))
    value = sum(((i["quantity"] * i["unit_price"]).quantize(CENT) for i in c["items"]), Decimal(0))
    cart.currency, cart.value, cart.value_base = c["currency"], value, facts.to_base(value, rate)
    cart.item_count = int(sum((i["quantity"] for i in c["items"]), Decimal(0)))
    cart.cart_url = c["cart_url"] or cart.cart_url
    if c["checkout_started_at"]:
        cart.checkout_started_at = c["checkout_started_at"]
    cart.save()
    cart.items.all().delete()
    CartItem.objects.bulk_create([
        CartItem(cart=cart, product=products.get(i["sku"].lower()) if i["sku"] else None, sku=i["sku"],
                 name=i["name"] or i["sku"], quantity=i["quantity"], unit_price=i["unit_price"],
                 image_url=i["image_url"], product_url=i["product_url"])
        for i in c["items"]
    ])
    return placeholders


def upsert_cart(data: dict[str, Any], *, source: str, store: Store | None = None) -> tuple[Cart, str]:
    """Create or update a store's cart (same ``source`` + ``external_id``). An update older than what is stored
    (``updated_at``) changes nothing. An abandoned cart that changes is open again, but keeps ``abandoned_at``:
    the abandoned event is emitted once per cart, ever, and a later order still counts as its recovery. A
    converted or recovered cart keeps its status."""
    c = ingest.clean_cart(data)
    with transaction.atomic():
        cart = Cart.objects.select_for_update().filter(source=source, external_id=c["external_id"]).exclude(
            external_id="").first()
        if cart is None:
            try:
                with transaction.atomic():
                    contact = _find_contact(c, source=source, store=store)
                    cart = Cart(source=source, external_id=c["external_id"], contact=contact,
                                visitor_id=c["visitor_id"], store=store, currency=c["currency"],
                                last_activity_at=c["updated_at"])
                    cart.placeholder_skus = _apply_cart_items(cart, c)  # type: ignore[attr-defined]
                    _track_cart_activity(cart, c, store)
                    return cart, "created"
            except IntegrityError:
                cart = Cart.objects.select_for_update().exclude(external_id="").get(source=source, external_id=c["external_id"])
        items = list(cart.items.all())
        given_time = bool((data or {}).get("updated_at"))
        if c["updated_at"] < cart.last_activity_at:
            return cart, "unchanged"  # an older version arriving late
        same = _cart_fingerprint(cart, items) == _clean_cart_fingerprint(c)
        if same and (not given_time or c["updated_at"] == cart.last_activity_at):
            return cart, "unchanged"
        cart.last_activity_at = c["updated_at"]
        if cart.contact_id is None:
            cart.contact = _find_contact(c, source=source, store=store)
        if not same:
            cart.placeholder_skus = _apply_cart_items(cart, c)  # type: ignore[attr-defined]
            if cart.status == CartStatus.ABANDONED:
                cart.status = CartStatus.OPEN
        cart.save()
        _track_cart_activity(cart, c, store)
        return cart, "updated"


def _track_cart_activity(cart: Cart, c: dict[str, Any], store: Store | None) -> None:
    if cart.contact_id:
        facts.bump_activity({cart.contact_id: c["updated_at"]})
    if cart.visitor_id:
        _touch_visitors({cart.visitor_id: cart.contact_id}, c["updated_at"], store,
                        dict(Visitor.objects.filter(visitor_id=cart.visitor_id).values_list("visitor_id", "pk")))


def mark_abandoned_carts(now: dt.datetime | None = None, limit: int = 5000) -> int:
    """Mark open carts with items and no checkout, idle longer than the configured delay, abandoned — each
    exactly once (a conditional UPDATE claims it, so two sweeps never both emit) — and put ``cart.abandoned`` on
    the customer's timeline with everything a reminder needs. Returns how many were marked."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=commerce_settings().abandon_after_minutes)
    due = list(Cart.objects.filter(status=CartStatus.OPEN, last_activity_at__lte=cutoff, abandoned_at__isnull=True,
                                   checkout_started_at__isnull=True, item_count__gt=0)
               .order_by("last_activity_at").values_list("pk", flat=True)[:limit])
    marked = 0
    for start in range(0, len(due), 200):
        with transaction.atomic():
            for pk in due[start:start + 200]:
                claimed = Cart.objects.filter(pk=pk, status=CartStatus.OPEN, abandoned_at__isnull=True,
                                              checkout_started_at__isnull=True, last_activity_at__lte=cutoff).update(
                    status=CartStatus.ABANDONED, abandoned_at=now)
                if not claimed:
                    continue
                cart = Cart.objects.select_related("contact").get(pk=pk)
                contact = cart.contact
                emit("cart.abandoned", subject=cart, contact_id=cart.contact_id, occurred_at=now, payload={
                    "cart": str(cart.uuid), "value": str(cart.value), "currency": cart.currency,
                    "value_base": str(cart.value_base), "base_currency": base_currency(),
                    "item_count": cart.item_count, "items": _cart_items_payload(cart), "cart_url": cart.cart_url,
                    "last_activity_at": cart.last_activity_at.isoformat(), "visitor_id": cart.visitor_id,
                    "email": contact.email if contact else "", "name": contact.display_name if contact else "",
                    "first_name": contact.first_name if contact else "",
                })
                marked += 1
    return marked


# --- behaviour events -----------------------------------------------------------------------------------------

def _week_start(moment: dt.datetime) -> dt.date:
    """The Monday of ``moment``'s week in the workspace time zone (not the sending user's: a summary is shared)."""
    return _week_in(moment, settings.TIME_ZONE)


@lru_cache(maxsize=8192)
def _week_in(moment: dt.datetime, zone: str) -> dt.date:  # cached: a batch's events share their times
    day = moment.astimezone(zoneinfo.ZoneInfo(zone)).date()
    return day - dt.timedelta(days=day.weekday())


def _touch_visitors(visitors: dict[str, int | None], when: dt.datetime, store: Store | None,
                    known: Mapping[str, int]) -> None:
    """Upsert Visitor rows (first/last seen), ``known`` being the stored ones' ids by visitor id; two statements
    whatever the number of visitors (a visitor stored meanwhile by another batch is skipped by the insert)."""
    if not visitors:
        return
    new = [(v, None, store.pk if store is not None else None, when, when, None) for v in visitors if v not in known]
    if new:
        _raw_insert(Visitor, ["visitor_id", "contact_id", "store_id", "first_seen_at", "last_seen_at",
                              "identified_at"], new, ignore_conflicts=True)
    # To the minute, like a contact's last activity: not one row write per event.
    _raw_update(Visitor, ["last_seen_at"], [(when, known[v]) for v in visitors if v in known],
                forward_only="last_seen_at", forward_by=facts.ACTIVITY_GRANULARITY)


def _adapters(model: Any, columns: list[str]) -> list[Any]:
    """Per column, a function turning a Python value into what the database driver takes (None = as is); the
    hot path's inserts skip the ORM compiler, which cost more per row than the database."""
    if connection.vendor == "postgresql":  # core.db's PostgreSQL writes take datetimes, dates and dicts as they are
        return [None] * len(columns)
    by_column = {f.attname: f for f in model._meta.concrete_fields}
    out: list[Any] = []
    for column in columns:
        f = by_column[column]
        internal = f.get_internal_type()
        if internal == "DateTimeField":
            out.append(_sqlite_datetime)
        elif internal == "JSONField" and f.encoder is None:  # type: ignore[attr-defined]
            out.append(json_text)
        elif internal in {"DateField", "JSONField"}:
            out.append(lambda v, f=f, c=connection: f.get_db_prep_save(v, c))
        else:
            out.append(None)
    return out


def _sqlite_datetime(value: dt.datetime | None) -> str | None:
    """What Django's SQLite backend stores for an aware datetime: the UTC time as "YYYY-MM-DD HH:MM:SS[.ffffff]"."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return str(value)


def _adapt(adapt: list[Any], values: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(v if a is None else a(v) for a, v in zip(adapt, values, strict=True))


def _raw_insert(model: Any, columns: list[str], rows: list[tuple[Any, ...]], *, ignore_conflicts: bool = False,
                returning: bool = False) -> list[int]:
    """``core.db.insert_rows`` of plain Python values, adapted per column for the driver first."""
    adapt = _adapters(model, columns)
    if any(adapt):
        rows = [_adapt(adapt, row) for row in rows]
    return insert_rows(model, tuple(columns), rows, ignore_conflicts=ignore_conflicts, returning=returning)


def _raw_update(model: Any, columns: list[str], rows: list[tuple[Any, ...]], *, forward_only: str = "",
                forward_by: dt.timedelta | None = None) -> None:
    """``core.db.update_rows`` of plain Python values (each row ``(*values, pk)``), adapted like ``_raw_insert``."""
    if not rows:
        return
    adapt = _adapters(model, columns)
    if any(adapt):
        rows = [_adapt(adapt, row[:-1]) + (row[-1],) for row in rows]
    update_rows(model, tuple(columns), rows, forward_only=forward_only, forward_by=forward_by)


@dataclass
class _Moved:
    """A stored weekly product-view summary whose timeline event moves up to its latest view."""

    product_id: int
    week_start: dt.date
    event_id: int
    views: int
    last_viewed_at: dt.datetime


def _add_views(views: dict[tuple[int, int, dt.date], list[dt.datetime]]) -> tuple[set[tuple[int, int, dt.date]],
                                                                                  list[_Moved]]:
    """Add a batch's views to the stored summaries of their (contact, product, week) keys — one UPDATE, an
    increment, so two batches adding to one summary need no lock taken first. Returns the keys it found and the
    summaries whose timeline event must move up (their latest view is ``VIEW_EVENT_MOVES_AFTER`` past the event).
    The keys are sent in order, so concurrent batches lock shared summaries in the same order."""
    keys = sorted(views)
    counts, latest = [len(views[k]) for k in keys], [max(views[k]) for k in keys]
    # The table's own name, no alias: SQLite's RETURNING knows only that.
    quote = connection.ops.quote_name
    s, events = quote(ProductViewSummary._meta.db_table), quote(Event._meta.db_table)
    shown = f"(SELECT e.occurred_at FROM {events} e WHERE e.id = {s}.event_id)"  # noqa: S608
    if connection.vendor == "postgresql":
        source = "unnest(%s::bigint[], %s::bigint[], %s::date[], %s::integer[], %s::timestamptz[]) AS u(c, p, w, n, t)"
        params: list[Any] = [pg_array(column) for column in (*zip(*keys, strict=True), counts, latest)]
        key, greatest, added, last = "(u.c, u.p, u.w)", "GREATEST", "u.n", "u.t"
        moves = f"{s}.last_viewed_at - {shown} >= %s"
        params.append(VIEW_EVENT_MOVES_AFTER)
    else:
        source = "json_each(%s) AS u"
        params = [json.dumps([(c, p, w.isoformat(), n, _sqlite_datetime(t))
                              for (c, p, w), n, t in zip(keys, counts, latest, strict=True)])]
        key, greatest = "(u.value ->> 0, u.value ->> 1, u.value ->> 2)", "MAX"
        added, last = "u.value ->> 3", "u.value ->> 4"
        moves = (f"julianday({s}.last_viewed_at) - julianday({shown}) >= "
                 f"{VIEW_EVENT_MOVES_AFTER.total_seconds() / 86400}")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {s} SET views = {s}.views + {added}, last_viewed_at = {greatest}({s}.last_viewed_at, {last}) "  # noqa: S608
            f"FROM {source} WHERE ({s}.contact_id, {s}.product_id, {s}.week_start) = {key} "
            f"RETURNING {s}.contact_id, {s}.product_id, {s}.week_start, {s}.event_id, {s}.views, "
            f"CASE WHEN {moves} THEN {s}.last_viewed_at END", params)
        rows = cursor.fetchall()
    found, moved = set(), []
    for contact_id, product_id, week, event_id, count, moved_to in rows:
        if isinstance(week, str):  # SQLite: the stored text where the column's declared type is not known
            week = dt.date.fromisoformat(week)
        if isinstance(moved_to, str):
            moved_to = _sqlite_moment(moved_to)
        found.add((contact_id, product_id, week))
        if moved_to is not None:
            moved.append(_Moved(product_id, week, event_id, count, moved_to))
    return found, moved


def _sqlite_moment(stored: str) -> dt.datetime:
    """A datetime as Django's SQLite backend stores it (UTC, no zone) read back."""
    return dt.datetime.fromisoformat(stored).replace(tzinfo=dt.UTC)


def _summarise_views(views: dict[tuple[int, int, dt.date], list[dt.datetime]],
                     products: Mapping[int, Product | ProductRef]) -> None:
    """Count product views per contact, product and week; one timeline event per triple. A constant number of
    queries whatever the batch holds. The summary is the count's truth — the timeline shows it
    (``selectors.attach_view_counts``) — and its timeline event is rewritten only when it moves up: the event's time
    is in four of the event table's indexes, and rewriting its payload with every batch cost more than the
    summary itself."""
    if not views:
        return
    found, moved = _add_views(views)
    if moved:
        _raw_update(Event, ["payload", "occurred_at"], [
            (_view_payload(products[m.product_id], m.week_start, m.views, m.last_viewed_at), m.last_viewed_at,
             m.event_id) for m in moved])
    new_keys = [key for key in views if key not in found]
    if new_keys:
        event_ids = _raw_insert(Event, _VIEW_EVENT_COLUMNS, [
            ("product.viewed", "product", key[1], key[0], max(views[key]), "pending", 0, "",
             _view_payload(products[key[1]], key[2], len(views[key]), max(views[key])))
            for key in new_keys
        ], returning=True)
        try:
            with transaction.atomic():
                _raw_insert(ProductViewSummary, ["contact_id", "product_id", "week_start", "views", "last_viewed_at",
                                                 "event_id"],
                            [(key[0], key[1], key[2], len(views[key]), max(views[key]), event_id)
                             for key, event_id in zip(new_keys, event_ids, strict=True)])
        except IntegrityError:  # another batch created some of these summaries meanwhile: add to theirs
            Event.objects.filter(pk__in=event_ids).delete()
            _summarise_views({key: views[key] for key in new_keys}, products)


VIEW_EVENT_MOVES_AFTER = dt.timedelta(hours=1)
_VIEW_EVENT_COLUMNS = ["type", "subject_type", "subject_id", "contact_id", "occurred_at", "status", "attempts",
                       "last_error", "payload"]


def _view_payload(product: Product | ProductRef, week: dt.date, views: int, last: dt.datetime) -> dict[str, Any]:
    return {"product": product.name, "product_id": str(product.uuid), "sku": product.sku,
            "image_url": product.image_url, "product_url": product.product_url, "week": week.isoformat(),
            "views": views, "last_viewed_at": last.isoformat()}


_EVENT_COLUMNS = ["source", "external_id", "contact_id", "visitor_id", "kind", "name", "occurred_at", "received_at",
                  "product_id", "url", "properties"]


def _insert_rows(rows: list[tuple[Any, ...]], *, skip_replays: bool) -> None:
    """The hot path's insert: plain tuples, their time and properties already adapted for the database
    (``_prepare_events``). With ``skip_replays`` a concurrent duplicate ``external_id`` is skipped, as a replay;
    without, it fails the insert (IntegrityError)."""
    if not rows:
        return
    received = _adapt(_adapters(BehaviourEvent, ["received_at"]), (timezone.now(),))[0]
    insert_rows(BehaviourEvent, tuple(_EVENT_COLUMNS),
                [(src, ext, contact_id, visitor, kind, name, at, received, product_id, url, props)
                 for src, ext, contact_id, visitor, kind, name, at, product_id, url, props in rows],
                ignore_conflicts=skip_replays)


def _prepare_events(fresh: list[tuple[int, dict[str, Any]]]) -> None:
    """What each event's row needs that does not depend on the database's state — its time and properties as the
    driver takes them, its week — worked out before the transaction, so the write lock is held for less."""
    adapt = _adapters(BehaviourEvent, ["occurred_at", "properties"])
    for _i, e in fresh:
        e["db_occurred_at"], e["db_properties"] = _adapt(adapt, (e["occurred_at"], e["properties"])) \
            if any(adapt) else (e["occurred_at"], e["properties"])
        e["week"] = _week_start(e["occurred_at"])


def record_events(items: list[Any], *, source: str, store: Store | None = None,
                  now: dt.datetime | None = None) -> list[ItemResult]:
    """Validate each event, then insert the good ones in one transaction. Replayed ``external_id``s (already
    stored, or twice in the batch) are "unchanged". Query count does not grow with the batch: one lookup each for
    stored ids (on PostgreSQL only once the insert met one), contacts (by id, email, visitor), products; bulk
    inserts; one UPDATE for last activity."""
    now = now or timezone.now()
    results: list[ItemResult | None] = [None] * len(items)
    good: list[tuple[int, dict[str, Any]]] = []
    for index, raw in enumerate(items):
        try:
            good.append((index, ingest.clean_event(raw, now=now)))
        except ValidationError as exc:
            results[index] = _error(index, exc, 400 if not isinstance(raw, dict) else 422)
    if good and connection.vendor == "postgresql":
        # Most batches replay nothing: the unique index finds a replayed id as the COPY runs (and fails the
        # transaction) instead of a lookup of every id first (~6 ms of PostgreSQL's time per 500 events). A batch
        # that replays something, or fails for another reason, runs again the careful way below.
        fresh = _fresh(good, results, set())
        _prepare_events(fresh)
        try:
            _write_events(fresh, results, source=source, store=store, replays_known=False)
            return [r for r in results if r is not None]
        except IntegrityError:
            pass
    # ``exclude(external_id="")`` repeats the unique index's condition so the database can use that (partial)
    # index: without it SQLite scanned the whole table (0.6 s a batch with 3M stored events).
    seen = set(BehaviourEvent.objects.filter(external_id__one_of=[e["external_id"] for _i, e in good], source=source)
               .exclude(external_id="").values_list("external_id", flat=True)) if good else set()
    fresh = _fresh(good, results, seen)
    if fresh:
        _prepare_events(fresh)
        with mapped_reads():
            _write_events(fresh, results, source=source, store=store, replays_known=True)
    return [r for r in results if r is not None]


def _fresh(good: list[tuple[int, dict[str, Any]]], results: list[ItemResult | None],
           stored: set[str]) -> list[tuple[int, dict[str, Any]]]:
    """The events to write: not among the ``stored`` external ids nor earlier in the batch (those are "unchanged")."""
    seen = set(stored)
    fresh = []
    for index, event in good:
        if event["external_id"] in seen:
            results[index] = ItemResult(index, "unchanged", event["external_id"])
        else:
            seen.add(event["external_id"])
            fresh.append((index, event))
    return fresh


def _write_events(fresh: list[tuple[int, dict[str, Any]]], results: list[ItemResult | None], *, source: str,
                  store: Store | None, replays_known: bool) -> None:
    """Reads first, outside the transaction: on SQLite a transaction holds the one write lock from its start
    (IMMEDIATE), so the other web process waits only for the writes. Should a contact found here vanish before the
    commit (a merge, an erasure), its foreign key refuses it and the batch is resolved again (products are never
    deleted). Unless
    ``replays_known`` (the stored ids were looked up), any IntegrityError is left to the caller."""
    latest = max(e["occurred_at"] for _i, e in fresh)
    for attempt in (1, 2):
        known = _event_lookups(fresh)
        plan = _EventPlan(latest=latest, by_email=dict(known.by_email), products=dict(known.products))
        _plan_events(fresh, results, known, plan, source=source, store=store, create=False)
        try:
            with transaction.atomic():
                _insert_events(plan, results, known, source=source, store=store, skip_replays=replays_known)
            return
        except IntegrityError:
            if attempt == 2 or not replays_known:
                raise
        except OperationalError as exc:  # a deadlock with another batch: PostgreSQL rolled this one back
            if attempt == 2 or not is_deadlock(exc):
                raise


@dataclass
class _EventLookups:
    """What a batch of events refers to, read before its transaction."""

    by_uuid: dict[Any, Contact]
    by_email: dict[str, int]
    visitors: Mapping[str, int | None]  # the stored ones' contacts
    visitor_ids: Mapping[str, int]  # and their row ids
    products: dict[str, ProductRef | Product]


def _event_lookups(fresh: list[tuple[int, dict[str, Any]]]) -> _EventLookups:
    """Contacts by id and by email, visitors and products, one query each (no join to the contacts: the activity
    update compares the stored times itself)."""
    uuids = {e["contact"] for _i, e in fresh if e["contact"]}
    emails = {e["email"] for _i, e in fresh if e["email"] and not e["contact"]}
    visitor_ids = {e["visitor_id"] for _i, e in fresh if e["visitor_id"]}
    skus = {e["product"]["sku"].lower() for _i, e in fresh if e["product"]}
    by_uuid = {c.uuid: c for c in Contact.objects.filter(uuid__one_of=uuids).only("pk", "uuid", "merged_into_id")} \
        if uuids else {}
    by_email = dict(rows_by_keys(ContactEmail, "email", emails, ("email", "contact_id"))) if emails else {}
    visitor_rows = rows_by_keys(Visitor, "visitor_id", visitor_ids, ("visitor_id", "contact_id", "id")) \
        if visitor_ids else []
    return _EventLookups(by_uuid, by_email, {v: c for v, c, _pk in visitor_rows},
                         {v: pk for v, _c, pk in visitor_rows}, _product_refs(list(skus)) if skus else {})


@dataclass
class _EventPlan:
    """What a batch of events will write, worked out as far as possible before its transaction."""

    latest: dt.datetime
    by_email: dict[str, int]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    views: dict[tuple[int, int, dt.date], list[dt.datetime]] = field(default_factory=lambda: defaultdict(list))
    activity: dict[int, dt.datetime] = field(default_factory=dict)
    seen_visitors: dict[str, int | None] = field(default_factory=dict)
    identified: dict[str, int] = field(default_factory=dict)
    products: dict[str, Product | ProductRef] = field(default_factory=dict)
    placeholders: list[str] = field(default_factory=list)
    waiting: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def _plan_events(events: list[tuple[int, dict[str, Any]]], results: list[ItemResult | None], known: _EventLookups,
                 plan: _EventPlan, *, source: str, store: Store | None, create: bool) -> None:
    """Each event's row, result, product-view and activity. Without ``create`` (before the transaction) an event
    whose new customer or unknown SKU must be created first waits in ``plan.waiting``; with it (inside the
    transaction) those are created."""
    rows, by_email, products, placeholders = plan.rows, plan.by_email, plan.products, plan.placeholders
    stored_visitors, activity, views = known.visitors, plan.activity, plan.views
    for index, e in events:
        contact_id: int | None = None
        if e["contact"]:
            contact = known.by_uuid.get(e["contact"])
            if contact is None:
                results[index] = _error(index, ValidationError(
                    {"contact": [_("There is no contact with the id %(id)s.") % {"id": e["contact"]}]}))
                continue
            contact_id = contact.merged_into_id or contact.pk
        elif e["email"]:
            contact_id = by_email.get(e["email"])
            if contact_id is None:
                if not create:
                    plan.waiting.append((index, e))
                    continue
                contact_id = _find_contact(e, source=source, store=store).pk  # type: ignore[union-attr]
                by_email[e["email"]] = contact_id
        wanted = e["product"]
        product = products.get(wanted["sku"].lower()) if wanted else None
        if wanted and product is None:
            if not create:
                plan.waiting.append((index, e))
                continue
            raise AssertionError("the products of waiting events are created before they are planned")
        visitor_id = e["visitor_id"]
        if visitor_id:
            if contact_id is None:
                contact_id = stored_visitors.get(visitor_id)
            plan.seen_visitors[visitor_id] = contact_id
            if contact_id and not stored_visitors.get(visitor_id):
                plan.identified[visitor_id] = contact_id
        rows.append((source, e["external_id"], contact_id, visitor_id, e["kind"], e["name"], e["db_occurred_at"],
                     product.pk if product else None, e["url"], e["db_properties"]))
        notes = [_("Unknown SKU %(sku)s: a placeholder product was created.") % {"sku": wanted["sku"]}] \
            if placeholders and wanted and wanted["sku"] in placeholders else []
        results[index] = ItemResult(index, "created", e["external_id"], 201, [], notes)
        if contact_id:
            moment = e["occurred_at"]
            last = activity.get(contact_id)
            if last is None or moment > last:
                activity[contact_id] = moment
            if product is not None and e["kind"] == BehaviourKind.PRODUCT_VIEW:
                views[(contact_id, product.pk, e["week"])].append(moment)


def _insert_events(plan: _EventPlan, results: list[ItemResult | None], known: _EventLookups, *, source: str,
                   store: Store | None, skip_replays: bool) -> None:
    """Inside the transaction: create the customers and placeholder products the waiting events need, then write
    the batch."""
    lock_for_transaction(CONTACT_REMOVAL_LOCK, shared=True)  # no contact is removed until this batch commits
    if plan.waiting:
        created, plan.placeholders = _products(e["product"] for _i, e in plan.waiting
                                               if e["product"] and e["product"]["sku"].lower() not in plan.products)
        plan.products.update(created)
        waiting, plan.waiting = plan.waiting, []
        _plan_events(waiting, results, known, plan, source=source, store=store, create=True)
    _require_contacts({row[2] for row in plan.rows if row[2] is not None})
    _insert_rows(plan.rows, skip_replays=skip_replays)
    _summarise_views(plan.views, {p.pk: p for p in plan.products.values()})
    facts.bump_activity(plan.activity)
    _touch_visitors(plan.seen_visitors, plan.latest, store, known.visitor_ids)
    for visitor_id, contact_id in plan.identified.items():
        _attach_visitor(visitor_id, Contact.objects.get(pk=contact_id), store=store, when=plan.latest)


def _require_contacts(contact_ids: set[int]) -> None:
    """The behaviour events' ``contact`` has no foreign key (its check at commit cost PostgreSQL ~12 µs an event, a
    fifth of its share of ingest). Instead the contacts, looked up before the transaction, are checked once inside
    it, under the lock that every removal of contacts takes first (``core.db.CONTACT_REMOVAL_LOCK``): one that
    vanished meanwhile fails the batch (IntegrityError), which is then resolved again, as the foreign key's failure
    was."""
    if contact_ids and len(rows_by_keys(Contact, "id", contact_ids, ("id",))) != len(contact_ids):
        raise IntegrityError("A contact this batch refers to was removed while the batch was written.")


# --- visitors -------------------------------------------------------------------------------------------------

def _attach_visitor(visitor_id: str, contact: Contact, *, store: Store | None, when: dt.datetime) -> dict[str, int]:
    """Link a visitor to a contact and give the contact the visitor's anonymous events, carts and orders."""
    visitor, _created = Visitor.objects.get_or_create(
        visitor_id=visitor_id, defaults={"contact": contact, "store": store, "first_seen_at": when,
                                         "last_seen_at": when, "identified_at": timezone.now()})
    if visitor.contact_id != contact.pk:
        Visitor.objects.filter(pk=visitor.pk).update(contact=contact, identified_at=timezone.now(),
                                                     last_seen_at=Greatest(F("last_seen_at"), when))
    # ``~Q(visitor_id="")`` repeats the partial indexes' condition so that SQLite uses them.
    anonymous = Q(visitor_id=visitor_id, contact__isnull=True) & ~Q(visitor_id="")
    view_rows = list(BehaviourEvent.objects.filter(anonymous, kind=BehaviourKind.PRODUCT_VIEW, product__isnull=False)
                     .values_list("product_id", "occurred_at"))
    moved_events = BehaviourEvent.objects.filter(anonymous).update(contact=contact)
    cart_ids = list(Cart.objects.filter(anonymous).values_list("pk", flat=True))
    order_ids = list(Order.objects.filter(anonymous).values_list("pk", flat=True))
    if cart_ids:
        Cart.objects.filter(pk__in=cart_ids).update(contact=contact)
        Event.objects.filter(subject_type="cart", subject_id__in=cart_ids, contact_id__isnull=True) \
            .update(contact_id=contact.pk)
    if order_ids:
        Order.objects.filter(pk__in=order_ids).update(contact=contact)
        Event.objects.filter(subject_type="order", subject_id__in=order_ids, contact_id__isnull=True) \
            .update(contact_id=contact.pk)
        facts.recompute(contact.pk)
    if view_rows:
        views: dict[tuple[int, int, dt.date], list[dt.datetime]] = defaultdict(list)
        for product_id, occurred in view_rows:
            views[(contact.pk, product_id, _week_start(occurred))].append(occurred)
        _summarise_views(views, {p.pk: p for p in Product.objects.filter(pk__in={k[1] for k in views})})
    if moved_events:
        last = BehaviourEvent.objects.filter(contact=contact).order_by("-occurred_at").values_list(
            "occurred_at", flat=True).first()
        if last:
            facts.bump_activity({contact.pk: last})
    return {"events": moved_events, "carts": len(cart_ids), "orders": len(order_ids)}


def identify(*, visitor_id: str, email: str = "", contact: Contact | None = None, name: str = "", source: str,
             store: Store | None = None) -> Contact:
    """The visitor said who they are (login, form, email click): link the visitor id to the contact (created from
    the email when new) and move the visitor's anonymous events, carts and orders to it, updating the facts."""
    p = Problems()
    info = ingest.customer(p, {"visitor_id": visitor_id, "email": email, "name": name}, required=False)
    if not info["visitor_id"]:
        p.add("visitor_id", _("This field is required."))
    if contact is None and not info["email"] and "email" not in p.errors:
        p.add("email", _("Send the visitor's email address or a contact."))
    p.raise_if_any()
    with transaction.atomic():
        lock_for_transaction(CONTACT_REMOVAL_LOCK, shared=True)  # the contact stays until the events are moved
        if contact is None:
            contact = _find_contact({**info, "visitor_id": ""}, source=source, store=store)
        elif not Contact.objects.filter(pk=contact.pk).exists():
            raise ValidationError({"contact": [_("There is no contact with the id %(id)s.") % {"id": contact.uuid}]})
        assert contact is not None
        contact = _follow_merge(contact)
        moved = _attach_visitor(info["visitor_id"], contact, store=store, when=timezone.now())
        emit("visitor.identified", subject=contact, contact_id=contact.pk,
             payload={"visitor_id": info["visitor_id"], "source": _source_label(source, store), **moved})
    return contact


# --- batches --------------------------------------------------------------------------------------------------

def _one(index: int, write: Any) -> ItemResult:
    try:
        with transaction.atomic():
            obj, status = write()
    except ValidationError as exc:
        return _error(index, exc)
    except IntegrityError:
        return ItemResult(index, "error", None, 409, [{"field": "", "message": _(
            "This item conflicted with another write at the same moment; send it again.")}])
    notes = [_("Unknown SKU %(sku)s: a placeholder product was created.") % {"sku": sku}
             for sku in getattr(obj, "placeholder_skus", [])]
    return ItemResult(index, status, str(obj.uuid), 201 if status == "created" else 200, [], notes)


def ingest_batch(kind: str, items: Any, *, source: str, store: Store | None = None, actor: Any = None) -> list[ItemResult]:
    """Record a batch of ``events``, ``orders`` or ``carts`` (at most 1,000): one result per item, in order.

    Each order or cart is all-or-nothing (a savepoint each) and the good items land even when others fail;
    events are validated one by one and the good ones inserted together."""
    if kind not in KINDS:
        raise ValidationError({"kind": [_("“%(value)s” is not one of events, orders, carts.") % {"value": kind}]})
    if not isinstance(items, list):
        raise ValidationError({"items": [_("Send the items as a list.")]})
    if not items:
        raise ValidationError({"items": [_("Send at least one item.")]})
    if len(items) > ingest.MAX_ITEMS:
        raise ValidationError({"items": [_("At most %(max)s items per request; this one has %(n)s. Split it into "
                                           "smaller batches.") % {"max": f"{ingest.MAX_ITEMS:,}", "n": f"{len(items):,}"}]})
    if kind == "events":
        return record_events(items, source=source, store=store)
    results = []
    with transaction.atomic():
        for index, raw in enumerate(items):
            if not isinstance(raw, dict):
                results.append(ItemResult(index, "error", None, 400,
                                          [{"field": "", "message": _("Each item must be a JSON object.")}]))
            elif kind == "orders":
                results.append(_one(index, lambda raw=raw: record_order(raw, source=source, actor=actor, store=store)))
            else:
                results.append(_one(index, lambda raw=raw: upsert_cart(raw, source=source, store=store)))
    return results


# --- facts and settings ---------------------------------------------------------------------------------------

def recompute_customer_facts(contact: Contact) -> None:
    """Rebuild one contact's facts from scratch (after a merge, or ``manage.py commerce_facts --rebuild``)."""
    with transaction.atomic():
        facts.recompute(contact.pk)


def commerce_settings() -> CommerceSettings:
    return CommerceSettings.objects.get_or_create(pk=1)[0]


def update_commerce_settings(*, user: Any, data: dict[str, Any]) -> CommerceSettings:
    """Admins set the abandon delay (``abandon_after_minutes``, 5 minutes to 7 days)."""
    require(is_admin(user), _("Only admins change commerce settings."))
    p = Problems()
    raw = data.get("abandon_after_minutes")
    minutes = None
    try:
        minutes = int(str(raw).strip())
    except (TypeError, ValueError):
        p.add("abandon_after_minutes", _("Enter a whole number of minutes."))
    if minutes is not None and not 5 <= minutes <= 7 * 24 * 60:
        p.add("abandon_after_minutes", _("Choose between 5 minutes and 7 days (10,080 minutes)."))
    p.raise_if_any()
    with transaction.atomic():
        row = CommerceSettings.objects.select_for_update().get_or_create(pk=1)[0]
        before = row.abandon_after_minutes
        if before != minutes:
            row.abandon_after_minutes = minutes  # type: ignore[assignment]
            row.save(update_fields=["abandon_after_minutes"])
            audit.record(AuditAction.UPDATE, actor=user, obj=row,
                         changes={"abandon_after_minutes": [before, minutes]})
    return row
