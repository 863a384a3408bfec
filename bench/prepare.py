"""Runs inside Django with the benchmark's environment (same SECRET_KEY and database as the server).

Gives one contact a 1,000-entry timeline, logs the admin in (a session row + its cookie value), makes an API
token, samples name prefixes for the palette, and counts the SQL queries each measured page runs, in-process.
Prints one JSON object on stdout.
"""

from __future__ import annotations

import json
import os
import sys
import time

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amity.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from amity.accounts.models import User  # noqa: E402
from amity.accounts.services import create_api_token  # noqa: E402
from amity.contacts.models import Contact  # noqa: E402
from amity.core import demo  # noqa: E402
from amity.core.models import Event  # noqa: E402

HISTORY = int(os.environ.get("BENCH_HISTORY", "1000"))


def history_contact() -> Contact:
    """The contact with the longest timeline, topped up to HISTORY entries (kept across runs)."""
    contact = Contact.objects.filter(first_name="Benchmark", last_name="History").first()
    if contact is None:
        from amity.contacts.services import create_contact

        admin = User.objects.get(email=demo.ADMIN_EMAIL)
        contact = create_contact(actor=admin, data={
            "first_name": "Benchmark", "last_name": "History", "emails": ["benchmark.history@example.com"],
            "phones": ["+14155550123"], "lifecycle_stage": "customer", "tags": ["vip"],
            "birthday": "1980-05-17", "company": None,
        })
    have = Event.objects.filter(contact_id=contact.pk).count()
    if have < HISTORY:
        demo.add_history(contact, entries=HISTORY - have)
    return contact


def login_session(user: User) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key or ""


def name_prefixes(n: int = 200) -> list[str]:
    """Prefixes people type: 3 letters of a Western name, 1–2 characters of a Chinese one."""
    top = Contact.objects.order_by("-id").values_list("id", flat=True).first() or 0
    prefixes: list[str] = []
    step = max(top // n, 1)
    for name in Contact.objects.filter(id__in=range(1, top + 1, step)).values_list("display_name", flat=True):
        if not name:
            continue
        prefixes.append(name[: (2 if len(name) > 2 else 1)] if not name.isascii() else name.split()[0][:3])
    return [p for p in prefixes if p.strip()][:n] or ["Ann"]


def count_queries(client: Client, path: str, **headers: str) -> dict[str, object]:
    client.get(path, **headers)  # warm caches (content types, roles) as a running server has them
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        response = client.get(path, **headers)
        elapsed = time.perf_counter() - started
    return {"path": path, "status": response.status_code, "queries": len(ctx.captured_queries),
            "in_process_ms": round(elapsed * 1000, 1), "sql": [q["sql"][:300] for q in ctx.captured_queries]}


def main() -> None:
    admin = User.objects.get(email=demo.ADMIN_EMAIL)
    contact = history_contact()
    _token, secret = create_api_token(user=admin, name="benchmark")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(admin)
    api = Client()
    prefixes = name_prefixes()
    queries = {
        "list": count_queries(client, "/contacts/?stage=customer"),
        "api": count_queries(api, "/api/contacts?limit=25", HTTP_AUTHORIZATION=f"Bearer {secret}"),
        "palette": count_queries(client, f"/search/palette?q={prefixes[0]}"),
        "360": count_queries(client, f"/contacts/{contact.uuid}/"),
    }
    print(json.dumps({
        "session": login_session(admin),
        "token": secret,
        "contact": str(contact.uuid),
        "timeline_events": Event.objects.filter(contact_id=contact.pk).count(),
        "prefixes": prefixes,
        "contacts": Contact.objects.count(),
        "queries": queries,
    }))


if __name__ == "__main__":
    main()
