"""List exports over the API: ``GET /api/{contacts,companies,deals}/export.{csv,xlsx}``.

The same query parameters as the list endpoints (the query schemas are the list endpoints' own), the same records,
columns and audit entry as the web exports (:mod:`amity.integrations.exports`). A role without the export right
answers 403, a bad filter 422 naming the parameter, before anything is sent.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from amity.api.schemas import READ_ERRORS
from amity.contacts.api import CompanyListQuery, ContactListQuery
from amity.sales.api import DealListQuery

from . import exports

router = Router(tags=["Exports"])

ERRORS = {**READ_ERRORS, 403: READ_ERRORS[404]}
CONTENT = {
    "csv": {"text/csv": {"schema": {"type": "string"}}},
    "xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
             {"schema": {"type": "string", "format": "binary"}}},
}
DESCRIPTION = (
    "Every record of the list the same query selects on `GET /api/{path}` (filters, search, sort; paging "
    "parameters are ignored), as {label}. Cells a spreadsheet would evaluate as formulas are neutralised. "
    "The export is recorded in the audit log with its filters and row count. Needs a role that may export (403)."
)


def _openapi(path: str, file_format: str) -> dict[str, Any]:
    return {"responses": {200: {"description": f"The {file_format.upper()} file", "content": CONTENT[file_format]}}}


def _run(request: HttpRequest, kind: str, file_format: str) -> Any:
    export = exports.prepare(kind, user=request.user, query=request.GET, file_format=file_format)
    return exports.response(export, file_format)


LABELS = {"csv": "CSV (UTF-8 with a byte-order mark)",
          "xlsx": "an Excel workbook (at most 1,048,575 rows: larger lists answer 422, use CSV)"}


def _doc(path: str, file_format: str) -> dict[str, Any]:
    return {"summary": f"Export {path} as {file_format.upper()}",
            "description": DESCRIPTION.format(path=path, label=LABELS[file_format]),
            "response": ERRORS, "openapi_extra": _openapi(path, file_format)}


@router.get("/contacts/export.csv", **_doc("contacts", "csv"))
def export_contacts_csv(request: HttpRequest, filters: Query[ContactListQuery]):  # type: ignore[valid-type]
    return _run(request, "contact", "csv")


@router.get("/contacts/export.xlsx", **_doc("contacts", "xlsx"))
def export_contacts_xlsx(request: HttpRequest, filters: Query[ContactListQuery]):  # type: ignore[valid-type]
    return _run(request, "contact", "xlsx")


@router.get("/companies/export.csv", **_doc("companies", "csv"))
def export_companies_csv(request: HttpRequest, filters: Query[CompanyListQuery]):  # type: ignore[valid-type]
    return _run(request, "company", "csv")


@router.get("/companies/export.xlsx", **_doc("companies", "xlsx"))
def export_companies_xlsx(request: HttpRequest, filters: Query[CompanyListQuery]):  # type: ignore[valid-type]
    return _run(request, "company", "xlsx")


@router.get("/deals/export.csv", **_doc("deals", "csv"))
def export_deals_csv(request: HttpRequest, filters: Query[DealListQuery]):  # type: ignore[valid-type]
    return _run(request, "deal", "csv")


@router.get("/deals/export.xlsx", **_doc("deals", "xlsx"))
def export_deals_xlsx(request: HttpRequest, filters: Query[DealListQuery]):  # type: ignore[valid-type]
    return _run(request, "deal", "xlsx")
