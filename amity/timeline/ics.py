"""iCalendar (RFC 5545): meeting invitations (attached to the email sent to a meeting's attendees) and the
meeting/task components of calendar exports and feeds (``integrations.ical``)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from icalendar import Calendar, Event, Todo, vCalAddress, vText

DEFAULT_MEETING = dt.timedelta(minutes=30)
PRODID = "-//Amity CRM//Amity//EN"


def _address(email: str, name: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = vText(name)
    for key, value in params.items():
        address.params[key.replace("_", "-").upper()] = vText(value)
    return address


def invitation(*, uid: str, summary: str, start: dt.datetime, duration: dt.timedelta | None = None,
               organizer: Any, attendees: list[Any], location: str = "", description: str = "",
               sequence: int = 0) -> bytes:
    """A METHOD:REQUEST calendar with one VEVENT; times in UTC so every calendar shows them in its own zone.

    ``organizer`` and ``attendees`` need ``email`` and a display name (``str()``)."""
    cal = new_calendar(method="REQUEST")
    event = meeting_event(uid=uid, summary=summary, start=start, duration=duration, description=description,
                          location=location, zone=dt.UTC)
    event.add("sequence", sequence)
    event.add("organizer", _address(organizer.email, str(organizer)))
    for person in attendees:
        event.add("attendee", _address(person.email, str(person), role="REQ-PARTICIPANT", partstat="NEEDS-ACTION",
                                       rsvp="TRUE"), encode=False)
    cal.add_component(event)
    return cal.to_ical()


def new_calendar(*, name: str = "", method: str = "", zone: str = "") -> Calendar:
    """An empty VCALENDAR; ``name`` and ``zone`` are shown by calendar apps that subscribe to a feed."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
    if zone:
        cal.add("x-wr-timezone", zone)
    return cal


def _in_zone(when: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """``when`` (aware) in ``zone``: a TZID date-time for a zoneinfo zone, a UTC ("Z") one for UTC."""
    return when.astimezone(zone)


def meeting_event(*, uid: str, summary: str, start: dt.datetime, duration: dt.timedelta | None = None,
                  description: str = "", location: str = "", url: str = "",
                  zone: dt.tzinfo = dt.UTC) -> Event:
    """A VEVENT for a meeting; times written in ``zone`` (a VTIMEZONE is added by :func:`to_bytes`)."""
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", dt.datetime.now(dt.UTC))
    local = _in_zone(start, zone)
    event.add("dtstart", local)
    event.add("dtend", _in_zone(start + (duration or DEFAULT_MEETING), zone))
    event.add("summary", summary)
    if location:
        event.add("location", location)
    if description:
        event.add("description", description)
    if url:
        event.add("url", url)
    return event


PRIORITIES = {"high": 1, "normal": 5, "low": 9}


def task_todo(*, uid: str, summary: str, due: dt.datetime, description: str = "", priority: str = "normal",
              done_at: dt.datetime | None = None, url: str = "", zone: dt.tzinfo = dt.UTC) -> Todo:
    """A VTODO for a task with a due date; a done task is COMPLETED."""
    todo = Todo()
    todo.add("uid", uid)
    todo.add("dtstamp", dt.datetime.now(dt.UTC))
    todo.add("due", _in_zone(due, zone))
    todo.add("summary", summary)
    todo.add("priority", PRIORITIES.get(priority, 5))
    if done_at is not None:
        todo.add("status", "COMPLETED")
        todo.add("completed", done_at.astimezone(dt.UTC))
    else:
        todo.add("status", "NEEDS-ACTION")
    if description:
        todo.add("description", description)
    if url:
        todo.add("url", url)
    return todo


def zone_of(name: str | None) -> dt.tzinfo:
    """The user's zone for TZID date-times; UTC for an unknown or empty name."""
    if not name or name == "UTC":
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def to_bytes(cal: Calendar) -> bytes:
    """The calendar text, with a VTIMEZONE for every TZID its components use."""
    cal.add_missing_timezones()
    return cal.to_ical()
