"""Deal board, list, export, deal page and forms; pipeline and currency settings.

Views parse input, call one selector or service and render. Deals come from the permission-scoped selectors, so
another team's deal answers 404; writes the role may not make answer 403.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from amity.accounts.selectors import active_users
from amity.contacts import selectors as contact_selectors
from amity.core import money
from amity.core.permissions import can_delete, can_edit, can_export, is_admin
from amity.timeline import presenters
from amity.timeline.selectors import timeline

from . import selectors, services
from .filters import DEAL_SORTS
from .forms import (
    LINE_ITEM_BLANK_ROWS,
    DealForm,
    ExchangeRateForm,
    PipelineForm,
    parse_line_items,
    product_choices,
)
from .models import StageKind

BOARD_FILTERS = ("owner", "close_month", "tag")
LIST_FILTERS = ("pipeline", "stage", "status", "owner", "close_month", "tag", "company", "contact")
DEFAULT_SORT = "-updated"


# --- helpers --------------------------------------------------------------------------------------------------------

def _filter_params(source: QueryDict, user: Any, names: tuple[str, ...]) -> QueryDict:
    """Only the named filters, with "owner=me" made concrete so a shared link works for whoever opens it."""
    params = QueryDict(mutable=True)
    for name in names:
        value = (source.get(name) or "").strip()
        if value:
            params[name] = str(user.uuid) if name == "owner" and value == "me" else value
    return params


def _query(source: QueryDict, names: tuple[str, ...], **extra: str) -> str:
    pairs = [(n, source.get(n, "").strip()) for n in names if source.get(n, "").strip()]
    pairs += [(k, v) for k, v in extra.items() if v]
    return urlencode(pairs)


def _error_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(m for msgs in exc.message_dict.values() for m in msgs)
    return " ".join(exc.messages)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


def _owner_choices(request: HttpRequest) -> list[tuple[str, str]]:
    return [("me", _("Me")), ("none", _("Unassigned")), *[(str(u.uuid), str(u)) for u in active_users()]]


def _month_choices(today: dt.date, selected: str = "") -> list[tuple[str, str]]:
    """This month, the two before and the nine after: where expected close dates usually fall (plus the one
    chosen, if a link chose another)."""
    from django.utils.dateformat import format as date_format

    months = []
    year, month = today.year, today.month - 2
    for _i in range(12):
        while month < 1:
            month, year = month + 12, year - 1
        while month > 12:
            month, year = month - 12, year + 1
        day = dt.date(year, month, 1)
        months.append((f"{year:04d}-{month:02d}", date_format(day, "F Y")))
        month += 1
    if selected and selected not in {value for value, _label in months}:
        months.append((selected, selected))
    return months


# --- board ----------------------------------------------------------------------------------------------------------

def _board_context(request: HttpRequest, pipeline: Any, source: QueryDict) -> dict[str, Any]:
    params = _filter_params(source, request.user, BOARD_FILTERS)
    columns, errors = [], []
    try:
        columns = selectors.board(user=request.user, pipeline=pipeline, params=params)
    except ValidationError as exc:
        errors = [m for msgs in exc.message_dict.values() for m in msgs]
    filter_query = _query(source, BOARD_FILTERS)
    list_url = reverse("sales:list")
    for column in columns:
        column.more_url = f"{list_url}?{urlencode({'pipeline': pipeline.uuid, 'stage': column.stage.uuid})}" + (  # type: ignore[attr-defined]
            f"&{filter_query}" if filter_query else "")
    return {
        "pipeline": pipeline,
        "stages": list(pipeline.stages.all()),
        "open_columns": [c for c in columns if c.stage.kind == StageKind.OPEN],
        "closed_columns": [c for c in columns if c.stage.kind != StageKind.OPEN],
        "board_errors": errors,
        "filter_query": filter_query,
        "base_currency": money.base_currency(),
        "today": timezone.localdate(),
        "can_edit": can_edit(request.user),
        "detail_prefix": _detail_prefix(),
    }


def _detail_prefix() -> str:
    """The deal page URL up to the uuid ("/deals/"), reversed once per board instead of once per card."""
    sample = "00000000-0000-0000-0000-000000000000"
    return reverse("sales:detail", args=[sample]).split(sample)[0]


@login_required
@require_GET
def board(request: HttpRequest, pipeline: Any = None) -> HttpResponse:
    current = selectors.get_pipeline(pipeline) if pipeline else selectors.default_pipeline()
    if current is None:
        return render(request, "sales/board.html", {"pipeline": None})
    context = _board_context(request, current, request.GET)
    values = {name: request.GET.get(name, "") for name in BOARD_FILTERS}
    context.update({
        "pipelines": list(selectors.pipelines()),
        "lost_reasons": list(selectors.lost_reasons()),
        "owners": _owner_choices(request),
        "months": _month_choices(timezone.localdate(), request.GET.get("close_month", "")),
        "values": values,
        "active_filter_count": sum(1 for v in values.values() if v),
    })
    return render(request, "sales/board.html", context)


@login_required
@require_POST
def move(request: HttpRequest) -> HttpResponse:
    """Move a deal to a stage (drag and drop, the "Move to…" menu, the deal page's stage bar).

    For htmx/fetch callers the answer is the board's columns (so counts and totals update) or the reason as
    plain text with 400/403; a plain form post is redirected back with a message."""
    deal = selectors.get_deal(user=request.user, uuid=request.POST.get("deal"))
    stage = selectors.get_stage(request.POST.get("stage"))
    reason_id = request.POST.get("lost_reason") or ""
    reason = selectors.lost_reasons().filter(pk=reason_id).first() if reason_id.isdigit() else None
    back = _safe_next(request, reverse("sales:detail", args=[deal.uuid]))
    try:
        services.move_deal(actor=request.user, deal=deal, stage=stage, lost_reason=reason)
    except PermissionDenied as exc:
        if request.htmx:  # type: ignore[attr-defined]
            return HttpResponse(str(exc) or _("Your role cannot change records."), status=403,
                                content_type="text/plain; charset=utf-8")
        raise
    except ValidationError as exc:
        if request.htmx:  # type: ignore[attr-defined]
            return HttpResponse(_error_text(exc), status=400, content_type="text/plain; charset=utf-8")
        messages.error(request, _error_text(exc))
        return redirect(back)
    if request.htmx:  # type: ignore[attr-defined]
        filters = QueryDict(request.POST.get("filters", ""))
        return render(request, "sales/_board_columns.html", _board_context(request, deal.pipeline, filters))
    messages.success(request, _("Moved “%(deal)s” to %(stage)s.") % {"deal": deal.name, "stage": stage.name})
    return redirect(back)


# --- list and export ------------------------------------------------------------------------------------------------

@login_required
@require_GET
def deal_list(request: HttpRequest) -> HttpResponse:
    params = _filter_params(request.GET, request.user, LIST_FILTERS)
    sort = request.GET.get("sort") or DEFAULT_SORT
    params["sort"] = sort
    for name in ("cursor", "limit"):
        if request.GET.get(name):
            params[name] = request.GET[name]
    page, errors = None, []
    try:
        page = selectors.deal_list(user=request.user, params=params)
    except ValidationError as exc:
        errors = [m for msgs in exc.message_dict.values() for m in msgs]
    base_query = _query(request.GET, (*LIST_FILTERS, "sort", "limit"))
    filter_query = _query(request.GET, LIST_FILTERS)
    all_pipelines = list(selectors.pipelines())
    values = {name: request.GET.get(name, "") for name in LIST_FILTERS}
    context = {
        "page": page,
        "deals": page.items if page else [],
        "list_errors": errors,
        "pipelines": all_pipelines,
        "owners": _owner_choices(request),
        "months": _month_choices(timezone.localdate(), request.GET.get("close_month", "")),
        "statuses": StageKind.choices,
        "values": values,
        "active_filter_count": sum(1 for k, v in values.items() if v and k not in {"company", "contact"}),
        "sort": sort,
        "sorts": [(key, label) for key, (label, _ordering) in DEAL_SORTS.items()],
        "filter_query": filter_query,
        "next_query": f"{base_query}&cursor={page.next_cursor}" if page and page.next_cursor else "",
        "prev_query": f"{base_query}&cursor={page.prev_cursor}" if page and page.prev_cursor else "",
        "base_currency": money.base_currency(),
        "today": timezone.localdate(),
        "can_edit": can_edit(request.user),
        "can_export": can_export(request.user),
    }
    return render(request, "sales/deal_list.html", context)


@login_required
@require_GET
def export(request: HttpRequest) -> HttpResponseBase:
    """Columns, rows and audit live in ``integrations.exports``, shared with the XLSX export and the API."""
    from amity.integrations.views_exports import export_list

    return export_list(request, "deal", "csv")


# --- the deal page --------------------------------------------------------------------------------------------------

def _duration_text(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return _("%(n)s min") % {"n": max(minutes, 1)}
    hours = minutes // 60
    if hours < 48:
        return _("%(n)s h") % {"n": hours}
    return _("%(d)s d %(h)s h") % {"d": hours // 24, "h": hours % 24} if hours % 24 else \
        _("%(n)s days") % {"n": hours // 24}


def _stage_times(deal: Any) -> list[dict[str, Any]]:
    """Total time spent in each stage the deal has been in (a deal can return to a stage)."""
    now = timezone.now()
    totals: dict[int, dict[str, Any]] = {}
    for stay in deal.stage_history.select_related("stage").order_by("entered_at", "id"):
        row = totals.setdefault(stay.stage_id, {"stage": stay.stage, "seconds": 0.0, "visits": 0, "current": False})
        row["seconds"] += ((stay.left_at or now) - stay.entered_at).total_seconds()
        row["visits"] += 1
        row["current"] = row["current"] or stay.left_at is None
    result = sorted(totals.values(), key=lambda r: (r["stage"].position, r["stage"].pk))
    longest = max((r["seconds"] for r in result), default=0) or 1
    for row in result:
        row["text"] = _duration_text(row["seconds"])
        row["percent"] = max(4, round(row["seconds"] * 100 / longest))
    return result


def _progress(deal: Any, stages: list[Any]) -> list[dict[str, Any]]:
    """The pipeline's stages as steps: done (before the current open stage), current, or ahead."""
    current = deal.stage
    rows = []
    for stage in stages:
        if current.kind == StageKind.OPEN:
            state = "current" if stage.pk == current.pk else (
                "done" if stage.kind == StageKind.OPEN and stage.position < current.position else "ahead")
        elif current.kind == StageKind.WON:
            state = "current" if stage.pk == current.pk else ("done" if stage.kind == StageKind.OPEN else "ahead")
        else:
            state = "current" if stage.pk == current.pk else "ahead"
        rows.append({"stage": stage, "state": state})
    return rows


def _line_rows(deal: Any) -> list[dict[str, Any]]:
    rows = [{"product": str(li.product.uuid) if li.product else "", "name": li.name, "quantity": li.quantity,
             "unit_price": li.unit_price, "discount_percent": li.discount_percent, "amount": li.amount, "errors": {}}
            for li in deal.line_items.all()]
    return rows


def _template_exists(name: str) -> bool:
    try:
        select_template([name])
    except TemplateDoesNotExist:
        return False
    return True


def _detail_context(request: HttpRequest, deal: Any, line_rows: list[dict[str, Any]] | None = None,
                    line_error: str = "") -> dict[str, Any]:
    user = request.user
    # The activity helper's presenter gives the deal page the 360's quick actions, tasks and timeline; without
    # it the page shows the deal's timeline on its own and leaves the actions slot empty.
    activity = getattr(presenters, "deal_context", None)
    if activity is not None:
        panels = activity(request, deal)
    else:
        page = timeline(deal=deal, params=request.GET, limit=presenters.TIMELINE_LIMIT)
        panels = {"entries": [presenters.describe(e, user) for e in page.items], "target_kind": "deal"}
    stages = list(deal.pipeline.stages.all())
    rows = line_rows if line_rows is not None else _line_rows(deal)
    blank = {"product": "", "name": "", "quantity": "", "unit_price": "", "discount_percent": "", "amount": "",
             "errors": {}}
    rows = [*rows, *[dict(blank) for _i in range(LINE_ITEM_BLANK_ROWS)]] if line_rows is None else rows
    today = timezone.localdate()
    return {
        "deal": deal,  # the activity panels (merged last) carry the same deal
        "contacts": list(contact_selectors.contacts_for(user).filter(deals=deal).order_by("last_name", "id")[:50]),
        "tags": sorted(deal.tags.all(), key=lambda t: t.name.lower()),
        "progress": _progress(deal, stages),
        "stages": stages,
        "stage_times": _stage_times(deal),
        "lost_reasons": list(selectors.lost_reasons()),
        "line_rows": rows,
        "line_error": line_error,
        "line_total": sum((li.amount for li in deal.line_items.all()), Decimal(0)),
        "products": product_choices(),
        "custom_rows": presenters.custom_rows(deal, "deal"),
        "base_currency": money.base_currency(),
        "weighted": (deal.amount_base * deal.probability / 100).quantize(Decimal("0.01")),
        "overdue": bool(deal.expected_close_date and deal.expected_close_date < today and deal.is_open),
        "can_edit": can_edit(user),
        "can_delete": can_delete(user),
        "has_quotes": _template_exists("sales/quotes/_deal_quotes.html"),
        "quotes": _quotes_of(user, deal),
        "has_deal_actions": activity is not None,
        **panels,
    }


def _quotes_of(user: Any, deal: Any) -> list[Any]:
    """The deal's quotes for the quotes helper's card (its selector, when that module is there)."""
    try:
        from . import quote_selectors
    except ImportError:
        return []
    return quote_selectors.quotes_of_deal(user=user, deal=deal)


@login_required
@require_GET
def detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    deal = selectors.get_deal(user=request.user, uuid=uuid)
    try:
        context = _detail_context(request, deal)
    except ValidationError as exc:  # a hand-edited ?cursor=
        return HttpResponse(_error_text(exc), status=400, content_type="text/plain; charset=utf-8")
    return render(request, "sales/deal_detail.html", context)


@login_required
@require_POST
def line_items(request: HttpRequest, uuid: Any) -> HttpResponse:
    deal = selectors.get_deal(user=request.user, uuid=uuid)
    if not can_edit(request.user):
        raise PermissionDenied(_("Your role cannot create or change records."))
    items, positions, rows = parse_line_items(request.POST)
    try:
        services.set_line_items(actor=request.user, deal=deal, items=items)
    except ValidationError as exc:
        for row in rows:
            row["errors"] = {}  # type: ignore[assignment]
        for key, msgs in exc.message_dict.items():
            parts = key.split(".")
            if len(parts) == 3 and parts[0] == "line_items" and parts[1].isdigit() and int(parts[1]) < len(positions):
                rows[positions[int(parts[1])]]["errors"][parts[2]] = " ".join(msgs)  # type: ignore[index]
        deal = selectors.get_deal(user=request.user, uuid=uuid)  # the unchanged deal, for the rest of the page
        context = _detail_context(request, deal, line_rows=rows,
                                  line_error=_("Please correct the marked line items; nothing was saved."))
        return render(request, "sales/deal_detail.html", context, status=400)
    messages.success(request, _("Saved the line items of “%(deal)s”.") % {"deal": deal.name})
    return redirect(reverse("sales:detail", args=[deal.uuid]) + "#line-items")


# --- create / edit / delete -----------------------------------------------------------------------------------------

def _form_page(request: HttpRequest, instance: Any = None) -> HttpResponse:
    if not can_edit(request.user, instance):
        raise PermissionDenied(_("Your role cannot create or change records."))
    initial: dict[str, Any] = {}
    if instance is None and request.method == "GET":
        if request.GET.get("company"):
            company = contact_selectors.get_company(user=request.user, uuid=request.GET["company"])
            initial["company_name"] = company.name
        if request.GET.get("contact"):
            contact = contact_selectors.get_contact(user=request.user, uuid=request.GET["contact"])
            initial["contact_emails"] = contact.email
            if contact.company_id and "company_name" not in initial:
                initial["company_name"] = contact.company.name
            initial["name"] = _("Deal with %(name)s") % {"name": contact.company or contact}
    form = DealForm(request.POST or None, user=request.user, instance=instance, initial=initial)
    if instance is not None:
        form.fields["pipeline"].disabled = True  # a deal moves only within its pipeline
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        try:
            if instance is None:
                deal = services.create_deal(actor=request.user, data=data)
            else:
                data.pop("pipeline", None)
                deal = services.update_deal(actor=request.user, deal=instance, data=data)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, (_("Saved %(name)s.") if instance else _("Created %(name)s.")) % {"name": deal})
            return redirect("sales:detail", uuid=deal.uuid)
    context = {"form": form, "object": instance,
               "company_names": contact_selectors.company_choices(user=request.user)}
    return render(request, "sales/deal_form.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    return _form_page(request)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _form_page(request, selectors.get_deal(user=request.user, uuid=uuid))


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, uuid: Any) -> HttpResponse:
    deal = selectors.get_deal(user=request.user, uuid=uuid)
    if not can_delete(request.user):
        raise PermissionDenied(_("Your role cannot delete records."))
    if request.method == "POST":
        name = deal.name
        services.delete_deal(actor=request.user, deal=deal)
        messages.success(request, _("Deleted %(name)s.") % {"name": name})
        return redirect("sales:board")
    return render(request, "sales/deal_confirm_delete.html", {"deal": deal})


# --- settings: pipelines and currencies ---------------------------------------------------------------------------

def _require_admin(request: HttpRequest) -> None:
    if not is_admin(request.user):
        raise PermissionDenied(_("Only admins manage pipelines and currencies."))


@login_required
@require_http_methods(["GET", "POST"])
def pipelines(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    form = PipelineForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            pipeline = services.create_pipeline(actor=request.user, name=form.cleaned_data["name"],
                                                stages=form.stage_rows())
        except ValidationError as exc:
            for key, msgs in exc.message_dict.items():
                target = "name" if key == "name" else "stages"
                label = "" if key in {"name", "stages"} else _("Line %(n)s: ") % {"n": int(key.split(".")[1]) + 1}
                for msg in msgs:
                    form.add_error(target, label + msg)
            status = 400
        else:
            messages.success(request, _("Created the pipeline “%(name)s”.") % {"name": pipeline.name})
            return redirect("sales:pipelines")
    return render(request, "sales/pipelines.html", {
        "pipelines": list(selectors.pipelines()), "form": form, "tab": "pipelines",
        "stage_errors": {}, "open_form": status == 400,
    }, status=status)


@login_required
@require_POST
def stage_update(request: HttpRequest, uuid: Any) -> HttpResponse:
    _require_admin(request)
    stage = selectors.get_stage(uuid)
    data: dict[str, Any] = {}
    if request.POST.get("move") in {"up", "down"}:
        data["position"] = max(0, stage.position + (-1 if request.POST["move"] == "up" else 1))
    else:
        data = {"name": request.POST.get("name", ""), "probability": request.POST.get("probability", "")}
    try:
        services.update_stage(actor=request.user, stage=stage, data=data)
    except ValidationError as exc:
        messages.error(request, _("“%(stage)s” was not changed: %(reason)s") % {"stage": stage.name,
                                                                               "reason": _error_text(exc)})
    else:
        if "position" not in data:
            messages.success(request, _("Saved the stage “%(stage)s”.") % {"stage": stage.name})
    return redirect(reverse("sales:pipelines") + f"#pipeline-{stage.pipeline.uuid}")


@login_required
@require_POST
def stage_add(request: HttpRequest, uuid: Any) -> HttpResponse:
    _require_admin(request)
    pipeline = selectors.get_pipeline(uuid)
    try:
        stage = services.add_stage(actor=request.user, pipeline=pipeline, data={
            "name": request.POST.get("name", ""), "probability": request.POST.get("probability", "")})
    except ValidationError as exc:
        messages.error(request, _("No stage was added: %(reason)s") % {"reason": _error_text(exc)})
    else:
        messages.success(request, _("Added the stage “%(stage)s”.") % {"stage": stage.name})
    return redirect(reverse("sales:pipelines") + f"#pipeline-{pipeline.uuid}")


@login_required
@require_http_methods(["GET", "POST"])
def rates(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    form = ExchangeRateForm(request.POST or None, initial={"valid_from": timezone.localdate().isoformat()})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            row = money.add_exchange_rate(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for key, msgs in exc.message_dict.items():
                for msg in msgs:
                    form.add_error(key if key in form.fields else None, msg)
            status = 400
        else:
            messages.success(request, _("Saved: 1 %(currency)s = %(rate)s %(base)s from %(day)s.") % {
                "currency": row.currency, "rate": row.rate.normalize(), "base": money.base_currency(),
                "day": row.valid_from.isoformat()})
            return redirect("sales:rates")
    return render(request, "sales/rates.html", {
        "form": form, "rates": money.exchange_rates(), "base_currency": money.base_currency(), "tab": "currencies",
    }, status=status)
