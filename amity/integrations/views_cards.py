"""vCard and iCalendar pages: thin views over ``vcard_services`` and ``ical``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import vcard_services

VCARD_TYPE = "text/vcard; charset=utf-8"


def _reasons(exc: ValidationError) -> str:
    return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())


def _attachment(response: Any, filename: str) -> Any:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def export_contacts(request: HttpRequest) -> HttpResponseBase:
    """The contact list (its filters, search and sort from the query string) as one .vcf file, streamed."""
    try:
        export = vcard_services.export_contacts(user=request.user, query=request.GET,
                                                version=request.GET.get("version"))
    except ValidationError as exc:
        messages.error(request, _("Nothing was exported: %(reason)s") % {"reason": _reasons(exc)})
        query = urlencode([(k, v) for k, v in request.GET.items() if k not in ("cursor", "version")])
        return redirect(f"{reverse('contacts:list')}{'?' + query if query else ''}")
    return _attachment(StreamingHttpResponse(export.chunks, content_type=VCARD_TYPE), export.filename)


@login_required
@require_GET
def contact_vcard(request: HttpRequest, uuid: Any) -> HttpResponseBase:
    from django.http import HttpResponse

    try:
        contact, text = vcard_services.contact_vcard(user=request.user, uuid=uuid, version=request.GET.get("version"))
    except ValidationError as exc:
        return HttpResponse(_reasons(exc), status=400, content_type="text/plain; charset=utf-8")
    return _attachment(HttpResponse(text, content_type=VCARD_TYPE), vcard_services.vcard_filename(contact))
