"""Export pages: the XLSX twins of the list CSV exports, and the admin's full workspace export.

Views are thin: :mod:`amity.integrations.exports` knows the records, columns and audit of each list export;
:mod:`amity.integrations.workspace` writes the workspace archive.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import exports

LIST_URLS = {"contact": "contacts:list", "company": "contacts:company_list", "deal": "sales:list"}


def export_list(request: HttpRequest, kind: str, file_format: str) -> HttpResponseBase:
    """A list export for the web pages: a bad filter goes back to the list with the reason, nothing exported."""
    try:
        export = exports.prepare(kind, user=request.user, query=request.GET, file_format=file_format)
    except ValidationError as exc:
        reasons = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
        messages.error(request, _("Nothing was exported: %(reason)s") % {"reason": reasons})
        query = urlencode([(k, str(v)) for k, v in request.GET.items() if k != "cursor"])
        return redirect(f"{reverse(LIST_URLS[kind])}{'?' + query if query else ''}")
    return exports.response(export, file_format)


@login_required
@require_GET
def contacts_xlsx(request: HttpRequest) -> HttpResponseBase:
    return export_list(request, "contact", "xlsx")


@login_required
@require_GET
def companies_xlsx(request: HttpRequest) -> HttpResponseBase:
    return export_list(request, "company", "xlsx")


@login_required
@require_GET
def deals_xlsx(request: HttpRequest) -> HttpResponseBase:
    return export_list(request, "deal", "xlsx")
