"""Every URL and API endpoint that names a deal (or a quote) answers 404 to a sales user of another team, and
changes nothing. Like tests/test_access_matrix.py, the routes are enumerated (URL patterns and OpenAPI paths), so
a new deal endpoint is covered the day it is added."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from amity.core.models import AuditEntry, Event
from amity.sales import services
from amity.sales.models import Deal, Pipeline, Quote
from amity.testing import make_company, make_contact, make_team, make_token, make_user

pytestmark = pytest.mark.django_db
ABSENT = "00000000-0000-4000-8000-000000000000"


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def deal_web_routes() -> list[str]:
    """Web routes whose first parameter is a deal's uuid (``deals/<uuid:uuid>/…``)."""
    return sorted({r for r in _walk(get_resolver().url_patterns)
                   if re.match(r"^deals/<uuid:[a-z_]+>", r) and not r.startswith("api/")})


def deal_api_routes(client: Client, token: str) -> list[tuple[str, str, str]]:
    """(kind, method, path) for every OpenAPI operation whose first parameter is a deal or a quote."""
    schema = client.get("/api/openapi.json", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    routes = []
    for path, operations in schema["paths"].items():
        match = re.match(r"^/api/(deals|quotes)/\{[a-z_]+\}", path)
        if match:
            routes += [(match.group(1)[:-1], method, path) for method in operations]
    return sorted(routes)


@pytest.fixture
def world(admin_user):
    north, south = make_team("North"), make_team("South")
    rep = make_user("sales", team=north)
    rival = make_user("sales", team=south)
    company = make_company(owner=rival, name="Rival Co")
    contact = make_contact(owner=rival, first_name="Rival", company=company)
    pipeline = Pipeline.objects.get(is_default=True)
    deal = services.create_deal(actor=admin_user, data={
        "name": "Rival deal", "pipeline": pipeline, "amount": "900", "currency": "USD", "owner": rival,
        "company": company, "contacts": [contact]})
    services.set_line_items(actor=admin_user, deal=deal, items=[{"name": "Item", "quantity": 1, "unit_price": 900}])
    world = {"rep": rep, "deal": deal, "quote": None}
    from amity.sales import quote_services

    world["quote"] = quote_services.create_quote(actor=admin_user, deal=deal,
                                                 valid_until=timezone.localdate() + dt.timedelta(days=30))
    return world


def test_every_deal_api_endpoint_hides_another_teams_deal(world):
    token = make_token(world["rep"], scope="write")
    client = Client()
    routes = deal_api_routes(client, token)
    assert {"/api/deals/{id}", "/api/deals/{id}/move", "/api/deals/{id}/line-items",
            "/api/deals/{id}/timeline"} <= {path for _, _, path in routes}
    before = (AuditEntry.objects.count(), Event.objects.count())
    checked = []
    for kind, method, path in routes:
        target = world[kind]
        if target is None:
            continue
        url = re.sub(r"\{[a-z_]+\}", str(target.uuid), path, count=1)
        url = re.sub(r"\{[a-z_]+\}", ABSENT, url)
        response = client.generic(method.upper(), url, data="{}", content_type="application/json",
                                  HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 404, f"{method.upper()} {url} answered {response.status_code}"
        checked.append(url)
    assert len(checked) >= 6
    assert {"/api/quotes/{id}", "/api/quotes/{id}/send", "/api/quotes/{id}/decide", "/api/deals/{id}/quotes"} <= {
        path for _, _, path in routes}
    assert (AuditEntry.objects.count(), Event.objects.count()) == before
    assert Quote.objects.get(pk=world["quote"].pk).status == "draft"
    deal = Deal.objects.get(pk=world["deal"].pk)
    assert deal.name == "Rival deal" and deal.stage.name == "Qualified" and deal.line_items.count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_deal_web_route_hides_another_teams_deal(world, method):
    client = Client()
    client.force_login(world["rep"])
    for route in deal_web_routes():
        url = "/" + re.sub(r"<uuid:[a-z_]+>", str(world["deal"].uuid), route, count=1)
        url = re.sub(r"<[^>]+>", "1", url)
        before = AuditEntry.objects.count()
        response = getattr(client, method)(url)
        absent = getattr(client, method)(url.replace(str(world["deal"].uuid), ABSENT))
        assert response.status_code in (404, 405), f"{method.upper()} {url} answered {response.status_code}"
        assert response.status_code == absent.status_code, f"{method.upper()} {url} reveals the deal exists"
        assert AuditEntry.objects.count() == before, f"{method.upper()} {url} changed something"
    assert Deal.objects.filter(pk=world["deal"].pk, name="Rival deal").exists()
