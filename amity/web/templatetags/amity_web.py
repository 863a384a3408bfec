"""Small presentation helpers shared by the web templates (and usable by other apps' templates)."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

register = template.Library()

# Where each kind of record lives. The URL names belong to the contacts app; the literal paths are the same
# convention amity.timeline.services uses for notification links, so links work while those views are built.
_DETAIL = {
    "contact": ("contacts:detail", "/contacts/{uuid}/"),
    "company": ("contacts:company_detail", "/companies/{uuid}/"),
}


def object_url(kind: str, uuid: Any) -> str:
    name, fallback = _DETAIL[kind]
    try:
        return reverse(name, kwargs={"uuid": uuid})
    except NoReverseMatch:
        return fallback.format(uuid=uuid)


@register.filter
def contact_url(contact: Any) -> str:
    return object_url("contact", contact.uuid) if contact is not None else ""


@register.filter
def company_url(company: Any) -> str:
    return object_url("company", company.uuid) if company is not None else ""


@register.filter
def initials(name: Any) -> str:
    """One or two letters for an avatar: "Ada Lovelace" → "AL", "王小明" → "王"."""
    words = str(name or "").split()
    if not words:
        return "?"
    first = words[0][0]
    if not first.isascii():  # CJK names: the family name character alone reads best
        return first
    return (first + (words[-1][0] if len(words) > 1 else "")).upper()


_INTERACTION_VERBS = {
    "note": gettext_noop("added a note"),
    "call": gettext_noop("logged a call"),
    "email": gettext_noop("logged an email"),
    "meeting": gettext_noop("logged a meeting"),
    "chat": gettext_noop("logged a chat"),
    "sms": gettext_noop("logged a text message"),
    "in_store": gettext_noop("logged an in-store visit"),
    "social": gettext_noop("logged a social message"),
}


def _field_label(name: str) -> str:
    from amity.contacts.models import Contact

    try:
        return str(Contact._meta.get_field(name).verbose_name)  # type: ignore[union-attr]
    except Exception:  # emails, phones, birthday… are not model fields
        return name.replace("_", " ")


@register.filter
def phone(number: Any) -> str:
    """An E.164 number as people read it: "+14155550101" → "+1 415-555-0101"."""
    text = str(number or "")
    if not text.startswith("+"):
        return text
    try:
        return phonenumbers.format_number(phonenumbers.parse(text), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return text


@register.filter
def event_summary(event: Any) -> str:
    """What happened, as a short phrase after the actor's name ("added a note")."""
    kind, _dot, what = event.type.partition(".")
    payload = event.payload or {}
    if event.type == "note.created":
        return _("added a note")
    if what == "logged" and kind in _INTERACTION_VERBS:
        return _(_INTERACTION_VERBS[kind])
    if what == "deleted" and kind in _INTERACTION_VERBS:
        return _("removed an entry")
    if event.type == "contact.created":
        return _("created the contact")
    if event.type == "contact.updated":
        fields = ", ".join(_field_label(name) for name in sorted(payload.get("changes") or {})[:4])
        return _("updated %(fields)s") % {"fields": fields} if fields else _("updated the contact")
    if event.type == "task.created":
        return _("created a task: %(title)s") % {"title": payload.get("title", "")}
    if event.type == "task.completed":
        return _("completed a task: %(title)s") % {"title": payload.get("title", "")}
    if event.type == "task.reopened":
        return _("reopened a task: %(title)s") % {"title": payload.get("title", "")}
    if event.type == "preference.recorded":
        return _("noted a preference: %(text)s") % {"text": payload.get("text", "")}
    if event.type == "preference.archived":
        return _("archived a preference")
    return event.type

