"""Reads for the 360 timeline and tasks. Callers pass a contact/company already fetched through the
permission layer; tasks are scoped by the visibility of their contact/company."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from amity.core.models import Event
from amity.core.pagination import Ordering, Page, keyset_page
from amity.core.permissions import visible_to_via_any

from .models import Interaction, Task

# Filter groups shown as chips on the timeline; each maps to event-type prefixes.
TIMELINE_FILTERS: dict[str, tuple[str, ...]] = {
    "notes": ("note.",),
    "calls": ("call.",),
    "emails": ("email.",),
    "meetings": ("meeting.",),
    "chats": ("chat.", "sms.", "social.", "in_store."),
    "tasks": ("task.",),
    "deals": ("deal.", "quote."),
    "purchases": ("order.", "cart.", "product.", "visitor."),
    "changes": ("contact.", "company.", "preference."),
}
TIMELINE_ORDER = Ordering("occurred_at", descending=True)


def _types_q(kinds: list[str]) -> Q:
    unknown = [k for k in kinds if k not in TIMELINE_FILTERS]
    if unknown:
        raise ValidationError({"type": [_("“%(value)s” is not a timeline filter; use %(choices)s.")
                                        % {"value": ", ".join(unknown), "choices": ", ".join(TIMELINE_FILTERS)}]})
    q = Q()
    for kind in kinds:
        for prefix in TIMELINE_FILTERS[kind]:
            q |= Q(type__startswith=prefix)
    return q


def timeline(*, contact: Any = None, company: Any = None, deal: Any = None, params: Mapping[str, Any],
             limit: int = 30) -> Page[Event]:
    """One page of a contact's, company's or deal's timeline, newest first, each event with its interaction attached.

    A contact's timeline also shows the events of its deals (a deal event names the deal, not each contact)."""
    if contact is not None:
        deal_ids = list(contact.deals.values_list("pk", flat=True)[:500])
        qs = Event.objects.filter(Q(contact_id=contact.pk) | Q(deal_id__in=deal_ids)) if deal_ids else \
            Event.objects.filter(contact_id=contact.pk)
    elif deal is not None:
        qs = Event.objects.filter(deal_id=deal.pk)
    else:
        qs = Event.objects.filter(company_id=company.pk)
    kinds = [k for k in (params.getlist("type") if hasattr(params, "getlist") else params.get("type", [])) if k]
    if isinstance(kinds, str):
        kinds = [kinds]
    if kinds:
        qs = qs.filter(_types_q(kinds))
    page = keyset_page(qs.select_related("actor"), TIMELINE_ORDER, params.get("cursor") or None, limit, count=False)
    _attach_interactions(page.items)
    from amity.commerce.selectors import (
        attach_view_counts,  # commerce builds on the timeline, not the reverse
    )

    attach_view_counts(page.items)
    return page


def _attach_interactions(events: list[Event]) -> None:
    """One query for the interactions a page of events refers to; deleted ones show as removed."""
    uuids = {e.payload.get("interaction") for e in events if e.payload.get("interaction")}
    found = {str(i.uuid): i for i in Interaction.objects.filter(uuid__in=uuids).select_related("author")} if uuids \
        else {}
    for event in events:
        key = event.payload.get("interaction")
        event.interaction = found.get(key) if key else None  # type: ignore[attr-defined]


def tasks_for(user: Any) -> QuerySet[Task]:
    """Tasks the user may see: those on visible contacts/companies/deals, plus their own unattached tasks."""
    scoped = visible_to_via_any(user, Task.objects.all(), ["contact__", "company__", "deal__"])
    own = Task.objects.filter(contact__isnull=True, company__isnull=True, deal__isnull=True).filter(
        Q(assignee=user) | Q(created_by=user))
    return (scoped | own).distinct() if user.is_authenticated else Task.objects.none()


def open_tasks(*, user: Any, contact: Any = None, company: Any = None, deal: Any = None,
               limit: int = 20) -> list[Task]:
    qs = Task.objects.filter(done_at__isnull=True)
    if deal is not None:
        qs = qs.filter(deal=deal)
    else:
        qs = qs.filter(contact=contact) if contact is not None else qs.filter(company=company)
    return list(qs.select_related("assignee", "deal").order_by("due_at", "id")[:limit])


def open_task_count(*, contact: Any) -> int:
    return Task.objects.filter(contact=contact, done_at__isnull=True).count()


MY_DAY_BUCKETS = ("overdue", "today", "upcoming")
MY_DAY_EXPANDED = 200


def my_tasks(*, user: Any, limit: int = 15, expand: str | None = None, count: bool = True) -> dict[str, Any]:
    """The user's open tasks split into overdue, today and upcoming (in the user's time zone): the first ``limit``
    of each (``MY_DAY_EXPANDED`` of the ``expand`` bucket) and each bucket's full count (``<bucket>_count``)."""
    now = timezone.localtime()
    start_of_tomorrow = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    qs = Task.objects.filter(assignee=user, done_at__isnull=True)
    start_of_today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    scopes = {
        "overdue": qs.filter(due_at__lt=now),
        "today": qs.filter(due_at__gte=now, due_at__lt=start_of_tomorrow),
        "upcoming": qs.filter(Q(due_at__gte=start_of_tomorrow) | Q(due_at__isnull=True)),
    }
    result: dict[str, Any] = {
        "done_today": list(Task.objects.filter(assignee=user, done_at__gte=start_of_today)
                           .select_related("contact", "company", "deal").order_by("-done_at", "-id")[:10]),
    }
    for name, scope in scopes.items():
        size = MY_DAY_EXPANDED if name == expand else limit
        result[name] = list(scope.select_related("contact", "company", "deal").order_by("due_at", "id")[:size])
        # Count only when the page is full: a short list is its own count.
        full = count and len(result[name]) == size
        result[f"{name}_count"] = scope.count() if full else len(result[name])
    return result


TASK_ORDER = Ordering("due_at", descending=False, nullable=True)
TASK_STATUSES = ("open", "done", "all")


def _param_datetime(params: Mapping[str, Any], name: str, user: Any) -> dt.datetime | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: [_("“%(value)s” is not a date and time.") % {"value": raw}]}) from None
    if timezone.is_naive(value):
        import zoneinfo

        try:
            value = value.replace(tzinfo=zoneinfo.ZoneInfo(getattr(user, "time_zone", "") or "UTC"))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            value = value.replace(tzinfo=dt.UTC)
    return value


def task_list(*, user: Any, params: Mapping[str, Any], cursor: str | None = None, limit: int = 25) -> Page[Task]:
    """Tasks the user may see, by due time (no due date last). Filters: ``assignee`` (``me`` by default, a
    user id, or ``any``), ``status`` (open/done/all), ``due_before``/``due_after``, ``contact``, ``deal``."""
    errors: dict[str, list[str]] = {}
    qs = tasks_for(user)
    assignee = (params.get("assignee") or "me").strip()
    if assignee == "me":
        qs = qs.filter(assignee=user)
    elif assignee != "any":
        qs = qs.filter(assignee__uuid=assignee) if _is_uuid(assignee) else qs.none()
        if not _is_uuid(assignee):
            errors["assignee"] = [_("Use me, any or a user id.")]
    status = params.get("status") or "open"
    if status not in TASK_STATUSES:
        errors["status"] = [_("“%(value)s” is not a status; use open, done or all.") % {"value": status}]
    elif status != "all":
        qs = qs.filter(done_at__isnull=status == "open")
    for name, lookup in (("due_before", "due_at__lt"), ("due_after", "due_at__gte")):
        try:
            value = _param_datetime(params, name, user)
        except ValidationError as exc:
            errors.update(exc.message_dict)
            continue
        if value is not None:
            qs = qs.filter(**{lookup: value})
    for name in ("contact", "deal"):
        raw = (params.get(name) or "").strip()
        if raw:
            if not _is_uuid(raw):
                errors[name] = [_("“%(value)s” is not an id.") % {"value": raw}]
            else:
                qs = qs.filter(**{f"{name}__uuid": raw})
    if errors:
        raise ValidationError(errors)
    return keyset_page(qs.select_related("assignee", "contact", "company", "deal"), TASK_ORDER, cursor, limit)


def _is_uuid(value: str) -> bool:
    import uuid as uuid_module

    try:
        uuid_module.UUID(value)
    except ValueError:
        return False
    return True


def get_task(*, user: Any, uuid: Any) -> Task:
    from django.http import Http404

    try:
        return tasks_for(user).select_related("contact", "company", "deal", "assignee").get(uuid=uuid)
    except (Task.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc


def get_interaction(*, user: Any, uuid: Any) -> Interaction:
    from django.http import Http404

    qs = visible_to_via_any(user, Interaction.objects.all(), ["contact__", "company__", "deal__"])
    try:
        return qs.select_related("contact", "company", "deal", "author").get(uuid=uuid)
    except (Interaction.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc


def special_dates_today(*, user: Any, limit: int = 50) -> list[Any]:
    """Special dates falling today (the user's time zone) on contacts the user may see; 29 February is
    celebrated on 28 February in other years."""
    from amity.contacts.models import SpecialDate
    from amity.core.permissions import visible_to

    today = timezone.localdate()
    q = Q(month=today.month, day=today.day)
    if today.month == 2 and today.day == 28:
        try:
            dt.date(today.year, 2, 29)
        except ValueError:
            q |= Q(month=2, day=29)
    qs = visible_to(user, SpecialDate.objects.filter(q), via="contact__").select_related("contact")
    result = []
    for special in qs.order_by("kind", "contact__display_name")[:limit]:
        special.years = (today.year - special.year) if special.year else None  # type: ignore[attr-defined]
        result.append(special)
    return result


NOTE_ORDER = Ordering("occurred_at", descending=True)


def notes(*, contact: Any = None, company: Any = None, cursor: str | None = None, limit: int = 25) -> Page[Interaction]:
    """One page of the notes on a contact (or company, including its contacts' notes), newest first, with their
    authors and mentioned users. The caller fetched ``contact``/``company`` through the permission layer."""
    from django.db.models import prefetch_related_objects

    from .models import InteractionKind

    qs = Interaction.objects.filter(kind=InteractionKind.NOTE)
    qs = qs.filter(contact=contact) if contact is not None else qs.filter(company=company)
    page = keyset_page(qs.select_related("author", "contact", "company"), NOTE_ORDER, cursor, limit)
    prefetch_related_objects(page.items, "mentions")
    return page
