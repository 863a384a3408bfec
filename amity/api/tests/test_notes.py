"""Notes (with @mentions) and the timeline over the API."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from amity import testing
from amity.accounts.models import Notification
from amity.api.tests.helpers import field_names, is_problem
from amity.timeline.models import Interaction
from amity.timeline.services import add_note, log_interaction

pytestmark = pytest.mark.django_db


def test_add_note_with_mention(admin_api, admin_user, sales_user):
    contact = testing.make_contact(first_name="Ada")
    response = admin_api.post("/api/notes", {"body": "Call her back, @sam", "contact": str(contact.uuid)})
    assert response.status_code == 201, response.content
    note = response.json()
    assert note["contact"]["id"] == str(contact.uuid)
    assert note["author"]["id"] == str(admin_user.uuid)
    assert note["mentions"] == [{"id": str(sales_user.uuid), "name": "Sam Sales"}]
    assert Notification.objects.filter(user=sales_user, kind="mention").count() == 1
    assert admin_api.get(f"/api/notes/{note['id']}").json() == note


def test_note_on_company(admin_api):
    company = testing.make_company(name="Acme")
    note = admin_api.post("/api/notes", {"body": "Renewal in May", "company": str(company.uuid)}).json()
    assert note["company"]["name"] == "Acme" and note["contact"] is None
    assert [n["id"] for n in admin_api.get(f"/api/companies/{company.uuid}/notes").json()["items"]] == [note["id"]]


@pytest.mark.parametrize(("body", "field"), [
    ({"body": "", "contact": "C"}, "body"),
    ({"body": "Lost note"}, "contact"),
    ({"body": "x", "contact": "00000000-0000-0000-0000-000000000000"}, "contact"),
    ({"body": "x", "company": "00000000-0000-0000-0000-000000000000"}, "company"),
    ({"text": "wrong field", "contact": "C"}, "body"),
])
def test_bad_note_input(admin_api, body, field):
    contact = testing.make_contact()
    body = {k: (str(contact.uuid) if v == "C" else v) for k, v in body.items()}
    response = admin_api.post("/api/notes", body)
    assert is_problem(response, 422), response.content
    assert field in field_names(response)
    assert not Interaction.objects.exists()


def test_contact_notes_page(admin_api, admin_user):
    contact = testing.make_contact()
    for i in range(7):
        add_note(actor=admin_user, body=f"note {i}", contact=contact)
    add_note(actor=admin_user, body="elsewhere", contact=testing.make_contact())
    seen, cursor = [], None
    while True:
        body = admin_api.get(f"/api/contacts/{contact.uuid}/notes",
                             {"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [n["body"] for n in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [f"note {i}" for i in reversed(range(7))]
    assert body["total"] == 7


def test_notes_query_count_does_not_grow(admin_api, admin_user, sales_user):
    contact = testing.make_contact()
    for i in range(30):
        add_note(actor=admin_user, body=f"note {i} @sam", contact=contact)
    url = f"/api/contacts/{contact.uuid}/notes"
    admin_api.get(url)

    def queries(limit: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert len(admin_api.get(url, {"limit": limit}).json()["items"]) == limit
        return len(ctx.captured_queries)

    assert queries(5) == queries(25)


def test_delete_note_by_author_only(admin_api, api_for, team):
    contact = testing.make_contact()
    author = testing.make_user("support")
    note = add_note(actor=author, body="mine", contact=contact)
    other = testing.make_user("support")
    refused = api_for(other).delete(f"/api/notes/{note.uuid}")
    assert is_problem(refused, 403)
    assert Interaction.objects.filter(pk=note.pk).exists()
    assert api_for(author).delete(f"/api/notes/{note.uuid}").status_code == 204
    assert not Interaction.objects.filter(pk=note.pk).exists()
    assert is_problem(admin_api.get(f"/api/notes/{note.uuid}"), 404)


def test_admin_deletes_any_note(admin_api):
    note = add_note(actor=testing.make_user("support"), body="theirs", contact=testing.make_contact())
    assert admin_api.delete(f"/api/notes/{note.uuid}").status_code == 204


def test_a_call_is_not_a_note(admin_api, admin_user):
    contact = testing.make_contact()
    call = log_interaction(actor=admin_user, kind="call", contact=contact, subject="Intro")
    assert is_problem(admin_api.get(f"/api/notes/{call.uuid}"), 404)


def test_timeline(admin_api, admin_user):
    contact = testing.make_contact(first_name="Ada")
    add_note(actor=admin_user, body="Likes tea", contact=contact)
    log_interaction(actor=admin_user, kind="call", contact=contact, subject="Intro call")
    response = admin_api.get(f"/api/contacts/{contact.uuid}/timeline")
    assert response.status_code == 200, response.content
    items = response.json()["items"]
    types = [e["type"] for e in items]
    assert types[:2] == ["call.logged", "note.created"] and "contact.created" in types
    call = items[0]
    assert call["interaction"]["subject"] == "Intro call"
    assert call["actor"]["id"] == str(admin_user.uuid)
    notes_only = admin_api.get(f"/api/contacts/{contact.uuid}/timeline", {"type": "notes"}).json()["items"]
    assert [e["type"] for e in notes_only] == ["note.created"]
    assert notes_only[0]["interaction"]["body"] == "Likes tea"
    bad = admin_api.get(f"/api/contacts/{contact.uuid}/timeline", {"type": "gossip"})
    assert is_problem(bad, 422) and "type" in field_names(bad)


def test_timeline_cursor(admin_api, admin_user):
    contact = testing.make_contact()
    for i in range(5):
        add_note(actor=admin_user, body=f"n{i}", contact=contact)
    first = admin_api.get(f"/api/contacts/{contact.uuid}/timeline", {"limit": 4}).json()
    second = admin_api.get(f"/api/contacts/{contact.uuid}/timeline",
                           {"limit": 4, "cursor": first["next_cursor"]}).json()
    ids = [e["interaction"]["id"] if e["interaction"] else e["type"] for e in first["items"] + second["items"]]
    assert len(first["items"]) == 4 and len(second["items"]) == 2  # 5 notes + contact.created
    assert second["next_cursor"] is None
    assert len(set(ids)) == len(ids)


def test_company_timeline(admin_api, admin_user):
    company = testing.make_company()
    add_note(actor=admin_user, body="hello", company=company)
    types = [e["type"] for e in admin_api.get(f"/api/companies/{company.uuid}/timeline").json()["items"]]
    assert "note.created" in types
