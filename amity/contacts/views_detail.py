"""The customer 360 page and the company page: facts, preferences, special dates, tasks and the timeline."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from amity.timeline import presenters

from . import selectors


def _bad_filter(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return HttpResponse("; ".join(exc.messages), status=400)


@login_required
@require_GET
def contact_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    try:
        contact = selectors.get_contact(user=request.user, uuid=uuid)
    except Http404:
        # A merged contact's page moved for good to the contact it was merged into (when that one is visible).
        target = selectors.merged_target(user=request.user, uuid=uuid)
        if target is None:
            raise
        return HttpResponsePermanentRedirect(reverse("contacts:detail", args=[target.uuid]))
    try:
        context = presenters.contact_context(request, contact)
    except ValidationError as exc:  # a hand-edited ?type= or ?cursor=
        return _bad_filter(request, exc)
    return render(request, "contacts/contact_detail.html", context)


@login_required
@require_GET
def company_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    company = selectors.get_company(user=request.user, uuid=uuid)
    try:
        context = presenters.company_context(request, company)
    except ValidationError as exc:
        return _bad_filter(request, exc)
    return render(request, "contacts/company_detail.html", context)
