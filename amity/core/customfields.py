"""Custom fields: admin-defined, validated by type, stored in each object's ``custom`` JSON column.

Any object with a ``custom`` JSONField reuses this module by passing its ``object_type``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from amity.core.models import CustomFieldDefinition, CustomFieldType
from amity.core.normalize import clean_text, normalize_url

TRUE_WORDS = {"1", "true", "yes", "y", "on", "是"}
FALSE_WORDS = {"0", "false", "no", "n", "off", "否", ""}


# Filters, forms, columns and validation all read the definitions; within one request they are loaded once.
_request_memo: ContextVar[dict[str, list[CustomFieldDefinition]] | None] = ContextVar("custom_fields", default=None)


def definitions(object_type: str) -> list[CustomFieldDefinition]:
    memo = _request_memo.get()
    if memo is None:
        return list(CustomFieldDefinition.objects.filter(object_type=object_type))
    if object_type not in memo:
        memo[object_type] = list(CustomFieldDefinition.objects.filter(object_type=object_type))
    return memo[object_type]


def forget_definitions() -> None:
    """Called after a definition changes, so the rest of the request sees the change."""
    memo = _request_memo.get()
    if memo is not None:
        memo.clear()


class DefinitionsPerRequestMiddleware:
    def __init__(self, get_response: Callable[[Any], Any]):
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        token = _request_memo.set({})
        try:
            return self.get_response(request)
        finally:
            _request_memo.reset(token)


def clean_value(definition: CustomFieldDefinition, raw: Any) -> Any:
    """Return the stored JSON form of ``raw`` or raise ValidationError with the reason."""
    kind = definition.field_type
    if raw is None or raw == "" or raw == []:
        if definition.required:
            raise ValidationError(_("This field is required."))
        return None
    if kind == CustomFieldType.TEXT:
        return clean_text(raw)[:2000]
    if kind == CustomFieldType.NUMBER:
        try:
            number = Decimal(str(raw).strip().replace(",", ""))
        except InvalidOperation:
            raise ValidationError(_("“%(value)s” is not a number.") % {"value": raw}) from None
        if not number.is_finite():
            raise ValidationError(_("“%(value)s” is not a number.") % {"value": raw})
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == CustomFieldType.DATE:
        if isinstance(raw, dt.date):
            return raw.isoformat()
        try:
            return dt.date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise ValidationError(_("“%(value)s” is not a date (use YYYY-MM-DD).") % {"value": raw}) from None
    if kind == CustomFieldType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValidationError(_("“%(value)s” is not yes or no.") % {"value": raw})
    if kind == CustomFieldType.URL:
        return normalize_url(str(raw))
    if kind == CustomFieldType.CHOICE:
        value = clean_text(raw)
        if value not in definition.choices:
            raise ValidationError(
                _("“%(value)s” is not one of: %(choices)s") % {"value": value, "choices": ", ".join(definition.choices)}
            )
        return value
    if kind == CustomFieldType.MULTI_CHOICE:
        values = raw if isinstance(raw, list | tuple) else [v for v in str(raw).split(",")]
        values = [clean_text(v) for v in values if clean_text(v)]
        unknown = [v for v in values if v not in definition.choices]
        if unknown:
            raise ValidationError(
                _("“%(value)s” is not one of: %(choices)s")
                % {"value": ", ".join(unknown), "choices": ", ".join(definition.choices)}
            )
        return values
    raise ValidationError(_("Unknown field type."))


def clean_custom(object_type: str, data: dict[str, Any], existing: dict[str, Any] | None = None,
                 partial: bool = False) -> dict[str, Any]:
    """Validate the custom values in ``data`` against the definitions; errors are keyed ``custom.<key>``."""
    result = dict(existing or {})
    errors: dict[str, list[str]] = {}
    defs = {d.key: d for d in definitions(object_type)}
    for key in data:
        if key not in defs:
            errors[f"custom.{key}"] = [_("There is no custom field “%(key)s”.") % {"key": key}]
    for key, definition in defs.items():
        if key not in data and (partial or not definition.required):
            continue
        try:
            value = clean_value(definition, data.get(key))
        except ValidationError as exc:
            errors[f"custom.{key}"] = exc.messages
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    if errors:
        raise ValidationError(errors)
    return result


def display_value(definition: CustomFieldDefinition, value: Any) -> str:
    if value is None:
        return ""
    if definition.field_type == CustomFieldType.BOOLEAN:
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
