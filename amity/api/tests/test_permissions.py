"""The permission matrix: another team's records are invisible (404), a read-only role cannot write (403)."""

from __future__ import annotations

import pytest

from amity import testing
from amity.api.tests.helpers import field_names, is_problem
from amity.contacts.models import Company, Contact, Preference
from amity.core.models import AuditEntry, CustomFieldDefinition, Tag
from amity.timeline.models import Interaction
from amity.timeline.services import add_note

pytestmark = pytest.mark.django_db


@pytest.fixture
def theirs(other_team):
    """A contact, company and note owned by someone in another team."""
    owner = testing.make_user("sales", team=other_team)
    company = testing.make_company(owner=owner, name="Their Co")
    contact = testing.make_contact(owner=owner, first_name="Theirs", company=company)
    note = add_note(actor=owner, body="private", contact=contact)
    return {"contact": contact, "company": company, "note": note}


@pytest.fixture
def ours(sales_user, team):
    teammate = testing.make_user("sales", team=team)
    company = testing.make_company(owner=teammate, name="Our Co")
    return {
        "mine": testing.make_contact(owner=sales_user, first_name="Mine"),
        "teammates": testing.make_contact(owner=teammate, first_name="Teammates", company=company),
        "unassigned": testing.make_contact(first_name="Unassigned"),
        "company": company,
    }


def _id_endpoints(theirs):
    c, co, n = theirs["contact"].uuid, theirs["company"].uuid, theirs["note"].uuid
    return [
        ("get", f"/api/contacts/{c}", None),
        ("patch", f"/api/contacts/{c}", {"first_name": "Hacked"}),
        ("delete", f"/api/contacts/{c}", None),
        ("get", f"/api/contacts/{c}/preferences", None),
        ("post", f"/api/contacts/{c}/preferences", {"text": "spy"}),
        ("post", f"/api/contacts/{c}/preferences", {}),  # 404 even before the body is judged
        ("get", f"/api/contacts/{c}/notes", None),
        ("get", f"/api/contacts/{c}/timeline", None),
        ("get", f"/api/companies/{co}", None),
        ("patch", f"/api/companies/{co}", {"name": "Hacked"}),
        ("delete", f"/api/companies/{co}", None),
        ("get", f"/api/companies/{co}/contacts", None),
        ("get", f"/api/companies/{co}/notes", None),
        ("get", f"/api/companies/{co}/timeline", None),
        ("get", f"/api/notes/{n}", None),
        ("delete", f"/api/notes/{n}", None),
    ]


def _call(client, method, url, body):
    return getattr(client, method)(url, body) if body is not None else getattr(client, method)(url)


def test_other_teams_records_are_404_on_every_id_endpoint(sales_user, sales_api, theirs):
    for method, url, body in _id_endpoints(theirs):
        response = _call(sales_api, method, url, body)
        assert is_problem(response, 404), (method, url, response.status_code)
        assert "Theirs" not in response.content.decode() and "Their Co" not in response.content.decode()
    assert Contact.objects.filter(first_name="Theirs").exists()
    assert Company.objects.filter(name="Their Co").exists()
    assert Interaction.objects.filter(pk=theirs["note"].pk).exists()
    assert not Preference.objects.exists()


def test_other_teams_records_cannot_be_referenced(sales_api, theirs):
    note = sales_api.post("/api/notes", {"body": "hi", "contact": str(theirs["contact"].uuid)})
    assert is_problem(note, 422) and field_names(note) == {"contact"}
    contact = sales_api.post("/api/contacts", {"first_name": "X", "company": str(theirs["company"].uuid)})
    assert is_problem(contact, 422) and field_names(contact) == {"company"}


def test_lists_exclude_other_teams_records(sales_api, theirs, ours):
    names = {c["first_name"] for c in sales_api.get("/api/contacts").json()["items"]}
    assert names == {"Mine", "Teammates", "Unassigned"}
    assert sales_api.get("/api/contacts").json()["total"] == 3
    assert {c["name"] for c in sales_api.get("/api/companies").json()["items"]} == {"Our Co"}
    # Filters cannot reach past visibility either.
    assert sales_api.get("/api/contacts", {"company": str(theirs["company"].uuid)}).json()["items"] == []
    assert sales_api.get("/api/contacts", {"q": "Theirs"}).json()["items"] == []


def test_own_teams_records_are_reachable(sales_api, ours):
    for key in ("mine", "teammates", "unassigned"):
        assert sales_api.get(f"/api/contacts/{ours[key].uuid}").status_code == 200
        assert sales_api.patch(f"/api/contacts/{ours[key].uuid}", {"job_title": "CTO"}).status_code == 200
    assert sales_api.get(f"/api/companies/{ours['company'].uuid}/contacts").json()["total"] == 1


def test_readonly_role_cannot_write_anything(api_for, admin_user):
    reader = api_for(testing.make_user("readonly"), scope="write")  # even with a read-write token
    contact = testing.make_contact(first_name="Ada", owner=admin_user)
    company = testing.make_company(name="Acme")
    note = add_note(actor=admin_user, body="hello", contact=contact)
    Tag.objects.create(name="vip")
    definition = CustomFieldDefinition.objects.create(object_type="contact", key="tier", label="Tier",
                                                      field_type="text")
    audit_before = AuditEntry.objects.count()
    writes = [
        ("post", "/api/contacts", {"first_name": "New"}),
        ("patch", f"/api/contacts/{contact.uuid}", {"first_name": "Changed"}),
        ("delete", f"/api/contacts/{contact.uuid}", None),
        ("post", f"/api/contacts/{contact.uuid}/preferences", {"text": "tea"}),
        ("post", "/api/companies", {"name": "New Co"}),
        ("patch", f"/api/companies/{company.uuid}", {"name": "Changed"}),
        ("delete", f"/api/companies/{company.uuid}", None),
        ("post", "/api/notes", {"body": "hi", "contact": str(contact.uuid)}),
        ("delete", f"/api/notes/{note.uuid}", None),
        ("post", "/api/tags", {"name": "new"}),
        ("delete", "/api/tags/vip", None),
        ("post", "/api/custom-fields", {"object_type": "contact", "label": "X", "field_type": "text"}),
        ("patch", f"/api/custom-fields/{definition.uuid}", {"label": "Y"}),
        ("delete", f"/api/custom-fields/{definition.uuid}", None),
    ]
    for method, url, body in writes:
        response = _call(reader, method, url, body)
        assert is_problem(response, 403), (method, url, response.status_code, response.content)
    # Nothing changed, nothing was recorded.
    contact.refresh_from_db()
    company.refresh_from_db()
    definition.refresh_from_db()
    assert (contact.first_name, company.name, definition.label) == ("Ada", "Acme", "Tier")
    assert (Contact.objects.count(), Company.objects.count(), Interaction.objects.count()) == (1, 1, 1)
    assert list(Tag.objects.values_list("name", flat=True)) == ["vip"]
    assert not Preference.objects.exists()
    assert AuditEntry.objects.count() == audit_before
    # Reads still work.
    assert reader.get(f"/api/contacts/{contact.uuid}").status_code == 200
