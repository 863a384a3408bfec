from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from .models import User


class EmailBackend(ModelBackend):
    """Log in by email (case-insensitive); load the role and team with the user, since every
    permission check reads them."""

    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any):
        email = (username or kwargs.get("email") or "").strip().lower()
        return super().authenticate(request, username=email, password=password, **kwargs)

    def get_user(self, user_id: Any) -> User | None:
        user = User.objects.select_related("role", "team").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
