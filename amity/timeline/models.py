"""Interactions (notes, calls, emails, meetings, chats…), mentions and tasks."""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from amity.core.models import PublicIdModel


class InteractionKind(models.TextChoices):
    NOTE = "note", _("Note")
    CALL = "call", _("Call")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    CHAT = "chat", _("Chat")
    SMS = "sms", _("SMS")
    IN_STORE = "in_store", _("In store")
    SOCIAL = "social", _("Social")


class Interaction(PublicIdModel):
    kind = models.CharField(_("kind"), max_length=16, choices=InteractionKind.choices)
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="interactions"
    )
    company = models.ForeignKey(
        "contacts.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="interactions"
    )
    deal = models.ForeignKey("sales.Deal", null=True, blank=True, on_delete=models.CASCADE, related_name="interactions")
    attendees = models.ManyToManyField("contacts.Contact", blank=True, related_name="meetings_attended")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    occurred_at = models.DateTimeField(_("when"))
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=64, blank=True)
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="mentioned_in")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["contact", "-occurred_at"], name="interaction_contact"),
            models.Index(fields=["company", "-occurred_at"], name="interaction_company"),
            # A user's meetings in a date range (calendar export and feed).
            models.Index(fields=["author", "kind", "occurred_at"], name="interaction_author_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject or self.body[:40]}"


class TaskPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")


class Recurrence(models.TextChoices):
    NONE = "", _("Does not repeat")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")


class Task(PublicIdModel):
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assignee"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="tasks",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    company = models.ForeignKey("contacts.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    deal = models.ForeignKey("sales.Deal", null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    priority = models.CharField(_("priority"), max_length=8, choices=TaskPriority.choices, default=TaskPriority.NORMAL)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    remind_minutes_before = models.PositiveIntegerField(_("remind me (minutes before)"), null=True, blank=True)
    # When the reminder is due; cleared once delivered. The worker claims due reminders by setting reminder_sent_at.
    remind_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    reminder_was_late = models.BooleanField(default=False)
    recurrence = models.CharField(_("repeats"), max_length=8, choices=Recurrence.choices, blank=True, default="")

    class Meta:
        ordering = ["done_at", "due_at", "id"]
        indexes = [
            models.Index(fields=["assignee", "done_at", "due_at"], name="task_assignee_open"),
            models.Index(fields=["contact", "done_at", "due_at"], name="task_contact_open"),
            models.Index(fields=["company", "done_at", "due_at"], name="task_company_open"),
            models.Index(fields=["deal", "done_at", "due_at"], name="task_deal_open"),
            models.Index(fields=["remind_at"], name="task_reminder_due", condition=models.Q(reminder_sent_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.title


class CalendarFeed(models.Model):
    """A private calendar subscription URL: ``/calendar/feed/<secret>.ics`` lists the user's meetings and open
    tasks. Only a SHA-256 digest of the secret is stored (like ``ApiToken``); the URL is shown once."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds")
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "revoked_at"], name="calendarfeed_user")]

    def __str__(self) -> str:
        return f"{self.prefix}…"

    @staticmethod
    def digest_of(secret: str) -> str:
        # 256-bit random secrets: a fast hash is enough, no salt or stretching needed.
        return hashlib.sha256(secret.encode()).hexdigest()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
