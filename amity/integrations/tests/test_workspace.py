"""The full workspace export and import: a round trip loses nothing, bad files are refused with the reason,
the admin page and the commands, audit, and admins only. Runs on SQLite and on PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from amity import testing
from amity.accounts.models import User
from amity.contacts import services as contact_services
from amity.contacts.models import Contact
from amity.core import events
from amity.core.models import AuditEntry, CustomFieldDefinition, ExchangeRate
from amity.integrations import workspace
from amity.sales import quote_services
from amity.sales import services as sales_services
from amity.sales.models import Deal, Pipeline
from amity.timeline import services as timeline_services

pytestmark = pytest.mark.django_db


def build_rich_workspace(admin):
    team = testing.make_team("东区 team")
    seller = testing.make_user("sales", team=team, full_name="李雷")
    CustomFieldDefinition.objects.create(object_type="contact", key="tier", label="Tier", field_type="text")
    company = testing.make_company(owner=seller, name="北京科技有限公司", domain="example.cn", tags=["partner"])
    contact = testing.make_contact(
        owner=seller, first_name="小明", last_name="王", company=company,
        emails=[{"email": "xm@example.cn", "kind": "work"}, {"email": "wang@example.com", "kind": "home"}],
        phones=["+86 138 0013 8000"], tags=["vip", "=formula"], custom={"tier": "gold"},
        special_dates=[{"kind": "anniversary", "label": "Wedding", "date": "2015-06-01"}], language="zh-hans")
    other = testing.make_contact(owner=admin, first_name="Ada", last_name="Lovelace", emails=["ada@example.com"])
    contact_services.add_preference(actor=seller, contact=contact, text="Prefers WeChat over email")
    ExchangeRate.objects.create(currency="EUR", rate=Decimal("1.08123456"), valid_from=dt.date(2026, 1, 1))
    pipeline = Pipeline.objects.get(is_default=True)
    deal = sales_services.create_deal(actor=seller, data={
        "name": "年度合同", "pipeline": pipeline, "amount": "12345.67", "currency": "EUR", "company": company,
        "contacts": [contact, other], "tags": ["q4"]})
    sales_services.set_line_items(actor=seller, deal=deal, items=[
        {"name": "Licence", "quantity": "3", "unit_price": "1999.99", "discount_percent": "12.5"}], update_amount=False)
    sales_services.move_deal(actor=seller, deal=deal, stage=pipeline.stages.order_by("position")[1])
    quote_services.create_quote(actor=seller, deal=deal, valid_until=dt.date(2026, 12, 31), terms="Net 30")
    timeline_services.add_note(actor=seller, body="Met at the trade fair 展会", contact=contact)
    timeline_services.create_task(actor=seller, title="Call back", contact=contact)
    events.emit("contact.custom", subject=contact, actor=seller, payload={"n": "1.5", "ok": True, "名": "值"})
    contact_services.create_saved_view(actor=seller, object_type="contact", name="VIP", query="tag=vip")
    return contact


def export_bytes() -> bytes:
    out = io.BytesIO()
    workspace.write_archive(out, created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    return out.getvalue()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def without_workspace_audit(text: bytes) -> list[dict]:
    return [r for r in map(json.loads, text.decode().splitlines()) if r["object_type"] != "workspace"]


def wipe() -> None:
    workspace._empty(workspace.covered_models())


def test_round_trip_loses_nothing(admin_user):
    contact = build_rich_workspace(admin_user)
    first = export_bytes()
    before = members(first)
    manifest = json.loads(before["manifest.json"])
    assert manifest["format_version"] == workspace.FORMAT_VERSION
    assert manifest["database_vendor"] == connection.vendor
    assert manifest["counts"]["contacts.contact"] == 2
    assert manifest["counts"]["sales.deallineitem"] == 1
    assert manifest["migration_heads"]["contacts"]
    assert "sessions.session" not in manifest["counts"]

    wipe()
    assert not Contact.objects.exists() and not User.objects.exists()
    counts = workspace.import_archive(io.BytesIO(first))
    assert counts == manifest["counts"]

    after = members(export_bytes())
    assert set(after) == set(before)
    for name in before:
        if name == "manifest.json":
            continue
        if name == "core.auditentry.jsonl":  # plus the import's own entry
            assert without_workspace_audit(after[name]) == without_workspace_audit(before[name])
            continue
        assert after[name] == before[name], name
    assert json.loads(after["manifest.json"])["counts"]["contacts.contact"] == 2

    # The records are whole again, with their keys, texts, decimals, relations and search entries.
    again = Contact.objects.get(pk=contact.pk)
    assert again.display_name == contact.display_name and "小明" in again.display_name
    assert again.custom == {"tier": "gold"}
    assert sorted(again.tags.values_list("name", flat=True)) == ["=formula", "vip"]
    assert again.emails.count() == 2 and again.special_dates.get().month == 6
    deal = Deal.objects.get()
    assert deal.amount == Decimal("12345.67")
    assert deal.line_items.get().unit_price == Decimal("1999.99")
    assert ExchangeRate.objects.get(currency="EUR").rate == Decimal("1.08123456")
    from amity.core import search

    assert [obj_id for _k, obj_id, _s in search.candidates("小明", kinds=("contact",))] == [contact.pk]


def test_import_resets_sequences_so_new_records_get_new_keys(admin_user):
    first_contact = testing.make_contact(owner=admin_user)
    data = export_bytes()
    wipe()
    workspace.import_archive(io.BytesIO(data))
    admin = User.objects.get()
    assert testing.make_contact(owner=admin).pk > first_contact.pk


def test_datetimes_are_utc_iso_and_decimals_text(admin_user):
    testing.make_contact(owner=admin_user)
    ExchangeRate.objects.create(currency="CNY", rate=Decimal("0.13800000"), valid_from=dt.date(2026, 2, 1))
    files = members(export_bytes())
    contact = json.loads(files["contacts.contact.jsonl"].splitlines()[0])
    assert contact["created_at"].endswith("+00:00")
    assert isinstance(contact["lifetime_value"], str)
    rate = json.loads(files["core.exchangerate.jsonl"].splitlines()[0])
    assert rate["rate"] == "0.13800000" and rate["valid_from"] == "2026-02-01"


def test_import_refuses_a_workspace_in_use(admin_user):
    testing.make_contact(owner=admin_user)
    data = export_bytes()
    with pytest.raises(ValidationError) as exc:
        workspace.import_archive(io.BytesIO(data))
    assert "already holds users or contacts" in exc.value.message_dict["file"][0]
    assert Contact.objects.count() == 1


def test_import_with_force_replaces_everything(admin_user):
    testing.make_contact(owner=admin_user, first_name="Kept")
    data = export_bytes()
    testing.make_contact(owner=admin_user, first_name="Later")
    workspace.import_archive(io.BytesIO(data), force=True)
    assert list(Contact.objects.values_list("first_name", flat=True)) == ["Kept"]


def _rewrite(data: bytes, change) -> bytes:
    files = members(data)
    manifest = json.loads(files["manifest.json"])
    change(manifest, files)
    files["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return out.getvalue()


@pytest.mark.parametrize("change,reason", [
    (lambda m, f: m.update(format_version=99), "format version 99"),
    (lambda m, f: m["migration_heads"].update(contacts=["9999_future"]), "different migrations"),
    (lambda m, f: f.update({"contacts.contact.jsonl": b"{not json\n"}), "contacts.contact.jsonl line 1"),
    (lambda m, f: m["counts"].update({"contacts.contact": 5}), "incomplete"),
], ids=["version", "migrations", "bad-line", "missing-rows"])
def test_bad_archives_are_refused_and_nothing_changes(admin_user, change, reason):
    testing.make_contact(owner=admin_user)
    data = _rewrite(export_bytes(), change)
    wipe()
    with pytest.raises(ValidationError) as exc:
        workspace.import_archive(io.BytesIO(data))
    assert reason in exc.value.message_dict["file"][0]
    assert not Contact.objects.exists()


def test_not_a_zip_is_refused():
    with pytest.raises(ValidationError) as exc:
        workspace.import_archive(io.BytesIO(b"hello"))
    assert "not a .zip" in exc.value.message_dict["file"][0]


def test_commands_round_trip(admin_user, tmp_path):
    testing.make_contact(owner=admin_user, first_name="CLI")
    target = tmp_path / "ws.zip"
    out = io.StringIO()
    call_command("export_workspace", str(target), stdout=out)
    assert "Exported" in out.getvalue() and target.exists()
    with pytest.raises(CommandError, match="exists"):
        call_command("export_workspace", str(target))
    with pytest.raises(CommandError, match="already holds users or contacts"):
        call_command("import_workspace", str(target))
    wipe()
    out = io.StringIO()
    call_command("import_workspace", str(target), stdout=out)
    assert "Imported" in out.getvalue()
    assert Contact.objects.get().first_name == "CLI"


def test_export_and_import_are_audited(admin_user):
    testing.make_contact(owner=admin_user)
    out = io.BytesIO()
    workspace.write_archive(out, actor=admin_user)
    entry = AuditEntry.objects.get(object_type="workspace", action="export")
    assert entry.actor == admin_user and entry.changes["records"] > 0
    wipe()
    workspace.import_archive(io.BytesIO(out.getvalue()))
    imported = AuditEntry.objects.get(object_type="workspace", action="create")
    assert imported.changes["import"]["from"] == connection.vendor


# --- the page -------------------------------------------------------------------------------------------------------

def test_admin_page_and_download(admin_client, admin_user):
    testing.make_contact(owner=admin_user, first_name="Zip")
    page = admin_client.get(reverse("exports:workspace"))
    assert page.status_code == 200
    assert "Download a full export" in page.content.decode()
    response = admin_client.post(reverse("exports:workspace"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="amity-workspace-')
    files = members(b"".join(response.streaming_content))
    assert json.loads(files["manifest.json"])["counts"]["contacts.contact"] == 1
    assert AuditEntry.objects.filter(object_type="workspace", actor=admin_user).exists()


def test_page_is_for_admins_only(sales_client, team):
    assert sales_client.get(reverse("exports:workspace")).status_code == 403
    assert sales_client.post(reverse("exports:workspace")).status_code == 403
    assert not AuditEntry.objects.filter(object_type="workspace").exists()
    assert Client().get(reverse("exports:workspace")).status_code == 302
