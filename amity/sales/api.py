"""Deals, pipelines, lost reasons and exchange rates over the JSON API. Thin: parse, call one selector or service,
serialise. Records named by id are fetched through the permission-scoped selectors, so a deal, company or contact
the caller may not see answers 404 (in the path) or a field error (in a body), never revealing it exists."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field, create_model

from amity.api.pagination import CURSOR, LIMIT, page_body
from amity.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    InputSchema,
    Ref,
    created,
    enum_of,
    list_schema,
    no_content,
    page_schema,
)
from amity.contacts import selectors as contact_selectors
from amity.contacts.api import _owner, _tag_names, ref
from amity.core import money as money_services
from amity.core.models import ExchangeRate
from amity.core.money import base_currency, clean_currency
from amity.timeline import selectors as timeline_selectors
from amity.timeline.api import TimelinePage, TimelineQuery, event_body

from . import product_services, quote_selectors, quote_services, selectors, services
from .filters import DEAL_SORTS, DealFilterSet
from .models import Deal, DealLineItem, LostReason, Pipeline, Product, Stage, StageKind

router = Router()

# --- query parameters: generated from the FilterSet the board and list pages use -------------------------------

_KIND_HELP = {
    "date_from": "A date, YYYY-MM-DD.",
    "date_to": "A date, YYYY-MM-DD.",
    "number_min": "A number.",
    "number_max": "A number.",
}
_NAME_HELP = {
    "pipeline": "A pipeline id.",
    "stage": "A stage id.",
    "owner": "A user id, or `none` for unassigned.",
    "close_month": "YYYY-MM.",
    "tag": "A tag name (any case).",
    "company": "A company id.",
    "contact": "A contact id.",
    "currency": "ISO 4217 code, e.g. EUR.",
    "inactive_since": "A date, YYYY-MM-DD: deals with no activity since then (stuck deals).",
}


def _filter_fields(exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for f in DealFilterSet.filters:
        if f.name in exclude:
            continue
        help_text = _NAME_HELP.get(f.name) or _KIND_HELP.get(f.kind, "")
        if f.kind == "choice" and f.choices:
            help_text = "One of: " + ", ".join(code for code, _label in f.choices) + "."
        fields[f.name] = (str | None, Field(None, description=f"{f.label}. {help_text}".strip()))
    return fields


DealListQuery = create_model(
    "DealListQuery", __base__=Schema,
    sort=(str | None, Field(None, description="Sort order (default `-updated`).", json_schema_extra=enum_of(DEAL_SORTS))),
    cursor=(str | None, CURSOR),
    limit=(int, LIMIT),
    **_filter_fields(),
)
BoardQuery = create_model("BoardQuery", __base__=Schema, **_filter_fields(exclude=("pipeline",)))
CUSTOM_FILTER_HELP = "\n\nDeal custom fields filter as `custom.<key>=<value>`. Unknown filters or values answer 422."

# --- schemas ----------------------------------------------------------------------------------------------------

MONEY = "A decimal as text, e.g. \"1250.00\""


class StageOut(Schema):
    id: str
    name: str
    position: int
    probability: int = Field(description="Default probability (%) of deals entering this stage")
    kind: str = Field(json_schema_extra=enum_of(StageKind.values))


class StageRef(Schema):
    id: str
    name: str
    kind: str = Field(json_schema_extra=enum_of(StageKind.values))


class PipelineOut(Schema):
    id: str
    name: str
    is_default: bool
    stages: list[StageOut]


class LineItemOut(Schema):
    id: str
    product: Ref | None
    sku: str
    name: str
    quantity: str = Field(description=MONEY)
    unit_price: str = Field(description=MONEY)
    discount_percent: str
    amount: str = Field(description="quantity × unit price − discount, in the deal's currency")


class DealOut(Schema):
    id: str
    name: str
    pipeline: Ref
    stage: StageRef
    status: str = Field(description="open, won or lost (the stage's kind)")
    amount: str = Field(description=MONEY)
    currency: str
    amount_base: str = Field(description="The amount in the base currency (`base_currency`)")
    base_currency: str
    probability: int
    weighted_base: str = Field(description="amount_base × probability")
    expected_close_date: dt.date | None
    owner: Ref | None
    company: Ref | None
    contacts: list[Ref]
    tags: list[str]
    custom: dict[str, Any]
    lost_reason: str | None = Field(description="A lost reason's name (see `GET /api/lost-reasons`)")
    lost_note: str
    stage_entered_at: dt.datetime
    closed_at: dt.datetime | None
    last_activity_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class DealDetailOut(DealOut):
    line_items: list[LineItemOut]


class DealIn(InputSchema):
    """Every field but `name` is optional; on PATCH only the fields sent change. Sending `stage` on PATCH moves the
    deal (same rules as `POST /api/deals/{id}/move`)."""

    name: str | None = None
    pipeline: uuid.UUID | None = Field(None, description="Pipeline id (default: the default pipeline)")
    stage: uuid.UUID | None = Field(None, description="Stage id of that pipeline (default: its first open stage)")
    amount: str | int | float | None = Field(None, description="A decimal, e.g. \"1250.00\"")
    currency: str | None = Field(None, description="ISO 4217, e.g. EUR (default: the base currency)")
    expected_close_date: str | None = Field(None, description="YYYY-MM-DD; null clears it")
    probability: int | str | None = Field(None, description="0–100; null resets it to the stage's default")
    owner: uuid.UUID | None = Field(None, description="User id, or null for unassigned (default: you)")
    company: uuid.UUID | None = Field(None, description="Company id, or null for none")
    contacts: list[uuid.UUID] | None = Field(None, description="Contact ids; replaces the whole list")
    tags: list[str] | None = Field(None, description="Tag names; missing tags are created")
    custom: dict[str, Any] | None = Field(None, description="Custom field values by key")
    lost_reason: str | None = Field(None, description="A lost reason's name")
    lost_note: str | None = None


class MoveIn(InputSchema):
    # Optional here so a deal the caller may not see answers 404 before the body is judged.
    stage: uuid.UUID | None = Field(None, description="The stage id (a stage of the deal's own pipeline)")
    lost_reason: str | None = Field(None, description="For a lost stage: a lost reason's name")


class LineItemIn(InputSchema):
    product: uuid.UUID | None = Field(None, description="Product id; its name and its price in the deal's "
                                      "currency are the defaults")
    name: str | None = None
    quantity: str | int | float | None = None
    unit_price: str | int | float | None = None
    discount_percent: str | int | float | None = Field(None, description="0–100")


class LineItemsIn(InputSchema):
    line_items: list[LineItemIn] | None = Field(None, description="The deal's items; replaces the whole list")
    update_amount: bool = Field(True, description="Set the deal's amount to the items' total")


class ColumnOut(Schema):
    stage: StageOut
    count: int
    total: str = Field(description="Sum of amount_base")
    weighted: str = Field(description="Sum of amount_base × probability")
    more: int = Field(description="Deals in the column beyond the ones listed")
    deals: list[DealOut] = Field(description="The first 50 by value")


class BoardOut(Schema):
    pipeline: PipelineOut
    base_currency: str
    columns: list[ColumnOut]


class LostReasonOut(Schema):
    name: str
    position: int


class ExchangeRateOut(Schema):
    currency: str
    rate: str = Field(description="Units of the base currency per unit of `currency`")
    valid_from: dt.date
    base_currency: str


class ExchangeRateIn(InputSchema):
    currency: str | None = Field(None, description="ISO 4217, not the base currency")
    rate: str | int | float | None = Field(None, description="Units of the base currency per unit, > 0")
    valid_from: str | None = Field(None, description="YYYY-MM-DD (default: today)")


class RateQuery(Schema):
    currency: str | None = Field(None, description="Only this currency")


DealPage = page_schema(DealOut, "DealPage")
PipelineList = list_schema(PipelineOut, "PipelineList")
LostReasonList = list_schema(LostReasonOut, "LostReasonList")
ExchangeRateList = list_schema(ExchangeRateOut, "ExchangeRateList")

# --- serialisation ---------------------------------------------------------------------------------------------


def money(value: Any) -> str:
    return f"{Decimal(value or 0):.2f}"


def stage_body(stage: Stage) -> dict[str, Any]:
    return {"id": str(stage.uuid), "name": stage.name, "position": stage.position, "probability": stage.probability,
            "kind": stage.kind}


def pipeline_body(pipeline: Pipeline) -> dict[str, Any]:
    return {"id": str(pipeline.uuid), "name": pipeline.name, "is_default": pipeline.is_default,
            "stages": [stage_body(s) for s in pipeline.stages.all()]}


def line_item_body(item: DealLineItem) -> dict[str, Any]:
    return {"id": str(item.uuid), "product": ref(item.product), "sku": item.product.sku if item.product else "",
            "name": item.name, "quantity": money(item.quantity), "unit_price": money(item.unit_price),
            "discount_percent": money(item.discount_percent), "amount": money(item.amount)}


def deal_body(deal: Deal) -> dict[str, Any]:
    return {
        "id": str(deal.uuid),
        "name": deal.name,
        "pipeline": ref(deal.pipeline),
        "stage": {"id": str(deal.stage.uuid), "name": deal.stage.name, "kind": deal.stage.kind},
        "status": deal.stage.kind,
        "amount": money(deal.amount),
        "currency": deal.currency,
        "amount_base": money(deal.amount_base),
        "base_currency": base_currency(),
        "probability": deal.probability,
        "weighted_base": money(Decimal(deal.amount_base) * deal.probability / 100),
        "expected_close_date": deal.expected_close_date,
        "owner": ref(deal.owner),
        "company": ref(deal.company),
        "contacts": [ref(c) for c in deal.contacts.all()],
        "tags": _tag_names(deal),
        "custom": deal.custom or {},
        "lost_reason": deal.lost_reason.name if deal.lost_reason else None,
        "lost_note": deal.lost_note,
        "stage_entered_at": deal.stage_entered_at,
        "closed_at": deal.closed_at,
        "last_activity_at": deal.last_activity_at,
        "created_at": deal.created_at,
        "updated_at": deal.updated_at,
    }


def deal_detail_body(deal: Deal) -> dict[str, Any]:
    return {**deal_body(deal), "line_items": [line_item_body(li) for li in deal.line_items.all()]}


def _with_relations(deals: list[Deal]) -> list[Deal]:
    """One query per relation for a whole page or board (never one per deal)."""
    prefetch_related_objects(deals, "contacts", "tags")
    return deals


def _reread(request: HttpRequest, deal: Deal) -> dict[str, Any]:
    """The deal as saved. A write may leave it outside what the caller sees (assigned to another team): then the
    object just written is serialised as it is."""
    try:
        return deal_detail_body(selectors.get_deal(user=request.user, uuid=deal.uuid))
    except Http404:
        deal._prefetched_objects_cache = {}  # type: ignore[attr-defined]
        return deal_detail_body(deal)


def rate_body(rate: ExchangeRate) -> dict[str, Any]:
    return {"currency": rate.currency, "rate": f"{rate.rate.normalize():f}", "valid_from": rate.valid_from,
            "base_currency": base_currency()}


# --- input: ids resolved to records through the permission-scoped selectors --------------------------------------

def _resolve(field: str, message: str, fetch: Any) -> Any:
    try:
        return fetch()
    except Http404:
        raise ValidationError({field: [message]}) from None


def _lost_reason(name: str | None) -> LostReason | None:
    if name in (None, ""):
        return None
    reason = next((r for r in selectors.lost_reasons() if r.name.lower() == str(name).strip().lower()), None)
    if reason is None:
        raise ValidationError({"lost_reason": [
            _("“%(value)s” is not a lost reason; use one of: %(choices)s.")
            % {"value": name, "choices": ", ".join(r.name for r in selectors.lost_reasons())}]})
    return reason


def deal_input(request: HttpRequest, payload: DealIn, deal: Deal | None = None) -> dict[str, Any]:
    """The API body as the service's plain dict. Every reference is resolved, and all field errors are reported
    together."""
    raw = payload.dict(exclude_unset=True)
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}

    def resolve(field: str, fetch: Any) -> None:
        try:
            data[field] = fetch()
        except ValidationError as exc:
            errors.update(exc.message_dict)

    for key, value in raw.items():
        if key == "pipeline":
            resolve(key, lambda v=value: None if v is None else _resolve(
                "pipeline", _("There is no pipeline with this id."), lambda: selectors.get_pipeline(v)))
        elif key == "stage":
            resolve(key, lambda v=value: None if v is None else _resolve(
                "stage", _("There is no stage with this id."), lambda: selectors.get_stage(v)))
        elif key == "company":
            resolve(key, lambda v=value: None if v is None else _resolve(
                "company", _("There is no company with this id, or you may not see it."),
                lambda: contact_selectors.get_company(user=request.user, uuid=v)))
        elif key == "contacts":
            wanted = list(dict.fromkeys(value or []))
            found = {c.uuid: c for c in contact_selectors.contacts_by_uuids(user=request.user, uuids=wanted)}
            missing = [str(u) for u in wanted if u not in found]
            if missing:
                errors["contacts"] = [_("There is no contact with the id %(ids)s, or you may not see it.")
                                      % {"ids": ", ".join(missing)}]
            data["contacts"] = [found[u] for u in wanted if u in found]
        elif key == "owner":
            resolve(key, lambda v=value: _owner(v))
        elif key == "lost_reason":
            resolve(key, lambda v=value: _lost_reason(v))
        elif key in ("tags", "custom"):
            data[key] = value or ([] if key == "tags" else {})
        elif key in ("name", "lost_note"):
            data[key] = value or ""
        else:
            data[key] = value
    if deal is None:
        if data.get("pipeline") is None and data.get("stage") is not None:
            data["pipeline"] = data["stage"].pipeline
        if data.get("pipeline") is None and "pipeline" not in errors:
            data["pipeline"] = selectors.default_pipeline()
        data.setdefault("currency", base_currency())
        data.setdefault("name", "")
    else:
        data.pop("pipeline", None)  # a deal changes pipeline only by moving to one of its stages (not supported)
        if raw.get("pipeline") not in (None, deal.pipeline.uuid):
            errors["pipeline"] = [_("A deal stays in its pipeline; create a new deal in the other pipeline.")]
        if "stage" in data and data["stage"] is None:
            errors["stage"] = [_("Choose a stage.")]
    if errors:
        raise ValidationError(errors)
    return data


def line_items_input(deal: Deal, items: list[LineItemIn]) -> list[dict[str, Any]]:
    wanted = {item.product for item in items if item.product is not None}
    products = {p.uuid: p for p in Product.objects.filter(uuid__in=wanted).prefetch_related("prices")} \
        if wanted else {}  # the catalogue is not owned: everyone signed in may use any product
    errors: dict[str, list[str]] = {}
    rows = []
    for n, item in enumerate(items):
        row = item.dict(exclude_unset=True)
        if item.product is not None:
            product = products.get(item.product)
            if product is None:
                errors[f"line_items.{n}.product"] = [_("There is no product with this id.")]
            elif row.get("unit_price") is None:
                price = next((p.unit_price for p in product.prices.all() if p.currency == deal.currency), None)
                if price is not None:
                    row["unit_price"] = price
            row["product"] = product
        rows.append(row)
    if errors:
        raise ValidationError(errors)
    return rows


# --- deals ------------------------------------------------------------------------------------------------------

@router.get("/deals", response={200: DealPage, **READ_ERRORS}, tags=["deals"], summary="List deals",
            description="The deal list with the same filters and sorts as the web UI's list and board."
            + CUSTOM_FILTER_HELP)
def list_deals(request: HttpRequest, filters: Query[DealListQuery]):  # type: ignore[valid-type]
    page = selectors.deal_list(user=request.user, params=request.GET)
    _with_relations(page.items)
    return page_body(page, deal_body)


@router.post("/deals", response={201: DealDetailOut, **WRITE_ERRORS}, tags=["deals"], summary="Create a deal")
def create_deal(request: HttpRequest, payload: DealIn):
    deal = services.create_deal(actor=request.user, data=deal_input(request, payload))
    return created(_reread(request, deal))


@router.get("/deals/{id}", response={200: DealDetailOut, **READ_ERRORS}, tags=["deals"], summary="Get a deal",
            description="With its line items.")
def get_deal(request: HttpRequest, id: uuid.UUID):
    return deal_detail_body(selectors.get_deal(user=request.user, uuid=id))


@router.patch("/deals/{id}", response={200: DealDetailOut, **WRITE_ERRORS}, tags=["deals"], summary="Update a deal",
              description="Only the fields sent change.")
def update_deal(request: HttpRequest, id: uuid.UUID, payload: DealIn):
    deal = selectors.get_deal(user=request.user, uuid=id)
    deal = services.update_deal(actor=request.user, deal=deal, data=deal_input(request, payload, deal=deal))
    return _reread(request, deal)


@router.delete("/deals/{id}", response={204: None, **WRITE_ERRORS}, tags=["deals"], summary="Delete a deal")
def delete_deal(request: HttpRequest, id: uuid.UUID):
    deal = selectors.get_deal(user=request.user, uuid=id)
    services.delete_deal(actor=request.user, deal=deal)
    return no_content()


@router.post("/deals/{id}/move", response={200: DealDetailOut, **WRITE_ERRORS}, tags=["deals"],
             summary="Move a deal to another stage",
             description="The board's drag and drop. The stage must be one of the deal's own pipeline (else 422 on "
             "`stage`); the probability becomes the stage's default. A lost stage takes a `lost_reason`.")
def move_deal(request: HttpRequest, id: uuid.UUID, payload: MoveIn):
    deal = selectors.get_deal(user=request.user, uuid=id)
    if payload.stage is None:
        raise ValidationError({"stage": [_("Choose a stage.")]})
    stage = _resolve("stage", _("There is no stage with this id."), lambda: selectors.get_stage(payload.stage))
    reason = _lost_reason(payload.lost_reason)
    deal = services.move_deal(actor=request.user, deal=deal, stage=stage, lost_reason=reason)
    # A move changes no contacts, tags or items: the deal in hand is current, no second read (the board's hot path).
    return deal_detail_body(deal)


@router.put("/deals/{id}/line-items", response={200: DealDetailOut, **WRITE_ERRORS}, tags=["deals"],
            summary="Replace a deal's line items",
            description="Errors name the item and field: `line_items.<n>.<field>` (n from 0). Nothing is saved "
            "unless every item is valid.")
def set_line_items(request: HttpRequest, id: uuid.UUID, payload: LineItemsIn):
    deal = selectors.get_deal(user=request.user, uuid=id)
    if payload.line_items is None:
        raise ValidationError({"line_items": [_("Send the list of line items (an empty list removes them all).")]})
    with transaction.atomic():
        services.set_line_items(actor=request.user, deal=deal, items=line_items_input(deal, payload.line_items),
                                update_amount=payload.update_amount)
    return _reread(request, deal)


@router.get("/deals/{id}/timeline", response={200: TimelinePage, **READ_ERRORS}, tags=["deals"],
            summary="A deal's timeline",
            description="The deal's events (created, stage changes, won/lost, quotes, tasks), newest first.")
def deal_timeline(request: HttpRequest, id: uuid.UUID, query: Query[TimelineQuery]):
    deal = selectors.get_deal(user=request.user, uuid=id)
    return page_body(timeline_selectors.timeline(deal=deal, params=request.GET, limit=query.limit), event_body)


# --- pipelines and the board -----------------------------------------------------------------------------------

@router.get("/pipelines", response={200: PipelineList, **READ_ERRORS}, tags=["pipelines"],
            summary="Pipelines with their stages", description="Active pipelines in order, stages in order.")
def list_pipelines(request: HttpRequest):
    return {"items": [pipeline_body(p) for p in selectors.pipelines()]}


@router.get("/pipelines/{id}/board", response={200: BoardOut, **READ_ERRORS}, tags=["pipelines"],
            summary="A pipeline's board",
            description="Each stage with its deal count, total and weighted total (base currency) and its first 50 "
            "deals by value. Takes the deal list's filters (owner, close_month, tag…)." + CUSTOM_FILTER_HELP)
def pipeline_board(request: HttpRequest, id: uuid.UUID, filters: Query[BoardQuery]):  # type: ignore[valid-type]
    pipeline = selectors.get_pipeline(id)
    params = request.GET.copy()
    params.pop("pipeline", None)
    columns = selectors.board(user=request.user, pipeline=pipeline, params=params, cards_only=False)
    for column in columns:
        for deal in column.deals:  # known already: no query per card
            deal.stage, deal.pipeline = column.stage, pipeline
    _with_relations([d for c in columns for d in c.deals])
    return {
        "pipeline": pipeline_body(pipeline),
        "base_currency": base_currency(),
        "columns": [{"stage": stage_body(c.stage), "count": c.count, "total": money(c.total),
                     "weighted": money(c.weighted), "more": c.more, "deals": [deal_body(d) for d in c.deals]}
                    for c in columns],
    }


@router.get("/lost-reasons", response={200: LostReasonList, **READ_ERRORS}, tags=["pipelines"],
            summary="Lost reasons", description="Name one as `lost_reason` when moving a deal to a lost stage.")
def list_lost_reasons(request: HttpRequest):
    return {"items": [{"name": r.name, "position": r.position} for r in selectors.lost_reasons()]}


# --- exchange rates ---------------------------------------------------------------------------------------------

@router.get("/exchange-rates", response={200: ExchangeRateList, **READ_ERRORS}, tags=["currencies"],
            summary="Exchange rates",
            description="Dated rates to the base currency, newest first per currency. A deal's amount converts at "
            "the latest rate not after its day (its close date once closed, else today).")
def list_exchange_rates(request: HttpRequest, query: Query[RateQuery]):
    code = clean_currency(query.currency) if query.currency else None
    return {"items": [rate_body(r) for r in money_services.exchange_rates(limit=1000)
                      if code is None or r.currency == code]}


@router.post("/exchange-rates", response={201: ExchangeRateOut, **WRITE_ERRORS}, tags=["currencies"],
             summary="Add an exchange rate (admins)",
             description="A rate for a currency from a day on; a second rate for the same currency and day replaces "
             "the first. Existing deals keep their converted amounts until they are next saved.")
def add_exchange_rate(request: HttpRequest, payload: ExchangeRateIn):
    return created(rate_body(money_services.add_exchange_rate(actor=request.user, currency=payload.currency,
                                                              rate=payload.rate, valid_from=payload.valid_from)))


# --- products (the catalogue: everyone signed in reads it, editors change it) --------------------------------------

class PriceIO(Schema):
    currency: str = Field(description="ISO 4217, e.g. EUR")
    unit_price: str | int | float | None = Field(None, description="A decimal, e.g. \"49.00\"")


class PriceIn(InputSchema):
    currency: str | None = Field(None, description="ISO 4217, e.g. EUR")
    unit_price: str | int | float | None = Field(None, description="A decimal, e.g. \"49.00\"")


class ProductOut(Schema):
    id: str
    sku: str
    name: str
    description: str
    category: str
    active: bool
    prices: list[PriceIO] = Field(description="One list price per currency")
    created_at: dt.datetime
    updated_at: dt.datetime


class ProductIn(InputSchema):
    """On PATCH only the fields sent change; `prices` replaces the whole price list."""

    sku: str | None = Field(None, description="Unique whatever its case")
    name: str | None = None
    description: str | None = None
    category: str | None = None
    active: bool | None = Field(None, description="Inactive products are hidden from pickers")
    prices: list[PriceIn] | None = Field(None, description="Errors are keyed `prices.<n>.<field>`")


class ProductQuery(Schema):
    q: str | None = Field(None, description="Name or SKU contains")
    active: str | None = Field(None, description="active (default), inactive or all",
                               json_schema_extra=enum_of(("active", "inactive", "all")))
    cursor: str | None = CURSOR
    limit: int = LIMIT


ProductPage = page_schema(ProductOut, "ProductPage")


def product_body(product: Product) -> dict[str, Any]:
    return {"id": str(product.uuid), "sku": product.sku, "name": product.name, "description": product.description,
            "category": product.category, "active": product.active,
            "prices": [{"currency": p.currency, "unit_price": money(p.unit_price)}
                       for p in sorted(product.prices.all(), key=lambda p: p.currency)],
            "created_at": product.created_at, "updated_at": product.updated_at}


def product_input(payload: ProductIn) -> dict[str, Any]:
    data = payload.dict(exclude_unset=True)
    for key in ("sku", "name", "description", "category"):
        if key in data and data[key] is None:
            data[key] = ""
    if "prices" in data:
        data["prices"] = data["prices"] or []
    return data


@router.get("/products", response={200: ProductPage, **READ_ERRORS}, tags=["products"], summary="List products",
            description="The catalogue by name, each product with its prices.")
def list_products(request: HttpRequest, query: Query[ProductQuery]):
    page = quote_selectors.product_list(user=request.user, params=request.GET, limit=query.limit)
    return page_body(page, product_body)


@router.post("/products", response={201: ProductOut, **WRITE_ERRORS}, tags=["products"], summary="Add a product")
def create_product(request: HttpRequest, payload: ProductIn):
    product = product_services.create_product(actor=request.user, data=product_input(payload))
    return created(product_body(quote_selectors.get_product(user=request.user, uuid=product.uuid)))


@router.get("/products/{id}", response={200: ProductOut, **READ_ERRORS}, tags=["products"], summary="Get a product")
def get_product(request: HttpRequest, id: uuid.UUID):
    return product_body(quote_selectors.get_product(user=request.user, uuid=id))


@router.patch("/products/{id}", response={200: ProductOut, **WRITE_ERRORS}, tags=["products"],
              summary="Update a product", description="Only the fields sent change; `prices` replaces the list.")
def update_product(request: HttpRequest, id: uuid.UUID, payload: ProductIn):
    product = quote_selectors.get_product(user=request.user, uuid=id)
    product_services.update_product(actor=request.user, product=product, data=product_input(payload))
    return product_body(quote_selectors.get_product(user=request.user, uuid=id))


# --- quotes (visible exactly when their deal is) -----------------------------------------------------------------

class QuoteLineOut(Schema):
    name: str
    sku: str
    quantity: str
    unit_price: str
    discount_percent: str
    amount: str


class QuoteOut(Schema):
    id: str
    number: str = Field(description="Q-<year>-<nnnn>, gap-free per year")
    deal: Ref
    contact: Ref | None = Field(description="The recipient")
    status: str = Field(json_schema_extra=enum_of(("draft", "sent", "accepted", "declined")))
    currency: str
    valid_until: dt.date
    terms: str
    subtotal: str
    discount_total: str
    total: str
    lines: list[QuoteLineOut]
    pdf_url: str = Field(description="The PDF (same login or session)")
    created_by: Ref | None
    sent_at: dt.datetime | None
    decided_at: dt.datetime | None
    created_at: dt.datetime


class QuoteIn(InputSchema):
    valid_until: str | None = Field(None, description="YYYY-MM-DD, today or later")
    terms: str | None = None
    contact: uuid.UUID | None = Field(None, description="The recipient: a contact of the deal")


class SendIn(InputSchema):
    contact: uuid.UUID | None = Field(None, description="Recipient (default: the quote's)")
    message: str | None = Field(None, description="The email's text (default: a short standard note)")


class DecideIn(InputSchema):
    decision: str | None = Field(None, json_schema_extra=enum_of(("accepted", "declined")))
    move_deal: bool = Field(False, description="Also move the deal to its pipeline's won / lost stage")
    lost_reason: str | None = Field(None, description="With a decline and move_deal: a lost reason's name")


QuoteList = list_schema(QuoteOut, "QuoteList")


def quote_body(quote: Any) -> dict[str, Any]:
    return {
        "id": str(quote.uuid), "number": quote.number, "deal": ref(quote.deal), "contact": ref(quote.contact),
        "status": quote.status, "currency": quote.currency, "valid_until": quote.valid_until, "terms": quote.terms,
        "subtotal": money(quote.subtotal), "discount_total": money(quote.discount_total),
        "total": money(quote.total),
        "lines": [{"name": li.name, "sku": li.sku, "quantity": money(li.quantity),
                   "unit_price": money(li.unit_price), "discount_percent": money(li.discount_percent),
                   "amount": money(li.amount)} for li in quote.lines.all()],
        "pdf_url": reverse("quotes:pdf", args=[quote.uuid]),
        "created_by": ref(quote.created_by), "sent_at": quote.sent_at, "decided_at": quote.decided_at,
        "created_at": quote.created_at,
    }


def _recipient(request: HttpRequest, value: uuid.UUID | None) -> Any:
    if value is None:
        return None
    return _resolve("contact", _("There is no contact with this id, or you may not see it."),
                    lambda: contact_selectors.get_contact(user=request.user, uuid=value))


@router.get("/deals/{id}/quotes", response={200: QuoteList, **READ_ERRORS}, tags=["quotes"],
            summary="A deal's quotes", description="Newest first.")
def list_deal_quotes(request: HttpRequest, id: uuid.UUID):
    deal = selectors.get_deal(user=request.user, uuid=id)
    quotes = quote_selectors.quotes_of_deal(user=request.user, deal=deal)
    prefetch_related_objects(quotes, "lines", "created_by")
    for quote in quotes:
        quote.deal = deal
    return {"items": [quote_body(q) for q in quotes]}


@router.post("/deals/{id}/quotes", response={201: QuoteOut, **WRITE_ERRORS}, tags=["quotes"],
             summary="Make a quote from the deal's line items",
             description="A numbered draft; its lines are copied from the deal and never change afterwards.")
def create_quote(request: HttpRequest, id: uuid.UUID, payload: QuoteIn):
    deal = selectors.get_deal(user=request.user, uuid=id)
    contact = _recipient(request, payload.contact)
    quote = quote_services.create_quote(actor=request.user, deal=deal, valid_until=payload.valid_until,
                                        terms=payload.terms or "", contact=contact)
    return created(quote_body(quote_selectors.get_quote(user=request.user, uuid=quote.uuid)))


@router.get("/quotes/{id}", response={200: QuoteOut, **READ_ERRORS}, tags=["quotes"], summary="Get a quote")
def get_quote(request: HttpRequest, id: uuid.UUID):
    return quote_body(quote_selectors.get_quote(user=request.user, uuid=id))


@router.post("/quotes/{id}/send", response={200: QuoteOut, **WRITE_ERRORS}, tags=["quotes"],
             summary="Email the quote",
             description="Sends the PDF to the recipient over SMTP; only then does the quote become `sent`. A mail "
             "server that refuses the message answers 422 on `email` and nothing changes.")
def send_quote(request: HttpRequest, id: uuid.UUID, payload: SendIn):
    quote = quote_selectors.get_quote(user=request.user, uuid=id)
    contact = _recipient(request, payload.contact)
    quote_services.send_quote(actor=request.user, quote=quote, contact=contact, message=payload.message or "")
    return quote_body(quote_selectors.get_quote(user=request.user, uuid=id))


@router.post("/quotes/{id}/decide", response={200: QuoteOut, **WRITE_ERRORS}, tags=["quotes"],
             summary="Mark a quote accepted or declined",
             description="With `move_deal`, the deal moves to its pipeline's won (accepted) or lost (declined) stage.")
def decide_quote(request: HttpRequest, id: uuid.UUID, payload: DecideIn):
    quote = quote_selectors.get_quote(user=request.user, uuid=id)
    reason = _lost_reason(payload.lost_reason)
    quote_services.decide_quote(actor=request.user, quote=quote, decision=payload.decision or "",
                                move_deal=payload.move_deal, lost_reason=reason)
    return quote_body(quote_selectors.get_quote(user=request.user, uuid=id))
