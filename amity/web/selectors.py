"""Reads for the dashboard and the audit log, all permission-scoped."""

from __future__ import annotations

import calendar
import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from amity.contacts import selectors as contact_selectors
from amity.contacts.models import LifecycleStage, SpecialDate
from amity.core.models import AuditAction, AuditEntry, Event
from amity.core.pagination import COUNT_CAP, Ordering, Page, keyset_page
from amity.core.permissions import visible_to

RECENT_EVENTS_SCAN = 100
AUDIT_PAGE_SIZE = 50
AUDIT_ORDER = Ordering("at", descending=True)


# --- dashboard ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CappedCount:
    value: int
    capped: bool

    def __str__(self) -> str:
        return f"{COUNT_CAP:,}+" if self.capped else f"{self.value:,}"


def capped_count(qs: QuerySet[Any]) -> CappedCount:
    """COUNT over at most COUNT_CAP + 1 rows: the cost stays bounded however big the table grows."""
    n = qs.order_by()[: COUNT_CAP + 1].count()
    return CappedCount(min(n, COUNT_CAP), n > COUNT_CAP)


def dashboard_counts(user: Any) -> dict[str, CappedCount]:
    contacts = contact_selectors.contacts_for(user)
    return {
        "contacts": capped_count(contacts),
        "customers": capped_count(contacts.filter(lifecycle_stage=LifecycleStage.CUSTOMER)),
        "companies": capped_count(contact_selectors.companies_for(user)),
    }


@dataclass(frozen=True)
class UpcomingDate:
    special: SpecialDate
    on: dt.date
    in_days: int

    @property
    def contact(self) -> Any:
        return self.special.contact

    @property
    def years(self) -> int | None:
        return self.on.year - self.special.year if self.special.year else None


def upcoming_special_dates(user: Any, days: int = 7, limit: int = 20) -> list[UpcomingDate]:
    """Special dates of visible contacts from today through the next ``days`` days, soonest first.

    One query: (month, day) pairs are matched through the (month, day, kind) index. 29 February is
    celebrated on 28 February in years without one.
    """
    today = timezone.localdate()
    wanted: dict[tuple[int, int], dt.date] = {}
    for offset in range(days + 1):
        day = today + dt.timedelta(days=offset)
        wanted[(day.month, day.day)] = day
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            wanted[(2, 29)] = day
    match = Q(pk__in=[])
    for month, day_of_month in wanted:
        match |= Q(month=month, day=day_of_month)
    rows = visible_to(user, SpecialDate.objects.filter(match), via="contact__").select_related("contact")
    found = [UpcomingDate(s, wanted[(s.month, s.day)], (wanted[(s.month, s.day)] - today).days)
             for s in rows.order_by("month", "day", "id")[: limit * 2]]
    found.sort(key=lambda u: (u.in_days, u.contact.display_name.lower()))
    return found[:limit]


def recent_activity(user: Any, limit: int = 15) -> list[Event]:
    """The latest events on contacts the user can see, each with ``.contact`` attached.

    Two queries whatever the data size: the newest RECENT_EVENTS_SCAN contact events, then which of their
    contacts are visible. Events on hidden contacts are dropped, so a restricted user may see fewer than
    ``limit`` — acceptable for a dashboard glance.
    """
    events = list(Event.objects.filter(contact_id__isnull=False).select_related("actor")
                  .order_by("-id")[:RECENT_EVENTS_SCAN])
    ids = {e.contact_id for e in events}
    if not ids:
        return []
    contacts = {c.pk: c for c in contact_selectors.contacts_for(user).filter(pk__in=ids)  # type: ignore[misc]
                .only("id", "uuid", "display_name", "email", "lifecycle_stage", "owner_id")}
    shown = []
    for event in events:
        contact = contacts.get(event.contact_id)  # type: ignore[arg-type]
        if contact is not None:
            event.contact = contact  # type: ignore[attr-defined]
            shown.append(event)
            if len(shown) == limit:
                break
    return shown


# --- audit log -----------------------------------------------------------------------------------------------

# The object types services record today (model names); the filter accepts any, these feed the suggestions.
AUDIT_OBJECT_TYPES = ["contact", "company", "interaction", "task", "preference", "user", "role", "team",
                      "apitoken", "savedview", "customfielddefinition", "tag"]


def audit_page(params: Mapping[str, Any], limit: int = AUDIT_PAGE_SIZE) -> Page[AuditEntry]:
    """Audit entries newest first, filtered by action, object type, actor (user uuid) and object id.

    Callers check that the user is an admin. Bad filter values raise ValidationError per field.
    """
    errors: dict[str, list[str]] = {}
    qs = AuditEntry.objects.all()
    action = (params.get("action") or "").strip()
    if action:
        if action not in AuditAction.values:
            errors["action"] = [_("“%(value)s” is not an action.") % {"value": action}]
        qs = qs.filter(action=action)
    object_type = (params.get("object_type") or "").strip().lower()
    if object_type:
        qs = qs.filter(object_type=object_type)
    actor = (params.get("actor") or "").strip()
    if actor:
        try:
            qs = qs.filter(actor__uuid=uuid.UUID(actor))
        except ValueError:
            errors["actor"] = [_("Choose a user from the list.")]
    object_id = (params.get("object_id") or "").strip()
    if object_id:
        if not object_id.isdigit() or len(object_id) > 18:
            errors["object_id"] = [_("“%(value)s” is not an object id (a whole number).") % {"value": object_id}]
        else:
            qs = qs.filter(object_id=int(object_id))
    if errors:
        raise ValidationError(errors)
    page = keyset_page(qs.select_related("actor"), AUDIT_ORDER, params.get("cursor") or None, limit, count=False)
    for entry in page.items:
        entry.change_rows = change_rows(entry)  # type: ignore[attr-defined]
    return page


@dataclass(frozen=True)
class ChangeRow:
    field: str
    before: str | None
    after: str | None


def _show(value: Any) -> str | None:
    """A readable form of a JSON value; None stays None so the template can show an em dash."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def change_rows(entry: AuditEntry) -> list[ChangeRow]:
    """Changes as before → after rows. Updates store [before, after] pairs; creates store the new state,
    deletes the old one; other actions (exports, merges) store details, shown as "after"."""
    changes = entry.changes if isinstance(entry.changes, dict) else {"value": entry.changes}
    rows = []
    for field, value in changes.items():
        if entry.action in {AuditAction.UPDATE, AuditAction.PERMISSION} and isinstance(value, list) \
                and len(value) == 2:
            rows.append(ChangeRow(field, _show(value[0]), _show(value[1])))
        elif _show(value) is None:
            continue  # a snapshot's empty fields say nothing
        elif entry.action == AuditAction.DELETE:
            rows.append(ChangeRow(field, _show(value), None))
        else:
            rows.append(ChangeRow(field, None, _show(value)))
    return rows
