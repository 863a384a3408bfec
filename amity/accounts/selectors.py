"""Reads of users, teams, tokens and notifications."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from .models import ApiToken, Notification, Role, Team, User


def active_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True).select_related("role", "team").order_by("full_name")


def all_users() -> QuerySet[User]:
    return User.objects.select_related("role", "team").order_by("full_name")


def user_by_uuid(uuid: Any) -> User | None:
    try:
        return User.objects.select_related("role", "team").filter(uuid=uuid).first()
    except Exception:  # a malformed UUID is simply "no such user"
        return None


def roles() -> QuerySet[Role]:
    return Role.objects.all()


def role_by_key(key: str) -> Role | None:
    return Role.objects.filter(key=key).first()


def teams() -> QuerySet[Team]:
    return Team.objects.all()


def teams_with_member_counts() -> QuerySet[Team]:
    return Team.objects.annotate(member_count=Count("members")).order_by("name")


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def token_of(user: User, uuid: Any) -> ApiToken | None:
    """One of ``user``'s own tokens; another user's token is "no such token"."""
    try:
        return ApiToken.objects.filter(user=user, uuid=uuid).first()
    except Exception:  # a malformed UUID is simply "no such token"
        return None


def unread_count(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def recent_notifications(user: User, limit: int = 30) -> list[Notification]:
    return list(Notification.objects.filter(user=user).select_related("actor")[:limit])
