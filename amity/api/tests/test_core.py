"""Tags, custom-field definitions and users over the API."""

from __future__ import annotations

import pytest

from amity import testing
from amity.api.tests.helpers import field_names, is_problem
from amity.core.models import AuditEntry, CustomFieldDefinition, Tag

pytestmark = pytest.mark.django_db


def test_tags_list_create_delete(admin_api):
    testing.make_contact(tags=["vip"])
    assert admin_api.get("/api/tags").json() == {"items": [{"name": "vip", "color": "slate"}]}
    response = admin_api.post("/api/tags", {"name": "  Partner ", "color": "blue"})
    assert response.status_code == 201
    assert response.json() == {"name": "Partner", "color": "blue"}
    assert [t["name"] for t in admin_api.get("/api/tags").json()["items"]] == ["Partner", "vip"]
    assert admin_api.delete("/api/tags/VIP").status_code == 204
    assert not Tag.objects.filter(name="vip").exists()
    assert AuditEntry.objects.filter(action="delete", object_type="tag").exists()
    assert is_problem(admin_api.delete("/api/tags/vip"), 404)


@pytest.mark.parametrize(("body", "field"), [
    ({"name": ""}, "name"),
    ({"name": "x" * 65}, "name"),
    ({"name": "VIP"}, "name"),
    ({"name": "ok", "color": "Not A Colour!"}, "color"),
    ({}, "name"),
])
def test_bad_tag_input(admin_api, body, field):
    Tag.objects.create(name="vip")
    response = admin_api.post("/api/tags", body)
    assert is_problem(response, 422), response.content
    assert field in field_names(response)
    assert Tag.objects.count() == 1


def test_duplicate_tag_has_a_code(admin_api):
    Tag.objects.create(name="vip")
    [error] = admin_api.post("/api/tags", {"name": "Vip"}).json()["errors"]
    assert error["code"] == "duplicate"


def test_only_admins_delete_tags(sales_api, api_for):
    Tag.objects.create(name="vip")
    assert is_problem(sales_api.delete("/api/tags/vip"), 403)
    assert is_problem(api_for(testing.make_user("manager")).delete("/api/tags/vip"), 403)
    assert Tag.objects.filter(name="vip").exists()


def test_editors_create_tags(sales_api):
    assert sales_api.post("/api/tags", {"name": "lead-magnet"}).status_code == 201


def test_custom_fields_read(sales_api):
    CustomFieldDefinition.objects.create(object_type="contact", key="tier", label="Tier", field_type="choice",
                                         choices=["gold", "silver"], position=1)
    CustomFieldDefinition.objects.create(object_type="company", key="erp_id", label="ERP id", field_type="text")
    contact_fields = sales_api.get("/api/custom-fields", {"object_type": "contact"}).json()["items"]
    assert [(f["key"], f["field_type"], f["choices"]) for f in contact_fields] == [("tier", "choice",
                                                                                    ["gold", "silver"])]
    assert {f["key"] for f in sales_api.get("/api/custom-fields").json()["items"]} == {"tier", "erp_id"}
    bad = sales_api.get("/api/custom-fields", {"object_type": "ticket"})
    assert is_problem(bad, 422) and field_names(bad) == {"object_type"}


def test_custom_field_crud_by_admin(admin_api):
    response = admin_api.post("/api/custom-fields", {"object_type": "contact", "label": "Coffee order",
                                                     "field_type": "choice", "choices": ["latte", "flat white"]})
    assert response.status_code == 201, response.content
    field = response.json()
    assert field["key"] == "coffee_order"
    url = f"/api/custom-fields/{field['id']}"
    assert admin_api.get(url).json() == field
    patched = admin_api.patch(url, {"label": "Usual coffee", "required": False}).json()
    assert patched["label"] == "Usual coffee" and patched["key"] == "coffee_order"
    # The new field is usable at once on contacts and as a list filter.
    contact = admin_api.post("/api/contacts", {"first_name": "Bo", "custom": {"coffee_order": "latte"}}).json()
    assert contact["custom"] == {"coffee_order": "latte"}
    listed = admin_api.get("/api/contacts", {"custom.coffee_order": "latte"}).json()["items"]
    assert [c["id"] for c in listed] == [contact["id"]]
    assert admin_api.delete(url).status_code == 204
    assert not CustomFieldDefinition.objects.exists()
    assert is_problem(admin_api.get(url), 404)


@pytest.mark.parametrize(("body", "field"), [
    ({"object_type": "ticket", "label": "X", "field_type": "text"}, "object_type"),
    ({"object_type": "contact", "label": "", "field_type": "text"}, "label"),
    ({"object_type": "contact", "label": "X", "field_type": "colour"}, "field_type"),
    ({"object_type": "contact", "label": "X", "field_type": "choice"}, "choices"),
    ({"object_type": "contact", "label": "X", "field_type": "text", "key": "x"}, "key"),
])
def test_bad_custom_field_input(admin_api, body, field):
    response = admin_api.post("/api/custom-fields", body)
    assert is_problem(response, 422), response.content
    assert field in field_names(response)
    assert not CustomFieldDefinition.objects.exists()


def test_only_admins_write_custom_fields(api_for):
    definition = CustomFieldDefinition.objects.create(object_type="contact", key="tier", label="Tier",
                                                      field_type="text")
    manager = api_for(testing.make_user("manager"))
    assert is_problem(manager.post("/api/custom-fields", {"object_type": "contact", "label": "X",
                                                          "field_type": "text"}), 403)
    assert is_problem(manager.patch(f"/api/custom-fields/{definition.uuid}", {"label": "Y"}), 403)
    assert is_problem(manager.delete(f"/api/custom-fields/{definition.uuid}"), 403)
    definition.refresh_from_db()
    assert definition.label == "Tier" and CustomFieldDefinition.objects.count() == 1


def test_users(admin_api, admin_user, sales_user, team):
    inactive = testing.make_user("readonly", full_name="Zed Gone")
    inactive.is_active = False
    inactive.save()
    users = admin_api.get("/api/users").json()["items"]
    assert [u["name"] for u in users] == ["Ada Admin", "Sam Sales", "Zed Gone"]
    sam = users[1]
    assert sam == {"id": str(sales_user.uuid), "name": "Sam Sales", "email": "sam@example.com", "role": "sales",
                   "team": {"id": str(team.uuid), "name": "North"}, "active": True}
    assert users[2]["active"] is False
    assert admin_api.get("/api/users/me").json()["id"] == str(admin_user.uuid)
