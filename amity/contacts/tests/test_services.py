"""Contact and company services: normalisation, audit trail with before/after, events, permissions."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from amity import testing
from amity.contacts import services
from amity.contacts.models import Company, Contact, SavedView
from amity.core.models import AuditEntry, Event, SearchDocument

pytestmark = pytest.mark.django_db


def test_create_contact_normalises_and_audits(admin_user):
    contact = services.create_contact(actor=admin_user, data={
        "first_name": "  Ada ", "last_name": "Lovelace", "emails": [" Ada@Example.COM "],
        "phones": ["(415) 555-0123"], "tags": "vip, VIP, math",
    })
    assert contact.email == "ada@example.com"
    assert contact.phone == "+14155550123"
    assert contact.first_name == "Ada"
    assert contact.display_name == "Ada Lovelace"
    assert contact.owner == admin_user  # the creator owns what they create unless told otherwise
    assert sorted(t.name for t in contact.tags.all()) == ["math", "vip"]
    entry = AuditEntry.objects.get(action="create", object_type="contact", object_id=contact.pk)
    assert entry.actor == admin_user
    assert entry.changes["emails"] == ["ada@example.com"]
    event = Event.objects.get(type="contact.created", subject_id=contact.pk)
    assert event.contact_id == contact.pk and event.actor == admin_user
    assert SearchDocument.objects.filter(kind="contact", obj_id=contact.pk).exists()


def test_chinese_name_is_family_name_first_without_space():
    contact = testing.make_contact(first_name="小明", last_name="王")
    assert contact.display_name == "王小明"


def test_contact_without_name_uses_email():
    contact = testing.make_contact(first_name="", last_name="", emails=["solo@example.com"])
    assert contact.display_name == "solo@example.com"


def test_contact_needs_a_name_or_email():
    with pytest.raises(ValidationError) as exc:
        services.create_contact(actor=None, data={"first_name": "", "last_name": ""})
    assert "first_name" in exc.value.message_dict
    assert not Contact.objects.exists()


def test_update_contact_records_before_and_after(admin_user):
    contact = testing.make_contact(owner=admin_user, first_name="Old", lifecycle_stage="lead")
    services.update_contact(actor=admin_user, contact=contact, data={"first_name": "New",
                                                                      "lifecycle_stage": "customer"})
    entry = AuditEntry.objects.get(action="update", object_id=contact.pk)
    assert entry.changes["first_name"] == ["Old", "New"]
    assert entry.changes["lifecycle_stage"] == ["lead", "customer"]
    event = Event.objects.get(type="contact.updated", subject_id=contact.pk)
    assert event.payload["changes"]["first_name"] == ["Old", "New"]


def test_update_without_change_writes_no_audit_or_event(admin_user):
    contact = testing.make_contact(owner=admin_user, first_name="Same")
    services.update_contact(actor=admin_user, contact=contact, data={"first_name": "Same"})
    assert not AuditEntry.objects.filter(action="update").exists()
    assert not Event.objects.filter(type="contact.updated").exists()


def test_invalid_update_changes_nothing(admin_user):
    contact = testing.make_contact(owner=admin_user, first_name="Keep", emails=["keep@example.com"])
    with pytest.raises(ValidationError) as exc:
        services.update_contact(actor=admin_user, contact=contact,
                                data={"first_name": "Changed", "emails": ["bad@"], "phones": ["123"]})
    assert set(exc.value.message_dict) == {"emails", "phones"}
    contact.refresh_from_db()
    assert contact.first_name == "Keep" and contact.email == "keep@example.com"


def test_duplicate_email_error_carries_link_to_the_owner(admin_user):
    first = testing.make_contact(owner=admin_user, emails=["dup@example.com"])
    with pytest.raises(ValidationError) as exc:
        testing.make_contact(emails=["DUP@example.com"])
    error = exc.value.error_dict["emails"][0]
    assert error.code == "duplicate"
    assert error.params["uuid"] == str(first.uuid)
    assert error.params["url"].endswith(f"/contacts/{first.uuid}/")


def test_delete_contact_audits_snapshot_and_emits(admin_user):
    contact = testing.make_contact(owner=admin_user, first_name="Gone")
    pk = contact.pk
    services.delete_contact(actor=admin_user, contact=contact)
    assert not Contact.objects.filter(pk=pk).exists()
    entry = AuditEntry.objects.get(action="delete", object_id=pk)
    assert entry.changes["first_name"] == "Gone"
    assert Event.objects.filter(type="contact.deleted", subject_id=pk).exists()
    assert not SearchDocument.objects.filter(kind="contact", obj_id=pk).exists()


def test_roles_without_rights_are_refused(sales_user):
    reader = testing.make_user("readonly")
    with pytest.raises(PermissionDenied):
        services.create_contact(actor=reader, data={"first_name": "X"})
    contact = testing.make_contact(owner=sales_user)
    with pytest.raises(PermissionDenied):
        services.delete_contact(actor=sales_user, contact=contact)
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_company_create_update_delete(admin_user):
    company = services.create_company(actor=admin_user, data={
        "name": "Initech", "domain": "HTTPS://www.Initech.com/", "phone": "+1 415 555 0123"})
    assert company.domain == "initech.com" and company.phone == "+14155550123"
    assert Event.objects.filter(type="company.created", subject_id=company.pk).exists()
    services.update_company(actor=admin_user, company=company, data={"industry": "Software"})
    entry = AuditEntry.objects.get(action="update", object_type="company")
    assert entry.changes["industry"] == ["", "Software"]
    pk = company.pk
    services.delete_company(actor=admin_user, company=company)
    assert not Company.objects.filter(pk=pk).exists()
    assert AuditEntry.objects.filter(action="delete", object_type="company", object_id=pk).exists()


def test_company_needs_a_name():
    with pytest.raises(ValidationError) as exc:
        services.create_company(actor=None, data={"name": "  "})
    assert "name" in exc.value.message_dict


def test_bulk_company_actions(admin_user, sales_user):
    a = testing.make_company(owner=admin_user)
    b = testing.make_company(owner=admin_user)
    assert services.bulk_tag(actor=admin_user, records=[a, b], tag_names=["partner"]) == 2
    assert services.bulk_assign(actor=admin_user, records=[a], owner=sales_user) == 1
    a.refresh_from_db()
    assert a.owner == sales_user and b.tags.filter(name="partner").exists()
    with pytest.raises(PermissionDenied):
        services.bulk_delete(actor=sales_user, records=[a])
    assert services.bulk_delete(actor=admin_user, records=[a, b]) == 2


def test_saved_view_drops_cursor_and_only_owner_deletes(admin_user, sales_user):
    view = services.create_saved_view(actor=sales_user, object_type="contact", name="Mine",
                                      query="stage=lead&cursor=xyz&tag=vip", shared=True)
    assert view.query == "stage=lead&tag=vip"
    other = testing.make_user("sales")
    with pytest.raises(PermissionDenied):
        services.delete_saved_view(actor=other, view=view)
    services.delete_saved_view(actor=admin_user, view=view)  # admins tidy up shared views
    assert not SavedView.objects.exists()


def test_saved_view_rejects_unknown_list():
    user = testing.make_user("sales")
    with pytest.raises(ValidationError):
        services.create_saved_view(actor=user, object_type="deal", name="X", query="")


def test_an_edit_from_a_stale_copy_keeps_counters_other_services_updated(admin_user):
    """Someone has the edit form open while a purchase and a call are recorded: saving must not undo them."""
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from amity.contacts.models import Contact
    from amity.contacts.services import update_contact
    from amity.testing import make_contact

    contact = make_contact(first_name="Stale")
    stale = Contact.objects.get(pk=contact.pk)
    when = timezone.now() - dt.timedelta(hours=1)
    Contact.objects.filter(pk=contact.pk).update(lifetime_value=Decimal("120.50"), last_contacted_at=when)
    update_contact(actor=admin_user, contact=stale, data={"job_title": "Buyer"})
    fresh = Contact.objects.get(pk=contact.pk)
    assert fresh.job_title == "Buyer"
    assert fresh.lifetime_value == Decimal("120.50")
    assert fresh.last_contacted_at == when
