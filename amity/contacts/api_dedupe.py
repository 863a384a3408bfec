"""Duplicates over the JSON API: the queue, "not a duplicate", merging two contacts, an on-demand scan."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from amity.api.pagination import CURSOR, LIMIT, page_body
from amity.api.schemas import READ_ERRORS, WRITE_ERRORS, InputSchema, Problem, enum_of, page_schema
from amity.api.schemas import Status as _Status

from . import dedupe, merge
from .api import ContactOut, contact_body

router = Router(tags=["Duplicates"])


class DuplicateQuery(Schema):
    status: str | None = Field(None, description="open (default), dismissed or merged.",
                               json_schema_extra=enum_of(["open", "dismissed", "merged"]))
    min_score: int | None = Field(None, ge=0, le=100, description="Only pairs scoring at least this (0–100).")
    reason: str | None = Field(None, description="Only pairs matched for this reason.",
                               json_schema_extra=enum_of(dedupe.REASON_LABELS))
    cursor: str | None = CURSOR
    limit: int = LIMIT


class ReasonOut(Schema):
    code: str = Field(description="email, email_field, phone, name_company or name_domain")
    label: str
    score: int | None = Field(None, description="Name similarity (0–100) for the name rules.")
    detail: str | None = Field(None, description="The shared email, number or domain.")


class PairContact(Schema):
    id: str
    name: str
    emails: list[str]
    phones: list[str]
    company: str | None


class PairOut(Schema):
    id: str
    score: int
    status: str
    reasons: list[ReasonOut]
    contact_a: PairContact
    contact_b: PairContact
    detected_at: dt.datetime
    resolved_at: dt.datetime | None


PairPage = page_schema(PairOut, "DuplicatePairPage")


class MergeIn(InputSchema):
    other: uuid.UUID | None = Field(None, description="Required: the contact merged into this one (it is kept "
                                                      "only as a redirect).")
    fields: dict[str, str] = Field(default_factory=dict, description=(
        "Per field, which value wins: `winner` (this contact) or `loser` (the other). Keys: "
        + ", ".join(merge.FIELD_GROUPS) + ", and `custom.<key>` per custom field. Fields left out take the "
        "non-empty value, or the more recently updated contact's when both have one."))


class ScanOut(Schema):
    status: str


def _contact(contact: Any) -> dict[str, Any]:
    return {"id": str(contact.uuid), "name": str(contact), "emails": contact.email_list,
            "phones": contact.phone_list, "company": str(contact.company) if contact.company_id else None}


def pair_body(pair: Any) -> dict[str, Any]:
    return {
        "id": str(pair.uuid), "score": pair.score, "status": pair.status,
        "reasons": [{**r, "label": dedupe.reason_label(r)} for r in pair.reasons],
        "contact_a": _contact(pair.contact_a), "contact_b": _contact(pair.contact_b),
        "detected_at": pair.detected_at, "resolved_at": pair.resolved_at,
    }


@router.get("/duplicates", response={200: PairPage, **READ_ERRORS}, summary="The duplicates queue",
            description="Pairs of contacts that may be the same person, best score first; only pairs whose two "
            "contacts you may see.")
def list_duplicates(request: HttpRequest, filters: Query[DuplicateQuery]):
    return page_body(dedupe.pair_queue(user=request.user, params=request.GET), pair_body)


@router.post("/duplicates/{id}/dismiss", response={200: PairOut, **WRITE_ERRORS}, summary="Not a duplicate",
             description="The pair leaves the queue; later scans keep it dismissed.")
def dismiss_duplicate(request: HttpRequest, id: uuid.UUID):
    pair = dedupe.get_pair(user=request.user, uuid=id)
    pair = dedupe.dismiss_pair(user=request.user, pair=pair)
    fresh = dedupe.get_pair(user=request.user, uuid=pair.uuid)
    dedupe.attach_details([fresh])
    return pair_body(fresh)


@router.post("/duplicates/scan", response={202: ScanOut, 401: Problem, 403: Problem}, summary="Scan now",
             description="Admins: run the duplicate scan now (the worker picks it up within a minute).")
def scan_duplicates(request: HttpRequest):
    dedupe.request_scan(user=request.user)
    return _Status(202, {"status": "queued"})


@router.post("/contacts/{id}/merge", response={200: ContactOut, **WRITE_ERRORS}, tags=["contacts"],
             summary="Merge another contact into this one",
             description="Everything of `other` (emails, phones, tags, notes, tasks, deals, orders, timeline…) moves "
             "to this contact, which takes the chosen field values. `other` is kept only so its old URLs redirect "
             "here (`GET /api/contacts/{other}` answers 308). Recorded in the audit log and on the timeline.")
def merge_contact(request: HttpRequest, id: uuid.UUID, payload: MergeIn):
    winner = merge.get_contact_any(user=request.user, uuid=id)
    if payload.other is None:
        raise ValidationError({"other": [_("Name the contact to merge into this one.")]})
    loser = merge.get_contact_any(user=request.user, uuid=payload.other)
    kept = merge.merge_contacts(user=request.user, winner=winner, loser=loser, field_choices=payload.fields)
    from .selectors import get_contact

    return contact_body(get_contact(user=request.user, uuid=kept.uuid))
