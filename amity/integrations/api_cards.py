"""vCard and iCalendar over the API: the same services as the pages (``vcard_services``, ``ical``)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema
from ninja.files import UploadedFile

from amity.api.schemas import READ_ERRORS, WRITE_ERRORS, Status
from amity.contacts.api import ContactListQuery
from amity.core.permissions import can_edit, require

from . import ical, vcard_services

router = Router(tags=["vCard-iCalendar"])

VCARD_TYPE = "text/vcard; charset=utf-8"
ICS_TYPE = "text/calendar; charset=utf-8"
EXPORT_ERRORS = {**READ_ERRORS, 403: READ_ERRORS[404]}


def _content(media: str) -> dict[str, Any]:
    return {"responses": {200: {"description": "The file", "content": {media: {"schema": {"type": "string"}}}}}}


class ReportLineOut(Schema):
    card: int
    name: str
    status: str
    reasons: list[str]
    contact: uuid.UUID | None = None


class ImportReportOut(Schema):
    created: int
    updated: int
    skipped: int
    failed: int
    lines: list[ReportLineOut]


class ImportQueuedOut(Schema):
    status: str
    cards: int
    key: str
    status_url: str


class ImportStatusOut(Schema):
    status: str
    cards: int | None = None
    reasons: list[str] = []
    report: ImportReportOut | None = None


@router.post("/contacts/import/vcard", response={200: ImportReportOut, 202: ImportQueuedOut, **WRITE_ERRORS},
             summary="Import contacts from a vCard file",
             description="A .vcf file (vCard 2.1, 3.0 or 4.0; several cards; at most 20 MB) as multipart field "
                         "`file`. A card matching a contact you can see (same UID, email or phone) updates it "
                         "(`on_match=update`) or is skipped (`on_match=skip`). Each card is imported whole or not "
                         "at all; `lines` reports every card that failed, was skipped or lost a value (e.g. a photo "
                         "over 256 KB). A file that is not a vCard answers 422 (`file`). A file of more than 500 "
                         "cards is imported by the worker: 202 with a `status_url` to poll.")
def import_vcard(request: HttpRequest, file: File[UploadedFile],
                 on_match: Form[Literal["update", "skip"]] = "update"):
    require(can_edit(request.user), _("Your role cannot import contacts."))
    raw = vcard_services.read_uploaded(file)
    cards = vcard_services.count_cards(raw)
    if cards <= vcard_services.SYNC_LIMIT:
        return Status(200, vcard_services.import_vcards(user=request.user, raw=raw, on_match=on_match).as_dict())
    key = vcard_services.store_upload(user=request.user, raw=raw)
    vcard_services.start_import(user=request.user, key=key, on_match=on_match)
    return Status(202, {"status": "queued", "cards": cards, "key": key,
                        "status_url": f"/api/contacts/import/vcard/{key}"})


@router.get("/contacts/import/vcard/{key}", response={200: ImportStatusOut, **READ_ERRORS},
            summary="The state of a vCard import run by the worker",
            description="`queued`, `running`, `failed` (with `reasons`) or `done` (with `report`). 404 for an "
                        "unknown key or another user's import.")
def import_vcard_status(request: HttpRequest, key: str):
    status = vcard_services.import_status(user=request.user, key=key)
    if status is None:
        raise Http404
    if status.get("report") is not None:
        status["report"] = status["report"].as_dict()
    return Status(200, status)


class VersionQuery(Schema):
    version: Literal["3.0", "4.0"] = "3.0"


@router.get("/contacts/export.vcf", response=EXPORT_ERRORS, summary="Export contacts as vCards",
            description="Every contact the same query selects on `GET /api/contacts` (filters, search, sort; "
                        "paging parameters ignored), as one vCard file (`version` 3.0 or 4.0), streamed. Recorded "
                        "in the audit log. Needs a role that may export (403).",
            openapi_extra=_content("text/vcard"))
def export_contacts(request: HttpRequest, filters: Query[ContactListQuery],  # type: ignore[valid-type]
                    options: Query[VersionQuery]):
    export = vcard_services.export_contacts(user=request.user, query=request.GET, version=options.version)
    response = StreamingHttpResponse(export.chunks, content_type=VCARD_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


@router.get("/contacts/{id}/vcard", response=EXPORT_ERRORS, summary="One contact as a vCard",
            description="404 for a contact you cannot see; 403 for a role that may not export.",
            openapi_extra=_content("text/vcard"))
def contact_vcard(request: HttpRequest, id: uuid.UUID, options: Query[VersionQuery]):
    contact, text = vcard_services.contact_vcard(user=request.user, uuid=id, version=options.version)
    response = HttpResponse(text, content_type=VCARD_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{vcard_services.vcard_filename(contact)}"'
    return response


class CalendarQuery(Schema):
    date_from: str | None = None
    date_to: str | None = None


@router.get("/calendar/export.ics", response=READ_ERRORS, summary="My meetings and tasks as iCalendar",
            description="Meetings you wrote or are mentioned in and tasks assigned to you with a due date, from "
                        "`date_from` to `date_to` (YYYY-MM-DD, in your time zone; default 30 days back to a year "
                        "ahead, at most three years), with a VTIMEZONE for your zone.",
            openapi_extra=_content("text/calendar"))
def calendar_export(request: HttpRequest, params: Query[CalendarQuery]):
    body = ical.export_calendar(user=request.user, date_from=params.date_from, date_to=params.date_to)
    response = HttpResponse(body, content_type=ICS_TYPE)
    response["Content-Disposition"] = 'attachment; filename="amity-calendar.ics"'
    return response
