"""Orders, carts, recoverable revenue, the 360 card's in-store form and the commerce settings.

Views parse input, call one selector or service and render. Orders and carts come from the permission-scoped
selectors, so another team's customer's order answers 404; writes the role may not make answer 403.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from amity.contacts import selectors as contact_selectors
from amity.core import audit, money
from amity.core.csvexport import counted_into_audit, csv_response
from amity.core.models import AuditAction
from amity.core.permissions import can_edit, can_export, is_admin

from . import reports, selectors
from .forms import PURCHASE_CHANNELS, CommerceSettingsForm, PurchaseForm, RefundForm
from .models import CartStatus, Channel, OrderStatus

ORDER_FILTERS = ("status", "channel", "customer", "placed_from", "placed_to")
RECOVERABLE_FILTERS = ("min_value", "min_age", "max_age")


# --- helpers --------------------------------------------------------------------------------------------------------

def _params(source: QueryDict, names: tuple[str, ...], extra: tuple[str, ...] = ("sort", "cursor", "limit")) -> QueryDict:
    params = QueryDict(mutable=True)
    for name in (*names, *extra):
        value = (source.get(name) or "").strip()
        if value:
            params[name] = value
    return params


def _query(source: QueryDict, names: tuple[str, ...]) -> str:
    return urlencode([(n, source.get(n, "").strip()) for n in names if source.get(n, "").strip()])


def _errors(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [m for msgs in exc.message_dict.values() for m in msgs]
    return list(exc.messages)


def _require_edit(user: Any) -> None:
    if not can_edit(user):
        raise PermissionDenied(_("Your role can view records but not change them."))


def _pager(page: Any, base_query: str) -> dict[str, str]:
    prefix = f"{base_query}&" if base_query else ""
    return {
        "next_query": f"{prefix}cursor={page.next_cursor}" if page and page.next_cursor else "",
        "prev_query": f"{prefix}cursor={page.prev_cursor}" if page and page.prev_cursor else "",
    }


# --- orders ---------------------------------------------------------------------------------------------------------

@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    params = _params(request.GET, ORDER_FILTERS)
    page, errors = None, []
    try:
        page = selectors.order_list(user=request.user, params=params)
    except ValidationError as exc:
        errors = _errors(exc)
    customer = None
    if params.get("customer") and not errors:
        customer = contact_selectors.contacts_for(request.user).filter(uuid=str(params["customer"])).first()
    values = {name: request.GET.get(name, "") for name in ORDER_FILTERS}
    context = {
        "page": page,
        "orders": page.items if page else [],
        "list_errors": errors,
        "values": values,
        "customer": customer,
        "statuses": OrderStatus.choices,
        "channels": Channel.choices,
        "sort": params.get("sort") or "-placed",
        "sorts": [(key, label) for key, (label, _o) in selectors.ORDER_SORTS.items()],
        "filter_query": _query(request.GET, (*ORDER_FILTERS, "sort")),
        "base_currency": money.base_currency(),
        "can_export": can_export(request.user),
        **_pager(page, _query(request.GET, (*ORDER_FILTERS, "sort", "limit"))),
    }
    return render(request, "commerce/order_list.html", context)


ORDER_EXPORT_COLUMNS = ["uuid", "number", "external_id", "placed_at", "status", "channel", "customer", "customer_id",
                        "currency", "subtotal", "discount", "tax", "shipping", "total", "total_base", "refunded",
                        "note"]


def _order_row(order: Any) -> list[Any]:
    return [order.uuid, order.number, order.external_id, order.placed_at.isoformat(), order.status, order.channel,
            str(order.contact) if order.contact else "", order.contact.uuid if order.contact else "",
            order.currency, order.subtotal, order.discount_total, order.tax_total, order.shipping_total, order.total,
            order.total_base, order.refunded_amount, order.note]


@login_required
@require_GET
def order_export(request: HttpRequest) -> HttpResponseBase:
    if not can_export(request.user):
        raise PermissionDenied(_("Your role cannot export records."))
    params = _params(request.GET, ORDER_FILTERS, extra=())
    try:
        orders = selectors.order_export_rows(user=request.user, params=params)
    except ValidationError as exc:
        messages.error(request, _("Nothing was exported: %(reason)s") % {"reason": " ".join(_errors(exc))})
        return redirect(f"{reverse('commerce:orders')}?{_query(request.GET, ORDER_FILTERS)}")
    entry = audit.record(AuditAction.EXPORT, actor=request.user, object_type="order",
                         changes={"filters": dict(params.items()), "rows": None})
    rows = (_order_row(o) for o in counted_into_audit(entry, orders.iterator(chunk_size=2000)))
    return csv_response("orders.csv", ORDER_EXPORT_COLUMNS, rows)


def _order_context(request: HttpRequest, order: Any, refund_form: Any = None) -> dict[str, Any]:
    history = [(label, when) for label, when in (
        (_("Placed"), order.placed_at), (_("Paid"), order.paid_at), (_("Fulfilled"), order.fulfilled_at),
        (_("Refunded"), order.refunded_at)) if when]
    refundable = order.total - order.refunded_amount
    return {
        "order": order,
        "lines": list(order.lines.all()),
        "history": history,
        "refundable": refundable,
        "can_refund": can_edit(request.user) and refundable > 0 and order.status != OrderStatus.CANCELLED,
        "refund_form": refund_form or RefundForm(initial={"amount": refundable}),
        "base_currency": money.base_currency(),
    }


@login_required
@require_GET
def order_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    order = selectors.get_order(user=request.user, uuid=uuid)
    return render(request, "commerce/order_detail.html", _order_context(request, order))


@login_required
@require_POST
def order_refund(request: HttpRequest, uuid: Any) -> HttpResponse:
    from . import services

    order = selectors.get_order(user=request.user, uuid=uuid)
    _require_edit(request.user)
    form = RefundForm(request.POST)
    if form.is_valid():
        try:
            services.refund_order(order=order, amount=form.cleaned_data["amount"], actor=request.user)
        except ValidationError as exc:
            for key, msgs in (exc.message_dict if hasattr(exc, "error_dict") else {"amount": exc.messages}).items():
                for message in msgs:
                    form.add_error("amount" if key in {"amount", "__all__"} else None, message)
        else:
            messages.success(request, _("Refunded %(currency)s %(amount)s.") % {
                "currency": order.currency, "amount": form.cleaned_data["amount"]})
            return redirect("commerce:order", uuid=order.uuid)
    order = selectors.get_order(user=request.user, uuid=uuid)
    return render(request, "commerce/order_detail.html", _order_context(request, order, form), status=400)


# --- carts ----------------------------------------------------------------------------------------------------------

@login_required
@require_GET
def cart_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    cart = selectors.get_cart(user=request.user, uuid=uuid)
    items = list(cart.items.all())
    return render(request, "commerce/cart_detail.html", {
        "cart": cart, "items": items, "base_currency": money.base_currency(),
        "items_total": sum((i.quantity * i.unit_price for i in items), start=0),
    })


# --- recoverable revenue --------------------------------------------------------------------------------------------

@login_required
@require_GET
def recoverable(request: HttpRequest) -> HttpResponse:
    params = _params(request.GET, RECOVERABLE_FILTERS)
    page, errors = None, []
    try:
        page = selectors.recoverable_carts(user=request.user, params=params)
    except ValidationError as exc:
        errors = _errors(exc)
    now = timezone.now()
    summary = selectors.recovery_summary(user=request.user, now=now)
    heatmap = selectors.abandonment_heatmap(user=request.user, now=now)
    context = {
        "page": page,
        "carts": page.items if page else [],
        "list_errors": errors,
        "values": {name: request.GET.get(name, "") for name in RECOVERABLE_FILTERS},
        "sort": params.get("sort") or "-value",
        "sorts": [(key, label) for key, (label, _o) in selectors.RECOVERABLE_SORTS.items()],
        "filter_query": _query(request.GET, (*RECOVERABLE_FILTERS, "sort")),
        "summary": summary,
        "heatmap": reports.heatmap_rows(heatmap),
        "heatmap_total": heatmap.total,
        "window_days": heatmap.days,
        "time_zone": heatmap.time_zone,
        "hour_chart": reports.hour_chart(heatmap),
        "weekday_chart": reports.weekday_chart(heatmap),
        "base_currency": money.base_currency(),
        "can_export": can_export(request.user),
        **_pager(page, _query(request.GET, (*RECOVERABLE_FILTERS, "sort", "limit"))),
    }
    return render(request, "commerce/recoverable.html", context)


RECOVERABLE_EXPORT_COLUMNS = ["uuid", "customer", "customer_id", "value_base", "currency", "value", "items",
                              "abandoned_at", "last_activity_at", "cart_url"]


@login_required
@require_GET
def recoverable_export(request: HttpRequest) -> HttpResponseBase:
    if not can_export(request.user):
        raise PermissionDenied(_("Your role cannot export records."))
    params = _params(request.GET, RECOVERABLE_FILTERS, extra=("sort",))
    try:
        carts = selectors.recoverable_export_rows(user=request.user, params=params)
    except ValidationError as exc:
        messages.error(request, _("Nothing was exported: %(reason)s") % {"reason": " ".join(_errors(exc))})
        return redirect(f"{reverse('commerce:recoverable')}?{_query(request.GET, RECOVERABLE_FILTERS)}")
    entry = audit.record(AuditAction.EXPORT, actor=request.user, object_type="cart",
                         changes={"filters": dict(params.items()), "status": "abandoned", "rows": None})

    def rows() -> Iterator[list[Any]]:
        for cart in counted_into_audit(entry, carts.iterator(chunk_size=2000)):
            yield [cart.uuid, str(cart.contact) if cart.contact else "", cart.contact.uuid if cart.contact else "",
                   cart.value_base, cart.currency, cart.value, cart.item_count,
                   cart.abandoned_at.isoformat() if cart.abandoned_at else "", cart.last_activity_at.isoformat(),
                   cart.cart_url]

    return csv_response("recoverable-carts.csv", RECOVERABLE_EXPORT_COLUMNS, rows())


# --- the 360 card: record a purchase or a visit ---------------------------------------------------------------------

def card_context(user: Any, contact: Any, form: PurchaseForm | None = None, notice: str = "") -> dict[str, Any]:
    now = timezone.now()
    last = contact.last_activity_at
    return {
        "contact": contact,
        "commerce": selectors.customer_commerce(user=user, contact=contact),
        "can_record": can_edit(user),
        "base_currency": money.base_currency(),
        "days_since_activity": max((now - last).days, 0) if last else None,
        "purchase_form": form,
        "suggestions": selectors.product_suggestions(query="", currency=form.currency) if form else [],
        "channels": PURCHASE_CHANNELS,
        "currencies": _currencies(form.currency) if form else [],
        "notice": notice,
    }


def _currencies(current: str) -> list[str]:
    codes = [money.base_currency(), *sorted({r.currency for r in money.exchange_rates()})]
    if current and current not in codes:
        codes.append(current)
    return list(dict.fromkeys(codes))


def _card_response(request: HttpRequest, contact: Any, form: PurchaseForm | None = None,
                   notice: str = "") -> HttpResponse:
    """The card (swapped in place) plus, after a write, the page's stats and timeline out of band."""
    from amity.timeline import presenters

    context = card_context(request.user, contact, form, notice)
    if notice:
        context.update({**presenters.stats_context(contact), **presenters.timeline_context(request, contact, {}),
                        "oob": True, "refresh_page": True})
    return render(request, "commerce/_card_response.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def record_purchase(request: HttpRequest, uuid: Any) -> HttpResponse:
    """GET: the form (inside the card for htmx, a page of its own otherwise). POST: record a purchase, or with
    ``visit`` a visit without one (an in-store interaction on the timeline)."""
    from amity.timeline import services as timeline_services

    from . import services

    contact = contact_selectors.get_contact(user=request.user, uuid=uuid)
    _require_edit(request.user)
    htmx = bool(getattr(request, "htmx", False))
    if request.method == "GET":
        if request.GET.get("cancel"):
            return render(request, "commerce/_card.html", card_context(request.user, contact))
        form = PurchaseForm.blank()
        if htmx:
            return render(request, "commerce/_card.html", card_context(request.user, contact, form))
        return render(request, "commerce/purchase_page.html", card_context(request.user, contact, form))
    form = PurchaseForm.from_post(request.POST)
    if request.POST.get("add_line"):
        form.add_line()
    elif request.POST.get("visit"):
        try:
            timeline_services.log_interaction(actor=request.user, kind="in_store", contact=contact,
                                              subject=_("Store visit"), body=form.note)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return _done(request, contact, _("Visit recorded."))
    else:
        data = form.purchase_data()
        if data is not None:
            try:
                order = services.record_in_store_purchase(contact=contact, data=data, actor=request.user)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                return _done(request, contact, _("Purchase recorded: %(currency)s %(total)s.") % {
                    "currency": order.currency, "total": order.total})
    if htmx:
        return render(request, "commerce/_card.html", card_context(request.user, contact, form))
    return render(request, "commerce/purchase_page.html", card_context(request.user, contact, form),
                  status=400 if form.has_errors else 200)


def _done(request: HttpRequest, contact: Any, notice: str) -> HttpResponse:
    contact = contact_selectors.get_contact(user=request.user, uuid=contact.uuid)  # the facts just changed
    if getattr(request, "htmx", False):
        return _card_response(request, contact, notice=notice)
    messages.success(request, notice)
    return redirect("contacts:detail", uuid=contact.uuid)


@login_required
@require_GET
def product_search(request: HttpRequest) -> JsonResponse:
    """Active products by name or SKU for the in-store form, with the price in the chosen currency."""
    items = selectors.product_suggestions(query=request.GET.get("q", ""),
                                          currency=request.GET.get("currency") or money.base_currency())
    return JsonResponse({"items": items})


# --- settings -------------------------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def commerce_settings(request: HttpRequest) -> HttpResponse:
    from . import services

    if not is_admin(request.user):
        raise PermissionDenied(_("Only admins can change the commerce settings."))
    current = services.commerce_settings()
    form = CommerceSettingsForm(request.POST or None, initial={"abandon_after_minutes": current.abandon_after_minutes})
    if request.method == "POST" and form.is_valid():
        try:
            services.update_commerce_settings(user=request.user, data=form.cleaned_data)
        except ValidationError as exc:
            for key, msgs in exc.message_dict.items():
                for message in msgs:
                    form.add_error(key if key in form.fields else None, message)
        else:
            messages.success(request, _("Commerce settings saved."))
            return redirect("commerce:settings")
    status = 400 if request.method == "POST" else 200
    return render(request, "commerce/settings.html", {"form": form, "statuses": CartStatus.choices}, status=status)
