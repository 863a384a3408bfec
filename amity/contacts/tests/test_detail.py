"""The customer 360 page and the company page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from amity import testing
from amity.contacts import services as contact_services
from amity.core.models import CustomFieldDefinition
from amity.timeline import services as timeline_services

pytestmark = pytest.mark.django_db


def _url(contact):
    return reverse("contacts:detail", args=[contact.uuid])


@pytest.fixture
def readonly_client(db, team):
    from django.test import Client

    client = Client()
    client.force_login(testing.make_user("readonly", team=team, full_name="Rita Readonly"))
    return client


@pytest.fixture
def ann(db):
    return testing.make_user("sales", full_name="Ann Archer", email="ann@example.com")


def test_header_shows_key_facts(admin_client, sales_user):
    company = testing.make_company(name="Bluebird Coffee")
    contact = testing.make_contact(
        owner=sales_user, first_name="Mei", last_name="Lin", job_title="Buyer", company=company,
        lifecycle_stage="customer", emails=["mei@bluebird.example"], phones=["+14155550123"],
        tags=["VIP"], do_not_contact=True, time_zone="Asia/Shanghai", source="Referral",
    )
    response = admin_client.get(_url(contact))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Mei Lin" in html and "Buyer" in html
    assert reverse("contacts:company_detail", args=[company.uuid]) in html
    assert "badge-customer" in html
    assert "Sam Sales" in html  # owner
    assert "USD 0.00" in html
    assert 'href="mailto:mei@bluebird.example"' in html
    assert 'href="tel:+14155550123"' in html and "+1 415-555-0123" in html
    assert "VIP" in html
    assert "Do not contact." in html
    assert reverse("contacts:edit", args=[contact.uuid]) in html
    assert "there now" in html and "Referral" in html


def test_value_so_far_and_last_contact(admin_client, admin_user):
    contact = testing.make_contact()
    type(contact).objects.filter(pk=contact.pk).update(lifetime_value="1234.50")
    timeline_services.log_interaction(actor=admin_user, kind="call", contact=contact, outcome="connected",
                                      occurred_at=timezone.now() - dt.timedelta(days=3))
    html = admin_client.get(_url(contact)).content.decode()
    assert "USD 1,234.50" in html
    assert "3\xa0days ago" in html or "3 days ago" in html


def test_preferences_newest_first_with_who_and_when(admin_client, admin_user, ann):
    contact = testing.make_contact()
    contact_services.add_preference(actor=admin_user, contact=contact, text="oat milk")
    contact_services.add_preference(actor=ann, contact=contact, text="now prefers unsweetened")
    archived = contact_services.add_preference(actor=ann, contact=contact, text="likes jazz")
    contact_services.archive_preference(actor=ann, preference=archived)
    html = admin_client.get(_url(contact)).content.decode()
    prefs = html[html.index('id="preferences"'):html.index('id="quick-actions"')]
    assert prefs.index("now prefers unsweetened") < prefs.index("oat milk")
    assert "by Ann Archer" in prefs
    assert "likes jazz" not in prefs  # archived: only on the timeline now
    assert "Preference archived" in html


def test_anniversary_today_stands_out_and_birthday_soon(admin_client):
    today = timezone.localdate()
    soon = today + dt.timedelta(days=3)
    contact = testing.make_contact(
        birthday=f"{soon.year - 36}-{soon.month:02d}-{soon.day:02d}",
        special_dates=[{"kind": "anniversary", "label": "Wedding anniversary",
                        "date": f"{today.year - 10}-{today.month:02d}-{today.day:02d}"}],
    )
    html = admin_client.get(_url(contact)).content.decode()
    assert "sd sd-today sd-anniversary" in html
    assert "Wedding anniversary today!" in html
    assert "10th anniversary" in html
    assert "turns 36" in html and "in 3 days" in html


def test_custom_fields_shown(admin_client):
    CustomFieldDefinition.objects.create(object_type="contact", key="coffee", label="Favourite coffee",
                                         field_type="text")
    contact = testing.make_contact(custom={"coffee": "Flat white"})
    html = admin_client.get(_url(contact)).content.decode()
    assert "Favourite coffee" in html and "Flat white" in html


def test_timeline_shows_every_kind(admin_client, admin_user):
    contact = testing.make_contact(source="Website")
    timeline_services.add_note(actor=admin_user, contact=contact, body="Met at the fair")
    timeline_services.log_interaction(actor=admin_user, kind="call", contact=contact, outcome="left_voicemail",
                                      duration_seconds=300)
    timeline_services.log_interaction(actor=admin_user, kind="email", contact=contact, subject="Quote sent")
    timeline_services.log_interaction(actor=admin_user, kind="meeting", contact=contact, subject="Tasting")
    timeline_services.log_interaction(actor=admin_user, kind="chat", contact=contact, body="WeChat hello")
    task = timeline_services.create_task(actor=admin_user, title="Send samples", contact=contact)
    timeline_services.set_task_done(actor=admin_user, task=task)
    contact_services.add_preference(actor=admin_user, contact=contact, text="decaf after 3pm")
    html = admin_client.get(_url(contact)).content.decode()
    for text in ["Met at the fair", "Left voicemail", "5 min", "Quote sent", "Tasting", "WeChat hello",
                 "Task created", "Task completed", "Send samples", "Preference recorded", "decaf after 3pm",
                 "Contact created", "Source: Website"]:
        assert text in html, text
    assert "Ada Admin" in html  # actor


def test_field_change_rendering(admin_client, admin_user, sales_user, ann):
    contact = testing.make_contact(owner=ann)
    contact_services.update_contact(actor=admin_user, contact=contact,
                                    data={"owner": sales_user, "lifecycle_stage": "customer"})
    html = admin_client.get(_url(contact)).content.decode()
    assert "Details changed" in html
    assert '<span class="tl-field">Owner:</span> <span class="tl-before">Ann Archer</span>' in html
    assert '<span class="tl-after">Sam Sales</span>' in html
    assert "Lifecycle stage:" in html and "Customer" in html


def test_first_30_entries_only_and_load_more(admin_client, admin_user):
    contact = testing.make_contact()
    for i in range(35):
        timeline_services.add_note(actor=admin_user, contact=contact, body=f"note number {i:02d}")
    html = admin_client.get(_url(contact)).content.decode()
    assert html.count('class="timeline-item') == 30
    assert "note number 34" in html and "note number 05" in html and "note number 04" not in html
    assert "Load more" in html


def test_query_count_does_not_grow_with_timeline(admin_client, admin_user, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count_for(n):
        contact = testing.make_contact(emails=[f"q{n}@example.com"], tags=["a"])
        for i in range(n):
            kind = ["note", "call", "task", "pref"][i % 4]
            if kind == "note":
                timeline_services.add_note(actor=admin_user, contact=contact, body=f"n{i}")
            elif kind == "call":
                timeline_services.log_interaction(actor=admin_user, kind="call", contact=contact)
            elif kind == "task":
                timeline_services.create_task(actor=admin_user, title=f"t{i}", contact=contact)
            else:
                contact_services.add_preference(actor=admin_user, contact=contact, text=f"p{i}")
        admin_client.get(_url(contact))  # warm caches (content types, sessions)
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(_url(contact)).status_code == 200
        return len(ctx.captured_queries)

    assert count_for(5) == count_for(60)


def test_unknown_filter_is_400(admin_client):
    contact = testing.make_contact()
    assert admin_client.get(_url(contact) + "?cursor=garbage").status_code == 400


def test_sales_user_gets_404_for_other_teams_contact_and_company(sales_client, other_team):
    stranger = testing.make_user("sales", team=other_team)
    contact = testing.make_contact(owner=stranger)
    company = testing.make_company(owner=stranger)
    assert sales_client.get(_url(contact)).status_code == 404
    assert sales_client.get(reverse("contacts:company_detail", args=[company.uuid])).status_code == 404


def test_sales_user_sees_own_team_contact(sales_client, sales_user):
    contact = testing.make_contact(owner=sales_user)
    assert sales_client.get(_url(contact)).status_code == 200


def test_anonymous_is_sent_to_login(client):
    contact = testing.make_contact()
    response = client.get(_url(contact))
    assert response.status_code == 302 and "login" in response["Location"]


def test_company_page(admin_client, admin_user, sales_user):
    company = testing.make_company(name="Bluebird Coffee", domain="bluebird.example", industry="Food",
                                   size="11-50", owner=sales_user, phone="+14155550199", city="Oakland",
                                   tags=["Wholesale"])
    people = [testing.make_contact(company=company, first_name=f"P{i}") for i in range(3)]
    timeline_services.add_note(actor=admin_user, company=company, body="Company-wide price list sent")
    timeline_services.create_task(actor=admin_user, title="Renew contract", company=company)
    timeline_services.add_note(actor=admin_user, contact=people[0], body="Person note shows on company too")
    response = admin_client.get(reverse("contacts:company_detail", args=[company.uuid]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Bluebird Coffee" in html and 'href="https://bluebird.example"' in html
    assert "Food" in html and "11–50 employees" in html and "Sam Sales" in html and "Wholesale" in html
    assert "+1 415-555-0199" in html and "Oakland" in html
    for person in people:
        assert reverse("contacts:detail", args=[person.uuid]) in html
    assert 'id="people-title">People <span class="muted">3</span>' in html
    assert "Company-wide price list sent" in html and "Renew contract" in html
    assert "Person note shows on company too" in html


def test_readonly_sees_page_without_quick_actions(readonly_client):
    contact = testing.make_contact()
    html = readonly_client.get(_url(contact)).content.decode()
    assert "Your role can view this record but not add to it." in html
    assert reverse("timeline:add_note", args=["contact", contact.uuid]) not in html
