"""Forms of the commerce pages: the in-store purchase form of the 360 card, the refund form and the settings.

The purchase form's lines are plain numbered inputs (``lines-0-product``, ``lines-0-quantity``,
``lines-0-unit_price``…), so the page works without JavaScript; ``commerce.js`` only adds steppers, price
prefill and the running total. Checks here give per-line messages ("Line 2: quantity must be more than 0");
``services.record_in_store_purchase`` validates again and writes everything or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amity.core import money

from .models import Channel

MAX_LINES = 30
BLANK_LINES = 1
LINE_FIELDS = ("product", "quantity", "unit_price")
PURCHASE_CHANNELS = [(Channel.IN_STORE.value, Channel.IN_STORE.label), (Channel.PHONE.value, Channel.PHONE.label)]


@dataclass
class LineRow:
    index: int
    product: str = ""
    quantity: str = "1"
    unit_price: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def is_empty(self) -> bool:
        """An untouched row (no product, no price, the default quantity)."""
        return not self.product and not self.unit_price and self.quantity in {"", "1"}



@dataclass
class PurchaseForm:
    """The submitted (or blank) form: values to show again, per-line and per-field errors."""

    currency: str
    channel: str = Channel.IN_STORE.value
    note: str = ""
    lines: list[LineRow] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)  # "currency", "channel", "note", "lines", "__all__"
    submitted: list[int] = field(default_factory=list)  # the form line behind each line sent to the service

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or any(line.errors for line in self.lines))

    @property
    def line_messages(self) -> list[str]:
        return [m for line in self.lines for msgs in line.errors.values() for m in msgs]

    @classmethod
    def blank(cls) -> PurchaseForm:
        return cls(currency=money.base_currency(), lines=[LineRow(index=i) for i in range(BLANK_LINES)])

    @classmethod
    def from_post(cls, post: Any) -> PurchaseForm:
        form = cls(currency=(post.get("currency") or "").strip().upper() or money.base_currency(),
                   channel=(post.get("channel") or Channel.IN_STORE.value).strip(),
                   note=(post.get("note") or "").strip())
        for index in range(MAX_LINES):
            values = {part: (post.get(f"lines-{index}-{part}") or "").strip() for part in LINE_FIELDS}
            if any(values.values()) or index < BLANK_LINES:
                form.lines.append(LineRow(index=len(form.lines), product=values["product"],
                                          quantity=values["quantity"], unit_price=values["unit_price"]))
        return form

    def add_line(self) -> None:
        if len(self.lines) < MAX_LINES:
            self.lines.append(LineRow(index=len(self.lines)))

    def add_error(self, key: str, message: str) -> None:
        """A service error: ``lines.<i>.<field>`` (the i-th line sent) goes to that line with its number, others
        to the form."""
        parts = key.split(".")
        if len(parts) >= 2 and parts[0] == "lines" and parts[1].isdigit():
            sent = int(parts[1])
            index = self.submitted[sent] if sent < len(self.submitted) else sent
            if 0 <= index < len(self.lines):
                part = parts[2] if len(parts) > 2 and parts[2] in LINE_FIELDS else "product"
                self.lines[index].errors.setdefault(part, []).append(
                    _("Line %(n)s: %(message)s") % {"n": index + 1, "message": message})
                return
        target = key if key in {"currency", "channel", "note", "lines"} else "__all__"
        self.errors.setdefault(target, []).append(message)

    def add_service_errors(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for key, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(key, message)
        else:
            for message in exc.messages:
                self.add_error("__all__", message)

    def purchase_data(self) -> dict[str, Any] | None:
        """The ``data`` for ``record_in_store_purchase``, or None after recording the errors on the form."""
        if self.channel not in {c for c, _label in PURCHASE_CHANNELS}:
            self.errors["channel"] = [_("Choose in store or phone.")]
        try:
            self.currency = money.clean_currency(self.currency)
        except ValidationError as exc:
            self.add_service_errors(exc)
        filled = [line for line in self.lines if not line.is_empty]
        self.submitted = [line.index for line in filled]
        lines = [_clean_line(line) for line in filled]
        if not lines:
            self.lines[0].errors.setdefault("product", []).append(_("Line 1: choose a product (name or SKU)."))
        if self.has_errors:
            return None
        return {"lines": [line for line in lines if line], "channel": self.channel, "currency": self.currency,
                "note": self.note}


def _clean_line(line: LineRow) -> dict[str, Any] | None:
    n = line.number
    result: dict[str, Any] = {"product": line.product}
    if not line.product:
        line.errors["product"] = [_("Line %(n)s: choose a product (name or SKU).") % {"n": n}]
    try:
        quantity = Decimal((line.quantity or "1").replace(",", "."))
        if not quantity.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        line.errors["quantity"] = [_("Line %(n)s: quantity must be a number.") % {"n": n}]
    else:
        if quantity <= 0:
            line.errors["quantity"] = [_("Line %(n)s: quantity must be more than 0.") % {"n": n}]
        result["quantity"] = str(quantity)
    if line.unit_price:
        try:
            price = Decimal(line.unit_price.replace(",", "."))
            if not price.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            line.errors["unit_price"] = [_("Line %(n)s: price must be a number.") % {"n": n}]
        else:
            if price < 0:
                line.errors["unit_price"] = [_("Line %(n)s: price cannot be negative.") % {"n": n}]
            result["unit_price"] = str(price)
    return None if line.errors else result


class RefundForm(forms.Form):
    amount = forms.DecimalField(label=gettext_lazy("Amount to refund"), max_digits=14, decimal_places=2,
                                min_value=Decimal("0.01"))


class CommerceSettingsForm(forms.Form):
    abandon_after_minutes = forms.IntegerField(
        label=gettext_lazy("A cart is abandoned after (minutes)"),
        help_text=gettext_lazy("An open cart with no activity for this long counts as abandoned."))
