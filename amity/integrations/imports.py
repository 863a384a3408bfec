"""Imports: the services behind the wizard, the API, the CLI and the worker, and the row engine.

Flow: ``create_job`` (store and inspect the file) → ``set_mapping`` (columns → fields, how rows match existing
records) → ``dry_run`` (the same engine without writing) → ``start`` (queue ``tasks.run_import``) → ``run`` (in the
worker) → ``undo``.

Each row is all-or-nothing: a row that fails validation is written to ``ImportRowError`` with the column, the field
and the reason, and the other rows land. Contacts go through a batched fast path (validate each row in Python
with the normalisers the contact services use, resolve matches for a batch of rows in a few ``IN`` queries, then
``bulk_create`` and ``bulk_update`` in one transaction per batch). Companies, deals and orders go through their
per-record services. One audit entry is written per import run (with counts), not one per row; the
``ImportChange`` rows are the per-record log that undo reads.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import logging
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amity.contacts.models import Company, Contact, ContactEmail, ContactPhone, LifecycleStage
from amity.core import audit, search
from amity.core.customfields import clean_value, definitions
from amity.core.db import (
    CONTACT_REMOVAL_LOCK,
    insert_rows,
    lock_for_transaction,
    time_ordered_uuid,
    update_rows,
)
from amity.core.models import AuditAction, CustomFieldDefinition, Event, SearchDocument, Tag
from amity.core.normalize import clean_text, display_name, normalize_domain, normalize_email, normalize_phone
from amity.core.permissions import _ownership_q, can_edit, is_admin, require, visible_to

from . import import_pipeline, readers
from .models import (
    ImportChange,
    ImportJob,
    ImportMappingMemory,
    ImportObjectType,
    ImportRowError,
    ImportStatus,
    MatchOn,
    OnMatch,
)

logger = logging.getLogger("amity.imports")

BATCH_SIZE = 2000
# Contacts take bigger transactions: each commit writes every page the batch touched in ~20 indexes (most of them
# scattered through big B-trees) to the WAL and back, so 5,000 rows per commit cost ~40 % less than 2,000.
CONTACT_BATCH_SIZE = 5000
DRY_RUN_ROWS = 10_000
EXAMPLES = 10
UPDATE_EXAMPLES = 5
KEEP_FILES_DAYS = 7
PHONE_CACHE = 100_000  # distinct raw phone values remembered by a run
# Which match keys make sense for which object.
MATCH_KEYS: dict[str, list[str]] = {
    "contact": [MatchOn.EMAIL, MatchOn.PHONE, MatchOn.EXTERNAL_ID],
    "company": [MatchOn.DOMAIN, MatchOn.EXTERNAL_ID],
    "deal": [MatchOn.EXTERNAL_ID],
    "order": [MatchOn.EXTERNAL_ID],
}
CONTACT_TEXT = ["first_name", "last_name", "job_title", "source", "street", "city", "region", "postal_code"]
CONTACT_LIMITS = {f: Contact._meta.get_field(f).max_length or 10_000 for f in CONTACT_TEXT}  # type: ignore[union-attr]


def import_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def header_signature(headers: list[str]) -> str:
    normalised = "\x1f".join(clean_text(h).lower() for h in headers)
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:64]


def _require_job_access(actor: Any, job: ImportJob) -> None:
    require(can_edit(actor))
    require(job.created_by_id == getattr(actor, "pk", None) or is_admin(actor))


# --- upload and inspection ---------------------------------------------------------------------------------------

def create_job(*, actor: Any, fileobj: Any, name: str, object_type: str, encoding: str = "",
               delimiter: str = "") -> ImportJob:
    """Store an uploaded (or CLI-given) file, inspect it and suggest a mapping.

    ``fileobj`` is a binary file-like object; errors name the field (``file``, ``object_type``, ``encoding``)."""
    require(can_edit(actor), _("Your role cannot import records."))
    errors: dict[str, list[str]] = {}
    if object_type not in ImportObjectType.values:
        errors["object_type"] = [_("Choose what to import: contacts, companies, deals or orders.")]
    if delimiter and delimiter not in {",", ";", "\t", "|"}:
        errors["delimiter"] = [_("Use a comma, semicolon, tab or vertical bar as the delimiter.")]
    name = clean_text(Path(name or "import").name)[:255] or "import"
    if errors:
        raise ValidationError(errors)
    job = ImportJob(created_by=actor if getattr(actor, "is_authenticated", False) else None,
                    object_type=object_type, original_name=name)
    suffix = "".join(Path(name).suffixes[-1:]).lower()[:10]
    path = import_dir() / f"{job.uuid}{suffix}"
    size = 0
    with open(path, "wb") as out:
        while chunk := fileobj.read(1024 * 1024):
            size += len(chunk)
            if size > readers.MAX_FILE_BYTES:
                out.close()
                path.unlink(missing_ok=True)
                raise ValidationError({"file": [
                    _("The file is larger than %(limit)s MB. Split it into smaller files.")
                    % {"limit": readers.MAX_FILE_BYTES // (1024 * 1024)}]})
            out.write(chunk)
    if size == 0:
        path.unlink(missing_ok=True)
        raise ValidationError({"file": [_("The file is empty.")]})
    job.stored_path = str(path)
    job.size = size
    try:
        _inspect_into(job, encoding, delimiter)
    except ValidationError:
        path.unlink(missing_ok=True)
        raise
    job.mapping = suggested_mapping(job.object_type, job.headers)
    job.save()
    return job


def _inspect_into(job: ImportJob, encoding: str = "", delimiter: str = "") -> None:
    try:
        info = readers.inspect(job.stored_path, encoding=encoding or None, delimiter=delimiter or None)
    except readers.FileProblem as exc:
        raise ValidationError({"file": [str(exc)]}) from None
    job.format = info.format
    job.encoding = info.encoding or ""
    job.delimiter = info.delimiter or ""
    job.sheet = info.sheet or ""
    job.header_row = info.header_row
    job.headers = list(info.headers)
    job.sample = [list(row) for row in info.sample[:10]]


def reinspect(*, actor: Any, job: ImportJob, encoding: str = "", delimiter: str = "") -> ImportJob:
    """Read the file again with another encoding or delimiter (the "wrong? choose" controls)."""
    _require_job_access(actor, job)
    _require_editable(job)
    if delimiter and delimiter not in {",", ";", "\t", "|"}:
        raise ValidationError({"delimiter": [_("Use a comma, semicolon, tab or vertical bar as the delimiter.")]})
    _inspect_into(job, encoding, delimiter)
    job.mapping = suggested_mapping(job.object_type, job.headers)
    job.status = ImportStatus.UPLOADED
    job.save()
    return job


def suggested_mapping(object_type: str, headers: list[str]) -> dict[str, str]:
    """The mapping used last time for these headers, else a preset's, else guessed from the header names."""
    memory = ImportMappingMemory.objects.filter(object_type=object_type, signature=header_signature(headers)).first()
    if memory is not None:
        return dict(memory.mapping)
    from . import presets

    return {str(k): v for k, v in presets.suggest_mapping(object_type, headers).items() if v}


def preset_mapping(object_type: str, preset: str, headers: list[str]) -> dict[str, str]:
    """Columns mapped by a named preset (HubSpot, Salesforce, Pipedrive export headers)."""
    from . import presets

    if preset not in presets.PRESETS:
        raise ValidationError({"preset": [_("“%(value)s” is not a preset.") % {"value": preset}]})
    return {str(k): v for k, v in presets.suggest_mapping(object_type, headers, preset=preset).items()}


def apply_preset(*, actor: Any, job: ImportJob, preset: str) -> ImportJob:
    """Replace the suggested mapping with a preset's (the wizard's preset picker); nothing is validated yet."""
    _require_job_access(actor, job)
    _require_editable(job)
    job.mapping = preset_mapping(job.object_type, preset, job.headers)
    job.preset = preset
    job.save(update_fields=["mapping", "preset", "updated_at"])
    return job


def _require_editable(job: ImportJob) -> None:
    if job.status not in {ImportStatus.UPLOADED, ImportStatus.MAPPED, ImportStatus.DRY_RUN}:
        raise ValidationError({"status": [_("This import has already run; start a new one to change it.")]})


def set_mapping(*, actor: Any, job: ImportJob, mapping: dict[Any, Any], match_on: str = "",
                on_match: str = OnMatch.UPDATE, preset: str = "") -> ImportJob:
    """Validate and store the column mapping and the match settings; remember the mapping for these headers."""
    _require_job_access(actor, job)
    _require_editable(job)
    from . import presets

    clean: dict[int, str] = {}
    errors: dict[str, list[str]] = {}
    for key, value in (mapping or {}).items():
        try:
            index = int(key)
        except (TypeError, ValueError):
            errors.setdefault("mapping", []).append(_("“%(value)s” is not a column number.") % {"value": key})
            continue
        if not (0 <= index < len(job.headers)):
            errors.setdefault("mapping", []).append(_("There is no column %(value)s.") % {"value": index})
            continue
        if value:
            clean[index] = str(value)
    if errors:
        raise ValidationError(errors)
    presets.validate_mapping(job.object_type, clean, job.headers)
    if match_on not in MatchOn.values or (match_on and match_on not in MATCH_KEYS[job.object_type]):
        errors["match_on"] = [_("“%(value)s” cannot be used to match %(object)s.")
                              % {"value": match_on, "object": job.get_object_type_display()}]
    elif match_on and not _mapped_match_field(job.object_type, match_on, clean):
        errors["match_on"] = [_("Map a column to %(field)s to match on it.") % {"field": MatchOn(match_on).label}]
    if on_match not in OnMatch.values:
        errors["on_match"] = [_("Choose update, skip or create.")]
    if errors:
        raise ValidationError(errors)
    job.mapping = {str(k): v for k, v in sorted(clean.items())}
    job.match_on = match_on
    job.on_match = on_match
    job.preset = clean_text(preset)[:32]
    job.status = ImportStatus.MAPPED
    job.dry_run = {}
    job.save()
    ImportMappingMemory.objects.update_or_create(
        object_type=job.object_type, signature=header_signature(job.headers), defaults={"mapping": job.mapping})
    return job


def _mapped_match_field(object_type: str, match_on: str, mapping: dict[int, str]) -> bool:
    fields = set(mapping.values())
    if match_on == MatchOn.EMAIL:
        return any(_kind(f) == "email" for f in fields)
    if match_on == MatchOn.PHONE:
        return any(_kind(f) == "phone" for f in fields)
    if match_on == MatchOn.DOMAIN:
        return "domain" in fields
    return "external_id" in fields


# --- running ---------------------------------------------------------------------------------------------------

def start(*, actor: Any, job: ImportJob) -> ImportJob:
    """Queue the real run in the worker."""
    _require_job_access(actor, job)
    if job.status not in {ImportStatus.MAPPED, ImportStatus.DRY_RUN}:
        raise ValidationError({"status": [_("Map the columns before running the import.")]})
    job.status = ImportStatus.QUEUED
    job.save(update_fields=["status", "updated_at"])
    from .tasks import run_import

    # The database queue's row commits with the status change (or not at all).
    run_import.enqueue(job.pk)
    job.refresh_from_db()
    return job


def dry_run(*, actor: Any, job: ImportJob) -> dict[str, Any]:
    """Check the first ``DRY_RUN_ROWS`` rows exactly as the real run would, without writing anything."""
    _require_job_access(actor, job)
    if job.status not in {ImportStatus.MAPPED, ImportStatus.DRY_RUN}:
        raise ValidationError({"status": [_("Map the columns before checking the import.")]})
    engine = Engine(job, actor=job.created_by or actor, commit=False, row_limit=DRY_RUN_ROWS)
    engine.execute()
    job.dry_run = engine.summary()
    job.status = ImportStatus.DRY_RUN
    job.save(update_fields=["dry_run", "status", "updated_at"])
    return job.dry_run


def run(job_id: int) -> ImportJob:
    """The real run (called by the worker task and by the CLI). Safe to call again: a finished job is left alone."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status not in {ImportStatus.QUEUED, ImportStatus.MAPPED, ImportStatus.DRY_RUN}:
        return job
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, started_at=timezone.now(),
                                               processed=0, created=0, updated=0, skipped=0, errors=0)
    job.refresh_from_db()
    engine = Engine(job, actor=job.created_by, commit=True)
    try:
        engine.execute()
    except Exception as exc:
        logger.exception("import %s failed", job.uuid)
        message = str(exc.messages[0]) if isinstance(exc, ValidationError) else _("The import stopped: %(error)s") % {
            "error": type(exc).__name__}
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED, finished_at=timezone.now(),
                                                   error_message=message[:2000])
        job.refresh_from_db()
        return job
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.DONE, finished_at=timezone.now())
        job.refresh_from_db()
        audit.record(AuditAction.CREATE, actor=job.created_by, object_type="import", changes={
            "import": str(job.uuid), "file": job.original_name, "object_type": job.object_type,
            "total": job.total, "created": job.created, "updated": job.updated, "skipped": job.skipped,
            "errors": job.errors})
    return job


STALLED_AFTER = dt.timedelta(minutes=15)


def fail_stalled_runs(now: dt.datetime | None = None) -> int:
    """Mark imports that stopped making progress (their worker was stopped or crashed: a running import records
    its progress after every batch of a few seconds) as failed, saying how far they got; what they wrote stays
    and can be undone. Returns how many were marked."""
    now = now or timezone.now()
    marked = 0
    for job in ImportJob.objects.filter(status=ImportStatus.RUNNING, updated_at__lt=now - STALLED_AFTER):
        message = _("The import stopped without finishing (the worker was stopped or crashed) after %(n)s rows. "
                    "The records it wrote are kept; undo removes them.") % {"n": f"{job.processed:,}"}
        marked += ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING, updated_at=job.updated_at) \
            .update(status=ImportStatus.FAILED, finished_at=job.updated_at, error_message=message)
    return marked


# --- reading rows -----------------------------------------------------------------------------------------------

@dataclass
class Row:
    number: int
    values: list[str]
    data: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)

    def fail(self, column: str, field_key: str, message: str) -> None:
        self.errors.append({"column": column, "field": field_key, "message": message})


def _kind(key: str) -> str:
    """The family a field key belongs to: several columns may feed emails, phones or tags."""
    if key.startswith("custom."):
        return "custom"
    base = key.rstrip("0123456789").rstrip("_")
    if base in {"email", "emails", "contact_email"}:
        return "email"
    if base in {"phone", "phones"}:
        return "phone"
    return base


def _field_meta(object_type: str) -> dict[str, Any]:
    from . import presets

    return {f.key: f for f in presets.fields_for(object_type)}


class Engine:
    """Reads the job's file in batches and applies the row rules for its object type."""

    def __init__(self, job: ImportJob, *, actor: Any, commit: bool, row_limit: int | None = None,
                 on_batch: Callable[[ImportJob], None] | None = None) -> None:
        from . import values

        self.job = job
        self.actor = actor
        self.commit = commit
        self.row_limit = row_limit
        self.on_batch = on_batch
        self.day_first = values.workspace_day_first()
        self.mapping = {int(k): v for k, v in (job.mapping or {}).items()}
        self.headers = list(job.headers)
        self.counts = {"total": 0, "created": 0, "updated": 0, "skipped": 0, "errors": 0}
        self.error_examples: list[dict[str, Any]] = []
        self.update_examples: list[dict[str, Any]] = []
        self.meta = _field_meta(job.object_type)
        self.custom_defs = {d.key: d for d in definitions(job.object_type if job.object_type != "order" else "-")}
        self.users: dict[str, Any] | None = None
        # A dry run writes nothing, so keys claimed by earlier rows are remembered here instead of in the database.
        self.claimed: dict[str, dict[str, int]] = {"email": {}, "phone": {}, "external_id": {}}
        self.sees_all = _ownership_q(actor) is None
        self.phones: dict[str, str] = {}

    # rows -----------------------------------------------------------------------------------------------------
    def rows(self) -> Iterator[Row]:
        info = readers.SheetInfo(format=self.job.format, encoding=self.job.encoding, delimiter=self.job.delimiter,
                                 headers=self.headers, sample=[], sheet=self.job.sheet,
                                 header_row=self.job.header_row)
        ragged: dict[int, tuple[int, int]] = {}

        def on_ragged(number: int, cells: int, width: int) -> None:
            if cells > width:  # cells beyond the header would be lost: the row is refused, not cut
                ragged[number] = (cells, width)

        for number, cells in readers.iter_rows(self.job.stored_path, info, on_ragged=on_ragged):
            row = Row(number, cells)
            if number in ragged:
                count, width = ragged.pop(number)
                row.fail("", "", _("This row has %(cells)s cells but the header names %(columns)s columns; "
                                   "check for an unquoted delimiter.") % {"cells": count, "columns": width})
            yield row

    def batches(self) -> Iterator[list[Row]]:
        batch: list[Row] = []
        # An order's lines (rows sharing the order id) stay in one batch.
        group_column = next((i for i, k in self.mapping.items() if k == "external_id"), None) \
            if self.job.object_type == "order" else None
        size = CONTACT_BATCH_SIZE if self.job.object_type == "contact" else BATCH_SIZE
        for seen, row in enumerate(self.rows()):
            if self.row_limit is not None and seen >= self.row_limit:
                break
            if len(batch) >= size and (group_column is None
                                             or row.values[group_column] != batch[-1].values[group_column]):
                yield batch
                batch = []
            batch.append(row)
        if batch:
            yield batch

    def execute(self) -> None:
        if self.commit:
            self.job.total = self._estimate_rows()
            ImportJob.objects.filter(pk=self.job.pk).update(total=self.job.total)
        handler = {
            "contact": self.contact_batch,
            "company": self.company_batch,
            "deal": self.deal_batch,
            "order": self.order_batch,
        }[self.job.object_type]
        # The run's objects come and go batch by batch; the process's long-lived ones (Django, its caches) need not
        # be scanned by each garbage collection meanwhile (~20 µs a row of a big contact import).
        gc.freeze()
        try:
            with closing(self._checked_batches()) as batches:
                for batch in batches:
                    self.counts["total"] += len(batch)
                    with transaction.atomic():
                        handler(batch)
                        self._finish_batch(batch)
                        if not self.commit and self.job.object_type != "contact":
                            transaction.set_rollback(True)
        except readers.FileProblem as exc:
            raise ValidationError(str(exc)) from None
        except import_pipeline.ReaderFailed as exc:
            raise ValidationError(str(exc)) from None
        finally:
            gc.unfreeze()
        if self.commit:
            # The estimate made way for the real count.
            self.job.total = self.counts["total"]
            ImportJob.objects.filter(pk=self.job.pk).update(total=self.job.total)

    def _checked_batches(self) -> Generator[list[Row], None, None]:
        """The file's batches with ``check_rows`` done: in a second process for big contact imports (see
        ``import_pipeline``), here otherwise. Both give the same rows, errors and batches."""
        if (self.commit and self.job.object_type == "contact" and self.job.total >= import_pipeline.MIN_ROWS
                and import_pipeline.available()):
            return import_pipeline.checked_batches(self)
        return self._checked_here()

    def _checked_here(self) -> Generator[list[Row], None, None]:
        for batch in self.batches():
            self.check_rows(batch)
            yield batch

    def check_rows(self, batch: list[Row]) -> None:
        """Everything about a row that needs no database: cells into values, then for contacts the contact rules
        (a row that fails stays in the batch with its errors)."""
        for row in batch:
            if not row.errors:
                self.parse(row)
        if self.job.object_type == "contact":
            for row in batch:
                if not row.errors:
                    self._contact_rules(row)

    def prepare_for_child(self) -> None:
        """Load what ``check_rows`` would otherwise query lazily, so a child process needs no database."""
        if any(key in {"owner", "owner_email"} for key in self.mapping.values()):
            self._active_users()

    def _estimate_rows(self) -> int:
        """How many rows the file holds, for the progress bar until the run ends (then ``total`` is exact).

        CSV: the line breaks in the file (a fast byte count; a cell with a line break in it counts twice, a blank
        line once), so the progress is the share of the file read. XLSX: the rows are counted (the sheet is
        compressed XML; there is no cheaper honest figure)."""
        if self.job.format == "xlsx":
            return sum(1 for _row in self.rows())
        lines, last = 0, b"\n"
        with open(self.job.stored_path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
        if last != b"\n":  # the last row has no line break after it
            lines += 1
        return max(0, lines - self.job.header_row)

    def _finish_batch(self, batch: list[Row]) -> None:
        failed = [r for r in batch if r.errors]
        self.counts["errors"] += len(failed)
        for row in failed:
            if len(self.error_examples) < EXAMPLES:
                self.error_examples.append({"row": row.number, "errors": row.errors})
        if not self.commit:
            return
        ImportRowError.objects.bulk_create(
            [ImportRowError(job=self.job, row_number=r.number, errors=r.errors, values=r.values) for r in failed])
        self.job.total = max(self.job.total, self.counts["total"])
        ImportJob.objects.filter(pk=self.job.pk).update(
            total=self.job.total, processed=self.counts["total"], created=self.counts["created"],
            updated=self.counts["updated"], skipped=self.counts["skipped"], errors=self.counts["errors"],
            updated_at=timezone.now())
        for key in ("created", "updated", "skipped", "errors"):
            setattr(self.job, key, self.counts[key])
        self.job.processed = self.counts["total"]
        if self.on_batch:
            self.on_batch(self.job)

    def summary(self) -> dict[str, Any]:
        return {**self.counts, "limit": self.row_limit, "error_examples": self.error_examples,
                "update_examples": self.update_examples}

    # parsing cells into field values ------------------------------------------------------------------------
    def parse(self, row: Row) -> None:
        data: dict[str, Any] = {}
        for index, key in self.mapping.items():
            raw = row.values[index] if index < len(row.values) else ""
            column = self.headers[index] if index < len(self.headers) else str(index)
            kind = _kind(key)
            if raw in ("", None):
                continue
            raw = str(raw)
            try:
                if kind == "email":
                    data.setdefault("emails", []).extend(
                        normalize_email(p) for p in _split_multi(raw) if clean_text(p))
                elif kind == "phone":
                    data.setdefault("phones", []).extend(
                        self.phone(p) for p in _split_multi(raw) if clean_text(p))
                elif kind == "tags":
                    data.setdefault("tags", []).extend(t for t in (clean_text(x)[:64] for x in raw.split(",")) if t)
                elif kind == "custom":
                    custom_key = key.split(".", 1)[1]
                    definition = self.custom_defs.get(custom_key)
                    if definition is None:
                        raise ValidationError(_("There is no custom field “%(key)s”.") % {"key": custom_key})
                    value = _custom_value(definition, raw, self.day_first)
                    if value is not None:
                        data.setdefault("custom", {})[custom_key] = value
                else:
                    data[key] = self.scalar(key, raw)
            except ValidationError as exc:
                row.fail(column, key, " ".join(str(m) for m in exc.messages))
            except ValueError as exc:
                row.fail(column, key, str(exc))
        row.data = data

    def phone(self, raw: str) -> str:
        """``normalize_phone`` remembered per distinct raw value (files repeat numbers: switchboards, formats);
        only successes are kept, so a bad number raises its error on every row that has it."""
        number = self.phones.get(raw)
        if number is None:
            number = normalize_phone(raw)
            if len(self.phones) >= PHONE_CACHE:
                self.phones.clear()
            self.phones[raw] = number
        return number

    def scalar(self, key: str, raw: str) -> Any:
        from . import values

        meta = self.meta.get(key)
        value_type = getattr(meta, "value_type", "text")
        if value_type == "date":
            parsed = values.parse_date(raw, day_first=self.day_first)
            if parsed is None:
                raise ValidationError(_("“%(value)s” is not a date.") % {"value": raw})
            return parsed
        if value_type == "datetime":
            return values.parse_datetime(raw, day_first=self.day_first, tz=timezone.get_current_timezone())
        if value_type in {"decimal", "number", "money"}:
            return values.parse_decimal(raw)
        if value_type in {"bool", "boolean"} or key == "do_not_contact":
            return values.parse_bool(raw)
        if key in {"owner_email", "owner"}:
            return self.owner(raw)
        if key == "domain" or key == "company_domain":
            return normalize_domain(raw)
        if key == "country":
            code = clean_text(raw).upper()
            import phonenumbers

            if code not in phonenumbers.SUPPORTED_REGIONS:
                raise ValidationError(_("“%(value)s” is not an ISO 3166 country code (e.g. US, CN, DE).")
                                      % {"value": code})
            return code
        return clean_text(raw)

    def _active_users(self) -> dict[str, Any]:
        if self.users is None:
            user_model = get_user_model()
            self.users = {u.email.lower(): u for u in user_model.objects.filter(is_active=True)}
        return self.users

    def owner(self, raw: str) -> Any:
        user = self._active_users().get(clean_text(raw).lower())
        if user is None:
            raise ValidationError(_("No active user has the email “%(value)s”.") % {"value": clean_text(raw)})
        return user

    # contacts: the batched fast path -------------------------------------------------------------------------
    def contact_batch(self, batch: list[Row]) -> None:
        job = self.job
        good = [r for r in batch if not r.errors]  # check_rows applied the contact rules
        # Matches for the whole batch in one query per key.
        emails = {e for r in good for e in r.data.get("emails", [])}
        phones = {p for r in good for p in r.data.get("phones", [])}
        external = {r.data["external_id"] for r in good if r.data.get("external_id")}
        email_owner = dict(ContactEmail.objects.filter(email__in=emails).values_list("email", "contact_id")) \
            if emails else {}
        phone_owner: dict[str, int] = {}
        if phones and job.match_on == MatchOn.PHONE:
            for number, contact_id in ContactPhone.objects.filter(number__in=phones).values_list(
                    "number", "contact_id").order_by("id"):
                phone_owner.setdefault(number, contact_id)
        external_owner: dict[str, int] = {}
        if external and job.match_on == MatchOn.EXTERNAL_ID:
            for ext, contact_id in Contact.objects.filter(external_id__in=external, merged_into__isnull=True) \
                    .values_list("external_id", "contact_id" if False else "id").order_by("id"):
                external_owner.setdefault(ext, contact_id)
        for kind, claimed in self.claimed.items():
            target = {"email": email_owner, "phone": phone_owner, "external_id": external_owner}[kind]
            for key, contact_id in claimed.items():
                target.setdefault(key, contact_id)
        candidates = set(email_owner.values()) | set(phone_owner.values()) | set(external_owner.values())
        visible = set(candidates) if self.sees_all else set(
            visible_to(self.actor, Contact.objects.filter(pk__in=candidates)).values_list("pk", flat=True)
        ) if candidates else set()

        to_create: list[Row] = []
        to_update: dict[int, list[Row]] = {}
        in_batch: dict[tuple[str, str], int] = {}  # (kind, key) -> row number that claims it in this batch
        for row in good:
            match = self._find_match(row, email_owner, phone_owner, external_owner)
            if match is not None and match > 0 and match not in visible:
                row.fail(self._column_of("email"), "email", _("This record exists but belongs to another team."))
                continue
            if match is not None and job.on_match == OnMatch.SKIP:
                self.counts["skipped"] += 1
                continue
            if match is not None and job.on_match == OnMatch.UPDATE:
                if match < 0:  # matched a row created earlier in this run (dry run) or this batch
                    self.counts["skipped"] += 1
                    continue
                # Another address in this row may already belong to a different contact.
                clash = [e for e in row.data.get("emails", []) if email_owner.get(e, match) != match]
                if clash:
                    row.fail(self._column_of("email"), "email",
                             _("%(email)s already belongs to another contact.") % {"email": clash[0]})
                    continue
                to_update.setdefault(match, []).append(row)
                continue
            # create (no match, or "create anyway"): a contact needs a name or an email, and emails are unique
            if not (row.data.get("first_name") or row.data.get("last_name") or row.data.get("emails")):
                row.fail(self._column_of("first_name"), "first_name",
                         _("Give the contact a name or an email address."))
                continue
            taken = [e for e in row.data.get("emails", []) if e in email_owner]
            if taken:
                row.fail(self._column_of("email"), "email",
                         _("%(email)s already belongs to another contact.") % {"email": taken[0]})
                continue
            dup = next((in_batch[("email", e)] for e in row.data.get("emails", []) if ("email", e) in in_batch), None)
            if dup is not None:
                row.fail(self._column_of("email"), "email",
                         _("The same email address is on row %(row)s of this file.") % {"row": dup})
                continue
            for e in row.data.get("emails", []):
                in_batch[("email", e)] = row.number
            to_create.append(row)
        self.counts["created"] += len(to_create)
        self.counts["updated"] += len(to_update)
        for e_row in to_create:
            for e in e_row.data.get("emails", []):
                email_owner[e] = -e_row.number
            if not self.commit:
                for e in e_row.data.get("emails", []):
                    self.claimed["email"][e] = -e_row.number
                for p in e_row.data.get("phones", [])[:1]:
                    self.claimed["phone"].setdefault(p, -e_row.number)
                if e_row.data.get("external_id"):
                    self.claimed["external_id"].setdefault(e_row.data["external_id"], -e_row.number)
        if to_update:
            self._update_contacts(to_update)
        if self.commit and to_create:
            self._create_contacts(to_create)

    def _column_of(self, kind: str) -> str:
        for index, key in self.mapping.items():
            if _kind(key) == kind:
                return self.headers[index]
        return ""

    def _find_match(self, row: Row, email_owner: dict[str, int], phone_owner: dict[str, int],
                    external_owner: dict[str, int]) -> int | None:
        match_on = self.job.match_on
        if match_on == MatchOn.EMAIL:
            return next((email_owner[e] for e in row.data.get("emails", []) if e in email_owner), None)
        if match_on == MatchOn.PHONE:
            return next((phone_owner[p] for p in row.data.get("phones", []) if p in phone_owner), None)
        if match_on == MatchOn.EXTERNAL_ID and row.data.get("external_id"):
            return external_owner.get(row.data["external_id"])
        return None

    def _contact_rules(self, row: Row) -> None:
        """The same rules as ``contacts.services.clean_contact_input`` for what an import can carry."""
        data = row.data
        for key in CONTACT_TEXT:
            if key in data:
                data[key] = data[key][: CONTACT_LIMITS[key]]
        if "name" in data or "full_name" in data:
            full = data.pop("name", "") or data.pop("full_name", "")
            data.pop("full_name", None)
            if full and "first_name" not in data and "last_name" not in data:
                parts = full.rsplit(" ", 1)
                data["first_name"], data["last_name"] = (parts[0], parts[1]) if len(parts) == 2 else (full, "")
        if "external_id" in data:
            data["external_id"] = data["external_id"][:128]
        if "lifecycle_stage" in data:
            stage = data["lifecycle_stage"].lower()
            by_label = {str(label).lower(): value for value, label in LifecycleStage.choices}
            stage = by_label.get(stage, stage)
            if stage not in LifecycleStage.values:
                row.fail(self._column_of("lifecycle_stage"), "lifecycle_stage",
                         _("“%(value)s” is not a valid choice.") % {"value": data["lifecycle_stage"]})
            data["lifecycle_stage"] = stage
        if "time_zone" in data:
            from amity.contacts.services import TIME_ZONES

            if data["time_zone"] not in TIME_ZONES:
                row.fail(self._column_of("time_zone"), "time_zone",
                         _("“%(value)s” is not a time zone (e.g. Europe/Berlin, Asia/Shanghai).")
                         % {"value": data["time_zone"]})
        if "language" in data:
            from amity.contacts.services import LANGUAGES

            data["language"] = data["language"].lower()
            if data["language"] not in LANGUAGES:
                row.fail(self._column_of("language"), "language",
                         _("“%(value)s” is not a valid choice.") % {"value": data["language"]})
        if "birthday" in data and data["birthday"] > timezone.localdate():
            row.fail(self._column_of("birthday"), "birthday", _("A birthday cannot be in the future."))
        if "emails" in data:
            data["emails"] = list(dict.fromkeys(data["emails"]))
        if "phones" in data:
            data["phones"] = list(dict.fromkeys(data["phones"]))
        required = [d for d in self.custom_defs.values() if d.required]
        for definition in required:
            if definition.key not in data.get("custom", {}):
                row.fail(self._column_of("custom." + definition.key), f"custom.{definition.key}",
                         _("This field is required."))

    def _companies_by_name(self, rows: list[Row]) -> None:
        """Resolve the company column to companies (one query per batch); missing ones are created."""
        names = {r.data["company"] for r in rows if r.data.get("company")}
        if not names:
            return
        found: dict[str, Company] = {}
        for company in visible_to(self.actor, Company.objects.filter(name__in=names)).order_by("id"):
            found.setdefault(company.name.lower(), company)
        missing = [n for n in names if n.lower() not in found]
        if missing and self.commit:
            new = [Company(name=n[:200], owner=self._default_owner()) for n in dict.fromkeys(missing)]
            Company.objects.bulk_create(new)
            new = list(Company.objects.filter(name__in=[c.name for c in new], pk__gt=0).order_by("-id")[:len(new)])
            for company in new:
                found.setdefault(company.name.lower(), company)
            ImportChange.objects.bulk_create([ImportChange(job=self.job, object_type="company", object_id=c.pk,
                                                           action=ImportChange.CREATED) for c in new])
            search.bulk_index([("company", c.pk, *search.company_document(c)) for c in new])
        for row in rows:
            if row.data.get("company"):
                row.data["company_obj"] = found.get(row.data["company"].lower())

    def _default_owner(self) -> Any:
        return self.actor if getattr(self.actor, "is_authenticated", False) else None

    def _create_contacts(self, rows: list[Row]) -> None:
        """Write new contacts and everything that hangs off them as plain tuples with ``executemany``.

        Contact ids are allocated for the whole batch first (``_allocate_ids``), so emails, phones, tag links,
        search documents, events and the undo log can refer to them without reading anything back."""
        from amity.contacts.models import SpecialDate, SpecialDateKind

        self._companies_by_name(rows)
        now = timezone.now()
        ids = _allocate_ids(Contact, len(rows))
        tag_ids = self._tags({t for r in rows for t in r.data.get("tags", [])})
        default_owner = self._default_owner()
        default_owner_id = getattr(default_owner, "pk", None)
        actor_id = default_owner_id if self.actor else None
        job_uuid = str(self.job.uuid)
        when = _db_value(Contact, "created_at", now)
        occurred = _db_value(Event, "occurred_at", now)
        native_uuid = connection.features.has_native_uuid_field
        custom_field = Contact._meta.get_field("custom")
        payload_field = Event._meta.get_field("payload")
        empty_custom = custom_field.get_db_prep_save({}, connection)
        contacts, emails, phones, tag_links, docs, events, changes, dates = [], [], [], [], [], [], [], []
        for row, pk in zip(rows, ids, strict=True):
            d = row.data
            row_emails = d.get("emails", [])
            row_phones = d.get("phones", [])
            owner = d.get("owner_email") or d.get("owner")
            company = d.get("company_obj")
            company_id = company.pk if company is not None else None
            first, last = d.get("first_name", ""), d.get("last_name", "")
            email = row_emails[0] if row_emails else ""
            name = display_name(first, last) or email
            row_uuid = time_ordered_uuid()  # its unique index grows at one end
            custom = d.get("custom")
            contacts.append((
                pk, when, when, row_uuid if native_uuid else row_uuid.hex,
                owner.pk if owner is not None else default_owner_id, company_id,
                first, last, d.get("job_title", ""), d.get("source", ""), d.get("street", ""), d.get("city", ""),
                d.get("region", ""), d.get("postal_code", ""), d.get("lifecycle_stage") or LifecycleStage.LEAD,
                d.get("time_zone", ""), d.get("language", ""), d.get("country", ""),
                bool(d.get("do_not_contact", False)),
                custom_field.get_db_prep_save(custom, connection) if custom else empty_custom,
                d.get("external_id", ""), email, row_phones[0] if row_phones else "", name))
            emails += [(pk, e, i == 0) for i, e in enumerate(row_emails)]
            phones += [(pk, p, i == 0) for i, p in enumerate(row_phones)]
            tag_links += [(pk, tag_ids[t.lower()]) for t in dict.fromkeys(d.get("tags", []))]
            if d.get("birthday"):
                b = d["birthday"]
                dates.append(SpecialDate(contact_id=pk, kind=SpecialDateKind.BIRTHDAY, month=b.month, day=b.day,
                                         year=b.year))
            title, body = search.contact_document(
                _DocContact(name, first, last, email, company_id, company), row_emails, row_phones)
            docs.append(("contact", pk, title, body))
            label = name or email or str(row_uuid)
            events.append(("contact.created", "contact", pk, actor_id, pk, company_id, occurred,
                           payload_field.get_db_prep_save(
                               {"name": label, "source": "import", "import": job_uuid}, connection)))
            changes.append((self.job.pk, "contact", pk, ImportChange.CREATED))
        with connection.cursor() as cursor:
            _insert(cursor, Contact, CONTACT_COLUMNS, contacts)
            _insert(cursor, ContactEmail, ("contact_id", "email", "is_primary"), emails)
            _insert(cursor, ContactPhone, ("contact_id", "number", "is_primary"), phones)
            _insert(cursor, Contact.tags.through, ("contact_id", "tag_id"), tag_links)
            search.insert_documents(docs, cursor)
            _insert(cursor, Event, ("type", "subject_type", "subject_id", "actor_id", "contact_id", "company_id",
                                    "occurred_at", "payload"), events)
            _insert(cursor, ImportChange, ("job_id", "object_type", "object_id", "action"), changes)
        if dates:
            SpecialDate.objects.bulk_create(dates, batch_size=BATCH_SIZE)

    def _tags(self, names: set[str]) -> dict[str, int]:
        if not names:
            return {}
        lowered = {n.lower(): n for n in names}
        existing = {t.name.lower(): t.pk for t in Tag.objects.filter(name__in=list(names))}
        missing = [n for k, n in lowered.items() if k not in existing]
        if missing:
            # Case-insensitive match as contacts.services.tags_by_name does, for names not found exactly.
            for tag in Tag.objects.all().only("id", "name"):
                if tag.name.lower() in lowered and tag.name.lower() not in existing:
                    existing[tag.name.lower()] = tag.pk
            missing = [n for k, n in lowered.items() if k not in existing]
            if missing and self.commit:
                Tag.objects.bulk_create([Tag(name=n) for n in missing], ignore_conflicts=True)
                existing.update({t.name.lower(): t.pk for t in Tag.objects.filter(name__in=missing)})
        return existing

    def _update_contacts(self, by_contact: dict[int, list[Row]]) -> None:
        contacts = {c.pk: c for c in Contact.objects.filter(pk__in=list(by_contact)).select_related("company")}
        if self.commit:
            rows = [r for rs in by_contact.values() for r in rs]
            self._companies_by_name(rows)
        existing_emails: dict[int, list[str]] = {}
        existing_phones: dict[int, list[str]] = {}
        for cid, email in ContactEmail.objects.filter(contact_id__in=contacts).values_list("contact_id", "email"):
            existing_emails.setdefault(cid, []).append(email)
        for cid, number in ContactPhone.objects.filter(contact_id__in=contacts).values_list("contact_id", "number"):
            existing_phones.setdefault(cid, []).append(number)
        existing_tags: dict[int, set[str]] = {}
        for cid, name in Contact.tags.through.objects.filter(contact_id__in=contacts).values_list(
                "contact_id", "tag__name"):
            existing_tags.setdefault(cid, set()).add(name.lower())
        tag_ids = self._tags({t for rs in by_contact.values() for r in rs for t in r.data.get("tags", [])}) \
            if self.commit else {}
        now = timezone.now()
        occurred = _db_value(Event, "occurred_at", now)
        actor_id = getattr(self._default_owner(), "pk", None)
        payload_field = Event._meta.get_field("payload")
        before_field = ImportChange._meta.get_field("before")
        # Contacts by the columns that changed: an UPDATE rewrites the entries of every index on a column it sets,
        # changed or not, and contacts carry ~20 indexes.
        changed_contacts: dict[tuple[str, ...], list[Contact]] = {}
        emails: list[tuple[Any, ...]] = []
        phones: list[tuple[Any, ...]] = []
        tag_links: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        changes: list[tuple[Any, ...]] = []
        docs: list[tuple[str, int, str, str]] = []
        scalar_fields = [*CONTACT_TEXT, "lifecycle_stage", "time_zone", "language", "country", "do_not_contact",
                         "external_id"]
        columns = [*scalar_fields, "owner_id", "company_id", "custom", "display_name", "email", "phone"]
        for cid, rows in by_contact.items():
            contact = contacts[cid]
            before: dict[str, Any] = {}
            after: dict[str, Any] = {}
            added_emails: list[str] = []
            added_phones: list[str] = []
            added_tags: list[str] = []
            for row in rows:
                d = row.data
                for key in scalar_fields:
                    if key in d and d[key] != getattr(contact, key):
                        before.setdefault(key, getattr(contact, key))
                        setattr(contact, key, d[key])
                        after[key] = d[key]
                owner = d.get("owner_email") or d.get("owner")
                if owner is not None and owner.pk != contact.owner_id:
                    before.setdefault("owner_id", contact.owner_id)
                    contact.owner_id = owner.pk
                    after["owner"] = owner.email
                if d.get("company_obj") is not None and d["company_obj"].pk != contact.company_id:
                    before.setdefault("company_id", contact.company_id)
                    contact.company = d["company_obj"]
                    after["company"] = d["company_obj"].name
                if d.get("custom"):
                    merged = {**(contact.custom or {}), **d["custom"]}
                    if merged != contact.custom:
                        before.setdefault("custom", contact.custom)
                        contact.custom = merged
                        after["custom"] = d["custom"]
                have = existing_emails.setdefault(cid, [])
                for e in d.get("emails", []):
                    if e not in have:
                        have.append(e)
                        added_emails.append(e)
                have_p = existing_phones.setdefault(cid, [])
                for p in d.get("phones", []):
                    if p not in have_p:
                        have_p.append(p)
                        added_phones.append(p)
                have_t = existing_tags.setdefault(cid, set())
                for t in d.get("tags", []):
                    if t.lower() not in have_t:
                        have_t.add(t.lower())
                        added_tags.append(t)
            if {"first_name", "last_name"} & before.keys():
                before.setdefault("display_name", contact.display_name)
                contact.display_name = display_name(contact.first_name, contact.last_name) or contact.email
            if added_emails and not contact.email:
                before.setdefault("email", contact.email)
                contact.email = added_emails[0]
            if added_phones and not contact.phone:
                before.setdefault("phone", contact.phone)
                contact.phone = added_phones[0]
            if added_emails:
                after["emails"] = added_emails
                before["emails_added"] = added_emails
            if added_phones:
                after["phones"] = added_phones
                before["phones_added"] = added_phones
            if added_tags:
                after["tags"] = added_tags
                before["tags_added"] = added_tags
            if not before:
                continue
            if len(self.update_examples) < UPDATE_EXAMPLES:
                self.update_examples.append({
                    "row": rows[0].number, "record": str(contact),
                    "changes": {k: [audit.to_json(before.get(k, before.get(f"{k}_id"))), audit.to_json(v)]
                                for k, v in after.items()}})
            if not self.commit:
                continue
            contact.updated_at = now
            changed_contacts.setdefault(tuple(c for c in columns if c in before), []).append(contact)
            emails += [(cid, e) for e in added_emails]
            phones += [(cid, p) for p in added_phones]
            tag_links += [(cid, tag_ids[t.lower()]) for t in added_tags]
            changes.append((self.job.pk, "contact", cid, ImportChange.UPDATED,
                            before_field.get_db_prep_save(audit.to_json(before), connection)))
            events.append(("contact.updated", "contact", cid, actor_id, cid, contact.company_id, occurred,
                           payload_field.get_db_prep_save({"changes": audit.to_json(after), "source": "import",
                                                           "import": str(self.job.uuid)}, connection)))
            # The emails and phones as ``index_contact`` reads them back: primary first, then by id (added last).
            docs.append(("contact", cid, *search.contact_document(contact, existing_emails[cid], existing_phones[cid])))
        if not self.commit or not changed_contacts:
            return
        for changed, group in changed_contacts.items():
            _update_rows(Contact, [*changed, "updated_at"], group)
        with connection.cursor() as cursor:
            _insert(cursor, ContactEmail, ("contact_id", "email"), emails)
            _insert(cursor, ContactPhone, ("contact_id", "number"), phones)
            _insert(cursor, Contact.tags.through, ("contact_id", "tag_id"), tag_links, ignore_conflicts=True)
            _insert(cursor, Event, ("type", "subject_type", "subject_id", "actor_id", "contact_id", "company_id",
                                    "occurred_at", "payload"), events)
            _insert(cursor, ImportChange, ("job_id", "object_type", "object_id", "action", "before"), changes)
        _replace_documents(docs)

    # companies, deals, orders: per-record services ------------------------------------------------------------
    def _per_record(self, batch: list[Row], apply: Callable[[Row], str | None]) -> None:
        for row in batch:
            if row.errors:
                continue
            try:
                with transaction.atomic():
                    outcome = apply(row)
            except ValidationError as exc:
                for key, messages in _error_items(exc):
                    row.fail(self._column_of(key) if key else "", key, messages)
                continue
            except PermissionDenied as exc:
                row.fail("", "", str(exc) or _("You do not have permission to do that."))
                continue
            if outcome:
                self.counts[outcome] += 1

    def company_batch(self, batch: list[Row]) -> None:
        from amity.contacts import services

        def apply(row: Row) -> str | None:
            d = dict(row.data)
            owner = d.pop("owner_email", None) or d.pop("owner", None)
            external_id = d.pop("external_id", "")[:128]
            d.pop("company_domain", None)
            data = {k: v for k, v in d.items() if k in {
                "name", "domain", "industry", "size", "phone", "description", "street", "city", "region",
                "postal_code", "country", "tags", "custom"}}
            if "phones" in d and "phone" not in data:
                data["phone"] = d["phones"][0]
            if owner is not None:
                data["owner"] = owner
            match = None
            if self.job.match_on == MatchOn.DOMAIN and data.get("domain"):
                match = visible_or_none(self.actor, Company.objects.filter(domain=data["domain"]))
            elif self.job.match_on == MatchOn.EXTERNAL_ID and external_id:
                match = visible_or_none(self.actor, Company.objects.filter(external_id=external_id))
            if match is not None and self.job.on_match == OnMatch.SKIP:
                return "skipped"
            if match is not None and self.job.on_match == OnMatch.UPDATE:
                before = audit.snapshot(match, [f for f in data if f not in {"tags", "owner"}])
                if "custom" in data:
                    data["custom"] = {**(match.custom or {}), **data["custom"]}
                services.update_company(actor=self.actor, company=match, data=data)
                self._record_update("company", match.pk, before, row)
                return "updated"
            if "custom" not in data:
                data["custom"] = {}
            if owner is None and getattr(self.actor, "is_authenticated", False):
                data["owner"] = self.actor
            company = services.create_company(actor=self.actor, data=data)
            if external_id:
                Company.objects.filter(pk=company.pk).update(external_id=external_id)
            if self.commit:
                ImportChange.objects.create(job=self.job, object_type="company", object_id=company.pk,
                                            action=ImportChange.CREATED)
            return "created"

        self._per_record(batch, apply)

    def _record_update(self, object_type: str, object_id: int, before: dict[str, Any], row: Row) -> None:
        if len(self.update_examples) < UPDATE_EXAMPLES:
            self.update_examples.append({"row": row.number, "record": object_type, "changes": {
                k: [v, audit.to_json(row.data.get(k))] for k, v in before.items()}})
        if self.commit:
            ImportChange.objects.create(job=self.job, object_type=object_type, object_id=object_id,
                                        action=ImportChange.UPDATED, before=before)

    def deal_batch(self, batch: list[Row]) -> None:
        from amity.sales import services
        from amity.sales.models import Deal, Pipeline

        pipelines = {p.name.lower(): p for p in Pipeline.objects.prefetch_related("stages")}
        default_pipeline = next(iter(Pipeline.objects.order_by("id")[:1]), None)

        def apply(row: Row) -> str | None:
            d = dict(row.data)
            external_id = d.pop("external_id", "")[:128]
            data: dict[str, Any] = {k: d[k] for k in ("name", "amount", "currency", "tags", "custom") if k in d}
            if "expected_close" in d:
                data["expected_close_date"] = d["expected_close"]
            pipeline = pipelines.get(str(d.get("pipeline", "")).lower()) if d.get("pipeline") else default_pipeline
            if pipeline is None:
                raise ValidationError({"pipeline": [_("There is no pipeline “%(value)s”.")
                                                    % {"value": d.get("pipeline", "")}]})
            data["pipeline"] = pipeline
            if d.get("stage"):
                stage = next((s for s in pipeline.stages.all() if s.name.lower() == str(d["stage"]).lower()), None)
                if stage is None:
                    raise ValidationError({"stage": [_("“%(value)s” is not a stage of %(pipeline)s.")
                                                     % {"value": d["stage"], "pipeline": pipeline.name}]})
                data["stage"] = stage
            if d.get("company"):
                company = visible_or_none(self.actor, Company.objects.filter(name__iexact=d["company"]))
                if company is None:
                    raise ValidationError({"company": [_("There is no company “%(value)s”.") % {"value": d["company"]}]})
                data["company"] = company
            if d.get("emails"):
                contacts = list(visible_to(self.actor, Contact.objects.filter(emails__email__in=d["emails"])))
                data["contacts"] = contacts
            owner = d.get("owner_email") or d.get("owner")
            if owner is not None:
                data["owner"] = owner
            match = None
            if self.job.match_on == MatchOn.EXTERNAL_ID and external_id:
                match = visible_or_none(self.actor, Deal.objects.filter(external_id=external_id))
            if match is None:
                data.setdefault("currency", settings.AMITY_BASE_CURRENCY)
            if match is not None and self.job.on_match == OnMatch.SKIP:
                return "skipped"
            if match is not None and self.job.on_match == OnMatch.UPDATE:
                data.pop("pipeline", None)
                before = audit.snapshot(match, [f for f in data if f in {"name", "amount", "currency",
                                                                         "expected_close_date", "probability"}])
                if "custom" in data:
                    data["custom"] = {**(match.custom or {}), **data["custom"]}
                services.update_deal(actor=self.actor, deal=match, data=data)
                self._record_update("deal", match.pk, before, row)
                return "updated"
            deal = services.create_deal(actor=self.actor, data=data)
            if external_id:
                Deal.objects.filter(pk=deal.pk).update(external_id=external_id)
            if self.commit:
                ImportChange.objects.create(job=self.job, object_type="deal", object_id=deal.pk,
                                            action=ImportChange.CREATED)
            return "created"

        self._per_record(batch, apply)

    def order_batch(self, batch: list[Row]) -> None:
        from amity.commerce.services import record_order

        # Rows sharing an external id are the lines of one order (the batcher keeps them in one batch).
        groups: dict[str, list[Row]] = {}
        for row in batch:
            if row.errors:
                continue
            key = str(row.data.get("external_id") or f"row-{row.number}")
            groups.setdefault(key, []).append(row)
        line_keys = {"sku": "sku", "product_name": "name", "quantity": "quantity", "unit_price": "unit_price"}
        for rows in groups.values():
            if any(r.errors for r in rows):
                continue
            first = rows[0]
            data = {k: v for k, v in first.data.items() if k not in line_keys}
            lines = [{line_keys[k]: v for k, v in r.data.items() if k in line_keys} for r in rows]
            data["lines"] = [line for line in lines if line]
            if data.get("emails"):
                data["email"] = data.pop("emails")[0]
            try:
                with transaction.atomic():
                    order, outcome = record_order(data, source="import", actor=self.actor)
            except ValidationError as exc:
                for row in rows:
                    for key, message in _error_items(exc):
                        field_key = key.split(".")[-1] if key.startswith("lines.") else key
                        row.fail(self._column_of(field_key) if field_key else "", key, message)
                continue
            self.counts[{"created": "created", "updated": "updated"}.get(outcome, "skipped")] += 1
            if self.commit and outcome == "created":
                ImportChange.objects.create(job=self.job, object_type="order", object_id=order.pk,
                                            action=ImportChange.CREATED)




def visible_or_none(actor: Any, queryset: Any) -> Any:
    return visible_to(actor, queryset).order_by("id").first()


def _split_multi(raw: str) -> list[str]:
    """Several emails or phones in one cell, separated by ; or newlines (commas are kept: "+1 (555) 010, ext")."""
    return [p for p in raw.replace("\n", ";").split(";")]


def _custom_value(definition: CustomFieldDefinition, raw: str, day_first: bool) -> Any:
    from amity.core.models import CustomFieldType

    from . import values

    if definition.field_type == CustomFieldType.DATE:
        parsed = values.parse_date(raw, day_first=day_first)
        if parsed is None:
            raise ValidationError(_("“%(value)s” is not a date.") % {"value": raw})
        return clean_value(definition, parsed)
    return clean_value(definition, raw)


def _error_items(exc: ValidationError) -> Iterable[tuple[str, str]]:
    if hasattr(exc, "error_dict"):
        for key, items in exc.error_dict.items():
            message = " ".join(m for item in items for m in item.messages)
            yield ("" if key == "__all__" else key), message
    else:
        yield "", " ".join(exc.messages)


CONTACT_COLUMNS = ("id", "created_at", "updated_at", "uuid", "owner_id", "company_id", "first_name", "last_name",
                   "job_title", "source", "street", "city", "region", "postal_code", "lifecycle_stage", "time_zone",
                   "language", "country", "do_not_contact", "custom", "external_id", "email", "phone",
                   "display_name")


@dataclass
class _DocContact:
    """What ``search.contact_document`` reads from a contact, without building the model instance."""

    display_name: str
    first_name: str
    last_name: str
    email: str
    company_id: int | None
    company: Any


def _db_value(model: Any, name: str, value: Any) -> Any:
    return model._meta.get_field(name).get_db_prep_save(value, connection)


def _insert(cursor: Any, model: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]], *,
            ignore_conflicts: bool = False) -> None:
    insert_rows(model, columns, rows, ignore_conflicts=ignore_conflicts, cursor=cursor)


def _update_rows(model: Any, names: list[str], objects: list[Any]) -> None:
    """Write the ``names`` columns of each object (``bulk_update``'s CASE expressions cost ~5 ms of Python per
    contact): ``core.db.update_rows`` of the objects' values."""
    fields = [model._meta.get_field(n) for n in names]
    update_rows(model, tuple(f.attname for f in fields),
                [tuple(f.get_db_prep_save(getattr(o, f.attname), connection) for f in fields) + (o.pk,)
                 for o in objects])


def _allocate_ids(model: Any, count: int) -> list[int]:
    """``count`` new primary keys for ``model``, inside the caller's transaction.

    PostgreSQL: taken from the table's sequence (safe with concurrent writers). SQLite: the settings open
    transactions with ``BEGIN IMMEDIATE``, so no other writer can insert until this batch commits; ids continue
    after both the highest id and ``sqlite_sequence`` (AUTOINCREMENT never hands out a deleted contact's id)."""
    if not count:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                           [table, count])
            return sorted(r[0] for r in cursor.fetchall())
        if connection.vendor != "sqlite":  # pragma: no cover - the supported databases are SQLite and PostgreSQL
            raise RuntimeError(f"cannot allocate ids on {connection.vendor}")
        cursor.execute(f"SELECT max(id) FROM {connection.ops.quote_name(table)}")  # noqa: S608
        top = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        found = cursor.fetchone()
        start = max(top, found[0] if found else 0) + 1
    return list(range(start, start + count))


def _reindex_contacts(ids: list[int]) -> None:
    from amity.core.models import SearchDocument

    if not ids:
        return
    SearchDocument.objects.filter(kind="contact", obj_id__in=ids).delete()
    contacts = Contact.objects.filter(pk__in=ids).select_related("company")
    emails: dict[int, list[str]] = {}
    phones: dict[int, list[str]] = {}
    for cid, email in ContactEmail.objects.filter(contact_id__in=ids).order_by("-is_primary", "id").values_list(
            "contact_id", "email"):
        emails.setdefault(cid, []).append(email)
    for cid, number in ContactPhone.objects.filter(contact_id__in=ids).order_by("-is_primary", "id").values_list(
            "contact_id", "number"):
        phones.setdefault(cid, []).append(number)
    search.insert_documents(
        [("contact", c.pk, *search.contact_document(c, emails.get(c.pk, []), phones.get(c.pk, []))) for c in contacts])


def _replace_documents(docs: list[tuple[str, int, str, str]]) -> None:
    """Write the search documents of updated records, skipping those whose text did not change (an import that
    only adds a tag, or updates the city): each rewrite costs an FTS delete and an insert in both indexes on
    SQLite. Changed documents are rewritten in place; a record without one gets it."""
    if not docs:
        return
    kind = docs[0][0]
    stored = {obj_id: (pk, title, body) for obj_id, pk, title, body in SearchDocument.objects.filter(
        kind=kind, obj_id__in=[d[1] for d in docs]).values_list("obj_id", "pk", "title", "body")}
    search.rewrite_documents([(stored[d[1]][0], d[2], d[3]) for d in docs
                              if d[1] in stored and stored[d[1]][1:] != (d[2][:300], d[3])])
    search.insert_documents([d for d in docs if d[1] not in stored])


# --- undo ------------------------------------------------------------------------------------------------------

UNDO_IN_WORKER_ABOVE = 5000


def request_undo(*, actor: Any, job: ImportJob) -> ImportJob:
    """Undo an import: in the request for small ones, in the worker for big ones. Undo twice does nothing."""
    _require_job_access(actor, job)
    if job.status in {ImportStatus.UNDONE, ImportStatus.UNDOING}:
        return job
    if not job.can_undo:
        raise ValidationError({"status": [_("Only a finished import can be undone.")]})
    if job.created + job.updated > UNDO_IN_WORKER_ABOVE:
        job.status = ImportStatus.UNDOING
        job.save(update_fields=["status", "updated_at"])
        from .tasks import undo_import

        undo_import.enqueue(job.pk)
        job.refresh_from_db()
        return job
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.UNDOING)
    return undo(job.pk, actor=actor)


def undo(job_id: int, actor: Any = None) -> ImportJob:
    """Remove what the import created (unless changed since) and restore the fields it updated."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status != ImportStatus.UNDOING:
        return job
    actor = actor or job.created_by
    counts = {"removed": 0, "restored": 0, "kept": 0}
    finished = job.finished_at or timezone.now()
    changes = ImportChange.objects.filter(job=job).order_by("-id")
    last_id = None
    while True:
        page = changes.filter(pk__lt=last_id) if last_id else changes
        chunk = list(page[:BATCH_SIZE])
        if not chunk:
            break
        last_id = chunk[-1].pk
        with transaction.atomic():
            _undo_chunk(job, chunk, counts, finished, actor)
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.UNDONE, undone_at=timezone.now())
        audit.record(AuditAction.DELETE, actor=actor, object_type="import",
                     changes={"import": str(job.uuid), "file": job.original_name, "undo": counts})
    job.refresh_from_db()
    return job


def _undo_chunk(job: ImportJob, chunk: list[ImportChange], counts: dict[str, int], finished: Any,
                actor: Any) -> None:
    from amity.sales.models import Deal

    models: dict[str, Any] = {"contact": Contact, "company": Company, "deal": Deal}
    if any(c.object_type == "contact" and c.action == ImportChange.CREATED for c in chunk):
        # Before any row is locked (ingest batches hold this lock shared and then lock rows): behaviour events
        # being written point at contacts unchecked.
        lock_for_transaction(CONTACT_REMOVAL_LOCK)
    now = timezone.now()
    events = []
    for object_type in ("contact", "company", "deal", "order"):
        created = [c.object_id for c in chunk if c.object_type == object_type and c.action == ImportChange.CREATED]
        model = models.get(object_type)
        if object_type == "order":
            from amity.commerce.models import Order

            model = Order
        if created and model is not None:
            untouched = list(model.objects.filter(pk__in=created, updated_at__lte=finished).values_list("pk", flat=True)) \
                if hasattr(model, "updated_at") else created
            counts["kept"] += len(created) - len(untouched)
            if object_type in {"contact", "company"}:
                from amity.core.models import SearchDocument

                SearchDocument.objects.filter(kind=object_type, obj_id__in=untouched).delete()
            for pk in untouched:
                events.append(Event(type=f"{object_type}.deleted", subject_type=object_type, subject_id=pk,
                                    actor=actor if getattr(actor, "is_authenticated", False) else None,
                                    occurred_at=now, payload={"source": "import-undo", "import": str(job.uuid)}))
            model.objects.filter(pk__in=untouched).delete()
            counts["removed"] += len(untouched)
        updated = [c for c in chunk if c.object_type == object_type and c.action == ImportChange.UPDATED]
        if updated and model is not None:
            objs = {o.pk: o for o in model.objects.filter(pk__in=[c.object_id for c in updated])}
            reindex = []
            for change in updated:
                obj = objs.get(change.object_id)
                if obj is None:
                    continue
                _restore(obj, change.before)
                reindex.append(obj.pk)
                counts["restored"] += 1
            if object_type == "contact":
                _reindex_contacts(reindex)
            elif object_type == "company":
                for company in Company.objects.filter(pk__in=reindex):
                    search.index_company(company)
    Event.objects.bulk_create(events, batch_size=BATCH_SIZE)


def _restore(obj: Any, before: dict[str, Any]) -> None:
    fields = []
    for key, value in before.items():
        if key == "emails_added":
            ContactEmail.objects.filter(contact_id=obj.pk, email__in=value).delete()
        elif key == "phones_added":
            ContactPhone.objects.filter(contact_id=obj.pk, number__in=value).delete()
        elif key == "tags_added":
            obj.tags.remove(*Tag.objects.filter(name__in=value))
        else:
            model_field = obj._meta.get_field(key)
            if model_field.get_internal_type() in {"DateField", "DateTimeField", "DecimalField"} and value is not None:
                value = model_field.to_python(value)
            setattr(obj, model_field.attname, value)
            fields.append(model_field.attname)
    if fields:
        obj.save(update_fields=[*fields, "updated_at"])


# --- housekeeping ----------------------------------------------------------------------------------------------

def delete_old_files(now: Any = None) -> int:
    """Files of imports that finished more than ``KEEP_FILES_DAYS`` ago are deleted (the report stays)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=KEEP_FILES_DAYS)
    jobs = ImportJob.objects.filter(file_deleted_at__isnull=True, finished_at__lt=cutoff)
    count = 0
    for job in jobs.iterator():
        if job.stored_path:
            Path(job.stored_path).unlink(missing_ok=True)
        ImportJob.objects.filter(pk=job.pk).update(file_deleted_at=now)
        count += 1
    return count
