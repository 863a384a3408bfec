"""Every write to contacts and companies: validated, transactional, audited, and emitting events.

Forms, the API and importers call these functions, so all of them accept and refuse the same input.
Input is a plain dict (see ``clean_contact_input``); errors are ``ValidationError`` keyed by field name.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from typing import Any

import phonenumbers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from amity.core import audit, search
from amity.core.customfields import clean_custom
from amity.core.db import CONTACT_REMOVAL_LOCK, lock_for_transaction
from amity.core.events import emit
from amity.core.models import AuditAction, Tag
from amity.core.normalize import clean_text, display_name, normalize_domain, normalize_email, normalize_phone
from amity.core.permissions import can_delete, can_edit, require, visible_to

from .models import (
    Company,
    CompanySize,
    Contact,
    ContactEmail,
    ContactPhone,
    LifecycleStage,
    Preference,
    SavedView,
    SpecialDate,
    SpecialDateKind,
)

CONTACT_TEXT_FIELDS = [
    "first_name", "last_name", "job_title", "source", "street", "city", "region", "postal_code",
]
# What an update writes: a stale copy must never overwrite counters other services maintain concurrently
# (lifetime_value, last_contacted_at).
CONTACT_EDITABLE = [
    *CONTACT_TEXT_FIELDS, "lifecycle_stage", "time_zone", "language", "country", "do_not_contact", "company", "owner",
    "custom", "display_name", "email", "phone", "updated_at",
]
CONTACT_AUDITED = [
    "first_name", "last_name", "email", "phone", "company", "job_title", "owner", "lifecycle_stage", "source",
    "time_zone", "language", "street", "city", "region", "postal_code", "country", "do_not_contact", "custom",
]
COMPANY_TEXT_FIELDS = ["name", "industry", "description", "street", "city", "region", "postal_code"]
COMPANY_AUDITED = [
    "name", "domain", "industry", "size", "phone", "owner", "street", "city", "region", "postal_code", "country",
    "description", "custom",
]
TIME_ZONES = zoneinfo.available_timezones()
LANGUAGES = {"en", "zh-hans", "zh-hant", "zh", "es", "fr", "de", "ja", "ko", "pt", "it", "nl", "ru", "ar"}


def _max_length(model: Any, field: str) -> int:
    return model._meta.get_field(field).max_length or 10_000


class Errors:
    """Collects field errors so a user sees every problem at once, not one per submit."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[Any]] = {}

    def add(self, field: str, error: ValidationError | str) -> None:
        items = error.error_list if isinstance(error, ValidationError) and hasattr(error, "error_list") else [error]
        self.by_field.setdefault(field, []).extend(items)

    def merge(self, error: ValidationError) -> None:
        for field, items in error.error_dict.items():
            self.by_field.setdefault(field, []).extend(items)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def _clean_choice(errors: Errors, field: str, value: Any, choices: Iterable[str], blank: bool = True) -> str:
    value = clean_text(value)
    if value == "" and blank:
        return ""
    if value not in choices:
        errors.add(field, _("“%(value)s” is not a valid choice.") % {"value": value})
    return value


def _clean_country(errors: Errors, value: Any) -> str:
    code = clean_text(value).upper()
    if code and code not in phonenumbers.SUPPORTED_REGIONS:
        errors.add("country", _("“%(value)s” is not an ISO 3166 country code (e.g. US, CN, DE).") % {"value": code})
    return code


def _clean_time_zone(errors: Errors, value: Any) -> str:
    name = clean_text(value)
    if name and name not in TIME_ZONES:
        errors.add("time_zone", _("“%(value)s” is not a time zone (e.g. Europe/Berlin, Asia/Shanghai).") % {"value": name})
    return name


def _items(value: Any, key: str) -> list[dict[str, Any]]:
    """Accept ["a@x.com"] or [{"email": "a@x.com", "kind": "home"}] for emails/phones."""
    result = []
    for item in value or []:
        if isinstance(item, dict):
            result.append(item)
        elif clean_text(item):
            result.append({key: item})
    return result


def _clean_emails(errors: Errors, value: Any, contact: Contact | None, actor: Any = None) -> list[dict[str, Any]]:
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in _items(value, "email"):
        try:
            address = normalize_email(item.get("email", ""))
        except ValidationError as exc:
            errors.add("emails", exc)
            continue
        if not address or address in seen:
            continue
        seen.add(address)
        kind = item.get("kind") or "work"
        if kind not in dict(ContactEmail.KINDS):
            errors.add("emails", _("“%(value)s” is not an email type.") % {"value": kind})
            continue
        cleaned.append({"email": address, "kind": kind})
    if cleaned:
        taken = ContactEmail.objects.filter(email__in=[e["email"] for e in cleaned]).select_related("contact")
        if contact is not None:
            taken = taken.exclude(contact=contact)
        taken = list(taken)  # type: ignore[assignment]
        # Name and link the existing contact only to someone allowed to see it; others learn only that
        # the address is in use (a customer exists once, but its existence is not revealed).
        visible_ids = set(
            visible_to(actor, Contact.objects.filter(pk__in=[r.contact_id for r in taken])).values_list("pk", flat=True)
        ) if actor is not None else {r.contact_id for r in taken}
        for row in taken:
            if row.contact_id not in visible_ids:
                errors.add("emails", ValidationError(_("%(email)s is already in use by another contact."),
                                                     code="duplicate_hidden", params={"email": row.email}))
                continue
            errors.add(
                "emails",
                ValidationError(
                    _("%(email)s already belongs to %(name)s."),
                    code="duplicate",
                    params={
                        "email": row.email,
                        "name": str(row.contact),
                        "url": reverse("contacts:detail", args=[row.contact.uuid]),
                        "uuid": str(row.contact.uuid),
                    },
                ),
            )
    return cleaned


def _clean_phones(errors: Errors, value: Any) -> list[dict[str, Any]]:
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in _items(value, "number"):
        try:
            number = normalize_phone(item.get("number", ""))
        except ValidationError as exc:
            errors.add("phones", exc)
            continue
        if not number or number in seen:
            continue
        seen.add(number)
        kind = item.get("kind") or "mobile"
        if kind not in dict(ContactPhone.KINDS):
            errors.add("phones", _("“%(value)s” is not a phone type.") % {"value": kind})
            continue
        cleaned.append({"number": number, "kind": kind})
    return cleaned


def _clean_date_parts(errors: Errors, field: str, value: Any) -> tuple[int, int, int | None] | None:
    """A birthday or special date: a date, "YYYY-MM-DD", or "--MM-DD" when the year is unknown."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value.month, value.day, value.year
    text = clean_text(value)
    try:
        if text.startswith("--"):
            month, day = (int(p) for p in text[2:].split("-"))
            dt.date(2000, month, day)  # 2000 is a leap year, so 29 February is allowed
            return month, day, None
        parsed = dt.date.fromisoformat(text)
    except ValueError:
        errors.add(field, _("“%(value)s” is not a date (use YYYY-MM-DD, or --MM-DD without a year).") % {"value": text})
        return None
    if parsed > timezone.localdate() and field == "birthday":
        errors.add(field, _("A birthday cannot be in the future."))
        return None
    return parsed.month, parsed.day, parsed.year


def _clean_special_dates(errors: Errors, value: Any) -> list[dict[str, Any]]:
    cleaned = []
    for item in value or []:
        kind = item.get("kind") or SpecialDateKind.OTHER
        if kind not in SpecialDateKind.values or kind == SpecialDateKind.BIRTHDAY:
            errors.add("special_dates", _("“%(value)s” is not a special-date kind.") % {"value": kind})
            continue
        parts = _clean_date_parts(errors, "special_dates", item.get("date"))
        if parts:
            cleaned.append({"kind": kind, "label": clean_text(item.get("label"))[:100], "month": parts[0],
                            "day": parts[1], "year": parts[2]})
    return cleaned


def _clean_tags(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    names: list[str] = []
    for name in value or []:
        name = clean_text(name)[:64]
        if name and name.lower() not in {n.lower() for n in names}:
            names.append(name)
    return names


def clean_contact_input(data: dict[str, Any], contact: Contact | None = None, partial: bool = False,
                        actor: Any = None) -> dict[str, Any]:
    """Validate and normalise contact input; raise ValidationError({field: [...]}) listing every problem."""
    errors = Errors()
    out: dict[str, Any] = {}
    for field in CONTACT_TEXT_FIELDS:
        if field in data:
            out[field] = clean_text(data[field])[: _max_length(Contact, field)]
    if "lifecycle_stage" in data:
        out["lifecycle_stage"] = _clean_choice(errors, "lifecycle_stage", data["lifecycle_stage"] or "lead",
                                               LifecycleStage.values, blank=False)
    if "time_zone" in data:
        out["time_zone"] = _clean_time_zone(errors, data["time_zone"])
    if "language" in data:
        out["language"] = _clean_choice(errors, "language", (data["language"] or "").lower(), LANGUAGES)
    if "country" in data:
        out["country"] = _clean_country(errors, data["country"])
    if "do_not_contact" in data:
        out["do_not_contact"] = bool(data["do_not_contact"])
    if "company" in data:
        out["company"] = data["company"]
    if "owner" in data:
        out["owner"] = data["owner"]
    if "emails" in data:
        out["emails"] = _clean_emails(errors, data["emails"], contact, actor)
    if "phones" in data:
        out["phones"] = _clean_phones(errors, data["phones"])
    if "tags" in data:
        out["tags"] = _clean_tags(data["tags"])
    if "birthday" in data:
        out["birthday"] = _clean_date_parts(errors, "birthday", data["birthday"])
    if "special_dates" in data:
        out["special_dates"] = _clean_special_dates(errors, data["special_dates"])
    if "custom" in data:
        try:
            out["custom"] = clean_custom("contact", data["custom"] or {}, contact.custom if contact else None,
                                         partial=partial)
        except ValidationError as exc:
            errors.merge(exc)
    elif not partial:
        try:
            out["custom"] = clean_custom("contact", {}, contact.custom if contact else None)
        except ValidationError as exc:
            errors.merge(exc)
    first = out.get("first_name", contact.first_name if contact else "")
    last = out.get("last_name", contact.last_name if contact else "")
    has_email = out.get("emails") if "emails" in out else (contact.email if contact else "")
    if not (first or last or has_email):
        errors.add("first_name", _("Give the contact a name or an email address."))
    errors.raise_if_any()
    return out


def _apply_contact(contact: Contact, data: dict[str, Any]) -> None:
    for field in [*CONTACT_TEXT_FIELDS, "lifecycle_stage", "time_zone", "language", "country", "do_not_contact",
                  "company", "owner", "custom"]:
        if field in data:
            setattr(contact, field, data[field])
    contact.display_name = display_name(contact.first_name, contact.last_name)
    if "emails" in data:
        contact.email = data["emails"][0]["email"] if data["emails"] else ""
    if "phones" in data:
        contact.phone = data["phones"][0]["number"] if data["phones"] else ""
    if not contact.display_name:
        contact.display_name = contact.email


def _save_related(contact: Contact, data: dict[str, Any]) -> None:
    if "emails" in data:
        contact.emails.all().delete()
        ContactEmail.objects.bulk_create(
            [ContactEmail(contact=contact, is_primary=i == 0, **e) for i, e in enumerate(data["emails"])]
        )
    if "phones" in data:
        contact.phones.all().delete()
        ContactPhone.objects.bulk_create(
            [ContactPhone(contact=contact, is_primary=i == 0, **p) for i, p in enumerate(data["phones"])]
        )
    if "tags" in data:
        contact.tags.set(tags_by_name(data["tags"]))
    if "birthday" in data:
        contact.special_dates.filter(kind=SpecialDateKind.BIRTHDAY).delete()
        if data["birthday"]:
            month, day, year = data["birthday"]
            SpecialDate.objects.create(contact=contact, kind=SpecialDateKind.BIRTHDAY, month=month, day=day, year=year)
    if "special_dates" in data:
        contact.special_dates.exclude(kind=SpecialDateKind.BIRTHDAY).delete()
        SpecialDate.objects.bulk_create([SpecialDate(contact=contact, **d) for d in data["special_dates"]])


def tags_by_name(names: list[str]) -> list[Tag]:
    """Existing tags matched case-insensitively; missing ones created."""
    tags = []
    for name in names:
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        tags.append(tag)
    return tags


def _contact_state(contact: Contact) -> dict[str, Any]:
    state = audit.snapshot(contact, CONTACT_AUDITED)
    if contact.pk:
        state["tags"] = sorted(contact.tags.values_list("name", flat=True))
        state["emails"] = list(contact.emails.values_list("email", flat=True))
        state["phones"] = list(contact.phones.values_list("number", flat=True))
        birthday = contact.special_dates.filter(kind=SpecialDateKind.BIRTHDAY).first()
        state["birthday"] = (f"{birthday.year or '-'}-{birthday.month:02d}-{birthday.day:02d}" if birthday else None)
        state["special_dates"] = [
            f"{d.kind}:{d.label}:{d.year or '-'}-{d.month:02d}-{d.day:02d}"
            for d in contact.special_dates.exclude(kind=SpecialDateKind.BIRTHDAY)
        ]
    return state


@transaction.atomic
def create_contact(*, actor: Any, data: dict[str, Any]) -> Contact:
    require(actor is None or can_edit(actor))
    cleaned = clean_contact_input(data, actor=actor)
    contact = Contact()
    if "owner" not in cleaned and getattr(actor, "is_authenticated", False):
        cleaned["owner"] = actor
    _apply_contact(contact, cleaned)
    contact.save()
    _save_related(contact, cleaned)
    state = _contact_state(contact)
    audit.record(AuditAction.CREATE, actor=actor, obj=contact, changes=state)
    emit("contact.created", subject=contact, actor=actor, contact_id=contact.pk, company_id=contact.company_id,
         payload={"name": str(contact), "source": contact.source})
    search.index_contact(contact)
    return contact


@transaction.atomic
def update_contact(*, actor: Any, contact: Contact, data: dict[str, Any], partial: bool = True) -> Contact:
    require(actor is None or can_edit(actor, contact))
    cleaned = clean_contact_input(data, contact=contact, partial=partial, actor=actor)
    before = _contact_state(contact)
    _apply_contact(contact, cleaned)
    contact.save(update_fields=CONTACT_EDITABLE)
    _save_related(contact, cleaned)
    changes = audit.diff(before, _contact_state(contact))
    if changes:
        audit.record(AuditAction.UPDATE, actor=actor, obj=contact, changes=changes)
        emit("contact.updated", subject=contact, actor=actor, contact_id=contact.pk, company_id=contact.company_id,
             payload={"changes": changes})
        search.index_contact(contact)
    return contact


@transaction.atomic
def delete_contact(*, actor: Any, contact: Contact) -> None:
    require(actor is None or can_delete(actor), _("Your role cannot delete records."))
    # First, before any row is locked (ingest batches hold this lock shared and then lock rows): behaviour events
    # being written point at contacts unchecked.
    lock_for_transaction(CONTACT_REMOVAL_LOCK)
    audit.record(AuditAction.DELETE, actor=actor, obj=contact, changes=_contact_state(contact))
    emit("contact.deleted", subject=contact, actor=actor, company_id=contact.company_id,
         payload={"name": str(contact)})
    search.remove("contact", contact.pk)
    contact.delete()


# --- preferences and special dates -------------------------------------------------------------------------

@transaction.atomic
def add_preference(*, actor: Any, contact: Contact, text: str) -> Preference:
    require(can_edit(actor))
    text = clean_text(text)
    if not text:
        raise ValidationError({"text": [_("Write the preference, e.g. “oat milk, no sugar”.")]})
    if len(text) > 300:
        raise ValidationError({"text": [_("Keep a preference under 300 characters.")]})
    preference = Preference.objects.create(contact=contact, text=text, recorded_by=actor)
    audit.record(AuditAction.CREATE, actor=actor, obj=preference, changes={"text": text, "contact": str(contact)})
    emit("preference.recorded", subject=preference, actor=actor, contact_id=contact.pk, payload={"text": text})
    return preference


@transaction.atomic
def archive_preference(*, actor: Any, preference: Preference) -> Preference:
    require(can_edit(actor))
    preference.archived_at = timezone.now()
    preference.save(update_fields=["archived_at"])
    audit.record(AuditAction.UPDATE, actor=actor, obj=preference, changes={"archived": [False, True]})
    emit("preference.archived", subject=preference, actor=actor, contact_id=preference.contact_id,
         payload={"text": preference.text})
    return preference


# --- bulk actions --------------------------------------------------------------------------------------------

def _record_writers(record: Contact | Company) -> tuple[Any, Any]:
    """The update and delete services for a contact or a company (bulk actions serve both)."""
    if isinstance(record, Company):
        return (lambda actor, data: update_company(actor=actor, company=record, data=data),
                lambda actor: delete_company(actor=actor, company=record))
    return (lambda actor, data: update_contact(actor=actor, contact=record, data=data),
            lambda actor: delete_contact(actor=actor, contact=record))


@transaction.atomic
def bulk_tag(*, actor: Any, records: Iterable[Contact | Company], tag_names: list[str]) -> int:
    """Add tags to each record (contacts or companies), audited per record like a single edit."""
    require(can_edit(actor))
    tags = tags_by_name(_clean_tags(tag_names))
    if not tags:
        raise ValidationError({"tags": [_("Name at least one tag.")]})
    count = 0
    for record in records:
        update, _delete = _record_writers(record)
        update(actor, {"tags": sorted({*record.tags.values_list("name", flat=True), *[t.name for t in tags]})})
        count += 1
    return count


@transaction.atomic
def bulk_assign(*, actor: Any, records: Iterable[Contact | Company], owner: Any) -> int:
    require(can_edit(actor))
    count = 0
    for record in records:
        update, _delete = _record_writers(record)
        update(actor, {"owner": owner})
        count += 1
    return count


@transaction.atomic
def bulk_delete(*, actor: Any, records: Iterable[Contact | Company]) -> int:
    if not can_delete(actor):
        raise PermissionDenied(_("Your role cannot delete records."))
    count = 0
    for record in records:
        _update, delete = _record_writers(record)
        delete(actor)
        count += 1
    return count


def record_contacted(contact: Contact, when: dt.datetime) -> None:
    """Keep ``last_contacted_at`` current as interactions are logged (called by timeline services)."""
    if contact.last_contacted_at is None or when > contact.last_contacted_at:
        Contact.objects.filter(pk=contact.pk).update(last_contacted_at=when)
        contact.last_contacted_at = when


# --- companies -------------------------------------------------------------------------------------------------

def clean_company_input(data: dict[str, Any], company: Company | None = None, partial: bool = False) -> dict[str, Any]:
    errors = Errors()
    out: dict[str, Any] = {}
    for field in COMPANY_TEXT_FIELDS:
        if field in data:
            out[field] = clean_text(data[field])[: _max_length(Company, field)]
    if (not partial or "name" in data) and not out.get("name"):
        errors.add("name", _("A company needs a name."))
    if "domain" in data:
        try:
            out["domain"] = normalize_domain(data["domain"] or "")
        except ValidationError as exc:
            errors.add("domain", exc)
    if "size" in data:
        out["size"] = _clean_choice(errors, "size", data["size"], CompanySize.values)
    if "phone" in data:
        try:
            out["phone"] = normalize_phone(data["phone"] or "")
        except ValidationError as exc:
            errors.add("phone", exc)
    if "country" in data:
        out["country"] = _clean_country(errors, data["country"])
    if "owner" in data:
        out["owner"] = data["owner"]
    if "tags" in data:
        out["tags"] = _clean_tags(data["tags"])
    if "custom" in data or not partial:
        try:
            out["custom"] = clean_custom("company", data.get("custom") or {}, company.custom if company else None,
                                         partial=partial)
        except ValidationError as exc:
            errors.merge(exc)
    errors.raise_if_any()
    return out


def _company_state(company: Company) -> dict[str, Any]:
    state = audit.snapshot(company, COMPANY_AUDITED)
    if company.pk:
        state["tags"] = sorted(company.tags.values_list("name", flat=True))
    return state


def _apply_company(company: Company, data: dict[str, Any]) -> None:
    for field, value in data.items():
        if field != "tags":
            setattr(company, field, value)
    # An update writes only the columns a person edits, never counters maintained elsewhere.
    company.save(update_fields=[*(f for f in data if f != "tags"), "updated_at"] if company.pk else None)
    if "tags" in data:
        company.tags.set(tags_by_name(data["tags"]))


@transaction.atomic
def create_company(*, actor: Any, data: dict[str, Any]) -> Company:
    require(actor is None or can_edit(actor))
    cleaned = clean_company_input(data)
    if "owner" not in cleaned and getattr(actor, "is_authenticated", False):
        cleaned["owner"] = actor
    company = Company()
    _apply_company(company, cleaned)
    audit.record(AuditAction.CREATE, actor=actor, obj=company, changes=_company_state(company))
    emit("company.created", subject=company, actor=actor, company_id=company.pk, payload={"name": company.name})
    search.index_company(company)
    return company


@transaction.atomic
def update_company(*, actor: Any, company: Company, data: dict[str, Any], partial: bool = True) -> Company:
    require(actor is None or can_edit(actor, company))
    cleaned = clean_company_input(data, company=company, partial=partial)
    before = _company_state(company)
    _apply_company(company, cleaned)
    changes = audit.diff(before, _company_state(company))
    if changes:
        audit.record(AuditAction.UPDATE, actor=actor, obj=company, changes=changes)
        emit("company.updated", subject=company, actor=actor, company_id=company.pk, payload={"changes": changes})
        search.index_company(company)
    return company


@transaction.atomic
def delete_company(*, actor: Any, company: Company) -> None:
    require(actor is None or can_delete(actor), _("Your role cannot delete records."))
    audit.record(AuditAction.DELETE, actor=actor, obj=company, changes=_company_state(company))
    emit("company.deleted", subject=company, actor=actor, payload={"name": company.name})
    search.remove("company", company.pk)
    company.delete()


# --- saved views -----------------------------------------------------------------------------------------------

SAVED_VIEW_TYPES = {"contact", "company"}


def _clean_view_query(query: str) -> str:
    """Keep the list's filters and sort; drop the page position, which goes stale."""
    from urllib.parse import parse_qsl, urlencode

    pairs = [(k, v) for k, v in parse_qsl(query or "", keep_blank_values=False) if k not in {"cursor", "csrfmiddlewaretoken"}]
    return urlencode(pairs)[:2000]


@transaction.atomic
def create_saved_view(*, actor: Any, object_type: str, name: str, query: str, shared: bool = False) -> SavedView:
    name = clean_text(name)[:100]
    errors = Errors()
    if object_type not in SAVED_VIEW_TYPES:
        errors.add("object_type", _("“%(value)s” is not a list that can be saved.") % {"value": object_type})
    if not name:
        errors.add("name", _("Give the view a name."))
    errors.raise_if_any()
    view = SavedView.objects.create(user=actor, object_type=object_type, name=name,
                                    query=_clean_view_query(query), shared=bool(shared))
    audit.record(AuditAction.CREATE, actor=actor, obj=view,
                 changes={"name": view.name, "query": view.query, "shared": view.shared})
    return view


@transaction.atomic
def delete_saved_view(*, actor: Any, view: SavedView) -> None:
    """Only its owner (or an admin) removes a view; others may use a shared one but not delete it."""
    require(view.user_id == actor.pk or actor.is_admin, _("Only the person who saved this view can delete it."))
    audit.record(AuditAction.DELETE, actor=actor, obj=view, changes={"name": view.name, "query": view.query})
    view.delete()
