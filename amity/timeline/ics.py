"""iCalendar (RFC 5545) meeting invitations, attached to the email sent to a meeting's attendees."""

from __future__ import annotations

import datetime as dt
from typing import Any

from icalendar import Calendar, Event, vCalAddress, vText

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
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", dt.datetime.now(dt.UTC))
    start_utc = start.astimezone(dt.UTC)
    event.add("dtstart", start_utc)
    event.add("dtend", start_utc + (duration or DEFAULT_MEETING))
    event.add("summary", summary)
    event.add("sequence", sequence)
    if location:
        event.add("location", location)
    if description:
        event.add("description", description)
    event.add("organizer", _address(organizer.email, str(organizer)))
    for person in attendees:
        event.add("attendee", _address(person.email, str(person), role="REQ-PARTICIPANT", partstat="NEEDS-ACTION",
                                       rsvp="TRUE"), encode=False)
    cal.add_component(event)
    return cal.to_ical()
