"""The product catalogue (shared with commerce): every write validated, transactional and audited.

A SKU is unique whatever its case or surrounding spaces ("ab-1 " and "AB-1" are the same product); it is stored
trimmed, as typed. Prices are per currency, Decimal and never negative.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from amity.contacts.services import Errors
from amity.core import audit
from amity.core.models import AuditAction
from amity.core.money import clean_amount, clean_currency
from amity.core.normalize import clean_text
from amity.core.permissions import can_edit, require

from .models import Product, ProductPrice

PRODUCT_AUDITED = ["sku", "name", "description", "category", "active"]


def _clean_product(data: dict[str, Any], product: Product | None = None, partial: bool = False) -> dict[str, Any]:
    errors = Errors()
    out: dict[str, Any] = {}
    if "sku" in data or not partial:
        sku = clean_text(data.get("sku"))
        if not sku:
            errors.add("sku", _("Give the product a SKU."))
        elif len(sku) > 64:
            errors.add("sku", _("A SKU is at most 64 characters."))
        else:
            taken = Product.objects.filter(sku__iexact=sku)
            if product is not None:
                taken = taken.exclude(pk=product.pk)
            if taken.exists():
                errors.add("sku", _("Another product already has the SKU “%(sku)s”.") % {"sku": sku})
        out["sku"] = sku
    if "name" in data or not partial:
        out["name"] = clean_text(data.get("name"))[:200]
        if not out["name"]:
            errors.add("name", _("Give the product a name."))
    if "description" in data:
        out["description"] = str(data.get("description") or "").strip()[:5000]
    if "category" in data:
        out["category"] = clean_text(data.get("category"))[:100]
    if "active" in data:
        out["active"] = bool(data["active"]) and str(data["active"]).lower() not in {"0", "false", "off", "no"}
    if "prices" in data:
        try:
            out["prices"] = clean_prices(data["prices"])
        except ValidationError as exc:
            errors.merge(exc)
    errors.raise_if_any()
    return out


def clean_prices(prices: Any) -> list[tuple[str, Any]]:
    """``{"USD": "10", …}`` or ``[{"currency": "USD", "unit_price": "10"}, …]`` → [(currency, Decimal)].

    Errors are keyed ``prices.<n>.currency`` / ``prices.<n>.unit_price`` (n counts the rows as given); a row with
    neither a currency nor a price is skipped, so a form's spare blank rows are harmless."""
    rows = [{"currency": c, "unit_price": p} for c, p in prices.items()] if isinstance(prices, dict) else list(prices)
    errors: dict[str, list[str]] = {}
    cleaned: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for n, row in enumerate(rows):
        raw_currency, raw_price = row.get("currency"), row.get("unit_price")
        if str(raw_currency or "").strip() == "" and str(raw_price if raw_price is not None else "").strip() == "":
            continue
        currency = price = None
        try:
            currency = clean_currency(raw_currency, field=f"prices.{n}.currency")
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if str(raw_price if raw_price is not None else "").strip() == "":
            errors[f"prices.{n}.unit_price"] = [_("Enter a price.")]
        else:
            try:
                price = clean_amount(raw_price, field=f"prices.{n}.unit_price")
            except ValidationError as exc:
                errors.update(exc.message_dict)
        if currency and currency in seen:
            errors[f"prices.{n}.currency"] = [_("%(currency)s is listed twice.") % {"currency": currency}]
        if currency:
            seen.add(currency)
        if currency and price is not None:
            cleaned.append((currency, price))
    if errors:
        raise ValidationError(errors)
    return cleaned


def _price_state(product: Product) -> dict[str, str]:
    return {p.currency: str(p.unit_price) for p in product.prices.all()}


def _replace_prices(product: Product, prices: list[tuple[str, Any]]) -> None:
    product.prices.exclude(currency__in=[c for c, _p in prices]).delete()
    for currency, price in prices:
        ProductPrice.objects.update_or_create(product=product, currency=currency, defaults={"unit_price": price})


@transaction.atomic
def create_product(*, actor: Any, data: dict[str, Any]) -> Product:
    require(actor is None or can_edit(actor))
    cleaned = _clean_product(data)
    prices = cleaned.pop("prices", [])
    product = Product.objects.create(**cleaned)
    _replace_prices(product, prices)
    audit.record(AuditAction.CREATE, actor=actor, obj=product,
                 changes={**audit.snapshot(product, PRODUCT_AUDITED), "prices": _price_state(product)})
    return product


@transaction.atomic
def update_product(*, actor: Any, product: Product, data: dict[str, Any]) -> Product:
    """Edit fields (only those in ``data``); ``prices`` in ``data`` replaces the price list."""
    require(actor is None or can_edit(actor))
    cleaned = _clean_product(data, product=product, partial=True)
    prices = cleaned.pop("prices", None)
    before = {**audit.snapshot(product, PRODUCT_AUDITED), "prices": _price_state(product)}
    for field, value in cleaned.items():
        setattr(product, field, value)
    product.save()
    if prices is not None:
        _replace_prices(product, prices)
    changes = audit.diff(before, {**audit.snapshot(product, PRODUCT_AUDITED), "prices": _price_state(product)})
    if changes:
        audit.record(AuditAction.UPDATE, actor=actor, obj=product, changes=changes)
    return product


def set_prices(*, actor: Any, product: Product, prices: Any) -> Product:
    """Replace the product's prices: ``{"USD": "10.00", "EUR": "9"}`` or a list of {currency, unit_price}."""
    return update_product(actor=actor, product=product, data={"prices": prices})


def deactivate(*, actor: Any, product: Product) -> Product:
    """Hide a product from pickers; quotes and deals that used it keep their copied lines."""
    return update_product(actor=actor, product=product, data={"active": False})


def activate(*, actor: Any, product: Product) -> Product:
    return update_product(actor=actor, product=product, data={"active": True})
