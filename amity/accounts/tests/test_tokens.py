"""Personal API tokens: created with a secret shown once, hashed at rest, revocable, private."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from amity import testing
from amity.accounts.models import ApiToken
from amity.accounts.services import create_api_token

pytestmark = pytest.mark.django_db


def test_token_list_is_empty_at_first(sales_client: Client) -> None:
    response = sales_client.get(reverse("accounts:tokens"))
    assert response.status_code == 200
    assert "You have no API tokens yet." in response.content.decode()


def test_creating_a_token_shows_its_secret_once_and_stores_only_a_digest(sales_client: Client, sales_user) -> None:
    response = sales_client.post(reverse("accounts:tokens"), {"name": "Zapier", "scope": "write"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.context["new_secret"]
    assert secret.startswith("amy_")
    html = response.content.decode()
    assert f'value="{secret}"' in html
    assert "This is the only time Amity shows it" in html

    token = ApiToken.objects.get(user=sales_user)
    assert token.name == "Zapier"
    assert token.scope == "write"
    assert token.digest == ApiToken.digest_of(secret) != secret
    assert secret.startswith(token.prefix)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, prefix, digest, scope FROM accounts_apitoken")
        assert all(secret not in str(value) for row in cursor.fetchall() for value in row)

    again = sales_client.get(reverse("accounts:tokens")).content.decode()
    assert secret not in again
    assert f"{token.prefix}…" in again
    assert "Zapier" in again
    assert "never" in again  # not used yet


def test_token_needs_a_name(sales_client: Client, sales_user) -> None:
    response = sales_client.post(reverse("accounts:tokens"), {"name": " ", "scope": "read"})
    assert response.status_code == 200
    assert response.context["new_secret"] is None
    assert response.context["form"].errors["name"] == [
        "Name the token after what will use it, e.g. “Zapier”."]
    assert not ApiToken.objects.filter(user=sales_user).exists()


def test_revoke_asks_then_revokes(sales_client: Client, sales_user) -> None:
    token, _ = create_api_token(user=sales_user, name="Old sync")
    url = reverse("accounts:token_revoke", args=[token.uuid])
    confirm = sales_client.get(url)
    assert confirm.status_code == 200
    assert "Revoke “Old sync”?" in confirm.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None

    response = sales_client.post(url, follow=True)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "was revoked" in response.content.decode()
    assert "Revoked" in response.content.decode()


def test_another_users_token_is_not_found(sales_client: Client, admin_user) -> None:
    token, _ = create_api_token(user=admin_user, name="Admin's")
    url = reverse("accounts:token_revoke", args=[token.uuid])
    assert sales_client.get(url).status_code == 404
    assert sales_client.post(url).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert "Admin&#x27;s" not in sales_client.get(reverse("accounts:tokens")).content.decode()


def test_admin_cannot_reach_another_users_token_either(admin_client: Client, sales_user) -> None:
    token, _ = create_api_token(user=sales_user, name="Sam's")
    assert admin_client.post(reverse("accounts:token_revoke", args=[token.uuid])).status_code == 404


def test_token_list_query_count_does_not_grow(sales_client: Client, sales_user, django_assert_max_num_queries):
    testing.make_token(sales_user)
    with django_assert_max_num_queries(12) as few:
        sales_client.get(reverse("accounts:tokens"))
    for _ in range(10):
        testing.make_token(sales_user)
    with django_assert_max_num_queries(len(few.captured_queries)):
        sales_client.get(reverse("accounts:tokens"))
