"""Commerce over the JSON API: batch ingest of events, orders and carts, and a contact's customer facts.

Thin: parse the body, call ``commerce.services.ingest_batch`` / ``commerce.facts``, serialise.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from amity.api.schemas import READ_ERRORS, Problem
from amity.contacts import selectors as contact_selectors
from amity.core.money import base_currency
from amity.core.permissions import can_edit

from . import facts, services
from .models import Store

router = Router(tags=["Commerce"])
MAX_BODY_BYTES = 10 * 1024 * 1024


class ItemResultOut(Schema):
    index: int = Field(description="Position of the item in `items`.")
    status: str = Field(description="`created`, `updated`, `unchanged` (a replay) or `error`.")
    id: str | None = Field(None, description="The order or cart UUID; an event's external_id.")
    errors: list[dict[str, str]] = Field(description="`[{field, message}]`, e.g. `lines.0.quantity`.")
    notes: list[str] = Field(description="E.g. an unknown SKU that became a placeholder product.")


class IngestOut(Schema):
    results: list[ItemResultOut]
    created: int
    updated: int
    unchanged: int
    failed: int


_ITEM_DOCS = {
    "events": "Behaviour events: `external_id` (required, your id: a replay changes nothing), `kind` (page_view, "
              "product_view, search, add_to_cart, checkout_started, custom), `occurred_at` (ISO 8601, not in the "
              "future), who (`email`, `contact` id or `visitor_id`), `product` ({sku, name, category, image_url, "
              "product_url} or a SKU), `name` (custom event name / search query), `url`, `properties` (object).",
    "orders": "Orders: `external_id`, `number`, who (`email` / `contact` / `visitor_id`, optional `name`), `status` "
              "(placed, paid, fulfilled, refunded, cancelled), `channel` (online, in_store, phone), `currency`, "
              "`placed_at`, `paid_at`, `fulfilled_at`, `subtotal`, `discount_total`, `tax_total`, `shipping_total`, "
              "`total`, `refunded_amount`, `cart` (the cart's external_id), `lines` [{sku, name, category, quantity, "
              "unit_price, discount, image_url, product_url}]. Send it again with a later status to update it.",
    "carts": "Carts: `external_id`, who, `currency`, `items` [{sku, name, quantity, unit_price, image_url, "
             "product_url}], `cart_url`, `updated_at`, `checkout_started_at`.",
}


def _body_schema(kind: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "array", "maxItems": 1000, "items": {"type": "object"},
                                 "description": _ITEM_DOCS[kind]}},
    }}}}}


def _problem(request: HttpRequest, status: int, title: str, detail: str,
             errors: list[dict[str, Any]] | None = None) -> HttpResponse:
    from amity.api.api import problem

    return problem(request, status, title, detail, errors)


def _store(request: HttpRequest) -> tuple[Store | None, str]:
    raw = request.GET.get("store")
    if not raw:
        return None, "api"
    try:
        store = Store.objects.filter(uuid=uuid.UUID(raw), active=True).first()
    except ValueError:
        store = None
    if store is None:
        raise Http404
    return store, f"store:{store.public_key}"


def _ingest(request: HttpRequest, kind: str) -> HttpResponse:
    if not can_edit(request.user):
        raise PermissionDenied(_("Your role cannot record orders, carts or events."))
    store, source = _store(request)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return _problem(request, 413, "Payload Too Large",
                        _("A request body is at most 10 MB; send smaller batches."))
    try:
        raw = request.body if hasattr(request, "_body") else request.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            return _problem(request, 413, "Payload Too Large", _("A request body is at most 10 MB; send smaller batches."))
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        return _problem(request, 400, "Bad Request", _("The body is not valid JSON: %(error)s") % {"error": exc})
    if not isinstance(data, dict) or "items" not in data:
        return _problem(request, 400, "Bad Request", _('Send a JSON object {"items": [...]}.'),
                        [{"field": "items", "message": _("This field is required.")}])
    items = data["items"]
    if isinstance(items, list) and len(items) > 1000:
        return _problem(request, 413, "Payload Too Large",
                        _("At most 1,000 items per request; this one has %(n)s. Split it into smaller batches.")
                        % {"n": f"{len(items):,}"}, [{"field": "items", "message": _("At most 1,000 items.")}])
    results = services.ingest_batch(kind, items, source=source, store=store, actor=request.user)
    tally = {"created": 0, "updated": 0, "unchanged": 0, "error": 0}
    for r in results:
        tally[r.status] += 1
    body = {
        "results": [{"index": r.index, "status": r.status, "id": r.id, "errors": r.errors, "notes": r.notes}
                    for r in results],
        "created": tally["created"], "updated": tally["updated"], "unchanged": tally["unchanged"],
        "failed": tally["error"],
    }
    status = 200 if not tally["error"] else (422 if tally["error"] == len(results) else 207)
    from amity.api.api import api

    return api.create_response(request, body, status=status)


_RESPONSES: dict[int, Any] = {200: IngestOut, 207: IngestOut, 400: Problem, 401: Problem, 403: Problem,
                              404: Problem, 413: Problem, 422: IngestOut}
_DESCRIPTION = ("Up to 1,000 items per request, each answered in `results` (same order). HTTP 200 when every item "
                "landed (created, updated or unchanged), 207 when some failed (the others landed), 422 when none did; "
                "400 for a body that is not JSON, 413 for more than 1,000 items. Optional `?store=<store id>` records "
                "the items as that store's. Needs a read-write token of a role that may edit.")


@router.post("/ingest/events", response=_RESPONSES, summary="Ingest behaviour events",
             description=_DESCRIPTION, openapi_extra=_body_schema("events"))
def ingest_events(request: HttpRequest) -> HttpResponse:
    return _ingest(request, "events")


@router.post("/ingest/orders", response=_RESPONSES, summary="Ingest orders",
             description=_DESCRIPTION, openapi_extra=_body_schema("orders"))
def ingest_orders(request: HttpRequest) -> HttpResponse:
    return _ingest(request, "orders")


@router.post("/ingest/carts", response=_RESPONSES, summary="Ingest carts",
             description=_DESCRIPTION, openapi_extra=_body_schema("carts"))
def ingest_carts(request: HttpRequest) -> HttpResponse:
    return _ingest(request, "carts")


class FavouriteProductOut(Schema):
    id: str
    sku: str
    name: str
    category: str
    quantity: str
    spent: str = Field(description="In the base currency.")
    orders: int
    image_url: str


class FavouriteCategoryOut(Schema):
    category: str
    spent: str = Field(description="In the base currency.")
    quantity: str


class FactsOut(Schema):
    contact: str
    currency: str = Field(description="The base currency the amounts are in.")
    order_count: int
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None
    total_spent: str = Field(description="Net of refunds, base currency, e.g. \"1250.00\".")
    average_order_value: str
    last_activity_at: dt.datetime | None
    days_since_last_order: int | None
    days_since_last_activity: int | None
    favourite_products: list[FavouriteProductOut]
    favourite_categories: list[FavouriteCategoryOut]


@router.get("/contacts/{id}/facts", response={200: FactsOut, **READ_ERRORS}, summary="A contact's customer facts",
            description="Kept current as orders, refunds and events arrive (written in the same transaction).")
def contact_facts(request: HttpRequest, id: uuid.UUID) -> dict[str, Any]:
    contact = contact_selectors.get_contact(user=request.user, uuid=id)
    values = facts.facts_of(contact)
    favs = facts.favourites(contact)
    return {
        "contact": str(contact.uuid), "currency": base_currency(), **values,
        "total_spent": str(values["total_spent"]), "average_order_value": str(values["average_order_value"]),
        "favourite_products": [{**p, "quantity": str(p["quantity"]), "spent": str(p["spent"])}
                               for p in favs["products"]],
        "favourite_categories": [{**c, "quantity": str(c["quantity"]), "spent": str(c["spent"])}
                                 for c in favs["categories"]],
    }
