"""Imports: a job per uploaded file, its rejected rows, the changes it made (for undo) and remembered mappings."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportObjectType(models.TextChoices):
    CONTACT = "contact", _("Contacts")
    COMPANY = "company", _("Companies")
    DEAL = "deal", _("Deals")
    ORDER = "order", _("Orders")


class MatchOn(models.TextChoices):
    NONE = "", _("Don't match: always create")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    EXTERNAL_ID = "external_id", _("External id")
    DOMAIN = "domain", _("Company domain")


class OnMatch(models.TextChoices):
    UPDATE = "update", _("Update the existing record")
    SKIP = "skip", _("Skip the row")
    CREATE = "create", _("Create a new record anyway")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    MAPPED = "mapped", _("Mapped")
    DRY_RUN = "dry_run", _("Checked")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    UNDOING = "undoing", _("Undoing")
    UNDONE = "undone", _("Undone")


class ImportJob(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    object_type = models.CharField(_("import"), max_length=16, choices=ImportObjectType.choices)
    original_name = models.CharField(_("file"), max_length=255)
    stored_path = models.CharField(max_length=500, blank=True)
    size = models.BigIntegerField(default=0)
    format = models.CharField(max_length=8, blank=True)
    encoding = models.CharField(max_length=32, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    sheet = models.CharField(max_length=100, blank=True)
    header_row = models.PositiveIntegerField(default=1)
    headers = models.JSONField(default=list, blank=True)
    sample = models.JSONField(default=list, blank=True)
    # {"<column index>": "<field key>"}; unmapped columns are absent.
    mapping = models.JSONField(default=dict, blank=True)
    preset = models.CharField(max_length=32, blank=True)
    match_on = models.CharField(_("match on"), max_length=16, choices=MatchOn.choices, blank=True)
    on_match = models.CharField(_("on a match"), max_length=8, choices=OnMatch.choices, default=OnMatch.UPDATE)
    status = models.CharField(max_length=12, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    dry_run = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    file_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["created_by", "-created_at", "-id"], name="importjob_user_recent"),
            models.Index(fields=["-created_at", "-id"], name="importjob_recent"),
            models.Index(fields=["finished_at"], name="importjob_finished"),
        ]

    def __str__(self) -> str:
        return self.original_name

    @property
    def can_undo(self) -> bool:
        """A finished import, or one that failed part-way after writing some batches (they stay until undone)."""
        return self.status == ImportStatus.DONE or (self.status == ImportStatus.FAILED and
                                                    bool(self.created or self.updated))

    @property
    def progress(self) -> int:
        if self.status in {ImportStatus.DONE, ImportStatus.UNDONE}:
            return 100
        if not self.total:
            return 0
        return min(100, int(self.processed * 100 / self.total))


class ImportRowError(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField()
    # [{"column": "E-mail", "field": "email", "message": "…"}]
    errors = models.JSONField(default=list)
    # The raw cells as read; shown escaped, never as HTML.
    values = models.JSONField(default=list)

    class Meta:
        indexes = [models.Index(fields=["job", "row_number"], name="importrowerror_job_row")]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row_number}"


class ImportChange(models.Model):
    CREATED = "created"
    UPDATED = "updated"
    ACTIONS = [(CREATED, "created"), (UPDATED, "updated")]
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="changes")
    object_type = models.CharField(max_length=16)
    object_id = models.BigIntegerField()
    action = models.CharField(max_length=8, choices=ACTIONS)
    # For updates: the fields the import changed, with their values before it.
    before = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["job", "action", "id"], name="importchange_job")]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_id}"


class ImportMappingMemory(models.Model):
    """The mapping used last time for a set of headers ("remembered per source")."""

    object_type = models.CharField(max_length=16)
    signature = models.CharField(max_length=64)
    mapping = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["object_type", "signature"], name="importmapping_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.object_type}:{self.signature}"
