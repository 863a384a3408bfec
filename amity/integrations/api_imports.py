"""Imports over the JSON API: the same services as the wizard (upload → mapping → dry run → run → report → undo)."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest
from ninja import File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from pydantic import Field

from amity.api.pagination import CURSOR, LIMIT, page_body
from amity.api.schemas import READ_ERRORS, WRITE_ERRORS, InputSchema, Status, created, page_schema
from amity.core.csvexport import csv_response

from . import import_selectors as selectors
from . import imports
from .models import ImportJob

router = Router(tags=["Imports"])


class ImportFieldOut(Schema):
    key: str
    label: str
    value_type: str
    multiple: bool


class ImportOut(Schema):
    id: str = Field(description="UUID")
    object_type: str
    file: str
    size: int
    format: str
    encoding: str
    delimiter: str
    headers: list[str]
    sample: list[list[str]] = Field(description="The first rows as read (text, never HTML).")
    mapping: dict[str, str] = Field(description="Column index (as text) → field key.")
    fields: list[ImportFieldOut] = Field(description="Fields the columns can map to, custom fields included.")
    match_on: str
    on_match: str
    status: str
    progress: int = Field(description="0–100.")
    total: int
    processed: int
    created: int
    updated: int
    skipped: int
    errors: int
    dry_run: dict[str, Any] = Field(description="Counts and examples of the last dry run.")
    error_message: str
    created_at: str
    started_at: str | None
    finished_at: str | None


class ImportSummaryOut(Schema):
    id: str
    object_type: str
    file: str
    status: str
    progress: int
    total: int
    created: int
    updated: int
    skipped: int
    errors: int
    created_at: str


class MappingIn(InputSchema):
    mapping: dict[str, str] = Field(description="Column index (or header) → field key; \"\" or absent: don't import.")
    match_on: str = Field("", description="email, phone, external_id, domain, or \"\" to always create.")
    on_match: str = Field("update", description="update, skip or create.")
    preset: str = Field("", description="hubspot, salesforce or pipedrive (only recorded).")


class RowErrorOut(Schema):
    row: int
    errors: list[dict[str, str]]
    values: list[str]


ImportPage = page_schema(ImportSummaryOut, "ImportPage")
RowErrorPage = page_schema(RowErrorOut, "ImportRowErrorPage")


class PageQuery(Schema):
    cursor: str | None = CURSOR
    limit: int = LIMIT


def _when(value: Any) -> str | None:
    return value.isoformat() if value else None


def job_body(job: ImportJob) -> dict[str, Any]:
    from .presets import fields_for

    return {
        "id": str(job.uuid), "object_type": job.object_type, "file": job.original_name, "size": job.size,
        "format": job.format, "encoding": job.encoding, "delimiter": job.delimiter, "headers": job.headers,
        "sample": job.sample, "mapping": job.mapping,
        "fields": [{"key": f.key, "label": str(f.label), "value_type": f.value_type, "multiple": f.multiple}
                   for f in fields_for(job.object_type)],
        "match_on": job.match_on, "on_match": job.on_match, "status": job.status, "progress": job.progress,
        "total": job.total, "processed": job.processed, "created": job.created, "updated": job.updated,
        "skipped": job.skipped, "errors": job.errors, "dry_run": job.dry_run, "error_message": job.error_message,
        "created_at": job.created_at.isoformat(), "started_at": _when(job.started_at),
        "finished_at": _when(job.finished_at),
    }


def summary_body(job: ImportJob) -> dict[str, Any]:
    return {"id": str(job.uuid), "object_type": job.object_type, "file": job.original_name, "status": job.status,
            "progress": job.progress, "total": job.total, "created": job.created, "updated": job.updated,
            "skipped": job.skipped, "errors": job.errors, "created_at": job.created_at.isoformat()}


@router.get("/imports", response={200: ImportPage, **READ_ERRORS}, summary="List imports",
            description="Your imports (admins: everyone's), newest first.")
def list_imports(request: HttpRequest, params: Query[PageQuery]):
    return page_body(selectors.job_list(request.user, params.cursor, params.limit), summary_body)


@router.post("/imports", response={201: ImportOut, **WRITE_ERRORS}, summary="Upload a file to import",
             description="Multipart: `file` (CSV or XLSX, at most 200 MB), `object_type` (contact, company, deal, "
                         "order), optional `encoding` and `delimiter`. Answers the headers, the first rows and a "
                         "suggested mapping.")
def create_import(request: HttpRequest, file: File[UploadedFile], object_type: Form[str],
                  encoding: Form[str] = "", delimiter: Form[str] = ""):
    job = imports.create_job(actor=request.user, fileobj=file, name=file.name or "import", object_type=object_type,
                             encoding=encoding, delimiter=delimiter)
    return created(job_body(job))


@router.get("/imports/{id}", response={200: ImportOut, **READ_ERRORS}, summary="Get an import (status, progress)")
def get_import(request: HttpRequest, id: uuid.UUID):
    return job_body(selectors.get_job(request.user, id))


@router.put("/imports/{id}/mapping", response={200: ImportOut, **WRITE_ERRORS}, summary="Set the column mapping")
def set_mapping(request: HttpRequest, id: uuid.UUID, payload: MappingIn):
    job = selectors.get_job(request.user, id)
    by_header = {h.lower(): str(i) for i, h in enumerate(job.headers)}
    mapping = {(k if k.isdigit() else by_header.get(k.lower(), k)): v for k, v in payload.mapping.items()}
    imports.set_mapping(actor=request.user, job=job, mapping=mapping, match_on=payload.match_on,
                        on_match=payload.on_match, preset=payload.preset)
    return job_body(job)


@router.post("/imports/{id}/dry-run", response={200: ImportOut, **WRITE_ERRORS},
             summary="Check the import without writing",
             description="Counts of creates, updates, skips and errors for the first 10,000 rows, with examples.")
def dry_run(request: HttpRequest, id: uuid.UUID):
    job = selectors.get_job(request.user, id)
    imports.dry_run(actor=request.user, job=job)
    return job_body(job)


@router.post("/imports/{id}/run", response={202: ImportOut, **WRITE_ERRORS}, summary="Run the import",
             description="Queues the import in the background worker; poll `GET /api/imports/{id}`.")
def run_import(request: HttpRequest, id: uuid.UUID):
    job = selectors.get_job(request.user, id)
    imports.start(actor=request.user, job=job)
    return Status(202, job_body(job))


@router.post("/imports/{id}/undo", response={200: ImportOut, 202: ImportOut, **WRITE_ERRORS},
             summary="Undo an import",
             description="Removes the records it created and restores the fields it updated. Big imports are "
                         "undone in the worker (202). Undoing twice does nothing.")
def undo_import(request: HttpRequest, id: uuid.UUID):
    job = selectors.get_job(request.user, id)
    job = imports.request_undo(actor=request.user, job=job)
    return Status(202 if job.status == "undoing" else 200, job_body(job))


@router.get("/imports/{id}/errors", response={200: RowErrorPage, **READ_ERRORS}, summary="Rejected rows",
            description="Each rejected row with its number, the reasons (column, field, message) and its cells.")
def list_errors(request: HttpRequest, id: uuid.UUID, params: Query[PageQuery]):
    job = selectors.get_job(request.user, id)
    page = selectors.row_errors(job, params.cursor, params.limit)
    return page_body(page, lambda e: {"row": e.row_number, "errors": e.errors, "values": e.values})


@router.get("/imports/{id}/errors.csv", response={200: None, **READ_ERRORS}, summary="Rejected rows as CSV",
            description="The original columns plus Row and Reason (formula-safe).")
def errors_csv(request: HttpRequest, id: uuid.UUID):
    job = selectors.get_job(request.user, id)
    return csv_response(f"rejected-rows-{job.uuid}.csv", selectors.rejected_header(job), selectors.rejected_rows(job))

