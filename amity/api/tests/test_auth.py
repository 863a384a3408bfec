"""Token and session authentication, token scopes and revocation."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from amity import testing
from amity.accounts.models import ApiToken
from amity.accounts.services import create_api_token, revoke_api_token
from amity.api.tests.helpers import ApiClient, is_problem
from amity.contacts.models import Contact

pytestmark = pytest.mark.django_db


def test_bearer_token_authenticates_as_its_user(admin_user, admin_api):
    response = admin_api.get("/api/users/me")
    assert response.status_code == 200
    assert response.json()["email"] == admin_user.email
    assert response.json()["role"] == "admin"


def test_token_lookup_gives_the_token_its_user_and_role_as_the_orm_would(admin_user, django_assert_num_queries):
    """The token, its user and role come from one hand-built statement: each value typed as the ORM types it."""
    import datetime as dt
    import uuid

    from amity.accounts.services import authenticate_token

    token, secret = create_api_token(user=admin_user, name="typed", scope="write")
    found = authenticate_token(secret)
    assert found.pk == token.pk and found.scope == "write" and isinstance(found.uuid, uuid.UUID)
    assert isinstance(found.created_at, dt.datetime) and found.created_at.tzinfo is not None
    assert found.last_used_at is not None  # recorded on first use
    assert found.user.pk == admin_user.pk and isinstance(found.user.uuid, uuid.UUID) and found.user.is_active is True
    assert found.user.role.key == "admin" and found.user.role.pk == admin_user.role_id
    with django_assert_num_queries(0):
        assert found.user.role.key == "admin"  # loaded with it, not fetched later


def test_missing_token_answers_401_problem():
    response = Client().get("/api/contacts")
    assert is_problem(response, 401)
    assert "Bearer" in response["WWW-Authenticate"]


def test_invalid_token_answers_401_problem(admin_user):
    response = ApiClient("amy_not-a-real-token").get("/api/contacts")
    assert is_problem(response, 401)


def test_revoked_token_answers_401(admin_user):
    token, secret = create_api_token(user=admin_user, name="zapier", scope="write")
    client = ApiClient(secret)
    assert client.get("/api/contacts").status_code == 200
    revoke_api_token(actor=admin_user, token=token)
    assert is_problem(client.get("/api/contacts"), 401)


def test_token_of_deactivated_user_answers_401(api_for):
    user = testing.make_user("sales")
    client = api_for(user)
    user.is_active = False
    user.save()
    assert is_problem(client.get("/api/contacts"), 401)


def test_last_used_at_is_recorded(admin_user, api_for):
    client = api_for(admin_user)
    token = ApiToken.objects.get(user=admin_user)
    assert token.last_used_at is None
    client.get("/api/contacts")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_read_token_reads_but_cannot_write(admin_user, api_for):
    contact = testing.make_contact(first_name="Ada")
    client = api_for(admin_user, scope="read")
    assert client.get(f"/api/contacts/{contact.uuid}").status_code == 200
    writes = [
        client.post("/api/contacts", {"first_name": "New"}),
        client.patch(f"/api/contacts/{contact.uuid}", {"first_name": "Changed"}),
        client.delete(f"/api/contacts/{contact.uuid}"),
        client.post("/api/tags", {"name": "vip"}),
        client.post("/api/notes", {"body": "hi", "contact": str(contact.uuid)}),
    ]
    for response in writes:
        assert is_problem(response, 403), response.content
        assert "read-only" in response.json()["detail"]
    contact.refresh_from_db()
    assert contact.first_name == "Ada"
    assert Contact.objects.count() == 1


def test_write_token_writes(admin_api):
    response = admin_api.post("/api/contacts", {"first_name": "New"})
    assert response.status_code == 201


def test_session_auth_reads(admin_client):
    assert admin_client.get("/api/users/me").status_code == 200


def test_session_auth_writes_need_csrf(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    body = json.dumps({"first_name": "Csrf"})
    refused = client.post("/api/contacts", body, content_type="application/json")
    assert refused.status_code == 403
    assert not Contact.objects.exists()
    client.get("/api/users/me")  # any page sets the CSRF cookie once it is used
    client.cookies["csrftoken"] = "a" * 32
    accepted = client.post("/api/contacts", body, content_type="application/json", HTTP_X_CSRFTOKEN="a" * 32)
    assert accepted.status_code == 201
