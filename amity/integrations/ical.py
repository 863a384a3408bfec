"""iCalendar export of a user's meetings and tasks, and the private calendar feed calendar apps subscribe to.

Meetings are timeline interactions of kind "meeting" the user wrote or is mentioned in; tasks are the user's
tasks with a due date. Times are written in the user's time zone with a VTIMEZONE (UTC users get "Z" times),
so a calendar app shows them right on both sides of a daylight-saving change.

The feed URL holds a 256-bit secret; only its SHA-256 digest is stored (like API tokens). One active feed per
user: creating a new one revokes the old URL.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from amity.accounts.services import active_by_secret
from amity.core import audit
from amity.core.events import emit
from amity.core.models import AuditAction
from amity.core.permissions import visible_to_via_any
from amity.timeline import ics
from amity.timeline.models import CalendarFeed, Interaction, InteractionKind, Task

FEED_PREFIX = "cal_"
FEED_PAST = dt.timedelta(days=30)
FEED_AHEAD = dt.timedelta(days=365)
MAX_RANGE = dt.timedelta(days=3 * 366)
MAX_ITEMS = 5000  # per kind and calendar: a feed stays small enough for calendar apps to poll


# --- reads --------------------------------------------------------------------------------------------------------

def meetings_for(user: Any, start: dt.datetime, end: dt.datetime) -> QuerySet[Interaction]:
    """Meetings the user wrote or is mentioned in, on records the user may see, starting in [start, end)."""
    mine = Interaction.objects.filter(kind=InteractionKind.MEETING, occurred_at__gte=start, occurred_at__lt=end)
    authored = mine.filter(author=user)
    mentioned = mine.filter(pk__in=Interaction.mentions.through.objects.filter(user=user).values("interaction_id"))
    scoped = visible_to_via_any(user, Interaction.objects.all(), ["contact__", "company__", "deal__"])
    own_unattached = Q(contact__isnull=True, company__isnull=True, deal__isnull=True, author=user)
    return (Interaction.objects.filter(Q(pk__in=authored.values("pk")) | Q(pk__in=mentioned.values("pk")))
            .filter(Q(pk__in=scoped.values("pk")) | own_unattached)
            .select_related("contact", "company").order_by("occurred_at", "id"))


def tasks_for(user: Any, start: dt.datetime, end: dt.datetime, *, open_only: bool) -> QuerySet[Task]:
    """The user's tasks due in [start, end) (the assignee's own list: the task_assignee_open index)."""
    qs = Task.objects.filter(assignee=user, due_at__gte=start, due_at__lt=end)
    if open_only:
        qs = qs.filter(done_at__isnull=True)
    return qs.select_related("contact", "company").order_by("due_at", "id")


def _link(path: str) -> str:
    return f"{settings.AMITY_BASE_URL}{path}"


def _meeting_url(meeting: Interaction) -> str:
    if meeting.contact is not None:
        return _link(reverse("contacts:detail", args=[meeting.contact.uuid]))
    if meeting.company is not None:
        return _link(reverse("contacts:company_detail", args=[meeting.company.uuid]))
    return ""


def build_calendar(user: Any, start: dt.datetime, end: dt.datetime, *, open_only: bool, name: str) -> bytes:
    zone = ics.zone_of(user.time_zone)
    cal = ics.new_calendar(name=name, zone=user.time_zone or "UTC")
    for meeting in meetings_for(user, start, end)[:MAX_ITEMS]:
        who = str(meeting.contact or meeting.company or "")
        summary = meeting.subject or (_("Meeting with %(name)s") % {"name": who} if who else _("Meeting"))
        duration = dt.timedelta(seconds=meeting.duration_seconds) if meeting.duration_seconds else None
        cal.add_component(ics.meeting_event(
            uid=f"{meeting.uuid}@amity", summary=summary, start=meeting.occurred_at, duration=duration,
            description=meeting.body, url=_meeting_url(meeting), zone=zone))
    for task in tasks_for(user, start, end, open_only=open_only)[:MAX_ITEMS]:
        assert task.due_at is not None
        cal.add_component(ics.task_todo(
            uid=f"{task.uuid}@amity", summary=task.title, due=task.due_at, description=task.description,
            priority=task.priority, done_at=task.done_at, url=_link(reverse("timeline:my_day")), zone=zone))
    return ics.to_bytes(cal)


def _parse_day(value: str, field: str, zone: dt.tzinfo) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError({field: [_("“%(value)s” is not a date (use YYYY-MM-DD).") % {"value": value}]}) \
            from None
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


def export_range(user: Any, date_from: str | None, date_to: str | None) -> tuple[dt.datetime, dt.datetime]:
    """[from, to] as whole days in the user's zone; by default 30 days back to a year ahead."""
    zone = ics.zone_of(user.time_zone)
    now = timezone.now()
    start = _parse_day(date_from, "from", zone) if date_from else now - FEED_PAST
    end = _parse_day(date_to, "to", zone) + dt.timedelta(days=1) if date_to else now + FEED_AHEAD
    if end <= start:
        raise ValidationError({"to": [_("The end date must be on or after the start date.")]})
    if end - start > MAX_RANGE:
        raise ValidationError({"to": [_("Export at most three years at a time.")]})
    return start, end


def export_calendar(*, user: Any, date_from: str | None = None, date_to: str | None = None) -> bytes:
    """The user's meetings and tasks (done ones as COMPLETED) in a date range as an .ics file; audited."""
    start, end = export_range(user, date_from, date_to)
    audit.record(AuditAction.EXPORT, actor=user, object_type="calendar",
                 changes={"format": "ics", "from": start.isoformat(), "to": end.isoformat()})
    return build_calendar(user, start, end, open_only=False, name=_("Amity: %(name)s") % {"name": str(user)})


# --- the private feed ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewFeed:
    feed: CalendarFeed
    secret: str

    @property
    def path(self) -> str:
        return reverse("cards:calendar_feed", args=[self.secret])


def active_feed(user: Any) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).first()


@transaction.atomic
def create_feed(*, user: Any) -> NewFeed:
    """A new feed URL for the user; an existing one stops working (regenerate). The secret is shown once."""
    now = timezone.now()
    for old in CalendarFeed.objects.select_for_update().filter(user=user, revoked_at__isnull=True):
        old.revoked_at = now
        old.save(update_fields=["revoked_at"])
        audit.record(AuditAction.UPDATE, actor=user, obj=old, changes={"revoked": [False, True]})
    secret = FEED_PREFIX + secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(user=user, prefix=secret[:12], digest=CalendarFeed.digest_of(secret))
    audit.record(AuditAction.CREATE, actor=user, obj=feed, changes={"prefix": feed.prefix})
    emit("calendar_feed.created", subject=feed, actor=user, payload={"prefix": feed.prefix})
    return NewFeed(feed, secret)


@transaction.atomic
def revoke_feed(*, user: Any) -> int:
    """Stop the user's feed URL; returns how many were active (0 or 1)."""
    now = timezone.now()
    feeds = list(CalendarFeed.objects.select_for_update().filter(user=user, revoked_at__isnull=True))
    for feed in feeds:
        feed.revoked_at = now
        feed.save(update_fields=["revoked_at"])
        audit.record(AuditAction.UPDATE, actor=user, obj=feed, changes={"revoked": [False, True]})
        emit("calendar_feed.revoked", subject=feed, actor=user, payload={"prefix": feed.prefix})
    return len(feeds)


def feed_by_secret(secret: str) -> CalendarFeed | None:
    """The active feed for ``secret`` (its user active too), recording when it was last read (at most once a
    minute, so polling calendar apps do not write on every request)."""
    if not secret.startswith(FEED_PREFIX) or len(secret) > 100:
        return None
    return active_by_secret(CalendarFeed, secret)


def feed_calendar(feed: CalendarFeed) -> bytes:
    """What a subscribed calendar app sees: meetings and open tasks from 30 days back to a year ahead."""
    from django.utils import translation

    now = timezone.now()
    with translation.override(feed.user.language or settings.LANGUAGE_CODE):
        return build_calendar(feed.user, now - FEED_PAST, now + FEED_AHEAD, open_only=True,
                              name=_("Amity: %(name)s") % {"name": str(feed.user)})
