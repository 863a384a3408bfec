"""Forms for deals, line items, pipelines and exchange rates.

Like the contact forms they only gather input: ``service_data()`` builds the dict the services take (related
records already resolved through permission-scoped selectors) and the services decide what is valid.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amity.contacts import selectors as contact_selectors
from amity.contacts.forms import ServiceForm
from amity.core.money import CURRENCIES, base_currency
from amity.core.normalize import normalize_email

from . import selectors
from .models import Deal, Product, StageKind

COMMON_CURRENCIES = ["USD", "EUR", "GBP", "CNY", "JPY", "HKD", "SGD", "AUD", "CAD", "CHF", "INR", "KRW", "TWD",
                     "BRL", "MXN", "SEK", "NOK", "DKK", "PLN", "AED", "ZAR", "NZD"]
LINE_ITEM_BLANK_ROWS = 2


def currency_choices(current: str = "") -> list[tuple[str, str]]:
    """The base currency first, then the common ones (plus the deal's own, if it is a rarer one)."""
    codes = [base_currency(), *[c for c in COMMON_CURRENCIES if c != base_currency()]]
    if current and current not in codes and current in CURRENCIES:
        codes.append(current)
    return [(c, c) for c in codes]


def stage_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Stages grouped by pipeline (an <optgroup> each), so the form shows which stage belongs where."""
    return [(p.name, [(str(s.uuid), s.name) for s in p.stages.all()]) for p in selectors.pipelines()]


class DealForm(ServiceForm):
    object_type = "deal"
    error_targets = {"company": "company_name"}

    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    pipeline = forms.ChoiceField(label=gettext_lazy("Pipeline"))
    stage = forms.ChoiceField(label=gettext_lazy("Stage"), required=False)
    amount = forms.CharField(label=gettext_lazy("Amount"), required=False,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.00"}))
    currency = forms.ChoiceField(label=gettext_lazy("Currency"))
    expected_close_date = forms.CharField(label=gettext_lazy("Expected close date"), required=False,
                                          widget=forms.DateInput(attrs={"type": "date"}))
    probability = forms.CharField(label=gettext_lazy("Probability (%)"), required=False,
                                  widget=forms.TextInput(attrs={"inputmode": "numeric"}),
                                  help_text=gettext_lazy("Leave blank to use the stage's default."))
    owner = forms.ChoiceField(label=gettext_lazy("Owner"), required=False)
    company_name = forms.CharField(label=gettext_lazy("Company"), max_length=200, required=False,
                                   widget=forms.TextInput(attrs={"list": "company-names", "autocomplete": "off"}))
    contact_emails = forms.CharField(label=gettext_lazy("Contacts"), required=False,
                                     widget=forms.TextInput(attrs={"placeholder": "ana@example.com, li@example.com"}),
                                     help_text=gettext_lazy("Email addresses of the contacts, separated by commas."))
    tags = forms.CharField(label=gettext_lazy("Tags"), required=False,
                           help_text=gettext_lazy("Separate tags with commas."))
    lost_reason = forms.ChoiceField(label=gettext_lazy("Lost reason"), required=False)
    lost_note = forms.CharField(label=gettext_lazy("Lost note"), max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pipelines = list(selectors.pipelines())
        self.fields["pipeline"].choices = [(str(p.uuid), p.name) for p in self.pipelines]  # type: ignore[attr-defined]
        self.fields["stage"].choices = [  # type: ignore[attr-defined]
            ("", gettext_lazy("First stage of the pipeline")),
            *[(p.name, [(str(s.uuid), s.name) for s in p.stages.all()]) for p in self.pipelines]]
        current = self.instance.currency if self.instance else ""
        self.fields["currency"].choices = currency_choices(current)  # type: ignore[attr-defined]
        self.fields["lost_reason"].choices = [  # type: ignore[attr-defined]
            ("", "—"), *[(str(r.pk), r.name) for r in selectors.lost_reasons()]]
        if self.instance is None:
            self.initial.setdefault("currency", base_currency())
            default = selectors.default_pipeline()
            if default is not None:
                self.initial.setdefault("pipeline", str(default.uuid))

    def initial_from(self, deal: Deal) -> dict[str, Any]:
        return {
            "name": deal.name, "pipeline": str(deal.pipeline.uuid), "stage": str(deal.stage.uuid),
            "amount": deal.amount, "currency": deal.currency,
            "expected_close_date": deal.expected_close_date.isoformat() if deal.expected_close_date else "",
            "probability": deal.probability, "owner": str(deal.owner.uuid) if deal.owner else "",
            "company_name": deal.company.name if deal.company else "",
            "contact_emails": ", ".join(c.email for c in deal.contacts.all() if c.email),
            "tags": ", ".join(t.name for t in deal.tags.all()),
            "lost_reason": str(deal.lost_reason_id or ""), "lost_note": deal.lost_note,
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        pipelines = {str(p.uuid): p for p in self.pipelines}
        cleaned["pipeline_obj"] = pipelines.get(cleaned.get("pipeline") or "")  # type: ignore[index, union-attr]
        stages = {str(s.uuid): s for p in self.pipelines for s in p.stages.all()}
        cleaned["stage_obj"] = stages.get(cleaned.get("stage") or "")  # type: ignore[index, union-attr]
        company_name = (cleaned.get("company_name") or "").strip()  # type: ignore[union-attr]
        cleaned["company"] = None  # type: ignore[index]
        if company_name:
            cleaned["company"] = contact_selectors.company_named(user=self.user, name=company_name)  # type: ignore[index]
            if cleaned["company"] is None:  # type: ignore[index]
                self.add_error("company_name", _("There is no company named “%(name)s” that you can see. "
                                                 "Create it first, or pick one from the list.") % {"name": company_name})
        cleaned["contacts"] = self._contacts(cleaned.get("contact_emails") or "")  # type: ignore[index, union-attr]
        reasons = {str(r.pk): r for r in selectors.lost_reasons()}
        cleaned["lost_reason_obj"] = reasons.get(cleaned.get("lost_reason") or "")  # type: ignore[index, union-attr]
        return cleaned  # type: ignore[return-value]

    def _contacts(self, raw: str) -> list[Any]:
        """Visible contacts by email; an address nobody (visible) has is named in the error."""
        emails = []
        for part in raw.replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            try:
                emails.append(normalize_email(part))
            except ValidationError:
                self.add_error("contact_emails", _("“%(value)s” is not an email address.") % {"value": part})
        # Any of a contact's addresses will do, not just the primary one.
        matches = contact_selectors.contacts_for(self.user).filter(emails__email__in=emails).annotate(
            matched=F("emails__email"))
        found = {c.matched: c for c in matches}
        missing = [e for e in emails if e not in found]
        if missing:
            self.add_error("contact_emails", _("No contact you can see has the email %(emails)s.")
                           % {"emails": ", ".join(missing)})
        return [found[e] for e in emails if e in found]

    def service_data(self) -> dict[str, Any]:
        c = self.cleaned_data
        data: dict[str, Any] = {
            "name": c.get("name") or "", "pipeline": c.get("pipeline_obj"), "amount": c.get("amount") or "0",
            "currency": c.get("currency") or "", "expected_close_date": c.get("expected_close_date") or "",
            "probability": c.get("probability") or "", "owner": self.owner_value(), "company": c.get("company"),
            "contacts": c.get("contacts") or [], "tags": c.get("tags") or "",
            "lost_reason": c.get("lost_reason_obj"), "lost_note": c.get("lost_note") or "",
            "custom": self.custom_data(),
        }
        if c.get("stage_obj") is not None:
            data["stage"] = c["stage_obj"]
        return data


def product_choices() -> list[tuple[str, str]]:
    """The active catalogue for the line-item picker (the catalogue is shared, not owned by anyone)."""
    return [("", "—"), *[(str(p.uuid), f"{p.name} · {p.sku}") for p in Product.objects.filter(active=True)[:500]]]


def parse_line_items(post: Any) -> tuple[list[dict[str, Any]], list[int], list[dict[str, str]]]:
    """Rows posted as parallel lists (``li_name`` …); blank rows are skipped.

    Returns the service input, the posted row index of each item (to put the service's
    ``line_items.<n>.<field>`` errors back on the right row), and every posted row for redisplay."""
    names, products = post.getlist("li_name"), post.getlist("li_product")
    quantities, prices, discounts = post.getlist("li_quantity"), post.getlist("li_unit_price"), \
        post.getlist("li_discount")
    size = max(len(names), len(products), len(quantities), len(prices), len(discounts), 0)

    def at(values: list[str], i: int) -> str:
        return values[i].strip() if i < len(values) else ""

    uuids = {at(products, i) for i in range(size)} - {""}
    by_uuid = {str(p.uuid): p for p in Product.objects.filter(uuid__in=_valid_uuids(uuids))} if uuids else {}
    items, positions, rows = [], [], []
    for i in range(size):
        row = {"product": at(products, i), "name": at(names, i), "quantity": at(quantities, i),
               "unit_price": at(prices, i), "discount_percent": at(discounts, i)}
        rows.append(row)
        if not any(row.values()):
            continue
        items.append({**row, "product": by_uuid.get(row["product"])})
        positions.append(len(rows) - 1)
    return items, positions, rows


def _valid_uuids(values: set[str]) -> list[str]:
    import uuid

    valid = []
    for value in values:
        try:
            valid.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    return valid


class PipelineForm(forms.Form):
    """A new pipeline: its name and one stage per line ("Name, probability[, won|lost]")."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=100, required=False)
    stages = forms.CharField(
        label=gettext_lazy("Stages"), required=False, widget=forms.Textarea(attrs={"rows": 7}),
        initial="Qualified, 10\nProposal, 50\nNegotiation, 75\nWon, 100, won\nLost, 0, lost",
        help_text=gettext_lazy("One stage per line: name, probability, and “won” or “lost” for the closing stages."))

    def stage_rows(self) -> list[dict[str, Any]]:
        rows = []
        for line in (self.cleaned_data.get("stages") or "").splitlines():
            parts = [p.strip() for p in line.split(",")]
            if not parts or not parts[0]:
                continue
            kind = parts[2].lower() if len(parts) > 2 and parts[2] else StageKind.OPEN
            rows.append({"name": parts[0], "probability": parts[1] if len(parts) > 1 else "", "kind": kind})
        return rows


class ExchangeRateForm(forms.Form):
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3, required=False,
                               widget=forms.TextInput(attrs={"placeholder": "EUR", "size": 5,
                                                             "autocapitalize": "characters"}))
    rate = forms.CharField(label=gettext_lazy("Rate"), required=False,
                           widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "1.08"}))
    valid_from = forms.CharField(label=gettext_lazy("Valid from"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
