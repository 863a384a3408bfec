"""What the 360, company and My day pages show, computed once per request from rows already loaded.

Views of both ``contacts`` (the detail pages) and ``timeline`` (the quick actions, which re-render parts of
those pages) build their context here, so a panel looks the same however it was reached.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy  # not aliased: makemessages only knows the real name

from amity.contacts import dedupe
from amity.contacts import selectors as contact_selectors
from amity.contacts.models import Company, Contact, LifecycleStage, SpecialDateKind
from amity.core.customfields import definitions, display_value
from amity.core.normalize import format_phone, is_cjk
from amity.core.permissions import can_edit

from . import selectors
from .forms import (
    CALL_OUTCOMES,
    DIRECTION_CHOICES,
    FollowUpForm,
    InteractionForm,
    NoteForm,
    PreferenceForm,
    TaskForm,
)
from .models import InteractionKind

TIMELINE_LIMIT = 30
OUTCOME_LABELS = dict(CALL_OUTCOMES)
DIRECTION_LABELS = dict(DIRECTION_CHOICES)
KIND_ICONS = {
    "note": "note", "call": "phone", "email": "mail", "meeting": "calendar", "chat": "chat", "sms": "chat",
    "social": "chat", "in_store": "store",
}
EXTRA_FIELD_LABELS = {
    "tags": gettext_lazy("Tags"), "emails": gettext_lazy("Emails"), "phones": gettext_lazy("Phones"),
    "birthday": gettext_lazy("Birthday"), "special_dates": gettext_lazy("Special dates"),
    "custom": gettext_lazy("Custom fields"),
}


def initials(name: str) -> str:
    name = (name or "").strip()
    if not name:
        return "?"
    if is_cjk(name):
        return name[0]
    parts = [p for p in name.replace("-", " ").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() if parts else "?"


# --- timeline entries ---------------------------------------------------------------------------------------

@dataclass
class Entry:
    """One rendered timeline item."""

    event: Any
    icon: str
    tone: str
    title: str
    interaction: Any = None
    detail: str = ""
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    removed: bool = False
    can_delete: bool = False
    about: Any = None  # on a company's timeline: the contact an entry is about
    deal_uuid: str = ""  # a deal or quote event: the deal it is about (linked on contact and company timelines)
    deal_name: str = ""


def _value_text(model: type[models.Model] | None, name: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "—"
    if model is not None and name == "lifecycle_stage":
        return str(dict(LifecycleStage.choices).get(value, value))
    return str(value)


def _field_label(model: type[models.Model] | None, name: str) -> str:
    if name in EXTRA_FIELD_LABELS:
        return str(EXTRA_FIELD_LABELS[name])
    try:
        return str(capfirst(model._meta.get_field(name).verbose_name)) if model else name
    except Exception:  # a field since removed: its name is the best label left
        return name.replace("_", " ").capitalize()


def _changes(model: type[models.Model], changes: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for name, pair in (changes or {}).items():
        before, after = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
        if name == "custom" and isinstance(before or {}, dict) and isinstance(after or {}, dict):
            before, after = before or {}, after or {}
            for key in sorted(set(before) | set(after)):
                if before.get(key) != after.get(key):
                    rows.append((key.replace("_", " ").capitalize(), _value_text(None, key, before.get(key)),
                                 _value_text(None, key, after.get(key))))
            continue
        rows.append((_field_label(model, name), _value_text(model, name, before), _value_text(model, name, after)))
    return rows


def _duration(seconds: int | None) -> str:
    if not seconds:
        return ""
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return _("%(n)s min") % {"n": minutes}
    return _("%(h)s h %(m)s min") % {"h": minutes // 60, "m": minutes % 60}


def describe(event: Any, user: Any) -> Entry:
    """Icon, title and details of one event, from the event and its attached interaction only."""
    etype = event.type
    prefix, _dot, verb = etype.partition(".")
    payload = event.payload or {}
    interaction = getattr(event, "interaction", None)
    if prefix in KIND_ICONS and verb in {"created", "logged"}:
        kind_label = dict(InteractionKind.choices).get(prefix, prefix)
        removed = interaction is None
        entry = Entry(event, KIND_ICONS[prefix], prefix, str(kind_label), interaction=interaction, removed=removed)
        if interaction is not None:
            if prefix == "call":
                bits = [str(OUTCOME_LABELS.get(interaction.outcome, interaction.outcome)),
                        _duration(interaction.duration_seconds)]
                entry.detail = " · ".join(b for b in bits if b)
            elif prefix == "email":
                entry.detail = str(DIRECTION_LABELS.get(interaction.outcome, ""))
            else:
                bits = [_duration(interaction.duration_seconds), payload.get("location", "")]
                entry.detail = " · ".join(b for b in bits if b)
            entry.can_delete = can_edit(user) and (interaction.author_id == user.pk or user.is_admin)
        return entry
    if prefix in KIND_ICONS and verb == "deleted":
        kind_label = dict(InteractionKind.choices).get(prefix, prefix)
        return Entry(event, "trash", "muted", _("%(kind)s deleted") % {"kind": kind_label})
    if prefix == "task":
        title = payload.get("title", "")
        if verb == "completed":
            return Entry(event, "check", "success", _("Task completed"), detail=title)
        if verb == "reopened":
            return Entry(event, "task", "task", _("Task reopened"), detail=title)
        if verb == "updated":
            return Entry(event, "edit", "task", _("Task changed"), detail=title)
        if verb == "deleted":
            return Entry(event, "trash", "muted", _("Task deleted"), detail=title)
        return Entry(event, "task", "task", _("Task created"), detail=title)
    if prefix == "preference":
        text = payload.get("text", "")
        if verb == "archived":
            return Entry(event, "star", "muted", _("Preference archived"), detail=text)
        return Entry(event, "star", "pref", _("Preference recorded"), detail=text)
    if prefix in {"contact", "company"}:
        model = Contact if prefix == "contact" else Company
        if verb == "created":
            label = _("Contact created") if prefix == "contact" else _("Company created")
            source = payload.get("source")
            return Entry(event, "sparkle", "created", label,
                         detail=_("Source: %(source)s") % {"source": source} if source else "")
        if verb == "updated":
            return Entry(event, "edit", "change", _("Details changed"),
                         changes=_changes(model, payload.get("changes") or {}))
        if verb == "merged":
            return Entry(event, "sparkle", "change", _("Merged with %(name)s") % {"name": payload.get("name", "")})
    if prefix in {"deal", "quote"}:
        entry = _describe_sales(event, prefix, verb, payload)  # type: ignore[assignment]
        if entry is not None:
            entry.deal_uuid = payload.get("deal", "")
            entry.deal_name = payload.get("deal_name") or payload.get("name", "")
            return entry
    if prefix in {"order", "cart", "product", "visitor"}:
        from amity.commerce.presenters import describe_commerce

        entry = describe_commerce(event, prefix, verb, payload)
        if entry is not None:
            return entry
    return Entry(event, "dot", "muted", etype.replace(".", " ").replace("_", " ").capitalize())


def _money(payload: dict[str, Any], amount_key: str) -> str:
    amount = payload.get(amount_key)
    return f"{payload.get('currency', '')} {amount}".strip() if amount not in (None, "") else ""


def _describe_sales(event: Any, prefix: str, verb: str, payload: dict[str, Any]) -> Entry | None:
    """Deal and quote events (payloads from ``sales.services`` and ``sales.quote_services``)."""
    if prefix == "deal":
        from amity.sales.models import Deal

        moved = _("%(from)s → %(to)s") % {"from": payload.get("from", ""), "to": payload.get("to", "")}
        if verb == "created":
            return Entry(event, "deal", "created", _("Deal created"),
                         detail=" · ".join(b for b in [payload.get("stage", ""), _money(payload, "amount")] if b))
        if verb == "updated":
            return Entry(event, "edit", "change", _("Deal changed"), changes=_changes(Deal, payload.get("changes") or {}))
        if verb == "stage_changed":
            return Entry(event, "deal", "change", _("Deal moved"), detail=moved)
        if verb == "won":
            return Entry(event, "trophy", "success", _("Deal won"), detail=_money(payload, "amount"))
        if verb == "lost":
            return Entry(event, "alert", "danger", _("Deal lost"), detail=payload.get("lost_reason", ""))
        if verb == "deleted":
            return Entry(event, "trash", "muted", _("Deal deleted"))
        return None
    number = payload.get("number", "")
    titles = {"created": _("Quote created"), "sent": _("Quote sent"), "accepted": _("Quote accepted"),
              "declined": _("Quote declined"), "deleted": _("Quote deleted")}
    if verb not in titles:
        return None
    tone = {"accepted": "success", "declined": "danger", "deleted": "muted"}.get(verb, "change")
    bits = [number, _money(payload, "total"), payload.get("contact", "") if verb == "sent" else ""]
    return Entry(event, "trash" if verb == "deleted" else "quote", tone, titles[verb],
                 detail=" · ".join(b for b in bits if b))


# --- filter chips ----------------------------------------------------------------------------------------------

CHIP_LABELS = {
    "notes": gettext_lazy("Notes"), "calls": gettext_lazy("Calls"), "emails": gettext_lazy("Emails"),
    "meetings": gettext_lazy("Meetings"), "chats": gettext_lazy("Chats"), "tasks": gettext_lazy("Tasks"),
    "deals": gettext_lazy("Deals"), "purchases": gettext_lazy("Purchases"), "changes": gettext_lazy("Changes"),
}


def chips(active: list[str], page_url: str, partial_url: str) -> list[dict[str, Any]]:
    """Each filter chip toggles its type in the set of active ones."""
    result = [{"label": _("All"), "active": not active, "href": page_url, "hx": partial_url}]
    for key in selectors.TIMELINE_FILTERS:
        chosen = [k for k in active if k != key] if key in active else [*active, key]
        query = urlencode([("type", k) for k in chosen])
        suffix = f"?{query}" if query else ""
        result.append({"label": CHIP_LABELS.get(key, key), "key": key, "active": key in active,
                       "href": page_url + suffix, "hx": partial_url + suffix})
    return result


def active_types(params: Any) -> list[str]:
    raw = params.getlist("type") if hasattr(params, "getlist") else params.get("type", [])
    return [k for k in raw if k in selectors.TIMELINE_FILTERS]


def _attach_people(user: Any, entries: list[Entry]) -> None:
    """One query for the (visible) contacts that a company timeline's entries are about."""
    ids = {e.event.contact_id for e in entries if e.event.contact_id}
    if not ids:
        return
    people = {c.pk: c for c in contact_selectors.contacts_by_ids(user=user, ids=list(ids))}
    for entry in entries:
        entry.about = people.get(entry.event.contact_id)


def target_kind(target: Any) -> str:
    if isinstance(target, Contact):
        return "contact"
    return "company" if isinstance(target, Company) else "deal"


def target_url(target: Any) -> str:
    kind = target_kind(target)
    if kind == "deal":
        from .services import deal_url

        return deal_url(target)
    return reverse("contacts:detail" if kind == "contact" else "contacts:company_detail", args=[target.uuid])


def timeline_context(request: Any, target: Any, params: Any = None) -> dict[str, Any]:
    params = request.GET if params is None else params
    kind = target_kind(target)
    page = selectors.timeline(**{kind: target}, params=params, limit=TIMELINE_LIMIT)
    page_url = target_url(target)
    partial_url = reverse("timeline:timeline_partial", args=[kind, target.uuid])
    active = active_types(params)
    entries = [describe(e, request.user) for e in page.items]
    if kind != "contact":
        _attach_people(request.user, entries)
    more_query = urlencode([*[("type", k) for k in active], ("cursor", page.next_cursor or "")])
    return {
        "target": target, "target_kind": kind,
        "entries": entries,
        "next_url": f"{partial_url}?{more_query}" if page.next_cursor else "",
        "next_page_url": f"{page_url}?{more_query}" if page.next_cursor else "",
        "chips": chips(active, page_url, partial_url),
        "filtered": bool(active),
        "partial_url": partial_url,
    }


# --- the 360 page ------------------------------------------------------------------------------------------------

def _ordinal_anniversary(years: int) -> str:
    from django.contrib.humanize.templatetags.humanize import ordinal

    return _("%(nth)s anniversary") % {"nth": ordinal(years)}


def special_date_rows(contact: Contact) -> list[dict[str, Any]]:
    rows = []
    for item in contact_selectors.upcoming_special_dates(contact):
        special, days, years = item["date"], item["in_days"], item["years"]
        if special.kind == SpecialDateKind.BIRTHDAY:
            what = _("Birthday")
            age = _("turns %(n)s") % {"n": years} if years else ""
        elif special.kind == SpecialDateKind.ANNIVERSARY:
            what = special.label or _("Anniversary")
            age = _ordinal_anniversary(years) if years else ""
        elif special.kind == SpecialDateKind.CUSTOMER_SINCE:
            what = _("Customer anniversary")
            age = _ordinal_anniversary(years) if years else ""
        else:
            what = special.label or special.get_kind_display()
            age = _("%(n)s years") % {"n": years} if years else ""
        if days == 0:
            when = _("today!")
        elif days == 1:
            when = _("tomorrow")
        else:
            when = _("in %(n)s days") % {"n": days}
        rows.append({"kind": special.kind, "what": what, "age": age, "when": when, "today": days == 0,
                     "on": item["on"]})
    return rows


def local_time(tz_name: str) -> str:
    """The time now in the contact's zone, formatted here (template filters would convert it to the user's)."""
    if not tz_name:
        return ""
    try:
        there = timezone.now().astimezone(zoneinfo.ZoneInfo(tz_name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return ""
    return formats.time_format(there, "TIME_FORMAT")


def custom_rows(obj: Any, object_type: str) -> list[tuple[str, str]]:
    values = obj.custom or {}
    return [(d.label, display_value(d, values.get(d.key))) for d in definitions(object_type)
            if values.get(d.key) not in (None, "", [])]


def address_lines(obj: Any) -> list[str]:
    city_line = " ".join(p for p in [obj.postal_code, obj.city] if p)
    region_line = ", ".join(p for p in [obj.region, obj.country] if p)
    return [line for line in [obj.street, city_line, region_line] if line]


def attendee_choices(user: Any, target: Any) -> Any:
    """Who can be invited to a meeting logged on ``target``: the contact and its colleagues, the company's
    contacts, or the deal's contacts and its company's (those the user may see, at most 100)."""
    from django.db.models import Q

    kind = target_kind(target)
    if kind == "contact":
        q = Q(pk=target.pk) | (Q(company_id=target.company_id) if target.company_id else Q(pk__in=[]))
    elif kind == "company":
        q = Q(company_id=target.pk)
    else:
        q = Q(deals=target) | (Q(company_id=target.company_id) if target.company_id else Q(pk__in=[]))
    ids = list(contact_selectors.contacts_for(user).filter(q).order_by("display_name", "id")
               .values_list("pk", flat=True).distinct()[:100])
    return Contact.objects.filter(pk__in=ids).order_by("display_name", "id")


def follow_up_form(request: Any, target: Any, interaction: Any) -> FollowUpForm:
    """The follow-up task offered after a call, meeting or email was logged, with a sensible title and date."""
    from .services import follow_up_due

    name = str(target)
    titles = {
        "call": _("Follow up on the call with %(name)s"), "meeting": _("Follow up on the meeting with %(name)s"),
        "email": _("Follow up on the email with %(name)s"),
    }
    after = max(interaction.occurred_at, timezone.now())
    due = follow_up_due(interaction.kind, request.user.time_zone, after)
    form = FollowUpForm(initial={"title": (titles.get(interaction.kind) or titles["call"]) % {"name": name},
                                 "due_at": due, "remind_minutes_before": "15"})
    form.auto_id = "followup_%s"
    return form


QUICK_PANELS = {
    "note": gettext_lazy("Note"), "call": gettext_lazy("Log call"), "meeting": gettext_lazy("Meeting"),
    "email": gettext_lazy("Email"), "task": gettext_lazy("Task"),
}


def quick_panel_form(user: Any, target: Any, panel: str, failed: Any = None) -> Any:
    """The form of one quick-action panel: ``failed`` (bound, with its errors) or a fresh one."""
    form: Any
    if failed is not None:
        form = failed
    elif panel == "note":
        form = NoteForm()
    elif panel == "task":
        form = TaskForm()
    else:  # only the meeting form lists attendees (one query), so only it asks for them
        form = InteractionForm(initial={"kind": panel},
                               attendee_choices=attendee_choices(user, target) if panel == "meeting" else None)
    form.auto_id = f"{panel}_%s"  # the ids the panels have always had (note_body, call_outcome, …)
    return form


def quick_panel_context(request: Any, target: Any, panel: str) -> dict[str, Any]:
    """One quick-action panel on its own (``timeline/_quick_panel.html``), fetched when its tab is first opened."""
    editable = can_edit(request.user)
    return {
        "target": target, "target_kind": target_kind(target), "panel": panel, "can_edit": editable,
        "form": quick_panel_form(request.user, target, panel) if editable else None,
    }


def quick_forms(request: Any, target: Any, forms: dict[str, Any] | None = None) -> dict[str, Any]:
    """The quick-actions card: its tabs, and the form of the open panel only (the one that just failed, bound
    with its errors, or the one named by ``?panel=``, else the note). The other panels are fetched from
    ``timeline:quick_panel`` when their tab is opened; without JavaScript each tab is a link to ``?panel=``."""
    forms = forms or {}
    panel = forms.get("open_panel") or request.GET.get("panel", "")
    panel = panel if panel in QUICK_PANELS else "note"
    failed: Any = forms.get("interaction") if panel in {"call", "meeting", "email"} else forms.get(panel)
    kind = target_kind(target)
    page = target_url(target)
    tabs = [{"key": key, "label": label, "open": key == panel,
             "href": f"{page}?panel={key}#quick-actions",
             "src": reverse("timeline:quick_panel", args=[kind, target.uuid, key])}
            for key, label in QUICK_PANELS.items()]
    preference_form = forms.get("preference") or PreferenceForm()
    preference_form.auto_id = "preference_%s"
    return {
        "quick_tabs": tabs,
        "open_panel": panel,
        "panel_form": quick_panel_form(request.user, target, panel, failed) if can_edit(request.user) else None,
        "preference_form": preference_form,
        "followup_form": forms.get("followup"),
        "followup_kind": forms.get("followup_kind", ""),
        "notice": forms.get("notice", ""),
    }


def stats_context(contact: Contact) -> dict[str, Any]:
    return {"open_task_count": selectors.open_task_count(contact=contact), "contact": contact}


def _deals(user: Any, contact: Any = None, company: Any = None) -> list[Any]:
    """The deals card of the 360 and company pages (the deals this user may see)."""
    from amity.sales import selectors as sales_selectors

    if contact is not None:
        return sales_selectors.deals_of_contact(user=user, contact=contact)
    return sales_selectors.deals_of_company(user=user, company=company)


def contact_context(request: Any, contact: Contact, forms: dict[str, Any] | None = None) -> dict[str, Any]:
    user = request.user
    return {
        "contact": contact,
        "initials": initials(contact.display_name),
        "emails": list(contact.emails.all()),
        "phones": [{"number": p.number, "display": format_phone(p.number), "kind": p.get_kind_display()}
                   for p in contact.phones.all()],
        "tags": sorted(contact.tags.all(), key=lambda t: t.name.lower()),
        "preferences": contact_selectors.active_preferences(contact),
        "special_dates": special_date_rows(contact),
        "custom_rows": custom_rows(contact, "contact"),
        "address": address_lines(contact),
        "contact_local_time": local_time(contact.time_zone),
        "base_currency": settings.AMITY_BASE_CURRENCY,
        "open_tasks": selectors.open_tasks(user=user, contact=contact),
        "deals": _deals(user, contact=contact),
        "possible_duplicates": dedupe.open_pairs_of(user=user, contact=contact),
        "can_edit": can_edit(user),
        "now_utc": timezone.now(),
        **stats_context(contact),
        **quick_forms(request, contact, forms),
        **timeline_context(request, contact),
    }


def company_context(request: Any, company: Company, forms: dict[str, Any] | None = None) -> dict[str, Any]:
    user = request.user
    return {
        "company": company,
        "initials": initials(company.name),
        "tags": sorted(company.tags.all(), key=lambda t: t.name.lower()),
        "contacts": contact_selectors.company_contacts(user=user, company=company),
        "contact_count": contact_selectors.company_contact_count(user=user, company=company),
        "phone_display": format_phone(company.phone),
        "custom_rows": custom_rows(company, "company"),
        "address": address_lines(company),
        "open_tasks": selectors.open_tasks(user=user, company=company),
        "deals": _deals(user, company=company),
        "can_edit": can_edit(user),
        "now_utc": timezone.now(),
        **quick_forms(request, company, forms),
        **timeline_context(request, company),
    }


def deal_context(request: Any, deal: Any, forms: dict[str, Any] | None = None) -> dict[str, Any]:
    """The deal page's activity panels: quick actions (``contacts/_360_actions.html``), open tasks
    (``contacts/_360_tasks.html``) and the timeline (``timeline/_timeline.html``). The deal page view merges
    this into its own context; the quick actions re-render the same panels after each write."""
    user = request.user
    return {
        "deal": deal,
        "open_tasks": selectors.open_tasks(user=user, deal=deal),
        "can_edit": can_edit(user),
        "now_utc": timezone.now(),
        **quick_forms(request, deal, forms),
        **timeline_context(request, deal),
    }


def my_day_context(request: Any) -> dict[str, Any]:
    from .services import deal_url

    expand = request.GET.get("all") if request.GET.get("all") in selectors.MY_DAY_BUCKETS else None
    buckets = selectors.my_tasks(user=request.user, expand=expand)
    for name in (*selectors.MY_DAY_BUCKETS, "done_today"):
        for task in buckets[name]:
            task.deal_url = deal_url(task.deal) if task.deal_id else ""  # type: ignore[attr-defined]
    return {
        "overdue": buckets["overdue"], "today": buckets["today"], "upcoming": buckets["upcoming"],
        "overdue_count": buckets["overdue_count"], "today_count": buckets["today_count"],
        "upcoming_count": buckets["upcoming_count"], "expanded": expand,
        "done_today": buckets["done_today"],
        "needs_you": buckets["overdue_count"] + buckets["today_count"],
        "special_today": selectors.special_dates_today(user=request.user),
        "now": timezone.localtime(),
        "can_edit": can_edit(request.user),
    }
