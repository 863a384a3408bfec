"""Contacts and companies: CRUD, bad input, filters shared with the UI, cursor pagination, query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from amity import testing
from amity.api.tests.helpers import field_names, is_problem
from amity.contacts.models import Company, Contact
from amity.core.models import AuditEntry, CustomFieldDefinition

pytestmark = pytest.mark.django_db


@pytest.fixture
def tier(db):
    return CustomFieldDefinition.objects.create(object_type="contact", key="tier", label="Tier",
                                                field_type="choice", choices=["gold", "silver"])


def test_create_contact_with_everything(admin_api, admin_user, tier):
    company = testing.make_company(name="Acme")
    owner = testing.make_user("sales")
    response = admin_api.post("/api/contacts", {
        "first_name": "Ada", "last_name": "Lovelace",
        "emails": [{"email": "ada@home.example", "kind": "home"},
                   {"email": "ADA@Work.Example", "kind": "work", "primary": True}],
        "phones": [{"number": "+1 415 555 0123", "kind": "work"}],
        "company": str(company.uuid), "owner": str(owner.uuid), "job_title": "Analyst",
        "lifecycle_stage": "customer", "source": "referral", "tags": ["VIP", "math"],
        "birthday": "--12-10", "special_dates": [{"kind": "anniversary", "label": "First order", "date": "2020-05-01"}],
        "time_zone": "Europe/London", "language": "en",
        "address": {"street": "1 Main St", "city": "London", "country": "gb"},
        "do_not_contact": True, "custom": {"tier": "gold"},
    })
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Ada Lovelace"
    assert body["emails"] == [{"email": "ada@work.example", "kind": "work", "primary": True},
                              {"email": "ada@home.example", "kind": "home", "primary": False}]
    assert body["phones"] == [{"number": "+14155550123", "kind": "work", "primary": True}]
    assert body["company"] == {"id": str(company.uuid), "name": "Acme"}
    assert body["owner"] == {"id": str(owner.uuid), "name": str(owner)}
    assert body["tags"] == ["math", "VIP"]
    assert body["birthday"] == "--12-10"
    assert body["special_dates"] == [{"kind": "anniversary", "label": "First order", "date": "2020-05-01"}]
    assert body["address"] == {"street": "1 Main St", "city": "London", "region": "", "postal_code": "",
                               "country": "GB"}
    assert body["custom"] == {"tier": "gold"}
    assert body["lifetime_value"] == "0.00"
    assert body["do_not_contact"] is True
    # What the API answered is what a later read shows.
    assert admin_api.get(f"/api/contacts/{body['id']}").json() == body


def test_create_contact_owner_defaults_to_the_token_user(admin_api, admin_user):
    body = admin_api.post("/api/contacts", {"first_name": "Mine"}).json()
    assert body["owner"]["id"] == str(admin_user.uuid)


def test_get_contact_with_year_birthday(admin_api):
    contact = testing.make_contact(birthday="1990-02-03")
    assert admin_api.get(f"/api/contacts/{contact.uuid}").json()["birthday"] == "1990-02-03"


def test_patch_changes_only_the_fields_sent(admin_api):
    contact = testing.make_contact(first_name="Ada", last_name="Byron", emails=["ada@example.com"], tags=["a"])
    response = admin_api.patch(f"/api/contacts/{contact.uuid}", {"last_name": "Lovelace", "tags": ["b"]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Ada Lovelace"
    assert body["emails"][0]["email"] == "ada@example.com"
    assert body["tags"] == ["b"]
    assert AuditEntry.objects.filter(action="update", object_id=contact.pk).exists()


def test_patch_clears_company_and_owner_with_null(admin_api, admin_user):
    company = testing.make_company()
    contact = testing.make_contact(owner=admin_user, company=company)
    body = admin_api.patch(f"/api/contacts/{contact.uuid}", {"company": None, "owner": None}).json()
    assert body["company"] is None and body["owner"] is None


def test_delete_contact(admin_api):
    contact = testing.make_contact()
    response = admin_api.delete(f"/api/contacts/{contact.uuid}")
    assert response.status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert is_problem(admin_api.get(f"/api/contacts/{contact.uuid}"), 404)


def test_delete_refused_for_a_role_that_cannot_delete(api_for, team):
    user = testing.make_user("sales", team=team)  # sales can edit but not delete
    contact = testing.make_contact(owner=user)
    response = api_for(user).delete(f"/api/contacts/{contact.uuid}")
    assert is_problem(response, 403)
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_unknown_contact_is_404_problem(admin_api):
    response = admin_api.get("/api/contacts/00000000-0000-0000-0000-000000000000")
    assert is_problem(response, 404)


# --- bad input ---------------------------------------------------------------------------------------------------

def test_duplicate_email_names_the_existing_contact(admin_api):
    existing = testing.make_contact(emails=["taken@example.com"])
    response = admin_api.post("/api/contacts", {"first_name": "Copy", "emails": [{"email": "Taken@example.com"}]})
    assert is_problem(response, 422)
    [error] = response.json()["errors"]
    assert error["field"] == "emails"
    assert error["code"] == "duplicate"
    assert error["existing"]["id"] == str(existing.uuid)
    assert str(existing.uuid) in error["existing"]["url"]
    assert Contact.objects.count() == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"first_name": "X", "emails": [{"email": "not-an-email"}]}, "emails"),
    ({"first_name": "X", "phones": [{"number": "12"}]}, "phones"),
    ({"first_name": "X", "custom": {"nope": 1}}, "custom.nope"),
    ({"first_name": "X", "lifecycle_stage": "king"}, "lifecycle_stage"),
    ({"first_name": "X", "birthday": "2999-01-01"}, "birthday"),
    ({"first_name": "X", "time_zone": "Mars/Olympus"}, "time_zone"),
    ({"first_name": "X", "address": {"country": "Atlantis"}}, "address.country"),
    ({"first_name": "X", "address": {"cty": "Paris"}}, "address.cty"),
    ({"first_name": "X", "emails": [{"email": 5}]}, "emails.0.email"),
    ({"first_name": "X", "emial": "typo@example.com"}, "emial"),
    ({"first_name": 5}, "first_name"),
    ({"first_name": "X", "company": "not-a-uuid"}, "company"),
    ({"first_name": "X", "company": "00000000-0000-0000-0000-000000000000"}, "company"),
    ({"first_name": "X", "owner": "00000000-0000-0000-0000-000000000000"}, "owner"),
    ({}, "first_name"),
])
def test_bad_contact_input_names_the_field(admin_api, body, field):
    response = admin_api.post("/api/contacts", body)
    assert is_problem(response, 422), response.content
    assert field in field_names(response)
    assert not Contact.objects.exists()


def test_patch_with_bad_input_changes_nothing(admin_api):
    contact = testing.make_contact(first_name="Ada", emails=["ada@example.com"])
    response = admin_api.patch(f"/api/contacts/{contact.uuid}",
                               {"first_name": "Changed", "emails": [{"email": "bad@"}]})
    assert is_problem(response, 422)
    contact.refresh_from_db()
    assert contact.first_name == "Ada" and contact.email == "ada@example.com"


@pytest.mark.parametrize(("params", "field"), [
    ({"cursor": "garbage!"}, "cursor"),
    ({"limit": "0"}, "limit"),
    ({"limit": "201"}, "limit"),
    ({"limit": "many"}, "limit"),
    ({"stage": "king"}, "stage"),
    ({"sort": "shoe_size"}, "sort"),
    ({"custom.nope": "1"}, "custom.nope"),
    ({"created_from": "yesterday"}, "created_from"),
])
def test_bad_list_parameters_name_the_parameter(admin_api, params, field):
    testing.make_contact()
    response = admin_api.get("/api/contacts", params)
    assert is_problem(response, 422), response.content
    assert field in field_names(response)


# --- filters (the same FilterSet as the UI) -------------------------------------------------------------------

def _names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {c["first_name"] for c in response.json()["items"]}


def test_filters_match_the_ui(admin_api, admin_user, tier):
    other = testing.make_user("sales")
    testing.make_contact(first_name="Gold", lifecycle_stage="customer", tags=["vip"], custom={"tier": "gold"},
                         owner=admin_user)
    testing.make_contact(first_name="Silver", lifecycle_stage="lead", tags=["vip"], custom={"tier": "silver"},
                         owner=other)
    testing.make_contact(first_name="Plain", lifecycle_stage="lead")
    assert _names(admin_api.get("/api/contacts", {"stage": "customer"})) == {"Gold"}
    assert _names(admin_api.get("/api/contacts", {"tag": "VIP"})) == {"Gold", "Silver"}
    assert _names(admin_api.get("/api/contacts", {"owner": str(other.uuid)})) == {"Silver"}
    assert _names(admin_api.get("/api/contacts", {"custom.tier": "gold"})) == {"Gold"}
    assert _names(admin_api.get("/api/contacts", {"tag": "vip", "stage": "lead"})) == {"Silver"}
    assert admin_api.get("/api/contacts", {"stage": "lead"}).json()["total"] == 2


def test_list_is_the_ui_list(admin_api, admin_client):
    """The API and the list page read through the same selector with the same parameters."""
    from amity.contacts.selectors import contact_list

    for i in range(4):
        testing.make_contact(first_name=f"P{i}", lifecycle_stage="customer" if i % 2 else "lead")
    from amity.accounts.models import User

    user = User.objects.get(email="ada@example.com")
    params = {"stage": "customer", "sort": "name"}
    expected = [str(c.uuid) for c in contact_list(user=user, params=params).items]
    assert [c["id"] for c in admin_api.get("/api/contacts", params).json()["items"]] == expected


@pytest.mark.parametrize("sort", ["-updated", "name", "-name", "created", "-created", "-last_contacted", "-value"])
def test_cursor_walks_every_row_once(admin_api, sort):
    made = {str(testing.make_contact(first_name=f"Walk{i % 3}").uuid) for i in range(11)}
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, "sort": sort, **({"cursor": cursor} if cursor else {})}
        body = admin_api.get("/api/contacts", params).json()
        seen += [c["id"] for c in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert pages == 4
    assert len(seen) == len(set(seen)) == 11
    assert set(seen) == made
    # And back: prev_cursor of the last page returns the page before it.
    back = admin_api.get("/api/contacts", {"limit": 3, "sort": sort, "cursor": body["prev_cursor"]}).json()
    assert [c["id"] for c in back["items"]] == seen[6:9]


def test_list_query_count_does_not_grow_with_page_size(admin_api, admin_user, tier):
    company = testing.make_company()
    for i in range(60):
        testing.make_contact(first_name=f"N{i}", emails=[f"n{i}@example.com"], phones=["+14155550100"],
                             tags=["a", "b"], company=company, owner=admin_user, birthday="--01-02",
                             custom={"tier": "gold"})
    admin_api.get("/api/contacts", {"limit": 1})  # the token's last_used_at is written once a minute at most

    def queries(limit: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = admin_api.get("/api/contacts", {"limit": limit})
        assert len(response.json()["items"]) == limit
        return len(ctx.captured_queries)

    assert queries(5) == queries(50)
    assert queries(50) <= 10


# --- companies ----------------------------------------------------------------------------------------------------

def test_company_crud(admin_api):
    response = admin_api.post("/api/companies", {"name": "Acme", "domain": "https://www.Acme.com/about",
                                                 "size": "11-50", "tags": ["partner"],
                                                 "address": {"city": "Berlin", "country": "de"}})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["domain"] == "acme.com" and body["tags"] == ["partner"] and body["address"]["country"] == "DE"
    url = f"/api/companies/{body['id']}"
    assert admin_api.get(url).json() == body
    patched = admin_api.patch(url, {"industry": "Tools"}).json()
    assert patched["industry"] == "Tools" and patched["name"] == "Acme"
    assert admin_api.delete(url).status_code == 204
    assert not Company.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"domain": "acme.com"}, "name"),
    ({"name": "Acme", "phone": "123"}, "phone"),
    ({"name": "Acme", "domain": "not a domain"}, "domain"),
    ({"name": "Acme", "size": "huge"}, "size"),
    ({"name": "Acme", "address": {"country": "XX"}}, "address.country"),
    ({"name": "Acme", "custom": {"nope": 1}}, "custom.nope"),
])
def test_bad_company_input(admin_api, body, field):
    response = admin_api.post("/api/companies", body)
    assert is_problem(response, 422)
    assert field in field_names(response)
    assert not Company.objects.exists()


def test_company_list_filters_and_contacts(admin_api):
    acme = testing.make_company(name="Acme", industry="Tools")
    testing.make_company(name="Globex", industry="Energy")
    testing.make_contact(first_name="AtAcme", company=acme, lifecycle_stage="customer")
    testing.make_contact(first_name="AtAcmeLead", company=acme)
    testing.make_contact(first_name="Elsewhere")
    names = {c["name"] for c in admin_api.get("/api/companies", {"industry": "tools"}).json()["items"]}
    assert names == {"Acme"}
    contacts = admin_api.get(f"/api/companies/{acme.uuid}/contacts")
    assert _names(contacts) == {"AtAcme", "AtAcmeLead"}
    assert _names(admin_api.get(f"/api/companies/{acme.uuid}/contacts", {"stage": "customer"})) == {"AtAcme"}


# --- preferences ---------------------------------------------------------------------------------------------------

def test_preferences(admin_api, admin_user):
    contact = testing.make_contact()
    url = f"/api/contacts/{contact.uuid}/preferences"
    assert admin_api.get(url).json() == {"items": []}
    response = admin_api.post(url, {"text": "Oat milk, no sugar"})
    assert response.status_code == 201
    assert response.json()["recorded_by"]["id"] == str(admin_user.uuid)
    assert [p["text"] for p in admin_api.get(url).json()["items"]] == ["Oat milk, no sugar"]
    bad = admin_api.post(url, {"text": "  "})
    assert is_problem(bad, 422) and field_names(bad) == {"text"}


def test_company_lists_query_count_does_not_grow_with_page_size(admin_api, admin_user):
    acme = testing.make_company(name="Acme")
    for i in range(55):
        testing.make_company(name=f"Co {i}", tags=["a"], owner=admin_user)
        testing.make_contact(first_name=f"C{i}", company=acme, emails=[f"c{i}@example.com"], tags=["b"])
    admin_api.get("/api/companies", {"limit": 1})

    def queries(url: str, limit: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert len(admin_api.get(url, {"limit": limit}).json()["items"]) == limit
        return len(ctx.captured_queries)

    assert queries("/api/companies", 5) == queries("/api/companies", 50)
    contacts_url = f"/api/companies/{acme.uuid}/contacts"
    assert queries(contacts_url, 5) == queries(contacts_url, 50)
