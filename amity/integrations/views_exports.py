"""Export pages: the XLSX twins of the list CSV exports, and the admin's full workspace export.

Views are thin: :mod:`amity.integrations.exports` knows the records, columns and audit of each list export;
:mod:`amity.integrations.workspace` writes the workspace archive.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from amity.core.permissions import is_admin

from . import exports, workspace

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


# --- the full workspace export (admins) ---------------------------------------------------------------------------

def _require_admin(request: HttpRequest) -> None:
    if not is_admin(request.user):
        raise PermissionDenied(_("Only admins can export the whole workspace."))


@login_required
@require_http_methods(["GET", "POST"])
def workspace_page(request: HttpRequest) -> HttpResponseBase:
    """GET: what the export holds and how to import it. POST: build the archive and download it."""
    _require_admin(request)
    if request.method == "POST":
        return workspace.archive_response(actor=request.user)
    return render(request, "integrations/workspace.html", {
        "tab": "workspace",
        "models": [m._meta.label_lower for m in workspace.covered_models()],
        "format_version": workspace.FORMAT_VERSION,
    })
