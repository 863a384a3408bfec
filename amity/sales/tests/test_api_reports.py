"""The sales reports through the API: same numbers and scoping as the pages, clear errors."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from amity.sales import services
from amity.sales.models import Deal, Pipeline
from amity.testing import make_team, make_token, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(admin_user):
    pipeline = Pipeline.objects.get(is_default=True)
    north, south = make_team("N"), make_team("S")
    rep, rival = make_user("sales", team=north), make_user("sales", team=south)
    close = timezone.localdate() + dt.timedelta(days=40)
    mine = services.create_deal(actor=admin_user, data={"name": "Mine", "pipeline": pipeline, "amount": "1000",
                                                        "currency": "USD", "owner": rep,
                                                        "expected_close_date": close})
    services.create_deal(actor=admin_user, data={"name": "Theirs", "pipeline": pipeline, "amount": "5000",
                                                 "currency": "USD", "owner": rival, "expected_close_date": close})
    Deal.objects.filter(pk=mine.pk).update(last_activity_at=timezone.now() - dt.timedelta(days=40))
    return {"rep": rep, "admin": admin_user}


def get(user, path, **params):
    return Client().get(path, params, HTTP_AUTHORIZATION=f"Bearer {make_token(user, scope='read')}")


def test_forecast_counts_only_what_the_caller_may_see(world):
    admin = get(world["admin"], "/api/reports/forecast").json()
    rep = get(world["rep"], "/api/reports/forecast").json()
    total = lambda body: sum(float(v) for v in body["weighted_open"])  # noqa: E731
    assert total(admin) == pytest.approx(600.0)  # (1000 + 5000) × 10 %
    assert total(rep) == pytest.approx(100.0)
    assert admin["currency"] == "USD" and len(admin["months"]) == len(admin["weighted_open"])


def test_sales_report_and_stuck_deals(world):
    body = get(world["admin"], "/api/reports/sales", period="this_year").json()
    assert [s["name"] for s in body["funnel"]][0] == "Qualified"
    stuck = get(world["rep"], "/api/reports/stuck", days="30").json()
    assert [d["name"] for d in stuck["items"]] == ["Mine"]


def test_bad_report_filters_are_problems_with_the_field(world):
    response = get(world["admin"], "/api/reports/forecast", months="99")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert {e["field"] for e in response.json()["errors"]} == {"months"}


def test_reports_need_authentication(world):
    assert Client().get("/api/reports/forecast").status_code == 401
