"""vCard import and export: the use cases behind the pages, the API and the tests.

Import: ``preview_vcards`` (how many cards, the first names, how many match existing contacts) and
``import_vcards`` (create or update each card through ``contacts.services``; each card is all-or-nothing, the
good ones land, a report line for every card that was skipped, failed or imported with a remark).

Export: ``export_contacts`` streams the cards of a permission-scoped contact list (the list's filters), audited
as an export; ``contact_vcard`` is one contact.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _
from django_tasks import task

from amity.contacts import selectors as contact_selectors
from amity.contacts import services as contact_services
from amity.contacts.models import Company, Contact, ContactEmail, ContactPhone, SpecialDateKind
from amity.core import audit
from amity.core.events import emit
from amity.core.models import AuditAction
from amity.core.permissions import can_edit, can_export, require, visible_to
from amity.timeline.models import Interaction, InteractionKind

from . import vcard
from .vcard import MAX_FILE_BYTES, NotAVCard, ParsedCard

EXPORT_CHUNK = 500
PAGE_PARAMS = ("cursor", "limit", "format", "version")
VERSIONS = ("3.0", "4.0")
ON_MATCH = ("update", "skip")
PREVIEW_NAMES = 10


# --- export -------------------------------------------------------------------------------------------------------

def _clean_version(version: str | None) -> str:
    version = version or "3.0"
    if version not in VERSIONS:
        raise ValidationError({"version": [_("Choose vCard version 3.0 or 4.0.")]})
    return version


def _list_params(user: Any, query: Mapping[str, Any]) -> QueryDict:
    """The contact list's query as its selector takes it: "owner=me" made concrete, paging dropped."""
    params = QueryDict(mutable=True)
    items = query.lists() if hasattr(query, "lists") else ((k, [v]) for k, v in query.items())
    for key, values in items:
        if key in PAGE_PARAMS:
            continue
        params.setlist(key, [str(user.uuid) if key == "owner" and v == "me" else v for v in values])
    return params


def export_queryset(*, user: Any, query: Mapping[str, Any]) -> QuerySet[Contact]:
    """The contacts of a list view (same filters, search and sort as the contact list), with what a card needs."""
    params = _list_params(user, query)
    return contact_selectors.contact_queryset(user=user, params=params).prefetch_related(
        "emails", "phones", "special_dates", "tags")


@dataclass
class VCardExport:
    filename: str
    chunks: Iterator[str]


def export_contacts(*, user: Any, query: Mapping[str, Any], version: str | None = None) -> VCardExport:
    """Validate the filters (a ValidationError before anything is sent), audit, then stream the cards."""
    require(can_export(user), _("Your role cannot export records."))
    version = _clean_version(version)
    queryset = export_queryset(user=user, query=query)  # a bad filter raises here, before anything is sent
    entry = audit.record(AuditAction.EXPORT, actor=user, object_type="contact",
                         changes={"format": f"vcard-{version}", "rows": None,
                                  "filters": {k: v for k, v in query.items() if k not in PAGE_PARAMS}})

    def chunks() -> Iterator[str]:
        from amity.core.csvexport import counted_into_audit

        for contact in counted_into_audit(entry, queryset.iterator(chunk_size=EXPORT_CHUNK)):
            yield vcard.build_vcard(contact, version)

    return VCardExport("contacts.vcf", chunks())


def contact_vcard(*, user: Any, uuid: Any, version: str | None = None) -> tuple[Contact, str]:
    """One contact the user may see (else Http404) as a vCard; audited as an export of one record."""
    version = _clean_version(version)
    contact = contact_selectors.get_contact(user=user, uuid=uuid)
    require(can_export(user), _("Your role cannot export records."))
    audit.record(AuditAction.EXPORT, actor=user, obj=contact, changes={"format": f"vcard-{version}", "rows": 1})
    return contact, vcard.build_vcard(contact, version)


def vcard_filename(contact: Contact) -> str:
    import re

    base = re.sub(r"[^A-Za-z0-9._-]+", "-", contact.display_name or "").strip("-") or str(contact.uuid)
    return f"{base[:60]}.vcf"


# --- import -------------------------------------------------------------------------------------------------------

UPLOAD_MAX_AGE = 24 * 3600
BATCH = 100  # cards per transaction; each card is its own savepoint inside it


def _upload_dir() -> Path:
    path = Path(settings.VAR_DIR) / "uploads" / "vcard"
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_size(size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise ValidationError({"file": [_("The file is %(size).1f MB; the limit is %(limit)s MB. Split it into "
                                          "smaller files.") % {"size": size / 1024 / 1024,
                                                                "limit": MAX_FILE_BYTES // 1024 // 1024}]})


def read_uploaded(upload: Any) -> bytes:
    """The bytes of an uploaded file, refused above the size limit before it is read into memory."""
    if upload is None:
        raise ValidationError({"file": [_("Choose a .vcf file to import.")]})
    check_size(upload.size)
    raw = upload.read(MAX_FILE_BYTES + 1)
    check_size(len(raw))
    if not raw.strip():
        raise ValidationError({"file": [_("The file is empty.")]})
    return raw


def store_upload(*, user: Any, raw: bytes) -> str:
    """Keep an uploaded file between the preview and the import; returns the key the import page sends back."""
    require(can_edit(user), _("Your role cannot import contacts."))
    folder = _upload_dir()
    cutoff = time.time() - UPLOAD_MAX_AGE
    for old in folder.glob("*.vcf"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    key = secrets.token_urlsafe(16)
    (folder / f"{user.pk}-{key}.vcf").write_bytes(raw)
    return key


def _upload_path(user: Any, key: str) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9_-]{10,64}", key or ""):
        raise ValidationError({"file": [_("The uploaded file has expired; upload it again.")]})
    return _upload_dir() / f"{user.pk}-{key}.vcf"


def load_upload(*, user: Any, key: str) -> bytes:
    path = _upload_path(user, key)
    if not path.exists():
        raise ValidationError({"file": [_("The uploaded file has expired; upload it again.")]})
    return path.read_bytes()


def discard_upload(*, user: Any, key: str) -> None:
    _upload_path(user, key).unlink(missing_ok=True)


def _parse_all(raw: bytes) -> list[ParsedCard]:
    try:
        return list(vcard.parse_vcards(raw))
    except NotAVCard as exc:
        raise ValidationError({"file": [str(exc)]}) from None


def _match(user: Any, card: ParsedCard) -> Contact | None:
    """An existing contact the user may see with the card's UID, one of its emails or one of its phones."""
    contacts = visible_to(user, Contact.objects.filter(merged_into__isnull=True))
    if card.uid:
        found = contacts.filter(external_id=card.uid).first()
        if found:
            return found
    if card.emails:
        found = contacts.filter(pk__in=ContactEmail.objects.filter(email__in=card.emails).values("contact_id")).first()
        if found:
            return found
    if card.phones:
        return contacts.filter(pk__in=ContactPhone.objects.filter(number__in=card.phones).values("contact_id")).first()
    return None


@dataclass
class Preview:
    cards: int
    broken: int
    matches: int
    names: list[str]
    problems: list[dict[str, Any]]
    checked: int  # how many cards broken/matches were counted on (all, or the first PREVIEW_PARSE)

    @property
    def partial(self) -> bool:
        return self.checked < self.cards


PREVIEW_PARSE = 5000


def count_cards(raw: bytes) -> int:
    return len(re.findall(rb"(?im)^BEGIN:VCARD\s*$", raw))


def _matched(user: Any, cards: list[ParsedCard]) -> int:
    """How many cards match a contact the user can see: three queries for the whole preview, not three per card."""
    contacts = visible_to(user, Contact.objects.filter(merged_into__isnull=True))
    uids = {c.uid for c in cards if c.uid}
    emails = {e for c in cards for e in c.emails}
    phones = {p for c in cards for p in c.phones}
    found_uids: set[str] = set()
    found_emails: set[str] = set()
    found_phones: set[str] = set()
    for chunk in _chunks(sorted(uids)):
        found_uids.update(contacts.filter(external_id__in=chunk).values_list("external_id", flat=True))
    for chunk in _chunks(sorted(emails)):
        found_emails.update(ContactEmail.objects.filter(email__in=chunk, contact__in=contacts)
                            .values_list("email", flat=True))
    for chunk in _chunks(sorted(phones)):
        found_phones.update(ContactPhone.objects.filter(number__in=chunk, contact__in=contacts)
                            .values_list("number", flat=True))
    return sum(1 for c in cards if c.uid in found_uids or found_emails.intersection(c.emails)
               or found_phones.intersection(c.phones))


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def preview_vcards(*, user: Any, raw: bytes) -> Preview:
    """What an import of ``raw`` would do, without writing anything. A very large file is counted whole and
    checked on its first ``PREVIEW_PARSE`` cards."""
    require(can_edit(user), _("Your role cannot import contacts."))
    try:
        cards = list(islice(vcard.parse_vcards(raw), PREVIEW_PARSE))
    except NotAVCard as exc:
        raise ValidationError({"file": [str(exc)]}) from None
    total = max(count_cards(raw), len(cards))
    good = [c for c in cards if not c.error]
    return Preview(
        cards=total, broken=len(cards) - len(good), matches=_matched(user, good),
        names=[c.name or _("(no name)") for c in good[:PREVIEW_NAMES]],
        problems=[{"number": c.number, "name": c.name, "reason": c.error} for c in cards if c.error][:50],
        checked=len(cards),
    )


@dataclass
class ReportLine:
    number: int
    name: str
    status: str  # created · updated · skipped · failed
    reasons: list[str] = field(default_factory=list)
    contact_uuid: str = ""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    lines: list[ReportLine] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.skipped + self.failed

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportReport:
        return cls(created=data["created"], updated=data["updated"], skipped=data["skipped"], failed=data["failed"],
                   lines=[ReportLine(number=ln["card"], name=ln["name"], status=ln["status"], reasons=ln["reasons"],
                                     contact_uuid=ln["contact"] or "") for ln in data["lines"]])

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "skipped": self.skipped, "failed": self.failed,
                "lines": [{"card": ln.number, "name": ln.name, "status": ln.status, "reasons": ln.reasons,
                           "contact": ln.contact_uuid or None} for ln in self.lines]}


def _field_label(name: str) -> str:
    from django.core.exceptions import FieldDoesNotExist
    from django.utils.text import capfirst

    labels = {"emails": _("Email"), "phones": _("Phone"), "birthday": _("Birthday"),
              "special_dates": _("Special dates"), "tags": _("Tags"), "file": _("File")}
    if name in labels:
        return str(labels[name])
    try:
        return str(capfirst(Contact._meta.get_field(name).verbose_name))  # type: ignore[union-attr]
    except FieldDoesNotExist:
        return name


def _reasons(exc: ValidationError) -> list[str]:
    """Errors as people read them: "Email: ada@example.com is already in use by another contact."."""
    if hasattr(exc, "error_dict"):
        return [f"{_field_label(name)}: {message}" for name, messages in exc.message_dict.items()
                for message in messages]
    return list(exc.messages)


def _company(user: Any, name: str) -> Company:
    found = visible_to(user, Company.objects.all()).filter(name__iexact=name).order_by("id").first()
    return found or contact_services.create_company(actor=user, data={"name": name})


def _merged(contact: Contact, data: dict[str, Any]) -> dict[str, Any]:
    """Update input that adds to what the contact has: new emails, phones, tags and dates are appended, an empty
    value on the card never blanks a field."""
    merged = {k: v for k, v in data.items() if v not in ("", None, [])}
    if "emails" in merged:
        have = [{"email": e.email, "kind": e.kind} for e in contact.emails.all()]
        merged["emails"] = have + [e for e in merged["emails"] if e["email"] not in {h["email"] for h in have}]
    if "phones" in merged:
        have = [{"number": p.number, "kind": p.kind} for p in contact.phones.all()]
        merged["phones"] = have + [p for p in merged["phones"] if p["number"] not in {h["number"] for h in have}]
    if "tags" in merged:
        merged["tags"] = [*contact.tags.values_list("name", flat=True), *merged["tags"]]
    if "special_dates" in merged:
        have = [{"kind": d.kind, "label": d.label,
                 "date": f"{d.year:04d}-{d.month:02d}-{d.day:02d}" if d.year else f"--{d.month:02d}-{d.day:02d}"}
                for d in contact.special_dates.exclude(kind=SpecialDateKind.BIRTHDAY)]
        keys = {(h["kind"], h["date"][-5:]) for h in have}
        merged["special_dates"] = have + [d for d in merged["special_dates"] if (d["kind"], d["date"][-5:]) not in keys]
    return merged


def _import_card(user: Any, card: ParsedCard, on_match: str) -> ReportLine:
    line = ReportLine(number=card.number, name=card.name, status="failed", reasons=list(card.warnings))
    if card.error:
        line.reasons.insert(0, card.error)
        return line
    match = _match(user, card)
    if match is not None and on_match == "skip":
        line.status, line.contact_uuid = "skipped", str(match.uuid)
        line.reasons = [_("A contact with the same UID, email or phone exists: %(name)s.") % {"name": str(match)}]
        return line
    try:
        with transaction.atomic():  # the card is written whole or not at all
            data = dict(card.data)
            if card.company:
                data["company"] = _company(user, card.company)
            if match is not None:
                contact = contact_services.update_contact(actor=user, contact=match, data=_merged(match, data))
                line.status = "updated"
            else:
                contact = contact_services.create_contact(actor=user, data={**data, "source": "vcard"})
                line.status = "created"
            _set_photo_and_uid(user, contact, card)
            if card.note and not Interaction.objects.filter(contact=contact, kind=InteractionKind.NOTE,
                                                            body=card.note.strip()).exists():
                from amity.timeline import services as timeline_services

                timeline_services.add_note(actor=user, body=card.note, contact=contact)
    except ValidationError as exc:
        line.status = "failed"
        line.reasons = [*_reasons(exc), *card.warnings]
        return line
    line.contact_uuid = str(contact.uuid)
    return line


def _set_photo_and_uid(user: Any, contact: Contact, card: ParsedCard) -> None:
    """``photo`` and ``external_id`` are not written by the contact services: set here, audited."""
    changes: dict[str, list[Any]] = {}
    values: dict[str, str] = {}
    if card.uid and contact.external_id != card.uid:
        changes["external_id"] = [contact.external_id, card.uid]
        values["external_id"] = card.uid
    if card.photo and contact.photo != card.photo:
        changes["photo"] = [_("(photo)") if contact.photo else "", _("(photo, %(kb)s KB)") % {
            "kb": max(1, len(card.photo) // 1024)}]
        values["photo"] = card.photo
    if not values:
        return
    Contact.objects.filter(pk=contact.pk).update(external_id=values.get("external_id", contact.external_id),
                                                 photo=values.get("photo", contact.photo))
    contact.external_id = values.get("external_id", contact.external_id)
    contact.photo = values.get("photo", contact.photo)
    audit.record(AuditAction.UPDATE, actor=user, obj=contact, changes=changes)


def import_vcards(*, user: Any, raw: bytes, on_match: str = "update") -> ImportReport:
    """Import every card: create, or update/skip a matching contact. Each card lands whole or not at all; a
    report line for every card that was not imported cleanly."""
    require(can_edit(user), _("Your role cannot import contacts."))
    if on_match not in ON_MATCH:
        raise ValidationError({"on_match": [_("Choose “update” or “skip” for cards that match a contact.")]})
    cards = _parse_all(raw)
    report = ImportReport()
    for start in range(0, len(cards), BATCH):
        with transaction.atomic():
            for card in cards[start:start + BATCH]:
                line = _import_card(user, card, on_match)
                setattr(report, line.status, getattr(report, line.status) + 1)
                if line.status in ("failed", "skipped") or line.reasons:
                    report.lines.append(line)
    with transaction.atomic():
        audit.record(AuditAction.CREATE, actor=user, object_type="vcard_import",
                     changes={"created": report.created, "updated": report.updated, "skipped": report.skipped,
                              "failed": report.failed})
        emit("contacts.imported", subject=user, actor=user,
             payload={"format": "vcard", "created": report.created, "updated": report.updated,
                      "skipped": report.skipped, "failed": report.failed})
    return report


# --- big files on the worker --------------------------------------------------------------------------------------

SYNC_LIMIT = 500  # cards imported while the page waits; a bigger file is imported by the worker


def _status_path(user_id: int, key: str) -> Path:
    return _upload_dir() / f"{user_id}-{key}.json"


def _write_status(user_id: int, key: str, status: dict[str, Any]) -> None:
    path = _status_path(user_id, key)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(status), encoding="utf-8")
    tmp.replace(path)


def start_import(*, user: Any, key: str, on_match: str) -> ImportReport | None:
    """Import a stored upload: a file of up to ``SYNC_LIMIT`` cards now (the report is returned), a bigger one
    on the worker (None: follow it with ``import_status``)."""
    require(can_edit(user), _("Your role cannot import contacts."))
    if on_match not in ON_MATCH:
        raise ValidationError({"on_match": [_("Choose “update” or “skip” for cards that match a contact.")]})
    raw = load_upload(user=user, key=key)
    cards = count_cards(raw)
    if cards <= SYNC_LIMIT:
        report = import_vcards(user=user, raw=raw, on_match=on_match)
        discard_upload(user=user, key=key)
        return report
    _write_status(user.pk, key, {"status": "queued", "cards": cards})
    run_vcard_import.enqueue(user.pk, key, on_match)
    return None


def import_status(*, user: Any, key: str) -> dict[str, Any] | None:
    """The state of a worker import the user started: queued · running · done (with ``report``) · failed."""
    path = _status_path(user.pk, key) if re.fullmatch(r"[A-Za-z0-9_-]{10,64}", key or "") else None
    if path is None or not path.exists():
        return None
    status: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if status.get("report"):
        status["report"] = ImportReport.from_dict(status["report"])
    return status


@task()
def run_vcard_import(user_id: int, key: str, on_match: str) -> str:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(pk=user_id)
    try:
        raw = load_upload(user=user, key=key)
        _write_status(user_id, key, {"status": "running", "cards": count_cards(raw)})
        report = import_vcards(user=user, raw=raw, on_match=on_match)
    except ValidationError as exc:
        _write_status(user_id, key, {"status": "failed", "reasons": _reasons(exc)})
        return "failed"
    _write_status(user_id, key, {"status": "done", "report": report.as_dict()})
    discard_upload(user=user, key=key)
    return "done"
