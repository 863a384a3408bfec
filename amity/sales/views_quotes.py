"""Product catalogue pages, the product picker endpoint, and quotes (page, PDF, send, accept/decline, delete).

Views parse input, call one selector or service and render. A quote is reached through ``get_quote`` (visible when
its deal is), so another team's quote answers 404 on every URL; writes the role may not make answer 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from csp.constants import SELF
from csp.decorators import csp_replace
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from amity.contacts.selectors import contacts_for
from amity.core.money import CURRENCIES, base_currency
from amity.core.permissions import can_edit, require

from . import product_services, quote_selectors, quote_services
from .models import QuoteStatus
from .pdf import render_quote_pdf
from .selectors import get_deal, lost_reasons

PRICE_ROWS_SPARE = 2


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


def _flash_errors(request: HttpRequest, exc: ValidationError) -> None:
    messages.error(request, " ".join(m for msgs in _errors(exc).values() for m in msgs))


def deal_url(deal: Any) -> str:
    """The deal page, once the board's urls name it; until then the quote links nowhere rather than failing."""
    for name in ("sales:deal_detail", "sales:deal"):
        try:
            return reverse(name, args=[deal.uuid])
        except NoReverseMatch:
            continue
    return ""


# --- products ---------------------------------------------------------------------------------------------------

@login_required
@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    page, errors = None, {}
    try:
        page = quote_selectors.product_list(user=request.user, params=request.GET)
    except ValidationError as exc:
        errors = _errors(exc)
    base = urlencode([(k, v) for k, v in request.GET.items() if k != "cursor" and v])
    active = request.GET.get("active") or "active"
    return render(request, "sales/products/list.html", {
        "page": page,
        "rows": page.items if page else [],
        "filter_errors": [m for msgs in errors.values() for m in msgs],
        "q": request.GET.get("q", ""),
        "active": active,
        "active_choices": [("active", _("Active")), ("inactive", _("Inactive")), ("all", _("All"))],
        "filtered": bool(request.GET.get("q")) or active != "active",
        "next_query": f"{base}&cursor={page.next_cursor}".lstrip("&") if page and page.next_cursor else "",
        "prev_query": f"{base}&cursor={page.prev_cursor}".lstrip("&") if page and page.prev_cursor else "",
        "can_edit": can_edit(request.user),
    }, status=400 if errors else 200)


def _price_rows(request: HttpRequest, product: Any) -> list[dict[str, str]]:
    if request.method == "POST":
        currencies = request.POST.getlist("price_currency")
        amounts = request.POST.getlist("price_amount")
        rows = [{"currency": c, "unit_price": a} for c, a in zip(currencies, amounts, strict=False)]
    elif product is not None:
        rows = [{"currency": p.currency, "unit_price": str(p.unit_price)} for p in product.prices.all()]
    else:
        rows = [{"currency": base_currency(), "unit_price": ""}]
    return rows


def _product_form(request: HttpRequest, product: Any = None) -> HttpResponse:
    require(can_edit(request.user))
    errors: dict[str, list[str]] = {}
    rows = _price_rows(request, product)
    if request.method == "POST":
        data = {key: request.POST.get(key, "") for key in ("sku", "name", "category", "description")}
        data["active"] = request.POST.get("active") == "on"  # type: ignore[assignment]
        data["prices"] = rows  # type: ignore[assignment]
        try:
            if product is None:
                product = product_services.create_product(actor=request.user, data=data)
                messages.success(request, _("Created %(name)s.") % {"name": product.name})
            else:
                product = product_services.update_product(actor=request.user, product=product, data=data)
                messages.success(request, _("Saved %(name)s.") % {"name": product.name})
            return redirect(f"{reverse('quotes:products')}?{urlencode({'q': product.sku, 'active': 'all'})}")
        except ValidationError as exc:
            errors = _errors(exc)
        values = data
    else:
        values = {"sku": product.sku, "name": product.name, "category": product.category,
                  "description": product.description, "active": product.active} if product else {"active": True}  # type: ignore[dict-item]
    # Errors name rows by their posted position, so match them up before dropping the blank rows.
    price_rows = [{**row, "currency_error": errors.get(f"prices.{n}.currency", []),
                   "price_error": errors.get(f"prices.{n}.unit_price", [])} for n, row in enumerate(rows)
                  if str(row["currency"]).strip() or str(row["unit_price"]).strip()]
    price_rows += [{"currency": "", "unit_price": "", "currency_error": [], "price_error": []}
                   for _n in range(PRICE_ROWS_SPARE)]
    return render(request, "sales/products/form.html", {
        "product": product if product and product.pk else None, "values": values, "errors": errors,
        "price_rows": price_rows, "currencies": sorted(CURRENCIES),
        "has_price_errors": any(k.startswith("prices.") for k in errors),
    }, status=400 if errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def product_create(request: HttpRequest) -> HttpResponse:
    return _product_form(request)


@login_required
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _product_form(request, quote_selectors.get_product(user=request.user, uuid=uuid))


@login_required
@require_POST
def product_active(request: HttpRequest, uuid: Any) -> HttpResponse:
    product = quote_selectors.get_product(user=request.user, uuid=uuid)
    if request.POST.get("active") == "1":
        product_services.activate(actor=request.user, product=product)
        messages.success(request, _("%(name)s is active again.") % {"name": product.name})
    else:
        product_services.deactivate(actor=request.user, product=product)
        messages.success(request, _("%(name)s is inactive; it no longer appears in pickers.") % {"name": product.name})
    return redirect(request.POST.get("next") if str(request.POST.get("next", "")).startswith("/products/")  # type: ignore[arg-type]
                    else reverse("quotes:products"))


@login_required
@require_GET
def product_suggest(request: HttpRequest) -> JsonResponse:
    try:
        results = quote_selectors.product_suggestions(user=request.user, q=request.GET.get("q", ""),
                                                      currency=request.GET.get("currency", ""))
    except ValidationError as exc:
        return JsonResponse({"errors": _errors(exc)}, status=400)
    return JsonResponse({"results": results})


# --- quotes -----------------------------------------------------------------------------------------------------

def _deal_recipients(user: Any, deal: Any) -> list[Any]:
    """People who may receive the deal's quotes: its contacts, then others at its company (visible ones only)."""
    people = list(contacts_for(user).filter(deals=deal).order_by("display_name", "id"))
    if deal.company_id:
        seen = {c.pk for c in people}
        people += [c for c in contacts_for(user).filter(company_id=deal.company_id)
                   .order_by("display_name", "id")[:50] if c.pk not in seen]
    return people


def _recipient(request: HttpRequest, deal: Any, uuid: str) -> Any:
    if not uuid:
        return None
    for person in _deal_recipients(request.user, deal):
        if str(person.uuid) == uuid:
            return person
    raise ValidationError({"contact": [_("Choose one of the deal's contacts.")]})


@login_required
@require_http_methods(["GET", "POST"])
def quote_create(request: HttpRequest, deal_uuid: Any) -> HttpResponse:
    deal = get_deal(user=request.user, uuid=deal_uuid)
    require(can_edit(request.user))
    errors: dict[str, list[str]] = {}
    values = {"valid_until": (timezone.localdate() + dt.timedelta(days=30)).isoformat(), "terms": "",
              "contact": ""}
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in ("valid_until", "terms", "contact")}
        try:
            quote = quote_services.create_quote(
                actor=request.user, deal=deal, valid_until=values["valid_until"], terms=values["terms"],
                contact=_recipient(request, deal, values["contact"]))
            messages.success(request, _("Quote %(number)s is ready as a draft.") % {"number": quote.number})
            return redirect("quotes:detail", uuid=quote.uuid)
        except ValidationError as exc:
            errors = _errors(exc)
    return render(request, "sales/quotes/create.html", {
        "deal": deal, "deal_url": deal_url(deal), "values": values, "errors": errors,
        "recipients": _deal_recipients(request.user, deal), "line_items": list(deal.line_items.all()),
    }, status=400 if errors else 200)


@login_required
@require_GET
def quote_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    quote = quote_selectors.get_quote(user=request.user, uuid=uuid)
    editable = can_edit(request.user)
    return render(request, "sales/quotes/detail.html", {
        "quote": quote, "deal": quote.deal, "deal_url": deal_url(quote.deal), "lines": list(quote.lines.all()),
        "can_edit": editable,
        "can_send": editable and quote.status in (QuoteStatus.DRAFT, QuoteStatus.SENT),
        "can_decide": editable and quote.status in (QuoteStatus.DRAFT, QuoteStatus.SENT),
        "can_delete": editable and quote.status == QuoteStatus.DRAFT,
        "recipients": _deal_recipients(request.user, quote.deal) if editable else [],
        "lost_reasons": list(lost_reasons()),
        "expired": quote.valid_until < timezone.localdate(),
    })


@login_required
@require_GET
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": [SELF]})  # type: ignore[arg-type]
def quote_pdf(request: HttpRequest, uuid: Any) -> HttpResponse:
    """The PDF, inline for the preview frame; ``?download=1`` saves it as a file."""
    quote = quote_selectors.get_quote(user=request.user, uuid=uuid)
    response = HttpResponse(render_quote_pdf(quote), content_type="application/pdf")
    disposition = "attachment" if request.GET.get("download") else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{quote.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def quote_send(request: HttpRequest, uuid: Any) -> HttpResponse:
    quote = quote_selectors.get_quote(user=request.user, uuid=uuid)
    require(can_edit(request.user))
    try:
        contact = _recipient(request, quote.deal, request.POST.get("contact", "").strip())
        quote = quote_services.send_quote(actor=request.user, quote=quote, contact=contact,
                                          message=request.POST.get("message", ""))
        messages.success(request, _("Sent %(number)s to %(email)s.") % {"number": quote.number,
                                                                         "email": quote.contact.email})  # type: ignore[union-attr]
    except ValidationError as exc:
        _flash_errors(request, exc)
    return redirect("quotes:detail", uuid=quote.uuid)


@login_required
@require_POST
def quote_decide(request: HttpRequest, uuid: Any) -> HttpResponse:
    quote = quote_selectors.get_quote(user=request.user, uuid=uuid)
    require(can_edit(request.user))
    reason = None
    if reason_id := request.POST.get("lost_reason", "").strip():
        reason = lost_reasons().filter(pk=reason_id).first() if reason_id.isdigit() else None
    try:
        quote = quote_services.decide_quote(actor=request.user, quote=quote, decision=request.POST.get("decision", ""),
                                            move_deal=request.POST.get("move_deal") == "on", lost_reason=reason)
        messages.success(request, _("Marked %(number)s as %(status)s.") % {
            "number": quote.number, "status": quote.get_status_display().lower()})
    except ValidationError as exc:
        _flash_errors(request, exc)
    return redirect("quotes:detail", uuid=quote.uuid)


@login_required
@require_POST
def quote_delete(request: HttpRequest, uuid: Any) -> HttpResponse:
    quote = quote_selectors.get_quote(user=request.user, uuid=uuid)
    require(can_edit(request.user))
    deal = quote.deal
    try:
        quote_services.delete_quote(actor=request.user, quote=quote)
    except ValidationError as exc:
        _flash_errors(request, exc)
        return redirect("quotes:detail", uuid=quote.uuid)
    messages.success(request, _("Deleted the draft %(number)s.") % {"number": quote.number})
    return redirect(deal_url(deal) or reverse("quotes:products"))
