"""The web app's own pages: home, palette and search, notifications, audit log, health check, error pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from amity.accounts.models import Notification
from amity.contacts.services import update_contact
from amity.testing import make_company, make_contact, make_user
from amity.timeline.services import add_note, create_task

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- home ----------------------------------------------------------------------------------------------------

def test_home_needs_login(client):
    response = client.get(reverse("web:home"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_home_shows_counts_dates_tasks_and_activity(admin_client, admin_user):
    today = timezone.localdate()
    ada = make_contact(owner=admin_user, first_name="Ada", last_name="Lovelace", lifecycle_stage="customer",
                       birthday=f"1990-{today.month:02d}-{today.day:02d}" if (today.month, today.day) != (2, 29)
                       else "1992-02-29")
    make_company(name="Analytical Engines")
    create_task(actor=admin_user, title="Call Ada back", contact=ada,
                due_at=timezone.now() - dt.timedelta(hours=3))
    add_note(actor=admin_user, body="Prefers email", contact=ada)

    response = admin_client.get(reverse("web:home"))

    assert response.status_code == 200
    counts = response.context["counts"]
    assert (str(counts["contacts"]), str(counts["customers"]), str(counts["companies"])) == ("1", "1", "1")
    assert [d.contact.pk for d in response.context["dates"]] == [ada.pk]
    assert response.context["dates"][0].in_days == 0
    assert [t.title for t in response.context["overdue_tasks"]] == ["Call Ada back"]
    assert [e.type for e in response.context["activity"]][:2] == ["note.created", "task.created"]
    body = response.content.decode()
    assert "Ada Lovelace" in body and "added a note" in body


def test_home_counts_show_cap(admin_client, monkeypatch):
    from amity.web import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    for _ in range(3):
        make_contact()
    response = admin_client.get(reverse("web:home"))
    assert str(response.context["counts"]["contacts"]) == "2+"


def test_home_is_permission_scoped(sales_client, sales_user, other_team):
    rival = make_user("sales", team=other_team)
    mine = make_contact(owner=sales_user, first_name="Mine")
    hidden = make_contact(owner=rival, first_name="Hidden", lifecycle_stage="customer")
    today = timezone.localdate()
    if (today.month, today.day) != (2, 29):
        update_contact(actor=None, contact=hidden, data={"birthday": f"1980-{today.month:02d}-{today.day:02d}"})
    add_note(actor=rival, body="secret plans", contact=hidden)

    response = sales_client.get(reverse("web:home"))

    assert str(response.context["counts"]["contacts"]) == "1"
    assert str(response.context["counts"]["customers"]) == "0"
    assert response.context["dates"] == []
    assert {e.contact.pk for e in response.context["activity"]} == {mine.pk}
    assert "Hidden" not in response.content.decode()


@pytest.mark.parametrize("role", ["admin", "sales"])
def test_home_query_count_does_not_grow_with_data(role, team, django_assert_max_num_queries):
    user = make_user(role, team=team)
    client = client_for(user)
    today = timezone.localdate()

    def add_rows(n):
        for i in range(n):
            c = make_contact(owner=user, special_dates=[{"kind": "anniversary",
                                                         "date": f"2000-{today.month:02d}-{min(today.day, 28):02d}"}])
            add_note(actor=user, body=f"note {i}", contact=c)
            create_task(actor=user, title=f"task {i}", contact=c, due_at=timezone.now() - dt.timedelta(hours=1))

    add_rows(2)
    client.get(reverse("web:home"))  # warm caches (content types, roles)
    with django_assert_max_num_queries(16) as few:
        assert client.get(reverse("web:home")).status_code == 200
    add_rows(8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse("web:home")).status_code == 200


# --- palette and search ----------------------------------------------------------------------------------------

def test_palette_finds_contacts_and_companies(admin_client):
    make_contact(first_name="Grace", last_name="Hopper", emails=["grace@navy.example"])
    make_company(name="Grace Shipping", domain="grace.example")

    response = admin_client.get(reverse("web:palette"), {"q": "grace"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Grace Hopper" in html and "grace@navy.example" in html
    assert "Grace Shipping" in html and "grace.example" in html
    assert "<html" not in html  # a fragment, not a page
    assert html.count("data-palette-item") == 2


def test_palette_hides_other_teams_contacts_even_by_exact_name(sales_client, sales_user, other_team):
    rival = make_user("sales", team=other_team)
    make_contact(owner=sales_user, first_name="Zed", last_name="Ours")
    make_contact(owner=rival, first_name="Zed", last_name="Theirs", emails=["zed@theirs.example"])

    ours = sales_client.get(reverse("web:palette"), {"q": "Zed"}).content.decode()
    exact = sales_client.get(reverse("web:palette"), {"q": "Zed Theirs"}).content.decode()
    by_email = sales_client.get(reverse("web:palette"), {"q": "zed@theirs.example"}).content.decode()

    assert "Zed Ours" in ours and "Theirs" not in ours
    assert exact.count("data-palette-item") == 0 and "zed@theirs.example" not in exact
    assert by_email.count("data-palette-item") == 0 and "Nothing found" in by_email


def test_palette_escapes_script_in_names(admin_client):
    make_contact(first_name="<script>alert(1)</script>", last_name="Evil")

    html = admin_client.get(reverse("web:palette"), {"q": "script alert"}).content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_palette_empty_query_and_login(admin_client, client):
    assert admin_client.get(reverse("web:palette"), {"q": ""}).status_code == 200
    assert client.get(reverse("web:palette"), {"q": "x"}).status_code == 302


def test_search_page_lists_results(admin_client):
    contact = make_contact(first_name="Katherine", last_name="Johnson")
    response = admin_client.get(reverse("web:search"), {"q": "katherine"})
    assert response.status_code == 200
    assert [c.pk for c in response.context["contacts"]] == [contact.pk]
    assert f"/contacts/{contact.uuid}/" in response.content.decode()


def test_search_page_is_permission_scoped(sales_client, other_team):
    rival = make_user("sales", team=other_team)
    hidden = make_contact(owner=rival, first_name="Secretive", last_name="Person")
    response = sales_client.get(reverse("web:search"), {"q": "Secretive Person"})
    assert response.context["contacts"] == []
    assert str(hidden.uuid) not in response.content.decode()


# --- notifications ------------------------------------------------------------------------------------------

def test_notifications_list_highlights_unread(sales_client, sales_user, admin_user):
    Notification.objects.create(user=sales_user, actor=admin_user, kind="mention", text="Ada mentioned you",
                                url="/contacts/abc/")
    Notification.objects.create(user=sales_user, kind="assignment", text="Old news", read_at=timezone.now())
    Notification.objects.create(user=admin_user, kind="mention", text="Not for Sam")

    html = sales_client.get(reverse("web:notifications")).content.decode()

    assert 'class="is-unread"' in html
    assert html.count('class="is-unread"') == 1
    assert 'href="/contacts/abc/"' in html
    assert "Old news" in html and "Not for Sam" not in html


def test_notifications_never_link_off_site(sales_client, sales_user):
    Notification.objects.create(user=sales_user, kind="mention", text="Phish", url="//evil.example/")
    html = sales_client.get(reverse("web:notifications")).content.decode()
    assert "evil.example" not in html


def test_mark_one_and_all_read(sales_client, sales_user, admin_user):
    first = Notification.objects.create(user=sales_user, kind="mention", text="one")
    second = Notification.objects.create(user=sales_user, kind="mention", text="two")
    others = Notification.objects.create(user=admin_user, kind="mention", text="admin's")

    response = sales_client.post(reverse("web:notifications_read"), {"id": first.pk})
    assert response.status_code == 302
    first.refresh_from_db(), second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None

    sales_client.post(reverse("web:notifications_read"))
    second.refresh_from_db(), others.refresh_from_db()
    assert second.read_at is not None
    assert others.read_at is None  # another user's notifications are untouched


def test_cannot_mark_someone_elses_notification(sales_client, admin_user):
    theirs = Notification.objects.create(user=admin_user, kind="mention", text="admin's")
    sales_client.post(reverse("web:notifications_read"), {"id": theirs.pk})
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_rejects_get_and_bad_id(sales_client):
    assert sales_client.get(reverse("web:notifications_read")).status_code == 405
    assert sales_client.post(reverse("web:notifications_read"), {"id": "1 OR 1=1"}).status_code == 400


def test_unread_badge_in_top_bar(sales_client, sales_user):
    Notification.objects.create(user=sales_user, kind="mention", text="hi")
    html = sales_client.get(reverse("web:notifications")).content.decode()
    assert "data-unread>1<" in html


# --- audit log ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["sales", "manager", "readonly"])
def test_audit_is_forbidden_to_non_admins(role, team):
    response = client_for(make_user(role, team=team)).get(reverse("web:audit"))
    assert response.status_code == 403


def test_audit_shows_before_and_after(admin_client, admin_user):
    contact = make_contact(owner=admin_user, first_name="Before", last_name="Name")
    update_contact(actor=admin_user, contact=contact, data={"first_name": "After"})

    response = admin_client.get(reverse("web:audit"))

    assert response.status_code == 200
    entry = response.context["page"].items[0]
    assert entry.action == "update"
    assert ("first_name", "Before", "After") in [(r.field, r.before, r.after) for r in entry.change_rows]
    html = response.content.decode()
    assert "<del>Before</del>" in html and "After" in html


def test_audit_filters_and_pages(admin_client, admin_user):
    other = make_user("admin")
    contacts = [make_contact(owner=admin_user) for _ in range(3)]
    update_contact(actor=other, contact=contacts[0], data={"job_title": "CTO"})

    by_actor = admin_client.get(reverse("web:audit"), {"actor": str(other.uuid)}).context["page"].items
    assert [(e.actor_id, e.action) for e in by_actor] == [(other.pk, "update")]

    by_object = admin_client.get(reverse("web:audit"), {"object_type": "contact", "object_id": contacts[1].pk})
    assert [e.object_id for e in by_object.context["page"].items] == [contacts[1].pk]

    creates = admin_client.get(reverse("web:audit"), {"action": "create", "object_type": "contact"})
    assert len(creates.context["page"].items) == 3

    from amity.web import selectors

    first = selectors.audit_page({"object_type": "contact"}, limit=2)
    second = selectors.audit_page({"object_type": "contact", "cursor": first.next_cursor}, limit=2)
    seen = [e.pk for e in first.items] + [e.pk for e in second.items]
    assert len(seen) == len(set(seen)) == 4


def test_audit_bad_filters_are_reported(admin_client):
    response = admin_client.get(reverse("web:audit"), {"object_id": "abc", "action": "nuke", "actor": "x"})
    assert response.status_code == 200
    assert set(response.context["errors"]) == {"object_id", "action", "actor"}
    assert "is not an object id" in response.content.decode()


def test_audit_escapes_values(admin_client, admin_user):
    contact = make_contact(owner=admin_user, first_name="Plain")
    update_contact(actor=admin_user, contact=contact, data={"first_name": "<img src=x onerror=alert(1)>"})
    html = admin_client.get(reverse("web:audit")).content.decode()
    assert "<img src=x" not in html and "&lt;img src=x" in html


def test_audit_query_count_is_bounded(admin_client, admin_user, django_assert_max_num_queries):
    for _ in range(5):
        make_contact(owner=admin_user)
    admin_client.get(reverse("web:audit"))
    with django_assert_max_num_queries(10) as few:
        admin_client.get(reverse("web:audit"))
    for _ in range(15):
        make_contact(owner=admin_user)
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(reverse("web:audit"))


# --- health and errors -------------------------------------------------------------------------------------------

def test_healthz_needs_no_login(client):
    response = client.get(reverse("web:health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_not_found_page_is_styled(admin_client):
    response = admin_client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()
    assert "app.css" in response.content.decode()


def test_pages_carry_no_inline_handlers(admin_client):
    html = admin_client.get(reverse("web:home")).content.decode()
    assert "onclick=" not in html and "onload=" not in html
    assert 'id="palette"' in html  # the palette dialog is on every page


def test_audit_times_are_in_the_users_time_zone(admin_user, admin_client):
    from amity.core.models import AuditEntry

    make_contact(owner=admin_user, first_name="Timed")
    AuditEntry.objects.update(at=dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC))
    admin_user.time_zone = "Asia/Shanghai"
    admin_user.save(update_fields=["time_zone"])

    html = admin_client.get(reverse("web:audit")).content.decode()

    assert 'datetime="2024-03-01T20:00:00+08:00"' in html


def test_forbidden_page_explains_why(sales_client):
    response = sales_client.get(reverse("web:audit"))
    assert response.status_code == 403
    assert "Only admins can read the audit log." in response.content.decode()
