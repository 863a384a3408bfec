"""vCard pages and API: upload → preview → import → report; permissions; problem JSON."""

from __future__ import annotations

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from amity.accounts.models import Role
from amity.contacts.models import Contact
from amity.testing import make_contact, make_team, make_token, make_user

SAMPLES = Path(__file__).parent / "samples" / "vcard"


def upload(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (SAMPLES / name).read_bytes(), content_type="text/vcard")


def test_upload_preview_import_report(admin_client):
    preview = admin_client.post(reverse("cards:import_vcard"), {"file": upload("broken-and-good.vcf")})
    assert preview.status_code == 200
    page = preview.content.decode()
    assert preview.context["preview"].cards == 6
    assert preview.context["preview"].broken == 2
    assert "First Good" in page
    assert "&lt;b&gt;Bold&lt;/b&gt;" in page and "<b>Bold</b>" not in page  # card content is text, escaped
    assert not Contact.objects.exists()  # a preview writes nothing
    key = preview.context["key"]
    report = admin_client.post(reverse("cards:import_vcard_run"), {"key": key, "on_match": "update"})
    assert report.status_code == 200
    assert (report.context["report"].created, report.context["report"].failed) == (3, 3)
    text = report.content.decode()
    assert "Give the contact a name or an email address." in text
    assert "The card has no END:VCARD line." in text
    assert "<script>alert" not in text
    # the stored upload is gone: running it again is refused with a reason
    again = admin_client.post(reverse("cards:import_vcard_run"), {"key": key})
    assert again.status_code == 400
    assert "The uploaded file has expired; upload it again." in again.content.decode()


def test_not_a_vcard_and_missing_file_are_explained(admin_client):
    response = admin_client.post(reverse("cards:import_vcard"), {"file": upload("not-a-vcard.vcf")})
    assert response.status_code == 400
    assert "This file is not a vCard" in response.content.decode()
    response = admin_client.post(reverse("cards:import_vcard"), {})
    assert response.status_code == 400
    assert "Choose a .vcf file to import." in response.content.decode()


def test_another_users_upload_key_is_not_found(admin_client, sales_client):
    preview = admin_client.post(reverse("cards:import_vcard"), {"file": upload("google-contacts.vcf")})
    response = sales_client.post(reverse("cards:import_vcard_run"), {"key": preview.context["key"]})
    assert response.status_code == 400
    assert not Contact.objects.exists()


def test_readonly_role_gets_403_on_the_import_pages(client, db):
    reader = make_user("readonly", email="reader@example.com")
    client.force_login(reader)
    assert client.get(reverse("cards:import_vcard")).status_code == 403
    assert client.post(reverse("cards:import_vcard"), {"file": upload("google-contacts.vcf")}).status_code == 403
    assert client.post(reverse("cards:import_vcard_run"), {"key": "x" * 20}).status_code == 403
    assert not Contact.objects.exists()


def test_import_page_renders(admin_client):
    response = admin_client.get(reverse("cards:import_vcard"))
    assert response.status_code == 200
    assert "20 MB" in response.content.decode()


# --- API ----------------------------------------------------------------------------------------------------------

def auth(user, scope: str = "write") -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {make_token(user, scope=scope)}"}


def test_api_import_reports_each_card(admin_user, client):
    response = client.post("/api/contacts/import/vcard", {"file": upload("broken-and-good.vcf"), "on_match": "skip"},
                           **auth(admin_user))
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["failed"], body["skipped"], body["updated"]) == (3, 3, 0, 0)
    assert body["lines"][0] == {"card": 2, "name": "Line Broken", "status": "failed", "contact": None,
                                "reasons": ["The card could not be read: line 11 is not a vCard property"]}


def test_api_import_not_a_vcard_is_problem_json(admin_user, client):
    response = client.post("/api/contacts/import/vcard", {"file": upload("not-a-vcard.vcf")}, **auth(admin_user))
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "file"


def test_api_import_needs_write_access(db, client):
    reader = make_user("readonly", email="reader@example.com")
    response = client.post("/api/contacts/import/vcard", {"file": upload("google-contacts.vcf")}, **auth(reader))
    assert response.status_code == 403
    admin = make_user("admin", email="a2@example.com")
    response = client.post("/api/contacts/import/vcard", {"file": upload("google-contacts.vcf")},
                           **auth(admin, scope="read"))
    assert response.status_code == 403
    assert not Contact.objects.exists()


def test_api_contact_vcard_and_404_for_another_team(db, client):
    Role.objects.filter(key="sales").update(can_export=True)
    team = make_team("A")
    user = make_user("sales", team=team, email="me@example.com")
    outsider = make_user("sales", team=make_team("B"), email="out@example.com")
    mine = make_contact(owner=user, first_name="Mine")
    theirs = make_contact(owner=outsider, first_name="Theirs")
    headers = auth(user, scope="read")
    response = client.get(f"/api/contacts/{mine.uuid}/vcard?version=4.0", **headers)
    assert response.status_code == 200
    assert "VERSION:4.0\r\n" in response.content.decode()
    assert client.get(f"/api/contacts/{theirs.uuid}/vcard", **headers).status_code == 404
    assert client.get(f"/api/contacts/{mine.uuid}/vcard?version=2.1", **headers).status_code == 422


def test_api_export_uses_the_list_filters(admin_user, client):
    make_contact(owner=admin_user, first_name="Cust", lifecycle_stage="customer")
    make_contact(owner=admin_user, first_name="Lead", lifecycle_stage="lead")
    response = client.get("/api/contacts/export.vcf?stage=customer", **auth(admin_user, scope="read"))
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert body.count("BEGIN:VCARD") == 1 and "FN:Cust Example" in body
    bad = client.get("/api/contacts/export.vcf?sort=nope", **auth(admin_user, scope="read"))
    assert bad.status_code == 422


def test_api_export_needs_the_export_right(sales_user, client):
    assert client.get("/api/contacts/export.vcf", **auth(sales_user, scope="read")).status_code == 403


def test_a_big_file_is_imported_by_the_worker_and_the_page_shows_the_report(admin_client, admin_user, monkeypatch):
    from amity.integrations import vcard_services

    monkeypatch.setattr(vcard_services, "SYNC_LIMIT", 1)  # the test task backend runs the task at once
    preview = admin_client.post(reverse("cards:import_vcard"), {"file": upload("google-contacts.vcf")})
    key = preview.context["key"]
    response = admin_client.post(reverse("cards:import_vcard_run"), {"key": key, "on_match": "update"})
    assert response.status_code == 302
    assert response["Location"] == reverse("cards:import_vcard_status", args=[key])
    page = admin_client.get(response["Location"])
    assert page.status_code == 200
    assert (page.context["report"].created, page.context["report"].failed) == (2, 0)
    assert Contact.objects.count() == 2
    # another user cannot look at it
    other = make_user("admin", email="other-admin@example.com")
    admin_client.force_login(other)
    assert admin_client.get(response["Location"]).status_code == 404


def test_api_big_file_answers_202_and_a_status(admin_user, client, monkeypatch):
    from amity.integrations import vcard_services

    monkeypatch.setattr(vcard_services, "SYNC_LIMIT", 1)
    headers = auth(admin_user)
    response = client.post("/api/contacts/import/vcard", {"file": upload("apple-contacts.vcf")}, **headers)
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["cards"]) == ("queued", 2)
    status = client.get(body["status_url"], **headers).json()
    assert status["status"] == "done"
    assert (status["report"]["created"], status["report"]["failed"]) == (2, 0)
    assert client.get("/api/contacts/import/vcard/unknownkey123", **headers).status_code == 404
