"""Imported contacts are searchable the moment the import ends, with the same documents the contact services write."""

from __future__ import annotations

import io

import pytest

from amity.contacts.models import Contact
from amity.core import search
from amity.core.models import SearchDocument
from amity.integrations import imports
from amity.testing import make_company, make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path  # uploaded files go to <VAR_DIR>/imports/


def run_import(user, text: str, match_on: str = "email"):
    job = imports.create_job(actor=user, fileobj=io.BytesIO(text.encode()), name="f.csv", object_type="contact")
    imports.set_mapping(actor=user, job=job, mapping=job.mapping, match_on=match_on, on_match="update")
    return imports.start(actor=user, job=job)


def found(user, q: str) -> list[str]:
    return [str(hit.obj) for hit in search.search(user, q)]


def expected_document(contact: Contact) -> tuple[str, str]:
    """What ``index_contact`` writes for the contact as stored now."""
    contact = Contact.objects.select_related("company").get(pk=contact.pk)
    title, body = search.contact_document(contact, list(contact.emails.values_list("email", flat=True)),
                                          list(contact.phones.values_list("number", flat=True)))
    return title[:300], body


def stored_document(contact: Contact) -> tuple[str, str]:
    doc = SearchDocument.objects.get(kind="contact", obj_id=contact.pk)
    return doc.title, doc.body


def test_created_and_updated_contacts_are_found_at_once(admin_user):
    old = make_contact(first_name="Old", last_name="Name", emails=["grace@navy.example"], phones=["+1 202 555 0100"])
    company = make_company(name="Analytical Engines")
    old_document = SearchDocument.objects.get(kind="contact", obj_id=old.pk)
    job = run_import(admin_user, "first_name,last_name,email,phone,company\n"
                                 "Ada,Lovelace,ada@analytical.example,+44 20 7946 0958,Analytical Engines\n"
                                 "Grace,Hopper,grace@navy.example;gh@cobol.example,+1 202 555 0199,\n"
                                 "小明,王,xm@example.cn,+86 138 0013 8000,新公司\n")
    assert (job.status, job.created, job.updated, job.errors) == ("done", 2, 1, 0)
    assert found(admin_user, "ada lovelace") == ["Ada Lovelace"]
    assert found(admin_user, "2079460958") == ["Ada Lovelace"]
    assert set(found(admin_user, "analytical")) == {"Analytical Engines", "Ada Lovelace"}
    assert found(admin_user, "小明") == ["王小明"]
    assert set(found(admin_user, "新公司")) == {"新公司", "王小明"}  # the company the import created, and its contact
    # the update: new name, a second email and a second phone are searchable; the old name is gone
    assert found(admin_user, "grace hopper") == ["Grace Hopper"]
    assert found(admin_user, "gh@cobol.example") == ["Grace Hopper"]
    assert found(admin_user, "2025550199") == ["Grace Hopper"]
    assert found(admin_user, "old name") == []
    assert SearchDocument.objects.get(kind="contact", obj_id=old.pk).pk == old_document.pk  # rewritten in place
    for contact in Contact.objects.all():
        assert stored_document(contact) == expected_document(contact), contact
    assert SearchDocument.objects.filter(kind="contact").count() == 3
    assert company.pk  # linked, not duplicated
    assert Contact.objects.get(first_name="Ada").company_id == company.pk
    old.refresh_from_db()
    assert old.first_name == "Grace"


def test_an_update_that_leaves_the_text_alone_keeps_the_document(admin_user):
    contact = make_contact(first_name="Ada", last_name="Lovelace", emails=["ada@example.com"])
    before = SearchDocument.objects.get(kind="contact", obj_id=contact.pk)
    job = run_import(admin_user, "email,city,tags\nada@example.com,London,vip\n")
    assert job.updated == 1
    contact.refresh_from_db()
    assert contact.city == "London"
    after = SearchDocument.objects.get(kind="contact", obj_id=contact.pk)
    assert (after.pk, after.body) == (before.pk, before.body)
    assert found(admin_user, "ada lovelace") == ["Ada Lovelace"]


def test_undo_restores_the_documents(admin_user):
    contact = make_contact(first_name="Old", last_name="Name", emails=["old@example.com"])
    job = run_import(admin_user, "first_name,email\nNew,old@example.com\nFresh,fresh@example.com\n")
    assert found(admin_user, "new name") == ["New Name"]
    imports.request_undo(actor=admin_user, job=job)
    assert found(admin_user, "old name") == ["Old Name"]
    assert found(admin_user, "fresh") == []
    assert stored_document(contact) == expected_document(contact)


def test_an_updated_contact_without_a_document_gets_one(admin_user):
    contact = make_contact(first_name="Ada", last_name="Lovelace", emails=["ada@example.com"])
    SearchDocument.objects.filter(kind="contact", obj_id=contact.pk).delete()
    job = run_import(admin_user, "first_name,email\nAugusta,ada@example.com\n")
    assert job.updated == 1
    assert found(admin_user, "augusta lovelace") == ["Augusta Lovelace"]
    assert stored_document(contact) == expected_document(contact)
