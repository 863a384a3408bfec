"""Quick actions, the timeline partial, @mentions, tasks, permissions and My day."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from amity import testing
from amity.accounts.models import Notification
from amity.contacts import services as contact_services
from amity.contacts.models import Preference
from amity.core.events import dispatch_pending
from amity.timeline import services
from amity.timeline.models import Interaction, Task

pytestmark = pytest.mark.django_db


def detail(contact):
    return reverse("contacts:detail", args=[contact.uuid])


def url(name, contact, kind="contact"):
    return reverse(f"timeline:{name}", args=[kind, contact.uuid])


@pytest.fixture
def contact(sales_user):
    return testing.make_contact(owner=sales_user, first_name="Mei", last_name="Lin")


@pytest.fixture
def bob(db, team):
    return testing.make_user("sales", team=team, full_name="Bob Baker", email="bob@example.com")


# --- notes and mentions ---------------------------------------------------------------------------------------

def test_note_with_mention_notifies_and_shows_on_timeline(sales_client, contact, bob):
    response = sales_client.post(url("add_note", contact), {"body": "Ask @bob about\nthe samples"})
    assert response.status_code == 302 and response["Location"] == detail(contact)
    note = Interaction.objects.get(contact=contact, kind="note")
    assert list(note.mentions.all()) == [bob]
    notification = Notification.objects.get(user=bob, kind="mention")
    assert "Mei Lin" in notification.text and notification.url == detail(contact)
    html = sales_client.get(detail(contact)).content.decode()
    assert 'Ask <span class="mention">@bob</span> about<br>the samples' in html


def test_mention_email_is_sent_by_the_worker_over_smtp(smtp_server, sales_client, contact, bob):
    sales_client.post(url("add_note", contact), {"body": "@bob can you call her back?"})
    assert smtp_server.messages == []  # nothing is sent inside the request
    dispatch_pending()
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "bob@example.com"
    assert "mentioned you" in message["Subject"]
    dispatch_pending()  # a redelivery does not send it twice
    assert len(smtp_server.messages) == 1


def test_note_body_is_escaped(sales_client, contact):
    sales_client.post(url("add_note", contact), {"body": '<script>alert("x")</script> <b>@nobody</b>'})
    html = sales_client.get(detail(contact)).content.decode()
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;b&gt;" in html


def test_empty_note_shows_the_reason_in_the_form(sales_client, contact):
    response = sales_client.post(url("add_note", contact), {"body": "   "})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Write something in the note." in html and "field-error" in html
    assert not Interaction.objects.filter(contact=contact).exists()


def test_htmx_note_returns_the_refreshed_panels(sales_client, contact):
    response = sales_client.post(url("add_note", contact), {"body": "htmx note"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="timeline" hx-swap-oob="true"' in html and "htmx note" in html
    assert 'id="quick-actions" hx-swap-oob="true"' in html
    assert 'id="stats" hx-swap-oob="true"' in html


def test_htmx_error_comes_back_in_the_form(sales_client, contact):
    response = sales_client.post(url("log_interaction", contact),
                                 {"kind": "call", "duration_minutes": "-5"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps only successful responses
    assert 'aria-controls="qa-pane-call" aria-selected="true"' in html  # the call tab is open again
    call_form = html[html.index('<form class="qa-panel qa-panel-call"'):]
    call_form = call_form[:call_form.index("</form>")]
    assert "field-error" in call_form and "greater than or equal to 0" in call_form
    assert 'value="-5"' in call_form  # what was typed is kept


def test_note_on_company(sales_client, sales_user):
    company = testing.make_company(owner=sales_user)
    response = sales_client.post(url("add_note", company, "company"), {"body": "Company note"})
    assert response["Location"] == reverse("contacts:company_detail", args=[company.uuid])
    assert Interaction.objects.get(company=company).body == "Company note"


def test_mention_suggest(sales_client, bob):
    testing.make_user("sales", full_name="Gone Away", email="gone@example.com", is_active=False)
    data = sales_client.get(reverse("timeline:mention_suggest"), {"q": "bo"}).json()
    assert data == {"results": [{"handle": "bob", "name": "Bob Baker"}]}
    names = [r["handle"] for r in sales_client.get(reverse("timeline:mention_suggest"), {"q": "go"}).json()["results"]]
    assert "gone" not in names


# --- quick-action panels -------------------------------------------------------------------------------------------

PANEL_FORMS = {  # what only that panel's form has
    "note": 'name="body" cols="40" rows="3"', "call": 'name="outcome"', "meeting": 'name="attendees"',
    "email": 'name="direction"', "task": 'name="recurrence"',
}


def panel_url(obj, panel, kind="contact"):
    return reverse("timeline:quick_panel", args=[kind, obj.uuid, panel])


def test_page_renders_only_the_open_panel_and_links_the_others(sales_client, contact):
    html = sales_client.get(detail(contact)).content.decode()
    assert PANEL_FORMS["note"] in html
    assert not any(PANEL_FORMS[p] in html for p in ("call", "meeting", "email", "task"))
    for panel in ("call", "meeting", "email", "task"):
        # A link that reopens the page with that panel (no JavaScript), and the panel's own URL for htmx.
        assert f'href="{detail(contact)}?panel={panel}#quick-actions"' in html
        assert f'hx-get="{panel_url(contact, panel)}" hx-trigger="qa-open once"' in html
    assert 'aria-controls="qa-pane-note" aria-selected="true"' in html


@pytest.mark.parametrize("panel", ["call", "meeting", "email", "task"])
def test_panel_in_the_query_string_opens_with_the_page(sales_client, contact, panel):
    html = sales_client.get(detail(contact), {"panel": panel}).content.decode()
    assert PANEL_FORMS[panel] in html and PANEL_FORMS["note"] not in html
    assert f'aria-controls="qa-pane-{panel}" aria-selected="true"' in html


def test_unknown_panel_in_the_query_string_opens_the_note(sales_client, contact):
    html = sales_client.get(detail(contact), {"panel": "<script>"}).content.decode()
    assert PANEL_FORMS["note"] in html and "&lt;script&gt;" not in html


@pytest.mark.parametrize("panel,action", [("note", "add_note"), ("call", "log_interaction"),
                                          ("meeting", "log_interaction"), ("email", "log_interaction"),
                                          ("task", "add_task")])
def test_quick_panel_is_the_form_on_its_own(sales_client, contact, panel, action):
    response = sales_client.get(panel_url(contact, panel), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<form class="qa-panel qa-panel-{panel}"') and html.count("<form") == 1
    assert PANEL_FORMS[panel] in html and f'hx-post="{url(action, contact)}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert f'id="{panel}_' in html  # the same field ids as when it comes with the page


def test_quick_panel_on_a_company(sales_client, sales_user):
    company = testing.make_company(owner=sales_user)
    html = sales_client.get(panel_url(company, "call", "company")).content.decode()
    assert f'hx-post="{url("log_interaction", company, "company")}"' in html


def test_quick_panel_of_another_teams_record_is_404(sales_client, foreign):
    for kind in ("contact", "company"):
        for panel in PANEL_FORMS:
            assert sales_client.get(panel_url(foreign[kind], panel, kind)).status_code == 404, (kind, panel)


def test_quick_panel_for_a_readonly_role_says_it_cannot_add(readonly_client, contact):
    for panel in PANEL_FORMS:
        response = readonly_client.get(panel_url(contact, panel), HTTP_HX_REQUEST="true")
        html = response.content.decode()
        assert response.status_code == 403
        assert "Your role can view this record but not add to it." in html and "<form" not in html


def test_quick_panel_needs_login_get_and_a_known_panel(sales_client, contact):
    assert Client().get(panel_url(contact, "call")).status_code == 302
    assert sales_client.post(panel_url(contact, "call")).status_code == 405
    assert sales_client.get(f"/timeline/contact/{contact.uuid}/quick/sms/").status_code == 404


def test_plain_post_error_reopens_its_panel_on_the_page(sales_client, contact):
    response = sales_client.post(url("log_interaction", contact), {"kind": "email", "direction": "sideways"})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'aria-controls="qa-pane-email" aria-selected="true"' in html
    assert "field-error" in html and PANEL_FORMS["email"] in html and PANEL_FORMS["note"] not in html
    assert not Interaction.objects.filter(contact=contact).exists()


# --- logged interactions ------------------------------------------------------------------------------------------

def test_log_call_updates_last_contact(sales_client, contact):
    response = sales_client.post(url("log_interaction", contact), {
        "kind": "call", "outcome": "connected", "duration_minutes": "12", "body": "Happy with the beans",
    })
    assert response.status_code == 302
    call = Interaction.objects.get(contact=contact, kind="call")
    assert (call.outcome, call.duration_seconds) == ("connected", 720)
    contact.refresh_from_db()
    assert contact.last_contacted_at == call.occurred_at
    html = sales_client.get(detail(contact)).content.decode()
    assert "Connected · 12 min" in html and "just now" in html


@pytest.mark.parametrize("kind,subject", [("meeting", "Tasting session"), ("email", "Your quote")])
def test_log_meeting_and_email(sales_client, contact, kind, subject):
    sales_client.post(url("log_interaction", contact), {"kind": kind, "subject": subject,
                                                        "occurred_at": "2024-05-01T10:30"})
    interaction = Interaction.objects.get(contact=contact, kind=kind)
    assert interaction.subject == subject
    assert interaction.occurred_at.year == 2024


def test_future_interaction_refused_with_reason(sales_client, contact):
    response = sales_client.post(url("log_interaction", contact), {"kind": "call", "occurred_at": "2999-01-01T10:00"})
    assert response.status_code == 400
    assert "cannot be in the future" in response.content.decode()


def test_delete_interaction(sales_client, contact, sales_user):
    note = services.add_note(actor=sales_user, contact=contact, body="oops")
    response = sales_client.post(reverse("timeline:delete_interaction", args=[note.uuid]))
    assert response.status_code == 302
    assert not Interaction.objects.filter(pk=note.pk).exists()
    html = sales_client.get(detail(contact)).content.decode()
    assert "Note deleted" in html and "This entry was deleted." in html


def test_delete_someone_elses_interaction_is_403(sales_client, contact, bob):
    note = services.add_note(actor=bob, contact=contact, body="Bob's")
    assert sales_client.post(reverse("timeline:delete_interaction", args=[note.uuid])).status_code == 403
    assert Interaction.objects.filter(pk=note.pk).exists()


# --- timeline filters and paging ----------------------------------------------------------------------------------

def test_filter_chips(sales_client, contact, sales_user):
    services.add_note(actor=sales_user, contact=contact, body="just a note")
    services.log_interaction(actor=sales_user, kind="call", contact=contact, subject="a call")
    html = sales_client.get(detail(contact), {"type": "calls"}).content.decode()
    assert "a call" in html and "just a note" not in html
    assert 'class="chip chip-active" href="/contacts/' in html
    partial = sales_client.get(url("timeline_partial", contact), {"type": "notes"}, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert "just a note" in body and "a call" not in body
    assert "<html" not in body and 'id="timeline"' in body
    assert 'hx-push-url="/contacts/' in body


def test_bad_filter_is_400(sales_client, contact):
    assert sales_client.get(url("timeline_partial", contact), {"cursor": "nope"}).status_code == 400


def test_load_more_cursor(sales_client, contact, sales_user):
    for i in range(45):
        services.add_note(actor=sales_user, contact=contact, body=f"entry-{i:02d}")
    html = sales_client.get(detail(contact)).content.decode()
    assert "entry-44" in html and "entry-14" not in html
    start = html.index('hx-get="', html.index('id="timeline-more"')) + len('hx-get="')
    next_url = html[start:html.index('"', start)].replace("&amp;", "&")
    more = sales_client.get(next_url, HTTP_HX_REQUEST="true").content.decode()
    assert "entry-14" in more and "entry-44" not in more
    # 45 notes + "contact created" = 46 entries: 30 + 16, so no further page
    assert more.count('class="timeline-item') == 16 and 'id="timeline-more"' not in more


# --- tasks --------------------------------------------------------------------------------------------------------

def test_create_task_in_users_time_zone_and_mark_done(sales_client, sales_user, contact, bob):
    sales_user.time_zone = "Asia/Shanghai"
    sales_user.save()
    response = sales_client.post(url("add_task", contact), {
        "title": "Send samples", "due_at": "2030-03-01T09:00", "assignee": str(bob.uuid), "priority": "high",
    })
    assert response.status_code == 302
    task = Task.objects.get(contact=contact)
    assert task.assignee == bob and task.priority == "high"
    assert task.due_at == dt.datetime(2030, 3, 1, 9, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
    html = sales_client.get(detail(contact)).content.decode()
    assert "Send samples" in html and "Task created" in html

    sales_client.post(reverse("timeline:task_done", args=[task.uuid]), {"done": "1"})
    task.refresh_from_db()
    assert task.done_at is not None
    html = sales_client.get(detail(contact)).content.decode()
    assert "Task completed" in html and "No open tasks." in html


def test_task_without_title_shows_reason(sales_client, contact):
    response = sales_client.post(url("add_task", contact), {"title": "", "priority": "normal"})
    assert response.status_code == 400
    assert "Give the task a title." in response.content.decode()
    assert not Task.objects.exists()


def test_preference_add_and_archive(sales_client, contact):
    sales_client.post(reverse("timeline:add_preference", args=[contact.uuid]), {"text": "oat milk, no sugar"})
    preference = Preference.objects.get(contact=contact)
    assert preference.text == "oat milk, no sugar"
    response = sales_client.post(reverse("timeline:archive_preference", args=[preference.uuid]),
                                 HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="preferences" hx-swap-oob="true"' in response.content.decode()
    preference.refresh_from_db()
    assert preference.archived_at is not None


# --- permissions --------------------------------------------------------------------------------------------------

@pytest.fixture
def foreign(other_team):
    """Another team's contact, company, note, task and preference."""
    stranger = testing.make_user("sales", team=other_team)
    contact = testing.make_contact(owner=stranger)
    company = testing.make_company(owner=stranger)
    return {
        "contact": contact, "company": company,
        "note": services.add_note(actor=stranger, contact=contact, body="secret"),
        "task": services.create_task(actor=stranger, title="secret task", contact=contact),
        "preference": contact_services.add_preference(actor=stranger, contact=contact, text="secret pref"),
    }


def foreign_posts(f):
    c, co = f["contact"], f["company"]
    return [
        (url("add_note", c), {"body": "x"}),
        (url("add_note", co, "company"), {"body": "x"}),
        (url("log_interaction", c), {"kind": "call"}),
        (url("log_interaction", co, "company"), {"kind": "call"}),
        (url("add_task", c), {"title": "x"}),
        (url("add_task", co, "company"), {"title": "x"}),
        (reverse("timeline:task_done", args=[f["task"].uuid]), {"done": "1"}),
        (reverse("timeline:delete_interaction", args=[f["note"].uuid]), {}),
        (reverse("timeline:add_preference", args=[c.uuid]), {"text": "x"}),
        (reverse("timeline:archive_preference", args=[f["preference"].uuid]), {}),
    ]


def test_sales_user_gets_404_on_every_foreign_target(sales_client, foreign):
    before = (Interaction.objects.count(), Task.objects.filter(done_at__isnull=True).count(),
              Preference.objects.filter(archived_at__isnull=True).count())
    for path, data in foreign_posts(foreign):
        assert sales_client.post(path, data).status_code == 404, path
    assert sales_client.get(url("timeline_partial", foreign["contact"])).status_code == 404
    assert sales_client.get(url("timeline_partial", foreign["company"], "company")).status_code == 404
    after = (Interaction.objects.count(), Task.objects.filter(done_at__isnull=True).count(),
             Preference.objects.filter(archived_at__isnull=True).count())
    assert before == after


def test_readonly_gets_403_on_writes(readonly_client, foreign):
    before = Interaction.objects.count()
    assert readonly_client.post(url("add_note", foreign["contact"]), {"body": "hi"}).status_code == 403
    for path, data in foreign_posts(foreign):
        assert readonly_client.post(path, data).status_code == 403, path
    assert Interaction.objects.count() == before
    assert readonly_client.get(url("timeline_partial", foreign["contact"])).status_code == 200


def test_writes_need_post_and_login(sales_client, contact):
    assert sales_client.get(url("add_note", contact)).status_code == 405
    assert Client().post(url("add_note", contact), {"body": "x"}).status_code == 302
    assert Client().get(reverse("timeline:mention_suggest")).status_code == 302


# --- My day -------------------------------------------------------------------------------------------------------

def logged_in(user):
    """A client whose session starts now (inside a time_machine travel, the fixture's session has expired)."""
    client = Client()
    client.force_login(user)
    return client


def test_my_day_buckets_in_the_users_time_zone(sales_user, contact):
    sales_user.time_zone = "America/New_York"
    sales_user.save()
    ny = zoneinfo.ZoneInfo("America/New_York")
    # 22:00 in New York on 10 June is already 11 June in UTC: "today" must follow New York.
    with time_machine.travel(dt.datetime(2030, 6, 10, 22, 0, tzinfo=ny), tick=False):
        make = lambda title, when: services.create_task(actor=sales_user, title=title, due_at=when,  # noqa: E731
                                                        contact=contact)
        make("overdue one", dt.datetime(2030, 6, 10, 9, 0, tzinfo=ny))
        make("later tonight", dt.datetime(2030, 6, 10, 23, 30, tzinfo=ny))
        make("tomorrow morning", dt.datetime(2030, 6, 11, 8, 0, tzinfo=ny))
        make("someday", None)
        birthday = testing.make_contact(owner=sales_user, first_name="Birthday", last_name="Person",
                                        birthday="1990-06-10")
        testing.make_contact(owner=sales_user, first_name="Utc", last_name="Tomorrow", birthday="1990-06-11")
        html = logged_in(sales_user).get(reverse("timeline:my_day")).content.decode()

    def bucket(name):
        start = html.index(f'data-bucket="{name}"')
        return html[start:html.index("</section>", start)]

    assert "overdue one" in bucket("overdue") and "later tonight" not in bucket("overdue")
    assert "later tonight" in bucket("today") and "tomorrow morning" not in bucket("today")
    assert "tomorrow morning" in bucket("upcoming") and "someday" in bucket("upcoming")
    assert reverse("contacts:detail", args=[contact.uuid]) in bucket("overdue")
    assert "myday-overdue" in html
    assert reverse("contacts:detail", args=[birthday.uuid]) in html and "turns 40" in html
    assert "Utc Tomorrow" not in html


def test_my_day_done_toggle_returns_lists(sales_client, sales_user, contact):
    task = services.create_task(actor=sales_user, title="Call back", contact=contact)
    response = sales_client.post(reverse("timeline:task_done", args=[task.uuid]), {"done": "1", "panel": "my_day"},
                                 HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    open_buckets, _sep, done = html.partition('data-bucket="done"')
    assert 'id="my-day-tasks"' in html and "Call back" not in open_buckets  # it moved to "Done today"
    assert "Call back" in done and "Reopen" in done


def test_my_day_hides_other_teams_special_dates(sales_user, other_team):
    stranger = testing.make_user("sales", team=other_team)
    with time_machine.travel(dt.datetime(2030, 6, 10, 12, 0, tzinfo=dt.UTC), tick=False):
        testing.make_contact(owner=stranger, first_name="Hidden", last_name="Birthday", birthday="1990-06-10")
        testing.make_contact(owner=sales_user, first_name="Shown", last_name="Birthday", birthday="1990-06-10")
        html = logged_in(sales_user).get(reverse("timeline:my_day")).content.decode()
    assert "Shown Birthday" in html
    assert "Hidden Birthday" not in html


def test_task_done_on_company_page_refreshes_the_company_panels(sales_client, sales_user):
    company = testing.make_company(owner=sales_user)
    person = testing.make_contact(owner=sales_user, company=company)
    services.add_note(actor=sales_user, company=company, body="company-only note")
    task = services.create_task(actor=sales_user, title="Person task", contact=person)
    company_url = reverse("contacts:company_detail", args=[company.uuid])
    response = sales_client.post(reverse("timeline:task_done", args=[task.uuid]), {"done": "1"},
                                 HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=f"http://testserver{company_url}")
    html = response.content.decode()
    assert "company-only note" in html and 'id="stats"' not in html
    plain = sales_client.post(reverse("timeline:task_done", args=[task.uuid]), {"done": "0"},
                              HTTP_REFERER=f"http://testserver{company_url}")
    assert plain["Location"] == company_url


def test_company_page_queries_do_not_grow(admin_client, admin_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count_for(n):
        company = testing.make_company()
        for i in range(n):
            person = testing.make_contact(company=company)
            services.add_note(actor=admin_user, contact=person, body=f"n{i}")
            services.create_task(actor=admin_user, title=f"t{i}", company=company)
        path = reverse("contacts:company_detail", args=[company.uuid])
        admin_client.get(path)
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(path).status_code == 200
        return len(ctx.captured_queries)

    assert count_for(3) == count_for(25)
