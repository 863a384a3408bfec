"""Reads of imports. A job and its report are visible to the person who started it and to admins; anyone else
gets a 404 (its existence is not revealed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from amity.core.csvexport import stream_rows
from amity.core.pagination import Ordering, Page, keyset_page
from amity.core.permissions import is_admin

from .models import ImportJob, ImportRowError

JOB_ORDER = Ordering("created_at")
ERROR_ORDER = Ordering("row_number", descending=False)


def jobs_visible_to(user: Any) -> QuerySet[ImportJob]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return ImportJob.objects.none()
    queryset = ImportJob.objects.select_related("created_by")
    return queryset if is_admin(user) else queryset.filter(created_by=user)


def get_job(user: Any, job_uuid: Any) -> ImportJob:
    try:
        return jobs_visible_to(user).get(uuid=job_uuid)
    except (ImportJob.DoesNotExist, ValueError, TypeError, Exception) as exc:
        if isinstance(exc, Http404):
            raise
        raise Http404 from exc


def job_list(user: Any, cursor: str | None = None, limit: int = 25) -> Page[ImportJob]:
    return keyset_page(jobs_visible_to(user), JOB_ORDER, cursor, limit)


def row_errors(job: ImportJob, cursor: str | None = None, limit: int = 50) -> Page[ImportRowError]:
    return keyset_page(ImportRowError.objects.filter(job=job), ERROR_ORDER, cursor, limit)


def reason_text(errors: list[dict[str, str]]) -> str:
    parts = []
    for error in errors:
        column = error.get("column") or ""
        parts.append(f"{column}: {error.get('message', '')}" if column else error.get("message", ""))
    return "; ".join(parts)


def rejected_rows(job: ImportJob) -> Iterator[list[Any]]:
    """The rejected rows as the person uploaded them, plus the row number and the reason, streamed."""
    last = 0
    while True:
        chunk = list(ImportRowError.objects.filter(job=job, row_number__gt=last).order_by("row_number")[:2000])
        if not chunk:
            return
        for error in chunk:
            yield [*error.values, error.row_number, reason_text(error.errors)]
        last = chunk[-1].row_number


def rejected_header(job: ImportJob) -> list[str]:
    return [*job.headers, _("Row"), _("Reason")]


def rejected_rows_csv_lines(job: ImportJob) -> Iterator[str]:
    """The same CSV the report page offers (formula-safe), for the CLI."""
    return stream_rows(rejected_header(job), rejected_rows(job))
