"""Imports over the API: the whole flow, errors as problem JSON, permissions and pinned query counts."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from amity.contacts.models import Contact
from amity.integrations.models import ImportJob
from amity.testing import make_token, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path  # uploaded files go to <VAR_DIR>/imports/

CSV = b"First name,Last name,Email\nAda,Lovelace,ada@example.com\nBob,Broken,not-an-email\n<b>Cy</b>,,cy@example.com\n"


def bearer(user) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {make_token(user)}"}


def upload(client: Client, headers: dict[str, str], content: bytes = CSV, object_type: str = "contact"):
    return client.post("/api/imports", {"file": SimpleUploadedFile("people.csv", content, "text/csv"),
                                        "object_type": object_type}, **headers)


def test_whole_flow(admin_user, client):
    auth = bearer(admin_user)
    response = upload(client, auth)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["headers"] == ["First name", "Last name", "Email"]
    assert body["sample"][2] == ["<b>Cy</b>", "", "cy@example.com"]
    assert body["mapping"] == {"0": "first_name", "1": "last_name", "2": "email"}
    assert any(f["key"] == "email" for f in body["fields"])
    job_id = body["id"]
    response = client.put(f"/api/imports/{job_id}/mapping", {"mapping": {"First name": "first_name", "1": "last_name",
                                                                         "2": "email"}, "match_on": "email"},
                          content_type="application/json", **auth)
    assert response.status_code == 200, response.content
    response = client.post(f"/api/imports/{job_id}/dry-run", **auth)
    assert response.status_code == 200
    assert {k: response.json()["dry_run"][k] for k in ("created", "errors")} == {"created": 2, "errors": 1}
    assert Contact.objects.count() == 0
    response = client.post(f"/api/imports/{job_id}/run", **auth)
    assert response.status_code == 202
    body = client.get(f"/api/imports/{job_id}", **auth).json()
    assert (body["status"], body["progress"], body["created"], body["errors"]) == ("done", 100, 2, 1)
    errors = client.get(f"/api/imports/{job_id}/errors", **auth).json()
    assert errors["items"][0]["row"] == 3 and errors["items"][0]["errors"][0]["field"] == "email"
    csv_body = b"".join(client.get(f"/api/imports/{job_id}/errors.csv", **auth).streaming_content).decode()
    assert csv_body.splitlines()[1].startswith("Bob,Broken,not-an-email,3,Email:")
    listing = client.get("/api/imports", **auth).json()
    assert [i["id"] for i in listing["items"]] == [job_id]
    response = client.post(f"/api/imports/{job_id}/undo", **auth)
    assert response.status_code == 200 and response.json()["status"] == "undone"
    assert Contact.objects.count() == 0


def test_bad_input_is_problem_json(admin_user, client):
    auth = bearer(admin_user)
    response = upload(client, auth, content=b"%PDF-1.5 ...")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "file"
    response = upload(client, auth, object_type="spaceship")
    assert response.json()["errors"][0]["field"] == "object_type"
    job_id = upload(client, auth).json()["id"]
    response = client.put(f"/api/imports/{job_id}/mapping", {"mapping": {"0": "first_name", "1": "first_name"}},
                          content_type="application/json", **auth)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "mapping"
    response = client.post(f"/api/imports/{job_id}/undo", **auth)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "status"


def test_another_users_import_is_404(admin_user, client, team, other_team):
    owner = make_user("sales", team=team)
    stranger = make_user("sales", team=other_team)
    job_id = upload(client, bearer(owner)).json()["id"]
    auth = bearer(stranger)
    for method, path in [("get", ""), ("get", "/errors"), ("get", "/errors.csv"), ("put", "/mapping"),
                         ("post", "/dry-run"), ("post", "/run"), ("post", "/undo")]:
        data = {"mapping": {"0": "first_name"}} if method == "put" else None
        response = getattr(client, method)(f"/api/imports/{job_id}{path}", data, content_type="application/json",
                                           **auth)
        assert response.status_code == 404, (method, path)
    assert client.get("/api/imports", **auth).json()["items"] == []
    # admins see everyone's imports
    assert client.get(f"/api/imports/{job_id}", **bearer(admin_user)).status_code == 200


def test_read_only_role_is_403(client):
    reader = make_user("readonly")
    response = upload(client, bearer(reader))
    assert response.status_code == 403
    assert ImportJob.objects.count() == 0


def test_list_query_count_is_pinned(admin_user, client, django_assert_num_queries):
    auth = bearer(admin_user)
    for _ in range(3):
        upload(client, auth)
    with django_assert_num_queries(3):  # the token, the page, the count
        assert len(client.get("/api/imports", **auth).json()["items"]) == 3
    for _ in range(3):
        upload(client, auth)
    with django_assert_num_queries(3):
        assert len(client.get("/api/imports", **auth).json()["items"]) == 6
