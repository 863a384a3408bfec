"""The wizard pages: the whole flow through the web UI, escaping, permissions."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from amity.contacts.models import Contact
from amity.integrations.models import ImportJob
from amity.testing import PASSWORD, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path  # uploaded files go to <VAR_DIR>/imports/

CSV = (b"First name,Last name,Email,Notes\nAda,Lovelace,ada@example.com,<script>alert(1)</script>\n"
       b"Bob,Broken,not-an-email,\n")


def login(user) -> Client:
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    return client


def upload(client: Client, content: bytes = CSV):
    return client.post("/imports/new/", {"file": SimpleUploadedFile("people.csv", content, "text/csv"),
                                         "object_type": "contact", "encoding": "", "delimiter": ""})


def test_whole_wizard(admin_client):
    response = upload(admin_client)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    page = admin_client.get(response["Location"]).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert 'name="col_0"' in page and '<option value="first_name" selected>' in page
    response = admin_client.post(f"/imports/{job.uuid}/mapping/", {
        "col_0": "first_name", "col_1": "last_name", "col_2": "email", "col_3": "", "match_on": "email",
        "on_match": "update", "action": "check"})
    assert response.status_code == 302
    page = admin_client.get(f"/imports/{job.uuid}/").content.decode()
    assert 'data-count="created">1<' in page and 'data-count="errors">1<' in page
    assert Contact.objects.count() == 0
    assert admin_client.post(f"/imports/{job.uuid}/run/").status_code == 302
    page = admin_client.get(f"/imports/{job.uuid}/").content.decode()
    assert 'data-status="done"' in page and "Download rejected rows (CSV)" in page
    assert Contact.objects.count() == 1
    progress = admin_client.get(f"/imports/{job.uuid}/progress/").content.decode()
    assert 'value="100"' in progress and "hx-trigger" not in progress
    csv_text = b"".join(admin_client.get(f"/imports/{job.uuid}/rejected.csv").streaming_content).decode()
    assert csv_text.splitlines()[1] == "Bob,Broken,not-an-email,,3,Email: “not-an-email” is not a valid email " \
                                       "address: An email address must have an @-sign."
    assert "people.csv" in admin_client.get("/imports/").content.decode()
    assert admin_client.get(f"/imports/{job.uuid}/undo/").status_code == 200
    assert admin_client.post(f"/imports/{job.uuid}/undo/").status_code == 302
    assert Contact.objects.count() == 0


def test_mapping_errors_are_shown_inline(admin_client):
    upload(admin_client)
    job = ImportJob.objects.get()
    response = admin_client.post(f"/imports/{job.uuid}/mapping/", {
        "col_0": "first_name", "col_1": "first_name", "col_2": "", "col_3": "", "match_on": "email",
        "on_match": "update", "action": "check"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "all map to First name" in page


def test_bad_file_message(admin_client):
    response = upload(admin_client, b"%PDF-1.7 not a sheet")
    assert response.status_code == 200
    assert "This is a PDF document, not a spreadsheet." in response.content.decode()


def test_other_users_import_is_404_and_read_only_is_403(team, other_team):
    owner = make_user("sales", team=team)
    client = login(owner)
    upload(client)
    job = ImportJob.objects.get()
    stranger = login(make_user("sales", team=team))
    for path in ["", "progress/", "rejected.csv", "undo/"]:
        assert stranger.get(f"/imports/{job.uuid}/{path}").status_code == 404
    for path in ["mapping/", "run/", "undo/", "read-again/"]:
        assert stranger.post(f"/imports/{job.uuid}/{path}").status_code == 404
    reader = login(make_user("readonly"))
    assert upload(reader).status_code == 403
    assert ImportJob.objects.count() == 1


def test_list_query_count_is_pinned(admin_client, django_assert_num_queries):
    upload(admin_client)
    admin_client.get("/imports/")  # the first page view of a session also touches the session
    with django_assert_num_queries(5):
        admin_client.get("/imports/")
    for _ in range(3):
        upload(admin_client)
    with django_assert_num_queries(5):
        admin_client.get("/imports/")
