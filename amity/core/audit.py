"""Audit trail: who changed what, when, with each field's before and after."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from django.db import models

from amity.core.models import AuditAction, AuditEntry


def to_json(value: Any) -> Any:
    """A JSON-safe, human-readable form of a field value for audit rows and event payloads."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    """Field values of ``instance`` by name; foreign keys as their display string."""
    values: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        if field.is_relation and field.many_to_one:
            values[name] = to_json(getattr(instance, name))
        else:
            values[name] = to_json(getattr(instance, field.attname))  # type: ignore[union-attr]
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def record(
    action: str | AuditAction,
    *,
    actor: Any,
    obj: models.Model | None = None,
    object_type: str = "",
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        action=action,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        object_type=(obj._meta.model_name or "") if obj is not None else object_type,
        object_id=obj.pk if obj is not None else None,
        object_repr=str(obj)[:200] if obj is not None else "",
        changes=changes or {},
    )
