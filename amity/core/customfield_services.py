"""Writes to custom-field definitions (admin only), shared by the settings pages and the API."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.text import slugify
from django.utils.translation import gettext as _

from amity.core import audit
from amity.core.customfields import forget_definitions
from amity.core.models import AuditAction, CustomFieldDefinition, CustomFieldType
from amity.core.normalize import clean_text
from amity.core.permissions import is_admin, require

OBJECT_TYPES = ("contact", "company", "deal")
CHOICE_TYPES = {CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE}
AUDITED = ["object_type", "key", "label", "field_type", "choices", "required", "show_in_list", "help_text",
           "position"]


def _clean_choices(value: Any) -> list[str]:
    """Choices arrive as a list or as text with one choice per line (or comma separated)."""
    if isinstance(value, str):
        value = value.replace("\r", "").split("\n") if "\n" in value else value.split(",")
    result: list[str] = []
    for item in value or []:
        item = clean_text(item)[:100]
        if item and item not in result:
            result.append(item)
    return result


def _unique_key(object_type: str, label: str, exclude_pk: int | None = None) -> str:
    base = (slugify(label).replace("-", "_") or "field")[:60]
    taken = set(
        CustomFieldDefinition.objects.filter(object_type=object_type, key__startswith=base)  # type: ignore[misc]
        .exclude(pk=exclude_pk).values_list("key", flat=True)
    )
    key, n = base, 2
    while key in taken:
        key = f"{base}_{n}"
        n += 1
    return key


def clean_definition_input(data: dict[str, Any], definition: CustomFieldDefinition | None = None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if definition is None:
        object_type = clean_text(data.get("object_type"))
        if object_type not in OBJECT_TYPES:
            errors["object_type"] = [_("Choose contact or company.")]
        out["object_type"] = object_type
        field_type = clean_text(data.get("field_type"))
        if field_type not in CustomFieldType.values:
            errors["field_type"] = [_("Choose a field type.")]
        out["field_type"] = field_type
    else:
        # The type of an existing field stays: stored values were validated against it.
        field_type = definition.field_type
    if definition is None or "label" in data:
        label = clean_text(data.get("label"))[:100]
        if not label:
            errors["label"] = [_("Give the field a label.")]
        out["label"] = label
    if "choices" in data or definition is None:
        choices = _clean_choices(data.get("choices"))
        if field_type in CHOICE_TYPES and not choices:
            errors["choices"] = [_("List at least one choice, one per line.")]
        out["choices"] = choices if field_type in CHOICE_TYPES else []
    if "required" in data:
        out["required"] = bool(data["required"])
    if "show_in_list" in data:
        out["show_in_list"] = bool(data["show_in_list"])
    if "help_text" in data:
        out["help_text"] = clean_text(data["help_text"])[:200]
    if "position" in data and data["position"] not in (None, ""):
        try:
            out["position"] = max(0, int(data["position"]))
        except (TypeError, ValueError):
            errors["position"] = [_("“%(value)s” is not a whole number.") % {"value": data["position"]}]
    if errors:
        raise ValidationError(errors)
    return out


@transaction.atomic
def create_definition(*, actor: Any, data: dict[str, Any]) -> CustomFieldDefinition:
    require(is_admin(actor), _("Only administrators manage custom fields."))
    cleaned = clean_definition_input(data)
    cleaned["key"] = _unique_key(cleaned["object_type"], cleaned["label"])
    if "position" not in cleaned:
        last = CustomFieldDefinition.objects.filter(object_type=cleaned["object_type"]).aggregate(m=Max("position"))
        cleaned["position"] = (last["m"] or 0) + 1
    definition = CustomFieldDefinition.objects.create(**cleaned)
    forget_definitions()
    audit.record(AuditAction.CREATE, actor=actor, obj=definition, changes=audit.snapshot(definition, AUDITED))
    return definition


@transaction.atomic
def update_definition(*, actor: Any, definition: CustomFieldDefinition, data: dict[str, Any]) -> CustomFieldDefinition:
    """Label, choices, required, help text and position change; the key and type never do (stored values use them)."""
    require(is_admin(actor), _("Only administrators manage custom fields."))
    cleaned = clean_definition_input(data, definition)
    before = audit.snapshot(definition, AUDITED)
    for field, value in cleaned.items():
        setattr(definition, field, value)
    definition.save()
    forget_definitions()
    changes = audit.diff(before, audit.snapshot(definition, AUDITED))
    if changes:
        audit.record(AuditAction.UPDATE, actor=actor, obj=definition, changes=changes)
    return definition


@transaction.atomic
def delete_definition(*, actor: Any, definition: CustomFieldDefinition) -> None:
    """Remove the definition. Stored values stay in the JSON column (harmless, and back if it is re-created)."""
    require(is_admin(actor), _("Only administrators manage custom fields."))
    audit.record(AuditAction.DELETE, actor=actor, obj=definition, changes=audit.snapshot(definition, AUDITED))
    definition.delete()
    forget_definitions()


def definitions_by_type() -> dict[str, list[CustomFieldDefinition]]:
    result: dict[str, list[CustomFieldDefinition]] = {t: [] for t in OBJECT_TYPES}
    for definition in CustomFieldDefinition.objects.all():
        result.setdefault(definition.object_type, []).append(definition)
    return result


def get_definition_or_404(uuid: Any) -> CustomFieldDefinition:
    from django.http import Http404

    try:
        return CustomFieldDefinition.objects.get(uuid=uuid)
    except (CustomFieldDefinition.DoesNotExist, ValueError):
        raise Http404 from None
