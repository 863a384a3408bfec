from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Data every page's chrome needs: unread notifications and the current theme."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"theme": "system"}
    from amity.accounts.selectors import unread_count

    return {"theme": user.theme, "unread_notifications": unread_count(user)}
