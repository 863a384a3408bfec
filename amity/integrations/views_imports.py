"""The import wizard: upload → preview and mapping → match settings → dry run → run in the worker → report.
Thin: each view calls one service or selector of ``imports`` / ``import_selectors``."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from amity.core.csvexport import csv_response
from amity.core.pagination import page_size
from amity.core.permissions import can_edit

from . import import_selectors as selectors
from . import imports
from .forms_imports import DELIMITER_CHOICES, ReadAgainForm, UploadForm
from .models import ImportStatus, MatchOn, OnMatch
from .presets import PRESET_LABELS, detect_preset, fields_for

RUNNING = {ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.UNDOING}
SETUP = {ImportStatus.UPLOADED, ImportStatus.MAPPED, ImportStatus.DRY_RUN}


@login_required
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    try:
        limit = page_size(request.GET, default=25)
        page = selectors.job_list(request.user, request.GET.get("cursor"), limit)
    except ValidationError:
        page = selectors.job_list(request.user, None, 25)
    return render(request, "integrations/import_list.html", {"page": page, "can_edit": can_edit(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def import_new(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None,
                      initial={"object_type": request.GET.get("type", "contact")})
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = imports.create_job(actor=request.user, fileobj=upload, name=upload.name,
                                     object_type=form.cleaned_data["object_type"],
                                     encoding=form.cleaned_data["encoding"],
                                     delimiter=form.cleaned_data["delimiter"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("imports:detail", job.uuid)
    return render(request, "integrations/import_new.html", {"form": form})


def _mapping_rows(job: Any, mapping: dict[str, str]) -> list[dict[str, Any]]:
    columns = []
    for index, header in enumerate(job.headers):
        columns.append({
            "index": index, "header": header, "field": mapping.get(str(index), ""),
            "examples": [row[index] for row in job.sample[:3] if index < len(row) and row[index]],
        })
    return columns


def _setup_context(request: HttpRequest, job: Any, errors: dict[str, list[str]] | None = None,
                   posted: dict[str, Any] | None = None) -> dict[str, Any]:
    posted = posted or {}
    mapping = posted.get("mapping", job.mapping)
    return {
        "job": job, "columns": _mapping_rows(job, mapping), "fields": fields_for(job.object_type),
        "errors": errors or {}, "match_choices": [(v, label) for v, label in MatchOn.choices
                                                  if v == "" or v in imports.MATCH_KEYS[job.object_type]],
        "on_match_choices": OnMatch.choices, "match_on": posted.get("match_on", job.match_on),
        "on_match": posted.get("on_match", job.on_match), "presets": PRESET_LABELS,
        "detected_preset": detect_preset(job.headers), "read_again": ReadAgainForm(initial={
            "encoding": job.encoding.removesuffix("-sig") if job.encoding else "", "delimiter": job.delimiter}),
        "delimiter_label": dict(DELIMITER_CHOICES).get(job.delimiter, job.delimiter),
        "summary": job.dry_run if job.status == ImportStatus.DRY_RUN else None,
    }


@login_required
@require_GET
def import_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    """One page per import: the wizard while it is being set up, the progress while it runs, then the report."""
    job = selectors.get_job(request.user, job_id)
    if job.status in SETUP:
        return render(request, "integrations/import_setup.html", _setup_context(request, job))
    errors = selectors.row_errors(job, request.GET.get("cursor"), 50) if job.status not in RUNNING else None
    return render(request, "integrations/import_report.html", {"job": job, "row_errors": errors,
                                                               "running": job.status in RUNNING})


@login_required
@require_GET
def import_progress(request: HttpRequest, job_id: str) -> HttpResponse:
    """The progress bar (htmx polls it every second); when the run ends it asks the page to reload."""
    job = selectors.get_job(request.user, job_id)
    response = render(request, "integrations/_import_progress.html", {"job": job, "running": job.status in RUNNING})
    if job.status not in RUNNING and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def import_read_again(request: HttpRequest, job_id: str) -> HttpResponse:
    job = selectors.get_job(request.user, job_id)
    form = ReadAgainForm(request.POST)
    if form.is_valid():
        try:
            imports.reinspect(actor=request.user, job=job, encoding=form.cleaned_data["encoding"],
                              delimiter=form.cleaned_data["delimiter"])
        except ValidationError as exc:
            job.refresh_from_db()
            return render(request, "integrations/import_setup.html",
                          _setup_context(request, job, errors=exc.message_dict), status=422)
    return redirect("imports:detail", job.uuid)


@login_required
@require_POST
def import_mapping(request: HttpRequest, job_id: str) -> HttpResponse:
    """Save the mapping and match settings; ``action`` = ``preset`` (apply a preset), ``save`` or ``check``
    (save, then dry-run)."""
    job = selectors.get_job(request.user, job_id)
    action = request.POST.get("action", "check")
    if action == "preset":
        try:
            imports.apply_preset(actor=request.user, job=job, preset=request.POST.get("preset", ""))
        except ValidationError as exc:
            return render(request, "integrations/import_setup.html",
                          _setup_context(request, job, errors=exc.message_dict), status=422)
        return redirect("imports:detail", job.uuid)
    mapping = {str(i): request.POST.get(f"col_{i}", "") for i in range(len(job.headers))}
    mapping = {k: v for k, v in mapping.items() if v}
    match_on = request.POST.get("match_on", "")
    on_match = request.POST.get("on_match", OnMatch.UPDATE)
    posted = {"mapping": mapping, "match_on": match_on, "on_match": on_match}
    try:
        imports.set_mapping(actor=request.user, job=job, mapping=mapping, match_on=match_on, on_match=on_match,
                            preset=job.preset)
        if action == "check":
            imports.dry_run(actor=request.user, job=job)
    except ValidationError as exc:
        job.refresh_from_db()
        return render(request, "integrations/import_setup.html",
                      _setup_context(request, job, errors=exc.message_dict, posted=posted), status=422)
    return redirect(f"{job_url(job)}#dry-run" if action == "check" else job_url(job))


def job_url(job: Any) -> str:
    from django.urls import reverse

    return reverse("imports:detail", args=[job.uuid])


@login_required
@require_POST
def import_run(request: HttpRequest, job_id: str) -> HttpResponse:
    job = selectors.get_job(request.user, job_id)
    try:
        imports.start(actor=request.user, job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
    return redirect("imports:detail", job.uuid)


@login_required
@require_http_methods(["GET", "POST"])
def import_undo(request: HttpRequest, job_id: str) -> HttpResponse:
    job = selectors.get_job(request.user, job_id)
    if request.method == "POST":
        try:
            job = imports.request_undo(actor=request.user, job=job)
        except ValidationError as exc:
            messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
        else:
            if job.status == ImportStatus.UNDONE:
                messages.success(request, _("The import was undone."))
        return redirect("imports:detail", job.uuid)
    return render(request, "integrations/import_undo.html", {"job": job})


@login_required
@require_GET
def import_errors_csv(request: HttpRequest, job_id: str) -> HttpResponseBase:
    job = selectors.get_job(request.user, job_id)
    stem = re.sub(r"[^\w.-]+", "_", job.original_name.rsplit(".", 1)[0])[:60]
    return csv_response(f"rejected-rows-{stem}.csv",
                        selectors.rejected_header(job), selectors.rejected_rows(job))
