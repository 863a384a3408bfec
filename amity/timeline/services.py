"""Writes to the timeline: notes (with @mentions), logged interactions and tasks."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amity.accounts.models import Notification, User
from amity.contacts.models import Company, Contact
from amity.contacts.services import record_contacted
from amity.core import audit
from amity.core.events import emit
from amity.core.models import AuditAction, Event
from amity.core.normalize import clean_text
from amity.core.permissions import can_edit, require

from .models import Interaction, InteractionKind, Task, TaskPriority

MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9._\-]+)")
MAX_BODY = 20_000


def _target(contact: Contact | None, company: Company | None) -> dict[str, Any]:
    if contact is None and company is None:
        raise ValidationError({"contact": [_("Attach this to a contact or a company.")]})
    return {"contact": contact, "company": company if company is not None else (contact.company if contact else None)}


def mentioned_users(body: str) -> list[User]:
    handles = {h.lower().rstrip(".") for h in MENTION.findall(body)}
    if not handles:
        return []
    users = User.objects.filter(is_active=True).only("id", "email", "full_name")
    return [u for u in users if u.mention_handle in handles]


def _subject_url(contact: Contact | None, company: Company | None) -> str:
    if contact is not None:
        return f"/contacts/{contact.uuid}/"
    return f"/companies/{company.uuid}/" if company is not None else ""


@transaction.atomic
def add_note(*, actor: Any, body: str, contact: Contact | None = None, company: Company | None = None) -> Interaction:
    """A note on a contact or company. Users named with @handle are notified in the app (and by email later)."""
    require(can_edit(actor))
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": [_("Write something in the note.")]})
    if len(body) > MAX_BODY:
        raise ValidationError({"body": [_("A note can be at most %(n)s characters.") % {"n": f"{MAX_BODY:,}"}]})
    target = _target(contact, company)
    note = Interaction.objects.create(kind=InteractionKind.NOTE, author=actor, body=body,
                                      occurred_at=timezone.now(), **target)
    mentions = [u for u in mentioned_users(body) if u.pk != getattr(actor, "pk", None)]
    note.mentions.set(mentions)
    about = str(contact or company)
    url = _subject_url(contact, company)
    Notification.objects.bulk_create([
        Notification(user=u, actor=actor, kind="mention", url=url,
                     text=_("%(actor)s mentioned you in a note on %(about)s") % {"actor": actor, "about": about})
        for u in mentions
    ])
    emit("note.created", subject=note, actor=actor, contact_id=getattr(contact, "pk", None),
         company_id=getattr(target["company"], "pk", None),
         payload={"interaction": str(note.uuid), "mentions": [str(u.uuid) for u in mentions]})
    audit.record(AuditAction.CREATE, actor=actor, obj=note, changes={"body": body[:500], "about": about})
    return note


def _clean_when(value: Any) -> dt.datetime:
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
    if when > timezone.now() + dt.timedelta(days=1):
        raise ValidationError({"occurred_at": [_("An interaction that happened cannot be in the future.")]})
    return when


@transaction.atomic
def log_interaction(*, actor: Any, kind: str, contact: Contact | None = None, company: Company | None = None,
                    subject: str = "", body: str = "", outcome: str = "", duration_seconds: int | None = None,
                    occurred_at: Any = None) -> Interaction:
    """Log a call, email, meeting, chat… that happened. Updates the contact's last-contact time."""
    require(can_edit(actor))
    if kind not in InteractionKind.values or kind == InteractionKind.NOTE:
        raise ValidationError({"kind": [_("“%(value)s” is not an interaction type.") % {"value": kind}]})
    if duration_seconds is not None and duration_seconds < 0:
        raise ValidationError({"duration_seconds": [_("A duration cannot be negative.")]})
    target = _target(contact, company)
    interaction = Interaction.objects.create(
        kind=kind, author=actor, subject=clean_text(subject)[:200], body=(body or "").strip()[:MAX_BODY],
        outcome=clean_text(outcome)[:64], duration_seconds=duration_seconds, occurred_at=_clean_when(occurred_at),
        **target,
    )
    if contact is not None:
        record_contacted(contact, interaction.occurred_at)
    emit(f"{kind}.logged", subject=interaction, actor=actor, contact_id=getattr(contact, "pk", None),
         company_id=getattr(target["company"], "pk", None), occurred_at=interaction.occurred_at,
         payload={"interaction": str(interaction.uuid), "kind": kind})
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
         company_id=interaction.company_id, payload={"interaction": str(interaction.uuid)})
    interaction.delete()


# --- tasks ----------------------------------------------------------------------------------------------------

def _clean_due(value: Any, user_tz: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        due = value
    else:
        try:
            due = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise ValidationError({"due_at": [_("“%(value)s” is not a date and time.") % {"value": value}]}) from None
    if timezone.is_naive(due):
        import zoneinfo

        due = timezone.make_aware(due, zoneinfo.ZoneInfo(user_tz or "UTC"))
    return due


@transaction.atomic
def create_task(*, actor: Any, title: str, due_at: Any = None, assignee: User | None = None,
                contact: Contact | None = None, company: Company | None = None,
                priority: str = TaskPriority.NORMAL, description: str = "") -> Task:
    require(can_edit(actor))
    errors: dict[str, list[str]] = {}
    title = clean_text(title)
    if not title:
        errors["title"] = [_("Give the task a title.")]
    if priority not in TaskPriority.values:
        errors["priority"] = [_("“%(value)s” is not a priority.") % {"value": priority}]
    try:
        due = _clean_due(due_at, getattr(actor, "time_zone", "UTC"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
        due = None
    if errors:
        raise ValidationError(errors)
    task = Task.objects.create(
        title=title[:200], description=(description or "").strip(), due_at=due, assignee=assignee or actor,
        created_by=actor, contact=contact, company=company or (contact.company if contact else None),
        priority=priority,
    )
    emit("task.created", subject=task, actor=actor, contact_id=getattr(contact, "pk", None),
         company_id=task.company_id, payload={"title": task.title, "due_at": due.isoformat() if due else None,
                                              "assignee": str(task.assignee) if task.assignee else None})
    audit.record(AuditAction.CREATE, actor=actor, obj=task, changes={"title": task.title})
    if task.assignee and task.assignee != actor:
        Notification.objects.create(user=task.assignee, actor=actor, kind="assignment",
                                    url=_subject_url(contact, company),
                                    text=_("%(actor)s assigned you a task: %(title)s") % {"actor": actor,
                                                                                          "title": task.title})
    return task


@transaction.atomic
def set_task_done(*, actor: Any, task: Task, done: bool = True) -> Task:
    require(can_edit(actor))
    if bool(task.done_at) == done:
        return task
    task.done_at = timezone.now() if done else None
    task.save(update_fields=["done_at", "updated_at"])
    emit("task.completed" if done else "task.reopened", subject=task, actor=actor, contact_id=task.contact_id,
         company_id=task.company_id, payload={"title": task.title})
    audit.record(AuditAction.UPDATE, actor=actor, obj=task, changes={"done": [not done, done]})
    return task


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
