"""Store payloads → ``commerce.services`` calls.

Four senders, one set of services:

- the tracking snippet (``collect``): page/product views, add to cart (+ the cart), identify, custom events;
- Shopify webhooks (``orders/*``, ``refunds/create``, ``checkouts/create|update``), signed with
  ``X-Shopify-Hmac-Sha256`` = base64(HMAC-SHA256(secret, raw body));
- WooCommerce webhooks (``order.created|updated|restored``), ``X-WC-Webhook-Signature`` = the same over the raw
  body, topic in ``X-WC-Webhook-Topic``;
- a generic JSON webhook (``X-Amity-Signature: sha256=<hex HMAC-SHA256>``) whose fields are picked out of any
  payload by a small mapping (``validate_mapping`` / ``apply_mapping``).

Nothing here writes a commerce row: every write goes through ``record_order``, ``upsert_cart``, ``record_events``,
``refund_order``, ``identify`` or ``ingest_batch``, so a webhook, the snippet and the ingest API accept and refuse
exactly the same input. The sender's ids make every call idempotent: ``source`` is ``store:<public key>``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import uuid as uuid_module
from collections.abc import Mapping
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amity.commerce import services
from amity.commerce.ingest import error_list
from amity.commerce.models import Order, Store, StoreKind

CENT = Decimal("0.01")
SHOPIFY_TOPICS = ["orders/create", "orders/updated", "orders/paid", "orders/fulfilled", "orders/cancelled",
                  "refunds/create", "checkouts/create", "checkouts/update"]
WOOCOMMERCE_TOPICS = ["order.created", "order.updated", "order.restored"]


def source_for(store: Store) -> str:
    return f"store:{store.public_key}"


# --- signatures ------------------------------------------------------------------------------------------------

def _digest(secret: str, raw: bytes) -> bytes:
    return hmac.new(secret.encode(), raw, hashlib.sha256).digest()


def verify_signature(platform: str, secret: str, raw: bytes, headers: Mapping[str, str]) -> bool:
    """The platform's HMAC over the raw body, compared in constant time. No secret → nothing verifies."""
    if not secret:
        return False
    if platform in (StoreKind.SHOPIFY, StoreKind.WOOCOMMERCE):
        header = "X-Shopify-Hmac-Sha256" if platform == StoreKind.SHOPIFY else "X-WC-Webhook-Signature"
        given = (headers.get(header) or "").strip()
        expected = base64.b64encode(_digest(secret, raw)).decode()
        return bool(given) and hmac.compare_digest(given.encode(), expected.encode())
    if platform == StoreKind.GENERIC:
        given = (headers.get("X-Amity-Signature") or "").strip()
        if not given.startswith("sha256="):
            return False
        return hmac.compare_digest(given[7:].lower().encode(), _digest(secret, raw).hex().encode())
    return False


def sign_generic(secret: str, raw: bytes) -> str:
    """The ``X-Amity-Signature`` header value a sender computes (documented; used by tests)."""
    return "sha256=" + _digest(secret, raw).hex()


_PING = re.compile(rb"^webhook_id=\d{1,20}$")


def is_woocommerce_ping(headers: Mapping[str, str], raw: bytes) -> bool:
    """WooCommerce pings a new webhook's URL with a form-encoded ``webhook_id=<n>`` (unsigned); answer 200."""
    return not headers.get("X-WC-Webhook-Topic") and bool(_PING.match(raw.strip()))


# --- small helpers ---------------------------------------------------------------------------------------------

def _dec(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _money(value: Any) -> Any:
    """Amounts as strings with cents; anything unreadable passes through so the service names the field."""
    number = _dec(value)
    return value if number is None else str(number.quantize(CENT, rounding=ROUND_HALF_UP))


def _str(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "")}


def _gmt(value: Any) -> Any:
    """WooCommerce's ``*_gmt`` times have no zone: they are UTC."""
    text = _str(value)
    if text and not re.search(r"(Z|[+-]\d\d:?\d\d)$", text):
        return text + "Z"
    return text or None


# --- Shopify ---------------------------------------------------------------------------------------------------

def _shopify_sku(line: dict[str, Any]) -> str:
    sku = _str(line.get("sku"))
    if sku:
        return sku
    variant = line.get("variant_id") or line.get("product_id") or line.get("id")
    return f"shopify-{variant}" if variant else ""


def _shopify_customer(payload: dict[str, Any]) -> dict[str, Any]:
    customer = _obj(payload.get("customer"))
    billing = _obj(payload.get("billing_address"))
    return {
        "email": _str(payload.get("email") or payload.get("contact_email") or customer.get("email")),
        "first_name": _str(customer.get("first_name") or billing.get("first_name")),
        "last_name": _str(customer.get("last_name") or billing.get("last_name")),
    }


def _shopify_refunded(payload: dict[str, Any]) -> Decimal:
    total = Decimal(0)
    for refund in _list(payload.get("refunds")):
        for tx in _list(_obj(refund).get("transactions")):
            tx = _obj(tx)
            if tx.get("kind") == "refund" and tx.get("status") == "success":
                total += _dec(tx.get("amount")) or Decimal(0)
    return total


def shopify_order(payload: dict[str, Any]) -> dict[str, Any]:
    """An ``orders/*`` payload → ``record_order`` data.

    Lines are net of their discount allocations; ``discount_total`` is what is left of ``total_discounts`` after
    them (older orders); shipping is net of shipping discounts; with ``taxes_included`` the tax is inside the
    prices, so it is not added again (kept in the note).
    """
    lines = []
    allocated = Decimal(0)
    for raw in _list(payload.get("line_items")):
        line = _obj(raw)
        discount = sum((_dec(_obj(a).get("amount")) or Decimal(0) for a in _list(line.get("discount_allocations"))),
                       Decimal(0))
        if not line.get("discount_allocations"):
            discount = _dec(line.get("total_discount")) or Decimal(0)
        allocated += discount
        shop_money = _obj(_obj(line.get("price_set")).get("shop_money"))
        lines.append(_drop_empty({
            "sku": _shopify_sku(line), "name": _str(line.get("title") or line.get("name")),
            "quantity": line.get("quantity"), "unit_price": _money(line.get("price")),
            "discount": _money(discount), "currency": _str(shop_money.get("currency_code")),
        }))
    shipping = Decimal(0)
    for raw in _list(payload.get("shipping_lines")):
        ship = _obj(raw)
        discounted = _dec(ship.get("discounted_price"))
        shipping += discounted if discounted is not None else (_dec(ship.get("price")) or Decimal(0))
    total_discounts = _dec(payload.get("total_discounts")) or Decimal(0)
    taxes_included = bool(payload.get("taxes_included"))
    tax = _dec(payload.get("total_tax")) or Decimal(0)
    financial = _str(payload.get("financial_status"))
    fulfilled = _str(payload.get("fulfillment_status")) == "fulfilled"
    if payload.get("cancelled_at"):
        status = "cancelled"
    elif financial == "refunded":
        status = "refunded"
    elif fulfilled and financial in {"paid", "partially_refunded"}:
        status = "fulfilled"
    elif financial in {"paid", "partially_refunded"}:
        status = "paid"
    else:
        status = "placed"
    fulfillments = [_obj(f) for f in _list(payload.get("fulfillments"))]
    placed_at = payload.get("created_at") or payload.get("processed_at")
    data = {
        "external_id": _str(payload.get("id")),
        "number": _str(payload.get("name") or payload.get("order_number")),
        **_shopify_customer(payload),
        "status": status,
        "channel": "online",
        "currency": _str(payload.get("currency")),
        "placed_at": placed_at,
        "paid_at": (payload.get("processed_at") or placed_at) if status in {"paid", "fulfilled", "refunded"} else None,
        "fulfilled_at": (fulfillments[-1].get("created_at") if fulfillments else payload.get("updated_at"))
        if status == "fulfilled" else None,
        "lines": lines,
        "discount_total": _money(max(total_discounts - allocated, Decimal(0))),
        "tax_total": "0.00" if taxes_included else _money(tax),
        "shipping_total": _money(shipping),
        "total": _money(payload.get("total_price")),
        "refunded_amount": _money(_shopify_refunded(payload)),
        "cart": f"checkout:{payload['checkout_token']}" if payload.get("checkout_token") else "",
        "note": (_("Prices include tax of %(tax)s.") % {"tax": _money(tax)}) if taxes_included and tax else "",
    }
    return _drop_empty(data)


def shopify_cart(payload: dict[str, Any]) -> dict[str, Any]:
    """A ``checkouts/create|update`` payload → ``upsert_cart`` data (a checkout is a started checkout)."""
    items = [_drop_empty({
        "sku": _shopify_sku(_obj(raw)), "name": _str(_obj(raw).get("title")),
        "quantity": _obj(raw).get("quantity"), "unit_price": _money(_obj(raw).get("price")),
    }) for raw in _list(payload.get("line_items"))]
    token = _str(payload.get("token") or payload.get("id"))
    return _drop_empty({
        "external_id": f"checkout:{token}" if token else "",
        **_shopify_customer(payload),
        "currency": _str(payload.get("presentment_currency") or payload.get("currency")),
        "cart_url": _str(payload.get("abandoned_checkout_url")),
        "updated_at": payload.get("updated_at") or payload.get("created_at"),
        "checkout_started_at": payload.get("created_at"),
        "items": items,
    })


def shopify_refund(payload: dict[str, Any]) -> dict[str, Any]:
    """A ``refunds/create`` payload → the order's id, the refund's id and the amount refunded (successful refund
    transactions)."""
    amount = Decimal(0)
    for raw in _list(payload.get("transactions")):
        tx = _obj(raw)
        if tx.get("kind") == "refund" and tx.get("status") in ("success", None):
            value = _dec(tx.get("amount"))
            if value is None or value < 0:
                raise ValidationError({"transactions": [_("A refund transaction amount must be a positive number.")]})
            amount += value
    return {"order_external_id": _str(payload.get("order_id")), "refund_id": _str(payload.get("id")),
            "amount": amount, "refunded_at": payload.get("created_at")}


# --- WooCommerce -----------------------------------------------------------------------------------------------

WOO_STATUS = {"pending": "placed", "on-hold": "placed", "failed": "placed", "checkout-draft": "placed",
              "processing": "paid", "completed": "fulfilled", "cancelled": "cancelled", "refunded": "refunded"}


def woocommerce_order(payload: dict[str, Any]) -> dict[str, Any]:
    """An ``order.*`` payload → ``record_order`` data. Line totals are net of coupons (``subtotal`` − ``total``
    is the line's discount); fees are added as lines (negative fees as a discount)."""
    lines = []
    for raw in _list(payload.get("line_items")):
        line = _obj(raw)
        quantity = _dec(line.get("quantity"))
        gross = _dec(line.get("subtotal"))
        net = _dec(line.get("total"))
        sku = _str(line.get("sku")) or (f"woo-{line.get('variation_id') or line.get('product_id')}"
                                        if line.get("variation_id") or line.get("product_id") else "")
        item: dict[str, Any] = {"sku": sku, "name": _str(line.get("name")), "quantity": line.get("quantity")}
        if quantity and quantity > 0 and gross is not None and net is not None and gross >= 0 and net >= 0:
            unit = (gross / quantity).quantize(CENT, rounding=ROUND_HALF_UP)
            while unit * quantity < net:  # rounding must not leave a negative discount
                unit += CENT
            item["unit_price"] = str(unit)
            item["discount"] = str((unit * quantity - net).quantize(CENT))
        else:
            item["unit_price"] = line.get("price") if gross is None else _money(gross)
        lines.append(_drop_empty(item))
    discount = Decimal(0)
    for raw in _list(payload.get("fee_lines")):
        fee = _obj(raw)
        value = _dec(fee.get("total")) or Decimal(0)
        if value >= 0:
            lines.append({"sku": "", "name": _str(fee.get("name")) or _("Fee"), "quantity": 1,
                          "unit_price": _money(value)})
        else:
            discount += -value
    refunded = sum((-(_dec(_obj(r).get("total")) or Decimal(0)) for r in _list(payload.get("refunds"))), Decimal(0))
    billing = _obj(payload.get("billing"))
    status = WOO_STATUS.get(_str(payload.get("status")), "placed")
    return _drop_empty({
        "external_id": _str(payload.get("id")),
        "number": _str(payload.get("number")),
        "email": _str(billing.get("email")),
        "first_name": _str(billing.get("first_name")),
        "last_name": _str(billing.get("last_name")),
        "status": status,
        "channel": "online",
        "currency": _str(payload.get("currency")),
        "placed_at": _gmt(payload.get("date_created_gmt")),
        "paid_at": _gmt(payload.get("date_paid_gmt")),
        "fulfilled_at": _gmt(payload.get("date_completed_gmt")) if status == "fulfilled" else None,
        "lines": lines,
        "discount_total": _money(discount),
        "tax_total": _money(payload.get("total_tax")),
        "shipping_total": _money(payload.get("shipping_total")),
        "total": _money(payload.get("total")),
        "refunded_amount": _money(abs(refunded)) if refunded else None,
    })


# --- the generic mapping ---------------------------------------------------------------------------------------

ORDER_FIELDS = {"external_id", "number", "email", "contact", "visitor_id", "name", "first_name", "last_name",
                "status", "channel", "currency", "placed_at", "paid_at", "fulfilled_at", "subtotal",
                "discount_total", "tax_total", "shipping_total", "total", "refunded_amount", "note", "cart"}
LINE_FIELDS = {"sku", "name", "category", "quantity", "unit_price", "discount", "total", "image_url",
               "product_url", "currency"}
CART_FIELDS = {"external_id", "email", "contact", "visitor_id", "name", "first_name", "last_name", "currency",
               "cart_url", "updated_at", "checkout_started_at"}
CART_ITEM_FIELDS = LINE_FIELDS - {"discount", "total", "category"}
EVENT_FIELDS = {"external_id", "kind", "email", "contact", "visitor_id", "name", "occurred_at", "url",
                "properties", "product", "product.sku", "product.name", "product.category", "product.image_url",
                "product.product_url"}
MAPPING_KINDS: dict[str, tuple[set[str], str, set[str]]] = {
    # kind: (fields, list field, the list items' fields)
    "order": (ORDER_FIELDS, "lines", LINE_FIELDS),
    "cart": (CART_FIELDS, "items", CART_ITEM_FIELDS),
    "event": (EVENT_FIELDS, "", set()),
}
_PATH = re.compile(r"^(\$|[A-Za-z0-9_@-]+(\.[A-Za-z0-9_@-]+)*)$")
EXAMPLE_MAPPING: dict[str, Any] = {
    "kind": "order",
    "fields": {
        "external_id": "id", "number": "reference", "email": "customer.email", "currency": "currency",
        "placed_at": "created_at", "total": "amount", "tax_total": "tax", "shipping_total": "shipping",
        "lines": "items[*]", "lines.sku": "sku", "lines.name": "title", "lines.quantity": "qty",
        "lines.unit_price": "price",
    },
    "defaults": {"status": "paid"},
}


def validate_mapping(mapping: Any) -> dict[str, Any]:
    """Check a generic mapping; ``ValidationError`` lists every problem (each naming the key at fault)."""
    problems: list[str] = []
    if not isinstance(mapping, dict):
        raise ValidationError(_("The mapping must be a JSON object with “kind” and “fields”."))
    unknown = set(mapping) - {"kind", "items", "fields", "defaults"}
    if unknown:
        problems.append(_("Unknown keys: %(keys)s (use kind, items, fields, defaults).")
                        % {"keys": ", ".join(sorted(unknown))})
    kind = mapping.get("kind")
    if kind not in MAPPING_KINDS:
        problems.append(_("“kind” must be one of: %(kinds)s.") % {"kinds": ", ".join(MAPPING_KINDS)})
        raise ValidationError(problems)
    allowed, list_field, list_allowed = MAPPING_KINDS[kind]
    items = mapping.get("items")
    if items is not None and not (isinstance(items, str) and items.endswith("[*]") and _PATH.match(items[:-3])):
        problems.append(_("“items” must be a path to a list ending in [*], e.g. “orders[*]”."))
    fields = mapping.get("fields")
    if not isinstance(fields, dict) or not fields:
        problems.append(_("“fields” must be an object: {\"target field\": \"path in the payload\"}."))
        fields = {}
    for target, path in fields.items():
        if not isinstance(path, str) or not path:
            problems.append(_("fields.%(target)s: the path must be text.") % {"target": target})
            continue
        if list_field and target == list_field:
            if not (path.endswith("[*]") and _PATH.match(path[:-3])):
                problems.append(_("fields.%(target)s: a list path ends in [*], e.g. “items[*]”.")
                                % {"target": target})
            continue
        if list_field and target.startswith(list_field + "."):
            sub = target[len(list_field) + 1:]
            if sub not in list_allowed:
                problems.append(_("fields.%(target)s: unknown field; %(list)s items have %(fields)s.")
                                % {"target": target, "list": list_field, "fields": ", ".join(sorted(list_allowed))})
            elif list_field not in fields:
                problems.append(_("fields.%(target)s: map “%(list)s” to the list first (e.g. “items[*]”).")
                                % {"target": target, "list": list_field})
        elif target not in allowed:
            problems.append(_("fields.%(target)s: unknown field; a %(kind)s has %(fields)s.")
                            % {"target": target, "kind": kind,
                               "fields": ", ".join(sorted(allowed | ({list_field} if list_field else set())))})
            continue
        if not _PATH.match(path):
            problems.append(_("fields.%(target)s: “%(path)s” is not a path (keys separated by dots, list "
                              "positions as numbers: customer.emails.0).") % {"target": target, "path": path[:60]})
    if "external_id" not in fields:
        problems.append(_("fields.external_id is required: it makes a replayed webhook change nothing."))
    defaults = mapping.get("defaults", {})
    if not isinstance(defaults, dict) or any(k not in allowed or isinstance(v, dict | list)
                                             for k, v in defaults.items()):
        problems.append(_("“defaults” must be an object of %(kind)s fields with plain values.") % {"kind": kind})
    if problems:
        raise ValidationError(problems)
    return {k: mapping[k] for k in ("kind", "items", "fields", "defaults") if k in mapping}


_MISSING = object()


def _get(obj: Any, path: str) -> Any:
    if path == "$":
        return obj
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(part, _MISSING)
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return _MISSING
        if obj is _MISSING:
            return _MISSING
    return obj


def apply_mapping(mapping: dict[str, Any], item: Any) -> dict[str, Any]:
    """One payload item → the service's dict. Missing paths are left out (the service names what is required);
    a list path that is not a list is an error on that field."""
    _allowed, list_field, _list_allowed = MAPPING_KINDS[mapping["kind"]]
    fields: dict[str, str] = mapping["fields"]
    out: dict[str, Any] = dict(mapping.get("defaults") or {})
    for target, path in fields.items():
        if list_field and (target == list_field or target.startswith(list_field + ".")):
            continue
        value = _get(item, path)
        if value is _MISSING:
            continue
        if "." in target:  # product.sku → {"product": {"sku": …}}
            head, tail = target.split(".", 1)
            if not isinstance(out.get(head), dict):
                out[head] = {}
            out[head][tail] = value
        else:
            out[target] = value
    if list_field and list_field in fields:
        rows = _get(item, fields[list_field][:-3])
        if rows is _MISSING:
            rows = []
        if not isinstance(rows, list):
            raise ValidationError({list_field: [_("“%(path)s” is not a list in this payload.")
                                                % {"path": fields[list_field]}]})
        subs = {t[len(list_field) + 1:]: p for t, p in fields.items() if t.startswith(list_field + ".")}
        out[list_field] = [{sub: v for sub, p in subs.items() if (v := _get(row, p)) is not _MISSING}
                           for row in rows]
    return out


# --- dispatch ----------------------------------------------------------------------------------------------------

def _result(kind: str, obj: Any, status: str) -> dict[str, Any]:
    return {"kind": kind, "status": status, "id": str(obj.uuid) if obj is not None else None}


def _order_result(order: Order, status: str) -> dict[str, Any]:
    result = _result("order", order, status)
    placeholders = getattr(order, "placeholder_skus", [])
    if placeholders:
        result["notes"] = [_("Unknown SKU %(sku)s: a placeholder product was created.") % {"sku": sku}
                           for sku in placeholders]
    return result


def _refund_marker(store: Store, refund_id: str) -> str:
    return f"{source_for(store)}:refund:{refund_id}"


def _refund_seen(order: Order, marker: str) -> bool:
    from amity.core.models import AuditEntry

    return AuditEntry.objects.filter(object_type="order", object_id=order.pk, changes__webhook_refund=marker).exists()


def _mark_refund(order: Order, marker: str) -> None:
    from amity.core import audit

    audit.record("update", actor=None, obj=order, changes={"webhook_refund": marker})


def _refund(store: Store, data: dict[str, Any]) -> dict[str, Any]:
    """Apply a refund once. Its id is recorded on the order's audit trail in the same transaction (here, or when an
    ``orders/updated`` carrying it arrived first), and a delivery that finds it changes nothing."""
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(
            source=source_for(store), external_id=data["order_external_id"]).first()
        if order is None:
            raise ValidationError({"order_id": [
                _("There is no order %(id)s from this store yet; it is recorded by the orders/create webhook, "
                  "which must arrive first (Shopify retries this one).") % {"id": data["order_external_id"][:40]}]})
        marker = _refund_marker(store, data["refund_id"])
        if data["refund_id"] and _refund_seen(order, marker):
            return _result("refund", order, "unchanged")
        if data["amount"] <= 0:  # a refund that moved no money (a restock only)
            return _result("refund", order, "unchanged")
        order = services.refund_order(order=order, amount=data["amount"], actor=None)
        _mark_refund(order, marker)
    return _result("refund", order, "updated")


def _shopify_order(store: Store, payload: dict[str, Any]) -> dict[str, Any]:
    """``record_order`` plus: the refunds the order already lists are marked as applied, so their own
    ``refunds/create`` deliveries (which may come later) do not count them twice."""
    with transaction.atomic():
        order, status = services.record_order(shopify_order(payload), source=source_for(store), store=store)
        for refund in _list(payload.get("refunds")):
            refund_id = _str(_obj(refund).get("id"))
            if refund_id and not _refund_seen(order, marker := _refund_marker(store, refund_id)):
                _mark_refund(order, marker)
    return _order_result(order, status)


def handle_webhook(store: Store, platform: str, headers: Mapping[str, str], payload: Any) -> Any:
    """Dispatch a verified, parsed webhook. Returns a result dict, or a list of ``ItemResult`` for a generic
    batch. Raises ``ValidationError`` (→ 422) with the fields at fault; nothing is written then."""
    source = source_for(store)
    if platform == StoreKind.GENERIC:
        return _generic(store, payload)
    if not isinstance(payload, dict):
        raise ValidationError({"": [_("The payload must be a JSON object.")]})
    if platform == StoreKind.SHOPIFY:
        topic = (headers.get("X-Shopify-Topic") or "").strip()
        if topic.startswith("orders/"):
            return _shopify_order(store, payload)
        if topic == "refunds/create":
            return _refund(store, shopify_refund(payload))
        if topic in ("checkouts/create", "checkouts/update"):
            cart, status = services.upsert_cart(shopify_cart(payload), source=source, store=store)
            return _result("cart", cart, status)
        return {"status": "ignored", "detail": _("Amity does not use the topic “%(topic)s”; subscribe to: "
                                                 "%(topics)s.") % {"topic": topic[:60],
                                                                   "topics": ", ".join(SHOPIFY_TOPICS)}}
    if platform == StoreKind.WOOCOMMERCE:
        topic = (headers.get("X-WC-Webhook-Topic") or "").strip()
        if topic in WOOCOMMERCE_TOPICS:
            order, status = services.record_order(woocommerce_order(payload), source=source, store=store)
            return _order_result(order, status)
        return {"status": "ignored", "detail": _("Amity does not use the topic “%(topic)s”; subscribe to: "
                                                 "%(topics)s.") % {"topic": topic[:60],
                                                                   "topics": ", ".join(WOOCOMMERCE_TOPICS)}}
    raise ValidationError({"": [_("Unknown platform.")]})


def _generic(store: Store, payload: Any) -> list[Any]:
    mapping = store.mapping or {}
    if not mapping.get("kind"):
        raise ValidationError({"mapping": [_("This store has no mapping yet; an admin sets it under Settings → "
                                             "Stores.")]})
    if mapping.get("items"):
        items = _get(payload, mapping["items"][:-3])
        if not isinstance(items, list):
            raise ValidationError({mapping["items"]: [_("Expected a list of items here.")]})
    else:
        items = [payload]
    results: list[Any] = [None] * len(items)
    good: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(items):
        try:
            good.append((index, apply_mapping(mapping, item)))
        except ValidationError as exc:
            results[index] = services.ItemResult(index=index, status="error", id=None, http_status=422,
                                                 errors=error_list(exc))
    if good:
        landed = services.ingest_batch(mapping["kind"] + "s", [data for _i, data in good], source=source_for(store),
                                       store=store)
        for (index, _data), result in zip(good, landed, strict=True):
            results[index] = replace(result, index=index)
    return results


# --- the snippet ---------------------------------------------------------------------------------------------------

_VISITOR = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
SNIPPET_TYPES = {"page", "product", "search", "addToCart", "checkout", "identify", "track"}


def _occurred_at(raw: Any, skew: dt.timedelta) -> str | None:
    """The event's browser time (ms since the epoch) corrected by the browser clock's offset from ours."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None if raw in (None, "") else str(raw)
    try:
        moment = dt.datetime.fromtimestamp(raw / 1000, tz=dt.UTC) + skew
    except (OverflowError, OSError, ValueError):
        return str(raw)
    return moment.isoformat()


def _product(props: dict[str, Any]) -> dict[str, Any]:
    return _drop_empty({"sku": props.get("sku"), "name": props.get("name"), "category": props.get("category"),
                        "image_url": props.get("image"), "product_url": props.get("url")})


def _snippet_item(raw: Any, *, visitor_id: str, skew: dt.timedelta) -> tuple[str, dict[str, Any], Any]:
    """One snippet event → ("event" | "identify", data, the cart to upsert or None)."""
    if not isinstance(raw, dict):
        raise ValidationError({"": [_("Each event must be a JSON object.")]})
    kind = raw.get("type")
    if kind not in SNIPPET_TYPES:
        raise ValidationError({"type": [_("“%(value)s” is not an event type; use one of %(types)s.")
                                        % {"value": str(kind)[:40], "types": ", ".join(sorted(SNIPPET_TYPES))}]})
    props = raw.get("props") or {}
    if not isinstance(props, dict):
        raise ValidationError({"props": [_("Send an object here.")]})
    external_id = _str(raw.get("id"))
    try:
        uuid_module.UUID(external_id)
    except ValueError:
        raise ValidationError({"id": [_("Each event needs its own id (a UUID), so a retry is not counted "
                                        "twice.")]}) from None
    occurred_at = _occurred_at(raw.get("ts"), skew)
    if kind == "identify":
        return "identify", {"email": props.get("email"), "name": _str(props.get("name"))[:200]}, None
    data: dict[str, Any] = {"external_id": external_id, "kind": kind, "visitor_id": visitor_id,
                            "occurred_at": occurred_at, "url": raw.get("url")}
    cart = None
    if kind == "page":
        data["properties"] = {k: props[k] for k in ("title", "referrer") if props.get(k)}
    elif kind == "search":
        data["name"] = props.get("query")
    elif kind == "track":
        data["name"] = props.get("name")
        data["properties"] = {k: v for k, v in props.items() if k != "name"}
    elif kind in ("product", "addToCart"):
        data["product"] = _product(props) or None
        data["properties"] = _drop_empty({k: props.get(k) for k in ("price", "currency", "quantity")})
    if kind in ("addToCart", "checkout") and isinstance(props.get("cart"), dict):
        raw_cart = props["cart"]
        cart = _drop_empty({
            "external_id": "snippet:" + (_str(raw_cart.get("id")) or visitor_id)[:100],
            "visitor_id": visitor_id,
            "currency": raw_cart.get("currency") or props.get("currency"),
            "cart_url": raw_cart.get("url"),
            "updated_at": occurred_at,
            "checkout_started_at": occurred_at if kind == "checkout" else None,
            "items": [_drop_empty({"sku": _obj(i).get("sku"), "name": _obj(i).get("name"),
                                   "quantity": _obj(i).get("quantity"), "unit_price": _obj(i).get("price"),
                                   "currency": _obj(i).get("currency"), "image_url": _obj(i).get("image"),
                                   "product_url": _obj(i).get("url")}) for i in _list(raw_cart.get("items"))],
        })
    return "event", _drop_empty(data), cart


def collect(store: Store, body: dict[str, Any], *, now: dt.datetime | None = None) -> list[Any]:
    """The snippet's batch → per-event ``ItemResult``s (index = position in ``events``). Plain events land in bulk;
    an add-to-cart with its cart, and an identify, are each all-or-nothing."""
    now = now or timezone.now()
    visitor_id = body.get("visitor_id")
    if not isinstance(visitor_id, str) or not _VISITOR.match(visitor_id):
        raise ValidationError({"visitor_id": [_("Send the visitor id the snippet keeps (8 to 64 letters, digits, "
                                                "- or _).")]})
    events = body.get("events")
    if not isinstance(events, list) or not events:
        raise ValidationError({"events": [_("Send a non-empty list of events.")]})
    sent_at = body.get("sent_at")
    skew = dt.timedelta(0)
    if isinstance(sent_at, int | float) and not isinstance(sent_at, bool):
        try:
            skew = now - dt.datetime.fromtimestamp(sent_at / 1000, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            skew = dt.timedelta(0)
    source = source_for(store)
    results: list[Any] = [None] * len(events)
    pending: list[tuple[int, dict[str, Any]]] = []

    def error(index: int, exc: ValidationError, prefix: str = "") -> Any:
        errors = [{"field": (prefix + e["field"]).rstrip("."), "message": e["message"]} for e in error_list(exc)]
        return services.ItemResult(index=index, status="error", id=None, http_status=422, errors=errors)

    def flush() -> None:
        if pending:
            landed = services.record_events([d for _i, d in pending], source=source, store=store)
            for (index, _d), result in zip(pending, landed, strict=True):
                results[index] = replace(result, index=index)
            pending.clear()

    for index, raw in enumerate(events):
        try:
            kind, data, cart = _snippet_item(raw, visitor_id=visitor_id, skew=skew)
        except ValidationError as exc:
            results[index] = error(index, exc)
            continue
        if kind == "event" and cart is None:
            pending.append((index, data))
            continue
        flush()
        if kind == "identify":
            try:
                services.identify(visitor_id=visitor_id, email=data["email"] or "", name=data["name"],
                                  source=source, store=store)
            except ValidationError as exc:
                results[index] = error(index, exc)
            else:  # the contact's id is not returned to the (public) page
                results[index] = services.ItemResult(index=index, status="updated", id=None, http_status=200,
                                                     errors=[])
            continue
        results[index] = _event_with_cart(index, data, cart, source=source, store=store, error=error)
    flush()
    return results


class _Rollback(Exception):
    def __init__(self, result: Any) -> None:
        self.result = result


def _event_with_cart(index: int, data: dict[str, Any], cart: dict[str, Any], *, source: str, store: Store,
                     error: Any) -> Any:
    try:
        with transaction.atomic():
            try:
                services.upsert_cart(cart, source=source, store=store)
            except ValidationError as exc:
                raise _Rollback(error(index, exc, "props.cart.")) from None
            [result] = services.record_events([data], source=source, store=store)
            if result.status == "error":
                raise _Rollback(replace(result, index=index))
    except _Rollback as rollback:
        return rollback.result
    return replace(result, index=index)
