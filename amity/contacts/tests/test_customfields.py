"""Custom-field definitions: keys, choices, audit, admin only; values validated on contacts."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from amity import testing
from amity.core import customfield_services as cfs
from amity.core.models import AuditEntry, CustomFieldDefinition

pytestmark = pytest.mark.django_db


def test_key_is_slugified_and_unique_per_object_type(admin_user):
    a = cfs.create_definition(actor=admin_user, data={"object_type": "contact", "label": "Favourite Drink!",
                                                      "field_type": "text"})
    b = cfs.create_definition(actor=admin_user, data={"object_type": "contact", "label": "Favourite drink",
                                                      "field_type": "text"})
    c = cfs.create_definition(actor=admin_user, data={"object_type": "company", "label": "Favourite drink",
                                                      "field_type": "text"})
    assert (a.key, b.key, c.key) == ("favourite_drink", "favourite_drink_2", "favourite_drink")
    assert b.position > a.position


def test_choices_required_for_choice_types(admin_user):
    with pytest.raises(ValidationError) as exc:
        cfs.create_definition(actor=admin_user, data={"object_type": "contact", "label": "Tier",
                                                      "field_type": "choice", "choices": "  \n "})
    assert "choices" in exc.value.message_dict
    definition = cfs.create_definition(actor=admin_user, data={
        "object_type": "contact", "label": "Tier", "field_type": "choice", "choices": "gold\nsilver\ngold"})
    assert definition.choices == ["gold", "silver"]


def test_bad_object_type_type_and_label(admin_user):
    with pytest.raises(ValidationError) as exc:
        cfs.create_definition(actor=admin_user, data={"object_type": "ticket", "label": "", "field_type": "blob"})
    assert set(exc.value.message_dict) == {"object_type", "label", "field_type"}


def test_update_keeps_key_and_type_and_audits(admin_user):
    definition = cfs.create_definition(actor=admin_user, data={"object_type": "contact", "label": "Size",
                                                               "field_type": "number"})
    cfs.update_definition(actor=admin_user, definition=definition,
                          data={"label": "Team size", "field_type": "text", "required": True})
    definition.refresh_from_db()
    assert definition.key == "size" and definition.field_type == "number"
    assert definition.label == "Team size" and definition.required
    entry = AuditEntry.objects.get(action="update", object_type="customfielddefinition")
    assert entry.changes["label"] == ["Size", "Team size"]


def test_delete_audits(admin_user):
    definition = cfs.create_definition(actor=admin_user, data={"object_type": "contact", "label": "X",
                                                               "field_type": "text"})
    cfs.delete_definition(actor=admin_user, definition=definition)
    assert not CustomFieldDefinition.objects.exists()
    assert AuditEntry.objects.filter(action="delete", object_type="customfielddefinition").exists()


def test_only_admins_manage_definitions(sales_user):
    with pytest.raises(PermissionDenied):
        cfs.create_definition(actor=sales_user, data={"object_type": "contact", "label": "X", "field_type": "text"})


@pytest.mark.parametrize("field_type,choices,raw,stored", [
    ("number", [], "1,200", 1200),
    ("number", [], "2.5", 2.5),
    ("date", [], "2024-02-29", "2024-02-29"),
    ("boolean", [], "yes", True),
    ("url", [], "example.com/x", "https://example.com/x"),
    ("multi_choice", ["a", "b"], ["b", "a"], ["b", "a"]),
], ids=["number-int", "number-float", "date", "boolean", "url", "multi"])
def test_values_are_stored_by_type(admin_user, field_type, choices, raw, stored):
    cfs.create_definition(actor=admin_user, data={"object_type": "contact", "label": "F", "field_type": field_type,
                                                  "choices": choices})
    contact = testing.make_contact(custom={"f": raw})
    assert contact.custom["f"] == stored


@pytest.mark.parametrize("field_type,raw", [
    ("number", "many"), ("date", "31/12/2024"), ("boolean", "perhaps"), ("url", "ftp://x"),
], ids=["number", "date", "boolean", "url"])
def test_bad_values_are_refused_with_the_field_key(admin_user, field_type, raw):
    cfs.create_definition(actor=admin_user, data={"object_type": "contact", "label": "F", "field_type": field_type})
    with pytest.raises(ValidationError) as exc:
        testing.make_contact(custom={"f": raw})
    assert "custom.f" in exc.value.message_dict


def test_custom_fields_marked_for_the_list_are_columns_on_the_list_page(admin_client, admin_user):
    from amity.core.customfield_services import create_definition
    from amity.testing import make_contact

    create_definition(actor=admin_user, data={"object_type": "contact", "label": "Loyalty tier",
                                              "field_type": "choice", "choices": ["Gold", "Silver"]})
    create_definition(actor=admin_user, data={"object_type": "contact", "label": "Internal memo",
                                              "field_type": "text", "show_in_list": False})
    make_contact(first_name="Goldie", custom={"loyalty_tier": "Gold", "internal_memo": "secret-ish"})
    html = admin_client.get("/contacts/").content.decode()
    assert "<th>Loyalty tier</th>" in html
    assert "<td>Gold</td>" in html
    assert "Internal memo" not in html.split("<thead>")[1].split("</thead>")[0]


def test_the_list_page_reads_custom_field_definitions_once(admin_client, admin_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from amity.core.customfield_services import create_definition

    create_definition(actor=admin_user, data={"object_type": "contact", "label": "Tier", "field_type": "text"})
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get("/contacts/?custom.tier=gold")
    assert response.status_code == 200
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "core_customfielddefinition"' in q["sql"]]
    assert len(reads) == 1, reads
