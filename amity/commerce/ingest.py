"""Validation of what stores send: one order, cart or behaviour event as a plain dict → cleaned values.

Nothing here writes. Each ``clean_*`` returns a dict of cleaned values or raises
``ValidationError({field: [message]})`` naming every problem with its path (``lines.2.quantity``), so an ingest
result tells the sender exactly what to fix. The services (``commerce.services``) call these first and write only
clean input, each item all-or-nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from amity.core.money import CENT, base_currency, clean_currency
from amity.core.normalize import normalize_email

from .models import BehaviourKind, CartStatus, Channel, OrderStatus

MAX_ITEMS = 1000
MAX_LINES = 500
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
TOLERANCE = Decimal("0.01")
MAX_PROPERTIES_BYTES = 4096
# Names senders use for event kinds (the snippet's short names) → BehaviourKind.
KIND_ALIASES = {
    "page": BehaviourKind.PAGE_VIEW, "pageview": BehaviourKind.PAGE_VIEW, "page_view": BehaviourKind.PAGE_VIEW,
    "product": BehaviourKind.PRODUCT_VIEW, "product_view": BehaviourKind.PRODUCT_VIEW,
    "search": BehaviourKind.SEARCH,
    "add_to_cart": BehaviourKind.ADD_TO_CART, "addtocart": BehaviourKind.ADD_TO_CART,
    "checkout": BehaviourKind.CHECKOUT_STARTED, "checkout_started": BehaviourKind.CHECKOUT_STARTED,
    "custom": BehaviourKind.CUSTOM, "track": BehaviourKind.CUSTOM,
}


class Problems:
    """Collects ``field → [messages]`` and raises them together."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        messages = self.errors.setdefault(field, [])
        if str(message) not in messages:  # two cleaners reading one field (a customer's and an event's "name")
            messages.append(str(message))

    def merge(self, exc: ValidationError, rename: Mapping[str, str] | None = None) -> None:
        for field, messages in (exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}).items():
            for message in messages:
                self.add((rename or {}).get(field, field), message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def error_list(exc: ValidationError) -> list[dict[str, str]]:
    """``[{"field": …, "message": …}]`` from a ValidationError (the per-item ``errors`` of an ingest result)."""
    if hasattr(exc, "error_dict"):
        return [{"field": field, "message": message} for field, messages in exc.message_dict.items()
                for message in messages]
    return [{"field": "", "message": m} for m in exc.messages]


# --- scalar cleaners ------------------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def nul_message() -> str:  # a function: translated in the language of the request
    return _("Contains a NUL character (\\u0000), which cannot be stored.")


def _holds_nul(value: Any) -> bool:
    """Whether a JSON value has a NUL character in any string or key (PostgreSQL's jsonb refuses it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def text(p: Problems, data: Mapping[str, Any], field: str, max_length: int, *, required: bool = False,
         path: str = "") -> str:
    raw = data.get(field)
    if type(raw) is str and raw and len(raw) <= max_length and raw.isprintable() and "  " not in raw \
            and raw[0] != " " and raw[-1] != " ":  # most values on the hot path: clean text, returned as sent
        return raw
    if raw is None or raw == "":  # the other common case: nothing sent
        if required:
            p.add(path or field, _("This field is required."))
        return ""
    name = path or field
    if not isinstance(raw, str | int | float):
        p.add(name, _("Send text here."))
        return ""
    value = raw if type(raw) is str else str(raw)
    if not (value.isprintable() and "  " not in value and value[:1] != " " and value[-1:] != " "):
        if "\x00" in value:  # PostgreSQL cannot store it: the item is refused, not the whole batch
            p.add(name, nul_message())
            return ""
        value = _SPACES.sub(" ", value).strip()  # = core.normalize.clean_text (most values are clean already)
    if required and not value:
        p.add(name, _("This field is required."))
    elif len(value) > max_length:
        p.add(name, _("At most %(n)s characters.") % {"n": max_length})
        value = value[:max_length]
    return value


def url(p: Problems, data: Mapping[str, Any], field: str, *, path: str = "") -> str:
    value = text(p, data, field, 500, path=path)
    if value and not value.lower().startswith(("http://", "https://")):
        p.add(path or field, _("“%(value)s” is not a web address (http:// or https://).") % {"value": value[:100]})
        return ""
    return value


def moment(p: Problems, data: Mapping[str, Any], field: str, *, now: dt.datetime, required: bool = False,
           default: dt.datetime | None = None, path: str = "") -> dt.datetime | None:
    """An ISO 8601 date-time (a time without a zone is taken as UTC), not more than 5 minutes in the future."""
    raw = data.get(field)
    name = path or field
    if raw in (None, ""):
        if required:
            p.add(name, _("This field is required."))
        return default
    value = raw if isinstance(raw, dt.datetime) else _parse_moment(str(raw))
    if value is None:
        p.add(name, _("“%(value)s” is not a date and time (ISO 8601, e.g. 2026-05-01T14:30:00Z).")
              % {"value": str(raw)[:60]})
        return default
    if value.utcoffset() is None:
        value = timezone.make_aware(value, dt.UTC)
    if value > now + FUTURE_TOLERANCE:
        p.add(name, _("%(value)s is in the future; send the time it happened (clocks may differ by 5 minutes at "
                      "most).") % {"value": value.isoformat()})
        return default
    return value


@lru_cache(maxsize=4096)
def _parse_moment(raw: str) -> dt.datetime | None:
    """An ISO 8601 string → datetime (aware in UTC when it had no zone), None when it is not one; cached, as the
    events of a batch often share their timestamps."""
    try:
        value = parse_datetime(raw.strip())
    except ValueError:
        return None
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value


def amount(p: Problems, data: Mapping[str, Any], field: str, *, default: Decimal | None = Decimal(0),
           required: bool = False, path: str = "", positive: bool = False) -> Decimal | None:
    raw = data.get(field)
    name = path or field
    if raw in (None, ""):
        if required:
            p.add(name, _("This field is required."))
        return default
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        p.add(name, _("“%(value)s” is not an amount.") % {"value": str(raw)[:60]})
        return default
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        p.add(name, _("“%(value)s” is not an amount.") % {"value": str(raw)[:60]})
        return default
    if not value.is_finite():
        p.add(name, _("“%(value)s” is not an amount.") % {"value": str(raw)[:60]})
        return default
    if value < 0:
        p.add(name, _("An amount cannot be negative (got %(value)s).") % {"value": raw})
        return default
    if positive and value == 0:
        p.add(name, _("Must be more than 0."))
        return default
    if value >= Decimal("1e11"):
        p.add(name, _("That amount is too large."))
        return default
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def currency(p: Problems, data: Mapping[str, Any], field: str = "currency", *, default: str = "",
             path: str = "") -> str:
    raw = data.get(field)
    if raw in (None, ""):
        if default:
            return default
        p.add(path or field, _("This field is required (an ISO 4217 code such as USD, EUR, CNY)."))
        return ""
    try:
        return clean_currency(raw, field=path or field)
    except ValidationError as exc:
        p.merge(exc)
        return ""


def choice(p: Problems, data: Mapping[str, Any], field: str, choices: list[str], default: str) -> str:
    raw = data.get(field)
    if raw in (None, ""):
        return default
    value = str(raw).strip().lower()
    if value not in choices:
        p.add(field, _("“%(value)s” is not one of: %(choices)s.") % {"value": str(raw)[:40], "choices": ", ".join(choices)})
        return default
    return value


def customer(p: Problems, data: Mapping[str, Any], *, required: bool = True) -> dict[str, Any]:
    """Who this is about: ``contact`` (a contact id), ``email`` and/or ``visitor_id`` (an anonymous browser id);
    optional ``name`` / ``first_name`` / ``last_name`` for a contact created from the email."""
    out: dict[str, Any] = {"contact": None, "email": "", "visitor_id": "", "first_name": "", "last_name": ""}
    raw_contact = data.get("contact")
    if raw_contact not in (None, ""):
        import uuid

        try:
            out["contact"] = uuid.UUID(str(raw_contact))
        except ValueError:
            p.add("contact", _("“%(value)s” is not a contact id.") % {"value": str(raw_contact)[:60]})
    raw_email = data.get("email")
    if raw_email not in (None, ""):
        email, problem = _email(str(raw_email))
        if problem:
            p.add("email", problem)
        out["email"] = email
    out["visitor_id"] = text(p, data, "visitor_id", 64)
    if "name" in data or "first_name" in data or "last_name" in data:  # most events name no one
        name = text(p, data, "name", 200)
        first, last = text(p, data, "first_name", 100), text(p, data, "last_name", 100)
        if name and not (first or last):
            first, _sp, last = name.partition(" ")
        out["first_name"], out["last_name"] = first[:100], last[:100]
    if required and not (out["contact"] or out["email"] or out["visitor_id"]) and not p.errors.get("email") \
            and not p.errors.get("contact"):
        p.add("email", _("Say who this is: send email, contact (a contact id) or visitor_id."))
    return out


@lru_cache(maxsize=20_000)
def _email(raw: str) -> tuple[str, str]:
    """(normalised address, "") or ("", the reason) — cached: a batch names the same customers many times."""
    try:
        return normalize_email(raw), ""
    except ValidationError as exc:
        return "", " ".join(exc.messages)


def _dict(p: Problems, value: Any, field: str) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        p.add(field, _("Send an object here."))
        return None
    return value


# --- orders ---------------------------------------------------------------------------------------------------

def clean_order(data: Any, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Validate one order; totals must add up (``total`` = ``subtotal`` − ``discount_total`` + ``tax_total`` +
    ``shipping_total`` and ``subtotal`` = the lines' totals, each within 0.01)."""
    now = now or timezone.now()
    p = Problems()
    if not isinstance(data, dict):
        raise ValidationError({"": [_("Each item must be a JSON object.")]})
    out: dict[str, Any] = {
        "external_id": text(p, data, "external_id", 128, required=True),
        "number": text(p, data, "number", 64),
        "status": choice(p, data, "status", list(OrderStatus.values), OrderStatus.PLACED),
        "channel": choice(p, data, "channel", list(Channel.values), Channel.ONLINE),
        "currency": currency(p, data),
        "note": str(data.get("note") or "").strip()[:2000],
        "cart": text(p, data, "cart", 128),
        **customer(p, data),
    }
    out["placed_at"] = moment(p, data, "placed_at", now=now, default=now)
    out["paid_at"] = moment(p, data, "paid_at", now=now)
    out["fulfilled_at"] = moment(p, data, "fulfilled_at", now=now)
    for field in ("discount_total", "tax_total", "shipping_total", "refunded_amount"):
        out[field] = amount(p, data, field)
    total = amount(p, data, "total", required=True, default=None)
    out["total"] = total
    raw_lines = data.get("lines")
    lines: list[dict[str, Any]] = []
    if raw_lines in (None, ""):
        raw_lines = []
    if not isinstance(raw_lines, list):
        p.add("lines", _("Send a list of order lines."))
        raw_lines = []
    if len(raw_lines) > MAX_LINES:
        p.add("lines", _("At most %(n)s lines per order.") % {"n": MAX_LINES})
        raw_lines = []
    for n, raw in enumerate(raw_lines):
        line = _clean_line(p, raw, f"lines.{n}", out["currency"], order=True)
        if line is not None:
            lines.append(line)
    out["lines"] = lines
    lines_sum = sum((line["total"] for line in lines), Decimal(0))
    subtotal = amount(p, data, "subtotal", default=None)
    if subtotal is None and "subtotal" not in p.errors:
        if lines or total is None:
            subtotal = lines_sum
        else:  # an order sent without lines: the subtotal is what the total implies
            subtotal = max(Decimal(0), total + out["discount_total"] - out["tax_total"] - out["shipping_total"])
    elif subtotal is not None and lines and abs(subtotal - lines_sum) > TOLERANCE and not _line_errors(p):
        p.add("subtotal", _("The subtotal %(subtotal)s does not match the lines, which add up to %(sum)s.")
              % {"subtotal": subtotal, "sum": lines_sum})
    out["subtotal"] = subtotal if subtotal is not None else Decimal(0)
    if total is not None and not p.errors.keys() & {"subtotal", "discount_total", "tax_total", "shipping_total"} \
            and not _line_errors(p):
        expected = out["subtotal"] - out["discount_total"] + out["tax_total"] + out["shipping_total"]
        if expected < 0:
            p.add("discount_total", _("The discount %(discount)s is larger than the subtotal plus tax and shipping.")
                  % {"discount": out["discount_total"]})
        elif abs(total - expected) > TOLERANCE:
            p.add("total", _("The total %(total)s does not add up: subtotal %(subtotal)s − discount %(discount)s + tax "
                             "%(tax)s + shipping %(shipping)s = %(expected)s.")
                  % {"total": total, "subtotal": out["subtotal"], "discount": out["discount_total"],
                     "tax": out["tax_total"], "shipping": out["shipping_total"], "expected": expected})
    if total is not None and out["refunded_amount"] is not None and out["refunded_amount"] > total:
        p.add("refunded_amount", _("The refunded amount %(refunded)s is more than the order total %(total)s.")
              % {"refunded": out["refunded_amount"], "total": total})
    if out["status"] == OrderStatus.REFUNDED and not out["refunded_amount"] and total is not None:
        out["refunded_amount"] = total  # "refunded" without an amount: refunded in full
    p.raise_if_any()
    return out


def _line_errors(p: Problems) -> bool:
    return any(k.startswith("lines.") for k in p.errors)


def _clean_line(p: Problems, raw: Any, path: str, order_currency: str, *, order: bool) -> dict[str, Any] | None:
    line = _dict(p, raw, path)
    if line is None:
        return None
    before = len(p.errors)
    sku = text(p, line, "sku", 64, path=f"{path}.sku")
    name = text(p, line, "name", 200, path=f"{path}.name")
    if not sku and not name:
        p.add(f"{path}.sku", _("Give the line a SKU or a name."))
    if line.get("currency") not in (None, "") and order_currency:
        line_currency = str(line.get("currency")).strip().upper()
        if line_currency != order_currency:
            p.add(f"{path}.currency", _("This line is in %(line)s but the %(what)s is in %(order)s; send every line in "
                                        "the same currency.")
                  % {"line": line_currency[:10], "order": order_currency, "what": _("order") if order else _("cart")})
    quantity = amount(p, line, "quantity", default=Decimal(1), path=f"{path}.quantity", positive=True)
    unit_price = amount(p, line, "unit_price", required=True, default=None, path=f"{path}.unit_price")
    out: dict[str, Any] = {
        "sku": sku, "name": name or sku, "quantity": quantity,
        "unit_price": unit_price,
        "image_url": url(p, line, "image_url", path=f"{path}.image_url"),
        "product_url": url(p, line, "product_url", path=f"{path}.product_url"),
        "category": text(p, line, "category", 100, path=f"{path}.category"),
    }
    if order:
        discount = amount(p, line, "discount", path=f"{path}.discount") or Decimal(0)
        out["discount"] = discount
        if quantity is not None and unit_price is not None:
            gross = (quantity * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)
            if discount > gross:
                p.add(f"{path}.discount", _("The discount %(discount)s is more than the line's %(gross)s.")
                      % {"discount": discount, "gross": gross})
            line_total = gross - discount
            out["total"] = line_total
            given = amount(p, line, "total", default=None, path=f"{path}.total")
            if given is not None and abs(given - line_total) > TOLERANCE:
                p.add(f"{path}.total", _("The line total %(given)s should be quantity × unit price − discount = "
                                         "%(expected)s.") % {"given": given, "expected": line_total})
    if len(p.errors) > before:
        return None
    return out


# --- carts ----------------------------------------------------------------------------------------------------

def clean_cart(data: Any, *, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    p = Problems()
    if not isinstance(data, dict):
        raise ValidationError({"": [_("Each item must be a JSON object.")]})
    out: dict[str, Any] = {
        "external_id": text(p, data, "external_id", 128, required=True),
        "currency": currency(p, data, default=base_currency() if not data.get("items") else ""),
        "cart_url": url(p, data, "cart_url"),
        **customer(p, data),
    }
    out["updated_at"] = moment(p, data, "updated_at", now=now, default=now)
    out["checkout_started_at"] = moment(p, data, "checkout_started_at", now=now)
    status = data.get("status")
    if status not in (None, "") and str(status).lower() not in {CartStatus.OPEN}:
        p.add("status", _("A store cannot set a cart's status; Amity decides when a cart is abandoned, recovered or "
                          "converted."))
    raw_items = data.get("items") or []
    if not isinstance(raw_items, list):
        p.add("items", _("Send a list of cart items."))
        raw_items = []
    if len(raw_items) > MAX_LINES:
        p.add("items", _("At most %(n)s items per cart.") % {"n": MAX_LINES})
        raw_items = []
    items = []
    for n, raw in enumerate(raw_items):
        item = _clean_line(p, raw, f"items.{n}", out["currency"], order=False)
        if item is not None:
            items.append(item)
    out["items"] = items
    p.raise_if_any()
    return out


# --- behaviour events -----------------------------------------------------------------------------------------

_NEEDS_PRODUCT = frozenset({BehaviourKind.PRODUCT_VIEW, BehaviourKind.ADD_TO_CART})


def clean_event(data: Any, *, now: dt.datetime) -> dict[str, Any]:
    p = Problems()
    if not isinstance(data, dict):
        raise ValidationError({"": [_("Each item must be a JSON object.")]})
    out: dict[str, Any] = {"external_id": text(p, data, "external_id", 128, required=True)}
    raw_kind = data["kind"] if "kind" in data else data.get("type")
    kind = KIND_ALIASES.get(raw_kind) if type(raw_kind) is str else None  # as sent, most often
    if kind is None:
        kind = KIND_ALIASES.get(str(raw_kind or "").strip().lower())
    if kind is None:
        p.add("kind", _("“%(value)s” is not an event kind; use one of %(choices)s.")
              % {"value": str(raw_kind or "")[:40], "choices": ", ".join(BehaviourKind.values)})
    out["kind"] = kind
    out.update(customer(p, data))
    out["occurred_at"] = moment(p, data, "occurred_at", now=now, default=now)
    name = text(p, data, "name", 100) or (text(p, data, "query", 100) if kind == BehaviourKind.SEARCH else "")
    if kind == BehaviourKind.CUSTOM and not name:
        p.add("name", _("A custom event needs a name."))
    out["name"] = name
    out["url"] = text(p, data, "url", 500)
    props = data.get("properties")
    if props in (None, ""):
        props = {}
    if not isinstance(props, dict):
        p.add("properties", _("Send an object here."))
        props = {}
    elif props:
        encoded = json.dumps(props, default=str)
        if len(encoded) > MAX_PROPERTIES_BYTES:
            p.add("properties", _("At most %(n)s bytes of properties.") % {"n": MAX_PROPERTIES_BYTES})
            props = {}
        elif "\\u0000" in encoded and _holds_nul(props):
            p.add("properties", nul_message())
            props = {}
    out["properties"] = props
    product: dict[str, Any] | None = None
    raw_product = data.get("product")
    if isinstance(raw_product, (str, int)) and str(raw_product).strip():  # noqa: UP038 (a tuple: no union built per call)
        raw_product = {"sku": raw_product}
    if raw_product not in (None, ""):
        product_data = _dict(p, raw_product, "product")
        if product_data is not None:
            product = {"sku": text(p, product_data, "sku", 64, path="product.sku", required=True),
                       "name": "", "category": "", "image_url": "", "product_url": ""}
            if len(product_data) > 1:  # more than the SKU, which is what most events send
                product.update(name=text(p, product_data, "name", 200, path="product.name"),
                               category=text(p, product_data, "category", 100, path="product.category"),
                               image_url=url(p, product_data, "image_url", path="product.image_url"),
                               product_url=url(p, product_data, "product_url", path="product.product_url"))
    elif kind in _NEEDS_PRODUCT:
        p.add("product", _("A %(kind)s event needs the product (at least its sku).") % {"kind": kind})
    out["product"] = product
    p.raise_if_any()
    return out
