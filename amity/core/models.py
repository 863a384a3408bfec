"""Base models shared by every app, the event log (transactional outbox) and the audit trail."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class PublicIdModel(TimestampedModel):
    """Integer primary key for joins; an opaque UUID for URLs and the API, so ids never leak counts or order."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True


class OwnedModel(PublicIdModel):
    """A record with an owner: the permission layer scopes visibility by owner and owner's team."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        abstract = True


class EventStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class Event(models.Model):
    """A typed domain event written in the same transaction as the change it describes.

    The timeline of a contact or company reads these rows; the worker dispatches them to handlers
    (claiming each with a lease, so a killed worker's events are picked up again) and marks them done.
    """

    type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    subject_type = models.CharField(max_length=32)
    subject_id = models.BigIntegerField()
    # The timelines this event appears on (plain ids: the event log outlives and does not constrain its subjects).
    contact_id = models.BigIntegerField(null=True, blank=True)
    company_id = models.BigIntegerField(null=True, blank=True)
    deal_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=EventStatus.choices, default=EventStatus.PENDING)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["contact_id", "-occurred_at", "-id"], name="event_contact_timeline"),
            models.Index(fields=["company_id", "-occurred_at", "-id"], name="event_company_timeline"),
            models.Index(fields=["deal_id", "-occurred_at", "-id"], name="event_deal_timeline"),
            models.Index(fields=["subject_type", "subject_id", "-occurred_at"], name="event_subject"),
            models.Index(fields=["status", "id"], name="event_pending", condition=models.Q(status="pending")),
            models.Index(fields=["type", "-occurred_at"], name="event_type"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.subject_type}:{self.subject_id}"


class AuditAction(models.TextChoices):
    CREATE = "create", _("create")
    UPDATE = "update", _("update")
    DELETE = "delete", _("delete")
    EXPORT = "export", _("export")
    MERGE = "merge", _("merge")
    PERMISSION = "permission", _("permission change")
    LOGIN = "login", _("login")


class AuditEntry(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    object_type = models.CharField(max_length=32)
    object_id = models.BigIntegerField(null=True, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    # {field: [before, after]} for updates; the full snapshot for create/delete; details for exports.
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "-at"], name="audit_object"),
            models.Index(fields=["actor", "-at"], name="audit_actor"),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"


class Tag(models.Model):
    """A label shared by every taggable object (contacts, companies, later deals and tickets)."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    color = models.CharField(_("colour"), max_length=16, default="slate")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")
    BOOLEAN = "boolean", _("Yes/no")
    URL = "url", _("URL")


class CustomFieldDefinition(models.Model):
    """An admin-defined field; values live in the owning object's ``custom`` JSON column under ``key``."""

    object_type = models.CharField(_("object"), max_length=32)  # "contact", "company", later "deal", "ticket"
    key = models.SlugField(_("key"), max_length=64)
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=16, choices=CustomFieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    show_in_list = models.BooleanField(_("show as a list column"), default=True)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["object_type", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["object_type", "key"], name="customfield_unique_key")]

    def __str__(self) -> str:
        return self.label


class SearchDocument(models.Model):
    """The text the global search matches for one record. Full-text indexes over ``body`` are created per
    database by migration: FTS5 tables kept in sync by triggers on SQLite, tsvector + pg_trgm GIN on PostgreSQL."""

    kind = models.CharField(max_length=16)
    obj_id = models.BigIntegerField()
    title = models.CharField(max_length=300)
    body = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "obj_id"], name="searchdocument_unique")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.obj_id}"


class ExchangeRate(models.Model):
    """How many units of the base currency one unit of ``currency`` was worth from ``valid_from`` on."""

    currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=18, decimal_places=8)
    valid_from = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [models.UniqueConstraint(fields=["currency", "valid_from"], name="exchangerate_unique")]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} (from {self.valid_from})"


class Counter(models.Model):
    """Gap-free numbering (quote numbers…): incremented inside the writer's transaction."""

    key = models.CharField(max_length=64, unique=True)
    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class PeriodicJob(models.Model):
    """When a registered periodic job (``core.periodic``) next falls due, and who holds it while it runs.

    One row per job name; a worker claims a due job with a conditional update, so among several workers on
    several machines exactly one runs each occurrence."""

    name = models.CharField(max_length=64, unique=True)
    next_run_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name
