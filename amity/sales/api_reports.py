"""The sales reports in the API: the same selectors, filters and permission scoping as the report pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router

from amity.api.schemas import READ_ERRORS

from . import reports

router = Router(tags=["reports"])


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _performance(row: reports.Performance) -> dict[str, Any]:
    return {"label": row.label, "won": row.won, "lost": row.lost, "closed": row.closed,
            "win_rate_percent": _money(row.win_rate), "won_total": _money(row.won_total),
            "average_won_size": _money(row.average_size), "average_cycle_days": _money(row.cycle_days)}


FILTER_HELP = ("Filters as on the report pages: `pipeline` (id), `owner` (id, `me` or `none`); forecast: `months` "
               "ahead (1–24); sales: `period` (this_quarter, last_quarter, this_year, last_12_months, custom with "
               "`start`/`end`); stuck: `days` without activity, `cursor`. Amounts in the base currency; only deals "
               "the caller may see are counted.")


@router.get("/reports/forecast", response={200: dict, **READ_ERRORS}, summary="Forecast by month and owner",
            description="Weighted open pipeline by expected close month against closed-won by month. " + FILTER_HELP)
def forecast(request: HttpRequest) -> dict[str, Any]:
    result = reports.forecast(user=request.user, filters=reports.parse_filters(request.user, request.GET))
    return {
        "currency": result.currency,
        "months": [m.strftime("%Y-%m") for m in result.months],
        "weighted_open": [_money(v) for v in result.weighted],
        "closed_won": [_money(v) for v in result.won],
        "owners": [{"owner": str(o.owner.uuid) if o.owner else None, "name": o.name,
                    "weighted_open": [_money(v) for v in o.weighted], "closed_won": [_money(v) for v in o.won]}
                   for o in result.owners],
    }


@router.get("/reports/sales", response={200: dict, **READ_ERRORS},
            summary="Win rate, average deal size, sales-cycle length and the stage funnel",
            description="By pipeline and by owner, for deals closed in the period. " + FILTER_HELP)
def sales(request: HttpRequest) -> dict[str, Any]:
    report = reports.sales_report(user=request.user,
                                  filters=reports.parse_filters(request.user, request.GET, period=True))
    return {
        "currency": report.currency,
        "overall": _performance(report.overall),
        "by_pipeline": [_performance(p) for p in report.by_pipeline],
        "by_owner": [_performance(p) for p in report.by_owner],
        "funnel": [{"stage": str(s.stage.uuid), "name": s.stage.name, "reached": s.reached,
                    "conversion_percent": _money(s.conversion), "of_first_percent": _money(s.of_first)}
                   for s in report.funnel],
    }


@router.get("/reports/stuck", response={200: dict, **READ_ERRORS}, summary="Stuck deals",
            description="Open deals with no activity for `days` days (default 14), longest silent first. "
            + FILTER_HELP)
def stuck(request: HttpRequest) -> dict[str, Any]:
    result = reports.stuck_deals(user=request.user, filters=reports.parse_filters(request.user, request.GET),
                                 cursor=request.GET.get("cursor") or None)
    page = result.page
    return {
        "currency": result.currency, "days": result.days,
        "items": [{"id": str(d.uuid), "name": d.name, "stage": d.stage.name, "owner": str(d.owner) if d.owner else None,
                   "amount_base": _money(d.amount_base), "last_activity_at": d.last_activity_at}
                  for d in page.items],
        "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor,
    }
