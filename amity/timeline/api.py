"""Notes, the 360 timeline and tasks over the JSON API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
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


# --- tasks --------------------------------------------------------------------------------------------------------

TASKS = ["tasks"]


class TaskOut(Schema):
    id: str
    title: str
    description: str
    due_at: dt.datetime | None = Field(description="UTC; shown in each user's time zone in the app.")
    done: bool
    done_at: dt.datetime | None
    priority: str
    assignee: Ref | None
    contact: Ref | None
    company: Ref | None
    deal: Ref | None
    remind_minutes_before: int | None
    remind_at: dt.datetime | None
    reminder_sent_at: dt.datetime | None
    reminder_was_late: bool
    recurrence: str = Field(description="'', daily, weekly or monthly.")
    created_at: dt.datetime
    updated_at: dt.datetime
    notice: str | None = Field(None, description="A note about the due time (e.g. an ambiguous time resolved).")


DUE_HELP = ("ISO 8601. Without an offset it is a wall-clock time in your time zone; a time the clocks skip "
            "(a daylight-saving gap) is refused, one they pass twice is the first of the two.")


class TaskIn(InputSchema):
    title: str
    description: str = ""
    due_at: str | None = Field(None, description=DUE_HELP)
    assignee: uuid.UUID | None = Field(None, description="User id; you by default.")
    contact: uuid.UUID | None = None
    company: uuid.UUID | None = None
    deal: uuid.UUID | None = None
    priority: str = Field("normal", description="low, normal or high.")
    remind_minutes_before: int | None = Field(None, description="e.g. 0, 5, 15, 30, 60, 1440; needs due_at.")
    recurrence: str = Field("", description="'', daily, weekly or monthly; needs due_at.")


class TaskPatch(InputSchema):
    title: str | None = None
    description: str | None = None
    due_at: str | None = Field(None, description=DUE_HELP + " null clears it.")
    assignee: uuid.UUID | None = None
    priority: str | None = None
    remind_minutes_before: int | None = Field(None, description="null turns the reminder off.")
    recurrence: str | None = None
    done: bool | None = Field(None, description="true completes the task (a repeating one gets its next "
                                                "occurrence), false reopens it.")


class TaskQuery(PageQuery):
    assignee: str = Field("me", description="`me`, `any` (every task you may see) or a user id.")
    status: str = Field("open", description="open, done or all.")
    due_before: str | None = Field(None, description="Due strictly before (ISO 8601; your time zone if no offset).")
    due_after: str | None = Field(None, description="Due at or after.")
    contact: str | None = Field(None, description="Contact id.")
    deal: str | None = Field(None, description="Deal id.")


TaskPage = page_schema(TaskOut, "TaskPage")


def task_body(task: Any) -> dict[str, Any]:
    return {
        "id": str(task.uuid), "title": task.title, "description": task.description, "due_at": task.due_at,
        "done": task.done_at is not None, "done_at": task.done_at, "priority": task.priority,
        "assignee": ref(task.assignee), "contact": ref(task.contact), "company": ref(task.company),
        "deal": ref(task.deal), "remind_minutes_before": task.remind_minutes_before, "remind_at": task.remind_at,
        "reminder_sent_at": task.reminder_sent_at, "reminder_was_late": task.reminder_was_late,
        "recurrence": task.recurrence, "created_at": task.created_at, "updated_at": task.updated_at,
        "notice": getattr(task, "due_note", "") or None,
    }


def _related(request: HttpRequest, kind: str, value: uuid.UUID | None) -> Any:
    """A contact/company/deal/assignee named in the body; one the user may not see is a field error."""
    if value is None:
        return None
    try:
        if kind == "contact":
            return contact_selectors.get_contact(user=request.user, uuid=value)
        if kind == "company":
            return contact_selectors.get_company(user=request.user, uuid=value)
        if kind == "deal":
            from amity.sales import selectors as sales_selectors

            return sales_selectors.get_deal(user=request.user, uuid=value)
        from amity.accounts.selectors import active_users

        return active_users().get(uuid=value)
    except (Http404, ObjectDoesNotExist):
        raise ValidationError({kind: [_("There is no record with this id, or you may not see it.")]}) from None


@router.get("/tasks", tags=TASKS, response={200: TaskPage, **READ_ERRORS}, summary="List tasks",
                  description="Your open tasks by due time by default (no due date last); the filters narrow it.")
def list_tasks(request: HttpRequest, query: Query[TaskQuery]):
    page = selectors.task_list(user=request.user, params=request.GET, cursor=query.cursor, limit=query.limit)
    return page_body(page, task_body)


@router.post("/tasks", tags=TASKS, response={201: TaskOut, **WRITE_ERRORS}, summary="Create a task")
def create_task(request: HttpRequest, payload: TaskIn):
    related = {kind: _related(request, kind, getattr(payload, kind)) for kind in ("contact", "company", "deal")}
    task = services.create_task(
        actor=request.user, title=payload.title, description=payload.description, due_at=payload.due_at,
        assignee=_related(request, "assignee", payload.assignee), priority=payload.priority,
        remind_minutes_before=payload.remind_minutes_before, recurrence=payload.recurrence, **related)
    return created(task_body(task))


@router.get("/tasks/{id}", tags=TASKS, response={200: TaskOut, **READ_ERRORS}, summary="Get a task")
def get_task(request: HttpRequest, id: uuid.UUID):
    return task_body(selectors.get_task(user=request.user, uuid=id))


@router.patch("/tasks/{id}", tags=TASKS, response={200: TaskOut, **WRITE_ERRORS}, summary="Change a task",
                    description="Only the fields sent change. `done` completes or reopens it.")
def update_task(request: HttpRequest, id: uuid.UUID, payload: TaskPatch):
    task = selectors.get_task(user=request.user, uuid=id)
    data = payload.dict(exclude_unset=True)
    if "assignee" in data:
        data["assignee"] = _related(request, "assignee", payload.assignee) if payload.assignee else None
    for name in ("title", "priority", "recurrence"):
        if name in data and data[name] is None:
            data.pop(name)
    return task_body(services.update_task(actor=request.user, task=task, data=data))


@router.delete("/tasks/{id}", tags=TASKS, response={204: None, **WRITE_ERRORS}, summary="Delete a task")
def delete_task(request: HttpRequest, id: uuid.UUID):
    services.delete_task(actor=request.user, task=selectors.get_task(user=request.user, uuid=id))
    return no_content()
