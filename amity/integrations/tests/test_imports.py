"""The import engine: row rules, matching, normalisation, custom fields, bad input, undo."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from amity.contacts.models import Company, Contact, ContactEmail
from amity.core.models import AuditEntry, CustomFieldDefinition, Event, SearchDocument
from amity.integrations import imports
from amity.integrations.import_selectors import rejected_rows_csv_lines
from amity.integrations.models import ImportChange, ImportJob, ImportRowError
from amity.testing import make_contact, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path  # uploaded files go to <VAR_DIR>/imports/


def csv_file(text: str, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO(text.encode(encoding))


def start_job(user: Any, text: str, object_type: str = "contact", name: str = "people.csv",
              **kwargs: Any) -> ImportJob:
    return imports.create_job(actor=user, fileobj=csv_file(text), name=name, object_type=object_type, **kwargs)


def import_all(user: Any, text: str, mapping: dict[str, str] | None = None, match_on: str = "",
               on_match: str = "update", object_type: str = "contact") -> ImportJob:
    job = start_job(user, text, object_type=object_type)
    imports.set_mapping(actor=user, job=job, mapping=mapping if mapping is not None else job.mapping,
                        match_on=match_on, on_match=on_match)
    return imports.start(actor=user, job=job)  # the test settings' task backend runs the task at once


def test_upload_detects_headers_and_suggests_mapping(admin_user):
    job = start_job(admin_user, "First name,Last name,E-mail,Mobile\nAda,Lovelace,ada@example.com,+44 20 7946 0018\n")
    assert job.headers == ["First name", "Last name", "E-mail", "Mobile"]
    assert job.sample == [["Ada", "Lovelace", "ada@example.com", "+44 20 7946 0018"]]
    assert job.mapping == {"0": "first_name", "1": "last_name", "2": "email", "3": "phone"}
    assert job.format == "csv" and job.delimiter == ","


def test_chinese_headers_are_suggested(admin_user):
    job = start_job(admin_user, "姓名,邮箱,手机\n王小明,xm@example.cn,13800138000\n")
    assert job.mapping == {"0": "full_name", "1": "email", "2": "phone"}


def test_fifty_rows_with_three_broken_land_47_and_report_3(admin_user):
    lines = ["first_name,last_name,email,phone"]
    for i in range(50):
        email = f"person{i}@example.com"
        phone = f"+1 202 555 01{i:02d}"
        if i == 10:
            email = "not-an-email"
        if i == 20:
            phone = "12"
        if i == 30:
            email = ""
            lines.append(",,,")  # a blank line is not a row
            lines.append(f",,{email},{phone}")
            continue
        lines.append(f"Person{i},Example,{email},{phone}")
    job = import_all(admin_user, "\n".join(lines) + "\n")
    assert (job.status, job.total, job.created, job.errors) == ("done", 50, 47, 3)
    assert Contact.objects.count() == 47
    errors = {e.row_number: e.errors for e in ImportRowError.objects.filter(job=job)}
    assert sorted(errors) == [12, 22, 33]
    assert errors[12][0]["field"] == "email" and "not a valid email" in errors[12][0]["message"]
    assert errors[22][0]["field"] == "phone" and "phone number" in errors[22][0]["message"]
    assert errors[33][0]["message"] == "Give the contact a name or an email address."
    # one audit entry per run, not per row; an event per created contact; search documents written
    assert AuditEntry.objects.filter(object_type="import").count() == 1
    assert Event.objects.filter(type="contact.created", payload__import=str(job.uuid)).count() == 47
    assert SearchDocument.objects.filter(kind="contact").count() == 47


def test_normalisation_on_write(admin_user, settings):
    settings.AMITY_DEFAULT_REGION = "DE"
    job = import_all(admin_user, "first_name,last_name,email,phone,company,country\n"
                                 "  Ada  ,  McLovelace ,  ADA@Example.COM ,0151 23456789,  Acme  Ltd ,de\n")
    assert job.created == 1
    contact = Contact.objects.get()
    assert (contact.first_name, contact.last_name, contact.email, contact.phone, contact.country) == (
        "Ada", "McLovelace", "ada@example.com", "+4915123456789", "DE")
    assert contact.company.name == "Acme Ltd"
    assert contact.owner == admin_user
    assert list(contact.emails.values_list("email", flat=True)) == ["ada@example.com"]


def test_imported_contacts_get_time_ordered_ids_that_open_their_page(admin_user, client):
    job = import_all(admin_user, "first_name,email\nAda,ada@example.com\nGrace,grace@example.com\n")
    assert job.created == 2
    ids = list(Contact.objects.values_list("uuid", flat=True))
    assert len(set(ids)) == 2 and {u.version for u in ids} == {7}
    client.force_login(admin_user)
    contact = Contact.objects.get(first_name="Ada")
    assert client.get(reverse("contacts:detail", args=[contact.uuid])).status_code == 200


def test_formula_and_script_cells_are_stored_as_literal_text(admin_user):
    job = import_all(admin_user, 'first_name,last_name,job_title\n"=HYPERLINK(""http://x"")",<script>alert(1)</script>,@SUM(A1)\n')
    contact = Contact.objects.get()
    assert contact.first_name == '=HYPERLINK("http://x")'
    assert contact.last_name == "<script>alert(1)</script>"
    assert job.created == 1


def test_dates_follow_the_workspace_day_order(admin_user, settings):
    settings.AMITY_DATE_ORDER = "DMY"
    import_all(admin_user, "first_name,birthday\nAda,03/04/1990\nBob,1991-12-25\nCy,5 May 1980\n")
    dates = {c.first_name: c.special_dates.get() for c in Contact.objects.all()}
    assert (dates["Ada"].day, dates["Ada"].month, dates["Ada"].year) == (3, 4, 1990)
    assert (dates["Bob"].day, dates["Bob"].month) == (25, 12)
    assert (dates["Cy"].day, dates["Cy"].month) == (5, 5)
    settings.AMITY_DATE_ORDER = "MDY"
    import_all(admin_user, "first_name,birthday\nDee,03/04/1990\n")
    dee = Contact.objects.get(first_name="Dee").special_dates.get()
    assert (dee.month, dee.day) == (3, 4)


def test_bad_date_is_a_row_error(admin_user):
    job = import_all(admin_user, "first_name,birthday\nAda,31/02/1990\nBob,1990-01-01\n")
    assert (job.created, job.errors) == (1, 1)
    error = ImportRowError.objects.get(job=job)
    assert error.errors[0]["field"] == "birthday"
    assert "31/02/1990" in error.errors[0]["message"]


def test_custom_fields_are_validated(admin_user):
    CustomFieldDefinition.objects.create(object_type="contact", key="tier", label="Tier", field_type="choice",
                                         choices=["gold", "silver"])
    CustomFieldDefinition.objects.create(object_type="contact", key="seats", label="Seats", field_type="number")
    job = import_all(admin_user, "first_name,Tier,Seats\nAda,gold,12\nBob,bronze,3\nCy,silver,lots\n")
    assert job.mapping == {"0": "first_name", "1": "custom.tier", "2": "custom.seats"}
    assert (job.created, job.errors) == (1, 2)
    assert Contact.objects.get().custom == {"tier": "gold", "seats": 12}
    fields = sorted(e.errors[0]["field"] for e in ImportRowError.objects.filter(job=job))
    assert fields == ["custom.seats", "custom.tier"]


@pytest.mark.parametrize("on_match,expected", [
    ("update", {"created": 1, "updated": 1, "skipped": 0}),
    ("skip", {"created": 1, "updated": 0, "skipped": 1}),
])
def test_match_by_email(admin_user, on_match, expected):
    existing = make_contact(first_name="Ada", last_name="Old", emails=["ada@example.com"], job_title="Clerk")
    job = import_all(admin_user, "first_name,last_name,email,job_title\nAda,Lovelace,ADA@example.com,Engineer\n"
                                 "Bob,New,bob@example.com,\n", match_on="email", on_match=on_match)
    assert {k: getattr(job, k) for k in expected} == expected
    existing.refresh_from_db()
    if on_match == "update":
        assert (existing.last_name, existing.job_title, existing.display_name) == ("Lovelace", "Engineer",
                                                                                  "Ada Lovelace")
        assert Event.objects.filter(type="contact.updated", contact_id=existing.pk).count() == 1
    else:
        assert existing.last_name == "Old"


def test_a_row_without_name_or_email_that_matches_nothing_is_refused(admin_user):
    make_contact(first_name="Ada", emails=["ada@example.com"])
    job = import_all(admin_user, "first_name,email,city\nAda,ada@example.com,Paris\n,,Rome\n", match_on="email")
    assert (job.updated, job.created, job.errors) == (1, 0, 1)
    assert ImportRowError.objects.get().errors[0]["message"] == "Give the contact a name or an email address."


def test_create_anyway_still_refuses_a_taken_email(admin_user):
    make_contact(first_name="Ada", emails=["ada@example.com"])
    job = import_all(admin_user, "first_name,email\nAda,ada@example.com\n", match_on="email", on_match="create")
    assert (job.created, job.errors) == (0, 1)
    assert "already belongs to another contact" in ImportRowError.objects.get().errors[0]["message"]


def test_create_anyway_without_email_creates_a_second_contact(admin_user):
    make_contact(first_name="Ada", phones=["+12025550100"])
    job = import_all(admin_user, "first_name,phone\nAda,+1 202 555 0100\n", match_on="phone", on_match="create")
    assert job.created == 1
    assert Contact.objects.filter(first_name="Ada").count() == 2


def test_match_by_phone_and_external_id(admin_user):
    by_phone = make_contact(first_name="Ada", phones=["+12025550100"])
    by_ext = make_contact(first_name="Bob")
    Contact.objects.filter(pk=by_ext.pk).update(external_id="hs-42")
    job = import_all(admin_user, "first_name,phone,city\nAda,(202) 555-0100,Paris\n", match_on="phone")
    assert job.updated == 1
    by_phone.refresh_from_db()
    assert by_phone.city == "Paris"
    job = import_all(admin_user, "Record ID,First Name,City\nhs-42,Bob,Rome\n", match_on="external_id")
    assert job.updated == 1
    by_ext.refresh_from_db()
    assert by_ext.city == "Rome"


def test_an_update_writes_custom_fields_flags_and_quoted_text(admin_user):
    CustomFieldDefinition.objects.create(object_type="contact", key="tier", label="Tier", field_type="choice",
                                         choices=["gold", "silver"])
    existing = make_contact(first_name="Ada", emails=["ada@example.com"])
    job = import_all(admin_user, 'email,Tier,do_not_contact,city\nada@example.com,gold,yes,"Say ""hi"" \\ {x,y}"\n',
                     match_on="email")
    assert job.updated == 1
    existing.refresh_from_db()
    assert (existing.custom, existing.do_not_contact, existing.city) == ({"tier": "gold"}, True, 'Say "hi" \\ {x,y}')


def test_same_email_twice_in_file(admin_user):
    job = import_all(admin_user, "first_name,email\nAda,ada@example.com\nAda2,ADA@example.com\n")
    assert (job.created, job.errors) == (1, 1)
    assert ImportRowError.objects.get().errors[0]["message"] == "The same email address is on row 2 of this file."


def test_companies_match_by_domain(admin_user):
    Company.objects.create(name="Acme", domain="acme.com")
    job = import_all(admin_user, "Company name,Website,Industry\nAcme Inc,https://www.ACME.com/about,Tools\n"
                                 "Globex,globex.com,Energy\n",
                     object_type="company", match_on="domain")
    assert (job.created, job.updated, job.errors) == (1, 1, 0)
    assert Company.objects.get(domain="acme.com").industry == "Tools"
    assert Company.objects.get(domain="globex.com").name == "Globex"


def test_two_columns_to_one_field_refused(admin_user):
    job = start_job(admin_user, "First,Given,Email\nAda,Ada,a@example.com\n")
    with pytest.raises(ValidationError) as caught:
        imports.set_mapping(actor=admin_user, job=job, mapping={"0": "first_name", "1": "first_name", "2": "email"})
    assert "First" in str(caught.value.message_dict["mapping"])


def test_match_needs_a_mapped_column(admin_user):
    job = start_job(admin_user, "First,Email\nAda,a@example.com\n")
    with pytest.raises(ValidationError) as caught:
        imports.set_mapping(actor=admin_user, job=job, mapping={"0": "first_name"}, match_on="email")
    assert caught.value.message_dict["match_on"] == ["Map a column to Email to match on it."]


@pytest.mark.parametrize("content,name,message", [
    (b"%PDF-1.4 blah", "x.pdf", "PDF"),
    (b"", "x.csv", "empty"),
    (b"a,b\n", "x.csv", "no data rows"),
    (b"\x89PNG\r\n\x1a\n....", "x.png", "image"),
], ids=["pdf", "empty", "header-only", "image"])
def test_not_a_spreadsheet(admin_user, content, name, message):
    with pytest.raises(ValidationError) as caught:
        imports.create_job(actor=admin_user, fileobj=io.BytesIO(content), name=name, object_type="contact")
    assert message in " ".join(caught.value.message_dict["file"])
    assert ImportJob.objects.count() == 0


def test_too_big_file(admin_user, monkeypatch):
    monkeypatch.setattr(imports.readers, "MAX_FILE_BYTES", 100)
    with pytest.raises(ValidationError) as caught:
        start_job(admin_user, "first_name\n" + "Ada\n" * 50)
    assert "larger than" in caught.value.message_dict["file"][0]


def test_unexpected_encoding_is_detected(admin_user):
    job = imports.create_job(actor=admin_user, fileobj=io.BytesIO("姓名,邮箱\n王小明,xm@example.cn\n".encode("gb18030")),
                             name="cn.csv", object_type="contact")
    assert job.encoding == "gb18030"
    assert job.sample == [["王小明", "xm@example.cn"]]


def test_wrong_encoding_override_is_a_clear_message(admin_user):
    with pytest.raises(ValidationError) as caught:
        imports.create_job(actor=admin_user, fileobj=io.BytesIO("名,x\n王,y\n".encode("gb18030")), name="cn.csv",
                           object_type="contact", encoding="utf-8")
    assert "not valid UTF-8" in caught.value.message_dict["file"][0]


def test_ragged_rows_are_refused_with_the_reason(admin_user):
    job = import_all(admin_user, "first_name,email\nAda,a@example.com,extra,cells\nBob,b@example.com\nCy\n")
    assert (job.created, job.errors) == (2, 1)
    assert "This row has 4 cells but the header names 2 columns" in ImportRowError.objects.get().errors[0]["message"]


def test_dry_run_writes_nothing_and_counts(admin_user):
    make_contact(first_name="Ada", emails=["ada@example.com"])
    job = start_job(admin_user, "first_name,last_name,email\nAda,Lovelace,ada@example.com\nBob,,bob@example.com\n"
                                "Cy,,bad\n")
    imports.set_mapping(actor=admin_user, job=job, mapping=job.mapping, match_on="email", on_match="update")
    summary = imports.dry_run(actor=admin_user, job=job)
    assert {k: summary[k] for k in ("total", "created", "updated", "skipped", "errors")} == {
        "total": 3, "created": 1, "updated": 1, "skipped": 0, "errors": 1}
    assert summary["error_examples"][0]["row"] == 4
    assert summary["update_examples"][0]["changes"]["last_name"] == ["Example", "Lovelace"]
    assert Contact.objects.count() == 1 and ImportRowError.objects.count() == 0


def test_undo_restores_exactly(admin_user):
    existing = make_contact(first_name="Ada", last_name="Old", emails=["ada@example.com"], job_title="Clerk",
                            tags=["vip"])
    job = import_all(admin_user, "first_name,last_name,email,phone,job_title,tags\n"
                                 "Ada,Lovelace,ada@example.com,+1 202 555 0100,Engineer,\"vip, new\"\n"
                                 "Bob,New,bob@example.com,,,\n", match_on="email")
    assert (job.created, job.updated) == (1, 1)
    assert ImportChange.objects.filter(job=job).count() == 2
    imports.request_undo(actor=admin_user, job=job)
    job.refresh_from_db()
    assert job.status == "undone"
    existing.refresh_from_db()
    assert (existing.last_name, existing.job_title, existing.display_name, existing.phone) == (
        "Old", "Clerk", "Ada Old", "")
    assert list(existing.phones.all()) == []
    assert sorted(existing.tags.values_list("name", flat=True)) == ["vip"]
    assert not Contact.objects.filter(first_name="Bob").exists()
    assert not ContactEmail.objects.filter(email="bob@example.com").exists()
    assert AuditEntry.objects.filter(object_type="import", action="delete").count() == 1
    # twice does nothing
    imports.request_undo(actor=admin_user, job=job)
    assert AuditEntry.objects.filter(object_type="import", action="delete").count() == 1


def test_undoing_an_import_waits_for_the_ingest_batches_being_written(admin_user):
    """Undo removes the contacts the import created: on PostgreSQL it first waits for the behaviour-event batches
    in flight, which point at contacts without a foreign key."""
    from django.db import OperationalError, connection

    from amity.testing import contact_removals_blocked

    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writing transaction at a time: an undo cannot overlap a batch there")
    job = import_all(admin_user, "first_name,email\nBob,bob@example.com\n", match_on="email")
    with contact_removals_blocked(), pytest.raises(OperationalError, match="lock timeout"):
        imports.request_undo(actor=admin_user, job=job)
    assert Contact.objects.filter(first_name="Bob").exists()
    imports.request_undo(actor=admin_user, job=job)
    assert not Contact.objects.filter(first_name="Bob").exists()


def test_read_only_role_cannot_import(db):
    reader = make_user("readonly")
    with pytest.raises(PermissionDenied):
        start_job(reader, "first_name\nAda\n")


def test_owner_email_column_assigns_the_owner(admin_user):
    rep = make_user("sales", email="rep@example.com")
    import_all(admin_user, "first_name,owner\nAda,REP@example.com\nBob,nobody@example.com\n")
    assert Contact.objects.get(first_name="Ada").owner == rep
    assert "No active user" in ImportRowError.objects.get().errors[0]["message"]


def test_rejected_rows_csv_is_formula_safe(admin_user):
    job = import_all(admin_user, "first_name,email\n=cmd(),bad-email\n")
    lines = list(rejected_rows_csv_lines(job))
    assert lines[0] == "\ufefffirst_name,email,Row,Reason\r\n"
    assert lines[1].startswith("'=cmd(),bad-email,2,email: ")


def test_mapping_is_remembered_per_source(admin_user):
    job = start_job(admin_user, "Col A,Col B\nAda,a@example.com\n")
    assert job.mapping == {}
    imports.set_mapping(actor=admin_user, job=job, mapping={"0": "first_name", "1": "email"})
    again = start_job(admin_user, "Col A,Col B\nBob,b@example.com\n")
    assert again.mapping == {"0": "first_name", "1": "email"}
