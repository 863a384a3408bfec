"""vCard and iCalendar pages: thin views over ``vcard_services`` and ``ical``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from amity.core.permissions import can_edit

from . import ical, vcard_services

VCARD_TYPE = "text/vcard; charset=utf-8"
ICS_TYPE = "text/calendar; charset=utf-8"


def _reasons(exc: ValidationError) -> str:
    return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())


def _attachment(response: Any, filename: str) -> Any:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# --- vCard export -------------------------------------------------------------------------------------------------

@login_required
@require_GET
def export_contacts(request: HttpRequest) -> HttpResponseBase:
    """The contact list (its filters, search and sort from the query string) as one .vcf file, streamed."""
    try:
        export = vcard_services.export_contacts(user=request.user, query=request.GET,
                                                version=request.GET.get("version"))
    except ValidationError as exc:
        messages.error(request, _("Nothing was exported: %(reason)s") % {"reason": _reasons(exc)})
        query = urlencode([(k, str(v)) for k, v in request.GET.items() if k not in ("cursor", "version")])
        return redirect(f"{reverse('contacts:list')}{'?' + query if query else ''}")
    return _attachment(StreamingHttpResponse(export.chunks, content_type=VCARD_TYPE), export.filename)


@login_required
@require_GET
def contact_vcard(request: HttpRequest, uuid: Any) -> HttpResponseBase:
    try:
        contact, text = vcard_services.contact_vcard(user=request.user, uuid=uuid, version=request.GET.get("version"))
    except ValidationError as exc:
        return HttpResponse(_reasons(exc), status=400, content_type="text/plain; charset=utf-8")
    return _attachment(HttpResponse(text, content_type=VCARD_TYPE), vcard_services.vcard_filename(contact))


# --- vCard import: upload → preview → import → report -------------------------------------------------------------

def _require_edit(request: HttpRequest) -> None:
    if not can_edit(request.user):
        raise PermissionDenied(_("Your role cannot import contacts."))


@login_required
@require_http_methods(["GET", "POST"])
def import_vcard(request: HttpRequest) -> HttpResponse:
    _require_edit(request)
    context: dict[str, Any] = {"max_mb": vcard_services.MAX_FILE_BYTES // 1024 // 1024, "errors": []}
    if request.method == "POST":
        try:
            raw = vcard_services.read_uploaded(request.FILES.get("file"))
            preview = vcard_services.preview_vcards(user=request.user, raw=raw)
            key = vcard_services.store_upload(user=request.user, raw=raw)
        except ValidationError as exc:
            context["errors"] = [m for msgs in exc.message_dict.values() for m in msgs]
            return render(request, "integrations/cards_import.html", context, status=400)
        context.update(preview=preview, key=key, filename=getattr(request.FILES.get("file"), "name", ""))
        return render(request, "integrations/cards_preview.html", context)
    return render(request, "integrations/cards_import.html", context)


@login_required
@require_POST
def import_vcard_run(request: HttpRequest) -> HttpResponse:
    _require_edit(request)
    key = request.POST.get("key", "")
    try:
        report = vcard_services.start_import(user=request.user, key=key,
                                             on_match=request.POST.get("on_match", "update"))
    except ValidationError as exc:
        context = {"max_mb": vcard_services.MAX_FILE_BYTES // 1024 // 1024,
                   "errors": [m for msgs in exc.message_dict.values() for m in msgs]}
        return render(request, "integrations/cards_import.html", context, status=400)
    if report is None:  # a big file: the worker imports it
        return redirect("cards:import_vcard_status", key=key)
    return render(request, "integrations/cards_report.html", {"report": report})


@login_required
@require_GET
def import_vcard_status(request: HttpRequest, key: str) -> HttpResponse:
    _require_edit(request)
    status = vcard_services.import_status(user=request.user, key=key)
    if status is None:
        raise Http404
    if status["status"] == "done":
        return render(request, "integrations/cards_report.html", {"report": status["report"]})
    return render(request, "integrations/cards_running.html", {"status": status})


# --- iCalendar ----------------------------------------------------------------------------------------------------

@login_required
@require_GET
def calendar_export(request: HttpRequest) -> HttpResponseBase:
    try:
        body = ical.export_calendar(user=request.user, date_from=request.GET.get("from") or None,
                                    date_to=request.GET.get("to") or None)
    except ValidationError as exc:
        messages.error(request, _("Nothing was exported: %(reason)s") % {"reason": _reasons(exc)})
        return redirect("cards:calendar_settings")
    return _attachment(HttpResponse(body, content_type=ICS_TYPE), "amity-calendar.ics")


@login_required
@require_http_methods(["GET", "POST"])
def calendar_settings(request: HttpRequest) -> HttpResponse:
    new_url = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create":
            new = ical.create_feed(user=request.user)
            new_url = request.build_absolute_uri(new.path)
        elif action == "revoke":
            if ical.revoke_feed(user=request.user):
                messages.success(request, _("The calendar feed URL was revoked: calendars subscribed to it stop "
                                            "updating."))
            return redirect("cards:calendar_settings")
        else:
            messages.error(request, _("Choose to create or revoke the feed URL."))
            return redirect("cards:calendar_settings")
    # The URL is rendered into this one response and never stored: a reload cannot show it again.
    response = render(request, "integrations/cards_calendar.html", {
        "feed": ical.active_feed(request.user), "new_url": new_url, "tab": "calendar",
        "zone": request.user.time_zone or "UTC",  # type: ignore[union-attr]
    })
    if new_url:
        response["Cache-Control"] = "no-store"
    return response


@require_GET
def calendar_feed(request: HttpRequest, secret: str) -> HttpResponse:
    """No login: the secret in the URL is the credential. Unknown or revoked → 404."""
    feed = ical.feed_by_secret(secret)
    if feed is None:
        raise Http404
    response = HttpResponse(ical.feed_calendar(feed), content_type=ICS_TYPE)
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Disposition"] = 'inline; filename="amity.ics"'
    return response
