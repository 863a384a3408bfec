"""Test factories, in one place. Used by every app's tests and by the browser tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from amity.accounts.models import Role, Team, User
from amity.accounts.services import create_api_token
from amity.contacts.models import Company, Contact
from amity.contacts.services import create_company, create_contact

_seq = itertools.count(1)
PASSWORD = "correct horse battery staple"


def make_team(name: str | None = None) -> Team:
    return Team.objects.create(name=name or f"Team {next(_seq)}")


def make_user(role: str = "admin", team: Team | None = None, email: str | None = None,
              full_name: str | None = None, **fields: Any) -> User:
    n = next(_seq)
    user = User.objects.create_user(
        email=email or f"user{n}@example.com", password=PASSWORD, full_name=full_name or f"User {n}",
        role=Role.objects.get(key=role), team=team, **fields,
    )
    return user


def make_contact(owner: User | None = None, **data: Any) -> Contact:
    n = next(_seq)
    data.setdefault("first_name", f"Person{n}")
    data.setdefault("last_name", "Example")
    if owner is not None:
        data["owner"] = owner
    return create_contact(actor=None, data=data)


def make_company(owner: User | None = None, **data: Any) -> Company:
    n = next(_seq)
    data.setdefault("name", f"Company {n}")
    if owner is not None:
        data["owner"] = owner
    return create_company(actor=None, data=data)


def make_token(user: User, scope: str = "write") -> str:
    return create_api_token(user=user, name="test", scope=scope)[1]


@contextmanager
def contact_removals_blocked() -> Iterator[None]:
    """PostgreSQL only: another connection holds the contact-removal lock shared, as an ingest batch being written
    does, until the block ends; meanwhile this connection gives up waiting for a lock after 200 ms (OperationalError
    "lock timeout") inside ``transaction.atomic``."""
    import psycopg
    from django.db import connection

    from amity.core.db import CONTACT_REMOVAL_LOCK

    s = connection.settings_dict
    with psycopg.connect(host=s["HOST"], port=s["PORT"] or 5432, user=s["USER"], password=s["PASSWORD"],
                         dbname=s["NAME"]) as batch:
        batch.execute("SELECT pg_advisory_xact_lock_shared(%s)", [CONTACT_REMOVAL_LOCK])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
            batch.rollback()
