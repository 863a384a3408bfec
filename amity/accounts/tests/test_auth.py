"""Logging in by email, logging out, and resetting a forgotten password over real SMTP."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from amity import testing

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 42"


def test_login_page_labels_the_username_field_email_and_links_to_reset(client: Client) -> None:
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'type="email"' in html
    assert ">Email<" in html
    assert reverse("accounts:password_reset") in html


@pytest.mark.parametrize("typed", ["sam@example.com", "SAM@Example.COM", "  Sam@example.com "],
                         ids=["lower", "mixed-case", "padded"])
def test_login_by_email_is_case_insensitive(client: Client, sales_user, typed: str) -> None:
    response = client.post(reverse("accounts:login"), {"username": typed, "password": testing.PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("web:home")
    assert client.session["_auth_user_id"] == str(sales_user.pk)


def test_login_honours_next(client: Client, sales_user) -> None:
    response = client.post(reverse("accounts:login") + "?next=/settings/",
                           {"username": "sam@example.com", "password": testing.PASSWORD, "next": "/settings/"})
    assert response.url == "/settings/"


def test_wrong_password_says_so_and_does_not_log_in(client: Client, sales_user) -> None:
    response = client.post(reverse("accounts:login"), {"username": "sam@example.com", "password": "nope nope nope"})
    assert response.status_code == 200
    assert "That email and password don&#x27;t match an account." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_inactive_user_cannot_log_in(client: Client, sales_user) -> None:
    sales_user.is_active = False
    sales_user.save()
    response = client.post(reverse("accounts:login"), {"username": "sam@example.com", "password": testing.PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_logout_is_post_only(sales_client: Client) -> None:
    assert sales_client.get(reverse("accounts:logout")).status_code == 405
    assert "_auth_user_id" in sales_client.session
    response = sales_client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response.url == reverse("accounts:login")
    assert "_auth_user_id" not in sales_client.session


def test_settings_pages_send_anonymous_users_to_login(client: Client) -> None:
    for name in ["accounts:settings", "accounts:tokens", "accounts:admin_users", "accounts:roles", "accounts:teams"]:
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response.url.startswith(reverse("accounts:login")), name


def _link_in(message) -> str:
    body = message.get_payload(decode=True).decode()
    match = re.search(r"https?://[^/\s]+(/reset/\S+/)", body)
    assert match, body
    return match.group(1)


def test_password_reset_end_to_end_over_smtp(smtp_server, sales_user) -> None:
    client = Client()
    response = client.post(reverse("accounts:password_reset"), {"email": "SAM@example.com"})
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_done")

    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "sam@example.com"
    assert message["Subject"] == "Reset your Amity password"
    assert message.get_content_type() == "text/plain"
    link = _link_in(message)

    # Django swaps the token for a session marker and redirects to the form.
    response = client.get(link, follow=True)
    assert response.status_code == 200
    assert response.context["validlink"] is True
    form_url = response.redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_complete")

    fresh = Client()
    assert fresh.login(username="sam@example.com", password=NEW_PASSWORD)
    assert not Client().login(username="sam@example.com", password=testing.PASSWORD)

    # The link works once.
    response = Client().get(link, follow=True)
    assert response.context["validlink"] is False
    assert "This link no longer works" in response.content.decode()


def test_password_reset_for_unknown_email_looks_the_same_and_sends_nothing(smtp_server, sales_user) -> None:
    client = Client()
    known = client.post(reverse("accounts:password_reset"), {"email": "sam@example.com"}, follow=True)
    unknown = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"}, follow=True)
    assert len(smtp_server.messages) == 1
    assert known.redirect_chain == unknown.redirect_chain
    assert "If an account uses that address" in unknown.content.decode()


def test_password_reset_rejects_an_invalid_email_with_the_reason(client: Client) -> None:
    response = client.post(reverse("accounts:password_reset"), {"email": "not-an-email"})
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == ["Enter a valid email address."]
