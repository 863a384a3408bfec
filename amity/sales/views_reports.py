"""Report pages: forecast, win rate / deal size / cycle with the stage funnel, stuck deals.

Filters come in the query string; a bad value re-renders the page with the field and the reason (status 400).
Every role may open the reports; the numbers only include the deals the user may see (``reports`` scopes them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from amity.accounts.selectors import active_users
from amity.core import charts
from amity.core.charts import Series

from . import reports
from .selectors import pipelines

MONTH_CHOICES = [3, 6, 9, 12, 18, 24]
DAY_CHOICES = [7, 14, 30, 60, 90]


def _money_format(currency: str) -> Callable[[Any], str]:
    return lambda value: f"{charts.format_number(value)} {currency}"


def _controls(request: HttpRequest, names: list[str], errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The filter bar, one entry per field, with that field's errors next to it."""
    params = request.GET
    specs: dict[str, dict[str, Any]] = {
        "period": {"label": _("Period"), "widget": "select", "blank": False,
                   "choices": [(k, str(label)) for k, label in reports.PERIODS],
                   "default": reports.DEFAULT_PERIOD},
        "from": {"label": _("From"), "widget": "date"},
        "to": {"label": _("To"), "widget": "date"},
        "pipeline": {"label": _("Pipeline"), "widget": "select", "blank": True,
                     "choices": [(str(p.uuid), p.name) for p in pipelines()]},
        "owner": {"label": _("Owner"), "widget": "select", "blank": True,
                  "choices": [("me", _("Me")), ("none", _("Unassigned")),
                              *[(str(u.uuid), str(u)) for u in active_users()]]},
        "months": {"label": _("Months ahead"), "widget": "select", "blank": False,
                   "choices": [(str(n), str(n)) for n in MONTH_CHOICES], "default": str(reports.DEFAULT_MONTHS_AHEAD)},
        "days": {"label": _("No activity for (days)"), "widget": "number", "min": 1, "max": reports.MAX_STUCK_DAYS,
                 "default": str(reports.DEFAULT_STUCK_DAYS)},
    }
    controls = []
    for name in names:
        spec = specs[name]
        value = params.get(name) or spec.get("default", "")
        choices = spec.get("choices", [])
        if spec["widget"] == "select" and value and value not in {c for c, _label in choices}:
            choices = [*choices, (value, value)]  # keep a typed value visible next to its error
        controls.append({"name": name, "value": value, "errors": errors.get(name, []), **spec, "choices": choices})
    return controls


def _parse(request: HttpRequest, *, period: bool = False) -> tuple[reports.ReportFilters | None, dict[str, list[str]]]:
    try:
        return reports.parse_filters(request.user, request.GET, period=period), {}
    except ValidationError as exc:
        return None, exc.message_dict


def _render(request: HttpRequest, template: str, context: dict[str, Any], errors: dict[str, list[str]]
            ) -> HttpResponse:
    context["errors"] = errors
    shown = {c["name"] for c in context.get("controls", [])}
    context["other_errors"] = [m for name, messages in errors.items() if name not in shown for m in messages]
    context["has_filters"] = any(v for k, v in request.GET.items() if k != "cursor")
    return render(request, template, context, status=400 if errors else 200)


@login_required
@require_GET
def forecast(request: HttpRequest) -> HttpResponse:
    filters, errors = _parse(request)
    context: dict[str, Any] = {"controls": _controls(request, ["pipeline", "owner", "months"], errors),
                               "tab": "forecast"}
    if filters is not None:
        result = reports.forecast(user=request.user, filters=filters)
        money = _money_format(result.currency)
        context["forecast"] = result
        context["current_index"] = reports.PAST_MONTHS
        context["chart"] = charts.bar_chart(
            result.month_labels,
            [Series(_("Weighted open pipeline"), result.weighted, color=0),
             Series(_("Closed won"), result.won, color=1)],
            title=_("Weighted open pipeline and closed won by month (%(currency)s)") % {"currency": result.currency},
            desc=_("From %(first)s to %(last)s: weighted open pipeline %(weighted)s, closed won %(won)s.") % {
                "first": result.month_labels[0], "last": result.month_labels[-1],
                "weighted": money(result.weighted_total), "won": money(result.won_total)},
            value_format=money, category_label=_("Month"), chart_id="forecast-chart", height=300,
        )
    return _render(request, "sales/reports/forecast.html", context, errors)


@login_required
@require_GET
def performance(request: HttpRequest) -> HttpResponse:
    filters, errors = _parse(request, period=True)
    context: dict[str, Any] = {"controls": _controls(request, ["period", "from", "to", "pipeline", "owner"], errors),
                               "tab": "performance"}
    if filters is not None:
        report = reports.sales_report(user=request.user, filters=filters)
        context["report"] = report
        if report.funnel_pipeline is not None:
            name = report.funnel_pipeline.name
            context["funnel_chart"] = charts.funnel_chart(
                [(step.stage.name, step.reached) for step in report.funnel],
                title=_("Stage funnel of %(pipeline)s") % {"pipeline": name},
                desc=_("How many deals created in the period reached each stage of %(pipeline)s, and the share "
                       "that went on to the next stage.") % {"pipeline": name},
                step_label=_("Stage"), value_label=_("Deals"), chart_id="funnel-chart",
                empty_text=_("No deals were created in this pipeline in the period."),
            )
    return _render(request, "sales/reports/performance.html", context, errors)


@login_required
@require_GET
def stuck(request: HttpRequest) -> HttpResponse:
    filters, errors = _parse(request)
    context: dict[str, Any] = {"controls": _controls(request, ["days", "pipeline", "owner"], errors),
                               "tab": "stuck", "day_choices": DAY_CHOICES}
    if filters is not None:
        try:
            result = reports.stuck_deals(user=request.user, filters=filters, cursor=request.GET.get("cursor") or None)
        except ValidationError as exc:  # a tampered cursor
            return _render(request, "sales/reports/stuck.html", context, exc.message_dict)
        base = [(k, v) for k, v in request.GET.items() if k != "cursor" and v]
        page = result.page
        context.update(
            stuck=result,
            next_query=urlencode([*base, ("cursor", page.next_cursor)]) if page.next_cursor else "",
            prev_query=urlencode([*base, ("cursor", page.prev_cursor)]) if page.prev_cursor else "",
            show_pipeline=filters.pipeline is None and len(context["controls"][1]["choices"]) > 1,
            query_without_days=urlencode([(k, v) for k, v in base if k != "days"]),
        )
    return _render(request, "sales/reports/stuck.html", context, errors)
