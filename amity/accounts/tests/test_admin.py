"""User, team and role administration: admins only, audited, invitations by email."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from amity import testing
from amity.accounts.models import Role, Team, User
from amity.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def _role_post(key: str, **overrides) -> dict[str, str]:
    role = Role.objects.get(key=key)
    data = {"role": key, f"{key}-visibility": role.visibility}
    for flag in ["can_edit", "can_delete", "can_export", "is_admin"]:
        if overrides.get(flag, getattr(role, flag)):
            data[f"{key}-{flag}"] = "on"
    if "visibility" in overrides:
        data[f"{key}-visibility"] = overrides["visibility"]
    return data


# --- who may do what ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["sales", "manager", "readonly", "support", "marketing"])
@pytest.mark.parametrize("name", ["accounts:admin_users", "accounts:teams", "accounts:roles"])
def test_non_admins_get_403_on_admin_pages(role: str, name: str) -> None:
    client = Client()
    client.force_login(testing.make_user(role))
    assert client.get(reverse(name)).status_code == 403


def test_non_admin_posts_are_refused_and_change_nothing(sales_client: Client, sales_user, admin_user) -> None:
    sales_role_before = Role.objects.values().get(key="sales")
    audit_before = AuditEntry.objects.count()

    responses = [
        sales_client.post(reverse("accounts:roles"), _role_post("sales", can_delete=True, is_admin=True,
                                                                visibility="all")),
        sales_client.post(reverse("accounts:teams"), {"name": "Sneaky"}),
        sales_client.post(reverse("accounts:admin_users"), {"email": "new@example.com", "full_name": "New",
                                                            "role": Role.objects.get(key="admin").pk}),
        sales_client.post(reverse("accounts:admin_user_edit", args=[sales_user.uuid]),
                          {"role": Role.objects.get(key="admin").pk, "is_active": "on"}),
        sales_client.post(reverse("accounts:admin_user_edit", args=[admin_user.uuid]),
                          {"role": Role.objects.get(key="readonly").pk}),
    ]
    assert [r.status_code for r in responses] == [403] * 5
    assert Role.objects.values().get(key="sales") == sales_role_before
    assert not Team.objects.filter(name="Sneaky").exists()
    assert not User.objects.filter(email="new@example.com").exists()
    sales_user.refresh_from_db()
    admin_user.refresh_from_db()
    assert sales_user.role.key == "sales"
    assert admin_user.role.key == "admin"
    assert AuditEntry.objects.count() == audit_before


# --- users -------------------------------------------------------------------------------------------------

def test_users_list_shows_people_and_their_access(admin_client: Client, sales_user) -> None:
    html = admin_client.get(reverse("accounts:admin_users")).content.decode()
    assert "Sam Sales" in html and "sam@example.com" in html and "North" in html and "Sales" in html
    assert "never" in html  # Sam has not logged in yet


def test_users_list_query_count_does_not_grow(admin_client: Client, team, django_assert_max_num_queries):
    testing.make_user("sales", team=team)
    with django_assert_max_num_queries(20) as few:
        admin_client.get(reverse("accounts:admin_users"))
    for _ in range(10):
        testing.make_user("support", team=testing.make_team())
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(reverse("accounts:admin_users"))


def test_admin_changes_a_users_role_and_it_is_audited(admin_client: Client, admin_user, sales_user, other_team):
    url = reverse("accounts:admin_user_edit", args=[sales_user.uuid])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"role": Role.objects.get(key="manager").pk, "team": other_team.pk,
                                       "is_active": "on"})
    assert response.status_code == 302
    sales_user.refresh_from_db()
    assert sales_user.role.key == "manager"
    assert sales_user.team == other_team
    entry = AuditEntry.objects.get(action="permission", object_type="user", object_id=sales_user.pk)
    assert entry.actor == admin_user
    assert entry.changes == {"role": ["sales", "manager"], "team": ["North", "South"]}


def test_admin_deactivates_a_user(admin_client: Client, sales_user) -> None:
    admin_client.post(reverse("accounts:admin_user_edit", args=[sales_user.uuid]),
                      {"role": sales_user.role.pk, "team": sales_user.team.pk})
    sales_user.refresh_from_db()
    assert sales_user.is_active is False


def test_admin_cannot_deactivate_themselves(admin_client: Client, admin_user) -> None:
    response = admin_client.post(reverse("accounts:admin_user_edit", args=[admin_user.uuid]),
                                 {"role": admin_user.role.pk})
    assert response.status_code == 200
    assert response.context["form"].errors["is_active"] == ["You cannot deactivate yourself."]
    admin_user.refresh_from_db()
    assert admin_user.is_active is True


def test_unknown_user_is_404(admin_client: Client) -> None:
    url = reverse("accounts:admin_user_edit", args=["00000000-0000-0000-0000-000000000000"])
    assert admin_client.get(url).status_code == 404


def test_invite_creates_user_and_emails_a_working_set_password_link(admin_client: Client, smtp_server, team):
    response = admin_client.post(reverse("accounts:admin_users"), {
        "email": "New.Person@Example.com", "full_name": "New Person",
        "role": Role.objects.get(key="support").pk, "team": team.pk,
    })
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert user.full_name == "New Person" and user.role.key == "support" and user.team == team
    assert not user.has_usable_password()
    assert AuditEntry.objects.filter(action="create", object_type="user", object_id=user.pk).exists()

    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "new.person@example.com"
    assert message["Subject"] == "You've been invited to Amity"
    body = message.get_payload(decode=True).decode()
    assert "Ada Admin added you to Amity" in body
    link = re.search(r"https?://[^/\s]+(/reset/\S+/)", body).group(1)

    client = Client()
    page = client.get(link, follow=True)
    assert page.context["validlink"] is True
    password = "my own chosen passphrase"
    client.post(page.redirect_chain[-1][0], {"new_password1": password, "new_password2": password})
    assert Client().login(username="new.person@example.com", password=password)


@pytest.mark.parametrize("data,field,reason", [
    ({"email": "not an email", "full_name": "X"}, "email",
     "“not an email” is not a valid email address: An email address must have an @-sign."),
    ({"email": "sam@example.com", "full_name": "Dup"}, "email", "A user with this email already exists."),
    ({"email": "someone@example.com", "full_name": ""}, "full_name", "This field is required."),
], ids=["invalid-email", "duplicate-email", "empty-name"])
def test_invite_with_bad_input_names_field_and_reason(admin_client: Client, smtp_server, sales_user,
                                                      data, field, reason) -> None:
    users_before = User.objects.count()
    response = admin_client.post(reverse("accounts:admin_users"), {**data, "role": Role.objects.get(key="sales").pk})
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [reason]
    assert User.objects.count() == users_before
    assert smtp_server.messages == []


def test_invite_reports_a_mail_failure_but_keeps_the_user(admin_client: Client, settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens on the discard port
    settings.EMAIL_TIMEOUT = 2
    response = admin_client.post(reverse("accounts:admin_users"), {
        "email": "lost@example.com", "full_name": "Lost Mail", "role": Role.objects.get(key="sales").pk},
        follow=True)
    assert "could not be sent" in response.content.decode()
    assert User.objects.filter(email="lost@example.com").exists()


# --- teams -------------------------------------------------------------------------------------------------

def test_admin_creates_a_team(admin_client: Client, sales_user) -> None:
    response = admin_client.post(reverse("accounts:teams"), {"name": "  East   Coast "}, follow=True)
    assert Team.objects.filter(name="East Coast").exists()
    html = response.content.decode()
    assert "East Coast" in html
    assert "North" in html


@pytest.mark.parametrize("name,reason", [
    ("", "A team needs a name."),
    ("north", "A team with this name already exists."),
], ids=["empty", "duplicate"])
def test_team_bad_input(admin_client: Client, team, name: str, reason: str) -> None:
    response = admin_client.post(reverse("accounts:teams"), {"name": name})
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == [reason]
    assert Team.objects.count() == 1


# --- roles -------------------------------------------------------------------------------------------------

def test_roles_page_lists_the_six_roles_with_help(admin_client: Client) -> None:
    html = admin_client.get(reverse("accounts:roles")).content.decode()
    for name in ["Admin", "Manager", "Sales", "Marketing", "Support", "Read-only"]:
        assert f'<th scope="row">{name}</th>' in html
    assert "What each column means" in html


def test_admin_edits_a_role_and_it_is_audited(admin_client: Client, admin_user) -> None:
    response = admin_client.post(reverse("accounts:roles"),
                                 _role_post("sales", visibility="own", can_export=True))
    assert response.status_code == 302
    role = Role.objects.get(key="sales")
    assert role.visibility == "own" and role.can_export is True and role.can_edit is True
    entry = AuditEntry.objects.get(action="permission", object_type="role", object_id=role.pk)
    assert entry.actor == admin_user
    assert entry.changes == {"visibility": ["team", "own"], "can_export": [False, True]}


def test_admin_role_must_keep_admin_rights(admin_client: Client) -> None:
    response = admin_client.post(reverse("accounts:roles"), _role_post("admin", is_admin=False))
    assert response.status_code == 200
    assert "The Admin role must keep admin rights." in response.content.decode()
    assert Role.objects.get(key="admin").is_admin is True


def test_unknown_role_is_404(admin_client: Client) -> None:
    assert admin_client.post(reverse("accounts:roles"), {"role": "wizard"}).status_code == 404
