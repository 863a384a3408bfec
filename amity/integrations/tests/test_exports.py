"""List exports (CSV and XLSX, pages and API): the list's records and filters, typed and formula-free cells,
audit, permissions, constant queries per batch and Excel's row limit."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from amity import testing
from amity.accounts.models import Role
from amity.core.models import AuditEntry, CustomFieldDefinition
from amity.integrations import exports
from amity.sales import services as sales_services
from amity.sales.models import Pipeline

pytestmark = pytest.mark.django_db
XLSX_URLS = {"contact": "exports:contacts_xlsx", "company": "exports:companies_xlsx", "deal": "exports:deals_xlsx"}
API = {"contact": "/api/contacts/export", "company": "/api/companies/export", "deal": "/api/deals/export"}


def read_csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def read_xlsx(response) -> tuple[list[str], list[dict[str, object]], object]:
    data = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows())
    header = [c.value for c in rows[0]]
    return header, [dict(zip(header, (c.value for c in r), strict=True)) for r in rows[1:]], sheet


def make_deal(actor, name="Deal", amount="1250.50", **data):
    pipeline = Pipeline.objects.get(is_default=True)
    return sales_services.create_deal(actor=actor, data={"name": name, "pipeline": pipeline, "amount": amount,
                                                         "currency": "USD", **data})


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def exporter_roles():
    Role.objects.filter(key="sales").update(can_export=True)


# --- XLSX -------------------------------------------------------------------------------------------------------

def test_contacts_xlsx_typed_cells_and_no_formulas(admin_client, admin_user):
    CustomFieldDefinition.objects.create(object_type="contact", key="tier", label="Tier", field_type="text")
    testing.make_contact(owner=admin_user, first_name="=HYPERLINK(\"http://x\")", last_name="王",
                         emails=["x@example.com"], tags=["vip", "Alpha"], custom={"tier": "@gold"},
                         lifecycle_stage="customer")
    response = admin_client.get(reverse("exports:contacts_xlsx"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="contacts.xlsx"' in response["Content-Disposition"]
    header, rows, sheet = read_xlsx(response)
    assert header[:3] == ["uuid", "first_name", "last_name"]
    assert header[-1] == "custom.tier"
    assert len(rows) == 1
    row = rows[0]
    assert row["first_name"] == "=HYPERLINK(\"http://x\")"
    assert row["last_name"] == "王"
    assert row["tags"] == "Alpha, vip"
    assert row["custom.tier"] == "@gold"
    assert row["do_not_contact"] is False
    assert isinstance(row["created_at"], dt.datetime)
    assert all(cell.data_type != "f" for line in sheet.iter_rows() for cell in line)
    entry = AuditEntry.objects.get(action="export")
    assert entry.changes == {"filters": {}, "rows": 1, "format": "xlsx"}


def test_deals_xlsx_numbers_are_numbers_and_dates_are_dates(admin_client, admin_user):
    contact = testing.make_contact(owner=admin_user, emails=["buyer@example.com"])
    make_deal(admin_user, name="+Big one", amount="1250.50", contacts=[contact], tags=["q4"],
              expected_close_date=dt.date(2026, 12, 1))
    _header, rows, sheet = read_xlsx(admin_client.get(reverse("exports:deals_xlsx")))
    row = rows[0]
    assert row["name"] == "+Big one"
    assert row["amount"] == 1250.5
    assert row["probability"] == 10 or isinstance(row["probability"], int)
    assert row["expected_close_date"] == dt.datetime(2026, 12, 1)
    assert row["contacts"] == "buyer@example.com"
    assert row["tags"] == "q4"
    assert all(cell.data_type != "f" for line in sheet.iter_rows() for cell in line)


def test_xlsx_follows_filters(admin_client, admin_user):
    testing.make_company(owner=admin_user, name="Kept", industry="Retail")
    testing.make_company(owner=admin_user, name="Dropped", industry="Mining")
    _header, rows, _sheet = read_xlsx(admin_client.get(reverse("exports:companies_xlsx"), {"industry": "Retail"}))
    assert [r["name"] for r in rows] == ["Kept"]


def test_xlsx_row_limit_suggests_csv(admin_client, admin_user, monkeypatch):
    monkeypatch.setattr("amity.core.xlsxexport.MAX_ROWS", 1)
    testing.make_contact(owner=admin_user)
    testing.make_contact(owner=admin_user)
    response = admin_client.get(reverse("exports:contacts_xlsx"), follow=True)
    assert response.redirect_chain[0][0] == reverse("contacts:list")
    text = response.content.decode()
    assert "export it as CSV" in text
    assert not AuditEntry.objects.filter(action="export").exists()


def test_write_xlsx_keeps_dangerous_text_as_text(tmp_path):
    from amity.core.xlsxexport import write_xlsx

    path = str(tmp_path / "x.xlsx")
    values = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "#N/A", "bad\x00char", Decimal("2.50"), -3, None]
    assert write_xlsx(path, ["a"] * len(values), [values]) == 1
    sheet = openpyxl.load_workbook(path).active
    cells = list(sheet.iter_rows())[1]
    assert [c.value for c in cells] == ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "#N/A", "badchar", 2.5, -3, None]
    assert [c.data_type for c in cells[:7]] == ["s"] * 7
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b is True and sheet["A1"].value == "a"


def test_write_xlsx_dates_and_times(tmp_path):
    from amity.core.xlsxexport import write_xlsx

    path = str(tmp_path / "d.xlsx")
    moment = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    write_xlsx(path, ["date", "when", "flag"], [[dt.date(2026, 3, 4), moment, True]])
    cells = list(openpyxl.load_workbook(path).active.iter_rows())[1]
    assert cells[0].value == dt.datetime(2026, 3, 4) and cells[0].is_date
    assert cells[1].value == dt.datetime(2026, 3, 3, 21, 6, 7)  # UTC
    assert cells[2].value is True


# --- CSV ----------------------------------------------------------------------------------------------------------

def test_deal_csv_columns_and_values(admin_client, admin_user):
    company = testing.make_company(owner=admin_user, name="@Acme")
    contact = testing.make_contact(owner=admin_user, first_name="Lin", emails=[])
    make_deal(admin_user, name="Renewal", company=company, contacts=[contact], tags=["b", "a"])
    rows = read_csv(admin_client.get(reverse("sales:export")))
    assert len(rows) == 1
    row = rows[0]
    assert row["company"] == "'@Acme"
    assert row["amount"] == "1250.50"
    assert row["tags"] == "a, b"
    assert row["contacts"] == contact.display_name
    assert row["status"] == "open"
    assert row["owner"] == admin_user.email


def test_csv_dates_are_iso(admin_client, admin_user):
    contact = testing.make_contact(owner=admin_user)
    rows = read_csv(admin_client.get(reverse("contacts:export")))
    assert rows[0]["created_at"] == contact.created_at.isoformat()
    assert rows[0]["do_not_contact"] == "no"


@pytest.mark.parametrize("batches", [2, 3])
def test_queries_per_batch_are_constant(admin_user, django_assert_num_queries, batches):
    for _ in range(batches * 2):
        testing.make_contact(owner=admin_user, tags=["t"])
    queryset = exports.CONTACT.queryset(admin_user, {})
    # One query streams the rows; each batch of 2 adds one query for its tags.
    with django_assert_num_queries(1 + batches):
        rows = list(exports.iter_rows(exports.CONTACT, queryset, [], batch=2))
    assert len(rows) == batches * 2
    assert {r[11] for r in rows} == {"t"}


@pytest.mark.parametrize("batches", [2, 3])
def test_deal_queries_per_batch_are_constant(admin_user, django_assert_num_queries, batches):
    for n in range(batches * 2):
        make_deal(admin_user, name=f"D{n}", tags=["t"])
    queryset = exports.DEAL.queryset(admin_user, {})
    # The row stream, then tags and contacts per batch.
    with django_assert_num_queries(1 + 2 * batches):
        rows = list(exports.iter_rows(exports.DEAL, queryset, [], batch=2))
    assert len(rows) == batches * 2


# --- permissions ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["contact", "company", "deal"])
def test_xlsx_forbidden_without_the_export_right(sales_client, kind):
    assert sales_client.get(reverse(XLSX_URLS[kind])).status_code == 403
    assert not AuditEntry.objects.filter(action="export").exists()


@pytest.mark.parametrize("kind", ["contact", "company", "deal"])
def test_xlsx_holds_only_the_users_team(team, other_team, exporter_roles, kind):
    seller = testing.make_user("sales", team=team)
    outsider = testing.make_user("sales", team=other_team)
    if kind == "contact":
        testing.make_contact(owner=outsider, first_name="Hidden")
        testing.make_contact(owner=seller, first_name="Mine")
    elif kind == "company":
        testing.make_company(owner=outsider, name="Hidden")
        testing.make_company(owner=seller, name="Mine")
    else:
        make_deal(outsider, name="Hidden", owner=outsider)
        make_deal(seller, name="Mine", owner=seller)
    _header, rows, _sheet = read_xlsx(client_for(seller).get(reverse(XLSX_URLS[kind])))
    names = [r.get("first_name") or r.get("name") for r in rows]
    assert names == ["Mine"]


# --- API ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["contact", "company", "deal"])
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_api_export_forbidden_for_a_role_without_export(sales_user, kind, file_format):
    token = testing.make_token(sales_user, scope="read")
    response = Client().get(f"{API[kind]}.{file_format}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_api_export_needs_authentication():
    assert Client().get("/api/contacts/export.csv").status_code == 401


def test_api_csv_export_with_filters_and_scope(team, other_team, exporter_roles):
    seller = testing.make_user("sales", team=team)
    outsider = testing.make_user("sales", team=other_team)
    testing.make_contact(owner=seller, first_name="Customer", lifecycle_stage="customer")
    testing.make_contact(owner=seller, first_name="Lead", lifecycle_stage="lead")
    testing.make_contact(owner=outsider, first_name="Other", lifecycle_stage="customer")
    token = testing.make_token(seller, scope="read")
    response = Client().get("/api/contacts/export.csv", {"stage": "customer", "cursor": "ignored", "limit": 5},
                            HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert [r["first_name"] for r in read_csv(response)] == ["Customer"]
    entry = AuditEntry.objects.get(action="export")
    assert entry.actor == seller
    assert entry.changes == {"filters": {"stage": "customer"}, "rows": 1}


def test_api_xlsx_export_of_deals(admin_user):
    make_deal(admin_user, name="Only")
    token = testing.make_token(admin_user, scope="read")
    response = Client().get("/api/deals/export.xlsx", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    _header, rows, _sheet = read_xlsx(response)
    assert [r["name"] for r in rows] == ["Only"]


@pytest.mark.parametrize("path", ["/api/contacts/export.csv", "/api/deals/export.xlsx"])
def test_api_bad_filter_is_a_422_naming_the_parameter(admin_user, path):
    token = testing.make_token(admin_user, scope="read")
    response = Client().get(path, {"sort": "nope"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["sort"]
    assert not AuditEntry.objects.filter(action="export").exists()


def test_api_xlsx_row_limit_is_a_422(admin_user, monkeypatch):
    monkeypatch.setattr("amity.core.xlsxexport.MAX_ROWS", 0)
    testing.make_contact(owner=admin_user)
    token = testing.make_token(admin_user, scope="read")
    response = Client().get("/api/contacts/export.xlsx", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "format"


# --- the menu -------------------------------------------------------------------------------------------------------

def test_list_pages_offer_csv_and_excel(admin_client):
    page = admin_client.get(reverse("contacts:list"), {"stage": "customer"}).content.decode()
    assert f'href="{reverse("contacts:export")}?stage=customer"' in page
    assert f'href="{reverse("exports:contacts_xlsx")}?stage=customer"' in page
    deals = admin_client.get(reverse("sales:list")).content.decode()
    assert f'href="{reverse("exports:deals_xlsx")}' in deals
