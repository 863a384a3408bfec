"""Users over the JSON API (read only: users are managed in Settings)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from amity.api.schemas import READ_ERRORS, Ref, list_schema

from . import selectors
from .models import User

router = Router(tags=["users"])


class UserOut(Schema):
    id: str
    name: str
    email: str
    role: str = Field(description="Role key: admin, manager, sales, marketing, support, readonly, or a custom one")
    team: Ref | None
    active: bool


UserList = list_schema(UserOut, "UserList")


def user_body(user: User) -> dict[str, Any]:
    return {
        "id": str(user.uuid),
        "name": str(user),
        "email": user.email,
        "role": user.role.key,
        "team": None if user.team is None else {"id": str(user.team.uuid), "name": user.team.name},
        "active": user.is_active,
    }


@router.get("/users", response={200: UserList, **READ_ERRORS}, summary="List users",
            description="Everyone in the workspace (e.g. to choose an owner), active or not, by name.")
def list_users(request: HttpRequest):
    return {"items": [user_body(u) for u in selectors.all_users()]}


@router.get("/users/me", response={200: UserOut, **READ_ERRORS}, summary="The user the token belongs to")
def me(request: HttpRequest):
    return user_body(request.user)  # type: ignore[arg-type]  # auth guarantees a User
