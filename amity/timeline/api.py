"""Notes and the 360 timeline over the JSON API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from amity.api.pagination import CURSOR, LIMIT, page_body
from amity.api.schemas import READ_ERRORS, WRITE_ERRORS, InputSchema, Ref, created, no_content, page_schema
from amity.contacts import selectors as contact_selectors
from amity.contacts.api import ref

from . import selectors, services
from .models import Interaction, InteractionKind

router = Router(tags=["notes"])


class NoteOut(Schema):
    id: str
    body: str
    author: Ref | None
    contact: Ref | None
    company: Ref | None
    mentions: list[Ref] = Field(description="Users named with @handle in the body (they were notified).")
    occurred_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime


class NoteIn(InputSchema):
    body: str = Field(description="Plain text; `@handle` (a user's email before the @) notifies that user.")
    contact: uuid.UUID | None = Field(None, description="Contact id (give a contact or a company)")
    company: uuid.UUID | None = Field(None, description="Company id")


class InteractionOut(Schema):
    id: str
    kind: str
    subject: str
    body: str
    outcome: str
    duration_seconds: int | None
    author: Ref | None


class EventOut(Schema):
    type: str = Field(description="e.g. note.created, call.logged, contact.updated, task.completed")
    occurred_at: dt.datetime
    actor: Ref | None
    payload: dict[str, Any]
    interaction: InteractionOut | None = Field(
        description="The note, call, email… the event is about; null if none or since deleted."
    )


class PageQuery(Schema):
    cursor: str | None = CURSOR
    limit: int = LIMIT


class TimelineQuery(PageQuery):
    type: list[str] | None = Field(
        None, description="Only these kinds (repeat the parameter): "
        + ", ".join(selectors.TIMELINE_FILTERS) + ".",
    )


NotePage = page_schema(NoteOut, "NotePage")
TimelinePage = page_schema(EventOut, "TimelinePage")


def note_body(note: Interaction) -> dict[str, Any]:
    return {
        "id": str(note.uuid),
        "body": note.body,
        "author": ref(note.author),
        "contact": ref(note.contact),
        "company": ref(note.company),
        "mentions": [ref(u) for u in note.mentions.all()],
        "occurred_at": note.occurred_at,
        "created_at": note.created_at,
        "updated_at": note.updated_at,
    }


def event_body(event: Any) -> dict[str, Any]:
    interaction = getattr(event, "interaction", None)
    return {
        "type": event.type,
        "occurred_at": event.occurred_at,
        "actor": ref(event.actor),
        "payload": event.payload or {},
        "interaction": None if interaction is None else {
            "id": str(interaction.uuid), "kind": interaction.kind, "subject": interaction.subject,
            "body": interaction.body, "outcome": interaction.outcome,
            "duration_seconds": interaction.duration_seconds, "author": ref(interaction.author),
        },
    }


def _get_note(request: HttpRequest, id: uuid.UUID) -> Interaction:
    note = selectors.get_interaction(user=request.user, uuid=id)
    if note.kind != InteractionKind.NOTE:
        raise Http404
    return note


@router.get("/contacts/{id}/notes", response={200: NotePage, **READ_ERRORS}, summary="A contact's notes",
            description="Newest first.")
def contact_notes(request: HttpRequest, id: uuid.UUID, page: Query[PageQuery]):
    contact = contact_selectors.get_contact(user=request.user, uuid=id)
    return page_body(selectors.notes(contact=contact, cursor=page.cursor, limit=page.limit), note_body)


@router.get("/companies/{id}/notes", response={200: NotePage, **READ_ERRORS}, summary="A company's notes",
            description="Notes on the company and on its contacts, newest first.")
def company_notes(request: HttpRequest, id: uuid.UUID, page: Query[PageQuery]):
    company = contact_selectors.get_company(user=request.user, uuid=id)
    return page_body(selectors.notes(company=company, cursor=page.cursor, limit=page.limit), note_body)


@router.post("/notes", response={201: NoteOut, **WRITE_ERRORS}, summary="Add a note")
def add_note(request: HttpRequest, payload: NoteIn):
    contact = company = None
    try:
        if payload.contact is not None:
            contact = contact_selectors.get_contact(user=request.user, uuid=payload.contact)
    except Http404:
        raise ValidationError({"contact": [_("There is no contact with this id, or you may not see it.")]}) from None
    try:
        if payload.company is not None:
            company = contact_selectors.get_company(user=request.user, uuid=payload.company)
    except Http404:
        raise ValidationError({"company": [_("There is no company with this id, or you may not see it.")]}) from None
    note = services.add_note(actor=request.user, body=payload.body, contact=contact, company=company)
    return created(note_body(note))


@router.get("/notes/{id}", response={200: NoteOut, **READ_ERRORS}, summary="Get a note")
def get_note(request: HttpRequest, id: uuid.UUID):
    return note_body(_get_note(request, id))


@router.delete("/notes/{id}", response={204: None, **WRITE_ERRORS}, summary="Delete a note",
               description="Only its author or an admin may delete a note.")
def delete_note(request: HttpRequest, id: uuid.UUID):
    note = _get_note(request, id)
    if note.author_id != request.user.pk and not request.user.is_admin:  # type: ignore[union-attr]
        raise PermissionDenied(_("Only the author or an admin can delete this note."))
    services.delete_interaction(actor=request.user, interaction=note)
    return no_content()


@router.get("/contacts/{id}/timeline", response={200: TimelinePage, **READ_ERRORS}, tags=["timeline"],
            summary="A contact's timeline",
            description="Everything that happened with the contact (notes, calls, emails, tasks, changes), "
            "newest first. `total` is not counted here.")
def contact_timeline(request: HttpRequest, id: uuid.UUID, query: Query[TimelineQuery]):
    contact = contact_selectors.get_contact(user=request.user, uuid=id)
    return page_body(selectors.timeline(contact=contact, params=request.GET, limit=query.limit), event_body)


@router.get("/companies/{id}/timeline", response={200: TimelinePage, **READ_ERRORS}, tags=["timeline"],
            summary="A company's timeline")
def company_timeline(request: HttpRequest, id: uuid.UUID, query: Query[TimelineQuery]):
    company = contact_selectors.get_company(user=request.user, uuid=id)
    return page_body(selectors.timeline(company=company, params=request.GET, limit=query.limit), event_body)
