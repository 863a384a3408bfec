"""Money: ISO 4217 currencies and conversion to the workspace's base currency with dated exchange rates."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from amity.core.models import ExchangeRate

# Active ISO 4217 codes (2025).
_ISO_4217 = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF
CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG
HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA
MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD
RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX
USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWG
"""
CURRENCIES = frozenset(_ISO_4217.split())
CENT = Decimal("0.01")


def base_currency() -> str:
    return settings.AMITY_BASE_CURRENCY


def clean_currency(value: Any, field: str = "currency") -> str:
    code = str(value or "").strip().upper()
    if code not in CURRENCIES:
        raise ValidationError({field: [_("“%(value)s” is not a currency code (ISO 4217, e.g. USD, EUR, CNY).")
                                       % {"value": value}]})
    return code


def clean_amount(value: Any, field: str = "amount", allow_negative: bool = False) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", "")) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        raise ValidationError({field: [_("“%(value)s” is not an amount.") % {"value": value}]}) from None
    if not amount.is_finite():
        raise ValidationError({field: [_("“%(value)s” is not an amount.") % {"value": value}]})
    if amount < 0 and not allow_negative:
        raise ValidationError({field: [_("An amount cannot be negative.")]})
    if abs(amount) >= Decimal("1e12"):
        raise ValidationError({field: [_("That amount is too large.")]})
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def rate_on(currency: str, on: dt.date | None = None) -> Decimal:
    """Units of base currency per unit of ``currency`` on the day ``on`` (the latest rate not after it)."""
    if currency == base_currency():
        return Decimal(1)
    on = on or timezone.localdate()
    rate = (ExchangeRate.objects.filter(currency=currency, valid_from__lte=on).order_by("-valid_from")
            .values_list("rate", flat=True).first())
    if rate is None:
        raise ValidationError({"currency": [
            _("There is no exchange rate from %(currency)s to %(base)s for %(day)s yet; add one under Settings → "
              "Currencies.") % {"currency": currency, "base": base_currency(), "day": on.isoformat()}
        ]})
    return rate


def to_base(amount: Decimal, currency: str, on: dt.date | None = None) -> Decimal:
    return (amount * rate_on(currency, on)).quantize(CENT, rounding=ROUND_HALF_UP)


def exchange_rates(limit: int = 200) -> list[ExchangeRate]:
    """The most recent rates, newest first per currency (the settings page lists them)."""
    return list(ExchangeRate.objects.order_by("currency", "-valid_from")[:limit])


def add_exchange_rate(*, actor: Any, currency: Any, rate: Any, valid_from: Any = None) -> ExchangeRate:
    """Record that one unit of ``currency`` is worth ``rate`` base units from ``valid_from`` (default today).

    A second rate for the same currency and day replaces the first. Amounts already converted keep their value:
    a deal's base amount is refreshed when the deal is next saved."""
    from django.db import transaction

    from amity.core import audit
    from amity.core.models import AuditAction
    from amity.core.permissions import is_admin, require

    require(is_admin(actor), _("Only admins manage exchange rates."))
    errors: dict[str, list[str]] = {}
    code = ""
    try:
        code = clean_currency(currency)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if code and code == base_currency():
        errors["currency"] = [_("%(currency)s is the base currency; its rate is always 1.") % {"currency": code}]
    value = None
    try:
        value = Decimal(str(rate).strip().replace(",", "")) if rate not in (None, "") else None
        if value is None or not value.is_finite() or value <= 0 or value >= Decimal("1e10"):
            raise InvalidOperation
        if value.as_tuple().exponent < -8:  # type: ignore[operator]
            value = value.quantize(Decimal("1e-8"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        errors["rate"] = [_("Enter a positive rate, e.g. 1.0825.")]
    day = timezone.localdate()
    if valid_from not in (None, ""):
        if isinstance(valid_from, dt.date):
            day = valid_from
        else:
            try:
                day = dt.date.fromisoformat(str(valid_from).strip())
            except ValueError:
                errors["valid_from"] = [_("“%(value)s” is not a date (use YYYY-MM-DD).") % {"value": valid_from}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        row, created = ExchangeRate.objects.update_or_create(currency=code, valid_from=day,  # type: ignore[misc]
                                                             defaults={"rate": value})
        audit.record(AuditAction.CREATE if created else AuditAction.UPDATE, actor=actor, obj=row,
                     changes={"currency": code, "rate": str(value), "valid_from": day.isoformat()})
    return row
