"""List exports: one place that knows, per list kind, which records a list query selects, the columns and rows.

The contact, company and deal lists export as CSV and XLSX (pages and API) through :func:`prepare`, so every
format gets the same records (the list's filters, search and sort, scoped to what the user may see), the same
columns and the same audit entry.

Rows are read with ``values_list`` in chunks of ``BATCH`` (no model instances), and the many-to-many columns
(tags, a deal's contacts) are fetched per chunk in one query each, so a million-row export costs the same
number of queries per chunk and little memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _

from amity.core import audit
from amity.core.csvexport import counted_into_audit, csv_response
from amity.core.customfields import definitions
from amity.core.models import AuditAction
from amity.core.permissions import can_export

BATCH = 2000
# Parameters that shape a page, not which records a list holds.
PAGE_PARAMS = ("cursor", "limit", "per_page", "format")


@dataclass(frozen=True)
class Column:
    """One export column: its header and the ``values_list`` lookup it reads (``None``: filled per batch)."""

    name: str
    lookup: str | None


@dataclass(frozen=True)
class Kind:
    name: str  # the audit object type and the custom-field object type
    filename: str  # without extension
    columns: tuple[Column, ...]
    queryset: Callable[[Any, Mapping[str, Any]], QuerySet[Any]]  # (user, params) → filtered, ordered
    # Per batch: {column name: {pk: text}} for the columns whose lookup is None.
    related: Callable[[list[int]], dict[str, dict[int, str]]]


def _plain(*names: str) -> tuple[Column, ...]:
    return tuple(Column(n, n) for n in names)


def _joined(model: Any, field: str, ids: list[int], value: str, *, sort: bool = True) -> dict[int, str]:
    """``{pk: "a, b"}`` for one many-to-many field of a batch, in one query."""
    through = model._meta.get_field(field).remote_field.through
    own = f"{model._meta.model_name}_id"
    found: dict[int, list[str]] = {}
    for pk, text in through.objects.filter(**{f"{own}__in": ids}).values_list(own, value).order_by(own, "id"):
        found.setdefault(pk, []).append(text or "")
    return {pk: ", ".join(sorted(v, key=str.lower) if sort else v) for pk, v in found.items()}


# --- contacts and companies -------------------------------------------------------------------------------------

def _contacts(user: Any, params: Mapping[str, Any]) -> QuerySet[Any]:
    from amity.contacts import selectors

    return selectors.contact_queryset(user=user, params=params)


def _companies(user: Any, params: Mapping[str, Any]) -> QuerySet[Any]:
    from amity.contacts import selectors

    return selectors.company_queryset(user=user, params=params)


def _contact_related(ids: list[int]) -> dict[str, dict[int, str]]:
    from amity.contacts.models import Contact

    return {"tags": _joined(Contact, "tags", ids, "tag__name")}


def _company_related(ids: list[int]) -> dict[str, dict[int, str]]:
    from amity.contacts.models import Company

    return {"tags": _joined(Company, "tags", ids, "tag__name")}


CONTACT = Kind(
    name="contact", filename="contacts",
    columns=(*_plain("uuid", "first_name", "last_name", "display_name", "email", "phone"),
             Column("company", "company__name"), *_plain("job_title", "lifecycle_stage"),
             Column("owner", "owner__email"), Column("source", "source"), Column("tags", None),
             *_plain("city", "country", "time_zone", "language", "do_not_contact", "last_contacted_at",
                     "created_at", "updated_at")),
    queryset=_contacts, related=_contact_related,
)
COMPANY = Kind(
    name="company", filename="companies",
    columns=(*_plain("uuid", "name", "domain", "industry", "size", "phone"), Column("owner", "owner__email"),
             Column("tags", None), *_plain("city", "country", "created_at", "updated_at")),
    queryset=_companies, related=_company_related,
)


# --- deals ------------------------------------------------------------------------------------------------------

def _deals(user: Any, params: Mapping[str, Any]) -> QuerySet[Any]:
    from amity.sales import selectors
    from amity.sales.filters import DEAL_SORTS

    sort = params.get("sort") or "-updated"
    if sort not in DEAL_SORTS:
        raise ValidationError({"sort": [_("“%(value)s” is not a sort; use one of: %(choices)s.")
                                        % {"value": sort, "choices": ", ".join(DEAL_SORTS)}]})
    return selectors.filtered_deals(user=user, params=params).order_by(*DEAL_SORTS[sort][1].order_by())


def _deal_related(ids: list[int]) -> dict[str, dict[int, str]]:
    from amity.sales.models import Deal

    through = Deal.contacts.through
    contacts: dict[int, list[str]] = {}
    rows = (through.objects.filter(deal_id__in=ids)
            .values_list("deal_id", "contact__email", "contact__display_name", "contact__uuid").order_by("deal_id", "id"))
    for deal_id, email, name, uuid in rows:
        contacts.setdefault(deal_id, []).append(email or name or str(uuid))
    return {"tags": _joined(Deal, "tags", ids, "tag__name"),
            "contacts": {pk: ", ".join(v) for pk, v in contacts.items()}}


DEAL = Kind(
    name="deal", filename="deals",
    columns=(Column("uuid", "uuid"), Column("name", "name"), Column("pipeline", "pipeline__name"),
             Column("stage", "stage__name"), Column("status", "stage__kind"),
             *_plain("amount", "currency", "amount_base", "probability", "expected_close_date"),
             Column("owner", "owner__email"), Column("company", "company__name"), Column("contacts", None),
             Column("tags", None), Column("lost_reason", "lost_reason__name"),
             *_plain("lost_note", "created_at", "updated_at", "closed_at")),
    queryset=_deals, related=_deal_related,
)

KINDS: dict[str, Kind] = {"contact": CONTACT, "company": COMPANY, "deal": DEAL}


# --- the export ---------------------------------------------------------------------------------------------------

def list_params(user: Any, query: QueryDict | Mapping[str, Any]) -> QueryDict:
    """A list's query string as the selectors take it: "owner=me" made concrete, paging parameters dropped."""
    params = QueryDict(mutable=True)
    for key in query:
        if key in PAGE_PARAMS:
            continue
        values: list[Any] = query.getlist(key) if isinstance(query, QueryDict) else [query[key]]
        params.setlist(key, [str(user.uuid) if key == "owner" and v == "me" else str(v) for v in values])
    return params


@dataclass
class Export:
    """A prepared export: the header, and the rows (typed values: dates stay dates, numbers numbers)."""

    kind: Kind
    header: list[str]
    rows: Iterator[list[Any]]
    audit_entry: Any

    @property
    def filename(self) -> str:
        return self.kind.filename


def iter_rows(kind: Kind, queryset: QuerySet[Any], custom_keys: list[str], batch: int = BATCH) -> Iterator[list[Any]]:
    """The export rows of ``queryset``: ``values_list`` in chunks, the many-to-many columns one query per chunk."""
    lookups = [c.lookup for c in kind.columns if c.lookup]
    fields = ["id", *lookups, *(["custom"] if custom_keys else [])]
    end = 1 + len(lookups)
    # Where the per-batch columns go, left to right, so each insert lands at its final position.
    inserts = [(i, c.name) for i, c in enumerate(kind.columns) if c.lookup is None]
    values = queryset.values_list(*fields).iterator(chunk_size=batch)
    while True:
        chunk = list(islice(values, batch))
        if not chunk:
            return
        related = kind.related([r[0] for r in chunk])
        columns = [(position, related[name]) for position, name in inserts]
        for record in chunk:
            pk = record[0]
            row = list(record[1:end])
            for position, found in columns:
                row.insert(position, found.get(pk, ""))
            if custom_keys:
                custom = record[end] or {}
                row.extend([custom.get(key) for key in custom_keys])
            yield row


def prepare(kind_name: str, *, user: Any, query: QueryDict | Mapping[str, Any], file_format: str) -> Export:
    """Check the role, build the list's queryset (raising ``ValidationError`` for a bad filter before anything is
    sent), record the export in the audit log; rows stream afterwards and add their count to that entry."""
    if not can_export(user):
        raise PermissionDenied(_("Your role cannot export records."))
    kind = KINDS[kind_name]
    params = list_params(user, query)
    queryset = kind.queryset(user, params)
    if file_format == "xlsx":
        from amity.core.xlsxexport import MAX_ROWS

        if queryset.count() > MAX_ROWS:
            raise ValidationError({"format": [_(
                "Excel holds at most %(max)s rows per sheet and this list has more: export it as CSV, or narrow "
                "the list with filters.") % {"max": f"{MAX_ROWS:,}"}]})
    custom_keys = [d.key for d in definitions(kind.name)]
    header = [c.name for c in kind.columns] + [f"custom.{key}" for key in custom_keys]
    changes: dict[str, Any] = {"filters": {k: v for k, v in query.items() if k not in PAGE_PARAMS}, "rows": None}
    if file_format != "csv":  # CSV entries keep their original shape
        changes["format"] = file_format
    entry = audit.record(AuditAction.EXPORT, actor=user, object_type=kind.name, changes=changes)
    return Export(kind=kind, header=header, rows=counted_into_audit(entry, iter_rows(kind, queryset, custom_keys)),
                  audit_entry=entry)


def response(export: Export, file_format: str) -> Any:
    """The HTTP response of a prepared export: streamed CSV, or an XLSX built in a temporary file."""
    if file_format == "xlsx":
        from amity.core.xlsxexport import xlsx_response

        return xlsx_response(f"{export.filename}.xlsx", export.header, export.rows, title=export.filename)
    return csv_response(f"{export.filename}.csv", export.header, export.rows)
