"""`amity demo`: the generated workspace looks like what the services produce, and the command is safe to rerun."""

from __future__ import annotations

import re
from io import StringIO

import phonenumbers
import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Max
from django.utils import timezone

from amity import testing
from amity.accounts.models import User
from amity.contacts.models import Company, Contact, ContactEmail, ContactPhone, SpecialDate
from amity.core import search
from amity.core.models import Event, SearchDocument
from amity.core.normalize import display_name, is_cjk
from amity.timeline import selectors as timeline_selectors
from amity.timeline.models import Interaction

PASSWORD_LINE = re.compile(r"Log in as admin@example\.com with password (\S+)")


def run_demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def demo_output(db) -> str:
    return run_demo("--contacts", "60")


def test_demo_creates_contacts_with_unique_lowercase_emails(demo_output):
    assert Contact.objects.count() == 60
    emails = list(ContactEmail.objects.values_list("email", flat=True))
    assert len(emails) == len(set(emails)) >= 55
    assert all(e == e.lower() and "@" in e for e in emails)
    # The primary email is denormalised on the contact, like the services do.
    for contact in Contact.objects.prefetch_related("emails"):
        primary = [e.email for e in contact.emails.all() if e.is_primary]
        assert contact.email == (primary[0] if primary else "")


def test_demo_phones_are_valid_e164(demo_output):
    numbers = list(ContactPhone.objects.values_list("number", flat=True))
    assert len(numbers) >= 30
    for number in numbers:
        parsed = phonenumbers.parse(number)
        assert phonenumbers.is_valid_number(parsed), number
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == number
    for contact in Contact.objects.prefetch_related("phones"):
        primary = [p.number for p in contact.phones.all() if p.is_primary]
        assert contact.phone == (primary[0] if primary else "")


def test_demo_has_chinese_and_english_names(demo_output):
    contacts = list(Contact.objects.all())
    chinese = [c for c in contacts if is_cjk(c.display_name)]
    english = [c for c in contacts if c.display_name.isascii()]
    assert chinese and english
    for contact in contacts:
        assert contact.display_name == display_name(contact.first_name, contact.last_name)
    # Family name first, no space: 王小明.
    sample = chinese[0]
    assert sample.display_name == f"{sample.last_name}{sample.first_name}"


def test_demo_search_documents_match_the_services_and_are_searchable(demo_output):
    admin = User.objects.get(email="admin@example.com")
    for contact in Contact.objects.select_related("company").prefetch_related("emails", "phones"):
        doc = SearchDocument.objects.get(kind="contact", obj_id=contact.pk)
        title, body = search.contact_document(contact, [e.email for e in contact.emails.all()],
                                              [p.number for p in contact.phones.all()])
        assert (doc.title, doc.body) == (title, body)
    for company in Company.objects.all():
        doc = SearchDocument.objects.get(kind="company", obj_id=company.pk)
        assert (doc.title, doc.body) == search.company_document(company)
    chinese = next(c for c in Contact.objects.all() if is_cjk(c.display_name))
    english = next(c for c in Contact.objects.all() if c.display_name.isascii())
    for contact in (chinese, english):
        hits = search.search(admin, contact.display_name, limit=50)
        assert contact.pk in {h.obj.pk for h in hits if h.kind == "contact"}


def test_demo_timeline_shows_creation_and_interactions(demo_output):
    contact = (Contact.objects.annotate(n=Count("interactions")).filter(n__gte=2).order_by("-n").first())
    assert contact is not None
    page = timeline_selectors.timeline(contact=contact, params={}, limit=50)
    types = [e.type for e in page.items]
    assert "contact.created" in types
    logged = [e for e in page.items if e.type.endswith(".logged") or e.type == "note.created"]
    assert len(logged) == contact.interactions.count()
    assert all(e.interaction is not None for e in logged)
    # History, not work for the worker.
    assert not Event.objects.filter(status="pending").exists()


def test_demo_last_contact_and_value_follow_interactions(demo_output):
    for contact in Contact.objects.all():
        last = (Interaction.objects.filter(contact=contact).exclude(kind="note")
                .aggregate(last=Max("occurred_at"))["last"])
        assert contact.last_contacted_at == last
        if contact.lifecycle_stage in {"customer", "advocate", "churned"}:
            assert contact.lifetime_value > 0
        else:
            assert contact.lifetime_value == 0


def test_demo_users_roles_teams_and_showcase_data(demo_output):
    admin = User.objects.get(email="admin@example.com")
    assert admin.is_superuser and admin.role.key == "admin"
    assert User.objects.count() == 13
    for team in ("North", "South"):
        roles = sorted(User.objects.filter(team__name=team).values_list("role__key", flat=True))
        assert roles == ["manager", "marketing", "readonly", "sales", "sales", "support"]
    assert User.objects.get(email="sam.sales@example.com").team.name == "North"
    today = timezone.localdate()
    assert SpecialDate.objects.filter(kind="birthday", month=today.month, day=today.day).exists()
    tasks = timeline_selectors.my_tasks(user=admin)
    assert tasks["overdue"] and tasks["today"] and tasks["upcoming"]
    assert Contact.objects.filter(tags__name="vip").exists() or Contact.objects.filter(tags__isnull=False).exists()


def test_demo_prints_only_the_admin_password_once(demo_output):
    passwords = PASSWORD_LINE.findall(demo_output)
    assert len(passwords) == 1
    assert "http://127.0.0.1:8000/" in demo_output
    assert demo_output.count("password") == 1
    assert User.objects.get(email="admin@example.com").check_password(passwords[0])
    # Every other demo user has a password too, but it is never shown.
    assert all(u.has_usable_password() for u in User.objects.all())


def test_demo_if_empty_on_a_non_empty_workspace_creates_nothing(demo_output):
    before = (Contact.objects.count(), User.objects.count(), Event.objects.count())
    output = run_demo("--if-empty", "--contacts", "10")
    assert (Contact.objects.count(), User.objects.count(), Event.objects.count()) == before
    assert "Log in as admin@example.com" in output
    assert "changepassword" in output and "with password" not in output


def test_demo_refuses_a_non_empty_workspace_unless_appending(db):
    testing.make_user("admin", email="someone@example.com")
    with pytest.raises(CommandError, match="--append"):
        run_demo("--contacts", "5")
    assert Contact.objects.count() == 0
    output = run_demo("--contacts", "5", "--companies", "3", "--append")
    assert Contact.objects.count() == 5
    assert PASSWORD_LINE.search(output)  # the demo admin did not exist yet


def test_demo_append_keeps_emails_unique_and_services_keep_working(demo_output):
    run_demo("--contacts", "40", "--append", "--seed", "42")
    emails = list(ContactEmail.objects.values_list("email", flat=True))
    assert len(emails) == len(set(emails))
    assert Contact.objects.count() == 100
    # Ids were set explicitly; new rows from the services must not collide with them (PostgreSQL sequences).
    contact = testing.make_contact(first_name="Nach", last_name="Demo", emails=["nach.demo@example.com"])
    assert contact.pk > Contact.objects.exclude(pk=contact.pk).aggregate(top=Max("pk"))["top"]


def test_demo_if_empty_on_an_empty_workspace_builds_it(db):
    output = run_demo("--if-empty", "--contacts", "8", "--companies", "4")
    assert Contact.objects.count() == 8 and Company.objects.count() == 4
    assert PASSWORD_LINE.search(output)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_demo_bulk_load_path_indexes_search_and_keeps_the_trigger():
    """Outside a transaction (the real command) rows are generated in a second process and, on SQLite, the
    search index is rebuilt once at the end; afterwards the services index new records as usual."""
    from amity.core import demo

    result = demo.build_demo(contacts=30, companies=6, parallel=True)
    assert result.admin_password and Contact.objects.count() == 30
    admin = User.objects.get(email="admin@example.com")
    contact = Contact.objects.order_by("id").last()
    assert contact.pk in {h.obj.pk for h in search.search(admin, contact.display_name, limit=50)}
    added = testing.make_contact(first_name="Zebulon", last_name="Quixote")
    assert added.pk in {h.obj.pk for h in search.search(admin, "Zebulon Quix")}
