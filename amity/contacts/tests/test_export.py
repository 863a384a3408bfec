"""CSV exports: right rows, safe cells, audited, and only for roles allowed to export."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from amity import testing
from amity.core.csvexport import safe_cell, stream_rows
from amity.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def read_csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


@pytest.mark.parametrize("value,expected", [
    ("=1+1", "'=1+1"), ("+SUM(A1)", "'+SUM(A1)"), ("-2", "'-2"), ("@cmd", "'@cmd"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("plain", "plain"), ("a=b", "a=b"), (None, ""), (True, "yes"), (["a", "b"], "a, b"),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_stream_rows_starts_with_bom_and_header():
    lines = list(stream_rows(["a", "b"], [["=x", "y"]]))
    assert lines[0] == "\ufeffa,b\r\n"
    assert lines[1] == "'=x,y\r\n"


def test_export_content_and_formula_neutralised(admin_client, admin_user):
    testing.make_contact(owner=admin_user, first_name="=1+1", last_name="王", emails=["x@example.com"],
                         tags=["vip"], lifecycle_stage="customer")
    response = admin_client.get(reverse("contacts:export"))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)
    assert len(rows) == 1
    assert rows[0]["first_name"] == "'=1+1"
    assert rows[0]["email"] == "x@example.com"
    assert rows[0]["tags"] == "vip"
    assert rows[0]["owner"] == admin_user.email


def test_export_follows_the_list_filters_and_is_audited(admin_client, admin_user):
    testing.make_contact(owner=admin_user, first_name="In", lifecycle_stage="customer")
    testing.make_contact(owner=admin_user, first_name="Out", lifecycle_stage="lead")
    rows = read_csv(admin_client.get(reverse("contacts:export"), {"stage": "customer"}))
    assert [r["first_name"] for r in rows] == ["In"]
    entry = AuditEntry.objects.get(action="export")
    assert entry.object_type == "contact"
    assert entry.actor == admin_user
    assert entry.changes == {"filters": {"stage": "customer"}, "rows": 1}


def test_export_includes_custom_fields(admin_client, admin_user):
    from amity.core.models import CustomFieldDefinition

    CustomFieldDefinition.objects.create(object_type="contact", key="tier", label="Tier", field_type="text")
    testing.make_contact(owner=admin_user, custom={"tier": "@gold"})
    rows = read_csv(admin_client.get(reverse("contacts:export")))
    assert rows[0]["custom.tier"] == "'@gold"


def test_export_forbidden_without_can_export(sales_client):
    assert sales_client.get(reverse("contacts:export")).status_code == 403
    assert sales_client.get(reverse("contacts:company_export")).status_code == 403
    assert not AuditEntry.objects.filter(action="export").exists()


def test_export_only_contains_visible_records(team, other_team):
    # A role that may export but sees only its team's records.
    from amity.accounts.models import Role

    Role.objects.filter(key="sales").update(can_export=True)
    seller = testing.make_user("sales", team=team)
    outsider = testing.make_user("sales", team=other_team)
    testing.make_contact(owner=seller, first_name="Visible")
    testing.make_contact(owner=outsider, first_name="Invisible")
    client = Client()
    client.force_login(seller)
    rows = read_csv(client.get(reverse("contacts:export")))
    assert [r["first_name"] for r in rows] == ["Visible"]


def test_export_with_bad_filter_goes_back_with_a_message(admin_client):
    response = admin_client.get(reverse("contacts:export"), {"created_from": "nope"})
    assert response.status_code == 302
    assert not AuditEntry.objects.filter(action="export").exists()


def test_company_export(admin_client, admin_user):
    testing.make_company(owner=admin_user, name="-Evil Co", domain="evil.example")
    rows = read_csv(admin_client.get(reverse("contacts:company_export")))
    assert rows[0]["name"] == "'-Evil Co"
    assert rows[0]["domain"] == "evil.example"
    assert AuditEntry.objects.get(action="export").object_type == "company"
