"""The one permission layer. Every read of customer data goes through ``visible_to``.

A role sees all records, its team's (records owned by a team member, plus unassigned ones), or only its own.
Related records (notes, tasks, emails…) are visible when their contact or company is.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext

M = TypeVar("M", bound=Model)


def _ownership_q(user: Any, prefix: str = "") -> Q | None:
    """None means "no restriction"; otherwise the Q a record (reached via ``prefix``) must satisfy."""
    if not user or not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser:
        return None
    visibility = user.role.visibility
    if visibility == "all":
        return None
    if visibility == "team" and user.team_id:
        return Q(**{f"{prefix}owner__team_id": user.team_id}) | Q(**{f"{prefix}owner_id": user.pk}) | Q(
            **{f"{prefix}owner__isnull": True}
        )
    return Q(**{f"{prefix}owner_id": user.pk})


def visible_to(user: Any, queryset: QuerySet[M], via: str = "") -> QuerySet[M]:
    """Restrict ``queryset`` to what ``user`` may see. ``via`` is the path to an owned record ("contact__")."""
    q = _ownership_q(user, via)
    return queryset if q is None else queryset.filter(q)


def visible_to_via_any(user: Any, queryset: QuerySet[M], paths: list[str]) -> QuerySet[M]:
    """For records hanging off one of several owned parents (a note on a contact or on a company)."""
    if _ownership_q(user) is None:
        return queryset
    combined = Q(pk__in=[])
    for path in paths:
        q = _ownership_q(user, path)
        combined |= q & Q(**{f"{path}isnull": False}) if q is not None else Q()
    return queryset.filter(combined)


def get_visible_or_404(user: Any, queryset: QuerySet[M], **lookup: Any) -> M:
    """404, never 403, for a record the user may not see: its existence is not revealed."""
    try:
        return visible_to(user, queryset).get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc


def can_edit(user: Any, obj: Any | None = None) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return bool(user.role.can_edit)


def require(flag: bool, message: str | None = None) -> None:
    if not flag:
        raise PermissionDenied(message or gettext("You do not have permission to do that."))


def can_delete(user: Any) -> bool:
    return user.is_authenticated and (user.is_superuser or user.role.can_delete)


def can_export(user: Any) -> bool:
    return user.is_authenticated and (user.is_superuser or user.role.can_export)


def is_admin(user: Any) -> bool:
    return user.is_authenticated and user.is_admin
