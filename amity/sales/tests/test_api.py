"""Deals, pipelines, the board, lost reasons and exchange rates over the JSON API."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from amity.core.models import AuditEntry, Event, ExchangeRate
from amity.sales import selectors, services
from amity.sales.models import Deal, DealLineItem, Pipeline, Product, ProductPrice
from amity.testing import make_company, make_contact, make_team, make_token, make_user

pytestmark = pytest.mark.django_db


class Api:
    """A client that sends a bearer token and JSON bodies."""

    def __init__(self, user, scope="write"):
        self.user = user
        self.client = Client()
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {make_token(user, scope=scope)}"}

    def get(self, path, data=None):
        return self.client.get(path, data or {}, **self.auth)

    def send(self, method, path, body=None):
        return self.client.generic(method, path, json.dumps(body if body is not None else {}),
                                   content_type="application/json", **self.auth)

    def post(self, path, body=None):
        return self.send("POST", path, body)

    def patch(self, path, body=None):
        return self.send("PATCH", path, body)

    def put(self, path, body=None):
        return self.send("PUT", path, body)

    def delete(self, path):
        return self.send("DELETE", path)


def errors_of(response) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


@pytest.fixture
def pipeline():
    return Pipeline.objects.get(is_default=True)


@pytest.fixture
def stages(pipeline):
    return {s.name: s for s in pipeline.stages.all()}


@pytest.fixture
def partners(admin_user):
    return services.create_pipeline(actor=admin_user, name="Partners", stages=[
        {"name": "Talking", "probability": 20}, {"name": "Signed", "probability": 100, "kind": "won"},
        {"name": "Dropped", "probability": 0, "kind": "lost"}])


@pytest.fixture
def admin_api(admin_user):
    return Api(admin_user)


@pytest.fixture
def sales_api(sales_user):
    return Api(sales_user)


def new_deal(actor, pipeline, **data):
    data.setdefault("name", "Deal")
    data.setdefault("currency", "USD")
    return services.create_deal(actor=actor, data={"pipeline": pipeline, **data})


# --- CRUD -------------------------------------------------------------------------------------------------------

def test_create_read_update_delete(admin_api, admin_user, pipeline, stages):
    company = make_company(name="Acme")
    buyer = make_contact(first_name="Bea", company=company)
    response = admin_api.post("/api/deals", {
        "name": "Acme renewal", "amount": "1200.50", "currency": "usd", "company": str(company.uuid),
        "contacts": [str(buyer.uuid)], "tags": ["renewal"], "expected_close_date": "2026-12-15",
    })
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Acme renewal"
    assert body["pipeline"] == {"id": str(pipeline.uuid), "name": "Sales"}
    assert body["stage"]["name"] == "Qualified" and body["status"] == "open" and body["probability"] == 10
    assert body["amount"] == "1200.50" and body["currency"] == "USD" and body["amount_base"] == "1200.50"
    assert body["weighted_base"] == "120.05"
    assert body["company"]["id"] == str(company.uuid)
    assert [c["id"] for c in body["contacts"]] == [str(buyer.uuid)]
    assert body["tags"] == ["renewal"] and body["owner"]["id"] == str(admin_user.uuid)
    assert body["expected_close_date"] == "2026-12-15" and body["line_items"] == []

    deal_id = body["id"]
    assert admin_api.get(f"/api/deals/{deal_id}").json()["name"] == "Acme renewal"

    response = admin_api.patch(f"/api/deals/{deal_id}", {"name": "Acme renewal 2027", "probability": 40,
                                                         "company": None, "tags": []})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Acme renewal 2027" and body["probability"] == 40
    assert body["company"] is None and body["tags"] == []
    assert [c["id"] for c in body["contacts"]] == [str(buyer.uuid)], "fields not sent stay"

    assert admin_api.delete(f"/api/deals/{deal_id}").status_code == 204
    assert admin_api.get(f"/api/deals/{deal_id}").status_code == 404
    assert not Deal.objects.exists()


def test_create_in_a_named_stage_of_another_pipeline(admin_api, partners):
    talking = partners.stages.get(name="Talking")
    response = admin_api.post("/api/deals", {"name": "Reseller", "stage": str(talking.uuid)})
    assert response.status_code == 201, response.content
    assert response.json()["pipeline"]["name"] == "Partners"
    assert response.json()["stage"]["name"] == "Talking"


@pytest.mark.parametrize(("body", "field"), [
    pytest.param({"name": " "}, "name", id="no-name"),
    pytest.param({"name": "X", "currency": "XXQ"}, "currency", id="unknown-currency"),
    pytest.param({"name": "X", "expected_close_date": "31/31/2026"}, "expected_close_date", id="impossible-date"),
    pytest.param({"name": "X", "probability": 140}, "probability", id="probability-over-100"),
    pytest.param({"name": "X", "amount": "-5"}, "amount", id="negative-amount"),
    pytest.param({"name": "X", "amount": "lots"}, "amount", id="amount-not-a-number"),
    pytest.param({"name": "X", "company": "00000000-0000-4000-8000-000000000000"}, "company", id="unknown-company"),
    pytest.param({"name": "X", "contacts": ["00000000-0000-4000-8000-000000000000"]}, "contacts",
                 id="unknown-contact"),
    pytest.param({"name": "X", "owner": "00000000-0000-4000-8000-000000000000"}, "owner", id="unknown-owner"),
    pytest.param({"name": "X", "pipeline": "00000000-0000-4000-8000-000000000000"}, "pipeline",
                 id="unknown-pipeline"),
    pytest.param({"name": "X", "lost_reason": "Because"}, "lost_reason", id="unknown-lost-reason"),
    pytest.param({"name": "X", "amuont": "5"}, "amuont", id="unknown-field"),
])
def test_bad_input_names_the_field_and_saves_nothing(admin_api, body, field):
    response = admin_api.post("/api/deals", body)
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in errors_of(response)
    assert not Deal.objects.exists()
    assert not AuditEntry.objects.filter(object_type="deal").exists()


def test_a_company_or_contact_of_another_team_is_a_field_error(sales_api, other_team, pipeline):
    rival = make_user("sales", team=other_team)
    company = make_company(owner=rival)
    contact = make_contact(owner=rival)
    response = sales_api.post("/api/deals", {"name": "X", "company": str(company.uuid),
                                             "contacts": [str(contact.uuid)]})
    assert response.status_code == 422
    assert {"company", "contacts"} <= set(errors_of(response))
    assert "may not see" in errors_of(response)["company"]
    assert not Deal.objects.exists()


def test_patch_cannot_change_the_pipeline(admin_api, admin_user, pipeline, partners):
    deal = new_deal(admin_user, pipeline)
    response = admin_api.patch(f"/api/deals/{deal.uuid}", {"pipeline": str(partners.uuid)})
    assert response.status_code == 422
    assert "pipeline" in errors_of(response)


def test_amounts_in_another_currency_convert_with_dated_rates(admin_api):
    response = admin_api.post("/api/deals", {"name": "Euro", "amount": "100", "currency": "EUR"})
    assert response.status_code == 422 and "exchange rate" in errors_of(response)["currency"]
    ExchangeRate.objects.create(currency="EUR", rate=Decimal("1.10"), valid_from=dt.date(2020, 1, 1))
    response = admin_api.post("/api/deals", {"name": "Euro", "amount": "100", "currency": "EUR"})
    assert response.json()["amount_base"] == "110.00" and response.json()["base_currency"] == "USD"


# --- moves ------------------------------------------------------------------------------------------------------

def test_move_within_the_pipeline(admin_api, admin_user, pipeline, stages):
    deal = new_deal(admin_user, pipeline, amount="500")
    response = admin_api.post(f"/api/deals/{deal.uuid}/move", {"stage": str(stages["Proposal"].uuid)})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["stage"]["name"] == "Proposal" and body["probability"] == 50 and body["weighted_base"] == "250.00"
    response = admin_api.post(f"/api/deals/{deal.uuid}/move", {"stage": str(stages["Won"].uuid)})
    assert response.json()["status"] == "won" and response.json()["closed_at"] is not None
    assert list(deal.stage_history.values_list("stage__name", flat=True)) == ["Qualified", "Proposal", "Won"]
    assert Event.objects.filter(deal_id=deal.pk, type="deal.won").exists()


def test_move_to_lost_with_a_reason(admin_api, admin_user, pipeline, stages):
    deal = new_deal(admin_user, pipeline)
    response = admin_api.post(f"/api/deals/{deal.uuid}/move", {"stage": str(stages["Lost"].uuid),
                                                               "lost_reason": "price"})
    assert response.status_code == 200
    assert response.json()["status"] == "lost" and response.json()["lost_reason"] == "Price"


def test_moving_to_a_stage_of_another_pipeline_is_422_on_stage_and_changes_nothing(admin_api, admin_user, pipeline,
                                                                                   partners):
    deal = new_deal(admin_user, pipeline)
    events = Event.objects.count()
    response = admin_api.post(f"/api/deals/{deal.uuid}/move", {"stage": str(partners.stages.first().uuid)})
    assert response.status_code == 422
    assert "another pipeline" in errors_of(response)["stage"]
    deal.refresh_from_db()
    assert deal.stage.name == "Qualified" and deal.stage_history.count() == 1
    assert Event.objects.count() == events


@pytest.mark.parametrize(("body", "field"), [
    pytest.param({}, "stage", id="no-stage"),
    pytest.param({"stage": "00000000-0000-4000-8000-000000000000"}, "stage", id="unknown-stage"),
    pytest.param({"stage": "not-a-uuid"}, "stage", id="malformed-stage"),
    pytest.param({"stage": None, "lost_reason": "Nope"}, "stage", id="stage-null"),
])
def test_bad_moves_name_the_field(admin_api, admin_user, pipeline, body, field):
    deal = new_deal(admin_user, pipeline)
    response = admin_api.post(f"/api/deals/{deal.uuid}/move", body)
    assert response.status_code == 422
    assert field in errors_of(response)


def test_patching_the_stage_moves_the_deal(admin_api, admin_user, pipeline, stages, partners):
    deal = new_deal(admin_user, pipeline)
    response = admin_api.patch(f"/api/deals/{deal.uuid}", {"stage": str(stages["Negotiation"].uuid)})
    assert response.json()["stage"]["name"] == "Negotiation" and response.json()["probability"] == 75
    response = admin_api.patch(f"/api/deals/{deal.uuid}", {"stage": str(partners.stages.first().uuid)})
    assert response.status_code == 422 and "stage" in errors_of(response)


# --- line items -------------------------------------------------------------------------------------------------

def test_line_items_replace_and_set_the_amount(admin_api, admin_user, pipeline):
    deal = new_deal(admin_user, pipeline, currency="USD")
    product = Product.objects.create(sku="SEAT-1", name="Seat licence")
    ProductPrice.objects.create(product=product, currency="USD", unit_price=Decimal("40.00"))
    response = admin_api.put(f"/api/deals/{deal.uuid}/line-items", {"line_items": [
        {"product": str(product.uuid), "quantity": 10, "discount_percent": "10"},
        {"name": "Onboarding", "quantity": "1", "unit_price": "300"},
    ]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert [(li["name"], li["sku"], li["unit_price"], li["amount"]) for li in body["line_items"]] == [
        ("Seat licence", "SEAT-1", "40.00", "360.00"), ("Onboarding", "", "300.00", "300.00")]
    assert body["amount"] == "660.00"
    response = admin_api.put(f"/api/deals/{deal.uuid}/line-items", {"line_items": []})
    assert response.json()["line_items"] == [] and response.json()["amount"] == "0.00"


@pytest.mark.parametrize(("items", "field"), [
    pytest.param([{"name": "Seats", "quantity": "-2", "unit_price": "10"}], "line_items.0.quantity",
                 id="negative-quantity"),
    pytest.param([{"name": "A", "quantity": 1, "unit_price": 1}, {"name": "B", "quantity": 1, "unit_price": "x"}],
                 "line_items.1.unit_price", id="bad-price-second-row"),
    pytest.param([{"name": "Seats", "quantity": 1, "unit_price": 5, "discount_percent": 120}],
                 "line_items.0.discount_percent", id="discount-over-100"),
    pytest.param([{"quantity": 1, "unit_price": 5}], "line_items.0.name", id="no-name"),
    pytest.param([{"product": "00000000-0000-4000-8000-000000000000", "quantity": 1}], "line_items.0.product",
                 id="unknown-product"),
    pytest.param([{"name": "A", "quantity": 1, "colour": "red"}], "line_items.0.colour", id="unknown-field"),
    pytest.param(None, "line_items", id="missing"),
])
def test_bad_line_items_name_the_row_and_field_and_keep_the_old_items(admin_api, admin_user, pipeline, items,
                                                                      field):
    deal = new_deal(admin_user, pipeline)
    services.set_line_items(actor=admin_user, deal=deal, items=[{"name": "Kept", "quantity": 1, "unit_price": 7}])
    body = {} if items is None else {"line_items": items}
    response = admin_api.put(f"/api/deals/{deal.uuid}/line-items", body)
    assert response.status_code == 422, response.content
    assert field in errors_of(response)
    assert list(DealLineItem.objects.filter(deal=deal).values_list("name", flat=True)) == ["Kept"]
    deal.refresh_from_db()
    assert deal.amount == Decimal("7.00")


# --- the list: the selector's filters, sorts and pages ------------------------------------------------------------

@pytest.fixture
def many_deals(admin_user, pipeline, stages, partners, team):
    rep = make_user("sales", team=team)
    company = make_company(name="Globex")
    deals = []
    for n in range(12):
        deal = new_deal(admin_user, partners if n % 4 == 0 else pipeline, name=f"Deal {n:02d}", amount=str(100 * n),
                        owner=rep if n % 3 == 0 else admin_user, company=company if n % 2 else None,
                        expected_close_date=f"2026-{(n % 3) + 1:02d}-10", tags=["hot"] if n % 5 == 0 else [])
        if n % 4 == 1:
            services.move_deal(actor=admin_user, deal=deal, stage=stages["Won"])
        deals.append(deal)
    return {"rep": rep, "company": company, "deals": deals}


@pytest.mark.parametrize("params", [
    {},
    {"status": "won"},
    {"status": "open", "sort": "-amount"},
    {"close_month": "2026-02"},
    {"tag": "HOT"},
    {"amount_min": "300", "amount_max": "800", "sort": "name"},
    {"close_from": "2026-02-01", "sort": "close"},
    {"currency": "usd", "sort": "-created"},
], ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "none")
def test_list_filters_match_the_selector(admin_api, admin_user, many_deals, params):
    response = admin_api.get("/api/deals", {**params, "limit": 200})
    assert response.status_code == 200, response.content
    expected = [str(d.uuid) for d in selectors.deal_list(user=admin_user, params={**params, "limit": 200}).items]
    assert [d["id"] for d in response.json()["items"]] == expected
    assert response.json()["total"] == len(expected)


def test_list_filters_by_reference(admin_api, admin_user, many_deals, partners):
    by_owner = admin_api.get("/api/deals", {"owner": str(many_deals["rep"].uuid)}).json()
    assert by_owner["total"] == 4 and all(d["owner"]["id"] == str(many_deals["rep"].uuid) for d in by_owner["items"])
    by_company = admin_api.get("/api/deals", {"company": str(many_deals["company"].uuid)}).json()
    assert by_company["total"] == 6
    by_pipeline = admin_api.get("/api/deals", {"pipeline": str(partners.uuid)}).json()
    assert by_pipeline["total"] == 3 and {d["pipeline"]["name"] for d in by_pipeline["items"]} == {"Partners"}


def test_list_pages_with_cursors(admin_api, many_deals):
    first = admin_api.get("/api/deals", {"limit": 5, "sort": "name"}).json()
    second = admin_api.get("/api/deals", {"limit": 5, "sort": "name", "cursor": first["next_cursor"]}).json()
    names = [d["name"] for d in first["items"] + second["items"]]
    assert names == [f"Deal {n:02d}" for n in range(10)]


@pytest.mark.parametrize(("params", "field"), [
    ({"status": "sleeping"}, "status"),
    ({"close_month": "2026-13"}, "close_month"),
    ({"sort": "price"}, "sort"),
    ({"limit": 0}, "limit"),
    ({"cursor": "garbage"}, "cursor"),
    ({"custom.nothing": "x"}, "custom.nothing"),
])
def test_bad_list_parameters_are_422_naming_them(admin_api, params, field):
    response = admin_api.get("/api/deals", params)
    assert response.status_code == 422
    assert field in errors_of(response)


def test_list_query_count_does_not_grow_with_the_page(admin_api, admin_user, pipeline):
    contact = make_contact(first_name="Buyer")
    for n in range(60):
        new_deal(admin_user, pipeline, name=f"D{n}", contacts=[contact], tags=["t1", "t2"],
                 company=make_company() if n < 3 else None)
    admin_api.get("/api/deals", {"limit": 5})  # warm caches (content types, roles)
    counts = {}
    for limit in (5, 50):
        with CaptureQueriesContext(connection) as ctx:
            response = admin_api.get("/api/deals", {"limit": limit})
        assert len(response.json()["items"]) == limit
        counts[limit] = len(ctx.captured_queries)
    assert counts[5] == counts[50], counts


# --- detail, timeline, pipelines, board -------------------------------------------------------------------------

def test_the_deal_timeline_shows_its_events(admin_api, admin_user, pipeline, stages):
    deal = new_deal(admin_user, pipeline)
    services.move_deal(actor=admin_user, deal=deal, stage=stages["Won"])
    body = admin_api.get(f"/api/deals/{deal.uuid}/timeline").json()
    assert [e["type"] for e in body["items"]] == ["deal.won", "deal.stage_changed", "deal.created"]
    assert body["items"][1]["payload"]["to"] == "Won"


def test_pipelines_with_their_stages(admin_api, partners):
    body = admin_api.get("/api/pipelines").json()
    assert [p["name"] for p in body["items"]] == ["Sales", "Partners"]
    assert [s["name"] for s in body["items"][0]["stages"]] == [
        "Qualified", "Needs analysis", "Proposal", "Negotiation", "Won", "Lost"]
    assert body["items"][0]["is_default"] and body["items"][0]["stages"][4]["kind"] == "won"


def test_board_columns_with_totals(admin_api, admin_user, pipeline, stages, team):
    rep = make_user("sales", team=team)
    for amount, owner in (("100", admin_user), ("300", admin_user), ("1000", rep)):
        new_deal(admin_user, pipeline, name=f"D{amount}", amount=amount, owner=owner)
    won = new_deal(admin_user, pipeline, name="Won one", amount="50")
    services.move_deal(actor=admin_user, deal=won, stage=stages["Won"])
    body = admin_api.get(f"/api/pipelines/{pipeline.uuid}/board").json()
    columns = {c["stage"]["name"]: c for c in body["columns"]}
    assert list(columns) == ["Qualified", "Needs analysis", "Proposal", "Negotiation", "Won", "Lost"]
    assert columns["Qualified"]["count"] == 3 and columns["Qualified"]["total"] == "1400.00"
    assert columns["Qualified"]["weighted"] == "140.00"
    assert [d["name"] for d in columns["Qualified"]["deals"]] == ["D1000", "D300", "D100"]
    assert columns["Won"]["count"] == 1 and columns["Won"]["weighted"] == "50.00"
    filtered = admin_api.get(f"/api/pipelines/{pipeline.uuid}/board", {"owner": str(rep.uuid)}).json()
    assert [c["count"] for c in filtered["columns"]][0] == 1


def test_board_query_count_does_not_grow_with_deals(admin_api, admin_user, pipeline):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert admin_api.get(f"/api/pipelines/{pipeline.uuid}/board").status_code == 200
        return len(ctx.captured_queries)

    contact = make_contact()
    new_deal(admin_user, pipeline, contacts=[contact], tags=["x"])
    count()
    few = count()
    for n in range(30):
        new_deal(admin_user, pipeline, name=f"D{n}", contacts=[contact], tags=["x", "y"])
    assert count() == few


def test_an_unknown_pipeline_is_404(admin_api):
    assert admin_api.get("/api/pipelines/00000000-0000-4000-8000-000000000000/board").status_code == 404


def test_lost_reasons(admin_api):
    names = [r["name"] for r in admin_api.get("/api/lost-reasons").json()["items"]]
    assert names[:2] == ["Price", "Timing"]


# --- exchange rates ---------------------------------------------------------------------------------------------

def test_admins_add_exchange_rates_and_everyone_reads_them(admin_api, sales_api):
    response = admin_api.post("/api/exchange-rates", {"currency": "eur", "rate": "1.0842", "valid_from": "2026-01-01"})
    assert response.status_code == 201, response.content
    assert response.json() == {"currency": "EUR", "rate": "1.0842", "valid_from": "2026-01-01",
                               "base_currency": "USD"}
    again = admin_api.post("/api/exchange-rates", {"currency": "EUR", "rate": "1.09", "valid_from": "2026-01-01"})
    assert again.status_code == 201 and ExchangeRate.objects.get(currency="EUR").rate == Decimal("1.09")
    items = sales_api.get("/api/exchange-rates", {"currency": "EUR"}).json()["items"]
    assert [(r["currency"], r["rate"]) for r in items] == [("EUR", "1.09")]
    assert AuditEntry.objects.filter(object_type="exchangerate").count() == 2


@pytest.mark.parametrize(("body", "field"), [
    ({"currency": "USD", "rate": "1"}, "currency"),
    ({"currency": "ZZZ", "rate": "1"}, "currency"),
    ({"currency": "EUR", "rate": "0"}, "rate"),
    ({"currency": "EUR", "rate": "abc"}, "rate"),
    ({"currency": "EUR"}, "rate"),
    ({"currency": "EUR", "rate": "1.1", "valid_from": "2026-02-30"}, "valid_from"),
])
def test_bad_exchange_rates_name_the_field(admin_api, body, field):
    response = admin_api.post("/api/exchange-rates", body)
    assert response.status_code == 422
    assert field in errors_of(response)
    assert not ExchangeRate.objects.exists()


def test_only_admins_add_exchange_rates(sales_api):
    response = sales_api.post("/api/exchange-rates", {"currency": "EUR", "rate": "1.1"})
    assert response.status_code == 403
    assert not ExchangeRate.objects.exists()


# --- permissions ----------------------------------------------------------------------------------------------

@pytest.fixture
def rival_deal(admin_user, pipeline):
    rival = make_user("sales", team=make_team("Elsewhere"))
    return new_deal(admin_user, pipeline, name="Secret", owner=rival, amount="999")


def deal_paths(deal, stage) -> list[tuple[str, str, dict]]:
    return [
        ("GET", f"/api/deals/{deal.uuid}", {}),
        ("PATCH", f"/api/deals/{deal.uuid}", {"name": "Mine now"}),
        ("DELETE", f"/api/deals/{deal.uuid}", {}),
        ("POST", f"/api/deals/{deal.uuid}/move", {"stage": str(stage.uuid)}),
        ("PUT", f"/api/deals/{deal.uuid}/line-items", {"line_items": [{"name": "X", "quantity": 1}]}),
        ("GET", f"/api/deals/{deal.uuid}/timeline", {}),
    ]


def test_a_sales_user_cannot_see_or_touch_another_teams_deal(sales_api, rival_deal, stages):
    for method, path, body in deal_paths(rival_deal, stages["Won"]):
        response = sales_api.send(method, path, body) if method != "GET" else sales_api.get(path)
        assert response.status_code == 404, f"{method} {path} answered {response.status_code}"
    rival_deal.refresh_from_db()
    assert rival_deal.name == "Secret" and rival_deal.stage.name == "Qualified"
    assert not rival_deal.line_items.exists()
    listed = sales_api.get("/api/deals").json()
    assert listed["items"] == [] and listed["total"] == 0
    board = sales_api.get(f"/api/pipelines/{rival_deal.pipeline.uuid}/board").json()
    assert all(c["count"] == 0 for c in board["columns"])


def test_a_sales_user_sees_their_team_and_unassigned_deals(sales_api, sales_user, admin_user, pipeline, team):
    mate = make_user("sales", team=team)
    mine = new_deal(admin_user, pipeline, name="Mine", owner=sales_user)
    teammates = new_deal(admin_user, pipeline, name="Team", owner=mate)
    unassigned = new_deal(admin_user, pipeline, name="Nobody's", owner=None)
    ids = {d["id"] for d in sales_api.get("/api/deals").json()["items"]}
    assert ids == {str(mine.uuid), str(teammates.uuid), str(unassigned.uuid)}


def test_readonly_writes_are_403_and_change_nothing(admin_user, pipeline, stages):
    viewer = make_user("readonly")
    deal = new_deal(admin_user, pipeline, name="Stable")
    readonly = Api(viewer)
    audits = AuditEntry.objects.count()
    assert readonly.post("/api/deals", {"name": "New"}).status_code == 403
    for method, path, body in deal_paths(deal, stages["Won"]):
        if method == "GET":
            assert readonly.get(path).status_code == 200
            continue
        response = readonly.send(method, path, body)
        assert response.status_code == 403, f"{method} {path} answered {response.status_code}"
    assert readonly.post("/api/exchange-rates", {"currency": "EUR", "rate": "1.1"}).status_code == 403
    deal.refresh_from_db()
    assert deal.name == "Stable" and deal.stage.name == "Qualified" and not deal.line_items.exists()
    assert Deal.objects.count() == 1 and AuditEntry.objects.count() == audits


def test_a_read_token_cannot_write(admin_user, pipeline, stages):
    deal = new_deal(admin_user, pipeline)
    reader = Api(admin_user, scope="read")
    assert reader.get(f"/api/deals/{deal.uuid}").status_code == 200
    assert reader.post(f"/api/deals/{deal.uuid}/move", {"stage": str(stages["Won"].uuid)}).status_code == 403
    deal.refresh_from_db()
    assert deal.stage.name == "Qualified"


def test_no_token_is_401(client):
    assert client.get("/api/deals").status_code == 401
    assert client.get("/api/pipelines").status_code == 401


# --- products -----------------------------------------------------------------------------------------------------

def test_products_crud_with_prices(admin_api, sales_api):
    response = admin_api.post("/api/products", {"sku": "SEAT-1", "name": "Seat licence", "category": "Licences",
                                                "prices": [{"currency": "usd", "unit_price": "40"},
                                                           {"currency": "EUR", "unit_price": 37}]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["prices"] == [{"currency": "EUR", "unit_price": "37.00"}, {"currency": "USD", "unit_price": "40.00"}]
    product_id = body["id"]
    listed = sales_api.get("/api/products", {"q": "seat"}).json()
    assert [p["id"] for p in listed["items"]] == [product_id]
    response = admin_api.patch(f"/api/products/{product_id}", {"active": False, "prices": [
        {"currency": "CNY", "unit_price": "290"}]})
    assert response.status_code == 200
    assert response.json()["active"] is False and response.json()["prices"] == [
        {"currency": "CNY", "unit_price": "290.00"}]
    assert sales_api.get("/api/products").json()["items"] == []
    assert len(sales_api.get("/api/products", {"active": "all"}).json()["items"]) == 1
    assert sales_api.get(f"/api/products/{product_id}").json()["sku"] == "SEAT-1"


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "No SKU"}, "sku"),
    ({"sku": "X-1"}, "name"),
    ({"sku": "X-1", "name": "X", "prices": [{"currency": "ZZZ", "unit_price": "1"}]}, "prices.0.currency"),
    ({"sku": "X-1", "name": "X", "prices": [{"currency": "USD", "unit_price": "-1"}]}, "prices.0.unit_price"),
    ({"sku": "X-1", "name": "X", "price": "1"}, "price"),
])
def test_bad_products_name_the_field(admin_api, body, field):
    response = admin_api.post("/api/products", body)
    assert response.status_code == 422
    assert field in errors_of(response)
    assert not Product.objects.exists()


def test_duplicate_sku_and_readonly_products(admin_api):
    admin_api.post("/api/products", {"sku": "AB-1", "name": "A"})
    assert "sku" in errors_of(admin_api.post("/api/products", {"sku": " ab-1 ", "name": "B"}))
    viewer = Api(make_user("readonly"))
    assert viewer.post("/api/products", {"sku": "C-1", "name": "C"}).status_code == 403
    product = Product.objects.get()
    assert viewer.patch(f"/api/products/{product.uuid}", {"name": "Changed"}).status_code == 403
    product.refresh_from_db()
    assert product.name == "A" and Product.objects.count() == 1
    assert viewer.get(f"/api/products/{product.uuid}").status_code == 200


def test_an_unknown_product_is_404(admin_api):
    assert admin_api.get("/api/products/00000000-0000-4000-8000-000000000000").status_code == 404


# --- quotes ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def quotable(admin_user, pipeline):
    company = make_company(name="Acme")
    buyer = make_contact(first_name="Bea", company=company, emails=["bea@acme.example"])
    deal = new_deal(admin_user, pipeline, name="Acme renewal", company=company, contacts=[buyer])
    services.set_line_items(actor=admin_user, deal=deal, items=[
        {"name": "Seats", "quantity": "3", "unit_price": "100", "discount_percent": "10"}])
    return deal, buyer


def in_days(n: int) -> str:
    from django.utils import timezone

    return (timezone.localdate() + dt.timedelta(days=n)).isoformat()


def test_quote_from_a_deal_send_and_accept(admin_api, quotable, smtp_server, stages):
    deal, buyer = quotable
    response = admin_api.post(f"/api/deals/{deal.uuid}/quotes", {"valid_until": in_days(30), "terms": "Net 30",
                                                                 "contact": str(buyer.uuid)})
    assert response.status_code == 201, response.content
    quote = response.json()
    assert quote["number"].startswith("Q-") and quote["status"] == "draft" and quote["total"] == "270.00"
    assert quote["lines"][0]["name"] == "Seats" and quote["pdf_url"].endswith("/pdf")
    assert [q["id"] for q in admin_api.get(f"/api/deals/{deal.uuid}/quotes").json()["items"]] == [quote["id"]]
    assert admin_api.get(f"/api/quotes/{quote['id']}").json()["number"] == quote["number"]

    sent = admin_api.post(f"/api/quotes/{quote['id']}/send", {"message": "Here it is."})
    assert sent.status_code == 200, sent.content
    assert sent.json()["status"] == "sent" and len(smtp_server.messages) == 1

    decided = admin_api.post(f"/api/quotes/{quote['id']}/decide", {"decision": "accepted", "move_deal": True})
    assert decided.status_code == 200 and decided.json()["status"] == "accepted"
    deal.refresh_from_db()
    assert deal.stage == stages["Won"]


@pytest.mark.parametrize(("path", "body", "field"), [
    ("quotes", {"valid_until": "2026-02-30"}, "valid_until"),
    ("quotes", {"valid_until": "tomorrow"}, "valid_until"),
    ("quotes", {"valid_until": "2099-01-01", "contact": "00000000-0000-4000-8000-000000000000"}, "contact"),
])
def test_bad_quotes_name_the_field(admin_api, quotable, path, body, field):
    deal, _buyer = quotable
    response = admin_api.post(f"/api/deals/{deal.uuid}/{path}", body)
    assert response.status_code == 422
    assert field in errors_of(response)
    assert not deal.quotes.exists()


def test_a_bad_decision_is_422(admin_api, quotable):
    deal, buyer = quotable
    quote = admin_api.post(f"/api/deals/{deal.uuid}/quotes", {"valid_until": in_days(10)}).json()
    response = admin_api.post(f"/api/quotes/{quote['id']}/decide", {"decision": "maybe"})
    assert response.status_code == 422 and "decision" in errors_of(response)
    assert admin_api.get(f"/api/quotes/{quote['id']}").json()["status"] == "draft"


def test_another_teams_quotes_are_404_and_readonly_cannot_quote(sales_api, admin_user, quotable, other_team):
    deal, _buyer = quotable
    deal.owner = make_user("sales", team=other_team)
    deal.save()
    admin = Api(admin_user)
    quote = admin.post(f"/api/deals/{deal.uuid}/quotes", {"valid_until": in_days(10)}).json()
    assert sales_api.get(f"/api/quotes/{quote['id']}").status_code == 404
    assert sales_api.get(f"/api/deals/{deal.uuid}/quotes").status_code == 404
    assert sales_api.post(f"/api/quotes/{quote['id']}/decide", {"decision": "accepted"}).status_code == 404
    viewer = Api(make_user("readonly"))
    assert viewer.post(f"/api/deals/{deal.uuid}/quotes", {"valid_until": in_days(10)}).status_code == 403
    assert viewer.post(f"/api/quotes/{quote['id']}/decide", {"decision": "accepted"}).status_code == 403
    assert deal.quotes.count() == 1 and deal.quotes.get().status == "draft"
