"""Customer 360 and company detail pages (placeholder; filled in by the timeline helper)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import selectors


def contact_detail(request: HttpRequest, uuid) -> HttpResponse:
    contact = selectors.get_contact(user=request.user, uuid=uuid)
    return render(request, "contacts/contact_detail.html", {"contact": contact})


def company_detail(request: HttpRequest, uuid) -> HttpResponse:
    company = selectors.get_company(user=request.user, uuid=uuid)
    return render(request, "contacts/company_detail.html", {"company": company})
