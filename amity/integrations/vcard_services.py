"""vCard import and export: the use cases behind the pages, the API and the tests.

Import: ``preview_vcards`` (how many cards, the first names, how many match existing contacts) and
``import_vcards`` (create or update each card through ``contacts.services``; each card is all-or-nothing, the
good ones land, a report line for every card that was skipped, failed or imported with a remark).

Export: ``export_contacts`` streams the cards of a permission-scoped contact list (the list's filters), audited
as an export; ``contact_vcard`` is one contact.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _

from amity.contacts import selectors as contact_selectors
from amity.contacts import services as contact_services
from amity.contacts.models import Contact, ContactEmail, ContactPhone, SpecialDateKind
from amity.core import audit
from amity.core.events import emit
from amity.core.models import AuditAction
from amity.core.permissions import can_edit, can_export, require, visible_to

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
