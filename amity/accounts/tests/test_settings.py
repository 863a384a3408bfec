"""The user's own settings: profile, language, time zone, theme and password."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from amity import testing

pytestmark = pytest.mark.django_db


def _profile(**overrides: str) -> dict[str, str]:
    return {"full_name": "Sam Sales", "time_zone": "UTC", "language": "en", "theme": "system", **overrides}


def test_settings_page_shows_profile_and_tabs(sales_client: Client) -> None:
    response = sales_client.get(reverse("accounts:settings"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="Sam Sales"' in html
    assert reverse("accounts:tokens") in html
    # Admin tabs are only for admins.
    assert reverse("accounts:roles") not in html


def test_admin_sees_admin_tabs(admin_client: Client) -> None:
    html = admin_client.get(reverse("accounts:settings")).content.decode()
    for name in ["accounts:admin_users", "accounts:teams", "accounts:roles"]:
        assert reverse(name) in html


def test_time_zone_select_lists_common_zones_first(sales_client: Client) -> None:
    html = sales_client.get(reverse("accounts:settings")).content.decode()
    assert html.index('value="Asia/Shanghai"') < html.index('value="Africa/Abidjan"')


def test_saving_the_profile_updates_the_user(sales_client: Client, sales_user) -> None:
    response = sales_client.post(reverse("accounts:settings"),
                                 _profile(full_name="  Samantha   Sales ", time_zone="Asia/Shanghai"))
    assert response.status_code == 302
    sales_user.refresh_from_db()
    assert sales_user.full_name == "Samantha Sales"
    assert sales_user.time_zone == "Asia/Shanghai"


def test_language_switch_applies_on_the_next_request(sales_client: Client, sales_user) -> None:
    before = sales_client.get(reverse("accounts:settings"))
    assert '<html lang="en"' in before.content.decode()

    response = sales_client.post(reverse("accounts:settings"), _profile(language="zh-hans"), follow=True)
    assert response.status_code == 200
    sales_user.refresh_from_db()
    assert sales_user.language == "zh-hans"
    assert '<html lang="zh-hans"' in response.content.decode()
    assert response["Content-Language"] == "zh-hans"
    # The language is named in itself so it can always be found again.
    assert "简体中文" in response.content.decode()

    back = sales_client.post(reverse("accounts:settings"), _profile(language="en"), follow=True)
    assert '<html lang="en"' in back.content.decode()
    assert back["Content-Language"] == "en"


def test_theme_is_saved_and_rendered(sales_client: Client, sales_user) -> None:
    response = sales_client.post(reverse("accounts:settings"), _profile(theme="dark"), follow=True)
    sales_user.refresh_from_db()
    assert sales_user.theme == "dark"
    assert 'data-theme="dark"' in response.content.decode()


@pytest.mark.parametrize("body,content_type", [
    ({"theme": "light"}, None),
    (json.dumps({"theme": "light"}), "application/json"),
], ids=["form", "json"])
def test_set_theme_endpoint_returns_204(sales_client: Client, sales_user, body, content_type) -> None:
    kwargs = {"content_type": content_type} if content_type else {}
    response = sales_client.post(reverse("accounts:set_theme"), body, **kwargs)
    assert response.status_code == 204
    sales_user.refresh_from_db()
    assert sales_user.theme == "light"


def test_set_theme_rejects_unknown_theme_and_get(sales_client: Client, sales_user) -> None:
    assert sales_client.post(reverse("accounts:set_theme"), {"theme": "neon"}).status_code == 400
    assert sales_client.get(reverse("accounts:set_theme")).status_code == 405
    sales_user.refresh_from_db()
    assert sales_user.theme == "system"


@pytest.mark.parametrize("overrides,field,reason", [
    ({"full_name": "   "}, "full_name", "Your name cannot be empty."),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "“Mars/Olympus_Mons” is not a time zone."),
    ({"language": "xx"}, "language", "Select a valid choice. xx is not one of the available choices."),
    ({"theme": "neon"}, "theme", "Select a valid choice. neon is not one of the available choices."),
], ids=["empty-name", "unknown-time-zone", "unknown-language", "unknown-theme"])
def test_bad_profile_input_names_field_and_reason_and_saves_nothing(sales_client: Client, sales_user,
                                                                    overrides, field, reason) -> None:
    response = sales_client.post(reverse("accounts:settings"), {**_profile(full_name="Changed"), **overrides})
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [reason]
    assert escape(reason) in response.content.decode()
    sales_user.refresh_from_db()
    assert sales_user.full_name == "Sam Sales"


def test_script_in_name_is_shown_as_text(sales_client: Client) -> None:
    response = sales_client.post(reverse("accounts:settings"), _profile(full_name="<script>alert(1)</script>"),
                                 follow=True)
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_change_password(sales_client: Client) -> None:
    new = "another long passphrase 7"
    response = sales_client.post(reverse("accounts:password_change"), {
        "old_password": testing.PASSWORD, "new_password1": new, "new_password2": new})
    assert response.status_code == 302
    assert response.url == reverse("accounts:settings")
    # Still logged in (the session hash was updated), and the new password works.
    assert sales_client.get(reverse("accounts:settings")).status_code == 200
    assert Client().login(username="sam@example.com", password=new)


def test_change_password_with_wrong_old_password_names_the_field(sales_client: Client) -> None:
    response = sales_client.post(reverse("accounts:password_change"), {
        "old_password": "wrong", "new_password1": "x" * 12, "new_password2": "x" * 12})
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
