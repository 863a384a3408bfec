"""Orders and carts over the JSON API (read, refund, and the in-store form's twin). Thin: parse, call one selector
or service, serialise. An order or cart whose customer the caller may not see answers 404."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from amity.api.pagination import CURSOR, LIMIT, page_body
from amity.api.schemas import READ_ERRORS, WRITE_ERRORS, InputSchema, Ref, created, enum_of, page_schema
from amity.contacts import selectors as contact_selectors
from amity.core.money import base_currency

from . import selectors
from .models import CartStatus, Channel, OrderStatus

router = Router(tags=["Commerce"])

MONEY = "A decimal as text, e.g. \"1250.00\""


# --- schemas ----------------------------------------------------------------------------------------------------------

class OrderLineOut(Schema):
    product: Ref | None
    sku: str
    name: str
    category: str
    quantity: str = Field(description=MONEY)
    unit_price: str = Field(description=MONEY)
    discount: str = Field(description=MONEY)
    total: str = Field(description=MONEY)


class OrderOut(Schema):
    id: str
    number: str
    external_id: str
    customer: Ref | None = Field(description="The contact; null for a guest not linked to a contact yet")
    status: str = Field(json_schema_extra=enum_of(OrderStatus.values))
    channel: str = Field(json_schema_extra=enum_of(Channel.values))
    currency: str
    subtotal: str = Field(description=MONEY)
    discount_total: str = Field(description=MONEY)
    tax_total: str = Field(description=MONEY)
    shipping_total: str = Field(description=MONEY)
    total: str = Field(description=MONEY)
    total_base: str = Field(description="The total in the base currency (`base_currency`)")
    base_currency: str
    refunded_amount: str = Field(description=MONEY)
    placed_at: dt.datetime
    paid_at: dt.datetime | None
    fulfilled_at: dt.datetime | None
    refunded_at: dt.datetime | None
    note: str


class OrderDetailOut(OrderOut):
    lines: list[OrderLineOut]


class CartItemOut(Schema):
    product: Ref | None
    sku: str
    name: str
    quantity: str = Field(description=MONEY)
    unit_price: str = Field(description=MONEY)
    image_url: str
    product_url: str


class CartOut(Schema):
    id: str
    customer: Ref | None = Field(description="The contact; null for an anonymous visitor")
    status: str = Field(json_schema_extra=enum_of(CartStatus.values))
    currency: str
    value: str = Field(description=MONEY)
    value_base: str = Field(description="The value in the base currency (`base_currency`)")
    base_currency: str
    item_count: int
    cart_url: str
    last_activity_at: dt.datetime
    abandoned_at: dt.datetime | None
    recovered_at: dt.datetime | None
    recovered_order: str | None = Field(description="Id of the order that recovered the cart")


class CartDetailOut(CartOut):
    items: list[CartItemOut]


OrderPage = page_schema(OrderOut, "OrderPage")
CartPage = page_schema(CartOut, "CartPage")


class OrderListQuery(Schema):
    status: str | None = Field(None, description="One of: " + ", ".join(OrderStatus.values) + ".")
    channel: str | None = Field(None, description="One of: " + ", ".join(Channel.values) + ".")
    customer: str | None = Field(None, description="A contact id.")
    placed_from: str | None = Field(None, description="A date, YYYY-MM-DD (workspace time zone).")
    placed_to: str | None = Field(None, description="A date, YYYY-MM-DD, included (workspace time zone).")
    sort: str | None = Field(None, description="Sort order (default `-placed`).",
                             json_schema_extra=enum_of(list(selectors.ORDER_SORTS)))
    cursor: str | None = CURSOR
    limit: int = LIMIT


class CartListQuery(Schema):
    status: str | None = Field(None, description="One of: " + ", ".join(CartStatus.values) + ".")
    customer: str | None = Field(None, description="A contact id.")
    min_value: str | None = Field(None, description="Value at least, in the base currency.")
    min_age: str | None = Field(None, description="Abandoned at least this many hours ago.")
    max_age: str | None = Field(None, description="Abandoned at most this many hours ago.")
    sort: str | None = Field(None, description="Sort order (default `-activity`): `-value` largest first, "
                             "`-abandoned` most recently abandoned, `abandoned` longest abandoned.",
                             json_schema_extra=enum_of(list(selectors.CART_SORTS)))
    cursor: str | None = CURSOR
    limit: int = LIMIT


class RefundIn(InputSchema):
    amount: Decimal | None = Field(None, description="Amount to refund in the order's currency; omit for all "
                                   "that is left.")


class PurchaseLineIn(InputSchema):
    product: str = Field(description="A product id or SKU (active catalogue products).")
    quantity: Decimal = Field(Decimal(1), description="More than 0.")
    unit_price: Decimal | None = Field(None, description="Defaults to the product's price in the currency.")
    discount: Decimal | None = Field(None, description="A discount on the line, in the currency.")


class PurchaseIn(InputSchema):
    # Optional in the schema so the customer is looked up (404) before the lines are checked (422).
    lines: list[PurchaseLineIn] = Field(default_factory=list, description="At least one line.")
    channel: str = Field(Channel.IN_STORE.value, json_schema_extra=enum_of([Channel.IN_STORE, Channel.PHONE]))
    currency: str | None = Field(None, description="ISO 4217 code; defaults to the base currency.")
    note: str = ""
    placed_at: dt.datetime | None = Field(None, description="Defaults to now.")


# --- serialisers ------------------------------------------------------------------------------------------------------

def _ref(contact: Any) -> dict[str, str] | None:
    return {"id": str(contact.uuid), "name": str(contact)} if contact is not None else None


def _product_ref(product: Any) -> dict[str, str] | None:
    return {"id": str(product.uuid), "name": product.name} if product is not None else None


def order_body(order: Any) -> dict[str, Any]:
    return {
        "id": str(order.uuid), "number": order.number, "external_id": order.external_id,
        "customer": _ref(order.contact), "status": order.status, "channel": order.channel,
        "currency": order.currency, "subtotal": str(order.subtotal), "discount_total": str(order.discount_total),
        "tax_total": str(order.tax_total), "shipping_total": str(order.shipping_total), "total": str(order.total),
        "total_base": str(order.total_base), "base_currency": base_currency(),
        "refunded_amount": str(order.refunded_amount), "placed_at": order.placed_at, "paid_at": order.paid_at,
        "fulfilled_at": order.fulfilled_at, "refunded_at": order.refunded_at, "note": order.note,
    }


def order_detail_body(order: Any) -> dict[str, Any]:
    return {**order_body(order), "lines": [{
        "product": _product_ref(line.product), "sku": line.sku, "name": line.name, "category": line.category,
        "quantity": str(line.quantity), "unit_price": str(line.unit_price), "discount": str(line.discount),
        "total": str(line.total)} for line in order.lines.all()]}


def cart_body(cart: Any) -> dict[str, Any]:
    return {
        "id": str(cart.uuid), "customer": _ref(cart.contact), "status": cart.status, "currency": cart.currency,
        "value": str(cart.value), "value_base": str(cart.value_base), "base_currency": base_currency(),
        "item_count": cart.item_count, "cart_url": cart.cart_url, "last_activity_at": cart.last_activity_at,
        "abandoned_at": cart.abandoned_at, "recovered_at": cart.recovered_at,
        "recovered_order": str(cart.recovered_order.uuid) if cart.recovered_order_id else None,
    }


def cart_detail_body(cart: Any) -> dict[str, Any]:
    return {**cart_body(cart), "items": [{
        "product": _product_ref(item.product), "sku": item.sku, "name": item.name, "quantity": str(item.quantity),
        "unit_price": str(item.unit_price), "image_url": item.image_url, "product_url": item.product_url}
        for item in cart.items.all()]}


# --- endpoints --------------------------------------------------------------------------------------------------------

@router.get("/orders", response={200: OrderPage, **READ_ERRORS}, summary="List orders",
            description="Orders of the customers you may see, newest first; the same filters as the Orders page.")
def list_orders(request: HttpRequest, filters: Query[OrderListQuery]):  # type: ignore[type-arg]
    page = selectors.order_list(user=request.user, params=request.GET)
    return page_body(page, order_body)


@router.get("/orders/{id}", response={200: OrderDetailOut, **READ_ERRORS}, summary="Get an order",
            description="With its lines.")
def get_order(request: HttpRequest, id: uuid.UUID):
    return order_detail_body(selectors.get_order(user=request.user, uuid=id))


@router.post("/orders/{id}/refund", response={200: OrderDetailOut, **WRITE_ERRORS}, summary="Refund an order",
             description="Refund part or all of what is left; the customer's total spent drops accordingly.")
def refund_order(request: HttpRequest, id: uuid.UUID, payload: RefundIn):
    from . import services

    order = selectors.get_order(user=request.user, uuid=id)
    services.refund_order(order=order, amount=payload.amount, actor=request.user)
    return order_detail_body(selectors.get_order(user=request.user, uuid=id))


@router.get("/carts", response={200: CartPage, **READ_ERRORS}, summary="List carts",
            description="Carts of the customers you may see. `status=abandoned&sort=-value` is the recoverable "
            "revenue list.")
def list_carts(request: HttpRequest, filters: Query[CartListQuery]):  # type: ignore[type-arg]
    page = selectors.cart_list(user=request.user, params=request.GET)
    return page_body(page, cart_body)


@router.get("/carts/{id}", response={200: CartDetailOut, **READ_ERRORS}, summary="Get a cart",
            description="With its items.")
def get_cart(request: HttpRequest, id: uuid.UUID):
    return cart_detail_body(selectors.get_cart(user=request.user, uuid=id))


@router.post("/contacts/{id}/purchases", response={201: OrderDetailOut, **WRITE_ERRORS},
             summary="Record an in-store or phone purchase",
             description="The API twin of “Record a purchase” on the customer page. Errors name the line: "
             "`lines.1.quantity`. Nothing is saved unless every line is valid.")
def record_purchase(request: HttpRequest, id: uuid.UUID, payload: PurchaseIn):
    from . import services

    contact = contact_selectors.get_contact(user=request.user, uuid=id)
    data = payload.model_dump(exclude_none=True)
    data["lines"] = [{k: str(v) if isinstance(v, Decimal) else v for k, v in line.items()} for line in data["lines"]]
    order = services.record_in_store_purchase(contact=contact, data=data, actor=request.user)
    return created(order_detail_body(selectors.get_order(user=request.user, uuid=order.uuid)))
