"""Two-click logging from contact, company and deal pages: calls, meetings (with .ics invitations), emails, notes,
and the follow-up task offered afterwards."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.urls import reverse
from icalendar import Calendar

from amity import testing
from amity.core.events import dispatch_pending
from amity.core.models import Event
from amity.sales import services as sales_services
from amity.sales.models import Deal, Pipeline
from amity.timeline import services
from amity.timeline.models import Interaction, Task

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 7, 1, 14, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def deal(sales_user):
    company = testing.make_company(owner=sales_user, name="Acme")
    first = testing.make_contact(owner=sales_user, first_name="Bea", last_name="Buyer", company=company,
                                 emails=[{"email": "bea@acme-corp.com"}])
    second = testing.make_contact(owner=sales_user, first_name="Carl", last_name="Cfo", company=company,
                                  emails=[{"email": "carl@acme-corp.com"}])
    with time_machine.travel(NOW - dt.timedelta(days=30), tick=False):
        created = sales_services.create_deal(actor=sales_user, data={
            "name": "Acme renewal", "pipeline": Pipeline.objects.get(is_default=True), "amount": "1000",
            "currency": "USD", "company": company, "contacts": [first], "owner": sales_user,
        })
    created.contacts.add(second)
    return created


@pytest.fixture
def foreign_deal(other_team):
    stranger = testing.make_user("sales", team=other_team)
    return sales_services.create_deal(actor=stranger, data={
        "name": "Their deal", "pipeline": Pipeline.objects.get(is_default=True), "amount": "5", "currency": "USD",
        "owner": stranger})


def url(name, obj, kind="deal"):
    return reverse(f"timeline:{name}", args=[kind, obj.uuid])


def test_call_on_a_deal_links_deal_company_first_contact_and_touches_the_deal(sales_client, deal):
    with time_machine.travel(NOW, tick=False):
        response = sales_client.post(url("log_interaction", deal), {
            "kind": "call", "outcome": "connected", "duration_minutes": "12", "body": "Agreed on the price"})
    assert response.status_code == 302 and response["Location"] == reverse("sales:detail", args=[deal.uuid])
    call = Interaction.objects.get(kind="call")
    assert call.deal == deal and call.company == deal.company and call.contact.first_name == "Bea"
    assert call.duration_seconds == 720 and call.outcome == "connected"
    event = Event.objects.get(type="call.logged")
    assert event.deal_id == deal.pk and event.company_id == deal.company_id and event.contact_id == call.contact_id
    assert Deal.objects.get(pk=deal.pk).last_activity_at == NOW
    call.contact.refresh_from_db()
    assert call.contact.last_contacted_at == NOW


def test_note_on_a_deal(sales_client, deal):
    sales_client.post(url("add_note", deal), {"body": "Budget approved"})
    note = Interaction.objects.get(kind="note")
    assert note.deal == deal
    assert Event.objects.get(type="note.created").deal_id == deal.pk


def test_email_with_direction(sales_client, deal):
    sales_client.post(url("log_interaction", deal), {"kind": "email", "subject": "Proposal", "direction": "received",
                                                     "body": "They replied"})
    email = Interaction.objects.get(kind="email")
    assert email.subject == "Proposal" and email.outcome == "received"


def test_htmx_call_returns_panels_and_offers_a_follow_up_next_business_day(sales_client, sales_user, deal):
    sales_user.time_zone = "America/New_York"
    sales_user.save()
    friday = dt.datetime(2026, 7, 3, 20, 0, tzinfo=UTC)  # Friday 16:00 in New York
    with time_machine.travel(friday, tick=False):
        response = sales_client.post(url("log_interaction", deal), {"kind": "call", "outcome": "no_answer"},
                                     HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="quick-actions"' in html and 'id="timeline"' in html and 'id="tasks"' in html
    assert "Follow up?" in html and "data-followup" in html
    assert 'value="2026-07-06T09:00"' in html  # Monday 9:00, the user's time zone
    assert "Follow up on the call with Acme renewal" in html
    assert reverse("timeline:add_task", args=["deal", deal.uuid]) in html


def test_meeting_follow_up_is_two_business_days_later(sales_client, deal):
    with time_machine.travel(NOW, tick=False):  # Wednesday
        html = sales_client.post(url("log_interaction", deal), {"kind": "meeting", "subject": "Demo"},
                                 HTTP_HX_REQUEST="true").content.decode()
    assert 'value="2026-07-03T09:00"' in html  # Friday


def test_follow_up_offer_is_one_click_to_add(sales_client, sales_user, deal):
    response = sales_client.post(url("add_task", deal), {
        "title": "Follow up on the call with Acme renewal", "due_at": "2026-07-06T09:00", "priority": "normal",
        "remind_minutes_before": "15"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    task = Task.objects.get()
    assert task.deal == deal and task.assignee == sales_user and task.remind_minutes_before == 15
    assert "Follow up on the call" in response.content.decode()  # in the open tasks panel now
    assert Event.objects.get(type="task.created").deal_id == deal.pk


def test_meeting_with_attendees_and_emailed_ics_invitation(smtp_server, sales_client, sales_user, deal):
    bea, carl = deal.contacts.order_by("first_name")
    with time_machine.travel(NOW, tick=False):
        response = sales_client.post(url("log_interaction", deal), {
            "kind": "meeting", "subject": "Contract review", "occurred_at": "2026-07-08T15:00",
            "duration_minutes": "45", "location": "Acme HQ, room 4", "attendees": [str(bea.uuid), str(carl.uuid)],
            "send_invitation": "on", "body": "Bring the redlines"})
    assert response.status_code == 302, response.content.decode()[:2000]
    meeting = Interaction.objects.get(kind="meeting")
    assert set(meeting.attendees.all()) == {bea, carl} and meeting.deal == deal
    event = Event.objects.get(type="meeting.logged")
    assert event.deal_id == deal.pk and event.payload["location"] == "Acme HQ, room 4"
    assert smtp_server.messages == []  # sent by the worker, not inside the request
    dispatch_pending()
    [message] = smtp_server.messages
    assert sorted(a.strip() for a in message["To"].split(",")) == ["bea@acme-corp.com", "carl@acme-corp.com"]
    assert message["Reply-To"] == sales_user.email
    assert "Contract review" in message["Subject"]
    ics_parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(ics_parts) == 1 and ics_parts[0].get_param("method") == "REQUEST"
    assert ics_parts[0].get_filename() == "invite.ics"
    calendar = Calendar.from_ical(ics_parts[0].get_payload(decode=True))
    assert str(calendar["METHOD"]) == "REQUEST"
    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["UID"]) == f"{meeting.uuid}@amity"
    assert vevent.decoded("DTSTART") == dt.datetime(2026, 7, 8, 15, 0, tzinfo=UTC)  # user zone is UTC
    assert vevent.decoded("DTEND") == dt.datetime(2026, 7, 8, 15, 45, tzinfo=UTC)
    assert vevent["DTSTART"].to_ical().endswith(b"Z")
    assert str(vevent["ORGANIZER"]) == f"mailto:{sales_user.email}"
    attendees = vevent["ATTENDEE"]
    assert sorted(str(a) for a in attendees) == ["mailto:bea@acme-corp.com", "mailto:carl@acme-corp.com"]
    assert str(vevent["LOCATION"]) == "Acme HQ, room 4" and str(vevent["SUMMARY"]) == "Contract review"
    Event.objects.filter(pk=event.pk).update(status="pending", lease_until=None)
    dispatch_pending()  # a redelivered event does not send the invitation again
    assert len(smtp_server.messages) == 1


def test_meeting_time_in_the_users_zone_becomes_utc_in_the_invitation(smtp_server, sales_client, sales_user, deal):
    sales_user.time_zone = "Europe/Berlin"
    sales_user.save()
    bea = deal.contacts.get(first_name="Bea")
    with time_machine.travel(NOW, tick=False):
        sales_client.post(url("log_interaction", deal), {
            "kind": "meeting", "subject": "Call", "occurred_at": "2026-07-08T15:00", "attendees": [str(bea.uuid)],
            "send_invitation": "on"})
    dispatch_pending()
    part = next(p for p in smtp_server.messages[0].walk() if p.get_content_type() == "text/calendar")
    vevent = Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
    assert vevent.decoded("DTSTART") == dt.datetime(2026, 7, 8, 15, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))


def test_invitation_needs_an_attendee_with_email(sales_client, deal):
    response = sales_client.post(url("log_interaction", deal), {"kind": "meeting", "subject": "Demo",
                                                                "send_invitation": "on"})
    assert response.status_code == 400
    assert "Choose at least one attendee" in response.content.decode()
    assert not Interaction.objects.exists()


def test_attendee_outside_the_choices_is_refused(sales_client, sales_user, deal):
    outsider = testing.make_contact(owner=sales_user, first_name="Out", last_name="Sider")
    response = sales_client.post(url("log_interaction", deal), {"kind": "meeting", "attendees": [str(outsider.uuid)]})
    assert response.status_code == 400 and not Interaction.objects.exists()


def test_meeting_attendees_on_a_contact_page_are_its_company_colleagues(sales_client, sales_user, deal):
    bea = deal.contacts.get(first_name="Bea")
    # The meeting panel, opened with the page (?panel=meeting) or fetched on its own when its tab is opened.
    page = sales_client.get(reverse("contacts:detail", args=[bea.uuid]), {"panel": "meeting"}).content.decode()
    panel = sales_client.get(reverse("timeline:quick_panel", args=["contact", bea.uuid, "meeting"]),
                             HTTP_HX_REQUEST="true").content.decode()
    for html in (page, panel):
        assert "Carl Cfo" in html and "Attendees" in html


def test_every_new_post_on_another_teams_deal_is_404(sales_client, foreign_deal):
    for name, data in (("add_note", {"body": "x"}), ("log_interaction", {"kind": "call"}),
                       ("add_task", {"title": "x", "priority": "normal"})):
        assert sales_client.post(url(name, foreign_deal), data).status_code == 404
    assert sales_client.get(url("timeline_partial", foreign_deal)).status_code == 404
    for panel in ("note", "call", "meeting", "email", "task"):
        assert sales_client.get(reverse("timeline:quick_panel", args=["deal", foreign_deal.uuid, panel])).status_code == 404
    assert not Interaction.objects.exists() and not Task.objects.exists()


def test_deal_quick_panel_posts_to_the_deal_and_invites_its_contacts(sales_client, deal):
    call = sales_client.get(reverse("timeline:quick_panel", args=["deal", deal.uuid, "call"])).content.decode()
    assert f'hx-post="{url("log_interaction", deal)}"' in call
    assert "Also shown on the deal's company and first contact." in call
    meeting = sales_client.get(reverse("timeline:quick_panel", args=["deal", deal.uuid, "meeting"])).content.decode()
    assert "Bea Buyer" in meeting and "Carl Cfo" in meeting


def test_another_teams_contact_is_404_too(sales_client, other_team):
    stranger = testing.make_user("sales", team=other_team)
    contact = testing.make_contact(owner=stranger, first_name="Far")
    assert sales_client.post(url("log_interaction", contact, "contact"), {"kind": "meeting"}).status_code == 404


def test_readonly_gets_403_on_deal_writes(readonly_client, deal):
    for name, data in (("add_note", {"body": "x"}), ("log_interaction", {"kind": "call"}),
                       ("add_task", {"title": "x", "priority": "normal"})):
        assert readonly_client.post(url(name, deal), data).status_code == 403
    assert not Interaction.objects.exists() and not Task.objects.exists()


def test_deal_timeline_partial_shows_the_logged_call(sales_client, deal):
    sales_client.post(url("log_interaction", deal), {"kind": "call", "outcome": "connected", "body": "Spoke to Bea"})
    html = sales_client.get(url("timeline_partial", deal)).content.decode()
    assert "Spoke to Bea" in html and "Connected" in html


def test_plain_post_error_on_a_deal_shows_the_form_again(sales_client, deal):
    response = sales_client.post(url("add_task", deal), {"title": "", "priority": "normal"})
    assert response.status_code == 400 and "Give the task a title." in response.content.decode()


def test_future_meeting_does_not_move_last_contacted(sales_client, deal):
    bea = deal.contacts.get(first_name="Bea")
    with time_machine.travel(NOW, tick=False):
        sales_client.post(url("log_interaction", deal), {"kind": "meeting", "occurred_at": "2026-08-01T10:00",
                                                         "attendees": [str(bea.uuid)]})
    bea.refresh_from_db()
    assert bea.last_contacted_at is None or bea.last_contacted_at <= NOW


def test_a_future_call_is_still_refused(sales_user, deal):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        services.log_interaction(actor=sales_user, kind="call", deal=deal,
                                 occurred_at=dt.datetime.now(UTC) + dt.timedelta(days=3))
    assert "occurred_at" in exc.value.message_dict
