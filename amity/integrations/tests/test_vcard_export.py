"""vCard export: one contact, a filtered list (streamed, audited, permission-scoped), versions 3.0 and 4.0."""

from __future__ import annotations

import pytest
import vobject
from django.urls import reverse

from amity.accounts.models import Role
from amity.contacts import services as contact_services
from amity.core.models import AuditAction, AuditEntry
from amity.integrations import vcard
from amity.testing import make_contact, make_team, make_user


def _body(response) -> str:
    return b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()


def test_list_export_uses_the_list_filters_and_is_audited(admin_client, admin_user):
    make_contact(owner=admin_user, first_name="Ada", last_name="Lovelace", lifecycle_stage="customer",
                 emails=[{"email": "ada@example.com", "kind": "work"}])
    make_contact(owner=admin_user, first_name="Bob", last_name="Lead", lifecycle_stage="lead")
    response = admin_client.get(reverse("cards:export_contacts") + "?stage=customer")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/vcard; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="contacts.vcf"'
    cards = list(vobject.readComponents(_body(response)))
    assert [c.fn.value for c in cards] == ["Ada Lovelace"]
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.changes["rows"] == 1
    assert entry.changes["format"] == "vcard-3.0"
    assert entry.changes["filters"] == {"stage": "customer"}


def test_list_export_bad_filter_goes_back_to_the_list(admin_client):
    response = admin_client.get(reverse("cards:export_contacts") + "?sort=nope")
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:list") + "?sort=nope"
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.fixture
def sales_can_export(db):
    Role.objects.filter(key="sales").update(can_export=True)


def test_list_export_is_scoped_to_the_team(sales_can_export, sales_client, sales_user):
    outsider = make_user("sales", team=make_team("Other"), email="out@example.com")
    make_contact(owner=sales_user, first_name="Mine")
    make_contact(owner=outsider, first_name="Theirs")
    cards = list(vobject.readComponents(_body(sales_client.get(reverse("cards:export_contacts")))))
    assert [c.fn.value for c in cards] == ["Mine Example"]


def test_one_contact_vcard_and_another_teams_contact_is_404(sales_can_export, sales_client, sales_user):
    outsider = make_user("sales", team=make_team("Other"), email="out@example.com")
    mine = make_contact(owner=sales_user, first_name="小明", last_name="王")
    theirs = make_contact(owner=outsider, first_name="Theirs")
    response = sales_client.get(reverse("cards:contact_vcard", args=[mine.uuid]) + "?version=4.0")
    assert response.status_code == 200
    card = vobject.readOne(response.content.decode())
    assert card.fn.value == "王小明"
    assert card.version.value == "4.0"
    assert sales_client.get(reverse("cards:contact_vcard", args=[theirs.uuid])).status_code == 404


def test_export_query_count_is_flat_per_100_contacts(admin_client, admin_user, django_assert_num_queries):
    for i in range(100):
        contact_services.create_contact(actor=admin_user, data={
            "first_name": f"P{i}", "emails": [f"p{i}@example.com"], "phones": [f"+4915112345{i:03d}"],
            "tags": ["vip"], "birthday": "1980-01-02"})
    # session, user, custom-field definitions (filters), the audit entry, one contact query, four prefetches,
    # the audit entry's row count: the same for 100 contacts as for 1 (chunks of 500)
    with django_assert_num_queries(10):
        response = admin_client.get(reverse("cards:export_contacts"))
        body = _body(response)
    assert body.count("BEGIN:VCARD") == 100


def test_version_is_checked(admin_client, admin_user):
    contact = make_contact(owner=admin_user, first_name="Ada")
    response = admin_client.get(reverse("cards:contact_vcard", args=[contact.uuid]) + "?version=2.1")
    assert response.status_code == 400


def test_fold_keeps_multibyte_characters_whole():
    line = "NOTE:" + "汉字" * 40
    folded = vcard.fold(line)
    assert all(len(part.encode()) <= 75 for part in folded.rstrip("\r\n").split("\r\n"))
    assert folded.replace("\r\n ", "").rstrip("\r\n") == line


def test_a_role_without_export_gets_403_and_nothing_is_audited(sales_client, sales_user):
    contact = make_contact(owner=sales_user, first_name="Mine")
    assert sales_client.get(reverse("cards:export_contacts")).status_code == 403
    assert sales_client.get(reverse("cards:contact_vcard", args=[contact.uuid])).status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()
