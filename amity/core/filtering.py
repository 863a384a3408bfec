"""One filter definition per list, used by the list page, the API and exports alike.

A ``FilterSet`` turns request parameters (``stage=customer&tag=vip&custom.tier=gold``) into a ``Q``, refusing
unknown or malformed values with a per-field message. Values never reach the ORM as keyword names: each
parameter maps to a lookup declared here, so ``filter(**request.GET)`` style injection cannot happen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amity.core.customfields import TRUE_WORDS, definitions
from amity.core.models import CustomFieldType


@dataclass(frozen=True)
class Filter:
    name: str
    label: Any
    kind: str  # text, choice, bool, date_from, date_to, number_min, number_max, custom
    lookup: str | Callable[[Any], Q] = ""
    choices: list[tuple[str, Any]] = field(default_factory=list)


def _parse(f: Filter, raw: str) -> Any:
    raw = raw.strip()
    if f.kind == "choice":
        allowed = {c for c, _label in f.choices}
        if allowed and raw not in allowed:
            raise ValidationError(_("“%(value)s” is not one of the choices.") % {"value": raw})
        return raw
    if f.kind == "bool":
        return raw.lower() in TRUE_WORDS
    if f.kind in {"date_from", "date_to"}:
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise ValidationError(_("“%(value)s” is not a date (use YYYY-MM-DD).") % {"value": raw}) from None
    if f.kind in {"number_min", "number_max"}:
        try:
            return Decimal(raw)
        except InvalidOperation:
            raise ValidationError(_("“%(value)s” is not a number.") % {"value": raw}) from None
    return raw


class FilterSet:
    object_type = ""
    filters: list[Filter] = []

    def __init__(self, params: Mapping[str, Any]):
        self.params = params
        self.errors: dict[str, list[str]] = {}
        self.active: dict[str, str] = {}

    def all_filters(self) -> list[Filter]:
        extra = [
            Filter(f"custom.{d.key}", d.label, "custom", choices=[(c, c) for c in d.choices])
            for d in definitions(self.object_type)
        ]
        return [*self.filters, *extra]

    def _custom_q(self, key: str, raw: str) -> Q:
        definition = next((d for d in definitions(self.object_type) if d.key == key), None)
        if definition is None:
            raise ValidationError(_("There is no custom field “%(key)s”.") % {"key": key})
        path = f"custom__{key}"
        kind = definition.field_type
        if raw == "__empty__":
            return Q(**{f"{path}__isnull": True})
        if kind == CustomFieldType.BOOLEAN:
            return Q(**{path: raw.lower() in TRUE_WORDS})
        if kind == CustomFieldType.NUMBER:
            try:
                number = Decimal(raw)
            except InvalidOperation:
                raise ValidationError(_("“%(value)s” is not a number.") % {"value": raw}) from None
            return Q(**{path: int(number) if number == number.to_integral_value() else float(number)})
        if kind == CustomFieldType.MULTI_CHOICE:
            return Q(**{f"{path}__contains": raw}) if _supports_json_contains() else Q(**{f"{path}__icontains": raw})
        if kind == CustomFieldType.TEXT:
            return Q(**{f"{path}__icontains": raw})
        return Q(**{path: raw})

    def q(self) -> Q:
        result = Q()
        for f in self.all_filters():
            raw = self.params.get(f.name)
            if raw is None or str(raw).strip() == "":
                continue
            raw = str(raw)
            try:
                if f.kind == "custom":
                    result &= self._custom_q(f.name.split(".", 1)[1], raw.strip())
                else:
                    value = _parse(f, raw)
                    result &= f.lookup(value) if callable(f.lookup) else Q(**{f.lookup: value})
                self.active[f.name] = raw.strip()
            except ValidationError as exc:
                self.errors[f.name] = exc.messages
        for name in self.params:
            if name.startswith("custom.") and name not in {f.name for f in self.all_filters()}:
                self.errors[name] = [_("There is no custom field “%(key)s”.") % {"key": name[7:]}]
        return result

    def validate(self) -> Q:
        q = self.q()
        if self.errors:
            raise ValidationError(self.errors)
        return q


def _supports_json_contains() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


YES_NO = [("1", gettext_lazy("Yes")), ("0", gettext_lazy("No"))]
