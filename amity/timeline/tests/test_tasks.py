"""Tasks: due times in the user's zone (DST gap refused, fold resolved), reminders, repeats, deals, edit/reopen."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from amity import testing
from amity.core.models import Event
from amity.sales import services as sales_services
from amity.sales.models import Pipeline
from amity.timeline import selectors, services
from amity.timeline.models import Task

pytestmark = pytest.mark.django_db
NY = zoneinfo.ZoneInfo("America/New_York")
UTC = dt.UTC


@pytest.fixture
def ny_user(team):
    return testing.make_user("sales", team=team, full_name="Nora York", email="nora@example.com",
                             time_zone="America/New_York")


@pytest.fixture
def deal(sales_user):
    company = testing.make_company(owner=sales_user, name="Acme")
    buyer = testing.make_contact(owner=sales_user, first_name="Bea", last_name="Buyer", company=company)
    return sales_services.create_deal(actor=sales_user, data={
        "name": "Acme renewal", "pipeline": Pipeline.objects.get(is_default=True), "amount": "1000",
        "currency": "USD", "company": company, "contacts": [buyer], "owner": sales_user,
    })


def test_due_time_is_read_in_the_users_zone_and_reminder_computed(ny_user):
    task = services.create_task(actor=ny_user, title="Call Bea", due_at="2026-07-01T09:00",
                                remind_minutes_before=15)
    assert task.due_at == dt.datetime(2026, 7, 1, 13, 0, tzinfo=UTC)  # EDT is UTC-4
    assert task.remind_at == dt.datetime(2026, 7, 1, 12, 45, tzinfo=UTC)
    assert task.due_note == ""


def test_a_time_in_the_dst_gap_is_refused_on_due_at(ny_user):
    with pytest.raises(ValidationError) as exc:
        services.create_task(actor=ny_user, title="Call Bea", due_at="2026-03-08T02:30")
    assert list(exc.value.message_dict) == ["due_at"]
    message = exc.value.message_dict["due_at"][0]
    assert "2026-03-08 02:30 does not exist in America/New_York" in message
    assert not Task.objects.exists()


def test_an_ambiguous_time_takes_the_first_occurrence_and_says_so(ny_user):
    task = services.create_task(actor=ny_user, title="Call Bea", due_at="2026-11-01T01:30")
    assert task.due_at == dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, not 01:30 EST (06:30 UTC)
    assert "happens twice" in task.due_note and "UTC-0400" in task.due_note


def test_bad_values_are_reported_per_field_and_nothing_is_saved(sales_user):
    with pytest.raises(ValidationError) as exc:
        services.create_task(actor=sales_user, title="", due_at="tomorrowish", priority="urgent",
                             remind_minutes_before=-5, recurrence="yearly")
    assert set(exc.value.message_dict) == {"title", "due_at", "priority", "remind_minutes_before", "recurrence"}
    with pytest.raises(ValidationError) as exc:
        services.create_task(actor=sales_user, title="x", remind_minutes_before=5, recurrence="daily")
    assert "A reminder needs a due date and time." in exc.value.message_dict["due_at"]
    assert "A repeating task needs a due date and time." in exc.value.message_dict["due_at"]
    assert not Task.objects.exists()


def test_task_on_a_deal_takes_its_company_and_is_visible_through_it(sales_user, deal, other_team):
    task = services.create_task(actor=sales_user, title="Send proposal", deal=deal)
    assert task.deal == deal and task.company == deal.company
    event = Event.objects.get(type="task.created", subject_id=task.pk)
    assert event.deal_id == deal.pk
    stranger = testing.make_user("sales", team=other_team)
    assert selectors.tasks_for(sales_user).filter(pk=task.pk).exists()
    assert not selectors.tasks_for(stranger).filter(pk=task.pk).exists()


def test_update_task_rearms_the_reminder_and_reopens(ny_user):
    task = services.create_task(actor=ny_user, title="Call", due_at="2026-07-01T09:00", remind_minutes_before=5)
    Task.objects.filter(pk=task.pk).update(reminder_sent_at=dt.datetime(2026, 7, 1, 12, 55, tzinfo=UTC))
    task.refresh_from_db()
    task = services.update_task(actor=ny_user, task=task, data={"due_at": "2026-07-02T10:00",
                                                                "remind_minutes_before": 60})
    assert task.remind_at == dt.datetime(2026, 7, 2, 13, 0, tzinfo=UTC)
    assert task.reminder_sent_at is None
    assert Event.objects.filter(type="task.updated", subject_id=task.pk).exists()
    services.update_task(actor=ny_user, task=task, data={"done": True})
    assert Task.objects.get(pk=task.pk).done_at is not None
    services.update_task(actor=ny_user, task=task, data={"done": False})
    assert Task.objects.get(pk=task.pk).done_at is None
    with pytest.raises(ValidationError) as exc:
        services.update_task(actor=ny_user, task=task, data={"due_at": "2026-03-08T02:15"})
    assert "does not exist" in exc.value.message_dict["due_at"][0]


def test_readonly_cannot_create_or_update(team, sales_user):
    reader = testing.make_user("readonly", team=team)
    task = services.create_task(actor=sales_user, title="Mine")
    with pytest.raises(PermissionDenied):
        services.create_task(actor=reader, title="Nope")
    with pytest.raises(PermissionDenied):
        services.update_task(actor=reader, task=task, data={"title": "Nope"})


# --- repeating tasks -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("recurrence", "due", "expected_local"), [
    ("daily", "2026-03-07T09:00", dt.datetime(2026, 3, 8, 9, 0)),  # across the DST change: still 9:00 local
    ("weekly", "2026-10-30T09:00", dt.datetime(2026, 11, 6, 9, 0)),
    ("monthly", "2026-01-31T09:00", dt.datetime(2026, 2, 28, 9, 0)),  # month end clamped
    ("monthly", "2028-01-31T09:00", dt.datetime(2028, 2, 29, 9, 0)),  # leap year
    ("monthly", "2026-12-15T09:00", dt.datetime(2027, 1, 15, 9, 0)),
])
def test_completing_a_repeating_task_creates_the_next_one(ny_user, recurrence, due, expected_local):
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=UTC), tick=False):
        task = services.create_task(actor=ny_user, title="Weekly report", due_at=due, recurrence=recurrence,
                                    remind_minutes_before=30)
        done = services.set_task_done(actor=ny_user, task=task)
    following = done.next_occurrence
    assert following.due_at.astimezone(NY).replace(tzinfo=None) == expected_local
    assert following.remind_at == following.due_at - dt.timedelta(minutes=30)
    assert following.recurrence == recurrence and following.done_at is None and following.reminder_sent_at is None
    assert Task.objects.get(pk=task.pk).recurrence == ""  # the series carries on from the new task
    # completing, reopening and completing again does not create a second next occurrence
    services.set_task_done(actor=ny_user, task=done, done=False)
    services.set_task_done(actor=ny_user, task=Task.objects.get(pk=task.pk))
    assert Task.objects.filter(title="Weekly report").count() == 2


def test_an_overdue_repeating_task_skips_to_the_next_future_occurrence(ny_user):
    with time_machine.travel(dt.datetime(2026, 5, 1, tzinfo=UTC), tick=False):
        task = services.create_task(actor=ny_user, title="Standup", due_at="2026-05-01T09:00", recurrence="daily")
    with time_machine.travel(dt.datetime(2026, 5, 10, 15, 0, tzinfo=UTC), tick=False):
        following = services.set_task_done(actor=ny_user, task=task).next_occurrence
    assert following.due_at.astimezone(NY) == dt.datetime(2026, 5, 11, 9, 0, tzinfo=NY)


def test_next_occurrence_in_a_gap_moves_past_it():
    due = dt.datetime(2026, 3, 7, 2, 30, tzinfo=NY)
    nxt = services.next_occurrence(due, "daily", "America/New_York")
    assert nxt.astimezone(NY).replace(tzinfo=None) == dt.datetime(2026, 3, 8, 3, 30)


# --- pages -------------------------------------------------------------------------------------------------------

def test_task_form_on_contact_page_with_reminder_and_repeat(sales_client, sales_user):
    contact = testing.make_contact(owner=sales_user, first_name="Mei")
    response = sales_client.post(reverse("timeline:add_task", args=["contact", contact.uuid]), {
        "title": "Call back", "due_at": "2026-07-01T09:00", "priority": "normal", "remind_minutes_before": "15",
        "recurrence": "weekly"})
    assert response.status_code == 302
    task = Task.objects.get()
    assert task.remind_minutes_before == 15 and task.recurrence == "weekly" and task.remind_at is not None


def test_dst_gap_in_the_form_is_shown_on_the_due_field(sales_client, sales_user):
    sales_user.time_zone = "America/New_York"
    sales_user.save()
    contact = testing.make_contact(owner=sales_user, first_name="Mei")
    response = sales_client.post(reverse("timeline:add_task", args=["contact", contact.uuid]), {
        "title": "Call back", "due_at": "2026-03-08T02:30", "priority": "normal"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps only 2xx: the panels come back with the error in the form
    assert "does not exist in America/New_York" in html and "field-error" in html
    assert not Task.objects.exists()


def test_ambiguous_time_notice_comes_back_with_htmx(sales_client, sales_user):
    sales_user.time_zone = "America/New_York"
    sales_user.save()
    contact = testing.make_contact(owner=sales_user, first_name="Mei")
    response = sales_client.post(reverse("timeline:add_task", args=["contact", contact.uuid]), {
        "title": "Call back", "due_at": "2026-11-01T01:30", "priority": "normal"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "happens twice" in response.content.decode()


def test_edit_page_changes_and_reopens_a_task(sales_client, sales_user):
    contact = testing.make_contact(owner=sales_user, first_name="Mei")
    task = services.create_task(actor=sales_user, title="Call back", contact=contact)
    edit = reverse("timeline:task_edit", args=[task.uuid])
    assert sales_client.get(edit).status_code == 200
    response = sales_client.post(edit, {"title": "Call back about samples", "due_at": "2026-07-01T09:00",
                                        "priority": "high", "remind_minutes_before": "60", "recurrence": ""})
    assert response.status_code == 302 and response["Location"] == reverse("contacts:detail", args=[contact.uuid])
    task.refresh_from_db()
    assert task.title == "Call back about samples" and task.priority == "high" and task.remind_minutes_before == 60
    assert task.assignee == sales_user  # "Me" on an edit keeps the assignee
    response = sales_client.post(edit, {"title": "", "priority": "normal"})
    assert response.status_code == 400 and "Give the task a title." in response.content.decode()
    sales_client.post(reverse("timeline:task_done", args=[task.uuid]), {"done": "1", "panel": "edit"})
    assert "Reopen" in sales_client.get(edit).content.decode()
    sales_client.post(reverse("timeline:task_done", args=[task.uuid]), {"done": "0", "panel": "edit"})
    task.refresh_from_db()
    assert task.done_at is None


def test_edit_ignores_an_offsite_next(sales_client, sales_user):
    task = services.create_task(actor=sales_user, title="Call back")
    response = sales_client.post(reverse("timeline:task_edit", args=[task.uuid]),
                                 {"title": "x", "priority": "normal", "next": "https://evil.example/"})
    assert response["Location"] == reverse("timeline:my_day")


def test_task_delete(sales_client, sales_user):
    task = services.create_task(actor=sales_user, title="Call back")
    response = sales_client.post(reverse("timeline:task_delete", args=[task.uuid]))
    assert response.status_code == 302 and not Task.objects.exists()


def test_task_pages_404_for_another_teams_task_and_403_for_readonly(sales_client, readonly_client, sales_user,
                                                                    other_team):
    stranger = testing.make_user("sales", team=other_team)
    foreign = services.create_task(actor=stranger, title="Theirs",
                                   contact=testing.make_contact(owner=stranger, first_name="Far"))
    for name in ("task_edit", "task_delete", "task_done"):
        assert sales_client.post(reverse(f"timeline:{name}", args=[foreign.uuid]), {"title": "x"}).status_code == 404
    assert sales_client.get(reverse("timeline:task_edit", args=[foreign.uuid])).status_code == 404
    mine = services.create_task(actor=sales_user, title="Ours",
                                contact=testing.make_contact(owner=sales_user, first_name="Near"))
    assert readonly_client.get(reverse("timeline:task_edit", args=[mine.uuid])).status_code == 200
    for name in ("task_edit", "task_delete", "task_done"):
        assert readonly_client.post(reverse(f"timeline:{name}", args=[mine.uuid]),
                                    {"title": "x", "priority": "normal"}).status_code == 403
    assert Task.objects.get(pk=mine.pk).title == "Ours"


def test_my_day_links_deals_without_extra_queries(sales_client, sales_user, deal, django_assert_max_num_queries):
    for n in range(3):
        services.create_task(actor=sales_user, title=f"Deal task {n}", deal=deal, due_at=dt.datetime.now(UTC))
    with django_assert_max_num_queries(20) as first:
        html = sales_client.get(reverse("timeline:my_day")).content.decode()
    assert "Acme renewal" in html and "Deal task 2" in html
    for n in range(3, 13):
        services.create_task(actor=sales_user, title=f"Deal task {n}", deal=deal, due_at=dt.datetime.now(UTC))
    with django_assert_max_num_queries(len(first.captured_queries)):
        sales_client.get(reverse("timeline:my_day"))


def test_my_day_shows_the_first_tasks_of_each_bucket_with_the_real_count(db):
    """A user with many overdue tasks sees the first 15, the true count, and can expand the bucket."""
    import datetime as dt

    from django.test import Client
    from django.utils import timezone

    from amity.testing import make_user
    from amity.timeline.models import Task

    user = make_user("sales")
    past = timezone.now() - dt.timedelta(days=2)
    Task.objects.bulk_create([Task(title=f"Overdue {n:02d}", assignee=user, due_at=past + dt.timedelta(minutes=n))
                              for n in range(25)])
    client = Client()
    client.force_login(user)
    html = client.get("/my-day/").content.decode()
    import re

    assert sorted(set(re.findall(r"Overdue (\d\d)", html))) == [f"{n:02d}" for n in range(15)]
    assert "25 tasks need you" in html
    assert "Show more (of 25)" in html
    expanded = client.get("/my-day/?all=overdue").content.decode()
    assert "Overdue 24" in expanded and "Show more (of 25)" not in expanded
