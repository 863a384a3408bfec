"""Every URL and API endpoint that names a contact or company answers 404 to a user of another team.

The URL patterns and the OpenAPI paths are enumerated, not listed by hand, so a new endpoint is covered the
day it is added.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from amity.contacts.models import Company, Contact
from amity.core.models import AuditEntry
from amity.testing import make_company, make_contact, make_team, make_token, make_user

pytestmark = pytest.mark.django_db


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def record_routes() -> list[tuple[str, str]]:
    """(kind, route) for every web route whose first segment is contacts/ or companies/ and takes a uuid."""
    routes = []
    for route in _walk(get_resolver().url_patterns):
        if route.startswith("api/") or "<uuid:uuid>" not in route:
            continue
        if route.startswith("contacts/"):
            routes.append(("contact", route))
        elif route.startswith("companies/"):
            routes.append(("company", route))
    return sorted(set(routes))


@pytest.fixture
def world():
    north, south = make_team("North"), make_team("South")
    rep = make_user("sales", team=north)
    rival = make_user("sales", team=south)
    company = make_company(owner=rival, name="Rival Co")
    contact = make_contact(owner=rival, first_name="Rival", emails=["rival@example.com"], company=company)
    client = Client()
    client.force_login(rep)
    return {"rep": rep, "client": client, "contact": contact, "company": company}


def test_routes_were_found():
    kinds = {kind for kind, _ in record_routes()}
    assert kinds == {"contact", "company"}, "the matrix must see the contact and company pages"


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_web_route_hides_another_teams_record(world, method):
    checked = []
    for kind, route in record_routes():
        target = world[kind]
        url = "/" + route.replace("<uuid:uuid>", str(target.uuid))
        url = re.sub(r"<[^>]+>", "1", url)
        before = AuditEntry.objects.count()
        response = getattr(world["client"], method)(url)
        # A GET-only page may refuse POST with 405, but then it must do so for any id (nothing is revealed).
        absent = getattr(world["client"], method)(url.replace(str(target.uuid), "00000000-0000-4000-8000-000000000000"))
        assert response.status_code in (404, 405), f"{method.upper()} {url} answered {response.status_code}"
        assert response.status_code == absent.status_code, f"{method.upper()} {url} reveals the record exists"
        assert AuditEntry.objects.count() == before, f"{method.upper()} {url} changed something"
        checked.append(url)
    assert checked
    assert Contact.objects.filter(pk=world["contact"].pk).exists()
    assert Company.objects.filter(pk=world["company"].pk).exists()


def api_routes(client: Client, token: str) -> list[tuple[str, str, str]]:
    schema = client.get("/api/openapi.json", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    routes = []
    for path, operations in schema["paths"].items():
        match = re.match(r"^/api/(contacts|companies)/\{[a-z_]+\}", path)
        if not match:
            continue
        for method in operations:
            routes.append(("contact" if match.group(1) == "contacts" else "company", method, path))
    return routes


def test_every_api_endpoint_hides_another_teams_record(world):
    token = make_token(world["rep"], scope="write")
    client = Client()
    routes = api_routes(client, token)
    assert {kind for kind, _, _ in routes} == {"contact", "company"}
    for kind, method, path in routes:
        url = re.sub(r"\{[a-z_]+\}", str(world[kind].uuid), path, count=1)
        url = re.sub(r"\{[a-z_]+\}", "00000000-0000-0000-0000-000000000000", url)
        response = client.generic(method.upper(), url, data="{}", content_type="application/json",
                                  HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 404, f"{method.upper()} {url} answered {response.status_code}"
    assert Contact.objects.filter(pk=world["contact"].pk, first_name="Rival").exists()
