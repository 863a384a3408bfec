"""Writes to the timeline: notes (with @mentions), logged interactions and tasks, and task reminders."""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import re
import zoneinfo
from email.mime.text import MIMEText
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, send_mail
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from amity.accounts.models import Notification, User
from amity.contacts.models import Company, Contact
from amity.contacts.services import record_contacted
from amity.core import audit
from amity.core.events import emit
from amity.core.models import AuditAction, Event
from amity.core.normalize import clean_text
from amity.core.permissions import can_edit, require

from .models import Interaction, InteractionKind, Recurrence, Task, TaskPriority

logger = logging.getLogger(__name__)

MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9._\-]+)")
MAX_BODY = 20_000


def _deal_first_contact(deal: Any) -> Contact | None:
    """The deal's first contact (the first one linked to it): who a call logged on the deal is with."""
    link = deal.contacts.through.objects.filter(deal_id=deal.pk).select_related("contact").order_by("id").first()
    return link.contact if link is not None else None


def _target(contact: Contact | None, company: Company | None, deal: Any = None) -> dict[str, Any]:
    """What an interaction or task hangs off. A deal brings its company and first contact along, so the entry
    also shows on their pages."""
    if deal is not None:
        contact = contact if contact is not None else _deal_first_contact(deal)
        company = company if company is not None else deal.company
        if company is None and contact is not None:
            company = contact.company
        return {"contact": contact, "company": company, "deal": deal}
    if contact is None and company is None:
        raise ValidationError({"contact": [_("Attach this to a contact or a company.")]})
    return {"contact": contact, "company": company if company is not None else (contact.company if contact else None),
            "deal": None}


def mentioned_users(body: str) -> list[User]:
    handles = {h.lower().rstrip(".") for h in MENTION.findall(body)}
    if not handles:
        return []
    users = User.objects.filter(is_active=True).only("id", "email", "full_name")
    return [u for u in users if u.mention_handle in handles]


def deal_url(deal: Any) -> str:
    """The deal's page (``sales:detail``); My day until that page exists."""
    try:
        return reverse("sales:detail", args=[deal.uuid])
    except NoReverseMatch:
        return reverse("timeline:my_day")


def _subject_url(contact: Contact | None, company: Company | None, deal: Any = None) -> str:
    if deal is not None:
        return deal_url(deal)
    if contact is not None:
        return f"/contacts/{contact.uuid}/"
    return f"/companies/{company.uuid}/" if company is not None else ""


def _touch(deal: Any, when: dt.datetime | None = None) -> None:
    if deal is not None:
        from amity.sales.services import touch_deal

        touch_deal(deal, when)


@transaction.atomic
def add_note(*, actor: Any, body: str, contact: Contact | None = None, company: Company | None = None,
             deal: Any = None) -> Interaction:
    """A note on a contact, company or deal. Users named with @handle are notified in the app (and by email
    later)."""
    require(can_edit(actor))
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": [_("Write something in the note.")]})
    if len(body) > MAX_BODY:
        raise ValidationError({"body": [_("A note can be at most %(n)s characters.") % {"n": f"{MAX_BODY:,}"}]})
    target = _target(contact, company, deal)
    note = Interaction.objects.create(kind=InteractionKind.NOTE, author=actor, body=body,
                                      occurred_at=timezone.now(), **target)
    mentions = [u for u in mentioned_users(body) if u.pk != getattr(actor, "pk", None)]
    note.mentions.set(mentions)
    about = str(deal or target["contact"] or target["company"])
    url = _subject_url(target["contact"], target["company"], deal)
    Notification.objects.bulk_create([
        Notification(user=u, actor=actor, kind="mention", url=url,
                     text=_("%(actor)s mentioned you in a note on %(about)s") % {"actor": actor, "about": about})
        for u in mentions
    ])
    emit("note.created", subject=note, actor=actor, contact_id=getattr(target["contact"], "pk", None),
         company_id=getattr(target["company"], "pk", None), deal_id=getattr(deal, "pk", None),
         payload={"interaction": str(note.uuid), "mentions": [str(u.uuid) for u in mentions]})
    _touch(deal)
    audit.record(AuditAction.CREATE, actor=actor, obj=note, changes={"body": body[:500], "about": about})
    return note


def _clean_when(value: Any, *, allow_future: bool = False) -> dt.datetime:
    if value in (None, ""):
        return timezone.now()
    if isinstance(value, dt.datetime):
        when = value
    else:
        try:
            when = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise ValidationError({"occurred_at": [_("“%(value)s” is not a date and time.") % {"value": value}]}) \
                from None
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    if not allow_future and when > timezone.now() + dt.timedelta(days=1):
        raise ValidationError({"occurred_at": [_("An interaction that happened cannot be in the future.")]})
    return when


EMAIL_DIRECTIONS = ("sent", "received")


@transaction.atomic
def log_interaction(*, actor: Any, kind: str, contact: Contact | None = None, company: Company | None = None,
                    deal: Any = None, subject: str = "", body: str = "", outcome: str = "",
                    duration_seconds: int | None = None, occurred_at: Any = None,
                    attendees: list[Contact] | None = None, location: str = "", direction: str = "",
                    send_invitation: bool = False) -> Interaction:
    """Log a call, email, meeting, chat… Updates the contact's last-contact time and the deal's last activity.

    A meeting may be in the future (it is being scheduled); with ``send_invitation`` the worker emails its
    attendees an iCalendar invitation (the ``meeting.logged`` event carries what it needs). An email's
    ``direction`` (sent/received) is kept in ``outcome``."""
    require(can_edit(actor))
    if kind not in InteractionKind.values or kind == InteractionKind.NOTE:
        raise ValidationError({"kind": [_("“%(value)s” is not an interaction type.") % {"value": kind}]})
    errors: dict[str, list[str]] = {}
    if duration_seconds is not None and duration_seconds < 0:
        errors["duration_seconds"] = [_("A duration cannot be negative.")]
    if kind == InteractionKind.EMAIL and direction:
        if direction not in EMAIL_DIRECTIONS:
            errors["direction"] = [_("“%(value)s” is not a direction.") % {"value": direction}]
        outcome = direction
    attendees = list(attendees or []) if kind == InteractionKind.MEETING else []
    invitees = [a for a in attendees if a.email]
    if send_invitation and kind == InteractionKind.MEETING and not invitees:
        errors["attendees"] = [_("Choose at least one attendee with an email address to send the invitation to.")]
    try:
        when = _clean_when(occurred_at, allow_future=kind == InteractionKind.MEETING)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        when = timezone.now()
    if errors:
        raise ValidationError(errors)
    target = _target(contact, company, deal)
    interaction = Interaction.objects.create(
        kind=kind, author=actor, subject=clean_text(subject)[:200], body=(body or "").strip()[:MAX_BODY],
        outcome=clean_text(outcome)[:64], duration_seconds=duration_seconds, occurred_at=when, **target,
    )
    if attendees:
        interaction.attendees.set(attendees)
    happened = min(when, timezone.now())
    for person in {target["contact"], *attendees} - {None}:
        if when <= timezone.now():
            record_contacted(person, when)
    _touch(deal, happened)
    location = clean_text(location)[:200]
    payload: dict[str, Any] = {"interaction": str(interaction.uuid), "kind": kind}
    if location:
        payload["location"] = location
    if attendees:
        payload["attendees"] = [str(a.uuid) for a in attendees]
    if send_invitation and invitees:
        payload["invite"] = True
    emit(f"{kind}.logged", subject=interaction, actor=actor, contact_id=getattr(target["contact"], "pk", None),
         company_id=getattr(target["company"], "pk", None), deal_id=getattr(deal, "pk", None),
         occurred_at=happened, payload=payload)
    audit.record(AuditAction.CREATE, actor=actor, obj=interaction, changes={"kind": kind, "subject": subject})
    return interaction


@transaction.atomic
def delete_interaction(*, actor: Any, interaction: Interaction) -> None:
    require(can_edit(actor))
    if interaction.author_id != getattr(actor, "pk", None) and not actor.is_admin:
        raise ValidationError({"interaction": [_("Only the author or an admin can delete this.")]})
    audit.record(AuditAction.DELETE, actor=actor, obj=interaction,
                 changes={"kind": interaction.kind, "body": interaction.body[:500]})
    emit(f"{interaction.kind}.deleted", subject=interaction, actor=actor, contact_id=interaction.contact_id,
         company_id=interaction.company_id, deal_id=interaction.deal_id,
         payload={"interaction": str(interaction.uuid)})
    interaction.delete()


# --- tasks ----------------------------------------------------------------------------------------------------

REMIND_MAX_MINUTES = 4 * 7 * 24 * 60  # four weeks
LATE_AFTER = dt.timedelta(minutes=2)  # a reminder delivered later than this (the worker was down) is marked late
REMINDER_BATCH = 200


def _zone(name: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def localize(naive: dt.datetime, tz_name: str, field: str = "due_at") -> tuple[dt.datetime, str]:
    """A wall-clock time in ``tz_name`` as an aware datetime, and a note for the user ("" if none).

    A time the clocks skip (spring forward: 02:30 on the night of the change) does not exist and is refused;
    one they pass twice (fall back) is the first of the two, and the note says so."""
    tz = _zone(tz_name)
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    roundtrip = first.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
    if roundtrip != naive.replace(tzinfo=None, fold=0):
        raise ValidationError({field: [_(
            "%(time)s does not exist in %(zone)s: the clocks skip that hour for daylight saving time. "
            "Choose a time before or after it.") % {"time": naive.strftime("%Y-%m-%d %H:%M"), "zone": tz.key}]})
    if first.utcoffset() != second.utcoffset():
        return first.astimezone(dt.UTC), _(
            "%(time)s happens twice in %(zone)s (the clocks go back); the first one (%(offset)s) was used.") % {
            "time": naive.strftime("%Y-%m-%d %H:%M"), "zone": tz.key, "offset": first.strftime("UTC%z")}
    # In UTC: an aware time with fold set never compares equal across zones (PEP 495).
    return first.astimezone(dt.UTC), ""


def _clean_due(value: Any, user_tz: str) -> tuple[dt.datetime | None, str]:
    """The due date-time, entered in the user's time zone unless it carries its own offset."""
    if value in (None, ""):
        return None, ""
    if isinstance(value, dt.datetime):
        due = value
    else:
        try:
            due = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationError({"due_at": [_("“%(value)s” is not a date and time.") % {"value": value}]}) from None
    if timezone.is_naive(due):
        return localize(due, user_tz)
    return due.astimezone(dt.UTC), ""


def _clean_remind(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        minutes = -1
    if not 0 <= minutes <= REMIND_MAX_MINUTES:
        raise ValidationError({"remind_minutes_before": [
            _("Choose a reminder between 0 minutes and 4 weeks before the due time.")]})
    return minutes


def _remind_at(due: dt.datetime | None, minutes: int | None) -> dt.datetime | None:
    return due - dt.timedelta(minutes=minutes) if due is not None and minutes is not None else None


def _clean_task(data: dict[str, Any], user_tz: str, task: Task | None = None) -> tuple[dict[str, Any], str]:
    """Validate the task fields present in ``data`` (all of them for a new task); every error at once."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    note = ""
    if "title" in data or task is None:
        title = clean_text(data.get("title") or "")
        if not title:
            errors["title"] = [_("Give the task a title.")]
        cleaned["title"] = title[:200]
    if "description" in data:
        cleaned["description"] = (data.get("description") or "").strip()[:MAX_BODY]
    if "priority" in data or task is None:
        priority = data.get("priority") or TaskPriority.NORMAL
        if priority not in TaskPriority.values:
            errors["priority"] = [_("“%(value)s” is not a priority.") % {"value": priority}]
        cleaned["priority"] = priority
    if "due_at" in data or task is None:
        try:
            cleaned["due_at"], note = _clean_due(data.get("due_at"), user_tz)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "remind_minutes_before" in data or task is None:
        try:
            cleaned["remind_minutes_before"] = _clean_remind(data.get("remind_minutes_before"))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "recurrence" in data or task is None:
        recurrence = data.get("recurrence") or ""
        if recurrence not in Recurrence.values:
            errors["recurrence"] = [_("“%(value)s” is not a repeat; use daily, weekly or monthly.") % {
                "value": recurrence}]
        cleaned["recurrence"] = recurrence
    if "assignee" in data:
        cleaned["assignee"] = data["assignee"]
    due = cleaned.get("due_at", task.due_at if task else None)
    if "due_at" not in errors:
        if cleaned.get("remind_minutes_before", task.remind_minutes_before if task else None) is not None \
                and due is None:
            errors.setdefault("due_at", []).append(_("A reminder needs a due date and time."))
        if cleaned.get("recurrence", task.recurrence if task else "") and due is None:
            errors.setdefault("due_at", []).append(_("A repeating task needs a due date and time."))
    if errors:
        raise ValidationError(errors)
    return cleaned, note


def _task_url(task: Task) -> str:
    return _subject_url(task.contact, task.company, task.deal) or reverse("timeline:my_day")


def _task_event(event_type: str, task: Task, actor: Any, **payload: Any) -> None:
    emit(event_type, subject=task, actor=actor, contact_id=task.contact_id, company_id=task.company_id,
         deal_id=task.deal_id, payload={"title": task.title, **payload})


@transaction.atomic
def create_task(*, actor: Any, title: str, due_at: Any = None, assignee: User | None = None,
                contact: Contact | None = None, company: Company | None = None, deal: Any = None,
                priority: str = TaskPriority.NORMAL, description: str = "",
                remind_minutes_before: Any = None, recurrence: str = "") -> Task:
    """A task, due in the actor's time zone when ``due_at`` is a naive date-time. ``task.due_note`` carries a
    message for the user when the time was ambiguous (the first occurrence was used)."""
    require(can_edit(actor))
    cleaned, note = _clean_task({
        "title": title, "description": description, "priority": priority, "due_at": due_at,
        "remind_minutes_before": remind_minutes_before, "recurrence": recurrence,
    }, getattr(actor, "time_zone", "UTC"))
    if deal is not None:
        company = company if company is not None else deal.company
    task = Task.objects.create(
        **cleaned, assignee=assignee or actor, created_by=actor, contact=contact, deal=deal,
        company=company or (contact.company if contact else None),
        remind_at=_remind_at(cleaned["due_at"], cleaned["remind_minutes_before"]),
    )
    due = task.due_at
    _task_event("task.created", task, actor, due_at=due.isoformat() if due else None,
                assignee=str(task.assignee) if task.assignee else None)
    audit.record(AuditAction.CREATE, actor=actor, obj=task, changes={"title": task.title})
    if task.assignee and task.assignee != actor:
        Notification.objects.create(user=task.assignee, actor=actor, kind="assignment", url=_task_url(task),
                                    text=_("%(actor)s assigned you a task: %(title)s") % {"actor": actor,
                                                                                          "title": task.title})
    task.due_note = note  # type: ignore[attr-defined]
    return task


TASK_FIELDS = ("title", "description", "priority", "due_at", "remind_minutes_before", "recurrence", "assignee")


@transaction.atomic
def update_task(*, actor: Any, task: Task, data: dict[str, Any]) -> Task:
    """Change a task's fields (only those in ``data``); ``done`` true/false completes or reopens it.

    A new due time or reminder offset re-arms the reminder (it will be delivered again, once)."""
    require(can_edit(actor))
    cleaned, note = _clean_task({k: v for k, v in data.items() if k in TASK_FIELDS}, getattr(actor, "time_zone", "UTC"),
                                task)
    changes: dict[str, Any] = {}
    for name, value in cleaned.items():
        old = getattr(task, name)
        if old != value:
            changes[name] = [str(old) if old is not None else None, str(value) if value is not None else None]
            setattr(task, name, value)
    if changes:
        if "assignee" in cleaned and task.assignee is None:
            task.assignee = actor
        remind_at = _remind_at(task.due_at, task.remind_minutes_before)
        if remind_at != task.remind_at:
            task.remind_at, task.reminder_sent_at, task.reminder_was_late = remind_at, None, False
        task.save()
        _task_event("task.updated", task, actor, changes=sorted(changes))
        audit.record(AuditAction.UPDATE, actor=actor, obj=task, changes=changes)
        if "assignee" in changes and task.assignee and task.assignee != actor:
            Notification.objects.create(
                user=task.assignee, actor=actor, kind="assignment", url=_task_url(task),
                text=_("%(actor)s assigned you a task: %(title)s") % {"actor": actor, "title": task.title})
    if "done" in data and data["done"] is not None:
        task = set_task_done(actor=actor, task=task, done=bool(data["done"]))
    task.due_note = note  # type: ignore[attr-defined]
    return task


def _add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def next_occurrence(due: dt.datetime, recurrence: str, tz_name: str) -> dt.datetime:
    """The next due time of a repeating task: the same wall-clock time the next day/week/month in the
    assignee's zone (31 January → 28/29 February). A time the clocks skip moves forward by the gap."""
    tz = _zone(tz_name)
    local = due.astimezone(tz).replace(tzinfo=None)
    if recurrence == Recurrence.DAILY:
        day = local.date() + dt.timedelta(days=1)
    elif recurrence == Recurrence.WEEKLY:
        day = local.date() + dt.timedelta(weeks=1)
    else:
        day = _add_months(local.date(), 1)
    wall = dt.datetime.combine(day, local.time())
    # fold=0 then a round trip through UTC: a skipped time lands after the gap, a doubled one on the first.
    return wall.replace(tzinfo=tz).astimezone(dt.UTC).astimezone(tz)


def _spawn_next(task: Task, actor: Any) -> Task | None:
    """The repeating task's next occurrence, due after now (missed ones are skipped, not piled up)."""
    if not task.recurrence or task.due_at is None:
        return None
    tz_name = getattr(task.assignee, "time_zone", None) or getattr(actor, "time_zone", "UTC")
    due = next_occurrence(task.due_at, task.recurrence, tz_name)  # type: ignore[arg-type]
    now = timezone.now()
    for _step in range(400):  # bounded: a daily task overdue for over a year stops here
        if due > now:
            break
        due = next_occurrence(due, task.recurrence, tz_name)  # type: ignore[arg-type]
    following = Task.objects.create(
        title=task.title, description=task.description, due_at=due, assignee=task.assignee, created_by=actor,
        contact=task.contact, company=task.company, deal=task.deal, priority=task.priority,
        remind_minutes_before=task.remind_minutes_before, recurrence=task.recurrence,
        remind_at=_remind_at(due, task.remind_minutes_before),
    )
    _task_event("task.created", following, actor, due_at=due.isoformat(), repeats=task.recurrence,
                assignee=str(following.assignee) if following.assignee else None)
    return following


@transaction.atomic
def set_task_done(*, actor: Any, task: Task, done: bool = True) -> Task:
    """Complete or reopen a task. Completing a repeating task creates its next occurrence, which carries the
    repetition on (so completing, reopening and completing again does not create a second one)."""
    require(can_edit(actor))
    if bool(task.done_at) == done:
        return task
    task.done_at = timezone.now() if done else None
    fields = ["done_at", "updated_at"]
    following = _spawn_next(task, actor) if done else None
    if following is not None:
        task.recurrence = ""
        fields.append("recurrence")
    task.save(update_fields=fields)
    _task_event("task.completed" if done else "task.reopened", task, actor)
    audit.record(AuditAction.UPDATE, actor=actor, obj=task, changes={"done": [not done, done]})
    task.next_occurrence = following  # type: ignore[attr-defined]
    return task


@transaction.atomic
def delete_task(*, actor: Any, task: Task) -> None:
    require(can_edit(actor))
    audit.record(AuditAction.DELETE, actor=actor, obj=task, changes={"title": task.title})
    _task_event("task.deleted", task, actor)
    task.delete()


# --- reminders (run by the worker every loop) ---------------------------------------------------------------------

def due_reminders(now: dt.datetime, limit: int = REMINDER_BATCH) -> list[Task]:
    """Open tasks whose reminder time has come and that were not reminded yet (the partial index
    ``task_reminder_due`` covers this)."""
    return list(Task.objects.filter(remind_at__lte=now, reminder_sent_at__isnull=True, done_at__isnull=True)
                .select_related("assignee", "contact", "company", "deal").order_by("remind_at", "id")[:limit])


def claim_reminder(task: Task, now: dt.datetime, late: bool) -> bool:
    """Take the reminder for this worker: one conditional UPDATE, so of two workers only one wins."""
    return Task.objects.filter(pk=task.pk, reminder_sent_at__isnull=True, done_at__isnull=True).update(
        reminder_sent_at=now, reminder_was_late=late) == 1


def _reminder_text(task: Task, late: bool) -> str:
    if late:
        return _("Late reminder: %(title)s") % {"title": task.title}
    return _("Reminder: %(title)s") % {"title": task.title}


def _send_reminder_email(task: Task, text: str, url: str) -> None:
    user = task.assignee
    when = formats.date_format(timezone.localtime(task.due_at), "DATETIME_FORMAT") if task.due_at else ""
    about = task.deal or task.contact or task.company
    lines = [text, ""]
    if when:
        lines.append(_("Due: %(when)s (%(zone)s)") % {"when": when, "zone": user.time_zone})  # type: ignore[union-attr]
    if about is not None:
        lines.append(_("About: %(about)s") % {"about": about})
    if task.description:
        lines += ["", task.description]
    lines += ["", f"{settings.AMITY_BASE_URL}{url}"]
    send_mail(subject=text, message="\n".join(lines), from_email=None, recipient_list=[user.email])  # type: ignore[union-attr]


def deliver_due_reminders(now: dt.datetime | None = None) -> int:
    """Deliver every reminder that is due: an in-app notification and an email to the assignee, in their
    language and time zone. Returns how many were delivered.

    Each reminder is claimed before it is delivered, so it is never delivered twice (even with two workers);
    a claimed reminder whose email fails is not retried (the in-app notification is there). One found more
    than two minutes after its time (the worker was down) is delivered now, marked late."""
    now = now or timezone.now()
    delivered = 0
    for task in due_reminders(now):
        late = now - task.remind_at > LATE_AFTER  # type: ignore[operator]
        user = task.assignee
        with translation.override(getattr(user, "language", None) or settings.LANGUAGE_CODE), \
                timezone.override(_zone(getattr(user, "time_zone", None))):
            text = _reminder_text(task, late)
            url = _task_url(task)
            with transaction.atomic():
                if not claim_reminder(task, now, late):
                    continue
                if user is not None:
                    Notification.objects.create(user=user, kind="reminder", url=url, text=text[:300])
            delivered += 1
            if user is None or not user.email or not user.is_active:
                continue
            try:
                _send_reminder_email(task, text, url)
            except Exception:  # SMTP down: the reminder was shown in the app; never sent twice
                logger.exception("reminder email for task %s failed", task.pk)
    return delivered


# --- worker side effects ----------------------------------------------------------------------------------------

def send_mention_emails(event: Event) -> None:
    """Email each user mentioned in a note, once (``emailed_at`` guards against a redelivered event)."""
    user_uuids = event.payload.get("mentions") or []
    if not user_uuids:
        return
    pending = Notification.objects.filter(
        user__uuid__in=user_uuids, kind="mention", emailed_at__isnull=True, created_at__gte=event.occurred_at -
        dt.timedelta(minutes=1),
    ).select_related("user")
    for notification in pending:
        with transaction.atomic():
            claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
                emailed_at=timezone.now())
            if not claimed:
                continue
            send_mail(
                subject=notification.text,
                message=f"{notification.text}\n\n{settings.AMITY_BASE_URL}{notification.url}",
                from_email=None,
                recipient_list=[notification.user.email],
            )


def send_meeting_invitation(event: Event) -> int:
    """Email a logged meeting's attendees an .ics invitation (METHOD:REQUEST), once: the event is claimed by a
    conditional update of its payload, so a redelivered event does not send it again. Returns emails sent."""
    from .ics import invitation

    if not event.payload.get("invite"):
        return 0
    claimed = Event.objects.filter(pk=event.pk).exclude(payload__has_key="invited_at").update(
        payload={**event.payload, "invited_at": timezone.now().isoformat()})
    if not claimed:
        return 0
    meeting = Interaction.objects.select_related("author").filter(uuid=event.payload.get("interaction")).first()
    if meeting is None or meeting.author is None:
        return 0
    organizer = meeting.author
    people = [p for p in meeting.attendees.all() if p.email]
    if not people:
        return 0
    duration = dt.timedelta(seconds=meeting.duration_seconds) if meeting.duration_seconds else None
    location = event.payload.get("location", "")
    with translation.override(organizer.language or settings.LANGUAGE_CODE), \
            timezone.override(_zone(organizer.time_zone)):
        title = meeting.subject or _("Meeting with %(name)s") % {"name": organizer}
        ics = invitation(uid=f"{meeting.uuid}@amity", summary=title, start=meeting.occurred_at, duration=duration,
                         organizer=organizer, attendees=people, location=location, description=meeting.body)
        when = formats.date_format(timezone.localtime(meeting.occurred_at), "DATETIME_FORMAT")
        lines = [_("%(organizer)s invites you to: %(title)s") % {"organizer": organizer, "title": title},
                 _("When: %(when)s (%(zone)s)") % {"when": when, "zone": organizer.time_zone}]
        if location:
            lines.append(_("Where: %(location)s") % {"location": location})
        if meeting.body:
            lines += ["", meeting.body]
        message = EmailMessage(subject=_("Invitation: %(title)s") % {"title": title}, body="\n".join(lines),
                               to=[p.email for p in people], reply_to=[organizer.email])
    part = MIMEText(ics.decode(), "calendar", "utf-8")
    part.set_param("method", "REQUEST")
    part.add_header("Content-Disposition", "attachment", filename="invite.ics")
    message.attach(part)
    message.send()
    return len(people)


# --- follow-ups -------------------------------------------------------------------------------------------------

FOLLOW_UP_BUSINESS_DAYS = {"call": 1, "email": 1, "meeting": 2}
FOLLOW_UP_HOUR = 9


def follow_up_due(kind: str, tz_name: str, after: dt.datetime | None = None) -> dt.datetime:
    """When to follow up a logged call/email (next business day) or meeting (two business days later), at
    9:00 in the user's time zone, as a naive local date-time for the task form."""
    local = (after or timezone.now()).astimezone(_zone(tz_name))
    day, left = local.date(), FOLLOW_UP_BUSINESS_DAYS.get(kind, 1)
    while left:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return dt.datetime.combine(day, dt.time(FOLLOW_UP_HOUR))
