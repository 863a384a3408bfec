"""Tags as records of their own (list, create, delete); tagging a contact or company is in contacts.services."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from amity.core import audit
from amity.core.models import AuditAction, Tag
from amity.core.normalize import clean_text
from amity.core.permissions import can_edit, is_admin, require

COLOR = re.compile(r"^[a-z]{1,16}$")


def all_tags() -> QuerySet[Tag]:
    return Tag.objects.order_by("name")


def get_tag(name: str) -> Tag:
    """The tag called ``name`` (case-insensitive), or Http404."""
    tag = Tag.objects.filter(name__iexact=clean_text(name)).first()
    if tag is None:
        raise Http404
    return tag


@transaction.atomic
def create_tag(*, actor: Any, name: str, color: str | None = None) -> Tag:
    require(can_edit(actor))
    name = clean_text(name)
    errors: dict[str, list[Any]] = {}
    if not name:
        errors["name"] = [_("Name the tag.")]
    elif len(name) > 64:
        errors["name"] = [_("A tag name can be at most 64 characters.")]
    elif Tag.objects.filter(name__iexact=name).exists():
        errors["name"] = [ValidationError(_("There is already a tag “%(name)s”.") % {"name": name}, code="duplicate")]
    if color is not None and not COLOR.match(color):
        errors["color"] = [_("Use a colour name in lower case, e.g. slate, blue, green.")]
    if errors:
        raise ValidationError(errors)
    tag = Tag.objects.create(name=name, **({"color": color} if color else {}))
    audit.record(AuditAction.CREATE, actor=actor, obj=tag, changes={"name": tag.name, "color": tag.color})
    return tag


@transaction.atomic
def delete_tag(*, actor: Any, tag: Tag) -> None:
    """Remove the tag from every record and delete it (admins only: it touches everyone's records)."""
    require(is_admin(actor), _("Only admins can delete tags."))
    audit.record(AuditAction.DELETE, actor=actor, obj=tag, changes={"name": tag.name})
    tag.delete()
