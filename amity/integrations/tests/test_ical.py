"""iCalendar export and the private calendar feed: time zones across DST, revocation, scoping."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import icalendar
import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from amity.core.models import AuditAction, AuditEntry
from amity.integrations import ical
from amity.testing import make_contact, make_team, make_token, make_user
from amity.timeline.models import CalendarFeed, Interaction, Task

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def meeting(author, when: dt.datetime, subject: str, **fields) -> Interaction:
    return Interaction.objects.create(kind="meeting", author=author, occurred_at=when, subject=subject,
                                      duration_seconds=3600, **fields)


def parse(body: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(body)


def components(cal: icalendar.Calendar, name: str) -> dict[str, icalendar.cal.Component]:
    return {str(c["summary"]): c for c in cal.walk(name)}


def feed_url(user) -> str:
    return ical.create_feed(user=user).path


def test_feed_times_are_right_across_the_dst_change_in_berlin(db):
    berlin = make_user("admin", email="b@example.com", time_zone="Europe/Berlin")
    # Berlin switches to summer time on 29 March 2026: 09:00 local is 08:00Z before, 07:00Z after
    meeting(berlin, dt.datetime(2026, 3, 28, 9, 0, tzinfo=BERLIN), "Before")
    meeting(berlin, dt.datetime(2026, 3, 30, 9, 0, tzinfo=BERLIN), "After")
    Task.objects.create(title="Call back", assignee=berlin, due_at=dt.datetime(2026, 3, 29, 14, 0, tzinfo=BERLIN))
    response = Client().get(feed_url(berlin))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"] == "private, max-age=300"
    body = response.content.decode()
    assert "DTSTART;TZID=Europe/Berlin:20260328T090000\r\n" in body
    assert "DTSTART;TZID=Europe/Berlin:20260330T090000\r\n" in body
    assert "DUE;TZID=Europe/Berlin:20260329T140000\r\n" in body
    cal = parse(response.content)
    assert [tz["tzid"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    events = components(cal, "VEVENT")
    assert events["Before"].decoded("dtstart").astimezone(dt.UTC) == dt.datetime(2026, 3, 28, 8, 0, tzinfo=dt.UTC)
    assert events["After"].decoded("dtstart").astimezone(dt.UTC) == dt.datetime(2026, 3, 30, 7, 0, tzinfo=dt.UTC)
    assert events["After"].decoded("dtend").astimezone(dt.UTC) == dt.datetime(2026, 3, 30, 8, 0, tzinfo=dt.UTC)
    todo = components(cal, "VTODO")["Call back"]
    assert todo.decoded("due").astimezone(dt.UTC) == dt.datetime(2026, 3, 29, 12, 0, tzinfo=dt.UTC)
    assert str(todo["status"]) == "NEEDS-ACTION"


def test_feed_for_a_shanghai_user_shows_the_same_instants_in_china_time(db):
    berlin = make_user("admin", email="b@example.com", time_zone="Europe/Berlin")
    shanghai = make_user("admin", email="s@example.com", time_zone="Asia/Shanghai")
    for when, subject in [(dt.datetime(2026, 3, 28, 9, 0, tzinfo=BERLIN), "Before"),
                          (dt.datetime(2026, 3, 30, 9, 0, tzinfo=BERLIN), "After")]:
        m = meeting(berlin, when, subject)
        m.mentions.add(shanghai)  # a meeting the Shanghai user takes part in
    body = Client().get(feed_url(shanghai)).content.decode()
    assert "DTSTART;TZID=Asia/Shanghai:20260328T160000\r\n" in body  # 08:00Z
    assert "DTSTART;TZID=Asia/Shanghai:20260330T150000\r\n" in body  # 07:00Z: Berlin moved, Shanghai did not
    cal = parse(body.encode())
    assert [tz["tzid"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    assert str(cal["x-wr-timezone"]) == "Asia/Shanghai"


def test_utc_user_gets_utc_times(db):
    user = make_user("admin", email="u@example.com", time_zone="UTC")
    meeting(user, dt.datetime(2026, 4, 1, 9, 30, tzinfo=dt.UTC), "Standup")
    body = Client().get(feed_url(user)).content.decode()
    assert "DTSTART:20260401T093000Z\r\n" in body
    assert "VTIMEZONE" not in body


def test_feed_window_open_tasks_and_own_meetings_only(db):
    user = make_user("admin", email="me@example.com", time_zone="Europe/Berlin")
    other = make_user("admin", email="other@example.com")
    meeting(user, NOW - dt.timedelta(days=29), "Recent")
    meeting(user, NOW - dt.timedelta(days=31), "Too old")
    meeting(user, NOW + dt.timedelta(days=364), "Next year")
    meeting(user, NOW + dt.timedelta(days=366), "Too far")
    meeting(other, NOW + dt.timedelta(days=1), "Someone else's")
    Interaction.objects.create(kind="call", author=user, occurred_at=NOW, subject="A call")
    Task.objects.create(title="Open", assignee=user, due_at=NOW + dt.timedelta(days=2))
    Task.objects.create(title="Done", assignee=user, due_at=NOW + dt.timedelta(days=2), done_at=NOW)
    Task.objects.create(title="No date", assignee=user)
    Task.objects.create(title="Theirs", assignee=other, due_at=NOW + dt.timedelta(days=2))
    cal = parse(Client().get(feed_url(user)).content)
    assert sorted(components(cal, "VEVENT")) == ["Next year", "Recent"]
    assert sorted(components(cal, "VTODO")) == ["Open"]


def test_feed_records_last_use_and_a_revoked_or_unknown_url_is_404(db):
    user = make_user("admin", email="me@example.com")
    new = ical.create_feed(user=user)
    client = Client()
    assert client.get(new.path).status_code == 200
    feed = CalendarFeed.objects.get()
    assert feed.last_used_at == NOW
    assert feed.digest == CalendarFeed.digest_of(new.secret) and new.secret not in feed.digest
    assert client.get(reverse("cards:calendar_feed", args=["cal_unknown"])).status_code == 404
    assert client.get(reverse("cards:calendar_feed", args=["nope"])).status_code == 404
    ical.revoke_feed(user=user)
    assert client.get(new.path).status_code == 404


def test_regenerating_stops_the_old_url(db):
    user = make_user("admin", email="me@example.com")
    first = ical.create_feed(user=user)
    second = ical.create_feed(user=user)
    client = Client()
    assert client.get(first.path).status_code == 404
    assert client.get(second.path).status_code == 200
    assert CalendarFeed.objects.filter(revoked_at__isnull=True).count() == 1


def test_an_inactive_users_feed_is_404(db):
    user = make_user("admin", email="me@example.com")
    new = ical.create_feed(user=user)
    user.is_active = False
    user.save()
    assert Client().get(new.path).status_code == 404


def test_feed_leaves_out_meetings_on_records_the_user_can_no_longer_see(db):
    team = make_team("A")
    user = make_user("sales", team=team, email="me@example.com")
    outsider = make_user("sales", team=make_team("B"), email="out@example.com")
    theirs = make_contact(owner=outsider, first_name="Theirs")
    mine = make_contact(owner=user, first_name="Mine")
    m = meeting(outsider, NOW + dt.timedelta(days=1), "Their meeting", contact=theirs)
    m.mentions.add(user)
    meeting(user, NOW + dt.timedelta(days=1), "My meeting", contact=mine)
    cal = parse(Client().get(feed_url(user)).content)
    assert sorted(components(cal, "VEVENT")) == ["My meeting"]
    assert str(components(cal, "VEVENT")["My meeting"]["url"]).endswith(f"/contacts/{mine.uuid}/")


def test_settings_page_shows_the_url_once_then_only_the_prefix(admin_client, admin_user):
    url = reverse("cards:calendar_settings")
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "Create feed URL" in page.content.decode()
    created = admin_client.post(url, {"action": "create"})
    assert created["Cache-Control"] == "no-store"
    secret_url = created.context["new_url"]
    assert secret_url.startswith("http://testserver/calendar/feed/cal_") and secret_url.endswith(".ics")
    assert secret_url in created.content.decode()
    again = admin_client.get(url).content.decode()
    assert secret_url not in again
    assert CalendarFeed.objects.get().prefix in again
    revoked = admin_client.post(url, {"action": "revoke"})
    assert revoked.status_code == 302
    assert not CalendarFeed.objects.filter(revoked_at__isnull=True).exists()
    assert Client().get(secret_url.removeprefix("http://testserver")).status_code == 404


def test_settings_page_needs_login(client):
    response = client.get(reverse("cards:calendar_settings"))
    assert response.status_code == 302


def test_export_ics_date_range_includes_done_tasks_and_is_audited(admin_client, admin_user):
    admin_user.time_zone = "Europe/Berlin"
    admin_user.save()
    meeting(admin_user, dt.datetime(2026, 5, 4, 10, 0, tzinfo=BERLIN), "In range")
    meeting(admin_user, dt.datetime(2026, 5, 6, 10, 0, tzinfo=BERLIN), "After range")
    Task.objects.create(title="Done task", assignee=admin_user, due_at=dt.datetime(2026, 5, 5, 23, 30, tzinfo=BERLIN),
                        done_at=NOW)
    response = admin_client.get(reverse("cards:calendar_export") + "?from=2026-05-01&to=2026-05-05")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="amity-calendar.ics"'
    cal = parse(response.content)
    assert sorted(components(cal, "VEVENT")) == ["In range"]
    todo = components(cal, "VTODO")["Done task"]
    assert str(todo["status"]) == "COMPLETED"
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT, object_type="calendar")
    assert entry.changes["from"] == "2026-05-01T00:00:00+02:00"


def test_export_ics_bad_range_is_explained(admin_client):
    response = admin_client.get(reverse("cards:calendar_export") + "?from=2026-05-05&to=2026-05-01", follow=True)
    assert "The end date must be on or after the start date." in response.content.decode()
    response = admin_client.get(reverse("cards:calendar_export") + "?from=soon")
    assert response.status_code == 302


def test_api_calendar_export(admin_user, client):
    meeting(admin_user, NOW + dt.timedelta(days=3), "API meeting")
    token = make_token(admin_user, scope="read")
    response = client.get("/api/calendar/export.ics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert sorted(components(parse(response.content), "VEVENT")) == ["API meeting"]
    bad = client.get("/api/calendar/export.ics?date_from=2026-13-01", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "from"


def test_invitation_still_in_utc(db):
    from amity.timeline.ics import invitation

    organizer = make_user("admin", email="org@example.com", time_zone="Europe/Berlin")
    body = invitation(uid="x@amity", summary="Hi", start=dt.datetime(2026, 3, 30, 9, 0, tzinfo=BERLIN),
                      organizer=organizer, attendees=[])
    assert b"DTSTART:20260330T070000Z\r\n" in body
    assert b"METHOD:REQUEST\r\n" in body
