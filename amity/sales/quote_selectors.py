"""Reads for the product catalogue and for quotes.

Products are not owned: everyone signed in sees the catalogue. A quote is visible exactly when its deal is
(``deals_for``), so another team's quote answers 404 like its deal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from amity.core.money import clean_currency
from amity.core.pagination import Ordering, Page, keyset_page

from .models import Deal, Product, ProductPrice, Quote
from .selectors import deals_for

PRODUCT_ORDER = Ordering("name", descending=False)
ACTIVE_CHOICES = ("active", "inactive", "all")


def _products(params: Mapping[str, Any]) -> QuerySet[Product]:
    qs = Product.objects.all()
    active = params.get("active") or "active"
    if active not in ACTIVE_CHOICES:
        raise ValidationError({"active": [_("“%(value)s” is not a choice; use active, inactive or all.")
                                          % {"value": active}]})
    if active != "all":
        qs = qs.filter(active=active == "active")
    if q := str(params.get("q") or "").strip():
        qs = qs.filter(Q(name__icontains=q) | Q(sku__icontains=q))
    return qs


def product_list(*, user: Any, params: Mapping[str, Any], limit: int = 25) -> Page[Product]:
    """One page of the catalogue by name (keyset), each product with its prices."""
    qs = _products(params).prefetch_related(Prefetch("prices", queryset=ProductPrice.objects.order_by("currency")))
    return keyset_page(qs, PRODUCT_ORDER, params.get("cursor") or None, limit)


def get_product(*, user: Any, uuid: Any) -> Product:
    try:
        return Product.objects.prefetch_related(
            Prefetch("prices", queryset=ProductPrice.objects.order_by("currency"))).get(uuid=uuid)
    except (Product.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc


def product_suggestions(*, user: Any, q: str, currency: str = "", limit: int = 20) -> list[dict[str, Any]]:
    """Active products matching ``q`` (name or SKU) for the line-items picker, with the unit price in
    ``currency`` (None when the product has no price in it). An unknown currency is a ValidationError."""
    code = clean_currency(currency) if str(currency or "").strip() else ""
    qs = _products({"q": q, "active": "active"}).order_by("name", "id")
    rows = list(qs.values("uuid", "name", "sku")[:limit])
    prices: dict[Any, Any] = {}
    if code and rows:
        prices = dict(ProductPrice.objects.filter(product__uuid__in=[r["uuid"] for r in rows], currency=code)
                      .values_list("product__uuid", "unit_price"))
    return [{"uuid": str(r["uuid"]), "name": r["name"], "sku": r["sku"], "currency": code or None,
             "unit_price": str(prices[r["uuid"]]) if r["uuid"] in prices else None} for r in rows]


# --- quotes ---------------------------------------------------------------------------------------------------

def quotes_for(user: Any) -> QuerySet[Quote]:
    return Quote.objects.filter(deal__in=deals_for(user))


def get_quote(*, user: Any, uuid: Any) -> Quote:
    try:
        return (quotes_for(user)
                .select_related("deal__pipeline", "deal__stage", "deal__company", "contact__company", "created_by")
                .prefetch_related("lines").get(uuid=uuid))
    except (Quote.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc


def quotes_of_deal(*, user: Any, deal: Deal) -> list[Quote]:
    """The deal's quotes, newest first, for the card on the deal page (the caller fetched ``deal`` through
    ``get_deal``, so it is visible; the check is repeated so this is safe on its own)."""
    return list(quotes_for(user).filter(deal=deal).select_related("contact").order_by("-created_at", "-id"))
